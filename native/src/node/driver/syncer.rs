//! The `commit-log-fsync` thread: under load the driver hands it the
//! work that makes the log durable and goes on with the next inputs (see
//! the driver's module docs).

use super::Driver;
use crate::node::commitlog::SyncWork;
use std::io;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Work for the fsync thread: what makes the log durable (an fsync, or
/// a direct write), how much of it that covers, and which log it is.
pub(super) struct SyncJob {
    pub(super) work: SyncWork,
    pub(super) written: u64,
    pub(super) epoch: u64,
}

/// The fsync thread's answer to a [`SyncJob`].
pub(super) struct SyncDone {
    pub(super) written: u64,
    pub(super) epoch: u64,
    pub(super) result: io::Result<()>,
    /// How long the work itself took, on the thread.
    pub(super) took: Duration,
}

/// A sync slower than this says the disk is busy (a compaction's
/// snapshot, another program): the next ones go to the fsync thread, not
/// inline, until one is fast again, so that the node's thread waits on a
/// busy disk once (the sync that finds it busy) rather than at every
/// lone write. An idle disk's fsync is far shorter.
const SLOW_SYNC: Duration = Duration::from_millis(10);

/// The driver's side of the fsync thread.
pub(super) struct Syncer {
    /// The thread's job queue and answers (none: fsync inline only).
    /// Whether a job is in flight, the gate knows.
    pub(super) jobs: Option<std::sync::mpsc::Sender<SyncJob>>,
    pub(super) done: Option<mpsc::UnboundedReceiver<SyncDone>>,
    /// Bumped whenever the log is replaced: answers about an older one are
    /// stale.
    pub(super) epoch: u64,
    /// How long the last fsync (or direct write) took, here or on the
    /// thread: the work alone, not the wait for the loop to hear of it.
    pub(super) last_took: Duration,
    pub(super) count: SyncCount,
}

/// How often the log was made durable over the node's life, and for how
/// many records: how full group commit kept its syncs under the load the
/// node had. Reported when the node stops (`cargo xtask bench` reads it).
#[derive(Default, Debug)]
pub(super) struct SyncCount {
    /// Syncs (fsyncs or direct writes) that had something to make durable.
    pub(super) syncs: u64,
    /// Of them, those run on the node's thread.
    pub(super) here: u64,
    /// Records appended to the log.
    pub(super) records: u64,
}

impl SyncCount {
    pub(super) fn report(&self) {
        let per_sync = if self.syncs == 0 {
            0.0
        } else {
            self.records as f64 / self.syncs as f64
        };
        info!(
            "the commit log took {} syncs ({} of them on the node's thread) for {} records: {per_sync:.1} records per sync",
            self.syncs, self.here, self.records
        );
    }
}

impl Syncer {
    /// Starts the thread; without it (it could not start) the driver
    /// fsyncs inline only.
    pub(super) fn start() -> Syncer {
        let (jobs, done) = spawn_syncer().unzip();
        Syncer {
            jobs,
            done,
            epoch: 0,
            last_took: Duration::ZERO,
            count: SyncCount::default(),
        }
    }

    /// Whether a sync may block the node's thread now: the fsync thread
    /// is there to take it otherwise, and the last sync was not slow.
    pub(super) fn inline_ok(&self) -> bool {
        self.jobs.is_none() || self.last_took < SLOW_SYNC
    }
}

/// Starts the thread that fsyncs the commit log in the background while
/// the driver goes on; none if it cannot start.
fn spawn_syncer() -> Option<(
    std::sync::mpsc::Sender<SyncJob>,
    mpsc::UnboundedReceiver<SyncDone>,
)> {
    let (jobs_tx, jobs) = std::sync::mpsc::channel::<SyncJob>();
    let (done_tx, done) = mpsc::unbounded_channel();
    let spawned = std::thread::Builder::new()
        .name("commit-log-fsync".into())
        .spawn(move || {
            while let Ok(job) = jobs.recv() {
                let at = Instant::now();
                let result = job.work.run();
                let done = SyncDone {
                    written: job.written,
                    epoch: job.epoch,
                    result,
                    took: at.elapsed(),
                };
                if done_tx.send(done).is_err() {
                    return;
                }
            }
        });
    match spawned {
        Ok(_) => Some((jobs_tx, done)),
        Err(e) => {
            warn!("cannot start the commit log's fsync thread ({e}); fsyncing inline only");
            None
        }
    }
}

impl Driver {
    /// The fsync thread answered.
    pub(super) fn synced(&mut self, done: SyncDone) -> io::Result<()> {
        if done.epoch != self.syncer.epoch || self.gate.sync_in_flight().is_none() {
            return Ok(()); // about a log since replaced
        }
        self.syncer.last_took = done.took;
        match done.result {
            Ok(()) => {
                self.log.synced_to(done.written);
                self.gate.sync_finished(done.written, self.clock.mono_us());
                self.release();
                Ok(())
            }
            Err(e) => self.log_failed(e),
        }
    }
}
