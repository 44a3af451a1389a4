//! The page's one state: a [`ClusterView`] reducer fed by [`Update`]s.
//!
//! Every panel renders from a `ClusterView` and nothing else. Updates come
//! from a backend (see [`crate::backend`]): the simulated cluster in the
//! page, a recorded trace, or (later) a live cluster. The reducer cannot
//! tell them apart: events are core [`TraceEntry`]s, and a backend that
//! can look inside its nodes (the simulator; `inspect` on a live node)
//! also sends [`NodeSnapshot`]s, which win over what events suggested.
//!
//! This file holds the view's types and its derived views; `reducer`
//! holds how each update changes it, and [`crate::narration`] the words
//! of its event log.
//!
//! Everything kept is bounded (log lines, requests, messages), so a class
//! can leave the page running for an hour.

mod labels;
mod marks;
mod reducer;

pub use labels::{label_meaning, label_text, KeyHistory};
pub use marks::{Mark, MarkKind, Picked};

pub use crate::narration::{intern_kind, LogKind};

use ringside_core::check::{HistoryOp, Outcome, ReadLabel};
use ringside_core::sim::NetConfig;
use ringside_core::TraceEntry;
use ringside_core::{ClientRef, Key, Micros, MsgId, NodeId, Partitioner, Request, Ring, Version};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// Event-log lines kept (older ones scroll away).
pub const LOG_CAP: usize = 600;
/// Client requests kept in the request list.
pub const REQUEST_CAP: usize = 200;
/// Peer messages remembered for sequence diagrams.
pub const MSG_CAP: usize = 2_000;
/// Heartbeats remembered, for the space-time view when they are shown.
pub const BEAT_CAP: usize = 400;
/// Commit-log records shown per replica.
pub const LOG_TAIL: usize = 8;
/// Acknowledged writes kept per key for flagging stale reads.
pub const WRITES_PER_KEY: usize = 32;
/// Operations kept per key for labelling reads and explaining requests.
pub const KEY_OPS_CAP: usize = 128;
/// Operations kept in all, over every key.
pub const OPS_CAP: usize = 4_096;
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
    /// `None`: as the node's events left them.
    pub hints: Option<HintList>,
    pub peers: Option<Vec<(NodeId, bool)>>,
    /// The commit log's last records; `None`: as the node's events left
    /// them (a backend that cannot see them now, or was not sent them).
    pub log_tail: Option<Vec<LogRow>>,
    /// Records in the commit log; `None`: as the node's events left it.
    pub log_len: Option<usize>,
    pub skew_us: i64,
}

/// The hints a node holds, as its backend can tell them.
#[derive(Clone, Debug, PartialEq)]
pub enum HintList {
    /// With the ids the node gave them (the simulator sees them).
    Named(Vec<HintRow>),
    /// Target and key only (a live node's `inspect`): the view keeps the
    /// id its events gave each matching hint and makes up the others.
    Unnamed(Vec<(NodeId, Key)>),
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
    /// The message's id, as its send and its loss in the log carry it.
    pub msg: MsgId,
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
    /// The peer message this line is about (its send or its loss).
    pub msg: Option<MsgId>,
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
    /// For a successful read: fresh, stale as allowed, or a violation, by
    /// `core::check::label_reads` on its key's kept history (`None`: not
    /// a read that returned, or one the kept history cannot judge).
    pub label: Option<ReadLabel>,
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
            Request::Put { value, .. } => Some(Some(&**value)),
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
    /// Peer messages other than heartbeats.
    pub msgs: VecDeque<MsgRecord>,
    /// Heartbeats, kept apart and fewer.
    pub beats: VecDeque<MsgRecord>,
    /// Faults and requests on the nodes' lanes, for the space-time view.
    pub marks: VecDeque<Mark>,
    /// Acknowledged writes per key, for [`stale_read`].
    pub writes: Rc<BTreeMap<Key, Vec<HistoryOp>>>,
    /// Every operation per key, bounded: what labels and "why?" read.
    pub history: KeyHistory,
    history_len: usize,
    pub net: Option<NetConfig>,
    pub notice: Option<String>,
    /// Bumped on every change other than the clock and the wires, so a
    /// panel can skip work when nothing it shows moved.
    pub version: u64,
    /// The last id made up for a hint whose own id the view never saw
    /// (see [`HintList::Unnamed`]); far above any node's.
    made_up_hint: u64,
}

impl ClusterView {
    pub fn new(topo: Topology) -> ClusterView {
        let ring = Ring::new(&topo.partitioner, &topo.nodes, topo.rf);
        // A node starts believing every peer up, as its failure detector
        // does: a node that goes down before any snapshot showed its
        // peers still shows what it believed (a rewound view is rebuilt
        // from events, and must match the view that had snapshots).
        let nodes = topo
            .nodes
            .iter()
            .map(|&id| {
                let mut n = NodeView::new(id);
                n.peers = topo
                    .nodes
                    .iter()
                    .filter(|&&p| p != id)
                    .map(|&p| (p, true))
                    .collect();
                (id, Rc::new(n))
            })
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
            beats: VecDeque::new(),
            marks: VecDeque::new(),
            writes: Rc::new(BTreeMap::new()),
            history: Rc::default(),
            history_len: 0,
            net: None,
            notice: None,
            version: 0,
            made_up_hint: 1 << 60,
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
                // A live backend's own fault lines (a node gone) mark
                // that node's lane.
                let tag = node
                    .filter(|_| kind == LogKind::Fault)
                    .map(|node| marks::Tag::Mark {
                        node,
                        other: None,
                        what: MarkKind::Note,
                    });
                let said = crate::narration::Said {
                    node,
                    kind,
                    text,
                    flag,
                };
                self.say_tagged(at, Some(said), tag);
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

    fn say_about(
        &mut self,
        at: Micros,
        node: Option<NodeId>,
        kind: LogKind,
        text: String,
        flag: bool,
        msg: Option<MsgId>,
    ) {
        self.log_count += 1;
        self.log.push_back(Rc::new(LogLine {
            n: self.log_count,
            at,
            node,
            kind,
            text,
            flag,
            msg,
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
}
