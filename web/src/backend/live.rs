//! A live native cluster, over WebSocket: the same panels as the
//! simulator, fed by real nodes.
//!
//! The page connects to one node's `/client` (the address in the link,
//! `#live=ws://127.0.0.1:9000`), asks it `inspect` to learn the ring and
//! every member's address, then opens `/client` to every node, sends
//! `subscribe`, and polls `inspect` twice a second. Events become the
//! same [`Update`]s the simulator produces; `inspect` replies become
//! [`NodeSnapshot`]s. A node whose connection closes is shown down; the
//! page retries it every second and shows it up (or restarted, when its
//! generation changed) once it answers again.
//!
//! Clocks: each node stamps its events with its own wall clock. Events are
//! released to the view per node in `seq` order (the order its socket
//! delivers them), and a `message_received` waits (briefly) until the
//! matching `message_sent` from the other node has been released, matched
//! by message id. Each event's time on screen is a hybrid logical clock:
//! the node's timestamp, but never before the node's previous event nor
//! before the send it receives. So a node whose clock is behind cannot
//! make an arrow point backwards in a sequence diagram.
//!
//! Crash, restart and stop go to the supervisor's control endpoint
//! (`ringside cluster up` serves it) with the token from the link's
//! fragment; without one they are refused with a reason, and observing
//! and requests still work.
//!
//! The logic is [`LiveCore`], sans-IO (quinn-proto's habit): it is handed
//! socket events with the time and says which sockets to open and what to
//! send, so it is tested natively. [`LiveBackend`] joins it to a
//! [`Transport`]: browser WebSockets in the page.

use super::Backend;
use crate::state::{
    intern_kind, HintRow, LogKind, LogRow, Mode, NodeSnapshot, Topology, Update, Wire, LOG_TAIL,
};
use ringside_core::check::Outcome;
use ringside_core::io::{Event, EventKind};
use ringside_core::protocol::{parse_server_frame, request_json, InspectNode, ServerFrame};
use ringside_core::sim::{Action, SimEvent, TraceEntry, TraceWhat};
use ringside_core::{ClientRef, Key, Micros, MsgId, NodeId, Partitioner, Reply, Request, Version};
use std::collections::{BTreeMap, VecDeque};

/// How often each connected node is asked `inspect` (wall clock).
pub const INSPECT_EVERY_MS: f64 = 500.0;
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

/// What the link asks for: `#live=ws://127.0.0.1:9000&token=...&control=ws://127.0.0.1:PORT`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LiveLink {
    /// Any node's address as given (`ws://host:port`, `host:port`, ...).
    pub addr: String,
    /// The control token. Kept in memory only: never in a share link,
    /// never logged.
    pub token: Option<String>,
    /// The control endpoint (`ws://host:port` or `.../control`).
    pub control: Option<String>,
}

impl LiveLink {
    /// Why the crash / restart / stop buttons are off, or `None`.
    pub fn control_off(&self) -> Option<String> {
        match (&self.token, &self.control) {
            (Some(_), Some(_)) => None,
            (None, _) => Some(
                "crash, restart and stop need the cluster's control token: open the page with \
                 the link `cargo xtask demo` printed (its #token=... part). Watching and requests work without it."
                    .into(),
            ),
            (Some(_), None) => Some(
                "crash, restart and stop need the control endpoint's address in the link \
                 (#control=ws://127.0.0.1:PORT, from DATA_DIR/control.addr)"
                    .into(),
            ),
        }
    }
}

/// `ws://host:port/client` from what a person typed: `ws://host:port`,
/// `ws://host:port/client`, `host:port`, or `wss://...`.
pub fn client_url(addr: &str) -> Result<String, String> {
    ws_url(addr, "/client")
}

/// `ws://host:port/control` likewise.
pub fn control_url(addr: &str) -> Result<String, String> {
    ws_url(addr, "/control")
}

fn ws_url(addr: &str, path: &str) -> Result<String, String> {
    let a = addr.trim();
    let (scheme, rest) = match a.split_once("://") {
        Some(("ws", r)) => ("ws", r),
        Some(("wss", r)) => ("wss", r),
        Some((s, _)) => {
            return Err(format!(
                "{a:?}: a node's address is ws://HOST:PORT, not {s}://"
            ))
        }
        None => ("ws", a),
    };
    let host = rest.split('/').next().unwrap_or("");
    let Some((h, port)) = host.rsplit_once(':') else {
        return Err(format!(
            "{a:?}: give the port too, as in ws://127.0.0.1:9000"
        ));
    };
    if h.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("{a:?}: not HOST:PORT (as in ws://127.0.0.1:9000)"));
    }
    Ok(format!("{scheme}://{host}{path}"))
}

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
    log_tail: VecDeque<LogRow>,
    log_len: usize,
    /// Hints as its events said, so `inspect`'s hints keep their ids.
    hints: BTreeMap<u64, HintRow>,
    /// The page asked the supervisor to kill or stop it.
    asked: Option<&'static str>,
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
            log_tail: VecDeque::new(),
            log_len: 0,
            hints: BTreeMap::new(),
            asked: None,
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
    control_pending: BTreeMap<u64, (&'static str, NodeId)>,
    synthetic_hint: u64,
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
            synthetic_hint: 1 << 60,
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
                    text: format!(r#"{{"id":{id},"op":"inspect"}}"#),
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
                    text: format!(r#"{{"id":{sub},"op":"subscribe"}}"#),
                });
                self.out.push_back(Io::Send {
                    conn,
                    text: format!(r#"{{"id":{ins},"op":"inspect"}}"#),
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
        let control = if self.link.control_off().is_none() {
            "crash/restart/stop through the supervisor"
        } else {
            "no control token: watching and requests only"
        };
        self.topo = Topology {
            nodes: nodes.clone(),
            rf: node.rf.max(1),
            partitioner,
            source: format!(
                "live cluster: {} nodes, RF {}, via {} ({control})",
                nodes.len(),
                node.rf.max(1),
                self.link.addr
            ),
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
            log_tail: m.log_tail.iter().cloned().collect(),
            log_len: m.log_len,
            skew_us: 0,
        };
        if was != Some(false) {
            self.updates.push(Update::Snapshot(snapshot));
            let text = match (was, asked) {
                (None, _) => format!("node {n} does not answer at {}: down", m.url),
                (_, Some("kill")) => format!(
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
                    SimEvent::ClientAnswered {
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
                "kill" => format!("the supervisor killed node {node}{pid} with SIGKILL: a crash"),
                "stop" => format!("the supervisor stopped node {node}{pid} with SIGTERM"),
                _ => format!("the supervisor restarted node {node}{pid}; it serves again"),
            };
            self.say(Some(node), LogKind::Fault, text, op != "restart");
            if op == "restart" {
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
                .push(Update::Notice(format!("{op} node {node}: {msg}")));
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
                text: format!(r#"{{"id":{id},"op":"inspect"}}"#),
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

    /// Releases held items in order: per node by arrival (= `seq`), a
    /// receipt only after its send. Only when nothing can go in that
    /// order does the receipt held longest past [`HOLD_MS`] go first (its
    /// send predates the page, or its sender's frame was lost); `flush`
    /// releases everything that node holds.
    fn release(&mut self, flush: Option<NodeId>) {
        let now = self.now_ms;
        loop {
            let mut progress = true;
            while progress {
                progress = false;
                let ids: Vec<NodeId> = self.members.keys().copied().collect();
                for id in ids {
                    while self.head_ready(id) {
                        let Some((_, item)) =
                            self.members.get_mut(&id).and_then(|m| m.queue.pop_front())
                        else {
                            break;
                        };
                        self.apply_item(id, item);
                        progress = true;
                    }
                }
            }
            // Stuck: the receipt waiting longest goes, if it waited enough.
            let overdue = self
                .members
                .iter()
                .filter_map(|(id, m)| m.queue.front().map(|(t, _)| (*id, *t, m.queue.len())))
                .filter(|(id, t, len)| {
                    flush == Some(*id) || now - t >= HOLD_MS || *len >= QUEUE_CAP
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((id, _, _)) = overdue else {
                break;
            };
            if let Some((_, item)) = self.members.get_mut(&id).and_then(|m| m.queue.pop_front()) {
                self.apply_item(id, item);
            }
        }
    }

    /// True when node `id`'s oldest held item can be shown now: anything
    /// but a receipt whose send has not been shown while its sender is
    /// followed.
    fn head_ready(&self, id: NodeId) -> bool {
        let Some((_, item)) = self.members.get(&id).and_then(|m| m.queue.front()) else {
            return false;
        };
        match item {
            Item::Event(Event {
                kind: EventKind::MessageReceived { msg, from, .. },
                ..
            }) => {
                self.sent.contains_key(msg)
                    || !self
                        .members
                        .get(from)
                        .is_some_and(|s| s.conn == ConnState::Open)
            }
            _ => true,
        }
    }

    fn apply_item(&mut self, n: NodeId, item: Item) {
        match item {
            Item::Event(e) => self.apply_event(n, e),
            Item::Inspect(node) => self.apply_inspect(n, *node),
            Item::Reply { id, reply } => {
                let Some(p) = self.pending.remove(&id) else {
                    return;
                };
                let last = self.members.get(&n).map_or(0, |m| m.last_at);
                let at = self.at().max(last + 1);
                let outcome = Outcome::from(reply);
                self.updates.push(trace_sim(
                    at,
                    SimEvent::ClientAnswered {
                        client: p.client,
                        node: n,
                        outcome,
                    },
                ));
            }
        }
    }

    fn apply_event(&mut self, n: NodeId, mut e: Event) {
        let base = self.base_us;
        let page_at = self.at();
        let Some(m) = self.members.get_mut(&n) else {
            return;
        };
        let mut at = e.ts.saturating_sub(base).max(m.last_at + 1);
        match &mut e.kind {
            EventKind::MessageReceived { msg, .. } => {
                if let Some(sent) = self.sent.remove(msg) {
                    at = at.max(sent + 1);
                }
            }
            EventKind::MessageSent {
                msg,
                to,
                msg_kind,
                key,
                ..
            } => {
                self.sent.insert(*msg, at);
                self.wires.push(Wire {
                    msg: *msg,
                    from: n,
                    to: *to,
                    kind: intern_kind(msg_kind),
                    key: key.clone(),
                    sent_at: page_at,
                    arrive_at: page_at + WIRE_US,
                    doomed: false,
                });
            }
            EventKind::RecordPersisted { lsn, record } => {
                m.log_tail.push_back(LogRow {
                    lsn: *lsn,
                    record: record.clone(),
                    synced: true,
                });
                while m.log_tail.len() > LOG_TAIL {
                    m.log_tail.pop_front();
                }
                m.log_len = m.log_len.max(*lsn as usize);
            }
            EventKind::HintStored {
                hint, target, key, ..
            } => {
                m.hints.insert(
                    *hint,
                    HintRow {
                        id: *hint,
                        target: *target,
                        key: key.clone(),
                    },
                );
            }
            EventKind::HintDelivered { hint, .. } => {
                m.hints.remove(hint);
            }
            EventKind::RequestReceived { client, .. }
            | EventKind::RequestAnswered { client, .. } => {
                if let Some(p) = self.pending.get(&client.req).filter(|p| p.node == n) {
                    *client = p.client;
                    at = at.max(p.sent_at + 1);
                }
            }
            EventKind::Started { gen, .. } => m.generation = Some(*gen),
            _ => {}
        }
        m.last_at = at;
        self.updates.push(Update::Trace(TraceEntry {
            at,
            what: TraceWhat::Node { event: e },
        }));
    }

    fn apply_inspect(&mut self, n: NodeId, node: InspectNode) {
        let page_at = self.at();
        let Some(m) = self.members.get_mut(&n) else {
            return;
        };
        let restarted = m.generation.is_some_and(|g| g != node.generation);
        let came_back = m.shown_up == Some(false);
        m.generation = Some(node.generation);
        m.log_len = node.log.records as usize;
        if restarted {
            m.hints.clear();
            // Its generation is its start time, by its own clock.
            let started = node.generation.saturating_sub(self.base_us);
            let at = started.min(page_at).max(m.last_at + 1);
            m.last_at = at;
            self.updates.push(trace_sim(
                at,
                SimEvent::Restarted {
                    node: n,
                    replayed: node.log.records as usize,
                },
            ));
        } else if came_back {
            let text = format!("node {n} answers again");
            let at = page_at.max(m.last_at + 1);
            self.updates.push(Update::Say {
                at,
                node: Some(n),
                kind: LogKind::Fault,
                text,
                flag: false,
            });
        }
        m.shown_up = Some(true);
        // Keep the ids the events gave each hint; make up the others.
        let mut known: Vec<HintRow> = m.hints.values().cloned().collect();
        let mut rows = Vec::with_capacity(node.hints.len());
        for h in &node.hints {
            let id = match known
                .iter()
                .position(|k| k.target == h.target && k.key == h.key)
            {
                Some(i) => known.swap_remove(i).id,
                None => {
                    self.synthetic_hint += 1;
                    self.synthetic_hint
                }
            };
            rows.push(HintRow {
                id,
                target: h.target,
                key: h.key.clone(),
            });
        }
        m.hints = rows.iter().map(|h| (h.id, h.clone())).collect();
        let data: BTreeMap<Key, Version> = node
            .data
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    Version {
                        ts: kv.ts,
                        value: kv.value.clone(),
                    },
                )
            })
            .collect();
        let peers = node
            .peers
            .iter()
            .map(|p| (p.node, p.state == "up"))
            .collect();
        // The node's own log tail (records written before the page
        // connected included), when it sends one.
        if !node.log_tail.is_empty() {
            m.log_tail = node
                .log_tail
                .iter()
                .map(|e| LogRow {
                    lsn: e.lsn,
                    record: e.record.clone(),
                    synced: e.synced,
                })
                .collect();
            while m.log_tail.len() > LOG_TAIL {
                m.log_tail.pop_front();
            }
        }
        m.log_len = m.log_len.max(node.log.records as usize);
        self.updates.push(Update::Snapshot(NodeSnapshot {
            id: n,
            up: true,
            data: Some(std::rc::Rc::new(data)),
            hints: Some(rows),
            peers: Some(peers),
            log_tail: m.log_tail.iter().cloned().collect(),
            log_len: m.log_len,
            skew_us: 0,
        }));
    }

    /// A data request through `node` as coordinator.
    pub fn submit(&mut self, node: NodeId, request: Request) -> Result<Vec<Update>, String> {
        let Some(m) = self.members.get(&node) else {
            return Err(if self.members.is_empty() {
                "not connected yet: the page is still reaching the cluster".into()
            } else {
                format!(
                    "node {node} is not in this cluster (nodes: {})",
                    crate::state::list(&self.members.keys().copied().collect::<Vec<_>>())
                )
            });
        };
        if m.conn != ConnState::Open {
            return Err(format!(
                "node {node} is down: the page has no connection to it (choose another coordinator)"
            ));
        }
        let id = self.id();
        let client = ClientRef {
            conn: PAGE_CONN,
            req: id,
        };
        let at = self.at();
        self.pending.insert(
            id,
            Pending {
                node,
                client,
                sent_at: at,
            },
        );
        self.out.push_back(Io::Send {
            conn: Conn::Node(node),
            text: request_json(id, &request),
        });
        Ok(vec![trace_sim(
            at,
            SimEvent::ClientSent {
                client,
                node,
                request,
            },
        )])
    }

    /// Asks the supervisor to `kill`, `restart` or `stop` a node.
    pub fn control(&mut self, op: &'static str, node: NodeId) -> Result<Vec<Update>, String> {
        if let Some(why) = self.link.control_off() {
            return Err(why);
        }
        if !self.members.contains_key(&node) {
            return Err(format!("node {node} is not in this cluster"));
        }
        let (Some(token), Some(addr)) = (self.link.token.clone(), self.link.control.clone()) else {
            return Err("no control endpoint".into());
        };
        let url = control_url(&addr)?;
        let id = self.id();
        let text =
            serde_json::json!({"id": id, "op": op, "node": node, "token": token}).to_string();
        self.control_pending.insert(id, (op, node));
        if op != "restart" {
            if let Some(m) = self.members.get_mut(&node) {
                m.asked = Some(op);
            }
        }
        match self.control {
            ConnState::Open => self.out.push_back(Io::Send {
                conn: Conn::Control,
                text,
            }),
            ConnState::Connecting => self.control_queue.push(text),
            ConnState::Closed { .. } => {
                self.control = ConnState::Connecting;
                self.control_queue.push(text);
                self.out.push_back(Io::Open {
                    conn: Conn::Control,
                    url,
                });
            }
        }
        let what = match op {
            "kill" => "crash (SIGKILL)",
            "stop" => "stop (SIGTERM)",
            _ => "restart",
        };
        let at = self.at();
        Ok(vec![Update::Say {
            at,
            node: Some(node),
            kind: LogKind::Fault,
            text: format!("the page asks the supervisor to {what} node {node}"),
            flag: false,
        }])
    }
}

fn trace_sim(at: Micros, event: SimEvent) -> Update {
    Update::Trace(TraceEntry {
        at,
        what: TraceWhat::Sim { event },
    })
}

/// Sockets, as the page (or a test) has them.
pub trait Transport {
    fn open(&mut self, conn: Conn, url: &str);
    fn send(&mut self, conn: Conn, text: &str);
    fn close(&mut self, conn: Conn);
    /// What the sockets did since the last call, in order.
    fn drain(&mut self) -> Vec<(Conn, SockEvent)>;
    /// Wall clock, milliseconds since the epoch.
    fn now_ms(&self) -> f64;
}

/// A live cluster as a [`Backend`].
pub struct LiveBackend {
    core: LiveCore,
    io: Box<dyn Transport>,
}

impl LiveBackend {
    pub fn new(
        link: LiveLink,
        io: Box<dyn Transport>,
    ) -> Result<(LiveBackend, Vec<Update>), String> {
        let core = LiveCore::new(link, io.now_ms())?;
        let mut b = LiveBackend { core, io };
        let u = b.pump();
        Ok((b, u))
    }

    /// Feeds socket events in, carries socket operations out.
    fn pump(&mut self) -> Vec<Update> {
        for (conn, ev) in self.io.drain() {
            let now = self.io.now_ms();
            self.core.handle_sock(conn, ev, now);
        }
        self.core.tick(self.io.now_ms());
        self.flush();
        self.core.poll_updates()
    }

    fn flush(&mut self) {
        while let Some(op) = self.core.poll_io() {
            match op {
                Io::Open { conn, url } => self.io.open(conn, &url),
                Io::Send { conn, text } => self.io.send(conn, &text),
                Io::Close { conn } => self.io.close(conn),
            }
        }
    }

    fn done(&mut self, r: Result<Vec<Update>, String>) -> Result<Vec<Update>, String> {
        self.flush();
        r
    }
}

impl Backend for LiveBackend {
    fn topology(&self) -> Topology {
        self.core.topology()
    }

    fn advance(&mut self, _by_us: Micros) -> Vec<Update> {
        self.pump()
    }

    fn step(&mut self) -> Vec<Update> {
        self.pump()
    }

    fn act(&mut self, action: Action) -> Result<Vec<Update>, String> {
        let r = match action {
            Action::Submit { node, request } => self.core.submit(node, request),
            Action::Crash { node } => self.core.control("kill", node),
            Action::Restart { node } => self.core.control("restart", node),
            other => Err(format!(
                "{}: only the simulation can do that; on a live cluster the page can send requests, and crash, restart and stop nodes",
                action_name(&other)
            )),
        };
        self.done(r)
    }

    fn stop(&mut self, node: NodeId) -> Result<Vec<Update>, String> {
        let r = self.core.control("stop", node);
        self.done(r)
    }

    fn script(&self) -> Option<&[(Micros, Action)]> {
        None
    }
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Cut { .. } | Action::Heal { .. } | Action::HealAll => "cutting and healing links",
        Action::Partition { .. } => "a partition",
        Action::SetLatency { .. } | Action::SetDropProbability { .. } => "changing the network",
        Action::SetSkew { .. } => "clock skew",
        _ => "this action",
    }
}

/// The page's sockets: browser WebSockets in a browser; natively (unit
/// tests of the model) every socket fails to open.
pub fn page_transport() -> Box<dyn Transport> {
    #[cfg(target_arch = "wasm32")]
    {
        Box::new(ws::WsTransport::default())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        Box::new(NoSockets::default())
    }
}

/// Outside a browser: sockets never open.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Default)]
struct NoSockets {
    failed: Vec<(Conn, SockEvent)>,
}

#[cfg(not(target_arch = "wasm32"))]
impl Transport for NoSockets {
    fn open(&mut self, conn: Conn, _url: &str) {
        self.failed.push((
            conn,
            SockEvent::Closed("no WebSocket outside a browser".into()),
        ));
    }
    fn send(&mut self, _conn: Conn, _text: &str) {}
    fn close(&mut self, _conn: Conn) {}
    fn drain(&mut self) -> Vec<(Conn, SockEvent)> {
        std::mem::take(&mut self.failed)
    }
    fn now_ms(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Browser WebSockets.
#[cfg(target_arch = "wasm32")]
pub mod ws {
    use super::{Conn, SockEvent, Transport};
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    type Inbox = Rc<RefCell<Vec<(Conn, u64, SockEvent)>>>;

    struct Sock {
        ws: WebSocket,
        serial: u64,
        _on_open: Closure<dyn FnMut(web_sys::Event)>,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_close: Closure<dyn FnMut(CloseEvent)>,
    }

    impl Sock {
        fn detach(&self) {
            self.ws.set_onopen(None);
            self.ws.set_onmessage(None);
            self.ws.set_onclose(None);
            let _ = self.ws.close();
        }
    }

    /// The page's sockets. Events of a socket that was replaced or closed
    /// by the page are ignored (by serial).
    #[derive(Default)]
    pub struct WsTransport {
        socks: BTreeMap<Conn, Sock>,
        inbox: Inbox,
        serial: u64,
        /// Sockets that closed before opening (an error, a bad address).
        failed: Vec<(Conn, String)>,
    }

    impl Drop for WsTransport {
        fn drop(&mut self) {
            for s in self.socks.values() {
                s.detach();
            }
        }
    }

    impl Transport for WsTransport {
        fn open(&mut self, conn: Conn, url: &str) {
            if let Some(old) = self.socks.remove(&conn) {
                old.detach();
            }
            self.serial += 1;
            let serial = self.serial;
            let ws = match WebSocket::new(url) {
                Ok(ws) => ws,
                Err(e) => {
                    self.failed.push((
                        conn,
                        format!("{url}: {}", e.as_string().unwrap_or_default()),
                    ));
                    return;
                }
            };
            let inbox = self.inbox.clone();
            let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                inbox.borrow_mut().push((conn, serial, SockEvent::Open));
            });
            let inbox = self.inbox.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                if let Some(t) = e.data().as_string() {
                    inbox.borrow_mut().push((conn, serial, SockEvent::Text(t)));
                }
            });
            let inbox = self.inbox.clone();
            let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
                let why = if e.reason().is_empty() {
                    format!("closed (code {})", e.code())
                } else {
                    format!("closed (code {}: {})", e.code(), e.reason())
                };
                inbox
                    .borrow_mut()
                    .push((conn, serial, SockEvent::Closed(why)));
            });
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            self.socks.insert(
                conn,
                Sock {
                    ws,
                    serial,
                    _on_open: on_open,
                    _on_message: on_message,
                    _on_close: on_close,
                },
            );
        }

        fn send(&mut self, conn: Conn, text: &str) {
            if let Some(s) = self.socks.get(&conn) {
                let _ = s.ws.send_with_str(text);
            }
        }

        fn close(&mut self, conn: Conn) {
            if let Some(s) = self.socks.remove(&conn) {
                s.detach();
            }
        }

        fn drain(&mut self) -> Vec<(Conn, SockEvent)> {
            let mut out: Vec<(Conn, SockEvent)> = self
                .failed
                .drain(..)
                .map(|(c, why)| (c, SockEvent::Closed(why)))
                .collect();
            let events = std::mem::take(&mut *self.inbox.borrow_mut());
            for (conn, serial, ev) in events {
                let current = self.socks.get(&conn).is_some_and(|s| s.serial == serial);
                if !current {
                    continue;
                }
                if matches!(ev, SockEvent::Closed(_)) {
                    if let Some(s) = self.socks.remove(&conn) {
                        s.detach();
                    }
                }
                out.push((conn, ev));
            }
            out
        }

        fn now_ms(&self) -> f64 {
            js_sys::Date::now()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ClusterView;
    use ringside_core::protocol::NodeAddr;
    use ringside_core::sim::{put, Sim, SimConfig};
    use ringside_core::Consistency;

    #[test]
    fn addresses_become_client_and_control_urls() {
        assert_eq!(
            client_url("ws://127.0.0.1:9000").unwrap(),
            "ws://127.0.0.1:9000/client"
        );
        assert_eq!(
            client_url("127.0.0.1:9001").unwrap(),
            "ws://127.0.0.1:9001/client"
        );
        assert_eq!(
            client_url("ws://127.0.0.1:9000/client").unwrap(),
            "ws://127.0.0.1:9000/client"
        );
        assert_eq!(
            control_url("ws://127.0.0.1:4000").unwrap(),
            "ws://127.0.0.1:4000/control"
        );
        assert!(client_url("http://x:1").unwrap_err().contains("http"));
        assert!(client_url("ws://127.0.0.1").unwrap_err().contains("port"));
        assert!(LiveLink::default().control_off().unwrap().contains("token"));
    }

    /// Drives a [`LiveCore`] with frames made from a simulated run, as if
    /// from 4 real nodes whose clocks disagree.
    struct Harness {
        core: LiveCore,
        view: ClusterView,
        now_ms: f64,
        sent: Vec<(Conn, String)>,
    }

    const T0_MS: f64 = 1.7e12;

    fn inspect_of(sim: &Sim, id: NodeId) -> InspectNode {
        let mut i = InspectNode::of(sim.node(id).unwrap());
        i.addr = format!("127.0.0.1:{}", 9000 + id);
        i.nodes = sim
            .node_ids()
            .iter()
            .map(|&n| NodeAddr {
                node: n,
                addr: format!("127.0.0.1:{}", 9000 + n),
            })
            .collect();
        i
    }

    impl Harness {
        fn new(link: LiveLink) -> Harness {
            let core = LiveCore::new(link, T0_MS).unwrap();
            Harness {
                core,
                view: ClusterView::new(Topology {
                    nodes: vec![],
                    rf: 1,
                    partitioner: Partitioner::byte_ordered_even(&[]),
                    source: String::new(),
                    failure_timeout_ms: 0,
                    mode: Mode::Simulated,
                }),
                now_ms: T0_MS,
                sent: Vec::new(),
            }
        }

        fn io(&mut self) -> Vec<Io> {
            let mut v = Vec::new();
            while let Some(io) = self.core.poll_io() {
                if let Io::Send { conn, text } = &io {
                    self.sent.push((*conn, text.clone()));
                }
                v.push(io);
            }
            v
        }

        fn sock(&mut self, conn: Conn, ev: SockEvent) {
            self.core.handle_sock(conn, ev, self.now_ms);
        }

        fn tick(&mut self, ms: f64) {
            self.now_ms += ms;
            self.core.tick(self.now_ms);
            let u = self.core.poll_updates();
            self.view.apply_all(u);
        }

        /// The id of the last `op` the page sent on `conn`.
        fn last_id(&self, conn: Conn, op: &str) -> u64 {
            let (_, text) = self
                .sent
                .iter()
                .rev()
                .find(|(c, t)| *c == conn && t.contains(&format!("\"op\":\"{op}\"")))
                .unwrap_or_else(|| panic!("no {op} sent on {conn:?}"));
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            v["id"].as_u64().unwrap()
        }

        /// Connects to the cluster of `sim`, every node answering.
        fn connect(&mut self, sim: &Sim) {
            assert!(matches!(
                self.io()[0],
                Io::Open {
                    conn: Conn::Seed,
                    ..
                }
            ));
            self.sock(Conn::Seed, SockEvent::Open);
            self.io();
            let id = self.last_id(Conn::Seed, "inspect");
            let text = ringside_core::protocol::inspect_json(id, &inspect_of(sim, 0));
            self.sock(Conn::Seed, SockEvent::Text(text));
            let io = self.io();
            let opened: Vec<Conn> = io
                .iter()
                .filter_map(|i| match i {
                    Io::Open { conn, url } => {
                        assert!(url.ends_with("/client"), "{url}");
                        Some(*conn)
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(opened, (0..4).map(Conn::Node).collect::<Vec<_>>());
            for n in 0..4 {
                self.sock(Conn::Node(n), SockEvent::Open);
            }
            self.io();
            for n in 0..4 {
                self.answer_inspect(sim, n);
            }
            self.tick(1.0);
        }

        fn answer_inspect(&mut self, sim: &Sim, n: NodeId) {
            let id = self.last_id(Conn::Node(n), "inspect");
            let text = ringside_core::protocol::inspect_json(id, &inspect_of(sim, n));
            self.sock(Conn::Node(n), SockEvent::Text(text));
        }
    }

    /// The node events of a trace as `{"event": ...}` frames per node,
    /// each node's clock off by `skew_us[node]`.
    fn frames(trace: &[TraceEntry], skew_us: &[i64]) -> BTreeMap<NodeId, Vec<String>> {
        let mut out: BTreeMap<NodeId, Vec<String>> = BTreeMap::new();
        for e in trace {
            if let TraceWhat::Node { event } = &e.what {
                let mut ev = event.clone();
                let wall = (T0_MS * 1000.0) as i64 + e.at as i64 + skew_us[ev.node as usize];
                ev.ts = wall as Micros;
                out.entry(ev.node)
                    .or_default()
                    .push(serde_json::json!({ "event": ev }).to_string());
            }
        }
        out
    }

    #[test]
    fn a_write_through_the_page_shows_on_its_replicas_with_arrows_in_order() {
        let mut sim = Sim::new(SimConfig::classic(3));
        sim.run_for(100_000);
        sim.drain_trace();
        let mut h = Harness::new(LiveLink {
            addr: "ws://127.0.0.1:9000".into(),
            ..LiveLink::default()
        });
        h.connect(&sim);
        assert_eq!(h.view.nodes.len(), 4);
        assert!(h.view.topo.mode.is_live());
        assert_eq!(h.view.replicas(&Key::Int(137)), vec![2, 3, 0]);

        // The page sends the put; the "real" node 0 is the simulator's.
        let u = h
            .core
            .submit(0, put(137, "v", Consistency::Quorum))
            .unwrap();
        h.view.apply_all(u);
        h.io();
        let page_id = h.last_id(Conn::Node(0), "put");
        let client = sim.submit(0, put(137, "v", Consistency::Quorum));
        sim.run_for(300_000);
        let mut trace = sim.drain_trace();
        // The real node would have seen the page's request id.
        for e in &mut trace {
            if let TraceWhat::Node { event } = &mut e.what {
                match &mut event.kind {
                    EventKind::RequestReceived { client: c, .. }
                    | EventKind::RequestAnswered { client: c, .. }
                        if *c == client =>
                    {
                        *c = ClientRef {
                            conn: 7,
                            req: page_id,
                        }
                    }
                    _ => {}
                }
            }
        }
        // Node 2's clock is 80 ms behind, node 3's 50 ms ahead; node 2's
        // frames reach the page first.
        let mut per_node = frames(&trace, &[0, 0, -80_000, 50_000]);
        for n in [2, 3, 1, 0] {
            for f in per_node.remove(&n).unwrap_or_default() {
                h.sock(Conn::Node(n), SockEvent::Text(f));
            }
            h.tick(1.0);
        }
        let reply = format!(r#"{{"id":{page_id},"ok":true,"ts":5}}"#);
        h.sock(Conn::Node(0), SockEvent::Text(reply));
        h.tick(HOLD_MS + 1.0);
        for n in [2, 3, 0] {
            assert!(
                h.view.nodes[&n].data.contains_key(&Key::Int(137)),
                "node {n}"
            );
        }
        let r = &h.view.requests[0];
        assert_eq!(r.outcome.label(), "ok");
        assert_eq!(r.coordinator, 0);
        assert_eq!(
            r.replicas,
            vec![2, 3, 0],
            "RequestReceived matched the page's request"
        );
        assert!(!r.answered.is_empty());
        let msgs = h.view.request_messages(r);
        assert!(msgs.len() >= 4, "writes and acks: {msgs:?}");
        for m in &msgs {
            let rcv = m
                .received_at
                .unwrap_or_else(|| panic!("not matched by id: {m:?}\n{msgs:#?}"));
            assert!(rcv > m.sent_at, "arrow goes down: {m:?}");
        }
        assert!(r.complete_us.unwrap() > msgs.iter().map(|m| m.sent_at).min().unwrap());
        assert!(!h.view.wires.is_empty(), "messages drawn on the ring");
    }

    #[test]
    fn a_closed_node_shows_down_and_comes_back_restarted() {
        let mut sim = Sim::new(SimConfig::classic(4));
        sim.run_for(100_000);
        let mut h = Harness::new(LiveLink {
            addr: "127.0.0.1:9000".into(),
            token: Some("t".into()),
            control: Some("ws://127.0.0.1:4000".into()),
        });
        h.connect(&sim);
        assert_eq!(h.view.node_state(3).class(), "up");
        let u = h.core.control("kill", 3).unwrap();
        h.view.apply_all(u);
        let io = h.io();
        assert!(
            matches!(&io[0], Io::Open { conn: Conn::Control, url } if url == "ws://127.0.0.1:4000/control")
        );
        h.sock(Conn::Control, SockEvent::Open);
        h.io();
        let (_, frame) = h.sent.last().unwrap().clone();
        assert!(frame.contains(r#""op":"kill""#) && frame.contains(r#""token":"t""#));
        h.sock(
            Conn::Node(3),
            SockEvent::Closed("closed (code 1006)".into()),
        );
        h.tick(1.0);
        assert_eq!(h.view.node_state(3).class(), "down");
        assert!(h.view.log.iter().any(|l| l.text.contains("SIGKILL")));
        assert!(h.core.submit(3, put(1, "x", Consistency::One)).is_err());
        // Retried after a second; the node answers with a new generation.
        h.tick(RETRY_MS);
        assert!(h.io().iter().any(|i| matches!(
            i,
            Io::Open {
                conn: Conn::Node(3),
                ..
            }
        )));
        sim.crash(3);
        sim.restart(3);
        sim.run_for(10_000);
        h.sock(Conn::Node(3), SockEvent::Open);
        h.io();
        h.answer_inspect(&sim, 3);
        h.tick(1.0);
        assert_ne!(h.view.node_state(3).class(), "down");
        assert!(h.view.log.iter().any(|l| l.text.contains("restarts")));
    }

    #[test]
    fn without_a_token_control_is_refused_with_the_reason() {
        let sim = Sim::new(SimConfig::classic(5));
        let mut h = Harness::new(LiveLink {
            addr: "127.0.0.1:9000".into(),
            ..LiveLink::default()
        });
        h.connect(&sim);
        let e = h.core.control("kill", 1).unwrap_err();
        assert!(e.contains("token"), "{e}");
        assert!(h.io().is_empty(), "nothing sent");
        assert!(matches!(
            &h.view.topo.mode,
            Mode::Live {
                control_off: Some(_),
                ..
            }
        ));
    }
}
