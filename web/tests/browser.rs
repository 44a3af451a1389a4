//! The built page in headless Chromium, driven the way a student drives it:
//! it shows the 4-node ring, a `put 137 v quorum` typed into its command
//! line lands on nodes 2, 3 and 0, crashing node 3 and writing again leaves
//! a hint for node 3 on the coordinator, restarting node 3 delivers it, and
//! the hinted-handoff guided scenario runs to its end; and 16 nodes under a
//! random load keep drawing (the frame rate is printed).
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output; `cargo xtask test` sets
//! it), and `CHROMEDRIVER` / `CHROMIUM` (default: /usr/bin/chromedriver,
//! /usr/bin/chromium). Screenshots go to `RINGSIDE_ARTIFACTS` (default:
//! the system's temp dir). Only std: a tiny static file server and a tiny
//! WebDriver client, both on loopback ports picked free.

mod common;

use common::{BrowserEnv, Driver, Server};
use serde_json::json;
use std::thread;
use std::time::Duration;

#[test]
fn the_page_shows_replicas_hints_and_handoff() {
    let Some(BrowserEnv {
        dist,
        chromedriver,
        chromium,
        art,
    }) = BrowserEnv::from_env()
    else {
        return;
    };

    let server = Server::start(dist);
    let driver = Driver::start(&chromedriver);
    let s = driver.session(&chromium);
    // speed=3: three simulated seconds per real second, so failure
    // detection (about 1 s simulated) takes a third of a second.
    let url = format!("http://127.0.0.1:{}/?speed=3#seed=7", server.port);
    s.call("POST", "/url", Some(json!({ "url": url })));

    // The ring shows 4 nodes.
    s.wait("the ring with 4 nodes", &art, |s| {
        s.count("[data-testid=ring-node]") == 4
    });
    assert_eq!(s.count("[data-replica]"), 4, "a panel per replica");

    // A QUORUM put through the command line lands on nodes 2, 3, 0.
    s.type_line("#console", "put 137 v quorum");
    s.wait("key 137 on nodes 2, 3 and 0", &art, |s| {
        [2, 3, 0]
            .iter()
            .all(|n| s.count(&format!("[data-replica=\"{n}\"] tr[data-key=\"137\"]")) == 1)
    });
    s.wait("the put answered ok", &art, |s| {
        s.count("[data-testid=request][data-outcome=ok]") == 1
    });
    assert_eq!(
        s.count("[data-replica=\"1\"] tr[data-key=\"137\"]"),
        0,
        "node 1 is not a replica of 137"
    );

    // Crash node 3; once node 0 sees it down, a write leaves a hint for it.
    s.click("[data-testid=crash-3]");
    s.wait("node 3 drawn down", &art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].down") == 1
    });
    s.wait("node 0's failure detector sees node 3 down", &art, |s| {
        s.count("[data-replica=\"0\"] .peer.down[data-peer=\"3\"]") == 1
    });
    s.type_line("#console", "put 137 w quorum");
    s.wait("a hint for node 3 held by node 0", &art, |s| {
        s.count("[data-replica=\"0\"] [data-hint-target=\"3\"]") == 1
    });
    assert_eq!(
        s.count("[data-testid=hint-board] [data-hint-holder=\"0\"][data-hint-target=\"3\"]"),
        1
    );
    s.screenshot(&art.join("web-hint-held.png"));

    // Restart node 3: the hint is delivered and forgotten.
    s.click("[data-testid=restart-3]");
    s.wait("the hint delivered to node 3", &art, |s| {
        s.count("[data-replica=\"0\"] [data-hint-target=\"3\"]") == 0
            && s.count("[data-replica=\"3\"] tr[data-key=\"137\"][data-value=\"w\"]") == 1
    });
    s.wait("node 3 up again", &art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].up") == 1
    });
    s.screenshot(&art.join("web-handoff-done.png"));

    // The hinted-handoff guided scenario runs to its end, every check ✓.
    s.click("[data-scenario-start=\"hinted-handoff\"]");
    s.wait("the hinted-handoff scenario done", &art, |s| {
        s.count("[data-testid=scenario-status][data-status=done]") == 1
    });
    assert_eq!(s.count("[data-testid=scenario] .checks .bad"), 0);
    assert!(s.count("[data-testid=scenario] .checks .ok") >= 4);
    let status = s.js("return document.querySelector('[data-testid=scenario-status]').innerText");
    assert_eq!(status, json!("done"));
    // The share link carries the script: the scenario's actions.
    let hash = s.js("return location.hash");
    let hash = hash.as_str().unwrap_or("");
    assert!(
        hash.contains("seed=7") && hash.contains("script="),
        "{hash}"
    );
    s.screenshot(&art.join("web-scenario-hinted-handoff.png"));

    // 16 nodes with vnodes under a random load: the page keeps drawing.
    // The frame rate is printed (headless Chromium renders in software,
    // so it is a floor for a real browser).
    let url = format!(
        "http://127.0.0.1:{}/?speed=0.3&fps=1&load=300#seed=7&nodes=16&rf=3&vnodes=8",
        server.port
    );
    s.call("POST", "/url", Some(json!({ "url": url })));
    s.wait("16 nodes on the ring", &art, |s| {
        s.count("[data-testid=ring-node]") == 16
    });
    thread::sleep(Duration::from_secs(6));
    let overlay = s.js("return document.querySelector('[data-testid=fps]').innerText");
    let overlay = overlay.as_str().unwrap_or("").to_string();
    println!("16 nodes under load: {overlay}");
    s.screenshot(&art.join("web-16-nodes-under-load.png"));
    let fps: f64 = overlay
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or(0.0);
    // A floor, not a benchmark: the test machine may be busy.
    assert!(fps >= 2.0, "the page stalls under load: {overlay}");
    assert!(
        s.count("[data-testid=request]") > 50,
        "the load sends requests"
    );
}
