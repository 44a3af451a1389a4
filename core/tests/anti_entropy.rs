//! Anti-entropy alone brings diverged replicas back in step (hints and
//! read repair off), and one round costs what the difference costs, not
//! what the data does.

use ringside_core::node::{anti_entropy_round_between, diverged_replicas};
use ringside_core::sim::{Action, Sim, SimConfig};
use ringside_core::{Consistency, Key, Request};

fn no_hints_no_read_repair(seed: u64, nodes: usize) -> Sim {
    let mut c = SimConfig::with_nodes(seed, nodes);
    c.cluster.max_hints = 0;
    c.cluster.read_repair = false;
    Sim::new(c)
}

fn put(key: &str, value: &str, cl: Consistency) -> Request {
    Request::Put {
        key: Key::Str(key.into()),
        value: value.into(),
        cl,
    }
}

/// Every key held anywhere is held the same by all of its replicas.
fn replicas_agree(s: &Sim) -> Result<(), String> {
    let mut keys = std::collections::BTreeSet::new();
    for id in s.node_ids() {
        keys.extend(s.node(id).unwrap().data().keys().cloned());
    }
    for k in &keys {
        let replicas = s.ring().replicas(k);
        let first = s.node(replicas[0]).unwrap().get_local(k);
        for r in &replicas[1..] {
            let other = s.node(*r).unwrap().get_local(k);
            if other != first {
                return Err(format!(
                    "key {k}: node {} has {first:?}, node {r} {other:?}",
                    replicas[0]
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn replicas_that_missed_writes_while_down_converge_by_anti_entropy_alone() {
    for seed in 1..=6u64 {
        let mut s = no_hints_no_read_repair(seed, 4);
        for i in 0..40 {
            s.submit(0, put(&format!("k{i:03}"), "old", Consistency::All));
        }
        s.run_for(500_000);
        // Node 2 misses a round of writes and deletes, then node 3 another.
        for (down, round) in [(2u32, "a"), (3, "b")] {
            s.apply(Action::Crash { node: down });
            s.run_for(1_000_000);
            for i in (0..40).step_by(3) {
                let key = format!("k{i:03}");
                let r = if i % 2 == 0 {
                    put(&key, round, Consistency::One)
                } else {
                    Request::Delete {
                        key: Key::Str(key),
                        cl: Consistency::One,
                    }
                };
                s.submit((down + 1) % 4, r);
            }
            s.run_for(500_000);
            s.apply(Action::Restart { node: down });
        }
        assert!(replicas_agree(&s).is_err(), "seed {seed}: nothing diverged");
        s.run_for(30_000_000);
        if let Err(e) = replicas_agree(&s) {
            panic!("seed {seed}: not converged after 30 s of anti-entropy: {e}");
        }
    }
}

#[test]
fn one_round_costs_the_difference_times_the_depth_not_the_data() {
    let (missing, stale) = (50, 50);
    let (mut a, mut b) = diverged_replicas(100_000, missing, stale, 100);
    assert_eq!(a.data().len() - b.data().len(), missing);
    assert_ne!(a.data(), b.data());
    let depth = u64::from(a.anti_entropy_tree().depth());
    let cost = anti_entropy_round_between(&mut a, &mut b, 2_000_000);
    assert_eq!(a.data(), b.data(), "one round repairs a 100-key difference");
    let diff = (missing + stale) as u64;
    // Per differing key: two child hashes (21 bytes each) per level, and
    // a leaf's few versions (about 150 bytes each with a 100-byte value).
    let bound = diff * (depth * 2 * 21 + 8 * 150);
    println!(
        "100,000 keys, {diff} differ, depth {depth}: {} messages, {} bytes, {} versions (bound {bound})",
        cost.messages, cost.bytes, cost.versions
    );
    assert!(cost.bytes <= bound, "{cost:?} over {bound} bytes");
    // In step, a round is the roots and nothing else.
    let again = anti_entropy_round_between(&mut a, &mut b, 3_000_000);
    assert_eq!(again.messages, 1, "{again:?}");
    assert!(again.bytes < 200, "{again:?}");
}
