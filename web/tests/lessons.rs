//! Lessons a teacher writes (`common::lessons`; web/tests/firefox.rs runs
//! the file and URL checks in Firefox), loaded in headless Chromium the
//! three ways a page offers: a file picked in the loader (WebDriver types its path
//! into the file input), a URL in the page's link (`#lesson-url=`, served
//! by a second server, as a teacher's own site would), and pasted text
//! with an error, refused with its line while the lesson on screen goes
//! on untouched. A URL that answers 404 is refused naming the URL and the
//! status. Screenshots: `web-lesson-file.png`, `web-lesson-url.png`,
//! `web-lesson-error.png`.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `CHROMEDRIVER` /
//! `CHROMIUM` (default: on PATH); `cargo xtask test` sets them and runs
//! these tests by name. Screenshots go to `RINGSIDE_ARTIFACTS` (default:
//! the system's temp dir).

mod common;

use common::BrowserEnv;

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn a_lesson_loads_from_a_file() {
    BrowserEnv::chromium().run(common::lessons::check_a_lesson_from_a_file);
}

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn a_lesson_loads_from_a_url() {
    BrowserEnv::chromium().run(common::lessons::check_a_lesson_from_a_url);
}

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn a_refused_lesson_shows_its_line_and_nothing_runs() {
    BrowserEnv::chromium().run(common::lessons::check_a_refused_lesson);
}
