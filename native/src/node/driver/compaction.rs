//! Compaction: the commit log rewritten as a snapshot once it holds far
//! more records than the state needs.

use super::Driver;
use crate::node::commitlog::RewriteError;
use std::io;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How long to wait after a failed compaction before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(10);

pub(super) struct Compaction {
    /// No compaction before this (set after one failed).
    after: Instant,
}

impl Compaction {
    pub(super) fn new() -> Compaction {
        Compaction {
            after: Instant::now(),
        }
    }
}

impl Driver {
    /// Rewrites the log as a snapshot once it holds far more records than
    /// the state needs.
    pub(super) fn maybe_compact(&mut self) -> io::Result<()> {
        let live = (self.node.data().len() + self.node.hint_count()) as u64;
        let limit = 4 * live + self.settings.compact_min_records;
        if self.log.records() <= limit
            || Instant::now() < self.compaction.after
            || self.gate.sync_in_flight().is_some()
        {
            return Ok(());
        }
        // Whatever the log holds must be durable before the snapshot
        // replaces it; a failure here is a failed log write like any other.
        if let Err(e) = self.sync_here() {
            return self.log_failed(e);
        }
        // Nothing may wait on the old log's offsets.
        self.release();
        let before = (self.log.records(), self.log.bytes());
        let was_direct = self.log.is_direct();
        let started = Instant::now();
        let records = self.node.snapshot();
        match self.log.rewrite(&records) {
            Ok(()) => {
                // The gate starts over at the new log's end; everything
                // it held was released above.
                let held = self.new_log(self.log.bytes());
                debug_assert!(held.is_empty());
            }
            Err(RewriteError::Unchanged(e)) => {
                // The old log stays whole and in use; try again later.
                warn!(
                    "commit log compaction failed, keeping the log as it is and retrying in {} s: {e}",
                    RETRY_AFTER.as_secs()
                );
                self.compaction.after = Instant::now() + RETRY_AFTER;
                self.drain();
                return self.flush(true);
            }
            // The new log is in use, its name maybe not durable: a failed
            // log write (the node restarts in place from the directory).
            Err(RewriteError::Replaced(e)) => return self.log_failed(e),
        }
        if was_direct && !self.log.is_direct() {
            warn!("commit log: direct writes could not follow the compacted log; using write and fdatasync");
        }
        info!(
            "commit log compacted: {} records ({} bytes) -> {} records ({} bytes) in {:.1} ms",
            before.0,
            before.1,
            self.log.records(),
            self.log.bytes(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        // The snapshot's Compacted event.
        self.drain();
        self.flush(true)
    }
}
