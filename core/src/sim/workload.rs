//! Randomized runs: a client workload interleaved with a fault schedule
//! (crashes, restarts, partitions, drops, delays, clock skew), all drawn
//! from one seed, then a settling phase, then the checker.

use super::{Action, Rng, Sim, SimConfig, SimStats};
use crate::check::{check, Summary, Violation};
use crate::message::Request;
use crate::types::{Consistency, Key, Micros, NodeId};
use serde::{Deserialize, Serialize};

/// What a randomized run does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    pub nodes: usize,
    /// Client requests to send.
    pub ops: usize,
    /// Inject faults (crashes, partitions, drops, delays, skew).
    pub faults: bool,
    /// Keys are drawn from `0..keys` (few keys: many conflicts).
    pub keys: u8,
    /// How long the cluster settles after the faults stop, before the
    /// final state is checked.
    pub settle_ms: u64,
    /// Keep the event trace.
    pub trace: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            nodes: 4,
            ops: 60,
            faults: true,
            keys: 8,
            settle_ms: 8_000,
            trace: false,
        }
    }
}

/// The outcome of one run.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub seed: u64,
    pub verdict: Result<Summary, Violation>,
    pub stats: SimStats,
    /// Faults injected.
    pub faults: usize,
    /// Simulated time at the end.
    pub end_us: Micros,
    /// Every action, at the time it was applied: replaying them on a fresh
    /// `Sim` from the same config gives the same run.
    pub script: Vec<(Micros, Action)>,
}

impl RunReport {
    /// The one-line command that replays this run.
    pub fn replay_command(&self, opts: &RunOptions) -> String {
        format!(
            "cargo run --release -p ringside-native -- sim --seed {} --nodes {} --ops {}{}",
            self.seed,
            opts.nodes,
            opts.ops,
            if opts.faults { " --faults" } else { "" }
        )
    }
}

/// The simulation config a seed gives: network and timing drawn from it.
pub fn config_for(seed: u64, opts: &RunOptions) -> SimConfig {
    let mut rng = Rng::new(seed ^ 0x5eed_c0f1);
    let mut c = SimConfig::with_nodes(seed, opts.nodes);
    c.trace = opts.trace;
    if opts.faults {
        let min = rng.range(200, 3_000);
        c.net.latency_min_us = min;
        c.net.latency_max_us = min + rng.range(0, 40_000);
        c.net.drop_probability = [0.0, 0.0, 0.01, 0.05, 0.1][rng.range(0, 4) as usize];
    }
    c
}

/// Runs one seeded scenario to the end and checks it.
pub fn random_run(seed: u64, opts: &RunOptions) -> (Sim, RunReport) {
    let config = config_for(seed, opts);
    let mut rng = Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xa11ce);
    let mut sim = Sim::new(config);
    let nodes: Vec<NodeId> = sim.node_ids();
    let mut script = Vec::new();
    let mut faults = 0usize;
    let act = |sim: &mut Sim, script: &mut Vec<(Micros, Action)>, a: Action| {
        script.push((sim.now(), a.clone()));
        sim.apply(a);
    };
    if opts.faults {
        for &n in &nodes {
            if rng.chance(0.3) {
                let skew = rng.range(0, 100_000) as i64 - 50_000;
                act(
                    &mut sim,
                    &mut script,
                    Action::SetSkew {
                        node: n,
                        skew_us: skew,
                    },
                );
                faults += 1;
            }
        }
    }
    let keys = opts.keys.max(1);
    for i in 0..opts.ops {
        sim.run_for(rng.range(0, 30_000));
        if opts.faults && rng.chance(0.15) {
            let down: Vec<NodeId> = nodes.iter().copied().filter(|&n| !sim.is_up(n)).collect();
            let up: Vec<NodeId> = nodes.iter().copied().filter(|&n| sim.is_up(n)).collect();
            let a = match rng.range(0, 6) {
                0 | 1 => up.first().map(|_| Action::Crash {
                    node: rng.pick(&up).unwrap_or(0),
                }),
                2 => rng.pick(&down).map(|node| Action::Restart { node }),
                3 => {
                    let a = rng.pick(&nodes).unwrap_or(0);
                    let b = rng.pick(&nodes).unwrap_or(0);
                    (a != b).then_some(Action::Cut { a, b })
                }
                4 => {
                    let split = rng.range(1, nodes.len().max(2) as u64 - 1) as usize;
                    let mut shuffled = nodes.clone();
                    for j in (1..shuffled.len()).rev() {
                        shuffled.swap(j, rng.range(0, j as u64) as usize);
                    }
                    let (a, b) = shuffled.split_at(split.min(shuffled.len()));
                    Some(Action::Partition {
                        side_a: a.to_vec(),
                        side_b: b.to_vec(),
                    })
                }
                5 => Some(Action::HealAll),
                _ => rng.pick(&down).map(|node| Action::Restart { node }),
            };
            if let Some(a) = a {
                faults += 1;
                act(&mut sim, &mut script, a);
            }
        }
        let node = rng.pick(&nodes).unwrap_or(0);
        let key = Key::Int(rng.range(0, keys as u64 - 1) as u8);
        let write_levels = [
            Consistency::One,
            Consistency::Two,
            Consistency::Quorum,
            Consistency::Quorum,
            Consistency::All,
            Consistency::Any,
        ];
        let read_levels = [
            Consistency::One,
            Consistency::Two,
            Consistency::Quorum,
            Consistency::Quorum,
            Consistency::All,
        ];
        let roll = rng.range(0, 99);
        let request = if roll < 45 {
            Request::Put {
                key,
                value: format!("s{seed}v{i}"),
                cl: rng.pick(&write_levels).unwrap_or(Consistency::One),
            }
        } else if roll < 85 {
            Request::Get {
                key,
                cl: rng.pick(&read_levels).unwrap_or(Consistency::One),
            }
        } else {
            Request::Delete {
                key,
                cl: rng.pick(&write_levels).unwrap_or(Consistency::One),
            }
        };
        act(&mut sim, &mut script, Action::Submit { node, request });
    }
    sim.run_until_answered(5_000_000);
    sim.quiesce();
    sim.run_for(opts.settle_ms * 1000);
    let rf = sim.ring().rf();
    let fin = sim.final_state();
    let verdict = check(sim.history(), Some(&fin), rf).and_then(|summary| {
        match sim.disk_stats().early_acks.first() {
            Some(detail) => Err(Violation {
                property: "durable-before-ack",
                detail: detail.clone(),
            }),
            None => Ok(summary),
        }
    });
    let report = RunReport {
        seed,
        verdict,
        stats: sim.stats(),
        faults,
        end_us: sim.now(),
        script,
    };
    (sim, report)
}
