//! Durability, concurrency and hostile input, against real node processes.

mod common;

use common::*;
use ringside_native::node::log_reader::frame_at;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

/// Shows that 4 clients, one on every coordinator, all make progress at
/// once (the seed deadlocked with 4 concurrent clients).
#[test]
fn four_concurrent_clients_all_make_progress() {
    let c = TestCluster::start(4);
    let started = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let mut cl = c.client(i);
            std::thread::spawn(move || {
                for j in 0..150u64 {
                    let key = json!((i as u64 * 37 + j * 5) % 256);
                    let v = format!("c{i}-{j}");
                    let r = cl.put(key.clone(), &v, "QUORUM");
                    assert_eq!(outcome(&r), "ok", "client {i} put {j}: {r}");
                    let r = cl.get(key, "QUORUM");
                    assert_eq!(outcome(&r), "ok", "client {i} get {j}: {r}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client failed");
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// Shows that a coordinator killed with SIGKILL in the middle of a stream
/// of pipelined QUORUM writes loses none it acknowledged: after restart its
/// own log holds every one (it is a replica of each key and persists before
/// it acknowledges), and QUORUM reads elsewhere return them.
#[test]
fn sigkill_mid_stream_loses_no_acknowledged_write() {
    let c = TestCluster::start(4);
    let addr = c.addrs[0].clone();
    let (acks_tx, acks_rx) = std::sync::mpsc::channel::<(u64, String, u64)>();
    let writer = std::thread::spawn(move || {
        let mut cl = Client::connect(&addr).unwrap();
        let mut sent: HashMap<u64, (u64, String)> = HashMap::new();
        let mut next = 1u64;
        // Keys 128..=191 live on nodes 2, 3, 0; keep 16 writes in flight.
        while next < 100_000 {
            while sent.len() < 16 {
                let key = 128 + next % 64;
                let value = format!("w{next}");
                let frame =
                    json!({"id": next, "op": "put", "key": key, "value": value, "cl": "QUORUM"});
                if cl.ws.send(Message::text(frame.to_string())).is_err() {
                    return;
                }
                sent.insert(next, (key, value));
                next += 1;
            }
            let reply = match cl.ws.read() {
                Ok(Message::Text(t)) => serde_json::from_str::<Value>(t.as_str()).unwrap(),
                Ok(_) => continue,
                Err(_) => return,
            };
            let id = reply["id"].as_u64().unwrap();
            let (key, value) = sent.remove(&id).unwrap();
            if reply["ok"] == json!(true) {
                let ts = reply["ts"].as_u64().unwrap();
                if acks_tx.send((key, value, ts)).is_err() {
                    return;
                }
            }
        }
    });
    let mut acked: BTreeMap<u64, (String, u64)> = BTreeMap::new();
    let mut count = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while count < 300 {
        let (k, v, ts) = acks_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("acks keep coming");
        count += 1;
        if acked.get(&k).is_none_or(|(_, t)| ts > *t) {
            acked.insert(k, (v, ts));
        }
    }
    c.kill(0);
    // Acks that were in the socket when the node died still count.
    while let Ok((k, v, ts)) = acks_rx.recv_timeout(Duration::from_millis(500)) {
        if acked.get(&k).is_none_or(|(_, t)| ts > *t) {
            acked.insert(k, (v, ts));
        }
    }
    writer.join().unwrap();
    c.restart(0);
    let node0 = c.inspect(0);
    let data: HashMap<u64, (Option<String>, u64)> = node0["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|kv| {
            Some((
                kv["key"].as_u64()?,
                (kv["value"].as_str().map(str::to_string), kv["ts"].as_u64()?),
            ))
        })
        .collect();
    for (k, (v, ts)) in &acked {
        let (have, have_ts) = data
            .get(k)
            .unwrap_or_else(|| panic!("key {k} (acked {v} @{ts}) is missing on node 0"));
        assert!(
            *have_ts >= *ts,
            "key {k}: acked {v} @{ts}, node 0 has {have:?} @{have_ts}"
        );
    }
    let mut cl = c.client(1);
    for (k, (v, ts)) in acked.iter().take(20) {
        let r = cl.get(json!(k), "QUORUM");
        assert!(
            r["kv"]["ts"].as_u64().unwrap_or(0) >= *ts,
            "key {k} acked {v} @{ts}: {r}"
        );
    }
}

/// Shows that garbage appended to a node's log (a torn tail) is reported,
/// cut off on restart, and the node serves its data.
#[test]
fn torn_tail_is_cut_on_restart() {
    let c = TestCluster::start(4);
    let mut cl = c.client(1);
    for k in 64..80 {
        assert_eq!(outcome(&cl.put(json!(k), &format!("v{k}"), "ALL")), "ok");
    }
    let before = c.inspect(1)["data"].clone();
    c.stop(1);
    let log = c.node_dir(1).join("commit.log");
    let good = std::fs::read(&log).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&[0x17; 37]).unwrap();
    drop(f);
    c.restart(1);
    // The garbage is gone: the records as they were, then only whole
    // frames the restarted node wrote (it logs a timestamp reservation
    // as it starts), then at most zeros (the room a node keeps after its
    // records).
    let now = std::fs::read(&log).unwrap();
    assert_eq!(now[..good.len()], good[..]);
    let mut at = good.len();
    while let Ok((_, len)) = frame_at(&now, at) {
        at += len;
    }
    assert!(
        now[at..].iter().all(|&b| b == 0),
        "garbage kept at byte {at}"
    );
    assert!(
        c.log_text(1).contains("dropped 37 bytes"),
        "{}",
        c.log_text(1)
    );
    assert_eq!(c.inspect(1)["data"], before);
    assert_eq!(outcome(&c.client(1).put(json!(70), "after", "ALL")), "ok");
    c.kill(1);
    c.restart(1);
    assert_eq!(stored(&c.inspect(1), json!(70)).as_deref(), Some("after"));
    // The second replay found a clean log.
    assert_eq!(
        c.log_text(1).matches("after the last good record").count(),
        1
    );
}

/// Shows that bad frames get BadRequest naming the problem, and that the
/// connection and the node keep serving; a frame over the size limit
/// closes only that connection.
#[test]
fn bad_frames_get_bad_request_and_the_connection_stays() {
    let c = TestCluster::start(4);
    let mut cl = c.client(0);
    let big = "x".repeat((1 << 20) + 1);
    let cases: Vec<(String, Value, &str)> = vec![
        ("not json".into(), json!(null), "not JSON"),
        (r#"{"id": 1, "op": "frob"}"#.into(), json!(1), "unknown op"),
        (
            r#"{"id": 2, "op": "get", "key": 256, "cl": "ONE"}"#.into(),
            json!(2),
            "key",
        ),
        (
            r#"{"id": 3, "op": "get", "key": 1, "cl": "SOME"}"#.into(),
            json!(3),
            "SOME",
        ),
        (
            json!({"id": 4, "op": "put", "key": 1, "value": big, "cl": "ONE"}).to_string(),
            json!(4),
            "value",
        ),
        (r#"[1, 2]"#.into(), json!(null), "object"),
        (r#"{"op": "get"}"#.into(), json!(null), "id"),
        (
            r#"{"id": 5, "op": "put", "key": 1, "cl": "ONE"}"#.into(),
            json!(5),
            "value",
        ),
    ];
    for (frame, id, needle) in cases {
        cl.send_text(&frame);
        let r = cl.recv();
        assert_eq!(outcome(&r), "BadRequest", "{frame:.80}: {r}");
        assert_eq!(r["id"], id, "{r}");
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{frame:.80}: {msg}");
    }
    cl.ws.send(Message::binary(vec![1u8, 2, 3])).unwrap();
    let r = cl.recv();
    assert_eq!(outcome(&r), "BadRequest", "{r}");
    // Still serving on the same connection.
    assert_eq!(outcome(&cl.put(json!(1), "fine", "QUORUM")), "ok");
    // A frame over the 2 MiB limit closes that connection only.
    let huge = "y".repeat(3 << 20);
    let _ = cl.ws.send(Message::text(huge));
    let closed = loop {
        match cl.ws.read() {
            Ok(Message::Close(frame)) => break frame.map(|f| u16::from(f.code)),
            Ok(_) => continue,
            Err(_) => break None,
        }
    };
    assert_eq!(closed, Some(1009), "close code for a too-large frame");
    let r = c.client(0).get(json!(1), "QUORUM");
    assert_eq!(r["kv"]["value"], json!("fine"), "{r}");
}

/// Shows that /client refuses a foreign Origin with 403 and takes
/// localhost and configured origins.
#[test]
fn foreign_origin_is_refused() {
    let c = TestCluster::start_with(4, "allowed_origins = [\"https://lab.example.org\"]", "");
    let try_origin = |origin: &str| {
        let mut req = format!("ws://{}/client", c.addrs[2])
            .into_client_request()
            .unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        match tungstenite::connect(req) {
            Ok(_) => 101,
            Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
            Err(e) => panic!("{origin}: {e}"),
        }
    };
    assert_eq!(try_origin("http://evil.example"), 403);
    assert_eq!(try_origin("http://localhost.evil.example:9000"), 403);
    assert_eq!(try_origin("http://localhost:8080"), 101);
    assert_eq!(try_origin("http://127.0.0.1:3000"), 101);
    assert_eq!(try_origin("https://lab.example.org"), 101);
}

/// Shows that /peer refuses a connection without the cluster secret (or
/// with a wrong one), and that the node keeps serving.
#[test]
fn peer_without_the_secret_is_refused() {
    let c = TestCluster::start(4);
    let try_peer = |secret: Option<&str>, node: Option<&str>| {
        let mut req = format!("ws://{}/peer", c.addrs[0])
            .into_client_request()
            .unwrap();
        if let Some(s) = secret {
            req.headers_mut()
                .insert("x-ringside-secret", s.parse().unwrap());
        }
        if let Some(n) = node {
            req.headers_mut()
                .insert("x-ringside-node", n.parse().unwrap());
        }
        match tungstenite::connect(req) {
            Ok(_) => 101,
            Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(try_peer(None, Some("1")), 401);
    assert_eq!(try_peer(Some("not-the-secret"), Some("1")), 401);
    assert_eq!(try_peer(Some(SECRET), None), 400);
    assert_eq!(try_peer(Some(SECRET), Some("0")), 400);
    assert_eq!(try_peer(Some(SECRET), Some("1")), 101);
    // Garbage from a peer with the secret is ignored, not fatal.
    let mut req = format!("ws://{}/peer", c.addrs[0])
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("x-ringside-secret", SECRET.parse().unwrap());
    req.headers_mut()
        .insert("x-ringside-node", "1".parse().unwrap());
    let (mut ws, _) = tungstenite::connect(req).unwrap();
    ws.send(Message::binary(vec![0xff; 64])).unwrap();
    ws.send(Message::text("{}")).unwrap();
    ws.flush().unwrap();
    assert_eq!(outcome(&c.client(0).put(json!(5), "ok", "ALL")), "ok");
}

/// Shows that the log is compacted once it passes its threshold, and that
/// the compacted log rebuilds the same state after a crash.
#[test]
fn compaction_keeps_the_log_bounded() {
    let c = TestCluster::start_with(4, "compact_min_records = 40", "");
    let mut cl = c.client(0);
    for i in 0..200 {
        assert_eq!(outcome(&cl.put(json!(5), &format!("v{i}"), "ALL")), "ok");
    }
    // The last compaction's snapshot may still be on its way to disk.
    let records = || c.inspect(0)["log"]["records"].as_u64().unwrap();
    wait_until("the log to be compacted", Duration::from_secs(10), || {
        records() <= 4 + 40 + 1
    });
    assert!(c.log_text(0).contains("compacted"), "{}", c.log_text(0));
    c.kill(0);
    c.restart(0);
    assert_eq!(stored(&c.inspect(0), json!(5)).as_deref(), Some("v199"));
}

/// Shows that a connection past its in-flight bound is answered
/// Overloaded, and that every request still gets exactly one answer.
#[test]
fn in_flight_bound_answers_overloaded() {
    let c = TestCluster::start_with(4, "max_in_flight = 2", "");
    let mut cl = c.client(1);
    for id in 1..=300 {
        cl.send_text(
            &json!({"id": id, "op": "put", "key": 100, "value": "v", "cl": "ALL"}).to_string(),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut overloaded = 0;
    while seen.len() < 300 {
        let r = cl.recv();
        let id = r["id"].as_u64().unwrap();
        assert!(seen.insert(id), "two answers for {id}");
        match outcome(&r).as_str() {
            "ok" => {}
            "Overloaded" => overloaded += 1,
            other => panic!("unexpected {other}: {r}"),
        }
    }
    assert!(
        overloaded > 0,
        "300 pipelined ALL writes never passed 2 in flight"
    );
}
