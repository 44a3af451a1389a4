//! Lazy writes: a replica's write that waits for another sync to carry
//! it, or for its window, and the acknowledgements and read replies that
//! must wait for a lazy record of their key (issue 21, defect 2).

use super::*;

/// A lazy write is stored and its acknowledgement held, but it is not
/// synced for itself: the next write that is not lazy carries it, or
/// the window's end. Only then is it acknowledged.
#[tokio::test]
async fn a_lazy_write_waits_for_the_next_sync_or_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, mut peers) = node0(dir.path(), inbox_rx);
    d.node.handle(d.clock.wall_us(), Input::Start);
    d.drain();
    d.flush(true).unwrap();
    set_lazy_window(&mut d, Duration::from_secs(3600));
    let on_disk = |d: &Driver| d.log.synced();
    let before = d.log.bytes();
    // Keys 0..3 live on nodes 0, 1 and 2.
    d.take_input(write_from(1, 5, 0, true));
    assert!(d.log.is_dirty(), "the lazy write was not logged");
    assert!(!d.will_sync(true), "a lazy write alone was due for a sync");
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
    assert_eq!(d.gate.held(), 1, "acknowledged before it is durable");
    assert!(acks_sent(peers.get_mut(&1).unwrap()).is_empty());

    // Node 2's write, not lazy: one sync for both, then both acks.
    d.take_input(write_from(2, 6, 1, false));
    assert!(d.will_sync(true));
    d.flush(true).unwrap();
    assert_eq!(on_disk(&d), d.log.bytes());
    assert_eq!(d.gate.held(), 0);
    for (peer, op) in [(1, 5), (2, 6)] {
        assert_eq!(next_ack(peers.get_mut(&peer).unwrap()).await, op);
    }

    // Another lazy write, and its window ends.
    d.take_input(write_from(1, 7, 2, true));
    assert!(!d.will_sync(true));
    d.clock.shift.advance_mono(3_600_000_000);
    assert!(d.will_sync(true), "the window ended and no sync was due");
    d.flush(true).unwrap();
    assert_eq!(on_disk(&d), d.log.bytes());
    assert_eq!(next_ack(peers.get_mut(&1).unwrap()).await, 7);

    // A read of a key whose lazy write is not yet durable makes the
    // sync due at once: the read's answer waits on it.
    d.take_input(write_from(1, 8, 0, true));
    assert!(!d.will_sync(true));
    d.take_input(from_peer(
        2,
        9,
        Msg::Read {
            op: 9,
            key: Key::Int(0),
        },
    ));
    assert!(d.will_sync(true), "a read waits behind a lazy write");
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
        RESERVED,
        "the put's remote write left only after the coordinator's own write"
    );
    inbox_tx.send(ack(op)).await.unwrap();
    let reply = answer(&mut client_rx).await;
    assert!(reply.starts_with(r#"{"id":1,"ok":true"#), "{reply}");
    assert!(jobs.try_recv().is_err(), "the put went to the fsync thread");
    assert_eq!(next_ack(peers.get_mut(&2).unwrap()).await, 50);
    inbox_tx.send(DriverInput::Shutdown).await.unwrap();
    driver.await.unwrap().unwrap();
    assert_eq!(writes_in_log(dir.path()), 2);
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
    let acked = tokio::time::timeout(Duration::from_secs(5), next_ack(peers.get_mut(&1).unwrap()))
        .await
        .expect("the lazy write was never acknowledged");
    assert_eq!(acked, 5);
    inbox_tx.send(DriverInput::Shutdown).await.unwrap();
    driver.await.unwrap().unwrap();
    assert_eq!(
        CommitLog::open(dir.path()).unwrap().records.len(),
        RESERVED + 1
    );
}

/// The acknowledgements (`WriteAck`'s or `RepairAck`'s op) already in a
/// peer's queue, taken out; other messages are dropped.
fn acks_sent(rx: &mut PeerQueueRx) -> Vec<u64> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .filter_map(|f| match Message::decode(&f).unwrap().body {
            Msg::WriteAck { op } | Msg::RepairAck { op } => Some(op),
            _ => None,
        })
        .collect()
}

/// Issue 21, defect 2: a replica holding a key only in a lazy record
/// not yet synced logs nothing for an older write or repair of that
/// key, and must still hold its acknowledgement until that record is
/// durable: a crash before the sync loses the record, while the
/// coordinator counted the acknowledgement. An acknowledgement for
/// another key does not wait for it.
#[tokio::test]
async fn an_ack_that_logged_nothing_waits_for_the_lazy_record_of_its_key() {
    for repair in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (_inbox_tx, inbox_rx) = inbox(4, 4);
        let (mut d, mut peers) = node0(dir.path(), inbox_rx);
        set_lazy_window(&mut d, Duration::from_secs(3600));
        d.node.handle(d.clock.wall_us(), Input::Start);
        d.drain();
        d.flush(true).unwrap();
        let synced = d.log.synced();
        // Keys 0..3 live on nodes 0, 1 and 2: node 1's lazy write of
        // key 0 at ts 9, not synced for itself.
        d.take_input(write_from(1, 9, 0, true));
        d.flush(true).unwrap();
        assert_eq!(d.log.synced(), synced, "synced for a lazy write alone");
        // Node 2's older write (or repair) of key 0, at ts 5: nothing to log.
        let older = if repair {
            from_peer(
                2,
                5,
                Msg::Repair {
                    op: 5,
                    key: Key::Int(0),
                    version: ringside_core::Version {
                        ts: 5,
                        value: Some("v".into()),
                    },
                },
            )
        } else {
            write_from(2, 5, 0, false)
        };
        let bytes = d.log.bytes();
        d.take_input(older);
        assert_eq!(d.log.bytes(), bytes, "the older write was logged");
        assert_eq!(
            acks_sent(peers.get_mut(&2).unwrap()),
            Vec::<u64>::new(),
            "node 0 acknowledged op 5 (key 0 @5) while it held key 0 (@9) only in a lazy record not yet synced"
        );
        // The held acknowledgement makes the sync due at once; once it
        // has run, both acknowledgements go.
        d.flush(true).unwrap();
        assert_eq!(
            d.log.synced(),
            d.log.bytes(),
            "the held ack did not make the sync due"
        );
        assert_eq!(acks_sent(peers.get_mut(&2).unwrap()), vec![5]);
        assert_eq!(acks_sent(peers.get_mut(&1).unwrap()), vec![9]);
    }
}

/// Issue 21, defect 2, for reads: a replica's answer to a read, when the
/// version it returns is only in a lazy record not yet synced, waits for
/// that record's sync (which it makes due at once).
#[tokio::test]
async fn a_read_reply_waits_for_the_lazy_record_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, mut peers) = node0(dir.path(), inbox_rx);
    d.node.handle(d.clock.wall_us(), Input::Start);
    d.drain();
    d.flush(true).unwrap();
    set_lazy_window(&mut d, Duration::from_secs(3600));
    d.take_input(write_from(1, 9, 0, true));
    d.take_input(from_peer(
        2,
        3,
        Msg::Read {
            op: 3,
            key: Key::Int(0),
        },
    ));
    let replies = |rx: &mut PeerQueueRx| -> Vec<Option<u64>> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .filter_map(|f| match Message::decode(&f).unwrap().body {
                Msg::ReadReply { version, .. } => Some(version.map(|v| v.ts)),
                _ => None,
            })
            .collect()
    };
    assert!(
        replies(peers.get_mut(&2).unwrap()).is_empty(),
        "node 0 answered a read with key 0 @9 while that record was not yet synced"
    );
    d.flush(true).unwrap();
    assert_eq!(d.log.synced(), d.log.bytes());
    assert_eq!(replies(peers.get_mut(&2).unwrap()), vec![Some(9)]);
}

/// An acknowledgement for a key with no lazy record pending leaves at
/// once though another key's lazy record waits for its window.
#[tokio::test]
async fn an_ack_for_another_key_does_not_wait_for_a_lazy_record() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, mut peers) = node0(dir.path(), inbox_rx);
    set_lazy_window(&mut d, Duration::from_secs(3600));
    d.node.handle(d.clock.wall_us(), Input::Start);
    d.drain();
    d.flush(true).unwrap();
    d.take_input(write_from(1, 9, 0, true));
    d.flush(true).unwrap();
    // Node 0 already holds key 1 at ts 20, durable; node 2's older write
    // of key 1 logs nothing and depends on no lazy record.
    d.take_input(write_from(2, 20, 1, false));
    d.flush(true).unwrap();
    assert_eq!(acks_sent(peers.get_mut(&2).unwrap()), vec![20]);
    d.take_input(write_from(1, 30, 0, true));
    d.take_input(write_from(2, 6, 1, false));
    assert_eq!(acks_sent(peers.get_mut(&2).unwrap()), vec![6]);
}
