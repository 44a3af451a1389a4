//! The history checker: given what clients asked and were answered (with
//! invocation and completion times) and every replica's final state, it
//! checks named properties and reports the first violation.
//!
//! Properties of each read ([`reads`]), checked read by read in history
//! order, the first broken one named:
//!
//! - `no-invented-values`: a read only returns a value some put wrote.
//! - `refused-writes-invisible`: a put answered `Unavailable`, `BadRequest`
//!   or `Overloaded` was refused before anything was stored, so no read
//!   returns its value.
//! - `no-resurrection`: a read that begins after a delete was acknowledged,
//!   at a level that overlaps the delete's (R + W > RF), never returns a
//!   value the delete's tombstone supersedes. (Every such read also breaks
//!   `quorum-freshness`; this name is the more precise diagnosis.)
//! - `monotonic-quorum-reads`: a read at QUORUM or ALL repairs the
//!   replicas it asked before answering, so a read that begins after it
//!   completed, at a level that overlaps it, never returns anything older.
//! - `quorum-freshness`: a read at level R that starts after a write at
//!   level W completed, with R + W > RF, returns that write or a newer one
//!   (newer in last-write-wins order).
//!
//! Properties of the writes' timestamps ([`clock`]):
//!
//! - `timestamp-order`: a write that began after another write through the
//!   same coordinator was acknowledged gets a greater timestamp, whatever
//!   the clocks do; with [`CheckOptions::clocks_agree`], across
//!   coordinators too.
//!
//! Properties of the settled cluster ([`settled`]), when a final state is
//! given:
//!
//! - `no-resurrection`: no key ends holding a value that an acknowledged
//!   delete superseded.
//! - `durability`: every acknowledged write is, once all nodes are back
//!   and hints are delivered, still the newest version or superseded by a
//!   newer one.
//! - `convergence`: once faults stop and the cluster settles, all replicas
//!   of every key hold the same version.
//!
//! [`label_reads`] says of every read whether it was fresh, stale as its
//! level allows, or a violation, for the page.
//!
//! Values must be unique per put for `no-invented-values` and
//! `refused-writes-invisible` to be exact; the workloads of
//! [`crate::sim::workload`] and the chaos tests make them so. Every
//! property is indexed (sorted lists and binary searches, see [`index`]):
//! a history of n operations checks in O(n log n).

use crate::message::{ClientRef, ErrorKind, Reply, Request};
use crate::types::{Key, KeyVersion, Micros, NodeId, Version};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod clock;
mod index;
mod labels;
mod reads;
mod settled;

pub use labels::{label_reads, ReadLabel};
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

impl HistoryOp {
    /// Refused before anything was stored: `Unavailable`, `BadRequest` or
    /// `Overloaded` (a `Timeout` may have been applied, and is not).
    pub fn refused(&self) -> bool {
        matches!(
            &self.outcome,
            Outcome::Error {
                kind: ErrorKind::Unavailable | ErrorKind::BadRequest | ErrorKind::Overloaded,
                ..
            }
        )
    }

    /// What a successful read returned, as a version (`None`: nothing or
    /// a tombstone); `None` inside too for anything but a read.
    pub fn returned(&self) -> Option<Version> {
        match &self.outcome {
            Outcome::Read { kv: Some(kv) } => Some(Version {
                ts: kv.ts,
                value: kv.value.clone(),
            }),
            _ => None,
        }
    }

    /// When it completed, or never.
    pub fn done_us(&self) -> Micros {
        self.complete_us.unwrap_or(Micros::MAX)
    }
}

/// Names a request in a violation: its id, what it asked of which node,
/// and when.
fn describe(op: &HistoryOp) -> String {
    let done = op
        .complete_us
        .map_or_else(|| "never answered".to_string(), |t| t.to_string());
    format!(
        "request {} ({} at node {}, t={}..{done})",
        op.client.req, op.request, op.node, op.invoke_us
    )
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

/// Every property's name, in the order [`check_with`] looks for them.
pub const PROPERTIES: [&str; 8] = [
    "no-invented-values",
    "refused-writes-invisible",
    "no-resurrection",
    "monotonic-quorum-reads",
    "quorum-freshness",
    "timestamp-order",
    "durability",
    "convergence",
];

/// What the checker may assume about a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions<'a> {
    /// The replication factor.
    pub rf: usize,
    /// Every replica's final state, when the run settled; `None` leaves
    /// out the properties of the settled cluster.
    pub final_state: Option<&'a FinalState>,
    /// The nodes' clocks and the history's times agree (no skew, no clock
    /// step was injected): then `timestamp-order` holds across
    /// coordinators, not only through each one.
    pub clocks_agree: bool,
}

impl<'a> CheckOptions<'a> {
    /// Replication factor `rf`, no final state, clocks not assumed to agree.
    pub fn new(rf: usize) -> CheckOptions<'a> {
        CheckOptions {
            rf,
            final_state: None,
            clocks_agree: false,
        }
    }
    pub fn with_final_state(mut self, final_state: Option<&'a FinalState>) -> Self {
        self.final_state = final_state;
        self
    }
    pub fn with_clocks_agree(mut self, clocks_agree: bool) -> Self {
        self.clocks_agree = clocks_agree;
        self
    }
}

/// Checks every property; `Ok` carries counts, `Err` the first violation.
/// `final_state` is `None` when the run did not settle (then the settled
/// cluster's properties are not checked). Clocks are not assumed to agree.
pub fn check(
    history: &History,
    final_state: Option<&FinalState>,
    rf: usize,
) -> Result<Summary, Violation> {
    check_with(history, CheckOptions::new(rf).with_final_state(final_state))
}

/// [`check`] with every option.
pub fn check_with(history: &History, opts: CheckOptions<'_>) -> Result<Summary, Violation> {
    let mut s = summarize(history);
    let idx = index::Index::build(history, opts.rf);
    for (i, op) in history.ops.iter().enumerate() {
        if !matches!(op.outcome, Outcome::Read { .. }) {
            continue;
        }
        s.reads_checked += 1;
        if let Some(v) = reads::judge(history, &idx, i) {
            return Err(v);
        }
    }
    clock::timestamp_order(history, opts.clocks_agree)?;
    if let Some(fin) = opts.final_state {
        s.writes_checked = settled::check(history, fin)?;
    }
    Ok(s)
}

/// Counts each kind of outcome.
fn summarize(history: &History) -> Summary {
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
    s
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
mod tests;
