//! A label for every read, for the page: fresh, stale as its level allows
//! (and why), or a violation of what its level promises. A read is a
//! violation exactly when [`super::check_with`] would name it.

use super::index::Index;
use super::{reads, CheckOptions, History, Outcome};
use crate::message::{ClientRef, Request};
use crate::types::Consistency;
use serde::{Deserialize, Serialize};

/// What a read returned, against the writes acknowledged before it began.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "label", rename_all = "snake_case")]
pub enum ReadLabel {
    /// The newest acknowledged write before the read began, or newer.
    Fresh,
    /// Older than that, which the levels allow; `reason` says why, e.g.
    /// `ONE read after a ONE write: R + W = 1 + 1 = 2 ≤ N = 3`.
    Stale { reason: String },
    /// A property of [`super::PROPERTIES`] broken by this read.
    Violation { property: String },
}

/// Labels every successful read of `history`, in history order, by its
/// request id.
pub fn label_reads(history: &History, opts: CheckOptions<'_>) -> Vec<(ClientRef, ReadLabel)> {
    let idx = Index::build(history, opts.rf);
    history
        .ops
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.outcome, Outcome::Read { .. }))
        .map(|(i, r)| {
            let label = match reads::judge(history, &idx, i) {
                Some(v) => ReadLabel::Violation {
                    property: v.property.to_string(),
                },
                None => staleness(history, &idx, i),
            };
            (r.client, label)
        })
        .collect()
}

/// Fresh or stale, for a read that broke nothing.
fn staleness(history: &History, idx: &Index, i: usize) -> ReadLabel {
    let r = &history.ops[i];
    let key = r.request.key();
    let Some(ki) = idx.keys.get(key) else {
        return ReadLabel::Fresh;
    };
    let Some(w) = ki.writes.newest_below(r.invoke_us) else {
        return ReadLabel::Fresh;
    };
    let Some(newest) = idx.version(w) else {
        return ReadLabel::Fresh;
    };
    let fresh = match r.returned() {
        Some(v) => !newest.supersedes(&v),
        None => newest.is_tombstone() || ki.delete_explains(newest, r.done_us()),
    };
    if fresh {
        return ReadLabel::Fresh;
    }
    let write = &history.ops[w];
    let (rcl, wcl) = (r.request.cl(), write.request.cl());
    let (rn, wn, n) = (rcl.required(idx.rf), wcl.required(idx.rf), idx.rf);
    let what = match write.request {
        Request::Delete { .. } => "delete",
        _ => "write",
    };
    let reason = format!(
        "{rcl} read after a{} {wcl} {what}: R + W = {rn} + {wn} = {} ≤ N = {n}",
        if matches!(wcl, Consistency::All | Consistency::Any) {
            "n"
        } else {
            ""
        },
        rn + wn
    );
    ReadLabel::Stale { reason }
}
