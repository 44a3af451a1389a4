//! The driver contract: what goes into a [`crate::Node`] ([`Input`]) and
//! what comes out ([`Output`]). The events in `Output::Event` are
//! [`crate::event`]'s, re-exported here.

pub use crate::event::{Event, EventKind, HintReason};
use crate::message::{ClientRef, Message, OpId, Request};
use crate::storage::Record;
use crate::types::{Consistency, Key, Micros, NodeId};
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

/// A client request summary for observers that do not need the value.
pub fn describe_request(r: &Request) -> (String, Key, Consistency) {
    (r.op_name().to_string(), r.key().clone(), r.cl())
}
