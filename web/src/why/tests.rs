//! The page's labels and explanations against the core's own: the page
//! labels every read as `label_reads` does on the simulator's whole
//! history, a stale ONE read is labelled stale and explained by the write
//! its replica missed, and a long run keeps the evidence bounded while a
//! folded write still explains a later read.

use super::{Evidence, EVIDENCE_CAP};
use crate::backend::simulated::{Fragment, Settings};
use crate::model::{Cmd, Model};
use crate::state::{OPS_CAP, REQUEST_CAP};
use ringside_core::check::{label_reads, CheckOptions, Outcome, ReadLabel};
use ringside_core::explain::MissReason;
use ringside_core::sim::{get, put, Action, Sim};
use ringside_core::{ClientRef, Consistency, Key, Request};
use std::collections::BTreeMap;

/// A page on the default cluster (4 nodes, RF 3: key 137 lives on nodes
/// 2, 3 and 0), its wall clock in milliseconds, at one simulated second
/// per second.
struct Page {
    m: Model,
    wall_ms: f64,
}

impl Page {
    fn new() -> Page {
        let mut m = Model::from_fragment(Fragment::default());
        m.handle(Cmd::Speed(1.0));
        Page { m, wall_ms: 0.0 }
    }

    fn run_ms(&mut self, ms: f64) {
        let end = self.wall_ms + ms;
        while self.wall_ms < end {
            self.wall_ms += 16.0;
            self.m.frame(self.wall_ms);
        }
    }

    fn act(&mut self, a: Action) {
        self.m.handle(Cmd::Act(a));
    }

    /// Sends a request and returns its id (the newest listed request).
    fn send(&mut self, node: u32, request: Request) -> ClientRef {
        self.act(Action::Submit { node, request });
        self.m.view.requests.back().expect("listed").client
    }

    /// The same run, replayed from the seed and the page's script on a
    /// simulator of its own, up to the page's present.
    fn replayed(&self) -> Sim {
        let mut sim = Sim::new(Settings::default().sim_config());
        let script = self.m.script();
        for s in script {
            sim.run_until(s.at_us);
            sim.apply(s.action);
        }
        sim.run_until(self.m.view.now_us);
        sim
    }
}

#[test]
fn the_page_labels_every_read_as_the_checker_does_on_the_whole_history() {
    let mut p = Page::new();
    p.run_ms(200.0);
    p.m.handle(Cmd::Load(60.0));
    // A hot key, read and written at ONE from both sides of a cut link,
    // beside a random load: fresh and stale reads both.
    for round in 0..12u32 {
        if round == 3 {
            p.act(Action::Cut { a: 1, b: 3 });
        }
        if round == 7 {
            p.act(Action::Crash { node: 2 });
        }
        if round == 10 {
            p.act(Action::HealAll);
            p.act(Action::Restart { node: 2 });
        }
        let cl = if round % 3 == 0 {
            Consistency::Quorum
        } else {
            Consistency::One
        };
        p.send(1, put(137, &format!("v{round}"), cl));
        p.run_ms(60.0);
        p.send(3, get(137, Consistency::One));
        p.run_ms(60.0);
        p.send(0, get(137, cl));
        p.run_ms(120.0);
    }
    p.m.handle(Cmd::Load(0.0));
    p.run_ms(600.0);
    let sim = p.replayed();
    let truth: BTreeMap<ClientRef, ReadLabel> = label_reads(sim.history(), CheckOptions::new(3))
        .into_iter()
        .collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut compared = 0;
    for r in &p.m.view.requests {
        if !matches!(r.outcome, Outcome::Read { .. }) {
            continue;
        }
        let want = truth.get(&r.client).expect("the simulator answered it too");
        assert_eq!(
            r.label.as_ref(),
            Some(want),
            "{} ({:?})",
            r.request,
            r.client
        );
        *seen
            .entry(crate::components::why::label_class(want))
            .or_default() += 1;
        compared += 1;
    }
    println!("{compared} reads compared: {seen:?}");
    assert!(seen.get("fresh").copied().unwrap_or(0) > 0, "{seen:?}");
    assert!(seen.get("stale").copied().unwrap_or(0) > 0, "{seen:?}");
}

#[test]
fn a_stale_one_read_is_labelled_stale_and_explained_by_the_write_it_missed() {
    let mut p = Page::new();
    p.run_ms(300.0);
    p.send(0, put(137, "old", Consistency::All));
    p.run_ms(300.0);
    // Node 3 is cut from the writer: TWO is met by nodes 2 and 0.
    p.act(Action::Cut { a: 1, b: 3 });
    p.send(1, put(137, "new", Consistency::Two));
    p.run_ms(300.0);
    let read = p.send(3, get(137, Consistency::One));
    p.run_ms(300.0);

    let r = p.m.view.request(read).expect("listed").clone();
    match &r.label {
        Some(ReadLabel::Stale { reason }) => {
            assert!(reason.contains("R + W = 1 + 2 = 3 ≤ N = 3"), "{reason}")
        }
        other => panic!("labelled {other:?}"),
    }
    // One click: the request is selected and explained.
    p.m.handle(Cmd::SelectRequest(Some(read)));
    p.m.refresh_panels(p.wall_ms);
    let why = p.m.why().expect("explained");
    for line in why.ex.words() {
        println!("{line}");
    }
    assert_eq!(why.ex.coordinator, 3);
    assert_eq!(why.ex.replicas, vec![2, 3, 0]);
    assert_eq!(why.counted(), vec![3]);
    assert_eq!(
        why.ex.winner.as_ref().and_then(|v| v.value.as_deref()),
        Some("old")
    );
    let m = why.ex.missed.first().expect("node 3 missed the write");
    assert_eq!(m.replica, 3);
    assert_eq!(m.version.value.as_deref(), Some("new"));
    let cut = MissReason::LinkCut { from: 1 };
    let reason_ok = m.why == cut
        || matches!(&m.why, MissReason::HintWaiting { because, .. } if **because == cut);
    assert!(reason_ok, "{:?}", m.why);
    assert!(why
        .ex
        .words()
        .join("\n")
        .contains("the link between node 1 and node 3 was cut"));
    // The overlap: R = {3} and the write's holders {2, 0} do not meet.
    let mut holders = why.write_holders();
    holders.sort();
    assert_eq!(holders, vec![0, 2]);
}

#[test]
fn a_long_run_keeps_the_evidence_bounded_and_folded_writes_still_explain() {
    let mut p = Page::new();
    p.run_ms(200.0);
    // A key the random load (keys 0 to 255) never writes.
    let early = Key::Str("early".into());
    p.send(
        0,
        Request::Put {
            key: early.clone(),
            value: "early".into(),
            cl: Consistency::All,
        },
    );
    p.run_ms(300.0);
    p.m.handle(Cmd::Load(400.0));
    let mut most = 0;
    let mut rounds = 0;
    while p.m.evidence.folded() == 0 || rounds < 40 {
        p.run_ms(250.0);
        most = most.max(p.m.evidence.len() - p.m.evidence.folded());
        rounds += 1;
        assert!(rounds < 400, "the evidence never folded");
    }
    p.m.handle(Cmd::Load(0.0));
    p.run_ms(500.0);
    let ev: &Evidence = &p.m.evidence;
    let bytes = serde_json::to_string(ev.trace()).map_or(0, |s| s.len());
    println!(
        "after {} requests: {} events kept ({} folded), about {} KB as JSON; at most {most} unfolded",
        p.m.view.requests.back().map_or(0, |r| r.client.req),
        ev.len(),
        ev.folded(),
        bytes / 1024
    );
    assert!(most <= EVIDENCE_CAP + EVIDENCE_CAP / 4, "{most}");
    assert!(p.m.view.history_len() <= OPS_CAP);
    assert!(p.m.view.requests.len() <= REQUEST_CAP);
    // "early" was applied long before what is kept: the coordinator's own
    // answer is still known from the folded entries.
    let replicas = p.m.view.replicas(&early);
    let reader = replicas[0];
    let read = p.send(
        reader,
        Request::Get {
            key: early,
            cl: Consistency::One,
        },
    );
    p.run_ms(300.0);
    p.m.handle(Cmd::SelectRequest(Some(read)));
    p.m.refresh_panels(p.wall_ms);
    let why = p.m.why().expect("explained");
    let own = why
        .ex
        .answers
        .iter()
        .find(|a| a.replica == reader)
        .expect("the coordinator answered itself");
    assert_eq!(
        own.version.as_ref().and_then(|v| v.value.as_deref()),
        Some("early"),
        "{:?}",
        why.ex.words()
    );
    // Every listed request is still explained.
    let listed: Vec<ClientRef> = p.m.view.requests.iter().map(|r| r.client).collect();
    let started = std::time::Instant::now();
    for c in listed.iter().rev().take(50) {
        let w = super::why(&p.m.evidence, &p.m.view, *c).expect("explained");
        assert!(!w.ex.replicas.is_empty(), "{c:?}");
    }
    println!(
        "an explanation on a full evidence store: {:.2} ms (unoptimized, native)",
        started.elapsed().as_secs_f64() * 1000.0 / 50.0
    );
}
