//! The properties of one read: what it may return given the writes and
//! reads before it. Each read is judged on its own, so the page's labels
//! and the checker agree by construction.

use super::index::{Index, KeyIndex};
use super::{describe, show, History, HistoryOp, Outcome, Violation};
use crate::message::Request;
use crate::types::Version;

/// The first property read `i` breaks, in the order of
/// [`super::PROPERTIES`]; `None` for a read that holds them all, or for
/// an op that is not a successful read.
pub(super) fn judge(history: &History, idx: &Index, i: usize) -> Option<Violation> {
    let r = &history.ops[i];
    let (Request::Get { key, .. }, Outcome::Read { .. }) = (&r.request, &r.outcome) else {
        return None;
    };
    let returned = r.returned();
    let Some(ki) = idx.keys.get(key).filter(|k| !k.puts.is_empty()) else {
        return returned.map(|v| Violation {
            property: "no-invented-values",
            detail: format!(
                "{} returned {}, but key {key} was never put",
                describe(r),
                show(Some(&v))
            ),
        });
    };
    if let Some(v) = &returned {
        if let Some(violation) = check_origin(history, ki, r, v) {
            return Some(violation);
        }
    }
    no_resurrection(history, idx, ki, r, returned.as_ref())
        .or_else(|| monotonic(history, idx, ki, r, returned.as_ref()))
        .or_else(|| quorum_freshness(history, idx, ki, r, returned.as_ref()))
}

/// `no-invented-values` and `refused-writes-invisible`: the returned
/// value was written by a put that began before the read ended, with the
/// timestamp it was acknowledged with, and that put was not refused.
fn check_origin(history: &History, ki: &KeyIndex, r: &HistoryOp, v: &Version) -> Option<Violation> {
    let key = r.request.key();
    let candidates: Vec<&HistoryOp> = v
        .value
        .as_ref()
        .and_then(|value| ki.puts.get(value))
        .into_iter()
        .flatten()
        .map(|&p| &history.ops[p])
        .filter(|p| p.invoke_us <= r.done_us() && p.written_version().is_none_or(|w| w.ts == v.ts))
        .collect();
    if candidates.is_empty() {
        return Some(Violation {
            property: "no-invented-values",
            detail: format!(
                "{} returned {}, which no put of key {key} wrote",
                describe(r),
                show(Some(v))
            ),
        });
    }
    if candidates.iter().all(|p| p.refused()) {
        let p = candidates[0];
        return Some(Violation {
            property: "refused-writes-invisible",
            detail: format!(
                "{} returned {}, written only by {}, which was refused with {}",
                describe(r),
                show(Some(v)),
                describe(p),
                p.outcome.label()
            ),
        });
    }
    None
}

/// Replicas a read asks, when its level is one a read may use.
fn asks(idx: &Index, r: &HistoryOp) -> usize {
    r.request.cl().required(idx.rf)
}

fn no_resurrection(
    history: &History,
    idx: &Index,
    ki: &KeyIndex,
    r: &HistoryOp,
    returned: Option<&Version>,
) -> Option<Violation> {
    let v = returned?;
    let d = ki.deletes.below(idx.rf, asks(idx, r), r.invoke_us)?;
    let tomb = idx.version(d)?;
    tomb.supersedes(v).then(|| Violation {
        property: "no-resurrection",
        detail: format!(
            "{} returned {}, but {} had deleted it with {} before the read began",
            describe(r),
            show(Some(v)),
            describe(&history.ops[d]),
            show(Some(tomb))
        ),
    })
}

/// True when a read that returned `returned` saw `floor` or newer: the
/// same or a newer version, or nothing where a delete may explain it.
fn at_least(ki: &KeyIndex, r: &HistoryOp, returned: Option<&Version>, floor: &Version) -> bool {
    match returned {
        Some(v) => !floor.supersedes(v),
        None => floor.is_tombstone() || ki.delete_explains(floor, r.done_us()),
    }
}

fn monotonic(
    history: &History,
    idx: &Index,
    ki: &KeyIndex,
    r: &HistoryOp,
    returned: Option<&Version>,
) -> Option<Violation> {
    let a = ki.anchors.below(idx.rf, asks(idx, r), r.invoke_us)?;
    let floor = idx.version(a)?;
    (!at_least(ki, r, returned, floor)).then(|| Violation {
        property: "monotonic-quorum-reads",
        detail: format!(
            "{} returned {}, older than {} which {} had returned before it began",
            describe(r),
            show(returned),
            show(Some(floor)),
            describe(&history.ops[a])
        ),
    })
}

fn quorum_freshness(
    history: &History,
    idx: &Index,
    ki: &KeyIndex,
    r: &HistoryOp,
    returned: Option<&Version>,
) -> Option<Violation> {
    let w = ki.writes.below(idx.rf, asks(idx, r), r.invoke_us)?;
    let floor = idx.version(w)?;
    (!at_least(ki, r, returned, floor)).then(|| Violation {
        property: "quorum-freshness",
        detail: format!(
            "{} returned {}, but {} had been acknowledged with {} before the read began",
            describe(r),
            show(returned),
            describe(&history.ops[w]),
            show(Some(floor))
        ),
    })
}
