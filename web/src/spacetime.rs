//! The space-time view's data: one lane per node, time left to right,
//! each peer message an arrow from its send on one lane to its receipt
//! (or loss) on another, faults and requests marked on lanes. Only a
//! window of time is laid out; [`crate::components::spacetime`] draws it.
//!
//! Everything here comes from the view's remembered messages and marks,
//! which a live cluster's events fill as the simulator's do: a
//! `message_sent` and its `message_received` share a message id.

use crate::state::{ClusterView, Mark, Picked};
use ringside_core::{Key, Micros, MsgId, NodeId};

/// Window widths offered (simulated or observed µs).
pub const SPANS: [Micros; 7] = [
    20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 5_000_000,
];
/// The default width: a quorum round trip at the default latencies is a
/// few ms, which this keeps visibly slanted.
pub const DEFAULT_SPAN: Micros = 100_000;
/// Past this many arrows in the window, their labels are noise.
pub const MAX_LABELLED: usize = 40;

/// The stretch of time shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Micros,
    pub end: Micros,
}

impl Window {
    /// `span` wide, ending at `end` (or starting at 0 if shorter).
    pub fn ending(end: Micros, span: Micros) -> Window {
        Window {
            start: end.saturating_sub(span),
            end: end.max(span),
        }
    }

    fn overlaps(&self, from: Micros, to: Micros) -> bool {
        from <= self.end && to >= self.start
    }

    /// Where `t` falls, 0.0 (the left edge) to 1.0 (the right edge).
    pub fn frac(&self, t: Micros) -> f64 {
        let span = (self.end - self.start).max(1) as f64;
        (t as f64 - self.start as f64) / span
    }
}

/// How a message's arrow ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    Received,
    /// Lost, and why: the arrow ends in a cross.
    Dropped(String),
    /// Still on the wire: the arrow runs to where it is expected.
    InFlight,
}

/// One message's arrow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrow {
    pub msg: MsgId,
    pub kind: &'static str,
    pub key: Option<Key>,
    pub from: NodeId,
    pub to: NodeId,
    /// Lanes, top to bottom.
    pub from_lane: usize,
    pub to_lane: usize,
    pub sent_at: Micros,
    /// Received, lost, or (in flight) expected or now.
    pub end_at: Micros,
    pub end: End,
}

/// Everything the diagram draws in its window.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagram {
    pub lanes: Vec<NodeId>,
    pub window: Window,
    pub arrows: Vec<Arrow>,
    pub marks: Vec<Mark>,
}

impl Diagram {
    pub fn lane(&self, node: NodeId) -> Option<usize> {
        self.lanes.iter().position(|&n| n == node)
    }

    /// True when `picked` is this arrow or this mark.
    pub fn arrow_picked(arrow: &Arrow, picked: Option<Picked>) -> bool {
        picked == Some(Picked::Msg(arrow.msg))
    }

    pub fn mark_picked(mark: &Mark, picked: Option<Picked>) -> bool {
        picked.is_some_and(|p| p.matches(&mark.line))
    }
}

/// Lays out the view's messages and marks that fall in `window`, with
/// heartbeats when the page shows them.
pub fn layout(view: &ClusterView, window: Window, heartbeats: bool) -> Diagram {
    let lanes: Vec<NodeId> = view.topo.nodes.clone();
    let lane = |n: NodeId| lanes.iter().position(|&l| l == n);
    let beats = heartbeats.then_some(&view.beats).into_iter().flatten();
    let arrows = view
        .msgs
        .iter()
        .chain(beats)
        .filter_map(|m| {
            let (end, end_at) = match (&m.dropped, m.received_at) {
                (Some(why), at) => (End::Dropped(why.clone()), at.unwrap_or(view.now_us)),
                (None, Some(at)) => (End::Received, at),
                (None, None) => {
                    let due = view
                        .wires
                        .iter()
                        .find(|w| w.msg == m.msg)
                        .map_or(view.now_us, |w| w.arrive_at);
                    (End::InFlight, due.max(m.sent_at))
                }
            };
            if !window.overlaps(m.sent_at, end_at) {
                return None;
            }
            Some(Arrow {
                msg: m.msg,
                kind: m.kind,
                key: m.key.clone(),
                from: m.from,
                to: m.to,
                from_lane: lane(m.from)?,
                to_lane: lane(m.to)?,
                sent_at: m.sent_at,
                end_at,
                end,
            })
        })
        .collect();
    let marks = view
        .marks
        .iter()
        .filter(|k| window.overlaps(k.at(), k.at()) && lane(k.node).is_some())
        .cloned()
        .collect();
    Diagram {
        window,
        arrows,
        marks,
        lanes,
    }
}

/// Time-axis ticks for `window`: about five, at round steps (1, 2 or 5
/// times a power of ten, in µs).
pub fn ticks(window: Window) -> Vec<Micros> {
    let span = (window.end - window.start).max(1);
    let rough = span / 5;
    let mut step: Micros = 1;
    while step * 10 <= rough {
        step *= 10;
    }
    let step = [1, 2, 5, 10]
        .iter()
        .map(|m| step * m)
        .find(|s| *s >= rough)
        .unwrap_or(step * 10);
    let first = window.start.div_ceil(step) * step;
    (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= window.end)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{MarkKind, Topology, Update};
    use ringside_core::io::{Event, EventKind};
    use ringside_core::{ClientRef, Partitioner};
    use ringside_core::{ClusterEvent, TraceEntry, TraceWhat};

    fn id(from: NodeId, n: u64) -> MsgId {
        MsgId { from, gen: 0, n }
    }

    fn node(at: Micros, node: NodeId, kind: EventKind) -> Update {
        Update::Trace(TraceEntry {
            at,
            what: TraceWhat::Node {
                event: Event {
                    seq: 0,
                    ts: at,
                    node,
                    kind,
                },
            },
        })
    }

    fn sim(at: Micros, event: ClusterEvent) -> Update {
        Update::Trace(TraceEntry {
            at,
            what: TraceWhat::Sim { event },
        })
    }

    fn sent(at: Micros, from: NodeId, n: u64, to: NodeId, kind: &str) -> Update {
        node(
            at,
            from,
            EventKind::MessageSent {
                msg: id(from, n),
                to,
                msg_kind: kind.into(),
                key: Some(ringside_core::Key::Int(137)),
                op: None,
            },
        )
    }

    fn received(at: Micros, from: NodeId, n: u64, to: NodeId, kind: &str) -> Update {
        node(
            at,
            to,
            EventKind::MessageReceived {
                msg: id(from, n),
                from,
                msg_kind: kind.into(),
                key: Some(ringside_core::Key::Int(137)),
                op: None,
            },
        )
    }

    /// Node 0 coordinates a write: one copy arrives at node 2, one to
    /// node 3 is lost on a link cut just before, and a read to node 1 is
    /// still on its way. Only node events carry the messages, as from a
    /// live cluster; the loss and the cut are the simulator's.
    fn small_run() -> ClusterView {
        let mut v = ClusterView::new(Topology {
            nodes: vec![0, 1, 2, 3],
            rf: 3,
            partitioner: Partitioner::Murmur3 { vnodes: 1 },
            source: "test".into(),
            failure_timeout_ms: 450,
            mode: Default::default(),
        });
        let client = ClientRef { conn: 1, req: 1 };
        v.apply_all([
            node(
                900,
                0,
                EventKind::RequestReceived {
                    client,
                    op: 1,
                    request: ringside_core::sim::put(137, "x", ringside_core::Consistency::One),
                    replicas: vec![2, 3, 0],
                    live: vec![2, 3, 0],
                },
            ),
            sent(1_000, 0, 1, 2, "write"),
            sent(1_000, 0, 2, 3, "write"),
            sim(2_000, ClusterEvent::LinkCut { a: 0, b: 3 }),
            sim(
                2_500,
                ClusterEvent::MessageDropped {
                    msg: id(0, 2),
                    from: 0,
                    to: 3,
                    msg_kind: "write".into(),
                    reason: "the link is cut".into(),
                },
            ),
            received(3_000, 0, 1, 2, "write"),
            sent(4_000, 0, 3, 1, "read"),
            sent(4_100, 1, 1, 2, "heartbeat"),
            received(4_600, 1, 1, 2, "heartbeat"),
            Update::Frame {
                now_us: 5_000,
                wires: Vec::new(),
            },
        ]);
        v
    }

    #[test]
    fn arrows_run_from_the_senders_lane_to_the_receivers_at_their_times() {
        let v = small_run();
        let d = layout(&v, Window::ending(v.now_us, DEFAULT_SPAN), false);
        assert_eq!(d.lanes, vec![0, 1, 2, 3]);
        let arrow = |n| d.arrows.iter().find(|a| a.msg == id(0, n)).unwrap();
        let a = arrow(1);
        assert_eq!((a.from_lane, a.to_lane), (0, 2));
        assert_eq!(
            (a.sent_at, a.end_at, &a.end),
            (1_000, 3_000, &End::Received)
        );
        let lost = arrow(2);
        assert_eq!((lost.from_lane, lost.to_lane), (0, 3));
        assert_eq!(lost.end_at, 2_500);
        assert_eq!(lost.end, End::Dropped("the link is cut".into()));
        let flying = arrow(3);
        assert_eq!((flying.to_lane, flying.end_at), (1, 5_000));
        assert_eq!(flying.end, End::InFlight);
        // The request's start on node 0's lane; the cut on both ends.
        let kinds: Vec<(MarkKind, NodeId, Option<NodeId>, Micros)> = d
            .marks
            .iter()
            .map(|m| (m.what, m.node, m.other, m.at()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (MarkKind::Asked(ClientRef { conn: 1, req: 1 }), 0, None, 900),
                (MarkKind::Cut, 0, Some(3), 2_000),
            ]
        );
    }

    #[test]
    fn heartbeats_are_drawn_only_when_the_page_shows_them() {
        let v = small_run();
        let w = Window::ending(v.now_us, DEFAULT_SPAN);
        let kinds =
            |shown| -> Vec<&str> { layout(&v, w, shown).arrows.iter().map(|a| a.kind).collect() };
        assert!(!kinds(false).contains(&"heartbeat"));
        assert_eq!(kinds(true).len(), kinds(false).len() + 1);
        let d = layout(&v, w, true);
        let beat = d.arrows.iter().find(|a| a.kind == "heartbeat").unwrap();
        assert_eq!((beat.from_lane, beat.to_lane, beat.end_at), (1, 2, 4_600));
        assert_eq!(v.msgs.len(), 3, "heartbeats are kept apart");
    }

    #[test]
    fn the_window_keeps_only_what_overlaps_it() {
        let v = small_run();
        let d = layout(
            &v,
            Window {
                start: 2_600,
                end: 3_500,
            },
            false,
        );
        let msgs: Vec<MsgId> = d.arrows.iter().map(|a| a.msg).collect();
        assert_eq!(msgs, vec![id(0, 1)], "the lost write ended at 2.5 ms");
        assert!(d.marks.is_empty());
        assert_eq!(Window::ending(30_000, DEFAULT_SPAN).start, 0);
        assert_eq!(
            ticks(Window {
                start: 0,
                end: 100_000
            }),
            vec![0, 20_000, 40_000, 60_000, 80_000, 100_000]
        );
    }

    #[test]
    fn picking_in_the_diagram_or_the_log_names_the_same_thing() {
        let v = small_run();
        let d = layout(&v, Window::ending(v.now_us, DEFAULT_SPAN), false);
        // An arrow picked: its send line (and, when lost, its loss line).
        let lost = Picked::Msg(id(0, 2));
        let lines: Vec<&str> = v
            .log
            .iter()
            .filter(|l| lost.matches(l))
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("node 0 sends a write to node 3"));
        assert!(lines[1].contains("is lost: the link is cut"));
        // A line picked in the log picks its arrow, and only that one.
        let line = v.log.iter().find(|l| l.msg == Some(id(0, 1))).unwrap();
        let p = Some(Picked::of_line(line));
        let on: Vec<MsgId> = d
            .arrows
            .iter()
            .filter(|a| Diagram::arrow_picked(a, p))
            .map(|a| a.msg)
            .collect();
        assert_eq!(on, vec![id(0, 1)]);
        // A mark and its log line pick each other.
        let cut = d.marks.iter().find(|m| m.what == MarkKind::Cut).unwrap();
        let p = Picked::of_line(&cut.line);
        let said: Vec<&str> = v
            .log
            .iter()
            .filter(|l| p.matches(l))
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(said, vec!["the link between node 0 and node 3 is cut"]);
        assert!(
            d.marks
                .iter()
                .filter(|m| Diagram::mark_picked(m, Some(p)))
                .count()
                == 1
        );
        assert!(d.arrows.iter().all(|a| !Diagram::arrow_picked(a, Some(p))));
    }
}
