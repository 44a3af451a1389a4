//! The page's usability checks, in headless Chromium
//! (`common::usability`; web/tests/firefox.rs runs the same checks in
//! Firefox): fields of the full panel keep what is typed while the clock
//! runs, and the staleness lab's while trials run; the ring's nodes and
//! messages work from the keyboard; in large text (a narrow window,
//! twice the text size, a page zoomed to 200 %) the ring and all its
//! labels stay inside its box. Screenshots:
//! `web-typed-fields.png`, `web-ring-keyboard.png`,
//! `web-ring-large-*.png`.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `CHROMEDRIVER` /
//! `CHROMIUM` (default: on PATH); `cargo xtask test` sets them and runs
//! these tests by name. Screenshots go to `RINGSIDE_ARTIFACTS` (default:
//! the system's temp dir).

mod common;

use common::BrowserEnv;

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn typing_into_the_full_panel_while_the_clock_runs_keeps_the_text() {
    BrowserEnv::chromium().run(common::usability::check_typing_while_the_clock_runs);
}

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn typing_into_the_lab_while_trials_run_keeps_the_text() {
    BrowserEnv::chromium().run(common::usability::check_typing_in_the_lab_while_trials_run);
}

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_ring_fits_its_box_with_large_text() {
    BrowserEnv::chromium().run(common::usability::check_the_ring_fits_large_text);
}

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_ring_works_from_the_keyboard() {
    BrowserEnv::chromium().run(common::usability::check_the_ring_by_keyboard);
}
