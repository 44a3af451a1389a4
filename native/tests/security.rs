//! Security, against real processes, beyond what robustness.rs and
//! control.rs already show: tricky foreign Origins on /client and /control,
//! the peer secret compared exactly, control tokens of every wrong shape,
//! no listener reachable on a non-loopback address, private files that
//! stay private even when they existed before `cluster up`, and no secret
//! in any log, reply or tool output after a busy run with debug logging.

mod common;

use common::*;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

/// The HTTP status of a WebSocket upgrade to `url` with extra headers
/// (101 when it was accepted), and the refusal's body.
fn upgrade(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    match tungstenite::connect(req) {
        Ok(_) => (101, String::new()),
        Err(tungstenite::Error::Http(resp)) => (
            resp.status().as_u16(),
            String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).into_owned(),
        ),
        Err(e) => panic!("{url}: {e}"),
    }
}

fn control_addr(c: &TestCluster) -> String {
    std::fs::read_to_string(c.path().join("control.addr"))
        .expect("control.addr")
        .trim()
        .to_string()
}

fn control_token(c: &TestCluster) -> String {
    std::fs::read_to_string(c.path().join("control.token"))
        .expect("control.token")
        .trim()
        .to_string()
}

fn control_call(addr: &str, req: &str) -> Value {
    let (mut ws, _) = tungstenite::connect(format!("ws://{addr}/control")).expect("control");
    ws.send(Message::text(req)).unwrap();
    loop {
        if let Message::Text(t) = ws.read().expect("control reply") {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// This host's first non-loopback IPv4 address, if it has one.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    // Connecting a UDP socket sends nothing; it only picks the source
    // address the host would route from.
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("10.254.254.254:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Shows that origins that only look local (userinfo tricks, lookalike
/// hosts, `null` from sandboxed pages and files, other schemes) are
/// refused on /client and on /control, and true local ones are taken.
#[test]
fn lookalike_origins_are_refused_on_client_and_control() {
    let c = TestCluster::start(1);
    let control = control_addr(&c);
    let refused = [
        "null",
        "http://localhost@evil.example",
        "http://127.0.0.1@evil.example:8080",
        "http://127.0.0.1.nip.io",
        "http://localhost.:8080.evil.example",
        "https://evil.example:443",
        "ws://localhost:9000",
        "file://",
        "http://[::1].evil.example",
        "",
    ];
    for origin in refused {
        for url in [
            format!("ws://{}/client", c.addrs[0]),
            format!("ws://{control}/control"),
        ] {
            let (status, _) = upgrade(&url, &[("origin", origin)]);
            assert_eq!(status, 403, "{url} with Origin {origin:?}");
        }
    }
    for origin in [
        "http://localhost:8080",
        "http://[::1]:3000",
        "https://127.0.0.1",
    ] {
        let (status, _) = upgrade(
            &format!("ws://{}/client", c.addrs[0]),
            &[("origin", origin)],
        );
        assert_eq!(status, 101, "Origin {origin:?}");
    }
}

/// Shows that /peer compares the whole secret: a wrong secret of the right
/// length, a prefix, a longer one, or the secret in the URL are all
/// refused without echoing what was sent; the header name's case does not
/// matter; a sender id outside the cluster is refused.
#[test]
fn the_peer_secret_is_compared_exactly() {
    let c = TestCluster::start(2);
    let peer = format!("ws://{}/peer", c.addrs[0]);
    let same_len: String = SECRET
        .chars()
        .map(|ch| if ch == 'a' { 'b' } else { ch })
        .collect();
    assert_eq!(same_len.len(), SECRET.len());
    let longer = format!("{SECRET}0");
    for bad in [same_len.as_str(), &SECRET[..SECRET.len() - 1], &longer, " "] {
        let (status, body) = upgrade(
            &peer,
            &[("x-ringside-secret", bad), ("x-ringside-node", "1")],
        );
        assert_eq!(status, 401, "secret {bad:?}");
        assert!(
            !body.contains(bad.trim()) || bad.trim().is_empty(),
            "{body}"
        );
    }
    let (status, _) = upgrade(
        &format!("{peer}?x-ringside-secret={SECRET}"),
        &[("x-ringside-node", "1")],
    );
    assert_eq!(status, 401, "the secret in the URL does not count");
    let (status, _) = upgrade(
        &peer,
        &[("X-Ringside-Secret", SECRET), ("x-ringside-node", "99")],
    );
    assert_eq!(status, 400, "a sender that is not a member");
    let (status, _) = upgrade(
        &peer,
        &[("X-Ringside-Secret", SECRET), ("X-Ringside-Node", "1")],
    );
    assert_eq!(status, 101, "header names are case-insensitive");
    assert!(
        !c.log_text(0).contains(&same_len),
        "a wrong secret is not logged"
    );
}

/// Shows that the control endpoint answers Unauthorized to a token of any
/// wrong shape (number, null, array, prefix, longer, other case), refuses
/// to listen on any non-loopback address, and that neither it nor a node
/// can be reached through the host's non-loopback address.
#[test]
fn control_refuses_wrong_tokens_and_listens_on_loopback_only() {
    let c = TestCluster::start(2);
    let addr = control_addr(&c);
    let token = control_token(&c);
    let upper = token.to_uppercase();
    let prefix = &token[..token.len() - 1];
    let longer = format!("{token}0");
    let wrong: Vec<Value> = vec![
        json!(12345),
        Value::Null,
        json!([token]),
        json!({"token": token}),
        json!(prefix),
        json!(longer),
        json!(""),
    ];
    let mut wrong = wrong;
    if upper != token {
        wrong.push(json!(upper));
    }
    for (i, t) in wrong.iter().enumerate() {
        let req = json!({"id": i, "op": "kill", "node": 1, "token": t}).to_string();
        let r = control_call(&addr, &req);
        assert_eq!(r["error"]["kind"], json!("Unauthorized"), "token {t}: {r}");
    }
    // A duplicated key: serde_json keeps the last, so the good token first
    // and a bad one last is refused.
    let r = control_call(
        &addr,
        &format!(r#"{{"id":9,"op":"kill","node":1,"token":"{token}","token":"x"}}"#),
    );
    assert_eq!(r["error"]["kind"], json!("Unauthorized"), "{r}");
    assert!(
        Client::connect(&c.addrs[1]).is_ok(),
        "node 1 was not touched"
    );

    for bad in ["[::]:0", "0.0.0.0:0", "10.213.0.1:0", "192.168.1.1:0"] {
        let out = c.ringside(&["cluster", "control", "--addr", bad]);
        assert!(!out.status.success(), "control on {bad}: {}", text(&out));
        assert!(text(&out).contains("loopback"), "{}", text(&out));
    }
    match non_loopback_ip() {
        Some(ip) => {
            for (what, a) in [("control", &addr), ("node 0", &c.addrs[0])] {
                let port: u16 = a.rsplit(':').next().unwrap().parse().unwrap();
                let r = std::net::TcpStream::connect_timeout(
                    &std::net::SocketAddr::new(ip, port),
                    Duration::from_millis(500),
                );
                assert!(r.is_err(), "{what} is reachable on {ip}:{port}");
            }
            println!("neither control nor node 0 answers on {ip}");
        }
        None => println!("skipped: this host has no non-loopback address to try"),
    }
}

/// Shows that a cluster file or control token file left readable by
/// others before `cluster up` (written by hand, copied, unpacked) is made
/// private (mode 0600) by `cluster up`.
#[test]
fn loose_private_files_are_made_private_by_cluster_up() {
    let c = TestCluster::configure(1, "", "");
    let file = c.path().join("cluster.toml");
    let token = c.path().join("control.token");
    std::fs::write(&token, "0123456789abcdef0123456789abcdef\n").unwrap();
    for p in [&file, &token] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = c.ringside(&["cluster", "up"]);
    assert!(out.status.success(), "{}", text(&out));
    for p in [&file, &token] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is mode {mode:o}", p.display());
    }
}

/// Shows that even at trace level (where the WebSocket library logs every
/// handshake request whole) a node's log never holds the cluster secret
/// that its outgoing peer connections carry.
#[test]
fn trace_logging_does_not_leak_the_secret() {
    let c = TestCluster::configure(2, "", "");
    let out = Command::new(BIN)
        .args(["cluster", "up", "--data-dir"])
        .arg(c.path())
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    c.wait_sees_up(0, &[1]);
    c.wait_sees_up(1, &[0]);
    assert_eq!(outcome(&c.client(0).put(json!(1), "a", "ALL")), "ok");
    for i in 0..2 {
        let log = c.log_text(i);
        assert!(log.contains("TRACE"), "node {i} logged at trace level");
        assert!(
            !log.contains(SECRET),
            "node {i}'s trace log holds the secret"
        );
    }
}

/// Shows that after a busy run with debug logging (requests, subscribers,
/// peers reconnecting after a crash, a refused peer, control requests with
/// and without the token) neither the cluster secret nor the control token
/// appears in any node log, the control log, a reply, an event, or the
/// output of `cluster status` and `inspect`.
#[test]
fn no_secret_in_any_log_reply_or_output() {
    let c = TestCluster::configure(3, "", "");
    let out = Command::new(BIN)
        .args(["cluster", "up", "--data-dir"])
        .arg(c.path())
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let token = control_token(&c);
    let control = control_addr(&c);
    let mut seen = String::from_utf8_lossy(&out.stdout).into_owned();
    seen.push_str(&String::from_utf8_lossy(&out.stderr));

    let mut sub = c.client(0);
    let r = sub.call(json!({"op": "subscribe"}));
    assert_eq!(r["ok"], json!(true));
    let mut cl = c.client(1);
    for i in 0..20 {
        seen.push_str(
            &cl.put(json!(i * 12), &format!("v{i}"), "QUORUM")
                .to_string(),
        );
        seen.push_str(&cl.get(json!(i * 12), "ALL").to_string());
    }
    seen.push_str(
        &cl.call(json!({"op": "delete", "key": 0, "cl": "ALL"}))
            .to_string(),
    );
    seen.push_str(&cl.call(json!({"op": "inspect"})).to_string());
    // Events the subscriber got.
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = sub.ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
    }
    // Heartbeats keep events coming: read a bounded number.
    for _ in 0..500 {
        match sub.ws.read() {
            Ok(Message::Text(t)) => seen.push_str(t.as_str()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    // A refused peer, then control with and without the token, a crash and
    // a restart (peers reconnect with the secret).
    upgrade(
        &format!("ws://{}/peer", c.addrs[0]),
        &[("x-ringside-secret", "wrong"), ("x-ringside-node", "1")],
    );
    seen.push_str(&control_call(&control, r#"{"id":1,"op":"status"}"#).to_string());
    let with = |op: &str| format!(r#"{{"id":2,"op":"{op}","node":2,"token":"{token}"}}"#);
    seen.push_str(&control_call(&control, &with("status")).to_string());
    seen.push_str(&control_call(&control, &with("kill")).to_string());
    seen.push_str(&control_call(&control, &with("restart")).to_string());
    c.wait_sees_up(0, &[2]);
    assert_eq!(outcome(&cl.put(json!(200), "end", "ALL")), "ok");
    for args in [
        vec!["cluster", "status"],
        vec!["inspect"],
        vec!["inspect", "--json"],
    ] {
        let out = c.ringside(&args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        seen.push_str(&text(&out));
    }
    for i in 0..3 {
        let log = c.log_text(i);
        assert!(log.contains("DEBUG"), "node {i} logged at debug level");
        seen.push_str(&log);
    }
    seen.push_str(&std::fs::read_to_string(c.path().join("control.log")).unwrap_or_default());
    assert!(seen.len() > 10_000, "the run produced {} bytes", seen.len());
    assert!(!seen.contains(SECRET), "the cluster secret leaked");
    assert!(!seen.contains(&token), "the control token leaked");
    println!(
        "checked {} bytes of logs, replies, events and tool output",
        seen.len()
    );
}
