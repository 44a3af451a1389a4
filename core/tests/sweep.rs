//! Randomized fault schedules from many seeds, every history checked for
//! every property of [`ringside_core::check::PROPERTIES`].
//! `RINGSIDE_SWEEP_SEEDS=N` runs more (default 1,000); a failure prints the
//! seed and the command that replays it.

use ringside_core::sim::workload::{random_run, RunOptions};

#[test]
fn randomized_sweep_holds_every_property() {
    let seeds: u64 = std::env::var("RINGSIDE_SWEEP_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let first: u64 = std::env::var("RINGSIDE_SWEEP_FIRST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let opts = RunOptions::default();
    let mut failures = Vec::new();
    let mut ops = 0;
    let mut faults = 0;
    for seed in first..first + seeds {
        let (_, report) = random_run(seed, &opts);
        faults += report.faults;
        match &report.verdict {
            Ok(s) => ops += s.ops,
            Err(v) => {
                failures.push(format!(
                    "seed {seed}: {v}\n  replay: {}",
                    report.replay_command(&opts)
                ));
                if failures.len() >= 5 {
                    break;
                }
            }
        }
    }
    println!(
        "sweep: {seeds} seeds, {ops} operations, {faults} faults; properties: {}",
        ringside_core::check::PROPERTIES.join(", ")
    );
    assert!(failures.is_empty(), "violations:\n{}", failures.join("\n"));
}
