//! The driver's tests: the gate, the fsync thread, timers, lazy writes
//! and a failed log, each on a real commit log in a temporary directory.
//!
//! Every test drives one [`Driver`] through the same fixture, here (node
//! 0 of four, a fake fsync thread, inputs built by the helpers below);
//! the tests of group commit and the fsync thread, of the node's clocks,
//! of the events a subscriber gets, of `inspect`, of lazy writes, of
//! compaction and of logging are in files of their own below, on that
//! fixture.

mod clock;
mod compaction;
mod events;
mod inspect;
mod lazy;
mod logging;
mod sync;

use super::syncer::{SyncDone, SyncJob};
use super::*;
use crate::node::inbox::{inbox, Inbox, InboxTx};
use crate::node::queue::{queue, QueueRx};
use crate::node::transport::{peer_queue, PeerQueueRx};
use ringside_core::durability::LAZY_WINDOW_US;
use ringside_core::{
    ClusterConfig, Config, Consistency, Key, Message, Msg, MsgId, Record, Request,
};
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

/// Node 0 of the classic 4-node cluster with batch sync, its log in
/// `dir`; the receiving ends of its peer queues, by peer.
fn node0(dir: &Path, inbox: Inbox) -> (Driver, HashMap<NodeId, PeerQueueRx>) {
    node0_with(dir, inbox, Policy::batch(0))
}

/// [`node0`] with the sync policy `policy`.
fn node0_with(dir: &Path, inbox: Inbox, policy: Policy) -> (Driver, HashMap<NodeId, PeerQueueRx>) {
    let log = CommitLog::open(dir).unwrap().log;
    let node = Node::new(Config::new(0, ClusterConfig::classic(4)));
    driver_of(node, log, inbox, policy)
}

/// [`node0`] restarted: rebuilt from the log in `dir`.
fn node0_recovered(dir: &Path, inbox: Inbox) -> (Driver, HashMap<NodeId, PeerQueueRx>) {
    let config = Config::new(0, ClusterConfig::classic(4));
    let (log, _, (node, _)) =
        CommitLog::open_with(dir, |records| Node::recover_from(config, records)).unwrap();
    driver_of(node, log, inbox, Policy::batch(0))
}

fn driver_of(
    node: Node,
    log: CommitLog,
    inbox: Inbox,
    policy: Policy,
) -> (Driver, HashMap<NodeId, PeerQueueRx>) {
    let settings = DriverSettings {
        addr: "127.0.0.1:1".into(),
        nodes: vec![],
        policy,
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

/// A write of key 1 at timestamp `ts`, as the node logs it.
fn write(ts: u64) -> Record {
    Record::Write {
        key: Key::Int(1),
        version: ringside_core::Version {
            ts,
            value: Some("v".into()),
        },
    }
}

/// The deadline of a request already over is dropped instead of
/// waking the loop; a live request's deadline and the node's own
/// timers stay.
#[test]
fn timers_that_would_change_nothing_do_not_wake_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, _peers) = node0(dir.path(), inbox_rx);
    let now = d.clock.wall_us();
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
    // The put's record synced: no sync to wake for.
    d.flush(true).unwrap();
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
    let now = clock.mono_us();
    let after = Instant::now();
    let at = clock.instant_of(now);
    // mono_us truncates to whole microseconds.
    assert!(at + Duration::from_micros(1) >= before && at <= after);
    let later = clock.instant_of(now + 5_000);
    assert_eq!(later - at, Duration::from_millis(5));
    assert!(clock.instant_of(0) <= before);
    // A step of the wall clock moves neither.
    clock.shift.step_wall(-3_600_000_000);
    assert_eq!(clock.instant_of(now), at);
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
    driver.syncer.jobs = Some(jobs_tx);
    driver.syncer.done = Some(done_rx);
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
            value: format!("v{id}").into(),
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
    crate::node::log_reader::LogRecords::new(&bytes, false).count()
}

/// Does what the fsync thread would for `job` (its work only when the
/// result is to be `Ok`) and answers with `result`.
fn finish(job: SyncJob, done: &mpsc::UnboundedSender<SyncDone>, result: io::Result<()>) {
    let at = Instant::now();
    if result.is_ok() {
        job.work.run().unwrap();
    }
    done.send(SyncDone {
        written: job.written,
        epoch: job.epoch,
        result,
        took: at.elapsed(),
    })
    .unwrap_or_else(|_| panic!("the driver stopped"));
}

/// The next answer; the fsync thread of these tests never answers, so
/// a write handed to it is never answered.
async fn answer(rx: &mut QueueRx<String>) -> String {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("no answer: the write went to the fsync thread, which never answers here")
        .unwrap()
}

/// A driver with the fsync thread played by the test, one client, and
/// three puts in one batch (load), whose fsync was asked for.
struct Loaded {
    inbox_tx: InboxTx,
    driver: tokio::task::JoinHandle<io::Result<Node>>,
    peers: HashMap<NodeId, PeerQueueRx>,
    done: mpsc::UnboundedSender<SyncDone>,
    client_rx: QueueRx<String>,
    job: SyncJob,
}

/// Node 0's driver running, with the fsync thread played by the test,
/// one client (connection 1) with `in_flight` requests to come, and its
/// write timestamps reserved (see [`reserve_timestamps`]).
struct Started {
    inbox_tx: InboxTx,
    driver: tokio::task::JoinHandle<io::Result<Node>>,
    peers: HashMap<NodeId, PeerQueueRx>,
    jobs: std::sync::mpsc::Receiver<SyncJob>,
    done: mpsc::UnboundedSender<SyncDone>,
    client_rx: QueueRx<String>,
}

/// Records [`reserve_timestamps`] leaves in the log.
const RESERVED: usize = 1;

/// Has the running node 0 reserve its write timestamps, then steps its
/// wall clock back an hour, so that none of the test's puts logs a new
/// reservation (it would add records and syncs to what the test looks
/// at). The put
/// that reserves is of a key node 0 does not replicate, for a
/// connection that is not open, and all three replicas acknowledge it.
async fn reserve_timestamps(
    inbox_tx: &InboxTx,
    peers: &mut HashMap<NodeId, PeerQueueRx>,
    shift: &super::clock::tests::ClockShift,
) {
    let request = Request::Put {
        key: Key::Int(key_not_on_node0()),
        value: "reserve".into(),
        cl: Consistency::All,
    };
    inbox_tx
        .send(DriverInput::Request {
            conn: 99,
            id: 1,
            request,
        })
        .await
        .unwrap();
    for peer in 1..4 {
        let op = next_write(peers.get_mut(&peer).unwrap()).await;
        inbox_tx.send(ack_from(peer, op)).await.unwrap();
    }
    shift.step_wall(-3_600_000_000);
}

/// Opens connection 1 to a running driver, counting `in_flight` of its
/// requests as unanswered; the receiving end of its answers.
async fn open_client(inbox_tx: &InboxTx, in_flight: usize) -> QueueRx<String> {
    let (client_tx, client_rx) = queue::<String>(16);
    inbox_tx
        .send(DriverInput::ClientOpened {
            conn: 1,
            tx: client_tx,
            in_flight: Arc::new(AtomicUsize::new(in_flight)),
        })
        .await
        .unwrap();
    client_rx
}

async fn started(dir: &Path, in_flight: usize) -> Started {
    let (inbox_tx, inbox_rx) = inbox(64, 64);
    let (mut driver, peers) = node0(dir, inbox_rx);
    let (jobs, done) = fake_syncer(&mut driver);
    let shift = driver.clock.shift.clone();
    let mut peers = peers;
    let driver = tokio::spawn(driver.run());
    reserve_timestamps(&inbox_tx, &mut peers, &shift).await;
    let client_rx = open_client(&inbox_tx, in_flight).await;
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
/// Every put's remote write leaves before it (a request waits only for
/// the reservation of its op id, durable before the puts), and nothing is
/// answered, though node 1 acknowledged those writes, until the thread
/// says the log is durable.
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
    for _ in 0..3 {
        let op = next_write(rx).await;
        inbox_tx.send(ack(op)).await.unwrap();
    }
    let early = tokio::time::timeout(Duration::from_millis(100), client_rx.recv()).await;
    assert!(early.is_err(), "answered before the fsync: {early:?}");
    finish(job, &done, fsync);
    let mut replies = vec![];
    for _ in 0..3 {
        replies.push(client_rx.recv().await.unwrap());
    }
    inbox_tx.send(DriverInput::Shutdown).await.unwrap();
    driver.await.unwrap().unwrap();
    (replies, CommitLog::open(dir.path()).unwrap().records)
}

/// The write records among `records`: a coordinator also logs how far
/// its timestamps are reserved, a record these tests do not count.
fn writes_in(records: &[Record]) -> usize {
    records
        .iter()
        .filter(|r| matches!(r, Record::Write { .. }))
        .count()
}

fn writes_in_log(dir: &Path) -> usize {
    writes_in(&CommitLog::open(dir).unwrap().records)
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

/// A key node 0 does not replicate (nodes 1, 2 and 3 do).
fn key_not_on_node0() -> u8 {
    let ring = Node::new(Config::new(0, ClusterConfig::classic(4)))
        .ring()
        .clone();
    (0..=255u8)
        .find(|&k| !ring.is_replica(&Key::Int(k), 0))
        .expect("with 4 nodes and RF 3 node 0 misses some keys")
}

/// Sets how long a lazy write's record may wait for another sync.
fn set_lazy_window(d: &mut Driver, window: Duration) {
    let Policy::Batch {
        group_window_us, ..
    } = d.settings.policy
    else {
        panic!("lazy writes need batch sync");
    };
    set_windows(d, group_window_us, window);
}

/// Replaces the driver's gate with one of these windows, as of now; only
/// while the log is clean and nothing waits.
fn set_windows(d: &mut Driver, group_window_us: u64, lazy: Duration) -> Micros {
    assert!(!d.log.is_dirty() && d.gate.held() == 0);
    let policy = Policy::Batch {
        group_window_us,
        lazy_window_us: lazy.as_micros() as u64,
    };
    d.settings.policy = policy;
    let now = d.clock.mono_us();
    d.gate = Gate::new(policy, d.log.bytes(), now);
    now
}
