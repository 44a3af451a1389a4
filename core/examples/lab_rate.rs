//! Staleness-lab trials per second, and the curve beside the model.
//! `cargo run --release -p ringside-core --example lab_rate`

use ringside_core::lab::{Lab, LabConfig};
use std::time::Instant;

fn main() {
    let mut config = LabConfig::classroom();
    config.trials = 20_000;
    let mut lab = Lab::new(config).expect("valid settings");
    let start = Instant::now();
    while !lab.finished() {
        lab.step(500);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} trials in {secs:.2} s: {:.0} trials/s",
        lab.result().done,
        lab.result().done as f64 / secs
    );
    let model = lab.model_curve(100_000);
    for ((t, tally), m) in lab
        .config()
        .ts_ms
        .iter()
        .zip(&lab.result().curve)
        .zip(model)
    {
        println!(
            "t = {t:>3} ms  measured {:.3}  model {m:.3}",
            tally.p_fresh()
        );
    }
}
