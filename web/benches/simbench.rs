//! The core simulator's speed as wasm in headless Chromium, a benchmark
//! (`cargo bench -p ringside-web --bench simbench`; `cargo xtask bench`
//! runs it beside `ringside sim --bench`): opens the built page with
//! `?simbench=SECONDS` (the workload of `ringside sim --bench`), waits for
//! `<pre id="sim-bench" data-done="1">` and prints its line. The line goes
//! to `RINGSIDE_ARTIFACTS/sim-bench-wasm.txt` and, when
//! `RINGSIDE_SIMBENCH_OUT` is set, to that path too (`cargo xtask bench`
//! compares it with native). `RINGSIDE_SIMBENCH_SECONDS` measures longer
//! than the default 3 s.
//!
//! Then the same page with `?rewindbench` and `ringside-web
//! --rewind-bench` (this build's native binary) time rewinding a
//! 10,000-event run (see web/src/rewindbench.rs); both lines are printed
//! and written to `RINGSIDE_ARTIFACTS/rewind-bench.txt`.
//! `RINGSIDE_SIMBENCH_NO_REWIND=1` leaves the rewind out (`cargo xtask
//! bench` runs the page several times, for the simulator only).
//!
//! Needs `RINGSIDE_DIST` (a `trunk build --release` output, for a figure
//! worth comparing), and `CHROMEDRIVER` / `CHROMIUM` (default: on PATH);
//! a missing piece fails naming the command that provides it.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{BrowserEnv, Server};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Seconds of measurement; `RINGSIDE_SIMBENCH_SECONDS` overrides.
const SECONDS: u64 = 3;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter that names another
    // benchmark means this one is not wanted.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| "simbench".contains(f.as_str())) {
        return ExitCode::SUCCESS;
    }
    let seconds = match std::env::var("RINGSIDE_SIMBENCH_SECONDS") {
        Err(_) => SECONDS,
        Ok(v) => match v.parse::<u64>() {
            Ok(s) if s > 0 => s,
            _ => {
                eprintln!("RINGSIDE_SIMBENCH_SECONDS={v:?} is not a positive number of seconds");
                return ExitCode::FAILURE;
            }
        },
    };
    let env = BrowserEnv::chromium();
    let art = &env.art;
    let server = Server::start(env.dist.clone());
    let driver = env.driver();
    let s = driver.session();
    s.goto(&server.url(&format!("/?simbench={seconds}")));

    // The measurement itself takes `seconds`; loading the page, a few more.
    s.wait_for(
        "#sim-bench[data-done=1]",
        art,
        Duration::from_secs(seconds) + common::WAIT,
        |s| s.count("#sim-bench[data-done=\"1\"]") == 1,
    );
    let line = s.js("return document.getElementById('sim-bench').textContent");
    let line = line.as_str().unwrap_or("").trim().to_string();
    let well_formed = line
        .strip_prefix("sim bench (wasm): ")
        .and_then(|rest| rest.split_whitespace().next())
        .is_some_and(|n| n.parse::<f64>().is_ok())
        && line.contains(" simulated messages/s (")
        && line.ends_with(" s)");
    if !well_formed {
        eprintln!("not a sim bench line: {line:?}");
        return ExitCode::FAILURE;
    }
    println!("{line}");

    let mut outs = vec![art.join("sim-bench-wasm.txt")];
    outs.extend(std::env::var_os("RINGSIDE_SIMBENCH_OUT").map(PathBuf::from));
    for out in outs {
        if let Err(e) = std::fs::write(&out, format!("{line}\n")) {
            eprintln!("{}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        println!("written to {}", out.display());
    }
    if std::env::var("RINGSIDE_SIMBENCH_NO_REWIND").is_ok_and(|v| v == "1") {
        return ExitCode::SUCCESS;
    }
    match rewind_lines(&s, &server, art) {
        Ok(lines) => {
            println!("{lines}");
            let out = art.join("rewind-bench.txt");
            if let Err(e) = std::fs::write(&out, format!("{lines}\n")) {
                eprintln!("{}: {e}", out.display());
                return ExitCode::FAILURE;
            }
            println!("written to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rewind bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The rewind bench's line in the page (wasm) and natively.
fn rewind_lines(
    s: &common::Session,
    server: &Server,
    art: &std::path::Path,
) -> Result<String, String> {
    s.goto(&server.url("/?rewindbench"));
    s.wait_for(
        "#rewind-bench[data-done=1]",
        art,
        Duration::from_secs(120),
        |s| s.count("#rewind-bench[data-done=\"1\"]") == 1,
    );
    let wasm = s.js("return document.getElementById('rewind-bench').textContent");
    let wasm = wasm.as_str().unwrap_or("").trim().to_string();
    if !wasm.starts_with("rewind bench (wasm): slowest ") {
        return Err(format!("not a rewind bench line: {wasm:?}"));
    }
    let bin = env!("CARGO_BIN_EXE_ringside-web");
    let out = std::process::Command::new(bin)
        .arg("--rewind-bench")
        .output()
        .map_err(|e| format!("{bin} --rewind-bench: {e}"))?;
    let native = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !native.starts_with("rewind bench (native): slowest ") {
        return Err(format!("{bin} --rewind-bench printed {native:?}"));
    }
    Ok(format!("{wasm}\n{native}"))
}
