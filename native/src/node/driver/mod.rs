//! The one loop that owns a [`Node`]: it takes inputs from the connections
//! (through one bounded channel) and from its timers, feeds them to the
//! node, and carries out the node's outputs in order.
//!
//! **One thread.** The loop is a task on the node's single-threaded
//! runtime, beside the connections' tasks, so every hand-off between a
//! socket and the node (a request in, a peer message out, a reply out) is
//! a task wakeup on the same thread, not a switch to another thread: on a
//! small or busy machine each such switch cost tens of microseconds, and a
//! QUORUM put crossed six of them. What makes the commit log durable
//! (with batch sync, one direct synchronous write of the new records;
//! else, or where the file system refuses direct writes, `write` into
//! the page cache and an `fdatasync`: see [`crate::node::commitlog`]) runs on
//! that thread when only one input of its batch wrote to the log, and
//! otherwise on a second thread (see below). "fsync" below means either.
//!
//! **Group commit.** The loop takes a batch of inputs (whatever is queued,
//! up to [`MAX_BATCH`]), handles them all, writes every `Persist` of the
//! batch to the log, and then, with the `batch` sync policy, fsyncs once.
//! Every output waits until the records appended before it are durable
//! (fsynced; with `periodic` sync, written): that is the core's contract,
//! a `Persist` is durable before any `Send` or `Reply` that follows it.
//! Outputs with no record before them leave at once, and a coordinator's
//! requests (remote writes and reads, which the core emits before its own
//! `Persist`) wait only for the reservation of their op id: so they reach
//! the replicas while it fsyncs, under load too, and the replicas' fsyncs
//! overlap its own (the rules are core's gate: see
//! [`ringside_core::durability`]).
//!
//! - *One write* (one client, say): when only one input of the batch
//!   wrote to the log (others, such as a replica's late acknowledgement
//!   of the put before, may come with it), the loop fsyncs inline,
//!   blocking the node's thread for the fsync (nothing else is waiting
//!   for it; a hand-off to another thread and back would add two thread
//!   switches to the put).
//!   If outputs left early, it first yields once, so that the tasks
//!   holding the sockets write them out before the thread blocks. While
//!   the disk is busy (a compaction writes its snapshot, or the last sync
//!   was slow), and while the node has other requests open (load that
//!   came one input per turn), the lone write's fsync goes to the other
//!   thread instead, started at once all the same.
//! - *A batch of several writes* (load): the fsync goes to the `commit-log-fsync`
//!   thread and the loop goes on taking, handling and writing the next
//!   inputs, whose outputs wait too. When the fsync is done the loop lets
//!   go what it covered and fsyncs, in one go, everything written
//!   meanwhile. One fsync is in flight at a time, and it covers many
//!   writes. With `sync_group_window_us` set (none by default), the next
//!   one starts no sooner than that window, grown with the groups (see
//!   [`ringside_core::durability`]), after the previous one ended, so
//!   that it covers more; a lone write never waits for the window.
//!
//! **Lazy writes.** A coordinator tells the replicas its answer does not
//! wait for (those beyond the consistency level's count, after its own
//! write: one of three at QUORUM) that their write is lazy
//! (`Msg::Write { lazy: true }`). Such a replica stores it and holds its
//! acknowledgement until the record is durable, as always, but does not
//! sync for it alone: the record goes out with the node's next sync, or
//! [`ringside_core::durability::LAZY_WINDOW_US`] after it came, whichever is first. Its held
//! acknowledgement holds up nothing else, and messages that carry no
//! data (a coordinator's remote writes, heartbeats, digests) do not wait
//! for lazy records; an acknowledgement waits for the newest record of
//! its key (a replica that logged nothing for an older write acknowledges
//! what it holds), and anything that may carry a value (a read's answer,
//! a reply) waits for every record before it; either makes the sync due
//! at once. These rules are core's output gate
//! ([`ringside_core::durability`]), which the simulator runs too.
//! On a machine whose nodes share one disk the third replica's durable
//! write would otherwise queue beside the two the answer waits for and
//! slow them. What a client was told is durable is
//! unchanged: the consistency level's count of replicas, each after its
//! own sync.
//!
//! **A failed write or fsync** (disk full, EIO) is handled as a crash of
//! the node followed by a restart in place: nothing held back leaves (no
//! peer write is acknowledged; the clients waiting get an `Internal`
//! error), the log is cut back to its last durable length, and
//! the node is rebuilt from what the log holds, so its memory never
//! claims what its disk lost. Requests still open are answered with the
//! same error. The node keeps serving: reads, and writes once the disk
//! takes them again. Only when the log cannot even be cut back does the
//! node stop.

//!
//! ## Files
//!
//! The [`Driver`] and its loop are here; each concern it carries has a
//! file and a struct of its own: [`gate`] (the driver's side of core's
//! output gate: which outputs wait for the log, when it syncs),
//! [`syncer`] (the fsync thread), [`restart`] (a failed log write as a
//! crash and a restart in place), [`compaction`], [`clients`] (answers
//! and event fan-out), [`requests`] (open requests, their log lines),
//! [`events`] (the node's events logged and published), [`log_tail`]
//! (what `inspect` shows), [`clock`] (wall time for the node, monotonic
//! time for timers and syncs).

mod clients;
mod clock;
mod compaction;
mod events;
mod gate;
mod log_tail;
mod requests;
mod restart;
mod stalls;
mod syncer;
#[cfg(test)]
mod tests;

use crate::node::commitlog::CommitLog;
use crate::node::inbox::{overloaded, DriverInput, Inbox};
use crate::node::transport::{self, PeerQueue};
use clients::Clients;
use clock::Clock;
use compaction::{Compaction, Written};
use events::Events;
use gate::{Action, Durable, Gate};
use log_tail::LogTail;
use requests::Requests;
use ringside_core::durability::Policy;
use ringside_core::protocol::{inspect_json, ok_json, reply_json, NodeAddr};
use ringside_core::{ClientRef, Input, Micros, Node, NodeId, Output, TimerId};
use stalls::Stalls;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::time::{Duration, Instant};
use syncer::{SyncDone, Syncer};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// The log target of the one line per answered request, at debug level:
/// `RUST_LOG=info,ringside::request=debug` shows them. Not at info: under
/// load a node answers thousands of requests a second, and a line for
/// each would cost a few percent of put throughput and grow each node's
/// log by hundreds of KB/s.
pub const REQUEST_TARGET: &str = "ringside::request";

/// Inputs taken per batch at most, so a flood cannot starve the timers.
pub const MAX_BATCH: usize = 512;
/// Timers fired per loop turn at most.
const MAX_TIMERS_PER_TURN: usize = 1024;

/// The driver's own settings (the node has its own in its config).
pub struct DriverSettings {
    pub addr: String,
    pub nodes: Vec<NodeAddr>,
    /// The log's sync policy; with batch sync under load, a background
    /// fsync starts no sooner than its group window after the previous
    /// one ended (see the module docs).
    pub policy: Policy,
    pub compact_min_records: u64,
    /// Room kept in a client's frame queue for replies: events are dropped
    /// for a subscriber whose queue has less room than this.
    pub reply_room: usize,
}

/// The loop that owns the node.
pub struct Driver {
    node: Node,
    log: CommitLog,
    settings: DriverSettings,
    clock: Clock,
    inbox: Inbox,
    peers: HashMap<NodeId, PeerQueue>,
    /// The node's timers, by when they fire on the monotonic clock.
    timers: BTreeSet<(Micros, TimerId)>,
    gate: Gate,
    events: Events,
    /// True when outputs of the current batch left before its sync.
    sent_early: bool,
    syncer: Syncer,
    clients: Clients,
    requests: Requests,
    tail: LogTail,
    compaction: Compaction,
    /// Commit-log failures survived so far (see [`restart`]).
    log_failures: u64,
    stalls: Stalls,
}

/// What woke the loop.
enum Wake {
    Input(DriverInput),
    Synced(SyncDone),
    /// A compaction's snapshot is written (or failed).
    Snapshot(Written),
    Alarm,
}

impl Driver {
    pub fn new(
        node: Node,
        log: CommitLog,
        settings: DriverSettings,
        inbox: Inbox,
        peers: HashMap<NodeId, PeerQueue>,
    ) -> Driver {
        let mut log = log;
        restart::write_directly(&mut log, settings.policy);
        let tail = LogTail::after(node.lsn());
        let clock = Clock::new();
        let gate = Gate::new(settings.policy, log.bytes(), clock.mono_us());
        let failure_timeout = Duration::from_millis(node.config().cluster.failure_timeout_ms);
        let mut driver = Driver {
            node,
            log,
            settings,
            clock,
            inbox,
            peers,
            timers: BTreeSet::new(),
            gate,
            events: Events::default(),
            sent_early: false,
            syncer: Syncer::start(),
            clients: Clients::default(),
            requests: Requests::default(),
            tail,
            compaction: Compaction::new(),
            log_failures: 0,
            stalls: Stalls::new(failure_timeout),
        };
        driver.refresh_events();
        driver
    }

    /// Runs until [`DriverInput::Shutdown`] or until every sender is gone,
    /// and hands back the node, its log synced, for the caller to let go
    /// of as it sees fit (see [`crate::node::server`]). An error means the
    /// commit log could not be written: the node stops rather than
    /// acknowledge what it cannot keep.
    pub async fn run(mut self) -> io::Result<Node> {
        self.handle(Input::Start);
        self.flush(true)?;
        let mut sync_done = self.syncer.done.take();
        let mut snapshots = self.compaction.done.take();
        let never = Instant::now() + Duration::from_secs(365 * 86_400);
        let alarm = tokio::time::sleep_until(never.into());
        tokio::pin!(alarm);
        let mut armed = never;
        loop {
            self.drop_idle_timers();
            // Re-armed only when the deadline moves: arming a timer wakes
            // the runtime through its eventfd, a syscall and an extra poll
            // per loop turn.
            let at = self.next_wakeup().unwrap_or(never);
            if at != armed {
                alarm.as_mut().reset(at.into());
                armed = at;
            }
            let synced = async {
                match sync_done.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let snapshot = async {
                match snapshots.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            // A snapshot being copied takes a slice per turn: with no
            // input, the loop takes a turn for it at once.
            let copying = self.compaction.is_copying();
            let wake = tokio::select! {
                biased;
                d = synced => match d {
                    Some(d) => Wake::Synced(d),
                    None => {
                        // The fsync thread is gone: fsync inline from now
                        // on; one in flight counts as failed.
                        sync_done = None;
                        self.syncer.jobs = None;
                        Wake::Synced(SyncDone {
                            written: 0,
                            epoch: self.syncer.epoch,
                            result: Err(io::Error::other("the fsync thread stopped")),
                            took: Duration::ZERO,
                        })
                    }
                },
                Some(w) = snapshot => Wake::Snapshot(w),
                x = self.inbox.recv() => Wake::Input(x.unwrap_or(DriverInput::Shutdown)),
                () = &mut alarm => Wake::Alarm,
                () = std::future::ready(()), if copying => Wake::Alarm,
            };
            let turn = Instant::now();
            let records_before = self.log.records();
            let mut stop = false;
            let mut inputs = 0;
            // How many of the turn's inputs appended to the log.
            let mut writers = 0;
            let woken_by_input = matches!(wake, Wake::Input(_));
            match wake {
                Wake::Input(input) => {
                    inputs += 1;
                    let (s, wrote) = self.take_input(input);
                    stop |= s;
                    writers += usize::from(wrote);
                }
                Wake::Synced(done) => self.synced(done)?,
                Wake::Snapshot(w) => self.snapshot_written(w)?,
                Wake::Alarm => {}
            }
            while inputs < MAX_BATCH {
                match self.inbox.try_recv() {
                    Ok(input) => {
                        inputs += 1;
                        let (s, wrote) = self.take_input(input);
                        stop |= s;
                        writers += usize::from(wrote);
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        stop = true;
                        break;
                    }
                }
            }
            self.fire_timers();
            let how = self.durable_how(woken_by_input, writers);
            if how.here && self.sent_early && self.log.has_pending() && self.will_sync(true) {
                // Let the connections' tasks write what was sent early
                // (a coordinator's remote writes) before the thread blocks
                // in fsync: yield_now resumes this task only after every
                // task already woken has run.
                tokio::task::yield_now().await;
            }
            self.sent_early = false;
            let handled = turn.elapsed();
            // A written snapshot replaces the log before this turn's
            // records are synced: it syncs them itself, into the old log,
            // before the switch.
            let compacting = Instant::now();
            self.maybe_adopt()?;
            let mut compacted = compacting.elapsed();
            let flushing = Instant::now();
            self.flush_timed(how)?;
            let flushed = flushing.elapsed();
            let compacting = Instant::now();
            self.maybe_compact()?;
            compacted += compacting.elapsed();
            if self.requests.lines_waiting() {
                if how.here {
                    // The answers first: their connections' tasks write
                    // them out before this one resumes. (Under load the
                    // lines go at once: a yield costs a poll of the
                    // sockets per turn.)
                    tokio::task::yield_now().await;
                }
                self.requests.log_answered();
            }
            let appended = self.log.records().saturating_sub(records_before);
            self.stalls.turn(turn.elapsed(), || {
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                format!(
                    "{:.0} ms on {inputs} inputs, {:.0} ms writing {appended} records and syncing, {:.0} ms compacting",
                    ms(handled),
                    ms(flushed),
                    ms(compacted)
                )
            });
            if stop {
                // A direct write in flight must land before the last one:
                // they may both write the block the records end in.
                if self.gate.sync_in_flight().is_some() {
                    if let Some(done) = match sync_done.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => None,
                    } {
                        self.synced(done)?;
                    }
                }
                self.sync_here()?;
                self.release();
                if let Err(e) = self.log.trim() {
                    warn!("could not cut the zeros written ahead off the commit log: {e}");
                }
                self.stalls.report();
                self.syncer.count.report();
                info!("stopped; commit log synced");
                return Ok(self.node);
            }
        }
    }

    /// How this turn's records are made durable. A lone write (one
    /// client, say) starts its sync at once and runs it inline: handing
    /// the fsync to the other thread and hearing back would cost two
    /// thread switches. It counts writes, not inputs (`writers`): at one
    /// client a replica's late acknowledgement of the put before often
    /// comes in the same turn as the next put (and lazy writes, which
    /// wait for another sync, do not count). Under load the fsync goes to
    /// the other thread and this one takes the next batch meanwhile. So
    /// does a lone write's fsync while the disk is busy, so that this
    /// thread does not wait for a slow disk with its heartbeats stopped:
    /// while a compaction writes its snapshot, and after any slow sync
    /// until one is fast again. It still does not wait for the window.
    /// And so does a lone write's while other requests are open here:
    /// load that came one input per turn, where a sync inline would stop
    /// the thread for its length with their inputs waiting.
    fn durable_how(&self, woken_by_input: bool, writers: usize) -> Durable {
        let lone = woken_by_input && writers <= 1;
        Durable {
            lone,
            here: lone
                && self.requests.open_count() <= 1
                && self.gate.sync_in_flight().is_none()
                && !self.compaction.is_running()
                && self.syncer.inline_ok(),
        }
    }

    /// When the loop must wake without input: the next timer or sync.
    fn next_wakeup(&self) -> Option<Instant> {
        let timer = self.timers.first().map(|(at, _)| *at);
        let sync = self.gate.next_wakeup();
        let at = match (timer, sync) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        at.map(|at| self.clock.instant_of(at))
    }

    /// [`Driver::input`]. True when it asks the loop to stop, and whether
    /// it appended to the log a record that is not from a lazy write
    /// (see the module docs).
    fn take_input(&mut self, input: DriverInput) -> (bool, bool) {
        let lsn = self.tail.lsn;
        let lazy = matches!(
            &input,
            DriverInput::Peer { msg, .. }
                if matches!(msg.body, ringside_core::message::Msg::Write { lazy: true, .. })
        );
        let stop = self.input(input);
        (stop, self.tail.lsn != lsn && !lazy)
    }

    /// Hands `input` to the node at the wall clock's time, read now, and
    /// takes its outputs.
    fn handle(&mut self, input: Input) {
        self.begin_input(Some(&input));
        self.node.handle(self.clock.wall_us(), input);
        self.drain();
    }

    /// Handles one input; true when it asks the loop to stop.
    fn input(&mut self, input: DriverInput) -> bool {
        self.begin_input(None);
        match input {
            DriverInput::ClientOpened {
                conn,
                tx,
                in_flight,
            } => self.clients.open(conn, tx, in_flight),
            DriverInput::ClientClosed { conn } => {
                if self.clients.close(conn) {
                    self.refresh_events();
                }
            }
            DriverInput::Request { conn, id, request } => {
                let client = ClientRef { conn, req: id };
                self.requests.open(client, &request);
                self.handle(Input::Client { client, request });
            }
            DriverInput::Inspect { conn, id, page } => {
                let text = match page.allowed(self.node.data()) {
                    Ok(()) => {
                        debug!(target: REQUEST_TARGET, conn, req = id, "inspect -> ok");
                        inspect_json(id, &self.inspect(&page))
                    }
                    Err(why) => {
                        info!(conn, req = id, "inspect -> Overloaded: {why}");
                        overloaded(id, &why)
                    }
                };
                self.emit(Action::ToClient {
                    conn,
                    text,
                    answer: true,
                    data_reply: None,
                });
            }
            DriverInput::Subscribe { conn, id } => {
                self.clients.subscribe(conn);
                self.refresh_events();
                info!(conn, req = id, "subscribe -> ok");
                self.emit(Action::ToClient {
                    conn,
                    text: ok_json(id),
                    answer: true,
                    data_reply: None,
                });
            }
            DriverInput::Peer { from, msg } => self.handle(Input::Message { from, msg }),
            DriverInput::PeerLost(peer) => self.handle(Input::PeerDisconnected(peer)),
            DriverInput::Shutdown => return true,
        }
        false
    }

    fn fire_timers(&mut self) {
        for _ in 0..MAX_TIMERS_PER_TURN {
            self.drop_idle_timers();
            let now = self.clock.mono_us();
            match self.timers.first() {
                Some(&(at, id)) if at <= now => {
                    self.timers.pop_first();
                    self.handle(Input::Timer(id));
                }
                _ => break,
            }
        }
    }

    /// Drops the timers at the front that would change nothing if they
    /// fired (the deadlines of requests already over): otherwise every
    /// request's deadline woke the loop once more, two seconds later.
    fn drop_idle_timers(&mut self) {
        while let Some(&(_, id)) = self.timers.first() {
            if self.node.timer_matters(id) {
                break;
            }
            self.timers.pop_first();
        }
    }

    /// Takes every output of the node: records go to the log's queue,
    /// timers to the timer set, the rest goes out or waits (see `emit`).
    fn drain(&mut self) {
        while let Some(out) = self.node.poll() {
            match out {
                Output::Persist(record) => {
                    self.append(&record);
                    self.tail.push(record);
                }
                Output::Timer { id, at } => {
                    // The node's time is the wall clock's; its timers run
                    // on the monotonic clock, so that a step of the wall
                    // clock neither fires them early nor holds them.
                    let after = at.saturating_sub(self.node.now());
                    self.timers.insert((self.clock.mono_us() + after, id));
                }
                Output::Send { to, msg } => self.emit(Action::Send { to, msg }),
                Output::Reply { client, reply } => {
                    self.requests.answered(client, &reply);
                    self.emit(Action::ToClient {
                        conn: client.conn,
                        text: reply_json(client.req, &reply),
                        answer: true,
                        data_reply: Some(client.req),
                    });
                }
                Output::Event(e) => self.event(e),
            }
        }
        debug_assert_eq!(self.tail.lsn, self.node.lsn(), "the log tail's lsn");
    }

    /// Carries out an action the gate let go.
    fn act(&mut self, action: Action) {
        match action {
            Action::Send { to, msg } => {
                if let Some(q) = self.peers.get(&to) {
                    // A full queue means the peer is slow or away; the
                    // protocol copes with a lost message (retry, hint,
                    // timeout), so dropping it keeps memory bounded.
                    if !transport::send_to_peer(q, &msg) {
                        debug!("queue to peer {to} full; dropped a {}", msg.body.kind());
                    }
                }
            }
            Action::ToClient {
                conn, text, answer, ..
            } => {
                if self.clients.deliver(conn, text, answer) {
                    self.refresh_events();
                }
            }
        }
    }
}
