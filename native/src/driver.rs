//! The one loop that owns a [`Node`]: it takes inputs from the connections
//! (through one bounded channel) and from its timers, feeds them to the
//! node, and carries out the node's outputs in order.
//!
//! **One thread.** The loop is a task on the node's single-threaded
//! runtime, beside the connections' tasks, so every hand-off between a
//! socket and the node (a request in, a peer message out, a reply out) is
//! a task wakeup on the same thread, not a switch to another thread: on a
//! small or busy machine each such switch cost tens of microseconds, and a
//! QUORUM put crossed six of them. The commit log's `write` and
//! `fdatasync` block that thread on purpose: while the disk works nothing
//! else of this node runs, the kernel buffers what arrives, and the next
//! batch takes it all at once.
//!
//! **Group commit.** The loop takes a batch of inputs (whatever is queued,
//! up to [`MAX_BATCH`]), handles them all, appends every `Persist` of the
//! batch to the log, and then, with the `batch` sync policy, fsyncs once.
//! The outputs that come before the batch's first `Persist` leave at once:
//! they depend on no record that is not durable yet (every earlier batch
//! was flushed before this one began). That is what lets a coordinator's
//! remote writes, which the core emits before its own `Persist`, reach the
//! replicas while it fsyncs, so the replicas' fsyncs overlap its own: when
//! such outputs were queued and the flush is about to fsync, the loop
//! first yields once, so that the tasks holding the sockets write them
//! out before the thread blocks on the disk. What follows the first
//! `Persist` waits for the flush. So a `Persist` is
//! durable before any `Send` or `Reply` that follows it, as the core's
//! contract asks, and one fsync covers many writes under load.
//!
//! **A failed write or fsync** (disk full, EIO) is handled as a crash of
//! the node followed by a restart in place: nothing the batch held back
//! leaves (no peer write is acknowledged; the clients waiting get an
//! `Internal` error), the log is cut back to its last durable length, and
//! the node is rebuilt from what the log holds, so its memory never
//! claims what its disk lost. Requests still open are answered with the
//! same error. The node keeps serving: reads, and writes once the disk
//! takes them again. Only when the log cannot even be cut back does the
//! node stop.

use crate::cluster_file::SyncPolicy;
use crate::commitlog::CommitLog;
use crate::transport::PeerQueue;
use ringside_core::message::ErrorKind;
use ringside_core::protocol::{
    error_json, event_json, inspect_json, ok_json, reply_json, InspectNode, LogStats, LogTailEntry,
    NodeAddr,
};
use ringside_core::{ClientRef, EventKind, Input, Message, Micros, Node, NodeId, Output};
use ringside_core::{Request, TimerId};
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tracing::error;
use tracing::{debug, info, warn, Level};

/// Inputs taken per batch at most, so a flood cannot starve the timers.
pub const MAX_BATCH: usize = 512;
/// Timers fired per loop turn at most.
const MAX_TIMERS_PER_TURN: usize = 1024;

/// What the connections tell the driver.
pub enum DriverInput {
    /// A client connection opened; frames for it go to `tx`.
    ClientOpened {
        conn: u64,
        tx: mpsc::Sender<String>,
        /// Requests of this connection not yet answered; the driver
        /// decrements it as it sends each answer.
        in_flight: Arc<AtomicUsize>,
    },
    ClientClosed {
        conn: u64,
    },
    /// A data request (put, get, delete).
    Request {
        conn: u64,
        id: u64,
        request: Request,
    },
    Inspect {
        conn: u64,
        id: u64,
    },
    Subscribe {
        conn: u64,
        id: u64,
    },
    /// A message from a peer, already checked to come from `from`.
    Peer {
        from: NodeId,
        msg: Message,
    },
    /// The outgoing connection to a peer was lost.
    PeerLost(NodeId),
    /// Finish the current batch, fsync, and stop.
    Shutdown,
}

/// The driver's own settings (the node has its own in its config).
pub struct DriverSettings {
    pub addr: String,
    pub nodes: Vec<NodeAddr>,
    pub sync: SyncPolicy,
    pub sync_period_ms: u64,
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
    actions: Vec<Action>,
    /// What each open request asked, for its log line.
    asked: HashMap<ClientRef, (String, Instant)>,
    last_sync: Instant,
    /// Commit-log failures survived so far.
    log_failures: u64,
    /// No compaction before this (set after one failed).
    compact_after: Instant,
    /// The last records appended (lsn, text), for `inspect`.
    log_tail: std::collections::VecDeque<(u64, String)>,
    /// True when outputs of the current batch were carried out before its
    /// first `Persist` (they leave before the batch's fsync).
    sent_early: bool,
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
        Driver {
            node,
            log,
            settings,
            clock: Clock::new(),
            inbox,
            peers,
            clients: HashMap::new(),
            timers: BTreeSet::new(),
            actions: Vec::new(),
            asked: HashMap::new(),
            last_sync: Instant::now(),
            log_failures: 0,
            compact_after: Instant::now(),
            log_tail: std::collections::VecDeque::with_capacity(LOG_TAIL + 1),
            sent_early: false,
        }
    }

    /// Runs until [`DriverInput::Shutdown`] or until every sender is gone.
    /// An error means the commit log could not be written: the node stops
    /// rather than acknowledge what it cannot keep.
    pub async fn run(mut self) -> io::Result<()> {
        let now = self.clock.now_us();
        self.node.handle(now, Input::Start);
        self.drain();
        self.flush()?;
        let alarm = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(alarm);
        let mut armed: Option<Instant> = None;
        loop {
            let first = match self.next_wakeup() {
                None => Some(self.inbox.recv().await.unwrap_or(DriverInput::Shutdown)),
                Some(at) => {
                    // Re-armed only when the deadline moves: arming a timer
                    // wakes the runtime through its eventfd, a syscall and
                    // an extra poll per loop turn.
                    if armed != Some(at) {
                        alarm.as_mut().reset(at.into());
                        armed = Some(at);
                    }
                    tokio::select! {
                        biased;
                        x = self.inbox.recv() => Some(x.unwrap_or(DriverInput::Shutdown)),
                        () = &mut alarm => None,
                    }
                }
            };
            let mut stop = false;
            if let Some(input) = first {
                stop |= self.input(input);
                for _ in 1..MAX_BATCH {
                    match self.inbox.try_recv() {
                        Ok(input) => stop |= self.input(input),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            stop = true;
                            break;
                        }
                    }
                }
            }
            self.fire_timers();
            if self.sent_early && self.log.has_pending() && self.will_sync() {
                // Let the connections' tasks write what was sent early
                // (a coordinator's remote writes) before the thread blocks
                // in fsync: yield_now resumes this task only after every
                // task already woken has run.
                tokio::task::yield_now().await;
            }
            self.sent_early = false;
            self.flush()?;
            self.maybe_compact()?;
            if stop {
                self.log.sync()?;
                if let Err(e) = self.log.trim() {
                    warn!("could not cut the zeros written ahead off the commit log: {e}");
                }
                info!("stopped; commit log synced");
                return Ok(());
            }
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
        } else {
            None
        };
        match (timer, sync) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
                self.asked
                    .insert(client, (request.to_string(), Instant::now()));
                self.node.handle(now, Input::Client { client, request });
                self.drain();
            }
            DriverInput::Inspect { conn, id } => {
                let text = inspect_json(id, &self.inspect());
                info!(conn, req = id, "inspect -> ok");
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
        // `inspect` is answered between batches: with batch sync everything
        // appended so far has been fsynced.
        let synced = self.settings.sync == SyncPolicy::Batch;
        i.log_tail = self
            .log_tail
            .iter()
            .map(|(lsn, record)| LogTailEntry {
                lsn: *lsn,
                record: record.clone(),
                synced,
            })
            .collect();
        i
    }

    fn fire_timers(&mut self) {
        for _ in 0..MAX_TIMERS_PER_TURN {
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

    /// Takes every output of the node: records go to the log's queue,
    /// timers to the timer set, the rest waits in `actions` for the sync.
    fn drain(&mut self) {
        while let Some(out) = self.node.poll() {
            match out {
                Output::Persist(record) => self.log.append(&record),
                Output::Timer { id, at } => {
                    self.timers.insert((at, id));
                }
                Output::Send { to, msg } => self.emit(Action::Send { to, msg }),
                Output::Reply { client, reply } => {
                    let (what, since) = self
                        .asked
                        .remove(&client)
                        .unwrap_or_else(|| ("request".into(), Instant::now()));
                    let took_ms = since.elapsed().as_secs_f64() * 1000.0;
                    match &reply {
                        ringside_core::Reply::Error { kind, message } => info!(
                            conn = client.conn,
                            req = client.req,
                            "{what} -> {kind}: {message} ({took_ms:.1} ms)"
                        ),
                        ringside_core::Reply::Written { ts } => info!(
                            conn = client.conn,
                            req = client.req,
                            "{what} -> ok ts {ts} ({took_ms:.1} ms)"
                        ),
                        ringside_core::Reply::Read { kv } => info!(
                            conn = client.conn,
                            req = client.req,
                            "{what} -> {} ({took_ms:.1} ms)",
                            match kv {
                                Some(kv) => format!("found, ts {}", kv.ts),
                                None => "no value".to_string(),
                            }
                        ),
                    }
                    self.emit(Action::ToClient {
                        conn: client.conn,
                        text: reply_json(client.req, &reply),
                        answer: true,
                        data_reply: Some(client.req),
                    });
                }
                Output::Event(e) => {
                    if let EventKind::RecordPersisted { lsn, record } = &e.kind {
                        self.log_tail.push_back((*lsn, record.clone()));
                        if self.log_tail.len() > LOG_TAIL {
                            self.log_tail.pop_front();
                        }
                    }
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
                    let subscribers = self.clients.values().any(|c| c.subscribed);
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
    }

    /// Carries out an action now when no record of the current batch waits
    /// for the disk, else holds it until [`Driver::flush`].
    fn emit(&mut self, action: Action) {
        if self.log.has_pending() {
            self.actions.push(action);
        } else {
            self.sent_early = true;
            self.act(action);
        }
    }

    /// Makes the batch's records durable per the policy, then lets the
    /// batch's messages, replies and events go. If the log fails, see the
    /// module docs: an error only when the node must stop.
    fn flush(&mut self) -> io::Result<()> {
        if let Err(e) = self.make_durable() {
            return self.log_failed(e);
        }
        for action in std::mem::take(&mut self.actions) {
            self.act(action);
        }
        Ok(())
    }

    fn make_durable(&mut self) -> io::Result<()> {
        if self.log.has_pending() {
            self.log.write_pending()?;
        }
        if self.will_sync() {
            self.log.sync()?;
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    /// True when [`Driver::flush`] will fsync: with batch sync when records
    /// are queued, with periodic sync when the log is dirty and the period
    /// is up.
    fn will_sync(&self) -> bool {
        match self.settings.sync {
            SyncPolicy::Batch => self.log.is_dirty(),
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
                if gone {
                    self.clients.remove(&conn);
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
        let held = std::mem::take(&mut self.actions);
        let (mut answered, mut dropped) = (0usize, 0usize);
        for action in held {
            match action {
                Action::ToClient {
                    conn,
                    data_reply: Some(req),
                    ..
                } => {
                    answered += 1;
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
        self.timers.clear();
        let now = self.clock.now_us();
        self.node.handle(now, Input::Start);
        self.drain();
        // Start persists nothing, so this cannot recurse further.
        self.flush()
    }

    /// Rewrites the log as a snapshot once it holds far more records than
    /// the state needs.
    fn maybe_compact(&mut self) -> io::Result<()> {
        let live = (self.node.data().len() + self.node.hint_count()) as u64;
        let limit = 4 * live + self.settings.compact_min_records;
        if self.log.records() <= limit || Instant::now() < self.compact_after {
            return Ok(());
        }
        // Whatever the log holds must be durable before the snapshot
        // replaces it; a failure here is a failed log write like any other.
        if let Err(e) = self.log.sync() {
            return self.log_failed(e);
        }
        let before = (self.log.records(), self.log.bytes());
        let started = Instant::now();
        let records = self.node.snapshot();
        if let Err(e) = self.log.rewrite(&records) {
            // The old log stays whole and in use; try again later.
            warn!(
                "commit log compaction failed, keeping the log as it is and retrying in 10 s: {e}"
            );
            self.compact_after = Instant::now() + Duration::from_secs(10);
            self.drain();
            return self.flush();
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
        self.flush()
    }
}

/// The answer a connection gives itself when the driver cannot take more.
pub fn overloaded(id: u64, why: &str) -> String {
    error_json(Some(id), ErrorKind::Overloaded, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{peer_queue, PeerQueueRx};
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
        let log_len = {
            let path = dir.path().join(crate::commitlog::LOG_FILE);
            move || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        };
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
            .send(DriverInput::Peer {
                from: 1,
                msg: Message {
                    id: MsgId {
                        from: 1,
                        gen: 1,
                        n: 1,
                    },
                    body: Msg::WriteAck { op },
                },
            })
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
}
