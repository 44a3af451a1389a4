//! Guided scenarios: one per feature of the original classroom system,
//! each a script of steps. A step does something (actions), waits for it
//! to play out, checks what a student should now see, and explains it.
//!
//! The [`Runner`] only reads the [`ClusterView`] and hands back actions,
//! so a scenario plays the same on any backend that accepts actions, and
//! runs headless in the unit tests.

use crate::state::ClusterView;
use ringside_core::check::Outcome;
use ringside_core::sim::Action;
use ringside_core::{Key, Micros};

/// Simulated time a finished step stays on screen before the next one.
pub const READ_PAUSE_US: Micros = 400_000;

pub use ringside_core::lesson::{Expect, Lesson as Scenario, Prediction, Step, Wait};

/// Checks an expectation against the view: `Ok(what held)` or `Err(what
/// was seen instead)`, in words.
pub fn check(e: &Expect, view: &ClusterView, since: usize) -> Result<String, String> {
    match e {
        Expect::Value { node, key, value } => {
            let got = view
                .nodes
                .get(node)
                .and_then(|n| n.data.get(&Key::Int(*key)))
                .and_then(|v| v.value.as_deref().map(str::to_string));
            let say = |v: &Option<String>| match v {
                Some(v) => format!("node {node} holds {key} = {v:?}"),
                None => format!("node {node} holds no value for {key}"),
            };
            if got == *value {
                Ok(say(&got))
            } else {
                Err(format!("expected: {}; but {}", say(value), say(&got)))
            }
        }
        Expect::Hints {
            holder,
            target,
            count,
        } => {
            let got = view.nodes.get(holder).map_or(0, |n| {
                n.hints.values().filter(|h| h.target == *target).count()
            });
            let say = |c: usize| format!("node {holder} holds {c} hint(s) for node {target}");
            if got == *count {
                Ok(say(got))
            } else {
                Err(format!("expected: {}; but {}", say(*count), say(got)))
            }
        }
        Expect::Outcome(label) => {
            let r = view
                .requests
                .iter()
                .skip(since)
                .last()
                .ok_or("no request was sent")?;
            let got = r.outcome.label().to_string();
            if got == *label {
                Ok(format!("{} → {got}", r.request))
            } else {
                Err(format!("{} → {got}, expected {label}", r.request))
            }
        }
        Expect::Read(value) => {
            let r = view
                .requests
                .iter()
                .skip(since)
                .last()
                .ok_or("no request was sent")?;
            let got = match &r.outcome {
                Outcome::Read { kv } => kv
                    .as_ref()
                    .and_then(|kv| kv.value.as_deref().map(str::to_string)),
                other => return Err(format!("{} → {}", r.request, other.label())),
            };
            if got == *value {
                Ok(format!(
                    "{} returned {:?}",
                    r.request,
                    got.unwrap_or_default()
                ))
            } else {
                Err(format!(
                    "{} returned {got:?}, expected {value:?}",
                    r.request
                ))
            }
        }
    }
}

/// The built-in lessons, in teaching order: files in `lessons/`, read
/// through the same parser as a lesson a teacher loads.
const BUILTIN: [&str; 9] = [
    include_str!("../../lessons/1-replicas.toml"),
    include_str!("../../lessons/2-quorum-read.toml"),
    include_str!("../../lessons/3-quorum-write-refused.toml"),
    include_str!("../../lessons/4-one-read-refused.toml"),
    include_str!("../../lessons/5-crash-recovery.toml"),
    include_str!("../../lessons/6-hinted-handoff.toml"),
    include_str!("../../lessons/7-read-repair.toml"),
    include_str!("../../lessons/8-clock-skew.toml"),
    include_str!("../../lessons/9-tombstone.toml"),
];

/// Every built-in lesson. They all assume the classic cluster: 4 nodes,
/// byte-ordered tokens, RF 3 (key 137 lives on 2, 3, 0). A built-in that
/// did not parse is left out (the core's tests parse every one).
pub fn all() -> Vec<Scenario> {
    BUILTIN
        .iter()
        .filter_map(|text| ringside_core::lesson::parse(text).ok())
        .collect()
}

/// The text of the built-in lesson `id`.
pub fn builtin_text(id: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .copied()
        .find(|text| ringside_core::lesson::parse(text).is_ok_and(|l| l.id == id))
}

/// Where a running scenario is.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Step `step`'s actions are out; waiting for them to play out.
    Waiting {
        since_us: Micros,
        requests_before: usize,
    },
    /// Step finished and checked; shown until `until_us`.
    Reading {
        until_us: Micros,
    },
    /// Step `step` asks its prediction; nothing runs until it is answered.
    Asking,
    /// The prediction is answered: the next poll runs the step.
    Answered,
    Done,
}

/// A prediction's answer, as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerLine {
    pub step: usize,
    pub chosen: usize,
    pub right: bool,
}

/// A check's result, as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckLine {
    pub step: usize,
    pub ok: bool,
    pub text: String,
}

/// Plays a scenario against a view. See the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct Runner {
    pub scenario: Scenario,
    /// The step on screen.
    pub step: usize,
    pub phase: Phase,
    pub checks: Vec<CheckLine>,
    pub answers: Vec<AnswerLine>,
    /// Go on to the next step by itself (else wait for [`Runner::next`]).
    pub auto: bool,
    started: bool,
}

impl Runner {
    pub fn new(scenario: Scenario) -> Runner {
        Runner {
            scenario,
            step: 0,
            phase: Phase::Reading { until_us: 0 },
            checks: Vec::new(),
            answers: Vec::new(),
            auto: true,
            started: false,
        }
    }

    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True when every check so far held.
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The current wait is long and dull (failure detection): the page
    /// may run it faster.
    pub fn fast_forward(&self) -> bool {
        matches!(
            (&self.phase, self.scenario.steps.get(self.step)),
            (Phase::Waiting { .. }, Some(Step { wait: Wait::Ms(ms), .. })) if *ms >= 500
        )
    }

    /// Skips the reading pause: the next poll starts the next step.
    pub fn next(&mut self) {
        if let Phase::Reading { .. } = self.phase {
            self.phase = Phase::Reading { until_us: 0 };
        }
    }

    /// The prediction waiting for an answer, if one is.
    pub fn asking(&self) -> Option<&Prediction> {
        match self.phase {
            Phase::Asking => self.scenario.steps.get(self.step)?.predict.as_ref(),
            _ => None,
        }
    }

    /// Answers the current step's prediction with choice `chosen`; the
    /// step runs on the next poll.
    pub fn answer(&mut self, chosen: usize) {
        if let Some(p) = self.asking() {
            if chosen < p.choices.len() {
                let right = chosen == p.answer;
                self.answers.push(AnswerLine {
                    step: self.step,
                    chosen,
                    right,
                });
                self.phase = Phase::Answered;
            }
        }
    }

    /// Starts step `self.step`: asks its prediction first if it has one
    /// not yet answered, else hands back its actions.
    fn begin_step(&mut self, view: &ClusterView) -> Vec<Action> {
        let Some(s) = self.scenario.steps.get(self.step) else {
            self.step = self.scenario.steps.len().saturating_sub(1);
            self.phase = Phase::Done;
            return Vec::new();
        };
        let answered = self.answers.iter().any(|a| a.step == self.step);
        if s.predict.is_some() && !answered {
            self.phase = Phase::Asking;
            return Vec::new();
        }
        self.phase = Phase::Waiting {
            since_us: view.now_us,
            requests_before: view.requests.len(),
        };
        s.actions.clone()
    }

    /// Called after every update: moves the scenario on, returning the
    /// actions to carry out now.
    pub fn poll(&mut self, view: &ClusterView) -> Vec<Action> {
        let now = view.now_us;
        match self.phase.clone() {
            Phase::Done => Vec::new(),
            Phase::Reading { until_us } => {
                if !self.started {
                    self.started = true;
                } else if now < until_us || (!self.auto && until_us != 0) {
                    return Vec::new();
                } else {
                    self.step += 1;
                }
                self.begin_step(view)
            }
            Phase::Asking => Vec::new(),
            Phase::Answered => self.begin_step(view),
            Phase::Waiting {
                since_us,
                requests_before,
            } => {
                let Some(s) = self.scenario.steps.get(self.step) else {
                    self.phase = Phase::Done;
                    return Vec::new();
                };
                let over = match s.wait {
                    Wait::Answered => view
                        .requests
                        .iter()
                        .skip(requests_before)
                        .all(|r| r.outcome != Outcome::Pending),
                    Wait::Ms(ms) => now >= since_us.saturating_add(ms.saturating_mul(1000)),
                };
                if !over {
                    return Vec::new();
                }
                for e in &s.expect {
                    let (ok, text) = match check(e, view, requests_before) {
                        Ok(t) => (true, t),
                        Err(t) => (false, t),
                    };
                    self.checks.push(CheckLine {
                        step: self.step,
                        ok,
                        text,
                    });
                }
                let last = self.step + 1 == self.scenario.steps.len();
                self.phase = if last {
                    Phase::Done
                } else {
                    Phase::Reading {
                        until_us: now + READ_PAUSE_US,
                    }
                };
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::simulated::{Settings, SimBackend};
    use crate::backend::Backend;

    /// Runs a scenario on a fresh simulated cluster until it is done.
    fn play(s: Scenario) -> Runner {
        let (mut backend, init) = SimBackend::new(Settings::default());
        let mut view = ClusterView::new(backend.topology());
        view.apply_all(init);
        let mut runner = Runner::new(s);
        for _ in 0..10_000 {
            if let Some(p) = runner.asking() {
                let right = p.answer;
                runner.answer(right);
            }
            for a in runner.poll(&view) {
                view.apply_all(backend.act(a).expect("scenario action"));
            }
            if runner.done() {
                return runner;
            }
            view.apply_all(backend.advance(5_000));
        }
        panic!("scenario {} did not finish", runner.scenario.id);
    }

    #[test]
    fn the_nine_built_in_lessons_load_and_each_asks_a_prediction() {
        let all = all();
        assert_eq!(all.len(), 9, "every built-in lesson parses");
        for s in &all {
            assert!(s.steps.iter().any(|st| st.predict.is_some()), "{}", s.id);
        }
    }

    #[test]
    fn a_prediction_holds_its_step_until_answered() {
        let s = all()
            .into_iter()
            .find(|s| s.id == "hinted-handoff")
            .unwrap();
        let (mut backend, init) = SimBackend::new(Settings::default());
        let mut view = ClusterView::new(backend.topology());
        view.apply_all(init);
        let mut r = Runner::new(s);
        for a in r.poll(&view) {
            view.apply_all(backend.act(a).unwrap());
        }
        while r.asking().is_none() {
            r.next();
            for a in r.poll(&view) {
                view.apply_all(backend.act(a).unwrap());
            }
            view.apply_all(backend.advance(50_000));
        }
        assert_eq!(r.step, 2, "the restart step asks first");
        let before = view.requests.len();
        view.apply_all(backend.advance(500_000));
        assert!(r.poll(&view).is_empty(), "nothing runs before the answer");
        assert_eq!(r.phase, Phase::Asking);
        r.answer(0);
        assert_eq!(
            r.answers,
            vec![AnswerLine {
                step: 2,
                chosen: 0,
                right: false
            }]
        );
        assert_eq!(r.poll(&view), vec![Action::Restart { node: 3 }]);
        assert_eq!(view.requests.len(), before);
    }

    #[test]
    fn every_scenario_runs_to_the_end_and_every_check_holds() {
        for s in all() {
            let id = s.id.clone();
            let r = play(s);
            assert!(r.done());
            assert!(!r.checks.is_empty(), "{id} checks something");
            for c in &r.checks {
                assert!(c.ok, "scenario {id}, step {}: {}", c.step + 1, c.text);
            }
        }
    }

    #[test]
    fn long_waits_are_fast_forwarded_and_reading_can_be_skipped() {
        let s = all()
            .into_iter()
            .find(|s| s.id == "hinted-handoff")
            .unwrap();
        let (mut backend, init) = SimBackend::new(Settings::default());
        let mut view = ClusterView::new(backend.topology());
        view.apply_all(init);
        let mut r = Runner::new(s);
        let acts = r.poll(&view);
        assert_eq!(acts, vec![Action::Crash { node: 3 }]);
        assert!(r.fast_forward(), "waiting for detection");
        for a in acts {
            view.apply_all(backend.act(a).unwrap());
        }
        view.apply_all(backend.advance(1_100_000));
        assert!(r.poll(&view).is_empty());
        assert!(matches!(r.phase, Phase::Reading { .. }));
        r.next();
        assert_eq!(r.poll(&view).len(), 1, "the write of step 2 goes out");
        assert_eq!(r.step, 1);
    }
}
