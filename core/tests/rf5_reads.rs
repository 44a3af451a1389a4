//! QUORUM reads with five replicas: a read's winner can change while its
//! blocking read repair is under way (a fourth replica answers with a
//! newer version). Every replica that answered must then end up holding
//! the version the read returns, or a later QUORUM read can miss it.

use ringside_core::check::{check_with, CheckOptions};
use ringside_core::sim::{get, put, Rng, Sim, SimConfig};
use ringside_core::types::Consistency;

/// One seeded run: concurrent puts at mixed levels and QUORUM reads on two
/// keys, over a slow and lossy network; the verdict.
fn run(seed: u64) -> Result<(), String> {
    let mut c = SimConfig::with_nodes(seed, 5);
    c.cluster.rf = 5;
    c.trace = false;
    c.net.latency_min_us = 200;
    c.net.latency_max_us = 30_000;
    c.net.drop_probability = 0.05;
    let mut sim = Sim::new(c);
    let mut rng = Rng::new(seed);
    let levels = [Consistency::One, Consistency::Quorum, Consistency::All];
    for i in 0..150 {
        sim.run_for(rng.range(0, 8_000));
        let node = rng.range(0, 4) as u32;
        let key = rng.range(0, 1) as u8;
        let request = if rng.chance(0.4) {
            put(key, &format!("s{seed}v{i}"), rng.pick(&levels).unwrap())
        } else {
            get(key, Consistency::Quorum)
        };
        sim.submit(node, request);
    }
    sim.run_until_answered(5_000_000);
    let opts = CheckOptions::new(5).with_clocks_agree(true);
    check_with(sim.history(), opts)
        .map(|_| ())
        .map_err(|v| format!("seed {seed}: {v}"))
}

#[test]
fn quorum_reads_never_go_backwards_with_five_replicas() {
    let failures: Vec<String> = (1..=300).filter_map(|s| run(s).err()).take(3).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The winner changes mid-read, scripted: node 2 alone holds "b", node 3
/// alone a newer "c". A QUORUM read through node 0 hears 0, 1 ("a") and 2
/// ("b") first, repairs 0 and 1 with "b", then hears "c" from 3 and
/// returns it. A second QUORUM read through 0 that cannot reach 2 and 3
/// must still see "c".
#[test]
fn a_winner_that_changes_mid_read_is_repaired_on_every_replica_that_answered() {
    use ringside_core::sim::Action;
    let mut c = SimConfig::with_nodes(1, 5);
    c.cluster.rf = 5;
    c.net.latency_min_us = 2_000;
    c.net.latency_max_us = 2_000;
    c.disk.sync_min_us = 200;
    c.disk.sync_max_us = 200;
    let mut sim = Sim::new(c);
    let isolate = |sim: &mut Sim, n: u32, cut: bool| {
        for m in 0..5 {
            if m != n {
                sim.apply(if cut {
                    Action::Cut { a: n, b: m }
                } else {
                    Action::Heal { a: n, b: m }
                });
            }
        }
    };
    sim.submit(0, put(1, "a", Consistency::All));
    sim.run_for(10_000);
    for (node, value) in [(2, "b"), (3, "c")] {
        isolate(&mut sim, node, true);
        sim.submit(node, put(1, value, Consistency::One));
        sim.run_for(10_000);
        sim.apply(Action::Heal { a: 0, b: node });
    }
    sim.apply(Action::Cut { a: 0, b: 4 });
    sim.submit(0, get(1, Consistency::Quorum));
    sim.run_for(10_000);
    sim.apply(Action::Cut { a: 0, b: 2 });
    sim.apply(Action::Cut { a: 0, b: 3 });
    sim.apply(Action::Heal { a: 0, b: 4 });
    sim.submit(0, get(1, Consistency::Quorum));
    sim.run_for(10_000);
    let h = sim.history();
    let shown: Vec<String> = h.ops.iter().map(|o| format!("{o:?}")).collect();
    assert_eq!(
        h.ops[3].outcome.label(),
        "ok",
        "the first read answers:\n{}",
        shown.join("\n")
    );
    let verdict = check_with(h, CheckOptions::new(5).with_clocks_agree(true));
    assert!(verdict.is_ok(), "{}", verdict.unwrap_err());
}
