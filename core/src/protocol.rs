//! The client protocol of PROTOCOL.md (JSON text frames over WebSocket),
//! pure and apart from any socket, plus the console's line syntax.
//!
//! Nodes use [`parse_request_frame`] and the `*_json` writers; clients (the
//! console, the inspector, the bench, the browser) use [`parse_server_frame`].

use crate::io::Event;
use crate::message::{ErrorKind, Reply, Request};
use crate::ring::Token;
use crate::storage::Table;
use crate::types::{
    clipped, Consistency, Key, KeyVersion, Micros, NodeId, Value as StoredValue, Version, Yarn,
    MAX_KEY_BYTES, MAX_VALUE_BYTES,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::fmt;

pub mod control;

/// What a client frame asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientOp {
    /// put / get / delete, through this node as coordinator.
    Data(Request),
    Inspect(DataPage),
    Subscribe,
}

/// Which of its keys an `inspect` answer lists: all of them (the
/// original protocol), or a page of them in key order, starting after
/// `after`. A client walks a large node page by page, so no answer makes
/// the node build its whole data set in one turn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataPage {
    pub after: Option<Key>,
    /// At most this many keys; none: every key.
    pub limit: Option<usize>,
}

/// A page stops once its keys and values pass this many bytes (a 1 MiB
/// value can make even a short page large); it always holds one key.
pub const PAGE_BYTES: usize = 4 << 20;

/// An answer without `limit` lists every key: a node refuses one
/// (`Overloaded`) once its keys and values pass this many bytes. Built on
/// the thread that serves every request, such an answer would stall the
/// node for as long as its data grows; past this size the pages are the
/// way to read it. It is the unread bytes a client connection may hold.
pub const WHOLE_INSPECT_BYTES: usize = 32 << 20;

/// An answer lists hints until their keys and values pass this many
/// bytes (always one), whatever page it was asked for: a node may hold
/// `max_hint_bytes` of them, and every answer lists them, built on the
/// node's one thread. `hints_total` counts them all.
pub const HINT_LIST_BYTES: usize = PAGE_BYTES;

/// The bytes of one key and its value, as pages count them.
fn entry_bytes(key: &Key, version: &Version) -> usize {
    key.byte_len() + version.value.as_ref().map_or(0, |v| v.len())
}

impl DataPage {
    /// The first `limit` keys.
    pub fn first(limit: usize) -> DataPage {
        DataPage {
            after: None,
            limit: Some(limit),
        }
    }

    /// The page's keys of `data`, and the key to ask after for the next
    /// page when more remain.
    pub fn select<'a>(&self, data: &'a Table) -> (Vec<(&'a Key, &'a Version)>, Option<Key>) {
        let mut rest = data.in_order_after(self.after.as_ref()).peekable();
        let Some(limit) = self.limit else {
            return (rest.collect(), None);
        };
        let mut page = Vec::new();
        let mut bytes = 0;
        while page.len() < limit && (page.is_empty() || bytes < PAGE_BYTES) {
            let Some((k, v)) = rest.next() else { break };
            bytes += entry_bytes(k, v);
            page.push((k, v));
        }
        let next = match (page.last(), rest.peek()) {
            (Some((last, _)), Some(_)) => Some((*last).clone()),
            _ => None,
        };
        (page, next)
    }

    /// Whether this request may be answered from `data`: a page always;
    /// the whole data set only while its keys and values stay within
    /// [`WHOLE_INSPECT_BYTES`]. Counting stops at the bound, so a refusal
    /// costs no more than an answer would.
    pub fn allowed(&self, data: &Table) -> Result<(), String> {
        if self.limit.is_some() {
            return Ok(());
        }
        let mut bytes = 0;
        for (k, v) in data.iter() {
            bytes += entry_bytes(k, v);
            if bytes > WHOLE_INSPECT_BYTES {
                return Err(format!(
                    "inspect without limit: this node's keys and values pass {WHOLE_INSPECT_BYTES} bytes, the most one answer lists; read them a page at a time (\"limit\", then \"after\" each answer's \"data_next\")"
                ));
            }
        }
        Ok(())
    }
}

/// One parsed client frame.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientFrame {
    pub id: u64,
    pub op: ClientOp,
    /// Extra fields some ops take (a control token, say), untouched.
    pub extra: Map<String, Value>,
}

/// A frame that could not be understood: answer it with
/// [`error_json`] and `BadRequest`, echoing `id` when one was readable.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameError {
    pub id: Option<u64>,
    pub message: String,
}

/// Parses a client's text frame. Every error names the field.
pub fn parse_request_frame(text: &str) -> Result<ClientFrame, FrameError> {
    match data_frame(text) {
        Some(frame) => Ok(frame),
        None => parse_any_frame(text),
    }
}

/// The common frame, a valid put, get or delete with exactly the fields
/// it needs, read straight into its request without the map of fields
/// [`parse_any_frame`] builds (every request a node coordinates is parsed
/// here, and the map's keys and values were allocations of their own).
/// `None` for anything else, valid or not, which [`parse_any_frame`] then
/// reads as always, so the two give the same answer for every frame (a
/// test compares them).
fn data_frame(text: &str) -> Option<ClientFrame> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Data<'a> {
        id: u64,
        #[serde(borrow)]
        op: Cow<'a, str>,
        #[serde(borrow)]
        key: DataKey<'a>,
        #[serde(default)]
        value: DataValue,
        #[serde(borrow)]
        cl: Cow<'a, str>,
    }
    let d: Data = serde_json::from_str(text).ok()?;
    let key = match d.key {
        DataKey::Int(k) => Key::Int(u8::try_from(k).ok()?),
        DataKey::Str(s) if !s.is_empty() && s.len() <= MAX_KEY_BYTES => Key::Str(match s {
            Cow::Borrowed(s) => Yarn::copy(s),
            Cow::Owned(s) => Yarn::from_string(s),
        }),
        DataKey::Str(_) => return None,
    };
    let cl = Consistency::parse(&d.cl).ok()?;
    let request = match (d.op.as_ref(), d.value) {
        ("put", DataValue::Given(value)) if value.as_str().len() <= MAX_VALUE_BYTES => {
            Request::Put { key, value, cl }
        }
        ("get", DataValue::Absent) if cl != Consistency::Any => Request::Get { key, cl },
        ("delete", DataValue::Absent) => Request::Delete { key, cl },
        _ => return None,
    };
    Some(ClientFrame {
        id: d.id,
        op: ClientOp::Data(request),
        extra: Map::new(),
    })
}

/// A data frame's value: absent, or a string, read straight into the
/// stored form (`null` and anything else are left to
/// [`parse_any_frame`], which refuses them for a put and keeps them
/// among a get's extra fields).
#[derive(Default)]
enum DataValue {
    #[default]
    Absent,
    Given(StoredValue),
}

impl<'de> Deserialize<'de> for DataValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = DataValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(DataValue::Given(s.into()))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A data frame's key as it was written: a non-negative integer or a
/// string (anything else is left to [`parse_any_frame`]).
enum DataKey<'a> {
    Int(u64),
    Str(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for DataKey<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = DataKey<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_u64<E>(self, k: u64) -> Result<Self::Value, E> {
                Ok(DataKey::Int(k))
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(DataKey::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(DataKey::Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(DataKey::Str(Cow::Owned(s)))
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

/// Parses any client frame through a map of its fields.
fn parse_any_frame(text: &str) -> Result<ClientFrame, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(|e| FrameError {
        id: None,
        message: format!("frame is not JSON: {e}"),
    })?;
    let Value::Object(mut obj) = value else {
        return Err(FrameError {
            id: None,
            message: "frame is not a JSON object".into(),
        });
    };
    let id = match obj.remove("id") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(0),
        Some(other) => {
            return Err(FrameError {
                id: None,
                message: format!(
                    "id: expected a non-negative integer, got {}",
                    clipped(&other.to_string())
                ),
            })
        }
        None => {
            return Err(FrameError {
                id: None,
                message: "id: missing".into(),
            })
        }
    };
    let err = |message: String| FrameError {
        id: Some(id),
        message,
    };
    let op = match obj.remove("op") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(err(format!(
                "op: expected a string, got {}",
                clipped(&other.to_string())
            )))
        }
        None => return Err(err("op: missing".into())),
    };
    let op = match op.as_str() {
        "put" => {
            let key = take_key(&mut obj).map_err(err)?;
            let value = match obj.remove("value") {
                Some(Value::String(s)) => s,
                Some(other) => {
                    return Err(err(format!(
                        "value: expected a string, got {}",
                        kind_of(&other)
                    )))
                }
                None => return Err(err("value: missing".into())),
            };
            if value.len() > MAX_VALUE_BYTES {
                return Err(err(format!(
                    "value: at most {MAX_VALUE_BYTES} bytes, got {}",
                    value.len()
                )));
            }
            let cl = take_cl(&mut obj, true).map_err(err)?;
            ClientOp::Data(Request::Put {
                key,
                value: value.into(),
                cl,
            })
        }
        "get" => {
            let key = take_key(&mut obj).map_err(err)?;
            let cl = take_cl(&mut obj, false).map_err(err)?;
            ClientOp::Data(Request::Get { key, cl })
        }
        "delete" => {
            let key = take_key(&mut obj).map_err(err)?;
            let cl = take_cl(&mut obj, true).map_err(err)?;
            ClientOp::Data(Request::Delete { key, cl })
        }
        "inspect" => ClientOp::Inspect(take_page(&mut obj).map_err(err)?),
        "subscribe" => ClientOp::Subscribe,
        other => {
            return Err(err(format!(
                "op: unknown op {} (expected put, get, delete, inspect or subscribe)",
                clipped(&format!("{other:?}"))
            )))
        }
    };
    Ok(ClientFrame { id, op, extra: obj })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn take_key(obj: &mut Map<String, Value>) -> Result<Key, String> {
    match obj.remove("key") {
        Some(v) => key_in("key", v),
        None => Err("key: missing".into()),
    }
}

/// A key in field `field`: an integer 0..=255 or a string of 1 to
/// [`MAX_KEY_BYTES`] bytes.
fn key_in(field: &str, v: Value) -> Result<Key, String> {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(k) if k <= 255 => Ok(Key::Int(k as u8)),
            _ => Err(format!("{field}: integer keys are 0..=255, got {n}")),
        },
        Value::String(s) => {
            if s.is_empty() || s.len() > MAX_KEY_BYTES {
                Err(format!(
                    "{field}: a string key has 1 to {MAX_KEY_BYTES} bytes, got {}",
                    s.len()
                ))
            } else {
                Ok(Key::Str(Yarn::from_string(s)))
            }
        }
        other => Err(format!(
            "{field}: expected an integer 0..=255 or a string, got {}",
            kind_of(&other)
        )),
    }
}

/// `inspect`'s optional `after` and `limit`.
fn take_page(obj: &mut Map<String, Value>) -> Result<DataPage, String> {
    let after = obj
        .remove("after")
        .map(|v| key_in("after", v))
        .transpose()?;
    let limit = match obj.remove("limit") {
        None => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(l) if l >= 1 => Some(usize::try_from(l).unwrap_or(usize::MAX)),
            _ => return Err(format!("limit: expected a positive integer, got {n}")),
        },
        Some(other) => {
            return Err(format!(
                "limit: expected a positive integer, got {}",
                kind_of(&other)
            ))
        }
    };
    Ok(DataPage { after, limit })
}

fn take_cl(obj: &mut Map<String, Value>, write: bool) -> Result<Consistency, String> {
    match obj.remove("cl") {
        Some(Value::String(s)) => {
            let cl = Consistency::parse(&s)?;
            if cl == Consistency::Any && !write {
                return Err("cl: ANY is for writes only".into());
            }
            Ok(cl)
        }
        Some(other) => Err(format!("cl: expected a string, got {}", kind_of(&other))),
        None => Err("cl: missing".into()),
    }
}

/// A reply frame for a data request.
pub fn reply_json(id: u64, reply: &Reply) -> String {
    // Written straight, not through a `json!` map: every request gets a
    // reply, and building the map cost a node more allocations than the
    // rest of the reply did.
    #[derive(Serialize)]
    struct ReadReply<'a> {
        id: u64,
        ok: bool,
        kv: &'a Option<KeyVersion>,
    }
    match reply {
        Reply::Written { ts } => format!(r#"{{"id":{id},"ok":true,"ts":{ts}}}"#),
        Reply::Read { kv } => serde_json::to_string(&ReadReply { id, ok: true, kv })
            .unwrap_or_else(|e| error_json(Some(id), ErrorKind::Internal, &e.to_string())),
        Reply::Error { kind, message } => error_json(Some(id), *kind, message),
    }
}

/// An error reply; `id` is `null` when the frame had none readable.
pub fn error_json(id: Option<u64>, kind: ErrorKind, message: &str) -> String {
    json!({"id": id, "ok": false, "error": {"kind": kind.name(), "message": message}}).to_string()
}

/// `{"id": id, "ok": true}`, for `subscribe` and similar.
pub fn ok_json(id: u64) -> String {
    json!({"id": id, "ok": true}).to_string()
}

/// An event frame for subscribers.
pub fn event_json(event: &Event) -> String {
    json!({ "event": event }).to_string()
}

/// `inspect`'s reply frame.
pub fn inspect_json(id: u64, node: &InspectNode) -> String {
    // Written straight from the struct: through a `json!` value, every
    // key of a large node first became a map in a tree, on the node's
    // thread, and that is far slower than writing the text.
    #[derive(Serialize)]
    struct Reply<'a> {
        id: u64,
        ok: bool,
        node: &'a InspectNode,
    }
    serde_json::to_string(&Reply { id, ok: true, node })
        .expect("an inspect reply is plain data, always serialisable")
}

/// A node's whole state, as `inspect` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InspectNode {
    pub id: NodeId,
    pub addr: String,
    pub ring: Vec<RingEntry>,
    pub peers: Vec<PeerEntry>,
    pub data: Vec<KeyVersion>,
    pub hints: Vec<HintEntry>,
    pub log: LogStats,
    /// Every member and its address, so a client knowing one node can find
    /// the others (an extension of PROTOCOL.md).
    #[serde(default)]
    pub nodes: Vec<NodeAddr>,
    /// Replication factor (extension).
    #[serde(default)]
    pub rf: usize,
    /// The partitioner (extension), as in the cluster file.
    #[serde(default)]
    pub partitioner: Option<crate::ring::Partitioner>,
    /// Client requests being worked on (extension).
    #[serde(default)]
    pub pending_requests: usize,
    /// This incarnation's start time (extension): it changes on restart.
    #[serde(default)]
    pub generation: Micros,
    /// The last records appended to the commit log, oldest first
    /// (extension; the driver fills it in).
    #[serde(default)]
    pub log_tail: Vec<LogTailEntry>,
    /// How many keys the node holds, whether or not `data` lists them all
    /// (extension).
    #[serde(default)]
    pub data_total: usize,
    /// When the request asked for a page and more keys remain: the key to
    /// send as `after` for the next page (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_next: Option<Key>,
    /// How many hints the node holds, whether or not `hints` lists them
    /// all (extension; see [`HINT_LIST_BYTES`]).
    #[serde(default)]
    pub hints_total: usize,
}

/// One commit-log record as `inspect` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogTailEntry {
    pub lsn: u64,
    pub record: String,
    /// Durable on disk when `inspect` answered.
    pub synced: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RingEntry {
    pub node: NodeId,
    pub token: Token,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerEntry {
    pub node: NodeId,
    pub state: PeerState,
}

/// What a node's failure detector thinks of a peer; `"up"` or `"down"`
/// on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerState {
    Up,
    Down,
}

impl std::fmt::Display for PeerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PeerState::Up => "up",
            PeerState::Down => "down",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HintEntry {
    pub target: NodeId,
    pub key: Key,
    pub value: Option<crate::types::Value>,
    pub ts: Micros,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct LogStats {
    pub records: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeAddr {
    pub node: NodeId,
    pub addr: String,
}

impl InspectNode {
    /// The state of a [`crate::Node`], its data limited to `page`; the
    /// driver fills in `addr`, `log` and `nodes`, which only it knows.
    pub fn of(node: &crate::Node, page: &DataPage) -> InspectNode {
        let (data, data_next) = page.select(node.data());
        InspectNode {
            id: node.id(),
            addr: String::new(),
            ring: node
                .ring()
                .tokens()
                .iter()
                .map(|(t, n)| RingEntry {
                    node: *n,
                    token: *t,
                })
                .collect(),
            peers: node
                .peers()
                .into_iter()
                .map(|p| PeerEntry {
                    node: p.node,
                    state: if p.up { PeerState::Up } else { PeerState::Down },
                })
                .collect(),
            data_total: node.data().len(),
            data_next,
            data: data
                .into_iter()
                .map(|(k, v)| KeyVersion {
                    key: k.clone(),
                    value: v.value.clone(),
                    ts: v.ts,
                })
                .collect(),
            hints: node
                .hints()
                .scan(0, |bytes, h| {
                    let first = *bytes == 0;
                    *bytes += entry_bytes(&h.key, &h.version);
                    (first || *bytes <= HINT_LIST_BYTES).then_some(h)
                })
                .map(|h| HintEntry {
                    target: h.target,
                    key: h.key.clone(),
                    value: h.version.value.clone(),
                    ts: h.version.ts,
                })
                .collect(),
            log: LogStats::default(),
            nodes: vec![],
            rf: node.ring().rf(),
            partitioner: Some(node.ring().partitioner().clone()),
            pending_requests: node.pending_requests(),
            generation: node.generation(),
            log_tail: vec![],
            hints_total: node.hint_count(),
        }
    }
}

/// A frame from a node, as a client reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerFrame {
    /// A reply to request `id` (`None` when the node could not read the id).
    Reply {
        id: Option<u64>,
        reply: Reply,
    },
    /// `subscribe`'s or a similar plain `ok`.
    Ok {
        id: u64,
    },
    Inspect {
        id: u64,
        node: Box<InspectNode>,
    },
    Event(Event),
}

/// Parses a node's frame; the error says what was unexpected.
pub fn parse_server_frame(text: &str) -> Result<ServerFrame, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(obj) = v else {
        return Err("not a JSON object".into());
    };
    if let Some(e) = obj.get("event") {
        let ev: Event = serde_json::from_value(e.clone()).map_err(|e| format!("event: {e}"))?;
        return Ok(ServerFrame::Event(ev));
    }
    let id = obj.get("id").and_then(Value::as_u64);
    let ok = obj
        .get("ok")
        .and_then(Value::as_bool)
        .ok_or("ok: missing or not a boolean")?;
    if !ok {
        let err = obj.get("error").ok_or("error: missing")?;
        let kind = match err.get("kind").and_then(Value::as_str) {
            Some("BadRequest") => ErrorKind::BadRequest,
            Some("Unavailable") => ErrorKind::Unavailable,
            Some("Timeout") => ErrorKind::Timeout,
            Some("Overloaded") => ErrorKind::Overloaded,
            Some("Unauthorized") => ErrorKind::Unauthorized,
            Some("Internal") => ErrorKind::Internal,
            other => return Err(format!("error.kind: unknown {other:?}")),
        };
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        return Ok(ServerFrame::Reply {
            id,
            reply: Reply::Error { kind, message },
        });
    }
    let id = id.ok_or("id: missing")?;
    if let Some(node) = obj.get("node") {
        let node: InspectNode =
            serde_json::from_value(node.clone()).map_err(|e| format!("node: {e}"))?;
        return Ok(ServerFrame::Inspect {
            id,
            node: Box::new(node),
        });
    }
    if let Some(kv) = obj.get("kv") {
        let kv: Option<KeyVersion> =
            serde_json::from_value(kv.clone()).map_err(|e| format!("kv: {e}"))?;
        return Ok(ServerFrame::Reply {
            id: Some(id),
            reply: Reply::Read { kv },
        });
    }
    if let Some(ts) = obj.get("ts").and_then(Value::as_u64) {
        return Ok(ServerFrame::Reply {
            id: Some(id),
            reply: Reply::Written { ts },
        });
    }
    Ok(ServerFrame::Ok { id })
}

/// A client frame for a data request.
pub fn request_json(id: u64, request: &Request) -> String {
    let mut v = serde_json::to_value(request).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert("id".into(), json!(id));
    }
    v.to_string()
}

/// The frame asking `inspect`: the whole state, or `page` of the keys.
pub fn inspect_request_json(id: u64, page: &DataPage) -> String {
    let mut v = json!({"id": id, "op": "inspect"});
    if let Some(after) = &page.after {
        v["after"] = json!(after);
    }
    if let Some(limit) = page.limit {
        v["limit"] = json!(limit);
    }
    v.to_string()
}

/// The frame asking `subscribe`.
pub fn subscribe_request_json(id: u64) -> String {
    json!({"id": id, "op": "subscribe"}).to_string()
}

/// One console line, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum ConsoleCommand {
    Data(Request),
    Inspect,
    Help,
    Exit,
    Empty,
}

/// The console's help text.
pub const CONSOLE_HELP: &str = "\
commands (the level is optional and defaults to ONE; levels: one two three quorum all, and any for writes):
  put KEY VALUE [LEVEL]     write VALUE; quote a VALUE with spaces: put 7 \"hello world\" quorum
  get KEY [LEVEL]           read the newest value the level's replicas hold
  delete KEY [LEVEL]        write a tombstone
  inspect                   this node's data, hints and peers
  help                      this text
  exit                      leave (Ctrl-D too)
keys: 0..=255 are the classic integer keys; any other word, or a quoted number (\"137\"), is a string key";

/// Parses a console line in the seed's syntax: `put 137 value137 quorum`.
pub fn parse_console_line(line: &str) -> Result<ConsoleCommand, String> {
    let words = split_words(line)?;
    let Some((cmd, rest)) = words.split_first() else {
        return Ok(ConsoleCommand::Empty);
    };
    let key_of = |w: &(String, bool)| -> Result<Key, String> {
        if w.1 {
            Key::string(&w.0)
        } else {
            Key::parse_console(&w.0)
        }
    };
    let level = |w: Option<&(String, bool)>, write: bool| -> Result<Consistency, String> {
        match w {
            None => Ok(Consistency::One),
            Some((s, _)) => {
                let cl = Consistency::parse(s)?;
                if cl == Consistency::Any && !write {
                    Err("cl: ANY is for writes only".into())
                } else {
                    Ok(cl)
                }
            }
        }
    };
    let usage = |u: &str| Err(format!("usage: {u}"));
    match cmd.0.to_ascii_lowercase().as_str() {
        "put" | "set" => {
            if rest.len() < 2 || rest.len() > 3 {
                return usage("put KEY VALUE [LEVEL]");
            }
            Ok(ConsoleCommand::Data(Request::Put {
                key: key_of(&rest[0])?,
                value: rest[1].0.clone().into(),
                cl: level(rest.get(2), true)?,
            }))
        }
        "get" => {
            if rest.is_empty() || rest.len() > 2 {
                return usage("get KEY [LEVEL]");
            }
            Ok(ConsoleCommand::Data(Request::Get {
                key: key_of(&rest[0])?,
                cl: level(rest.get(1), false)?,
            }))
        }
        "delete" | "del" => {
            if rest.is_empty() || rest.len() > 2 {
                return usage("delete KEY [LEVEL]");
            }
            Ok(ConsoleCommand::Data(Request::Delete {
                key: key_of(&rest[0])?,
                cl: level(rest.get(1), true)?,
            }))
        }
        "inspect" if rest.is_empty() => Ok(ConsoleCommand::Inspect),
        "help" | "?" => Ok(ConsoleCommand::Help),
        "exit" | "quit" => Ok(ConsoleCommand::Exit),
        other => Err(format!(
            "unknown command {other:?}: expected put, get, delete, inspect, help or exit"
        )),
    }
}

/// Splits on whitespace; `"..."` groups words (with `\"` and `\\` escapes).
/// Each word says whether it was quoted.
fn split_words(line: &str) -> Result<Vec<(String, bool)>, String> {
    let mut out = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            let mut w = String::new();
            loop {
                match chars.next() {
                    None => return Err("unterminated quote".into()),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(e) => w.push(e),
                        None => return Err("unterminated quote".into()),
                    },
                    Some(ch) => w.push(ch),
                }
            }
            out.push((w, true));
        } else {
            let mut w = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                w.push(ch);
                chars.next();
            }
            out.push((w, false));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
