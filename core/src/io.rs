//! The driver contract: what goes into a [`crate::Node`] ([`Input`]) and
//! what comes out ([`Output`]), plus the events observers see ([`Event`]).

use crate::message::{ClientRef, Message, MsgId, OpId, Request};
use crate::storage::Record;
use crate::types::{Consistency, Key, Micros, NodeId, Version};
use serde::{Deserialize, Serialize};

/// Something that happened to a node, handed in with the current time.
#[derive(Clone, Debug)]
pub enum Input {
    /// The driver is starting the node. Call it once, first, after
    /// [`crate::Node::new`] or [`crate::Node::recover`].
    Start,
    /// A client request arrived on connection `client.conn`.
    Client { client: ClientRef, request: Request },
    /// A peer message arrived.
    Message { from: NodeId, msg: Message },
    /// A timer the node asked for (with [`Output::Timer`]) is due.
    Timer(TimerId),
    /// The driver lost its connection to a peer: treat it as down now
    /// rather than waiting for the failure detector.
    PeerDisconnected(NodeId),
}

/// The timers a node asks for. A timer may fire late or more than once; the
/// node checks its own state when it does.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum TimerId {
    /// Send heartbeats and look for silent peers.
    Heartbeat,
    /// A coordinator operation's deadline.
    Request { op: OpId },
    /// Retry undelivered hints and expire old ones.
    Hints,
    /// Compare data with replica peers.
    AntiEntropy,
}

/// What the driver must do. Drain them all with [`crate::Node::poll`] after
/// every [`crate::Node::handle`], and act on them in order.
#[derive(Clone, Debug)]
#[must_use = "a node's outputs must be acted on: persist, send, reply, arm timers"]
pub enum Output {
    /// Append this record to the commit log. It must be durable (per the
    /// sync policy) before any later `Send` or `Reply` goes out, because
    /// those may acknowledge it.
    Persist(Record),
    /// Send a message to a peer. Loss is fine: the protocol retries or
    /// times out.
    Send { to: NodeId, msg: Message },
    /// Answer a client request.
    Reply {
        client: ClientRef,
        reply: crate::message::Reply,
    },
    /// Call `handle(_, Input::Timer(id))` once the node's clock reaches `at`.
    Timer { id: TimerId, at: Micros },
    /// Tell observers (UI, logs, tests). Dropping it changes nothing.
    /// Which ones a node builds: [`crate::Node::set_events`].
    Event(Event),
}

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

/// A client request summary for observers that do not need the value.
pub fn describe_request(r: &Request) -> (String, Key, Consistency) {
    (r.op_name().to_string(), r.key().clone(), r.cl())
}
