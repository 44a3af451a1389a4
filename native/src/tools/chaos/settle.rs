//! The end of a chaos run: every node's state read with `inspect`, the
//! wait until hints drain and replicas agree, the final state the checker
//! compares with the history, and the summary in words.

use crate::wsclient::Conn;
use ringside_core::check::{FinalState, History, Summary};
use ringside_core::protocol::InspectNode;
use ringside_core::{Key, NodeId, Ring, Version};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Every node's `inspect`, or why one could not be read.
pub fn inspect_all(nodes: &[(NodeId, String)]) -> Result<Vec<InspectNode>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async {
        let mut out = vec![];
        for (id, addr) in nodes {
            let mut c = Conn::connect(addr, Duration::from_secs(2))
                .await
                .map_err(|e| format!("node {id}: {e}"))?;
            let (i, _) = c
                .inspect(Duration::from_secs(5))
                .await
                .map_err(|e| format!("node {id}: {e}"))?;
            out.push(i);
        }
        Ok(out)
    })
}

/// Every replica's version of every key the history touched or a node
/// holds.
pub fn final_state(ring: &Ring, inspected: &[InspectNode], history: &History) -> FinalState {
    let mut keys: BTreeSet<Key> = history
        .ops
        .iter()
        .map(|o| o.request.key().clone())
        .collect();
    let mut by_node: BTreeMap<NodeId, BTreeMap<Key, Version>> = BTreeMap::new();
    for i in inspected {
        let data = by_node.entry(i.id).or_default();
        for kv in &i.data {
            keys.insert(kv.key.clone());
            data.insert(
                kv.key.clone(),
                Version {
                    ts: kv.ts,
                    value: kv.value.clone(),
                },
            );
        }
    }
    let replicas = keys
        .into_iter()
        .map(|key| {
            let versions = ring
                .replicas(&key)
                .into_iter()
                .map(|n| (n, by_node.get(&n).and_then(|d| d.get(&key)).cloned()))
                .collect();
            (key, versions)
        })
        .collect();
    FinalState {
        rf: ring.rf(),
        replicas,
    }
}

/// How the settling phase ended.
#[derive(Debug)]
pub struct Settled {
    /// The last state read (`None` when some node could not be inspected).
    pub final_state: Option<FinalState>,
    /// Hints still held, summed over nodes.
    pub hints: usize,
    /// A line per hint still held: who holds it for whom, what for, and
    /// what each side knows (for a run that did not settle).
    pub hints_left: Vec<String>,
    /// Keys whose replicas still disagree.
    pub diverging: usize,
    pub waited: Duration,
    /// Why the last read failed, if it did.
    pub error: Option<String>,
}

impl Settled {
    pub fn done(&self) -> bool {
        self.final_state.is_some() && self.hints == 0 && self.diverging == 0
    }
}

/// Polls every node until no hints are held and all replicas of every key
/// agree, or `timeout` passes; returns the last state read.
pub fn settle(
    nodes: &[(NodeId, String)],
    ring: &Ring,
    history: &History,
    timeout: Duration,
) -> Settled {
    let started = Instant::now();
    loop {
        let s = match inspect_all(nodes) {
            Ok(inspected) => {
                let fin = final_state(ring, &inspected, history);
                let diverging = fin
                    .replicas
                    .values()
                    .filter(|v| v.iter().any(|(_, x)| x != &v[0].1))
                    .count();
                Settled {
                    hints: inspected.iter().map(|i| i.hints.len()).sum(),
                    hints_left: describe_hints(&inspected),
                    final_state: Some(fin),
                    diverging,
                    waited: started.elapsed(),
                    error: None,
                }
            }
            Err(e) => Settled {
                final_state: None,
                hints: 0,
                hints_left: vec![],
                diverging: 0,
                waited: started.elapsed(),
                error: Some(e),
            },
        };
        if s.done() || started.elapsed() > timeout {
            return s;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A line per hint held anywhere: holder, target, key, the hint's
/// timestamp and size, whether the holder counts the target as up, and
/// the version the target holds of that key.
fn describe_hints(inspected: &[InspectNode]) -> Vec<String> {
    let mut out = vec![];
    for holder in inspected {
        for h in &holder.hints {
            let seen = holder
                .peers
                .iter()
                .find(|p| p.node == h.target)
                .map_or("unknown".to_string(), |p| p.state.to_string());
            let target_has = inspected
                .iter()
                .find(|i| i.id == h.target)
                .and_then(|t| t.data.iter().find(|kv| kv.key == h.key))
                .map_or("nothing".to_string(), |kv| format!("ts {}", kv.ts));
            out.push(format!(
                "node {} holds a hint for node {} (seen {seen}): key {}, ts {}, {} value bytes; node {} has {target_has}",
                holder.id,
                h.target,
                h.key,
                h.ts,
                h.value.as_ref().map_or(0, |v| v.len()),
                h.target,
            ));
        }
    }
    out
}

/// Counts and the verdict of a history, in two lines.
pub fn describe(summary: &Summary) -> String {
    format!(
        "ops: {} (ok {}, unavailable {}, timeout {}, no reply {}, other errors {}); checked {} reads, {} acknowledged writes",
        summary.ops,
        summary.ok,
        summary.unavailable,
        summary.timeout,
        summary.no_reply,
        summary.other_errors,
        summary.reads_checked,
        summary.writes_checked
    )
}
