//! "Why?" for a request: a stale read after a missed write, a write that
//! failed its level but landed, and a tie broken by value.

use ringside_core::check::Outcome;
use ringside_core::explain::{explain, Explanation, MissReason, WinRule};
use ringside_core::sim::{get, put, Action, Sim, SimConfig};
use ringside_core::TraceEntry;
use ringside_core::{ClientRef, Consistency::*, Version};

/// Key 137 lives on nodes 2, 3 and 0 in the classic cluster.
fn sim() -> (Sim, Vec<TraceEntry>) {
    (Sim::new(SimConfig::classic(5)), Vec::new())
}

fn settle(sim: &mut Sim, trace: &mut Vec<TraceEntry>) {
    sim.run_until_answered(2_000_000);
    trace.extend(sim.drain_trace());
}

fn why(sim: &mut Sim, trace: &mut Vec<TraceEntry>, c: ClientRef) -> Explanation {
    trace.extend(sim.drain_trace());
    let ex = explain(trace, sim.history(), c).expect("the request is in the history");
    for line in ex.words() {
        println!("{line}");
    }
    ex
}

#[test]
fn a_stale_one_read_names_the_write_its_replica_missed_and_why() {
    let (mut sim, mut trace) = sim();
    sim.submit(0, put(137, "old", All));
    settle(&mut sim, &mut trace);
    sim.apply(Action::Cut { a: 1, b: 3 });
    sim.submit(1, put(137, "new", Two));
    settle(&mut sim, &mut trace);
    let read = sim.submit(3, get(137, One));
    settle(&mut sim, &mut trace);
    sim.run_for(100_000);
    let ex = why(&mut sim, &mut trace, read);
    assert_eq!(ex.coordinator, 3);
    assert_eq!(ex.replicas, vec![2, 3, 0]);
    assert_eq!(ex.needed, 1);
    let counted: Vec<_> = ex.answers.iter().filter(|a| a.counted).collect();
    assert_eq!(counted.len(), 1);
    assert_eq!(counted[0].replica, 3);
    assert_eq!(
        ex.winner.as_ref().and_then(|w| w.value.as_deref()),
        Some("old")
    );
    assert_eq!(ex.rule, Some(WinRule::Agreed));
    assert_eq!(ex.missed.len(), 1, "{:?}", ex.missed);
    let m = &ex.missed[0];
    assert_eq!(m.replica, 3);
    assert_eq!(m.version.value.as_deref(), Some("new"));
    assert_eq!(m.why, MissReason::LinkCut { from: 1 });
    assert!(
        ex.repaired.contains(&3),
        "the late answers repair node 3 itself"
    );
    let words = ex.words().join("\n");
    assert!(
        words.contains("the link between node 1 and node 3 was cut"),
        "{words}"
    );
}

#[test]
fn a_write_that_timed_out_still_landed_on_two_replicas() {
    let (mut sim, mut trace) = sim();
    sim.run_for(200_000);
    // Node 0 still believes node 2 up: the write goes out and is lost.
    sim.apply(Action::Cut { a: 0, b: 2 });
    let w = sim.submit(0, put(137, "partial", All));
    settle(&mut sim, &mut trace);
    let ex = why(&mut sim, &mut trace, w);
    assert_eq!(ex.outcome.label(), "Timeout", "{:?}", ex.outcome);
    assert_eq!(ex.needed, 3);
    assert_eq!(ex.asked.len(), 3);
    let mut landed = ex.landed.clone();
    landed.sort();
    assert_eq!(landed, vec![0, 3]);
    assert_eq!(
        ex.written.as_ref().and_then(|v| v.value.as_deref()),
        Some("partial")
    );
    assert!(ex.words().join("\n").contains("landed on nodes"));
}

#[test]
fn equal_timestamps_are_broken_by_the_greater_value() {
    let (mut sim, mut trace) = sim();
    sim.run_for(200_000);
    // Node 2 and node 3 each hold a different write, made at the same
    // instant on clocks that agree: the same timestamp.
    sim.apply(Action::Cut { a: 2, b: 3 });
    sim.apply(Action::Cut { a: 2, b: 0 });
    sim.apply(Action::Cut { a: 3, b: 0 });
    let a = sim.submit(2, put(137, "banana", One));
    let b = sim.submit(3, put(137, "apple", One));
    settle(&mut sim, &mut trace);
    let ts = |c: ClientRef, sim: &Sim| match sim
        .history()
        .ops
        .iter()
        .find(|o| o.client == c)
        .unwrap()
        .outcome
    {
        Outcome::Written { ts } => ts,
        ref o => panic!("{o:?}"),
    };
    assert_eq!(ts(a, &sim), ts(b, &sim), "the same timestamp");
    // The writes to the other replicas leave each node only once its log
    // is synced: let them meet the cut links before healing them.
    sim.run_for(50_000);
    sim.apply(Action::HealAll);
    let read = sim.submit(0, get(137, All));
    settle(&mut sim, &mut trace);
    let ex = why(&mut sim, &mut trace, read);
    assert_eq!(
        ex.winner.as_ref().and_then(|w| w.value.as_deref()),
        Some("banana")
    );
    assert_eq!(ex.rule, Some(WinRule::TieGreaterValue));
    assert!(
        ex.repaired.contains(&3) && ex.repaired.contains(&0),
        "{:?}",
        ex.repaired
    );
    assert!(ex.words().join("\n").contains("the greater value wins"));
}

#[test]
fn a_tombstone_wins_a_tie() {
    let t = Version { ts: 5, value: None };
    let v = Version {
        ts: 5,
        value: Some("z".into()),
    };
    let old = Version {
        ts: 4,
        value: Some("a".into()),
    };
    assert_eq!(
        ringside_core::explain::win_rule(&t, &[Some(v), None]),
        WinRule::TieTombstone
    );
    assert_eq!(
        ringside_core::explain::win_rule(&t, &[Some(old.clone())]),
        WinRule::NewestTimestamp
    );
    assert_eq!(
        ringside_core::explain::win_rule(&old, &[Some(old.clone())]),
        WinRule::Agreed
    );
}
