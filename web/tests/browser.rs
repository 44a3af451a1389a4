//! The built page in headless Chromium, driven the way a student drives it:
//! it shows the 4-node ring, a `put 137 v quorum` typed into its command
//! line lands on nodes 2, 3 and 0, crashing node 3 and writing again leaves
//! a hint for node 3 on the coordinator, restarting node 3 delivers it; 16
//! nodes under a random load keep drawing (the frame rate is printed); and
//! a student answers the hinted-handoff scenario's prediction, sees the
//! verdict, and the scenario runs to its end. The checks are
//! `common::checks`; web/tests/firefox.rs runs the same ones in Firefox.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `CHROMEDRIVER` /
//! `CHROMIUM` (default: on PATH); `cargo xtask test` sets them and runs
//! this test. A missing piece fails the test naming the command that
//! provides it. Screenshots (`web-*.png`) go to `RINGSIDE_ARTIFACTS`
//! (default: the system's temp dir).

mod common;

use common::BrowserEnv;

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_page_shows_replicas_hints_and_handoff() {
    common::checks::check_the_page(&BrowserEnv::chromium());
}

/// The hinted-handoff scenario asks what restarted node 3 holds, waits
/// for a click, then shows the verdict and runs to its end
/// (`common::checks::check_a_prediction`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn a_student_answers_a_prediction() {
    BrowserEnv::chromium().run(common::checks::check_a_prediction);
}
