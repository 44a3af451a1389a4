//! Every read labelled as the history checker labels it: fresh, stale but
//! allowed by its levels (with the reason), or a violation of what its
//! level promises ([`ringside_core::check::label_reads`]).
//!
//! The checker's rules for a read look only at the requests on the same
//! key (the writes it may have seen, earlier reads for monotonicity), so
//! the view keeps each key's recent requests, pending ones too (a read may
//! return a write not yet acknowledged), and labels that key's reads again
//! whenever one of its requests is sent or answered: a label can change
//! once a write that was pending at the read's answer gets its own.

use super::{ClusterView, RequestView};
use ringside_core::check::{label_reads, CheckOptions, History, HistoryOp};
use ringside_core::Key;
use std::rc::Rc;

/// Requests kept per key for the labels. Once a key has more, its oldest
/// go, and only the newer half of its reads are labelled again: an old
/// read's label would otherwise be judged without the writes it saw.
const OPS_PER_KEY: usize = 64;

/// What the checker sees of a request.
pub fn history_op(r: &RequestView) -> HistoryOp {
    HistoryOp {
        client: r.client,
        node: r.coordinator,
        request: r.request.clone(),
        invoke_us: r.invoke_us,
        complete_us: r.complete_us,
        outcome: r.outcome.clone(),
    }
}

impl ClusterView {
    /// Records `r` (sent or answered) among its key's requests and labels
    /// the key's reads again.
    pub(super) fn track_for_labels(&mut self, r: &RequestView) {
        let key = r.request.key().clone();
        let ops = Rc::make_mut(&mut self.key_ops)
            .entry(key.clone())
            .or_default();
        let op = history_op(r);
        match ops.iter_mut().rev().find(|o| o.client == r.client) {
            Some(o) => *o = op,
            None => ops.push(op),
        }
        if ops.len() > OPS_PER_KEY {
            ops.remove(0);
        }
        self.label_key(&key);
    }

    fn label_key(&mut self, key: &Key) {
        let Some(ops) = self.key_ops.get(key) else {
            return;
        };
        let from = if ops.len() >= OPS_PER_KEY {
            OPS_PER_KEY / 2
        } else {
            0
        };
        let relabel: Vec<_> = ops[from..].iter().map(|o| o.client).collect();
        let history = History { ops: ops.clone() };
        let labels = label_reads(&history, CheckOptions::new(self.topo.rf));
        for (client, label) in labels {
            if !relabel.contains(&client) {
                continue;
            }
            let same = self
                .request(client)
                .is_none_or(|r| r.label.as_ref() == Some(&label));
            if !same {
                if let Some(r) = self.request_mut(client) {
                    r.label = Some(label);
                }
            }
        }
    }
}
