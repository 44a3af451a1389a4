//! The space-time view in headless Chromium (`common::spacetime`;
//! web/tests/firefox.rs runs it in Firefox): a share link replays a run
//! in which node 0 writes key 137 at QUORUM while node 3 is cut from it;
//! one click opens the view, whose lanes show the write's arrows; clicking
//! one picks it, and the event log shows the same message highlighted
//! (though message lines are hidden by default), and the ring draws it.
//! Then a line picked in the log is highlighted in the diagram, and a
//! mark picked with the keyboard is highlighted in the log; last, a
//! message's dot clicked on the ring is picked there, in the log and in
//! the diagram. Screenshots: `web-spacetime.png`, `web-ring-picked.png`.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `CHROMEDRIVER` /
//! `CHROMIUM` (default: on PATH); `cargo xtask test` sets them and runs
//! this test by name. Screenshots go to `RINGSIDE_ARTIFACTS` (default:
//! the system's temp dir).

mod common;

use common::BrowserEnv;

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_space_time_view_picks_the_same_message_as_the_log() {
    BrowserEnv::chromium().run(common::spacetime::check_the_space_time_view);
}
