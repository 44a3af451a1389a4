//! `?simbench=SECONDS` (with `&faults` to inject faults): the page measures
//! the core simulator instead of showing the cluster. It runs exactly the
//! workload of `ringside sim --bench` (seeds from 1, 200 requests on 4
//! nodes, 8 keys, 8 s settling, no trace) for SECONDS of wall time, in
//! slices of about [`SLICE_MS`] with a yield to the browser between them,
//! and writes one line into `<pre id="sim-bench" data-done="1">`:
//!
//! `sim bench (wasm): N simulated messages/s (M messages, R runs, S s)`

use ringside_core::sim::workload::RunOptions;

/// Wall time of simulator runs between two yields to the browser. Each
/// yield costs the measurement a few milliseconds (a chained zero-delay
/// timeout waits at least 4 ms, and the progress line is laid out and
/// painted), so short slices measure the yields as much as the
/// simulator; these still update the line four times a second.
pub const SLICE_MS: f64 = 250.0;

/// What the query asks for: (seconds, faults), or None without `simbench`.
pub fn from_query(search: &str) -> Option<(f64, bool)> {
    let mut seconds = None;
    let mut faults = false;
    for pair in search.trim_start_matches('?').split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "simbench" => {
                seconds = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s > 0.0)
                        .unwrap_or(5.0),
                )
            }
            "faults" => faults = !matches!(v, "0" | "false" | "off"),
            _ => {}
        }
    }
    seconds.map(|s| (s, faults))
}

/// The same options as `ringside sim --bench` with its defaults.
pub fn options(faults: bool) -> RunOptions {
    RunOptions {
        nodes: 4,
        ops: 200,
        faults,
        keys: 8,
        settle_ms: 8_000,
        trace: false,
    }
}

/// What has been measured so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub messages: u64,
    pub runs: u64,
    pub next_seed: u64,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            messages: 0,
            runs: 0,
            next_seed: 1,
        }
    }

    /// Runs the next seed.
    pub fn run_one(&mut self, opts: &RunOptions) {
        let (_, report) = ringside_core::sim::workload::random_run(self.next_seed, opts);
        self.messages += report.stats.delivered;
        self.runs += 1;
        self.next_seed += 1;
    }

    /// The result line, after `secs` of wall time.
    pub fn line(&self, secs: f64) -> String {
        format!(
            "sim bench (wasm): {:.0} simulated messages/s ({} messages, {} runs, {secs:.2} s)",
            self.messages as f64 / secs.max(1e-9),
            self.messages,
            self.runs
        )
    }
}

/// Starts the measurement: a `<pre id="sim-bench">` in the body, filled in
/// (with `data-done="1"`) when the time is up.
#[cfg(target_arch = "wasm32")]
pub fn start(seconds: f64, faults: bool) {
    let window = web_sys::window().expect("a window");
    let document = window.document().expect("a document");
    let body = document.body().expect("a body");
    let pre = document.create_element("pre").expect("a <pre>");
    pre.set_id("sim-bench");
    pre.set_text_content(Some(&format!(
        "sim bench (wasm): running for {seconds} s{}...",
        if faults { " with faults" } else { "" }
    )));
    let _ = body.append_child(&pre);
    let perf = window.performance().expect("performance");
    let started = perf.now();
    slice(
        pre,
        perf,
        started,
        seconds * 1000.0,
        options(faults),
        Tally::new(),
    );
}

#[cfg(target_arch = "wasm32")]
fn slice(
    pre: web_sys::Element,
    perf: web_sys::Performance,
    started: f64,
    total_ms: f64,
    opts: RunOptions,
    mut tally: Tally,
) {
    let slice_start = perf.now();
    loop {
        let now = perf.now();
        if now - started >= total_ms {
            let line = tally.line((now - started) / 1000.0);
            pre.set_text_content(Some(&line));
            let _ = pre.set_attribute("data-done", "1");
            web_sys::console::log_1(&line.into());
            return;
        }
        if now - slice_start >= SLICE_MS {
            break;
        }
        tally.run_one(&opts);
    }
    pre.set_text_content(Some(&format!(
        "sim bench (wasm): {} runs, {:.1} s...",
        tally.runs,
        (perf.now() - started) / 1000.0
    )));
    gloo::timers::callback::Timeout::new(0, move || {
        slice(pre, perf, started, total_ms, opts, tally)
    })
    .forget();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_the_seconds_and_the_faults() {
        assert_eq!(from_query(""), None);
        assert_eq!(from_query("?speed=3"), None);
        assert_eq!(from_query("?simbench=3"), Some((3.0, false)));
        assert_eq!(from_query("?simbench=0.5&faults"), Some((0.5, true)));
        assert_eq!(from_query("?faults=1&simbench"), Some((5.0, true)));
        assert_eq!(from_query("?simbench=x&faults=0"), Some((5.0, false)));
    }

    #[test]
    fn the_workload_is_the_native_benchs() {
        let opts = options(false);
        assert_eq!(
            (opts.nodes, opts.ops, opts.keys, opts.settle_ms, opts.trace),
            (4, 200, 8, 8_000, false)
        );
        let mut t = Tally::new();
        t.run_one(&opts);
        let (_, report) = ringside_core::sim::workload::random_run(1, &opts);
        assert_eq!((t.runs, t.next_seed), (1, 2));
        assert_eq!(t.messages, report.stats.delivered);
        assert!(t.messages > 0);
        let line = t.line(2.0);
        assert!(line.starts_with("sim bench (wasm): "), "{line}");
        assert!(line.ends_with(", 1 runs, 2.00 s)"), "{line}");
    }
}
