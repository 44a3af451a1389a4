//! The page: its bundle's size, and the core simulator as wasm in headless
//! Chromium beside native.

use super::report::Report;
use crate::{cargo, find_exe, run as run_cmd, step, trunk_build};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (raw bytes, gzipped bytes, dir) of the wasm and js of a fresh `trunk
/// build --release` (not `dist/`, which `trunk serve` fills with a debug
/// build).
pub fn web_bundle() -> Result<(u64, u64, String), String> {
    if find_exe(&["trunk"]).is_none() && !crate::cargo_bin_dir().join("trunk").exists() {
        return Err("trunk is not installed (cargo xtask setup)".into());
    }
    let dir = PathBuf::from("target/bench-web");
    trunk_build(&dir, true).map_err(|e| format!("the web crate did not build: {e}"))?;
    let files = bundle_files(&dir);
    if files.is_empty() {
        return Err(format!("no .wasm or .js in {}", dir.display()));
    }
    let (mut raw, mut gz) = (0u64, 0u64);
    for f in &files {
        raw += fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        let out = Command::new("gzip")
            .args(["-9", "-c"])
            .arg(f)
            .output()
            .map_err(|e| format!("cannot run gzip: {e}"))?;
        gz += out.stdout.len() as u64;
        println!("   {}", f.display());
    }
    Ok((raw, gz, dir.display().to_string()))
}

fn bundle_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return vec![];
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm" || x == "js"))
        .collect();
    v.sort();
    v
}

/// The page's side: web/benches/simbench.rs. The dev profile, as the
/// tests build it: only the page's speed is measured, and trunk builds
/// the page in release whatever this is.
const SIMBENCH: [&str; 8] = [
    "bench",
    "-q",
    "-p",
    "ringside-web",
    "--bench",
    "simbench",
    "--profile",
    "dev",
];

/// `ringside sim --bench`'s workload as wasm in headless Chromium (a
/// release dist in target/bench-dist, the page's `?simbench=SECONDS`
/// driven by web/benches/simbench.rs, which writes its line to
/// target/sim-bench-wasm.txt) and natively (`bin`, release), alternated:
/// native, page, native, page, ..., native, the page `seconds` a round
/// and each native run half that. A round's ratio is the page's rate over
/// the mean of the native runs either side of it (the box's speed drifts
/// within seconds, so one native run compared the page with another
/// moment); the row is the median round's, with every round's beside it.
pub fn wasm_sim_bench(bin: &Path, seconds: u64, rounds: usize, report: &mut Report) {
    match sim_rounds(bin, seconds, rounds.max(1)) {
        Ok(rounds) => {
            for r in &rounds {
                println!(
                    "{}\n{}\nwasm ÷ native: {:.2}",
                    r.lines[0],
                    r.lines[1],
                    r.ratio()
                );
            }
            if let Some(last) = rounds.last() {
                println!("{}", last.lines[2]);
            }
            report.median_row(
                "core simulator, wasm in Chromium ÷ native (simulated messages/s)".into(),
                ">= 0.5",
                &rounds,
                |r| {
                    (
                        r.ratio(),
                        format!(
                            "{:.0}/s ÷ {:.0}/s (native {:.0}/s before, {:.0}/s after, {} s each; wasm {seconds} s)",
                            r.wasm,
                            r.native_mean(),
                            r.native[0],
                            r.native[1],
                            seconds as f64 / 2.0
                        ),
                    )
                },
            );
        }
        Err(e) => report.note(format!("core simulator wasm ÷ native: not measured: {e}")),
    }
}

/// One page run and the native runs either side of it: rates in
/// simulated messages/s, and the lines they were read from (before, page,
/// after).
struct SimRound {
    wasm: f64,
    native: [f64; 2],
    lines: [String; 3],
}

impl SimRound {
    /// The baseline: the mean of the native runs either side.
    fn native_mean(&self) -> f64 {
        (self.native[0] + self.native[1]) / 2.0
    }

    fn ratio(&self) -> f64 {
        let n = self.native_mean();
        if n > 0.0 {
            self.wasm / n
        } else {
            f64::NAN
        }
    }
}

/// The rate in a `sim bench (...)` line: `sim bench (wasm): 123456 simulated messages/s (...)`.
fn sim_rate(line: &str) -> Result<f64, String> {
    line.split_once("): ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no rate in {line:?}"))
}

fn sim_rounds(bin: &Path, seconds: u64, rounds: usize) -> Result<Vec<SimRound>, String> {
    let half = (seconds as f64 / 2.0).to_string();
    step(&format!(
        "core simulator: {rounds} rounds of wasm in headless Chromium for {seconds} s between native runs of {half} s"
    ));
    let native = || -> Result<(String, f64), String> {
        let out = Command::new(bin)
            .args(["sim", "--bench", "--bench-seconds", &half])
            .output()
            .map_err(|e| format!("{} sim --bench: {e}", bin.display()))?;
        let line = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with("sim bench (native)"))
            .ok_or("`ringside sim --bench` printed no result")?
            .to_string();
        let rate = sim_rate(&line)?;
        Ok((line, rate))
    };
    let (Some(chromium), Some(chromedriver)) = (
        find_exe(&["chromium", "chromium-browser"]),
        find_exe(&["chromedriver"]),
    ) else {
        return Err("needs chromium and chromedriver (cargo xtask setup)".into());
    };
    let dist = PathBuf::from("target/bench-dist");
    trunk_build(&dist, true).map_err(|e| format!("the web crate did not build: {e}"))?;
    let out = PathBuf::from("target/sim-bench-wasm.txt");
    let art = PathBuf::from("target/artifacts");
    let _ = fs::create_dir_all(&art);
    let abs = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let target = abs(Path::new("target"));
    let page = || -> Result<(String, f64), String> {
        let _ = fs::remove_file(&out);
        run_cmd(
            cargo()
                .args(SIMBENCH)
                .env("RINGSIDE_DIST", abs(&dist))
                .env("RINGSIDE_ARTIFACTS", abs(&art))
                .env("RINGSIDE_SIMBENCH_OUT", target.join("sim-bench-wasm.txt"))
                .env("RINGSIDE_SIMBENCH_SECONDS", seconds.to_string())
                .env("RINGSIDE_SIMBENCH_NO_REWIND", "1")
                .env("CHROMIUM", &chromium)
                .env("CHROMEDRIVER", &chromedriver),
        )?;
        let line = fs::read_to_string(&out)
            .map_err(|e| format!("{}: {e}", out.display()))?
            .trim()
            .to_string();
        let rate = sim_rate(&line)?;
        Ok((line, rate))
    };
    // Built before the first native run, so that only the page runs
    // between two native runs.
    run_cmd(cargo().args(SIMBENCH).arg("--no-run"))?;
    let mut before = native()?;
    let mut all = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let (wasm_line, wasm) = page()?;
        let after = native()?;
        all.push(SimRound {
            wasm,
            native: [before.1, after.1],
            lines: [before.0, wasm_line, after.0.clone()],
        });
        before = after;
    }
    Ok(all)
}
