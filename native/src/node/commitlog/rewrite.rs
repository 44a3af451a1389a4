//! Compaction's side of the log: a snapshot written beside it while it
//! stays in use ([`Snapshot::write`]), then put in its place with what the
//! log gained meanwhile ([`CommitLog::adopt`]). The order of the fsyncs and
//! the rename is what makes a crash at any point leave one whole log.

use super::{sync_dir, write_frames, CommitLog, LOG_FILE};
use crate::node::log_reader::marker_frame;
use ringside_core::Record;
use std::borrow::Borrow;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How [`CommitLog::adopt`] failed.
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

impl CommitLog {
    /// Where a compaction writes its snapshot before it replaces the log.
    pub fn snapshot_path(&self) -> PathBuf {
        snapshot_path_in(self.path.parent().unwrap_or(Path::new(".")))
    }

    /// Replaces the log with `snapshot`, written while this log stayed in
    /// use, followed by `since`: the frames of the records appended to
    /// this log after the snapshot was taken. Both are fsynced before the
    /// rename over the log, and the directory after it, so a crash at any
    /// point leaves either the old log or the new one, whole, each holding
    /// every record this log made durable.
    ///
    /// The new file is opened before the rename, and the log writes to it
    /// from the moment the rename is done: nothing that can fail stands in
    /// between, so no append after a failed rewrite goes to the old,
    /// unlinked file.
    pub fn adopt(
        &mut self,
        snapshot: Snapshot,
        since: &[u8],
        since_records: u64,
    ) -> Result<(), RewriteError> {
        let Snapshot {
            path: tmp,
            file,
            bytes,
            records,
        } = snapshot;
        let adopted = self
            .sync()
            .and_then(|()| append_frames(&file, bytes, since))
            .and_then(|bytes| {
                std::fs::rename(&tmp, &self.path)?;
                Ok(bytes)
            });
        let bytes = match adopted {
            Ok(bytes) => bytes,
            Err(e) => {
                // The old log is untouched; a full disk must not keep the
                // half-written snapshot around.
                let _ = std::fs::remove_file(&tmp);
                return Err(RewriteError::Unchanged(e));
            }
        };
        let old = std::mem::replace(&mut self.file, Arc::new(file));
        // The direct side still writes to the old file: it goes now, and
        // follows below if it can.
        let old_direct = self.direct.take().map(|d| d.file);
        let was_direct = old_direct.is_some();
        // The old file is unlinked; closing it frees its blocks, which
        // for a large log keeps the file system busy for a long while:
        // not on the caller's thread.
        let close = move || drop((old, old_direct));
        if let Err(e) = std::thread::Builder::new()
            .name("commit-log-close".into())
            .spawn(close)
        {
            tracing::debug!("closing the replaced log here: no thread for it ({e})");
        }
        self.pending.clear();
        self.records = records + since_records;
        self.bytes = bytes;
        self.len = bytes;
        self.synced_bytes = bytes;
        self.issued = bytes;
        self.dirty = false;
        self.covered = bytes;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fault_after_rename()
            .and_then(|()| sync_dir(dir))
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

/// Where a compaction writes its snapshot, in the log's directory `dir`.
pub(super) fn snapshot_path_in(dir: &Path) -> PathBuf {
    dir.join(format!("{LOG_FILE}.compacting"))
}

/// A compaction's snapshot, written and fsynced beside the log, not yet
/// in its place ([`CommitLog::adopt`]).
pub struct Snapshot {
    path: PathBuf,
    file: File,
    bytes: u64,
    records: u64,
}

impl Snapshot {
    /// Writes `records` to `path` and fsyncs it. Touches nothing of the
    /// log, so it may run on another thread while the log is in use; on
    /// failure the half-written file is removed.
    pub fn write<R: Borrow<Record>>(
        path: PathBuf,
        records: impl IntoIterator<Item = R>,
    ) -> io::Result<Snapshot> {
        let mut count = 0u64;
        let frames = records.into_iter().map(|r| {
            count += 1;
            r.borrow().frame()
        });
        match write_frames(&path, frames) {
            Ok((file, bytes)) => Ok(Snapshot {
                path,
                file,
                bytes,
                records: count,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// Gives up on the snapshot: its file goes.
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Appends `frames` to `file` after its first `at` bytes, then a sync
/// marker covering everything, fsynced; the file's new length. (Nothing
/// to append: nothing is written.)
fn append_frames(file: &File, at: u64, frames: &[u8]) -> io::Result<u64> {
    if frames.is_empty() {
        return Ok(at);
    }
    let mut buf = frames.to_vec();
    let end = at + buf.len() as u64;
    buf.extend_from_slice(&marker_frame(end));
    file.write_all_at(&buf, at)?;
    file.sync_data()?;
    Ok(at + buf.len() as u64)
}

#[cfg(test)]
thread_local! {
    /// Set by a test: the next [`CommitLog::adopt`] fails right after
    /// its rename, as a failed directory fsync would.
    pub(super) static FAIL_AFTER_RENAME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The fault a test can inject into an adoption, after its rename.
fn fault_after_rename() -> io::Result<()> {
    #[cfg(test)]
    if FAIL_AFTER_RENAME.with(|f| f.replace(false)) {
        return Err(io::Error::other("injected failure after the rename"));
    }
    Ok(())
}
