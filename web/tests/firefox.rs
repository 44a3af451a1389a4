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

use common::BrowserEnv;

#[test]
fn the_page_works_in_firefox() {
    let Some(env) = BrowserEnv::firefox() else {
        return;
    };
    common::check_the_page(&env, "Firefox");
}
