//! The commit log on disk: one file of records framed by the core
//! (`len | crc32 | payload`), appended, fsynced per the sync policy, and
//! compacted by a snapshot renamed over it (`commitlog/rewrite.rs`). On
//! open a torn tail is cut at the last
//! good record; damage in the middle makes the open fail, or, on request,
//! moves the file aside and keeps its valid records (how the two are told
//! apart, and the sync markers each sync appends for it: see
//! [`crate::node::log_reader`]).
//!
//! **Zeros written ahead.** The file holds the records and then a run of
//! zeros ([`PREALLOC_BYTES`]), written and fsynced once; records are then
//! written over those zeros. An `fdatasync` after appending to a file must
//! commit the file system's journal (the file grew), and that commit is
//! shared with everything else changing on the disk; after overwriting
//! blocks that are already there it only writes the data and flushes,
//! which is cheaper, and a QUORUM put waits for a sync. The zeros end the log as a reader sees it (no
//! record has length 0), so a tail of zeros after the last record is the
//! unused room, not damage: it is kept and not reported. A clean stop
//! ([`CommitLog::trim`]) cuts it, so a stopped node's log is its records.
//!
//! **Direct writes** ([`CommitLog::write_directly`], batch sync only).
//! The records of a sync are written with `O_DIRECT | O_DSYNC`: one
//! `pwrite` that reaches the disk and is durable when it returns, from
//! the block the last sync left half full to the end of the new records,
//! padded with zeros to whole 4 KiB blocks (zeros are the room after the
//! records, so the file reads the same as with ordinary writes). That
//! skips the page cache and its writeback, so the kernel spends less CPU
//! per sync than with `write` + `fdatasync`, and a small box serving many
//! clients in batch mode is short of exactly that CPU (the figures are in
//! docs/benchmarks.md). File
//! systems that refuse `O_DIRECT` (tmpfs before Linux 6.6, for one) keep
//! ordinary writes and fdatasync.
//!
//! All calls are blocking; only the driver makes them.

use crate::node::log_reader::{frame_at, marker_frame, Damage, Frame, LogRecords};
use ringside_core::Record;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod blocks;
mod mapped;
mod rewrite;

use blocks::BLOCK;
pub use blocks::{Blocks, SyncWork};
use mapped::LogBytes;
use rewrite::snapshot_path_in;
#[cfg(test)]
use rewrite::FAIL_AFTER_RENAME;
pub use rewrite::{RewriteError, Snapshot};

/// The log file's name inside a node's data directory.
pub const LOG_FILE: &str = "commit.log";

/// Zeros written ahead of the records each time they run out.
pub const PREALLOC_BYTES: u64 = 1 << 20;

/// The direct-write side of a log (see the module docs).
struct Direct {
    /// Opened `O_WRONLY | O_DIRECT | O_DSYNC`.
    file: Arc<File>,
    /// Where the block the next write starts with begins.
    tail_at: u64,
    /// The records' bytes from `tail_at` to the end of what was handed to
    /// a write: the part of that block a write must repeat.
    tail: Vec<u8>,
}

/// An open commit log.
pub struct CommitLog {
    path: PathBuf,
    /// Shared with the driver's fsync thread.
    file: Arc<File>,
    /// Records in the file (replayed plus appended since).
    records: u64,
    /// Bytes of records, written or not yet synced.
    bytes: u64,
    /// The file's length: the records, then zeros written ahead.
    len: u64,
    /// Frames waiting for [`CommitLog::write_pending`], so that one batch
    /// becomes one `write` call.
    pending: Vec<u8>,
    /// True when something was written since the last fsync.
    dirty: bool,
    /// Bytes known durable: the file's length at the last good fsync (or
    /// at open). A failed write or fsync cuts the file back to it.
    synced_bytes: u64,
    /// Set by [`CommitLog::write_directly`]: records go to the disk with
    /// direct writes when synced, not through the page cache.
    direct: Option<Direct>,
    /// With direct writes: bytes handed to a write (done or in flight).
    issued: u64,
    /// What the last sync marker appended (or read) says was durable.
    covered: u64,
}

/// What opening the log found besides its records.
#[derive(Clone, Debug, Default)]
pub struct LogReport {
    /// Bytes of whole, valid frames from the start (after a salvage: the
    /// new log's length).
    pub good_bytes: usize,
    /// Bytes of a torn tail cut from the end.
    pub dropped_bytes: usize,
    /// What was wrong where reading stopped, if anything was.
    pub problem: Option<String>,
    /// Set when damage in the middle was salvaged (see
    /// [`CommitLog::open_salvaging`]).
    pub salvaged: Option<Salvaged>,
}

/// What a salvage did: where the damaged file went and what was lost.
#[derive(Clone, Debug)]
pub struct Salvaged {
    pub damage: Damage,
    /// The damaged file, as it was.
    pub moved_to: PathBuf,
    /// Records kept from before the damage.
    pub records_before: u64,
}

/// What opening the log found.
pub struct Opened {
    pub log: CommitLog,
    pub records: Vec<Record>,
    pub report: LogReport,
}

impl CommitLog {
    /// Opens (or creates) the log in `dir`, reads every good record, and
    /// truncates a torn or corrupt tail at the last good record (fsynced,
    /// so the cut is not undone by a crash).
    pub fn open(dir: &Path) -> io::Result<Opened> {
        let (log, report, records) = CommitLog::open_with(dir, |r| r.collect())?;
        Ok(Opened {
            log,
            records,
            report,
        })
    }

    /// [`CommitLog::open`], handing the records to `replay` one at a time
    /// instead of collecting them (a node replays straight into its
    /// memtable). What `replay` leaves unread is read and counted anyway.
    /// Damage in the middle of the log is an error (`InvalidData`) naming
    /// the file, the offset and how many valid records follow; the file
    /// is left as it is.
    pub fn open_with<T>(
        dir: &Path,
        replay: impl FnOnce(&mut LogRecords<'_>) -> T,
    ) -> io::Result<(CommitLog, LogReport, T)> {
        CommitLog::open_inner(dir, false, replay)
    }

    /// [`CommitLog::open_with`], but damage in the middle is salvaged:
    /// the damaged file is kept as `commit.log.damaged-<offset>`, a new
    /// log holds every valid record of it (those after the damage too),
    /// and the report says what was lost. A torn tail is cut as always.
    pub fn open_salvaging<T>(
        dir: &Path,
        replay: impl FnOnce(&mut LogRecords<'_>) -> T,
    ) -> io::Result<(CommitLog, LogReport, T)> {
        CommitLog::open_inner(dir, true, replay)
    }

    fn open_inner<T>(
        dir: &Path,
        salvage: bool,
        replay: impl FnOnce(&mut LogRecords<'_>) -> T,
    ) -> io::Result<(CommitLog, LogReport, T)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        // A snapshot left by a compaction that never replaced the log (the
        // node stopped or crashed first) is not the log: the log is whole.
        match std::fs::remove_file(snapshot_path_in(dir)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let bytes = match File::open(&path) {
            Ok(f) => LogBytes::map(&f)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => LogBytes::Owned(vec![]),
            Err(e) => return Err(e),
        };
        let mut reader = LogRecords::new(bytes.as_slice(), salvage);
        let out = replay(&mut reader);
        reader.by_ref().for_each(drop);
        let records = reader.records();
        let good = reader.good_bytes();
        let covered = reader.covered();
        let damage = reader.damage().cloned();
        let len = bytes.as_slice().len();
        let mut report = LogReport {
            good_bytes: good,
            ..LogReport::default()
        };
        let mut end = good as u64;
        let mut len = len as u64;
        match damage {
            None => {}
            Some(d) if d.in_the_middle && !salvage => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    refusal(&path, &d),
                ));
            }
            Some(d) if d.in_the_middle => {
                let (moved_to, new_len) = salvage_into(&path, bytes.as_slice(), good, &d)?;
                let before = records - d.records_after;
                report.good_bytes = new_len as usize;
                report.problem = Some(d.problem.clone());
                report.salvaged = Some(Salvaged {
                    damage: d,
                    moved_to,
                    records_before: before,
                });
                end = new_len;
                len = new_len;
            }
            Some(d) => {
                report.dropped_bytes = len as usize - good;
                report.problem = Some(d.problem);
            }
        }
        drop(bytes);
        // Not O_APPEND: records are written at their offset, over the zeros.
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        if report.dropped_bytes > 0 {
            file.set_len(end)?;
            file.sync_all()?;
            len = end;
        } else {
            // What was replayed may be in the page cache only (the process
            // crashed, the machine did not): durable before anything, the
            // next sync marker among them, treats it as such.
            file.sync_data()?;
        }
        sync_dir(dir)?;
        let log = CommitLog {
            path,
            file: Arc::new(file),
            records,
            bytes: end,
            len,
            pending: Vec::new(),
            dirty: false,
            synced_bytes: end,
            direct: None,
            issued: end,
            covered: if report.salvaged.is_some() {
                end
            } else {
                covered
            },
        };
        Ok((log, report, out))
    }

    /// Switches to direct writes (see the module docs), for batch sync.
    /// Returns false, and keeps ordinary writes, where the file system
    /// refuses them: the open fails (`EINVAL`), or a first direct write of
    /// the last block as it already is does.
    pub fn write_directly(&mut self) -> io::Result<bool> {
        use std::os::unix::fs::OpenOptionsExt;
        self.write_pending()?;
        self.sync()?;
        let file = match OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT | libc::O_DSYNC)
            .open(&self.path)
        {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(false),
            Err(e) => return Err(e),
        };
        let tail_at = self.bytes - self.bytes % BLOCK as u64;
        let mut tail = vec![0u8; (self.bytes - tail_at) as usize];
        self.file.read_exact_at(&mut tail, tail_at)?;
        // The probe: rewrites bytes already durable (and zeros after them).
        let probe = Blocks::padded(&tail);
        if let Err(e) = file.write_all_at(probe.as_slice(), tail_at) {
            if e.raw_os_error() == Some(libc::EINVAL) {
                return Ok(false);
            }
            return Err(e);
        }
        self.len = self.len.max(tail_at + probe.as_slice().len() as u64);
        self.issued = self.bytes;
        self.direct = Some(Direct {
            file: Arc::new(file),
            tail_at,
            tail,
        });
        Ok(true)
    }

    /// True when records go to the disk by direct writes.
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records in the log.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes in the log.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Queues a sync marker saying what is durable now, unless the last
    /// one already said it (see [`crate::node::log_reader`]).
    fn mark_synced(&mut self) {
        if self.synced_bytes > self.covered {
            let frame = marker_frame(self.synced_bytes);
            self.bytes += frame.len() as u64;
            self.pending.extend_from_slice(&frame);
            self.covered = self.synced_bytes;
        }
    }

    /// Queues a record; [`CommitLog::write_pending`] writes the queue.
    /// Returns its frame, as queued.
    pub fn append(&mut self, record: &Record) -> &[u8] {
        let at = self.pending.len();
        record.frame_into(&mut self.pending);
        self.bytes += (self.pending.len() - at) as u64;
        self.records += 1;
        &self.pending[at..]
    }

    /// True when records are queued.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Hands the queued records to the OS (a process crash no longer loses
    /// them; a power loss may, until [`CommitLog::sync`]). When they reach
    /// past the zeros written ahead, a new run of zeros follows them (see
    /// the module docs); if the disk has no room for it, the records alone.
    ///
    /// With direct writes this does nothing: the records are written
    /// when synced.
    pub fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() || self.direct.is_some() {
            return Ok(());
        }
        let at = self.bytes - self.pending.len() as u64;
        self.dirty = true;
        self.file.write_all_at(&self.pending, at)?;
        if self.bytes > self.len {
            self.len = self.bytes;
            let zeros = vec![0u8; PREALLOC_BYTES as usize];
            match self.file.write_all_at(&zeros, self.bytes) {
                Ok(()) => self.len += PREALLOC_BYTES,
                // No room: the records are written; give back what part of
                // the zeros got in.
                Err(_) => self.file.set_len(self.bytes)?,
            }
        }
        self.pending.clear();
        // Keep the buffer from holding on to a huge batch's memory.
        self.pending.shrink_to(1 << 20);
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> io::Result<()> {
        if let Some(work) = self.start_sync()? {
            let covers = self.written();
            work.run()?;
            self.synced_to(covers);
        }
        Ok(())
    }

    /// Hands every appended record to the OS and returns what makes them
    /// durable (none when they already are), to run here or on another
    /// thread; once it succeeds, [`CommitLog::synced_to`] with
    /// [`CommitLog::written`] as it is now. One at a time: the next
    /// starts after the last one's answer.
    pub fn start_sync(&mut self) -> io::Result<Option<SyncWork>> {
        // Every sync that writes something says what the ones before made
        // durable; it rides in the same write.
        if self.is_dirty() {
            self.mark_synced();
        }
        let Some(direct) = self.direct.as_mut() else {
            self.write_pending()?;
            return Ok(self.dirty.then(|| SyncWork::Fsync(self.file.clone())));
        };
        if self.pending.is_empty() {
            return Ok(None);
        }
        direct.tail.extend_from_slice(&self.pending);
        self.pending.clear();
        self.pending.shrink_to(1 << 20);
        self.issued = self.bytes;
        self.dirty = true;
        let data = Blocks::padded(&direct.tail);
        let at = direct.tail_at;
        let end = at + data.as_slice().len() as u64;
        // Zeros ahead once the records reach past them (see module docs).
        let zeros_at = (end > self.len).then(|| {
            self.len = end + PREALLOC_BYTES;
            end
        });
        // The next write starts with the block this one leaves half full.
        let keep_from = self.bytes - self.bytes % BLOCK as u64;
        direct.tail.drain(..(keep_from - at) as usize);
        direct.tail_at = keep_from;
        Ok(Some(SyncWork::Write {
            file: direct.file.clone(),
            at,
            data,
            zeros_at,
        }))
    }

    /// After a failed write or fsync: forgets the queued records and cuts
    /// the file back to `keep`, the length the node's outputs were let go
    /// against, so no partly written frame stays in the log. With batch
    /// sync that is the last synced length: nothing after it was
    /// acknowledged, and its durability is unknown (Linux may drop dirty
    /// pages after a failed fsync, and a later fsync would then succeed
    /// without them). With periodic sync it is what was written: those
    /// records were acknowledged once the OS had them, and cutting them
    /// would forget acknowledged writes. `keep` is held between the two.
    /// Returns the bytes cut. The caller reopens the log to learn what it
    /// holds.
    pub fn cut_back_to(&mut self, keep: u64) -> io::Result<u64> {
        let keep = keep.clamp(self.synced_bytes, self.written().max(self.synced_bytes));
        self.pending.clear();
        // Direct writes stop here; the caller reopens the log.
        self.direct = None;
        let cut = self.bytes.saturating_sub(keep);
        self.file.set_len(keep)?;
        self.file.sync_all()?;
        self.issued = keep;
        self.synced_bytes = keep;
        self.bytes = keep;
        self.len = keep;
        self.dirty = false;
        Ok(cut)
    }

    /// Syncs, then cuts the zeros written ahead (on a clean stop), so the
    /// file holds exactly the records, and a last sync marker covering
    /// them all (damage anywhere in a stopped node's log is then told
    /// from a torn tail).
    pub fn trim(&mut self) -> io::Result<()> {
        self.sync()?;
        self.mark_synced();
        self.sync()?;
        // Direct writes may have padded the file past `len` if zeros
        // ahead failed to be written: ask the file.
        self.len = self.len.max(self.file.metadata()?.len());
        if self.len > self.bytes {
            self.file.set_len(self.bytes)?;
            self.file.sync_all()?;
            self.len = self.bytes;
        }
        Ok(())
    }

    /// The file's length: the records and the zeros written ahead.
    pub fn file_len(&self) -> u64 {
        self.len
    }

    /// Bytes of records handed to the OS (with direct writes: to a
    /// write, done or in flight).
    pub fn written(&self) -> u64 {
        if self.direct.is_some() {
            return self.issued;
        }
        self.bytes - self.pending.len() as u64
    }

    /// Bytes of records known durable.
    pub fn synced(&self) -> u64 {
        self.synced_bytes
    }

    /// Records that the [`SyncWork`] started once `written` bytes had
    /// been written succeeded.
    pub fn synced_to(&mut self, written: u64) {
        self.synced_bytes = self.synced_bytes.max(written);
        self.dirty = self.written() > self.synced_bytes;
    }

    /// True when written records are not yet fsynced.
    pub fn is_dirty(&self) -> bool {
        self.dirty || !self.pending.is_empty()
    }
}

/// Writes `frames` to a new file at `path`, then a sync marker covering
/// them (true once the file is in use: it only becomes the log after the
/// fsync here), fsynced; the file (open to read and write) and its length.
fn write_frames<F: AsRef<[u8]>>(
    path: &Path,
    frames: impl Iterator<Item = F>,
) -> io::Result<(File, u64)> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    let mut bytes = 0u64;
    let mut buf = Vec::with_capacity(1 << 16);
    for frame in frames {
        buf.extend_from_slice(frame.as_ref());
        if buf.len() >= 1 << 20 {
            f.write_all(&buf)?;
            bytes += buf.len() as u64;
            buf.clear();
        }
    }
    buf.extend_from_slice(&marker_frame(bytes + buf.len() as u64));
    f.write_all(&buf)?;
    bytes += buf.len() as u64;
    f.sync_all()?;
    Ok((f, bytes))
}

/// The error for damage in the middle: the file, the offset, what follows,
/// why it is not a torn tail, and the way out.
fn refusal(path: &Path, d: &Damage) -> String {
    let why = if d.marker_covers {
        "a sync marker after it shows those bytes were durable once, so this is not a torn tail"
    } else {
        "the log has no sync markers (it was written by an older ringside), so a torn tail cannot be told from damage"
    };
    format!(
        "commit log {} is damaged at byte {} ({}) and {} valid records follow the damage ({} bytes from there to the end); {why}. The node does not start and has left the file as it is. To start from what is valid, run the node once with --salvage-damaged-log (`ringside cluster restart <id> --salvage-damaged-log` for a local cluster): it keeps the file as {LOG_FILE}.damaged-{}, starts from every valid record in it and logs what was lost; the other replicas hold the lost writes and repair them",
        path.display(),
        d.at,
        d.problem,
        d.records_after,
        d.bytes_after,
        d.at
    )
}

/// Salvages the damaged log at `path`: a new log of the valid prefix and
/// every valid record after the damage (sync markers from there are left
/// out, as their offsets no longer hold), then the damaged file kept under
/// a new name and the new log renamed over it. A crash at any point leaves
/// `path` either the damaged log or the new one, whole. Returns the
/// damaged file's new name and the new log's length.
fn salvage_into(path: &Path, bytes: &[u8], good: usize, d: &Damage) -> io::Result<(PathBuf, u64)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!("{LOG_FILE}.salvaging"));
    let mut frames = vec![&bytes[..good]];
    for &(start, end) in &d.runs {
        let mut at = start as usize;
        while at < end as usize {
            let Ok((frame, n)) = frame_at(bytes, at) else {
                break;
            };
            if let Frame::Record(_) = frame {
                frames.push(&bytes[at..at + n]);
            }
            at += n;
        }
    }
    let len = match write_frames(&tmp, frames.into_iter()) {
        Ok((_, len)) => len,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let mut aside = dir.join(format!("{LOG_FILE}.damaged-{}", d.at));
    let mut n = 1;
    while aside.exists() {
        n += 1;
        aside = dir.join(format!("{LOG_FILE}.damaged-{}.{n}", d.at));
    }
    // A second name for the damaged file, so it is never without one.
    if std::fs::hard_link(path, &aside).is_err() {
        std::fs::copy(path, &aside)?;
        File::open(&aside)?.sync_all()?;
    }
    sync_dir(dir)?;
    std::fs::rename(&tmp, path)?;
    sync_dir(dir)?;
    Ok((aside, len))
}

/// fsyncs a directory, so a created or renamed file's name is durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
