//! The driver's side of core's output gate
//! ([`ringside_core::durability::Gate`]): which of the node's outputs may
//! leave now and which wait for the commit log, and when the log is
//! synced. The rules themselves (what each output waits for, group
//! commit, lazy writes) live in core, so that the simulator's sweep runs
//! exactly what a real node runs; this file only tells the gate what the
//! log did and carries out what it lets go. Positions in the gate are
//! byte offsets of the log file (each record's end).

use super::syncer::SyncJob;
use super::Driver;
use crate::node::timeline::{self, Step};
use ringside_core::durability::Needs;
use ringside_core::{Input, Message, NodeId, Record};
use std::io;
use std::time::Instant;

/// The gate, holding the driver's [`Action`]s.
pub(super) type Gate = ringside_core::durability::Gate<Action>;

/// How one turn's records are made durable: whether the turn held a
/// `lone` write (its sync never waits for the group window), and whether
/// the sync runs `here`, on the node's thread, or on the fsync thread.
/// A lone write goes to the fsync thread while the disk is busy.
#[derive(Clone, Copy, Debug)]
pub(super) struct Durable {
    pub(super) lone: bool,
    pub(super) here: bool,
}

impl Durable {
    /// A lone write, synced here.
    pub(super) const LONE: Durable = Durable {
        lone: true,
        here: true,
    };
    /// A group's records, synced on the fsync thread once the group
    /// window allows.
    pub(super) const GROUP: Durable = Durable {
        lone: false,
        here: false,
    };
}

/// Something to do once what it depends on is durable.
pub(super) enum Action {
    Send {
        to: NodeId,
        msg: Message,
    },
    /// A frame for one client; `answer` when it answers a counted request.
    ToClient {
        conn: u64,
        text: String,
        answer: bool,
        /// The request id when this answers a data request: such an answer
        /// becomes an error if the log fails before it leaves.
        data_reply: Option<u64>,
    },
}

impl Action {
    /// What it waits for: a peer message as core says; anything for a
    /// client (a reply, an `inspect`) may carry a value. (Events wait in
    /// a queue of their own: see [`super::events`].)
    fn needs(&self) -> Needs {
        match self {
            Action::Send { msg, .. } => Needs::of_message(&msg.body),
            Action::ToClient { .. } => Needs::Data,
        }
    }
}

impl Driver {
    /// Tells the gate what the node is about to handle (`None`: something
    /// of the driver's own, such as an `inspect`, which is no lazy write
    /// and about no key).
    pub(super) fn begin_input(&mut self, input: Option<&Input>) {
        self.gate.begin_input(input.unwrap_or(&Input::Start));
    }

    /// Appends a record the node persisted and tells the gate where it
    /// ends.
    pub(super) fn append(&mut self, record: &Record) {
        let frame = self.log.append(record);
        self.compaction.appended(frame);
        self.syncer.count.records += 1;
        let now = self.clock.mono_us();
        self.gate.appended(self.log.bytes(), record, now);
    }

    /// Hands an action to the gate and carries out what it lets go.
    pub(super) fn emit(&mut self, action: Action) {
        let needs = action.needs();
        self.gate.emit(action, needs);
        if self.release() {
            self.sent_early = true;
        }
    }

    /// Carries out what the gate lets go, in order, then publishes the
    /// events now durable; true if the gate let anything go.
    pub(super) fn release(&mut self) -> bool {
        let mut any = false;
        while let Some(action) = self.gate.pop_ready() {
            any = true;
            self.act(action);
        }
        self.release_events();
        any
    }

    /// Flushes as for a lone write synced here (`inline`), or as for a
    /// group synced on the fsync thread: see [`Driver::flush_as`].
    pub(super) fn flush(&mut self, inline: bool) -> io::Result<()> {
        self.flush_as(if inline {
            Durable::LONE
        } else {
            Durable::GROUP
        })
    }

    /// Makes the batch's records durable as the gate asks, here or (with
    /// batch sync) by handing the sync to the fsync thread, then lets go
    /// what no longer waits. If the log fails, see the module docs: an
    /// error only when the node must stop.
    pub(super) fn flush_as(&mut self, how: Durable) -> io::Result<()> {
        if let Err(e) = self.make_durable(how) {
            return self.log_failed(e);
        }
        self.release();
        Ok(())
    }

    pub(super) fn make_durable(&mut self, how: Durable) -> io::Result<()> {
        self.log.write_pending()?;
        self.gate.written_to(self.log.written());
        if !self.gate.should_sync(self.clock.mono_us(), how.lone) {
            return Ok(());
        }
        if !how.here && self.settings.policy.is_batch() {
            if let Some(jobs) = &self.syncer.jobs {
                let Some(work) = self.log.start_sync()? else {
                    // Nothing the log has not synced: tell the gate.
                    return self.sync_here();
                };
                let written = self.log.written();
                let job = SyncJob {
                    work,
                    written,
                    epoch: self.syncer.epoch,
                };
                self.gate.sync_started(written);
                self.syncer.count.syncs += 1;
                if let Err(std::sync::mpsc::SendError(job)) = jobs.send(job) {
                    // The thread is gone: do its work here.
                    self.syncer.jobs = None;
                    job.work.run()?;
                    self.log.synced_to(written);
                    self.gate.sync_finished(written, self.clock.mono_us());
                }
                return Ok(());
            }
        }
        self.sync_here()
    }

    /// Syncs the log on this thread and tells the gate. Never while a
    /// sync is in flight on the fsync thread.
    pub(super) fn sync_here(&mut self) -> io::Result<()> {
        let work = self.log.has_pending() || self.log.is_dirty();
        let at = Instant::now();
        self.log.sync()?;
        if work {
            // A call with nothing to sync says nothing of the disk.
            self.syncer.last_took = at.elapsed();
            self.syncer.count.syncs += 1;
            self.syncer.count.here += 1;
        }
        let end = self.log.synced();
        self.gate.sync_started(end);
        self.gate.sync_finished(end, self.clock.mono_us());
        Ok(())
    }

    /// True when a flush for a `lone` write (or not) would sync, or
    /// start one.
    pub(super) fn will_sync(&self, lone: bool) -> bool {
        (self.log.has_pending() || self.log.is_dirty())
            && self.gate.should_sync(self.clock.mono_us(), lone)
    }

    /// `ringside bench --timeline` marks the write of a lone write synced
    /// here.
    pub(super) fn flush_timed(&mut self, how: Durable) -> io::Result<()> {
        let timed = how.here
            && timeline::enabled()
            && (!self.settings.policy.is_batch() && self.log.has_pending() || self.will_sync(true));
        if timed {
            timeline::mark(Step::WriteStart);
        }
        self.flush_as(how)?;
        if timed {
            timeline::mark(Step::WriteEnd);
        }
        Ok(())
    }

    /// The log is being replaced (compacted, or reopened after a
    /// failure): an fsync's answer about the old one no longer counts,
    /// and the gate starts over as if the first `durable` bytes of the
    /// log in use were durable. Returns what it held.
    pub(super) fn new_log(&mut self, durable: u64) -> Vec<Action> {
        self.syncer.epoch += 1;
        let now = self.clock.mono_us();
        self.gate.reset(durable, now)
    }
}
