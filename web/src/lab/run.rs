//! A lab run as the page drives it: `core::lab`'s trials in slices of a
//! few milliseconds (one per animation frame, so the page never
//! freezes), the PBS model's predictions computed once at the start, and
//! the speed achieved.

use super::plot::Measured;
use ringside_core::lab::{pbs, Lab, LabConfig, LabResult};

/// Monte Carlo draws for the model's curve and for each level's share.
const MODEL_DRAWS: usize = 20_000;
const LEVEL_DRAWS: usize = 4_000;
/// The model's curve is drawn through this many points (it is cheap, so
/// smoother than the measured one).
const MODEL_POINTS: u64 = 60;
/// Moments within the write interval averaged for a level's model share.
const LEVEL_MOMENTS: u64 = 20;

/// What the PBS model predicts for one read level.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelModel {
    /// The share of stale reads by WARS, for a read at a random moment
    /// within one write interval after the acknowledgement.
    pub wars_stale: f64,
    /// The closed form's chance that the R replicas read include none of
    /// the W that acknowledged: stale reads can be at most this common.
    pub miss: f64,
}

/// The model's predictions for a lab's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// (t in ms, probability a read then returns the write).
    pub curve: Vec<(f64, f64)>,
    /// One per level of the lab's result, in its order.
    pub levels: Vec<LevelModel>,
}

impl Prediction {
    pub fn of(lab: &Lab) -> Prediction {
        let c = lab.config();
        let until_us = c.ts_ms.last().copied().unwrap_or(0) * 1000;
        let ts: Vec<u64> = (0..=MODEL_POINTS)
            .map(|i| until_us * i / MODEL_POINTS)
            .collect();
        let wars = c.wars();
        let p = pbs::t_visibility(c.n, c.r, c.w, &wars, &ts, MODEL_DRAWS, c.seed ^ 0x9b5);
        let curve = ts.iter().map(|&t| t as f64 / 1000.0).zip(p).collect();
        let interval_us = (1e6 / c.writes_per_s) as u64;
        // Midpoints of equal slices of the interval.
        let moments: Vec<u64> = (0..LEVEL_MOMENTS)
            .map(|i| interval_us * (2 * i + 1) / (2 * LEVEL_MOMENTS))
            .collect();
        let levels = lab
            .result()
            .levels
            .iter()
            .map(|(count, _, _)| {
                let p = pbs::t_visibility(c.n, *count, c.w, &wars, &moments, LEVEL_DRAWS, c.seed);
                LevelModel {
                    wars_stale: 1.0 - p.iter().sum::<f64>() / p.len() as f64,
                    miss: pbs::miss_probability(c.n, *count, c.w),
                }
            })
            .collect();
        Prediction { curve, levels }
    }
}

/// A run in progress (or stopped, or done).
pub struct LabRun {
    lab: Lab,
    pub prediction: Prediction,
    /// Wall-clock ms spent so far, from the start to the last slice.
    elapsed_ms: f64,
    started_ms: f64,
    pub stopped: bool,
}

impl LabRun {
    /// A run of `config` (checked again here), started at `now_ms`.
    pub fn start(config: LabConfig, now_ms: f64) -> Result<LabRun, String> {
        let lab = Lab::new(config)?;
        let prediction = Prediction::of(&lab);
        Ok(LabRun {
            lab,
            prediction,
            elapsed_ms: 0.0,
            started_ms: now_ms,
            stopped: false,
        })
    }

    pub fn config(&self) -> &LabConfig {
        self.lab.config()
    }
    pub fn result(&self) -> &LabResult {
        self.lab.result()
    }
    /// True while slices are still to come.
    pub fn running(&self) -> bool {
        !self.stopped && !self.lab.finished()
    }

    /// Runs trials until `budget_ms` of `clock` have passed (at least one
    /// cluster of them, so every slice makes progress) or the run is done.
    pub fn slice(&mut self, clock: &mut dyn FnMut() -> f64, budget_ms: f64) {
        if !self.running() {
            return;
        }
        let t0 = clock();
        loop {
            self.lab.step(1);
            let now = clock();
            self.elapsed_ms = now - self.started_ms;
            if self.lab.finished() || now - t0 >= budget_ms {
                return;
            }
        }
    }

    /// Trials per wall-clock second since the start, drawing included.
    pub fn trials_per_s(&self) -> f64 {
        if self.elapsed_ms <= 0.0 {
            return 0.0;
        }
        self.result().done as f64 * 1000.0 / self.elapsed_ms
    }

    pub fn elapsed_ms(&self) -> f64 {
        self.elapsed_ms
    }

    /// The curve's points measured so far (those with a read).
    pub fn measured(&self) -> Vec<Measured> {
        self.config()
            .ts_ms
            .iter()
            .zip(&self.result().curve)
            .filter(|(_, t)| t.fresh + t.stale > 0)
            .map(|(&t, tally)| Measured {
                t_ms: t as f64,
                p: tally.p_fresh(),
                fresh: tally.fresh,
                reads: tally.fresh + tally.stale,
            })
            .collect()
    }
}
