//! The built page in headless Firefox (ESR, through geckodriver): the same
//! checks as web/tests/browser.rs runs in Chromium (`common::checks`),
//! so the page is shown to work in both: the 4-node ring, a QUORUM put on
//! nodes 2, 3 and 0, a hint for crashed node 3 delivered on restart, 16
//! nodes under load, and a prediction answered in the hinted-handoff
//! guided scenario, which then runs to its end; and the rewind and calm
//! layout checks.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `GECKODRIVER` /
//! `FIREFOX` (default: cargo's bin dir or PATH, /usr/bin/firefox-esr);
//! `cargo xtask test` sets all three (installing geckodriver and
//! firefox-esr when missing) and runs this test. A missing piece fails
//! the test naming the command that provides it. Screenshots
//! (`firefox-*.png`) and geckodriver's log, with the page's console, go
//! to `RINGSIDE_ARTIFACTS` (default: the system's temp dir).

mod common;

use common::{BrowserEnv, Server};

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_page_works_in_firefox() {
    common::checks::check_the_page(&BrowserEnv::firefox());
}

/// The hinted-handoff scenario asks what restarted node 3 holds, waits
/// for a click, then shows the verdict and runs to its end
/// (`common::checks::check_a_prediction`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn a_student_answers_a_prediction_in_firefox() {
    let env = BrowserEnv::firefox();
    let server = Server::start(env.dist.clone());
    let driver = env.driver();
    common::checks::check_a_prediction(&driver.session(), &server, &env.art);
}

/// The scrub bar dragged back to before a crash shows the node up
/// (`common::rewind::check_rewind_before_a_crash`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn rewind_to_before_a_crash_in_firefox() {
    let env = BrowserEnv::firefox();
    let server = Server::start(env.dist.clone());
    let driver = env.driver();
    common::rewind::check_rewind_before_a_crash(&driver.session(), &server, &env.art);
}

/// The calm view at 1280 x 720, the full panel opened by keyboard, large
/// text (`common::calm::check_the_calm_view`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_calm_view_in_firefox() {
    let env = BrowserEnv::firefox();
    let server = Server::start(env.dist.clone());
    let driver = env.driver();
    common::calm::check_the_calm_view(&driver.session(), &server, &env.art);
}
