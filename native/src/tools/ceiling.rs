//! `ringside ceiling`: one node of a bare cluster that passes a QUORUM
//! put's and get's messages and does nothing else, for `cargo xtask
//! bench`'s ceiling leg.
//!
//! It keeps what the client protocol and replication make every
//! implementation pay: WebSocket connections (the same crate and
//! settings as a node's), a request parsed from JSON and a JSON reply,
//! the request sent to each of the key's three replicas other than the
//! coordinator and answered after two of the three, messages batched per
//! connection as a node batches them, and with `sync = "batch"` in the
//! cluster file, each write of a replica's made durable before it is
//! answered: written over zeros written ahead and fdatasynced, one sync
//! in flight at a time on a thread of its own, so that groups grow with
//! the load. It leaves out everything else that makes a node a store:
//! the commit log's records and replay, the memtable's versions, hints,
//! timers, the anti-entropy trees, events, the ring (a key's replicas
//! are three members in a row from its hash). Its throughput under
//! `ringside bench` is what the message pattern alone allows on a
//! machine, so that a node's figures can be read against it, and
//! against a peer like redis.
//!
//! Not a store: values live in a map for as long as the process runs.

use crate::cluster_file::{ClusterFile, SyncMode};
use crate::node::transport::{ws_config, MAX_PEER_FRAME_BYTES};
use futures_util::{SinkExt, Stream, StreamExt};
use ringside_core::types::key_hash;
use ringside_core::{Key, NodeId, Yarn};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Replicas of each key (fewer when the cluster is smaller).
const RF: usize = 3;
/// How long a member keeps trying to reach a peer that is not up yet.
const CONNECT_FOR: Duration = Duration::from_secs(10);
/// The zeros a durable member writes its groups over, from the start
/// again when they are used up (the writes only need to cost what a
/// log's do, not to be read back).
const LOG_BYTES: u64 = 16 << 20;

/// Runs member `id` of the cluster file `cluster` until the process is
/// stopped.
pub fn run(id: NodeId, cluster: &Path) -> Result<(), String> {
    let file = ClusterFile::load(cluster)?;
    let mut nodes = file.nodes.clone();
    nodes.sort_by_key(|n| n.id);
    let me = nodes
        .iter()
        .position(|n| n.id == id)
        .ok_or_else(|| format!("node {id} is not in {}", cluster.display()))?;
    let addrs: Vec<String> = nodes.into_iter().map(|n| n.addr).collect();
    let log = (file.sync == SyncMode::Batch).then(|| {
        let dir = cluster.parent().unwrap_or(Path::new("."));
        dir.join(format!("ceiling-{id}.log"))
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, serve(me, addrs, file.max_frame_bytes, log))
}

/// What waits for a durable member's next sync: the records, and what
/// each one's durability lets go.
#[derive(Default)]
struct Durable {
    records: RefCell<Vec<u8>>,
    after: RefCell<Vec<Durably>>,
    wake: Notify,
}

enum Durably {
    /// A replica's answer to a peer, sent on `Outbox`.
    Answer(Rc<Outbox>, WsMessage),
    /// The coordinator's own write of request `op`.
    Own(u64),
}

impl Durable {
    fn hold(&self, record: &[u8], then: Durably) {
        self.records.borrow_mut().extend_from_slice(record);
        self.after.borrow_mut().push(then);
        self.wake.notify_one();
    }
}

/// Makes `durable`'s groups durable in `file`, one sync in flight at a
/// time on a thread of its own (what arrives meanwhile is the next
/// group), then lets go what each group held. A write or sync that fails
/// ends the process: a ceiling that cannot sync measures nothing.
async fn sync_groups(member: Shared, durable: Rc<Durable>, file: File, path: PathBuf) {
    let (to_disk, from_loop) = std::sync::mpsc::channel::<Vec<u8>>();
    let (done, mut synced) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<()>>();
    let disk = move || {
        let mut at = 0;
        while let Ok(records) = from_loop.recv() {
            if at + records.len() as u64 > LOG_BYTES {
                at = 0;
            }
            let result = file
                .write_all_at(&records, at)
                .and_then(|()| file.sync_data());
            at += records.len() as u64;
            if done.send(result).is_err() {
                return;
            }
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("ceiling-fsync".into())
        .spawn(disk)
    {
        fail(&format!("cannot start the sync thread: {e}"));
    }
    loop {
        durable.wake.notified().await;
        let records = std::mem::take(&mut *durable.records.borrow_mut());
        let after = std::mem::take(&mut *durable.after.borrow_mut());
        if after.is_empty() {
            continue;
        }
        if to_disk.send(records).is_err() {
            fail("the sync thread ended");
        }
        match synced.recv().await {
            Some(Ok(())) => {}
            Some(Err(e)) => fail(&format!("cannot write {}: {e}", path.display())),
            None => fail("the sync thread ended"),
        }
        for then in after {
            match then {
                Durably::Answer(outbox, msg) => outbox.push(msg),
                Durably::Own(op) => member.borrow_mut().answered(op, None),
            }
        }
    }
}

fn fail(why: &str) -> ! {
    eprintln!("ceiling: {why}");
    std::process::exit(1)
}

/// A fresh file of [`LOG_BYTES`] zeros at `path`, synced.
fn zeros_written_ahead(path: &Path) -> Result<File, String> {
    let io = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let zeros = vec![0u8; 1 << 20];
    for i in 0..LOG_BYTES / zeros.len() as u64 {
        file.write_all_at(&zeros, i * zeros.len() as u64)
            .map_err(io)?;
    }
    file.sync_all().map_err(io)?;
    Ok(file)
}

/// Messages waiting for one connection's writer: everything pushed
/// before the writer runs goes out in one flush.
#[derive(Default)]
struct Outbox {
    queued: RefCell<Vec<WsMessage>>,
    wake: Notify,
}

impl Outbox {
    fn push(&self, msg: WsMessage) {
        self.queued.borrow_mut().push(msg);
        self.wake.notify_one();
    }

    /// Writes what is queued, a burst per flush, until the sink fails.
    async fn drain_into<S>(&self, mut sink: S)
    where
        S: futures_util::Sink<WsMessage> + Unpin,
    {
        let mut burst = Vec::new();
        loop {
            self.wake.notified().await;
            std::mem::swap(&mut burst, &mut *self.queued.borrow_mut());
            for msg in burst.drain(..) {
                if sink.feed(msg).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    }
}

/// A request waiting for its replicas.
struct Pending {
    client: Rc<Outbox>,
    /// The client's request id.
    id: u64,
    /// Answers so far (the coordinator's own included), and answers
    /// still to come.
    answers: usize,
    left: usize,
    /// For a get: the value found so far, if any.
    get: Option<Option<String>>,
}

struct Member {
    me: usize,
    /// Outboxes of the connections this member opened to each other one
    /// (its own slot unused).
    peers: Vec<Rc<Outbox>>,
    values: HashMap<String, String>,
    next: u64,
    pending: HashMap<u64, Pending>,
    /// With batch sync: what waits for the next sync.
    durable: Option<Rc<Durable>>,
}

type Shared = Rc<RefCell<Member>>;

impl Member {
    /// The key's replicas: `RF` members in a row from its hash.
    fn replicas(&self, key: &str) -> impl Iterator<Item = usize> {
        let n = self.peers.len();
        let first = (key_hash(&Key::Str(Yarn::copy(key))) % n as u64) as usize;
        (0..RF.min(n)).map(move |i| (first + i) % n)
    }

    /// A client's request: answered at once if it is malformed, else
    /// sent to the key's replicas.
    fn request(&mut self, text: &str, client: &Rc<Outbox>) {
        let req: ClientRequest = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => return client.push(error(None, &format!("bad request: {e}"))),
        };
        let key = match &req.key {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return client.push(error(Some(req.id), "key must be a string or a number")),
        };
        let get = match (req.op.as_str(), req.value) {
            ("put", Some(value)) => {
                self.send_to_replicas(&key, Some(&value), req.id, client, None);
                return;
            }
            ("get", _) => Some(None),
            ("put", None) => return client.push(error(Some(req.id), "a put needs a value")),
            (op, _) => return client.push(error(Some(req.id), &format!("unknown op {op:?}"))),
        };
        self.send_to_replicas(&key, None, req.id, client, get);
    }

    fn send_to_replicas(
        &mut self,
        key: &str,
        value: Option<&str>,
        id: u64,
        client: &Rc<Outbox>,
        mut get: Option<Option<String>>,
    ) {
        let op = self.next;
        self.next += 1;
        let frame = PeerMsg::request(op, key, value).encode();
        let (mut answers, mut left) = (0, 0);
        for r in self.replicas(key).collect::<Vec<_>>() {
            if r == self.me {
                match value {
                    Some(v) => {
                        self.values.insert(key.to_string(), v.to_string());
                        if let Some(d) = &self.durable {
                            d.hold(&frame, Durably::Own(op));
                            left += 1;
                            continue;
                        }
                    }
                    None => get = Some(self.values.get(key).cloned()),
                }
                answers += 1;
            } else {
                self.peers[r].push(WsMessage::binary(frame.clone()));
                left += 1;
            }
        }
        let pending = Pending {
            client: client.clone(),
            id,
            answers,
            left,
            get,
        };
        if !self.answer_if_quorum(&pending, answers) || left > 0 {
            self.pending.insert(op, pending);
        }
    }

    /// Replies to the client when `answers` just reached a quorum; true
    /// when it did.
    fn answer_if_quorum(&self, p: &Pending, answers: usize) -> bool {
        let quorum = RF.min(self.peers.len()) / 2 + 1;
        if answers != quorum {
            return false;
        }
        let text = match &p.get {
            None => format!(r#"{{"id":{},"ok":true}}"#, p.id),
            Some(v) => serde_json::json!({"id": p.id, "ok": true, "value": v}).to_string(),
        };
        p.client.push(WsMessage::text(text));
        true
    }

    /// A replica's answer to request `op`.
    fn answered(&mut self, op: u64, value: Option<String>) {
        let Some(mut p) = self.pending.remove(&op) else {
            return;
        };
        if let (Some(found @ None), Some(v)) = (&mut p.get, value) {
            *found = Some(v);
        }
        p.answers += 1;
        p.left = p.left.saturating_sub(1);
        self.answer_if_quorum(&p, p.answers);
        if p.left > 0 {
            self.pending.insert(op, p);
        }
    }

    /// A peer's request (`bytes`, decoded as `msg`), answered on the
    /// connection it came by, `outbox`: at once, or for a write to a
    /// durable member, once it is synced.
    fn replica(&mut self, msg: PeerMsg, bytes: &[u8], outbox: &Rc<Outbox>) -> Result<(), String> {
        let (reply, durable) = match msg {
            PeerMsg::Write { op, key, value } => {
                self.values.insert(key, value);
                (PeerMsg::Answer { op, value: None }, self.durable.as_ref())
            }
            PeerMsg::Read { op, key } => {
                let value = self.values.get(&key).cloned();
                (PeerMsg::Answer { op, value }, None)
            }
            PeerMsg::Answer { .. } => return Err("an answer where a request was due".into()),
        };
        let reply = WsMessage::binary(reply.encode());
        match durable {
            Some(d) => d.hold(bytes, Durably::Answer(outbox.clone(), reply)),
            None => outbox.push(reply),
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct ClientRequest {
    id: u64,
    op: String,
    key: serde_json::Value,
    value: Option<String>,
}

fn error(id: Option<u64>, message: &str) -> WsMessage {
    WsMessage::text(serde_json::json!({"id": id, "ok": false, "error": message}).to_string())
}

/// What members send each other, in binary frames: a tag, the request's
/// number, then the fields (strings as a u32 length and UTF-8 bytes).
#[derive(Debug, PartialEq)]
enum PeerMsg {
    Write { op: u64, key: String, value: String },
    Read { op: u64, key: String },
    Answer { op: u64, value: Option<String> },
}

impl PeerMsg {
    fn request(op: u64, key: &str, value: Option<&str>) -> PeerMsg {
        match value {
            Some(v) => PeerMsg::Write {
                op,
                key: key.into(),
                value: v.into(),
            },
            None => PeerMsg::Read {
                op,
                key: key.into(),
            },
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        let put_str = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        match self {
            PeerMsg::Write { op, key, value } => {
                out.push(1);
                out.extend_from_slice(&op.to_le_bytes());
                put_str(&mut out, key);
                put_str(&mut out, value);
            }
            PeerMsg::Read { op, key } => {
                out.push(2);
                out.extend_from_slice(&op.to_le_bytes());
                put_str(&mut out, key);
            }
            PeerMsg::Answer { op, value } => {
                out.push(3);
                out.extend_from_slice(&op.to_le_bytes());
                if let Some(v) = value {
                    put_str(&mut out, v);
                }
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<PeerMsg, String> {
        let (&tag, rest) = bytes.split_first().ok_or("an empty frame")?;
        let (op, rest) = rest
            .split_first_chunk::<8>()
            .ok_or("a frame too short for its request number")?;
        let op = u64::from_le_bytes(*op);
        let mut rest = rest;
        let msg = match tag {
            1 => PeerMsg::Write {
                op,
                key: take_str(&mut rest, "key")?,
                value: take_str(&mut rest, "value")?,
            },
            2 => PeerMsg::Read {
                op,
                key: take_str(&mut rest, "key")?,
            },
            3 if rest.is_empty() => PeerMsg::Answer { op, value: None },
            3 => PeerMsg::Answer {
                op,
                value: Some(take_str(&mut rest, "value")?),
            },
            t => return Err(format!("unknown tag {t}")),
        };
        if !rest.is_empty() {
            return Err("bytes after the last field".into());
        }
        Ok(msg)
    }
}

/// A string field from the front of `rest`, which is moved past it.
fn take_str(rest: &mut &[u8], what: &str) -> Result<String, String> {
    let (len, tail) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| format!("the {what}'s length is cut short"))?;
    let len = u32::from_le_bytes(*len) as usize;
    if tail.len() < len {
        return Err(format!("the {what} is cut short"));
    }
    let (s, tail) = tail.split_at(len);
    *rest = tail;
    String::from_utf8(s.to_vec()).map_err(|_| format!("the {what} is not UTF-8"))
}

/// Serves member `me` of `addrs`; with `log`, its writes are durable in
/// that file (made afresh).
async fn serve(
    me: usize,
    addrs: Vec<String>,
    max_frame_bytes: usize,
    log: Option<PathBuf>,
) -> Result<(), String> {
    let file = log.as_deref().map(zeros_written_ahead).transpose()?;
    let listener = TcpListener::bind(&addrs[me])
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", addrs[me]))?;
    let member: Shared = Rc::new(RefCell::new(Member {
        me,
        peers: addrs.iter().map(|_| Rc::new(Outbox::default())).collect(),
        values: HashMap::new(),
        next: 0,
        pending: HashMap::new(),
        durable: None,
    }));
    if let (Some(file), Some(path)) = (file, log) {
        let durable = Rc::new(Durable::default());
        member.borrow_mut().durable = Some(durable.clone());
        tokio::task::spawn_local(sync_groups(member.clone(), durable, file, path));
    }
    for (to, addr) in addrs.iter().enumerate().filter(|(i, _)| *i != me) {
        tokio::task::spawn_local(to_peer(member.clone(), to, addr.clone()));
    }
    loop {
        let (stream, _) = listener
            .accept()
            .await
            .map_err(|e| format!("cannot accept: {e}"))?;
        let _ = stream.set_nodelay(true);
        tokio::task::spawn_local(accepted(member.clone(), stream, max_frame_bytes));
    }
}

/// The connection this member opens to member `to`: its requests go out
/// on it, and the answers come back.
async fn to_peer(member: Shared, to: usize, addr: String) {
    let deadline = tokio::time::Instant::now() + CONNECT_FOR;
    let ws = loop {
        if let Ok(stream) = TcpStream::connect(&addr).await {
            let _ = stream.set_nodelay(true);
            let url = format!("ws://{addr}/peer");
            let config = Some(ws_config(MAX_PEER_FRAME_BYTES));
            if let Ok((ws, _)) =
                tokio_tungstenite::client_async_with_config(url, stream, config).await
            {
                break ws;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            eprintln!("ceiling: cannot reach {addr}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (sink, stream) = ws.split();
    let outbox = member.borrow().peers[to].clone();
    let member2 = member.clone();
    let read = frames(stream, |bytes| {
        let PeerMsg::Answer { op, value } = PeerMsg::decode(bytes)? else {
            return Err("a request where an answer was due".into());
        };
        member2.borrow_mut().answered(op, value);
        Ok(())
    });
    tokio::select! {
        _ = outbox.drain_into(sink) => {}
        why = read => eprintln!("ceiling: connection to {addr} ended: {why}"),
    }
}

/// A connection someone opened to this member: a peer's on `/peer`, else
/// a client's.
async fn accepted(member: Shared, stream: TcpStream, max_frame_bytes: usize) {
    let mut is_peer = false;
    // The handshake API's error type is an HTTP response, large by nature.
    #[allow(clippy::result_large_err)]
    let note_path = |req: &Request, resp: Response| {
        is_peer = req.uri().path() == "/peer";
        Ok(resp)
    };
    let config = Some(ws_config(MAX_PEER_FRAME_BYTES.max(max_frame_bytes)));
    let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(stream, note_path, config).await
    else {
        return;
    };
    let (sink, stream) = ws.split();
    let outbox = Rc::new(Outbox::default());
    let read = async {
        if is_peer {
            frames(stream, |bytes| {
                let msg = PeerMsg::decode(bytes)?;
                member.borrow_mut().replica(msg, bytes, &outbox)
            })
            .await;
        } else {
            texts(stream, |text| member.borrow_mut().request(text, &outbox)).await
        }
    };
    tokio::select! {
        _ = outbox.drain_into(sink) => {}
        _ = read => {}
    }
}

/// Hands each binary frame to `each` until the stream ends or `each`
/// refuses one; returns why it ended.
async fn frames<S, E>(mut stream: S, mut each: impl FnMut(&[u8]) -> Result<(), String>) -> String
where
    S: Stream<Item = Result<WsMessage, E>> + Unpin,
    E: std::fmt::Display,
{
    while let Some(msg) = stream.next().await {
        match msg {
            Ok(WsMessage::Binary(b)) => {
                if let Err(e) = each(&b) {
                    return e;
                }
            }
            Ok(WsMessage::Close(_)) => return "closed".into(),
            Ok(_) => {}
            Err(e) => return e.to_string(),
        }
    }
    "closed".into()
}

/// Hands each text frame to `each` until the stream ends.
async fn texts<S, E>(mut stream: S, mut each: impl FnMut(&str))
where
    S: Stream<Item = Result<WsMessage, E>> + Unpin,
{
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            WsMessage::Text(t) => each(t.as_str()),
            WsMessage::Close(_) => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
