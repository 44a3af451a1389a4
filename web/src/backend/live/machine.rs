//! [`LiveCore`], the live backend's logic without sockets: it is handed
//! socket events with the time and says which sockets to open and what
//! to send (quinn-proto's habit), so it is tested natively. This file
//! follows the connections (the seed node, every member, the control
//! endpoint); `release` puts the nodes' frames in order and turns them
//! into updates; `requests` carries out what the page asks.

mod release;
mod requests;

use super::link::{client_url, control_url, LiveLink};
use crate::state::{LogKind, Mode, NodeSnapshot, Topology, Update, Wire};
use ringside_core::check::Outcome;
use ringside_core::io::Event;
use ringside_core::protocol::control::NodeControl;
use ringside_core::protocol::{
    inspect_request_json, parse_server_frame, subscribe_request_json, DataPage, InspectNode,
    ServerFrame,
};
use ringside_core::{ClientRef, Micros, MsgId, NodeId, Partitioner, Reply};
use ringside_core::{ClusterEvent, TraceEntry, TraceWhat};
use std::collections::{BTreeMap, VecDeque};

/// How often each connected node is asked `inspect` (wall clock).
pub const INSPECT_EVERY_MS: f64 = 500.0;
/// Keys the page asks each node for at most (`inspect`'s `limit`): a node
/// holding millions of keys, after a bench say, would otherwise send them
/// all on every poll. The page says so when a node holds more.
pub const SHOWN_KEYS: usize = 2_000;
/// How often a lost node (or the first node) is tried again.
pub const RETRY_MS: f64 = 1_000.0;
/// How long a received message waits for its send to show up from the
/// other node before it is shown anyway (the send may predate the page).
pub const HOLD_MS: f64 = 400.0;
/// Events held per node at most; past it, the oldest is released.
pub const QUEUE_CAP: usize = 20_000;
/// Sends remembered while waiting for their receipt.
pub const SENT_CAP: usize = 20_000;
/// How long a message is drawn on its chord: real messages take well
/// under a millisecond on a LAN, too fast to see.
pub const WIRE_US: Micros = 450_000;
/// The `conn` of the page's own requests in the view (native connection
/// numbers are small).
pub const PAGE_CONN: u64 = 1 << 62;

/// A socket the page keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Conn {
    /// The first node, until the page knows the members.
    Seed,
    Node(NodeId),
    Control,
}

/// What the driver must do with sockets, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Io {
    /// Open (or reopen) this socket; report `Open`, then `Text`s, then
    /// `Closed` exactly once.
    Open {
        conn: Conn,
        url: String,
    },
    Send {
        conn: Conn,
        text: String,
    },
    Close {
        conn: Conn,
    },
}

/// What a socket did.
#[derive(Clone, Debug, PartialEq)]
// Natively only the tests open sockets.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub enum SockEvent {
    Open,
    Text(String),
    Closed(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ConnState {
    Closed { retry_at_ms: f64 },
    Connecting,
    Open,
}

/// A node's frame, held until it can be shown in order.
#[derive(Clone, Debug)]
enum Item {
    Event(Event),
    Inspect(Box<InspectNode>),
    Reply { id: u64, reply: Reply },
}

/// One member of the cluster as the page follows it.
struct Member {
    url: String,
    conn: ConnState,
    /// Up or down as last told to the view (`None`: not yet).
    shown_up: Option<bool>,
    /// The incarnation seen last (changes on restart).
    generation: Option<Micros>,
    inspect_id: Option<u64>,
    next_inspect_ms: f64,
    queue: VecDeque<(f64, Item)>,
    /// The screen time of this node's last released event.
    last_at: Micros,
    /// The page asked the supervisor to kill or stop it.
    asked: Option<NodeControl>,
    /// The page said it shows only part of this node's keys.
    said_partial: bool,
    /// The page said it shows only part of this node's hints.
    said_partial_hints: bool,
}

impl Member {
    fn new(url: String) -> Member {
        Member {
            url,
            conn: ConnState::Closed { retry_at_ms: 0.0 },
            shown_up: None,
            generation: None,
            inspect_id: None,
            next_inspect_ms: 0.0,
            queue: VecDeque::new(),
            last_at: 0,
            asked: None,
            said_partial: false,
            said_partial_hints: false,
        }
    }
}

/// One of the page's data requests, waiting for its answer.
struct Pending {
    node: NodeId,
    client: ClientRef,
    sent_at: Micros,
}

/// The live cluster's logic, without sockets. See the module docs.
pub struct LiveCore {
    link: LiveLink,
    seed_url: String,
    seed: ConnState,
    seed_inspect: Option<u64>,
    seed_failures: u32,
    /// Page wall clock (µs since the epoch) at connect: screen time 0.
    base_us: Micros,
    now_ms: f64,
    topo: Topology,
    members: BTreeMap<NodeId, Member>,
    /// Released sends waiting for their receipt, with their screen time.
    sent: BTreeMap<MsgId, Micros>,
    wires: Vec<Wire>,
    pending: BTreeMap<u64, Pending>,
    next_id: u64,
    control: ConnState,
    control_queue: Vec<String>,
    control_pending: BTreeMap<u64, (NodeControl, NodeId)>,
    out: VecDeque<Io>,
    updates: Vec<Update>,
}

impl LiveCore {
    /// Starts connecting to `link.addr`, at page wall clock `now_ms`.
    pub fn new(link: LiveLink, now_ms: f64) -> Result<LiveCore, String> {
        let seed_url = client_url(&link.addr)?;
        if let Some(c) = &link.control {
            control_url(c)?;
        }
        let base_us = (now_ms * 1000.0) as Micros;
        let topo = Topology {
            nodes: Vec::new(),
            rf: 1,
            partitioner: Partitioner::byte_ordered_even(&[]),
            source: format!("live: connecting to {seed_url}…"),
            failure_timeout_ms: 1_000,
            mode: Mode::Live {
                addr: link.addr.clone(),
                control_off: link.control_off(),
            },
        };
        let mut c = LiveCore {
            link,
            seed_url: seed_url.clone(),
            seed: ConnState::Connecting,
            seed_inspect: None,
            seed_failures: 0,
            base_us,
            now_ms,
            topo,
            members: BTreeMap::new(),
            sent: BTreeMap::new(),
            wires: Vec::new(),
            pending: BTreeMap::new(),
            // Ids unlikely to meet another client's on the same node.
            next_id: 1_000_000_000 + base_us % 1_000_000_000,
            control: ConnState::Closed { retry_at_ms: 0.0 },
            control_queue: Vec::new(),
            control_pending: BTreeMap::new(),
            out: VecDeque::new(),
            updates: Vec::new(),
        };
        c.out.push_back(Io::Open {
            conn: Conn::Seed,
            url: seed_url,
        });
        c.updates.push(Update::Reset(c.topo.clone()));
        Ok(c)
    }

    pub fn topology(&self) -> Topology {
        self.topo.clone()
    }

    /// The next socket operation, if any.
    pub fn poll_io(&mut self) -> Option<Io> {
        self.out.pop_front()
    }

    /// The updates produced since the last call.
    pub fn poll_updates(&mut self) -> Vec<Update> {
        std::mem::take(&mut self.updates)
    }

    fn at(&self) -> Micros {
        ((self.now_ms * 1000.0) as Micros).saturating_sub(self.base_us)
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn say(&mut self, node: Option<NodeId>, kind: LogKind, text: String, flag: bool) {
        let at = self.at();
        self.updates.push(Update::Say {
            at,
            node,
            kind,
            text,
            flag,
        });
    }

    /// A socket event, at page wall clock `now_ms`.
    pub fn handle_sock(&mut self, conn: Conn, event: SockEvent, now_ms: f64) {
        self.now_ms = self.now_ms.max(now_ms);
        match (conn, event) {
            (Conn::Seed, SockEvent::Open) => {
                let id = self.id();
                self.seed_inspect = Some(id);
                self.out.push_back(Io::Send {
                    conn,
                    // Only the members and the ring are wanted from it.
                    text: inspect_request_json(id, &DataPage::first(1)),
                });
            }
            (Conn::Seed, SockEvent::Text(t)) => self.handle_seed_text(&t),
            (Conn::Seed, SockEvent::Closed(why)) => {
                if self.seed == ConnState::Open {
                    return; // closed by the page once the members were known
                }
                self.seed = ConnState::Closed {
                    retry_at_ms: self.now_ms + RETRY_MS,
                };
                self.seed_failures += 1;
                if self.seed_failures == 1 {
                    self.updates.push(Update::Notice(format!(
                        "cannot reach {}: {why}. Is the cluster running (cargo xtask demo, or ringside cluster up)? Retrying every second.",
                        self.seed_url
                    )));
                }
            }
            (Conn::Node(n), SockEvent::Open) => {
                let (sub, ins) = (self.id(), self.id());
                let Some(m) = self.members.get_mut(&n) else {
                    return;
                };
                m.conn = ConnState::Open;
                m.inspect_id = Some(ins);
                m.next_inspect_ms = self.now_ms + INSPECT_EVERY_MS;
                self.out.push_back(Io::Send {
                    conn,
                    text: subscribe_request_json(sub),
                });
                self.out.push_back(Io::Send {
                    conn,
                    text: inspect_request_json(ins, &DataPage::first(SHOWN_KEYS)),
                });
            }
            (Conn::Node(n), SockEvent::Text(t)) => self.handle_node_text(n, &t),
            (Conn::Node(n), SockEvent::Closed(why)) => self.node_closed(n, &why),
            (Conn::Control, SockEvent::Open) => {
                self.control = ConnState::Open;
                for text in std::mem::take(&mut self.control_queue) {
                    self.out.push_back(Io::Send { conn, text });
                }
            }
            (Conn::Control, SockEvent::Text(t)) => self.handle_control_text(&t),
            (Conn::Control, SockEvent::Closed(why)) => {
                self.control = ConnState::Closed {
                    retry_at_ms: self.now_ms,
                };
                self.control_queue.clear();
                if !self.control_pending.is_empty() {
                    self.control_pending.clear();
                    self.updates.push(Update::Notice(format!(
                        "the control endpoint closed the connection: {why} (is the cluster's supervisor running?)"
                    )));
                }
            }
        }
    }

    fn handle_seed_text(&mut self, text: &str) {
        let Ok(ServerFrame::Inspect { id, node }) = parse_server_frame(text) else {
            return;
        };
        if Some(id) != self.seed_inspect {
            return;
        }
        self.seed = ConnState::Open;
        self.out.push_back(Io::Close { conn: Conn::Seed });
        self.learn(&node);
    }

    /// The members and the ring, from one node's `inspect`.
    fn learn(&mut self, node: &InspectNode) {
        let mut addrs: BTreeMap<NodeId, String> = node
            .nodes
            .iter()
            .map(|n| (n.node, n.addr.clone()))
            .collect();
        if addrs.is_empty() {
            addrs.insert(node.id, node.addr.clone());
        }
        // Reach every member with the scheme the person used.
        let scheme = if self.seed_url.starts_with("wss://") {
            "wss"
        } else {
            "ws"
        };
        let nodes: Vec<NodeId> = addrs.keys().copied().collect();
        let partitioner = node
            .partitioner
            .clone()
            .unwrap_or_else(|| Partitioner::ByteOrdered {
                tokens: node
                    .ring
                    .iter()
                    .map(|r| ringside_core::ring::NodeToken {
                        node: r.node,
                        token: r.token,
                    })
                    .collect(),
            });
        // Short: it shares the clock's row with the request form. The
        // header names the address, and the crash buttons say why they
        // are off.
        let control = if self.link.control_off().is_none() {
            ""
        } else {
            ", watched (no control token)"
        };
        self.topo = Topology {
            nodes: nodes.clone(),
            rf: node.rf.max(1),
            partitioner,
            source: format!("{} real nodes, RF {}{control}", nodes.len(), node.rf.max(1)),
            failure_timeout_ms: 1_000,
            mode: self.topo.mode.clone(),
        };
        self.updates.push(Update::Reset(self.topo.clone()));
        self.members.clear();
        for (id, addr) in addrs {
            let url = format!("{scheme}://{addr}/client");
            let mut m = Member::new(url.clone());
            m.conn = ConnState::Connecting;
            self.members.insert(id, m);
            self.out.push_back(Io::Open {
                conn: Conn::Node(id),
                url,
            });
        }
        let text = format!(
            "connected to the live cluster through {}: {} nodes, replication factor {}",
            self.seed_url,
            nodes.len(),
            node.rf
        );
        self.say(None, LogKind::Fault, text, false);
    }

    fn handle_node_text(&mut self, n: NodeId, text: &str) {
        let now = self.now_ms;
        let item = match parse_server_frame(text) {
            Ok(ServerFrame::Event(e)) => Item::Event(e),
            Ok(ServerFrame::Inspect { id, node }) => {
                let Some(m) = self.members.get_mut(&n) else {
                    return;
                };
                if m.inspect_id != Some(id) {
                    return;
                }
                m.inspect_id = None;
                m.next_inspect_ms = now + INSPECT_EVERY_MS;
                Item::Inspect(node)
            }
            Ok(ServerFrame::Reply {
                id: Some(id),
                reply,
            }) if self.pending.contains_key(&id) => Item::Reply { id, reply },
            // A write's plain `{"id": N, "ok": true}`.
            Ok(ServerFrame::Ok { id }) if self.pending.contains_key(&id) => Item::Reply {
                id,
                reply: Reply::Written { ts: 0 },
            },
            Ok(ServerFrame::Reply {
                reply: Reply::Error { kind, message },
                ..
            }) => {
                self.updates.push(Update::Notice(format!(
                    "node {n} refused a request of the page: {} {message}",
                    kind.name()
                )));
                return;
            }
            Ok(_) => return,
            Err(e) => {
                let text = format!("node {n} sent a frame the page cannot read: {e}");
                self.say(Some(n), LogKind::Fault, text, true);
                return;
            }
        };
        if let Some(m) = self.members.get_mut(&n) {
            m.queue.push_back((now, item));
        }
    }

    fn node_closed(&mut self, n: NodeId, why: &str) {
        self.release(Some(n));
        let retry = self.now_ms + RETRY_MS;
        let Some(m) = self.members.get_mut(&n) else {
            return;
        };
        m.conn = ConnState::Closed { retry_at_ms: retry };
        m.inspect_id = None;
        let was = m.shown_up;
        m.shown_up = Some(false);
        let asked = m.asked.take();
        let snapshot = NodeSnapshot {
            id: n,
            up: false,
            data: None,
            hints: None,
            peers: None,
            log_tail: None,
            log_len: None,
            skew_us: 0,
        };
        if was != Some(false) {
            self.updates.push(Update::Snapshot(snapshot));
            let text = match (was, asked) {
                (None, _) => format!("node {n} does not answer at {}: down", m.url),
                (_, Some(NodeControl::Kill)) => format!(
                    "node {n} is gone: the supervisor killed it (SIGKILL), its memory is lost; its commit log is on disk"
                ),
                (_, Some(_)) => format!("node {n} stopped (SIGTERM) and closed its connections"),
                _ => format!("node {n} is gone: its connection closed ({why})"),
            };
            self.say(Some(n), LogKind::Fault, text, true);
        }
        let lost: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.node == n)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            if let Some(p) = self.pending.remove(&id) {
                let at = self.at();
                self.updates.push(trace_sim(
                    at,
                    ClusterEvent::ClientAnswered {
                        client: p.client,
                        node: n,
                        outcome: Outcome::NoReply {
                            reason: format!("the connection to node {n} closed before it answered"),
                        },
                    },
                ));
            }
        }
    }

    fn handle_control_text(&mut self, text: &str) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        let id = v.get("id").and_then(|i| i.as_u64());
        let Some((op, node)) = id.and_then(|id| self.control_pending.remove(&id)) else {
            if let Some(m) = v.pointer("/error/message").and_then(|m| m.as_str()) {
                self.updates
                    .push(Update::Notice(format!("control endpoint: {m}")));
            }
            return;
        };
        if v.get("ok").and_then(|o| o.as_bool()) == Some(true) {
            let pid = v
                .get("pid")
                .and_then(|p| p.as_u64())
                .map(|p| format!(" (pid {p})"))
                .unwrap_or_default();
            let text = match op {
                NodeControl::Kill => {
                    format!("the supervisor killed node {node}{pid} with SIGKILL: a crash")
                }
                NodeControl::Stop => {
                    format!("the supervisor stopped node {node}{pid} with SIGTERM")
                }
                NodeControl::Restart => {
                    format!("the supervisor restarted node {node}{pid}; it serves again")
                }
            };
            self.say(Some(node), LogKind::Fault, text, op != NodeControl::Restart);
            if op == NodeControl::Restart {
                // Reconnect now rather than at the next retry.
                let now = self.now_ms;
                if let Some(m) = self.members.get_mut(&node) {
                    if let ConnState::Closed { retry_at_ms } = &mut m.conn {
                        *retry_at_ms = now;
                    }
                }
            }
        } else {
            if let Some(m) = self.members.get_mut(&node) {
                m.asked = None;
            }
            let msg = v
                .pointer("/error/message")
                .and_then(|m| m.as_str())
                .unwrap_or("refused");
            self.updates
                .push(Update::Notice(format!("{} node {node}: {msg}", op.name())));
        }
    }

    /// Moves on to page wall clock `now_ms`: reconnects, polls, releases
    /// held events, and draws the wires.
    pub fn tick(&mut self, now_ms: f64) {
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        if let ConnState::Closed { retry_at_ms } = self.seed {
            if retry_at_ms <= now {
                self.seed = ConnState::Connecting;
                self.out.push_back(Io::Open {
                    conn: Conn::Seed,
                    url: self.seed_url.clone(),
                });
            }
        }
        let mut sends = Vec::new();
        for (id, m) in self.members.iter_mut() {
            match m.conn {
                ConnState::Closed { retry_at_ms } if retry_at_ms <= now => {
                    m.conn = ConnState::Connecting;
                    self.out.push_back(Io::Open {
                        conn: Conn::Node(*id),
                        url: m.url.clone(),
                    });
                }
                ConnState::Open if m.inspect_id.is_none() && m.next_inspect_ms <= now => {
                    sends.push(*id);
                }
                _ => {}
            }
        }
        for n in sends {
            let id = self.id();
            if let Some(m) = self.members.get_mut(&n) {
                m.inspect_id = Some(id);
                // An answer lost with a closing socket must not stop polling.
                m.next_inspect_ms = now + 10.0 * INSPECT_EVERY_MS;
            }
            self.out.push_back(Io::Send {
                conn: Conn::Node(n),
                text: inspect_request_json(id, &DataPage::first(SHOWN_KEYS)),
            });
        }
        // Polls whose answers never came (a socket closed in between).
        for m in self.members.values_mut() {
            if m.inspect_id.is_some() && m.next_inspect_ms <= now && m.conn == ConnState::Open {
                m.inspect_id = None;
            }
        }
        self.release(None);
        let at = self.at();
        self.wires.retain(|w| w.arrive_at > at);
        if self.sent.len() > SENT_CAP {
            let cut = self.sent.len() - SENT_CAP;
            let old: Vec<MsgId> = self.sent.keys().take(cut).copied().collect();
            for k in old {
                self.sent.remove(&k);
            }
        }
        self.updates.push(Update::Frame {
            now_us: at,
            wires: self.wires.clone(),
        });
    }
}

fn trace_sim(at: Micros, event: ClusterEvent) -> Update {
    Update::Trace(TraceEntry {
        at,
        what: TraceWhat::Sim { event },
    })
}
