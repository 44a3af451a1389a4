//! Anti-entropy: now and then a node compares what it shares with one
//! peer, and the two exchange the versions that differ. It repairs what
//! read repair and hints miss: keys nobody reads, hints given up.
//!
//! The comparison walks down the range hash trees (`merkle.rs`). A round
//! starts with the roots of the ranges both nodes replicate
//! (`sync_digest`); the peer answers the nodes whose hashes differ with
//! its hashes of their children, and so on, each side one level in turn,
//! down to the shallower tree's bottom. There the versions under the
//! leaves that still differ go across (`sync_data`), and the receiver
//! answers with its own versions there that are newer or missing. A round
//! between nodes in step is one message per shared range's root; one with
//! `d` differences costs about `d` x depth small hashes and the versions
//! of `d` leaves. The walk down keeps nothing between messages: each one
//! carries what the next step needs.
//!
//! **Reading the versions under the leaves.** A leaf's keys are those
//! whose hash starts with its index, and the memtable keeps its keys in
//! buckets by the top bits of that hash (`storage/table.rs`), so the
//! versions under the leaves that differ are read from the buckets over
//! their hash intervals: about one bucket per differing leaf, however
//! large the data. The exchange runs in [`hash_order`] (by key hash, then
//! key), which no split of a bucket changes: the offer covers the keys
//! from a cursor to where the offerer stopped, the answer as far as the
//! answerer read, and the offerer goes on from there until an answer
//! reaches the end. Each side stops after [`SCAN_SLICE`] keys read (whole
//! buckets) or where a message's bounds would be passed, so a wide
//! difference goes across in several messages of one exchange, none of
//! which holds the node's thread for long. Each side keeps the leaves of
//! an exchange per peer until it ends (the first offer names them), so
//! the later messages carry only the cursor; a lost exchange is replaced
//! by the next one with that peer, and what it missed is found again by a
//! later round.

use super::merkle::{children, Merkle, MAX_DEPTH};
use super::Node;
use crate::io::{EventKind, TimerId};
use crate::message::{KeySpan, Msg, TreeNode};
use crate::storage::hash_order;
use crate::types::{Key, NodeId, Version};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Tree nodes one anti-entropy message carries at most (21 bytes each on
/// the wire); the rest of a wide difference waits for a later round.
const AE_MAX_NODES: usize = 4096;
/// Versions one anti-entropy message carries at most.
const AE_MAX_ENTRIES: usize = 2_000;
/// Bytes of values one anti-entropy message carries, about, at most (one
/// more version may pass it), far under the peer message limit.
const AE_MAX_BYTES: usize = 8 << 20;
/// Keys of its memtable a node reads for one anti-entropy message, at
/// most, give or take the rest of the bucket it is in: the bound on the
/// time one exchange takes of the node's thread at a time. (A bucket past
/// its size, of keys chosen to share the top bits of their hashes, is
/// read whole by every message that reaches it.)
pub const SCAN_SLICE: usize = 32_768;

/// The leaves of the exchanges of versions under way, per peer (see the
/// module docs): those this node offers in, and those a peer offers in.
#[derive(Clone, Debug, Default)]
pub(super) struct LeafExchanges {
    offering: BTreeMap<NodeId, Leaves>,
    answering: BTreeMap<NodeId, Leaves>,
}

/// The leaves of one exchange: as sent; by level, each level sorted by
/// `(index, range)` for [`Merkle::under`]; and the intervals of key hashes
/// they cover, sorted and merged, for [`crate::storage::Table::in_hash_order`].
#[derive(Clone, Debug)]
struct Leaves {
    nodes: Vec<TreeNode>,
    by_level: BTreeMap<u8, Vec<TreeNode>>,
    spans: Vec<(u64, u64)>,
}

impl Leaves {
    fn new(nodes: Vec<TreeNode>) -> Leaves {
        let mut by_level: BTreeMap<u8, Vec<TreeNode>> = BTreeMap::new();
        for n in &nodes {
            by_level.entry(n.level).or_default().push(*n);
        }
        for level in by_level.values_mut() {
            level.sort_by_key(|n| (n.index, n.range));
        }
        let mut spans: Vec<(u64, u64)> = nodes.iter().map(|n| hashes_under(*n)).collect();
        spans.sort_unstable();
        spans.dedup_by(|later, earlier| {
            let joins = later.0 <= earlier.1.saturating_add(1);
            if joins {
                earlier.1 = earlier.1.max(later.1);
            }
            joins
        });
        Leaves {
            nodes,
            by_level,
            spans,
        }
    }
}

/// The key hashes under a tree node: those whose top `level` bits are its
/// index.
fn hashes_under(n: TreeNode) -> (u64, u64) {
    match n.level {
        0 => (0, u64::MAX),
        level => {
            let shift = 64 - u32::from(level.min(63));
            let from = u64::from(n.index) << shift;
            (from, from | (u64::MAX >> (64 - shift)))
        }
    }
}

/// What one slice of a memtable read found.
struct Slice {
    entries: Vec<(Key, Version)>,
    /// The last key read; `None` when the read reached the end of the span.
    stopped_at: Option<Key>,
}

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
            let leaves = Leaves::new(leaves);
            let slice = self.versions_under(&leaves, None, None);
            let nodes = leaves.nodes.clone();
            self.ae.offering.insert(from, leaves);
            self.send(
                from,
                Msg::SyncData {
                    entries: slice.entries,
                    nodes,
                    span: Box::new(KeySpan {
                        after: None,
                        upto: slice.stopped_at,
                    }),
                    reply: true,
                },
            );
        }
    }

    /// This node's versions under `leaves` with keys in `(after, upto]` of
    /// [`hash_order`], reading at most about [`SCAN_SLICE`] keys (whole
    /// buckets of the table) and stopping early where the message would
    /// pass its bounds (the caller goes on from the key it stopped at).
    fn versions_under(&self, leaves: &Leaves, after: Option<&Key>, upto: Option<&Key>) -> Slice {
        if let (Some(a), Some(u)) = (after, upto) {
            if hash_order(a, u).is_ge() {
                // An empty span, or a peer's backwards one.
                return Slice {
                    entries: Vec::new(),
                    stopped_at: upto.cloned(),
                };
            }
        }
        let mut bytes = 0usize;
        let mut entries = Vec::new();
        let mut read: Option<&Key> = None;
        let mut keys = self.mem.data.in_hash_order(leaves.spans.clone(), after);
        let mut scanned = 0;
        while let Some((k, v)) = keys.next() {
            if upto.is_some_and(|u| hash_order(k, u).is_gt()) {
                break;
            }
            // Stop before a bucket once the slice is read, or anywhere once
            // the message is full: the span goes on after the last key read.
            let new_bucket = keys.scanned() > scanned;
            scanned = keys.scanned();
            let full = entries.len() == AE_MAX_ENTRIES || bytes >= AE_MAX_BYTES;
            if read.is_some() && (full || new_bucket && scanned > SCAN_SLICE) {
                return Slice {
                    stopped_at: read.cloned(),
                    entries,
                };
            }
            read = Some(k);
            if leaves
                .by_level
                .iter()
                .any(|(&level, ns)| self.tree.under(&self.ring, k, level, ns))
            {
                bytes += 32 + k.byte_len() + v.value.as_ref().map_or(0, |v| v.len());
                entries.push((k.clone(), v.clone()));
            }
        }
        Slice {
            entries,
            stopped_at: upto.cloned(),
        }
    }

    pub(super) fn handle_sync_data(&mut self, from: NodeId, data: SyncData) {
        let changed = self.store_synced(from, &data.entries);
        if data.reply {
            self.answer_offer(from, data);
        } else {
            self.go_on_offering(from, data.span.upto);
        }
        if changed > 0 {
            self.event(EventKind::AntiEntropy {
                peer: from,
                keys: changed,
            });
        }
    }

    /// Stores the versions a peer sent that win; how many did.
    fn store_synced(&mut self, from: NodeId, entries: &[(Key, Version)]) -> usize {
        let mut changed = 0;
        for (key, version) in entries {
            if self.shared_with(from, key)
                && self.store(key, Cow::Borrowed(version), "anti-entropy")
            {
                changed += 1;
            }
        }
        changed
    }

    /// An offer: answer with this node's versions in its span (as far as
    /// one slice reaches) that are newer or that the offer lacks.
    fn answer_offer(&mut self, from: NodeId, offer: SyncData) {
        if !offer.nodes.is_empty() {
            let nodes: Vec<TreeNode> = offer
                .nodes
                .into_iter()
                // A node of no tree (an index past its level) covers no
                // key; dropped, like a range this node does not share.
                .filter(|n| n.level <= MAX_DEPTH && u64::from(n.index) >> n.level == 0)
                .filter(|n| self.tree.shares(n.range, from))
                .take(AE_MAX_NODES)
                .collect();
            self.ae.answering.insert(from, Leaves::new(nodes));
        }
        // An offer of an exchange this node no longer knows (it restarted
        // since, or a newer one replaced it): a later round redoes it.
        let Some(leaves) = self.ae.answering.get(&from) else {
            return;
        };
        let span = &offer.span;
        let slice = self.versions_under(leaves, span.after.as_ref(), span.upto.as_ref());
        let theirs: BTreeMap<&Key, &Version> = offer.entries.iter().map(|(k, v)| (k, v)).collect();
        let newer: Vec<(Key, Version)> = slice
            .entries
            .into_iter()
            .filter(|(k, v)| theirs.get(k).is_none_or(|t| v.supersedes(t)))
            .collect();
        if slice.stopped_at.is_none() {
            self.ae.answering.remove(&from);
        }
        self.send(
            from,
            Msg::SyncData {
                entries: newer,
                nodes: vec![],
                span: Box::new(KeySpan {
                    after: offer.span.after,
                    upto: slice.stopped_at,
                }),
                reply: false,
            },
        );
    }

    /// An answer: offer the next slice after where it reached, or, when
    /// it reached the end, end the exchange.
    fn go_on_offering(&mut self, from: NodeId, reached: Option<Key>) {
        let Some(after) = reached else {
            self.ae.offering.remove(&from);
            return;
        };
        let Some(leaves) = self.ae.offering.get(&from) else {
            return;
        };
        let slice = self.versions_under(leaves, Some(&after), None);
        self.send(
            from,
            Msg::SyncData {
                entries: slice.entries,
                nodes: vec![],
                span: Box::new(KeySpan {
                    after: Some(after),
                    upto: slice.stopped_at,
                }),
                reply: true,
            },
        );
    }
}

/// The fields of a [`Msg::SyncData`].
pub(super) struct SyncData {
    pub entries: Vec<(Key, Version)>,
    pub nodes: Vec<TreeNode>,
    pub span: KeySpan,
    pub reply: bool,
}
