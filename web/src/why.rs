//! "Why?" for any listed request: `core::explain` run on what the page
//! kept of the run.
//!
//! The event log scrolls and the view keeps only the present, but
//! `explain` reads the events themselves: who was asked, who answered,
//! which write a replica applied and when, which message the network
//! lost. [`Evidence`] keeps those events (and no others: heartbeats and
//! anti-entropy make most of a run) up to [`EVIDENCE_CAP`] of them. Older
//! ones are folded, not forgotten: what each node last applied for each
//! key, and a crash that lost records, stay at the front as the entries
//! that say so, so a replica's answer to a read is still known after the
//! write that gave it scrolled away. The explanation is computed when a
//! request is selected and again as the panels refresh (late answers and
//! read repair come after the reply), never for requests nobody looks at.

use crate::state::{ClusterView, Update};
use ringside_core::check::{HistoryOp, Outcome};
use ringside_core::explain::{explain, Explanation};
use ringside_core::io::EventKind;
use ringside_core::{ClientRef, Key, Micros, NodeId};
use ringside_core::{ClusterEvent, TraceEntry, TraceWhat};
use std::collections::BTreeMap;

/// Events kept beside the folded ones (about 200 bytes each). A request
/// leaves six to a dozen, so this covers the request list (200) several
/// times over under load.
pub const EVIDENCE_CAP: usize = 10_000;

/// The message kinds `explain` follows.
fn data_kind(kind: &str) -> bool {
    matches!(kind, "read" | "write" | "read_repair")
}

/// True for the events `explain` reads.
fn needed(e: &TraceEntry) -> bool {
    match &e.what {
        TraceWhat::Node { event } => match &event.kind {
            EventKind::RequestReceived { .. }
            | EventKind::RequestAnswered { .. }
            | EventKind::WriteApplied { .. }
            | EventKind::ReadRepair { .. }
            | EventKind::HintStored { .. }
            | EventKind::HintDelivered { .. } => true,
            EventKind::MessageSent { msg_kind, .. }
            | EventKind::MessageReceived { msg_kind, .. } => data_kind(msg_kind),
            _ => false,
        },
        TraceWhat::Sim { event } => match event {
            ClusterEvent::MessageDropped { msg_kind, .. } => data_kind(msg_kind),
            ClusterEvent::Crashed { lost_records, .. } => *lost_records > 0,
            _ => false,
        },
    }
}

/// The events the page keeps for explanations. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// The folded entries (`folded` of them), then the kept events,
    /// oldest first: one slice, as `explain` wants.
    trace: Vec<TraceEntry>,
    folded: usize,
}

impl Evidence {
    /// Keeps what `explain` needs from a batch of updates.
    pub fn record(&mut self, updates: &[Update]) {
        for u in updates {
            match u {
                Update::Reset(_) => *self = Evidence::default(),
                Update::Trace(e) if needed(e) => self.trace.push(e.clone()),
                _ => {}
            }
        }
        // Folding in quarters keeps the cost per event constant.
        if self.trace.len() > self.folded + EVIDENCE_CAP + EVIDENCE_CAP / 4 {
            self.fold();
        }
    }

    /// Folds the oldest events into what they leave behind.
    fn fold(&mut self) {
        let cut = self.trace.len() - EVIDENCE_CAP;
        let mut applied: BTreeMap<(NodeId, Key), TraceEntry> = BTreeMap::new();
        let mut lossy: BTreeMap<NodeId, TraceEntry> = BTreeMap::new();
        // The entries folded before come first, so newer ones replace them.
        for e in self.trace.drain(..cut) {
            match &e.what {
                TraceWhat::Node { event } => {
                    if let EventKind::WriteApplied { key, won: true, .. } = &event.kind {
                        applied.insert((event.node, key.clone()), e);
                    }
                }
                TraceWhat::Sim {
                    event: ClusterEvent::Crashed { node, .. },
                } => {
                    lossy.insert(*node, e);
                }
                TraceWhat::Sim { .. } => {}
            }
        }
        let mut kept: Vec<TraceEntry> = lossy.into_values().chain(applied.into_values()).collect();
        self.folded = kept.len();
        kept.append(&mut self.trace);
        self.trace = kept;
    }

    /// The kept trace, folded entries first.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Entries held, folded ones included (for measuring).
    pub fn len(&self) -> usize {
        self.trace.len()
    }

    /// How many of the entries stand for folded ones.
    pub fn folded(&self) -> usize {
        self.folded
    }
}

/// The answer to "why?" for one request, and for a read, the write it is
/// measured against.
#[derive(Clone, Debug, PartialEq)]
pub struct Why {
    pub ex: Explanation,
    /// For a read: the newest write of its key acknowledged before it
    /// began, explained too (where it landed, and when).
    pub write: Option<Explanation>,
    pub invoke_us: Micros,
}

impl Why {
    /// The replicas that held `write` when the read began: the W side of
    /// the overlap.
    pub fn write_holders(&self) -> Vec<NodeId> {
        let Some(w) = &self.write else {
            return Vec::new();
        };
        w.answers
            .iter()
            .filter(|a| a.at_us <= self.invoke_us)
            .map(|a| a.replica)
            .collect()
    }

    /// The replicas whose answers counted: the R (or W) side.
    pub fn counted(&self) -> Vec<NodeId> {
        self.ex
            .answers
            .iter()
            .filter(|a| a.counted)
            .map(|a| a.replica)
            .collect()
    }
}

/// The newest write of the read's key acknowledged before it began.
fn newest_write_before<'a>(ops: &'a [HistoryOp], read: &HistoryOp) -> Option<&'a HistoryOp> {
    ops.iter()
        .filter(|o| o.complete_us.is_some_and(|t| t <= read.invoke_us))
        .filter_map(|o| o.written_version().map(|v| (o, v)))
        .max_by(|a, b| a.1.lww_cmp(&b.1))
        .map(|(o, _)| o)
}

/// Explains request `client`, if the view still lists it and the page
/// still holds its key's operations.
pub fn why(evidence: &Evidence, view: &ClusterView, client: ClientRef) -> Option<Why> {
    let r = view.request(client)?;
    let history = view.key_ops(r.request.key())?.history();
    let ex = explain(evidence.trace(), &history, client)?;
    let read = history.ops.iter().find(|o| o.client == client)?;
    let write = match (&r.request.is_write(), &r.outcome) {
        (false, Outcome::Read { .. }) => newest_write_before(&history.ops, read)
            .and_then(|w| explain(evidence.trace(), &history, w.client)),
        _ => None,
    };
    Some(Why {
        ex,
        write,
        invoke_us: r.invoke_us,
    })
}

#[cfg(test)]
mod tests;
