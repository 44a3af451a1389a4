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

/// `ringside sim --bench`'s workload for `seconds`, as wasm in headless
/// Chromium (a release dist in target/bench-dist, the page's
/// `?simbench=SECONDS` driven by web/benches/simbench.rs, which writes its
/// line to target/sim-bench-wasm.txt) and natively (`bin`, release); the
/// lines and the ratio printed, the ratio a row of the report. The native
/// run is split in two halves, before and after the page's, and their mean
/// is the baseline: the box's speed drifts within seconds, and one native
/// run after the page's compared the page with another moment.
pub fn wasm_sim_bench(bin: &Path, seconds: u64, report: &mut Report) {
    let rate = |line: &str| -> Option<f64> {
        line.split_once("): ")?
            .1
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let half = (seconds as f64 / 2.0).to_string();
    let native = || -> Result<String, String> {
        let out = Command::new(bin)
            .args(["sim", "--bench", "--bench-seconds", &half])
            .output()
            .map_err(|e| format!("{} sim --bench: {e}", bin.display()))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with("sim bench (native)"))
            .ok_or("`ringside sim --bench` printed no result")?
            .to_string())
    };
    let measure = || -> Result<(String, [String; 2]), String> {
        step(&format!(
            "core simulator: native {half} s, wasm in headless Chromium {seconds} s, native {half} s"
        ));
        let (Some(chromium), Some(chromedriver)) = (
            find_exe(&["chromium", "chromium-browser"]),
            find_exe(&["chromedriver"]),
        ) else {
            return Err("needs chromium and chromedriver (cargo xtask setup)".into());
        };
        let dist = PathBuf::from("target/bench-dist");
        trunk_build(&dist, true).map_err(|e| format!("the web crate did not build: {e}"))?;
        let out = PathBuf::from("target/sim-bench-wasm.txt");
        let _ = fs::remove_file(&out);
        let art = PathBuf::from("target/artifacts");
        let _ = fs::create_dir_all(&art);
        let abs = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let target = abs(Path::new("target"));
        // Built before the first native half, so that only the page runs
        // between the two halves.
        run_cmd(cargo().args(SIMBENCH).arg("--no-run"))?;
        let before = native()?;
        run_cmd(
            cargo()
                .args(SIMBENCH)
                .env("RINGSIDE_DIST", abs(&dist))
                .env("RINGSIDE_ARTIFACTS", abs(&art))
                .env("RINGSIDE_SIMBENCH_OUT", target.join("sim-bench-wasm.txt"))
                .env("RINGSIDE_SIMBENCH_SECONDS", seconds.to_string())
                .env("CHROMIUM", chromium)
                .env("CHROMEDRIVER", chromedriver),
        )?;
        let wasm = fs::read_to_string(&out)
            .map_err(|e| format!("{}: {e}", out.display()))?
            .trim()
            .to_string();
        let after = native()?;
        Ok((wasm, [before, after]))
    };
    match measure() {
        Ok((wasm, [before, after])) => {
            let (Some(w), Some(n1), Some(n2)) = (rate(&wasm), rate(&before), rate(&after)) else {
                report.note(format!(
                    "core simulator wasm ÷ native: not measured: no rate in {wasm:?}, {before:?} or {after:?}"
                ));
                return;
            };
            let n = (n1 + n2) / 2.0;
            let ratio = if n > 0.0 { w / n } else { f64::NAN };
            println!("{before}\n{wasm}\n{after}\nwasm ÷ native: {ratio:.2}");
            report.row(
                "core simulator, wasm in Chromium ÷ native (simulated messages/s)".into(),
                ratio,
                ">= 0.5",
                format!(
                    "{w:.0}/s ÷ {n:.0}/s (native {n1:.0}/s before, {n2:.0}/s after, {half} s each; wasm {seconds} s)"
                ),
            );
        }
        Err(e) => report.note(format!("core simulator wasm ÷ native: not measured: {e}")),
    }
}
