//! The events a subscriber gets: in the order they happened, `seq`
//! increasing.

use super::*;

/// Node 0 started with its log synced, and a subscriber on connection
/// 1 (the receiving end of its frames).
fn node0_with_subscriber(dir: &Path) -> (Driver, HashMap<NodeId, PeerQueueRx>, QueueRx<String>) {
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, peers) = node0(dir, inbox_rx);
    d.node.handle(d.clock.wall_us(), Input::Start);
    d.drain();
    d.flush(true).unwrap();
    let (tx, rx) = queue::<String>(1024);
    d.take_input(DriverInput::ClientOpened {
        conn: 1,
        tx,
        in_flight: Arc::new(AtomicUsize::new(1)),
    });
    d.take_input(DriverInput::Subscribe { conn: 1, id: 1 });
    d.flush(true).unwrap();
    (d, peers, rx)
}

/// The `seq` of every event frame queued for a client, taken out.
fn event_seqs(rx: &mut QueueRx<String>) -> Vec<u64> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .filter_map(|f| {
            let v: serde_json::Value = serde_json::from_str(&f).unwrap();
            v["event"]["seq"].as_u64()
        })
        .collect()
}

fn assert_increasing(seqs: &[u64]) {
    assert!(!seqs.is_empty());
    for w in seqs.windows(2) {
        assert!(w[0] < w[1], "events out of order: {seqs:?}");
    }
}

/// Issue 21, defect 5: a subscriber gets a node's events in the order
/// they happened, also when a lazy write's events wait for its record
/// and a later input's events wait for the same sync.
#[test]
fn events_reach_a_subscriber_in_order_across_a_lazy_write() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, _peers, mut rx) = node0_with_subscriber(dir.path());
    set_lazy_window(&mut d, Duration::from_secs(3600));
    event_seqs(&mut rx);
    d.take_input(write_from(1, 9, 0, true));
    d.take_input(from_peer(2, 1, Msg::Heartbeat { gen: 1 }));
    d.flush(true).unwrap();
    // Events make no sync due: they go with the lazy record's.
    d.clock.shift.advance_mono(3_600_000_000);
    d.flush(true).unwrap();
    assert_eq!(d.log.synced(), d.log.bytes());
    assert_increasing(&event_seqs(&mut rx));
}

/// Issue 21, defect 5: the node rebuilt after a failed log write numbers
/// its events from where the one it replaced stopped, so a subscriber's
/// `seq` keeps increasing.
#[test]
fn events_keep_increasing_across_a_restart_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, _peers, mut rx) = node0_with_subscriber(dir.path());
    d.take_input(write_from(1, 9, 0, false));
    d.flush(true).unwrap();
    let mut seqs = event_seqs(&mut rx);
    d.log_failed(io::Error::other("EIO")).unwrap();
    d.take_input(write_from(1, 10, 1, false));
    d.flush(true).unwrap();
    let after = event_seqs(&mut rx);
    assert!(!after.is_empty(), "no events after the restart in place");
    seqs.extend(after);
    assert_increasing(&seqs);
}
