//! The memtable's map from key to newest version, kept in buckets by key
//! hash.
//!
//! **Why buckets.** Anti-entropy has to find the keys under a few leaves
//! of its hash trees, and a key's leaf is the top bits of its hash
//! ([`key_hash`]), not its place in key order. In one map ordered by key
//! those keys are scattered, and finding them means reading every key.
//! Here the keys are split by the top bits of the same hash into buckets,
//! each a B-tree in key order, so the keys under any tree node lie in the
//! buckets of one interval of hashes: finding them reads those buckets,
//! however large the data. What it costs: a hash per lookup, and a listing
//! in key order (an `inspect` page) merges the buckets.
//!
//! **Growth.** Extendible hashing: a directory of `2^bits` slots names a
//! bucket per slot; a bucket whose keys share the top `d` bits of their
//! hashes fills the `2^(bits - d)` slots of those bits. A bucket that
//! passes [`MAX_BUCKET`] keys splits in two by its next bit, doubling the
//! directory if it must. A split moves one bucket's keys, never the
//! table's, so no write waits on a rehash of millions of keys.

use crate::types::{hash_prefix, key_hash, Key, Version};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;
use std::ops::{Bound, Index};

/// Keys a bucket holds before it splits. Small enough that reading a
/// bucket is cheap next to a message (anti-entropy reads whole buckets),
/// large enough that the buckets' own overhead is a fraction of a byte per
/// key and an in-order merge of all of them stays quick at 10M keys.
pub const MAX_BUCKET: usize = 1024;
/// The deepest split: a directory of 4M slots. Keys whose hashes share
/// more leading bits than this stay together in a bucket that grows past
/// [`MAX_BUCKET`] (only chosen keys do that; they cost speed, not
/// correctness).
const MAX_BITS: u8 = 22;

/// Keys and their newest versions (see the module docs). Iteration is in
/// no particular order unless a method says so.
#[derive(Clone)]
pub struct Table {
    /// Per slot (the top `bits` bits of a key hash), its bucket's index.
    dir: Vec<u32>,
    bits: u8,
    buckets: Vec<Bucket>,
    len: usize,
}

#[derive(Clone, Default)]
struct Bucket {
    /// How many leading hash bits its keys share.
    bits: u8,
    map: BTreeMap<Key, Version>,
}

impl Default for Table {
    fn default() -> Table {
        Table {
            dir: vec![0],
            bits: 0,
            buckets: vec![Bucket::default()],
            len: 0,
        }
    }
}

/// A key hash's bucket among `2^bits`.
fn top(hash: u64, bits: u8) -> usize {
    hash_prefix(hash, bits) as usize
}

impl Table {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn bucket_of(&self, key: &Key) -> usize {
        self.dir[top(key_hash(key), self.bits)] as usize
    }

    pub fn get(&self, key: &Key) -> Option<&Version> {
        self.buckets[self.bucket_of(key)].map.get(key)
    }

    pub fn get_mut(&mut self, key: &Key) -> Option<&mut Version> {
        let b = self.bucket_of(key);
        self.buckets[b].map.get_mut(key)
    }

    /// Stores `version` as `key`'s, returning the one it replaced.
    pub fn insert(&mut self, key: Key, version: Version) -> Option<Version> {
        let b = self.bucket_of(&key);
        let old = self.buckets[b].map.insert(key, version);
        if old.is_none() {
            self.len += 1;
            if self.buckets[b].map.len() > MAX_BUCKET {
                self.split(b);
            }
        }
        old
    }

    /// Splits bucket `b` by the next bit of its keys' hashes: those with
    /// it set move to a new bucket.
    fn split(&mut self, b: usize) {
        let bits = self.buckets[b].bits;
        if bits >= MAX_BITS {
            return;
        }
        if bits == self.bits {
            self.dir = self.dir.iter().flat_map(|&s| [s, s]).collect();
            self.bits += 1;
        }
        // The bucket's slots are a run of 2^(self.bits - bits), aligned to
        // its size; the upper half of it will name the new bucket.
        let run = 1usize << (self.bits - bits);
        let first = self.buckets[b]
            .map
            .keys()
            .next()
            .map_or(0, |k| top(key_hash(k), self.bits) & !(run - 1));
        let bit = 63 - u32::from(bits);
        // In key order on both sides, so each map is built in one pass.
        let (stay, go): (Vec<_>, Vec<_>) = std::mem::take(&mut self.buckets[b].map)
            .into_iter()
            .partition(|(k, _)| key_hash(k) >> bit & 1 == 0);
        let new = self.buckets.len() as u32;
        self.buckets[b] = Bucket {
            bits: bits + 1,
            map: stay.into_iter().collect(),
        };
        self.buckets.push(Bucket {
            bits: bits + 1,
            map: go.into_iter().collect(),
        });
        for s in &mut self.dir[first + run / 2..first + run] {
            *s = new;
        }
    }

    /// The bucket bits a table of `keys` keys starts with: buckets half
    /// full, so they fill before they split.
    pub fn bits_for(keys: usize) -> u8 {
        let mut bits = 0u8;
        while keys >> bits > MAX_BUCKET / 2 && bits < MAX_BITS {
            bits += 1;
        }
        bits
    }

    /// A table of `2^bits` buckets, `maps[i]` holding the keys of bucket
    /// `i` (see [`hash_prefix`]): a replay builds each in one pass.
    pub fn from_buckets(bits: u8, maps: Vec<BTreeMap<Key, Version>>) -> Table {
        assert_eq!(maps.len(), 1 << bits, "one map per bucket");
        debug_assert!(maps
            .iter()
            .enumerate()
            .all(|(i, m)| m.keys().all(|k| top(key_hash(k), bits) == i)));
        Table {
            dir: (0..1u32 << bits).collect(),
            bits,
            len: maps.iter().map(BTreeMap::len).sum(),
            buckets: maps.into_iter().map(|map| Bucket { bits, map }).collect(),
        }
    }

    /// Every key and version, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Version)> + '_ {
        self.buckets.iter().flat_map(|b| b.map.iter())
    }

    pub fn keys(&self) -> impl Iterator<Item = &Key> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// The keys after `after` (all of them for `None`), in key order: the
    /// buckets merged. Each bucket's next key is looked up again when its
    /// last one is taken, rather than kept as an iterator: a page takes a
    /// few keys of tens of thousands of buckets.
    pub fn in_order_after<'a>(&'a self, after: Option<&Key>) -> InOrder<'a> {
        let heads = (0..self.buckets.len())
            .filter_map(|i| self.next_in(i, after))
            .collect();
        InOrder { table: self, heads }
    }

    /// Bucket `i`'s first key after `after`.
    fn next_in(&self, i: usize, after: Option<&Key>) -> Option<Reverse<Head<'_>>> {
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut rest = self.buckets[i]
            .map
            .range::<Key, _>((from, Bound::Unbounded));
        rest.next().map(|(k, v)| Reverse(Head(k, v, i)))
    }

    /// The keys whose hashes lie in `spans` (sorted, disjoint, inclusive
    /// intervals), in hash order (see [`hash_order`]), after `after`: a
    /// bucket at a time, each read once and its keys there sorted.
    pub fn in_hash_order(&self, spans: Vec<(u64, u64)>, after: Option<&Key>) -> InHashOrder<'_> {
        let after = after.map(|k| (key_hash(k), k.clone()));
        InHashOrder {
            table: self,
            at: Some(after.as_ref().map_or(0, |a| a.0)),
            spans,
            after,
            found: Vec::new(),
            next: 0,
            scanned: 0,
        }
    }

    /// The bucket holding hash `h`, and the last hash it covers.
    pub fn bucket_at(&self, h: u64) -> (&BTreeMap<Key, Version>, u64) {
        let b = &self.buckets[self.dir[top(h, self.bits)] as usize];
        let last = match b.bits {
            0 => u64::MAX,
            bits => h | (u64::MAX >> bits),
        };
        (&b.map, last)
    }
}

/// The order of an anti-entropy exchange and of a snapshot: by key hash,
/// then by key (for two keys of one hash). It never changes as the table
/// grows, so a cursor in it stays good between slices.
pub fn hash_order(a: &Key, b: &Key) -> std::cmp::Ordering {
    (key_hash(a), a).cmp(&(key_hash(b), b))
}

/// A table's keys in hash order (see [`Table::in_hash_order`]).
pub struct InHashOrder<'a> {
    table: &'a Table,
    spans: Vec<(u64, u64)>,
    after: Option<(u64, Key)>,
    /// The first hash not read yet; `None` past the last.
    at: Option<u64>,
    /// The keys found in the last bucket read, sorted; `next` is the next
    /// to yield.
    found: Vec<(u64, &'a Key, &'a Version)>,
    next: usize,
    scanned: usize,
}

impl<'a> InHashOrder<'a> {
    /// Keys read so far, including those of the buckets read that lie
    /// outside the spans: the work done.
    pub fn scanned(&self) -> usize {
        self.scanned
    }

    fn in_spans(&self, h: u64) -> bool {
        let i = self.spans.partition_point(|s| s.1 < h);
        self.spans.get(i).is_some_and(|s| s.0 <= h)
    }

    /// Reads the next bucket over the spans; false when none is left.
    fn read_bucket(&mut self) -> bool {
        let Some(mut at) = self.at else {
            return false;
        };
        let i = self.spans.partition_point(|s| s.1 < at);
        let Some(&(from, _)) = self.spans.get(i) else {
            self.at = None;
            return false;
        };
        at = at.max(from);
        let table: &'a Table = self.table;
        let (map, last) = table.bucket_at(at);
        self.scanned += map.len();
        self.found.clear();
        self.next = 0;
        for (k, v) in map {
            let h = key_hash(k);
            let past = match &self.after {
                Some((ah, ak)) => (h, k) > (*ah, ak),
                None => true,
            };
            if h >= at && past && self.in_spans(h) {
                self.found.push((h, k, v));
            }
        }
        self.found
            .sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        self.at = last.checked_add(1);
        true
    }
}

impl<'a> Iterator for InHashOrder<'a> {
    type Item = (&'a Key, &'a Version);

    fn next(&mut self) -> Option<Self::Item> {
        while self.next == self.found.len() {
            if !self.read_bucket() {
                return None;
            }
        }
        let (_, k, v) = self.found[self.next];
        self.next += 1;
        Some((k, v))
    }
}

/// The next key of one bucket in [`Table::in_order_after`]: ordered by key
/// (keys are distinct, so the bucket index never decides).
struct Head<'a>(&'a Key, &'a Version, usize);

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Head<'_> {}
impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(other.0)
    }
}

/// A table's keys in key order (see [`Table::in_order_after`]).
pub struct InOrder<'a> {
    table: &'a Table,
    heads: BinaryHeap<Reverse<Head<'a>>>,
}

impl<'a> Iterator for InOrder<'a> {
    type Item = (&'a Key, &'a Version);

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse(Head(k, v, i)) = self.heads.pop()?;
        if let Some(next) = self.table.next_in(i, Some(k)) {
            self.heads.push(next);
        }
        Some((k, v))
    }
}

impl FromIterator<(Key, Version)> for Table {
    /// As inserting each in turn: a later version of a key replaces an
    /// earlier one.
    fn from_iter<I: IntoIterator<Item = (Key, Version)>>(entries: I) -> Table {
        let mut t = Table::default();
        for (k, v) in entries {
            t.insert(k, v);
        }
        t
    }
}

/// Two tables are equal when they hold the same versions of the same
/// keys, however their buckets split.
impl PartialEq for Table {
    fn eq(&self, other: &Table) -> bool {
        self.len == other.len && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

/// The same comparison with a plain map (the page keeps one per node).
impl PartialEq<BTreeMap<Key, Version>> for Table {
    fn eq(&self, other: &BTreeMap<Key, Version>) -> bool {
        self.len == other.len() && other.iter().all(|(k, v)| self.get(k) == Some(v))
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.in_order_after(None)).finish()
    }
}

impl Index<&Key> for Table {
    type Output = Version;

    fn index(&self, key: &Key) -> &Version {
        self.get(key).expect("no such key in the table")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Yarn;

    fn key(i: usize) -> Key {
        Key::Str(Yarn::from_string(format!("user:{i:08}")))
    }

    fn version(ts: u64) -> Version {
        Version {
            ts,
            value: Some("v".into()),
        }
    }

    /// The table through many splits holds what a B-tree map would, and
    /// lists it in the same order.
    #[test]
    fn splits_keep_every_key_and_key_order() {
        let mut t = Table::default();
        let mut map = BTreeMap::new();
        for i in (0..20_000).rev() {
            let ts = (i % 7) as u64;
            assert_eq!(
                t.insert(key(i), version(ts)),
                map.insert(key(i), version(ts))
            );
        }
        assert_eq!(
            t.insert(key(5), version(99)),
            map.insert(key(5), version(99))
        );
        assert!(
            t.buckets.len() >= 20_000 / MAX_BUCKET,
            "{} buckets",
            t.buckets.len()
        );
        assert!(t.buckets.iter().all(|b| b.map.len() <= MAX_BUCKET));
        assert_eq!(t.len(), map.len());
        assert!(t.in_order_after(None).eq(map.iter()));
        let after = key(12_345);
        assert!(t
            .in_order_after(Some(&after))
            .eq(map.range((Bound::Excluded(after), Bound::Unbounded))));
        // The same keys built bucket by bucket, split differently.
        let bits = Table::bits_for(map.len()) + 1;
        let mut maps = vec![BTreeMap::new(); 1 << bits];
        for (k, v) in &map {
            maps[top(key_hash(k), bits)].insert(k.clone(), v.clone());
        }
        assert_eq!(t, Table::from_buckets(bits, maps));
        for (k, v) in &map {
            assert_eq!(t.get(k), Some(v));
            // Each key is in the bucket its hash's top bits name.
            let b = &t.buckets[t.bucket_of(k)];
            assert!(b.bits <= t.bits && b.map.contains_key(k));
        }
    }

    /// Reading in hash order finds exactly the keys whose hashes lie in
    /// the spans and come after the cursor, in hash order.
    #[test]
    fn hash_order_reads_the_keys_of_the_spans_after_a_cursor() {
        let t: Table = (0..5_000).map(|i| (key(i), version(1))).collect();
        let mut all: Vec<&Key> = t.keys().collect();
        all.sort_by(|a, b| hash_order(a, b));
        let cursor = all[1234].clone();
        for spans in [
            vec![(0, u64::MAX)],
            vec![(1 << 60, 3 << 60), (7 << 60, (7 << 60) + (1 << 50))],
            vec![(key_hash(&cursor), key_hash(&cursor))],
            vec![(u64::MAX, u64::MAX)],
        ] {
            for after in [None, Some(&cursor)] {
                let got: Vec<&Key> = t
                    .in_hash_order(spans.clone(), after)
                    .map(|(k, _)| k)
                    .collect();
                let want: Vec<&Key> = all
                    .iter()
                    .copied()
                    .filter(|k| spans.iter().any(|s| (s.0..=s.1).contains(&key_hash(k))))
                    .filter(|k| after.is_none_or(|a| hash_order(k, a).is_gt()))
                    .collect();
                assert_eq!(got, want, "{spans:x?} after {after:?}");
            }
        }
        // A narrow span reads a bucket or two, not the table.
        let h = key_hash(&cursor);
        let mut narrow = t.in_hash_order(vec![(h, h)], None);
        assert_eq!(narrow.next().map(|(k, _)| k), Some(&cursor));
        assert!(narrow.scanned() <= 2 * MAX_BUCKET, "{}", narrow.scanned());
    }

    #[test]
    fn an_empty_table_lists_nothing() {
        let t = Table::default();
        assert_eq!(t.in_order_after(None).count(), 0);
        assert_eq!(t.in_hash_order(vec![(0, u64::MAX)], None).count(), 0);
        assert_eq!(t, Table::from_buckets(0, vec![BTreeMap::new()]));
        assert_eq!(format!("{t:?}"), "{}");
    }
}
