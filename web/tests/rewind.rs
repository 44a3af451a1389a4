//! Rewind and fork in headless Chromium (`common::rewind`): drag the
//! scrub bar back to before a crash and see the node up
//! (`web-rewind-before-crash.png`); put a value there, see the fork, and
//! open the share link to see it reproduce the fork (`web-fork-note.png`,
//! `web-fork-link.png`).
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `CHROMEDRIVER` /
//! `CHROMIUM` (default: on PATH); `cargo xtask test` sets them and runs
//! these tests by name. Screenshots go to `RINGSIDE_ARTIFACTS` (default:
//! the system's temp dir).

mod common;

use common::BrowserEnv;

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn rewind_to_before_a_crash_and_see_the_node_up() {
    BrowserEnv::chromium().run(common::rewind::check_rewind_before_a_crash);
}

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn fork_and_see_the_share_link_reproduce_the_fork() {
    BrowserEnv::chromium().run(common::rewind::check_fork_and_its_link);
}
