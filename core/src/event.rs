//! What observers see: the events a node reports as it works, the events
//! around the nodes (crashes, cuts, clients), and the trace line that
//! carries either with its time. The simulator, the page's backends and
//! the native node's subscribers all speak this one vocabulary, so a live
//! cluster's happenings need not pose as a simulator's.

use crate::check::Outcome;
use crate::config::NetConfig;
use crate::message::{ClientRef, MsgId, OpId, Request};
use crate::types::{Key, Micros, NodeId, Version};
use serde::{Deserialize, Serialize};

/// An observable step, numbered per node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Per node, increasing from 1 in each incarnation.
    pub seq: u64,
    /// The node's clock when it happened (microseconds).
    pub ts: Micros,
    pub node: NodeId,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Why a hint was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HintReason {
    /// The replica was known down when the write came in.
    Down,
    /// The replica did not acknowledge in time.
    NoAck,
}

/// Every kind of event, with its fields. Serialized with `"kind": "..."`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The node started; `replayed` records came from its log.
    Started {
        replayed: usize,
        keys: usize,
        hints: usize,
        gen: Micros,
    },
    RequestReceived {
        client: ClientRef,
        op: OpId,
        request: Request,
        replicas: Vec<NodeId>,
        live: Vec<NodeId>,
    },
    RequestAnswered {
        client: ClientRef,
        op: OpId,
        outcome: String,
        message: String,
        /// Replicas whose answer counted.
        answered: Vec<NodeId>,
        latency_us: Micros,
    },
    MessageSent {
        msg: MsgId,
        to: NodeId,
        msg_kind: String,
        key: Option<Key>,
        /// The coordinator operation it belongs to (on the coordinator
        /// that started it), for sequence diagrams.
        #[serde(default)]
        op: Option<OpId>,
    },
    MessageReceived {
        msg: MsgId,
        from: NodeId,
        msg_kind: String,
        key: Option<Key>,
        #[serde(default)]
        op: Option<OpId>,
    },
    /// A record handed to the commit log; `lsn` numbers records per node.
    RecordPersisted {
        lsn: u64,
        record: String,
    },
    /// A version merged into the memtable; `won` is false when the node
    /// already had a newer one and kept it.
    WriteApplied {
        key: Key,
        version: Version,
        won: bool,
        source: String,
    },
    HintStored {
        hint: u64,
        target: NodeId,
        key: Key,
        reason: HintReason,
    },
    HintSent {
        hint: u64,
        target: NodeId,
        key: Key,
    },
    HintDelivered {
        hint: u64,
        target: NodeId,
        key: Key,
    },
    /// A hint given up: past the hint window, or the hint store was full.
    HintDropped {
        target: NodeId,
        key: Key,
        reason: String,
    },
    ReadRepair {
        key: Key,
        target: NodeId,
        version: Version,
        blocking: bool,
    },
    /// Anti-entropy found `keys` keys differing with `peer` and sent them.
    AntiEntropy {
        peer: NodeId,
        keys: usize,
    },
    PeerDown {
        peer: NodeId,
        reason: String,
    },
    PeerUp {
        peer: NodeId,
        restarted: bool,
    },
    /// A snapshot replaced the log: `records` remain.
    Compacted {
        records: usize,
    },
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Started { .. } => "started",
            EventKind::RequestReceived { .. } => "request_received",
            EventKind::RequestAnswered { .. } => "request_answered",
            EventKind::MessageSent { .. } => "message_sent",
            EventKind::MessageReceived { .. } => "message_received",
            EventKind::RecordPersisted { .. } => "record_persisted",
            EventKind::WriteApplied { .. } => "write_applied",
            EventKind::HintStored { .. } => "hint_stored",
            EventKind::HintSent { .. } => "hint_sent",
            EventKind::HintDelivered { .. } => "hint_delivered",
            EventKind::HintDropped { .. } => "hint_dropped",
            EventKind::ReadRepair { .. } => "read_repair",
            EventKind::AntiEntropy { .. } => "anti_entropy",
            EventKind::PeerDown { .. } => "peer_down",
            EventKind::PeerUp { .. } => "peer_up",
            EventKind::Compacted { .. } => "compacted",
        }
    }
}

/// What happens around the nodes, beside their own events: the network,
/// crashes and restarts, clients sending and being answered. The
/// simulator reports all of them; a live backend the ones it sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClusterEvent {
    MessageDropped {
        msg: MsgId,
        from: NodeId,
        to: NodeId,
        msg_kind: String,
        reason: String,
    },
    Crashed {
        node: NodeId,
        lost_records: usize,
    },
    Restarted {
        node: NodeId,
        replayed: usize,
    },
    LinkCut {
        a: NodeId,
        b: NodeId,
    },
    LinkHealed {
        a: NodeId,
        b: NodeId,
    },
    NetChanged {
        net: NetConfig,
    },
    SkewChanged {
        node: NodeId,
        skew_us: i64,
    },
    ClientSent {
        client: ClientRef,
        node: NodeId,
        request: Request,
    },
    ClientAnswered {
        client: ClientRef,
        node: NodeId,
        outcome: Outcome,
    },
    Compacted {
        node: NodeId,
        before: usize,
        after: usize,
    },
}

/// One line of the trace, at time `at` on the observer's clock (the
/// simulator's global clock, or a live backend's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub at: Micros,
    #[serde(flatten)]
    pub what: TraceWhat,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum TraceWhat {
    Node {
        event: Event,
    },
    /// Named `sim` on the wire for the traces already written.
    Sim {
        event: ClusterEvent,
    },
}
