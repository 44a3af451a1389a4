//! The properties of the settled cluster: once faults stop, nodes are back
//! and hints are delivered, what every replica holds.

use super::{describe, show, FinalState, History, Violation};
use crate::message::Request;
use std::cmp::Ordering;

/// `no-resurrection` (in the end), `durability` and `convergence`, in that
/// order; `Ok` carries how many acknowledged writes were checked.
pub(super) fn check(history: &History, fin: &FinalState) -> Result<usize, Violation> {
    for d in &history.ops {
        let (Request::Delete { key, .. }, Some(tomb)) = (&d.request, d.written_version()) else {
            continue;
        };
        let newest = fin.newest(key);
        if let Some(v) = newest.filter(|v| !v.is_tombstone() && tomb.supersedes(v)) {
            return Err(Violation {
                property: "no-resurrection",
                detail: format!(
                    "{} was acknowledged with {}, but in the end key {key} holds {} again",
                    describe(d),
                    show(Some(&tomb)),
                    show(Some(v))
                ),
            });
        }
    }
    let mut checked = 0;
    for w in &history.ops {
        let Some(wv) = w.written_version() else {
            continue;
        };
        checked += 1;
        let key = w.request.key();
        let newest = fin.newest(key);
        if newest.is_none_or(|n| n.lww_cmp(&wv) == Ordering::Less) {
            return Err(Violation {
                property: "durability",
                detail: format!(
                    "{} was acknowledged with {}, but in the end the newest version of {key} is {}",
                    describe(w),
                    show(Some(&wv)),
                    show(newest)
                ),
            });
        }
    }
    for (key, versions) in &fin.replicas {
        let Some((_, first)) = versions.first() else {
            continue;
        };
        if versions.iter().any(|(_, v)| v != first) {
            let all: Vec<String> = versions
                .iter()
                .map(|(n, v)| format!("node {n}: {}", show(v.as_ref())))
                .collect();
            return Err(Violation {
                property: "convergence",
                detail: format!(
                    "replicas of {key} disagree after settling: {}",
                    all.join(", ")
                ),
            });
        }
    }
    Ok(checked)
}
