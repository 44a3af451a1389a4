//! One node's state machine: coordinator, replica, hint holder, failure
//! detector and anti-entropy, in one deterministic value.
//!
//! **After every call to [`Node::handle`], drain [`Node::poll`] until it
//! returns `None`, and act on each output in order.** A `Persist` must be
//! durable before any later `Send` or `Reply` leaves the driver.

use crate::config::Config;
use crate::io::{Event, EventKind, HintReason, Input, Output, TimerId};
use crate::message::{ClientRef, ErrorKind, Message, Msg, MsgId, OpId, Reply, Request};
use crate::ring::{murmur64, Ring};
use crate::storage::{Hint, Memtable, Record};
use crate::types::{Consistency, Key, KeyVersion, Micros, NodeId, Version, MAX_VALUE_BYTES};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Hints sent to one target per delivery round; the rest wait for the next
/// round, so a long outage does not become one huge burst.
const HINTS_PER_ROUND: usize = 256;
/// Anti-entropy buckets per peer pair (a one-level Merkle tree).
const AE_BUCKETS: u32 = 64;
/// Versions one anti-entropy message carries at most.
const AE_MAX_ENTRIES: usize = 2_000;
/// Bytes of values one anti-entropy message carries, about, at most (one
/// more version may pass it), far under the peer message limit.
const AE_MAX_BYTES: usize = 8 << 20;

/// What [`Node::recover`] rebuilt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub records: usize,
    pub keys: usize,
    pub hints: usize,
}

/// What the failure detector thinks of a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    pub node: NodeId,
    pub up: bool,
    /// When this node last heard from the peer (its own clock).
    pub last_heard_us: Micros,
}

#[derive(Clone, Debug)]
struct PeerState {
    up: bool,
    last_heard: Micros,
    gen: Option<Micros>,
}

#[derive(Clone, Debug)]
enum OpState {
    Write {
        version: Version,
        /// Live replicas the write went to.
        sent: Vec<NodeId>,
        acked: Vec<NodeId>,
        hinted: usize,
    },
    Read {
        asked: Vec<NodeId>,
        responses: Vec<(NodeId, Option<Version>)>,
        winner: Option<Version>,
        /// Stale replicas whose blocking repair we wait for.
        repairing: Vec<NodeId>,
        /// Replicas already sent a repair (blocking or not).
        repaired: Vec<NodeId>,
    },
}

#[derive(Clone, Debug)]
struct PendingOp {
    client: ClientRef,
    key: Key,
    cl: Consistency,
    needed: usize,
    replicas: Vec<NodeId>,
    started: Micros,
    replied: bool,
    state: OpState,
}

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
#[derive(Debug)]
pub struct Node {
    config: Config,
    ring: Ring,
    mem: Memtable,
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
    out: VecDeque<Output>,
    /// Which [`Output::Event`]s are built (see [`Node::set_events`]).
    events: EventLevel,
}

impl Node {
    /// A node with an empty log.
    pub fn new(config: Config) -> Node {
        Node::recover(config, &[]).0
    }

    /// Rebuilds a node from its commit-log records, in order: the memtable
    /// (last write wins) and the hints still held.
    pub fn recover(config: Config, records: &[Record]) -> (Node, Recovery) {
        Node::recover_from(config, records.iter().cloned())
    }

    /// [`Node::recover`] from records handed over one at a time, so a large
    /// log never sits in memory as a whole (see
    /// [`crate::storage::LogReader`]).
    pub fn recover_from(
        config: Config,
        records: impl IntoIterator<Item = Record>,
    ) -> (Node, Recovery) {
        let ring = Ring::new(
            &config.cluster.partitioner,
            &config.cluster.nodes,
            config.cluster.rf,
        );
        let mut mem = Memtable::default();
        let mut n = 0usize;
        let mut max_hint = 0u64;
        // Writes merge by last-write-wins, a total order, so the order
        // they are merged in does not matter: gather them, sort by key,
        // keep the winner of each key, and build the map from sorted
        // input in one pass. Far faster than a million inserts at random
        // places of a B-tree. Hints depend on order and go in as they come.
        let mut writes: Vec<(Key, Version)> = Vec::new();
        for r in records {
            match r {
                Record::Write { key, version } => writes.push((key, version)),
                r => {
                    if let Record::Hint { id, .. } | Record::HintDone { id } = &r {
                        max_hint = max_hint.max(*id);
                    }
                    mem.apply_owned(r);
                }
            }
            n += 1;
        }
        writes.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.lww_cmp(&b.1)));
        // The last of each run of equal keys is its newest version.
        writes.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        mem.data = writes.into_iter().collect();
        let last_ts = mem.data.values().map(|v| v.ts).max().unwrap_or(0);
        let recovery = Recovery {
            records: n,
            keys: mem.data.len(),
            hints: mem.hints.len(),
        };
        let peers = config
            .cluster
            .nodes
            .iter()
            .filter(|&&p| p != config.id)
            .map(|&p| {
                (
                    p,
                    PeerState {
                        up: true,
                        last_heard: 0,
                        gen: None,
                    },
                )
            })
            .collect();
        let node = Node {
            ring,
            mem,
            recovery,
            started: false,
            gen: 0,
            now: 0,
            last_ts,
            next_op: 1,
            next_msg: 1,
            next_hint: max_hint + 1,
            next_seq: 1,
            lsn: n as u64,
            ops: BTreeMap::new(),
            peers,
            hints_in_flight: BTreeMap::new(),
            ae_next_peer: 0,
            out: VecDeque::new(),
            events: EventLevel::All,
            config,
        };
        (node, recovery)
    }

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

    /// Feeds one input at time `now` (this node's clock, microseconds).
    pub fn handle(&mut self, now: Micros, input: Input) {
        self.now = self.now.max(now);
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
    /// The newest version of every key this node stores, tombstones too.
    pub fn data(&self) -> &BTreeMap<Key, Version> {
        &self.mem.data
    }
    pub fn get_local(&self, key: &Key) -> Option<&Version> {
        self.mem.data.get(key)
    }
    /// The hints this node holds for others, by id.
    pub fn hints(&self) -> impl Iterator<Item = &Hint> {
        self.mem.hints.values()
    }
    pub fn hint_count(&self) -> usize {
        self.mem.hints.len()
    }
    /// Records persisted since the log began (replayed ones included).
    pub fn lsn(&self) -> u64 {
        self.lsn
    }
    /// Client requests being worked on.
    pub fn pending_requests(&self) -> usize {
        self.ops.len()
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
    pub fn peers(&self) -> Vec<PeerView> {
        self.peers
            .iter()
            .map(|(&node, p)| PeerView {
                node,
                up: p.up,
                last_heard_us: p.last_heard,
            })
            .collect()
    }
    pub fn is_up(&self, peer: NodeId) -> bool {
        peer == self.config.id || self.peers.get(&peer).is_some_and(|p| p.up)
    }

    /// The fewest records that rebuild this node's state (log compaction):
    /// the driver writes them as the new log, replacing the old one
    /// atomically, and the node reports it.
    pub fn snapshot(&mut self) -> Vec<Record> {
        let records = self.mem.snapshot();
        self.event(EventKind::Compacted {
            records: records.len(),
        });
        records
    }

    // ----- internals -----

    fn cfg(&self) -> &crate::config::ClusterConfig {
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

    /// Logs then applies a replica write; true when it changed the data.
    fn store(&mut self, key: &Key, version: &Version, source: &str) -> bool {
        let wins = match self.mem.data.get(key) {
            Some(cur) => version.supersedes(cur),
            None => true,
        };
        if wins {
            self.persist(Record::Write {
                key: key.clone(),
                version: version.clone(),
            });
            self.mem.merge(key, version);
        }
        if self.events == EventLevel::All {
            self.event(EventKind::WriteApplied {
                key: key.clone(),
                version: version.clone(),
                won: wins,
                source: source.to_string(),
            });
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

    fn handle_start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        self.gen = self.now;
        self.next_op = self.next_op.max(self.gen);
        self.next_hint = self.next_hint.max(self.gen);
        self.last_ts = self.last_ts.max(self.now);
        let now = self.now;
        for p in self.peers.values_mut() {
            p.last_heard = now;
        }
        let r = self.recovery;
        self.event(EventKind::Started {
            replayed: r.records,
            keys: r.keys,
            hints: r.hints,
            gen: self.gen,
        });
        self.handle_timer(TimerId::Heartbeat);
        let retry = self.cfg().hint_retry_ms;
        self.timer(TimerId::Hints, retry);
        let ae = self.cfg().anti_entropy_interval_ms;
        if ae > 0 {
            // Spread the nodes' first rounds apart.
            self.timer(TimerId::AntiEntropy, ae + ae * self.config.id as u64 / 7);
        }
    }

    // ----- coordinator -----

    fn handle_client(&mut self, client: ClientRef, request: Request) {
        let started = self.now;
        if !self.started {
            let reply = Reply::error(ErrorKind::Unavailable, "node is starting");
            self.reply(client, 0, started, vec![], reply);
            return;
        }
        if self.ops.len() >= self.cfg().max_pending_requests {
            let msg = format!(
                "this node already works on {} requests (max_pending_requests)",
                self.ops.len()
            );
            self.reply(
                client,
                0,
                started,
                vec![],
                Reply::error(ErrorKind::Overloaded, msg),
            );
            return;
        }
        if let Request::Put { value, .. } = &request {
            if value.len() > MAX_VALUE_BYTES {
                let msg = format!(
                    "value: at most {MAX_VALUE_BYTES} bytes, got {}",
                    value.len()
                );
                self.reply(
                    client,
                    0,
                    started,
                    vec![],
                    Reply::error(ErrorKind::BadRequest, msg),
                );
                return;
            }
        }
        let key = request.key().clone();
        let cl = request.cl();
        let replicas = self.ring.replicas(&key);
        let live: Vec<NodeId> = replicas
            .iter()
            .copied()
            .filter(|&r| self.is_up(r))
            .collect();
        let op = self.next_op;
        self.next_op += 1;
        if self.events == EventLevel::All {
            self.event(EventKind::RequestReceived {
                client,
                op,
                request: request.clone(),
                replicas: replicas.clone(),
                live: live.clone(),
            });
        }
        if cl == Consistency::Any && !request.is_write() {
            let reply = Reply::error(ErrorKind::BadRequest, "cl: ANY is for writes only");
            self.reply(client, op, started, vec![], reply);
            return;
        }
        let rf = self.ring.rf();
        let needed = cl.required(rf);
        if needed > rf {
            let msg = format!("{cl} needs {needed} replicas but the replication factor is {rf}");
            self.reply(
                client,
                op,
                started,
                vec![],
                Reply::error(ErrorKind::Unavailable, msg),
            );
            return;
        }
        if live.len() < needed {
            let msg = format!(
                "{cl} needs {needed} live replica{} of {replicas:?}; live: {live:?}",
                if needed == 1 { "" } else { "s" }
            );
            self.reply(
                client,
                op,
                started,
                vec![],
                Reply::error(ErrorKind::Unavailable, msg),
            );
            return;
        }
        let mut pending = PendingOp {
            client,
            key: key.clone(),
            cl,
            needed,
            replicas: replicas.clone(),
            started,
            replied: false,
            state: OpState::Read {
                asked: vec![],
                responses: vec![],
                winner: None,
                repairing: vec![],
                repaired: vec![],
            },
        };
        let me = self.config.id;
        match request {
            Request::Put { .. } | Request::Delete { .. } => {
                let value = match request {
                    Request::Put { value, .. } => Some(value),
                    _ => None,
                };
                let ts = self.now.max(self.last_ts + 1);
                self.last_ts = ts;
                let version = Version { ts, value };
                if cl == Consistency::Any
                    && live.is_empty()
                    && self.mem.hints.len() + replicas.len() > self.cfg().max_hints
                {
                    let msg = "ANY: no replica is live and the hint store is full".to_string();
                    self.reply(
                        client,
                        op,
                        started,
                        vec![],
                        Reply::error(ErrorKind::Unavailable, msg),
                    );
                    return;
                }
                let mut acked = vec![];
                let mut sent = vec![];
                let mut hinted = 0;
                // The replicas the answer waits for write at once; the
                // rest (beyond the consistency level's count, after our
                // own write) are told they may write lazily, with their
                // next sync: on one shared disk, a durable write nobody
                // waits for slows the ones somebody does.
                let own = usize::from(replicas.contains(&me) && live.contains(&me));
                let mut waited_for = needed.max(1).saturating_sub(own);
                // Remote writes go out first: they depend on no record of
                // ours, so the replicas' fsyncs overlap with our own.
                for &r in &replicas {
                    if r != me && live.contains(&r) {
                        let lazy = waited_for == 0;
                        waited_for = waited_for.saturating_sub(1);
                        self.send(
                            r,
                            Msg::Write {
                                op,
                                key: key.clone(),
                                version: version.clone(),
                                lazy,
                            },
                        );
                        sent.push(r);
                    }
                }
                for &r in &replicas {
                    if r == me && live.contains(&r) {
                        self.store(&key, &version, "client write");
                        acked.push(me);
                    } else if !live.contains(&r)
                        && self.store_hint(r, &key, &version, HintReason::Down)
                    {
                        hinted += 1;
                    }
                }
                pending.state = OpState::Write {
                    version,
                    sent,
                    acked,
                    hinted,
                };
            }
            Request::Get { .. } => {
                let mut asked = vec![];
                let mut responses = vec![];
                for &r in &live {
                    if r == me {
                        responses.push((me, self.mem.data.get(&key).cloned()));
                    } else {
                        self.send(
                            r,
                            Msg::Read {
                                op,
                                key: key.clone(),
                            },
                        );
                    }
                    asked.push(r);
                }
                pending.state = OpState::Read {
                    asked,
                    responses,
                    winner: None,
                    repairing: vec![],
                    repaired: vec![],
                };
            }
        }
        self.ops.insert(op, Box::new(pending));
        let timeout = self.cfg().request_timeout_ms;
        self.timer(TimerId::Request { op }, timeout);
        self.progress(op);
    }

    /// Moves an operation forward: replies when its level is met, starts
    /// read repair, and forgets it when nothing more can happen.
    fn progress(&mut self, op: OpId) {
        let Some(mut p) = self.ops.remove(&op) else {
            return;
        };
        let done;
        match &mut p.state {
            OpState::Write {
                version,
                sent,
                acked,
                hinted,
            } => {
                let met = if p.cl == Consistency::Any {
                    !acked.is_empty() || *hinted > 0
                } else {
                    acked.len() >= p.needed
                };
                if met && !p.replied {
                    p.replied = true;
                    let answered = acked.clone();
                    let ts = version.ts;
                    self.reply(p.client, op, p.started, answered, Reply::Written { ts });
                }
                done = p.replied && sent.iter().all(|r| acked.contains(r));
            }
            OpState::Read {
                asked,
                responses,
                winner,
                repairing,
                repaired,
            } => {
                if responses.len() >= p.needed {
                    let newest = responses
                        .iter()
                        .fold(None, |acc: Option<&Version>, (_, v)| {
                            Version::newest(acc, v.as_ref())
                        })
                        .cloned();
                    let changed = match (&newest, &*winner) {
                        (Some(n), Some(w)) => n.supersedes(w),
                        (Some(_), None) => true,
                        _ => false,
                    };
                    if changed || winner.is_none() {
                        // Replicas repaired with the old winner are stale
                        // again: repair them too, or with RF 5 the version
                        // returned can sit on fewer than a quorum.
                        if changed {
                            repaired.clear();
                        }
                        *winner = newest;
                    }
                    let blocking =
                        !p.replied && matches!(p.cl, Consistency::Quorum | Consistency::All);
                    if let Some(w) = winner.clone() {
                        let stale: Vec<NodeId> = responses
                            .iter()
                            .filter(|(n, v)| {
                                !repaired.contains(n) && v.as_ref().is_none_or(|v| w.supersedes(v))
                            })
                            .map(|(n, _)| *n)
                            .collect();
                        for r in stale {
                            repaired.push(r);
                            self.event(EventKind::ReadRepair {
                                key: p.key.clone(),
                                target: r,
                                version: w.clone(),
                                blocking,
                            });
                            if r == self.config.id {
                                let key = p.key.clone();
                                self.store(&key, &w, "read repair");
                            } else {
                                if blocking {
                                    repairing.push(r);
                                }
                                self.send(
                                    r,
                                    Msg::Repair {
                                        op,
                                        key: p.key.clone(),
                                        version: w.clone(),
                                    },
                                );
                            }
                        }
                    }
                    if !p.replied && repairing.is_empty() {
                        p.replied = true;
                        let kv = winner.as_ref().and_then(|w| {
                            w.value.as_ref().map(|value| KeyVersion {
                                key: p.key.clone(),
                                value: Some(value.clone()),
                                ts: w.ts,
                            })
                        });
                        let answered = responses.iter().map(|(n, _)| *n).collect();
                        self.reply(p.client, op, p.started, answered, Reply::Read { kv });
                    }
                }
                done = p.replied && responses.len() == asked.len() && repairing.is_empty();
            }
        }
        if !done {
            self.ops.insert(op, p);
        }
    }

    fn request_timeout(&mut self, op: OpId) {
        let Some(mut p) = self.ops.remove(&op) else {
            return;
        };
        let waited = self.cfg().request_timeout_ms;
        match &mut p.state {
            OpState::Write {
                version,
                sent,
                acked,
                hinted,
            } => {
                let missing: Vec<NodeId> = sent
                    .iter()
                    .copied()
                    .filter(|r| !acked.contains(r))
                    .collect();
                let version = version.clone();
                for r in missing {
                    let key = p.key.clone();
                    if self.store_hint(r, &key, &version, HintReason::NoAck) {
                        *hinted += 1;
                    }
                }
                if !p.replied {
                    p.replied = true;
                    let answered = acked.clone();
                    if p.cl == Consistency::Any && (*hinted > 0 || !acked.is_empty()) {
                        self.reply(
                            p.client,
                            op,
                            p.started,
                            answered,
                            Reply::Written { ts: version.ts },
                        );
                    } else {
                        let msg = format!(
                            "{} write got {} of {} acknowledgements from {:?} in {waited} ms; it may be applied on {:?}",
                            p.cl, acked.len(), p.needed, p.replicas, acked
                        );
                        self.reply(
                            p.client,
                            op,
                            p.started,
                            answered,
                            Reply::error(ErrorKind::Timeout, msg),
                        );
                    }
                }
            }
            OpState::Read { responses, .. } => {
                if !p.replied {
                    p.replied = true;
                    let answered: Vec<NodeId> = responses.iter().map(|(n, _)| *n).collect();
                    let msg = format!(
                        "{} read got {} of {} replies from {:?} in {waited} ms",
                        p.cl,
                        responses.len(),
                        p.needed,
                        p.replicas
                    );
                    self.reply(
                        p.client,
                        op,
                        p.started,
                        answered,
                        Reply::error(ErrorKind::Timeout, msg),
                    );
                }
            }
        }
    }

    // ----- messages -----

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
            } => {
                if self.accepts(&key) {
                    self.store(&key, &version, "replica write");
                    self.send(from, Msg::WriteAck { op });
                }
            }
            Msg::WriteAck { op } => {
                if let Some(p) = self.ops.get_mut(&op) {
                    if let OpState::Write { sent, acked, .. } = &mut p.state {
                        if sent.contains(&from) && !acked.contains(&from) {
                            acked.push(from);
                        }
                    }
                    self.progress(op);
                }
            }
            Msg::Read { op, key } => {
                let version = self.mem.data.get(&key).cloned();
                self.send(from, Msg::ReadReply { op, key, version });
            }
            Msg::ReadReply { op, key, version } => {
                if let Some(p) = self.ops.get_mut(&op) {
                    if p.key != key {
                        return;
                    }
                    if let OpState::Read {
                        asked, responses, ..
                    } = &mut p.state
                    {
                        if asked.contains(&from) && !responses.iter().any(|(n, _)| *n == from) {
                            responses.push((from, version));
                        }
                    }
                    self.progress(op);
                }
            }
            Msg::Repair { op, key, version } => {
                if self.accepts(&key) {
                    self.store(&key, &version, "read repair");
                    self.send(from, Msg::RepairAck { op });
                }
            }
            Msg::RepairAck { op } => {
                if let Some(p) = self.ops.get_mut(&op) {
                    if let OpState::Read { repairing, .. } = &mut p.state {
                        // One acknowledgement per repair: a replica repaired
                        // twice (the winner changed) is waited for twice.
                        if let Some(i) = repairing.iter().position(|&r| r == from) {
                            repairing.remove(i);
                        }
                    }
                    self.progress(op);
                }
            }
            Msg::Hint { hint, key, version } => {
                if self.accepts(&key) {
                    self.store(&key, &version, "hinted handoff");
                    self.send(from, Msg::HintAck { hint });
                }
            }
            Msg::HintAck { hint } => {
                self.hints_in_flight.remove(&hint);
                if let Some(h) = self.mem.hints.get(&hint).cloned() {
                    if h.target == from {
                        self.persist(Record::HintDone { id: hint });
                        self.mem.hints.remove(&hint);
                        self.event(EventKind::HintDelivered {
                            hint,
                            target: from,
                            key: h.key,
                        });
                    }
                }
            }
            Msg::Heartbeat { .. } => {}
            Msg::SyncDigest { buckets } => self.handle_sync_digest(from, buckets),
            Msg::SyncData {
                entries,
                buckets,
                reply,
            } => self.handle_sync_data(from, entries, buckets, reply),
        }
    }

    /// A replica only stores keys it replicates; anything else is a
    /// confused or malicious peer, and ignoring it loses nothing.
    fn accepts(&self, key: &Key) -> bool {
        self.ring.is_replica(key, self.config.id)
    }

    // ----- failure detector -----

    fn heard_from(&mut self, peer: NodeId, gen: Micros) {
        let now = self.now;
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.last_heard = now;
        let restarted = p.gen.is_some_and(|g| g != gen);
        let was_down = !p.up;
        p.gen = Some(gen);
        p.up = true;
        if was_down || restarted {
            self.event(EventKind::PeerUp { peer, restarted });
            self.deliver_hints(peer, true);
        }
    }

    fn mark_down(&mut self, peer: NodeId, reason: &str) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        if p.up {
            p.up = false;
            self.event(EventKind::PeerDown {
                peer,
                reason: reason.to_string(),
            });
            // Hints in flight to it will not be acknowledged; resend later.
            let ids: Vec<u64> = self
                .mem
                .hints
                .values()
                .filter(|h| h.target == peer)
                .map(|h| h.id)
                .collect();
            for id in ids {
                self.hints_in_flight.remove(&id);
            }
        }
    }

    fn handle_timer(&mut self, id: TimerId) {
        if !self.started {
            return;
        }
        match id {
            TimerId::Heartbeat => {
                let peers: Vec<NodeId> = self.peers.keys().copied().collect();
                let gen = self.gen;
                for &p in &peers {
                    self.send(p, Msg::Heartbeat { gen });
                }
                let limit = self.cfg().failure_timeout_ms * 1000;
                for p in peers {
                    let silent = self.now.saturating_sub(self.peers[&p].last_heard);
                    if self.peers[&p].up && silent > limit {
                        self.mark_down(p, &format!("silent for {} ms", silent / 1000));
                    }
                }
                let every = self.cfg().heartbeat_interval_ms;
                self.timer(TimerId::Heartbeat, every);
            }
            TimerId::Request { op } => self.request_timeout(op),
            TimerId::Hints => {
                self.expire_hints();
                let targets: Vec<NodeId> = self
                    .mem
                    .hints
                    .values()
                    .map(|h| h.target)
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                for t in targets {
                    if self.is_up(t) {
                        self.deliver_hints(t, false);
                    }
                }
                let retry = self.cfg().hint_retry_ms;
                self.timer(TimerId::Hints, retry);
            }
            TimerId::AntiEntropy => {
                self.start_anti_entropy();
                let every = self.cfg().anti_entropy_interval_ms;
                if every > 0 {
                    self.timer(TimerId::AntiEntropy, every);
                }
            }
        }
    }

    // ----- hinted handoff -----

    fn store_hint(
        &mut self,
        target: NodeId,
        key: &Key,
        version: &Version,
        reason: HintReason,
    ) -> bool {
        if self.mem.hints.len() >= self.cfg().max_hints {
            let max = self.cfg().max_hints;
            self.event(EventKind::HintDropped {
                target,
                key: key.clone(),
                reason: format!("the hint store is full ({max} hints, max_hints)"),
            });
            return false;
        }
        let id = self.next_hint;
        self.next_hint += 1;
        let record = Record::Hint {
            id,
            target,
            key: key.clone(),
            version: version.clone(),
            created_us: self.now,
        };
        self.persist(record.clone());
        self.mem.apply(&record);
        self.event(EventKind::HintStored {
            hint: id,
            target,
            key: key.clone(),
            reason,
        });
        true
    }

    fn deliver_hints(&mut self, target: NodeId, force: bool) {
        let retry_us = self.cfg().hint_retry_ms * 1000;
        let now = self.now;
        let due: Vec<Hint> = self
            .mem
            .hints
            .values()
            .filter(|h| h.target == target)
            .filter(|h| {
                force
                    || self
                        .hints_in_flight
                        .get(&h.id)
                        .is_none_or(|&sent| now.saturating_sub(sent) >= retry_us)
            })
            .take(HINTS_PER_ROUND)
            .cloned()
            .collect();
        for h in due {
            self.hints_in_flight.insert(h.id, now);
            self.event(EventKind::HintSent {
                hint: h.id,
                target,
                key: h.key.clone(),
            });
            self.send(
                target,
                Msg::Hint {
                    hint: h.id,
                    key: h.key,
                    version: h.version,
                },
            );
        }
    }

    fn expire_hints(&mut self) {
        let window_us = self.cfg().hint_window_ms.saturating_mul(1000);
        let now = self.now;
        let old: Vec<Hint> = self
            .mem
            .hints
            .values()
            .filter(|h| now.saturating_sub(h.created_us) > window_us)
            .cloned()
            .collect();
        for h in old {
            self.persist(Record::HintDone { id: h.id });
            self.mem.hints.remove(&h.id);
            self.hints_in_flight.remove(&h.id);
            let window = self.cfg().hint_window_ms;
            self.event(EventKind::HintDropped {
                target: h.target,
                key: h.key,
                reason: format!("older than the hint window ({window} ms)"),
            });
        }
    }

    // ----- anti-entropy -----

    fn shared_with(&self, peer: NodeId, key: &Key) -> bool {
        let r = self.ring.replicas(key);
        r.contains(&peer) && r.contains(&self.config.id)
    }

    fn bucket_of(key: &Key) -> u32 {
        (murmur64(&key.bytes()) % AE_BUCKETS as u64) as u32
    }

    fn digests(&self, peer: NodeId) -> Vec<(u32, u64)> {
        let mut sums = vec![0u64; AE_BUCKETS as usize];
        for (key, v) in &self.mem.data {
            if self.shared_with(peer, key) {
                let mut bytes = key.bytes();
                bytes.push(matches!(key, Key::Str(_)) as u8);
                bytes.extend_from_slice(&v.ts.to_le_bytes());
                if let Some(val) = &v.value {
                    bytes.push(1);
                    bytes.extend_from_slice(val.as_bytes());
                }
                sums[Self::bucket_of(key) as usize] =
                    sums[Self::bucket_of(key) as usize].wrapping_add(murmur64(&bytes));
            }
        }
        sums.into_iter()
            .enumerate()
            .map(|(i, s)| (i as u32, s))
            .collect()
    }

    /// This node's versions in `buckets` shared with `peer`, bounded by
    /// count and by bytes so the message stays under the peer limit; what
    /// does not fit goes in a later round.
    fn entries_in(&self, peer: NodeId, buckets: &[u32]) -> Vec<(Key, Version)> {
        let mut bytes = 0usize;
        let mut out = Vec::new();
        for (k, v) in &self.mem.data {
            if out.len() >= AE_MAX_ENTRIES || bytes >= AE_MAX_BYTES {
                break;
            }
            if buckets.contains(&Self::bucket_of(k)) && self.shared_with(peer, k) {
                bytes += 32 + k.bytes().len() + v.value.as_ref().map_or(0, String::len);
                out.push((k.clone(), v.clone()));
            }
        }
        out
    }

    fn start_anti_entropy(&mut self) {
        let up: Vec<NodeId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.up)
            .map(|(&n, _)| n)
            .collect();
        if up.is_empty() {
            return;
        }
        let peer = up[self.ae_next_peer % up.len()];
        self.ae_next_peer = self.ae_next_peer.wrapping_add(1);
        let buckets = self.digests(peer);
        self.send(peer, Msg::SyncDigest { buckets });
    }

    fn handle_sync_digest(&mut self, from: NodeId, theirs: Vec<(u32, u64)>) {
        let mine = self.digests(from);
        let differ: Vec<u32> = mine
            .iter()
            .filter(|(b, s)| {
                theirs
                    .iter()
                    .find(|(tb, _)| tb == b)
                    .is_none_or(|(_, ts)| ts != s)
            })
            .map(|(b, _)| *b)
            .collect();
        if !differ.is_empty() {
            let entries = self.entries_in(from, &differ);
            self.send(
                from,
                Msg::SyncData {
                    entries,
                    buckets: differ,
                    reply: true,
                },
            );
        }
    }

    fn handle_sync_data(
        &mut self,
        from: NodeId,
        entries: Vec<(Key, Version)>,
        buckets: Vec<u32>,
        reply: bool,
    ) {
        let buckets: Vec<u32> = buckets
            .into_iter()
            .filter(|b| *b < AE_BUCKETS)
            .take(AE_BUCKETS as usize)
            .collect();
        let mut changed = 0;
        let theirs: BTreeMap<Key, Version> = entries.into_iter().collect();
        for (key, version) in &theirs {
            if self.shared_with(from, key) && self.store(key, version, "anti-entropy") {
                changed += 1;
            }
        }
        if reply {
            let mine = self.entries_in(from, &buckets);
            let newer: Vec<(Key, Version)> = mine
                .into_iter()
                .filter(|(k, v)| theirs.get(k).is_none_or(|t| v.supersedes(t)))
                .collect();
            if !newer.is_empty() {
                self.send(
                    from,
                    Msg::SyncData {
                        entries: newer,
                        buckets: vec![],
                        reply: false,
                    },
                );
            }
        }
        if changed > 0 {
            self.event(EventKind::AntiEntropy {
                peer: from,
                keys: changed,
            });
        }
    }
}
