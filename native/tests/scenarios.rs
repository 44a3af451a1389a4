//! The seed system's feature list, against real node processes: placement,
//! QUORUM reads, Unavailable, recovery from the commit log, hinted handoff.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

/// Shows that a QUORUM put of key 137 lands on nodes 2, 3 and 0 (the
/// owner k/64 and the next two clockwise) and not on node 1.
#[test]
fn key_137_lands_on_nodes_2_3_0() {
    let c = TestCluster::start(4);
    let r = c.client(1).put(json!(137), "value137", "QUORUM");
    assert_eq!(outcome(&r), "ok", "{r}");
    assert!(r["ts"].as_u64().unwrap() > 1_500_000_000_000_000, "{r}");
    wait_until("nodes 2, 3, 0 hold key 137", Duration::from_secs(5), || {
        [2, 3, 0]
            .iter()
            .all(|&n| stored(&c.inspect(n), json!(137)).as_deref() == Some("value137"))
    });
    assert_eq!(stored(&c.inspect(1), json!(137)), None);
    // A string key "137" is a different key.
    let r = c.client(0).get(json!("137"), "QUORUM");
    assert_eq!(r["kv"], json!(null), "{r}");
}

/// Shows that a QUORUM read returns the newest version when a replica is
/// stale, and read-repairs that replica.
#[test]
fn quorum_read_returns_the_newest_and_repairs() {
    let c = TestCluster::start(4);
    assert_eq!(outcome(&c.client(0).put(json!(137), "old", "ALL")), "ok");
    // Node 2 misses the new write; node 1 coordinates it, so the hint for
    // node 2 sits on node 1, which then crashes: node 2 stays stale.
    c.kill(2);
    c.wait_sees_down(1, &[2]);
    let r = c.client(1).put(json!(137), "new", "QUORUM");
    assert_eq!(outcome(&r), "ok", "{r}");
    let new_ts = r["ts"].as_u64().unwrap();
    c.kill(1);
    c.restart(2);
    assert_eq!(stored(&c.inspect(2), json!(137)).as_deref(), Some("old"));
    // Node 0 down too: a QUORUM read through node 2 must use 2 and 3.
    c.kill(0);
    let r = c.client(2).get(json!(137), "QUORUM");
    assert_eq!(outcome(&r), "ok", "{r}");
    assert_eq!(r["kv"]["value"], json!("new"), "{r}");
    assert_eq!(r["kv"]["ts"], json!(new_ts), "{r}");
    wait_until("node 2 is read-repaired", Duration::from_secs(5), || {
        stored(&c.inspect(2), json!(137)).as_deref() == Some("new")
    });
}

/// Shows that a QUORUM write is refused with Unavailable, sending nothing,
/// once the coordinator's failure detector sees 2 of the key's 3 replicas
/// down.
#[test]
fn quorum_write_unavailable_with_two_replicas_down() {
    let c = TestCluster::start(4);
    c.kill(2);
    c.kill(3);
    c.wait_sees_down(0, &[2, 3]);
    let r = c.client(0).put(json!(137), "v", "QUORUM");
    assert_eq!(outcome(&r), "Unavailable", "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains("QUORUM") && msg.contains("[2, 3, 0]"), "{msg}");
    // Nothing was written or hinted.
    let n0 = c.inspect(0);
    assert_eq!(stored(&n0, json!(137)), None);
    assert_eq!(n0["hints"], json!([]));
    // ONE still works.
    assert_eq!(outcome(&c.client(0).put(json!(137), "v", "ONE")), "ok");
}

/// Shows that a ONE read is refused with Unavailable when all 3 replicas of
/// the key are down.
#[test]
fn one_read_unavailable_with_all_replicas_down() {
    let c = TestCluster::start(4);
    assert_eq!(outcome(&c.client(1).put(json!(137), "v", "ALL")), "ok");
    for n in [2, 3, 0] {
        c.kill(n);
    }
    c.wait_sees_down(1, &[2, 3, 0]);
    let r = c.client(1).get(json!(137), "ONE");
    assert_eq!(outcome(&r), "Unavailable", "{r}");
    // A key node 1 replicates still reads.
    let r = c.client(1).get(json!(64), "ONE");
    assert_eq!(outcome(&r), "ok", "{r}");
}

/// Shows that a node killed with SIGKILL rebuilds its data from its own
/// commit log (no hints or anti-entropy involved).
#[test]
fn killed_node_recovers_from_its_log() {
    let c = TestCluster::start(4);
    let mut cl = c.client(0);
    for k in 128..140 {
        assert_eq!(outcome(&cl.put(json!(k), &format!("v{k}"), "ALL")), "ok");
    }
    assert_eq!(outcome(&cl.put(json!("alice"), "x", "ALL")), "ok");
    assert_eq!(
        outcome(&cl.call(json!({"op": "delete", "key": 130, "cl": "ALL"}))),
        "ok"
    );
    let before = c.inspect(2);
    c.kill(2);
    c.restart(2);
    let after = c.inspect(2);
    assert_eq!(after["data"], before["data"]);
    assert_eq!(after["hints"], json!([]));
    assert!(after["log"]["records"].as_u64().unwrap() >= 13, "{after}");
    assert!(c.log_text(2).contains("replayed"), "{}", c.log_text(2));
    let r = c.client(2).get(json!(131), "ONE");
    assert_eq!(r["kv"]["value"], json!("v131"), "{r}");
    let r = c.client(2).get(json!(130), "ONE");
    assert_eq!(r["kv"], json!(null), "{r}");
}

/// Shows that a write made while a replica is down reaches it by hinted
/// handoff once it is back, and that the coordinator then holds no hint.
#[test]
fn hinted_handoff_after_restart() {
    let c = TestCluster::start(4);
    c.kill(3);
    c.wait_sees_down(0, &[3]);
    let r = c.client(0).put(json!(137), "handed", "QUORUM");
    assert_eq!(outcome(&r), "ok", "{r}");
    let hints = c.inspect(0)["hints"].clone();
    assert_eq!(
        hints,
        json!([{"target": 3, "key": 137, "value": "handed", "ts": r["ts"]}])
    );
    c.restart(3);
    wait_until(
        "node 3 has the hinted write and node 0 no hints",
        Duration::from_secs(10),
        || {
            stored(&c.inspect(3), json!(137)).as_deref() == Some("handed")
                && c.inspect(0)["hints"] == json!([])
        },
    );
}

/// Shows that hints are durable: the coordinator crashes while holding a
/// hint, recovers it from its log, and still delivers it.
#[test]
fn hints_survive_a_coordinator_crash() {
    let c = TestCluster::start(4);
    c.kill(3);
    c.wait_sees_down(0, &[3]);
    assert_eq!(
        outcome(&c.client(0).put(json!(137), "kept", "QUORUM")),
        "ok"
    );
    assert_eq!(c.inspect(0)["hints"].as_array().unwrap().len(), 1);
    c.kill(0);
    c.restart(0);
    let hints = c.inspect(0)["hints"].clone();
    assert_eq!(hints.as_array().map(Vec::len), Some(1), "{hints}");
    assert_eq!(hints[0]["target"], json!(3));
    c.restart(3);
    wait_until(
        "the recovered hint is delivered",
        Duration::from_secs(10),
        || {
            stored(&c.inspect(3), json!(137)).as_deref() == Some("kept")
                && c.inspect(0)["hints"] == json!([])
        },
    );
}

/// Shows that `inspect` lists a node's last records, numbered in order,
/// without any subscriber (the node then builds no per-record events).
#[test]
fn inspect_shows_the_log_tail_in_order() {
    let c = TestCluster::start(4);
    let mut client = c.client(1);
    for i in 0..10 {
        let r = client.put(json!(137), &format!("tail{i}"), "ALL");
        assert_eq!(outcome(&r), "ok", "{r}");
    }
    // Node 2 holds key 137: its last eight records are the last puts.
    let tail = c.inspect(2)["log_tail"].clone();
    let tail = tail.as_array().expect("a log_tail array");
    assert_eq!(tail.len(), 8, "{tail:?}");
    for (i, entry) in tail.iter().enumerate() {
        let record = entry["record"].as_str().unwrap();
        assert!(
            record.starts_with(&format!("write 137=tail{} @", i + 2)),
            "{entry}"
        );
        if i > 0 {
            assert_eq!(
                entry["lsn"],
                json!(tail[i - 1]["lsn"].as_u64().unwrap() + 1)
            );
        }
        assert_eq!(entry["synced"], json!(true), "{entry}");
    }
}

/// Shows that `inspect` answers in pages when asked (`limit`, `after`),
/// that walking them lists every key once with the count of all, that a
/// bad page is refused naming the field, and that the tools' client walk
/// (`wsclient`) puts the pages back together into the whole state.
#[test]
fn inspect_answers_in_pages() {
    let c = TestCluster::start(4);
    let mut client = c.client(1);
    for k in 0..20 {
        let r = client.put(json!(k), &format!("v{k}"), "ALL");
        assert_eq!(outcome(&r), "ok", "{r}");
    }
    let whole = c.inspect(1);
    let total = whole["data"].as_array().unwrap().len();
    assert!(total >= 10, "node 1 holds most keys: {whole}");
    assert_eq!(whole["data_total"], json!(total));
    assert!(whole.get("data_next").is_none(), "{whole}");

    let mut keys = Vec::new();
    let mut after = None;
    loop {
        let mut req = json!({"op": "inspect", "limit": 3});
        if let Some(k) = &after {
            req["after"] = json!(k);
        }
        let r = client.call(req);
        assert_eq!(r["ok"], json!(true), "{r}");
        let node = &r["node"];
        assert_eq!(node["data_total"], json!(total));
        let page = node["data"].as_array().unwrap();
        assert!(!page.is_empty() && page.len() <= 3, "{node}");
        keys.extend(page.iter().map(|kv| kv["key"].clone()));
        match node.get("data_next") {
            Some(next) => after = Some(next.clone()),
            None => break,
        }
    }
    let want: Vec<_> = whole["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| kv["key"].clone())
        .collect();
    assert_eq!(keys, want);

    let r = client.call(json!({"op": "inspect", "limit": 0}));
    assert_eq!(outcome(&r), "BadRequest", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("limit:"),
        "{r}"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let walked = rt.block_on(async {
        let mut conn =
            ringside_native::wsclient::Conn::connect(&c.addrs[1], Duration::from_secs(5))
                .await
                .unwrap();
        conn.inspect_in_pages(4, Duration::from_secs(10))
            .await
            .unwrap()
    });
    let (node, raw) = walked;
    assert_eq!(serde_json::to_value(&node.data).unwrap(), whole["data"]);
    assert_eq!(node.data_total, total);
    let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw["node"]["data"], whole["data"]);
}

/// Shows that a subscriber gets the node's events in order: numbered per
/// node, with the request received and answered and the record persisted.
#[test]
fn subscribers_get_events_in_order() {
    let c = TestCluster::start(4);
    let mut sub = c.client(2);
    let r = sub.call(json!({"op": "subscribe"}));
    assert_eq!(r, json!({"id": 1, "ok": true}));
    assert_eq!(
        outcome(&c.client(2).put(json!(137), "seen", "QUORUM")),
        "ok"
    );
    let mut kinds = vec![];
    let mut last_seq = 0;
    wait_until("the put's events arrive", Duration::from_secs(5), || {
        let frame = match sub.ws.read() {
            Ok(tungstenite::Message::Text(t)) => {
                serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap()
            }
            _ => return false,
        };
        let e = &frame["event"];
        assert_eq!(e["node"], json!(2), "{frame}");
        let seq = e["seq"].as_u64().unwrap();
        assert!(seq > last_seq, "seq {seq} after {last_seq}");
        last_seq = seq;
        assert!(e["ts"].as_u64().unwrap() > 0);
        kinds.push(e["kind"].as_str().unwrap().to_string());
        kinds.iter().any(|k| k == "request_answered")
    });
    for k in [
        "request_received",
        "record_persisted",
        "write_applied",
        "message_sent",
    ] {
        assert!(kinds.iter().any(|x| x == k), "no {k} in {kinds:?}");
    }
}
