//! "Why?" in headless Chromium (`common::why`; web/tests/firefox.rs runs
//! it in Firefox): a share link replays a run in which node 3 is cut from
//! node 1 while node 1 writes "new" at TWO, then reads key 137 at ONE
//! through node 3; the read is labelled stale in the request list, and
//! one click on it opens its explanation, which names the write node 3
//! missed and why (the cut link). Screenshot: `web-why-stale-read.png`.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `CHROMEDRIVER` /
//! `CHROMIUM` (default: on PATH); `cargo xtask test` sets them and runs
//! this test by name. Screenshots go to `RINGSIDE_ARTIFACTS` (default:
//! the system's temp dir).

mod common;

use common::BrowserEnv;

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn why_explains_a_stale_one_read_in_one_click() {
    BrowserEnv::chromium().run(common::why::check_why_a_stale_one_read);
}
