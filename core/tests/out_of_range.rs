//! Amounts a person types (a latency, a clock's skew or step, a
//! suspension) are refused by name when they are out of range, and one
//! that reaches the simulator anyway neither stops its time nor panics.

use ringside_core::sim::{put, Action, Sim, SimConfig, MAX_CLOCK_SHIFT_US, MAX_LATENCY_US};
use ringside_core::types::Consistency;

/// Steps the simulation at most `steps` times; its clock at the end.
fn clock_after(sim: &mut Sim, steps: usize) -> u64 {
    for _ in 0..steps {
        if !sim.step() {
            break;
        }
    }
    sim.now()
}

#[test]
fn a_clock_skewed_to_the_end_of_time_does_not_stop_simulated_time() {
    let mut sim = Sim::new(SimConfig::classic(1));
    sim.apply(Action::SetSkew {
        node: 0,
        skew_us: i64::MAX,
    });
    // Heartbeats every 200 ms: far fewer steps than this reach 2 s.
    assert!(
        clock_after(&mut sim, 200_000) > 2_000_000,
        "simulated time stopped at {} µs",
        sim.now()
    );
}

#[test]
fn a_latency_at_the_end_of_time_does_not_panic() {
    let mut sim = Sim::new(SimConfig::classic(1));
    sim.apply(Action::SetLatency {
        min_us: u64::MAX - 1,
        max_us: u64::MAX - 1,
    });
    // Heartbeats go out every 200 ms, each a message on the way.
    sim.run_for(1_000_000);
    sim.submit(0, put(1, "v", Consistency::Quorum));
    sim.run_for(1_000_000);
}

#[test]
fn out_of_range_amounts_are_refused_by_name() {
    let refused = |a: Action, names: &str| {
        let e = a.check().expect_err("out of range");
        assert!(e.contains(names), "{e:?} should name {names}");
    };
    refused(
        Action::SetLatency {
            min_us: 1_000,
            max_us: MAX_LATENCY_US + 1,
        },
        "latency",
    );
    refused(
        Action::SetSkew {
            node: 0,
            skew_us: i64::MAX,
        },
        "skew",
    );
    refused(
        Action::SetSkew {
            node: 0,
            skew_us: i64::MIN,
        },
        "skew",
    );
    refused(
        Action::StepClock {
            node: None,
            by_us: -(MAX_CLOCK_SHIFT_US as i64) - 1,
        },
        "step",
    );
    refused(
        Action::Suspend {
            node: Some(1),
            us: MAX_CLOCK_SHIFT_US + 1,
        },
        "suspend",
    );
    refused(Action::SetDropProbability { p: f64::NAN }, "drop");
    refused(Action::SetDropProbability { p: 1.5 }, "drop");
}

#[test]
fn amounts_at_their_bounds_are_taken() {
    let shift = MAX_CLOCK_SHIFT_US as i64;
    for a in [
        Action::SetLatency {
            min_us: 0,
            max_us: MAX_LATENCY_US,
        },
        Action::SetSkew {
            node: 0,
            skew_us: -shift,
        },
        Action::StepClock {
            node: Some(2),
            by_us: shift,
        },
        Action::Suspend {
            node: None,
            us: MAX_CLOCK_SHIFT_US,
        },
        Action::SetDropProbability { p: 1.0 },
        Action::HealAll,
    ] {
        assert_eq!(a.check(), Ok(()), "{a:?}");
    }
}
