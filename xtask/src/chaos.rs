//! `cargo xtask chaos [--minutes M] [--seed S] [--nodes N] [--clients C]`:
//! builds the release binary with the clock hook and runs `ringside
//! chaos` with it (a real cluster under clients and a nemesis, clock
//! steps included, its history checked).

use std::process::Command;

/// Where the chaos binary is built.
const CHAOS_TARGET: &str = "target/chaos";

pub fn run(args: &[String]) -> Result<(), String> {
    let mut minutes = 5.0f64;
    let mut pass: Vec<String> = vec![];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("chaos: {name} needs a value"))
        };
        match a.as_str() {
            "--minutes" => {
                let v = value("--minutes")?;
                minutes = v
                    .parse()
                    .ok()
                    .filter(|m: &f64| *m > 0.0)
                    .ok_or_else(|| format!("chaos: --minutes: {v:?} is not a positive number"))?;
            }
            "--seed" | "--nodes" | "--clients" | "--keys" | "--data-dir" => {
                let v = value(a)?;
                pass.push(a.clone());
                pass.push(v);
            }
            other => {
                return Err(format!(
                    "chaos: unknown option {other:?} (--minutes M, --seed S, --nodes N, --clients C, --keys K, --data-dir DIR)"
                ))
            }
        }
    }
    // The nemesis steps a node's clock through a hook that release builds
    // leave off: this build has it, in a target directory of its own, so
    // that target/release stays the binary people run.
    super::step("building the release binary with the clock hook");
    super::run(super::cargo().args([
        "build",
        "--release",
        "-p",
        "ringside-native",
        "--features",
        super::TEST_FEATURES,
        "--target-dir",
        CHAOS_TARGET,
    ]))?;
    let seconds = (minutes * 60.0).round().max(1.0) as u64;
    super::step(&format!("chaos for {seconds} s"));
    super::run(
        Command::new(format!("{CHAOS_TARGET}/release/ringside"))
            .args(["chaos", "--seconds", &seconds.to_string()])
            .args(&pass),
    )
}
