//! The control endpoint that `cluster up` starts: loopback only, a token
//! file only its owner can read, every request refused without the token,
//! and with it the page's crash / restart / stop buttons act on the real
//! processes.

mod common;

use common::*;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use tungstenite::Message;

fn control_call(addr: &str, req: Value) -> Value {
    let (mut ws, _) =
        tungstenite::connect(format!("ws://{addr}/control")).expect("connect to control");
    ws.send(Message::text(req.to_string())).unwrap();
    loop {
        if let Message::Text(t) = ws.read().expect("control reply") {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

#[test]
fn control_endpoint_needs_the_token_and_acts_on_real_processes() {
    let c = TestCluster::start(4);
    let dir = c.path();
    let addr = std::fs::read_to_string(dir.join("control.addr")).expect("control.addr written");
    let addr = addr.trim().to_string();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "control listens on loopback: {addr}"
    );
    let token_file = dir.join("control.token");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the token file is readable only by its owner");
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(token.len() >= 32);

    // Without the token, or with a wrong one: Unauthorized, nothing done.
    let r = control_call(&addr, json!({"id": 1, "op": "kill", "node": 3}));
    assert_eq!(r["error"]["kind"], "Unauthorized", "{r}");
    let r = control_call(
        &addr,
        json!({"id": 2, "op": "kill", "node": 3, "token": "wrong"}),
    );
    assert_eq!(r["error"]["kind"], "Unauthorized", "{r}");
    assert!(Client::connect(&c.addrs[3]).is_ok(), "node 3 still serves");

    // A foreign origin cannot even open the endpoint.
    let req =
        tungstenite::ClientRequestBuilder::new(format!("ws://{addr}/control").parse().unwrap())
            .with_header("Origin", "https://evil.example");
    assert!(tungstenite::connect(req).is_err(), "foreign origin refused");

    // With the token: status, kill (a crash), restart.
    let r = control_call(&addr, json!({"id": 3, "op": "status", "token": token}));
    assert_eq!(r["ok"], json!(true), "{r}");
    assert_eq!(r["nodes"].as_array().unwrap().len(), 4);
    let r = control_call(
        &addr,
        json!({"id": 4, "op": "kill", "node": 3, "token": token}),
    );
    assert_eq!(r["ok"], json!(true), "{r}");
    wait_until(
        "node 3 refuses connections",
        Duration::from_secs(10),
        || Client::connect(&c.addrs[3]).is_err(),
    );
    let r = control_call(&addr, json!({"id": 5, "op": "status", "token": token}));
    assert_eq!(r["nodes"][3]["running"], json!(false), "{r}");
    let r = control_call(
        &addr,
        json!({"id": 6, "op": "restart", "node": 3, "token": token}),
    );
    assert_eq!(r["ok"], json!(true), "{r}");
    assert!(
        Client::connect(&c.addrs[3]).is_ok(),
        "node 3 serves again once restart answered"
    );
    let r = control_call(
        &addr,
        json!({"id": 7, "op": "kill", "node": 9, "token": token}),
    );
    assert_eq!(r["ok"], json!(false), "{r}");

    // The token never appears in the logs.
    let control_log = std::fs::read_to_string(dir.join("control.log")).unwrap_or_default();
    assert!(!control_log.contains(&token));
    for i in 0..4 {
        assert!(!c.log_text(i).contains(&token));
    }

    // `cluster down` stops the control endpoint too.
    let out = c.ringside(&["cluster", "down"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until(
        "the control endpoint is gone",
        Duration::from_secs(10),
        || tungstenite::connect(format!("ws://{addr}/control")).is_err(),
    );
}

#[test]
fn the_control_endpoint_refuses_non_loopback_addresses() {
    let c = TestCluster::configure(1, "", "");
    let out = c.ringside(&["cluster", "control", "--addr", "0.0.0.0:0"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("loopback"), "{}", text(&out));
}
