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

impl Msg {
    /// A short name for the UI and logs: `write`, `write_ack`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Write { .. } => "write",
            Msg::WriteAck { .. } => "write_ack",
            Msg::Read { .. } => "read",
            Msg::ReadReply { .. } => "read_reply",
            Msg::Repair { .. } => "read_repair",
            Msg::RepairAck { .. } => "read_repair_ack",
            Msg::Hint { .. } => "hint",
            Msg::HintAck { .. } => "hint_ack",
            Msg::Heartbeat { .. } => "heartbeat",
            Msg::SyncDigest { .. } => "sync_digest",
            Msg::SyncData { .. } => "sync_data",
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
