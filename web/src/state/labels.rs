//! Every read labelled: fresh, stale as its level allows, or a violation,
//! by `core::check::label_reads` itself, so the page and the checker
//! cannot disagree.
//!
//! The checker judges a read against the operations on its key only, so
//! the view keeps a bounded history per key (in invocation order, as the
//! simulator's own history) and labels a key's listed reads again each
//! time one of its operations ends: an operation still pending when a read
//! ended can change the read's label when it ends (a put refused later).

use super::{ClusterView, KEY_OPS_CAP, OPS_CAP};
use ringside_core::check::{label_reads, CheckOptions, History, HistoryOp, Outcome, ReadLabel};
use ringside_core::{ClientRef, Key, Micros};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// The operations the view keeps for one key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyOps {
    pub ops: VecDeque<HistoryOp>,
    /// Older operations were let go (see [`KEY_OPS_CAP`]): a read of a
    /// value whose put is gone cannot be judged from what is kept.
    pub trimmed: bool,
}

impl KeyOps {
    /// The kept operations as a history the checker and `explain` read.
    pub fn history(&self) -> History {
        History {
            ops: self.ops.iter().cloned().collect(),
        }
    }
}

/// Operations per key, shared with the panels.
pub type KeyHistory = Rc<BTreeMap<Key, Rc<KeyOps>>>;

impl ClusterView {
    /// A request was sent: it joins its key's history, pending.
    pub(super) fn op_sent(&mut self, op: HistoryOp) {
        let key = op.request.key().clone();
        let all = Rc::make_mut(&mut self.history);
        Rc::make_mut(all.entry(key.clone()).or_default())
            .ops
            .push_back(op);
        self.history_len += 1;
        self.trim_history(&key);
    }

    /// A request ended: its outcome goes into its key's history, and that
    /// key's listed reads are labelled again.
    pub(super) fn op_answered(&mut self, client: ClientRef, at: Micros, outcome: &Outcome) {
        // A request scrolled off the list is found in the history.
        let key = self
            .request(client)
            .map(|r| r.request.key().clone())
            .or_else(|| {
                self.history
                    .iter()
                    .find(|(_, o)| o.ops.iter().any(|op| op.client == client))
                    .map(|(k, _)| k.clone())
            });
        let Some(key) = key else {
            return;
        };
        let Some(ops) = Rc::make_mut(&mut self.history).get_mut(&key) else {
            return;
        };
        let ops = Rc::make_mut(ops);
        if let Some(op) = ops.ops.iter_mut().rev().find(|o| o.client == client) {
            op.complete_us = Some(at);
            op.outcome = outcome.clone();
        }
        self.relabel(&key);
    }

    /// Operations kept, over every key.
    pub fn history_len(&self) -> usize {
        self.history_len
    }

    /// The operations kept for `key`.
    pub fn key_ops(&self, key: &Key) -> Option<&Rc<KeyOps>> {
        self.history.get(key)
    }

    /// Labels every listed read of `key` from its kept history.
    fn relabel(&mut self, key: &Key) {
        let Some(ops) = self.history.get(key).cloned() else {
            return;
        };
        let history = ops.history();
        let labels = label_reads(&history, CheckOptions::new(self.topo.rf));
        for (client, label) in labels {
            let label = match label {
                // The put that wrote the value may be among those let go.
                ReadLabel::Violation { property }
                    if ops.trimmed && property == "no-invented-values" =>
                {
                    None
                }
                l => Some(l),
            };
            if let Some(r) = self.request(client) {
                if r.label != label {
                    if let Some(r) = self.request_mut(client) {
                        r.label = label;
                    }
                }
            }
        }
    }

    /// Keeps at most [`KEY_OPS_CAP`] operations for `key` (the one that
    /// just grew) and [`OPS_CAP`] in all, letting the oldest go first.
    fn trim_history(&mut self, key: &Key) {
        let all = Rc::make_mut(&mut self.history);
        if let Some(o) = all.get_mut(key) {
            let o = Rc::make_mut(o);
            while o.ops.len() > KEY_OPS_CAP {
                o.ops.pop_front();
                o.trimmed = true;
                self.history_len -= 1;
            }
        }
        while self.history_len > OPS_CAP {
            let oldest = all
                .iter()
                .filter_map(|(k, o)| o.ops.front().map(|op| (op.invoke_us, k)))
                .min()
                .map(|(_, k)| k.clone());
            let Some(k) = oldest else { break };
            let Some(o) = all.get_mut(&k) else { break };
            let o = Rc::make_mut(o);
            o.ops.pop_front();
            o.trimmed = true;
            self.history_len -= 1;
            if o.ops.is_empty() {
                all.remove(&k);
            }
        }
    }
}

/// A label in a few words, for the request list.
pub fn label_text(label: &ReadLabel) -> &'static str {
    match label {
        ReadLabel::Fresh => "fresh",
        ReadLabel::Stale { .. } => "stale, allowed",
        ReadLabel::Violation { .. } => "violation",
    }
}

/// What a label means, in a sentence, for a hover and the why panel.
pub fn label_meaning(label: &ReadLabel) -> String {
    match label {
        ReadLabel::Fresh => {
            "fresh: it returned the newest write acknowledged before it began (or newer)".into()
        }
        ReadLabel::Stale { reason } => format!(
            "stale, but its level allows it: {reason}, so the replicas it read need not overlap those that took the write"
        ),
        ReadLabel::Violation { property } => {
            format!("a violation: this read breaks {property}, which its level promises")
        }
    }
}
