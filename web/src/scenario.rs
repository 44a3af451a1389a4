//! Guided scenarios: one per feature of the original classroom system,
//! each a script of steps. A step does something (actions), waits for it
//! to play out, checks what a student should now see, and explains it.
//!
//! The [`Runner`] only reads the [`ClusterView`] and hands back actions,
//! so a scenario plays the same on any backend that accepts actions, and
//! runs headless in the unit tests.

use crate::state::ClusterView;
use ringside_core::check::Outcome;
use ringside_core::sim::{delete, get, put, Action};
use ringside_core::{Consistency, Key, Micros, NodeId};

/// Simulated time a finished step stays on screen before the next one.
pub const READ_PAUSE_US: Micros = 400_000;
/// Long enough for every failure detector to notice a crash or a restart
/// (failure timeout 450 ms, heartbeats every 100 ms).
const DETECT_MS: u64 = 1_000;

/// How a step knows it is over.
#[derive(Clone, Debug, PartialEq)]
pub enum Wait {
    /// Every request this step sent has been answered.
    Answered,
    /// This much simulated time has passed (fast-forwarded when long).
    Ms(u64),
}

/// What should hold once a step is over.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// `node` holds `value` for `key` (`None`: nothing, or a tombstone).
    Value {
        node: NodeId,
        key: u8,
        value: Option<&'static str>,
    },
    /// `holder` holds `count` hints for `target`.
    Hints {
        holder: NodeId,
        target: NodeId,
        count: usize,
    },
    /// The step's last request ended with this label: `ok`,
    /// `Unavailable`, `Timeout`.
    Outcome(&'static str),
    /// The step's last request was a read that returned this value.
    Read(Option<&'static str>),
}

impl Expect {
    /// `Ok(what held)` or `Err(what was seen instead)`, in words.
    pub fn check(&self, view: &ClusterView, since: usize) -> Result<String, String> {
        match self {
            Expect::Value { node, key, value } => {
                let got = view
                    .nodes
                    .get(node)
                    .and_then(|n| n.data.get(&Key::Int(*key)))
                    .and_then(|v| v.value.clone());
                let want = value.map(str::to_string);
                let say = |v: &Option<String>| match v {
                    Some(v) => format!("node {node} holds {key} = {v:?}"),
                    None => format!("node {node} holds no value for {key}"),
                };
                if got == want {
                    Ok(say(&got))
                } else {
                    Err(format!("expected: {}; but {}", say(&want), say(&got)))
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
                    Outcome::Read { kv } => kv.as_ref().and_then(|kv| kv.value.clone()),
                    other => return Err(format!("{} → {}", r.request, other.label())),
                };
                if got.as_deref() == *value {
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
}

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// What happens and why it matters, shown while the step runs.
    pub say: &'static str,
    pub actions: Vec<Action>,
    pub wait: Wait,
    pub expect: Vec<Expect>,
}

/// A guided scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub id: &'static str,
    pub title: &'static str,
    pub steps: Vec<Step>,
}

fn submit(node: NodeId, request: ringside_core::Request) -> Action {
    Action::Submit { node, request }
}

fn step(say: &'static str, actions: Vec<Action>, wait: Wait, expect: Vec<Expect>) -> Step {
    Step {
        say,
        actions,
        wait,
        expect,
    }
}

fn value(node: NodeId, key: u8, value: Option<&'static str>) -> Expect {
    Expect::Value { node, key, value }
}

/// Every guided scenario, in teaching order. All assume the classic
/// cluster: 4 nodes, byte-ordered tokens, RF 3 (key 137 lives on 2, 3, 0).
pub fn all() -> Vec<Scenario> {
    use Consistency::*;
    vec![
        Scenario {
            id: "replicas",
            title: "Where a key lives: its three replicas",
            steps: vec![
                step(
                    "Key 137 falls in node 2's range (137 / 64 = 2). With RF 3 it is stored on node 2 and the next two nodes clockwise: 3 and 0. Node 0 coordinates a QUORUM write.",
                    vec![submit(0, put(137, "value137", Quorum))],
                    Wait::Answered,
                    vec![Expect::Outcome("ok")],
                ),
                step(
                    "QUORUM (2 of 3) answered, and every replica got the write anyway: nodes 2, 3 and 0 hold 137. Node 1 is not a replica and holds nothing.",
                    vec![],
                    Wait::Ms(100),
                    vec![
                        value(2, 137, Some("value137")),
                        value(3, 137, Some("value137")),
                        value(0, 137, Some("value137")),
                        value(1, 137, None),
                    ],
                ),
            ],
        },
        Scenario {
            id: "quorum-read",
            title: "A QUORUM read returns the newest value",
            steps: vec![
                step(
                    "Write \"old\" to all three replicas (ALL).",
                    vec![submit(0, put(137, "old", All))],
                    Wait::Answered,
                    vec![Expect::Outcome("ok")],
                ),
                step(
                    "Cut the link between node 1 and node 3, then write \"new\" through node 1 at level TWO: nodes 2 and 0 take it, node 3 never hears of it.",
                    vec![Action::Cut { a: 1, b: 3 }, submit(1, put(137, "new", Two))],
                    Wait::Answered,
                    vec![Expect::Outcome("ok"), value(3, 137, Some("old"))],
                ),
                step(
                    "Node 3 still holds \"old\". Read at QUORUM through node 3 itself: it asks 2 replicas; whichever two answer, at least one has \"new\" (2 + 2 > 3), and the newest timestamp wins.",
                    vec![submit(3, get(137, Quorum))],
                    Wait::Answered,
                    vec![Expect::Read(Some("new"))],
                ),
                step(
                    "The coordinator saw an older copy among the answers and repaired it (read repair). Heal the link.",
                    vec![Action::HealAll],
                    Wait::Ms(200),
                    vec![],
                ),
            ],
        },
        Scenario {
            id: "quorum-write-refused",
            title: "A QUORUM write is refused with 2 replicas down",
            steps: vec![
                step(
                    "Crash nodes 2 and 3: two of key 137's three replicas. The others notice within a second (no heartbeats).",
                    vec![Action::Crash { node: 2 }, Action::Crash { node: 3 }],
                    Wait::Ms(DETECT_MS),
                    vec![],
                ),
                step(
                    "Write 137 at QUORUM through node 0. Node 0 knows only one replica (itself) is up, but QUORUM needs 2: it answers Unavailable at once and sends nothing.",
                    vec![submit(0, put(137, "v", Quorum))],
                    Wait::Answered,
                    vec![Expect::Outcome("Unavailable"), value(0, 137, None)],
                ),
                step(
                    "The same write at level ONE succeeds: one live replica is enough. Node 0 also keeps hints for the two dead replicas.",
                    vec![submit(0, put(137, "v", One))],
                    Wait::Answered,
                    vec![
                        Expect::Outcome("ok"),
                        value(0, 137, Some("v")),
                        Expect::Hints {
                            holder: 0,
                            target: 3,
                            count: 1,
                        },
                    ],
                ),
            ],
        },
        Scenario {
            id: "one-read-refused",
            title: "A ONE read is refused with every replica down",
            steps: vec![
                step(
                    "Crash nodes 2, 3 and 0: all of key 137's replicas. Node 1 is still up.",
                    vec![
                        Action::Crash { node: 2 },
                        Action::Crash { node: 3 },
                        Action::Crash { node: 0 },
                    ],
                    Wait::Ms(DETECT_MS),
                    vec![],
                ),
                step(
                    "Read 137 at ONE through node 1. It is not a replica, and no replica is up: Unavailable, even at the weakest level.",
                    vec![submit(1, get(137, One))],
                    Wait::Answered,
                    vec![Expect::Outcome("Unavailable")],
                ),
            ],
        },
        Scenario {
            id: "crash-recovery",
            title: "Crash and recovery from the commit log",
            steps: vec![
                step(
                    "Write \"durable\" to all replicas. Each replica appends it to its commit log before applying it in memory (see the log panels).",
                    vec![submit(0, put(137, "durable", All))],
                    Wait::Answered,
                    vec![Expect::Outcome("ok"), value(2, 137, Some("durable"))],
                ),
                step(
                    "Crash node 2: its memory is gone. Its commit log survives on disk (every record was synced).",
                    vec![Action::Crash { node: 2 }],
                    Wait::Ms(300),
                    vec![],
                ),
                step(
                    "Restart node 2: it replays its commit log and rebuilds its memory; 137 = \"durable\" is back before it talks to anyone.",
                    vec![Action::Restart { node: 2 }],
                    Wait::Ms(0),
                    vec![value(2, 137, Some("durable"))],
                ),
            ],
        },
        Scenario {
            id: "hinted-handoff",
            title: "Hinted handoff after a crash",
            steps: vec![
                step(
                    "Crash node 3, one of key 137's replicas, and wait until the others notice it is down.",
                    vec![Action::Crash { node: 3 }],
                    Wait::Ms(DETECT_MS),
                    vec![],
                ),
                step(
                    "Write 137 at QUORUM through node 0. Nodes 2 and 0 acknowledge, so the write succeeds; node 0 keeps a hint for node 3: the write node 3 missed.",
                    vec![submit(0, put(137, "while-down", Quorum))],
                    Wait::Answered,
                    vec![
                        Expect::Outcome("ok"),
                        Expect::Hints {
                            holder: 0,
                            target: 3,
                            count: 1,
                        },
                    ],
                ),
                step(
                    "Restart node 3. Its own commit log never saw the write, so right after replaying it node 3 has no value for 137.",
                    vec![Action::Restart { node: 3 }],
                    Wait::Ms(0),
                    vec![value(3, 137, None)],
                ),
                step(
                    "Node 3's heartbeats reach node 0, which sees it up again and hands over its hint. Node 3 stores the write; node 0 forgets the hint.",
                    vec![],
                    Wait::Ms(DETECT_MS),
                    vec![
                        value(3, 137, Some("while-down")),
                        Expect::Hints {
                            holder: 0,
                            target: 3,
                            count: 0,
                        },
                    ],
                ),
            ],
        },
        Scenario {
            id: "read-repair",
            title: "Read repair fixes a stale replica",
            steps: vec![
                step(
                    "Write \"old\" to all three replicas.",
                    vec![submit(0, put(137, "old", All))],
                    Wait::Answered,
                    vec![Expect::Outcome("ok")],
                ),
                step(
                    "Cut node 2 off from nodes 3 and 0, and write \"new\" through node 2 at level ONE: only node 2 has it.",
                    vec![
                        Action::Cut { a: 2, b: 3 },
                        Action::Cut { a: 2, b: 0 },
                        submit(2, put(137, "new", One)),
                    ],
                    Wait::Answered,
                    vec![
                        Expect::Outcome("ok"),
                        value(3, 137, Some("old")),
                        value(0, 137, Some("old")),
                    ],
                ),
                step(
                    "Nodes 3 and 0 still hold \"old\". Heal the links and at once read at ALL through node 3. The answers disagree; the coordinator picks the newest, \"new\", and repairs the stale replicas before it replies.",
                    vec![Action::HealAll, submit(3, get(137, All))],
                    Wait::Answered,
                    vec![
                        Expect::Read(Some("new")),
                        value(2, 137, Some("new")),
                        value(3, 137, Some("new")),
                        value(0, 137, Some("new")),
                    ],
                ),
            ],
        },
        Scenario {
            id: "clock-skew",
            title: "Last write wins, under clock skew",
            steps: vec![
                step(
                    "Node 1's clock runs one second fast. Writes take their timestamp from the coordinator's clock.",
                    vec![Action::SetSkew {
                        node: 1,
                        skew_us: 1_000_000,
                    }],
                    Wait::Ms(0),
                    vec![],
                ),
                step(
                    "Write \"from-the-future\" through node 1: its timestamp is a second ahead.",
                    vec![submit(1, put(137, "from-the-future", All))],
                    Wait::Answered,
                    vec![Expect::Outcome("ok")],
                ),
                step(
                    "Now write \"actually-newer\" through node 0, whose clock is right. It happens later, but carries an older timestamp: every replica keeps \"from-the-future\".",
                    vec![submit(0, put(137, "actually-newer", All))],
                    Wait::Answered,
                    vec![Expect::Outcome("ok"), value(2, 137, Some("from-the-future"))],
                ),
                step(
                    "A read returns \"from-the-future\": last write wins means the largest timestamp wins, not the last write in real time. Bad clocks lose writes silently.",
                    vec![submit(2, get(137, All))],
                    Wait::Answered,
                    vec![Expect::Read(Some("from-the-future"))],
                ),
            ],
        },
        Scenario {
            id: "tombstone",
            title: "A delete is a tombstone",
            steps: vec![
                step(
                    "Write 9 = \"x\" to all replicas, then delete it at QUORUM.",
                    vec![submit(0, put(9, "x", All))],
                    Wait::Answered,
                    vec![Expect::Outcome("ok")],
                ),
                step(
                    "The delete writes a tombstone: a version with no value and a newer timestamp, so it wins over \"x\" wherever they meet.",
                    vec![submit(0, delete(9, Quorum))],
                    Wait::Answered,
                    vec![Expect::Outcome("ok")],
                ),
                step(
                    "A read at ALL finds nothing.",
                    vec![submit(1, get(9, All))],
                    Wait::Answered,
                    vec![Expect::Read(None)],
                ),
            ],
        },
    ]
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
    Done,
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
                match self.scenario.steps.get(self.step) {
                    None => {
                        self.step = self.scenario.steps.len().saturating_sub(1);
                        self.phase = Phase::Done;
                        Vec::new()
                    }
                    Some(s) => {
                        self.phase = Phase::Waiting {
                            since_us: now,
                            requests_before: view.requests.len(),
                        };
                        s.actions.clone()
                    }
                }
            }
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
                    Wait::Ms(ms) => now >= since_us + ms * 1000,
                };
                if !over {
                    return Vec::new();
                }
                for e in &s.expect {
                    let (ok, text) = match e.check(view, requests_before) {
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
    fn every_scenario_runs_to_the_end_and_every_check_holds() {
        for s in all() {
            let id = s.id;
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
