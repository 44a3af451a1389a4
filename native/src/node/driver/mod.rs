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
//! Outputs with no record before them leave at once: that is what lets a
//! coordinator's remote writes, which the core emits before its own
//! `Persist`, reach the replicas while it fsyncs, so the replicas' fsyncs
//! overlap its own.
//!
//! - *One write* (one client, say): when only one input of the batch
//!   wrote to the log (others, such as a replica's late acknowledgement
//!   of the put before, may come with it), the loop fsyncs inline,
//!   blocking the node's thread for the fsync (nothing else is waiting
//!   for it; a hand-off to another thread and back would add two thread
//!   switches to the put).
//!   If outputs left early, it first yields once, so that the tasks
//!   holding the sockets write them out before the thread blocks.
//! - *A batch of several writes* (load): the fsync goes to the `commit-log-fsync`
//!   thread and the loop goes on taking, handling and writing the next
//!   inputs, whose outputs wait too. When the fsync is done the loop lets
//!   go what it covered and fsyncs, in one go, everything written
//!   meanwhile. One fsync is in flight at a time, and it covers many
//!   writes. The next one starts no sooner than `sync_group_window_us`
//!   (200 µs by default) after the previous one ended, so that it covers
//!   more: on the development box an fsync costs the kernel (and the VM)
//!   far more than the records it carries, and 32-client batch puts went
//!   from about 11.6k to 13.4k/s with lower latency. A lone write never
//!   waits for the window.
//!
//! **Lazy writes.** A coordinator tells the replicas its answer does not
//! wait for (those beyond the consistency level's count, after its own
//! write: one of three at QUORUM) that their write is lazy
//! (`Msg::Write { lazy: true }`). Such a replica stores it and holds its
//! acknowledgement until the record is durable, as always, but does not
//! sync for it alone: the record goes out with the node's next sync, or
//! [`LAZY_WINDOW`] after it came, whichever is first. Its held
//! acknowledgement holds up nothing else, and messages that carry no
//! data (a coordinator's remote writes, acknowledgements, heartbeats) do
//! not wait for lazy records; anything that may carry a value (a read's
//! answer, a reply) waits for them and makes their sync due at once.
//! On a machine whose nodes share one disk the third replica's durable
//! write queued beside the two the answer waits for: one client's
//! QUORUM put p50 went from about 440 to 410 µs on the development box
//! (README, Performance). What a client was told is durable is
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

use crate::cluster::cluster_file::SyncPolicy;
use crate::node::commitlog::{CommitLog, SyncWork};
use crate::node::inbox::DriverInput;
use crate::node::timeline::{self, Step};
use crate::node::transport::PeerQueue;
use ringside_core::message::ErrorKind;
use ringside_core::protocol::{
    error_json, event_json, inspect_json, ok_json, reply_json, InspectNode, LogStats, LogTailEntry,
    NodeAddr,
};
use ringside_core::{
    ClientRef, EventKind, EventLevel, Input, Message, Micros, Node, NodeId, Output,
};
use ringside_core::{Request, TimerId};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tracing::error;
use tracing::{debug, info, warn, Level};

/// How long a lazy write's record may wait for another sync to carry it
/// (see the module docs).
pub const LAZY_WINDOW: Duration = Duration::from_millis(2);

/// The log target of the one line per answered request, at debug level:
/// `RUST_LOG=info,ringside::request=debug` shows them. Not at info: under
/// load a node answers thousands of requests a second: a line for each
/// cost a few percent of the cluster's put throughput on the development
/// box (README, Performance) and grew each node's log by hundreds of
/// KB/s.
pub const REQUEST_TARGET: &str = "ringside::request";

/// Inputs taken per batch at most, so a flood cannot starve the timers.
pub const MAX_BATCH: usize = 512;
/// Timers fired per loop turn at most.
const MAX_TIMERS_PER_TURN: usize = 1024;

/// The driver's own settings (the node has its own in its config).
pub struct DriverSettings {
    pub addr: String,
    pub nodes: Vec<NodeAddr>,
    pub sync: SyncPolicy,
    pub sync_period_ms: u64,
    /// With batch sync under load: a background fsync starts no sooner
    /// than this long after the previous one ended (see the module docs).
    pub sync_group_window_us: u64,
    pub compact_min_records: u64,
    /// Room kept in a client's frame queue for replies: events are dropped
    /// for a subscriber whose queue has less room than this.
    pub reply_room: usize,
}

struct Client {
    tx: mpsc::Sender<String>,
    in_flight: Arc<AtomicUsize>,
    subscribed: bool,
    /// Events not delivered because the subscriber read too slowly.
    events_dropped: u64,
}

/// Something to do once the batch's records are durable.
enum Action {
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

/// The clock handed to the node: wall-clock microseconds since the UNIX
/// epoch at start, advanced by a monotonic clock, so timestamps look like
/// the protocol's examples but never jump backwards with the wall clock.
pub struct Clock {
    start_wall_us: Micros,
    start: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as Micros)
            .unwrap_or(0);
        Clock {
            start_wall_us: wall,
            start: Instant::now(),
        }
    }

    pub fn now_us(&self) -> Micros {
        self.start_wall_us + self.start.elapsed().as_micros() as Micros
    }

    /// The monotonic instant at which [`Clock::now_us`] reaches `us`.
    pub fn instant_of(&self, us: Micros) -> Instant {
        self.start + Duration::from_micros(us.saturating_sub(self.start_wall_us))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// The loop that owns the node.
pub struct Driver {
    node: Node,
    log: CommitLog,
    settings: DriverSettings,
    clock: Clock,
    inbox: mpsc::Receiver<DriverInput>,
    peers: HashMap<NodeId, PeerQueue>,
    clients: HashMap<u64, Client>,
    timers: BTreeSet<(Micros, TimerId)>,
    /// Actions waiting for the log to be durable up to the length they
    /// carry (its length when they were emitted), in order.
    held: VecDeque<(u64, Action)>,
    /// The same for what lazy writes brought (their acknowledgements).
    held_lazy: VecDeque<(u64, Action)>,
    /// The fsync thread's job queue and answers (none: fsync inline only).
    sync_jobs: Option<std::sync::mpsc::Sender<SyncJob>>,
    sync_done: Option<mpsc::UnboundedReceiver<SyncDone>>,
    /// The log length the fsync in flight on that thread covers.
    sync_in_flight: Option<u64>,
    /// Bumped whenever the log is replaced: answers about an older one are
    /// stale.
    log_epoch: u64,
    /// The open requests and, while requests are logged
    /// ([`REQUEST_TARGET`]), what each asked and when, for its log line.
    asked: HashMap<ClientRef, Option<(String, Instant)>>,
    /// Log lines of requests answered this turn, written once the
    /// answers have left (a log write is not on a request's path).
    answered: Vec<(ClientRef, String)>,
    last_sync: Instant,
    /// Commit-log failures survived so far.
    log_failures: u64,
    /// No compaction before this (set after one failed).
    compact_after: Instant,
    /// The last records appended, with their lsn, for `inspect`.
    log_tail: std::collections::VecDeque<(u64, ringside_core::Record)>,
    /// The node's lsn as of the last record in `log_tail`.
    tail_lsn: u64,
    /// Whether a client subscribed to events (see `refresh_events`).
    subscribers: bool,
    /// True when outputs of the current batch were carried out before its
    /// first `Persist` (they leave before the batch's fsync).
    sent_early: bool,
    /// True while the loop handles a lazy write (see the module docs).
    lazy_input: bool,
    /// The log length a sync is due for now: the end of the last record
    /// not from a lazy write, or more when a held action needs more.
    urgent_to: u64,
    /// When the oldest record of a lazy write not yet covered by a sync
    /// was appended.
    lazy_since: Option<Instant>,
    /// How long such a record may wait ([`LAZY_WINDOW`]; tests change it).
    lazy_window: Duration,
}

/// Work for the fsync thread: what makes the log durable (an fsync, or
/// a direct write), how much of it that covers, and which log it is.
struct SyncJob {
    work: SyncWork,
    written: u64,
    epoch: u64,
}

/// The fsync thread's answer to a [`SyncJob`].
struct SyncDone {
    written: u64,
    epoch: u64,
    result: io::Result<()>,
}

/// Starts the thread that fsyncs the commit log in the background while
/// the driver goes on (see the module docs); none if it cannot start.
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
                let result = job.work.run();
                let done = SyncDone {
                    written: job.written,
                    epoch: job.epoch,
                    result,
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

/// With batch sync, switches the log to direct writes where the file
/// system allows them (see the commit log's docs), and says which.
fn write_directly(log: &mut CommitLog, sync: SyncPolicy) {
    if sync != SyncPolicy::Batch {
        return;
    }
    match log.write_directly() {
        Ok(true) => debug!("commit log: direct synchronous writes (O_DIRECT | O_DSYNC)"),
        Ok(false) => info!(
            "commit log: the file system refuses direct writes (O_DIRECT); using write and fdatasync"
        ),
        Err(e) => warn!("commit log: cannot switch to direct writes ({e}); using write and fdatasync"),
    }
}

/// What woke the loop.
enum Wake {
    Input(DriverInput),
    Synced(SyncDone),
    Alarm,
}

/// Records `inspect` shows from the end of the log.
const LOG_TAIL: usize = 8;

impl Driver {
    pub fn new(
        node: Node,
        log: CommitLog,
        settings: DriverSettings,
        inbox: mpsc::Receiver<DriverInput>,
        peers: HashMap<NodeId, PeerQueue>,
    ) -> Driver {
        let (sync_jobs, sync_done) = spawn_syncer().unzip();
        let mut log = log;
        write_directly(&mut log, settings.sync);
        let tail_lsn = node.lsn();
        let mut driver = Driver {
            node,
            log,
            settings,
            clock: Clock::new(),
            inbox,
            peers,
            clients: HashMap::new(),
            timers: BTreeSet::new(),
            held: VecDeque::new(),
            held_lazy: VecDeque::new(),
            sync_jobs,
            sync_done,
            sync_in_flight: None,
            log_epoch: 0,
            asked: HashMap::new(),
            answered: Vec::new(),
            last_sync: Instant::now(),
            log_failures: 0,
            compact_after: Instant::now(),
            log_tail: std::collections::VecDeque::with_capacity(LOG_TAIL),
            tail_lsn,
            subscribers: false,
            sent_early: false,
            lazy_input: false,
            urgent_to: 0,
            lazy_since: None,
            lazy_window: LAZY_WINDOW,
        };
        driver.refresh_events();
        driver
    }

    /// Asks the node for every event while someone wants them (a
    /// subscriber, or the debug log of `ringside::event`), and else only
    /// the notable ones this driver logs: building the others (each
    /// message, record and request) is a good part of the node's work.
    /// Called whenever a client subscribes or goes.
    fn refresh_events(&mut self) {
        self.subscribers = self.clients.values().any(|c| c.subscribed);
        let all = self.subscribers || tracing::enabled!(target: "ringside::event", Level::DEBUG);
        self.node.set_events(if all {
            EventLevel::All
        } else {
            EventLevel::Notable
        });
    }

    /// Runs until [`DriverInput::Shutdown`] or until every sender is gone.
    /// An error means the commit log could not be written: the node stops
    /// rather than acknowledge what it cannot keep.
    pub async fn run(mut self) -> io::Result<()> {
        let now = self.clock.now_us();
        self.node.handle(now, Input::Start);
        self.drain();
        self.flush(true)?;
        let mut sync_done = self.sync_done.take();
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
            let wake = tokio::select! {
                biased;
                d = synced => match d {
                    Some(d) => Wake::Synced(d),
                    None => {
                        // The fsync thread is gone: fsync inline from now
                        // on; one in flight counts as failed.
                        sync_done = None;
                        self.sync_jobs = None;
                        Wake::Synced(SyncDone {
                            written: 0,
                            epoch: self.log_epoch,
                            result: Err(io::Error::other("the fsync thread stopped")),
                        })
                    }
                },
                x = self.inbox.recv() => Wake::Input(x.unwrap_or(DriverInput::Shutdown)),
                () = &mut alarm => Wake::Alarm,
            };
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
            // A lone write (one client, say) is fsynced inline: handing
            // the fsync to the other thread and hearing back would cost
            // two thread switches. It counts writes, not inputs: at one
            // client a replica's late acknowledgement of the put before
            // often comes in the same turn as the next put (and lazy
            // writes, which wait for another sync, do not count). Under load
            // the fsync goes to the other thread and this one takes the
            // next batch meanwhile.
            let inline = woken_by_input && writers <= 1 && self.sync_in_flight.is_none();
            if inline && self.sent_early && self.log.has_pending() && self.will_sync() {
                // Let the connections' tasks write what was sent early
                // (a coordinator's remote writes) before the thread blocks
                // in fsync: yield_now resumes this task only after every
                // task already woken has run.
                tokio::task::yield_now().await;
            }
            self.sent_early = false;
            // `ringside bench --timeline`: the write of a lone write.
            let timed = inline
                && timeline::enabled()
                && (self.log.has_pending() || self.log.is_dirty())
                && (self.settings.sync == SyncPolicy::Periodic || self.sync_due());
            if timed {
                timeline::mark(Step::WriteStart);
            }
            self.flush(inline)?;
            if timed {
                timeline::mark(Step::WriteEnd);
            }
            self.maybe_compact()?;
            if !self.answered.is_empty() {
                if inline {
                    // The answers first: their connections' tasks write
                    // them out before this one resumes. (Under load the
                    // lines go at once: a yield costs a poll of the
                    // sockets per turn.)
                    tokio::task::yield_now().await;
                }
                self.log_answered();
            }
            if stop {
                // A direct write in flight must land before the last one:
                // they may both write the block the records end in.
                if self.sync_in_flight.is_some() {
                    if let Some(done) = match sync_done.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => None,
                    } {
                        self.synced(done)?;
                    }
                }
                self.log.sync()?;
                self.release();
                if let Err(e) = self.log.trim() {
                    warn!("could not cut the zeros written ahead off the commit log: {e}");
                }
                info!("stopped; commit log synced");
                return Ok(());
            }
        }
    }

    /// Writes the log lines of the requests answered so far.
    fn log_answered(&mut self) {
        for (client, line) in self.answered.drain(..) {
            debug!(target: REQUEST_TARGET, conn = client.conn, req = client.req, "{line}");
        }
    }

    /// The fsync thread answered.
    fn synced(&mut self, done: SyncDone) -> io::Result<()> {
        if done.epoch != self.log_epoch || self.sync_in_flight.is_none() {
            return Ok(()); // about a log since replaced
        }
        self.sync_in_flight = None;
        match done.result {
            Ok(()) => {
                self.log.synced_to(done.written);
                self.last_sync = Instant::now();
                self.release();
                Ok(())
            }
            Err(e) => self.log_failed(e),
        }
    }

    /// When the loop must wake without input: the next timer or periodic
    /// sync.
    fn next_wakeup(&self) -> Option<Instant> {
        let timer = self
            .timers
            .first()
            .map(|(at, _)| self.clock.instant_of(*at));
        let sync = if self.settings.sync == SyncPolicy::Periodic && self.log.is_dirty() {
            Some(self.last_sync + Duration::from_millis(self.settings.sync_period_ms))
        } else if self.settings.sync == SyncPolicy::Batch
            && self.log.is_dirty()
            && self.sync_in_flight.is_none()
        {
            let window = self.last_sync + self.group_window();
            Some(self.lazy_deadline().map_or(window, |t| t.max(window)))
        } else {
            None
        };
        match (timer, sync) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// [`Driver::input`], noting while it runs whether the input is a lazy
    /// write (see the module docs). True when it asks the loop to stop,
    /// and whether it appended to the log a record that is not lazy.
    fn take_input(&mut self, input: DriverInput) -> (bool, bool) {
        let lsn = self.tail_lsn;
        self.lazy_input = matches!(
            &input,
            DriverInput::Peer { msg, .. }
                if matches!(msg.body, ringside_core::message::Msg::Write { lazy: true, .. })
        );
        let stop = self.input(input);
        let lazy = std::mem::take(&mut self.lazy_input);
        (stop, self.tail_lsn != lsn && !lazy)
    }

    /// Handles one input; true when it asks the loop to stop.
    fn input(&mut self, input: DriverInput) -> bool {
        let now = self.clock.now_us();
        match input {
            DriverInput::ClientOpened {
                conn,
                tx,
                in_flight,
            } => {
                self.clients.insert(
                    conn,
                    Client {
                        tx,
                        in_flight,
                        subscribed: false,
                        events_dropped: 0,
                    },
                );
            }
            DriverInput::ClientClosed { conn } => {
                if let Some(c) = self.clients.remove(&conn) {
                    if c.subscribed {
                        self.refresh_events();
                    }
                    if c.events_dropped > 0 {
                        info!(
                            conn,
                            "subscriber closed; {} events were dropped because it read too slowly",
                            c.events_dropped
                        );
                    }
                }
            }
            DriverInput::Request { conn, id, request } => {
                let client = ClientRef { conn, req: id };
                let asked = tracing::enabled!(target: REQUEST_TARGET, Level::DEBUG)
                    .then(|| (request.to_string(), Instant::now()));
                self.asked.insert(client, asked);
                self.node.handle(now, Input::Client { client, request });
                self.drain();
            }
            DriverInput::Inspect { conn, id } => {
                let text = inspect_json(id, &self.inspect());
                debug!(target: REQUEST_TARGET, conn, req = id, "inspect -> ok");
                self.emit(Action::ToClient {
                    conn,
                    text,
                    answer: true,
                    data_reply: None,
                });
            }
            DriverInput::Subscribe { conn, id } => {
                if let Some(c) = self.clients.get_mut(&conn) {
                    c.subscribed = true;
                }
                self.refresh_events();
                info!(conn, req = id, "subscribe -> ok");
                self.emit(Action::ToClient {
                    conn,
                    text: ok_json(id),
                    answer: true,
                    data_reply: None,
                });
            }
            DriverInput::Peer { from, msg } => {
                self.node.handle(now, Input::Message { from, msg });
                self.drain();
            }
            DriverInput::PeerLost(peer) => {
                self.node.handle(now, Input::PeerDisconnected(peer));
                self.drain();
            }
            DriverInput::Shutdown => return true,
        }
        false
    }

    /// This node's state for `inspect`, with what only the driver knows.
    pub fn inspect(&self) -> InspectNode {
        let mut i = InspectNode::of(&self.node);
        i.addr = self.settings.addr.clone();
        i.log = LogStats {
            records: self.log.records(),
            bytes: self.log.bytes(),
        };
        i.nodes = self.settings.nodes.clone();
        // The answer waits, as every output does, until what was appended
        // before it is durable: with batch sync, fsynced.
        let synced = self.settings.sync == SyncPolicy::Batch;
        i.log_tail = self
            .log_tail
            .iter()
            .map(|(lsn, record)| LogTailEntry {
                lsn: *lsn,
                record: record.to_string(),
                synced,
            })
            .collect();
        i
    }

    fn fire_timers(&mut self) {
        for _ in 0..MAX_TIMERS_PER_TURN {
            self.drop_idle_timers();
            let now = self.clock.now_us();
            match self.timers.first() {
                Some(&(at, id)) if at <= now => {
                    self.timers.pop_first();
                    self.node.handle(now, Input::Timer(id));
                    self.drain();
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
                    self.log.append(&record);
                    if self.lazy_input {
                        self.lazy_since.get_or_insert_with(Instant::now);
                    } else {
                        self.urgent_to = self.log.bytes();
                    }
                    self.tail_lsn += 1;
                    if self.log_tail.len() == LOG_TAIL {
                        self.log_tail.pop_front();
                    }
                    self.log_tail.push_back((self.tail_lsn, record));
                }
                Output::Timer { id, at } => {
                    self.timers.insert((at, id));
                }
                Output::Send { to, msg } => self.emit(Action::Send { to, msg }),
                Output::Reply { client, reply } => {
                    let asked = self.asked.remove(&client).flatten();
                    if tracing::enabled!(target: REQUEST_TARGET, Level::DEBUG) {
                        let (what, since) =
                            asked.unwrap_or_else(|| ("request".into(), Instant::now()));
                        let took_ms = since.elapsed().as_secs_f64() * 1000.0;
                        let line = match &reply {
                            ringside_core::Reply::Error { kind, message } => {
                                format!("{what} -> {kind}: {message} ({took_ms:.1} ms)")
                            }
                            ringside_core::Reply::Written { ts } => {
                                format!("{what} -> ok ts {ts} ({took_ms:.1} ms)")
                            }
                            ringside_core::Reply::Read { kv: Some(kv) } => {
                                format!("{what} -> found, ts {} ({took_ms:.1} ms)", kv.ts)
                            }
                            ringside_core::Reply::Read { kv: None } => {
                                format!("{what} -> no value ({took_ms:.1} ms)")
                            }
                        };
                        self.answered.push((client, line));
                    }
                    self.emit(Action::ToClient {
                        conn: client.conn,
                        text: reply_json(client.req, &reply),
                        answer: true,
                        data_reply: Some(client.req),
                    });
                }
                Output::Event(e) => {
                    match &e.kind {
                        EventKind::Started {
                            replayed,
                            keys,
                            hints,
                            ..
                        } => info!(
                            "started: replayed {replayed} records, {keys} keys, {hints} hints"
                        ),
                        EventKind::PeerDown { peer, reason } => {
                            info!("peer {peer} is down: {reason}")
                        }
                        EventKind::PeerUp { peer, restarted } => {
                            info!(
                                "peer {peer} is up{}",
                                if *restarted { " (restarted)" } else { "" }
                            )
                        }
                        EventKind::HintDropped {
                            target,
                            key,
                            reason,
                        } => warn!("hint for node {target}, key {key} dropped: {reason}"),
                        EventKind::Compacted { records } => {
                            info!("compacted the commit log to {records} records")
                        }
                        _ => {}
                    }
                    let subscribers = self.subscribers;
                    if subscribers || tracing::enabled!(target: "ringside::event", Level::DEBUG) {
                        let text = event_json(&e);
                        debug!(target: "ringside::event", "{text}");
                        if subscribers {
                            self.emit(Action::Event(text));
                        }
                    }
                }
            }
        }
        debug_assert_eq!(self.tail_lsn, self.node.lsn(), "the log tail's lsn");
    }

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
    fn emit(&mut self, action: Action) {
        if self.lazy_input {
            let need = self.log.bytes();
            if need <= self.durable() {
                self.act(action);
            } else {
                self.held_lazy.push_back((need, action));
            }
            return;
        }
        let need = if action.carries_no_data() {
            self.urgent_to
        } else {
            self.log.bytes()
        };
        if self.held.is_empty() && need <= self.durable() {
            self.sent_early = true;
            self.act(action);
        } else {
            self.urgent_to = self.urgent_to.max(need);
            self.held.push_back((need, action));
        }
    }

    /// How much of the log counts as durable for what follows it: fsynced
    /// with batch sync, written with periodic sync.
    fn durable(&self) -> u64 {
        match self.settings.sync {
            SyncPolicy::Batch => self.log.synced(),
            SyncPolicy::Periodic => self.log.written(),
        }
    }

    /// Carries out the held actions whose records are now durable.
    fn release(&mut self) {
        let durable = self.durable();
        while let Some(action) = ready(&mut self.held, durable) {
            self.act(action);
        }
        while let Some(action) = ready(&mut self.held_lazy, durable) {
            self.act(action);
        }
    }

    /// Makes the batch's records durable per the policy, inline or (with
    /// batch sync, not `inline`) by handing the fsync to the fsync thread,
    /// then lets go what no longer waits. If the log fails, see the module
    /// docs: an error only when the node must stop.
    fn flush(&mut self, inline: bool) -> io::Result<()> {
        if let Err(e) = self.make_durable(inline) {
            return self.log_failed(e);
        }
        self.release();
        Ok(())
    }

    fn make_durable(&mut self, inline: bool) -> io::Result<()> {
        self.log.write_pending()?;
        if !self.will_sync() {
            return Ok(());
        }
        if !inline && self.settings.sync == SyncPolicy::Batch {
            if self.last_sync.elapsed() < self.group_window() {
                return Ok(());
            }
            if let Some(jobs) = &self.sync_jobs {
                let Some(work) = self.log.start_sync()? else {
                    return Ok(());
                };
                self.lazy_since = None;
                let written = self.log.written();
                let job = SyncJob {
                    work,
                    written,
                    epoch: self.log_epoch,
                };
                match jobs.send(job) {
                    Ok(()) => self.sync_in_flight = Some(written),
                    Err(std::sync::mpsc::SendError(job)) => {
                        // The thread is gone: do its work here.
                        self.sync_jobs = None;
                        job.work.run()?;
                        self.log.synced_to(written);
                        self.last_sync = Instant::now();
                    }
                }
                return Ok(());
            }
        }
        self.log.sync()?;
        self.lazy_since = None;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// A new log replaces the old one: an fsync's answer about the old one
    /// no longer counts, and what marked offsets into it starts over.
    fn new_log_epoch(&mut self) {
        self.log_epoch += 1;
        self.urgent_to = 0;
        self.lazy_since = None;
    }

    /// The group-commit window (see the module docs).
    fn group_window(&self) -> Duration {
        Duration::from_micros(self.settings.sync_group_window_us)
    }

    /// While every record not yet synced came from a lazy write and
    /// nothing waits on them but their acknowledgements: when the oldest
    /// will have waited [`LAZY_WINDOW`] (or what a test set).
    fn lazy_deadline(&self) -> Option<Instant> {
        let since = self.lazy_since?;
        (self.urgent_to <= self.log.synced()).then(|| since + self.lazy_window)
    }

    /// With batch sync: false only before the [`Driver::lazy_deadline`].
    fn sync_due(&self) -> bool {
        self.lazy_deadline()
            .is_none_or(|deadline| Instant::now() >= deadline)
    }

    /// True when [`Driver::flush`] will fsync (or start one): with batch
    /// sync when records are not yet durable and no fsync is in flight,
    /// with periodic sync when the log is dirty and the period is up.
    fn will_sync(&self) -> bool {
        match self.settings.sync {
            SyncPolicy::Batch => {
                self.log.is_dirty() && self.sync_in_flight.is_none() && self.sync_due()
            }
            SyncPolicy::Periodic => {
                self.log.is_dirty()
                    && self.last_sync.elapsed()
                        >= Duration::from_millis(self.settings.sync_period_ms)
            }
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Send { to, msg } => {
                if let Some(q) = self.peers.get(&to) {
                    // A full queue means the peer is slow or away; the
                    // protocol copes with a lost message (retry, hint,
                    // timeout), so dropping it keeps memory bounded.
                    if !q.push(&msg) {
                        debug!("queue to peer {to} full; dropped a {}", msg.body.kind());
                    }
                }
            }
            Action::ToClient {
                conn, text, answer, ..
            } => {
                let gone = match self.clients.get(&conn) {
                    Some(c) => {
                        if answer {
                            c.in_flight.fetch_sub(1, Ordering::Relaxed);
                        }
                        // Answers always fit: the connection has at most
                        // max_in_flight of them outstanding and events
                        // leave `reply_room` free.
                        matches!(
                            c.tx.try_send(text),
                            Err(mpsc::error::TrySendError::Closed(_))
                        )
                    }
                    None => false,
                };
                if gone && self.clients.remove(&conn).is_some_and(|c| c.subscribed) {
                    self.refresh_events();
                }
            }
            Action::Event(text) => {
                let room = self.settings.reply_room;
                for c in self.clients.values_mut().filter(|c| c.subscribed) {
                    if c.tx.capacity() > room {
                        let _ = c.tx.try_send(text.clone());
                    } else {
                        c.events_dropped += 1;
                    }
                }
            }
        }
    }

    /// The commit log could not be written or synced: what the batch held
    /// back never leaves (a data reply becomes an `Internal` error; peer
    /// messages, acknowledgements among them, are dropped), the log is cut
    /// to its last durable length and reopened, and the node is rebuilt
    /// from it and started again, as after a crash. An error only when the
    /// log cannot be cut back or reopened: then the node stops.
    fn log_failed(&mut self, cause: io::Error) -> io::Result<()> {
        self.log_failures += 1;
        let why = format!(
            "the commit log write failed ({cause}); the request was not acknowledged, and may be applied on other replicas"
        );
        let mut held = std::mem::take(&mut self.held);
        held.append(&mut self.held_lazy);
        // The log is replaced below: an fsync in flight no longer counts.
        self.sync_in_flight = None;
        self.new_log_epoch();
        let (mut answered, mut dropped) = (0usize, 0usize);
        for (_, action) in held {
            match action {
                Action::ToClient {
                    conn,
                    data_reply: Some(req),
                    ..
                } => {
                    answered += 1;
                    // Its log line said ok; the error below says why not.
                    self.answered
                        .retain(|(c, _)| !(c.conn == conn && c.req == req));
                    self.act(Action::ToClient {
                        conn,
                        text: error_json(Some(req), ErrorKind::Internal, &why),
                        answer: true,
                        data_reply: None,
                    });
                }
                Action::ToClient { .. } => self.act(action),
                Action::Send { .. } | Action::Event(_) => dropped += 1,
            }
        }
        let cut = self.log.discard_unsynced()?;
        let dir = self
            .log
            .path()
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .to_path_buf();
        let config = self.node.config().clone();
        let (log, _, (node, recovery)) =
            CommitLog::open_with(&dir, |records| Node::recover_from(config, records))?;
        // Every request still open belonged to the node being replaced.
        let open: Vec<ClientRef> = self.asked.drain().map(|(c, _)| c).collect();
        for client in &open {
            self.act(Action::ToClient {
                conn: client.conn,
                text: error_json(Some(client.req), ErrorKind::Internal, &why),
                answer: true,
                data_reply: None,
            });
        }
        error!(
            "commit log write failed (failure {} of this process): {cause}; answered {} requests with an error, dropped {dropped} messages and events, cut {cut} unsynced bytes; restarting the node in place from {} durable records",
            self.log_failures,
            answered + open.len(),
            recovery.records
        );
        self.node = node;
        self.log = log;
        write_directly(&mut self.log, self.settings.sync);
        // The tail starts again, as after a restart: records may have
        // been cut, and the rebuilt node numbers from what the log holds.
        self.tail_lsn = self.node.lsn();
        self.log_tail.clear();
        self.refresh_events();
        self.timers.clear();
        let now = self.clock.now_us();
        self.node.handle(now, Input::Start);
        self.drain();
        // Start persists nothing, so this cannot recurse further.
        self.flush(true)
    }

    /// Rewrites the log as a snapshot once it holds far more records than
    /// the state needs.
    fn maybe_compact(&mut self) -> io::Result<()> {
        let live = (self.node.data().len() + self.node.hint_count()) as u64;
        let limit = 4 * live + self.settings.compact_min_records;
        if self.log.records() <= limit
            || Instant::now() < self.compact_after
            || self.sync_in_flight.is_some()
        {
            return Ok(());
        }
        // Whatever the log holds must be durable before the snapshot
        // replaces it; a failure here is a failed log write like any other.
        if let Err(e) = self.log.sync() {
            return self.log_failed(e);
        }
        // Nothing may wait on the old log's offsets.
        self.release();
        self.new_log_epoch();
        let before = (self.log.records(), self.log.bytes());
        let was_direct = self.log.is_direct();
        let started = Instant::now();
        let records = self.node.snapshot();
        if let Err(e) = self.log.rewrite(&records) {
            // The old log stays whole and in use; try again later.
            warn!(
                "commit log compaction failed, keeping the log as it is and retrying in 10 s: {e}"
            );
            self.compact_after = Instant::now() + Duration::from_secs(10);
            self.drain();
            return self.flush(true);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::transport::{peer_queue, PeerQueueRx};
    use ringside_core::{ClusterConfig, Config, Consistency, Key, Msg, MsgId};
    use std::path::Path;

    /// Node 0 of the classic 4-node cluster with batch sync, its log in
    /// `dir`; the receiving ends of its peer queues, by peer.
    fn node0(
        dir: &Path,
        inbox: mpsc::Receiver<DriverInput>,
    ) -> (Driver, HashMap<NodeId, PeerQueueRx>) {
        let log = CommitLog::open(dir).unwrap().log;
        let node = Node::new(Config::new(0, ClusterConfig::classic(4)));
        let settings = DriverSettings {
            addr: "127.0.0.1:1".into(),
            nodes: vec![],
            sync: SyncPolicy::Batch,
            sync_period_ms: 10,
            sync_group_window_us: 0,
            compact_min_records: 10_000,
            reply_room: 16,
        };
        let (mut txs, mut rxs) = (HashMap::new(), HashMap::new());
        for peer in 1..4 {
            let (tx, rx) = peer_queue();
            txs.insert(peer, tx);
            rxs.insert(peer, rx);
        }
        (Driver::new(node, log, settings, inbox, txs), rxs)
    }

    /// Under load (not inline), the next fsync starts no sooner than the
    /// group window after the last one ended, and the loop knows when to
    /// wake for it; a lone write is fsynced at once whatever the window.
    #[test]
    fn under_load_the_next_fsync_waits_for_the_group_window() {
        let dir = tempfile::tempdir().unwrap();
        let (_inbox_tx, inbox_rx) = mpsc::channel(4);
        let (mut d, _peers) = node0(dir.path(), inbox_rx);
        d.settings.sync_group_window_us = 50_000;
        let write = |ts| ringside_core::Record::Write {
            key: Key::Int(1),
            version: ringside_core::Version {
                ts,
                value: Some("v".into()),
            },
        };
        d.last_sync = Instant::now();
        d.log.append(&write(1));
        d.make_durable(false).unwrap();
        assert!(
            d.sync_in_flight.is_none(),
            "inside the window: no fsync yet"
        );
        assert!(d.log.is_dirty());
        assert_eq!(
            d.next_wakeup(),
            Some(d.last_sync + Duration::from_millis(50)),
            "the loop wakes when the window ends"
        );
        // A lone write does not wait.
        d.make_durable(true).unwrap();
        assert!(!d.log.is_dirty());
        assert_eq!(d.next_wakeup(), None);
        // Past the window, the background fsync starts.
        d.log.append(&write(2));
        d.last_sync = Instant::now() - Duration::from_millis(60);
        d.make_durable(false).unwrap();
        assert_eq!(d.sync_in_flight, Some(d.log.written()));
    }

    /// The deadline of a request already over is dropped instead of
    /// waking the loop; a live request's deadline and the node's own
    /// timers stay.
    #[test]
    fn timers_that_would_change_nothing_do_not_wake_the_loop() {
        let dir = tempfile::tempdir().unwrap();
        let (_inbox_tx, inbox_rx) = mpsc::channel(4);
        let (mut d, _peers) = node0(dir.path(), inbox_rx);
        let now = d.clock.now_us();
        d.node.handle(now, Input::Start);
        d.node.handle(
            now,
            Input::Client {
                client: ringside_core::ClientRef { conn: 1, req: 1 },
                request: Request::Put {
                    key: Key::Int(0),
                    value: "v".into(),
                    cl: Consistency::Quorum,
                },
            },
        );
        d.drain();
        let live: Vec<TimerId> = d
            .timers
            .iter()
            .map(|&(_, id)| id)
            .filter(|id| matches!(id, TimerId::Request { .. }))
            .collect();
        assert_eq!(live.len(), 1, "{:?}", d.timers);
        let before = d.timers.len();
        let over = TimerId::Request { op: 999_999 };
        assert!(!d.node.timer_matters(over));
        d.timers.insert((1, over));
        assert_eq!(d.next_wakeup(), Some(d.clock.instant_of(1)));
        d.drop_idle_timers();
        assert_eq!(d.timers.len(), before);
        assert!(d.timers.iter().all(|&(_, id)| id != over));
        assert!(d.timers.iter().any(|&(_, id)| id == live[0]));
        assert_ne!(d.next_wakeup(), Some(d.clock.instant_of(1)));
    }

    #[test]
    fn clock_instants_match_its_micros() {
        let clock = Clock::new();
        let before = Instant::now();
        let now = clock.now_us();
        let after = Instant::now();
        let at = clock.instant_of(now);
        // now_us truncates to whole microseconds.
        assert!(at + Duration::from_micros(1) >= before && at <= after);
        let later = clock.instant_of(now + 5_000);
        assert_eq!(later - at, Duration::from_millis(5));
        assert!(clock.instant_of(0) <= before);
    }

    /// A lone QUORUM put, coordinated by a replica with batch sync: its
    /// remote writes reach the peers' senders before the coordinator has
    /// even written its own record (so the replicas' fsyncs overlap its
    /// own instead of following it; no batch window delays anything), and
    /// the client's answer comes only once the record is in the log.
    #[tokio::test]
    async fn remote_writes_leave_before_the_local_fsync_and_the_reply_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let log_len = || records_in_file(dir.path());
        let (inbox_tx, inbox_rx) = mpsc::channel(64);
        let (driver, mut peers) = node0(dir.path(), inbox_rx);
        let driver = tokio::spawn(driver.run());

        let (client_tx, mut client_rx) = mpsc::channel(16);
        let in_flight = Arc::new(AtomicUsize::new(1));
        inbox_tx
            .send(DriverInput::ClientOpened {
                conn: 1,
                tx: client_tx,
                in_flight,
            })
            .await
            .unwrap();
        // The put alone in its batch, as with one client.
        tokio::task::yield_now().await;
        // Key 0 lives on nodes 0, 1 and 2.
        inbox_tx
            .send(DriverInput::Request {
                conn: 1,
                id: 7,
                request: Request::Put {
                    key: Key::Int(0),
                    value: "v".into(),
                    cl: Consistency::Quorum,
                },
            })
            .await
            .unwrap();

        // The first write each peer is sent (heartbeats come first).
        let mut writes = vec![];
        for peer in [1, 2] {
            let rx = peers.get_mut(&peer).unwrap();
            loop {
                let msg = Message::decode(&rx.recv().await.unwrap()).unwrap();
                if let Msg::Write { op, .. } = msg.body {
                    assert_eq!(
                        log_len(),
                        0,
                        "the write to node {peer} left only after the coordinator wrote its own record"
                    );
                    writes.push(op);
                    break;
                }
            }
        }
        let op = writes[0];

        // Node 1 acknowledges: QUORUM is met with node 0's own copy.
        inbox_tx
            .send(from_peer(1, 1, Msg::WriteAck { op }))
            .await
            .unwrap();
        let reply = client_rx.recv().await.unwrap();
        assert!(reply.starts_with(r#"{"id":7,"ok":true"#), "{reply}");
        assert!(log_len() > 0, "the put was answered before it was logged");

        inbox_tx.send(DriverInput::Shutdown).await.unwrap();
        driver.await.unwrap().unwrap();
        let records = CommitLog::open(dir.path()).unwrap().records;
        assert!(
            records.iter().any(|r| matches!(
                r,
                ringside_core::Record::Write {
                    key: Key::Int(0),
                    ..
                }
            )),
            "{records:?}"
        );
    }

    /// The fsync thread, played by the test: jobs come to it, answers go
    /// back when it says.
    fn fake_syncer(
        driver: &mut Driver,
    ) -> (
        std::sync::mpsc::Receiver<SyncJob>,
        mpsc::UnboundedSender<SyncDone>,
    ) {
        let (jobs_tx, jobs) = std::sync::mpsc::channel();
        let (done, done_rx) = mpsc::unbounded_channel();
        driver.sync_jobs = Some(jobs_tx);
        driver.sync_done = Some(done_rx);
        (jobs, done)
    }

    async fn next_job(jobs: &std::sync::mpsc::Receiver<SyncJob>) -> SyncJob {
        for _ in 0..10_000 {
            if let Ok(job) = jobs.try_recv() {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("no fsync was asked for");
    }

    fn put(id: u64, key: u8) -> DriverInput {
        DriverInput::Request {
            conn: 1,
            id,
            request: Request::Put {
                key: Key::Int(key),
                value: format!("v{id}"),
                cl: Consistency::Quorum,
            },
        }
    }

    fn ack(op: u64) -> DriverInput {
        ack_from(1, op)
    }

    fn ack_from(from: NodeId, op: u64) -> DriverInput {
        from_peer(from, op, Msg::WriteAck { op })
    }

    /// Node `from`'s message number `n`.
    fn from_peer(from: NodeId, n: u64, body: Msg) -> DriverInput {
        DriverInput::Peer {
            from,
            msg: Message {
                id: MsgId { from, gen: 1, n },
                body,
            },
        }
    }

    /// Records in the log file of `dir` (zeros written ahead are not
    /// records).
    fn records_in_file(dir: &Path) -> usize {
        let bytes = std::fs::read(dir.join(crate::node::commitlog::LOG_FILE)).unwrap_or_default();
        ringside_core::storage::LogReader::new(&bytes).count()
    }

    /// Does what the fsync thread would for `job` (its work only when the
    /// result is to be `Ok`) and answers with `result`.
    fn finish(job: SyncJob, done: &mpsc::UnboundedSender<SyncDone>, result: io::Result<()>) {
        if result.is_ok() {
            job.work.run().unwrap();
        }
        done.send(SyncDone {
            written: job.written,
            epoch: job.epoch,
            result,
        })
        .unwrap_or_else(|_| panic!("the driver stopped"));
    }

    /// The next answer; the fsync thread of these tests never answers, so
    /// a write handed to it is never answered.
    async fn answer(rx: &mut mpsc::Receiver<String>) -> String {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("no answer: the write went to the fsync thread, which never answers here")
            .unwrap()
    }

    /// One client's next put, in one turn with the last replica's late
    /// acknowledgement of the put before, is still written inline like a
    /// lone put: only a turn with several writes hands its fsync to the
    /// fsync thread. (Handed over, it cost a thread switch each way: at
    /// one client about a third of the coordinator's writes went there.)
    #[tokio::test]
    async fn one_write_beside_a_late_acknowledgement_is_written_inline() {
        let dir = tempfile::tempdir().unwrap();
        let Started {
            inbox_tx,
            driver,
            mut peers,
            jobs,
            done: _done,
            mut client_rx,
        } = started(dir.path(), 2).await;
        tokio::task::yield_now().await;
        // Key 0 lives on nodes 0, 1 and 2: node 1 acknowledges first.
        inbox_tx.send(put(1, 0)).await.unwrap();
        let first = next_write(peers.get_mut(&1).unwrap()).await;
        let late = next_write(peers.get_mut(&2).unwrap()).await;
        inbox_tx.send(ack(first)).await.unwrap();
        let reply = answer(&mut client_rx).await;
        assert!(reply.starts_with(r#"{"id":1,"ok":true"#), "{reply}");
        // Node 2's acknowledgement and the next put, in one turn: the
        // driver runs only when this task waits.
        inbox_tx.send(ack_from(2, late)).await.unwrap();
        inbox_tx.send(put(2, 1)).await.unwrap();
        let op = next_write(peers.get_mut(&1).unwrap()).await;
        inbox_tx.send(ack(op)).await.unwrap();
        let reply = answer(&mut client_rx).await;
        assert!(reply.starts_with(r#"{"id":2,"ok":true"#), "{reply}");
        assert!(
            jobs.try_recv().is_err(),
            "a lone write was handed to the fsync thread"
        );
        inbox_tx.send(DriverInput::Shutdown).await.unwrap();
        driver.await.unwrap().unwrap();
        assert_eq!(CommitLog::open(dir.path()).unwrap().records.len(), 2);
    }

    /// Node `from`'s write of `key` (a replica write to node 0).
    fn write_from(from: NodeId, op: u64, key: u8, lazy: bool) -> DriverInput {
        let version = ringside_core::Version {
            ts: op,
            value: Some("v".into()),
        };
        from_peer(
            from,
            op,
            Msg::Write {
                op,
                key: Key::Int(key),
                version,
                lazy,
            },
        )
    }

    /// The acknowledgements (their ops) waiting in the driver for the log.
    fn held_acks(d: &Driver) -> Vec<u64> {
        d.held
            .iter()
            .chain(&d.held_lazy)
            .filter_map(|(_, a)| match a {
                Action::Send { msg, .. } => match msg.body {
                    Msg::WriteAck { op } => Some(op),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// A lazy write is stored and its acknowledgement held, but it is not
    /// synced for itself: the next write that is not lazy carries it, or
    /// the window's end. Only then is it acknowledged.
    #[tokio::test]
    async fn a_lazy_write_waits_for_the_next_sync_or_its_window() {
        let dir = tempfile::tempdir().unwrap();
        let (_inbox_tx, inbox_rx) = mpsc::channel(4);
        let (mut d, mut peers) = node0(dir.path(), inbox_rx);
        d.lazy_window = Duration::from_secs(3600);
        d.node.handle(d.clock.now_us(), Input::Start);
        d.drain();
        d.flush(true).unwrap();
        let on_disk = |d: &Driver| d.log.synced();
        let before = d.log.bytes();
        // Keys 0..3 live on nodes 0, 1 and 2.
        d.take_input(write_from(1, 5, 0, true));
        assert!(d.log.is_dirty(), "the lazy write was not logged");
        assert!(!d.will_sync(), "a lazy write alone was due for a sync");
        // The loop wakes for its timers (heartbeats), not for the write.
        let timer = d.timers.first().map(|(at, _)| d.clock.instant_of(*at));
        assert!(timer.is_some_and(|t| t < Instant::now() + Duration::from_secs(600)));
        assert_eq!(
            d.next_wakeup(),
            timer,
            "the loop would wake to sync a lazy write before its window"
        );
        d.flush(true).unwrap();
        assert_eq!(on_disk(&d), before, "synced for a lazy write alone");
        assert_eq!(held_acks(&d), vec![5], "acknowledged before it is durable");

        // Node 2's write, not lazy: one sync for both, then both acks.
        d.take_input(write_from(2, 6, 1, false));
        assert!(d.will_sync());
        d.flush(true).unwrap();
        assert_eq!(on_disk(&d), d.log.bytes());
        assert!(held_acks(&d).is_empty());
        for (peer, op) in [(1, 5), (2, 6)] {
            assert_eq!(next_ack(peers.get_mut(&peer).unwrap()).await, op);
        }

        // Another lazy write, and its window ends.
        d.take_input(write_from(1, 7, 2, true));
        assert!(!d.will_sync());
        d.lazy_window = Duration::ZERO;
        assert!(d.will_sync(), "the window ended and no sync was due");
        d.flush(true).unwrap();
        assert_eq!(on_disk(&d), d.log.bytes());
        assert_eq!(next_ack(peers.get_mut(&1).unwrap()).await, 7);

        // A read of a key whose lazy write is not yet durable makes the
        // sync due at once: the read's answer waits on it.
        d.lazy_window = Duration::from_secs(3600);
        d.take_input(write_from(1, 8, 0, true));
        assert!(!d.will_sync());
        d.take_input(from_peer(
            2,
            9,
            Msg::Read {
                op: 9,
                key: Key::Int(0),
            },
        ));
        assert!(d.will_sync(), "a read waits behind a lazy write");
    }

    /// A lazy write in the same turn as a client's put does not make the
    /// turn one of several writes: the put is still written inline (the
    /// lazy record with it), not handed to the fsync thread. And the
    /// lazy write's held acknowledgement does not hold up the put's
    /// remote write: it leaves before the coordinator writes its own.
    #[tokio::test]
    async fn a_lazy_write_beside_a_put_holds_up_neither_its_write_nor_its_remote_write() {
        let dir = tempfile::tempdir().unwrap();
        let log_len = || records_in_file(dir.path());
        let Started {
            inbox_tx,
            driver,
            mut peers,
            jobs,
            done: _done,
            mut client_rx,
        } = started(dir.path(), 1).await;
        tokio::task::yield_now().await;
        // One turn: the driver runs only when this task waits.
        inbox_tx.send(write_from(2, 50, 3, true)).await.unwrap();
        inbox_tx.send(put(1, 0)).await.unwrap();
        let op = next_write(peers.get_mut(&1).unwrap()).await;
        assert_eq!(
            log_len(),
            0,
            "the put's remote write left only after the coordinator's own write"
        );
        inbox_tx.send(ack(op)).await.unwrap();
        let reply = answer(&mut client_rx).await;
        assert!(reply.starts_with(r#"{"id":1,"ok":true"#), "{reply}");
        assert!(jobs.try_recv().is_err(), "the put went to the fsync thread");
        assert_eq!(next_ack(peers.get_mut(&2).unwrap()).await, 50);
        inbox_tx.send(DriverInput::Shutdown).await.unwrap();
        driver.await.unwrap().unwrap();
        assert_eq!(CommitLog::open(dir.path()).unwrap().records.len(), 2);
    }

    /// A lazy write with nothing after it is synced when its window ends,
    /// by the loop waking for it (here through the fsync thread, played
    /// by the test), and then acknowledged.
    #[tokio::test]
    async fn a_lazy_write_alone_is_acknowledged_after_its_window() {
        let dir = tempfile::tempdir().unwrap();
        let Started {
            inbox_tx,
            driver,
            mut peers,
            jobs,
            done,
            client_rx: _client_rx,
        } = started(dir.path(), 0).await;
        inbox_tx.send(write_from(1, 5, 0, true)).await.unwrap();
        finish(next_job(&jobs).await, &done, Ok(()));
        let acked =
            tokio::time::timeout(Duration::from_secs(5), next_ack(peers.get_mut(&1).unwrap()))
                .await
                .expect("the lazy write was never acknowledged");
        assert_eq!(acked, 5);
        inbox_tx.send(DriverInput::Shutdown).await.unwrap();
        driver.await.unwrap().unwrap();
        assert_eq!(CommitLog::open(dir.path()).unwrap().records.len(), 1);
    }

    /// The next acknowledgement a peer is sent (heartbeats come first);
    /// its op.
    async fn next_ack(rx: &mut PeerQueueRx) -> u64 {
        next_op(rx, |m| match m {
            Msg::WriteAck { op } => Some(*op),
            _ => None,
        })
        .await
    }

    /// The next write a peer is sent (heartbeats come first); its op.
    async fn next_write(rx: &mut PeerQueueRx) -> u64 {
        next_op(rx, |m| match m {
            Msg::Write { op, .. } => Some(*op),
            _ => None,
        })
        .await
    }

    /// The op of the next message a peer is sent that `pick` picks.
    async fn next_op(rx: &mut PeerQueueRx, pick: impl Fn(&Msg) -> Option<u64>) -> u64 {
        loop {
            let msg = Message::decode(&rx.recv().await.unwrap()).unwrap();
            if let Some(op) = pick(&msg.body) {
                return op;
            }
        }
    }

    /// A driver with the fsync thread played by the test, one client, and
    /// three puts in one batch (load), whose fsync was asked for.
    struct Loaded {
        inbox_tx: mpsc::Sender<DriverInput>,
        driver: tokio::task::JoinHandle<io::Result<()>>,
        peers: HashMap<NodeId, PeerQueueRx>,
        done: mpsc::UnboundedSender<SyncDone>,
        client_rx: mpsc::Receiver<String>,
        job: SyncJob,
    }

    /// Node 0's driver running, with the fsync thread played by the test
    /// and one client (connection 1) with `in_flight` requests to come.
    struct Started {
        inbox_tx: mpsc::Sender<DriverInput>,
        driver: tokio::task::JoinHandle<io::Result<()>>,
        peers: HashMap<NodeId, PeerQueueRx>,
        jobs: std::sync::mpsc::Receiver<SyncJob>,
        done: mpsc::UnboundedSender<SyncDone>,
        client_rx: mpsc::Receiver<String>,
    }

    async fn started(dir: &Path, in_flight: usize) -> Started {
        let (inbox_tx, inbox_rx) = mpsc::channel(64);
        let (mut driver, peers) = node0(dir, inbox_rx);
        let (jobs, done) = fake_syncer(&mut driver);
        let driver = tokio::spawn(driver.run());
        let (client_tx, client_rx) = mpsc::channel(16);
        inbox_tx
            .send(DriverInput::ClientOpened {
                conn: 1,
                tx: client_tx,
                in_flight: Arc::new(AtomicUsize::new(in_flight)),
            })
            .await
            .unwrap();
        Started {
            inbox_tx,
            driver,
            peers,
            jobs,
            done,
            client_rx,
        }
    }

    async fn three_puts_under_load(dir: &Path) -> Loaded {
        let Started {
            inbox_tx,
            driver,
            peers,
            jobs,
            done,
            client_rx,
        } = started(dir, 3).await;
        // Keys 0..3 live on nodes 0, 1 and 2; one batch of three puts.
        for id in 1..=3 {
            inbox_tx.send(put(id, id as u8)).await.unwrap();
        }
        let job = next_job(&jobs).await;
        Loaded {
            inbox_tx,
            driver,
            peers,
            done,
            client_rx,
            job,
        }
    }

    /// Three puts in one batch (load): the fsync goes to the fsync thread.
    /// Only the first put's remote write leaves before it (the others
    /// follow its record), and nothing is answered, though node 1
    /// acknowledged that write, until the thread says the log is durable.
    async fn puts_under_load(fsync: io::Result<()>) -> (Vec<String>, Vec<ringside_core::Record>) {
        let dir = tempfile::tempdir().unwrap();
        let Loaded {
            inbox_tx,
            driver,
            mut peers,
            done,
            mut client_rx,
            job,
        } = three_puts_under_load(dir.path()).await;
        let rx = peers.get_mut(&1).unwrap();
        let first = next_write(rx).await;
        inbox_tx.send(ack(first)).await.unwrap();
        let early = tokio::time::timeout(Duration::from_millis(100), client_rx.recv()).await;
        assert!(early.is_err(), "answered before the fsync: {early:?}");
        let early = tokio::time::timeout(Duration::from_millis(100), next_write(rx)).await;
        assert!(
            early.is_err(),
            "a write after a record left before its fsync"
        );
        let ok = fsync.is_ok();
        finish(job, &done, fsync);
        if ok {
            for _ in 0..2 {
                let op = next_write(rx).await;
                inbox_tx.send(ack(op)).await.unwrap();
            }
        }
        let mut replies = vec![];
        for _ in 0..3 {
            replies.push(client_rx.recv().await.unwrap());
        }
        inbox_tx.send(DriverInput::Shutdown).await.unwrap();
        driver.await.unwrap().unwrap();
        (replies, CommitLog::open(dir.path()).unwrap().records)
    }

    #[tokio::test]
    async fn under_load_answers_wait_for_the_background_fsync() {
        let (replies, records) = puts_under_load(Ok(())).await;
        for (i, r) in replies.iter().enumerate() {
            assert!(
                r.starts_with(&format!(r#"{{"id":{},"ok":true"#, i + 1)),
                "{replies:?}"
            );
        }
        assert_eq!(records.len(), 3, "{records:?}");
    }

    #[tokio::test]
    async fn a_failed_background_fsync_acknowledges_nothing() {
        let (replies, records) = puts_under_load(Err(io::Error::other("EIO"))).await;
        for r in &replies {
            assert!(
                r.contains(r#""ok":false"#) && r.contains("Internal"),
                "{replies:?}"
            );
        }
        assert!(records.is_empty(), "{records:?}");
    }

    /// A stop while a background write is in flight waits for its answer
    /// before the last sync: with direct writes both may write the block
    /// the records end in, and the older must not land last.
    #[tokio::test]
    async fn a_stop_waits_for_the_write_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = three_puts_under_load(dir.path()).await;
        // More records after the job's, then the stop.
        let first = next_write(l.peers.get_mut(&1).unwrap()).await;
        l.inbox_tx.send(ack(first)).await.unwrap();
        l.inbox_tx.send(put(4, 4)).await.unwrap();
        l.inbox_tx.send(DriverInput::Shutdown).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!l.driver.is_finished(), "stopped with a write in flight");
        finish(l.job, &l.done, Ok(()));
        l.driver.await.unwrap().unwrap();
        let records = CommitLog::open(dir.path()).unwrap().records;
        assert_eq!(records.len(), 4, "{records:?}");
    }

    /// Log output gathered in memory, for a test's subscriber.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The node's log while one QUORUM put is answered, with `filter`
    /// as `RUST_LOG`.
    async fn log_of_one_put(filter: &str) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let dir = tempfile::tempdir().unwrap();
        // A lone put is written inline: the fake fsync thread stays idle.
        let mut s = started(dir.path(), 1).await;
        // Key 0 lives on nodes 0, 1 and 2.
        s.inbox_tx.send(put(7, 0)).await.unwrap();
        let op = next_write(s.peers.get_mut(&1).unwrap()).await;
        s.inbox_tx.send(ack(op)).await.unwrap();
        let reply = answer(&mut s.client_rx).await;
        assert!(reply.starts_with(r#"{"id":7,"ok":true"#), "{reply}");
        s.inbox_tx.send(DriverInput::Shutdown).await.unwrap();
        s.driver.await.unwrap().unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text
    }

    /// One line per answered request only when `ringside::request` is
    /// logged at debug: at the default level (info) a node under load
    /// writes none, but still its notable lines.
    #[tokio::test]
    async fn a_line_per_request_only_at_debug_of_its_target() {
        let info = log_of_one_put("info").await;
        assert!(info.contains("stopped; commit log synced"), "{info}");
        assert!(!info.contains("-> ok"), "{info}");

        let debug = log_of_one_put("info,ringside::request=debug").await;
        let line = debug
            .lines()
            .find(|l| l.contains("-> ok ts"))
            .unwrap_or_else(|| panic!("no request line in {debug}"));
        assert!(
            line.contains("ringside::request") && line.contains("req=7") && line.contains("put"),
            "{line}"
        );
    }
}
