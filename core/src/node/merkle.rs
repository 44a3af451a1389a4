//! The anti-entropy hash trees: one per ring range this node replicates,
//! kept up to date on every write, so that a round compares a few hashes
//! instead of reading the data.
//!
//! **Why this shape.** Keys of one ring range share a replica set, so two
//! nodes compare exactly the ranges both replicate, range by range. Within
//! a range, a key's place in the tree is the top bits of a hash of its
//! bytes, not its token: byte-ordered tokens are the first 8 bytes of the
//! key, and keys such as `user:000001…` share them, so a split of the token
//! space would put them all in one leaf. A node of the tree holds the
//! wrapping sum of the hashes of every (key, version) under it; a sum does
//! not depend on order, so a write updates the tree by subtracting the old
//! version's hash and adding the new one's along one root-to-leaf path
//! (`depth + 1` additions), and a tree rebuilt from the data equals the one
//! kept up to date. Node `(level, index)` covers the same keys on every
//! node whatever each one's depth, so two trees of different depths still
//! compare level by level.
//!
//! **Size.** A fixed depth would be either too big for the browser's small
//! simulated clusters (which are cloned at every rewind checkpoint) or too
//! shallow at 10M keys, where a leaf of thousands of keys would make the
//! versions sent grow with the data. So the depth follows the key count:
//! at most [`KEYS_PER_LEAF`] keys per leaf on average after a rebuild, and
//! the tree is rebuilt one level deeper once the average passes twice
//! that, so rebuilds happen at doublings of the data (amortised O(1) per
//! write). It costs 16 bytes per leaf, a few bytes per key, against the
//! hundreds a stored key costs.
//!
//! **What stays proportional to the data.** The memtable is ordered by
//! key, not by this hash, so listing the keys under the leaves that differ
//! reads the memtable once per exchange (a hash per key, nothing
//! allocated). A round between replicas in step reads nothing.

use crate::message::TreeNode;
use crate::ring::{Ring, Token};
use crate::types::{Key, NodeId, Version};
use std::collections::BTreeMap;

/// Keys per leaf, on average, right after a rebuild.
pub const KEYS_PER_LEAF: u64 = 4;
/// The shallowest tree: a handful of keys still get a few leaves.
const MIN_DEPTH: u8 = 2;
/// The deepest tree, and the most leaves over all ranges, whatever the
/// data: 16M leaves are 256 MiB.
pub const MAX_DEPTH: u8 = 24;
const MAX_TOTAL_LEAVES: u64 = 1 << 24;

/// One range's tree: the wrapping sums of its nodes, heap-ordered (node
/// `(level, index)` at `2^level + index`; slot 0 unused).
#[derive(Clone, Debug, PartialEq)]
struct RangeTree {
    end: Token,
    replicas: Vec<NodeId>,
    sums: Vec<u64>,
}

/// Every tree of one node (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Merkle {
    /// The ring's tokens in order: range `i` is `(ends[i-1], ends[i]]`.
    ends: Vec<Token>,
    /// Per ring range, its tree's place in `trees`, if this node holds it.
    slot_of: Vec<Option<usize>>,
    trees: Vec<RangeTree>,
    depth: u8,
    /// Keys under the trees.
    keys: u64,
}

impl Merkle {
    /// The trees of `data`, as deep as its size asks for.
    pub fn build(ring: &Ring, me: NodeId, data: &BTreeMap<Key, Version>) -> Merkle {
        let mut m = Merkle::empty(ring, me, MIN_DEPTH);
        let held = data.keys().filter(|k| m.slot(ring, k).is_some()).count() as u64;
        m.depth = m.depth_for(held);
        m.zero();
        m.fill(ring, data);
        m
    }

    /// The trees of `data` at a given depth (a test compares a tree kept
    /// up to date with this).
    pub fn build_at(ring: &Ring, me: NodeId, data: &BTreeMap<Key, Version>, depth: u8) -> Merkle {
        let mut m = Merkle::empty(ring, me, depth.clamp(MIN_DEPTH, MAX_DEPTH));
        m.fill(ring, data);
        m
    }

    fn empty(ring: &Ring, me: NodeId, depth: u8) -> Merkle {
        let ends: Vec<Token> = ring.tokens().iter().map(|(t, _)| *t).collect();
        let mut trees = Vec::new();
        let slot_of = ends
            .iter()
            .map(|&end| {
                let replicas = ring.replicas_for_token(end);
                replicas.contains(&me).then(|| {
                    trees.push(RangeTree {
                        end,
                        replicas,
                        sums: Vec::new(),
                    });
                    trees.len() - 1
                })
            })
            .collect();
        let mut m = Merkle {
            ends,
            slot_of,
            trees,
            depth,
            keys: 0,
        };
        m.zero();
        m
    }

    fn zero(&mut self) {
        let size = 2usize << self.depth;
        for t in &mut self.trees {
            t.sums.clear();
            t.sums.resize(size, 0);
        }
        self.keys = 0;
    }

    fn fill(&mut self, ring: &Ring, data: &BTreeMap<Key, Version>) {
        for (k, v) in data {
            self.update(ring, k, None, v);
        }
    }

    /// The depth whose leaves hold at most [`KEYS_PER_LEAF`] keys each on
    /// average, within the bounds.
    fn depth_for(&self, keys: u64) -> u8 {
        let ranges = self.trees.len().max(1) as u64;
        let mut d = MIN_DEPTH;
        while d < MAX_DEPTH
            && ranges << d < MAX_TOTAL_LEAVES
            && (ranges << d) * KEYS_PER_LEAF < keys
        {
            d += 1;
        }
        d
    }

    /// Rebuilds from `data` when the leaves hold twice as many keys as
    /// they should; true when it did.
    pub fn grow_if_crowded(&mut self, ring: &Ring, data: &BTreeMap<Key, Version>) -> bool {
        let leaves = (self.trees.len() as u64) << self.depth;
        if self.keys <= leaves * KEYS_PER_LEAF * 2 || self.depth_for(self.keys) <= self.depth {
            return false;
        }
        self.depth = self.depth_for(self.keys);
        self.zero();
        self.fill(ring, data);
        true
    }

    /// The tree slot of a key's range, if this node holds the range.
    fn slot(&self, ring: &Ring, key: &Key) -> Option<usize> {
        if self.ends.is_empty() {
            return None;
        }
        let token = ring.token_of(key);
        let i = self.ends.partition_point(|t| *t < token) % self.ends.len();
        self.slot_of[i]
    }

    /// `key` went from `old` to `new`: one path of the tree changes.
    pub fn update(&mut self, ring: &Ring, key: &Key, old: Option<&Version>, new: &Version) {
        let Some(slot) = self.slot(ring, key) else {
            return;
        };
        let delta = version_hash(key, new).wrapping_sub(old.map_or(0, |o| version_hash(key, o)));
        if old.is_none() {
            self.keys += 1;
        }
        let leaf = leaf_of(key_hash(key), self.depth);
        let sums = &mut self.trees[slot].sums;
        for level in 0..=self.depth {
            let at = (1usize << level) + (leaf >> (self.depth - level)) as usize;
            sums[at] = sums[at].wrapping_add(delta);
        }
    }

    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// Bytes the trees hold (their sums; the few per-range fields aside).
    pub fn bytes(&self) -> usize {
        self.trees.iter().map(|t| t.sums.len() * 8).sum()
    }

    fn tree(&self, range: u64) -> Option<&RangeTree> {
        let i = self.ends.binary_search(&Token(range)).ok()?;
        self.slot_of[i].map(|s| &self.trees[s])
    }

    /// True when this node and `peer` both replicate the range ending at
    /// `range`.
    pub fn shares(&self, range: u64, peer: NodeId) -> bool {
        self.tree(range).is_some_and(|t| t.replicas.contains(&peer))
    }

    /// This node's hash of `node`, or `None` when the node is not in a
    /// range it holds or is deeper than its tree.
    pub fn hash(&self, node: TreeNode) -> Option<u64> {
        if node.level > self.depth || u64::from(node.index) >> node.level != 0 {
            return None;
        }
        let t = self.tree(node.range)?;
        Some(t.sums[(1usize << node.level) + node.index as usize])
    }

    /// The roots of the ranges this node shares with `peer`, with hashes.
    pub fn roots_shared_with(&self, peer: NodeId) -> Vec<(TreeNode, u64)> {
        self.trees
            .iter()
            .filter(|t| t.replicas.contains(&peer))
            .map(|t| {
                let root = TreeNode {
                    range: t.end.0,
                    level: 0,
                    index: 0,
                };
                (root, t.sums[1])
            })
            .collect()
    }

    /// True when `key` lies under one of `nodes`, all of one level
    /// (at most 63) and sorted by `(index, range)`. Cheap for keys that do
    /// not: one hash, one binary search.
    pub fn under(&self, ring: &Ring, key: &Key, level: u8, nodes: &[TreeNode]) -> bool {
        let index = leaf_of(key_hash(key), level) as u32;
        let from = nodes.partition_point(|n| n.index < index);
        let hits = nodes[from..].iter().take_while(|n| n.index == index);
        let mut hits = hits.peekable();
        if hits.peek().is_none() {
            return false;
        }
        let Some(slot) = self.slot(ring, key) else {
            return false;
        };
        let range = self.trees[slot].end.0;
        hits.any(|n| n.range == range)
    }
}

/// The two children of a node.
pub fn children(n: TreeNode) -> [TreeNode; 2] {
    let child = |i| TreeNode {
        range: n.range,
        level: n.level + 1,
        index: n.index * 2 + i,
    };
    [child(0), child(1)]
}

/// The index at `level` of the node over a key hash.
fn leaf_of(hash: u64, level: u8) -> u64 {
    if level == 0 {
        0
    } else {
        hash >> (64 - u32::from(level))
    }
}

fn key_bytes(key: &Key) -> (u8, &[u8]) {
    match key {
        Key::Int(k) => (0, std::slice::from_ref(k)),
        Key::Str(s) => (1, s.as_bytes()),
    }
}

/// Where a key sits in its range's tree.
fn key_hash(key: &Key) -> u64 {
    let (tag, bytes) = key_bytes(key);
    let mut h = Hasher(0x243f_6a88_85a3_08d3 ^ u64::from(tag));
    h.bytes(bytes);
    h.finish()
}

/// What a tree sums for one key's version: key, timestamp, value or
/// tombstone.
fn version_hash(key: &Key, v: &Version) -> u64 {
    let (tag, bytes) = key_bytes(key);
    let mut h = Hasher(0x1319_8a2e_0370_7344 ^ u64::from(tag));
    h.bytes(bytes);
    h.word(v.ts);
    match &v.value {
        None => h.word(u64::MAX),
        Some(val) => h.bytes(val.as_bytes()),
    }
    h.finish()
}

/// A small, fast 64-bit hash, the same on every platform (the browser's
/// nodes and the native ones must agree). Not a defence against chosen
/// collisions: peers are trusted (they share the cluster secret).
struct Hasher(u64);

impl Hasher {
    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(31);
    }

    fn bytes(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.word(u64::from_le_bytes(w));
        self.word(b.len() as u64);
    }

    /// Murmur3's finaliser: every input bit reaches every output bit.
    fn finish(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}
