//! Compaction: the commit log rewritten as a snapshot once it holds far
//! more records than the state needs.
//!
//! **Off the node's thread.** Writing and fsyncing a snapshot of a large
//! node takes as long as the disk needs for all of its data, longer than
//! a peer waits before it counts the node as down; even copying every key
//! of a large node out of the memtable in one go stops the node for a
//! noticeable part of that wait. So
//! the node's thread copies the snapshot a slice at a time, one slice per
//! turn of its loop ([`SnapshotCursor`]), and hands each slice to a
//! thread of its own, which writes them beside the log and fsyncs them.
//! The node goes on serving and logging from the first slice on; every
//! record it appends is also kept, framed, for the new log (which is what
//! makes a snapshot taken over many turns whole). When the snapshot is on
//! disk, the node's thread syncs the old log, lets go what waited for it,
//! appends the kept records to the snapshot, fsyncs, and renames it over
//! the log ([`CommitLog::adopt`]). A crash at any moment before the
//! rename leaves the old log, whole; after it, the new one.
//!
//! [`CommitLog::adopt`]: crate::node::commitlog::CommitLog::adopt

use super::Driver;
use crate::node::commitlog::{RewriteError, Snapshot};
use ringside_core::{Record, SnapshotCursor};
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// How long to wait after a failed compaction before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// Frames kept for the new log at most while its snapshot is written: a
/// disk so slow that more arrives meanwhile gives the compaction up (and
/// the memory back) and tries again later.
const MAX_KEPT_BYTES: usize = 256 << 20;

/// Records copied out of the memtable per turn of the node's loop: a
/// copy short beside the failure timeout and beside the wait of a
/// request that queues behind it.
const SLICE_RECORDS: usize = 16_384;

pub(super) struct Compaction {
    /// No compaction before this (set after one failed).
    pub(super) after: Instant,
    /// The snapshot being written, if one is.
    running: Option<Running>,
    /// The writing thread of the last compaction has not answered yet:
    /// the next one writes the same file, and the answer of one given up
    /// removes that file, so it waits for the answer.
    answer_due: bool,
    /// Where the writing thread says it is done (the loop waits on it).
    done_tx: mpsc::UnboundedSender<Written>,
    pub(super) done: Option<mpsc::UnboundedReceiver<Written>>,
    /// Counts compactions, so that the answer of one given up is told
    /// from the next one's.
    generation: u64,
    /// Records per slice of the snapshot ([`SLICE_RECORDS`]; tests take
    /// smaller slices).
    pub(super) slice: usize,
}

/// A compaction whose snapshot is being written.
struct Running {
    generation: u64,
    /// Frames of the records appended since the snapshot's first slice.
    kept: Vec<u8>,
    kept_records: u64,
    started: Instant,
    /// Records and bytes of the log when the snapshot was begun.
    before: (u64, u64),
    /// While the snapshot is still being copied: where the copy is, and
    /// the writing thread's queue of slices (closing it ends the file).
    copying: Option<(SnapshotCursor, std_mpsc::Sender<Vec<Record>>)>,
    was_direct: bool,
    /// The snapshot, once on disk, until it replaces the log.
    written: Option<Snapshot>,
}

/// The writing thread's answer.
pub(super) struct Written {
    generation: u64,
    result: io::Result<Snapshot>,
}

impl Compaction {
    pub(super) fn new() -> Compaction {
        let (done_tx, done) = mpsc::unbounded_channel();
        Compaction {
            after: Instant::now(),
            running: None,
            answer_due: false,
            done_tx,
            done: Some(done),
            generation: 0,
            slice: SLICE_RECORDS,
        }
    }

    /// True while the snapshot is still being copied, a slice per turn:
    /// the loop then takes a turn even with no input.
    pub(super) fn is_copying(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.copying.is_some())
    }

    /// True while a snapshot is being written or waits to replace the log.
    pub(super) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Keeps the `frame` of a record just logged for the snapshot being
    /// written, if one is.
    pub(super) fn appended(&mut self, frame: &[u8]) {
        let Some(r) = self.running.as_mut() else {
            return;
        };
        r.kept.extend_from_slice(frame);
        r.kept_records += 1;
        if r.kept.len() > MAX_KEPT_BYTES {
            warn!(
                "commit log compaction given up: {} MiB were logged while its snapshot was written; retrying in {} s",
                MAX_KEPT_BYTES >> 20,
                RETRY_AFTER.as_secs()
            );
            self.give_up();
        }
    }

    /// Forgets the compaction in flight (its snapshot file goes when its
    /// thread answers) and waits before the next one.
    pub(super) fn give_up(&mut self) {
        if let Some(r) = self.running.take() {
            if let Some(s) = r.written {
                s.discard();
            }
            self.after = Instant::now() + RETRY_AFTER;
        }
    }
}

impl Driver {
    /// Starts a compaction once the log holds far more records than the
    /// state needs, or copies the next slice of the one under way: the
    /// snapshot is copied here and written on a thread of its own (see
    /// the module docs).
    pub(super) fn maybe_compact(&mut self) -> io::Result<()> {
        if self.compaction.is_copying() {
            self.copy_slice();
            return Ok(());
        }
        let live = (self.node.data().len() + self.node.hint_count()) as u64;
        let limit = 4 * live + self.settings.compact_min_records;
        let c = &mut self.compaction;
        if self.log.records() <= limit || c.is_running() || Instant::now() < c.after || c.answer_due
        {
            return Ok(());
        }
        c.generation += 1;
        let generation = c.generation;
        let path = self.log.snapshot_path();
        let done = c.done_tx.clone();
        let (slices_tx, slices) = std_mpsc::channel::<Vec<Record>>();
        let spawned = std::thread::Builder::new()
            .name("commit-log-compaction".into())
            .spawn(move || {
                // The slices until the node's thread closes the queue: all
                // of them, or fewer when the compaction was given up (its
                // answer is then thrown away). It always answers, even
                // if it panics: the next compaction waits for the answer.
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    Snapshot::write(path, slices.into_iter().flatten())
                }))
                .unwrap_or_else(|_| Err(io::Error::other("the compaction's thread panicked")));
                if let Err(mpsc::error::SendError(w)) = done.send(Written { generation, result }) {
                    // The node is gone: the log stays as it is.
                    if let Ok(s) = w.result {
                        s.discard();
                    }
                }
            });
        match spawned {
            Ok(_) => {
                c.answer_due = true;
                c.running = Some(Running {
                    generation,
                    kept: Vec::new(),
                    kept_records: 0,
                    started: Instant::now(),
                    before: (self.log.records(), self.log.bytes()),
                    copying: Some((SnapshotCursor::default(), slices_tx)),
                    was_direct: self.log.is_direct(),
                    written: None,
                });
                self.copy_slice();
            }
            Err(e) => {
                warn!(
                    "cannot start the commit log's compaction thread ({e}); retrying in {} s",
                    RETRY_AFTER.as_secs()
                );
                c.after = Instant::now() + RETRY_AFTER;
            }
        }
        Ok(())
    }

    /// Copies the next slice of the snapshot being taken and hands it to
    /// the writing thread; after the last one, closes its queue.
    pub(super) fn copy_slice(&mut self) {
        let slice = self.compaction.slice;
        let Some(r) = self.compaction.running.as_mut() else {
            return;
        };
        let Some((cursor, slices)) = r.copying.as_mut() else {
            return;
        };
        let mut records = Vec::with_capacity(slice.min(SLICE_RECORDS));
        self.node.snapshot_slice(cursor, slice, &mut records);
        let done = cursor.is_done();
        if slices.send(records).is_err() {
            // The thread stopped early (it failed): its answer says why.
            r.copying = None;
            return;
        }
        if done {
            r.copying = None;
        }
    }

    /// The writing thread answered: the snapshot waits to replace the
    /// log ([`Driver::maybe_adopt`]), or the old log stays.
    pub(super) fn snapshot_written(&mut self, w: Written) -> io::Result<()> {
        self.compaction.answer_due = false;
        let running = self
            .compaction
            .running
            .as_mut()
            .filter(|r| r.generation == w.generation);
        match (running, w.result) {
            (Some(r), Ok(s)) => {
                r.written = Some(s);
                Ok(())
            }
            (Some(_), Err(e)) => {
                self.compaction.running = None;
                self.compaction_failed(e)
            }
            // Given up meanwhile: the log it was for has moved on.
            (None, Ok(s)) => {
                s.discard();
                Ok(())
            }
            (None, Err(_)) => Ok(()),
        }
    }

    /// Puts a written snapshot in the log's place, unless a sync is in
    /// flight on the fsync thread (its answer wakes the loop, and the next
    /// turn comes back here): the old log is synced here, what waited for
    /// it let go, and the gate starts over at the new log's end.
    pub(super) fn maybe_adopt(&mut self) -> io::Result<()> {
        let ready = self
            .compaction
            .running
            .as_ref()
            .is_some_and(|r| r.written.is_some());
        if !ready || self.gate.sync_in_flight().is_some() {
            return Ok(());
        }
        let Some(mut running) = self.compaction.running.take() else {
            return Ok(());
        };
        let Some(snapshot) = running.written.take() else {
            return Ok(());
        };
        if let Err(e) = self.sync_here() {
            snapshot.discard();
            return self.log_failed(e);
        }
        self.release();
        match self
            .log
            .adopt(snapshot, &running.kept, running.kept_records)
        {
            Ok(()) => {
                let held = self.new_log(self.log.bytes());
                debug_assert!(held.is_empty());
            }
            Err(RewriteError::Unchanged(e)) => return self.compaction_failed(e),
            // The new log is in use, its name maybe not durable: a failed
            // log write (the node restarts in place from the directory).
            Err(RewriteError::Replaced(e)) => return self.log_failed(e),
        }
        if running.was_direct && !self.log.is_direct() {
            warn!("commit log: direct writes could not follow the compacted log; using write and fdatasync");
        }
        let (records, bytes) = running.before;
        info!(
            "commit log compacted: {records} records ({bytes} bytes) -> {} records ({} bytes), written beside the log in {:.1} ms ({} records logged meanwhile)",
            self.log.records(),
            self.log.bytes(),
            running.started.elapsed().as_secs_f64() * 1000.0,
            running.kept_records,
        );
        self.node.compacted(self.log.records() as usize);
        self.drain();
        self.flush(true)
    }

    /// The old log stays whole and in use; try again later.
    fn compaction_failed(&mut self, e: io::Error) -> io::Result<()> {
        warn!(
            "commit log compaction failed, keeping the log as it is and retrying in {} s: {e}",
            RETRY_AFTER.as_secs()
        );
        self.compaction.after = Instant::now() + RETRY_AFTER;
        self.flush(true)
    }
}
