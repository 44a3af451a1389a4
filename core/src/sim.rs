//! A deterministic simulated cluster: many [`Node`]s on one virtual clock
//! and one virtual network, from a seed. Same seed and same actions at the
//! same times: the same run, event for event.
//!
//! The network delivers each link's messages in order after a latency
//! drawn from the configured range, drops a fraction of them, and drops
//! everything across a cut link or to a crashed node.
//!
//! Each node's outputs leave through the same [`Gate`] the native driver
//! uses: a sync takes simulated time, group commit and lazy writes work as
//! on a real node, and a crash at any instant loses the node's memory and
//! any suffix of the records no sync covered yet (see [`disk`]); a
//! restart recovers from what survived, or refuses to start on a log
//! damaged before a sync marker. Each node may run with a clock skew, have
//! its clock stepped, or be suspended (it stops, and its clock, counted
//! from a monotonic clock that paused, comes back behind).
//!
//! Step with [`Sim::step`] (one event) or [`Sim::run_until`]; read what
//! happened with [`Sim::drain_trace`]; act with [`Sim::apply`].
//!
//! This file holds the cluster and its event loop; the rest has rooms:
//! `setup` (configuration), `action` and `acting` (what can be done to
//! the cluster, and doing it), `outputs` (a node's way out through its
//! gate, disk and the network), `disk`, `wire` (the test hook), `stats`,
//! `rng`, `slab`, and `workload` (the seeded random runs of the sweep).

use crate::check::{FinalState, History, Outcome};
use crate::config::Config;
pub use crate::config::NetConfig;
use crate::durability::Gate;
use crate::event::{ClusterEvent, TraceEntry, TraceWhat};
use crate::io::{Input, Output, TimerId};
use crate::message::{ClientRef, Message, Request};
use crate::node::{EventLevel, Node};
use crate::ring::Ring;
use crate::types::{Consistency, Key, Micros, NodeId, Version};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

mod acting;
mod action;
mod compaction;
pub mod disk;
mod outputs;
mod rng;
mod setup;
mod slab;
mod stats;
mod wire;
pub mod workload;

pub use action::{Action, MAX_CLOCK_SHIFT_US, MAX_LATENCY_US};
use compaction::Compacting;
pub use rng::Rng;
pub use setup::{DiskConfig, Latency, SimConfig};
use slab::Slab;
pub use stats::{DiskStats, InFlight, SimStats};
use wire::InterceptorSlot;
pub use wire::{Interceptor, Wire};

use disk::Disk;
pub use disk::DiskRecord;

#[derive(Clone, Debug)]
enum Item {
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: Message,
        sent_at: Micros,
        doomed: bool,
    },
    Timer {
        node: NodeId,
        incarnation: u64,
        id: TimerId,
    },
    /// A sync covering the log up to `end` is done.
    SyncDone {
        node: NodeId,
        incarnation: u64,
        end: u64,
    },
    /// The gate may want a sync now.
    SyncWake { node: NodeId, incarnation: u64 },
    /// A client request sent to a suspended node, handled once it wakes.
    Client {
        node: NodeId,
        client: ClientRef,
        request: Request,
    },
}

impl Item {
    /// The node that acts on it.
    fn node(&self) -> NodeId {
        match self {
            Item::Deliver { to, .. } => *to,
            Item::Timer { node, .. }
            | Item::SyncDone { node, .. }
            | Item::SyncWake { node, .. }
            | Item::Client { node, .. } => *node,
        }
    }
}

/// An output held in a gate, with what it acknowledges (a replica's
/// version of a key) for the durability check when it leaves.
type Held = (Output, Option<(Key, Version)>);

#[derive(Clone, Debug)]
struct SimNode {
    node: Option<Node>,
    disk: Disk,
    gate: Gate<Held>,
    skew_us: i64,
    incarnation: u64,
    /// Suspended until then.
    frozen_until: Micros,
    /// The gate's wakeup already scheduled.
    wake_at: Option<Micros>,
    /// A compaction under way.
    compaction: Option<Compacting>,
}

/// The events the nodes build: all of them for a trace, else none.
fn events_for(trace: bool) -> EventLevel {
    if trace {
        EventLevel::All
    } else {
        EventLevel::Off
    }
}

/// The simulated cluster. A clone is an independent copy that runs on
/// exactly as the original would (the rewind checkpoints are clones).
#[derive(Clone, Debug)]
pub struct Sim {
    interceptor: InterceptorSlot,
    config: SimConfig,
    rng: Rng,
    now: Micros,
    seq: u64,
    /// What is due, earliest (time, then sequence number) on top, as a
    /// slot of `items`: the heap moves only these small keys, not the
    /// items (a message is about a hundred bytes).
    queue: BinaryHeap<Reverse<(Micros, u64, u32)>>,
    items: Slab<Item>,
    /// The outputs being carried out (see `drain`).
    outs: VecDeque<Output>,
    nodes: BTreeMap<NodeId, SimNode>,
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Last arrival per directed link, to keep links in order.
    link_last: BTreeMap<(NodeId, NodeId), Micros>,
    trace: Vec<TraceEntry>,
    history: History,
    /// ClientRef -> index in history.
    pending: BTreeMap<ClientRef, usize>,
    next_req: u64,
    stats: SimStats,
    disk_stats: DiskStats,
    ring: Ring,
}

impl Sim {
    pub fn new(config: SimConfig) -> Sim {
        let ring = Ring::new(
            &config.cluster.partitioner,
            &config.cluster.nodes,
            config.cluster.rf,
        );
        let mut sim = Sim {
            interceptor: InterceptorSlot::default(),
            rng: Rng::new(config.seed),
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            items: Slab::default(),
            outs: VecDeque::new(),
            nodes: BTreeMap::new(),
            cut: BTreeSet::new(),
            link_last: BTreeMap::new(),
            trace: Vec::new(),
            history: History::default(),
            pending: BTreeMap::new(),
            next_req: 1,
            stats: SimStats::default(),
            disk_stats: DiskStats::default(),
            ring,
            config,
        };
        for id in sim.config.cluster.nodes.clone() {
            let mut node = Node::new(Config::new(id, sim.config.cluster.clone()));
            node.set_events(events_for(sim.config.trace));
            let gate = sim.new_gate(0);
            sim.nodes.insert(
                id,
                SimNode {
                    node: Some(node),
                    disk: Disk::default(),
                    gate,
                    skew_us: 0,
                    incarnation: 0,
                    frozen_until: 0,
                    wake_at: None,
                    compaction: None,
                },
            );
            sim.feed(id, Input::Start);
        }
        sim
    }

    // ----- views -----

    pub fn config(&self) -> &SimConfig {
        &self.config
    }
    pub fn now(&self) -> Micros {
        self.now
    }
    pub fn ring(&self) -> &Ring {
        &self.ring
    }
    pub fn node_ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }
    /// The live node, or `None` while it is crashed.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(&id).and_then(|n| n.node.as_ref())
    }
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }
    pub fn skew(&self, id: NodeId) -> i64 {
        self.nodes.get(&id).map_or(0, |n| n.skew_us)
    }
    /// The node's commit log as its disk holds it (crashed nodes too).
    pub fn disk(&self, id: NodeId) -> &[DiskRecord] {
        self.nodes.get(&id).map_or(&[], |n| n.disk.records())
    }
    /// What the disks and gates saw.
    pub fn disk_stats(&self) -> &DiskStats {
        &self.disk_stats
    }
    /// True while the node is suspended.
    pub fn is_frozen(&self, id: NodeId) -> bool {
        self.nodes
            .get(&id)
            .is_some_and(|n| n.frozen_until > self.now)
    }
    /// Where the node's unsynced records start and its log ends, in
    /// framed bytes.
    pub fn unsynced_bytes(&self, id: NodeId) -> (u64, u64) {
        self.nodes
            .get(&id)
            .map_or((0, 0), |n| n.disk.unsynced_bytes())
    }
    /// True when the node's log is damaged (it refuses to start).
    pub fn is_damaged(&self, id: NodeId) -> bool {
        self.nodes.get(&id).is_some_and(|n| n.disk.is_damaged())
    }
    pub fn is_cut(&self, a: NodeId, b: NodeId) -> bool {
        self.cut.contains(&(a.min(b), a.max(b)))
    }
    pub fn net(&self) -> &NetConfig {
        &self.config.net
    }
    pub fn history(&self) -> &History {
        &self.history
    }
    pub fn stats(&self) -> SimStats {
        self.stats
    }
    /// When the next event is due, if any.
    pub fn next_at(&self) -> Option<Micros> {
        self.queue.peek().map(|Reverse(k)| k.0)
    }
    /// Messages on the wire now, oldest first.
    pub fn in_flight(&self) -> Vec<InFlight> {
        let mut due: Vec<(Micros, u64, u32)> = self.queue.iter().map(|Reverse(k)| *k).collect();
        due.sort_unstable();
        due.into_iter()
            .filter_map(|(at, _, slot)| match self.items.get(slot) {
                Item::Deliver {
                    from,
                    to,
                    msg,
                    sent_at,
                    doomed,
                } => Some(InFlight {
                    msg: msg.id,
                    from: *from,
                    to: *to,
                    kind: msg.body.kind(),
                    key: msg.body.key().cloned(),
                    sent_at: *sent_at,
                    arrive_at: at,
                    doomed: *doomed,
                }),
                _ => None,
            })
            .collect()
    }
    /// A hash of the whole state: clock, generator, queue, every node,
    /// disk and link, the history. Two sims with equal digests run on
    /// alike; rewind's tests compare them.
    pub fn digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let mut due: Vec<(Micros, u64, u32)> = self.queue.iter().map(|Reverse(k)| *k).collect();
        due.sort_unstable();
        let items: Vec<_> = due
            .iter()
            .map(|&(at, seq, slot)| (at, seq, self.items.get(slot)))
            .collect();
        format!(
            "{} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?} {:?}",
            self.now,
            self.rng,
            items,
            self.nodes,
            self.cut,
            self.link_last,
            self.history,
            self.pending,
            self.next_req,
            self.stats,
            self.config
        )
        .hash(&mut h);
        h.finish()
    }

    /// Moves the clock to `t` without processing anything: a replay uses
    /// it to put an action back at the time it was first taken, where no
    /// event was due before `t`.
    pub fn set_clock(&mut self, t: Micros) {
        self.now = self.now.max(t);
    }

    /// Takes the trace entries recorded since the last call.
    pub fn drain_trace(&mut self) -> Vec<TraceEntry> {
        std::mem::take(&mut self.trace)
    }

    /// Every replica's version of every key anyone holds or wrote.
    pub fn final_state(&self) -> FinalState {
        let mut keys: BTreeSet<Key> = self
            .history
            .ops
            .iter()
            .map(|o| o.request.key().clone())
            .collect();
        for n in self.nodes.values() {
            if let Some(node) = &n.node {
                keys.extend(node.data().keys().cloned());
            }
        }
        let mut replicas = BTreeMap::new();
        for key in keys {
            let r = self.ring.replicas(&key);
            let versions = r
                .iter()
                .map(|&id| (id, self.node(id).and_then(|n| n.get_local(&key).cloned())))
                .collect();
            replicas.insert(key, versions);
        }
        FinalState {
            rf: self.ring.rf(),
            replicas,
        }
    }

    // ----- running -----

    /// Processes the next event; false when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(Reverse((at, _, slot))) = self.queue.pop() else {
            return false;
        };
        let item = self.items.take(slot);
        self.now = self.now.max(at);
        self.stats.steps += 1;
        // A suspended node handles nothing until it wakes; what comes for
        // it waits, in order.
        let frozen = self.nodes.get(&item.node()).map_or(0, |n| n.frozen_until);
        if frozen > self.now {
            self.push(frozen, item);
            return true;
        }
        match item {
            Item::Deliver {
                from,
                to,
                msg,
                doomed,
                ..
            } => {
                let reason = if doomed {
                    Some("lost by the network")
                } else if self.is_cut(from, to) {
                    Some("the link is cut")
                } else if !self.is_up(to) {
                    Some("the receiver is down")
                } else {
                    None
                };
                if let Some(reason) = reason {
                    self.stats.dropped += 1;
                    self.sim_event(ClusterEvent::MessageDropped {
                        msg: msg.id,
                        from,
                        to,
                        msg_kind: msg.body.kind().to_string(),
                        reason: reason.to_string(),
                    });
                } else {
                    self.stats.delivered += 1;
                    self.feed(to, Input::Message { from, msg });
                }
            }
            Item::Timer {
                node,
                incarnation,
                id,
            } => {
                if self
                    .nodes
                    .get(&node)
                    .is_some_and(|n| n.incarnation == incarnation)
                {
                    self.feed(node, Input::Timer(id));
                }
            }
            Item::SyncDone {
                node,
                incarnation,
                end,
            } => {
                let now = self.now;
                if let Some(n) = self.nodes.get_mut(&node) {
                    if n.incarnation == incarnation && n.node.is_some() {
                        n.disk.mark_synced(end);
                        n.gate.sync_finished(end, now);
                        self.disk_stats.syncs += 1;
                        self.kick_sync(node, false);
                        self.release(node);
                        self.compaction_step(node);
                    }
                }
            }
            Item::SyncWake { node, incarnation } => {
                if let Some(n) = self.nodes.get_mut(&node) {
                    if n.incarnation == incarnation && n.node.is_some() {
                        n.wake_at = None;
                        self.kick_sync(node, false);
                        self.release(node);
                    }
                }
            }
            Item::Client {
                node,
                client,
                request,
            } => {
                if self.is_up(node) {
                    self.feed(node, Input::Client { client, request });
                } else if let Some(idx) = self.pending.remove(&client) {
                    self.finish(
                        idx,
                        Outcome::NoReply {
                            reason: format!("coordinator {node} crashed"),
                        },
                    );
                }
            }
        }
        true
    }

    /// Processes every event due at or before `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Micros) {
        while let Some(at) = self.next_at() {
            if at > t {
                break;
            }
            self.step();
        }
        self.now = self.now.max(t);
    }

    /// Runs for `us` more simulated microseconds.
    pub fn run_for(&mut self, us: Micros) {
        self.run_until(self.now.saturating_add(us));
    }

    /// Runs until every client request has been answered, or `max_us`
    /// more time has passed.
    pub fn run_until_answered(&mut self, max_us: Micros) {
        let end = self.now + max_us;
        while !self.pending.is_empty() {
            match self.next_at() {
                Some(at) if at <= end => {
                    self.step();
                }
                _ => break,
            }
        }
    }

    /// Ends every fault: heals the network, stops drops, restarts crashed
    /// nodes. The cluster then converges by hints and anti-entropy.
    /// A node refused to start on a damaged log gets an undamaged copy
    /// back first (the operator's part).
    pub fn quiesce(&mut self) {
        self.apply(Action::HealAll);
        if self.config.net.drop_probability > 0.0 {
            self.apply(Action::SetDropProbability { p: 0.0 });
        }
        for id in self.node_ids() {
            if !self.is_up(id) && self.is_damaged(id) {
                self.apply(Action::RestoreLog { node: id });
            }
            self.restart(id);
        }
    }
}

/// Convenience for scripts and tests: a request from its parts.
pub fn put(key: u8, value: &str, cl: Consistency) -> Request {
    Request::Put {
        key: Key::Int(key),
        value: value.to_string().into(),
        cl,
    }
}

pub fn get(key: u8, cl: Consistency) -> Request {
    Request::Get {
        key: Key::Int(key),
        cl,
    }
}

pub fn delete(key: u8, cl: Consistency) -> Request {
    Request::Delete {
        key: Key::Int(key),
        cl,
    }
}
