//! A node's simulated disk: its commit log as records, each marked once a
//! sync covers it (the sync marker), and what a crash and a damaged byte
//! do to it.
//!
//! **A crash** keeps every marked record and, of the records written but
//! not yet marked, a prefix of any length: the operating system may have
//! written some of them, in order, before the power went (a sync in flight
//! covers a group of records; any part of the group may have landed).
//!
//! **A damaged byte** is told apart by the marker after it. Damage in a
//! record no sync covered is the torn tail of the last, unfinished write:
//! nothing after it was acknowledged, so the log is cut there and the node
//! starts. Damage in a record a sync covered is followed by records that
//! were acknowledged: the node refuses to start and leaves the log as it
//! is, so it stays down rather than lose what it acknowledged.

use super::Rng;
use crate::storage::Record;
use crate::types::{Key, Micros, Version};

/// A record on a simulated disk.
#[derive(Clone, Debug, PartialEq)]
pub struct DiskRecord {
    pub lsn: u64,
    pub record: Record,
    /// A sync covered it.
    pub synced: bool,
}

/// One damaged byte: in record `index` of the log, `offset` bytes from the
/// log's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Damage {
    index: usize,
    offset: u64,
}

/// What opening a log found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// Whole: every record replays.
    Whole,
    /// A torn tail: `records` unmarked records from the damage on were cut.
    Cut { records: usize },
    /// Damage before marked records: the node does not start.
    Refused { reason: String },
}

/// A node's commit log on a simulated disk.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    records: Vec<DiskRecord>,
    damage: Option<Damage>,
    /// The lsn before the first record: a compacted log goes on from the
    /// old one's end, even when it is empty.
    floor: u64,
}

impl Disk {
    pub fn records(&self) -> &[DiskRecord] {
        &self.records
    }

    /// The lsn of the last record (when empty, of the last record before
    /// it was compacted, or 0).
    pub fn end(&self) -> u64 {
        self.records.last().map_or(self.floor, |r| r.lsn)
    }

    /// Appends a record, not yet marked; returns its lsn.
    pub fn append(&mut self, record: Record) -> u64 {
        let lsn = self.end() + 1;
        self.records.push(DiskRecord {
            lsn,
            record,
            synced: false,
        });
        lsn
    }

    /// A sync covering everything up to `lsn` finished.
    pub fn mark_synced(&mut self, lsn: u64) {
        for r in self.records.iter_mut().rev() {
            if r.lsn <= lsn {
                if r.synced {
                    break;
                }
                r.synced = true;
            }
        }
    }

    /// Everything on the disk is synced (a driver syncs the log it
    /// replayed before it serves, and compaction writes a synced log).
    pub fn mark_all_synced(&mut self) {
        let end = self.end();
        self.mark_synced(end);
    }

    /// Replaces the log with `records` (a compaction), all synced.
    pub fn replace(&mut self, records: Vec<Record>) {
        self.floor = self.end();
        let first = self.floor + 1;
        self.records = records
            .into_iter()
            .enumerate()
            .map(|(i, record)| DiskRecord {
                lsn: first + i as u64,
                record,
                synced: true,
            })
            .collect();
        self.damage = None;
    }

    /// The power goes: the unmarked records keep a prefix drawn from
    /// `rng`. Returns how many records were lost.
    pub fn crash(&mut self, rng: &mut Rng) -> usize {
        let marked = self.records.iter().take_while(|r| r.synced).count();
        let unmarked = (self.records.len() - marked) as u64;
        let keep = rng.range(0, unmarked) as usize;
        let before = self.records.len();
        self.records.truncate(marked + keep);
        before - self.records.len()
    }

    /// Flips one byte of the log, the one at `pick` modulo its length in
    /// framed bytes. Returns the byte's offset, or `None` for an empty log.
    pub fn corrupt(&mut self, pick: u64) -> Option<u64> {
        let sizes: Vec<u64> = self
            .records
            .iter()
            .map(|r| r.record.frame().len() as u64)
            .collect();
        let total: u64 = sizes.iter().sum();
        if total == 0 {
            return None;
        }
        let offset = pick % total;
        let mut start = 0;
        for (index, size) in sizes.iter().enumerate() {
            if offset < start + size {
                // A second flip elsewhere: the earlier damage is what the
                // reader meets first.
                let d = Damage { index, offset };
                self.damage = Some(match self.damage {
                    Some(old) if old.index <= index => old,
                    _ => d,
                });
                return Some(offset);
            }
            start += size;
        }
        None
    }

    /// Where the records no sync covered start, and where the log ends,
    /// in framed bytes.
    pub fn unsynced_bytes(&self) -> (u64, u64) {
        let mut start = 0;
        let mut total = 0;
        for r in &self.records {
            let size = r.record.frame().len() as u64;
            if r.synced {
                start += size;
            }
            total += size;
        }
        (start, total)
    }

    pub fn is_damaged(&self) -> bool {
        self.damage.is_some()
    }

    /// The operator puts back an undamaged copy of the file.
    pub fn restore(&mut self) {
        self.damage = None;
    }

    /// What a node starting from this log does (see the module docs).
    pub fn open(&mut self) -> Opened {
        let Some(d) = self.damage else {
            return Opened::Whole;
        };
        if self.records[d.index].synced {
            let follow = self.records.len() - d.index - 1;
            return Opened::Refused {
                reason: format!(
                    "commit log damaged at byte {} (record {}), and {follow} valid records follow: not a torn tail",
                    d.offset, self.records[d.index].lsn
                ),
            };
        }
        let cut = self.records.len() - d.index;
        self.records.truncate(d.index);
        self.damage = None;
        Opened::Cut { records: cut }
    }

    /// The bound of the newest reservation a sync covered (0: none): a
    /// restart begins its op ids there.
    pub fn reserved_synced(&self) -> Micros {
        self.records
            .iter()
            .rev()
            .filter(|r| r.synced)
            .find_map(|r| match r.record {
                Record::Timestamps { below } => Some(below),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The newest version of `key` in a synced write record.
    pub fn newest_synced(&self, key: &Key) -> Option<&Version> {
        self.records
            .iter()
            .filter(|r| r.synced)
            .filter_map(|r| match &r.record {
                Record::Write { key: k, version } if k == key => Some(version),
                _ => None,
            })
            .fold(None, |acc, v| Version::newest(acc, Some(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(k: u8, ts: u64) -> Record {
        Record::Write {
            key: Key::Int(k),
            version: Version {
                ts,
                value: Some(format!("v{ts}").into()),
            },
        }
    }

    fn disk(synced: usize, unsynced: usize) -> Disk {
        let mut d = Disk::default();
        for i in 0..synced + unsynced {
            d.append(w(1, i as u64 + 1));
        }
        d.mark_synced(synced as u64);
        d
    }

    #[test]
    fn a_crash_keeps_every_marked_record_and_a_prefix_of_the_rest() {
        for seed in 0..50 {
            let mut d = disk(3, 4);
            let lost = d.crash(&mut Rng::new(seed));
            assert!(lost <= 4);
            assert_eq!(d.records().len(), 7 - lost);
            assert!(d.records().iter().take(3).all(|r| r.synced));
        }
    }

    #[test]
    fn damage_in_the_unsynced_tail_is_cut() {
        let mut d = disk(2, 2);
        let third = w(1, 1).frame().len() as u64 * 2 + 3;
        assert!(d.corrupt(third).is_some());
        assert_eq!(d.open(), Opened::Cut { records: 2 });
        assert_eq!(d.records().len(), 2);
    }

    #[test]
    fn damage_before_a_sync_marker_is_refused_and_the_log_kept() {
        let mut d = disk(3, 1);
        assert!(d.corrupt(5).is_some());
        let Opened::Refused { reason } = d.open() else {
            panic!("mid-log damage must be refused");
        };
        assert!(reason.contains("byte 5"), "{reason}");
        assert!(reason.contains("3 valid records follow"), "{reason}");
        assert_eq!(d.records().len(), 4);
        d.restore();
        assert_eq!(d.open(), Opened::Whole);
    }
}
