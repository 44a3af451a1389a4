//! `timestamp-order` under clock faults: a coordinator's own writes get
//! rising timestamps whatever its clock does.

use ringside_core::check::{check_with, CheckOptions};
use ringside_core::sim::{put, Action, Sim, SimConfig};
use ringside_core::types::{Consistency, Key, NodeId};

/// A node, and a key it does not replicate (so it stores none of the
/// versions it issues for it).
fn coordinator_without_the_key(sim: &Sim) -> (NodeId, u8) {
    let ring = sim.ring();
    let k = 0u8;
    let n = (0..4)
        .find(|&n| !ring.is_replica(&Key::Int(k), n))
        .expect("with 4 nodes and RF 3 one node does not replicate a key");
    (n, k)
}

fn verdict(sim: &Sim) -> Result<(), String> {
    check_with(sim.history(), CheckOptions::new(3))
        .map(|_| ())
        .map_err(|v| v.to_string())
}

#[test]
fn a_clock_stepped_back_on_a_running_node_keeps_its_timestamps_rising() {
    let mut sim = Sim::new(SimConfig::classic(1));
    let (n, k) = coordinator_without_the_key(&sim);
    sim.run_for(2_000_000);
    sim.submit(n, put(k, "before", Consistency::Quorum));
    sim.run_for(100_000);
    sim.apply(Action::SetSkew {
        node: n,
        skew_us: -1_000_000,
    });
    sim.submit(n, put(k, "after", Consistency::Quorum));
    sim.run_for(100_000);
    assert!(sim.history().ops.iter().all(|o| o.outcome.is_ok()));
    verdict(&sim).unwrap();
}

/// A coordinator stores none of the versions it issues for a key it does
/// not replicate, so only its timestamp reservation in the log keeps its
/// next write, after a restart on a clock stepped back, above its last.
#[test]
fn a_clock_stepped_back_across_a_restart_keeps_its_timestamps_rising() {
    let mut sim = Sim::new(SimConfig::classic(1));
    let (n, k) = coordinator_without_the_key(&sim);
    sim.run_for(2_000_000);
    sim.submit(n, put(k, "before", Consistency::Quorum));
    sim.run_for(100_000);
    sim.apply(Action::Crash { node: n });
    sim.apply(Action::SetSkew {
        node: n,
        skew_us: -1_000_000,
    });
    sim.apply(Action::Restart { node: n });
    sim.run_for(600_000);
    sim.submit(n, put(k, "after", Consistency::Quorum));
    sim.run_for(100_000);
    assert!(sim.history().ops.iter().all(|o| o.outcome.is_ok()));
    verdict(&sim).unwrap();
}
