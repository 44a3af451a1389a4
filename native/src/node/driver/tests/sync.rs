//! Group commit and the fsync thread: what waits for which sync, a
//! group's window under load, a slow or failed fsync, and a stop with a
//! write in flight.

use super::*;

/// Under load (not inline), the next fsync starts no sooner than the
/// group window after the last one ended, and the loop knows when to
/// wake for it; a lone write is fsynced at once whatever the window.
#[test]
fn under_load_the_next_fsync_waits_for_the_group_window() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, _peers) = node0(dir.path(), inbox_rx);
    let window = 3_600_000_000;
    let last_sync = set_windows(&mut d, window, Duration::from_micros(LAZY_WINDOW_US));
    d.append(&write(1));
    d.make_durable(Durable::GROUP).unwrap();
    assert!(
        d.gate.sync_in_flight().is_none(),
        "inside the window: no fsync yet"
    );
    assert!(d.log.is_dirty());
    assert_eq!(
        d.next_wakeup(),
        Some(d.clock.instant_of(last_sync + window)),
        "the loop wakes when the window ends"
    );
    // A lone write does not wait.
    d.make_durable(Durable::LONE).unwrap();
    assert!(!d.log.is_dirty());
    assert_eq!(d.next_wakeup(), None);
    // Past the window, the background fsync starts.
    d.append(&write(2));
    d.clock.shift.advance_mono(window);
    d.make_durable(Durable::GROUP).unwrap();
    assert_eq!(d.gate.sync_in_flight(), Some(d.log.written()));
}

/// What the node reports of its syncs when it stops: those that made
/// records durable, here or on the fsync thread, not calls that found
/// nothing to do, and every record appended.
#[test]
fn the_sync_count_counts_syncs_that_made_records_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, _peers) = node0(dir.path(), inbox_rx);
    let (jobs, _done) = fake_syncer(&mut d);
    let window = 1_000;
    set_windows(&mut d, window, Duration::from_micros(LAZY_WINDOW_US));
    let count = |d: &Driver| {
        let c = &d.syncer.count;
        (c.syncs, c.here, c.records)
    };
    let (syncs, here, records) = count(&d);
    d.append(&write(1));
    d.append(&write(2));
    d.make_durable(Durable::LONE).unwrap();
    d.make_durable(Durable::LONE).unwrap();
    assert_eq!(
        count(&d),
        (syncs + 1, here + 1, records + 2),
        "one sync here"
    );
    d.append(&write(3));
    d.clock.shift.advance_mono(window);
    d.make_durable(Durable::GROUP).unwrap();
    assert!(
        jobs.try_recv().is_ok(),
        "the group went to the fsync thread"
    );
    assert_eq!(
        count(&d),
        (syncs + 2, here + 1, records + 3),
        "and one there"
    );
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
    let Started {
        inbox_tx,
        driver,
        mut peers,
        jobs: _jobs,
        done: _done,
        mut client_rx,
    } = started(dir.path(), 1).await;
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
                    RESERVED,
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
    assert!(
        log_len() > RESERVED,
        "the put was answered before it was logged"
    );

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
    assert_eq!(writes_in_log(dir.path()), 2);
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
    assert_eq!(writes_in(&records), 3, "{records:?}");
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
    // Only reservations: the one before the puts, and the one the node
    // rebuilt after the failed write logs as it starts again.
    assert_eq!(writes_in(&records), 0, "{records:?}");
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
    assert_eq!(writes_in(&records), 4, "{records:?}");
}

/// A lone write is not fsynced on the node's thread while other requests
/// are open there: that is load coming one input per turn, and a sync
/// inline would stop the thread with their inputs waiting.
#[tokio::test]
async fn a_lone_write_among_open_requests_goes_to_the_fsync_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, _peers) = node0(dir.path(), inbox_rx);
    let _syncer = fake_syncer(&mut d);
    let request = Request::Get {
        key: Key::Int(1),
        cl: Consistency::One,
    };
    d.requests
        .open(ringside_core::ClientRef { conn: 1, req: 1 }, &request);
    assert!(d.durable_how(true, 1).here, "one request open: inline");
    d.requests
        .open(ringside_core::ClientRef { conn: 1, req: 2 }, &request);
    let how = d.durable_how(true, 1);
    assert!(!how.here, "two requests open: the fsync thread");
    assert!(how.lone, "still lone: its sync does not wait for a window");
}

/// A lone write is fsynced on the node's thread, but not while the disk
/// is busy: after a slow sync (here, one the fsync thread took 50 ms
/// over) the next goes to the fsync thread, until a sync is fast again;
/// and none while a compaction writes its snapshot. The time a sync
/// counts is its own, not the wait for the loop to hear of it.
#[tokio::test]
async fn a_slow_sync_sends_the_next_ones_to_the_fsync_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, _peers) = node0(dir.path(), inbox_rx);
    let (jobs, done) = fake_syncer(&mut d);
    assert!(d.durable_how(true, 1).here, "a lone write on a quiet disk");
    assert!(!d.durable_how(true, 2).here, "two writes: the fsync thread");
    // A sync the fsync thread took 50 ms over.
    d.append(&write(1));
    d.make_durable(Durable::GROUP).unwrap();
    let job = next_job(&jobs).await;
    job.work.run().unwrap();
    done.send(SyncDone {
        written: job.written,
        epoch: job.epoch,
        result: Ok(()),
        took: Duration::from_millis(50),
    })
    .unwrap_or_else(|_| panic!("the driver stopped"));
    let answer = d.syncer.done.as_mut().unwrap().recv().await.unwrap();
    d.synced(answer).unwrap();
    assert!(!d.log.is_dirty());
    let how = d.durable_how(true, 1);
    assert!(
        !how.here,
        "after a {:?} sync a lone write still blocks the node's thread",
        d.syncer.last_took
    );
    assert!(how.lone, "a lone write handed over is still lone");
    // A fast sync on the thread, however long its answer waited for the
    // loop, makes inline syncs right again.
    d.append(&write(2));
    d.make_durable(Durable::GROUP).unwrap();
    let job = next_job(&jobs).await;
    finish(job, &done, Ok(()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let answer = d.syncer.done.as_mut().unwrap().recv().await.unwrap();
    d.synced(answer).unwrap();
    assert!(
        d.syncer.last_took < Duration::from_millis(50),
        "the wait for the loop was counted as the sync's time: {:?}",
        d.syncer.last_took
    );
    // A sync here is timed too (how fast depends on the machine's disk,
    // so the test says what it took); one with nothing to sync is not.
    d.append(&write(3));
    d.syncer.last_took = Duration::from_secs(1);
    d.sync_here().unwrap();
    assert!(
        d.syncer.last_took < Duration::from_secs(1),
        "the sync here was not timed"
    );
    d.syncer.last_took = Duration::from_secs(1);
    d.sync_here().unwrap();
    assert_eq!(
        d.syncer.last_took,
        Duration::from_secs(1),
        "a sync with nothing to do counted as a fast disk"
    );
    d.syncer.last_took = Duration::from_micros(300);
    assert!(d.durable_how(true, 1).here);
    // While a compaction writes its snapshot: never inline.
    d.settings.compact_min_records = 1;
    d.maybe_compact().unwrap();
    assert!(d.compaction.is_running(), "no compaction started");
    assert!(
        !d.durable_how(true, 1).here,
        "inline while a compaction writes"
    );
}

/// A lone write whose sync goes to the fsync thread because the disk is
/// busy still starts it at once: it never waits for the group window.
#[tokio::test]
async fn a_lone_write_on_a_busy_disk_does_not_wait_for_the_group_window() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, _peers) = node0(dir.path(), inbox_rx);
    let (jobs, _done) = fake_syncer(&mut d);
    set_windows(&mut d, 3_600_000_000, Duration::from_micros(LAZY_WINDOW_US));
    d.syncer.last_took = Duration::from_secs(1);
    d.append(&write(1));
    let how = d.durable_how(true, 1);
    assert!(
        !how.here,
        "a busy disk, yet the sync blocks the node's thread"
    );
    d.make_durable(how).unwrap();
    assert_eq!(
        d.gate.sync_in_flight(),
        Some(d.log.written()),
        "the lone write waits for the hour-long group window"
    );
    next_job(&jobs).await;
}

/// With periodic sync an acknowledgement means the record reached the
/// OS, not the disk: a log failure after it (a full disk on the next
/// write, say) cuts the log back to what was written, not to the last
/// fsync, so the node neither forgets the write it acknowledged nor
/// loses it from its log.
#[tokio::test]
async fn with_periodic_sync_a_log_failure_keeps_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let hour = 3_600_000;
    let (mut d, mut peers) = node0_with(dir.path(), inbox_rx, Policy::periodic(hour));
    d.node.handle(d.clock.wall_us(), Input::Start);
    d.drain();
    d.flush(true).unwrap();
    d.take_input(write_from(1, 9, 0, false));
    d.flush(true).unwrap();
    let ack = tokio::time::timeout(Duration::from_secs(5), next_ack(peers.get_mut(&1).unwrap()));
    assert_eq!(ack.await.expect("no acknowledgement"), 9);
    assert!(d.log.synced() < d.log.written(), "no fsync within the hour");
    d.log_failed(io::Error::other("ENOSPC")).unwrap();
    assert_eq!(
        d.node.data().get(&Key::Int(0)).map(|v| v.ts),
        Some(9),
        "the node forgot a write it acknowledged"
    );
    let (_tx, inbox_rx) = inbox(4, 4);
    let (back, _) = node0_recovered(dir.path(), inbox_rx);
    assert_eq!(
        back.node.data().get(&Key::Int(0)).map(|v| v.ts),
        Some(9),
        "the acknowledged write is not in the log"
    );
}
