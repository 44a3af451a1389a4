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
//! - [`rewind`]: the scrub bar's picture of a run: cursor, head, marks
//! - [`scenario`]: the guided scenarios, as scripts with checks
//! - [`console`]: the page's command line (`put 137 value137 quorum`)
//! - [`app`]: the root component and the animation loop
//! - [`layout`]: the calm view or the full control panel, in the address
//! - [`keys`]: the keyboard shortcuts
//! - [`context`]: what the root component shares with the panels
//! - [`components`]: the panels, which render only from the view
//! - [`simbench`]: `?simbench=SECONDS`, the simulator's speed in the page
//! - [`rewindbench`]: `?rewindbench`, how long a rewind takes
//! - [`why`]: "why?" for a request: the events kept for `core::explain`
//! - [`lab`]: the staleness lab's form, link, run in slices and plot

mod app;
mod backend;
mod components;
mod console;
mod context;
mod keys;
mod lab;
mod layout;
mod model;
mod narration;
mod rewind;
mod rewindbench;
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
    if search.contains("rewindbench") {
        rewind_bench_in_page();
        return;
    }
    match simbench::from_query(&search) {
        Some((seconds, faults)) => simbench::start(seconds, faults),
        None => {
            yew::Renderer::<app::App>::new().render();
        }
    }
}

/// `?rewindbench`: the line of [`rewindbench`] in `<pre id="rewind-bench"
/// data-done="1">`.
#[cfg(target_arch = "wasm32")]
fn rewind_bench_in_page() {
    let window = web_sys::window().expect("a window");
    let document = window.document().expect("a document");
    let pre = document.create_element("pre").expect("a <pre>");
    pre.set_id("rewind-bench");
    pre.set_text_content(Some("rewind bench (wasm): running..."));
    let _ = document.body().expect("a body").append_child(&pre);
    let perf = window.performance().expect("performance");
    // After a frame, so that the line above shows while it runs.
    gloo::timers::callback::Timeout::new(0, move || {
        let mut m = rewindbench::long_run();
        let sim = rewindbench::measure(&mut m, "wasm", || perf.now());
        let mut rec = rewindbench::recording(backend::live::KEPT);
        let live = rewindbench::measure_live(&mut rec, "wasm", || perf.now());
        let line = format!("{sim}\n{live}");
        pre.set_text_content(Some(&line));
        let _ = pre.set_attribute("data-done", "1");
        web_sys::console::log_1(&line.into());
    })
    .forget();
}

/// Natively there is nothing to show; the modules build (and their unit
/// tests run) here, the page runs in a browser.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    // Keep the root component linked in native builds too.
    let _ = yew::Renderer::<app::App>::new;
    if std::env::args().any(|a| a == "--rewind-bench") {
        let mut m = rewindbench::long_run();
        let start = std::time::Instant::now();
        println!(
            "{}",
            rewindbench::measure(&mut m, "native", || start.elapsed().as_secs_f64() * 1e3)
        );
        let mut rec = rewindbench::recording(backend::live::KEPT);
        println!(
            "{}",
            rewindbench::measure_live(&mut rec, "native", || start.elapsed().as_secs_f64() * 1e3)
        );
        return;
    }
    eprintln!("ringside-web runs in a browser: `trunk serve` at the repository root (`ringside-web --rewind-bench` measures a rewind)");
}
