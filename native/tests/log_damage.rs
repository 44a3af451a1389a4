//! Damage in the middle of a node's commit log, against real node
//! processes: a node refuses to start on it (naming the file, the offset
//! and how many valid records follow) and leaves the file as it was; the
//! explicit `--salvage-damaged-log` moves the file aside, starts from its
//! valid records and says what it lost. A torn tail is still cut (see
//! `robustness.rs`).

mod common;

use common::*;
use serde_json::json;

/// Keys node `id` stores (tombstones aside).
fn keys_held(c: &TestCluster, id: usize) -> usize {
    c.inspect(id)["data"]
        .as_array()
        .map(|d| d.iter().filter(|kv| kv["value"].is_string()).count())
        .unwrap_or(0)
}

/// Shows that one byte flipped a third of the way into a cleanly stopped
/// node's log makes the node refuse to start (the bytes stay as they were),
/// and that the salvage flag starts it with every key but the damaged one.
#[test]
fn damage_in_the_middle_is_refused_and_salvage_moves_it_aside() {
    let c = TestCluster::start(4);
    let mut cl = c.client(0);
    for k in 0..64u64 {
        let r = cl.put(json!(k), &format!("value-{k}"), "ALL");
        assert_eq!(outcome(&r), "ok", "put {k}: {r}");
    }
    drop(cl);
    let held = keys_held(&c, 1);
    assert!(held > 32, "node 1 holds only {held} of the 64 keys");
    c.stop(1);

    let log = c.node_dir(1).join("commit.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    std::fs::write(&log, &bytes).unwrap();

    let out = c.ringside(&["cluster", "restart", "1"]);
    let said = text(&out);
    if out.status.success() {
        panic!(
            "node 1 started on a log damaged in the middle (byte {at} of {}); it serves {} of its {held} keys\n{said}",
            bytes.len(),
            keys_held(&c, 1)
        );
    }
    assert_eq!(
        std::fs::read(&log).unwrap(),
        bytes,
        "the refused start changed the log"
    );
    let node_log = c.log_text(1);
    assert!(
        node_log.contains(&log.display().to_string()),
        "the error does not name the file:\n{node_log}"
    );
    assert!(
        node_log.contains("valid records follow"),
        "the error does not say how many valid records follow:\n{node_log}"
    );
    assert!(
        node_log.contains("--salvage-damaged-log"),
        "the error does not name the way out:\n{node_log}"
    );
    // The offset is where the damaged frame starts: at or before the flip.
    let offset: usize = node_log
        .split("damaged at byte ")
        .nth(1)
        .and_then(|s| s.split(|ch: char| !ch.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no offset in the error:\n{node_log}"));
    assert!(
        offset <= at && at - offset < 64,
        "offset {offset}, flip at {at}"
    );

    // The way out: the damaged file moves aside, the node starts from
    // what is valid and says what it lost.
    let out = c.ringside(&["cluster", "restart", "1", "--salvage-damaged-log"]);
    assert!(out.status.success(), "salvage failed: {}", text(&out));
    let aside = c.node_dir(1).join(format!("commit.log.damaged-{offset}"));
    assert_eq!(
        std::fs::read(&aside).unwrap_or_default(),
        bytes,
        "{} does not hold the damaged log",
        aside.display()
    );
    let node_log = c.log_text(1);
    assert!(
        node_log.contains("salvaged") && node_log.contains("lost"),
        "the salvage does not say what it lost:\n{node_log}"
    );
    let now = keys_held(&c, 1);
    assert!(
        now + 1 >= held,
        "salvage kept {now} of {held} keys (one record was damaged)"
    );
    // The salvaged log is clean: a plain restart takes it.
    c.kill(1);
    c.restart(1);
    assert_eq!(keys_held(&c, 1), now);
    println!(
        "damage at byte {offset} of {}: refused, then salvaged {now} of {held} keys",
        bytes.len()
    );
}
