//! The commit log on disk: one file of records framed by the core
//! (`len | crc32 | payload`), appended, fsynced per the sync policy, cut at
//! the last good record on open, and compacted by an atomic rewrite.
//!
//! All calls are blocking; only the driver thread makes them.

use ringside_core::storage::{read_log, LogReport};
use ringside_core::Record;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The log file's name inside a node's data directory.
pub const LOG_FILE: &str = "commit.log";

/// An open commit log.
pub struct CommitLog {
    path: PathBuf,
    file: File,
    /// Records in the file (replayed plus appended since).
    records: u64,
    /// Bytes in the file, written or not yet synced.
    bytes: u64,
    /// Frames waiting for [`CommitLog::write_pending`], so that one batch
    /// becomes one `write` call.
    pending: Vec<u8>,
    /// True when something was written since the last fsync.
    dirty: bool,
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
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(e),
        };
        let (records, report) = read_log(&bytes);
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        if report.dropped_bytes > 0 {
            file.set_len(report.good_bytes as u64)?;
            file.sync_all()?;
        }
        sync_dir(dir)?;
        let log = CommitLog {
            path,
            file,
            records: records.len() as u64,
            bytes: report.good_bytes as u64,
            pending: Vec::new(),
            dirty: false,
        };
        Ok(Opened {
            log,
            records,
            report,
        })
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
    /// them; a power loss may, until [`CommitLog::sync`]).
    pub fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.pending)?;
        self.pending.clear();
        // Keep the buffer from holding on to a huge batch's memory.
        self.pending.shrink_to(1 << 20);
        self.dirty = true;
        Ok(())
    }

    /// Makes everything written durable (fdatasync).
    pub fn sync(&mut self) -> io::Result<()> {
        self.write_pending()?;
        if self.dirty {
            self.file.sync_data()?;
            self.dirty = false;
        }
        Ok(())
    }

    /// True when written records are not yet fsynced.
    pub fn is_dirty(&self) -> bool {
        self.dirty || !self.pending.is_empty()
    }

    /// Replaces the log with `records` (a snapshot): written to a new file,
    /// fsynced, renamed over the log, and the directory fsynced, so a crash
    /// at any point leaves either the old log or the new one, whole.
    pub fn rewrite(&mut self, records: &[Record]) -> io::Result<()> {
        self.sync()?;
        let dir = self.path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let tmp = dir.join(format!("{LOG_FILE}.compacting"));
        let mut bytes = 0u64;
        {
            let mut f = File::create(&tmp)?;
            let mut buf = Vec::with_capacity(1 << 16);
            for r in records {
                buf.extend_from_slice(&r.frame());
                if buf.len() >= 1 << 20 {
                    f.write_all(&buf)?;
                    bytes += buf.len() as u64;
                    buf.clear();
                }
            }
            f.write_all(&buf)?;
            bytes += buf.len() as u64;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        sync_dir(&dir)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        self.records = records.len() as u64;
        self.bytes = bytes;
        Ok(())
    }
}

/// fsyncs a directory, so a created or renamed file's name is durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringside_core::{Key, Version};

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
        log.sync().unwrap();
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
        let mut log = o.log;
        log.append(&w(3, 3));
        log.sync().unwrap();
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
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
}
