//! One node's state machine: coordinator, replica, hint holder, failure
//! detector and anti-entropy, in one deterministic value. Each role has a
//! file of its own here; this one holds the node's state, the driver's
//! entry points, and the few steps every role shares (sending, logging,
//! storing a version, answering a client, reporting an event).
//!
//! **After every call to [`Node::handle`], drain [`Node::poll`] until it
//! returns `None`, and act on each output in order.** A `Persist` must be
//! durable before any later `Send` or `Reply` leaves the driver.

mod ae_pair;
mod anti_entropy;
mod coordinator;
mod detector;
mod hints;
mod merkle;
#[cfg(test)]
mod merkle_tests;
mod recovery;
mod replica;
#[cfg(test)]
mod tests;

pub use ae_pair::{
    anti_entropy_round_between, anti_entropy_round_with, diverged_replicas, RoundCost,
};
pub use anti_entropy::SCAN_SLICE;
pub use detector::PeerView;
pub use merkle::{Merkle, KEYS_PER_LEAF};
pub use recovery::Recovery;

use crate::config::{ClusterConfig, Config};
use crate::io::{Event, EventKind, Input, Output, TimerId};
use crate::message::{ClientRef, Message, Msg, MsgId, OpId, Reply};
use crate::ring::Ring;
use crate::storage::{Memtable, Record, SnapshotCursor};
use crate::types::{Key, Micros, NodeId, Version};
use coordinator::PendingOp;
use detector::PeerState;
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

/// Which [`Output::Event`]s a node builds (see [`Node::set_events`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventLevel {
    /// Every step: each message sent and received, record persisted,
    /// write applied, request received and answered; and the notable ones.
    All,
    /// Only what is rare and worth a line in a log: the node starting,
    /// peers going down and coming back, hints stored, sent, delivered and
    /// dropped, read repairs, anti-entropy, compactions.
    Notable,
    /// None.
    Off,
}

/// A ringside node. See the module docs for the driver contract.
#[derive(Clone, Debug)]
pub struct Node {
    config: Config,
    ring: Ring,
    mem: Memtable,
    /// Hash trees of the ranges this node replicates, kept in step with
    /// `mem.data` by [`Node::store`] (anti-entropy compares them).
    tree: Merkle,
    recovery: Recovery,
    started: bool,
    /// This incarnation: the clock at `Input::Start`.
    gen: Micros,
    now: Micros,
    last_ts: Micros,
    next_op: OpId,
    next_msg: u64,
    next_hint: u64,
    next_seq: u64,
    lsn: u64,
    /// Boxed: an op is taken out and put back on every reply, and a
    /// B-tree moves its entries about on each insert and removal.
    ops: BTreeMap<OpId, Box<PendingOp>>,
    peers: BTreeMap<NodeId, PeerState>,
    /// Hint id -> when it was last sent.
    hints_in_flight: BTreeMap<u64, Micros>,
    ae_next_peer: usize,
    /// The anti-entropy exchanges of versions under way.
    ae: anti_entropy::LeafExchanges,
    out: VecDeque<Output>,
    /// Which [`Output::Event`]s are built (see [`Node::set_events`]).
    events: EventLevel,
}

impl Node {
    /// The next thing the driver must do, or `None` when there is nothing.
    #[must_use]
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Which of what it does the node reports as [`Output::Event`]s: all
    /// of it from the start. A driver that shows and logs fewer asks for
    /// fewer, since building them (a message's kind as text, a record
    /// written out, ...) is a good part of the node's work: the simulator
    /// without a trace wants none, a native node with no subscriber only
    /// [`EventLevel::Notable`] ones for its log. Nothing else changes.
    pub fn set_events(&mut self, level: EventLevel) {
        self.events = level;
    }

    /// Moves every pending output, in order, to the end of `into`: the
    /// same as [`Node::poll`] until `None`, without moving each output
    /// twice when `into` is empty (its buffer is swapped in instead).
    pub fn take_outputs(&mut self, into: &mut VecDeque<Output>) {
        if into.is_empty() {
            std::mem::swap(&mut self.out, into);
        } else {
            into.extend(self.out.drain(..));
        }
    }

    /// The clock went back by `by` (a step, or a suspend on a clock that
    /// paused): the instants durations are measured from move back with
    /// it, so a peer's silence, a hint's retry and a request's age keep
    /// counting instead of standing still until the clock catches up.
    /// Timestamps need nothing here: they stay above `last_ts` and the
    /// log's reservation.
    fn clock_stepped_back(&mut self, by: Micros) {
        for p in self.peers.values_mut() {
            p.last_heard = p.last_heard.saturating_sub(by);
        }
        for sent in self.hints_in_flight.values_mut() {
            *sent = sent.saturating_sub(by);
        }
        for op in self.ops.values_mut() {
            op.shift_back(by);
        }
    }

    /// Feeds one input at time `now` (this node's clock, microseconds).
    pub fn handle(&mut self, now: Micros, input: Input) {
        if now < self.now {
            self.clock_stepped_back(self.now - now);
        }
        self.now = now;
        match input {
            Input::Start => self.handle_start(),
            Input::Client { client, request } => self.handle_client(client, request),
            Input::Message { from, msg } => self.handle_message(from, msg),
            Input::Timer(id) => self.handle_timer(id),
            Input::PeerDisconnected(peer) => self.mark_down(peer, "connection lost"),
        }
    }

    // ----- read-only views for drivers, inspect and the UI -----

    pub fn id(&self) -> NodeId {
        self.config.id
    }
    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn ring(&self) -> &Ring {
        &self.ring
    }
    pub fn recovery(&self) -> Recovery {
        self.recovery
    }
    /// This incarnation's start time.
    pub fn generation(&self) -> Micros {
        self.gen
    }
    /// The node's clock: the latest time it was handed. A driver whose
    /// timers run on another clock counts their delay from this.
    pub fn now(&self) -> Micros {
        self.now
    }
    /// Records persisted since the log began (replayed ones included).
    pub fn lsn(&self) -> u64 {
        self.lsn
    }
    /// False for a timer whose firing now would change nothing: the
    /// deadline of a request that is already over (answered, and every
    /// replica heard from). A driver may drop such a timer instead of
    /// waking for it; one that fires anyway is ignored.
    pub fn timer_matters(&self, id: TimerId) -> bool {
        match id {
            TimerId::Request { op } => self.ops.contains_key(&op),
            TimerId::Heartbeat | TimerId::Hints | TimerId::AntiEntropy => true,
        }
    }
    /// The next slice of a snapshot, the fewest records that rebuild this
    /// node's state (log compaction), taken over many turns with the node
    /// serving in between (see [`SnapshotCursor`]): the driver follows it
    /// with every record the node persists from the first slice on, puts
    /// the whole in the old log's place, and then tells the node
    /// ([`Node::compacted`]).
    pub fn snapshot_slice(&self, cursor: &mut SnapshotCursor, max: usize, out: &mut Vec<Record>) {
        self.mem.snapshot_slice(cursor, max, out);
    }

    /// The log was replaced by a snapshot: `records` is what the new log
    /// holds. Reported as an event.
    pub fn compacted(&mut self, records: usize) {
        self.event(EventKind::Compacted { records });
    }

    // ----- internals -----

    fn cfg(&self) -> &ClusterConfig {
        &self.config.cluster
    }

    fn event(&mut self, kind: EventKind) {
        if self.events == EventLevel::Off {
            return;
        }
        let e = Event {
            seq: self.next_seq,
            ts: self.now,
            node: self.config.id,
            kind,
        };
        self.next_seq += 1;
        self.out.push_back(Output::Event(e));
    }

    fn timer(&mut self, id: TimerId, after_ms: u64) {
        self.out.push_back(Output::Timer {
            id,
            at: self.now + after_ms * 1000,
        });
    }

    fn send(&mut self, to: NodeId, body: Msg) {
        let id = MsgId {
            from: self.config.id,
            gen: self.gen,
            n: self.next_msg,
        };
        self.next_msg += 1;
        if self.events == EventLevel::All {
            self.event(EventKind::MessageSent {
                msg: id,
                to,
                msg_kind: body.kind().to_string(),
                key: body.key().cloned(),
                op: body.op(),
            });
        }
        self.out.push_back(Output::Send {
            to,
            msg: Message { id, body },
        });
    }

    fn persist(&mut self, record: Record) {
        self.lsn += 1;
        if self.events == EventLevel::All {
            self.event(EventKind::RecordPersisted {
                lsn: self.lsn,
                record: record.to_string(),
            });
        }
        self.out.push_back(Output::Persist(record));
    }

    /// Stores `version` of `key` if it wins by last-write-wins (logged,
    /// then in the memtable and the trees); true when it did. A version
    /// the caller gives up (`Cow::Owned`, a peer's write) goes into the
    /// memtable as it is; a borrowed one is copied only if it wins.
    fn store(&mut self, key: &Key, version: Cow<'_, Version>, source: &str) -> bool {
        let old = self.mem.data.get(key);
        let wins = old.is_none_or(|cur| version.supersedes(cur));
        let applied = (self.events == EventLevel::All).then(|| EventKind::WriteApplied {
            key: key.clone(),
            version: version.as_ref().clone(),
            won: wins,
            source: source.to_string(),
        });
        if wins {
            self.tree.update(&self.ring, key, old, &version);
            self.persist(Record::Write {
                key: key.clone(),
                version: version.as_ref().clone(),
            });
            self.mem.put_winner(key, version.into_owned());
            self.tree.grow(&self.ring, &self.mem.data);
        }
        if let Some(event) = applied {
            self.event(event);
        }
        wins
    }

    fn reply(
        &mut self,
        client: ClientRef,
        op: OpId,
        started: Micros,
        answered: Vec<NodeId>,
        reply: Reply,
    ) {
        let message = match &reply {
            Reply::Error { message, .. } => message.clone(),
            _ => String::new(),
        };
        if self.events == EventLevel::All {
            self.event(EventKind::RequestAnswered {
                client,
                op,
                outcome: reply.outcome().to_string(),
                message,
                answered,
                latency_us: self.now.saturating_sub(started),
            });
        }
        self.out.push_back(Output::Reply { client, reply });
    }

    /// Routes a peer message to the room that handles it. Any message
    /// from a peer is also a sign of life for the failure detector.
    fn handle_message(&mut self, from: NodeId, msg: Message) {
        if from == self.config.id || !self.peers.contains_key(&from) || !self.started {
            return;
        }
        if self.events == EventLevel::All {
            self.event(EventKind::MessageReceived {
                msg: msg.id,
                from,
                msg_kind: msg.body.kind().to_string(),
                key: msg.body.key().cloned(),
                op: msg.body.op(),
            });
        }
        self.heard_from(from, msg.id.gen);
        match msg.body {
            Msg::Write {
                op, key, version, ..
            } => self.on_write(from, op, key, version),
            Msg::WriteAck { op } => self.on_write_ack(from, op),
            Msg::Read { op, key } => self.on_read(from, op, key),
            Msg::ReadReply { op, key, version } => self.on_read_reply(from, op, key, version),
            Msg::Repair { op, key, version } => self.on_repair(from, op, key, version),
            Msg::RepairAck { op } => self.on_repair_ack(from, op),
            Msg::Hint { hint, key, version } => self.on_hint(from, hint, key, version),
            Msg::HintAck { hint } => self.on_hint_ack(from, hint),
            Msg::Heartbeat { .. } => {}
            Msg::SyncDigest { depth, nodes } => self.handle_sync_digest(from, depth, nodes),
            Msg::SyncData {
                entries,
                nodes,
                span,
                reply,
            } => self.handle_sync_data(
                from,
                anti_entropy::SyncData {
                    entries,
                    nodes,
                    span: *span,
                    reply,
                },
            ),
        }
    }

    /// Routes a due timer to the room that asked for it.
    fn handle_timer(&mut self, id: TimerId) {
        if !self.started {
            return;
        }
        match id {
            TimerId::Heartbeat => self.heartbeat(),
            TimerId::Request { op } => self.request_timeout(op),
            TimerId::Hints => self.hints_round(),
            TimerId::AntiEntropy => self.anti_entropy_round(),
        }
    }
}
