//! The reducer and view-model logic, natively: a simulated cluster feeds a
//! `ClusterView` exactly as in the page, and the tests read the view.

use crate::backend::simulated::{Settings, SimBackend};
use crate::backend::Backend;
use crate::state::{ClusterView, NodeState, Update, LOG_CAP};
use ringside_core::sim::{get, put, Action};
use ringside_core::{Consistency, Key};

struct Rig {
    backend: SimBackend,
    view: ClusterView,
    /// The same events without snapshots: what a trace replay or a live
    /// cluster without `inspect` would show.
    events_only: ClusterView,
}

impl Rig {
    fn new() -> Rig {
        let (backend, init) = SimBackend::new(Settings::default());
        let mut r = Rig {
            view: ClusterView::new(backend.topology()),
            events_only: ClusterView::new(backend.topology()),
            backend,
        };
        r.feed(init);
        r
    }
    fn feed(&mut self, u: Vec<Update>) {
        let no_snap: Vec<Update> = u
            .iter()
            .filter(|u| !matches!(u, Update::Snapshot(_)))
            .cloned()
            .collect();
        self.events_only.apply_all(no_snap);
        self.view.apply_all(u);
    }
    fn act(&mut self, a: Action) {
        let u = self.backend.act(a).unwrap();
        self.feed(u);
    }
    fn run_ms(&mut self, ms: u64) {
        for _ in 0..ms / 5 {
            let u = self.backend.advance(5_000);
            self.feed(u);
        }
    }
    fn submit(&mut self, node: u32, req: ringside_core::Request) {
        self.act(Action::Submit { node, request: req });
        self.run_ms(400);
    }
    fn value(&self, node: u32, key: u8) -> Option<String> {
        self.view.nodes[&node]
            .data
            .get(&Key::Int(key))
            .and_then(|v| v.value.as_deref().map(str::to_string))
    }
}

#[test]
fn a_quorum_put_shows_on_the_three_replicas() {
    let mut r = Rig::new();
    r.submit(0, put(137, "v", Consistency::Quorum));
    for n in [2, 3, 0] {
        assert_eq!(r.value(n, 137).as_deref(), Some("v"), "node {n}");
    }
    assert_eq!(r.value(1, 137), None);
    let req = r.view.requests.back().unwrap();
    assert_eq!(req.outcome.label(), "ok");
    assert_eq!(req.replicas, vec![2, 3, 0]);
    assert_eq!(req.answered.len(), 2, "QUORUM counts two answers");
    assert!(req.latency_us().unwrap() > 0);
    let msgs = r.view.request_messages(req);
    assert!(msgs.iter().filter(|m| m.kind == "write").count() >= 2);
    assert!(msgs.iter().any(|m| m.kind == "write_ack"));
}

#[test]
fn hinted_handoff_piles_up_and_drains() {
    let mut r = Rig::new();
    r.act(Action::Crash { node: 3 });
    assert_eq!(r.view.node_state(3), NodeState::Down);
    r.run_ms(1_000);
    r.submit(0, put(137, "while-down", Consistency::Quorum));
    let hints: Vec<_> = r.view.nodes[&0].hints.values().cloned().collect();
    assert_eq!(hints.len(), 1);
    assert_eq!(hints[0].target, 3);
    assert!(r
        .view
        .log
        .iter()
        .any(|l| l.text == "node 0 stored a hint for node 3 (key 137): node 3 is down"));
    r.act(Action::Restart { node: 3 });
    assert_eq!(r.view.node_state(3), NodeState::Recovering);
    assert_eq!(r.view.nodes[&3].replayed, Some(0));
    r.run_ms(1_000);
    assert_eq!(r.view.node_state(3), NodeState::Up);
    assert!(
        r.view.nodes[&0].hints.is_empty(),
        "delivered hints are gone"
    );
    assert_eq!(r.value(3, 137).as_deref(), Some("while-down"));
}

#[test]
fn events_alone_build_the_same_panels_as_snapshots() {
    let mut r = Rig::new();
    r.submit(0, put(137, "a", Consistency::All));
    r.act(Action::Crash { node: 3 });
    r.run_ms(1_000);
    r.submit(1, put(140, "b", Consistency::Quorum));
    r.submit(2, ringside_core::sim::delete(137, Consistency::Quorum));
    r.act(Action::Restart { node: 3 });
    r.run_ms(1_500);
    for (id, n) in &r.view.nodes {
        let e = &r.events_only.nodes[id];
        assert_eq!(n.data, e.data, "data of node {id}");
        assert_eq!(n.hints, e.hints, "hints of node {id}");
        assert_eq!(n.up, e.up, "node {id} up");
        assert_eq!(
            n.log_tail.back().map(|l| l.lsn),
            e.log_tail.back().map(|l| l.lsn),
            "log of node {id}"
        );
    }
}

#[test]
fn a_stale_read_is_flagged() {
    let mut r = Rig::new();
    r.submit(0, put(137, "old", Consistency::All));
    // Node 2 is cut off from the others; a write at ONE reaches only node 0.
    r.act(Action::Cut { a: 0, b: 2 });
    r.act(Action::Cut { a: 0, b: 3 });
    r.submit(0, put(137, "new", Consistency::One));
    assert_eq!(r.view.requests.back().unwrap().outcome.label(), "ok");
    // A ONE read through node 2 answers from node 2's own "old".
    r.submit(2, get(137, Consistency::One));
    let read = r.view.requests.back().unwrap();
    let stale = read.stale.as_ref().expect("flagged stale");
    assert_eq!(stale.value.as_deref(), Some("new"));
    assert!(r
        .view
        .log
        .iter()
        .any(|l| l.flag && l.text.contains("STALE")));
    // An ALL read after healing is not stale (W=ONE + R=QUORUM would not
    // be enough: 1 + 2 is not more than 3).
    r.act(Action::HealAll);
    r.submit(2, get(137, Consistency::All));
    assert!(r.view.requests.back().unwrap().stale.is_none());
}

#[test]
fn a_failed_write_that_landed_is_flagged() {
    let mut r = Rig::new();
    r.act(Action::Partition {
        side_a: vec![0],
        side_b: vec![1, 2, 3],
    });
    r.submit(0, put(137, "v", Consistency::All));
    let w = r.view.requests.back().unwrap();
    assert_eq!(w.outcome.label(), "Timeout");
    assert!(w.failed_but_landed());
    assert_eq!(w.landed_on, vec![0]);
    assert_eq!(r.view.node_state(0), NodeState::Partitioned);
    assert_eq!(r.view.cut.len(), 3);
}

#[test]
fn replicas_that_differ_highlight_the_newest() {
    let mut r = Rig::new();
    r.submit(0, put(137, "old", Consistency::All));
    assert!(r.view.newest_if_differs(&Key::Int(137)).is_none());
    r.act(Action::Cut { a: 1, b: 3 });
    r.submit(1, put(137, "new", Consistency::Two));
    let newest = r.view.newest_if_differs(&Key::Int(137)).unwrap();
    assert_eq!(newest.value.as_deref(), Some("new"));
    let d = crate::components::replica::differing(&r.view);
    assert_eq!(d.len(), 1);
}

#[test]
fn messages_fly_and_lost_ones_fall() {
    let mut r = Rig::new();
    r.act(Action::Submit {
        node: 0,
        request: put(137, "v", Consistency::Quorum),
    });
    r.run_ms(5);
    assert!(r.view.wires.iter().any(|w| w.kind == "write"));
    for w in &r.view.wires {
        let p = w.progress(r.view.now_us);
        assert!((0.0..=1.0).contains(&p));
    }
    r.act(Action::SetDropProbability { p: 1.0 });
    r.run_ms(200);
    assert!(!r.view.falls.is_empty() || r.view.log.iter().any(|l| l.text.contains("is lost")));
}

#[test]
fn the_log_is_bounded_and_a_reset_forgets() {
    let mut r = Rig::new();
    for i in 0..60u8 {
        r.act(Action::Submit {
            node: (i % 4) as u32,
            request: put(i, "x", Consistency::All),
        });
        r.run_ms(20);
    }
    r.run_ms(500);
    assert!(r.view.log.len() <= LOG_CAP);
    assert!(r.view.log_count as usize > LOG_CAP);
    let topo = r.view.topo.clone();
    r.view.apply(Update::Reset(topo));
    assert!(r.view.log.is_empty() && r.view.requests.is_empty());
}

#[test]
fn sixteen_nodes_with_vnodes_under_load() {
    let (mut b, init) = SimBackend::new(Settings {
        seed: 1,
        nodes: 16,
        rf: 3,
        vnodes: Some(8),
    });
    let mut v = ClusterView::new(b.topology());
    v.apply_all(init);
    for i in 0..200u32 {
        let u = b
            .act(Action::Submit {
                node: i % 16,
                request: put((i % 256) as u8, "x", Consistency::Quorum),
            })
            .unwrap();
        v.apply_all(u);
        v.apply_all(b.advance(2_000));
    }
    assert!(!v.wires.is_empty());
    v.apply_all(b.advance(500_000));
    assert!(v.requests.iter().all(|r| r.outcome.label() == "ok"));
    assert_eq!(v.nodes.len(), 16);
}

/// A backend that cannot name hints (a live node's `inspect`) nor see the
/// commit log's tail: the view names each hint after the one its events
/// stored for the same target and key, makes up ids for the others, and
/// keeps the tail and length the node's events built.
#[test]
fn unnamed_hints_keep_their_event_ids_and_the_log_tail_stays() {
    use crate::state::{HintList, NodeSnapshot};
    use ringside_core::io::{Event, EventKind, HintReason};
    use ringside_core::{TraceEntry, TraceWhat};
    let event = |seq: u64, kind: EventKind| {
        Update::Trace(TraceEntry {
            at: seq * 1_000,
            what: TraceWhat::Node {
                event: Event {
                    seq,
                    ts: seq * 1_000,
                    node: 0,
                    kind,
                },
            },
        })
    };
    let (backend, _) = SimBackend::new(Settings::default());
    let mut view = ClusterView::new(backend.topology());
    view.apply(event(
        1,
        EventKind::RecordPersisted {
            lsn: 7,
            record: "put 137".into(),
        },
    ));
    view.apply(event(
        2,
        EventKind::HintStored {
            hint: 42,
            target: 3,
            key: Key::Int(137),
            reason: HintReason::Down,
        },
    ));
    let snapshot = |hints: Vec<(u32, Key)>| {
        Update::Snapshot(NodeSnapshot {
            id: 0,
            up: true,
            data: None,
            hints: Some(HintList::Unnamed(hints)),
            peers: None,
            log_tail: None,
            log_len: None,
            skew_us: 0,
        })
    };
    let before = view.version;
    view.apply(snapshot(vec![(3, Key::Int(137))]));
    assert_eq!(view.version, before, "the same hint: nothing changed");
    view.apply(snapshot(vec![(3, Key::Int(137)), (2, Key::Int(9))]));
    let n = &view.nodes[&0];
    let ids: Vec<(u64, u32)> = n.hints.values().map(|h| (h.id, h.target)).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&(42, 3)), "the event's id kept: {ids:?}");
    assert!(
        ids.iter().any(|&(id, t)| t == 2 && id > 1 << 60),
        "an unknown hint gets a made-up id: {ids:?}"
    );
    assert_eq!(n.log_tail.back().map(|r| r.lsn), Some(7));
    assert_eq!(n.log_len, 7);
}
