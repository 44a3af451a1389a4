//! Shows that a real 4-node cluster keeps every property the history
//! checker holds it to (no invented values, quorum freshness, durability,
//! convergence) while a nemesis kills, stops, pauses and restarts its
//! processes under concurrent clients, and that the run leaves no process
//! behind.

mod common;

use common::*;
use std::process::Command;

/// Pids of live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if alive(pid) && String::from_utf8_lossy(&cmd).contains(needle) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn chaos_run_keeps_every_property() {
    let dir = tempfile::Builder::new()
        .prefix("ringside-chaos-test-")
        .tempdir()
        .unwrap();
    let data = dir.path().join("cluster");
    let out = Command::new(BIN)
        .args(["chaos", "--nodes", "4", "--clients", "4", "--seconds", "18"])
        .args(["--settle-seconds", "40", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run ringside chaos");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    println!("{stdout}");
    // Whatever happened, nothing of the run may still be running.
    let left = processes_mentioning(&data.to_string_lossy());
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(out.status.success(), "chaos failed:\n{}", text(&out));
    assert!(stdout.contains("verdict: ok"), "{stdout}");
    // The run did something: faults were injected and requests answered.
    let faults: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("faults: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a faults line");
    assert!(faults >= 3, "only {faults} faults:\n{stdout}");
    assert!(
        stdout.contains("kill every node at once"),
        "every run kills every node at once:\n{stdout}"
    );
    if cfg!(feature = "clock-hook") {
        assert!(
            stdout.contains("'s clock"),
            "a run with the clock hook steps a clock:\n{stdout}"
        );
    }
    let ok: usize = stdout
        .lines()
        .find_map(|l| l.split_once("(ok ").map(|(_, r)| r))
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .expect("an ops line");
    assert!(ok >= 200, "only {ok} requests succeeded:\n{stdout}");
}
