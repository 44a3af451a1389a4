//! Reading a commit log back: its records in order, and, where reading
//! stops early, whether that is a torn tail (cut it) or damage in the
//! middle (refuse to start, or salvage on request).
//!
//! **Why sync markers.** A torn tail is the last write, unfinished when
//! the process or the power went away: the OS may have put any of its
//! pages on the disk and not others, so what follows the damage can hold
//! whole, valid records of that same write. Valid records after the damage
//! therefore do not prove it is in the middle. What proves it is knowing
//! that the damaged bytes had been made durable before. So each sync
//! appends a *sync marker*: a frame saying "the bytes before offset N were
//! durable when this was written" (N is what the previous syncs covered).
//! A marker is only written after the sync that made those bytes durable
//! returned, so a valid marker after the damage that covers it shows the
//! damaged bytes were once whole on the disk: that is damage, not a tear.
//! A clean stop appends one covering everything, so damage anywhere in a
//! cleanly stopped node's log is recognised. Segments would tell the same
//! (only the last can be torn) at the cost of many files; a scan alone
//! would refuse a node after every power loss that tore a multi-page write.
//!
//! A log with no marker at all was written before markers existed (or was
//! never synced): there the reader cannot tell, so valid records after the
//! damage count as damage in the middle, the safe side.
//!
//! A marker's payload starts with [`TAG_SYNCED`], outside the core's
//! record tags, so it is never confused with a record; it is not a record
//! and is not replayed. Old logs (no markers) replay as before.

use ringside_core::storage::{FRAME_HEADER_BYTES, MAX_RECORD_BYTES};
use ringside_core::Record;

/// The first payload byte of a sync marker (the core's record tags are
/// small integers; see `ringside_core::storage`).
pub const TAG_SYNCED: u8 = 0x80;

/// Payload bytes of a sync marker: the tag and a u64.
const MARKER_PAYLOAD: usize = 9;

/// A sync marker framed like a record: bytes before `durable_to` were
/// durable when it was appended.
pub fn marker_frame(durable_to: u64) -> Vec<u8> {
    let mut payload = Vec::with_capacity(MARKER_PAYLOAD);
    payload.push(TAG_SYNCED);
    payload.extend_from_slice(&durable_to.to_le_bytes());
    frame(&payload)
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// One valid frame.
pub enum Frame {
    Record(Record),
    /// A sync marker: bytes before this offset were durable.
    Synced(u64),
}

/// The frame at `at` and its length, or why there is none.
pub fn frame_at(bytes: &[u8], at: usize) -> Result<(Frame, usize), String> {
    let rest = &bytes[at..];
    if rest.len() < FRAME_HEADER_BYTES {
        return Err(format!(
            "torn frame header at byte {at} ({} of {FRAME_HEADER_BYTES} bytes)",
            rest.len()
        ));
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len == 0 || len > MAX_RECORD_BYTES {
        return Err(format!(
            "frame at byte {at} claims length {len}, out of range"
        ));
    }
    if rest.len() - FRAME_HEADER_BYTES < len {
        return Err(format!(
            "torn frame at byte {at}: {len} bytes claimed, {} present",
            rest.len() - FRAME_HEADER_BYTES
        ));
    }
    let payload = &rest[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + len];
    if crc32fast::hash(payload) != crc {
        return Err(format!("checksum mismatch in frame at byte {at}"));
    }
    let size = FRAME_HEADER_BYTES + len;
    if payload[0] == TAG_SYNCED {
        if len != MARKER_PAYLOAD {
            return Err(format!(
                "sync marker at byte {at} has {len} bytes, not {MARKER_PAYLOAD}"
            ));
        }
        let mut n = [0u8; 8];
        n.copy_from_slice(&payload[1..]);
        return Ok((Frame::Synced(u64::from_le_bytes(n)), size));
    }
    match Record::decode(payload) {
        Ok(r) => Ok((Frame::Record(r), size)),
        Err(e) => Err(format!("undecodable frame at byte {at}: {e}")),
    }
}

/// What reading stopped at, when it stopped before the end of the bytes
/// (zeros after the last frame are room written ahead, not damage).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Where the first bad frame starts.
    pub at: u64,
    /// What is wrong with it.
    pub problem: String,
    /// True when the damaged bytes were durable once (or cannot be told
    /// from a torn tail in a log without markers): not a torn tail.
    pub in_the_middle: bool,
    /// True when a sync marker after `at` covers it: the proof that the
    /// damaged bytes were durable once.
    pub marker_covers: bool,
    /// Valid records after `at`.
    pub records_after: u64,
    /// Bytes from `at` to the end of the file (zeros included).
    pub bytes_after: u64,
    /// Byte ranges after `at` that hold no valid frame, zeros at the end
    /// of the file aside: what a salvage loses.
    pub lost: Vec<(u64, u64)>,
    /// Runs of whole, valid frames after `at` (what a salvage keeps).
    pub runs: Vec<(u64, u64)>,
}

impl Damage {
    /// Bytes in [`Damage::lost`].
    pub fn lost_bytes(&self) -> u64 {
        self.lost.iter().map(|(a, b)| b - a).sum()
    }

    /// Scans what follows a bad frame at `at`: every offset is tried as
    /// the start of a frame, and runs of valid frames are followed.
    fn scan(bytes: &[u8], at: usize, problem: String, markers_before: bool) -> Damage {
        let mut runs = vec![];
        let mut lost = vec![];
        let mut records_after = 0u64;
        let mut covered = 0u64;
        let mut markers_after = false;
        let mut p = at;
        let mut gap_from = at;
        while p < bytes.len() {
            let mut q = p;
            while q < bytes.len() {
                match frame_at(bytes, q) {
                    Ok((f, n)) => {
                        match f {
                            Frame::Record(_) => records_after += 1,
                            Frame::Synced(d) => {
                                markers_after = true;
                                covered = covered.max(d);
                            }
                        }
                        q += n;
                    }
                    Err(_) => break,
                }
            }
            if q > p {
                if p > gap_from {
                    lost.push((gap_from as u64, p as u64));
                }
                runs.push((p as u64, q as u64));
                gap_from = q;
                p = q;
            } else {
                p += 1;
            }
        }
        // Zeros to the end of the file are room, not lost data.
        let tail_zeros = bytes[gap_from..].iter().rev().take_while(|&&b| b == 0);
        let data_end = bytes.len() - tail_zeros.count();
        if data_end > gap_from {
            lost.push((gap_from as u64, data_end as u64));
        }
        let marker_covers = covered > at as u64;
        let in_the_middle = if markers_before || markers_after {
            marker_covers
        } else {
            records_after > 0
        };
        Damage {
            at: at as u64,
            problem,
            in_the_middle,
            marker_covers,
            records_after,
            bytes_after: (bytes.len() - at) as u64,
            lost,
            runs,
        }
    }
}

/// Reads a log's records one at a time (a node replays straight into its
/// memtable) and tells, where it stops early, which kind of damage it is.
pub struct LogRecords<'a> {
    bytes: &'a [u8],
    at: usize,
    records: u64,
    /// The most any marker read so far said was durable.
    covered: u64,
    markers: bool,
    /// Read on past damage in the middle, over the valid runs after it.
    salvage: bool,
    /// Where the valid prefix ends (`None` while reading it).
    prefix_end: Option<usize>,
    damage: Option<Damage>,
}

impl<'a> LogRecords<'a> {
    pub fn new(bytes: &'a [u8], salvage: bool) -> LogRecords<'a> {
        LogRecords {
            bytes,
            at: 0,
            records: 0,
            covered: 0,
            markers: false,
            salvage,
            prefix_end: None,
            damage: None,
        }
    }

    /// Records read so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The most a marker said was durable.
    pub fn covered(&self) -> u64 {
        self.covered
    }

    /// Bytes of whole, valid frames from the start (complete once the
    /// reader returned `None`).
    pub fn good_bytes(&self) -> usize {
        self.prefix_end.unwrap_or(self.at)
    }

    /// The damage reading stopped at (complete once it returned `None`).
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }

    /// At a bad frame: zeros to the end are room; otherwise scan what
    /// follows. Returns where to go on reading, if anywhere.
    fn stopped(&mut self, problem: String) -> Option<usize> {
        let at = self.at;
        if self.prefix_end.is_none() {
            self.prefix_end = Some(at);
            if self.bytes[at..].iter().all(|&b| b == 0) {
                return None;
            }
            let d = Damage::scan(self.bytes, at, problem, self.markers);
            self.damage = Some(d);
        }
        let d = self.damage.as_ref()?;
        if !(self.salvage && d.in_the_middle) {
            return None;
        }
        d.runs
            .iter()
            .map(|&(start, _)| start as usize)
            .find(|&start| start > at)
    }
}

impl Iterator for LogRecords<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if self.at >= self.bytes.len() {
                return None;
            }
            match frame_at(self.bytes, self.at) {
                Ok((Frame::Record(r), n)) => {
                    self.at += n;
                    self.records += 1;
                    return Some(r);
                }
                Ok((Frame::Synced(d), n)) => {
                    self.at += n;
                    self.markers = true;
                    if self.prefix_end.is_none() {
                        self.covered = self.covered.max(d);
                    }
                }
                Err(problem) => match self.stopped(problem) {
                    Some(next) => self.at = next,
                    None => {
                        self.at = self.bytes.len();
                        return None;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringside_core::{Key, Version};

    fn w(k: u8) -> Record {
        Record::Write {
            key: Key::Int(k),
            version: Version {
                ts: k as u64,
                value: Some(format!("value {k}").into()),
            },
        }
    }

    fn read(bytes: &[u8], salvage: bool) -> (Vec<Record>, Option<Damage>) {
        let mut r = LogRecords::new(bytes, salvage);
        let records = r.by_ref().collect();
        (records, r.damage().cloned())
    }

    /// Records 0..n, a marker after every `group` records covering what
    /// came before the group, as the log writes them.
    fn log(n: u8, group: u8) -> Vec<u8> {
        log_at(n, group).0
    }

    /// [`log`] and where each record's frame starts.
    fn log_at(n: u8, group: u8) -> (Vec<u8>, Vec<usize>) {
        let mut out = vec![];
        let mut starts = vec![];
        let mut synced = 0;
        for k in 0..n {
            starts.push(out.len());
            out.extend(w(k).frame());
            if k % group == group - 1 {
                out.extend(marker_frame(synced));
                synced = out.len() as u64;
            }
        }
        (out, starts)
    }

    #[test]
    fn markers_are_skipped_and_a_clean_log_has_no_damage() {
        let bytes = log(10, 3);
        let (records, damage) = read(&bytes, false);
        assert_eq!(records, (0..10).map(w).collect::<Vec<_>>());
        assert_eq!(damage, None);
    }

    #[test]
    fn a_log_without_markers_replays() {
        let bytes: Vec<u8> = (0..5).flat_map(|k| w(k).frame()).collect();
        let (records, damage) = read(&bytes, false);
        assert_eq!(records.len(), 5);
        assert_eq!(damage, None);
    }

    #[test]
    fn damage_a_marker_covers_is_in_the_middle() {
        let (mut bytes, starts) = log_at(12, 2);
        bytes[starts[2] + 12] ^= 1;
        let (records, damage) = read(&bytes, false);
        assert_eq!(records.len(), 2);
        let d = damage.unwrap();
        assert!(d.in_the_middle, "{d:?}");
        assert_eq!(d.at as usize, starts[2]);
        assert_eq!(d.records_after, 12 - 3, "{d:?}");
        assert_eq!(d.lost.len(), 1, "{d:?}");
        // Salvage reads on over the valid runs.
        let (records, _) = read(&bytes, true);
        let want: Vec<Record> = (0..12).filter(|&k| k != 2).map(w).collect();
        assert_eq!(records, want);
    }

    #[test]
    fn valid_records_after_a_tear_in_the_last_group_are_a_torn_tail() {
        // The last group's first page did not reach the disk, a later
        // one did: valid records follow, but no marker covers the damage.
        let mut bytes = log(6, 3);
        let start = bytes.len();
        for k in 6..9 {
            bytes.extend(w(k).frame());
        }
        bytes.extend(marker_frame(start as u64));
        bytes[start..start + 10].fill(0);
        let (records, damage) = read(&bytes, true);
        assert_eq!(records.len(), 6);
        let d = damage.unwrap();
        assert!(!d.in_the_middle, "{d:?}");
        assert_eq!(d.at as usize, start);
        assert_eq!(d.records_after, 2);
    }

    #[test]
    fn without_markers_valid_records_after_damage_are_the_safe_side() {
        let mut bytes: Vec<u8> = (0..5).flat_map(|k| w(k).frame()).collect();
        bytes[3] ^= 0xff;
        let (records, damage) = read(&bytes, false);
        assert!(records.is_empty());
        let d = damage.unwrap();
        assert!(d.in_the_middle);
        assert_eq!(d.records_after, 4);
        // A plain torn tail in such a log is still a torn tail.
        let mut bytes: Vec<u8> = (0..5).flat_map(|k| w(k).frame()).collect();
        bytes.extend_from_slice(&[7; 20]);
        let d = read(&bytes, false).1.unwrap();
        assert!(!d.in_the_middle);
        assert_eq!(d.lost, vec![(bytes.len() as u64 - 20, bytes.len() as u64)]);
    }

    #[test]
    fn zeros_after_the_records_are_no_damage() {
        let mut bytes = log(4, 2);
        bytes.extend_from_slice(&[0; 4096]);
        assert_eq!(read(&bytes, false).1, None);
    }
}
