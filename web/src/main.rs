//! # ringside-web
//!
//! The classroom visualizer: a simulated ringside cluster (`core::sim`)
//! running in the page, drawn live with Yew. `trunk serve` at the
//! repository root serves it.
//!
//! ## Map
//!
//! - [`state`]: the one reducer, [`state::ClusterView`], fed by core events
//! - [`narration`]: the event log's words for each event
//! - [`backend`]: where events come from: the simulator, a recorded trace
//! - [`model`]: the backend, the view, the scenario runner and the clock
//! - [`scenario`]: the guided scenarios, as scripts with checks
//! - [`console`]: the page's command line (`put 137 value137 quorum`)
//! - [`app`]: the root component and the animation loop
//! - [`context`]: what the root component shares with the panels
//! - [`components`]: the panels, which render only from the view
//! - [`simbench`]: `?simbench=SECONDS`, the simulator's speed in the page
//! - [`why`]: "why?" for a request: the events kept for `core::explain`

mod app;
mod backend;
mod components;
mod console;
mod context;
mod model;
mod narration;
mod scenario;
// Natively only its tests use it; the page calls it.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod simbench;
mod spacetime;
mod state;
mod why;

#[cfg(test)]
mod tests;

#[cfg(target_arch = "wasm32")]
fn main() {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    // `?simbench=SECONDS`: measure the simulator, without the UI (whose
    // animation loop would share the thread).
    match simbench::from_query(&search) {
        Some((seconds, faults)) => simbench::start(seconds, faults),
        None => {
            yew::Renderer::<app::App>::new().render();
        }
    }
}

/// Natively there is nothing to show; the modules build (and their unit
/// tests run) here, the page runs in a browser.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    // Keep the root component linked in native builds too.
    let _ = yew::Renderer::<app::App>::new;
    eprintln!("ringside-web runs in a browser: `trunk serve` at the repository root");
}
