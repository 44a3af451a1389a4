//! The staleness lab in headless Chromium (`common::lab`; web/tests/firefox.rs
//! runs it in Firefox): a link with bad lab settings
//! is refused naming the setting; the "Staleness lab" button opens the
//! lab, a bad N is shown beside its field and blocks Run; a run of
//! 20,000 trials goes in slices (the page answers, part done, while it
//! runs) to its end and shows both curves (measured and the PBS model's),
//! the stale share at each level and the trials per second (printed);
//! the link then carries the settings, and opening it shows them.
//! Screenshot at 1280x720: `web-staleness-lab.png`.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `CHROMEDRIVER` /
//! `CHROMIUM` (default: on PATH); `cargo xtask test` sets them and runs
//! this test by name. Screenshots go to `RINGSIDE_ARTIFACTS` (default:
//! the system's temp dir).

mod common;

use common::BrowserEnv;

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn a_student_runs_the_staleness_lab() {
    BrowserEnv::chromium().run(common::lab::check_the_staleness_lab);
}
