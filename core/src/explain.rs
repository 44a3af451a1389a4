//! "Why?" for one request: from a run's trace and history, what the
//! coordinator did, who answered with what, which version won by which
//! rule, whether read repair ran, and for a replica that was stale, the
//! write it missed and why.
//!
//! Everything comes from the events (the trace a [`crate::sim::Sim`] or a
//! live cluster's subscribers record), so the same explanation works on a
//! rewound run and on a live one. A replica's answer to a read is what its
//! `write_applied` events say it held when the read reached it.

use crate::check::{History, HistoryOp, Outcome};
use crate::event::{ClusterEvent, TraceEntry, TraceWhat};
use crate::io::{Event, EventKind, HintReason};
use crate::message::{ClientRef, MsgId, OpId, Request};
use crate::types::{Consistency, Key, Micros, NodeId, Version};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The structured answer to "why did this request end this way?".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub client: ClientRef,
    pub request: Request,
    pub coordinator: NodeId,
    pub outcome: Outcome,
    /// The key's replicas on the ring, in ring order.
    pub replicas: Vec<NodeId>,
    /// The replicas the coordinator believed up.
    pub live: Vec<NodeId>,
    pub level: Consistency,
    /// Acknowledgements the level needs, of `replicas.len()`.
    pub needed: usize,
    /// The replicas the coordinator sent the request to (itself included
    /// when it is a replica).
    pub asked: Vec<NodeId>,
    /// What each replica answered, in the order the answers came.
    pub answers: Vec<Answer>,
    /// For a read: the version returned, and the rule that chose it.
    pub winner: Option<Version>,
    pub rule: Option<WinRule>,
    /// For a write: the version written and the replicas that stored it,
    /// whatever the client was told.
    pub written: Option<Version>,
    pub landed: Vec<NodeId>,
    /// Replicas the coordinator repaired with the winning version.
    pub repaired: Vec<NodeId>,
    /// For each replica that lacked the newest acknowledged write: that
    /// write and why it was missed.
    pub missed: Vec<Missed>,
}

/// One replica's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub replica: NodeId,
    /// What it held for the key (`None`: nothing). For a write: the
    /// version it stored.
    pub version: Option<Version>,
    pub at_us: Micros,
    /// It was among the answers the reply was built from.
    pub counted: bool,
}

/// Which rule of last-write-wins picked the winner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WinRule {
    /// Every counted answer was the same version (or nothing).
    Agreed,
    /// The newest timestamp.
    NewestTimestamp,
    /// Equal timestamps: a tombstone beats a value.
    TieTombstone,
    /// Equal timestamps, two values: the greater value wins.
    TieGreaterValue,
}

/// A write a replica did not have when it answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Missed {
    pub replica: NodeId,
    /// The write's client and request, and the version it wrote.
    pub write: ClientRef,
    pub write_request: Request,
    pub version: Version,
    pub why: MissReason,
}

/// Why a replica did not have a write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum MissReason {
    /// The write's coordinator thought it down and sent it nothing.
    Down,
    /// The link between the two was cut.
    LinkCut { from: NodeId },
    /// The network lost the message.
    Dropped { from: NodeId },
    /// The replica was down when the message arrived.
    DownOnArrival { from: NodeId },
    /// The write was still on its way when the replica answered.
    InFlight { from: NodeId },
    /// Beside one of the above: a hint for the replica waits on `holder`.
    HintWaiting {
        holder: NodeId,
        because: Box<MissReason>,
    },
    /// It had the write once and lost it (a crash before its log synced).
    LostInCrash,
    /// The events do not say (a live cluster's partial log).
    Unknown,
}

/// The request's events, found in the trace.
struct Op {
    /// Index of its `request_received` in the trace.
    start: usize,
    coordinator: NodeId,
    op: OpId,
    replicas: Vec<NodeId>,
    live: Vec<NodeId>,
    answered: Vec<NodeId>,
}

fn node_events(trace: &[TraceEntry]) -> impl Iterator<Item = (usize, Micros, &Event)> {
    node_events_from(trace, 0)
}

/// The node events from trace index `from` on, with their indices.
fn node_events_from(
    trace: &[TraceEntry],
    from: usize,
) -> impl Iterator<Item = (usize, Micros, &Event)> {
    trace
        .iter()
        .enumerate()
        .skip(from)
        .filter_map(|(i, e)| match &e.what {
            TraceWhat::Node { event } => Some((i, e.at, event)),
            TraceWhat::Sim { .. } => None,
        })
}

fn find_op(trace: &[TraceEntry], client: ClientRef, coordinator: NodeId) -> Option<Op> {
    let (start, op, replicas, live) = node_events(trace).find_map(|(i, _, e)| match &e.kind {
        EventKind::RequestReceived {
            client: c,
            op,
            replicas,
            live,
            ..
        } if *c == client && e.node == coordinator => {
            Some((i, *op, replicas.clone(), live.clone()))
        }
        _ => None,
    })?;
    let answered = node_events_from(trace, start)
        .find_map(|(_, _, e)| match &e.kind {
            EventKind::RequestAnswered {
                client: c,
                answered,
                ..
            } if *c == client && e.node == coordinator => Some(answered.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Some(Op {
        start,
        coordinator,
        op,
        replicas,
        live,
        answered,
    })
}

/// Each node's version of `key` after each trace entry, from its
/// `write_applied` events (a crash that lost records marks it unknown).
struct Shadow<'a> {
    trace: &'a [TraceEntry],
    key: &'a Key,
}

impl Shadow<'_> {
    /// What `node` held for the key just before trace entry `at`; `Err`
    /// when a crash lost records the events cannot tell apart.
    fn held(&self, node: NodeId, at: usize) -> Result<Option<Version>, ()> {
        let mut v: Option<Version> = None;
        let mut known = true;
        for e in &self.trace[..at.min(self.trace.len())] {
            match &e.what {
                TraceWhat::Node { event } if event.node == node => {
                    if let EventKind::WriteApplied {
                        key, version, won, ..
                    } = &event.kind
                    {
                        if key == self.key && *won {
                            v = Some(version.clone());
                        }
                    }
                }
                TraceWhat::Sim {
                    event:
                        ClusterEvent::Crashed {
                            node: n,
                            lost_records,
                        },
                } if *n == node && *lost_records > 0 => known = false,
                _ => {}
            }
        }
        if known {
            Ok(v)
        } else {
            Err(())
        }
    }
}

fn version_of(request: &Request, ts: Micros) -> Option<Version> {
    match request {
        Request::Put { value, .. } => Some(Version {
            ts,
            value: Some(value.clone()),
        }),
        Request::Delete { .. } => Some(Version { ts, value: None }),
        Request::Get { .. } => None,
    }
}

/// The version a write wrote: from its reply, else from the first store
/// of its value after it started (a write that failed its level still
/// lands somewhere, and the events say where).
fn written_version(trace: &[TraceEntry], op: &Op, h: &HistoryOp) -> Option<Version> {
    if let Outcome::Written { ts } = h.outcome {
        return version_of(&h.request, ts);
    }
    let want = match &h.request {
        Request::Put { value, .. } => Some(value.clone()),
        Request::Delete { .. } => None,
        Request::Get { .. } => return None,
    };
    node_events_from(trace, op.start).find_map(|(_, _, e)| match &e.kind {
        EventKind::WriteApplied { key, version, .. }
            if key == h.request.key()
                && version.value == want
                && version.ts >= h.invoke_us.saturating_sub(10_000_000) =>
        {
            Some(version.clone())
        }
        EventKind::HintStored { .. } => None,
        _ => None,
    })
}

/// The rule by which `winner` beat the other counted answers.
pub fn win_rule(winner: &Version, others: &[Option<Version>]) -> WinRule {
    let mut rule = WinRule::Agreed;
    for o in others.iter().flatten() {
        if o == winner {
            continue;
        }
        let r = if o.ts < winner.ts {
            WinRule::NewestTimestamp
        } else if winner.is_tombstone() {
            WinRule::TieTombstone
        } else {
            WinRule::TieGreaterValue
        };
        // A tie is the more surprising rule: it is the one to tell.
        if rule == WinRule::Agreed || r != WinRule::NewestTimestamp {
            rule = r;
        }
    }
    rule
}

/// Explains request `client` of `history` from the run's `trace`.
pub fn explain(trace: &[TraceEntry], history: &History, client: ClientRef) -> Option<Explanation> {
    let h = history.ops.iter().find(|o| o.client == client)?;
    let key = h.request.key();
    let cl = h.request.cl();
    let op = find_op(trace, client, h.node);
    let shadow = Shadow { trace, key };
    let mut ex = Explanation {
        client,
        request: h.request.clone(),
        coordinator: h.node,
        outcome: h.outcome.clone(),
        replicas: op.as_ref().map(|o| o.replicas.clone()).unwrap_or_default(),
        live: op.as_ref().map(|o| o.live.clone()).unwrap_or_default(),
        level: cl,
        needed: 0,
        asked: Vec::new(),
        answers: Vec::new(),
        winner: None,
        rule: None,
        written: None,
        landed: Vec::new(),
        repaired: Vec::new(),
        missed: Vec::new(),
    };
    ex.needed = cl.required(ex.replicas.len());
    let Some(op) = op else {
        return Some(ex);
    };
    let c = op.coordinator;
    // Messages of this operation the coordinator sent, by id.
    let mut sent: BTreeMap<MsgId, (NodeId, &str)> = BTreeMap::new();
    if op.replicas.contains(&c) && op.live.contains(&c) {
        ex.asked.push(c);
    }
    // The coordinator's read repairs of itself follow until it takes up
    // another request for the same key.
    let mut ours = true;
    for (i, at, e) in node_events_from(trace, op.start) {
        if let EventKind::RequestReceived { request, .. } = &e.kind {
            if e.node == c && i > op.start && request.key() == key {
                ours = false;
            }
        }
        match &e.kind {
            EventKind::MessageSent {
                msg,
                to,
                msg_kind,
                op: Some(o),
                ..
            } if e.node == c && *o == op.op => {
                sent.insert(*msg, (*to, msg_kind.as_str()));
                if (msg_kind == "read" || msg_kind == "write") && !ex.asked.contains(to) {
                    ex.asked.push(*to);
                }
                if msg_kind == "read_repair" && !ex.repaired.contains(to) {
                    ex.repaired.push(*to);
                }
            }
            EventKind::MessageReceived { msg, from, .. }
                if sent.get(msg).is_some_and(|(to, _)| *to == e.node) =>
            {
                let (_, kind) = sent[msg];
                if kind == "read" {
                    let version = shadow.held(e.node, i).ok().flatten();
                    ex.answers.push(Answer {
                        replica: e.node,
                        version,
                        at_us: at,
                        counted: op.answered.contains(&e.node),
                    });
                }
                let _ = from;
            }
            EventKind::ReadRepair { key: k, target, .. }
                if ours
                    && e.node == c
                    && k == key
                    && *target == c
                    && !ex.repaired.contains(target) =>
            {
                ex.repaired.push(*target);
            }
            _ => {}
        }
    }
    match &h.request {
        Request::Get { .. } => {
            if ex.asked.contains(&c) {
                let version = shadow.held(c, op.start).ok().flatten();
                ex.answers.insert(
                    0,
                    Answer {
                        replica: c,
                        version,
                        at_us: trace[op.start].at,
                        counted: op.answered.contains(&c),
                    },
                );
            }
            if let Outcome::Read { kv } = &h.outcome {
                let counted: Vec<Option<Version>> = ex
                    .answers
                    .iter()
                    .filter(|a| a.counted)
                    .map(|a| a.version.clone())
                    .collect();
                let winner = counted
                    .iter()
                    .fold(None, |acc: Option<&Version>, v| {
                        Version::newest(acc, v.as_ref())
                    })
                    .cloned()
                    .or_else(|| {
                        kv.as_ref().map(|kv| Version {
                            ts: kv.ts,
                            value: kv.value.clone(),
                        })
                    });
                ex.rule = winner.as_ref().map(|w| win_rule(w, &counted));
                ex.winner = winner;
            }
            explain_misses(trace, history, h, &mut ex);
        }
        Request::Put { .. } | Request::Delete { .. } => {
            let written = written_version(trace, &op, h);
            if let Some(w) = &written {
                for (_, at, e) in node_events_from(trace, op.start) {
                    if let EventKind::WriteApplied {
                        key: k, version, ..
                    } = &e.kind
                    {
                        if k == key && version == w && !ex.landed.contains(&e.node) {
                            ex.landed.push(e.node);
                            ex.answers.push(Answer {
                                replica: e.node,
                                version: Some(version.clone()),
                                at_us: at,
                                counted: op.answered.contains(&e.node),
                            });
                        }
                    }
                }
            }
            ex.written = written;
        }
    }
    Some(ex)
}

/// For a read: each replica whose answer (or silence) lacked the newest
/// write acknowledged before the read began, and why.
fn explain_misses(trace: &[TraceEntry], history: &History, read: &HistoryOp, ex: &mut Explanation) {
    let key = read.request.key();
    let latest = history
        .ops
        .iter()
        .filter(|o| o.request.key() == key && o.complete_us.is_some_and(|t| t <= read.invoke_us))
        .filter_map(|o| o.written_version().map(|v| (o, v)))
        .max_by(|a, b| a.1.lww_cmp(&b.1));
    let Some((w, version)) = latest else {
        return;
    };
    let Some(wop) = find_op(trace, w.client, w.node) else {
        return;
    };
    for a in ex.answers.clone() {
        let has = a.version.as_ref().is_some_and(|v| !version.supersedes(v));
        if has {
            continue;
        }
        let why = miss_reason(trace, &wop, a.replica, &version, a.at_us);
        ex.missed.push(Missed {
            replica: a.replica,
            write: w.client,
            write_request: w.request.clone(),
            version: version.clone(),
            why,
        });
    }
}

fn miss_reason(
    trace: &[TraceEntry],
    wop: &Op,
    replica: NodeId,
    version: &Version,
    answered_at: Micros,
) -> MissReason {
    let c = wop.coordinator;
    let key = match &trace[wop.start].what {
        TraceWhat::Node { event } => match &event.kind {
            EventKind::RequestReceived { request, .. } => request.key().clone(),
            _ => return MissReason::Unknown,
        },
        _ => return MissReason::Unknown,
    };
    let base = if !wop.live.contains(&replica) {
        MissReason::Down
    } else {
        // The write message the coordinator sent the replica, and its fate.
        let msg = node_events_from(trace, wop.start).find_map(|(_, _, e)| match &e.kind {
            EventKind::MessageSent {
                msg,
                to,
                msg_kind,
                op: Some(o),
                ..
            } if e.node == c && *o == wop.op && *to == replica && msg_kind == "write" => Some(*msg),
            _ => None,
        });
        let fate = msg.and_then(|m| {
            trace.iter().skip(wop.start).find_map(|e| match &e.what {
                TraceWhat::Sim {
                    event: ClusterEvent::MessageDropped { msg, reason, .. },
                } if *msg == m => Some(if reason.contains("cut") {
                    MissReason::LinkCut { from: c }
                } else if reason.contains("down") {
                    MissReason::DownOnArrival { from: c }
                } else {
                    MissReason::Dropped { from: c }
                }),
                TraceWhat::Node { event } if event.node == replica => match &event.kind {
                    EventKind::MessageReceived { msg, .. } if *msg == m => {
                        Some(if e.at > answered_at {
                            MissReason::InFlight { from: c }
                        } else {
                            MissReason::LostInCrash
                        })
                    }
                    _ => None,
                },
                _ => None,
            })
        });
        fate.unwrap_or(if msg.is_some() {
            MissReason::InFlight { from: c }
        } else {
            MissReason::Unknown
        })
    };
    // A hint for the replica, stored and not delivered by the time it
    // answered, waits on its holder.
    let mut hint: Option<(u64, NodeId)> = None;
    for (_, at, e) in node_events_from(trace, wop.start) {
        if at > answered_at {
            break;
        }
        match &e.kind {
            EventKind::HintStored {
                hint: id,
                target,
                key: k,
                reason,
            } if *target == replica && *k == key => {
                let _: &HintReason = reason;
                hint = Some((*id, e.node));
            }
            EventKind::HintDelivered { hint: id, .. }
                if hint.is_some_and(|(h, n)| h == *id && n == e.node) =>
            {
                hint = None;
            }
            _ => {}
        }
    }
    let _ = version;
    match hint {
        Some((_, holder)) => MissReason::HintWaiting {
            holder,
            because: Box::new(base),
        },
        None => base,
    }
}

fn show(v: &Option<Version>) -> String {
    match v {
        Some(Version { ts, value: Some(x) }) => format!("{x:?} (timestamp {ts})"),
        Some(Version { ts, value: None }) => format!("a tombstone (timestamp {ts})"),
        None => "nothing".to_string(),
    }
}

fn nodes(ns: &[NodeId]) -> String {
    let v: Vec<String> = ns.iter().map(|n| n.to_string()).collect();
    match v.len() {
        0 => "none".into(),
        1 => format!("node {}", v[0]),
        _ => format!("nodes {}", v.join(", ")),
    }
}

impl MissReason {
    /// Why, in words, that `replica` missed a write.
    pub fn words(&self, replica: NodeId) -> String {
        match self {
            MissReason::Down => {
                format!("node {replica} was down when the write came in, so it was not sent")
            }
            MissReason::LinkCut { from } => {
                format!("the link between node {from} and node {replica} was cut")
            }
            MissReason::Dropped { from } => {
                format!("the network lost node {from}'s message to node {replica}")
            }
            MissReason::DownOnArrival { from } => {
                format!("node {replica} was down when node {from}'s message arrived")
            }
            MissReason::InFlight { from } => {
                format!("node {from}'s message had not reached node {replica} yet when it answered")
            }
            MissReason::HintWaiting { holder, because } => format!(
                "{}; a hint for it is waiting on node {holder}",
                because.words(replica)
            ),
            MissReason::LostInCrash => format!("node {replica} stored it but lost it in a crash"),
            MissReason::Unknown => "the events do not say".into(),
        }
    }
}

impl Explanation {
    /// The explanation in plain words, one sentence a line.
    pub fn words(&self) -> Vec<String> {
        let mut out = Vec::new();
        let n = self.replicas.len();
        out.push(format!(
            "Node {} coordinated \"{}\". Key {} lives on {} (the ring's replicas).",
            self.coordinator,
            self.request,
            self.request.key(),
            nodes(&self.replicas)
        ));
        let word = if self.request.is_write() { "W" } else { "R" };
        out.push(format!(
            "{} needs {} of {n} replicas ({word} = {}). Node {} thought {} up and asked {}.",
            self.level,
            self.needed,
            self.needed,
            self.coordinator,
            nodes(&self.live),
            nodes(&self.asked)
        ));
        for a in &self.answers {
            let how = if self.request.is_write() {
                "stored"
            } else {
                "answered"
            };
            let counted = if a.counted {
                ""
            } else {
                " (too late to count)"
            };
            out.push(format!(
                "Node {} {how} {}{counted}.",
                a.replica,
                show(&a.version)
            ));
        }
        if let (Some(w), Some(rule)) = (&self.winner, self.rule) {
            let why = match rule {
                WinRule::Agreed => "every counted answer agreed",
                WinRule::NewestTimestamp => "it has the newest timestamp",
                WinRule::TieTombstone => "the timestamps tie, and a tombstone beats a value",
                WinRule::TieGreaterValue => "the timestamps tie, and the greater value wins",
            };
            out.push(format!("{} won: {why}.", show(&Some(w.clone()))));
        }
        if self.request.is_write() {
            let told = self.outcome.label();
            out.push(format!(
                "The client was told {told}; the write landed on {}.",
                nodes(&self.landed)
            ));
        }
        if !self.repaired.is_empty() {
            out.push(format!(
                "Read repair sent the winner to {}.",
                nodes(&self.repaired)
            ));
        } else if !self.request.is_write() {
            out.push("No read repair ran.".into());
        }
        for m in &self.missed {
            out.push(format!(
                "Node {} lacked \"{}\" ({}): {}.",
                m.replica,
                m.write_request,
                show(&Some(m.version.clone())),
                m.why.words(m.replica)
            ));
        }
        out
    }
}
