//! The built page in headless Firefox (ESR, through geckodriver): the same
//! checks as web/tests/browser.rs runs in Chromium (`common::checks`),
//! so the page is shown to work in both: the 4-node ring, a QUORUM put on
//! nodes 2, 3 and 0, a hint for crashed node 3 delivered on restart, 16
//! nodes under load, and a prediction answered in the hinted-handoff
//! guided scenario, which then runs to its end; and the checks of rewind
//! and fork (`common::rewind`), the calm layout (`common::calm`), "why"
//! on a stale read (`common::why`), lessons from a file and from a URL
//! (`common::lessons`), the staleness lab (`common::lab`), the
//! space-time view (`common::spacetime`) and the usability checks
//! (`common::usability`), each the same body as its Chromium
//! test.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `GECKODRIVER` /
//! `FIREFOX` (default: cargo's bin dir or PATH, /usr/bin/firefox-esr);
//! `cargo xtask test` sets all three (installing geckodriver and
//! firefox-esr when missing) and runs this test. A missing piece fails
//! the test naming the command that provides it. Screenshots
//! (`firefox-*.png`) and geckodriver's log, with the page's console, go
//! to `RINGSIDE_ARTIFACTS` (default: the system's temp dir).

mod common;

use common::BrowserEnv;

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
    BrowserEnv::firefox().run(common::checks::check_a_prediction);
}

/// The scrub bar dragged back to before a crash shows the node up
/// (`common::rewind::check_rewind_before_a_crash`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn rewind_to_before_a_crash_in_firefox() {
    BrowserEnv::firefox().run(common::rewind::check_rewind_before_a_crash);
}

/// The calm view at 1280 x 720, the full panel opened by keyboard, large
/// text (`common::calm::check_the_calm_view`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_calm_view_in_firefox() {
    BrowserEnv::firefox().run(common::calm::check_the_calm_view);
}

/// Before a crash, a put forks the run; the share link, opened afresh,
/// replays the fork (`common::rewind::check_fork_and_its_link`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn fork_and_its_share_link_in_firefox() {
    BrowserEnv::firefox().run(common::rewind::check_fork_and_its_link);
}

/// One click from a stale ONE read to the write it missed and why
/// (`common::why::check_why_a_stale_one_read`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn why_explains_a_stale_one_read_in_firefox() {
    BrowserEnv::firefox().run(common::why::check_why_a_stale_one_read);
}

/// A lesson file picked in the loader runs, and so does its share link
/// (`common::lessons::check_a_lesson_from_a_file`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn a_lesson_loads_from_a_file_in_firefox() {
    BrowserEnv::firefox().run(common::lessons::check_a_lesson_from_a_file);
}

/// A lesson at a URL in the page's link runs; unreachable ones are
/// refused (`common::lessons::check_a_lesson_from_a_url`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn a_lesson_loads_from_a_url_in_firefox() {
    BrowserEnv::firefox().run(common::lessons::check_a_lesson_from_a_url);
}

/// 20,000 lab trials in slices, both curves plotted
/// (`common::lab::check_the_staleness_lab`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_staleness_lab_in_firefox() {
    BrowserEnv::firefox().run(common::lab::check_the_staleness_lab);
}

/// An arrow picked in the space-time view is picked in the log and on
/// the ring, and back (`common::spacetime::check_the_space_time_view`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_space_time_view_in_firefox() {
    BrowserEnv::firefox().run(common::spacetime::check_the_space_time_view);
}

/// Fields of the full panel keep what is typed while the clock runs
/// (`common::usability::check_typing_while_the_clock_runs`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn typing_while_the_clock_runs_in_firefox() {
    BrowserEnv::firefox().run(common::usability::check_typing_while_the_clock_runs);
}

/// The lab's fields keep what is typed while trials run
/// (`common::usability::check_typing_in_the_lab_while_trials_run`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn typing_in_the_lab_while_trials_run_in_firefox() {
    BrowserEnv::firefox().run(common::usability::check_typing_in_the_lab_while_trials_run);
}

/// The ring's nodes and messages from the keyboard
/// (`common::usability::check_the_ring_by_keyboard`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_ring_from_the_keyboard_in_firefox() {
    BrowserEnv::firefox().run(common::usability::check_the_ring_by_keyboard);
}

/// The ring and its labels inside its box in large text
/// (`common::usability::check_the_ring_fits_large_text`).
#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_ring_fits_large_text_in_firefox() {
    BrowserEnv::firefox().run(common::usability::check_the_ring_fits_large_text);
}
