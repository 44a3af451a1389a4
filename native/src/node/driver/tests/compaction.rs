//! Compaction off the node's thread: the snapshot is written beside the
//! log while the node goes on; what it logs meanwhile is in the new log.

use super::*;

/// The log of node 0 after `n` writes of key 0 from node 1, each synced
/// and acknowledged, with compaction due past 4 records.
async fn overwritten(dir: &Path, inbox: Inbox, n: u64) -> (Driver, HashMap<NodeId, PeerQueueRx>) {
    let (mut d, mut peers) = node0(dir, inbox);
    d.settings.compact_min_records = 4;
    d.node.handle(d.clock.wall_us(), Input::Start);
    d.drain();
    d.flush(true).unwrap();
    for op in 1..=n {
        d.take_input(write_from(1, op, 0, false));
        d.flush(true).unwrap();
        assert_eq!(next_ack(peers.get_mut(&1).unwrap()).await, op);
    }
    (d, peers)
}

/// The timestamp node `d` holds for key `k`.
fn ts_of(d: &Driver, k: u8) -> Option<u64> {
    d.node.data().get(&Key::Int(k)).map(|v| v.ts)
}

/// While its snapshot is written the node takes writes, logs them and
/// acknowledges them; the snapshot that replaces the log is followed by
/// them, so they survive a restart.
#[tokio::test]
async fn what_is_logged_while_the_snapshot_is_written_is_in_the_new_log() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, mut peers) = overwritten(dir.path(), inbox_rx, 20).await;
    let before = d.log.records();
    d.maybe_compact().unwrap();
    assert!(d.compaction.is_running(), "no compaction started");
    // Meanwhile: two more keys, each acknowledged once durable in the
    // old log.
    for (from, op, key) in [(1, 100, 1), (2, 101, 2)] {
        d.take_input(write_from(from, op, key, false));
        d.flush(true).unwrap();
        assert_eq!(next_ack(peers.get_mut(&from).unwrap()).await, op);
    }
    let mut done = d.compaction.done.take().unwrap();
    let written = done.recv().await.unwrap();
    d.snapshot_written(written).unwrap();
    d.maybe_adopt().unwrap();
    assert!(!d.compaction.is_running());
    assert!(
        d.log.records() < before,
        "the log was not replaced: {} records, {before} before",
        d.log.records()
    );
    assert!(!dir.path().join("commit.log.compacting").exists());
    // Written after the switch: to the new log.
    d.take_input(write_from(1, 102, 3, false));
    d.flush(true).unwrap();
    drop(d);
    let (_tx, inbox_rx) = inbox(4, 4);
    let (back, _) = node0_recovered(dir.path(), inbox_rx);
    let held: Vec<_> = (0..4).map(|k| ts_of(&back, k)).collect();
    assert_eq!(
        held,
        [Some(20), Some(100), Some(101), Some(102)],
        "what the node acknowledged during and after the compaction is not all in its log"
    );
}

/// A log that fails while the snapshot is written is replaced by the
/// restart in place; the snapshot, of a log no longer in use, never
/// replaces the new one.
#[tokio::test]
async fn a_snapshot_of_a_log_that_failed_meanwhile_is_thrown_away() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, _peers) = overwritten(dir.path(), inbox_rx, 20).await;
    d.maybe_compact().unwrap();
    assert!(d.compaction.is_running(), "no compaction started");
    d.log_failed(io::Error::other("injected")).unwrap();
    let records = d.log.records();
    let mut done = d.compaction.done.take().unwrap();
    let written = done.recv().await.unwrap();
    d.snapshot_written(written).unwrap();
    d.maybe_adopt().unwrap();
    assert_eq!(
        d.log.records(),
        records,
        "a stale snapshot replaced the log"
    );
    assert!(
        !dir.path().join("commit.log.compacting").exists(),
        "the stale snapshot's file was left behind"
    );
    assert_eq!(ts_of(&d, 0), Some(20));
}

/// A snapshot copied over several turns, two records a turn, while writes
/// come in between the slices (to a key already copied, to one not yet
/// copied, to a new key): what the node acknowledged is all in the new
/// log, whatever slice each write fell between.
#[tokio::test]
async fn a_snapshot_copied_over_many_turns_misses_nothing_logged_between_slices() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, mut peers) = node0(dir.path(), inbox_rx);
    d.settings.compact_min_records = 4;
    d.compaction.slice = 2;
    d.node.handle(d.clock.wall_us(), Input::Start);
    d.drain();
    d.flush(true).unwrap();
    // Keys 0..6, five times each: far more records than keys.
    for op in 1..=35 {
        d.take_input(write_from(1, op, (op % 7) as u8, false));
        d.flush(true).unwrap();
        assert_eq!(next_ack(peers.get_mut(&1).unwrap()).await, op);
    }
    d.maybe_compact().unwrap();
    assert!(d.compaction.is_copying(), "the copy took one turn");
    let mut turns = 1;
    let mut meanwhile = [(0u8, 100u64), (6, 101), (9, 102)].into_iter();
    while d.compaction.is_copying() {
        if let Some((key, op)) = meanwhile.next() {
            d.take_input(write_from(1, op, key, false));
            d.flush(true).unwrap();
            assert_eq!(next_ack(peers.get_mut(&1).unwrap()).await, op);
        }
        d.maybe_compact().unwrap();
        turns += 1;
    }
    assert!(turns >= 4, "the copy took {turns} turns, not a slice each");
    let mut done = d.compaction.done.take().unwrap();
    let written = done.recv().await.unwrap();
    d.snapshot_written(written).unwrap();
    d.maybe_adopt().unwrap();
    assert!(
        !d.compaction.is_running(),
        "the snapshot did not replace the log"
    );
    assert!(d.log.records() < 35, "{} records", d.log.records());
    drop(d);
    let (_tx, inbox_rx) = inbox(4, 4);
    let (back, _) = node0_recovered(dir.path(), inbox_rx);
    let held: Vec<_> = [0, 1, 5, 6, 9].iter().map(|&k| ts_of(&back, k)).collect();
    assert_eq!(
        held,
        [Some(100), Some(29), Some(33), Some(101), Some(102)],
        "a write acknowledged between the snapshot's slices is not in the new log"
    );
}

/// A compaction given up leaves its thread's answer to come; the next
/// one does not start before it, since that answer removes the file the
/// next one would write.
#[tokio::test]
async fn the_next_compaction_waits_for_the_answer_of_one_given_up() {
    let dir = tempfile::tempdir().unwrap();
    let (_inbox_tx, inbox_rx) = inbox(4, 4);
    let (mut d, _peers) = overwritten(dir.path(), inbox_rx, 20).await;
    d.maybe_compact().unwrap();
    assert!(d.compaction.is_running(), "no compaction started");
    d.compaction.give_up();
    d.compaction.after = Instant::now();
    d.maybe_compact().unwrap();
    assert!(
        !d.compaction.is_running(),
        "a compaction started before the last one's thread answered"
    );
    let mut done = d.compaction.done.take().unwrap();
    let written = done.recv().await.unwrap();
    d.snapshot_written(written).unwrap();
    assert!(!dir.path().join("commit.log.compacting").exists());
    d.maybe_compact().unwrap();
    assert!(
        d.compaction.is_running(),
        "no compaction after the answer came"
    );
    let written = done.recv().await.unwrap();
    d.snapshot_written(written).unwrap();
    assert!(
        dir.path().join("commit.log.compacting").exists(),
        "the new compaction's snapshot is gone"
    );
    d.maybe_adopt().unwrap();
    assert!(!d.compaction.is_running());
    assert!(!dir.path().join("commit.log.compacting").exists());
}
