//! The built page in headless Firefox (ESR, through geckodriver): the same
//! checks as web/tests/browser.rs runs in Chromium (`common::check_*`),
//! so the page is shown to work in both: the 4-node ring, a QUORUM put on
//! nodes 2, 3 and 0, a hint for crashed node 3 delivered on restart, the
//! hinted-handoff guided scenario to its end, and 16 nodes under load.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `GECKODRIVER` /
//! `FIREFOX` (default: cargo's bin dir or PATH, /usr/bin/firefox-esr);
//! `cargo xtask test` sets all three (installing geckodriver and
//! firefox-esr when missing). Without them the test says why and skips.
//! Screenshots (`firefox-*.png`) and geckodriver's log, with the page's
//! console, go to `RINGSIDE_ARTIFACTS` (default: the system's temp dir).

mod common;

use common::{BrowserEnv, Server};
use std::time::Instant;

#[test]
fn the_page_works_in_firefox() {
    let Some(env) = BrowserEnv::firefox() else {
        return;
    };
    let started = Instant::now();
    let server = Server::start(env.dist.clone());
    let driver = env.driver();
    let s = driver.session();
    let ua = s.js("return navigator.userAgent");
    println!("{}", ua.as_str().unwrap_or(""));
    common::check_replicas_hints_and_handoff(&s, &server, &env.art);
    common::check_16_nodes_under_load(&s, &server, &env.art);
    println!(
        "Firefox browser test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
