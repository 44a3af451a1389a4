//! What nodes say to each other, and what clients ask and are answered.
//!
//! Peer messages carry a [`MsgId`] made of the sender and a per-sender
//! counter, so an observer can match a "sent" event on one node with the
//! "received" event on another without trusting either node's clock.

use crate::types::{Consistency, Key, KeyVersion, Micros, NodeId, Value, Version};
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
    /// Anti-entropy: the sender's hashes of these nodes of the range trees
    /// both replicate (the roots first; then the children of nodes whose
    /// hashes differed). `depth` is the sender's tree depth: the two
    /// descend no deeper than the shallower tree. The receiver answers with
    /// its children of the nodes that differ, or, at the bottom, with
    /// `sync_data`.
    SyncDigest {
        depth: u8,
        nodes: Vec<(TreeNode, u64)>,
    },
    /// Anti-entropy, once the trees' walk reached leaves that still
    /// differ: versions under those leaves with keys in `span`
    /// (`None`: from the first key, through the last), in the exchange's
    /// order (`storage::hash_order`: by key hash, then key). Both sides
    /// read a bounded slice per message, so an exchange may be several of
    /// these. An offer (`reply`) carries the sender's versions there and
    /// asks for the receiver's that are newer or missing; its first one
    /// names the leaves (`nodes`), which the two keep until the exchange
    /// ends. An answer carries those versions, and its `upto` is how far
    /// the receiver read: the offerer goes on after it, or stops at `None`.
    SyncData {
        entries: Vec<(Key, Version)>,
        nodes: Vec<TreeNode>,
        /// Boxed: the rare message's bounds would otherwise make every
        /// message larger.
        span: Box<KeySpan>,
        reply: bool,
    },
}

/// The keys a `sync_data` covers: `(after, upto]` in
/// [`crate::storage::hash_order`], `None` meaning from the first key,
/// through the last.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct KeySpan {
    pub after: Option<Key>,
    pub upto: Option<Key>,
}

/// One node of an anti-entropy hash tree (see `node/merkle.rs`): the ring
/// range by its end token, the level (0: the whole range) and the node's
/// index in that level, `0..2^level`. It covers the same keys on every node.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct TreeNode {
    pub range: u64,
    pub level: u8,
    pub index: u32,
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
        value: Value,
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
/// batches (see `node/anti_entropy.rs`) and receivers refuse anything
/// bigger.
pub const MAX_PEER_MESSAGE_BYTES: usize = 64 << 20;
/// Most entries one anti-entropy message may carry on the wire.
pub const MAX_SYNC_ENTRIES: usize = 10_000;
/// Most tree nodes one anti-entropy message may carry on the wire.
pub const MAX_SYNC_NODES: usize = 65_536;

mod wire;

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
            "[a-z0-9]{1,20}".prop_map(|s| Key::Str(s.into()))
        ]
    }
    fn arb_version() -> impl Strategy<Value = Version> {
        (any::<u64>(), proptest::option::of(".{0,30}")).prop_map(|(ts, value)| Version {
            ts,
            value: value.map(Value::from),
        })
    }
    fn arb_node() -> impl Strategy<Value = TreeNode> {
        (any::<u64>(), any::<u8>(), any::<u32>()).prop_map(|(range, level, index)| TreeNode {
            range,
            level,
            index,
        })
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
            (
                any::<u8>(),
                proptest::collection::vec((arb_node(), any::<u64>()), 0..70)
            )
                .prop_map(|(depth, nodes)| Msg::SyncDigest { depth, nodes }),
            (
                proptest::collection::vec((arb_key(), arb_version()), 0..10),
                proptest::collection::vec(arb_node(), 0..10),
                proptest::option::of(arb_key()),
                proptest::option::of(arb_key()),
                any::<bool>()
            )
                .prop_map(|(entries, nodes, after, upto, reply)| Msg::SyncData {
                    entries,
                    nodes,
                    span: Box::new(KeySpan { after, upto }),
                    reply
                }),
        ]
    }

    #[test]
    fn the_retired_one_level_sync_messages_are_refused_by_name() {
        for tag in [10u8, 11] {
            let mut bytes = vec![1];
            bytes.extend_from_slice(&[0; 20]);
            bytes.push(tag);
            let e = Message::decode(&bytes).unwrap_err();
            assert!(e.0.contains("one-level anti-entropy"), "{e}");
        }
    }

    proptest! {
        #[test]
        fn peer_messages_round_trip(from in any::<u32>(), gen in any::<u64>(), n in any::<u64>(), body in arb_msg()) {
            let m = Message { id: MsgId { from, gen, n }, body };
            prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn a_data_messages_length_is_known_before_it_is_encoded(body in arb_msg()) {
            let m = Message { id: MsgId { from: 7, gen: 8, n: 9 }, body };
            let bytes = m.encode();
            if !matches!(m.body, Msg::SyncDigest { .. } | Msg::SyncData { .. }) {
                prop_assert_eq!(bytes.len(), m.encoded_len());
                prop_assert_eq!(bytes.capacity(), bytes.len());
            }
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
