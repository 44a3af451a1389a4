//! The staleness lab: seeded trials in the simulator measure how likely a
//! read started `t` ms after a write was acknowledged is to return it,
//! and how many reads at each level are stale; [`pbs`] computes what the
//! PBS model predicts for the same parameters, on its own.
//!
//! One trial: a write at level W to a fresh key, then one read. Curve
//! trials read at level R, `t` after the write's acknowledgement (the `t`
//! values taken in turn); level trials read at each level in turn, at a
//! time drawn uniformly within one write interval (`1 / write rate`) of
//! the acknowledgement, as a read between two writes of a steady stream
//! would. Each trial uses its own key, and trials are spaced apart, so
//! that they do not meet on the in-order links.
//!
//! To match the model's assumptions the lab's cluster has N replicas per
//! key plus two nodes that are not replicas of it: one coordinates the
//! write, the other the read (a read sent on the same link after the
//! write could never overtake it). Read repair and anti-entropy are off
//! unless asked for, timeouts are long (no hints), heartbeats rare, and
//! the disk syncs in no time (the model counts only the network's delays).
//!
//! Work is done in slices ([`Lab::step`]) so a page can draw between them.

pub mod pbs;

use crate::check::Outcome;
use crate::sim::{Latency, Sim, SimConfig};
use crate::types::{Consistency, Key, Micros, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Trials in one simulated cluster: one per integer key.
const TRIALS_PER_SIM: usize = 256;

/// The slowest write rate a lab takes: a write every 10 s. Trials start
/// at least a write interval apart and run a cluster's every timer between
/// them, so a slower rate only makes each batch of trials simulate longer,
/// down to a batch that holds the page's thread for minutes.
pub const MIN_WRITES_PER_S: f64 = 0.1;

/// What a lab run is asked to measure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabConfig {
    /// Replicas per key (N).
    pub n: usize,
    /// Replicas a read waits for (R) and a write waits for (W).
    pub r: usize,
    pub w: usize,
    /// Latency of each leg: write, its acknowledgement, read, its answer.
    pub write: Latency,
    pub ack: Latency,
    pub read: Latency,
    pub response: Latency,
    /// Writes per second of the steady stream the level trials assume.
    pub writes_per_s: f64,
    /// The curve's points, in ms after the acknowledgement.
    pub ts_ms: Vec<u64>,
    pub trials: usize,
    pub seed: u64,
    /// Leave read repair on (the model leaves it out).
    pub read_repair: bool,
}

impl LabConfig {
    /// A small classroom default: N = 3, R = W = 1, a slow write leg.
    pub fn classroom() -> LabConfig {
        let exp = |mean_us| Latency::Exponential {
            min_us: 200,
            mean_us,
        };
        LabConfig {
            n: 3,
            r: 1,
            w: 1,
            write: exp(10_000),
            ack: exp(2_000),
            read: exp(2_000),
            response: exp(2_000),
            writes_per_s: 20.0,
            ts_ms: vec![0, 1, 2, 5, 10, 20, 50, 100],
            trials: 2_000,
            seed: 1,
            read_repair: false,
        }
    }

    /// Checks the settings; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=7).contains(&self.n) {
            return Err(format!("n: 1 to 7 replicas, got {}", self.n));
        }
        level_for(self.r, self.n).map_err(|e| format!("r: {e}"))?;
        level_for(self.w, self.n).map_err(|e| format!("w: {e}"))?;
        if !(self.writes_per_s.is_finite() && self.writes_per_s >= MIN_WRITES_PER_S) {
            return Err(format!(
                "writes_per_s: at least {MIN_WRITES_PER_S} (a write every 10 s), got {}",
                self.writes_per_s
            ));
        }
        if self.ts_ms.is_empty() {
            return Err("ts_ms: the curve needs at least one point".into());
        }
        Ok(())
    }

    pub fn wars(&self) -> pbs::Wars {
        pbs::Wars {
            w: self.write,
            a: self.ack,
            r: self.read,
            s: self.response,
        }
    }

    /// How far apart trials start: past the longest curve point and the
    /// write interval, plus the latency tails many times over.
    fn gap_us(&self) -> Micros {
        let legs = [self.write, self.ack, self.read, self.response];
        let tail = legs.iter().map(|l| l.mean_us()).fold(0.0, f64::max) * 20.0;
        let longest_t = self.ts_ms.iter().max().copied().unwrap_or(0) * 1000;
        longest_t.max(self.interval_us()) + tail as Micros + 1_000
    }

    fn interval_us(&self) -> Micros {
        (1e6 / self.writes_per_s) as Micros
    }
}

/// The consistency level that waits for `count` of `n` replicas.
pub fn level_for(count: usize, n: usize) -> Result<Consistency, String> {
    let level = match count {
        _ if count == n => Consistency::All,
        1 => Consistency::One,
        2 => Consistency::Two,
        3 => Consistency::Three,
        _ if count == n / 2 + 1 => Consistency::Quorum,
        _ => {
            return Err(format!(
            "no level waits for {count} of {n} replicas (ONE, TWO, THREE, QUORUM = {}, ALL = {n})",
            n / 2 + 1
        ))
        }
    };
    if count == 0 || count > n {
        return Err(format!("{count} of {n} replicas"));
    }
    Ok(level)
}

/// Counts for one point of a curve or one level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub fresh: usize,
    pub stale: usize,
    /// Reads that got no answer (none should: timeouts are long).
    pub failed: usize,
}

impl Tally {
    /// The measured probability of a fresh read.
    pub fn p_fresh(&self) -> f64 {
        let n = self.fresh + self.stale;
        if n == 0 {
            0.0
        } else {
            self.fresh as f64 / n as f64
        }
    }
}

/// How far a run has got, and what it measured so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LabResult {
    pub done: usize,
    pub total: usize,
    /// One per `ts_ms` point, at level R.
    pub curve: Vec<Tally>,
    /// One per read count `1..=n` that has a level, with that level.
    pub levels: Vec<(usize, Consistency, Tally)>,
}

/// A lab run in progress. See the module docs.
pub struct Lab {
    config: LabConfig,
    result: LabResult,
    batch: u64,
}

/// What one trial reads, and with what level.
#[derive(Clone, Copy)]
enum ReadKind {
    Curve(usize),
    Level(usize),
}

impl Lab {
    pub fn new(config: LabConfig) -> Result<Lab, String> {
        config.validate()?;
        let levels = (1..=config.n)
            .filter_map(|c| {
                level_for(c, config.n)
                    .ok()
                    .map(|l| (c, l, Tally::default()))
            })
            .collect();
        let result = LabResult {
            done: 0,
            total: config.trials,
            curve: vec![Tally::default(); config.ts_ms.len()],
            levels,
        };
        Ok(Lab {
            config,
            result,
            batch: 0,
        })
    }

    pub fn config(&self) -> &LabConfig {
        &self.config
    }
    pub fn result(&self) -> &LabResult {
        &self.result
    }
    pub fn finished(&self) -> bool {
        self.result.done >= self.result.total
    }

    /// Runs at least `budget` more trials (whole clusters of trials at a
    /// time, up to what is left); returns the progress.
    pub fn step(&mut self, budget: usize) -> &LabResult {
        let goal = (self.result.done + budget.max(1)).min(self.result.total);
        while self.result.done < goal {
            let n = (self.result.total - self.result.done).min(TRIALS_PER_SIM);
            self.run_batch(n);
            self.result.done += n;
        }
        &self.result
    }

    fn sim_config(&self) -> SimConfig {
        let c = &self.config;
        // Two more nodes than replicas: a write coordinator and a read
        // coordinator outside every key's replica set.
        let mut s = SimConfig::with_nodes(c.seed.wrapping_add(self.batch * 7_919), c.n + 2);
        s.trace = false;
        s.cluster.rf = c.n;
        s.cluster.read_repair = c.read_repair;
        s.cluster.anti_entropy_interval_ms = 0;
        s.cluster.request_timeout_ms = 600_000;
        s.cluster.heartbeat_interval_ms = 3_600_000;
        s.cluster.failure_timeout_ms = 7_200_000;
        s.disk = crate::sim::DiskConfig {
            sync_min_us: 0,
            sync_max_us: 0,
        };
        s.sync = crate::durability::Policy::Batch {
            group_window_us: 0,
            lazy_window_us: 0,
        };
        for (kind, l) in [
            ("write", c.write),
            ("write_ack", c.ack),
            ("read", c.read),
            ("read_reply", c.response),
        ] {
            s.latency_by_kind.insert(kind.to_string(), l);
        }
        s
    }

    fn run_batch(&mut self, count: usize) {
        let mut sim = Sim::new(self.sim_config());
        self.batch += 1;
        let c = self.config.clone();
        let w_level = level_for(c.w, c.n).unwrap_or(Consistency::All);
        let gap = c.gap_us();
        let interval = c.interval_us();
        let mut rng = crate::sim::Rng::new(c.seed ^ self.batch.wrapping_mul(0x9e37));
        let kinds = c.ts_ms.len() + self.result.levels.len();
        let nodes = sim.node_ids();
        // Per trial: key, write and read coordinators, what it reads.
        let trials: Vec<(Key, NodeId, NodeId, ReadKind)> = (0..count)
            .map(|j| {
                let key = Key::Int(j as u8);
                let replicas = sim.ring().replicas(&key);
                let outside: Vec<NodeId> = nodes
                    .iter()
                    .copied()
                    .filter(|n| !replicas.contains(n))
                    .collect();
                let slot = (self.result.done + j) % kinds;
                let kind = if slot < c.ts_ms.len() {
                    ReadKind::Curve(slot)
                } else {
                    ReadKind::Level(slot - c.ts_ms.len())
                };
                (key, outside[0], outside[1], kind)
            })
            .collect();
        let mut writes: Vec<Option<usize>> = vec![None; count];
        let mut reads: Vec<Option<usize>> = vec![None; count];
        // Reads due: time -> trial.
        let mut due: BTreeMap<(Micros, usize), ()> = BTreeMap::new();
        let mut waiting: Vec<usize> = Vec::new();
        let mut next_write = 0usize;
        let start = sim.now() + 1_000;
        loop {
            let write_at = (next_write < count).then(|| start + next_write as Micros * gap);
            let read_at = due.keys().next().map(|k| k.0);
            let sched = match (write_at, read_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let event_at = sim.next_at();
            match sched {
                Some(t) if event_at.is_none_or(|e| e > t) => {
                    sim.run_until(t);
                    if write_at == Some(t) {
                        let (key, wc, _, _) = &trials[next_write];
                        let request = crate::message::Request::Put {
                            key: key.clone(),
                            value: "new".into(),
                            cl: w_level,
                        };
                        sim.submit(*wc, request);
                        writes[next_write] = Some(sim.history().ops.len() - 1);
                        waiting.push(next_write);
                        next_write += 1;
                    } else if let Some(((_, j), ())) = due.pop_first() {
                        let (key, _, rc, kind) = &trials[j];
                        let cl = match kind {
                            ReadKind::Curve(_) => level_for(c.r, c.n).unwrap_or(Consistency::All),
                            ReadKind::Level(i) => self.result.levels[*i].1,
                        };
                        sim.submit(
                            *rc,
                            crate::message::Request::Get {
                                key: key.clone(),
                                cl,
                            },
                        );
                        reads[j] = Some(sim.history().ops.len() - 1);
                    }
                }
                _ if sched.is_none() && waiting.is_empty() => break,
                _ => {
                    if !sim.step() {
                        break;
                    }
                }
            }
            // Writes just acknowledged schedule their read.
            waiting.retain(|&j| {
                let op = &sim.history().ops[writes[j].unwrap_or(0)];
                let Some(acked) = op.complete_us else {
                    return true;
                };
                let after = match trials[j].3 {
                    ReadKind::Curve(i) => c.ts_ms[i] * 1000,
                    ReadKind::Level(_) => rng.range(0, interval),
                };
                due.insert((acked + after, j), ());
                false
            });
        }
        sim.run_until_answered(1_200_000_000);
        for (j, read) in reads.iter().enumerate() {
            let Some(idx) = read else { continue };
            let tally = match trials[j].3 {
                ReadKind::Curve(i) => &mut self.result.curve[i],
                ReadKind::Level(i) => &mut self.result.levels[i].2,
            };
            match &sim.history().ops[*idx].outcome {
                Outcome::Read { kv: Some(_) } => tally.fresh += 1,
                Outcome::Read { kv: None } => tally.stale += 1,
                _ => tally.failed += 1,
            }
        }
    }

    /// The PBS model's prediction for the same parameters: t-visibility at
    /// each curve point, by `trials` Monte Carlo draws.
    pub fn model_curve(&self, trials: usize) -> Vec<f64> {
        let c = &self.config;
        let ts: Vec<u64> = c.ts_ms.iter().map(|t| t * 1000).collect();
        pbs::t_visibility(c.n, c.r, c.w, &c.wars(), &ts, trials, c.seed ^ 0x9b5)
    }
}
