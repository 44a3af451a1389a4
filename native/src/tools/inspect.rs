//! `ringside inspect`: every node's data and hints side by side, with the
//! keys whose replicas disagree flagged, as the seed's inspector did.
//! Nodes that do not answer are shown as down.

use crate::cluster::supervisor::runtime;
use crate::wsclient::Conn;
use ringside_core::protocol::{HintEntry, InspectNode, PeerState};
use ringside_core::{Key, NodeId, Ring, Value};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What every node said (`None`: down), in member order.
pub struct ClusterView {
    pub nodes: Vec<(NodeId, String, Option<InspectNode>)>,
}

/// Asks every member for its state. `members` may be just one address
/// (id unknown): its `inspect` names the others.
pub fn gather(members: Vec<(Option<NodeId>, String)>) -> Result<ClusterView, String> {
    let rt = runtime()?;
    rt.block_on(async {
        let ask = |addr: String| async move {
            let mut c = Conn::connect(&addr, Duration::from_secs(1)).await.ok()?;
            c.inspect(Duration::from_secs(3)).await.ok().map(|(n, _)| n)
        };
        let mut members = members;
        if members.len() == 1 && members[0].0.is_none() {
            let addr = members[0].1.clone();
            let Some(first) = ask(addr.clone()).await else {
                return Err(format!(
                    "cannot inspect the node at {addr}: it does not answer"
                ));
            };
            members = first
                .nodes
                .iter()
                .map(|n| (Some(n.node), n.addr.clone()))
                .collect();
            if members.is_empty() {
                members = vec![(Some(first.id), addr)];
            }
        }
        let futures: Vec<_> = members.iter().map(|(_, addr)| ask(addr.clone())).collect();
        let answers = futures_util::future::join_all(futures).await;
        let nodes = members
            .into_iter()
            .zip(answers)
            .map(|((id, addr), n)| (id.or(n.as_ref().map(|n| n.id)).unwrap_or(0), addr, n))
            .collect();
        Ok(ClusterView { nodes })
    })
}

/// What one node holds of a key: its value (none: a tombstone) and
/// timestamp, or nothing.
type Cell = Option<(Option<Value>, u64)>;

/// One key's versions on the nodes that answered, and what is wrong.
struct KeyRow {
    cells: BTreeMap<NodeId, Cell>,
    problem: Option<String>,
}

impl ClusterView {
    fn ring(&self) -> Option<Ring> {
        let any = self.nodes.iter().find_map(|(_, _, n)| n.as_ref())?;
        let ids: Vec<NodeId> = self.nodes.iter().map(|(id, _, _)| *id).collect();
        let partitioner = any.partitioner.clone()?;
        Some(Ring::new(&partitioner, &ids, any.rf.max(1)))
    }

    fn rows(&self) -> BTreeMap<Key, KeyRow> {
        let ring = self.ring();
        // Each node's keys in a map, looked up per key: a search of every
        // node's list for every key grows with the square of the keys.
        let held: Vec<(NodeId, BTreeMap<&Key, Cell>)> = self
            .nodes
            .iter()
            .filter_map(|(id, _, n)| {
                let mut by_key = BTreeMap::new();
                for kv in &n.as_ref()?.data {
                    by_key
                        .entry(&kv.key)
                        .or_insert_with(|| Some((kv.value.clone(), kv.ts)));
                }
                Some((*id, by_key))
            })
            .collect();
        let keys: BTreeSet<&Key> = held.iter().flat_map(|(_, m)| m.keys().copied()).collect();
        let mut rows = BTreeMap::new();
        for key in keys {
            let cells: BTreeMap<NodeId, Cell> = held
                .iter()
                .map(|(id, m)| (*id, m.get(key).cloned().flatten()))
                .collect();
            let problem = ring.as_ref().and_then(|ring| {
                let replicas = ring.replicas(key);
                let seen: BTreeSet<&Cell> = replicas.iter().filter_map(|r| cells.get(r)).collect();
                let stray: Vec<NodeId> = cells
                    .iter()
                    .filter(|(id, v)| v.is_some() && !replicas.contains(id))
                    .map(|(id, _)| *id)
                    .collect();
                if seen.len() > 1 {
                    Some(format!("replicas {replicas:?} disagree"))
                } else if !stray.is_empty() {
                    Some(format!("held by non-replica {stray:?}"))
                } else {
                    None
                }
            });
            rows.insert(key.clone(), KeyRow { cells, problem });
        }
        rows
    }

    /// The side-by-side table.
    pub fn render(&self) -> String {
        const W: usize = 18;
        let cut = |s: &str| -> String {
            if s.chars().count() > W - 1 {
                format!("{}…", s.chars().take(W - 2).collect::<String>())
            } else {
                s.to_string()
            }
        };
        let mut out = format!("{:<10}", "key");
        for (id, _, _) in &self.nodes {
            out.push_str(&format!("{:<W$}", format!("node {id}")));
        }
        out.push('\n');
        out.push_str(&format!("{:<10}", ""));
        for (_, addr, n) in &self.nodes {
            let s = if n.is_some() {
                addr.clone()
            } else {
                format!("{addr} DOWN")
            };
            out.push_str(&format!("{:<W$}", cut(&s)));
        }
        out.push('\n');
        let rows = self.rows();
        let mut bad = 0;
        for (key, row) in &rows {
            out.push_str(&format!("{:<10}", cut(&key.to_string())));
            for (id, _, n) in &self.nodes {
                let cell = if n.is_none() {
                    "down".to_string()
                } else {
                    match row.cells.get(id) {
                        Some(Some((Some(v), _))) => cut(v),
                        Some(Some((None, _))) => "(deleted)".into(),
                        _ => "-".into(),
                    }
                };
                out.push_str(&format!("{cell:<W$}"));
            }
            if let Some(p) = &row.problem {
                bad += 1;
                out.push_str(&format!("<< {p}"));
            }
            out.push('\n');
        }
        out.push_str(&format!("{} keys; {} flagged\n", rows.len(), bad));
        for (id, _, n) in &self.nodes {
            match n {
                None => out.push_str(&format!("node {id}: down\n")),
                Some(n) => {
                    let down: Vec<String> = n
                        .peers
                        .iter()
                        .filter(|p| p.state == PeerState::Down)
                        .map(|p| p.node.to_string())
                        .collect();
                    out.push_str(&format!(
                        "node {id}: {} hints held; log {} records ({} bytes){}\n",
                        n.hints_total.max(n.hints.len()),
                        n.log.records,
                        n.log.bytes,
                        if down.is_empty() {
                            String::new()
                        } else {
                            format!("; sees down: {}", down.join(","))
                        }
                    ));
                    for h in &n.hints {
                        out.push_str(&format!("    {}\n", describe_hint(h)));
                    }
                    let held = n.hints_total.max(n.hints.len());
                    if held > n.hints.len() {
                        out.push_str(&format!(
                            "    ... and {} more (an answer lists the first {})\n",
                            held - n.hints.len(),
                            n.hints.len()
                        ));
                    }
                }
            }
        }
        out
    }

    /// Everything as JSON: each node's inspect (or null) and the flagged keys.
    pub fn to_json(&self) -> String {
        let flagged: Vec<_> = self
            .rows()
            .into_iter()
            .filter_map(|(k, r)| r.problem.map(|p| json!({"key": k, "problem": p})))
            .collect();
        let nodes: Vec<_> = self
            .nodes
            .iter()
            .map(|(id, addr, n)| json!({"id": id, "addr": addr, "up": n.is_some(), "node": n}))
            .collect();
        json!({"nodes": nodes, "flagged": flagged}).to_string()
    }
}

/// One hint a node holds, as the console and the inspector print it.
pub fn describe_hint(h: &HintEntry) -> String {
    format!(
        "hint for node {}: {} = {} (ts {})",
        h.target,
        h.key,
        h.value.as_deref().unwrap_or("(deleted)"),
        h.ts
    )
}
