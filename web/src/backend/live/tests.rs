//! The live backend's logic driven by frames made from a simulated run.

use super::link::{client_url, control_url};
use super::machine::{HOLD_MS, INSPECT_EVERY_MS, RETRY_MS, SHOWN_KEYS};
use super::*;
use crate::state::{ClusterView, Mode};
use ringside_core::io::EventKind;
use ringside_core::protocol::control::NodeControl;
use ringside_core::protocol::NodeAddr;
use ringside_core::protocol::{DataPage, InspectNode};
use ringside_core::sim::{put, Sim, SimConfig};
use ringside_core::Consistency;
use ringside_core::{ClientRef, Key, Partitioner};
use ringside_core::{TraceEntry, TraceWhat};
use std::collections::BTreeMap;

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
    let mut i = InspectNode::of(sim.node(id).unwrap(), &DataPage::default());
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
    /// Node `id` answers the page's next two inspects with `i`.
    fn answer_inspects(&mut self, id: NodeId, i: &InspectNode) {
        for _ in 0..2 {
            self.tick(2.0 * INSPECT_EVERY_MS);
            self.io();
            let req = self.last_id(Conn::Node(id), "inspect");
            let text = ringside_core::protocol::inspect_json(req, i);
            self.sock(Conn::Node(id), SockEvent::Text(text));
            self.tick(1.0);
        }
    }

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
    let u = h.core.control(NodeControl::Kill, 3).unwrap();
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
    let e = h.core.control(NodeControl::Kill, 1).unwrap_err();
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

/// The page asks each node for a page of its keys, not all of them, and
/// says so when a node holds more than it shows.
#[test]
fn a_node_with_more_keys_than_the_page_shows_is_named() {
    let mut sim = Sim::new(SimConfig::classic(4));
    for k in 0..5u8 {
        sim.submit(0, put(k, "v", Consistency::All));
    }
    sim.run_for(1_000_000);
    let mut h = Harness::new(LiveLink {
        addr: "127.0.0.1:9000".into(),
        ..LiveLink::default()
    });
    h.connect(&sim);
    let asked = h
        .sent
        .iter()
        .filter(|(c, t)| *c == Conn::Node(1) && t.contains("\"op\":\"inspect\""))
        .count();
    assert!(asked > 0);
    assert!(h
        .sent
        .iter()
        .filter(|(c, _)| matches!(c, Conn::Node(_)))
        .filter(|(_, t)| t.contains("\"op\":\"inspect\""))
        .all(|(_, t)| t.contains(&format!("\"limit\":{SHOWN_KEYS}"))));
    assert_eq!(h.view.notice, None, "every key shown: nothing to say");

    // Node 1 answers with a page of two of its keys.
    let mut i = inspect_of(&sim, 1);
    assert!(i.data_total >= 5, "{i:?}");
    i.data.truncate(2);
    h.answer_inspects(1, &i);
    let said = h.view.notice.clone().unwrap_or_default();
    assert_eq!(
        said,
        format!(
            "node 1 holds {} keys; the page shows the first 2 of them",
            i.data_total
        )
    );
}

/// A node holding more hints than its answer lists (`hints_total`) is
/// named once, as a node with more keys than the page shows is.
#[test]
fn a_node_with_more_hints_than_its_answer_lists_is_named() {
    let mut sim = Sim::new(SimConfig::classic(4));
    // Node 1 cut off from node 3: once it takes 3 for down, its writes
    // for 3 become hints.
    sim.apply(ringside_core::sim::Action::Cut { a: 1, b: 3 });
    sim.run_for(2_000_000);
    for k in 0..=255u8 {
        sim.submit(1, put(k, "v", Consistency::One));
    }
    sim.run_for(1_000_000);
    let mut h = Harness::new(LiveLink {
        addr: "127.0.0.1:9000".into(),
        ..LiveLink::default()
    });
    h.connect(&sim);
    let mut i = inspect_of(&sim, 1);
    assert!(i.hints.len() >= 3, "{} hints", i.hints.len());
    assert_eq!(i.hints_total, i.hints.len());
    i.hints.truncate(2);
    h.answer_inspects(1, &i);
    let said = h.view.notice.clone().unwrap_or_default();
    assert_eq!(
        said,
        format!(
            "node 1 holds {} hints; the page shows the first 2 of them",
            i.hints_total
        )
    );
}
