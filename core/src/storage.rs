//! The memtable, the commit-log records, their byte encoding and framing,
//! and the reader that turns a log's bytes back into records.
//!
//! A log is a sequence of frames: `len: u32 LE | crc32 (IEEE) of the
//! payload: u32 LE | payload`. The reader stops at the first frame that is
//! short, too long, or fails its checksum, and reports how many bytes it
//! dropped from there: a torn tail is cut, never replayed.

use crate::types::{Key, Micros, NodeId, Version, Yarn, MAX_KEY_BYTES, MAX_VALUE_BYTES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;

mod table;
pub use table::{hash_order, InHashOrder, InOrder, Table, MAX_BUCKET};

/// One commit-log record. A node's state is exactly what replaying its
/// records in order rebuilds.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A replica write (client write, read repair, delivered hint or
    /// anti-entropy), merged by last-write-wins on replay.
    Write { key: Key, version: Version },
    /// A hint this node holds for `target`.
    Hint {
        id: u64,
        target: NodeId,
        key: Key,
        version: Version,
        created_us: Micros,
    },
    /// Hint `id` was delivered (or expired): forget it.
    HintDone { id: u64 },
    /// Every write timestamp this node has issued, or will issue before
    /// its next such record, is below `below`. A node's clock can go back
    /// (a step, a suspend, a restart on another clock), and the timestamps
    /// it issued may live only on other replicas; after a restart it
    /// issues timestamps from `below` up, so its new writes still win over
    /// the ones it acknowledged before.
    Timestamps { below: Micros },
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Write { key, version } => match &version.value {
                Some(v) => write!(f, "write {key}={} @{}", short(v), version.ts),
                None => write!(f, "delete {key} @{}", version.ts),
            },
            Record::Hint {
                id, target, key, ..
            } => write!(f, "hint #{id} for node {target}: {key}"),
            Record::HintDone { id } => write!(f, "hint #{id} done"),
            Record::Timestamps { below } => write!(f, "timestamps reserved below @{below}"),
        }
    }
}

fn short(v: &str) -> String {
    if v.chars().count() > 24 {
        let s: String = v.chars().take(24).collect();
        format!("{s}…")
    } else {
        v.to_string()
    }
}

/// A decoding failure, naming what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

const TAG_WRITE: u8 = 1;
const TAG_HINT: u8 = 2;
const TAG_HINT_DONE: u8 = 3;
const TAG_TIMESTAMPS: u8 = 4;

/// Largest record payload: a value, a key, and headroom.
pub const MAX_RECORD_BYTES: usize = MAX_VALUE_BYTES + MAX_KEY_BYTES + 64;
/// Frame header: length and checksum.
pub const FRAME_HEADER_BYTES: usize = 8;

impl Record {
    /// Appends the record's payload bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Write { key, version } => {
                out.push(TAG_WRITE);
                put_key(out, key);
                put_version(out, version);
            }
            Record::Hint {
                id,
                target,
                key,
                version,
                created_us,
            } => {
                out.push(TAG_HINT);
                out.extend_from_slice(&id.to_le_bytes());
                out.extend_from_slice(&target.to_le_bytes());
                out.extend_from_slice(&created_us.to_le_bytes());
                put_key(out, key);
                put_version(out, version);
            }
            Record::HintDone { id } => {
                out.push(TAG_HINT_DONE);
                out.extend_from_slice(&id.to_le_bytes());
            }
            Record::Timestamps { below } => {
                out.push(TAG_TIMESTAMPS);
                out.extend_from_slice(&below.to_le_bytes());
            }
        }
    }

    /// Decodes one payload; all of `bytes` must be used.
    pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
        let mut r = Reader { bytes, at: 0 };
        let rec = match r.u8("tag")? {
            TAG_WRITE => Record::Write {
                key: r.key()?,
                version: r.version()?,
            },
            TAG_HINT => {
                let id = r.u64("hint id")?;
                let target = r.u32("hint target")?;
                let created_us = r.u64("hint time")?;
                Record::Hint {
                    id,
                    target,
                    created_us,
                    key: r.key()?,
                    version: r.version()?,
                }
            }
            TAG_HINT_DONE => Record::HintDone {
                id: r.u64("hint id")?,
            },
            TAG_TIMESTAMPS => Record::Timestamps {
                below: r.u64("timestamp reservation")?,
            },
            t => return Err(DecodeError(format!("unknown record tag {t}"))),
        };
        if r.at != bytes.len() {
            return Err(DecodeError(format!(
                "{} stray bytes after the record",
                bytes.len() - r.at
            )));
        }
        Ok(rec)
    }

    /// The record framed for the log: length, checksum, payload.
    pub fn frame(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.frame_into(&mut out);
        out
    }

    /// Appends [`Record::frame`]'s bytes to `out`, room for them made
    /// first: the commit log frames every record into its pending bytes
    /// this way, with no buffer of the record's own.
    pub fn frame_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(FRAME_HEADER_BYTES + self.encoded_len());
        out.extend_from_slice(&[0u8; FRAME_HEADER_BYTES]);
        self.encode(out);
        let body = start + FRAME_HEADER_BYTES;
        let len = (out.len() - body) as u32;
        let crc = crc32fast::hash(&out[body..]);
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        out[start + 4..body].copy_from_slice(&crc.to_le_bytes());
    }

    /// The bytes [`Record::encode`] writes, for the records that carry
    /// data; a small bound for the others.
    fn encoded_len(&self) -> usize {
        match self {
            Record::Write { key, version } => 1 + key_len(key) + version_len(version),
            Record::Hint { key, version, .. } => {
                1 + 16 + size_of::<NodeId>() + key_len(key) + version_len(version)
            }
            _ => 32,
        }
    }
}

/// The bytes [`put_key`] writes for `key`.
pub(crate) fn key_len(key: &Key) -> usize {
    match key {
        Key::Int(_) => 2,
        Key::Str(s) => 3 + s.len(),
    }
}

/// The bytes [`put_version`] writes for `v`.
pub(crate) fn version_len(v: &Version) -> usize {
    9 + v.value.as_ref().map_or(0, |s| 4 + s.len())
}

pub(crate) fn put_key(out: &mut Vec<u8>, key: &Key) {
    match key {
        Key::Int(k) => {
            out.push(0);
            out.push(*k);
        }
        Key::Str(s) => {
            out.push(1);
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

pub(crate) fn put_version(out: &mut Vec<u8>, v: &Version) {
    out.extend_from_slice(&v.ts.to_le_bytes());
    match &v.value {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) at: usize,
}

impl Reader<'_> {
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&[u8], DecodeError> {
        if self.bytes.len() - self.at < n {
            return Err(DecodeError(format!("record ends inside its {what}")));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }
    pub(crate) fn u16(&mut self, what: &str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub(crate) fn text(&mut self, len: usize, what: &str) -> Result<&str, DecodeError> {
        let b = self.take(len, what)?;
        std::str::from_utf8(b).map_err(|_| DecodeError(format!("{what} is not UTF-8")))
    }
    pub(crate) fn key(&mut self) -> Result<Key, DecodeError> {
        match self.u8("key tag")? {
            0 => Ok(Key::Int(self.u8("key")?)),
            1 => {
                let len = self.u16("key length")? as usize;
                if len == 0 || len > MAX_KEY_BYTES {
                    return Err(DecodeError(format!("key length {len} out of range")));
                }
                Ok(Key::Str(Yarn::copy(self.text(len, "key")?)))
            }
            t => Err(DecodeError(format!("unknown key tag {t}"))),
        }
    }
    pub(crate) fn version(&mut self) -> Result<Version, DecodeError> {
        let ts = self.u64("timestamp")?;
        let value = match self.u8("value tag")? {
            0 => None,
            1 => {
                let len = self.u32("value length")? as usize;
                if len > MAX_VALUE_BYTES {
                    return Err(DecodeError(format!("value length {len} out of range")));
                }
                Some(self.text(len, "value")?.into())
            }
            t => return Err(DecodeError(format!("unknown value tag {t}"))),
        };
        Ok(Version { ts, value })
    }
}

/// What [`read_log`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogReport {
    /// Bytes of whole, valid frames from the start.
    pub good_bytes: usize,
    /// Bytes after the last good frame that were not replayed.
    pub dropped_bytes: usize,
    /// Why reading stopped early, when it did.
    pub problem: Option<String>,
}

/// Reads every valid frame from the start of `bytes`; stops at the first
/// bad one. The records returned are always a prefix of what was written.
pub fn read_log(bytes: &[u8]) -> (Vec<Record>, LogReport) {
    let mut reader = LogReader::new(bytes);
    let records = reader.by_ref().collect();
    (records, reader.report())
}

/// [`read_log`] one record at a time, so a large log can be replayed
/// without holding all its records at once (a node with a million keys
/// would otherwise need its data twice over while it starts).
pub struct LogReader<'a> {
    bytes: &'a [u8],
    at: usize,
    records: usize,
    problem: Option<String>,
}

impl<'a> LogReader<'a> {
    pub fn new(bytes: &'a [u8]) -> LogReader<'a> {
        LogReader {
            bytes,
            at: 0,
            records: 0,
            problem: None,
        }
    }

    /// Records read so far.
    pub fn records(&self) -> usize {
        self.records
    }

    /// What the reader found so far; complete once it returned `None`.
    pub fn report(&self) -> LogReport {
        LogReport {
            good_bytes: self.at,
            dropped_bytes: self.bytes.len() - self.at,
            problem: self.problem.clone(),
        }
    }
}

impl Iterator for LogReader<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.problem.is_some() || self.at >= self.bytes.len() {
            return None;
        }
        let at = self.at;
        let rest = &self.bytes[at..];
        if rest.len() < FRAME_HEADER_BYTES {
            self.problem = Some(format!(
                "torn frame header at byte {at} ({} of {FRAME_HEADER_BYTES} bytes)",
                rest.len()
            ));
            return None;
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len == 0 || len > MAX_RECORD_BYTES {
            self.problem = Some(format!(
                "frame at byte {at} claims length {len}, out of range"
            ));
            return None;
        }
        if rest.len() - FRAME_HEADER_BYTES < len {
            self.problem = Some(format!(
                "torn frame at byte {at}: {len} bytes claimed, {} present",
                rest.len() - FRAME_HEADER_BYTES
            ));
            return None;
        }
        let payload = &rest[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + len];
        if crc32fast::hash(payload) != crc {
            self.problem = Some(format!("checksum mismatch in frame at byte {at}"));
            return None;
        }
        match Record::decode(payload) {
            Ok(r) => {
                self.at += FRAME_HEADER_BYTES + len;
                self.records += 1;
                Some(r)
            }
            Err(e) => {
                self.problem = Some(format!("undecodable frame at byte {at}: {e}"));
                None
            }
        }
    }
}

/// One hint held for another node.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Hint {
    pub id: u64,
    pub target: NodeId,
    pub key: Key,
    pub version: Version,
    pub created_us: Micros,
}

impl Hint {
    /// What holding this hint costs, about, in bytes: its key, its value
    /// and a fixed part for the rest. The hint store's byte bound counts
    /// this.
    pub fn bytes(&self) -> u64 {
        hint_bytes(&self.key, self.version.value.as_deref())
    }
}

/// [`Hint::bytes`] of a hint not made yet, for `key` and its value (none
/// for a delete).
pub fn hint_bytes(key: &Key, value: Option<&str>) -> u64 {
    (64 + key.byte_len() + value.map_or(0, str::len)) as u64
}

/// The in-memory state a log rebuilds: the newest version of every key,
/// the hints held, and how far this node's write timestamps are reserved.
#[derive(Clone, Default, Debug)]
pub struct Memtable {
    pub data: Table,
    /// Changed only by [`Memtable::apply`] and [`Memtable::forget_hint`],
    /// which keep `hint_bytes` in step.
    pub hints: BTreeMap<u64, Hint>,
    /// The sum of [`Hint::bytes`] over `hints`.
    pub hint_bytes: u64,
    /// The highest [`Record::Timestamps`] bound logged (0: none).
    pub timestamps_below: Micros,
}

impl Memtable {
    /// Merges a version by last-write-wins; true when it won (changed the
    /// stored version).
    pub fn merge(&mut self, key: &Key, version: &Version) -> bool {
        let wins = self.data.get(key).is_none_or(|cur| version.supersedes(cur));
        if wins {
            self.put_winner(key, version.clone());
        }
        wins
    }

    /// Stores a version the caller has found to win over the stored one
    /// (or that has none), as it is.
    pub fn put_winner(&mut self, key: &Key, version: Version) {
        match self.data.get_mut(key) {
            Some(cur) => *cur = version,
            None => {
                self.data.insert(key.clone(), version);
            }
        }
    }

    /// [`Memtable::apply`] for a record the caller gives up: nothing is
    /// copied (replay of a large log).
    pub fn apply_owned(&mut self, record: Record) {
        match record {
            Record::Write { key, version } => match self.data.get_mut(&key) {
                Some(cur) => {
                    if version.supersedes(cur) {
                        *cur = version;
                    }
                }
                None => {
                    self.data.insert(key, version);
                }
            },
            Record::Hint {
                id,
                target,
                key,
                version,
                created_us,
            } => {
                let hint = Hint {
                    id,
                    target,
                    key,
                    version,
                    created_us,
                };
                self.hint_bytes += hint.bytes();
                if let Some(old) = self.hints.insert(id, hint) {
                    self.hint_bytes -= old.bytes();
                }
            }
            Record::HintDone { id } => {
                self.forget_hint(id);
            }
            Record::Timestamps { below } => {
                self.timestamps_below = self.timestamps_below.max(below);
            }
        }
    }

    /// Applies one record, as replay does. A write is merged without
    /// copying it unless it wins; a hint is stored as
    /// [`Memtable::apply_owned`] stores it.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Write { key, version } => {
                self.merge(key, version);
            }
            Record::Hint { .. } | Record::HintDone { .. } | Record::Timestamps { .. } => {
                self.apply_owned(record.clone())
            }
        }
    }

    /// Drops hint `id` (delivered or given up), uncounting its bytes.
    pub fn forget_hint(&mut self, id: u64) -> Option<Hint> {
        let hint = self.hints.remove(&id)?;
        self.hint_bytes -= hint.bytes();
        Some(hint)
    }

    /// Rebuilds a memtable from records, in order.
    pub fn replay<'a>(records: impl IntoIterator<Item = &'a Record>) -> (Memtable, usize) {
        let mut m = Memtable::default();
        let mut n = 0;
        for r in records {
            m.apply(r);
            n += 1;
        }
        (m, n)
    }

    /// The fewest records that rebuild this state: the timestamp
    /// reservation, one write per key (a tombstone included), one hint per
    /// undelivered hint. Superseded writes and delivered hints are gone.
    /// This is the log compaction, taken in one go.
    pub fn snapshot(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.data.len() + self.hints.len() + 1);
        let mut cursor = SnapshotCursor::default();
        self.snapshot_slice(&mut cursor, usize::MAX, &mut out);
        out
    }

    /// The next at most `max` records of a snapshot taken a slice at a
    /// time, appended to `out`; `cursor` says where the last slice ended
    /// and is done after the last one. Between slices the memtable may
    /// change: see [`SnapshotCursor`] for why the result still rebuilds
    /// the state.
    pub fn snapshot_slice(&self, cursor: &mut SnapshotCursor, max: usize, out: &mut Vec<Record>) {
        let mut room = max;
        while room > 0 {
            match &cursor.next {
                Stage::Timestamps => {
                    if self.timestamps_below > 0 {
                        out.push(Record::Timestamps {
                            below: self.timestamps_below,
                        });
                        room -= 1;
                    }
                    cursor.next = Stage::Data(None);
                }
                Stage::Data(after) => {
                    let mut last = None;
                    let all = vec![(0, u64::MAX)];
                    for (key, version) in self.data.in_hash_order(all, after.as_ref()).take(room) {
                        out.push(Record::Write {
                            key: key.clone(),
                            version: version.clone(),
                        });
                        room -= 1;
                        last = Some(key);
                    }
                    cursor.next = match last {
                        Some(key) if room == 0 => Stage::Data(Some(key.clone())),
                        _ => Stage::Hints(None),
                    };
                }
                Stage::Hints(after) => {
                    let from = after.map_or(Bound::Unbounded, Bound::Excluded);
                    let mut last = None;
                    for h in self
                        .hints
                        .range((from, Bound::Unbounded))
                        .map(|(_, h)| h)
                        .take(room)
                    {
                        out.push(Record::Hint {
                            id: h.id,
                            target: h.target,
                            key: h.key.clone(),
                            version: h.version.clone(),
                            created_us: h.created_us,
                        });
                        room -= 1;
                        last = Some(h.id);
                    }
                    cursor.next = match last {
                        Some(id) if room == 0 => Stage::Hints(Some(id)),
                        _ => Stage::Done,
                    };
                }
                Stage::Done => return,
            }
        }
    }
}

/// Where a snapshot taken a slice at a time ([`Memtable::snapshot_slice`])
/// has got to: a large node copies its state for a compaction over many
/// turns of its loop, serving in between, instead of in one long turn.
///
/// Such a snapshot is fuzzy: each key is copied as it was when its slice
/// was taken. It still rebuilds the state exactly when it is followed by
/// every record logged since its first slice, because every change to a
/// memtable is logged before it is applied, and replaying a record is
/// idempotent and order-insensitive against any state between the first
/// slice and now: a write merges by last-write-wins (a newer copy in the
/// snapshot wins over the record, the record over an older one), a hint
/// or its removal sets one id's presence (the last record about an id
/// decides; with none, the id did not change since the first slice), and
/// the timestamp reservation only grows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotCursor {
    next: Stage,
}

impl SnapshotCursor {
    /// True once the last slice has been taken.
    pub fn is_done(&self) -> bool {
        self.next == Stage::Done
    }
}

/// What a snapshot copies next: the reservation, then the keys after the
/// one named (in [`hash_order`], which a table's growth never changes),
/// then the hints after the id named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Stage {
    #[default]
    Timestamps,
    Data(Option<Key>),
    Hints(Option<u64>),
    Done,
}

#[cfg(test)]
mod tests;
