//! The calm classroom layout in headless Chromium (and Firefox, in
//! web/tests/firefox.rs), at a projector's 1280 x 720: the page opens
//! with the ring and the narration whole on screen, the full control
//! panel hidden; Tab and Enter open the panel, large text still works.
//! Screenshots: `web-calm-default.png`, `web-calm-full-panel.png`.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output), and `CHROMEDRIVER` /
//! `CHROMIUM` (default: on PATH); `cargo xtask test` sets them and runs
//! this test by name. Screenshots go to `RINGSIDE_ARTIFACTS` (default:
//! the system's temp dir).

mod common;

use common::BrowserEnv;

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_calm_view_fits_a_projector_and_opens_the_full_panel_by_keyboard() {
    BrowserEnv::chromium().run(common::calm::check_the_calm_view);
}
