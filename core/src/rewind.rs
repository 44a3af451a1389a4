//! Rewind, scrub and fork a simulated run.
//!
//! A [`Timeline`] owns a [`Sim`] and the script of actions taken, each
//! tagged with the event index it followed and the time it was taken at.
//! The simulator is deterministic, so the cluster at any event index is a
//! function of the start config and the script: going back restores the
//! nearest earlier checkpoint (a clone of the sim, taken every
//! `checkpoint_every` events) and replays forward from it. Acting at an
//! earlier point forks: the future after that point is dropped, the
//! script up to it is kept, so a share link (config + script) carries the
//! fork.

use crate::event::TraceEntry;
use crate::sim::{Action, Sim, SimConfig};
use crate::types::Micros;
use serde::{Deserialize, Serialize};

/// Events between checkpoints when none is given: a rewind replays at
/// most this many, and a checkpoint costs one clone of the cluster.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 256;

/// Checkpoints a timeline keeps at most. A class can leave a page running
/// for an hour; past this, the older half is thinned (every other one
/// dropped, the run's start kept), so memory stays bounded while recent
/// moments stay quick to reach and older ones take a longer replay.
pub const MAX_CHECKPOINTS: usize = 128;

/// One scripted action: taken after `after_event` events, at `at_us`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scripted {
    pub after_event: u64,
    pub at_us: Micros,
    pub action: Action,
}

/// A run that can go back and fork. See the module docs.
pub struct Timeline {
    config: SimConfig,
    script: Vec<Scripted>,
    sim: Sim,
    /// Trace entries the sim at the cursor has produced along this history.
    produced: usize,
    /// Clones of the sim taken right after event `k` (k a multiple of
    /// `every`), before the actions scripted at `k`, with their `produced`;
    /// ascending.
    checkpoints: Vec<Checkpoint>,
    every: u64,
    /// The furthest event reached on this history.
    head: u64,
    /// The trace of this history, each entry tagged with the number of
    /// events processed when it was recorded.
    trace: Vec<(u64, TraceEntry)>,
}

struct Checkpoint {
    event: u64,
    produced: usize,
    sim: Sim,
}

impl Timeline {
    pub fn new(config: SimConfig) -> Timeline {
        Timeline::with_checkpoints(config, DEFAULT_CHECKPOINT_EVERY)
    }

    pub fn with_checkpoints(config: SimConfig, every: u64) -> Timeline {
        let mut t = Timeline {
            sim: Sim::new(config.clone()),
            config,
            script: Vec::new(),
            produced: 0,
            checkpoints: Vec::new(),
            every: every.max(1),
            head: 0,
            trace: Vec::new(),
        };
        t.record();
        t.checkpoints.push(Checkpoint {
            event: 0,
            produced: t.produced,
            sim: t.sim.clone(),
        });
        t
    }

    /// Rebuilds a shared run from its config and script, played up to
    /// `until_event` (at least to the last scripted action's event).
    pub fn from_script(config: SimConfig, mut script: Vec<Scripted>, until_event: u64) -> Timeline {
        let mut t = Timeline::new(config);
        script.sort_by_key(|s| s.after_event);
        let last = script.last().map_or(0, |s| s.after_event);
        t.script = script;
        t.apply_scripted(0);
        t.seek(until_event.max(last));
        t
    }

    /// The cluster as it is at the cursor.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }
    pub fn config(&self) -> &SimConfig {
        &self.config
    }
    /// Every action of this history, in order: with the config, all a
    /// share link needs.
    pub fn script(&self) -> &[Scripted] {
        &self.script
    }
    /// Events processed so far: where the cursor is.
    pub fn cursor(&self) -> u64 {
        self.sim.stats().steps
    }
    /// The furthest event this history has reached.
    pub fn head(&self) -> u64 {
        self.head
    }
    /// How many trace entries the history holds up to the cursor.
    pub fn produced(&self) -> usize {
        self.produced
    }
    /// True when acting now extends the history; false when it would
    /// fork (the cursor is behind the furthest point reached, or actions
    /// are scripted after it).
    pub fn at_head(&self) -> bool {
        let k = self.cursor();
        k >= self.head
            && self.produced == self.trace.len()
            && !self.script.iter().any(|s| s.after_event > k)
    }
    /// Every trace entry recorded up to the cursor.
    pub fn trace(&self) -> impl Iterator<Item = &TraceEntry> {
        self.trace[..self.produced].iter().map(|(_, e)| e)
    }
    /// The whole history's trace, with the event count each entry was
    /// recorded at (a timeline draws marks beyond the cursor too).
    pub fn full_trace(&self) -> &[(u64, TraceEntry)] {
        &self.trace
    }

    /// Takes an action now. Behind the head this forks: everything after
    /// the cursor is forgotten.
    pub fn act(&mut self, action: Action) {
        let k = self.cursor();
        if !self.at_head() {
            self.script.retain(|s| s.after_event <= k);
            self.checkpoints.retain(|c| c.event <= k);
            self.trace.truncate(self.produced);
            self.head = k;
        }
        self.script.push(Scripted {
            after_event: k,
            at_us: self.sim.now(),
            action: action.clone(),
        });
        self.sim.apply(action);
        self.record();
    }

    /// One event forward; false when nothing is scheduled.
    pub fn forward(&mut self) -> bool {
        if !self.sim.step() {
            return false;
        }
        self.record();
        let k = self.cursor();
        if k > self.head {
            self.head = k;
            if k.is_multiple_of(self.every) {
                self.checkpoints.push(Checkpoint {
                    event: k,
                    produced: self.produced,
                    sim: self.sim.clone(),
                });
                self.thin_checkpoints();
            }
        }
        self.apply_scripted(k);
        true
    }

    /// One event back.
    pub fn back(&mut self) {
        let k = self.cursor();
        if k > 0 {
            self.seek(k - 1);
        }
    }

    /// Runs forward to simulated time `t`, as [`Sim::run_until`] does.
    /// Behind the head this replays the recorded history; past it, it
    /// extends it.
    pub fn run_until(&mut self, t: Micros) {
        while let Some(at) = self.sim.next_at() {
            if at > t {
                break;
            }
            self.forward();
        }
        self.sim.set_clock(t);
    }

    /// Puts the cursor at event `k` (or as far as the run goes): from the
    /// nearest checkpoint at or before `k`, replayed forward.
    pub fn seek(&mut self, k: u64) {
        if k < self.cursor() {
            let i = self.checkpoints.partition_point(|c| c.event <= k) - 1;
            let c = &self.checkpoints[i];
            let event = c.event;
            self.sim = c.sim.clone();
            self.produced = c.produced;
            self.apply_scripted(event);
        }
        while self.cursor() < k {
            if !self.forward() {
                break;
            }
        }
    }

    /// Checkpoints held now (at most [`MAX_CHECKPOINTS`]).
    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.len()
    }

    /// Past [`MAX_CHECKPOINTS`], drops every other checkpoint of the older
    /// half, keeping the run's start and the newer half whole.
    fn thin_checkpoints(&mut self) {
        let n = self.checkpoints.len();
        if n <= MAX_CHECKPOINTS {
            return;
        }
        let older = n - MAX_CHECKPOINTS / 2;
        let mut i = 0;
        self.checkpoints.retain(|_| {
            let keep = i == 0 || i >= older || i % 2 == 0;
            i += 1;
            keep
        });
    }

    /// Applies the actions scripted after event `k`, each at its time.
    fn apply_scripted(&mut self, k: u64) {
        let from = self.script.partition_point(|s| s.after_event < k);
        let to = self.script.partition_point(|s| s.after_event <= k);
        for i in from..to {
            let (at, action) = (self.script[i].at_us, self.script[i].action.clone());
            self.sim.set_clock(at);
            self.sim.apply(action);
        }
        self.record();
    }

    /// Takes the sim's new trace entries into the history's trace. On a
    /// replay of known history they are already there (the run is
    /// deterministic), so only entries past its end are added.
    fn record(&mut self) {
        let k = self.cursor();
        for e in self.sim.drain_trace() {
            if self.produced == self.trace.len() {
                self.trace.push((k, e));
            }
            self.produced += 1;
        }
    }
}
