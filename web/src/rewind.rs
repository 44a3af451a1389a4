//! What the scrub bar shows of a run that can be rewound: where the
//! cursor is in the history, how far the history goes, and the marks on
//! it (requests, faults, checker violations), each at the event it
//! happened after, so the bar can draw the future the cursor went back
//! from and a click can go to it.

use ringside_core::check::ReadLabel;
use ringside_core::sim::{SimEvent, TraceEntry, TraceWhat};
use ringside_core::Micros;

/// Where a rewindable run stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunState {
    /// Events processed up to what the page shows.
    pub cursor: u64,
    /// The furthest event this history reached.
    pub head: u64,
    /// Acting now extends the history (false: it would fork).
    pub at_head: bool,
    /// Simulated time at the cursor and at the head.
    pub now_us: Micros,
    pub head_us: Micros,
}

impl RunState {
    /// True while the page shows an earlier moment than the furthest one.
    pub fn behind(&self) -> bool {
        !self.at_head
    }
}

/// What a mark on the scrub bar stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkKind {
    Request,
    Fault,
    Violation,
}

impl MarkKind {
    /// The CSS class (also what tests look for).
    pub fn class(self) -> &'static str {
        match self {
            MarkKind::Request => "request",
            MarkKind::Fault => "fault",
            MarkKind::Violation => "violation",
        }
    }
}

/// One mark on the scrub bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// The event it happened at (the count of events processed when it
    /// was recorded): seeking there shows it.
    pub event: u64,
    pub at: Micros,
    pub kind: MarkKind,
    pub text: String,
}

/// The mark a trace entry deserves, if any: a client's request, or a
/// fault (crash, restart, cut, heal, a network or clock change).
pub fn mark_of(event: u64, e: &TraceEntry) -> Option<Mark> {
    let (kind, text) = match &e.what {
        TraceWhat::Sim { event } => match event {
            SimEvent::ClientSent { node, request, .. } => {
                (MarkKind::Request, format!("{request} via node {node}"))
            }
            SimEvent::Crashed { node, .. } => (MarkKind::Fault, format!("node {node} crashed")),
            SimEvent::Restarted { node, .. } => (MarkKind::Fault, format!("node {node} restarted")),
            SimEvent::LinkCut { a, b } => (MarkKind::Fault, format!("link {a}–{b} cut")),
            SimEvent::LinkHealed { a, b } => (MarkKind::Fault, format!("link {a}–{b} healed")),
            SimEvent::NetChanged { .. } => (MarkKind::Fault, "network changed".to_string()),
            SimEvent::SkewChanged { node, skew_us } => (
                MarkKind::Fault,
                format!("node {node}'s clock skewed by {} ms", skew_us / 1000),
            ),
            _ => return None,
        },
        TraceWhat::Node { .. } => return None,
    };
    Some(Mark {
        event,
        at: e.at,
        kind,
        text,
    })
}

/// The mark of a read the checker calls a violation.
pub fn violation_mark(event: u64, at: Micros, what: String, label: &ReadLabel) -> Option<Mark> {
    match label {
        ReadLabel::Violation { property } => Some(Mark {
            event,
            at,
            kind: MarkKind::Violation,
            text: format!("{what}: breaks {property}"),
        }),
        _ => None,
    }
}
