//! # ringside-web
//!
//! The classroom visualizer: a simulated ringside cluster (`core::sim`)
//! running in the page, drawn live with Yew. `trunk serve` at the
//! repository root serves it.
//!
//! ## Map
//!
//! - [`state`]: the one reducer, [`state::ClusterView`], fed by core events
//! - [`backend`]: where events come from: the simulator, a recorded trace
//! - [`model`]: the backend, the view, the scenario runner and the clock
//! - [`scenario`]: the guided scenarios, as scripts with checks
//! - [`console`]: the page's command line (`put 137 value137 quorum`)
//! - [`app`]: the root component and the animation loop
//! - [`components`]: the panels, which render only from the view

mod app;
mod backend;
mod components;
mod console;
mod model;
mod scenario;
mod state;

#[cfg(test)]
mod tests;

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<app::App>::new().render();
}

/// Natively there is nothing to show; the modules build (and their unit
/// tests run) here, the page runs in a browser.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    // Keep the root component linked in native builds too.
    let _ = yew::Renderer::<app::App>::new;
    eprintln!("ringside-web runs in a browser: `trunk serve` at the repository root");
}
