//! `timestamp-order`: the order of the coordinators' write timestamps.
//!
//! A coordinator issues `max(its clock, last issued + 1)`, so a write that
//! begins after another write through it was acknowledged gets a greater
//! timestamp whatever its clock does (a step back, a restart). Across
//! coordinators only agreeing clocks order them: then a write's timestamp
//! is at least its coordinator's clock when it began, which is after the
//! earlier write completed. A coordinator that issues several timestamps
//! in one microsecond runs ahead of its clock, and only it then orders
//! what follows; so across coordinators a write must get a timestamp above
//! the earlier write's, or above the time that write completed, whichever
//! is less.

use super::{describe, History, HistoryOp, Violation};
use crate::types::{Micros, NodeId};
use std::collections::HashMap;

/// Acknowledged writes sorted by completion, each with the op index of the
/// greatest bound so far, where `bound` is what later writes must exceed.
struct Bounds {
    /// (completed, op index of the greatest bound so far, that bound).
    sorted: Vec<(Micros, usize, Micros)>,
}

impl Bounds {
    fn build(mut writes: Vec<(Micros, Micros, usize)>) -> Bounds {
        writes.sort_unstable();
        let mut best: Option<(usize, Micros)> = None;
        let sorted = writes
            .into_iter()
            .map(|(done, bound, i)| {
                if best.is_none_or(|(_, b)| bound > b) {
                    best = Some((i, bound));
                }
                let (bi, b) = best.unwrap_or((i, bound));
                (done, bi, b)
            })
            .collect();
        Bounds { sorted }
    }

    /// The greatest bound among writes completed before `before`.
    fn before(&self, before: Micros) -> Option<(usize, Micros)> {
        let n = self.sorted.partition_point(|(t, _, _)| *t < before);
        n.checked_sub(1)
            .map(|i| (self.sorted[i].1, self.sorted[i].2))
    }
}

/// An acknowledged write: (op index, timestamp, completed).
fn acked(history: &History) -> impl Iterator<Item = (usize, &HistoryOp, Micros, Micros)> {
    history.ops.iter().enumerate().filter_map(|(i, op)| {
        let ts = op.written_version()?.ts;
        Some((i, op, ts, op.complete_us?))
    })
}

pub(super) fn timestamp_order(history: &History, clocks_agree: bool) -> Result<(), Violation> {
    let mut per_node: HashMap<NodeId, Vec<(Micros, Micros, usize)>> = HashMap::new();
    let mut all = Vec::new();
    for (i, op, ts, done) in acked(history) {
        per_node.entry(op.node).or_default().push((done, ts, i));
        if clocks_agree {
            all.push((done, ts.min(done), i));
        }
    }
    let per_node: HashMap<NodeId, Bounds> = per_node
        .into_iter()
        .map(|(n, w)| (n, Bounds::build(w)))
        .collect();
    let all = Bounds::build(all);
    for (_, w2, ts2, _) in acked(history) {
        let same = per_node[&w2.node].before(w2.invoke_us);
        if let Some((w1, ts1)) = same.filter(|&(_, ts1)| ts2 <= ts1) {
            return Err(Violation {
                property: "timestamp-order",
                detail: format!(
                    "{} was acknowledged with timestamp {ts2}, not above the {ts1} of {}, acknowledged through the same coordinator before it began",
                    describe(w2),
                    describe(&history.ops[w1])
                ),
            });
        }
        if let Some((w1, bound)) = all.before(w2.invoke_us).filter(|&(_, b)| ts2 <= b) {
            let w1 = &history.ops[w1];
            return Err(Violation {
                property: "timestamp-order",
                detail: format!(
                    "{} was acknowledged with timestamp {ts2}, not above {bound}, when {} (timestamp {}) was acknowledged before it began and the clocks agree",
                    describe(w2),
                    describe(w1),
                    w1.written_version().map_or(0, |v| v.ts)
                ),
            });
        }
    }
    Ok(())
}
