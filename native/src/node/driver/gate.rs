//! The durability gate: which of the node's outputs may leave now and
//! which wait for the commit log, and when the log is synced (group
//! commit, the group window, lazy writes; see the driver's module docs).
//! Everything that decides it is in this file.

use super::syncer::SyncJob;
use super::{Driver, LAZY_WINDOW};
use crate::cluster::cluster_file::SyncPolicy;
use ringside_core::{Message, NodeId};
use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

/// Something to do once the batch's records are durable.
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
    Event(String),
}

impl Action {
    /// True for a message that carries nothing read from the node's data
    /// (see [`Driver::emit`]).
    fn carries_no_data(&self) -> bool {
        use ringside_core::message::Msg;
        match self {
            Action::Send { msg, .. } => matches!(
                msg.body,
                Msg::Write { .. }
                    | Msg::WriteAck { .. }
                    | Msg::Read { .. }
                    | Msg::RepairAck { .. }
                    | Msg::HintAck { .. }
                    | Msg::Heartbeat { .. }
                    | Msg::SyncDigest { .. }
            ),
            Action::ToClient { .. } | Action::Event(_) => false,
        }
    }
}

/// The first action of `queue` when the log is durable as far as it
/// needs, taken out.
fn ready(queue: &mut VecDeque<(u64, Action)>, durable: u64) -> Option<Action> {
    if queue.front()?.0 <= durable {
        queue.pop_front().map(|(_, action)| action)
    } else {
        None
    }
}

/// What the gate holds and the marks it decides by.
pub(super) struct Gate {
    /// Actions waiting for the log to be durable up to the length they
    /// carry (its length when they were emitted), in order.
    pub(super) held: VecDeque<(u64, Action)>,
    /// The same for what lazy writes brought (their acknowledgements).
    pub(super) held_lazy: VecDeque<(u64, Action)>,
    /// When the last sync ended.
    pub(super) last_sync: Instant,
    /// True when outputs of the current batch were carried out before its
    /// first `Persist` (they leave before the batch's fsync).
    pub(super) sent_early: bool,
    /// True while the loop handles a lazy write.
    pub(super) lazy_input: bool,
    /// The log length a sync is due for now: the end of the last record
    /// not from a lazy write, or more when a held action needs more.
    pub(super) urgent_to: u64,
    /// When the oldest record of a lazy write not yet covered by a sync
    /// was appended.
    pub(super) lazy_since: Option<Instant>,
    /// How long such a record may wait ([`LAZY_WINDOW`]; tests change it).
    pub(super) lazy_window: Duration,
}

impl Gate {
    pub(super) fn new() -> Gate {
        Gate {
            held: VecDeque::new(),
            held_lazy: VecDeque::new(),
            last_sync: Instant::now(),
            sent_early: false,
            lazy_input: false,
            urgent_to: 0,
            lazy_since: None,
            lazy_window: LAZY_WINDOW,
        }
    }

    /// Notes a record the node appended to the log, now `log_bytes` long.
    pub(super) fn appended(&mut self, log_bytes: u64) {
        if self.lazy_input {
            self.lazy_since.get_or_insert_with(Instant::now);
        } else {
            self.urgent_to = log_bytes;
        }
    }

    /// Everything held, in order, the lazy writes' acknowledgements last:
    /// what a failed log write must answer or drop.
    pub(super) fn take_held(&mut self) -> VecDeque<(u64, Action)> {
        let mut held = std::mem::take(&mut self.held);
        held.append(&mut self.held_lazy);
        held
    }
}

impl Driver {
    /// Carries out an action now when every record before it is durable
    /// (written, with periodic sync), else holds it until they are.
    ///
    /// Lazy writes bend that in two ways (see the module docs). What a
    /// lazy write brings (its acknowledgement) waits for its record in a
    /// queue of its own, so that it holds up nothing else. And a message
    /// that carries nothing read from the node's data (a request to a
    /// replica, an acknowledgement, a heartbeat, a digest) waits only for
    /// the records that are not lazy: a coordinator's remote writes still
    /// leave before its own write while it has a lazy record pending.
    /// Anything that may carry a value (a read's answer, a reply, an
    /// event) waits for every record before it, lazy ones included, and
    /// so makes their sync due.
    pub(super) fn emit(&mut self, action: Action) {
        if self.gate.lazy_input {
            let need = self.log.bytes();
            if need <= self.durable() {
                self.act(action);
            } else {
                self.gate.held_lazy.push_back((need, action));
            }
            return;
        }
        let need = if action.carries_no_data() {
            self.gate.urgent_to
        } else {
            self.log.bytes()
        };
        if self.gate.held.is_empty() && need <= self.durable() {
            self.gate.sent_early = true;
            self.act(action);
        } else {
            self.gate.urgent_to = self.gate.urgent_to.max(need);
            self.gate.held.push_back((need, action));
        }
    }

    /// How much of the log counts as durable for what follows it: fsynced
    /// with batch sync, written with periodic sync.
    pub(super) fn durable(&self) -> u64 {
        match self.settings.sync {
            SyncPolicy::Batch => self.log.synced(),
            SyncPolicy::Periodic => self.log.written(),
        }
    }

    /// Carries out the held actions whose records are now durable.
    pub(super) fn release(&mut self) {
        let durable = self.durable();
        while let Some(action) = ready(&mut self.gate.held, durable) {
            self.act(action);
        }
        while let Some(action) = ready(&mut self.gate.held_lazy, durable) {
            self.act(action);
        }
    }

    /// Makes the batch's records durable per the policy, inline or (with
    /// batch sync, not `inline`) by handing the fsync to the fsync thread,
    /// then lets go what no longer waits. If the log fails, see the module
    /// docs: an error only when the node must stop.
    pub(super) fn flush(&mut self, inline: bool) -> io::Result<()> {
        if let Err(e) = self.make_durable(inline) {
            return self.log_failed(e);
        }
        self.release();
        Ok(())
    }

    pub(super) fn make_durable(&mut self, inline: bool) -> io::Result<()> {
        self.log.write_pending()?;
        if !self.will_sync() {
            return Ok(());
        }
        if !inline && self.settings.sync == SyncPolicy::Batch {
            if self.gate.last_sync.elapsed() < self.group_window() {
                return Ok(());
            }
            if let Some(jobs) = &self.syncer.jobs {
                let Some(work) = self.log.start_sync()? else {
                    return Ok(());
                };
                self.gate.lazy_since = None;
                let written = self.log.written();
                let job = SyncJob {
                    work,
                    written,
                    epoch: self.syncer.epoch,
                };
                match jobs.send(job) {
                    Ok(()) => self.syncer.in_flight = Some(written),
                    Err(std::sync::mpsc::SendError(job)) => {
                        // The thread is gone: do its work here.
                        self.syncer.jobs = None;
                        job.work.run()?;
                        self.log.synced_to(written);
                        self.gate.last_sync = Instant::now();
                    }
                }
                return Ok(());
            }
        }
        self.log.sync()?;
        self.gate.lazy_since = None;
        self.gate.last_sync = Instant::now();
        Ok(())
    }

    /// When the loop must wake for a sync without input, if it must.
    pub(super) fn sync_wakeup(&self) -> Option<Instant> {
        if self.settings.sync == SyncPolicy::Periodic && self.log.is_dirty() {
            Some(self.gate.last_sync + Duration::from_millis(self.settings.sync_period_ms))
        } else if self.settings.sync == SyncPolicy::Batch
            && self.log.is_dirty()
            && self.syncer.in_flight.is_none()
        {
            let window = self.gate.last_sync + self.group_window();
            Some(self.lazy_deadline().map_or(window, |t| t.max(window)))
        } else {
            None
        }
    }

    /// The group-commit window (see the module docs).
    fn group_window(&self) -> Duration {
        Duration::from_micros(self.settings.sync_group_window_us)
    }

    /// While every record not yet synced came from a lazy write and
    /// nothing waits on them but their acknowledgements: when the oldest
    /// will have waited [`LAZY_WINDOW`] (or what a test set).
    fn lazy_deadline(&self) -> Option<Instant> {
        let since = self.gate.lazy_since?;
        (self.gate.urgent_to <= self.log.synced()).then(|| since + self.gate.lazy_window)
    }

    /// With batch sync: false only before the [`Driver::lazy_deadline`].
    pub(super) fn sync_due(&self) -> bool {
        self.lazy_deadline()
            .is_none_or(|deadline| Instant::now() >= deadline)
    }

    /// True when [`Driver::flush`] will fsync (or start one): with batch
    /// sync when records are not yet durable and no fsync is in flight,
    /// with periodic sync when the log is dirty and the period is up.
    pub(super) fn will_sync(&self) -> bool {
        match self.settings.sync {
            SyncPolicy::Batch => {
                self.log.is_dirty() && self.syncer.in_flight.is_none() && self.sync_due()
            }
            SyncPolicy::Periodic => {
                self.log.is_dirty()
                    && self.gate.last_sync.elapsed()
                        >= Duration::from_millis(self.settings.sync_period_ms)
            }
        }
    }
}
