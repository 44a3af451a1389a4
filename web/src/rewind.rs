//! What the scrub bar shows of a run that can be rewound: where the
//! cursor is in the history, how far the history goes, and the marks on
//! it (requests, faults, checker violations), each at the event it
//! happened after, so the bar can draw the future the cursor went back
//! from and a click can go to it.

use ringside_core::check::ReadLabel;
use ringside_core::Micros;
use ringside_core::{ClusterEvent, TraceEntry, TraceWhat};

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
    /// The first event still kept, and its time (a live recording drops
    /// its oldest events; a simulated run keeps them all: 0).
    pub start: u64,
    pub start_us: Micros,
    /// A live cluster's recording: acting acts on the nodes now, never
    /// on the past shown.
    pub live: bool,
}

impl RunState {
    /// True while the page shows an earlier moment than the furthest one.
    pub fn behind(&self) -> bool {
        !self.at_head
    }
}

/// Simulated time as the scrub bar says it: `1.234 s`.
pub fn secs(us: Micros) -> String {
    format!("{:.3} s", us as f64 / 1e6)
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
            ClusterEvent::ClientSent { node, request, .. } => {
                (MarkKind::Request, format!("{request} via node {node}"))
            }
            ClusterEvent::Crashed { node, .. } => (MarkKind::Fault, format!("node {node} crashed")),
            ClusterEvent::Restarted { node, .. } => {
                (MarkKind::Fault, format!("node {node} restarted"))
            }
            ClusterEvent::LinkCut { a, b } => (MarkKind::Fault, format!("link {a}–{b} cut")),
            ClusterEvent::LinkHealed { a, b } => (MarkKind::Fault, format!("link {a}–{b} healed")),
            ClusterEvent::NetChanged { .. } => (MarkKind::Fault, "network changed".to_string()),
            ClusterEvent::SkewChanged { node, skew_us } => (
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

/// Marks gathered for drawing: one tick per kind per slice of the bar,
/// so a long run under load draws a bounded number of ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    /// Where on the bar, 0 (the start) to 1 (the head).
    pub pos: f64,
    pub kind: MarkKind,
    /// The first mark's event: where a click on the tick goes.
    pub event: u64,
    /// What the tick stands for, in words (the first mark, and how many
    /// more share the slice).
    pub text: String,
}

/// The ticks of `marks` on a bar of `slices` slices from event `start`
/// to `head`.
pub fn ticks(marks: &[Mark], start: u64, head: u64, slices: usize) -> Vec<Tick> {
    let span = head.saturating_sub(start).max(1) as f64;
    let mut by_slice: std::collections::BTreeMap<(usize, MarkKind), (&Mark, usize)> =
        Default::default();
    for m in marks.iter().filter(|m| (start..=head).contains(&m.event)) {
        let slice = (((m.event - start) as f64 / span) * slices as f64) as usize;
        by_slice
            .entry((slice.min(slices - 1), m.kind))
            .and_modify(|(_, n)| *n += 1)
            .or_insert((m, 1));
    }
    by_slice
        .into_iter()
        .map(|((_, kind), (m, n))| Tick {
            pos: (m.event - start) as f64 / span,
            kind,
            event: m.event,
            text: match n {
                1 => format!("{} (t = {})", m.text, secs(m.at)),
                _ => format!("{} (t = {}) and {} more here", m.text, secs(m.at), n - 1),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(event: u64, kind: MarkKind) -> Mark {
        Mark {
            event,
            at: event * 1_000,
            kind,
            text: format!("m{event}"),
        }
    }

    #[test]
    fn ticks_gather_marks_per_slice_and_kind() {
        let marks = vec![
            mark(0, MarkKind::Request),
            mark(1, MarkKind::Request),
            mark(2, MarkKind::Fault),
            mark(500, MarkKind::Violation),
            mark(999, MarkKind::Request),
            mark(2_000, MarkKind::Request),
        ];
        let t = ticks(&marks, 0, 1_000, 100);
        assert_eq!(t.len(), 4, "{t:?}");
        assert!(t[0].text.contains("m0") && t[0].text.contains("1 more"));
        assert_eq!(t[1].kind, MarkKind::Fault);
        assert_eq!((t[2].event, t[2].pos), (500, 0.5));
        assert_eq!(t[3].event, 999, "the mark past the head is not drawn");
    }

    #[test]
    fn a_bar_that_starts_later_places_its_marks_from_its_start() {
        let marks = vec![mark(100, MarkKind::Fault), mark(600, MarkKind::Request)];
        let t = ticks(&marks, 500, 1_500, 100);
        assert_eq!(t.len(), 1, "the mark before the start is not drawn: {t:?}");
        assert_eq!((t[0].event, t[0].pos), (600, 0.1));
    }
}
