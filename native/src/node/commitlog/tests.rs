//! The commit log's tests, on real files in temporary directories.

use super::*;
use ringside_core::{Key, Version};

/// Appends `record`, fsyncs, and opens the log again, as a restart
/// would.
fn append_and_reopen(mut log: CommitLog, dir: &Path, record: &Record) -> Opened {
    log.append(record);
    log.sync().unwrap();
    drop(log);
    CommitLog::open(dir).unwrap()
}

/// Replaces the log with `records` at once, as a compaction with
/// nothing appended while its snapshot was written does.
fn rewrite(log: &mut CommitLog, records: &[Record]) {
    let snapshot = Snapshot::write(log.snapshot_path(), records.iter()).unwrap();
    log.adopt(snapshot, &[], 0).unwrap();
}

/// `log` after `n` writes of key 1, synced.
fn overwritten(mut log: CommitLog, n: u64) -> CommitLog {
    for ts in 0..n {
        log.append(&w(1, ts));
    }
    log.sync().unwrap();
    log
}

fn w(k: u8, ts: u64) -> Record {
    Record::Write {
        key: Key::Int(k),
        version: Version {
            ts,
            value: Some(format!("v{ts}").into()),
        },
    }
}

#[test]
fn appends_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(dir.path()).unwrap().log;
    log.append(&w(1, 1));
    log.append(&w(2, 2));
    log.sync().unwrap();
    let bytes = log.bytes();
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records, vec![w(1, 1), w(2, 2)]);
    assert_eq!(o.log.bytes(), bytes);
    assert_eq!(o.report.dropped_bytes, 0);
}

#[test]
fn torn_tail_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(dir.path()).unwrap().log;
    log.append(&w(1, 1));
    log.trim().unwrap();
    let good = log.bytes();
    drop(log);
    let path = dir.path().join(LOG_FILE);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"garbage!garbage!").unwrap();
    drop(f);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records, vec![w(1, 1)]);
    assert_eq!(o.report.dropped_bytes, 16);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), good);
    // Appending after the cut yields a clean log.
    let o = append_and_reopen(o.log, dir.path(), &w(3, 3));
    assert_eq!(o.records, vec![w(1, 1), w(3, 3)]);
    assert!(o.report.problem.is_none());
}

#[test]
fn rewrite_replaces_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = overwritten(CommitLog::open(dir.path()).unwrap().log, 100);
    rewrite(&mut log, &[w(1, 99)]);
    assert_eq!(log.records(), 1);
    log.append(&w(2, 100));
    log.sync().unwrap();
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records, vec![w(1, 99), w(2, 100)]);
}

/// A cleanly stopped log of `n` records, each synced on its own (as
/// writes at ALL are), and where each record's frame starts.
fn synced_one_by_one(dir: &Path, n: u8) -> Vec<u64> {
    let mut log = CommitLog::open(dir).unwrap().log;
    let mut starts = vec![];
    for k in 0..n {
        starts.push(log.bytes());
        log.append(&w(k, k as u64));
        log.sync().unwrap();
    }
    log.trim().unwrap();
    starts
}

fn flip(dir: &Path, at: u64) -> Vec<u8> {
    let path = dir.join(LOG_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at as usize] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    bytes
}

#[test]
fn damage_in_the_middle_is_refused_and_the_file_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let starts = synced_one_by_one(dir.path(), 30);
    let bytes = flip(dir.path(), starts[10] + 12);
    let e = CommitLog::open(dir.path()).err().expect("refused");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    let msg = e.to_string();
    let path = dir.path().join(LOG_FILE);
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains(&format!("damaged at byte {}", starts[10])),
        "{msg}"
    );
    assert!(msg.contains("19 valid records follow"), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
    // Damage in the last record of a cleanly stopped log is damage too:
    // the stop's marker covers it.
    let dir = tempfile::tempdir().unwrap();
    let starts = synced_one_by_one(dir.path(), 5);
    flip(dir.path(), starts[4] + 12);
    let e = CommitLog::open(dir.path()).err().expect("refused");
    assert!(e.to_string().contains("0 valid records follow"), "{e}");
}

#[test]
fn salvage_keeps_every_valid_record_and_the_damaged_file() {
    let dir = tempfile::tempdir().unwrap();
    let starts = synced_one_by_one(dir.path(), 30);
    let bytes = flip(dir.path(), starts[10] + 12);
    let (log, report, records) =
        CommitLog::open_salvaging(dir.path(), |r| r.collect::<Vec<_>>()).unwrap();
    let want: Vec<Record> = (0..30)
        .filter(|&k| k != 10)
        .map(|k| w(k, k as u64))
        .collect();
    assert_eq!(records, want);
    assert_eq!(log.records(), 29);
    let s = report.salvaged.expect("salvaged");
    assert_eq!(s.records_before, 10);
    assert_eq!(s.damage.records_after, 19);
    assert_eq!(s.damage.at, starts[10]);
    // Only the damaged record's frame is lost.
    assert_eq!(s.damage.lost_bytes() as usize, w(10, 10).frame().len());
    assert_eq!(
        s.moved_to,
        dir.path()
            .join(format!("{LOG_FILE}.damaged-{}", starts[10]))
    );
    assert_eq!(std::fs::read(&s.moved_to).unwrap(), bytes);
    // The new log takes appends and is clean on the next open.
    let o = append_and_reopen(log, dir.path(), &w(99, 99));
    assert!(o.report.problem.is_none(), "{:?}", o.report.problem);
    assert_eq!(o.records.len(), 30);
    // Salvaging a clean log changes nothing.
    drop(o);
    let (_, report, n) = CommitLog::open_salvaging(dir.path(), |r| r.count()).unwrap();
    assert!(report.salvaged.is_none());
    assert_eq!(n, 30);
}

#[test]
fn a_log_written_before_sync_markers_replays() {
    let dir = tempfile::tempdir().unwrap();
    let old: Vec<u8> = (0..5).flat_map(|k| w(k, k as u64).frame()).collect();
    std::fs::write(dir.path().join(LOG_FILE), &old).unwrap();
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records.len(), 5);
    assert!(o.report.problem.is_none());
    // Appending to it, then a torn tail, is as ever.
    let o = append_and_reopen(o.log, dir.path(), &w(7, 7));
    assert_eq!(o.records.len(), 6);
}

/// A compaction that fails after its rename must not leave the log
/// writing to the old, unlinked file: what is appended and synced
/// after it (and acknowledged) must be there after a restart.
#[test]
fn a_compaction_that_fails_after_its_rename_keeps_later_appends() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = overwritten(CommitLog::open(dir.path()).unwrap().log, 10);
    FAIL_AFTER_RENAME.with(|f| f.set(true));
    let snapshot = Snapshot::write(log.snapshot_path(), [w(1, 9)].iter()).unwrap();
    assert!(log.adopt(snapshot, &[], 0).is_err());
    // The node goes on: what it appends and syncs now, it acknowledges.
    log.append(&w(2, 100));
    if log.sync().is_ok() {
        drop(log);
        let o = CommitLog::open(dir.path()).unwrap();
        assert!(
            o.records.contains(&w(2, 100)),
            "a record synced after the failed compaction is lost on restart: the log holds {:?}",
            o.records
        );
    }
}

fn file_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(LOG_FILE)).unwrap().len()
}

#[test]
fn zeros_written_ahead_are_reused_kept_and_not_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(dir.path()).unwrap().log;
    log.append(&w(1, 1));
    log.sync().unwrap();
    let first = log.bytes();
    assert_eq!(file_len(dir.path()), first + PREALLOC_BYTES);
    // Later records go over the zeros: the file does not grow.
    log.append(&w(2, 2));
    log.sync().unwrap();
    assert_eq!(file_len(dir.path()), first + PREALLOC_BYTES);
    let bytes = log.bytes();
    drop(log); // as in a crash: no trim
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records, vec![w(1, 1), w(2, 2)]);
    assert_eq!(o.report.dropped_bytes, 0);
    assert!(o.report.problem.is_none(), "{:?}", o.report.problem);
    assert_eq!(o.log.bytes(), bytes);
    assert_eq!(file_len(dir.path()), first + PREALLOC_BYTES, "kept");
    // Appending after reopen continues at the records' end.
    let o = append_and_reopen(o.log, dir.path(), &w(3, 3));
    assert_eq!(o.records, vec![w(1, 1), w(2, 2), w(3, 3)]);
    // A clean stop cuts the zeros.
    let mut log = o.log;
    log.trim().unwrap();
    assert_eq!(file_len(dir.path()), log.bytes());
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records.len(), 3);
    assert_eq!(o.report.dropped_bytes, 0);
}

#[test]
fn records_past_the_zeros_get_new_zeros_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(dir.path()).unwrap().log;
    let big = sized(9, 1, 300_000);
    for _ in 0..5 {
        log.append(&big);
        log.sync().unwrap();
        assert!(file_len(dir.path()) > log.bytes(), "zeros follow");
        assert_eq!(log.file_len(), file_len(dir.path()));
    }
    assert_eq!(file_len(dir.path()), log.bytes() + PREALLOC_BYTES);
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records.len(), 5);
    assert_eq!(o.report.dropped_bytes, 0);
}

#[test]
fn a_torn_record_over_the_zeros_is_cut_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(dir.path()).unwrap().log;
    log.append(&w(1, 1));
    log.sync().unwrap();
    let good = log.bytes();
    drop(log);
    // Half a frame written over the zeros, then a crash.
    let frame = w(2, 2).frame();
    let f = OpenOptions::new()
        .write(true)
        .open(dir.path().join(LOG_FILE))
        .unwrap();
    f.write_all_at(&frame[..frame.len() / 2], good).unwrap();
    drop(f);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records, vec![w(1, 1)]);
    assert!(o.report.problem.is_some());
    assert_eq!(o.report.dropped_bytes as u64, PREALLOC_BYTES);
    assert_eq!(file_len(dir.path()), good, "cut at the last good record");
    let o = append_and_reopen(o.log, dir.path(), &w(3, 3));
    assert_eq!(o.records, vec![w(1, 1), w(3, 3)]);
    assert!(o.report.problem.is_none());
}

#[test]
fn discarding_unsynced_records_cuts_the_zeros_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(dir.path()).unwrap().log;
    log.append(&w(1, 1));
    log.sync().unwrap();
    let good = log.bytes();
    log.append(&w(2, 2));
    log.write_pending().unwrap();
    assert_eq!(file_len(dir.path()), good + PREALLOC_BYTES);
    let unsynced = log.bytes() - good;
    assert_eq!(log.cut_back_to(log.synced()).unwrap(), unsynced);
    assert_eq!(file_len(dir.path()), good);
    assert_eq!(log.file_len(), good);
}

/// A log in `dir` switched to direct writes (the test's file system
/// must take them: ext4 and tmpfs on Linux do).
fn direct(dir: &Path) -> Opened {
    let mut o = CommitLog::open(dir).unwrap();
    assert!(o.log.write_directly().unwrap(), "no O_DIRECT here");
    assert!(o.log.is_direct());
    o
}

/// A record whose frame is about `bytes` long.
fn sized(k: u8, ts: u64, bytes: usize) -> Record {
    Record::Write {
        key: Key::Int(k),
        version: Version {
            ts,
            value: Some("x".repeat(bytes).into()),
        },
    }
}

#[test]
fn direct_writes_survive_reopen_across_block_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = direct(dir.path()).log;
    let mut want = vec![];
    // Sizes that end records inside, at and across 4 KiB blocks.
    for (ts, size) in [10, 3000, 1500, 4000, 50, 9000, 1, 2000]
        .into_iter()
        .enumerate()
    {
        let r = sized(ts as u8, ts as u64, size);
        log.append(&r);
        want.push(r);
        if ts % 3 != 1 {
            log.sync().unwrap();
            assert!(!log.is_dirty());
            assert_eq!(log.synced(), log.bytes());
        }
    }
    log.sync().unwrap();
    let bytes = log.bytes();
    drop(log); // as in a crash: no trim
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records, want);
    assert_eq!(o.log.bytes(), bytes);
    assert_eq!(o.report.dropped_bytes, 0);
    assert!(o.report.problem.is_none(), "{:?}", o.report.problem);
    // Direct again after reopen, from a block half full.
    let mut log = direct(dir.path()).log;
    log.append(&w(7, 7));
    log.sync().unwrap();
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    want.push(w(7, 7));
    assert_eq!(o.records, want);
}

#[test]
fn direct_writes_run_elsewhere_while_records_are_appended() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = direct(dir.path()).log;
    log.append(&w(1, 1));
    let work = log.start_sync().unwrap().expect("work to do");
    let covers = log.written();
    assert_eq!(covers, log.bytes());
    // Appended while the write is in flight: not covered by it.
    log.append(&w(2, 2));
    assert!(log.is_dirty());
    std::thread::spawn(move || work.run())
        .join()
        .unwrap()
        .unwrap();
    log.synced_to(covers);
    assert!(log.synced() < log.bytes());
    assert!(log.is_dirty(), "the second record is not synced");
    log.sync().unwrap();
    assert!(!log.is_dirty());
    assert!(log.start_sync().unwrap().is_none(), "nothing left to do");
    drop(log);
    assert_eq!(
        CommitLog::open(dir.path()).unwrap().records,
        vec![w(1, 1), w(2, 2)]
    );
}

#[test]
fn direct_writes_keep_zeros_ahead_and_trim_cuts_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = direct(dir.path()).log;
    for ts in 0..5 {
        log.append(&sized(9, ts, 300_000));
        log.sync().unwrap();
        assert!(file_len(dir.path()) > log.bytes(), "zeros follow");
    }
    let bytes = log.bytes();
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records.len(), 5);
    assert_eq!(o.report.dropped_bytes, 0);
    assert_eq!(o.log.bytes(), bytes);
    let mut log = direct(dir.path()).log;
    log.append(&w(1, 1));
    log.trim().unwrap();
    assert_eq!(file_len(dir.path()), log.bytes());
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records.len(), 6);
    assert!(o.report.problem.is_none());
}

#[test]
fn direct_writes_follow_a_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = overwritten(direct(dir.path()).log, 100);
    rewrite(&mut log, &[w(1, 99)]);
    assert!(log.is_direct());
    log.append(&w(2, 100));
    log.sync().unwrap();
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records, vec![w(1, 99), w(2, 100)]);
    assert!(o.report.problem.is_none());
}

#[test]
fn a_direct_write_that_never_ran_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = direct(dir.path()).log;
    log.append(&w(1, 1));
    log.sync().unwrap();
    log.append(&w(2, 2));
    // The write fails (or the process dies) before it lands.
    drop(log.start_sync().unwrap().expect("work to do"));
    let unsynced = log.bytes() - log.synced();
    assert_eq!(log.cut_back_to(log.synced()).unwrap(), unsynced);
    assert!(!log.is_direct());
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records, vec![w(1, 1)]);
    assert!(o.report.problem.is_none());
}

/// A snapshot written beside the log, then adopted with the frames of
/// the records appended meanwhile: the new log holds the snapshot and
/// then those records, in order, and later appends follow them; the
/// damage check still sees a whole, marked log.
#[test]
fn an_adopted_snapshot_is_followed_by_what_was_appended_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = overwritten(CommitLog::open(dir.path()).unwrap().log, 10);
    let snapshot = Snapshot::write(log.snapshot_path(), [w(1, 9)].iter()).unwrap();
    let meanwhile = [w(2, 10), w(3, 11)];
    let mut kept = Vec::new();
    for r in &meanwhile {
        kept.extend_from_slice(log.append(r));
    }
    log.adopt(snapshot, &kept, 2).unwrap();
    assert_eq!(log.records(), 3);
    assert!(!log.snapshot_path().exists());
    let o = append_and_reopen(log, dir.path(), &w(4, 12));
    assert_eq!(o.records, vec![w(1, 9), w(2, 10), w(3, 11), w(4, 12)]);
    assert!(o.report.problem.is_none(), "{:?}", o.report.problem);
    assert_eq!(o.log.records(), 4);
}

/// A snapshot that never replaced the log (the node stopped first) is
/// removed when the log is opened, and the log is as it was.
#[test]
fn a_snapshot_left_behind_is_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(dir.path()).unwrap().log;
    log.append(&w(1, 1));
    log.sync().unwrap();
    // Written, never adopted: the file stays when the snapshot goes.
    drop(Snapshot::write(log.snapshot_path(), [w(9, 9)].iter()).unwrap());
    let path = log.snapshot_path();
    assert!(path.exists());
    drop(log);
    let o = CommitLog::open(dir.path()).unwrap();
    assert_eq!(o.records, vec![w(1, 1)]);
    assert!(
        !path.exists(),
        "the unfinished compaction's snapshot is still there"
    );
}
