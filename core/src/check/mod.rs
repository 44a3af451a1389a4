//! The history checker: given what clients asked and were answered (with
//! invocation and completion times) and every replica's final state, it
//! checks named properties and reports the first violation.
//!
//! - `no-invented-values`: a read only returns a value some put wrote.
//! - `quorum-freshness`: a read at level R that starts after a write at
//!   level W completed, with R + W > RF, returns that write or a newer one
//!   (newer in last-write-wins order).
//! - `durability`: every acknowledged write is, once all nodes are back
//!   and hints are delivered, still the newest version or superseded by a
//!   newer one.
//! - `convergence`: once faults stop and the cluster settles, all replicas
//!   of every key hold the same version.
//!
//! Values must be unique per put for `no-invented-values` to be exact; the
//! workloads of [`crate::sim::workload`] and the chaos tests make them so.

use crate::message::{ClientRef, ErrorKind, Reply, Request};
use crate::types::{Consistency, Key, KeyVersion, Micros, NodeId, Version};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// How a client request ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// No answer yet.
    Pending,
    Written {
        ts: Micros,
    },
    Read {
        kv: Option<KeyVersion>,
    },
    Error {
        kind: ErrorKind,
        message: String,
    },
    /// The coordinator could not be reached or died before answering: the
    /// request may or may not have taken effect.
    NoReply {
        reason: String,
    },
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Written { .. } | Outcome::Read { .. })
    }
    /// `ok`, an error kind, `no reply`, or `pending`.
    pub fn label(&self) -> &str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Written { .. } | Outcome::Read { .. } => "ok",
            Outcome::Error { kind, .. } => kind.name(),
            Outcome::NoReply { .. } => "no reply",
        }
    }
}

impl From<Reply> for Outcome {
    /// How a coordinator's reply ends a request.
    fn from(reply: Reply) -> Outcome {
        match reply {
            Reply::Written { ts } => Outcome::Written { ts },
            Reply::Read { kv } => Outcome::Read { kv },
            Reply::Error { kind, message } => Outcome::Error { kind, message },
        }
    }
}

/// One client request in a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryOp {
    pub client: ClientRef,
    /// The coordinator it was sent to.
    pub node: NodeId,
    pub request: Request,
    pub invoke_us: Micros,
    pub complete_us: Option<Micros>,
    pub outcome: Outcome,
}

impl HistoryOp {
    /// The version an acknowledged write wrote.
    pub fn written_version(&self) -> Option<Version> {
        let Outcome::Written { ts } = self.outcome else {
            return None;
        };
        match &self.request {
            Request::Put { value, .. } => Some(Version {
                ts,
                value: Some(value.clone()),
            }),
            Request::Delete { .. } => Some(Version { ts, value: None }),
            Request::Get { .. } => None,
        }
    }
}

/// Every request of a run, in invocation order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub ops: Vec<HistoryOp>,
}

/// Every replica's version of each key at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FinalState {
    pub rf: usize,
    pub replicas: BTreeMap<Key, Vec<(NodeId, Option<Version>)>>,
}

impl FinalState {
    /// The newest version any replica holds.
    pub fn newest(&self, key: &Key) -> Option<&Version> {
        self.replicas
            .get(key)?
            .iter()
            .fold(None, |acc, (_, v)| Version::newest(acc, v.as_ref()))
    }
}

/// A broken property, named, with what broke it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub property: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.property, self.detail)
    }
}

/// Counts of what a history held, for status lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub ops: usize,
    pub ok: usize,
    pub unavailable: usize,
    pub timeout: usize,
    pub no_reply: usize,
    pub other_errors: usize,
    pub reads_checked: usize,
    pub writes_checked: usize,
}

fn show(v: Option<&Version>) -> String {
    match v {
        None => "nothing".into(),
        Some(Version { ts, value: None }) => format!("tombstone@{ts}"),
        Some(Version { ts, value: Some(s) }) => format!("{s:?}@{ts}"),
    }
}

/// Checks every property; `Ok` carries counts, `Err` the first violation.
/// `final_state` is `None` when the run did not settle (then durability and
/// convergence are not checked).
pub fn check(
    history: &History,
    final_state: Option<&FinalState>,
    rf: usize,
) -> Result<Summary, Violation> {
    let mut s = Summary {
        ops: history.ops.len(),
        ..Summary::default()
    };
    for op in &history.ops {
        match &op.outcome {
            Outcome::Written { .. } | Outcome::Read { .. } => s.ok += 1,
            Outcome::Error {
                kind: ErrorKind::Unavailable,
                ..
            } => s.unavailable += 1,
            Outcome::Error {
                kind: ErrorKind::Timeout,
                ..
            } => s.timeout += 1,
            Outcome::Error { .. } => s.other_errors += 1,
            Outcome::NoReply { .. } | Outcome::Pending => s.no_reply += 1,
        }
    }
    // Writes by key, each with its version computed once; and for every
    // threshold t (a write that needed at least t acknowledgements) the
    // acknowledged writes sorted by completion time with the index of the
    // newest so far, so a read finds the newest write it must see by a
    // binary search. Big chaos histories check in seconds this way.
    struct KeyWrites<'a> {
        all: Vec<(&'a HistoryOp, Option<Version>)>,
        /// `by_need[t]`: (completion time, index in `all` of the newest
        /// version among writes completed so far), sorted by time.
        by_need: Vec<Vec<(Micros, usize)>>,
    }
    let mut writes: BTreeMap<&Key, KeyWrites> = BTreeMap::new();
    for op in &history.ops {
        if op.request.is_write() {
            writes
                .entry(op.request.key())
                .or_insert_with(|| KeyWrites {
                    all: Vec::new(),
                    by_need: vec![Vec::new(); rf + 1],
                })
                .all
                .push((op, op.written_version()));
        }
    }
    for kw in writes.values_mut() {
        let mut acked: Vec<(Micros, usize, usize)> = kw
            .all
            .iter()
            .enumerate()
            .filter_map(|(i, (w, v))| {
                let done = w.complete_us?;
                v.as_ref()?;
                if w.request.cl() == Consistency::Any {
                    return None;
                }
                Some((done, i, w.request.cl().required(rf)))
            })
            .collect();
        acked.sort();
        for t in 0..=rf {
            let mut best: Option<usize> = None;
            for &(done, i, need) in &acked {
                if need < t {
                    continue;
                }
                let newer = match best {
                    None => true,
                    Some(b) => kw.all[i]
                        .1
                        .as_ref()
                        .zip(kw.all[b].1.as_ref())
                        .is_some_and(|(x, y)| x.supersedes(y)),
                };
                if newer {
                    best = Some(i);
                }
                kw.by_need[t].push((done, best.unwrap_or(i)));
            }
        }
    }
    for r in &history.ops {
        let (Request::Get { key, cl }, Outcome::Read { kv }) = (&r.request, &r.outcome) else {
            continue;
        };
        s.reads_checked += 1;
        let done = r.complete_us.unwrap_or(Micros::MAX);
        let Some(kw) = writes.get(key) else {
            if let Some(kv) = kv {
                return Err(Violation {
                    property: "no-invented-values",
                    detail: format!(
                        "get {key} {cl} at node {} returned {:?}@{}, but key {key} was never written",
                        r.node, kv.value, kv.ts
                    ),
                });
            }
            continue;
        };
        // no-invented-values
        if let Some(kv) = kv {
            let wrote = kw.all.iter().any(|(w, v)| {
                w.invoke_us <= done
                    && matches!(&w.request, Request::Put { value, .. } if Some(value) == kv.value.as_ref())
                    && v.as_ref().is_none_or(|v| v.ts == kv.ts)
            });
            if !wrote {
                return Err(Violation {
                    property: "no-invented-values",
                    detail: format!(
                        "get {key} {cl} at node {} returned {:?}@{}, which no put of key {key} wrote",
                        r.node, kv.value, kv.ts
                    ),
                });
            }
        }
        // quorum-freshness: the newest write that completed before the read
        // began with R + W > RF; seeing it (or newer) covers all the others.
        let read_needs = cl.required(rf);
        if read_needs == 0 || read_needs > rf {
            continue;
        }
        let threshold = rf + 1 - read_needs;
        let list = &kw.by_need[threshold];
        let before = list.partition_point(|(t, _)| *t < r.invoke_us);
        if before == 0 {
            continue;
        }
        let (w, wv) = &kw.all[list[before - 1].1];
        let Some(wv) = wv else {
            continue;
        };
        let returned = kv.as_ref().map(|kv| Version {
            ts: kv.ts,
            value: kv.value.clone(),
        });
        let fresh = match &returned {
            Some(v) => v.lww_cmp(wv) != std::cmp::Ordering::Less,
            None => {
                wv.is_tombstone()
                    || kw.all.iter().any(|(d, dv)| {
                        matches!(d.request, Request::Delete { .. })
                            && d.invoke_us <= done
                            && dv.as_ref().is_none_or(|dv| dv.supersedes(wv))
                    })
            }
        };
        if !fresh {
            return Err(Violation {
                property: "quorum-freshness",
                detail: format!(
                    "get {key} {cl} at node {} (t={}..{}) returned {} but {} ({}) at node {} completed at t={} with {}",
                    r.node,
                    r.invoke_us,
                    done,
                    show(returned.as_ref()),
                    w.request,
                    w.request.cl(),
                    w.node,
                    w.complete_us.unwrap_or(0),
                    show(Some(wv))
                ),
            });
        }
    }
    let Some(fin) = final_state else {
        return Ok(s);
    };
    // durability
    for w in &history.ops {
        let Some(wv) = w.written_version() else {
            continue;
        };
        s.writes_checked += 1;
        let key = w.request.key();
        let newest = fin.newest(key);
        if newest.is_none_or(|n| n.lww_cmp(&wv) == std::cmp::Ordering::Less) {
            return Err(Violation {
                property: "durability",
                detail: format!(
                    "{} at node {} was acknowledged with {}, but in the end the newest version of {key} is {}",
                    w.request,
                    w.node,
                    show(Some(&wv)),
                    show(newest)
                ),
            });
        }
    }
    // convergence
    for (key, versions) in &fin.replicas {
        let first = &versions[0].1;
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
    Ok(s)
}

/// For the UI: when a read returned something older than a write that was
/// acknowledged before the read began, the newest such write.
pub fn stale_read(history: &History, idx: usize) -> Option<Version> {
    let r = history.ops.get(idx)?;
    let Outcome::Read { kv } = &r.outcome else {
        return None;
    };
    let returned = kv.as_ref().map(|kv| Version {
        ts: kv.ts,
        value: kv.value.clone(),
    });
    let newest = history
        .ops
        .iter()
        .filter(|w| {
            w.request.key() == r.request.key() && w.complete_us.is_some_and(|t| t < r.invoke_us)
        })
        .filter_map(HistoryOp::written_version)
        .fold(None::<Version>, |acc, v| match acc {
            Some(a) if !v.supersedes(&a) => Some(a),
            _ => Some(v),
        })?;
    let stale = match &returned {
        Some(v) => newest.supersedes(v),
        None => !newest.is_tombstone(),
    };
    stale.then_some(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(req: Request, t0: u64, t1: u64, outcome: Outcome) -> HistoryOp {
        HistoryOp {
            client: ClientRef { conn: 0, req: t0 },
            node: 0,
            request: req,
            invoke_us: t0,
            complete_us: Some(t1),
            outcome,
        }
    }

    fn put(v: &str, cl: Consistency) -> Request {
        Request::Put {
            key: Key::Int(1),
            value: v.into(),
            cl,
        }
    }

    fn get(cl: Consistency) -> Request {
        Request::Get {
            key: Key::Int(1),
            cl,
        }
    }

    fn read(v: &str, ts: u64) -> Outcome {
        Outcome::Read {
            kv: Some(KeyVersion {
                key: Key::Int(1),
                value: Some(v.into()),
                ts,
            }),
        }
    }

    #[test]
    fn a_fresh_history_passes() {
        let h = History {
            ops: vec![
                op(
                    put("a", Consistency::Quorum),
                    0,
                    10,
                    Outcome::Written { ts: 5 },
                ),
                op(get(Consistency::Quorum), 20, 30, read("a", 5)),
            ],
        };
        assert!(check(&h, None, 3).is_ok());
    }

    #[test]
    fn stale_quorum_read_is_caught() {
        let h = History {
            ops: vec![
                op(
                    put("a", Consistency::Quorum),
                    0,
                    10,
                    Outcome::Written { ts: 5 },
                ),
                op(
                    put("b", Consistency::Quorum),
                    11,
                    19,
                    Outcome::Written { ts: 15 },
                ),
                op(get(Consistency::Quorum), 20, 30, read("a", 5)),
            ],
        };
        assert_eq!(check(&h, None, 3).unwrap_err().property, "quorum-freshness");
        // At ONE/ONE nothing is promised.
        let mut weak = h.clone();
        weak.ops[1].request = put("b", Consistency::One);
        weak.ops[2].request = get(Consistency::One);
        assert!(check(&weak, None, 3).is_ok());
        assert!(stale_read(&weak, 2).is_some());
    }

    #[test]
    fn invented_value_is_caught() {
        let h = History {
            ops: vec![op(get(Consistency::One), 20, 30, read("zzz", 5))],
        };
        assert_eq!(
            check(&h, None, 3).unwrap_err().property,
            "no-invented-values"
        );
    }

    #[test]
    fn lost_write_and_divergence_are_caught() {
        let h = History {
            ops: vec![op(
                put("a", Consistency::One),
                0,
                10,
                Outcome::Written { ts: 5 },
            )],
        };
        let mut fin = FinalState {
            rf: 3,
            replicas: BTreeMap::new(),
        };
        fin.replicas
            .insert(Key::Int(1), vec![(0, None), (1, None), (2, None)]);
        assert_eq!(check(&h, Some(&fin), 3).unwrap_err().property, "durability");
        let a = Some(Version {
            ts: 5,
            value: Some("a".into()),
        });
        fin.replicas
            .insert(Key::Int(1), vec![(0, a.clone()), (1, None), (2, a.clone())]);
        assert_eq!(
            check(&h, Some(&fin), 3).unwrap_err().property,
            "convergence"
        );
        fin.replicas
            .insert(Key::Int(1), vec![(0, a.clone()), (1, a.clone()), (2, a)]);
        assert!(check(&h, Some(&fin), 3).is_ok());
    }
}
