//! The node's clocks: write timestamps from the wall clock read per
//! input, kept rising across steps back and restarts; timers on the
//! monotonic clock.

use super::*;

/// Wall-clock microseconds now (the machine's clock, not a driver's).
fn wall_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// A running driver with one client (connection 1) that may have many
/// requests in flight; the fsync thread is the real one.
struct Running {
    inbox_tx: InboxTx,
    driver: tokio::task::JoinHandle<io::Result<Node>>,
    peers: HashMap<NodeId, PeerQueueRx>,
    client_rx: QueueRx<String>,
}

async fn run_with_client(
    driver: Driver,
    inbox_tx: InboxTx,
    peers: HashMap<NodeId, PeerQueueRx>,
) -> Running {
    let driver = tokio::spawn(driver.run());
    let client_rx = open_client(&inbox_tx, 1).await;
    Running {
        inbox_tx,
        driver,
        peers,
        client_rx,
    }
}

impl Running {
    /// A QUORUM put of `key` (not on node 0) acknowledged by nodes 1
    /// and 2; the timestamp it was answered with.
    async fn put_ts(&mut self, id: u64, key: u8) -> u64 {
        self.inbox_tx.send(put(id, key)).await.unwrap();
        for peer in [1, 2] {
            let op = next_write(self.peers.get_mut(&peer).unwrap()).await;
            self.inbox_tx.send(ack_from(peer, op)).await.unwrap();
        }
        let reply = answer(&mut self.client_rx).await;
        let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v["ok"], true, "{reply}");
        v["ts"]
            .as_u64()
            .unwrap_or_else(|| panic!("no ts in {reply}"))
    }

    async fn stop(self) {
        self.inbox_tx.send(DriverInput::Shutdown).await.unwrap();
        self.driver.await.unwrap().unwrap();
    }
}

/// Issue 21, defect 4: a write's timestamp is the wall clock read when
/// the write arrives. When the wall clock jumps while the monotonic
/// clock does not (a suspend of the machine), the next write follows
/// the wall clock: a node counting from its start would stay behind by
/// the suspend's length, and its writes would lose to older ones.
#[tokio::test]
async fn a_write_is_stamped_with_the_wall_clock_read_when_it_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_not_on_node0();
    let (inbox_tx, inbox_rx) = inbox(64, 64);
    let (driver, peers) = node0(dir.path(), inbox_rx);
    let shift = driver.clock.shift.clone();
    let mut r = run_with_client(driver, inbox_tx, peers).await;
    let before = wall_now();
    let ts = r.put_ts(1, key).await;
    assert!(
        ts >= before && ts <= wall_now(),
        "ts {ts} is not the wall clock"
    );
    let hour = 3_600_000_000u64;
    shift.step_wall(hour as i64);
    let before = wall_now() + hour;
    let ts = r.put_ts(2, key).await;
    assert!(
        ts >= before,
        "after the wall clock jumped an hour on, a write was stamped {} s behind it",
        (before - ts) / 1_000_000
    );
    r.stop().await;
}

/// Issue 21, defect 4: the wall clock stepped back an hour on a running
/// coordinator: its writes still get rising timestamps, and its timers,
/// which run on the monotonic clock, still fire (it keeps sending
/// heartbeats).
#[tokio::test]
async fn a_wall_clock_stepped_back_keeps_timestamps_rising_and_timers_firing() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_not_on_node0();
    let (inbox_tx, inbox_rx) = inbox(64, 64);
    let (driver, peers) = node0(dir.path(), inbox_rx);
    let shift = driver.clock.shift.clone();
    let mut r = run_with_client(driver, inbox_tx, peers).await;
    let first = r.put_ts(1, key).await;
    shift.step_wall(-3_600_000_000);
    let second = r.put_ts(2, key).await;
    assert!(second > first, "{second} after {first}");
    let third = r.put_ts(3, key).await;
    assert!(third > second, "{third} after {second}");
    // Heartbeats go on: drain what is queued, then wait for the next.
    let rx = r.peers.get_mut(&3).unwrap();
    while rx.try_recv().is_ok() {}
    let beat = tokio::time::timeout(
        Duration::from_secs(10),
        next_op(rx, |m| matches!(m, Msg::Heartbeat { .. }).then_some(0)),
    )
    .await;
    assert!(
        beat.is_ok(),
        "no heartbeat after the wall clock stepped back"
    );
    r.stop().await;
}

/// Issue 21, defect 4: after a restart with its wall clock stepped back
/// an hour, a coordinator's writes still get timestamps above those it
/// issued before, so they win over its earlier writes (even of keys it
/// does not store itself).
#[tokio::test]
async fn a_restart_with_the_clock_stepped_back_keeps_timestamps_rising() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_not_on_node0();
    let (inbox_tx, inbox_rx) = inbox(64, 64);
    let (driver, peers) = node0(dir.path(), inbox_rx);
    let mut r = run_with_client(driver, inbox_tx, peers).await;
    let first = r.put_ts(1, key).await;
    r.stop().await;

    let (inbox_tx, inbox_rx) = inbox(64, 64);
    let (driver, peers) = node0_recovered(dir.path(), inbox_rx);
    driver.clock.shift.step_wall(-3_600_000_000);
    let mut r = run_with_client(driver, inbox_tx, peers).await;
    let second = r.put_ts(2, key).await;
    assert!(
        second > first,
        "after a restart with the clock an hour back, a write was stamped {second}, below the {first} issued before"
    );
    r.stop().await;
}

/// After the wall clock steps back, the node's time follows it and the
/// instants it measures durations from move back with it, so a peer gone
/// silent is still marked down after the failure timeout.
#[test]
fn a_silent_peer_is_marked_down_after_the_wall_clock_stepped_back() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, _peers) = node0(dir.path(), inbox_rx);
    d.handle(Input::Start);
    d.flush(true).unwrap();
    d.clock.shift.step_wall(-3_600_000_000);
    // Ten seconds pass on both clocks; nodes 1 and 2 send heartbeats,
    // node 3 stays silent.
    let tick = 100_000;
    for n in 1..=100 {
        d.clock.shift.advance_mono(tick);
        d.clock.shift.step_wall(tick as i64);
        for peer in [1, 2] {
            d.take_input(from_peer(peer, n, Msg::Heartbeat { gen: 1 }));
        }
        d.fire_timers();
        d.flush(true).unwrap();
    }
    assert!(d.node.is_up(1) && d.node.is_up(2));
    assert!(
        !d.node.is_up(3),
        "node 3, silent for ten seconds after the wall clock stepped back, is still up"
    );
}
