//! Anti-entropy: now and then a node compares what it shares with one
//! peer, and the two exchange the versions that differ. It repairs what
//! read repair and hints miss: keys nobody reads, hints given up.
//!
//! The comparison walks down the range hash trees (`merkle.rs`). A round
//! starts with the roots of the ranges both nodes replicate
//! (`sync_digest`); the peer answers the nodes whose hashes differ with
//! its hashes of their children, and so on, each side one level in turn,
//! down to the shallower tree's bottom. There the versions under the nodes
//! that still differ go across (`sync_data`), and the receiver answers
//! once with its own versions there that are newer or missing. A round
//! between nodes in step is one message per shared range's root; one with
//! `d` differences costs about `d` x depth small hashes and the versions
//! of `d` leaves. Nothing is remembered between messages: each one carries
//! what the next step needs, and what a bound leaves out is found again by
//! the next round, which starts from the roots.

use super::merkle::{children, Merkle, MAX_DEPTH};
use super::Node;
use crate::io::{EventKind, TimerId};
use crate::message::{Msg, TreeNode};
use crate::types::{Key, NodeId, Version};
use std::collections::BTreeMap;

/// Tree nodes one anti-entropy message carries at most (21 bytes each on
/// the wire); the rest of a wide difference waits for a later round.
const AE_MAX_NODES: usize = 4096;
/// Versions one anti-entropy message carries at most.
const AE_MAX_ENTRIES: usize = 2_000;
/// Bytes of values one anti-entropy message carries, about, at most (one
/// more version may pass it), far under the peer message limit.
const AE_MAX_BYTES: usize = 8 << 20;

impl Node {
    /// The anti-entropy timer: a round with the next peer that is up.
    pub(super) fn anti_entropy_round(&mut self) {
        self.start_anti_entropy();
        let every = self.cfg().anti_entropy_interval_ms;
        if every > 0 {
            self.timer(TimerId::AntiEntropy, every);
        }
    }

    /// The hash trees anti-entropy compares (their depth and size).
    pub fn anti_entropy_tree(&self) -> &Merkle {
        &self.tree
    }

    fn shared_with(&self, peer: NodeId, key: &Key) -> bool {
        let r = self.ring.replicas(key);
        r.contains(&peer) && r.contains(&self.config.id)
    }

    fn start_anti_entropy(&mut self) {
        let up: Vec<NodeId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.up)
            .map(|(&n, _)| n)
            .collect();
        if up.is_empty() {
            return;
        }
        let peer = up[self.ae_next_peer % up.len()];
        self.ae_next_peer = self.ae_next_peer.wrapping_add(1);
        let mut nodes = self.tree.roots_shared_with(peer);
        nodes.truncate(AE_MAX_NODES);
        if !nodes.is_empty() {
            let depth = self.tree.depth();
            self.send(peer, Msg::SyncDigest { depth, nodes });
        }
    }

    /// A peer's hashes: go one level down under those that differ, or, at
    /// the bottom, send the versions under them.
    pub(super) fn handle_sync_digest(
        &mut self,
        from: NodeId,
        depth: u8,
        theirs: Vec<(TreeNode, u64)>,
    ) {
        let bottom = depth.min(self.tree.depth());
        let mut deeper = Vec::new();
        let mut leaves = Vec::new();
        for (node, hash) in theirs.into_iter().take(AE_MAX_NODES) {
            if !self.tree.shares(node.range, from) {
                continue;
            }
            // None: a node deeper than this tree, or not a node at all.
            let Some(mine) = self.tree.hash(node) else {
                continue;
            };
            if mine == hash {
                continue;
            }
            if node.level < bottom {
                if deeper.len() + 2 <= AE_MAX_NODES {
                    for child in children(node) {
                        let h = self.tree.hash(child).unwrap_or_default();
                        deeper.push((child, h));
                    }
                }
            } else {
                leaves.push(node);
            }
        }
        if !deeper.is_empty() {
            let depth = self.tree.depth();
            self.send(
                from,
                Msg::SyncDigest {
                    depth,
                    nodes: deeper,
                },
            );
        }
        if !leaves.is_empty() {
            let entries = self.versions_under(&leaves);
            self.send(
                from,
                Msg::SyncData {
                    entries,
                    nodes: leaves,
                    reply: true,
                },
            );
        }
    }

    /// This node's versions under `nodes`, bounded by count and by bytes
    /// so the message stays under the peer limit; what does not fit goes
    /// in a later round. Reads the memtable once (see `merkle.rs` on why).
    fn versions_under(&self, nodes: &[TreeNode]) -> Vec<(Key, Version)> {
        let mut by_level: BTreeMap<u8, Vec<TreeNode>> = BTreeMap::new();
        for n in nodes {
            by_level.entry(n.level).or_default().push(*n);
        }
        for level in by_level.values_mut() {
            level.sort_by_key(|n| (n.index, n.range));
        }
        let mut bytes = 0usize;
        let mut out = Vec::new();
        for (k, v) in &self.mem.data {
            if out.len() >= AE_MAX_ENTRIES || bytes >= AE_MAX_BYTES {
                break;
            }
            if by_level
                .iter()
                .any(|(&level, ns)| self.tree.under(&self.ring, k, level, ns))
            {
                bytes += 32 + k.bytes().len() + v.value.as_ref().map_or(0, String::len);
                out.push((k.clone(), v.clone()));
            }
        }
        out
    }

    pub(super) fn handle_sync_data(
        &mut self,
        from: NodeId,
        entries: Vec<(Key, Version)>,
        nodes: Vec<TreeNode>,
        reply: bool,
    ) {
        let nodes: Vec<TreeNode> = nodes
            .into_iter()
            .filter(|n| n.level <= MAX_DEPTH && self.tree.shares(n.range, from))
            .take(AE_MAX_NODES)
            .collect();
        let mut changed = 0;
        let theirs: BTreeMap<Key, Version> = entries.into_iter().collect();
        for (key, version) in &theirs {
            if self.shared_with(from, key) && self.store(key, version, "anti-entropy") {
                changed += 1;
            }
        }
        if reply && !nodes.is_empty() {
            let newer: Vec<(Key, Version)> = self
                .versions_under(&nodes)
                .into_iter()
                .filter(|(k, v)| theirs.get(k).is_none_or(|t| v.supersedes(t)))
                .collect();
            if !newer.is_empty() {
                self.send(
                    from,
                    Msg::SyncData {
                        entries: newer,
                        nodes: vec![],
                        reply: false,
                    },
                );
            }
        }
        if changed > 0 {
            self.event(EventKind::AntiEntropy {
                peer: from,
                keys: changed,
            });
        }
    }
}
