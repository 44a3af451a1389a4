//! The core simulator's speed as wasm in headless Chromium: opens the
//! built page with `?simbench=3` (the workload of `ringside sim --bench`,
//! three seconds of it), waits for `<pre id="sim-bench" data-done="1">`,
//! checks the rate is positive and prints the line. The line goes to
//! `RINGSIDE_ARTIFACTS/sim-bench-wasm.txt` and, when `RINGSIDE_SIMBENCH_OUT`
//! is set, to that path too (`cargo xtask bench` compares it with native).
//! `RINGSIDE_SIMBENCH_SECONDS` measures longer.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output; use `--release` for a
//! figure worth comparing), and `CHROMEDRIVER` / `CHROMIUM` (default:
//! /usr/bin/chromedriver, /usr/bin/chromium).

mod common;

use common::{BrowserEnv, Server};
use serde_json::json;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

/// Seconds of measurement; `RINGSIDE_SIMBENCH_SECONDS` overrides.
const SECONDS: u64 = 3;

#[test]
fn the_simulator_runs_in_the_page_and_reports_its_speed() {
    let Some(env) = BrowserEnv::chromium() else {
        return;
    };
    let art = &env.art;

    let server = Server::start(env.dist.clone());
    let driver = env.driver();
    let s = driver.session();
    let seconds: u64 = std::env::var("RINGSIDE_SIMBENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&s| s > 0)
        .unwrap_or(SECONDS);
    let url = format!("http://127.0.0.1:{}/?simbench={seconds}", server.port);
    s.call("POST", "/url", Some(json!({ "url": url })));

    // The measurement itself takes SECONDS; loading the page, a few more.
    let deadline = Instant::now() + Duration::from_secs(seconds) + common::WAIT;
    while s.count("#sim-bench[data-done=\"1\"]") == 0 {
        if Instant::now() > deadline {
            let shot = art.join("simbench-failure.png");
            s.screenshot(&shot);
            let text = s.js("return document.body.innerText");
            panic!(
                "timed out waiting for #sim-bench[data-done=1]\nscreenshot: {}\npage text:\n{}",
                shot.display(),
                text.as_str().unwrap_or("")
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
    let line = s.js("return document.getElementById('sim-bench').textContent");
    let line = line.as_str().unwrap_or("").trim().to_string();
    let rate: f64 = line
        .strip_prefix("sim bench (wasm): ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a sim bench line: {line:?}"));
    assert!(rate > 0.0, "no simulated messages: {line}");
    assert!(
        line.contains(" simulated messages/s (") && line.ends_with(" s)"),
        "{line}"
    );
    println!("{line}");

    let mut outs = vec![art.join("sim-bench-wasm.txt")];
    outs.extend(std::env::var_os("RINGSIDE_SIMBENCH_OUT").map(PathBuf::from));
    for out in outs {
        std::fs::write(&out, format!("{line}\n"))
            .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        println!("written to {}", out.display());
    }
}
