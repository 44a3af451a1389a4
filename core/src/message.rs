//! What nodes say to each other, and what clients ask and are answered.
//!
//! Peer messages carry a [`MsgId`] made of the sender and a per-sender
//! counter, so an observer can match a "sent" event on one node with the
//! "received" event on another without trusting either node's clock.

use crate::types::{Consistency, Key, KeyVersion, Micros, NodeId, Version};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Identifies one peer message: `(sender, n)`, `n` counting up per sender
/// and per incarnation (`gen`) of the sender.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct MsgId {
    pub from: NodeId,
    pub gen: Micros,
    pub n: u64,
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.from, self.gen, self.n)
    }
}

/// A coordinator's operation id, unique on that coordinator.
pub type OpId = u64;

/// One message between nodes.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Message {
    pub id: MsgId,
    pub body: Msg,
}

/// The kinds of peer message.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    /// Coordinator to replica: store this version.
    Write {
        op: OpId,
        key: Key,
        version: Version,
        /// The coordinator does not wait for this replica: its consistency
        /// level is met by the others. The replica stores it and
        /// acknowledges once it is durable, as always, but need not make
        /// it durable at once: its next sync, or a short while later,
        /// will do (see the native driver).
        #[serde(default)]
        lazy: bool,
    },
    /// Replica to coordinator: the write is in my commit log and memtable.
    WriteAck { op: OpId },
    /// Coordinator to replica: what is your version of `key`?
    Read { op: OpId, key: Key },
    /// Replica to coordinator: my version (a tombstone included), if any.
    ReadReply {
        op: OpId,
        key: Key,
        version: Option<Version>,
    },
    /// Coordinator to a stale replica: store this newer version.
    Repair {
        op: OpId,
        key: Key,
        version: Version,
    },
    /// The repaired replica: it is stored.
    RepairAck { op: OpId },
    /// A hint holder delivering a write the target missed.
    Hint {
        hint: u64,
        key: Key,
        version: Version,
    },
    /// The target: the hinted write is stored; the holder may forget it.
    HintAck { hint: u64 },
    /// "I am alive"; `gen` is the sender's incarnation (its start time), so
    /// a restart is noticed even when it was quicker than the failure timeout.
    Heartbeat { gen: Micros },
    /// Anti-entropy: digests of the sender's data in the buckets both nodes
    /// replicate.
    SyncDigest { buckets: Vec<(u32, u64)> },
    /// Anti-entropy: the sender's versions in buckets whose digests differed;
    /// `reply` asks the receiver to answer with its own versions of them.
    SyncData {
        entries: Vec<(Key, Version)>,
        buckets: Vec<u32>,
        reply: bool,
    },
}

/// The kinds of peer message, by the names events, traces and the page
/// use for them. One list, so a name matched anywhere is one of these.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgKind {
    Write,
    WriteAck,
    Read,
    ReadReply,
    #[serde(rename = "read_repair")]
    Repair,
    #[serde(rename = "read_repair_ack")]
    RepairAck,
    Hint,
    HintAck,
    Heartbeat,
    SyncDigest,
    SyncData,
}

impl MsgKind {
    pub const ALL: [MsgKind; 11] = [
        MsgKind::Write,
        MsgKind::WriteAck,
        MsgKind::Read,
        MsgKind::ReadReply,
        MsgKind::Repair,
        MsgKind::RepairAck,
        MsgKind::Hint,
        MsgKind::HintAck,
        MsgKind::Heartbeat,
        MsgKind::SyncDigest,
        MsgKind::SyncData,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MsgKind::Write => "write",
            MsgKind::WriteAck => "write_ack",
            MsgKind::Read => "read",
            MsgKind::ReadReply => "read_reply",
            MsgKind::Repair => "read_repair",
            MsgKind::RepairAck => "read_repair_ack",
            MsgKind::Hint => "hint",
            MsgKind::HintAck => "hint_ack",
            MsgKind::Heartbeat => "heartbeat",
            MsgKind::SyncDigest => "sync_digest",
            MsgKind::SyncData => "sync_data",
        }
    }
}

impl fmt::Display for MsgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MsgKind {
    type Err = String;

    fn from_str(s: &str) -> Result<MsgKind, String> {
        MsgKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("not a peer message kind: {s:?}"))
    }
}

impl Msg {
    /// Which kind of message this is.
    pub fn msg_kind(&self) -> MsgKind {
        match self {
            Msg::Write { .. } => MsgKind::Write,
            Msg::WriteAck { .. } => MsgKind::WriteAck,
            Msg::Read { .. } => MsgKind::Read,
            Msg::ReadReply { .. } => MsgKind::ReadReply,
            Msg::Repair { .. } => MsgKind::Repair,
            Msg::RepairAck { .. } => MsgKind::RepairAck,
            Msg::Hint { .. } => MsgKind::Hint,
            Msg::HintAck { .. } => MsgKind::HintAck,
            Msg::Heartbeat { .. } => MsgKind::Heartbeat,
            Msg::SyncDigest { .. } => MsgKind::SyncDigest,
            Msg::SyncData { .. } => MsgKind::SyncData,
        }
    }

    /// A short name for the UI and logs: `write`, `write_ack`, ...
    pub fn kind(&self) -> &'static str {
        self.msg_kind().as_str()
    }

    /// The coordinator operation the message belongs to, when it does.
    pub fn op(&self) -> Option<OpId> {
        match self {
            Msg::Write { op, .. }
            | Msg::WriteAck { op }
            | Msg::Read { op, .. }
            | Msg::ReadReply { op, .. }
            | Msg::Repair { op, .. }
            | Msg::RepairAck { op } => Some(*op),
            _ => None,
        }
    }

    /// The key the message is about, when there is one.
    pub fn key(&self) -> Option<&Key> {
        match self {
            Msg::Write { key, .. }
            | Msg::Read { key, .. }
            | Msg::ReadReply { key, .. }
            | Msg::Repair { key, .. }
            | Msg::Hint { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Who asked: the driver's connection id and the request id the client
/// chose. Echoed in the reply so the driver can route it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct ClientRef {
    pub conn: u64,
    pub req: u64,
}

/// A client's data request (the ops that go through the coordinator; the
/// driver answers `inspect` and `subscribe` itself from [`crate::Node`]).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Put {
        key: Key,
        value: String,
        cl: Consistency,
    },
    Get {
        key: Key,
        cl: Consistency,
    },
    Delete {
        key: Key,
        cl: Consistency,
    },
}

impl Request {
    pub fn key(&self) -> &Key {
        match self {
            Request::Put { key, .. } | Request::Get { key, .. } | Request::Delete { key, .. } => {
                key
            }
        }
    }

    pub fn cl(&self) -> Consistency {
        match self {
            Request::Put { cl, .. } | Request::Get { cl, .. } | Request::Delete { cl, .. } => *cl,
        }
    }

    pub fn op_name(&self) -> &'static str {
        match self {
            Request::Put { .. } => "put",
            Request::Get { .. } => "get",
            Request::Delete { .. } => "delete",
        }
    }

    pub fn is_write(&self) -> bool {
        !matches!(self, Request::Get { .. })
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Put { key, value, cl } => {
                let shown: String = value.chars().take(40).collect();
                let more = if shown.len() < value.len() { "…" } else { "" };
                write!(f, "put {key} {shown}{more} {cl}")
            }
            Request::Get { key, cl } => write!(f, "get {key} {cl}"),
            Request::Delete { key, cl } => write!(f, "delete {key} {cl}"),
        }
    }
}

/// The error kinds of PROTOCOL.md.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ErrorKind {
    BadRequest,
    Unavailable,
    Timeout,
    Overloaded,
    Unauthorized,
    Internal,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "BadRequest",
            ErrorKind::Unavailable => "Unavailable",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::Overloaded => "Overloaded",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::Internal => "Internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A coordinator's answer to a [`Request`].
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Reply {
    /// A write reached its level; `ts` is the timestamp it was given.
    Written {
        ts: Micros,
    },
    /// A read reached its level; `None` when the key has no value.
    Read {
        kv: Option<KeyVersion>,
    },
    Error {
        kind: ErrorKind,
        message: String,
    },
}

impl Reply {
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Reply {
        Reply::Error {
            kind,
            message: message.into(),
        }
    }

    pub fn is_ok(&self) -> bool {
        !matches!(self, Reply::Error { .. })
    }

    /// `ok`, or the error kind's name.
    pub fn outcome(&self) -> &'static str {
        match self {
            Reply::Error { kind, .. } => kind.name(),
            _ => "ok",
        }
    }
}

/// Largest encoded peer message the decoder accepts: a full anti-entropy
/// batch of maximum-size versions would be larger, so senders bound their
/// batches (see `node.rs`) and receivers refuse anything bigger.
pub const MAX_PEER_MESSAGE_BYTES: usize = 64 << 20;
/// Most entries one anti-entropy message may carry on the wire.
pub const MAX_SYNC_ENTRIES: usize = 10_000;

mod wire {
    pub const WRITE: u8 = 1;
    pub const WRITE_ACK: u8 = 2;
    pub const READ: u8 = 3;
    pub const READ_REPLY: u8 = 4;
    pub const REPAIR: u8 = 5;
    pub const REPAIR_ACK: u8 = 6;
    pub const HINT: u8 = 7;
    pub const HINT_ACK: u8 = 8;
    pub const HEARTBEAT: u8 = 9;
    pub const SYNC_DIGEST: u8 = 10;
    pub const SYNC_DATA: u8 = 11;
    pub const WRITE_LAZY: u8 = 12;
    pub const VERSION: u8 = 1;
}

impl Message {
    /// The compact binary form nodes send each other on `/peer` (the client
    /// protocol stays JSON): a format version byte, the id, a tag, fields.
    pub fn encode(&self) -> Vec<u8> {
        use crate::storage::{put_key, put_version};
        let mut out = Vec::with_capacity(64);
        out.push(wire::VERSION);
        out.extend_from_slice(&self.id.from.to_le_bytes());
        out.extend_from_slice(&self.id.gen.to_le_bytes());
        out.extend_from_slice(&self.id.n.to_le_bytes());
        let u64le = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
        match &self.body {
            Msg::Write {
                op, key, version, ..
            }
            | Msg::Repair { op, key, version } => {
                out.push(match self.body {
                    Msg::Write { lazy: false, .. } => wire::WRITE,
                    Msg::Write { lazy: true, .. } => wire::WRITE_LAZY,
                    _ => wire::REPAIR,
                });
                u64le(&mut out, *op);
                put_key(&mut out, key);
                put_version(&mut out, version);
            }
            Msg::WriteAck { op } => {
                out.push(wire::WRITE_ACK);
                u64le(&mut out, *op);
            }
            Msg::RepairAck { op } => {
                out.push(wire::REPAIR_ACK);
                u64le(&mut out, *op);
            }
            Msg::Read { op, key } => {
                out.push(wire::READ);
                u64le(&mut out, *op);
                put_key(&mut out, key);
            }
            Msg::ReadReply { op, key, version } => {
                out.push(wire::READ_REPLY);
                u64le(&mut out, *op);
                put_key(&mut out, key);
                match version {
                    None => out.push(0),
                    Some(v) => {
                        out.push(1);
                        put_version(&mut out, v);
                    }
                }
            }
            Msg::Hint { hint, key, version } => {
                out.push(wire::HINT);
                u64le(&mut out, *hint);
                put_key(&mut out, key);
                put_version(&mut out, version);
            }
            Msg::HintAck { hint } => {
                out.push(wire::HINT_ACK);
                u64le(&mut out, *hint);
            }
            Msg::Heartbeat { gen } => {
                out.push(wire::HEARTBEAT);
                u64le(&mut out, *gen);
            }
            Msg::SyncDigest { buckets } => {
                out.push(wire::SYNC_DIGEST);
                out.extend_from_slice(&(buckets.len() as u32).to_le_bytes());
                for (b, s) in buckets {
                    out.extend_from_slice(&b.to_le_bytes());
                    u64le(&mut out, *s);
                }
            }
            Msg::SyncData {
                entries,
                buckets,
                reply,
            } => {
                out.push(wire::SYNC_DATA);
                out.push(u8::from(*reply));
                out.extend_from_slice(&(buckets.len() as u32).to_le_bytes());
                for b in buckets {
                    out.extend_from_slice(&b.to_le_bytes());
                }
                out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
                for (k, v) in entries {
                    put_key(&mut out, k);
                    put_version(&mut out, v);
                }
            }
        }
        out
    }

    /// Decodes [`Message::encode`]'s bytes; anything else is an error that
    /// says what was wrong, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Message, crate::storage::DecodeError> {
        use crate::storage::{DecodeError, Reader};
        if bytes.len() > MAX_PEER_MESSAGE_BYTES {
            return Err(DecodeError(format!(
                "peer message of {} bytes is over the {MAX_PEER_MESSAGE_BYTES}-byte limit",
                bytes.len()
            )));
        }
        let mut r = Reader { bytes, at: 0 };
        let v = r.u8("format version")?;
        if v != wire::VERSION {
            return Err(DecodeError(format!(
                "peer message format {v}; this node speaks {}",
                wire::VERSION
            )));
        }
        let id = MsgId {
            from: r.u32("sender")?,
            gen: r.u64("generation")?,
            n: r.u64("message number")?,
        };
        let count = |r: &mut Reader, what: &str, max: usize| -> Result<usize, DecodeError> {
            let n = r.u32(what)? as usize;
            if n > max {
                Err(DecodeError(format!(
                    "{what} {n} is over the limit of {max}"
                )))
            } else {
                Ok(n)
            }
        };
        let body = match r.u8("message tag")? {
            tag @ (wire::WRITE | wire::WRITE_LAZY) => Msg::Write {
                op: r.u64("op")?,
                key: r.key()?,
                version: r.version()?,
                lazy: tag == wire::WRITE_LAZY,
            },
            wire::REPAIR => Msg::Repair {
                op: r.u64("op")?,
                key: r.key()?,
                version: r.version()?,
            },
            wire::WRITE_ACK => Msg::WriteAck { op: r.u64("op")? },
            wire::REPAIR_ACK => Msg::RepairAck { op: r.u64("op")? },
            wire::READ => Msg::Read {
                op: r.u64("op")?,
                key: r.key()?,
            },
            wire::READ_REPLY => {
                let op = r.u64("op")?;
                let key = r.key()?;
                let version = match r.u8("version flag")? {
                    0 => None,
                    1 => Some(r.version()?),
                    t => return Err(DecodeError(format!("unknown version flag {t}"))),
                };
                Msg::ReadReply { op, key, version }
            }
            wire::HINT => Msg::Hint {
                hint: r.u64("hint id")?,
                key: r.key()?,
                version: r.version()?,
            },
            wire::HINT_ACK => Msg::HintAck {
                hint: r.u64("hint id")?,
            },
            wire::HEARTBEAT => Msg::Heartbeat {
                gen: r.u64("generation")?,
            },
            wire::SYNC_DIGEST => {
                let n = count(&mut r, "digest count", 4096)?;
                let mut buckets = Vec::with_capacity(n);
                for _ in 0..n {
                    buckets.push((r.u32("bucket")?, r.u64("digest")?));
                }
                Msg::SyncDigest { buckets }
            }
            wire::SYNC_DATA => {
                let reply = match r.u8("reply flag")? {
                    0 => false,
                    1 => true,
                    t => return Err(DecodeError(format!("unknown reply flag {t}"))),
                };
                let nb = count(&mut r, "bucket count", 4096)?;
                let mut buckets = Vec::with_capacity(nb);
                for _ in 0..nb {
                    buckets.push(r.u32("bucket")?);
                }
                let ne = count(&mut r, "entry count", MAX_SYNC_ENTRIES)?;
                let mut entries = Vec::with_capacity(ne.min(1024));
                for _ in 0..ne {
                    entries.push((r.key()?, r.version()?));
                }
                Msg::SyncData {
                    entries,
                    buckets,
                    reply,
                }
            }
            t => return Err(DecodeError(format!("unknown message tag {t}"))),
        };
        if r.at != bytes.len() {
            return Err(DecodeError(format!(
                "{} stray bytes after the {} message",
                bytes.len() - r.at,
                body.kind()
            )));
        }
        Ok(Message { id, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn message_kinds_have_one_name_each_in_text_and_json() {
        for k in MsgKind::ALL {
            assert_eq!(k.as_str().parse::<MsgKind>(), Ok(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert!("gossip".parse::<MsgKind>().unwrap_err().contains("gossip"));
    }

    fn arb_key() -> impl Strategy<Value = Key> {
        prop_oneof![
            any::<u8>().prop_map(Key::Int),
            "[a-z0-9]{1,20}".prop_map(Key::Str)
        ]
    }
    fn arb_version() -> impl Strategy<Value = Version> {
        (any::<u64>(), proptest::option::of(".{0,30}"))
            .prop_map(|(ts, value)| Version { ts, value })
    }
    fn arb_msg() -> impl Strategy<Value = Msg> {
        prop_oneof![
            (any::<u64>(), arb_key(), arb_version(), any::<bool>()).prop_map(
                |(op, key, version, lazy)| Msg::Write {
                    op,
                    key,
                    version,
                    lazy
                }
            ),
            any::<u64>().prop_map(|op| Msg::WriteAck { op }),
            (any::<u64>(), arb_key()).prop_map(|(op, key)| Msg::Read { op, key }),
            (any::<u64>(), arb_key(), proptest::option::of(arb_version()))
                .prop_map(|(op, key, version)| Msg::ReadReply { op, key, version }),
            (any::<u64>(), arb_key(), arb_version()).prop_map(|(op, key, version)| Msg::Repair {
                op,
                key,
                version
            }),
            any::<u64>().prop_map(|op| Msg::RepairAck { op }),
            (any::<u64>(), arb_key(), arb_version()).prop_map(|(hint, key, version)| Msg::Hint {
                hint,
                key,
                version
            }),
            any::<u64>().prop_map(|hint| Msg::HintAck { hint }),
            any::<u64>().prop_map(|gen| Msg::Heartbeat { gen }),
            proptest::collection::vec((any::<u32>(), any::<u64>()), 0..70)
                .prop_map(|buckets| Msg::SyncDigest { buckets }),
            (
                proptest::collection::vec((arb_key(), arb_version()), 0..10),
                proptest::collection::vec(any::<u32>(), 0..10),
                any::<bool>()
            )
                .prop_map(|(entries, buckets, reply)| Msg::SyncData {
                    entries,
                    buckets,
                    reply
                }),
        ]
    }

    proptest! {
        #[test]
        fn peer_messages_round_trip(from in any::<u32>(), gen in any::<u64>(), n in any::<u64>(), body in arb_msg()) {
            let m = Message { id: MsgId { from, gen, n }, body };
            prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn peer_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Message::decode(&bytes);
        }

        #[test]
        fn truncated_messages_are_errors(body in arb_msg(), cut in any::<prop::sample::Index>()) {
            let m = Message { id: MsgId { from: 1, gen: 2, n: 3 }, body };
            let bytes = m.encode();
            let keep = cut.index(bytes.len());
            prop_assert!(Message::decode(&bytes[..keep]).is_err());
        }
    }
}
