//! The commit log on disk: one file of records framed by the core
//! (`len | crc32 | payload`), appended, fsynced per the sync policy, and
//! compacted by an atomic rewrite. On open a torn tail is cut at the last
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
//!
//! Longer than most files: about 800 lines of one job (the log's file
//! handling) and its tests, which need its private state.

use crate::node::log_reader::{frame_at, marker_frame, Damage, Frame, LogRecords};
use ringside_core::Record;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The log file's name inside a node's data directory.
pub const LOG_FILE: &str = "commit.log";

/// Zeros written ahead of the records each time they run out.
pub const PREALLOC_BYTES: u64 = 1 << 20;

/// The unit of a direct write: offsets, lengths and buffers are multiples
/// of it (4 KiB covers the logical block size of common disks).
const BLOCK: usize = 4096;

/// One block of memory aligned as `O_DIRECT` needs it.
#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Block([u8; BLOCK]);

/// Whole aligned blocks, for a direct write.
pub struct Blocks(Vec<Block>);

impl Blocks {
    fn zeroed(bytes: usize) -> Blocks {
        Blocks(vec![Block([0; BLOCK]); bytes.div_ceil(BLOCK)])
    }

    /// `data` followed by zeros to the end of its last block.
    fn padded(data: &[u8]) -> Blocks {
        let mut b = Blocks::zeroed(data.len().max(1));
        b.as_mut()[..data.len()].copy_from_slice(data);
        b
    }

    fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: `Block` is `repr(C)` over a byte array whose size equals
        // its alignment, so the blocks are contiguous bytes, no padding.
        unsafe {
            std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<u8>(), self.0.len() * BLOCK)
        }
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: as in `as_mut`.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), self.0.len() * BLOCK) }
    }
}

/// What makes the log durable up to a length, run on the driver's thread
/// or on its fsync thread (see [`CommitLog::start_sync`]).
pub enum SyncWork {
    /// `fdatasync` of records already written.
    Fsync(Arc<File>),
    /// A direct, synchronous write of whole blocks at `at`; then, if
    /// `zeros_at` is set, a run of zeros written ahead there (a failure
    /// of that part only costs speed, so it is ignored).
    Write {
        file: Arc<File>,
        at: u64,
        data: Blocks,
        zeros_at: Option<u64>,
    },
}

impl SyncWork {
    /// Does the work: durable when it returns `Ok`.
    pub fn run(self) -> io::Result<()> {
        match self {
            SyncWork::Fsync(file) => file.sync_data(),
            SyncWork::Write {
                file,
                at,
                data,
                zeros_at,
            } => {
                file.write_all_at(data.as_slice(), at)?;
                if let Some(z) = zeros_at {
                    let zeros = Blocks::zeroed(PREALLOC_BYTES as usize);
                    let _ = file.write_all_at(zeros.as_slice(), z);
                }
                Ok(())
            }
        }
    }
}

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

/// How [`CommitLog::rewrite`] failed.
#[derive(Debug)]
pub enum RewriteError {
    /// Before the rename: the old log is whole and still in use.
    Unchanged(io::Error),
    /// After it: the new log is in the directory and in use, but whether
    /// its name is durable is not known (the directory fsync failed);
    /// handle it as a failed log write.
    Replaced(io::Error),
}

impl std::fmt::Display for RewriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RewriteError::Unchanged(e) => write!(f, "{e} (the old log is unchanged)"),
            RewriteError::Replaced(e) => write!(f, "{e} (after the new log replaced the old one)"),
        }
    }
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
    pub fn append(&mut self, record: &Record) {
        let frame = record.frame();
        self.bytes += frame.len() as u64;
        self.records += 1;
        self.pending.extend_from_slice(&frame);
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
    /// the file back to its last durable length, so no partly written
    /// frame or record of unknown durability stays in the log (Linux may
    /// drop dirty pages after a failed fsync, and a later fsync would then
    /// succeed without them). Returns the bytes cut. The caller reopens
    /// the log to learn what it holds.
    pub fn discard_unsynced(&mut self) -> io::Result<u64> {
        self.pending.clear();
        // Direct writes stop here; the caller reopens the log.
        self.direct = None;
        self.issued = self.synced_bytes;
        let cut = self.bytes.saturating_sub(self.synced_bytes);
        self.file.set_len(self.synced_bytes)?;
        self.file.sync_all()?;
        self.bytes = self.synced_bytes;
        self.len = self.synced_bytes;
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

    /// Replaces the log with `records` (a snapshot): written to a new file,
    /// fsynced, renamed over the log, and the directory fsynced, so a crash
    /// at any point leaves either the old log or the new one, whole.
    ///
    /// The new file is opened before the rename, and the log writes to it
    /// from the moment the rename is done: nothing that can fail stands in
    /// between, so no append after a failed rewrite goes to the old,
    /// unlinked file.
    pub fn rewrite(&mut self, records: &[Record]) -> Result<(), RewriteError> {
        self.sync().map_err(RewriteError::Unchanged)?;
        let dir = self.path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let tmp = dir.join(format!("{LOG_FILE}.compacting"));
        let frames = records.iter().map(Record::frame);
        let written = write_frames(&tmp, frames).and_then(|(file, bytes)| {
            std::fs::rename(&tmp, &self.path)?;
            Ok((file, bytes))
        });
        let (file, bytes) = match written {
            Ok(x) => x,
            Err(e) => {
                // The old log is untouched; a full disk must not keep the
                // half-written snapshot around.
                let _ = std::fs::remove_file(&tmp);
                return Err(RewriteError::Unchanged(e));
            }
        };
        self.file = Arc::new(file);
        // The direct side still writes to the old file: it goes now, and
        // follows below if it can.
        let was_direct = self.direct.take().is_some();
        self.pending.clear();
        self.records = records.len() as u64;
        self.bytes = bytes;
        self.len = bytes;
        self.synced_bytes = bytes;
        self.issued = bytes;
        self.dirty = false;
        self.covered = bytes;
        fault_after_rename()
            .and_then(|()| sync_dir(&dir))
            .map_err(RewriteError::Replaced)?;
        if was_direct {
            // The direct side follows the new file if it can; if not, the
            // new log is in use all the same, with ordinary writes (the
            // caller sees `is_direct` turn false).
            let _ = self.write_directly();
        }
        Ok(())
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

/// A log file's bytes for replay: mapped read-only where possible, which
/// spares copying a large log into freshly zeroed memory (a third of the
/// time a million-record replay took).
enum LogBytes {
    Mapped { ptr: *mut libc::c_void, len: usize },
    Owned(Vec<u8>),
}

impl LogBytes {
    fn map(file: &File) -> io::Result<LogBytes> {
        use std::os::fd::AsRawFd;
        let len = file.metadata()?.len() as usize;
        if len == 0 {
            return Ok(LogBytes::Owned(vec![]));
        }
        // SAFETY: a read-only private mapping of a file only this process
        // writes, and nothing writes or truncates it while the mapping
        // lives (it is dropped before the log is opened for appending).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            // Some file systems cannot map files; read it instead.
            let mut bytes = Vec::with_capacity(len);
            io::Read::read_to_end(&mut &*file, &mut bytes)?;
            return Ok(LogBytes::Owned(bytes));
        }
        Ok(LogBytes::Mapped { ptr, len })
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            // SAFETY: the mapping is `len` readable bytes until drop.
            LogBytes::Mapped { ptr, len } => unsafe {
                std::slice::from_raw_parts(*ptr as *const u8, *len)
            },
            LogBytes::Owned(v) => v,
        }
    }
}

impl Drop for LogBytes {
    fn drop(&mut self) {
        if let LogBytes::Mapped { ptr, len } = *self {
            // SAFETY: unmaps exactly the mapping made in `map`.
            unsafe { libc::munmap(ptr, len) };
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Set by a test: the next [`CommitLog::rewrite`] fails right after
    /// its rename, as a failed directory fsync would.
    static FAIL_AFTER_RENAME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The fault a test can inject into a rewrite, after its rename.
fn fault_after_rename() -> io::Result<()> {
    #[cfg(test)]
    if FAIL_AFTER_RENAME.with(|f| f.replace(false)) {
        return Err(io::Error::other("injected failure after the rename"));
    }
    Ok(())
}

/// fsyncs a directory, so a created or renamed file's name is durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringside_core::{Key, Version};

    /// Appends `record`, fsyncs, and opens the log again, as a restart
    /// would.
    fn append_and_reopen(mut log: CommitLog, dir: &Path, record: &Record) -> Opened {
        log.append(record);
        log.sync().unwrap();
        drop(log);
        CommitLog::open(dir).unwrap()
    }

    fn w(k: u8, ts: u64) -> Record {
        Record::Write {
            key: Key::Int(k),
            version: Version {
                ts,
                value: Some(format!("v{ts}")),
            },
        }
    }

    #[test]
    fn appends_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path()).unwrap().log;
        log.append(&w(1, 1));
        log.append(&w(2, 2));
        log.sync().unwrap();
        let bytes = log.bytes();
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records, vec![w(1, 1), w(2, 2)]);
        assert_eq!(o.log.bytes(), bytes);
        assert_eq!(o.report.dropped_bytes, 0);
    }

    #[test]
    fn torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path()).unwrap().log;
        log.append(&w(1, 1));
        log.trim().unwrap();
        let good = log.bytes();
        drop(log);
        let path = dir.path().join(LOG_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"garbage!garbage!").unwrap();
        drop(f);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records, vec![w(1, 1)]);
        assert_eq!(o.report.dropped_bytes, 16);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good);
        // Appending after the cut yields a clean log.
        let o = append_and_reopen(o.log, dir.path(), &w(3, 3));
        assert_eq!(o.records, vec![w(1, 1), w(3, 3)]);
        assert!(o.report.problem.is_none());
    }

    #[test]
    fn rewrite_replaces_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path()).unwrap().log;
        for ts in 0..100 {
            log.append(&w(1, ts));
        }
        log.sync().unwrap();
        log.rewrite(&[w(1, 99)]).unwrap();
        assert_eq!(log.records(), 1);
        log.append(&w(2, 100));
        log.sync().unwrap();
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records, vec![w(1, 99), w(2, 100)]);
    }

    /// A cleanly stopped log of `n` records, each synced on its own (as
    /// writes at ALL are), and where each record's frame starts.
    fn synced_one_by_one(dir: &Path, n: u8) -> Vec<u64> {
        let mut log = CommitLog::open(dir).unwrap().log;
        let mut starts = vec![];
        for k in 0..n {
            starts.push(log.bytes());
            log.append(&w(k, k as u64));
            log.sync().unwrap();
        }
        log.trim().unwrap();
        starts
    }

    fn flip(dir: &Path, at: u64) -> Vec<u8> {
        let path = dir.join(LOG_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[at as usize] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        bytes
    }

    #[test]
    fn damage_in_the_middle_is_refused_and_the_file_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let starts = synced_one_by_one(dir.path(), 30);
        let bytes = flip(dir.path(), starts[10] + 12);
        let e = CommitLog::open(dir.path()).err().expect("refused");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let msg = e.to_string();
        let path = dir.path().join(LOG_FILE);
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains(&format!("damaged at byte {}", starts[10])),
            "{msg}"
        );
        assert!(msg.contains("19 valid records follow"), "{msg}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
        // Damage in the last record of a cleanly stopped log is damage too:
        // the stop's marker covers it.
        let dir = tempfile::tempdir().unwrap();
        let starts = synced_one_by_one(dir.path(), 5);
        flip(dir.path(), starts[4] + 12);
        let e = CommitLog::open(dir.path()).err().expect("refused");
        assert!(e.to_string().contains("0 valid records follow"), "{e}");
    }

    #[test]
    fn salvage_keeps_every_valid_record_and_the_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let starts = synced_one_by_one(dir.path(), 30);
        let bytes = flip(dir.path(), starts[10] + 12);
        let (log, report, records) =
            CommitLog::open_salvaging(dir.path(), |r| r.collect::<Vec<_>>()).unwrap();
        let want: Vec<Record> = (0..30)
            .filter(|&k| k != 10)
            .map(|k| w(k, k as u64))
            .collect();
        assert_eq!(records, want);
        assert_eq!(log.records(), 29);
        let s = report.salvaged.expect("salvaged");
        assert_eq!(s.records_before, 10);
        assert_eq!(s.damage.records_after, 19);
        assert_eq!(s.damage.at, starts[10]);
        // Only the damaged record's frame is lost.
        assert_eq!(s.damage.lost_bytes() as usize, w(10, 10).frame().len());
        assert_eq!(
            s.moved_to,
            dir.path()
                .join(format!("{LOG_FILE}.damaged-{}", starts[10]))
        );
        assert_eq!(std::fs::read(&s.moved_to).unwrap(), bytes);
        // The new log takes appends and is clean on the next open.
        let o = append_and_reopen(log, dir.path(), &w(99, 99));
        assert!(o.report.problem.is_none(), "{:?}", o.report.problem);
        assert_eq!(o.records.len(), 30);
        // Salvaging a clean log changes nothing.
        drop(o);
        let (_, report, n) = CommitLog::open_salvaging(dir.path(), |r| r.count()).unwrap();
        assert!(report.salvaged.is_none());
        assert_eq!(n, 30);
    }

    #[test]
    fn a_log_written_before_sync_markers_replays() {
        let dir = tempfile::tempdir().unwrap();
        let old: Vec<u8> = (0..5).flat_map(|k| w(k, k as u64).frame()).collect();
        std::fs::write(dir.path().join(LOG_FILE), &old).unwrap();
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records.len(), 5);
        assert!(o.report.problem.is_none());
        // Appending to it, then a torn tail, is as ever.
        let o = append_and_reopen(o.log, dir.path(), &w(7, 7));
        assert_eq!(o.records.len(), 6);
    }

    /// A compaction that fails after its rename must not leave the log
    /// writing to the old, unlinked file: what is appended and synced
    /// after it (and acknowledged) must be there after a restart.
    #[test]
    fn a_compaction_that_fails_after_its_rename_keeps_later_appends() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path()).unwrap().log;
        for ts in 0..10 {
            log.append(&w(1, ts));
        }
        log.sync().unwrap();
        FAIL_AFTER_RENAME.with(|f| f.set(true));
        assert!(log.rewrite(&[w(1, 9)]).is_err());
        // The node goes on: what it appends and syncs now, it acknowledges.
        log.append(&w(2, 100));
        if log.sync().is_ok() {
            drop(log);
            let o = CommitLog::open(dir.path()).unwrap();
            assert!(
                o.records.contains(&w(2, 100)),
                "a record synced after the failed compaction is lost on restart: the log holds {:?}",
                o.records
            );
        }
    }

    fn file_len(dir: &Path) -> u64 {
        std::fs::metadata(dir.join(LOG_FILE)).unwrap().len()
    }

    #[test]
    fn zeros_written_ahead_are_reused_kept_and_not_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path()).unwrap().log;
        log.append(&w(1, 1));
        log.sync().unwrap();
        let first = log.bytes();
        assert_eq!(file_len(dir.path()), first + PREALLOC_BYTES);
        // Later records go over the zeros: the file does not grow.
        log.append(&w(2, 2));
        log.sync().unwrap();
        assert_eq!(file_len(dir.path()), first + PREALLOC_BYTES);
        let bytes = log.bytes();
        drop(log); // as in a crash: no trim
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records, vec![w(1, 1), w(2, 2)]);
        assert_eq!(o.report.dropped_bytes, 0);
        assert!(o.report.problem.is_none(), "{:?}", o.report.problem);
        assert_eq!(o.log.bytes(), bytes);
        assert_eq!(file_len(dir.path()), first + PREALLOC_BYTES, "kept");
        // Appending after reopen continues at the records' end.
        let o = append_and_reopen(o.log, dir.path(), &w(3, 3));
        assert_eq!(o.records, vec![w(1, 1), w(2, 2), w(3, 3)]);
        // A clean stop cuts the zeros.
        let mut log = o.log;
        log.trim().unwrap();
        assert_eq!(file_len(dir.path()), log.bytes());
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records.len(), 3);
        assert_eq!(o.report.dropped_bytes, 0);
    }

    #[test]
    fn records_past_the_zeros_get_new_zeros_after_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path()).unwrap().log;
        let big = sized(9, 1, 300_000);
        for _ in 0..5 {
            log.append(&big);
            log.sync().unwrap();
            assert!(file_len(dir.path()) > log.bytes(), "zeros follow");
            assert_eq!(log.file_len(), file_len(dir.path()));
        }
        assert_eq!(file_len(dir.path()), log.bytes() + PREALLOC_BYTES);
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records.len(), 5);
        assert_eq!(o.report.dropped_bytes, 0);
    }

    #[test]
    fn a_torn_record_over_the_zeros_is_cut_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path()).unwrap().log;
        log.append(&w(1, 1));
        log.sync().unwrap();
        let good = log.bytes();
        drop(log);
        // Half a frame written over the zeros, then a crash.
        let frame = w(2, 2).frame();
        let f = OpenOptions::new()
            .write(true)
            .open(dir.path().join(LOG_FILE))
            .unwrap();
        f.write_all_at(&frame[..frame.len() / 2], good).unwrap();
        drop(f);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records, vec![w(1, 1)]);
        assert!(o.report.problem.is_some());
        assert_eq!(o.report.dropped_bytes as u64, PREALLOC_BYTES);
        assert_eq!(file_len(dir.path()), good, "cut at the last good record");
        let o = append_and_reopen(o.log, dir.path(), &w(3, 3));
        assert_eq!(o.records, vec![w(1, 1), w(3, 3)]);
        assert!(o.report.problem.is_none());
    }

    #[test]
    fn discarding_unsynced_records_cuts_the_zeros_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path()).unwrap().log;
        log.append(&w(1, 1));
        log.sync().unwrap();
        let good = log.bytes();
        log.append(&w(2, 2));
        log.write_pending().unwrap();
        assert_eq!(file_len(dir.path()), good + PREALLOC_BYTES);
        let unsynced = log.bytes() - good;
        assert_eq!(log.discard_unsynced().unwrap(), unsynced);
        assert_eq!(file_len(dir.path()), good);
        assert_eq!(log.file_len(), good);
    }

    /// A log in `dir` switched to direct writes (the test's file system
    /// must take them: ext4 and tmpfs on Linux do).
    fn direct(dir: &Path) -> Opened {
        let mut o = CommitLog::open(dir).unwrap();
        assert!(o.log.write_directly().unwrap(), "no O_DIRECT here");
        assert!(o.log.is_direct());
        o
    }

    /// A record whose frame is about `bytes` long.
    fn sized(k: u8, ts: u64, bytes: usize) -> Record {
        Record::Write {
            key: Key::Int(k),
            version: Version {
                ts,
                value: Some("x".repeat(bytes)),
            },
        }
    }

    #[test]
    fn direct_writes_survive_reopen_across_block_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = direct(dir.path()).log;
        let mut want = vec![];
        // Sizes that end records inside, at and across 4 KiB blocks.
        for (ts, size) in [10, 3000, 1500, 4000, 50, 9000, 1, 2000]
            .into_iter()
            .enumerate()
        {
            let r = sized(ts as u8, ts as u64, size);
            log.append(&r);
            want.push(r);
            if ts % 3 != 1 {
                log.sync().unwrap();
                assert!(!log.is_dirty());
                assert_eq!(log.synced(), log.bytes());
            }
        }
        log.sync().unwrap();
        let bytes = log.bytes();
        drop(log); // as in a crash: no trim
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records, want);
        assert_eq!(o.log.bytes(), bytes);
        assert_eq!(o.report.dropped_bytes, 0);
        assert!(o.report.problem.is_none(), "{:?}", o.report.problem);
        // Direct again after reopen, from a block half full.
        let mut log = direct(dir.path()).log;
        log.append(&w(7, 7));
        log.sync().unwrap();
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        want.push(w(7, 7));
        assert_eq!(o.records, want);
    }

    #[test]
    fn direct_writes_run_elsewhere_while_records_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = direct(dir.path()).log;
        log.append(&w(1, 1));
        let work = log.start_sync().unwrap().expect("work to do");
        let covers = log.written();
        assert_eq!(covers, log.bytes());
        // Appended while the write is in flight: not covered by it.
        log.append(&w(2, 2));
        assert!(log.is_dirty());
        std::thread::spawn(move || work.run())
            .join()
            .unwrap()
            .unwrap();
        log.synced_to(covers);
        assert!(log.synced() < log.bytes());
        assert!(log.is_dirty(), "the second record is not synced");
        log.sync().unwrap();
        assert!(!log.is_dirty());
        assert!(log.start_sync().unwrap().is_none(), "nothing left to do");
        drop(log);
        assert_eq!(
            CommitLog::open(dir.path()).unwrap().records,
            vec![w(1, 1), w(2, 2)]
        );
    }

    #[test]
    fn direct_writes_keep_zeros_ahead_and_trim_cuts_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = direct(dir.path()).log;
        for ts in 0..5 {
            log.append(&sized(9, ts, 300_000));
            log.sync().unwrap();
            assert!(file_len(dir.path()) > log.bytes(), "zeros follow");
        }
        let bytes = log.bytes();
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records.len(), 5);
        assert_eq!(o.report.dropped_bytes, 0);
        assert_eq!(o.log.bytes(), bytes);
        let mut log = direct(dir.path()).log;
        log.append(&w(1, 1));
        log.trim().unwrap();
        assert_eq!(file_len(dir.path()), log.bytes());
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records.len(), 6);
        assert!(o.report.problem.is_none());
    }

    #[test]
    fn direct_writes_follow_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = direct(dir.path()).log;
        for ts in 0..100 {
            log.append(&w(1, ts));
        }
        log.sync().unwrap();
        log.rewrite(&[w(1, 99)]).unwrap();
        assert!(log.is_direct());
        log.append(&w(2, 100));
        log.sync().unwrap();
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records, vec![w(1, 99), w(2, 100)]);
        assert!(o.report.problem.is_none());
    }

    #[test]
    fn a_direct_write_that_never_ran_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = direct(dir.path()).log;
        log.append(&w(1, 1));
        log.sync().unwrap();
        log.append(&w(2, 2));
        // The write fails (or the process dies) before it lands.
        drop(log.start_sync().unwrap().expect("work to do"));
        let unsynced = log.bytes() - log.synced();
        assert_eq!(log.discard_unsynced().unwrap(), unsynced);
        assert!(!log.is_direct());
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        assert_eq!(o.records, vec![w(1, 1)]);
        assert!(o.report.problem.is_none());
    }
}
