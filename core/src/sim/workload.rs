//! Randomized runs: a client workload interleaved with a fault schedule
//! (crashes of one node or all, restarts, partitions, drops, delays, clock
//! skew, clock steps and suspends, a damaged byte in a stopped node's
//! log) and log compactions, with values up to 1 MiB, all drawn from one seed, then a settling
//! phase, then the checker.

use super::{Action, Rng, Sim, SimConfig, SimStats};
use crate::check::{check_with, CheckOptions, Summary, Violation};
use crate::durability::Flaw;
use crate::message::Request;
use crate::types::{Consistency, Key, Micros, NodeId, MAX_VALUE_BYTES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// The same by kind.
    pub faults_by_kind: BTreeMap<&'static str, usize>,
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
    random_run_in(seed, opts, None, |_| {})
}

/// [`random_run`] with a gate rule broken on purpose (see [`Flaw`]): only
/// for the tests that show the sweep catches it.
pub fn random_run_with_flaw(seed: u64, opts: &RunOptions, flaw: Option<Flaw>) -> (Sim, RunReport) {
    random_run_in(seed, opts, flaw, |_| {})
}

/// [`random_run`], with an optional broken gate rule and `prepare` applied
/// to the new simulation first (tests install an interceptor this way to
/// break the nodes).
pub fn random_run_in(
    seed: u64,
    opts: &RunOptions,
    flaw: Option<Flaw>,
    prepare: impl FnOnce(&mut Sim),
) -> (Sim, RunReport) {
    let mut config = config_for(seed, opts);
    config.flaw = flaw;
    let mut rng = Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xa11ce);
    // Compactions draw from a stream of their own, so that each seed's
    // requests and faults do not depend on whether compactions are drawn
    // (until a compaction changes what a fault finds on a disk).
    let mut compactions = Rng::new(seed ^ 0xc0_4ac7);
    let mut sim = Sim::new(config);
    prepare(&mut sim);
    let nodes: Vec<NodeId> = sim.node_ids();
    let mut script = Vec::new();
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
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
                *kinds.entry("skew").or_default() += 1;
            }
        }
    }
    let keys = opts.keys.max(1);
    for i in 0..opts.ops {
        sim.run_for(rng.range(0, 30_000));
        // A crash lands either between requests or, half the time, a
        // moment after the next one went out, while records are written
        // but not yet synced and syncs are in flight.
        let mut after_submit = None;
        if opts.faults && rng.chance(0.15) {
            if let Some((kind, a)) = draw_fault(&mut rng, &sim, &nodes) {
                *kinds.entry(kind).or_default() += 1;
                let crash = matches!(a, Action::Crash { .. } | Action::CrashAll);
                if crash && rng.chance(0.5) {
                    after_submit = Some(a);
                } else {
                    act(&mut sim, &mut script, a);
                }
            }
        }
        if opts.faults && compactions.chance(0.05) {
            let up: Vec<NodeId> = nodes.iter().copied().filter(|&n| sim.is_up(n)).collect();
            if let Some(node) = compactions.pick(&up) {
                *kinds.entry("compaction").or_default() += 1;
                act(&mut sim, &mut script, Action::Compact { node });
            }
        }
        let node = rng.pick(&nodes).unwrap_or(0);
        let key = Key::Int(rng.range(0, keys as u64 - 1) as u8);
        let request = random_request(&mut rng, key, |rng| value(rng, &format!("s{seed}v{i}")));
        act(&mut sim, &mut script, Action::Submit { node, request });
        if let Some(a) = after_submit {
            sim.run_for(rng.range(0, 2_000));
            act(&mut sim, &mut script, a);
        }
    }
    sim.run_until_answered(5_000_000);
    sim.quiesce();
    sim.run_for(opts.settle_ms.saturating_mul(1000));
    let rf = sim.ring().rf();
    let fin = sim.final_state();
    // Clocks agree only in a run with no skew, no clock step and no
    // suspend (a suspend leaves the node's clock behind).
    let clocks_moved = script.iter().any(|(_, a)| match a {
        Action::SetSkew { skew_us, .. } => *skew_us != 0,
        Action::StepClock { .. } | Action::Suspend { .. } => true,
        _ => false,
    });
    let check_opts = CheckOptions::new(rf)
        .with_final_state(Some(&fin))
        .with_clocks_agree(!clocks_moved);
    let verdict = check_with(sim.history(), check_opts).and_then(|summary| {
        let stats = sim.disk_stats();
        match (stats.early_acks.first(), stats.early_requests.first()) {
            (Some(detail), _) => Err(Violation {
                property: "durable-before-ack",
                detail: detail.clone(),
            }),
            (None, Some(detail)) => Err(Violation {
                property: "reserved-before-request",
                detail: detail.clone(),
            }),
            (None, None) => Ok(summary),
        }
    });
    let report = RunReport {
        seed,
        verdict,
        stats: sim.stats(),
        faults: kinds.values().sum(),
        faults_by_kind: kinds,
        end_us: sim.now(),
        script,
    };
    (sim, report)
}

const WRITE_LEVELS: [Consistency; 6] = [
    Consistency::One,
    Consistency::Two,
    Consistency::Quorum,
    Consistency::Quorum,
    Consistency::All,
    Consistency::Any,
];
const READ_LEVELS: [Consistency; 5] = [
    Consistency::One,
    Consistency::Two,
    Consistency::Quorum,
    Consistency::Quorum,
    Consistency::All,
];

/// One request of the mix the sweep and `ringside chaos` send: 45% puts
/// (the value from `value`), 40% gets, 15% deletes, at levels drawn with
/// QUORUM twice as likely as each other level.
pub fn random_request(rng: &mut Rng, key: Key, value: impl FnOnce(&mut Rng) -> String) -> Request {
    let roll = rng.range(0, 99);
    if roll < 45 {
        Request::Put {
            key,
            value: value(rng).into(),
            cl: rng.pick(&WRITE_LEVELS).unwrap_or(Consistency::One),
        }
    } else if roll < 85 {
        Request::Get {
            key,
            cl: rng.pick(&READ_LEVELS).unwrap_or(Consistency::One),
        }
    } else {
        Request::Delete {
            key,
            cl: rng.pick(&WRITE_LEVELS).unwrap_or(Consistency::One),
        }
    }
}

/// A put's value: `tag` (unique per put, so a read names the write it
/// saw), now and then padded to a large value, up to the largest a value
/// may be.
pub fn value(rng: &mut Rng, tag: &str) -> String {
    let mut v = tag.to_string();
    if rng.chance(0.02) {
        let len = rng.range(v.len() as u64, MAX_VALUE_BYTES as u64) as usize;
        // One fill, not a char at a time: these values are up to a MiB.
        v.push_str(&"x".repeat(len - v.len()));
    }
    v
}

/// One fault drawn from `rng` for the cluster as it is now, with its kind
/// for the sweep's count; `None` when the draw fits nothing (say, a
/// restart with every node up).
fn draw_fault(rng: &mut Rng, sim: &Sim, nodes: &[NodeId]) -> Option<(&'static str, Action)> {
    let down: Vec<NodeId> = nodes.iter().copied().filter(|&n| !sim.is_up(n)).collect();
    let up: Vec<NodeId> = nodes.iter().copied().filter(|&n| sim.is_up(n)).collect();
    // One node or all of them, for the clock faults.
    let one_or_all = |rng: &mut Rng| {
        if rng.chance(0.3) {
            None
        } else {
            rng.pick(nodes)
        }
    };
    match rng.range(0, 13) {
        0 | 1 => rng.pick(&up).map(|node| ("crash", Action::Crash { node })),
        2 | 3 => rng
            .pick(&down)
            .map(|node| ("restart", Action::Restart { node })),
        4 => {
            let a = rng.pick(nodes)?;
            let b = rng.pick(nodes)?;
            (a != b).then_some(("cut", Action::Cut { a, b }))
        }
        5 => {
            let split = rng.range(1, nodes.len().max(2) as u64 - 1) as usize;
            let mut shuffled = nodes.to_vec();
            for j in (1..shuffled.len()).rev() {
                shuffled.swap(j, rng.range(0, j as u64) as usize);
            }
            let (a, b) = shuffled.split_at(split.min(shuffled.len()));
            Some((
                "partition",
                Action::Partition {
                    side_a: a.to_vec(),
                    side_b: b.to_vec(),
                },
            ))
        }
        6 => Some(("heal", Action::HealAll)),
        7 => {
            let node = one_or_all(rng);
            let by_us = rng.range(1_000, 2_000_000) as i64;
            Some(("clock step forward", Action::StepClock { node, by_us }))
        }
        8 => {
            let node = one_or_all(rng);
            let by_us = -(rng.range(1_000, 2_000_000) as i64);
            Some(("clock step back", Action::StepClock { node, by_us }))
        }
        9 => {
            let node = one_or_all(rng);
            let us = rng.range(10_000, 1_500_000);
            Some(("suspend", Action::Suspend { node, us }))
        }
        10 => (!up.is_empty()).then_some(("crash all", Action::CrashAll)),
        11 => {
            // Mostly in a torn tail when a crash left one: such tails are
            // rare (a crash must keep part of an unsynced write), and
            // damage anywhere else is common.
            let torn: Vec<NodeId> = down
                .iter()
                .copied()
                .filter(|&n| {
                    let (tail, end) = sim.unsynced_bytes(n);
                    tail < end
                })
                .collect();
            let node = if !torn.is_empty() && rng.chance(0.9) {
                rng.pick(&torn)?
            } else {
                rng.pick(&down)?
            };
            let (tail, end) = sim.unsynced_bytes(node);
            let pick = if tail < end && rng.chance(0.9) {
                rng.range(tail, end - 1)
            } else {
                rng.next_u64()
            };
            Some(("log byte damaged", Action::CorruptLog { node, pick }))
        }
        _ => {
            // A refused node stays down until its log is put back.
            let node = down.iter().copied().find(|&n| sim.is_damaged(n))?;
            Some(("log restored", Action::RestoreLog { node }))
        }
    }
}
