//! Every property of the checker catches a deliberately broken cluster.
//! Each test breaks the nodes from outside, with the simulator's
//! interceptor rewriting what they send, runs the seeded randomized
//! workload until a run is caught, and asserts that it is caught by the
//! property that names the fault, and that the healthy cluster passes the
//! same seeds.

use ringside_core::check::Violation;
use ringside_core::message::{ErrorKind, Msg, Reply, Request};
use ringside_core::sim::workload::{random_run, random_run_in, RunOptions};
use ringside_core::sim::{Interceptor, Sim, Wire};
use ringside_core::types::{Key, Micros, Version};

/// Breaks a simulation's nodes.
type Breaker = fn(&Sim) -> Interceptor;

/// Seeds each test tries before giving up.
const SEEDS: u64 = 200;

fn opts() -> RunOptions {
    RunOptions {
        ops: 120,
        ..RunOptions::default()
    }
}

/// The first seed whose run, with `breaker(sim)` installed, breaks
/// `property`, with that violation. A broken cluster often breaks other
/// properties too, and the checker reports the first it meets; the seeds
/// before it may be caught by those.
fn first_caught(property: &str, breaker: impl Fn(&Sim) -> Interceptor) -> Option<(u64, Violation)> {
    (1..=SEEDS).find_map(|seed| {
        let (_, report) = random_run_in(seed, &opts(), None, |sim| {
            let f = breaker(sim);
            sim.set_interceptor(Some(f));
        });
        report
            .verdict
            .err()
            .filter(|v| v.property == property)
            .map(|v| (seed, v))
    })
}

/// Asserts the broken cluster is caught by `property`, and the healthy one
/// passes the seeds it took.
fn assert_caught(property: &str, breaker: impl Fn(&Sim) -> Interceptor) {
    let (seed, v) = first_caught(property, breaker).unwrap_or_else(|| {
        panic!("no run of {SEEDS} seeds caught the broken cluster by {property}")
    });
    println!("seed {seed}: {v}");
    for s in 1..=seed {
        let (_, report) = random_run(s, &opts());
        assert!(
            report.verdict.is_ok(),
            "healthy seed {s}: {:?}",
            report.verdict
        );
    }
}

#[test]
fn a_read_repair_that_does_nothing_breaks_monotonic_quorum_reads() {
    // Replicas acknowledge a repair, and a write nobody waits for,
    // without storing it: a QUORUM read can return a ONE write only one
    // replica holds, and the next one miss it.
    assert_caught("monotonic-quorum-reads", lazy_writes_and_repairs_dropped);
}

fn lazy_writes_and_repairs_dropped(_: &Sim) -> Interceptor {
    {
        Box::new(|w| {
            if let Wire::Message { msg, .. } = w {
                if let Msg::Repair { version, .. }
                | Msg::Write {
                    version,
                    lazy: true,
                    ..
                } = &mut msg.body
                {
                    *version = Version { ts: 0, value: None };
                }
            }
        })
    }
}

#[test]
fn a_put_applied_then_refused_breaks_refused_writes_invisible() {
    // Node 0 stores and replicates its puts as usual, then answers
    // Unavailable.
    assert_caught("refused-writes-invisible", puts_refused_after_the_fact);
}

fn puts_refused_after_the_fact(_: &Sim) -> Interceptor {
    {
        Box::new(|w| {
            if let Wire::Reply {
                node: 0,
                request: Request::Put { .. },
                reply,
            } = w
            {
                if matches!(reply, Reply::Written { .. }) {
                    *reply = Reply::error(ErrorKind::Unavailable, "refused after the fact");
                }
            }
        })
    }
}

#[test]
fn replicas_that_drop_tombstones_break_no_resurrection() {
    // Every tombstone a node sends another loses its timestamp, so the
    // receiver keeps the value it had (and acknowledges the delete).
    assert_caught("no-resurrection", tombstones_dropped);
}

fn tombstones_dropped(_: &Sim) -> Interceptor {
    fn forget(v: &mut Version) {
        if v.is_tombstone() {
            v.ts = 0;
        }
    }
    {
        Box::new(|w| {
            let Wire::Message { msg, .. } = w else {
                return;
            };
            match &mut msg.body {
                Msg::Write { version, .. }
                | Msg::Repair { version, .. }
                | Msg::Hint { version, .. } => forget(version),
                Msg::SyncData { entries, .. } => entries.iter_mut().for_each(|(_, v)| forget(v)),
                _ => {}
            }
        })
    }
}

#[test]
fn a_coordinator_whose_clock_runs_backwards_breaks_timestamp_order() {
    // One node's timestamps count down, for the keys it does not
    // replicate (so it stores none of them itself): consistent everywhere,
    // and backwards.
    assert_caught("timestamp-order", timestamps_counting_down);
}

fn timestamps_counting_down(sim: &Sim) -> Interceptor {
    const TOP: Micros = 1 << 40;
    {
        let ring = sim.ring().clone();
        let x = (0..4)
            .find(|&n| !ring.is_replica(&Key::Int(0), n))
            .expect("a node that does not replicate key 0");
        Box::new(move |w| match w {
            Wire::Message { from, msg, .. } if from == x => match &mut msg.body {
                Msg::Write { key, version, .. } | Msg::Hint { key, version, .. }
                    if !ring.is_replica(key, x) =>
                {
                    version.ts = TOP - version.ts;
                }
                _ => {}
            },
            Wire::Reply {
                node,
                request,
                reply: Reply::Written { ts },
            } if node == x && !ring.is_replica(request.key(), x) => *ts = TOP - *ts,
            _ => {}
        })
    }
}

/// The read labels the page shows agree with the checker: a read is
/// labelled a violation exactly when the checker names it, on healthy and
/// broken runs alike.
#[test]
fn read_labels_agree_with_the_checker() {
    use ringside_core::check::{check_with, label_reads, CheckOptions, ReadLabel};
    let breakers: [Option<Breaker>; 5] = [
        None,
        Some(lazy_writes_and_repairs_dropped),
        Some(puts_refused_after_the_fact),
        Some(tombstones_dropped),
        Some(timestamps_counting_down),
    ];
    let (mut labelled, mut violations, mut stale) = (0, 0, 0);
    for breaker in breakers {
        for seed in 1..=25 {
            let (sim, _) = random_run_in(seed, &opts(), None, |sim| {
                let f = breaker.map(|b| b(sim));
                sim.set_interceptor(f);
            });
            let opts = CheckOptions::new(sim.ring().rf());
            let labels = label_reads(sim.history(), opts);
            labelled += labels.len();
            stale += labels
                .iter()
                .filter(|(_, l)| matches!(l, ReadLabel::Stale { .. }))
                .count();
            let first = labels.iter().find_map(|(c, l)| match l {
                ReadLabel::Violation { property } => Some((c, property.clone())),
                _ => None,
            });
            match (first, check_with(sim.history(), opts)) {
                (Some((c, p)), Err(v)) => {
                    violations += 1;
                    assert_eq!(p, v.property, "seed {seed}: {v}");
                    assert!(v.detail.contains(&format!("request {} ", c.req)), "{v}");
                }
                (None, Ok(_)) => {}
                (None, Err(v)) => assert_eq!(v.property, "timestamp-order", "seed {seed}: {v}"),
                (Some((c, p)), Ok(_)) => panic!("seed {seed}: request {c:?} labelled {p}"),
            }
        }
    }
    println!("{labelled} reads labelled, {stale} stale, {violations} runs with a violation");
    assert!(stale > 0 && violations > 0);
}
