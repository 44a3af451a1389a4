//! Coming back from the commit log, and starting: a node is rebuilt from
//! its records before it takes part in anything, then `Input::Start`
//! begins its incarnation.

use super::detector::PeerState;
use super::merkle::{LeafSum, TreePart};
use super::{EventLevel, Node};
use crate::config::Config;
use crate::io::{EventKind, TimerId};
use crate::ring::Ring;
use crate::storage::{Memtable, Record, Table};
use crate::types::{hash_prefix, key_hash, Key, Version};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{sync_channel, SendError, SyncSender};
use std::sync::Mutex;
use std::thread::{Scope, ScopedJoinHandle};

/// What [`Node::recover`] rebuilt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub records: usize,
    pub keys: usize,
    pub hints: usize,
}

impl Node {
    /// A node with an empty log.
    pub fn new(config: Config) -> Node {
        Node::recover(config, &[]).0
    }

    /// Rebuilds a node from its commit-log records, in order: the memtable
    /// (last write wins) and the hints still held.
    pub fn recover(config: Config, records: &[Record]) -> (Node, Recovery) {
        Node::recover_from(config, records.iter().cloned())
    }

    /// [`Node::recover`] from records handed over one at a time, so a large
    /// log never sits in memory as a whole (see
    /// [`crate::storage::LogReader`]).
    pub fn recover_from(
        config: Config,
        records: impl IntoIterator<Item = Record>,
    ) -> (Node, Recovery) {
        let ring = Ring::new(
            &config.cluster.partitioner,
            &config.cluster.nodes,
            config.cluster.rf,
        );
        let empty_trees = TreePart::new(&ring, config.id);
        let Read {
            mut mem,
            halves,
            records: n,
            max_hint,
            newest_stored,
        } = Read::from(records, &ring, &empty_trees);
        let writes: usize = halves.iter().map(|h| h.writes.len()).sum();
        let threads = two_threads(&halves);
        let sort_bits = Table::bits_for(writes);
        let halves = on_both(halves, |_, h| h.keep_newest(sort_bits), threads);
        let keys: usize = halves.iter().map(|h| h.order.len()).sum();
        let bits = Table::bits_for(keys);
        let [(tree0, maps0), (tree1, maps1)] =
            on_both(halves, |i, h| h.build(i, &empty_trees, keys, bits), threads);
        let tree = tree0.join(tree1).finish();
        mem.data = Table::from_buckets(bits, join_buckets(bits, maps0, maps1));
        // Above every timestamp this node may have issued (reserved in the
        // log), and above every one it stores.
        let last_ts = newest_stored.max(mem.timestamps_below.saturating_sub(1));
        let recovery = Recovery {
            records: n,
            keys: mem.data.len(),
            hints: mem.hints.len(),
        };
        let peers = config
            .cluster
            .nodes
            .iter()
            .filter(|&&p| p != config.id)
            .map(|&p| (p, PeerState::unheard()))
            .collect();
        let node = Node {
            ring,
            mem,
            tree,
            recovery,
            started: false,
            gen: 0,
            now: 0,
            last_ts,
            next_op: 1,
            next_msg: 1,
            next_hint: max_hint + 1,
            next_seq: 1,
            lsn: n as u64,
            ops: BTreeMap::new(),
            peers,
            hints_in_flight: BTreeMap::new(),
            ae_next_peer: 0,
            ae: Default::default(),
            out: VecDeque::new(),
            events: EventLevel::All,
            config,
        };
        (node, recovery)
    }

    pub(super) fn handle_start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        // Above every op id and timestamp of an earlier life (they are
        // reserved in the log), whatever the clock says now: peers tell
        // lives apart by this, and op ids start from it. The first op
        // logs a new reservation before it sends anything; a node that
        // coordinates nothing (say, its disk is full) logs nothing and
        // still answers as a replica.
        self.gen = self.now.max(self.mem.timestamps_below);
        self.next_op = self.next_op.max(self.gen);
        self.next_hint = self.next_hint.max(self.gen);
        self.last_ts = self.last_ts.max(self.now);
        let now = self.now;
        for p in self.peers.values_mut() {
            p.last_heard = now;
        }
        let r = self.recovery;
        self.event(EventKind::Started {
            replayed: r.records,
            keys: r.keys,
            hints: r.hints,
            gen: self.gen,
        });
        self.handle_timer(TimerId::Heartbeat);
        let retry = self.cfg().hint_retry_ms;
        self.timer(TimerId::Hints, retry);
        let ae = self.cfg().anti_entropy_interval_ms;
        if ae > 0 {
            // Spread the nodes' first rounds apart.
            self.timer(TimerId::AntiEntropy, ae + ae * self.config.id as u64 / 7);
        }
    }
}

/// The page's wasm has no threads: it never tries to start one.
const THREADS: bool = cfg!(not(target_family = "wasm"));

/// Writes in a replay from this many on are gathered and built on two
/// threads: below it a thread costs more than it saves (a simulated node
/// seldom logs that many writes before it restarts).
const TWO_THREADS_FROM: usize = 1 << 16;

/// Writes the reading thread hands over to be gathered at a time. Large,
/// so that the two threads seldom wait for each other: a hand-over that
/// finds the other thread asleep wakes it, and on a virtual machine a
/// wakeup costs more than gathering a small batch does.
const GATHER_BATCH: usize = 1 << 16;

/// Batches read but not gathered yet, at most, when a thread gathers.
const GATHER_QUEUE: usize = 4;

/// Room for writes the first batch starts with.
const FIRST_BATCH_ROOM: usize = 1024;

/// A write as the log holds it.
type Write = (Key, Version);

/// What reading the records leaves: the hints and timestamp
/// reservations applied in order, the writes gathered in their halves.
struct Read {
    mem: Memtable,
    halves: [Half; 2],
    records: usize,
    max_hint: u64,
    /// The newest timestamp of any write: the winner of a key has its
    /// newest timestamp, so this is the newest stored.
    newest_stored: u64,
}

impl Read {
    /// Reads the records. Writes merge by last-write-wins, a total order,
    /// so the order they are merged in does not matter: they are gathered
    /// (see [`Gather`]) and the winner of each key kept later (see
    /// [`newest_per_key`]). Hints depend on order and go in as they come.
    fn from(records: impl IntoIterator<Item = Record>, ring: &Ring, trees: &TreePart) -> Read {
        let mut mem = Memtable::default();
        let (mut n, mut max_hint, mut newest_stored) = (0, 0, 0);
        let halves = std::thread::scope(|scope| {
            let mut gather = Gather {
                scope,
                ring,
                trees,
                at: At::Here(Default::default()),
                no_thread: false,
            };
            // Grown as it fills: a small log (the simulator's) never
            // takes a whole batch's room.
            let mut batch = Vec::with_capacity(FIRST_BATCH_ROOM);
            for r in records {
                match r {
                    Record::Write { key, version } => {
                        newest_stored = newest_stored.max(version.ts);
                        batch.push((key, version));
                        if batch.len() == GATHER_BATCH {
                            gather.take(std::mem::replace(
                                &mut batch,
                                Vec::with_capacity(GATHER_BATCH),
                            ));
                        }
                    }
                    r => {
                        if let Record::Hint { id, .. } | Record::HintDone { id } = &r {
                            max_hint = max_hint.max(*id);
                        }
                        mem.apply_owned(r);
                    }
                }
                n += 1;
            }
            gather.finish(batch)
        });
        Read {
            mem,
            halves,
            records: n,
            max_hint,
            newest_stored,
        }
    }
}

/// What a thread gathering writes is sent.
enum Job {
    /// The writes gathered before it started.
    Start([Half; 2]),
    Batch(Vec<Write>),
}

/// Gathers the writes read: puts each in its half by the top bit of its
/// key hash (the halves share no key and no tree leaf, and no bucket in
/// a table of two or more, so each is built on its own: see [`on_both`],
/// and [`join_buckets`] for a table of one bucket), and hashes it for the
/// trees. Once a log has shown itself large, this is done on a thread of
/// its own while the reading thread goes on decoding, the larger part of
/// a replay. The result does not depend on where each batch went.
struct Gather<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    ring: &'scope Ring,
    trees: &'scope TreePart,
    at: At<'scope>,
    /// A thread could not start: not tried again for every batch.
    no_thread: bool,
}

/// Where [`Gather`] gathers.
enum At<'scope> {
    Here([Half; 2]),
    There {
        batches: SyncSender<Job>,
        thread: ScopedJoinHandle<'scope, [Half; 2]>,
    },
}

impl<'scope> Gather<'scope, '_> {
    /// Gathers a batch: here, or on the gathering thread once it runs,
    /// which starts from [`TWO_THREADS_FROM`] writes on.
    fn take(&mut self, batch: Vec<Write>) {
        let (ring, trees) = (self.ring, self.trees);
        self.at = match std::mem::replace(&mut self.at, At::Here(Default::default())) {
            At::Here(mut halves) => {
                gather(&mut halves, batch, ring, trees);
                if !self.no_thread && two_threads(&halves) {
                    self.start(halves)
                } else {
                    At::Here(halves)
                }
            }
            At::There { batches, thread } => {
                // A send fails only when the thread is gone, which only a
                // panic does: `finish` passes it on.
                let _ = batches.send(Job::Batch(batch));
                At::There { batches, thread }
            }
        };
    }

    /// Starts the gathering thread and hands it `halves`; they stay here
    /// if it cannot start.
    fn start(&mut self, halves: [Half; 2]) -> At<'scope> {
        let (ring, trees) = (self.ring, self.trees);
        let (batches, jobs) = sync_channel(GATHER_QUEUE);
        let started = replay_thread(self.scope, move || {
            let Ok(Job::Start(mut halves)) = jobs.recv() else {
                return Default::default();
            };
            for job in jobs {
                if let Job::Batch(b) = job {
                    gather(&mut halves, b, ring, trees);
                }
            }
            halves
        });
        // The halves go over only once the thread runs.
        match started {
            Ok(thread) => match batches.send(Job::Start(halves)) {
                Ok(()) => At::There { batches, thread },
                Err(SendError(Job::Start(halves))) => At::Here(halves),
                Err(SendError(Job::Batch(_))) => unreachable!("a start was sent"),
            },
            Err(_) => {
                self.no_thread = true;
                At::Here(halves)
            }
        }
    }

    /// Every write gathered, `last` with them (here, if no thread runs:
    /// one would be joined at once).
    fn finish(mut self, last: Vec<Write>) -> [Half; 2] {
        self.no_thread = true;
        self.take(last);
        match self.at {
            At::Here(halves) => halves,
            At::There { batches, thread } => {
                drop(batches);
                match thread.join() {
                    Ok(halves) => halves,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        }
    }
}

/// Whether the writes gathered are enough for a second thread (see
/// [`TWO_THREADS_FROM`]), where threads there are.
fn two_threads(halves: &[Half; 2]) -> bool {
    let writes: usize = halves.iter().map(|h| h.writes.len()).sum();
    THREADS && writes >= TWO_THREADS_FROM
}

/// Starts a replay's second thread, named for what it is.
fn replay_thread<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::io::Result<ScopedJoinHandle<'scope, T>> {
    std::thread::Builder::new()
        .name("replay".into())
        .spawn_scoped(scope, f)
}

/// Puts each write of `batch` in its half, with its key hash and what
/// it would add to the trees (hashed now, while it is in the cache).
fn gather(halves: &mut [Half; 2], batch: Vec<Write>, ring: &Ring, trees: &TreePart) {
    for (key, version) in batch {
        let hash = key_hash(&key);
        let sum = trees.leaf_sum(ring, &key, hash, &version);
        halves[usize::from(hash >> 63 == 1)].push(hash, sum, key, version);
    }
}

/// The writes of one half of the key hashes, as the log had them, with
/// what each would add to the trees and their [`SortEntry`]s; after
/// [`Half::keep_newest`], the entries of the winners only.
#[derive(Default)]
struct Half {
    writes: Vec<Write>,
    /// Per write, in the same order; none where this node holds no
    /// range of its key.
    sums: Vec<Option<LeafSum>>,
    order: Vec<SortEntry>,
}

impl Half {
    /// What the sort needs of a write is taken while its key is still in
    /// the cache: read again later, it is a cache miss.
    fn push(&mut self, hash: u64, sum: Option<LeafSum>, key: Key, version: Version) {
        self.order.push(SortEntry {
            head: hash,
            at: self.writes.len(),
        });
        self.writes.push((key, version));
        self.sums.push(sum);
    }

    /// Keeps the entries of each key's newest write, sorted for a table
    /// of `2^bits` buckets (see [`newest_per_key`]).
    fn keep_newest(mut self, bits: u8) -> Half {
        let order = std::mem::take(&mut self.order);
        self.order = newest_per_key(&self.writes, order, bits);
        self
    }

    /// This half's leaves of the trees of `keys` keys (`trees` empty ones
    /// on the same ring), and its buckets of a table of `2^bits` (`half`
    /// is its top bit).
    fn build(
        self,
        half: usize,
        trees: &TreePart,
        keys: usize,
        bits: u8,
    ) -> (TreePart, Vec<Bucket>) {
        // The winners' sums, in the order the writes were read: one pass
        // over them, rather than a jump for each winner.
        let mut won = vec![false; self.writes.len()];
        for e in &self.order {
            won[e.at] = true;
        }
        let sums = self.sums.iter().zip(won).filter(|(_, w)| *w);
        let tree = trees.filled(keys, sums.filter_map(|(s, _)| *s));
        (tree, table_of(self.writes, &self.order, bits, half))
    }
}

/// `f` of each half and its index, the second half on a thread of its
/// own when `threads` is set and a thread starts (else both run here, one
/// after the other). The results do not depend on where each ran, so a
/// replay stays a function of its log.
fn on_both<R: Send>(
    halves: [Half; 2],
    f: impl Fn(usize, Half) -> R + Sync,
    threads: bool,
) -> [R; 2] {
    let [first, second] = halves;
    if !threads {
        return [f(0, first), f(1, second)];
    }
    // Taken by the thread, or by this one if no thread could start.
    let second = Mutex::new(Some(second));
    let take = || second.lock().ok().and_then(|mut h| h.take());
    let f = &f;
    std::thread::scope(|s| {
        let other = replay_thread(s, || take().map(|h| f(1, h)));
        let a = f(0, first);
        let b = match other.map(|t| t.join()) {
            Ok(Ok(b)) => b,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => None,
        };
        let b = b.or_else(|| take().map(|h| f(1, h)));
        [a, b.expect("the second half was built once")]
    })
}

/// The buckets of both halves in order: the first half's keys fill the
/// lower half of a table's buckets. A table of one bucket takes both.
fn join_buckets(bits: u8, mut first: Vec<Bucket>, mut second: Vec<Bucket>) -> Vec<Bucket> {
    if bits == 0 {
        let (mut a, mut b) = (
            first.pop().unwrap_or_default(),
            second.pop().unwrap_or_default(),
        );
        a.append(&mut b);
        return vec![a];
    }
    first.append(&mut second);
    first
}

/// The keys of one bucket of a table, in key order.
type Bucket = BTreeMap<Key, Version>;

/// The newest version of each key among `writes` (whose [`SortEntry`]s
/// `order` holds, in any order), by last-write-wins, as merging them one
/// by one in any order would leave it: their entries, bucket by bucket of
/// a table of `2^bits` buckets, in key order within a bucket.
///
/// So the keys of each bucket are a run, already in order, and the table
/// is built a bucket at a time ([`table_of`]): far faster than a million
/// inserts at random places. The sort neither moves the writes nor reads
/// their keys where it can help it (a key is a pointer away: a cache miss
/// at a million keys): it sorts the small entries, and reads the keys
/// themselves only for two that start alike.
fn newest_per_key(
    writes: &[(Key, Version)],
    mut order: Vec<SortEntry>,
    bits: u8,
) -> Vec<SortEntry> {
    for e in &mut order {
        e.head = SortEntry::head(e.head, &writes[e.at].0, bits);
    }
    order.sort_unstable_by(|a, b| {
        a.head.cmp(&b.head).then_with(|| {
            let (a, b) = (&writes[a.at], &writes[b.at]);
            a.0.cmp(&b.0).then_with(|| a.1.lww_cmp(&b.1))
        })
    });
    // The last of each run of equal keys is its newest version.
    order.dedup_by(|later, earlier| {
        let same = later.head == earlier.head && writes[later.at].0 == writes[earlier.at].0;
        if same {
            std::mem::swap(later, earlier);
        }
        same
    });
    order
}

/// The buckets of the writes `order` names (each at most once, in
/// [`newest_per_key`]'s order), in a table of `2^bits` buckets whose keys
/// all lie in `half` of the hashes (its top bit; a table of one bucket has
/// no halves); the rest are dropped. A table for fewer keys than writes
/// has fewer buckets, each a few runs of the sort's buckets, which its
/// map's build merges. Each bucket's writes are gathered into a small
/// vector and built into its map in one pass; one vector of all the
/// winners would cost a fresh, zeroed page for every 4 KiB of it.
fn table_of(
    mut writes: Vec<(Key, Version)>,
    order: &[SortEntry],
    bits: u8,
    half: usize,
) -> Vec<Bucket> {
    // A winner taken leaves a write that owns nothing in its place (no
    // pass over all the writes to make them optional first).
    let mut take = |at: usize| {
        let nothing = (Key::Int(0), Version { ts: 0, value: None });
        std::mem::replace(&mut writes[at], nothing)
    };
    let buckets = match bits {
        0 => 0..1,
        _ => {
            let per_half = 1usize << (bits - 1);
            half * per_half..(half + 1) * per_half
        }
    };
    let mut maps = Vec::with_capacity(buckets.len());
    let mut rest = order;
    for bucket in buckets {
        let n = rest.partition_point(|e| e.bucket(bits) == bucket);
        let (run, tail) = rest.split_at(n);
        maps.push(run.iter().map(|e| take(e.at)).collect());
        rest = tail;
    }
    maps
}

/// A write's place in [`newest_per_key`]'s sort: its bucket and what its
/// key's first bytes say of its order (see [`SortEntry::head`]), and its
/// index.
#[derive(Clone, Copy)]
struct SortEntry {
    /// The key's hash while the log is read; then its head.
    head: u64,
    at: usize,
}

impl SortEntry {
    /// The key's bucket among `2^bits` in the top bits, then whether it is
    /// a string key (integer keys come first, as [`Key`]'s order has
    /// them), then its first bytes, big-endian, as far as they fit: for an
    /// integer key the integer, for a string key its first 8 bytes padded
    /// with zeros. Two keys of one bucket whose heads differ are in the
    /// order of their heads: the first byte where the heads differ is
    /// either a byte of both keys, which orders them, or a zero of padding
    /// against a larger byte of the other key; then the shorter key is a
    /// prefix of the other, which comes after it. Equal heads say nothing:
    /// the keys themselves tell.
    fn head(hash: u64, key: &Key, bits: u8) -> u64 {
        let (string, prefix) = match key {
            Key::Int(k) => (0, u64::from(*k) << 56),
            Key::Str(s) => {
                let b = s.as_bytes();
                let mut w = [0u8; 8];
                let n = b.len().min(8);
                w[..n].copy_from_slice(&b[..n]);
                (1u64, u64::from_be_bytes(w))
            }
        };
        let bucket = hash_prefix(hash, bits);
        let bucket = bucket.checked_shl(64 - u32::from(bits)).unwrap_or(0);
        bucket | string << (63 - bits) | prefix >> (bits + 1)
    }

    /// Its bucket in a table of `2^bits` buckets, `bits` at most the
    /// sort's.
    fn bucket(&self, bits: u8) -> usize {
        hash_prefix(self.head, bits) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Merkle;
    use crate::types::{Value, Yarn};
    use proptest::prelude::*;

    /// Keys that often share their first 8 bytes or more, differ only in
    /// length or in trailing zero bytes, and integer keys among them.
    fn arb_key() -> impl Strategy<Value = Key> {
        prop_oneof![
            (0u8..4).prop_map(Key::Int),
            ("(user:000|a|\0)?", "[ab\0]{0,10}").prop_map(|(head, tail)| {
                let s = format!("{head}{tail}");
                Key::Str(if s.is_empty() { "a".into() } else { s.into() })
            }),
        ]
    }

    fn arb_version() -> impl Strategy<Value = Version> {
        (0u64..4, proptest::option::of("[xy]{0,2}")).prop_map(|(ts, value)| Version {
            ts,
            value: value.map(Value::from),
        })
    }

    /// The replay of `records` holds what applying them one by one leaves,
    /// and its trees are those of that data. Returns what it rebuilt.
    fn replays_as_one_by_one(records: &[Record]) -> Result<Recovery, TestCaseError> {
        let config = Config::new(0, crate::config::ClusterConfig::classic(3));
        let (node, recovery) = Node::recover(config, records);
        let mut one_by_one = Memtable::default();
        for r in records {
            one_by_one.apply(r);
        }
        prop_assert_eq!(recovery.keys, one_by_one.data.len());
        prop_assert!(node.data() == &one_by_one.data, "the replay differs");
        let built = Merkle::build(&node.ring, node.id(), &one_by_one.data);
        prop_assert!(node.tree == built, "the replay's trees differ");
        Ok(recovery)
    }

    proptest! {
        #[test]
        fn a_replay_is_what_merging_one_by_one_leaves(
            writes in proptest::collection::vec((arb_key(), arb_version()), 0..200)
        ) {
            let records: Vec<Record> = writes
                .into_iter()
                .map(|(key, version)| Record::Write { key, version })
                .collect();
            replays_as_one_by_one(&records)?;
        }
    }

    /// Enough writes for the replay's two threads (the last few thousand
    /// gathered on the second), in no order: over many string keys (a
    /// table of many buckets), and over 300 keys, integer and string (a
    /// table of one bucket, which both halves fill).
    #[test]
    fn a_replay_on_two_threads_is_what_merging_one_by_one_leaves() {
        let writes = TWO_THREADS_FROM as u64 + 4_000;
        let many = |i: u64| Key::Str(format!("k{}", i * 7919 % 50_021).into());
        let few = |i: u64| match i * 7919 % 300 {
            k @ 0..=99 => Key::Int(k as u8),
            k => Key::Str(format!("k{k}").into()),
        };
        for key in [&many as &dyn Fn(u64) -> Key, &few] {
            let records: Vec<Record> = (0..writes)
                .map(|i| Record::Write {
                    key: key(i),
                    version: Version {
                        ts: i % 7,
                        value: (i % 11 != 0).then(|| format!("{i}").into()),
                    },
                })
                .collect();
            replays_as_one_by_one(&records).unwrap();
        }
    }

    /// Enough keys for a table of many buckets, each written a few times
    /// in no order.
    #[test]
    fn a_large_replay_builds_every_bucket() {
        let records: Vec<Record> = (0..12_000u64)
            .map(|i| Record::Write {
                key: Key::Str(format!("k{}", i * 7919 % 4_001).into()),
                version: Version {
                    ts: i % 5,
                    value: Some(format!("{i}").into()),
                },
            })
            .collect();
        let recovery = replays_as_one_by_one(&records).unwrap();
        assert_eq!(recovery.keys, 4_001);
    }

    #[test]
    fn a_recovered_node_holds_the_newest_version_of_each_key() {
        let config = Config::new(0, crate::config::ClusterConfig::classic(1));
        let w = |key: &str, ts, value: &str| Record::Write {
            key: Key::Str(Yarn::copy(key)),
            version: Version {
                ts,
                value: Some(value.into()),
            },
        };
        let records = [
            w("user:00001", 5, "b"),
            w("user:00001", 3, "a"),
            w("user:0000", 1, "c"),
            w("user:00001", 5, "a"),
            Record::Write {
                key: Key::Int(7),
                version: Version { ts: 2, value: None },
            },
        ];
        let (node, recovery) = Node::recover(config, &records);
        assert_eq!(recovery.keys, 3);
        let mut one_by_one = Memtable::default();
        for r in &records {
            one_by_one.apply(r);
        }
        assert_eq!(node.data(), &one_by_one.data);
        assert_eq!(
            node.data()[&Key::Str("user:00001".into())].value.as_deref(),
            Some("b")
        );
        // Its timestamps go on above the newest it stores.
        assert_eq!(node.last_ts, 5);
    }
}
