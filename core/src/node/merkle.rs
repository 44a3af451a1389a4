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
//! version's hash and adding the new one's along one root-to-leaf path, and
//! a tree rebuilt from the data equals the one kept up to date. Node
//! `(level, index)` covers the same keys on every node whatever each one's
//! depth, so two trees of different depths still compare level by level.
//!
//! **Size of a leaf.** It sets three costs against each other. A round
//! sends the versions of every leaf that differs, so the bytes of a
//! difference grow with the keys per leaf. The tree's memory and, above
//! all, the time of a write fall as leaves grow: a write's additions land
//! at random places of the tree, and once the tree outgrows the processor's
//! caches each one waits for memory, which is what makes small leaves slow
//! at millions of keys. [`KEYS_PER_LEAF`] is the largest leaf whose
//! versions keep a round that repairs a hundred keys a few hundred
//! kilobytes, and it keeps the tree to about a byte per key, so a 10M-key
//! tree stays within a cache's reach.
//!
//! **Layout.** Only every third level is kept (the leaves, the levels
//! three, six, ... above them, and the root); a level in between is the sum
//! of at most four nodes of the kept level below, side by side in memory.
//! A write then changes a third of the levels, and the kept inner levels
//! are an eighth of the leaves, small enough to stay cached; the rare reads
//! of a level in between (an anti-entropy walk) add up four numbers. A
//! rebuild adds each key to its leaf only, in batches so that the leaves'
//! cache misses overlap, and sums the kept levels from the leaves once.
//!
//! **Depth.** A fixed depth would be either too big for the browser's small
//! simulated clusters (which are cloned at every rewind checkpoint) or too
//! shallow at 10M keys, where a leaf of thousands of keys would make the
//! versions sent grow with the data. So the depth follows the key count of
//! the fullest range (byte-ordered keys with a shared prefix all fall in
//! one range): at most [`KEYS_PER_LEAF`] keys per leaf on average after a
//! rebuild, and the trees are rebuilt one level deeper once that passes
//! twice as many, so rebuilds happen at doublings of the data (amortised
//! O(1) per write). A live node rebuilds beside the trees in use, a
//! bucket of the memtable per write, in hash order, so no write waits for
//! all the keys ([`Merkle::grow`]). A restart fills trees as deep as if
//! all keys were in one range and folds them up to the depth the fullest
//! range asks for: two sibling leaves add up to their parent, so no key is
//! read twice.
//!
//! **Finding the keys under a leaf.** The memtable keeps its keys in
//! buckets by the top bits of the same key hash (`storage/table.rs`), so
//! the keys under a leaf that differs lie in the one bucket, or the few,
//! over its interval of hashes: an exchange reads those, not the data
//! (`anti_entropy.rs`). A round between replicas in step reads nothing.

use crate::message::TreeNode;
use crate::ring::{Ring, Token};
use crate::storage::Table;
use crate::types::{hash_prefix, key_hash, tagged_bytes, Hasher, Key, NodeId, Version};
use std::num::NonZeroU32;

/// Keys per leaf, on average, right after a rebuild.
pub const KEYS_PER_LEAF: u64 = 16;
/// The shallowest tree: a handful of keys still get a few leaves.
const MIN_DEPTH: u8 = 2;
/// The deepest tree, and the most leaves over all ranges, whatever the
/// data.
pub const MAX_DEPTH: u8 = 24;
const MAX_TOTAL_LEAVES: u64 = 1 << 22;
/// Levels kept: the leaves, every third level above them, and the root.
/// A level in between is summed from at most four nodes of the kept level
/// below it, which sit side by side in one cache line.
const STRIDE: u8 = 3;
/// Keys a rebuild hashes before adding them to their leaves.
const FILL_BATCH: usize = 256;

/// One range's tree: the wrapping sums of the nodes of its kept levels,
/// level after level from the top (see [`Layout`]).
#[derive(Clone, Debug, PartialEq)]
struct RangeTree {
    end: Token,
    replicas: Vec<NodeId>,
    sums: Vec<u64>,
    /// Keys under it.
    keys: u64,
}

/// Where each kept level of a tree of one depth starts in its `sums`.
#[derive(Clone, Debug, PartialEq)]
struct Layout {
    depth: u8,
    /// Per level `0..=depth`, the offset of its first node, if kept.
    start: Vec<Option<usize>>,
    /// Kept levels, deepest first (the order an update and a fill go in).
    kept: Vec<u8>,
    len: usize,
}

impl Layout {
    fn new(depth: u8) -> Layout {
        let mut start = vec![None; usize::from(depth) + 1];
        let mut len = 0;
        for level in 0..=depth {
            if level == 0 || (depth - level).is_multiple_of(STRIDE) {
                start[usize::from(level)] = Some(len);
                len += 1usize << level;
            }
        }
        let kept = (0..=depth)
            .rev()
            .filter(|&l| start[usize::from(l)].is_some())
            .collect();
        Layout {
            depth,
            start,
            kept,
            len,
        }
    }

    /// The kept level a level's sums come from: itself, or the next kept
    /// one below it.
    fn kept_at_or_below(&self, level: u8) -> u8 {
        if level == 0 {
            0
        } else {
            level + (self.depth - level) % STRIDE
        }
    }

    /// The sum of node `(level, index)` in `sums`.
    fn sum(&self, sums: &[u64], level: u8, index: u64) -> u64 {
        let from = self.kept_at_or_below(level);
        let shift = from - level;
        let at = self.start[usize::from(from)].unwrap_or_default() + (index << shift) as usize;
        wrapping_sum(&sums[at..at + (1usize << shift)])
    }
}

/// Every tree of one node (see the module docs).
#[derive(Clone, Debug)]
pub struct Merkle {
    /// The ring's tokens in order: range `i` is `(ends[i-1], ends[i]]`.
    ends: Vec<Token>,
    /// Per ring range, its tree's place in `trees`, if this node holds it.
    slot_of: Vec<Option<usize>>,
    trees: Vec<RangeTree>,
    layout: Layout,
    /// Keys under the fullest tree: the depth is sized for it, since
    /// keys need not spread evenly over ranges (byte-ordered keys with a
    /// common prefix all fall in one).
    fullest: u64,
    /// Deeper trees being filled, a bucket of the table per write, while
    /// these serve (see [`Merkle::grow`]).
    growing: Option<Box<Growth>>,
}

/// What one version of a key adds to the trees: its hash, to the leaf
/// its key's hash picks in the tree of its range. A replay takes each
/// write's as it gathers the log's writes and adds only the winners'.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LeafSum {
    hash: u64,
    /// The top half of the key's hash: enough for a leaf at
    /// [`MAX_DEPTH`], and a replay keeps one of these per write.
    leaf: u32,
    /// The index of its range's tree, plus one: a zero it can never be
    /// lets `Option<LeafSum>`, which a replay also keeps per write, take
    /// no more room than a `LeafSum`.
    slot: NonZeroU32,
}

const _: () = assert!(
    MAX_DEPTH <= 32,
    "a LeafSum's leaf holds 32 bits of the key hash"
);
const _: () = assert!(
    std::mem::size_of::<Option<LeafSum>>() == 16,
    "an Option<LeafSum> is as large as a LeafSum"
);

/// The trees' leaves holding some of the keys, their levels above not
/// summed yet: a replay fills two parts, on two threads when it is
/// large.
#[derive(Clone)]
pub(crate) struct TreePart(Merkle);

impl TreePart {
    /// No keys yet: what [`TreePart::leaf_sum`] needs of the ring.
    pub(crate) fn new(ring: &Ring, me: NodeId) -> TreePart {
        TreePart(Merkle::empty(ring, me, MIN_DEPTH))
    }

    /// What `key` (whose [`key_hash`] is `hash`) at `v` adds to the
    /// trees, if this node holds its range.
    pub(crate) fn leaf_sum(
        &self,
        ring: &Ring,
        key: &Key,
        hash: u64,
        v: &Version,
    ) -> Option<LeafSum> {
        self.0.leaf_sum(ring, key, hash, v)
    }

    /// These trees made for `len` distinct keys, their leaves holding
    /// `sums` (of some of the keys, in any order).
    pub(crate) fn filled(&self, len: usize, sums: impl Iterator<Item = LeafSum>) -> TreePart {
        // Filled first as deep as if every key fell in one range, then
        // folded (in `finish`) to the depth the fullest range asks for: a
        // leaf's keys are those whose hash starts with its index, so two
        // sibling leaves add up to their parent, and no key is read twice.
        let mut m = self.0.clone();
        m.resize(m.depth_for(len as u64));
        m.add_sums(sums);
        TreePart(m)
    }

    /// Adds the keys of `other`, a part of the same trees (made for as
    /// many keys on the same ring): a leaf's sum is a sum over its keys.
    pub(crate) fn join(mut self, other: TreePart) -> TreePart {
        let (m, o) = (&mut self.0, other.0);
        assert!(
            m.layout == o.layout && m.slot_of == o.slot_of,
            "parts of different trees"
        );
        let leaves = m.layout.start[usize::from(m.layout.depth)].unwrap_or_default();
        for (t, u) in m.trees.iter_mut().zip(o.trees) {
            for (a, b) in t.sums[leaves..].iter_mut().zip(&u.sums[leaves..]) {
                *a = a.wrapping_add(*b);
            }
            t.keys += u.keys;
        }
        self
    }

    /// The trees, every key in: their levels summed, as deep as the
    /// fullest range asks for.
    pub(crate) fn finish(self) -> Merkle {
        let mut m = self.0;
        m.leaves_done();
        m.fold_to(m.depth_for(m.fullest));
        m
    }
}

/// Deeper trees under way: they hold the keys whose hashes are below
/// `filled`, and every change to those since.
#[derive(Clone, Debug)]
struct Growth {
    trees: Merkle,
    /// The first key hash not added yet; `None` once all are.
    filled: Option<u64>,
}

/// Two sets of trees are equal when their sums are: deeper trees under
/// way are not part of what they say.
impl PartialEq for Merkle {
    fn eq(&self, other: &Merkle) -> bool {
        self.ends == other.ends
            && self.slot_of == other.slot_of
            && self.trees == other.trees
            && self.layout == other.layout
            && self.fullest == other.fullest
    }
}

impl Merkle {
    /// The trees of `data`, as deep as its size asks for.
    pub fn build(ring: &Ring, me: NodeId, data: &Table) -> Merkle {
        Merkle::build_from(ring, me, data.len(), data.iter())
    }

    /// The trees of `len` distinct keys and their versions, in any order.
    pub fn build_from<'a>(
        ring: &Ring,
        me: NodeId,
        len: usize,
        data: impl Iterator<Item = (&'a Key, &'a Version)>,
    ) -> Merkle {
        let empty = TreePart::new(ring, me);
        let sums = data.filter_map(|(k, v)| empty.leaf_sum(ring, k, key_hash(k), v));
        empty.filled(len, sums).finish()
    }

    /// The trees of `data` at a given depth (a test compares a tree kept
    /// up to date with this).
    pub fn build_at(ring: &Ring, me: NodeId, data: &Table, depth: u8) -> Merkle {
        let mut m = Merkle::empty(ring, me, depth.clamp(MIN_DEPTH, MAX_DEPTH));
        m.fill(ring, data.iter());
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
                        keys: 0,
                    });
                    trees.len() - 1
                })
            })
            .collect();
        let mut m = Merkle {
            ends,
            slot_of,
            trees,
            layout: Layout::new(depth),
            fullest: 0,
            growing: None,
        };
        m.resize(depth);
        m
    }

    /// Empty trees of `depth`.
    fn resize(&mut self, depth: u8) {
        self.layout = Layout::new(depth);
        for t in &mut self.trees {
            t.sums.clear();
            t.sums.resize(self.layout.len, 0);
            t.keys = 0;
        }
        self.fullest = 0;
    }

    /// Adds `data` to empty trees: the leaves first, one addition per
    /// key, then each kept level summed from the one below in a single
    /// pass, so a rebuild touches the big leaf level once per key rather
    /// than every kept level.
    fn fill<'a>(&mut self, ring: &Ring, data: impl Iterator<Item = (&'a Key, &'a Version)>) {
        self.add_to_leaves(ring, data);
        self.leaves_done();
    }

    /// Sums the levels above the leaves once every key is in them.
    fn leaves_done(&mut self) {
        self.fullest = self.trees.iter().map(|t| t.keys).max().unwrap_or(0);
        self.sum_up();
    }

    /// Adds keys to their leaves only (the levels above are summed once
    /// all are in).
    fn add_to_leaves<'a>(
        &mut self,
        ring: &Ring,
        data: impl Iterator<Item = (&'a Key, &'a Version)>,
    ) {
        // In batches: hash a batch of keys, then add them to their leaves,
        // so that the leaves' cache misses overlap instead of each waiting
        // behind the next key's hashing.
        let mut batch = Vec::with_capacity(FILL_BATCH);
        let mut entries = data.peekable();
        while entries.peek().is_some() {
            batch.clear();
            batch.extend(
                entries
                    .by_ref()
                    .take(FILL_BATCH)
                    .filter_map(|(k, v)| self.leaf_sum(ring, k, key_hash(k), v)),
            );
            self.add_sums(batch.iter().copied());
        }
    }

    /// Adds sums to the leaves only.
    fn add_sums(&mut self, sums: impl Iterator<Item = LeafSum>) {
        let depth = self.layout.depth;
        let leaves = self.layout.start[usize::from(depth)].unwrap_or_default();
        for s in sums {
            let t = &mut self.trees[(s.slot.get() - 1) as usize];
            let at = leaves + hash_prefix(u64::from(s.leaf) << 32, depth) as usize;
            t.sums[at] = t.sums[at].wrapping_add(s.hash);
            t.keys += 1;
        }
    }

    /// See [`TreePart::leaf_sum`].
    fn leaf_sum(&self, ring: &Ring, key: &Key, hash: u64, v: &Version) -> Option<LeafSum> {
        Some(LeafSum {
            hash: version_hash(key, v),
            leaf: (hash >> 32) as u32,
            // Far fewer than 2^32 ranges fit in memory.
            slot: NonZeroU32::MIN.saturating_add(self.slot(ring, key)? as u32),
        })
    }

    /// Each kept level above the leaves, summed from the one below.
    fn sum_up(&mut self) {
        let layout = &self.layout;
        for pair in layout.kept.windows(2) {
            let (below, level) = (pair[0], pair[1]);
            let shift = below - level;
            let to = layout.start[usize::from(level)].unwrap_or_default();
            let from = layout.start[usize::from(below)].unwrap_or_default();
            for t in &mut self.trees {
                for i in 0..1usize << level {
                    let at = from + (i << shift);
                    t.sums[to + i] = wrapping_sum(&t.sums[at..at + (1 << shift)]);
                }
            }
        }
    }

    /// Shallower trees with the same keys: each leaf the sum of the
    /// leaves under it.
    fn fold_to(&mut self, depth: u8) {
        if depth >= self.depth() {
            return;
        }
        let from = std::mem::replace(&mut self.layout, Layout::new(depth));
        let old = from.start[usize::from(from.depth)].unwrap_or_default();
        let new = self.layout.start[usize::from(depth)].unwrap_or_default();
        let shift = from.depth - depth;
        for t in &mut self.trees {
            let mut sums = vec![0u64; self.layout.len];
            for (i, leaf) in sums[new..].iter_mut().enumerate() {
                let at = old + (i << shift);
                *leaf = wrapping_sum(&t.sums[at..at + (1 << shift)]);
            }
            t.sums = sums;
        }
        self.sum_up();
    }

    /// The depth whose leaves hold at most [`KEYS_PER_LEAF`] keys each on
    /// average in a range of `keys` keys, within the bounds.
    fn depth_for(&self, keys: u64) -> u8 {
        let ranges = self.trees.len().max(1) as u64;
        let mut d = MIN_DEPTH;
        while d < MAX_DEPTH
            && ranges << (d + 1) <= MAX_TOTAL_LEAVES
            && (1u64 << d) * KEYS_PER_LEAF < keys
        {
            d += 1;
        }
        d
    }

    /// Deepens the trees when the fullest one's leaves hold twice as many
    /// keys as they should, a step per call (per write): the first starts
    /// empty trees one level deeper or more, each adds one bucket of
    /// `data` to them in hash order (the keys whose hashes follow the last
    /// bucket's), and the last puts them in place of these. Meanwhile
    /// these serve, and [`Merkle::update`] keeps both up to date. One
    /// rebuild of millions of keys at once would hold the node's thread
    /// for seconds; a bucket is at most about a thousand keys. True when
    /// deeper trees took over.
    pub fn grow(&mut self, ring: &Ring, data: &Table) -> bool {
        if self.growing.is_none() {
            let crowded = self.fullest > (1u64 << self.depth()) * KEYS_PER_LEAF * 2;
            if !crowded || self.depth_for(self.fullest) <= self.depth() {
                return false;
            }
            let mut trees = Merkle {
                ends: self.ends.clone(),
                slot_of: self.slot_of.clone(),
                trees: self
                    .trees
                    .iter()
                    .map(|t| RangeTree {
                        sums: Vec::new(),
                        replicas: t.replicas.clone(),
                        ..*t
                    })
                    .collect(),
                layout: self.layout.clone(),
                fullest: 0,
                growing: None,
            };
            trees.resize(self.depth_for(self.fullest));
            self.growing = Some(Box::new(Growth {
                trees,
                filled: Some(0),
            }));
        }
        let Some(g) = self.growing.as_mut() else {
            return false;
        };
        if let Some(from) = g.filled {
            let (bucket, last) = data.bucket_at(from);
            g.trees.add_to_leaves(ring, bucket.iter());
            g.filled = last.checked_add(1);
        }
        if g.filled.is_some() {
            return false;
        }
        let Some(done) = self.growing.take() else {
            return false;
        };
        *self = done.trees;
        self.fullest = self.trees.iter().map(|t| t.keys).max().unwrap_or(0);
        self.sum_up();
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

    /// `key`'s stored version changed (from `old`, none for a new key, to
    /// `new`): one node of each kept level changes.
    pub fn update(&mut self, ring: &Ring, key: &Key, old: Option<&Version>, new: &Version) {
        if let Some(g) = self.growing.as_mut() {
            // Keys not added yet are added as they are when their bucket is.
            if g.filled.is_none_or(|f| key_hash(key) < f) {
                g.trees.update(ring, key, old, new);
            }
        }
        let Some(slot) = self.slot(ring, key) else {
            return;
        };
        let delta = version_hash(key, new).wrapping_sub(old.map_or(0, |o| version_hash(key, o)));
        let tree = &mut self.trees[slot];
        if old.is_none() {
            tree.keys += 1;
            self.fullest = self.fullest.max(tree.keys);
        }
        let depth = self.layout.depth;
        let leaf = hash_prefix(key_hash(key), depth);
        let sums = &mut tree.sums;
        for &level in &self.layout.kept {
            let start = self.layout.start[usize::from(level)].unwrap_or_default();
            let at = start + (leaf >> (depth - level)) as usize;
            sums[at] = sums[at].wrapping_add(delta);
        }
    }

    pub fn depth(&self) -> u8 {
        self.layout.depth
    }

    /// Whether deeper trees are being filled (see [`Merkle::grow`]).
    #[cfg(test)]
    pub(super) fn is_growing(&self) -> bool {
        self.growing.is_some()
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
        if node.level > self.depth() || u64::from(node.index) >> node.level != 0 {
            return None;
        }
        let t = self.tree(node.range)?;
        Some(self.layout.sum(&t.sums, node.level, u64::from(node.index)))
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
                (root, t.sums[0])
            })
            .collect()
    }

    /// True when `key` lies under one of `nodes`, all of one level
    /// (at most 63) and sorted by `(index, range)`. Cheap for keys that do
    /// not: one hash, one binary search.
    pub fn under(&self, ring: &Ring, key: &Key, level: u8, nodes: &[TreeNode]) -> bool {
        let index = hash_prefix(key_hash(key), level) as u32;
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

/// The sum of sibling nodes, as a tree sums (wrapping).
fn wrapping_sum(nodes: &[u64]) -> u64 {
    nodes.iter().fold(0u64, |a, &s| a.wrapping_add(s))
}

/// What a tree sums for one key's version: key, timestamp, value or
/// tombstone.
fn version_hash(key: &Key, v: &Version) -> u64 {
    let (tag, bytes) = tagged_bytes(key);
    let mut h = Hasher(0x1319_8a2e_0370_7344 ^ u64::from(tag));
    h.bytes(bytes);
    h.word(v.ts);
    match &v.value {
        None => h.word(u64::MAX),
        Some(val) => h.long_bytes(val.as_bytes()),
    }
    h.finish()
}
