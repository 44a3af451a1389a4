//! Limits under abuse, against real node processes: too many connections,
//! silent half-open connections, a subscriber that never reads, a client
//! that never reads its answers, a client that floods requests, and a peer
//! with the secret that sends garbage. Each test shows the offender gets
//! the documented error or is cut off, others keep being served, and the
//! node's memory stays bounded; it prints the number each limit holds.

mod common;

use common::*;
use serde_json::json;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

/// A node process's resident memory in KiB.
fn rss_kib(c: &TestCluster, id: usize) -> u64 {
    let pid = std::fs::read_to_string(c.node_dir(id).join("node.pid")).expect("node.pid");
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// A cheap, seeded byte source for garbage.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Shows that a node serves at most `max_connections` connections at once,
/// refuses the next one outright, and takes new clients again as soon as
/// some close.
#[test]
fn connections_past_max_connections_are_refused_and_slots_come_back() {
    const MAX: usize = 16;
    let c = TestCluster::start_with(1, &format!("max_connections = {MAX}"), "");
    let mut held: Vec<Client> = (0..MAX)
        .map(|i| Client::connect(&c.addrs[0]).unwrap_or_else(|e| panic!("connection {i}: {e}")))
        .collect();
    // Every held connection is really served.
    for cl in held.iter_mut().step_by(5) {
        assert_eq!(outcome(&cl.put(json!(1), "x", "ONE")), "ok");
    }
    let refused = (0..5)
        .filter(|_| Client::connect(&c.addrs[0]).is_err())
        .count();
    assert_eq!(refused, 5, "connections past {MAX} are refused");
    held.truncate(MAX - 4);
    wait_until("a slot is free again", Duration::from_secs(5), || {
        Client::connect(&c.addrs[0]).is_ok()
    });
    assert_eq!(outcome(&held[0].get(json!(1), "ONE")), "ok");
    println!(
        "limit: max_connections = {MAX}: {MAX} served, the next 5 refused, slots freed on close"
    );
}

/// Shows that connections that never finish the WebSocket handshake hold a
/// slot only until the handshake timeout, after which clients are served
/// again.
#[test]
fn silent_half_open_connections_are_dropped_after_the_handshake_timeout() {
    const MAX: usize = 8;
    let c = TestCluster::start_with(1, &format!("max_connections = {MAX}"), "");
    let started = Instant::now();
    let silent: Vec<TcpStream> = (0..MAX)
        .map(|_| TcpStream::connect(&c.addrs[0]).expect("tcp connect"))
        .collect();
    // A silent connection is counted as a client once the node gives up
    // waiting for its request line (2 s); then it holds a client slot.
    // No probe before then: a probe is a client too, and one counted
    // when the silent ones are would leave one of them refused, and a
    // slot free for every later probe.
    std::thread::sleep(Duration::from_secs(3).saturating_sub(started.elapsed()));
    wait_until(
        "all client slots are held by silent connections",
        Duration::from_secs(5),
        || Client::connect(&c.addrs[0]).is_err(),
    );
    wait_until(
        "the silent connections are dropped",
        Duration::from_secs(20),
        || Client::connect(&c.addrs[0]).is_ok(),
    );
    let held_s = started.elapsed().as_secs_f64();
    assert!(held_s < 15.0, "slots held {held_s:.1} s");
    println!("limit: a connection silent before its handshake holds its slot {held_s:.1} s (handshake timeout)");
    drop(silent);
}

/// Shows that a subscriber that never reads its socket neither grows the
/// node's memory nor slows other clients: its events are dropped (and
/// counted), and a client that sends requests but never reads the answers
/// is bounded the same way.
#[test]
fn slow_readers_keep_memory_bounded_and_others_served() {
    let c = TestCluster::start(3);
    let mut writer = c.client(0);
    for i in 0..200 {
        assert_eq!(outcome(&writer.put(json!(i % 50), "warm", "QUORUM")), "ok");
    }
    let before = rss_kib(&c, 0);
    // The subscriber: subscribes, then never reads again.
    let mut sub = c.client(0);
    let r = sub.call(json!({"op": "subscribe"}));
    assert_eq!(r["ok"], json!(true), "{r}");
    // The deaf client: pipelines gets (each answer ~100 bytes) and never
    // reads.
    let mut deaf = c.client(0);
    let big = "v".repeat(2000);
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..3000 {
        if i % 3 == 0 {
            for _ in 0..20 {
                deaf.send_text(&json!({"id": i, "op": "get", "key": 7, "cl": "ONE"}).to_string());
            }
        }
        let t = Instant::now();
        let r = writer.put(json!(i % 50), &big, "QUORUM");
        slowest = slowest.max(t.elapsed());
        assert_eq!(outcome(&r), "ok", "put {i}: {r}");
    }
    let took = started.elapsed();
    let after = rss_kib(&c, 0);
    let growth_mib = after.saturating_sub(before) as f64 / 1024.0;
    println!(
        "limit: slow subscriber + deaf client over 3000 puts (2 KB values): node RSS {} -> {} KiB (+{growth_mib:.1} MiB); others' slowest put {} ms, all in {:.1} s",
        before,
        after,
        slowest.as_millis(),
        took.as_secs_f64()
    );
    assert!(growth_mib < 64.0, "node memory grew by {growth_mib:.1} MiB");
    assert!(slowest < Duration::from_secs(2), "a put took {slowest:?}");
    // Closing the subscriber: the node reports what it dropped.
    drop(sub);
    drop(deaf);
    wait_until(
        "the node logs the dropped events",
        Duration::from_secs(10),
        || c.log_text(0).contains("dropped because it read too slowly"),
    );
    let line = c
        .log_text(0)
        .lines()
        .find(|l| l.contains("dropped because it read too slowly"))
        .unwrap_or_default()
        .to_string();
    println!("node 0 said: {line}");
    assert_eq!(outcome(&c.client(0).get(json!(1), "QUORUM")), "ok");
}

/// Shows that a client flooding pipelined requests past `max_in_flight`
/// gets `Overloaded` for the excess while another client on the same node
/// is served promptly.
#[test]
fn a_flooding_client_gets_overloaded_and_others_are_served() {
    const MAX_IN_FLIGHT: usize = 8;
    let c = TestCluster::start_with(3, &format!("max_in_flight = {MAX_IN_FLIGHT}"), "");
    let addr = c.addrs[1].clone();
    let flood = std::thread::spawn(move || {
        let mut f = Client::connect(&addr).unwrap();
        let (mut ok, mut overloaded, mut other) = (0usize, 0usize, 0usize);
        let mut id = 0u64;
        for _ in 0..10 {
            let first = id + 1;
            for _ in 0..1000 {
                id += 1;
                f.ws.write(Message::text(
                    json!({"id": id, "op": "put", "key": id % 200, "value": "flood", "cl": "ALL"})
                        .to_string(),
                ))
                .unwrap();
            }
            f.ws.flush().unwrap();
            let mut seen = std::collections::BTreeSet::new();
            while seen.len() < 1000 {
                let r = f.recv();
                let rid = r["id"].as_u64().expect("an id");
                assert!((first..=id).contains(&rid) && seen.insert(rid), "{r}");
                match outcome(&r).as_str() {
                    "ok" => ok += 1,
                    "Overloaded" => overloaded += 1,
                    _ => other += 1,
                }
            }
        }
        (ok, overloaded, other)
    });
    let mut polite = c.client(1);
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    while !flood.is_finished() || n < 50 {
        let t = Instant::now();
        let r = polite.put(json!(250), &format!("polite{n}"), "QUORUM");
        assert_eq!(outcome(&r), "ok", "{r}");
        let r = polite.get(json!(250), "QUORUM");
        assert_eq!(r["kv"]["value"], json!(format!("polite{n}")), "{r}");
        slowest = slowest.max(t.elapsed());
        n += 1;
    }
    let (ok, overloaded, other) = flood.join().unwrap();
    println!(
        "limit: max_in_flight = {MAX_IN_FLIGHT}: flood of 10000 pipelined ALL puts -> {ok} ok, {overloaded} Overloaded, {other} other; a polite client did {n} put+get pairs meanwhile, slowest pair {} ms",
        slowest.as_millis()
    );
    assert!(overloaded > 0, "the flood was never told Overloaded");
    assert_eq!(ok + overloaded + other, 10_000, "one answer per request");
    assert!(
        slowest < Duration::from_secs(2),
        "the polite client waited {slowest:?}"
    );
}

/// Shows that a peer holding the cluster secret that sends thousands of
/// garbage frames (random bytes, truncated frames, text, messages signed as
/// another node) is ignored frame by frame: the node keeps serving, still
/// sees the real peer up, and its memory and its log stay bounded.
#[test]
fn a_garbage_peer_with_the_secret_cannot_stop_the_node() {
    let c = TestCluster::start(3);
    let before = rss_kib(&c, 0);
    let log_before = c.log_text(0).len();
    let mut req = format!("ws://{}/peer", c.addrs[0])
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("x-ringside-secret", SECRET.parse().unwrap());
    req.headers_mut()
        .insert("x-ringside-node", "1".parse().unwrap());
    let (mut ws, _) = tungstenite::connect(req).expect("peer handshake with the secret");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let frames = 5000;
    let forged = ringside_core::Message {
        id: ringside_core::MsgId {
            from: 2,
            gen: 1,
            n: 1,
        },
        body: ringside_core::Msg::Heartbeat { gen: 1 },
    }
    .encode();
    for i in 0..frames {
        let len = (rng.next() % 600) as usize;
        let mut bytes = rng.bytes(len);
        match i % 5 {
            // Starts like a small frame, then lies about its length.
            0 if len > 8 => bytes[..4].copy_from_slice(&(u32::MAX).to_le_bytes()),
            1 => bytes.truncate(3),
            _ => {}
        }
        let msg = if i % 50 == 0 {
            Message::text("{\"kind\":\"Heartbeat\"}")
        } else if i % 50 == 1 {
            // A well-formed message, signed as another node than the
            // connection's: refused.
            Message::binary(forged.clone())
        } else if i % 50 == 2 {
            // A well-formed message with a few bytes flipped.
            let mut b = forged.clone();
            for _ in 0..3 {
                let at = (rng.next() as usize) % b.len();
                b[at] ^= rng.next() as u8 | 1;
            }
            Message::binary(b)
        } else {
            Message::binary(bytes)
        };
        ws.write(msg).unwrap();
        if i % 100 == 0 {
            ws.flush().unwrap();
            // Meanwhile clients are served at ALL (the real peers answer).
            assert_eq!(
                outcome(&c.client(0).put(json!(i % 256), "fine", "ALL")),
                "ok",
                "after {i} garbage frames"
            );
        }
    }
    ws.flush().unwrap();
    let _ = ws.close(None);
    let mut cl = c.client(0);
    assert_eq!(outcome(&cl.put(json!(9), "after", "ALL")), "ok");
    assert_eq!(cl.get(json!(9), "ALL")["kv"]["value"], json!("after"));
    assert_eq!(peer_state(&c.inspect(0), 1), "up");
    let after = rss_kib(&c, 0);
    let log = c.log_text(0)[log_before..].to_string();
    let log_growth = log.len();
    println!(
        "limit: {frames} garbage frames from a peer with the secret: ignored one by one; node RSS {before} -> {after} KiB; the node log grew {log_growth} bytes ({} per frame)",
        log_growth / frames
    );
    assert!(log.contains("unreadable message"), "{log}");
    // Ten ignored frames one by one, then a line per thousand (and the
    // requests' own lines).
    assert!(log.contains("1000 frames ignored so far"), "{log}");
    let about_frames = log
        .lines()
        .filter(|l| l.contains("peer 1") && l.contains("ignored"))
        .count();
    assert!(about_frames <= 20, "{about_frames} lines: {log}");
    assert!(
        log_growth < 64 * 1024,
        "the log grew {log_growth} bytes for {frames} garbage frames"
    );
    assert!(
        after.saturating_sub(before) < 64 * 1024,
        "node memory grew by {} KiB",
        after - before
    );
}

/// Shows that clients filling a node's `max_connections` must not cut it
/// off from its peers: a peer that restarts meanwhile has to be able to
/// connect again, or the node sees it down and refuses ALL writes.
#[test]
fn clients_holding_every_slot_do_not_lock_out_a_restarting_peer() {
    const MAX: usize = 12;
    let c = TestCluster::start_with(3, &format!("max_connections = {MAX}"), "");
    c.wait_sees_up(0, &[1, 2]);
    let mut held = vec![];
    let grab = |held: &mut Vec<Client>| {
        while held.len() < 2 * MAX {
            match Client::connect(&c.addrs[0]) {
                Ok(cl) => held.push(cl),
                Err(_) => break,
            }
        }
    };
    grab(&mut held);
    c.kill(1);
    // The crashed peer's slot comes free; the clients take it.
    std::thread::sleep(Duration::from_millis(300));
    grab(&mut held);
    println!("clients hold {} of node 0's {MAX} slots", held.len());
    c.restart(1);
    wait_until(
        "node 0 sees the restarted node 1 up",
        Duration::from_secs(10),
        || peer_state(&held[0].inspect(), 1) == "up",
    );
    assert_eq!(outcome(&held[0].put(json!(5), "x", "ALL")), "ok");
}
