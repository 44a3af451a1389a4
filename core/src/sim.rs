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

use crate::check::{FinalState, History, HistoryOp, Outcome};
pub use crate::config::NetConfig;
use crate::config::{ClusterConfig, Config};
use crate::durability::{Flaw, Gate, Needs, Policy};
pub use crate::event::{ClusterEvent as SimEvent, TraceEntry, TraceWhat};
use crate::io::{Input, Output, TimerId};
use crate::message::{ClientRef, Message, Msg, MsgId, Reply, Request};
use crate::node::{EventLevel, Node};
use crate::ring::Ring;
use crate::storage::Record;
use crate::types::{Consistency, Key, Micros, NodeId, Version};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

pub mod disk;
pub mod workload;

pub use disk::DiskRecord;
use disk::{Disk, Opened};

/// A small, fast, seedable generator (SplitMix64). Written out rather than
/// taken from `rand` so that a seed means the same run on every platform
/// and every version, forever.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[self.next_u64() as usize % items.len()])
        }
    }
}

/// When a simulated disk makes records durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SyncMode {
    /// Every record is durable before anything after it is sent (group
    /// commit): a crash loses nothing acknowledged.
    Batch,
    /// Records become durable every `interval_ms`; a crash loses the rest.
    Periodic { interval_ms: u64 },
}

/// How long a simulated sync takes, and the native driver's group-commit
/// and lazy-write windows (see [`crate::durability`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskConfig {
    /// A sync takes uniformly `sync_min_us..=sync_max_us`.
    pub sync_min_us: Micros,
    pub sync_max_us: Micros,
    pub group_window_us: Micros,
    pub lazy_window_us: Micros,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            sync_min_us: 100,
            sync_max_us: 1_500,
            group_window_us: 200,
            lazy_window_us: 2_000,
        }
    }
}

/// Everything a simulation starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    pub seed: u64,
    pub cluster: ClusterConfig,
    pub net: NetConfig,
    pub sync: SyncMode,
    #[serde(default)]
    pub disk: DiskConfig,
    /// A rule of the output gate broken on purpose, for the tests that
    /// show the sweep catches it; never set otherwise.
    #[serde(skip)]
    pub flaw: Option<Flaw>,
    /// Keep a trace of every event (the UI and `--trace` want it; sweeps
    /// do not).
    pub trace: bool,
    /// One-way latency for the named message kinds (`write`, `write_ack`,
    /// `read`, `read_reply`, ...), in place of the network's range: the
    /// staleness lab gives each leg of a request its own distribution, as
    /// the PBS model does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub latency_by_kind: BTreeMap<String, Latency>,
}

/// A latency distribution, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum Latency {
    /// Uniform in `min_us..=max_us`.
    Uniform { min_us: Micros, max_us: Micros },
    /// `min_us` plus an exponential tail of mean `mean_us`: the long tail
    /// that makes staleness in time interesting.
    Exponential { min_us: Micros, mean_us: Micros },
}

impl Latency {
    pub fn sample(&self, rng: &mut Rng) -> Micros {
        match *self {
            Latency::Uniform { min_us, max_us } => rng.range(min_us, max_us),
            Latency::Exponential { min_us, mean_us } => {
                // 1 - unit() is in (0, 1], so the logarithm is finite.
                let tail = -(1.0 - rng.unit()).ln() * mean_us as f64;
                min_us.saturating_add(tail.min(1e15) as Micros)
            }
        }
    }

    /// The mean, for labels and sanity checks.
    pub fn mean_us(&self) -> f64 {
        match *self {
            Latency::Uniform { min_us, max_us } => (min_us as f64 + max_us as f64) / 2.0,
            Latency::Exponential { min_us, mean_us } => min_us as f64 + mean_us as f64,
        }
    }
}

impl SimConfig {
    /// The classic 4-node cluster with timings that suit a simulation:
    /// milliseconds of latency, detection within half a second.
    pub fn classic(seed: u64) -> SimConfig {
        SimConfig::with_nodes(seed, 4)
    }

    pub fn with_nodes(seed: u64, n: usize) -> SimConfig {
        let mut cluster = ClusterConfig::classic(n);
        cluster.request_timeout_ms = 300;
        cluster.heartbeat_interval_ms = 100;
        cluster.failure_timeout_ms = 450;
        cluster.hint_retry_ms = 250;
        cluster.anti_entropy_interval_ms = 1_000;
        SimConfig {
            seed,
            cluster,
            net: NetConfig::default(),
            sync: SyncMode::Batch,
            disk: DiskConfig::default(),
            flaw: None,
            trace: true,
            latency_by_kind: BTreeMap::new(),
        }
    }
}

/// Something a person (or a script) does to the simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A client sends `request` to coordinator `node`.
    Submit {
        node: NodeId,
        request: Request,
    },
    /// The node's process dies: memory and unsynced records are lost.
    Crash {
        node: NodeId,
    },
    /// The node starts again from the records that survived.
    Restart {
        node: NodeId,
    },
    /// Messages between `a` and `b` are lost, both ways.
    Cut {
        a: NodeId,
        b: NodeId,
    },
    Heal {
        a: NodeId,
        b: NodeId,
    },
    /// Cut every link between the two sides.
    Partition {
        side_a: Vec<NodeId>,
        side_b: Vec<NodeId>,
    },
    /// Heal every link.
    HealAll,
    SetLatency {
        min_us: Micros,
        max_us: Micros,
    },
    SetDropProbability {
        p: f64,
    },
    /// The node's clock runs `skew_us` ahead (negative: behind).
    SetSkew {
        node: NodeId,
        skew_us: i64,
    },
    /// The clock of `node` (every node's when `None`) jumps by `by_us`,
    /// forward or back.
    StepClock {
        node: Option<NodeId>,
        by_us: i64,
    },
    /// `node` (every node when `None`) is suspended for `us`: it handles
    /// nothing meanwhile, and its clock, counted from a monotonic clock
    /// that paused, comes back `us` behind.
    Suspend {
        node: Option<NodeId>,
        us: Micros,
    },
    /// Every node's process dies at once.
    CrashAll,
    /// One byte of a stopped node's commit log flips: the one at `pick`
    /// modulo the log's length.
    CorruptLog {
        node: NodeId,
        pick: u64,
    },
    /// The operator puts back an undamaged copy of a node's log.
    RestoreLog {
        node: NodeId,
    },
}

/// A message on the wire, for drawing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InFlight {
    pub msg: MsgId,
    pub from: NodeId,
    pub to: NodeId,
    pub kind: &'static str,
    pub key: Option<Key>,
    pub sent_at: Micros,
    pub arrive_at: Micros,
    /// The network has already decided to lose it.
    pub doomed: bool,
}

impl InFlight {
    /// How far along its way the message is at `now`, `0.0..=1.0`.
    pub fn progress(&self, now: Micros) -> f64 {
        if self.arrive_at <= self.sent_at {
            return 1.0;
        }
        let p = now.saturating_sub(self.sent_at) as f64 / (self.arrive_at - self.sent_at) as f64;
        p.clamp(0.0, 1.0)
    }
}

/// What the disks and the gates saw, for the sweep's summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    pub syncs: u64,
    /// Syncs that covered more than one record (group commit).
    pub grouped_syncs: u64,
    /// Records appended for lazy writes.
    pub lazy_records: u64,
    /// Records lost by crashes (never acknowledged).
    pub lost_records: u64,
    /// Restarts that cut a torn tail, and that refused a damaged log.
    pub tails_cut: u64,
    pub refused: u64,
    /// Outputs that waited in a gate.
    pub held: u64,
    /// Acknowledgements and read replies that left before what they
    /// stand for was synced: each breaks durability (batch sync only).
    pub early_acks: Vec<String>,
}

/// Counters for benchmarks and status lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    pub steps: u64,
    pub delivered: u64,
    pub dropped: u64,
    /// The nodes' events; none without a trace, when the nodes do not
    /// build them (see [`crate::Node::set_events`]).
    pub events: u64,
    pub client_requests: u64,
}

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
}

/// The events the nodes build: all of them for a trace, else none.
fn events_for(trace: bool) -> EventLevel {
    if trace {
        EventLevel::All
    } else {
        EventLevel::Off
    }
}

/// Items in numbered slots, reused once taken.
#[derive(Clone, Debug)]
struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    fn put(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(item);
                slot
            }
            None => {
                self.slots.push(Some(item));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 items at once")
            }
        }
    }

    /// The item in `slot`, which must hold one.
    fn get(&self, slot: u32) -> &T {
        self.slots[slot as usize].as_ref().expect("a slot in use")
    }

    /// Takes the item out of `slot`, which must hold one.
    fn take(&mut self, slot: u32) -> T {
        let item = self.slots[slot as usize].take().expect("a slot in use");
        self.free.push(slot);
        item
    }
}

/// What a test's interceptor (see [`Sim::set_interceptor`]) sees on its
/// way, and may change: the way to break a node from outside to show that
/// the checker notices.
pub enum Wire<'a> {
    /// A peer message as it leaves `from`.
    Message {
        from: NodeId,
        to: NodeId,
        msg: &'a mut Message,
    },
    /// A coordinator's reply to a client's request.
    Reply {
        node: NodeId,
        request: &'a Request,
        reply: &'a mut Reply,
    },
}

/// Changes what passes on the wire; for tests only.
pub type Interceptor = Box<dyn FnMut(Wire<'_>)>;

/// Where a [`Sim`] keeps its interceptor: shared between clones (a rewind
/// checkpoint of a broken cluster stays broken the same way).
#[derive(Clone, Default)]
struct InterceptorSlot(Option<std::rc::Rc<std::cell::RefCell<Interceptor>>>);

impl std::fmt::Debug for InterceptorSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(interceptor)"
        } else {
            "None"
        })
    }
}

impl InterceptorSlot {
    fn see(&self, wire: Wire<'_>) {
        if let Some(f) = &self.0 {
            (f.borrow_mut())(wire);
        }
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

    // ----- acting -----

    /// Passes every peer message and client reply through `f` from now
    /// on, which may change it: tests break nodes this way.
    pub fn set_interceptor(&mut self, f: Option<Interceptor>) {
        self.interceptor = InterceptorSlot(f.map(|f| std::rc::Rc::new(std::cell::RefCell::new(f))));
    }

    /// Applies an action now.
    pub fn apply(&mut self, action: Action) -> Option<ClientRef> {
        match action {
            Action::Submit { node, request } => return Some(self.submit(node, request)),
            Action::Crash { node } => self.crash(node),
            Action::Restart { node } => self.restart(node),
            Action::Cut { a, b } => self.set_link(a, b, true),
            Action::Heal { a, b } => self.set_link(a, b, false),
            Action::Partition { side_a, side_b } => {
                for &a in &side_a {
                    for &b in &side_b {
                        self.set_link(a, b, true);
                    }
                }
            }
            Action::HealAll => {
                for (a, b) in std::mem::take(&mut self.cut) {
                    self.sim_event(SimEvent::LinkHealed { a, b });
                }
            }
            Action::SetLatency { min_us, max_us } => {
                self.config.net.latency_min_us = min_us.min(max_us);
                self.config.net.latency_max_us = max_us.max(min_us);
                let net = self.config.net.clone();
                self.sim_event(SimEvent::NetChanged { net });
            }
            Action::SetDropProbability { p } => {
                self.config.net.drop_probability = if p.is_finite() {
                    p.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let net = self.config.net.clone();
                self.sim_event(SimEvent::NetChanged { net });
            }
            Action::SetSkew { node, skew_us } => self.set_skew(node, skew_us),
            Action::StepClock { node, by_us } => {
                for id in self.targets(node) {
                    let skew = self.skew(id).saturating_add(by_us);
                    self.set_skew(id, skew);
                }
            }
            Action::Suspend { node, us } => {
                for id in self.targets(node) {
                    let until = self.now + us;
                    if let Some(n) = self.nodes.get_mut(&id) {
                        n.frozen_until = n.frozen_until.max(until);
                    }
                    let skew = self.skew(id).saturating_sub(us as i64);
                    self.set_skew(id, skew);
                }
            }
            Action::CrashAll => {
                for id in self.node_ids() {
                    self.crash(id);
                }
            }
            Action::CorruptLog { node, pick } => {
                if !self.is_up(node) {
                    if let Some(n) = self.nodes.get_mut(&node) {
                        n.disk.corrupt(pick);
                    }
                }
            }
            Action::RestoreLog { node } => {
                if let Some(n) = self.nodes.get_mut(&node) {
                    n.disk.restore();
                }
            }
        }
        None
    }

    /// `node`, or every node.
    fn targets(&self, node: Option<NodeId>) -> Vec<NodeId> {
        match node {
            Some(id) => vec![id],
            None => self.node_ids(),
        }
    }

    fn set_skew(&mut self, node: NodeId, skew_us: i64) {
        if let Some(n) = self.nodes.get_mut(&node) {
            n.skew_us = skew_us;
            self.sim_event(SimEvent::SkewChanged { node, skew_us });
        }
    }

    /// A client sends `request` to coordinator `node`.
    pub fn submit(&mut self, node: NodeId, request: Request) -> ClientRef {
        let client = ClientRef {
            conn: 0,
            req: self.next_req,
        };
        self.next_req += 1;
        self.stats.client_requests += 1;
        let idx = self.history.ops.len();
        self.history.ops.push(HistoryOp {
            client,
            node,
            request: request.clone(),
            invoke_us: self.now,
            complete_us: None,
            outcome: Outcome::Pending,
        });
        self.sim_event(SimEvent::ClientSent {
            client,
            node,
            request: request.clone(),
        });
        if self.is_frozen(node) {
            self.pending.insert(client, idx);
            let at = self.nodes[&node].frozen_until;
            self.push(
                at,
                Item::Client {
                    node,
                    client,
                    request,
                },
            );
        } else if self.is_up(node) {
            self.pending.insert(client, idx);
            self.feed(node, Input::Client { client, request });
        } else {
            self.finish(
                idx,
                Outcome::NoReply {
                    reason: format!("node {node} is down: connection refused"),
                },
            );
        }
        client
    }

    pub fn crash(&mut self, id: NodeId) {
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        if n.node.take().is_none() {
            return;
        }
        n.incarnation += 1;
        n.frozen_until = 0;
        n.wake_at = None;
        let lost = n.disk.crash(&mut self.rng);
        self.disk_stats.lost_records += lost as u64;
        self.sim_event(SimEvent::Crashed {
            node: id,
            lost_records: lost,
        });
        let stranded: Vec<usize> = self
            .pending
            .iter()
            .filter(|(_, &i)| self.history.ops[i].node == id)
            .map(|(_, &i)| i)
            .collect();
        for i in stranded {
            let client = self.history.ops[i].client;
            self.pending.remove(&client);
            self.finish(
                i,
                Outcome::NoReply {
                    reason: format!("coordinator {id} crashed"),
                },
            );
        }
    }

    pub fn restart(&mut self, id: NodeId) {
        let cluster = self.config.cluster.clone();
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        if n.node.is_some() {
            return;
        }
        match n.disk.open() {
            Opened::Whole => {}
            Opened::Cut { .. } => self.disk_stats.tails_cut += 1,
            Opened::Refused { .. } => {
                self.disk_stats.refused += 1;
                return;
            }
        }
        // The driver syncs the log it replayed before it serves.
        n.disk.mark_all_synced();
        let records: Vec<Record> = n.disk.records().iter().map(|r| r.record.clone()).collect();
        let end = n.disk.end();
        let (mut node, rec) = Node::recover(Config::new(id, cluster), &records);
        node.set_events(events_for(self.config.trace));
        let gate = self.new_gate(end);
        let n = self.nodes.get_mut(&id).expect("the node exists");
        n.node = Some(node);
        n.gate = gate;
        self.sim_event(SimEvent::Restarted {
            node: id,
            replayed: rec.records,
        });
        self.feed(id, Input::Start);
    }

    /// A gate over a log whose first `end` positions are durable.
    fn new_gate(&self, end: u64) -> Gate<Held> {
        let d = self.config.disk;
        let policy = match self.config.sync {
            SyncMode::Batch => Policy::Batch {
                group_window_us: d.group_window_us,
                lazy_window_us: d.lazy_window_us,
            },
            SyncMode::Periodic { interval_ms } => Policy::Periodic {
                period_us: interval_ms.max(1) * 1000,
            },
        };
        let mut gate = Gate::new(policy, end, self.now);
        gate.set_flaw(self.config.flaw);
        gate
    }

    /// Compacts a node's log to its snapshot (all of it synced).
    pub fn compact(&mut self, id: NodeId) {
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        let Some(node) = n.node.as_mut() else {
            return;
        };
        let before = n.disk.records().len();
        let records = node.snapshot();
        let after = records.len();
        // As the native driver does: the old log is synced and everything
        // waiting on it released before the snapshot replaces it.
        let old_end = n.disk.end();
        n.disk.mark_all_synced();
        n.gate.sync_finished(old_end, self.now);
        n.disk.replace(records);
        let end = n.disk.end();
        n.gate.begin_input(&Input::Start);
        for lsn in old_end + 1..=end {
            n.gate.appended(lsn, None, self.now);
        }
        n.gate.sync_finished(end, self.now);
        self.release(id);
        self.drain(id, None);
        self.sim_event(SimEvent::Compacted {
            node: id,
            before,
            after,
        });
    }

    fn set_link(&mut self, a: NodeId, b: NodeId, cut: bool) {
        if a == b {
            return;
        }
        let k = (a.min(b), a.max(b));
        let changed = if cut {
            self.cut.insert(k)
        } else {
            self.cut.remove(&k)
        };
        if changed {
            let e = if cut {
                SimEvent::LinkCut { a: k.0, b: k.1 }
            } else {
                SimEvent::LinkHealed { a: k.0, b: k.1 }
            };
            self.sim_event(e);
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
                    self.sim_event(SimEvent::MessageDropped {
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
        self.run_until(self.now + us);
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

    // ----- internals -----

    fn local_now(&self, id: NodeId) -> Micros {
        let skew = self.skew(id);
        (self.now as i64).saturating_add(skew).max(0) as Micros
    }

    /// Hands `input` to a live node and carries out its outputs, through
    /// its gate.
    fn feed(&mut self, id: NodeId, input: Input) {
        let now = self.local_now(id);
        // What an acknowledgement emitted for this input stands for.
        let lazy = matches!(
            &input,
            Input::Message { msg, .. } if matches!(msg.body, Msg::Write { lazy: true, .. })
        );
        let acked = match &input {
            Input::Message { msg, .. } => match &msg.body {
                Msg::Write { key, version, .. }
                | Msg::Repair { key, version, .. }
                | Msg::Hint { key, version, .. } => Some((key.clone(), version.clone())),
                _ => None,
            },
            _ => None,
        };
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        let Some(node) = n.node.as_mut() else {
            return;
        };
        n.gate.begin_input(&input);
        node.handle(now, input);
        let before = self.nodes[&id].disk.end();
        self.drain(id, acked);
        if lazy {
            let after = self.nodes.get(&id).map_or(before, |n| n.disk.end());
            self.disk_stats.lazy_records += after.saturating_sub(before);
        }
    }

    /// Takes a node's outputs: records to its disk, timers and events at
    /// once, messages and replies into its gate; then starts a sync if one
    /// is due and lets go what the gate released.
    fn drain(&mut self, id: NodeId, acked: Option<(Key, Version)>) {
        // A buffer kept between calls, so that taking a node's outputs
        // neither allocates nor copies them.
        let mut outs = std::mem::take(&mut self.outs);
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        if let Some(node) = n.node.as_mut() {
            node.take_outputs(&mut outs);
        }
        let periodic = matches!(self.config.sync, SyncMode::Periodic { .. });
        let incarnation = n.incarnation;
        let skew = n.skew_us;
        while let Some(out) = outs.pop_front() {
            let n = self.nodes.get_mut(&id).expect("the node exists");
            match out {
                Output::Persist(record) => {
                    let key = match &record {
                        Record::Write { key, .. } | Record::Hint { key, .. } => Some(key.clone()),
                        Record::HintDone { .. } | Record::Timestamps { .. } => None,
                    };
                    let lsn = n.disk.append(record);
                    n.gate.appended(lsn, key.as_ref(), self.now);
                    if periodic {
                        // The simulated write lands in the page cache at once.
                        n.gate.written_to(lsn);
                    }
                }
                Output::Send { ref msg, .. } => {
                    let needs = Needs::of_message(&msg.body);
                    let tag = match &msg.body {
                        Msg::ReadReply {
                            key,
                            version: Some(v),
                            ..
                        } => Some((key.clone(), v.clone())),
                        _ if needs == Needs::Ack => acked.clone(),
                        _ => None,
                    };
                    n.gate.emit((out, tag), needs);
                }
                Output::Reply { .. } => n.gate.emit((out, None), Needs::Data),
                Output::Timer { id: tid, at } => {
                    let global = ((at as i64).saturating_sub(skew)).max(self.now as i64) as Micros;
                    self.push(
                        global,
                        Item::Timer {
                            node: id,
                            incarnation,
                            id: tid,
                        },
                    );
                }
                Output::Event(event) => {
                    self.stats.events += 1;
                    if self.config.trace {
                        self.trace.push(TraceEntry {
                            at: self.now,
                            what: TraceWhat::Node { event },
                        });
                    }
                }
            }
        }
        self.outs = outs;
        self.kick_sync(id, true);
        self.release(id);
    }

    /// Starts a sync when the node's gate wants one (`lone`: after one
    /// input, which never waits for the group window), else makes sure it
    /// wakes when it will.
    fn kick_sync(&mut self, id: NodeId, lone: bool) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        let incarnation = n.incarnation;
        if n.gate.should_sync(now, lone) {
            let end = n.gate.appended_to();
            if end > n.gate.synced() + 1 {
                self.disk_stats.grouped_syncs += 1;
            }
            n.gate.sync_started(end);
            let d = self.config.disk;
            let took = self.rng.range(d.sync_min_us, d.sync_max_us);
            self.push(
                now + took,
                Item::SyncDone {
                    node: id,
                    incarnation,
                    end,
                },
            );
        } else if let Some(at) = n.gate.next_wakeup() {
            if n.wake_at.is_none_or(|w| at < w) {
                n.wake_at = Some(at);
                self.push(
                    at.max(now),
                    Item::SyncWake {
                        node: id,
                        incarnation,
                    },
                );
            }
        }
    }

    /// Carries out what the node's gate let go, in order.
    fn release(&mut self, id: NodeId) {
        let batch = self.config.sync == SyncMode::Batch;
        loop {
            let Some(n) = self.nodes.get_mut(&id) else {
                return;
            };
            let Some((out, tag)) = n.gate.pop_ready() else {
                return;
            };
            if let (true, Some((key, version))) = (batch, &tag) {
                let held = n.disk.newest_synced(key);
                if held.is_none_or(|h| version.supersedes(h)) {
                    let what = match &out {
                        Output::Send { to, msg } => format!("{} to node {to}", msg.body.kind()),
                        _ => "an output".into(),
                    };
                    self.disk_stats.early_acks.push(format!(
                        "node {id} sent {what} for {key} @{} while its synced log held {}",
                        version.ts,
                        held.map_or("nothing".into(), |h| format!("@{}", h.ts)),
                    ));
                }
            }
            match out {
                Output::Send { to, mut msg } => {
                    self.interceptor.see(Wire::Message {
                        from: id,
                        to,
                        msg: &mut msg,
                    });
                    self.transmit(id, to, msg)
                }
                Output::Reply { client, mut reply } => {
                    if let Some(idx) = self.pending.remove(&client) {
                        self.interceptor.see(Wire::Reply {
                            node: id,
                            request: &self.history.ops[idx].request,
                            reply: &mut reply,
                        });
                        self.finish(idx, Outcome::from(reply));
                    }
                }
                _ => {}
            }
        }
    }

    fn finish(&mut self, idx: usize, outcome: Outcome) {
        let op = &mut self.history.ops[idx];
        op.complete_us = Some(self.now);
        op.outcome = outcome.clone();
        let (client, node) = (op.client, op.node);
        self.sim_event(SimEvent::ClientAnswered {
            client,
            node,
            outcome,
        });
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, msg: Message) {
        let net = &self.config.net;
        let latency = match self.config.latency_by_kind.get(msg.body.kind()) {
            Some(dist) => dist.sample(&mut self.rng),
            None => self.rng.range(net.latency_min_us, net.latency_max_us),
        };
        let doomed = net.drop_probability > 0.0 && self.rng.chance(net.drop_probability);
        let mut at = self.now + latency;
        let last = self.link_last.entry((from, to)).or_insert(0);
        at = at.max(*last);
        *last = at;
        self.push(
            at,
            Item::Deliver {
                from,
                to,
                msg,
                sent_at: self.now,
                doomed,
            },
        );
    }

    fn push(&mut self, at: Micros, item: Item) {
        self.seq += 1;
        let slot = self.items.put(item);
        self.queue.push(Reverse((at, self.seq, slot)));
    }

    fn sim_event(&mut self, event: SimEvent) {
        if self.config.trace {
            self.trace.push(TraceEntry {
                at: self.now,
                what: TraceWhat::Sim { event },
            });
        }
    }
}

/// Convenience for scripts and tests: a request from its parts.
pub fn put(key: u8, value: &str, cl: Consistency) -> Request {
    Request::Put {
        key: Key::Int(key),
        value: value.to_string(),
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
