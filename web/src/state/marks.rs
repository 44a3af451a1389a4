//! What the space-time view marks on a node's lane besides messages
//! (faults, a request's start and answer), and what a person can pick:
//! a message or an event-log line, the one identity the space-time view,
//! the event log and the ring agree on.
//!
//! Each mark shares the event-log line that said it, so picking either
//! picks the other, and a message's lines (sent, lost) carry its id.

use super::{ClusterView, LogLine};
use crate::narration::Said;
use ringside_core::io::EventKind;
use ringside_core::ClusterEvent;
use ringside_core::{ClientRef, Micros, MsgId, NodeId};
use std::rc::Rc;

/// Marks kept (older ones scroll away with their log lines).
pub const MARK_CAP: usize = 600;

/// What a person picked: the diagram, the log and the ring highlight it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Picked {
    /// A peer message, by the id its send and receipt share.
    Msg(MsgId),
    /// An event-log line (a fault, a request's start or answer, ...).
    Line(u64),
}

impl Picked {
    /// What picking this log line picks: its message if it is about one.
    pub fn of_line(line: &LogLine) -> Picked {
        match line.msg {
            Some(m) => Picked::Msg(m),
            None => Picked::Line(line.n),
        }
    }

    /// True when `line` says this picked thing.
    pub fn matches(self, line: &LogLine) -> bool {
        match self {
            Picked::Msg(m) => line.msg == Some(m),
            Picked::Line(n) => line.n == n,
        }
    }
}

/// What happened at a mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    Crash,
    Restart,
    /// The link to `other` was cut.
    Cut,
    Heal,
    /// The node's clock was set off (or right again).
    Clock,
    /// A client's request reached its coordinator.
    Asked(ClientRef),
    /// The coordinator answered (`ok`: met its level).
    Answered(ClientRef, bool),
    /// Another fault a live backend reported (a node gone, ...).
    Note,
}

impl MarkKind {
    /// The glyph drawn on the lane.
    pub fn glyph(self) -> &'static str {
        match self {
            MarkKind::Crash => "✕",
            MarkKind::Restart => "↻",
            MarkKind::Cut => "✂",
            MarkKind::Heal => "⌁",
            MarkKind::Clock => "◷",
            MarkKind::Asked(_) => "▶",
            MarkKind::Answered(_, true) => "◀",
            MarkKind::Answered(_, false) => "◀!",
            MarkKind::Note => "!",
        }
    }

    /// For the legend and the CSS class.
    pub fn name(self) -> &'static str {
        match self {
            MarkKind::Crash => "crash",
            MarkKind::Restart => "restart",
            MarkKind::Cut => "link cut",
            MarkKind::Heal => "link healed",
            MarkKind::Clock => "clock skew",
            MarkKind::Asked(_) => "request in",
            MarkKind::Answered(_, _) => "answer out",
            MarkKind::Note => "fault",
        }
    }
}

/// A fault or request on a node's lane, with the log line that said it.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub node: NodeId,
    /// The other end of a cut or healed link.
    pub other: Option<NodeId>,
    pub what: MarkKind,
    pub line: Rc<LogLine>,
}

impl Mark {
    pub fn at(&self) -> Micros {
        self.line.at
    }
}

/// What an event's log line is about, beyond its words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tag {
    Msg(MsgId),
    Mark {
        node: NodeId,
        other: Option<NodeId>,
        what: MarkKind,
    },
}

fn mark(node: NodeId, what: MarkKind) -> Option<Tag> {
    Some(Tag::Mark {
        node,
        other: None,
        what,
    })
}

/// The tag of node `node`'s event.
pub(super) fn node_tag(node: NodeId, kind: &EventKind) -> Option<Tag> {
    match kind {
        EventKind::MessageSent { msg, .. } => Some(Tag::Msg(*msg)),
        EventKind::RequestReceived { client, .. } => mark(node, MarkKind::Asked(*client)),
        EventKind::RequestAnswered {
            client, outcome, ..
        } => mark(node, MarkKind::Answered(*client, outcome == "ok")),
        _ => None,
    }
}

/// The tag of a simulator event.
pub(super) fn sim_tag(event: &ClusterEvent) -> Option<Tag> {
    let link = |a: NodeId, b: NodeId, what| {
        Some(Tag::Mark {
            node: a,
            other: Some(b),
            what,
        })
    };
    match event {
        ClusterEvent::MessageDropped { msg, .. } => Some(Tag::Msg(*msg)),
        ClusterEvent::Crashed { node, .. } => mark(*node, MarkKind::Crash),
        ClusterEvent::Restarted { node, .. } => mark(*node, MarkKind::Restart),
        ClusterEvent::LinkCut { a, b } => link(*a, *b, MarkKind::Cut),
        ClusterEvent::LinkHealed { a, b } => link(*a, *b, MarkKind::Heal),
        ClusterEvent::SkewChanged { node, .. } => mark(*node, MarkKind::Clock),
        _ => None,
    }
}

impl ClusterView {
    /// Says `line` (if any) with what `tag` adds: a message's id on the
    /// line, or a mark sharing it.
    pub(super) fn say_tagged(&mut self, at: Micros, line: Option<Said>, tag: Option<Tag>) {
        let Some(s) = line else {
            return;
        };
        let msg = match tag {
            Some(Tag::Msg(m)) => Some(m),
            _ => None,
        };
        self.say_about(at, s.node, s.kind, s.text, s.flag, msg);
        if let Some(Tag::Mark { node, other, what }) = tag {
            let line = self.log.back().cloned().expect("a line was just said");
            self.marks.push_back(Mark {
                node,
                other,
                what,
                line,
            });
            while self.marks.len() > MARK_CAP {
                self.marks.pop_front();
            }
        }
    }
}
