//! How long a rewind of a 10,000-event run takes, to random points.
//! `cargo run --release -p ringside-core --example rewind_time`

use ringside_core::rewind::Timeline;
use ringside_core::sim::{get, put, Action, Rng, SimConfig};
use ringside_core::Consistency;
use std::time::Instant;

fn main() {
    let mut rng = Rng::new(42);
    let mut t = Timeline::new(SimConfig::classic(42));
    let start = Instant::now();
    for i in 0..10_000u64 {
        if i % 40 == 0 {
            let node = rng.range(0, 3) as u32;
            let key = rng.range(0, 255) as u8;
            let request = if rng.chance(0.5) {
                put(key, &format!("v{i}"), Consistency::Quorum)
            } else {
                get(key, Consistency::One)
            };
            t.act(Action::Submit { node, request });
        }
        if i == 5_000 {
            t.act(Action::Crash { node: 1 });
        }
        t.forward();
    }
    println!(
        "first pass: 10,000 events in {:.1} ms, {} trace entries",
        start.elapsed().as_secs_f64() * 1e3,
        t.full_trace().len()
    );
    let mut worst = 0.0f64;
    let mut total = 0.0;
    let n = 200;
    for _ in 0..n {
        let k = rng.range(0, 10_000);
        let s = Instant::now();
        t.seek(k);
        let ms = s.elapsed().as_secs_f64() * 1e3;
        worst = worst.max(ms);
        total += ms;
    }
    println!(
        "seek to {n} random points: mean {:.2} ms, worst {:.2} ms (checkpoint every {} events)",
        total / n as f64,
        worst,
        ringside_core::rewind::DEFAULT_CHECKPOINT_EVERY
    );
}
