//! The page's one state: a [`ClusterView`] reducer fed by [`Update`]s.
//!
//! Every panel renders from a `ClusterView` and nothing else. Updates come
//! from a backend (see [`crate::backend`]): the simulated cluster in the
//! page, a recorded trace, or (later) a live cluster. The reducer cannot
//! tell them apart: events are core [`TraceEntry`]s, and a backend that
//! can look inside its nodes (the simulator; `inspect` on a live node)
//! also sends [`NodeSnapshot`]s, which win over what events suggested.
//!
//! Everything kept is bounded (log lines, requests, messages), so a class
//! can leave the page running for an hour.

use ringside_core::check::{stale_read, History, HistoryOp, Outcome};
use ringside_core::io::{EventKind, HintReason};
use ringside_core::sim::{NetConfig, SimEvent, TraceEntry, TraceWhat};
use ringside_core::{ClientRef, Key, Micros, MsgId, NodeId, Partitioner, Request, Ring, Version};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// Event-log lines kept (older ones scroll away).
pub const LOG_CAP: usize = 600;
/// Client requests kept in the request list.
pub const REQUEST_CAP: usize = 200;
/// Peer messages remembered for sequence diagrams.
pub const MSG_CAP: usize = 2_000;
/// Commit-log records shown per replica.
pub const LOG_TAIL: usize = 8;
/// Acknowledged writes kept per key for flagging stale reads.
pub const WRITES_PER_KEY: usize = 32;
/// How long (simulated) a dropped message takes to fall off the screen.
pub const FALL_US: Micros = 40_000;

/// What the cluster is: members, placement, and where its events come from.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub nodes: Vec<NodeId>,
    pub rf: usize,
    pub partitioner: Partitioner,
    /// Shown in the header: "simulated, seed 7", "trace run.jsonl", ...
    pub source: String,
    pub failure_timeout_ms: u64,
    /// Simulated, a recording, or real nodes: the header says which.
    pub mode: Mode,
}

/// Where the cluster on screen lives.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// `core::sim` in the page.
    #[default]
    Simulated,
    /// A trace file, read-only.
    Replay,
    /// Real native nodes over WebSocket, reached through `addr`.
    Live {
        addr: String,
        /// Why crash / restart / stop are off (no control token or no
        /// control endpoint in the link); `None` when they work.
        control_off: Option<String>,
    },
}

impl Mode {
    pub fn is_live(&self) -> bool {
        matches!(self, Mode::Live { .. })
    }
}

/// One change to the view. Backends produce them; [`ClusterView::apply`]
/// is the only thing that consumes them.
#[derive(Clone, Debug)]
pub enum Update {
    /// A new cluster: forget everything.
    Reset(Topology),
    /// The clock moved; these messages are on the wire now.
    Frame { now_us: Micros, wires: Vec<Wire> },
    /// Something happened (a node's event or the simulator's).
    Trace(TraceEntry),
    /// The truth about one node, from a backend that can see inside it.
    Snapshot(NodeSnapshot),
    /// A message for the person at the keyboard (a refused command, ...).
    Notice(String),
    /// A line for the event log that is no node's event (a live
    /// backend's view of connections and the supervisor).
    Say {
        at: Micros,
        node: Option<NodeId>,
        kind: LogKind,
        text: String,
        flag: bool,
    },
}

/// A node's state as its backend sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSnapshot {
    pub id: NodeId,
    pub up: bool,
    /// `None` while the node is down: its memory is gone, the view keeps
    /// showing what it had (greyed).
    /// Shared: a backend sends the same map again while it is unchanged.
    pub data: Option<Rc<BTreeMap<Key, Version>>>,
    pub hints: Option<Vec<HintRow>>,
    pub peers: Option<Vec<(NodeId, bool)>>,
    pub log_tail: Vec<LogRow>,
    pub log_len: usize,
    pub skew_us: i64,
}

/// A commit-log record as a replica panel shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRow {
    pub lsn: u64,
    pub record: String,
    /// Durable on disk (a crash keeps it).
    pub synced: bool,
}

/// A hint a node holds for another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HintRow {
    pub id: u64,
    pub target: NodeId,
    pub key: Key,
}

/// A message on the wire, to draw along its chord: the simulator's own
/// description, which the replay and live backends fill in too.
pub use ringside_core::sim::InFlight as Wire;

/// A dropped message falling off the screen.
#[derive(Clone, Debug, PartialEq)]
pub struct Fall {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: &'static str,
    pub at: Micros,
    pub reason: String,
}

/// Up, down, coming back, or cut off: what the ring shows at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Up,
    Down,
    /// Restarted; not every live peer has seen it up yet.
    Recovering,
    /// Up, with at least one link cut.
    Partitioned,
}

impl NodeState {
    /// The CSS class (also what tests look for).
    pub fn class(self) -> &'static str {
        match self {
            NodeState::Up => "up",
            NodeState::Down => "down",
            NodeState::Recovering => "recovering",
            NodeState::Partitioned => "partitioned",
        }
    }
}

/// One node as the panels show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub id: NodeId,
    pub up: bool,
    /// Set at a restart, cleared once every live peer sees it up.
    pub restarted_at: Option<Micros>,
    /// Records replayed from the commit log at the last start.
    pub replayed: Option<usize>,
    pub lost_records: usize,
    pub skew_us: i64,
    pub data: Rc<BTreeMap<Key, Version>>,
    pub log_tail: VecDeque<LogRow>,
    pub log_len: usize,
    pub hints: BTreeMap<u64, HintRow>,
    /// What this node's failure detector thinks of each peer.
    pub peers: BTreeMap<NodeId, bool>,
}

impl NodeView {
    fn new(id: NodeId) -> NodeView {
        NodeView {
            id,
            up: true,
            restarted_at: None,
            replayed: None,
            lost_records: 0,
            skew_us: 0,
            data: Rc::default(),
            log_tail: VecDeque::new(),
            log_len: 0,
            hints: BTreeMap::new(),
            peers: BTreeMap::new(),
        }
    }
}

/// What kind of line an event-log line is, for the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogKind {
    Client,
    Message,
    Storage,
    Hint,
    Repair,
    Failure,
    Fault,
}

impl LogKind {
    pub const ALL: [LogKind; 7] = [
        LogKind::Client,
        LogKind::Message,
        LogKind::Storage,
        LogKind::Hint,
        LogKind::Repair,
        LogKind::Failure,
        LogKind::Fault,
    ];
    pub fn name(self) -> &'static str {
        match self {
            LogKind::Client => "requests",
            LogKind::Message => "messages",
            LogKind::Storage => "commit log",
            LogKind::Hint => "hints",
            LogKind::Repair => "repair",
            LogKind::Failure => "failure detector",
            LogKind::Fault => "faults",
        }
    }
}

/// One line of the event log, in plain words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub n: u64,
    pub at: Micros,
    pub node: Option<NodeId>,
    pub kind: LogKind,
    pub text: String,
    /// Worth a second look (an error, a stale read, a lost message).
    pub flag: bool,
}

/// A peer message remembered for sequence diagrams.
#[derive(Clone, Debug, PartialEq)]
pub struct MsgRecord {
    pub msg: MsgId,
    pub from: NodeId,
    pub to: NodeId,
    pub kind: &'static str,
    pub key: Option<Key>,
    pub sent_at: Micros,
    pub received_at: Option<Micros>,
    pub dropped: Option<String>,
}

/// One client request, from the moment it was sent to its answer.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestView {
    pub client: ClientRef,
    pub coordinator: NodeId,
    pub request: Request,
    pub invoke_us: Micros,
    pub complete_us: Option<Micros>,
    pub outcome: Outcome,
    pub replicas: Vec<NodeId>,
    /// Replicas the coordinator believed up when it received the request.
    pub live: Vec<NodeId>,
    /// Replicas whose answer counted.
    pub answered: Vec<NodeId>,
    /// For a read that returned something older than an acknowledged
    /// write that finished before it began: that write.
    pub stale: Option<Version>,
    /// Replicas that applied this write (known by key and value).
    pub landed_on: Vec<NodeId>,
}

impl RequestView {
    pub fn latency_us(&self) -> Option<Micros> {
        self.complete_us.map(|c| c.saturating_sub(self.invoke_us))
    }

    /// A write that failed its level (or got no answer) but still reached
    /// some replicas: as in Cassandra there is no rollback.
    pub fn failed_but_landed(&self) -> bool {
        self.request.is_write()
            && matches!(
                self.outcome,
                Outcome::Error { .. } | Outcome::NoReply { .. }
            )
            && !self.landed_on.is_empty()
    }

    fn written_value(&self) -> Option<Option<&str>> {
        match &self.request {
            Request::Put { value, .. } => Some(Some(value.as_str())),
            Request::Delete { .. } => Some(None),
            Request::Get { .. } => None,
        }
    }
}

/// Everything the page shows. See the module docs.
#[derive(Clone, Debug)]
pub struct ClusterView {
    pub topo: Topology,
    pub ring: Ring,
    pub now_us: Micros,
    pub nodes: BTreeMap<NodeId, Rc<NodeView>>,
    /// Cut links, `(low id, high id)`.
    pub cut: BTreeSet<(NodeId, NodeId)>,
    pub wires: Vec<Wire>,
    pub falls: Vec<Fall>,
    pub requests: VecDeque<Rc<RequestView>>,
    pub log: VecDeque<Rc<LogLine>>,
    pub log_count: u64,
    pub msgs: VecDeque<MsgRecord>,
    /// Acknowledged writes per key, for [`stale_read`].
    pub writes: Rc<BTreeMap<Key, Vec<HistoryOp>>>,
    pub net: Option<NetConfig>,
    pub notice: Option<String>,
    /// Bumped on every change other than the clock and the wires, so a
    /// panel can skip work when nothing it shows moved.
    pub version: u64,
}

impl ClusterView {
    pub fn new(topo: Topology) -> ClusterView {
        let ring = Ring::new(&topo.partitioner, &topo.nodes, topo.rf);
        let nodes = topo
            .nodes
            .iter()
            .map(|&id| (id, Rc::new(NodeView::new(id))))
            .collect();
        ClusterView {
            ring,
            nodes,
            topo,
            now_us: 0,
            cut: BTreeSet::new(),
            wires: Vec::new(),
            falls: Vec::new(),
            requests: VecDeque::new(),
            log: VecDeque::new(),
            log_count: 0,
            msgs: VecDeque::new(),
            writes: Rc::new(BTreeMap::new()),
            net: None,
            notice: None,
            version: 0,
        }
    }

    /// Applies a batch of updates in order.
    pub fn apply_all(&mut self, updates: impl IntoIterator<Item = Update>) {
        for u in updates {
            self.apply(u);
        }
    }

    /// The reducer.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Reset(topo) => *self = ClusterView::new(topo),
            Update::Frame { now_us, wires } => {
                self.now_us = self.now_us.max(now_us);
                self.wires = wires;
                let now = self.now_us;
                self.falls.retain(|f| now < f.at + FALL_US);
            }
            Update::Trace(entry) => {
                self.version += 1;
                self.now_us = self.now_us.max(entry.at);
                self.trace(entry);
                self.settle_recovery();
            }
            Update::Snapshot(s) => self.snapshot(s),
            Update::Notice(text) => {
                self.version += 1;
                self.notice = Some(text);
            }
            Update::Say {
                at,
                node,
                kind,
                text,
                flag,
            } => {
                self.version += 1;
                self.now_us = self.now_us.max(at);
                self.say(at, node, kind, text, flag);
            }
        }
    }

    // ----- derived views -----

    /// A node's state at a glance.
    pub fn node_state(&self, id: NodeId) -> NodeState {
        let Some(n) = self.nodes.get(&id) else {
            return NodeState::Down;
        };
        if !n.up {
            NodeState::Down
        } else if n.restarted_at.is_some() {
            NodeState::Recovering
        } else if self.cut.iter().any(|&(a, b)| a == id || b == id) {
            NodeState::Partitioned
        } else {
            NodeState::Up
        }
    }

    /// The replicas of a key, owner first.
    pub fn replicas(&self, key: &Key) -> Vec<NodeId> {
        self.ring.replicas(key)
    }

    /// Every key some node holds, in order.
    pub fn keys(&self) -> BTreeSet<Key> {
        self.nodes
            .values()
            .flat_map(|n| n.data.keys().cloned())
            .collect()
    }

    /// The newest version of `key` any replica holds, when replicas differ
    /// (`None` when they agree: nothing to highlight).
    pub fn newest_if_differs(&self, key: &Key) -> Option<Version> {
        let versions: Vec<Option<&Version>> = self
            .replicas(key)
            .iter()
            .filter_map(|r| self.nodes.get(r))
            .map(|n| n.data.get(key))
            .collect();
        let first = versions.first()?;
        if versions.iter().all(|v| v == first) {
            return None;
        }
        versions
            .iter()
            .fold(None, |acc: Option<&Version>, v| Version::newest(acc, *v))
            .cloned()
    }

    /// The request a client ref names, if still kept.
    pub fn request(&self, client: ClientRef) -> Option<&Rc<RequestView>> {
        self.requests.iter().rev().find(|r| r.client == client)
    }

    /// The messages that belong to a request: between its coordinator and
    /// the key's replicas, of a data kind, from its start until shortly
    /// after its answer (acks and repairs that come late included).
    pub fn request_messages(&self, req: &RequestView) -> Vec<&MsgRecord> {
        let end = req.complete_us.unwrap_or(self.now_us) + 200_000;
        let key = req.request.key();
        let c = req.coordinator;
        self.msgs
            .iter()
            .filter(|m| m.sent_at >= req.invoke_us && m.sent_at <= end)
            .filter(|m| {
                matches!(
                    m.kind,
                    "write"
                        | "write_ack"
                        | "read"
                        | "read_reply"
                        | "read_repair"
                        | "read_repair_ack"
                )
            })
            .filter(|m| (m.from == c || m.to == c) && m.key.as_ref().is_none_or(|k| k == key))
            .collect()
    }

    // ----- the reducer's parts -----

    fn node_mut(&mut self, id: NodeId) -> &mut NodeView {
        Rc::make_mut(
            self.nodes
                .entry(id)
                .or_insert_with(|| Rc::new(NodeView::new(id))),
        )
    }

    fn say(&mut self, at: Micros, node: Option<NodeId>, kind: LogKind, text: String, flag: bool) {
        self.log_count += 1;
        self.log.push_back(Rc::new(LogLine {
            n: self.log_count,
            at,
            node,
            kind,
            text,
            flag,
        }));
        while self.log.len() > LOG_CAP {
            self.log.pop_front();
        }
    }

    fn request_mut(&mut self, client: ClientRef) -> Option<&mut RequestView> {
        self.requests
            .iter_mut()
            .rev()
            .find(|r| r.client == client)
            .map(Rc::make_mut)
    }

    /// Takes a node's snapshot. Only what differs is written: a node
    /// whose snapshot matches what the view holds is not copied (the
    /// panels share the view's nodes, so a write would clone one).
    fn snapshot(&mut self, s: NodeSnapshot) {
        let same = self.nodes.get(&s.id).is_some_and(|n| {
            n.up == s.up
                && (s.up || n.restarted_at.is_none())
                && s.data.as_ref().is_none_or(|d| n.data == *d)
                && s.hints.as_ref().is_none_or(|h| {
                    h.len() == n.hints.len() && h.iter().all(|r| n.hints.get(&r.id) == Some(r))
                })
                && s.peers.as_ref().is_none_or(|p| {
                    p.len() == n.peers.len() && p.iter().all(|(k, v)| n.peers.get(k) == Some(v))
                })
                && n.log_tail.len() == s.log_tail.len()
                && n.log_tail.iter().eq(s.log_tail.iter())
                && n.log_len == s.log_len
                && n.skew_us == s.skew_us
        });
        if !same {
            let n = self.node_mut(s.id);
            n.up = s.up;
            if let Some(data) = s.data {
                n.data = data;
            }
            if let Some(hints) = s.hints {
                n.hints = hints.into_iter().map(|h| (h.id, h)).collect();
            }
            if let Some(peers) = s.peers {
                n.peers = peers.into_iter().collect();
            }
            n.log_tail = s.log_tail.into_iter().collect();
            n.log_len = s.log_len;
            n.skew_us = s.skew_us;
            if !n.up {
                n.restarted_at = None;
            }
            self.version += 1;
        }
        self.settle_recovery();
    }

    /// A restarted node is "recovering" until every live peer sees it up.
    fn settle_recovery(&mut self) {
        let recovering: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| n.up && n.restarted_at.is_some())
            .map(|n| n.id)
            .collect();
        for id in recovering {
            let seen = self
                .nodes
                .values()
                .filter(|o| o.id != id && o.up)
                .all(|o| o.peers.get(&id).copied().unwrap_or(true));
            let cut_off = self.cut.iter().any(|&(a, b)| a == id || b == id);
            if seen && !cut_off {
                self.node_mut(id).restarted_at = None;
            }
        }
    }

    fn trace(&mut self, entry: TraceEntry) {
        let at = entry.at;
        match entry.what {
            TraceWhat::Node { event } => self.node_event(at, event.node, event.kind),
            TraceWhat::Sim { event } => self.sim_event(at, event),
        }
    }

    fn node_event(&mut self, at: Micros, node: NodeId, kind: EventKind) {
        use EventKind as K;
        match kind {
            K::Started {
                replayed,
                keys,
                hints,
                ..
            } => {
                let n = self.node_mut(node);
                n.up = true;
                n.replayed = Some(replayed);
                let text = if replayed == 0 {
                    format!("node {node} started with an empty commit log")
                } else {
                    format!(
                        "node {node} started: replayed {replayed} records from its commit log, \
                         rebuilding {keys} keys and {hints} hints"
                    )
                };
                self.say(at, Some(node), LogKind::Storage, text, false);
            }
            K::RequestReceived {
                client,
                request,
                replicas,
                live,
                ..
            } => {
                let text = format!(
                    "node {node} coordinates {request}: replicas {}, of which it believes {} up",
                    list(&replicas),
                    list(&live)
                );
                if let Some(r) = self.request_mut(client) {
                    r.replicas = replicas;
                    r.live = live;
                }
                self.say(at, Some(node), LogKind::Client, text, false);
            }
            K::RequestAnswered {
                client,
                outcome,
                message,
                answered,
                latency_us,
                ..
            } => {
                let ok = outcome == "ok";
                let text = if ok {
                    format!(
                        "node {node} answered ok: replicas {} answered, in {}",
                        list(&answered),
                        ms(latency_us)
                    )
                } else {
                    format!("node {node} answered {outcome}: {message}")
                };
                if let Some(r) = self.request_mut(client) {
                    r.answered = answered;
                }
                self.say(at, Some(node), LogKind::Client, text, !ok);
            }
            K::MessageSent {
                msg,
                to,
                msg_kind,
                key,
                ..
            } => {
                let kind = intern_kind(&msg_kind);
                if kind != "heartbeat" {
                    self.msgs.push_back(MsgRecord {
                        msg,
                        from: node,
                        to,
                        kind,
                        key: key.clone(),
                        sent_at: at,
                        received_at: None,
                        dropped: None,
                    });
                    while self.msgs.len() > MSG_CAP {
                        self.msgs.pop_front();
                    }
                    if !matches!(kind, "sync_digest" | "sync_data") {
                        let about = key.map(|k| format!(" for key {k}")).unwrap_or_default();
                        let text = format!("node {node} sends {} to node {to}{about}", words(kind));
                        self.say(at, Some(node), LogKind::Message, text, false);
                    }
                }
            }
            K::MessageReceived { msg, .. } => {
                if let Some(m) = self.msgs.iter_mut().rev().find(|m| m.msg == msg) {
                    m.received_at = Some(at);
                }
            }
            K::RecordPersisted { lsn, record } => {
                let n = self.node_mut(node);
                n.log_tail.push_back(LogRow {
                    lsn,
                    record: record.clone(),
                    synced: true,
                });
                while n.log_tail.len() > LOG_TAIL {
                    n.log_tail.pop_front();
                }
                n.log_len = n.log_len.max(lsn as usize);
                let text = format!("node {node} appends to its commit log (#{lsn}): {record}");
                self.say(at, Some(node), LogKind::Storage, text, false);
            }
            K::WriteApplied {
                key,
                version,
                won,
                source,
            } => {
                if won {
                    Rc::make_mut(&mut self.node_mut(node).data)
                        .insert(key.clone(), version.clone());
                    let value = version.value.as_deref();
                    for r in self.requests.iter_mut().rev().take(64) {
                        if r.request.key() == &key
                            && r.written_value() == Some(value)
                            && r.invoke_us <= at
                            && !r.landed_on.contains(&node)
                        {
                            Rc::make_mut(r).landed_on.push(node);
                        }
                    }
                }
                let what = match &version.value {
                    Some(v) => format!("{key} = {v:?}"),
                    None => format!("the deletion of {key}"),
                };
                let text = if won {
                    format!("node {node} stores {what} ({source})")
                } else {
                    format!("node {node} keeps its newer version, not {what} ({source})")
                };
                self.say(at, Some(node), LogKind::Storage, text, false);
            }
            K::HintStored {
                hint,
                target,
                key,
                reason,
            } => {
                self.node_mut(node).hints.insert(
                    hint,
                    HintRow {
                        id: hint,
                        target,
                        key: key.clone(),
                    },
                );
                let why = match reason {
                    HintReason::Down => format!("node {target} is down"),
                    HintReason::NoAck => format!("node {target} did not acknowledge in time"),
                };
                let text =
                    format!("node {node} stored a hint for node {target} (key {key}): {why}");
                self.say(at, Some(node), LogKind::Hint, text, false);
            }
            K::HintSent { target, key, .. } => {
                let text = format!("node {node} hands its hint for key {key} to node {target}");
                self.say(at, Some(node), LogKind::Hint, text, false);
            }
            K::HintDelivered { hint, target, key } => {
                self.node_mut(node).hints.remove(&hint);
                let text = format!(
                    "node {target} has the hinted write of key {key}: node {node} forgets the hint"
                );
                self.say(at, Some(node), LogKind::Hint, text, false);
            }
            K::HintDropped {
                target,
                key,
                reason,
            } => {
                let n = self.node_mut(node);
                let gone: Vec<u64> = n
                    .hints
                    .values()
                    .filter(|h| h.target == target && h.key == key)
                    .map(|h| h.id)
                    .take(1)
                    .collect();
                for id in gone {
                    n.hints.remove(&id);
                }
                let text =
                    format!("node {node} gave up its hint for node {target} (key {key}): {reason}");
                self.say(at, Some(node), LogKind::Hint, text, true);
            }
            K::ReadRepair {
                key,
                target,
                version,
                blocking,
            } => {
                let how = if blocking {
                    "before answering"
                } else {
                    "in the background"
                };
                let text = format!(
                    "node {node} repairs node {target}: its copy of {key} is older; sends {} ({how})",
                    show_version(&version)
                );
                self.say(at, Some(node), LogKind::Repair, text, false);
            }
            K::AntiEntropy { peer, keys } => {
                let text = format!(
                    "anti-entropy: node {node} and node {peer} differed on {keys} keys; node {node} sent its versions"
                );
                self.say(at, Some(node), LogKind::Repair, text, false);
            }
            K::PeerDown { peer, reason } => {
                self.node_mut(node).peers.insert(peer, false);
                let text = format!("node {node} thinks node {peer} is down: {reason}");
                self.say(at, Some(node), LogKind::Failure, text, false);
            }
            K::PeerUp { peer, restarted } => {
                self.node_mut(node).peers.insert(peer, true);
                let text = if restarted {
                    format!("node {node} sees node {peer} up again (it restarted)")
                } else {
                    format!("node {node} sees node {peer} up again")
                };
                self.say(at, Some(node), LogKind::Failure, text, false);
            }
            K::Compacted { records } => {
                let text = format!("node {node} compacted its commit log to {records} records");
                self.say(at, Some(node), LogKind::Storage, text, false);
            }
        }
    }

    fn sim_event(&mut self, at: Micros, event: SimEvent) {
        match event {
            SimEvent::MessageDropped {
                msg,
                from,
                to,
                msg_kind,
                reason,
            } => {
                let kind = intern_kind(&msg_kind);
                if let Some(m) = self.msgs.iter_mut().rev().find(|m| m.msg == msg) {
                    m.dropped = Some(reason.clone());
                    m.received_at = Some(at);
                }
                self.falls.push(Fall {
                    from,
                    to,
                    kind,
                    at,
                    reason: reason.clone(),
                });
                if kind != "heartbeat" {
                    let text = format!(
                        "the {} from node {from} to node {to} is lost: {reason}",
                        words(kind)
                    );
                    self.say(at, Some(from), LogKind::Message, text, true);
                }
            }
            SimEvent::Crashed { node, lost_records } => {
                let n = self.node_mut(node);
                n.up = false;
                n.restarted_at = None;
                n.lost_records = lost_records;
                let lost = if lost_records == 0 {
                    "every record it logged was synced, so none is lost".to_string()
                } else {
                    format!("{lost_records} unsynced records are lost")
                };
                let text = format!("node {node} crashed: its memory is gone; {lost}");
                self.say(at, Some(node), LogKind::Fault, text, true);
            }
            SimEvent::Restarted { node, replayed } => {
                let n = self.node_mut(node);
                n.up = true;
                n.restarted_at = Some(at);
                n.replayed = Some(replayed);
                n.peers.clear();
                let text = format!(
                    "node {node} restarts and replays {replayed} records from its commit log"
                );
                self.say(at, Some(node), LogKind::Fault, text, false);
            }
            SimEvent::LinkCut { a, b } => {
                self.cut.insert((a.min(b), a.max(b)));
                let text = format!("the link between node {a} and node {b} is cut");
                self.say(at, None, LogKind::Fault, text, true);
            }
            SimEvent::LinkHealed { a, b } => {
                self.cut.remove(&(a.min(b), a.max(b)));
                let text = format!("the link between node {a} and node {b} is healed");
                self.say(at, None, LogKind::Fault, text, false);
            }
            SimEvent::NetChanged { net } => {
                let text = format!(
                    "network: latency {}–{}, {:.0}% of messages lost",
                    ms(net.latency_min_us),
                    ms(net.latency_max_us),
                    net.drop_probability * 100.0
                );
                self.net = Some(net);
                self.say(at, None, LogKind::Fault, text, false);
            }
            SimEvent::SkewChanged { node, skew_us } => {
                self.node_mut(node).skew_us = skew_us;
                let text = if skew_us == 0 {
                    format!("node {node}'s clock is right again")
                } else if skew_us > 0 {
                    format!("node {node}'s clock now runs {} ahead", ms(skew_us as u64))
                } else {
                    format!(
                        "node {node}'s clock now runs {} behind",
                        ms(skew_us.unsigned_abs())
                    )
                };
                self.say(at, Some(node), LogKind::Fault, text, skew_us != 0);
            }
            SimEvent::ClientSent {
                client,
                node,
                request,
            } => {
                let text = format!("a client sends {request} to node {node}");
                self.requests.push_back(Rc::new(RequestView {
                    client,
                    coordinator: node,
                    request,
                    invoke_us: at,
                    complete_us: None,
                    outcome: Outcome::Pending,
                    replicas: Vec::new(),
                    live: Vec::new(),
                    answered: Vec::new(),
                    stale: None,
                    landed_on: Vec::new(),
                }));
                while self.requests.len() > REQUEST_CAP {
                    self.requests.pop_front();
                }
                self.say(at, Some(node), LogKind::Client, text, false);
            }
            SimEvent::ClientAnswered {
                client, outcome, ..
            } => self.answered(at, client, outcome),
            SimEvent::Compacted {
                node,
                before,
                after,
            } => {
                let text =
                    format!("node {node}'s commit log compacted: {before} → {after} records");
                self.say(at, Some(node), LogKind::Storage, text, false);
            }
        }
    }

    fn answered(&mut self, at: Micros, client: ClientRef, outcome: Outcome) {
        let Some(r) = self.request(client).cloned() else {
            return;
        };
        let mut r = (*r).clone();
        r.complete_us = Some(at);
        r.outcome = outcome.clone();
        let key = r.request.key().clone();
        // Stale reads: the checker's own rule, on the writes of this key.
        if matches!(outcome, Outcome::Read { .. }) {
            let mut ops: Vec<HistoryOp> = self.writes.get(&key).cloned().unwrap_or_default();
            ops.push(HistoryOp {
                client,
                node: r.coordinator,
                request: r.request.clone(),
                invoke_us: r.invoke_us,
                complete_us: Some(at),
                outcome: outcome.clone(),
            });
            let idx = ops.len() - 1;
            r.stale = stale_read(&History { ops }, idx);
        }
        if let Outcome::Written { .. } = outcome {
            let writes = Rc::make_mut(&mut self.writes).entry(key).or_default();
            writes.push(HistoryOp {
                client,
                node: r.coordinator,
                request: r.request.clone(),
                invoke_us: r.invoke_us,
                complete_us: Some(at),
                outcome: outcome.clone(),
            });
            if writes.len() > WRITES_PER_KEY {
                writes.remove(0);
            }
        }
        match &outcome {
            Outcome::NoReply { reason } => {
                let text = format!("the client got no answer to {}: {reason}", r.request);
                self.say(at, Some(r.coordinator), LogKind::Client, text, true);
            }
            Outcome::Read { kv } => {
                let got = match kv {
                    Some(kv) => format!(
                        "{:?} (written at {})",
                        kv.value.as_deref().unwrap_or(""),
                        kv.ts
                    ),
                    None => "nothing".into(),
                };
                let mut text = format!("the client reads {} = {got}", r.request.key());
                if let Some(newer) = &r.stale {
                    text.push_str(&format!(
                        ": STALE, a write of {} had been acknowledged before this read began",
                        show_version(newer)
                    ));
                }
                let stale = r.stale.is_some();
                self.say(at, Some(r.coordinator), LogKind::Client, text, stale);
            }
            _ => {}
        }
        if let Some(slot) = self.request_mut(client) {
            *slot = r;
        }
    }
}

/// Message kinds as `&'static str`, so remembered messages are cheap to
/// copy (the wire carries a `String`).
pub fn intern_kind(kind: &str) -> &'static str {
    const KINDS: [&str; 11] = [
        "write",
        "write_ack",
        "read",
        "read_reply",
        "read_repair",
        "read_repair_ack",
        "hint",
        "hint_ack",
        "heartbeat",
        "sync_digest",
        "sync_data",
    ];
    KINDS
        .iter()
        .copied()
        .find(|k| *k == kind)
        .unwrap_or("message")
}

/// A message kind in words: `write_ack` -> "a write acknowledgement".
pub fn words(kind: &str) -> &'static str {
    match kind {
        "write" => "a write",
        "write_ack" => "a write acknowledgement",
        "read" => "a read",
        "read_reply" => "a read reply",
        "read_repair" => "a read repair",
        "read_repair_ack" => "a repair acknowledgement",
        "hint" => "a hinted write",
        "hint_ack" => "a hint acknowledgement",
        "heartbeat" => "a heartbeat",
        "sync_digest" => "an anti-entropy digest",
        "sync_data" => "anti-entropy data",
        _ => "a message",
    }
}

/// Milliseconds from microseconds, for people.
pub fn ms(us: Micros) -> String {
    if us >= 10_000 {
        format!("{} ms", us / 1000)
    } else {
        format!("{:.1} ms", us as f64 / 1000.0)
    }
}

/// `[2, 3, 0]` as "2, 3, 0" (or "none").
pub fn list(ids: &[NodeId]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn show_version(v: &Version) -> String {
    match &v.value {
        Some(s) => format!("{s:?} @{}", v.ts),
        None => format!("a deletion @{}", v.ts),
    }
}
