//! Lessons as files a teacher writes: a TOML document with the cluster's
//! settings and the steps of a guided scenario (narration, actions, a
//! wait, expectations, and optionally a prediction to answer before the
//! step runs). `lessons/README.md` documents the format.
//!
//! [`parse`] checks the whole file before anything runs: any error gives
//! the line and the reason, and no lesson comes back half-built.

use crate::sim::Action;
use crate::types::{Consistency, NodeId};
use file::{FileAction, FileExpect, FileWait};
use std::fmt;

mod file;

/// A parsed, checked lesson.
#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    pub cluster: LessonCluster,
    pub steps: Vec<Step>,
}

/// The cluster a lesson runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LessonCluster {
    pub nodes: usize,
    pub rf: usize,
    pub seed: u64,
}

impl Default for LessonCluster {
    /// The classic classroom cluster: 4 nodes, RF 3.
    fn default() -> Self {
        LessonCluster {
            nodes: 4,
            rf: 3,
            seed: 7,
        }
    }
}

/// One step: what is said, what is done, how it ends, what then holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub say: String,
    pub actions: Vec<Action>,
    pub wait: Wait,
    pub expect: Vec<Expect>,
    /// Asked (and answered) before the step's actions run.
    pub predict: Option<Prediction>,
    /// The line of the file the step starts on, for messages.
    pub line: usize,
}

/// How a step knows it is over.
#[derive(Clone, Debug, PartialEq)]
pub enum Wait {
    /// Every request this step sent has been answered.
    Answered,
    /// This much simulated time has passed.
    Ms(u64),
}

/// What should hold once a step is over.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// `node` holds `value` for `key` (`None`: nothing, or a tombstone).
    Value {
        node: NodeId,
        key: u8,
        value: Option<String>,
    },
    /// `holder` holds `count` hints for `target`.
    Hints {
        holder: NodeId,
        target: NodeId,
        count: usize,
    },
    /// The step's last request ended with this label: `ok`,
    /// `Unavailable`, `Timeout`, ...
    Outcome(String),
    /// The step's last request was a read that returned this value.
    Read(Option<String>),
}

/// A question put to the student before a step runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub question: String,
    pub choices: Vec<String>,
    /// Index into `choices`.
    pub answer: usize,
    /// Shown once answered, right or wrong.
    pub why: String,
}

/// A lesson refused: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonError {
    /// 1-based; 0 when the error has no place in the file.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The longest wait a step may ask for. The page plays a lesson for a
/// class to watch, and a minute of simulated time is far past any timeout
/// a lesson shows.
pub const MAX_WAIT_MS: u64 = 60_000;

/// The outcome labels a request can end with (see
/// [`crate::check::Outcome::label`]).
const OUTCOMES: [&str; 6] = [
    "ok",
    "Unavailable",
    "Timeout",
    "Overloaded",
    "BadRequest",
    "no reply",
];

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses and checks a lesson. Nothing is returned unless all of it is good.
pub fn parse(text: &str) -> Result<Lesson, LessonError> {
    let file = file::read(text)?;
    let at = |span: std::ops::Range<usize>, reason: String| LessonError {
        line: line_of(text, span.start),
        reason,
    };
    let cluster = file
        .cluster
        .as_ref()
        .map_or_else(LessonCluster::default, |c| *c.get_ref());
    let cspan = file.cluster.as_ref().map_or(0..0, |c| c.span());
    if !(1..=16).contains(&cluster.nodes) {
        return Err(at(
            cspan,
            format!("cluster.nodes: 1 to 16 nodes, got {}", cluster.nodes),
        ));
    }
    if cluster.rf == 0 || cluster.rf > cluster.nodes {
        return Err(at(
            cspan,
            format!(
                "cluster.rf: 1 to {} (the nodes), got {}",
                cluster.nodes, cluster.rf
            ),
        ));
    }
    if file.id.is_empty()
        || !file
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(LessonError {
            line: 1 + text
                .lines()
                .position(|l| l.trim_start().starts_with("id"))
                .unwrap_or(0),
            reason: format!("id: letters, digits and '-' only, got {:?}", file.id),
        });
    }
    if file.steps.is_empty() {
        return Err(LessonError {
            line: 0,
            reason: "a lesson needs at least one [[step]]".into(),
        });
    }
    let node = |n: NodeId, span: std::ops::Range<usize>| {
        if (n as usize) < cluster.nodes {
            Ok(n)
        } else {
            Err(at(
                span,
                format!(
                    "node {n} does not exist: the cluster has nodes 0 to {}",
                    cluster.nodes - 1
                ),
            ))
        }
    };
    let mut steps = Vec::new();
    for s in file.steps {
        let span = s.span();
        let line = line_of(text, span.start);
        let s = s.into_inner();
        if s.say.trim().is_empty() {
            return Err(at(span, "say: a step must say what happens".into()));
        }
        let mut actions = Vec::new();
        for a in s.actions {
            let span = a.span();
            let cl = |c: &str| Consistency::parse(c).map_err(|e| at(span.clone(), e));
            let action = match a.into_inner() {
                FileAction::Put {
                    node: n,
                    key,
                    value,
                    cl: c,
                } => Action::Submit {
                    node: node(n, span.clone())?,
                    request: crate::sim::put(key, &value, cl(&c)?),
                },
                FileAction::Get {
                    node: n,
                    key,
                    cl: c,
                } => Action::Submit {
                    node: node(n, span.clone())?,
                    request: crate::sim::get(key, cl(&c)?),
                },
                FileAction::Delete {
                    node: n,
                    key,
                    cl: c,
                } => Action::Submit {
                    node: node(n, span.clone())?,
                    request: crate::sim::delete(key, cl(&c)?),
                },
                FileAction::Crash(n) => Action::Crash {
                    node: node(n, span.clone())?,
                },
                FileAction::Restart(n) => Action::Restart {
                    node: node(n, span.clone())?,
                },
                FileAction::Cut([a, b]) | FileAction::Heal([a, b]) if a == b => {
                    return Err(at(
                        span,
                        format!("a link joins two different nodes, got {a} and {b}"),
                    ))
                }
                FileAction::Cut([a, b]) => Action::Cut {
                    a: node(a, span.clone())?,
                    b: node(b, span.clone())?,
                },
                FileAction::Heal([a, b]) => Action::Heal {
                    a: node(a, span.clone())?,
                    b: node(b, span.clone())?,
                },
                FileAction::HealAll => Action::HealAll,
                FileAction::Skew { node: n, ms } => Action::SetSkew {
                    node: node(n, span.clone())?,
                    skew_us: ms.saturating_mul(1000),
                },
            };
            action.check().map_err(|e| at(span, e))?;
            actions.push(action);
        }
        let mut expect = Vec::new();
        for e in s.expect {
            let span = e.span();
            expect.push(match e.into_inner() {
                FileExpect::Value { node: n, key, is } => Expect::Value {
                    node: node(n, span)?,
                    key,
                    value: is,
                },
                FileExpect::Hints {
                    holder,
                    target,
                    count,
                } => Expect::Hints {
                    holder: node(holder, span.clone())?,
                    target: node(target, span)?,
                    count,
                },
                FileExpect::Outcome(o) => {
                    if !OUTCOMES.contains(&o.as_str()) {
                        return Err(at(
                            span,
                            format!("outcome: {o:?} is not one of {OUTCOMES:?}"),
                        ));
                    }
                    Expect::Outcome(o)
                }
                FileExpect::Read { value } => Expect::Read(value),
            });
        }
        let predict = match s.predict {
            None => None,
            Some(p) => {
                let span = p.span();
                let p = p.into_inner();
                if p.choices.len() < 2 {
                    return Err(at(
                        span,
                        "predict.choices: give at least two choices".into(),
                    ));
                }
                let Some(answer) = p.choices.iter().position(|c| *c == p.answer) else {
                    return Err(at(
                        span,
                        format!("predict.answer: {:?} is not one of the choices", p.answer),
                    ));
                };
                Some(Prediction {
                    question: p.question,
                    choices: p.choices,
                    answer,
                    why: p.why,
                })
            }
        };
        steps.push(Step {
            say: s.say,
            actions,
            wait: match s.wait.map(|w| (w.span(), w.into_inner())) {
                None | Some((_, FileWait::Answered)) => Wait::Answered,
                Some((span, FileWait::Ms(ms))) if ms > MAX_WAIT_MS => {
                    return Err(at(
                        span,
                        format!(
                        "wait: at most {MAX_WAIT_MS} ms (a minute of simulated time), got {ms} ms"
                    ),
                    ))
                }
                Some((_, FileWait::Ms(ms))) => Wait::Ms(ms),
            },
            expect,
            predict,
            line,
        });
    }
    Ok(Lesson {
        id: file.id,
        title: file.title,
        cluster,
        steps,
    })
}
