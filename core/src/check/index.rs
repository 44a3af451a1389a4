//! The history, indexed once per check so that every property answers a
//! read's question by a binary search instead of a scan of the writes:
//! the sweep checks thousands of histories and the chaos run one of
//! hundreds of thousands of requests.

use super::{History, Outcome};
use crate::message::Request;
use crate::types::{Consistency, Key, LongKeys, Micros, Value, Version};
use std::collections::HashMap;

/// Versions that later reads must not read below. Each entry holds from a
/// time on, for reads that ask enough replicas: an entry needing `n`
/// replicas binds a read asking `r` when `n + r > rf` (the two sets of
/// replicas overlap).
pub(super) struct Floors {
    /// `by_need[t]`: for entries needing at least `t` replicas, sorted by
    /// the time they hold from, (that time, the op index of the newest
    /// version among them so far).
    by_need: Vec<Vec<(Micros, usize)>>,
}

impl Floors {
    /// From (holds from, replicas needed, op index, version) entries;
    /// `version_of` gives an op index's version back.
    fn build<'v>(
        rf: usize,
        mut entries: Vec<(Micros, usize, usize)>,
        version_of: impl Fn(usize) -> &'v Version,
    ) -> Floors {
        entries.sort_unstable();
        let mut by_need = vec![Vec::new(); rf + 1];
        for (t, list) in by_need.iter_mut().enumerate() {
            let mut best: Option<usize> = None;
            for &(from, need, op) in &entries {
                if need < t {
                    continue;
                }
                if best.is_none_or(|b| version_of(op).supersedes(version_of(b))) {
                    best = Some(op);
                }
                list.push((from, best.unwrap_or(op)));
            }
        }
        Floors { by_need }
    }

    /// The op index of the newest entry holding before `before`, whatever
    /// it needed.
    pub(super) fn newest_below(&self, before: Micros) -> Option<usize> {
        let list = &self.by_need[0];
        let n = list.partition_point(|(t, _)| *t < before);
        n.checked_sub(1).map(|i| list[i].1)
    }

    /// The op index of the newest entry holding before `before` that binds
    /// a read asking `asks` replicas.
    pub(super) fn below(&self, rf: usize, asks: usize, before: Micros) -> Option<usize> {
        if asks == 0 || asks > rf {
            return None;
        }
        let list = &self.by_need[rf + 1 - asks];
        let n = list.partition_point(|(t, _)| *t < before);
        n.checked_sub(1).map(|i| list[i].1)
    }
}

/// The deletes of one key, to tell whether a read that returned nothing
/// could have seen one.
struct Deletes {
    /// The earliest invocation of a delete with no known timestamp (not
    /// acknowledged: it may have been applied with any).
    first_unknown: Micros,
    /// Acknowledged deletes sorted by invocation, with the greatest
    /// tombstone timestamp so far.
    acked: Vec<(Micros, Micros)>,
}

impl Deletes {
    /// True when a delete invoked by `done` may have written a tombstone
    /// that supersedes `v`.
    fn explain(&self, v: &Version, done: Micros) -> bool {
        if self.first_unknown <= done {
            return true;
        }
        let n = self.acked.partition_point(|(t, _)| *t <= done);
        n.checked_sub(1).is_some_and(|i| {
            Version {
                ts: self.acked[i].1,
                value: None,
            }
            .supersedes(v)
        })
    }
}

/// One key's operations, indexed.
pub(super) struct KeyIndex<'h> {
    /// Op indexes of the puts of the key, by value.
    pub puts: HashMap<&'h Value, Vec<usize>, LongKeys>,
    /// Acknowledged writes (ANY ones needing no replica), for
    /// `quorum-freshness` and the read labels.
    pub writes: Floors,
    /// Acknowledged deletes, for `no-resurrection`.
    pub deletes: Floors,
    /// Reads at QUORUM or ALL that returned a value, holding from when
    /// they completed, for `monotonic-quorum-reads`.
    pub anchors: Floors,
    delete_times: Deletes,
}

impl KeyIndex<'_> {
    /// True when a read that completed at `done` and returned nothing may
    /// have seen a delete newer than `v`.
    pub fn delete_explains(&self, v: &Version, done: Micros) -> bool {
        self.delete_times.explain(v, done)
    }
}

/// The whole history, indexed by key.
pub(super) struct Index<'h> {
    pub rf: usize,
    /// `versions[i]`: what op `i` wrote (acknowledged writes) or returned
    /// (reads that returned a value).
    pub versions: Vec<Option<Version>>,
    pub keys: HashMap<&'h Key, KeyIndex<'h>>,
}

impl<'h> Index<'h> {
    pub fn build(history: &'h History, rf: usize) -> Index<'h> {
        let versions: Vec<Option<Version>> = history
            .ops
            .iter()
            .map(|op| op.written_version().or_else(|| op.returned()))
            .collect();
        #[derive(Default)]
        struct Gather<'h> {
            puts: HashMap<&'h Value, Vec<usize>, LongKeys>,
            writes: Vec<(Micros, usize, usize)>,
            deletes: Vec<(Micros, usize, usize)>,
            anchors: Vec<(Micros, usize, usize)>,
            first_unknown: Option<Micros>,
            acked_deletes: Vec<(Micros, Micros)>,
        }
        let mut by_key: HashMap<&Key, Gather> = HashMap::new();
        for (i, op) in history.ops.iter().enumerate() {
            let g = by_key.entry(op.request.key()).or_default();
            let cl = op.request.cl();
            let need = cl.required(rf);
            let acked = matches!(op.outcome, Outcome::Written { .. });
            match (&op.request, op.complete_us) {
                (Request::Put { value, .. }, done) => {
                    g.puts.entry(value).or_default().push(i);
                    if let (true, Some(done)) = (acked, done) {
                        g.writes.push((done, need, i));
                    }
                }
                (Request::Delete { .. }, done) => {
                    match (&versions[i], done) {
                        (Some(v), Some(done)) if acked => {
                            g.writes.push((done, need, i));
                            g.deletes.push((done, need, i));
                            g.acked_deletes.push((op.invoke_us, v.ts));
                        }
                        _ => {
                            let f = g.first_unknown.get_or_insert(op.invoke_us);
                            *f = (*f).min(op.invoke_us);
                        }
                    };
                }
                (Request::Get { .. }, Some(done)) => {
                    let blocking = matches!(cl, Consistency::Quorum | Consistency::All);
                    if blocking && versions[i].is_some() {
                        g.anchors.push((done, need, i));
                    }
                }
                (Request::Get { .. }, None) => {}
            }
        }
        let version_of = |i: usize| versions[i].as_ref().expect("indexed ops have a version");
        let keys = by_key
            .into_iter()
            .map(|(key, mut g)| {
                g.acked_deletes.sort_unstable();
                let mut max = 0;
                for d in &mut g.acked_deletes {
                    max = max.max(d.1);
                    d.1 = max;
                }
                let ki = KeyIndex {
                    puts: g.puts,
                    writes: Floors::build(rf, g.writes, version_of),
                    deletes: Floors::build(rf, g.deletes, version_of),
                    anchors: Floors::build(rf, g.anchors, version_of),
                    delete_times: Deletes {
                        first_unknown: g.first_unknown.unwrap_or(Micros::MAX),
                        acked: g.acked_deletes,
                    },
                };
                (key, ki)
            })
            .collect();
        Index { rf, versions, keys }
    }

    /// The version op `i` wrote or read.
    pub fn version(&self, i: usize) -> Option<&Version> {
        self.versions[i].as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_find_the_newest_binding_entry() {
        let vs = [
            Version {
                ts: 5,
                value: Some("a".into()),
            },
            Version {
                ts: 9,
                value: Some("b".into()),
            },
            Version {
                ts: 7,
                value: Some("c".into()),
            },
        ];
        // Op 0 needs 2 of 3 (QUORUM), op 1 needs 1 (ONE), op 2 needs 3.
        let f = Floors::build(3, vec![(10, 2, 0), (20, 1, 1), (30, 3, 2)], |i| &vs[i]);
        // A QUORUM read (2) is bound by needs >= 2: ops 0 and 2.
        assert_eq!(f.below(3, 2, 10), None);
        assert_eq!(f.below(3, 2, 11), Some(0));
        assert_eq!(f.below(3, 2, 31), Some(2));
        // A ONE read only by op 2 (ALL).
        assert_eq!(f.below(3, 1, 25), None);
        assert_eq!(f.below(3, 1, 31), Some(2));
        // An ALL read by everything; op 1 is the newest.
        assert_eq!(f.below(3, 3, 31), Some(1));
        assert_eq!(f.below(3, 0, 31), None);
        assert_eq!(f.below(3, 4, 31), None);
    }
}
