//! `cargo xtask bench`: ringside beside redis, in one run on one machine,
//! and the ratios of the performance issue.
//!
//! 1. Alternated rounds at 32 connections (`rounds.rs`): ringside
//!    (release build, a 4-node cluster per leg, QUORUM, 100-byte values)
//!    with periodic and with batch sync, redis with `appendfsync always`
//!    (the durable peer of batch sync) and redis without persistence (the
//!    peer of periodic sync and of gets). The order of the legs rotates
//!    from round to round. Then rounds at one connection: batch puts,
//!    durable redis SETs, and the put's floor (`floor.rs`), measured in
//!    the same round. The clusters and redis's append-only file live in
//!    one directory under `target/`, so both write to one file system.
//! 2. Each ratio is taken within its round; a row gives the median round's
//!    ratio and every round's (`rows.rs`): the machine drifts by tens of
//!    percent within minutes, and a ratio of two figures measured minutes
//!    apart drifts with it. The batch rows' spread, the CPU the node
//!    processes spent and the context switches their threads made per
//!    put (`cpu.rs`), and, with batch sync, the commit-log syncs per put
//!    that the nodes report as they stop, are rows too. Then one more
//!    round of each kind, whose system calls per operation `perf stat`
//!    counts (`syscalls.rs`), apart from the rounds the ratios come from.
//! 3. `ringside bench --timeline`: where one client's batch-sync put
//!    spends its time, step by step across the nodes.
//! 4. Commit-log replay and memory, and the time a node takes to stop
//!    (`replay.rs`), the web bundle's size and the simulator as wasm
//!    beside native (`web.rs`).
//!
//! The report is printed and written to `target/bench-report.txt`.

mod cpu;
mod floor;
mod redis;
mod replay;
mod report;
mod ringside;
mod rounds;
mod rows;
mod syscalls;
mod web;

use super::{cargo, flag, run as run_cmd, step};
use redis::{Persistence, RedisServer};
use report::Report;
use std::fs;
use std::path::{Path, PathBuf};

/// Replays the replay, serving and memory rows each take the median of:
/// one node's replay of the same log moves by up to a factor of two from
/// one run to the next on a small VM.
const REPLAY_RUNS: usize = 3;

const HELP: &str = "\
cargo xtask bench [--rounds R] [--seconds S] [--clients N] [--records N] [--no-web] [--quick]
cargo xtask bench --curve SIZES

  --rounds R     alternated rounds at N clients (default 5): ringside periodic and
                 batch, redis appendfsync always, redis without persistence; one
                 client gets R + 2 rounds of shorter phases. Each ratio is the
                 median of its rounds' ratios.
  --seconds S    length of each ringside phase at N clients (default 5; at one
                 client 2 S / 5, at least 1)
  --clients N    concurrent connections for ringside and redis (default 32)
  --records N    commit-log records for the replay and memory figures (default 1000000);
                 each is the median of 3 runs, each on a new log
  --no-web       skip the web bundle size and the wasm simulator
  --quick        3 rounds of 2-second phases (3 at one client), 100,000 records,
                 a shorter simulator run: checks the harness in a few minutes
  --curve SIZES  only the replay, time to serve, memory per key and longest turn
                 of one node, at each size (records of distinct keys, comma-separated,
                 e.g. 1000000,3000000,10000000): how they grow with the data.
                 Needs, at the largest size, about 130 bytes of log on disk and a few
                 hundred bytes of memory per record (10,000,000: 1.3 GB and 2 GB or more)";

/// What the command line asked for.
struct Options {
    rounds: u64,
    rounds1: u64,
    settings: rounds::Settings,
    records: u64,
    no_web: bool,
    quick: bool,
    /// Only the replay curve, at these sizes.
    curve: Option<Vec<u64>>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        check_args(args)?;
        let quick = args.iter().any(|a| a == "--quick");
        let num = |name: &str, default: u64| -> Result<u64, String> {
            match flag(args, name) {
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("{name}: expected a number, got {v:?}")),
                None => Ok(default),
            }
        };
        let rounds = num("--rounds", if quick { 3 } else { 5 })?.max(1);
        let seconds = num("--seconds", if quick { 2 } else { 5 })?.max(1);
        let seconds1 = (seconds * 2 / 5).max(1);
        Ok(Options {
            rounds,
            rounds1: if quick { rounds } else { rounds + 2 },
            settings: rounds::Settings {
                clients: num("--clients", 32)?.max(1),
                seconds,
                seconds1,
                redis_n: 20_000 * seconds,
                redis_n1: 5_000 * seconds1,
                floor_n: if quick { 200 } else { 500 },
            },
            records: num("--records", if quick { 100_000 } else { 1_000_000 })?.max(1),
            no_web: args.iter().any(|a| a == "--no-web"),
            quick,
            curve: flag(args, "--curve").map(parse_sizes).transpose()?,
        })
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{HELP}");
        return Ok(());
    }
    let o = Options::parse(args)?;

    step("build ringside (release); redis-server and redis-tools if missing");
    run_cmd(cargo().args([
        "build",
        "--release",
        "-p",
        "ringside-native",
        "--bin",
        "ringside",
    ]))?;
    let bin = fs::canonicalize("target/release/ringside")
        .map_err(|e| format!("target/release/ringside: {e}"))?;
    if let Some(sizes) = &o.curve {
        let work = PathBuf::from("target/bench-tmp");
        fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        let text = replay::curve(&bin, sizes, &work)?;
        step("results");
        println!("{text}");
        let _ = fs::write("target/bench-curve.txt", &text);
        println!("(also written to target/bench-curve.txt)");
        return Ok(());
    }
    redis::install()?;
    // One directory for the clusters' logs and the durable redis's
    // append-only file: one file system for both.
    let work = PathBuf::from("target/bench-tmp");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let work = fs::canonicalize(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    stop_clusters_on_ctrl_c(&bin, &work);
    let result = measure(&bin, &work, &o);
    let _ = fs::remove_dir_all(&work);
    let text = result?.render();
    step("results");
    println!("{text}");
    let _ = fs::write("target/bench-report.txt", &text);
    println!("(also written to target/bench-report.txt)");
    Ok(())
}

/// The nodes `ringside cluster up` starts sit in their own process group,
/// out of a terminal's Ctrl-C; on one, bring down (by their recorded
/// pids) the clusters in `work` before exiting. redis, the ceiling's
/// members and `ringside bench` are our children, in our group: the
/// Ctrl-C reaches them.
fn stop_clusters_on_ctrl_c(bin: &Path, work: &Path) {
    let (bin, work) = (bin.to_path_buf(), work.to_path_buf());
    let _ = ctrlc::set_handler(move || {
        if let Ok(entries) = fs::read_dir(&work) {
            for e in entries.flatten() {
                // Ours, and the one `ringside bench --timeline` made
                // itself with TMPDIR pointing here.
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with("cluster-") || name.starts_with("ringside-bench-") {
                    let _ = std::process::Command::new(&bin)
                        .args(["cluster", "down", "--data-dir"])
                        .arg(e.path())
                        .status();
                }
            }
        }
        eprintln!("xtask bench: interrupted; the clusters it started are down");
        std::process::exit(130);
    });
}

/// Waits until `child`, a server we started (`what`, its output in
/// `log`), accepts TCP connections at `addr`: an error naming the log if
/// it exits first or does not listen within 10 s.
fn wait_until_listening(
    child: &mut std::process::Child,
    addr: &str,
    what: &str,
    log: &Path,
) -> Result<(), String> {
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{what} exited ({status}); its output is in {}",
                log.display()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{what} did not listen within 10 s; its output is in {}",
                log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Everything but the build, in `work`.
fn measure(bin: &Path, work: &Path, o: &Options) -> Result<Report, String> {
    let mut report = Report::default();
    let s = &o.settings;
    {
        let durable = RedisServer::start(
            "appendfsync always",
            Persistence::AlwaysFsync(work.join("redis-aof")),
            &work.join("redis-durable.log"),
        )?;
        let plain = RedisServer::start(
            "without persistence",
            Persistence::Off,
            &work.join("redis-plain.log"),
        )?;
        let peers = rounds::Peers {
            bin,
            work,
            durable: &durable,
            plain: &plain,
        };
        let many = rounds::many(&peers, s, o.rounds, false)?;
        let single = rounds::single(&peers, s, o.rounds1, false)?;
        rows::add(&mut report, &many, &single, s.clients);
        // Counting slows what it counts, so it has rounds of its own.
        if crate::find_exe(&["perf"]).is_some() {
            let many = rounds::many(&peers, s, 1, true)?;
            let single = rounds::single(&peers, s, 1, true)?;
            rows::add_syscalls(&mut report, &many[0], &single[0], s.clients);
        } else {
            report.note(rows::NOT_COUNTED.into());
        }
        let plural = |n: u64| if n == 1 { "round" } else { "rounds" };
        report.note(format!(
            "{} {} of {}-second phases at {} clients, {} {} of {}-second phases at 1 client; the figures below are from each row's median round",
            o.rounds,
            plural(o.rounds),
            s.seconds,
            s.clients,
            o.rounds1,
            plural(o.rounds1),
            s.seconds1
        ));
    }

    step("where a one-client batch put's time goes: ringside bench --timeline");
    match ringside::timeline(bin, &s.seconds1.to_string(), work) {
        Ok(lines) => {
            for l in lines {
                report.note(l);
            }
        }
        Err(e) => report.note(format!(
            "timeline of a 1-client batch put: not measured: {e}"
        )),
    }

    let records = o.records;
    let mut runs = Vec::new();
    for run in 1..=REPLAY_RUNS {
        step(&format!(
            "commit-log replay and memory, run {run} of {REPLAY_RUNS}: {records} records, {records} keys of 100 bytes"
        ));
        match replay::replay_and_memory(bin, records, work) {
            Ok(r) => runs.push(r),
            Err(e) => report.note(format!("replay/memory, run {run}: not measured: {e}")),
        }
    }
    if !runs.is_empty() {
        report.median_row(
            "commit-log replay (records/s)".into(),
            ">= 3,000,000",
            &runs,
            |r| (r.rate, r.line.clone()),
        );
        report.median_row(
            format!("node serving {records}-record log, seconds from start"),
            "<= 2",
            &runs,
            |r| {
                let how = "from spawning `ringside node` until it answers a get";
                (r.serve_s, format!("{:.3} s {how}", r.serve_s))
            },
        );
        report.median_row(
            format!("node stopping, holding {records} keys, seconds"),
            "none, reported",
            &runs,
            |r| match r.stop_s {
                Some(s) => (s, format!("{s:.3} s from SIGTERM until the process exited")),
                None => (f64::NAN, "it did not stop within 30 s".into()),
            },
        );
        report.median_row(
            format!("node resident memory per key, holding {records} keys (B)"),
            "<= 160",
            &runs,
            |r| {
                let mb = r.rss_kb as f64 / 1024.0;
                (
                    r.bytes_per_key(),
                    format!("VmRSS {} kB ({mb:.1} MB) ÷ {records} keys", r.rss_kb),
                )
            },
        );
    }

    if o.no_web {
        report.note("web bundle and wasm simulator: skipped (--no-web)".into());
        return Ok(report);
    }
    step("web bundle size (trunk release build)");
    match web::web_bundle() {
        Ok((raw, gz, dir)) => report.row(
            "web bundle, wasm + js, gzipped (KB)".into(),
            gz as f64 / 1024.0,
            "<= 600",
            format!("{} KB raw, {} KB gzipped, in {dir}", raw / 1024, gz / 1024),
        ),
        Err(e) => report.note(format!("web bundle: not measured: {e}")),
    }
    // Its own length, not a bench phase's: three rounds of a page run
    // of 6 s between native runs of 3 s.
    web::wasm_sim_bench(bin, if o.quick { 2 } else { 6 }, 3, &mut report);
    Ok(report)
}

/// `--curve`'s sizes: positive record counts, comma-separated.
fn parse_sizes(list: &str) -> Result<Vec<u64>, String> {
    list.split(',')
        .map(|n| match n.trim().replace('_', "").parse::<u64>() {
            Ok(v) if v > 0 => Ok(v),
            _ => Err(format!(
                "--curve: {n:?} is not a positive number of records (e.g. 1000000,3000000)"
            )),
        })
        .collect()
}

/// Refuses what `cargo xtask bench` does not take: an unknown option, or
/// one that takes a value without it.
fn check_args(args: &[String]) -> Result<(), String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" | "--seconds" | "--clients" | "--records" => {
                if it.next().is_none() {
                    return Err(format!("{a} needs a number (cargo xtask bench --help)"));
                }
            }
            "--curve" => {
                if it.next().is_none() {
                    return Err(
                        "--curve needs sizes, such as 1000000,3000000,10000000 (cargo xtask bench --help)"
                            .into(),
                    );
                }
            }
            "--no-web" | "--quick" | "--help" | "-h" => {}
            _ => {
                return Err(format!(
                    "unknown option {a:?} for cargo xtask bench (cargo xtask bench --help)"
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn unknown_or_incomplete_options_are_refused() {
        assert!(check_args(&args(&["--rounds", "5", "--quick", "--no-web"])).is_ok());
        let e = check_args(&args(&["--round", "5"])).unwrap_err();
        assert!(e.contains("\"--round\""), "{e}");
        let e = check_args(&args(&["--quick", "--seconds"])).unwrap_err();
        assert!(e.contains("--seconds needs a number"), "{e}");
        let e = Options::parse(&args(&["--rounds", "many"])).err().unwrap();
        assert!(e.contains("--rounds: expected a number"), "{e}");
    }

    #[test]
    fn curve_sizes_are_positive_counts() {
        let o = Options::parse(&args(&["--curve", "1000000,3_000_000"])).unwrap();
        assert_eq!(o.curve, Some(vec![1_000_000, 3_000_000]));
        let e = Options::parse(&args(&["--curve", "1000000,lots"]))
            .err()
            .unwrap();
        assert!(e.contains("\"lots\" is not a positive number"), "{e}");
        let e = Options::parse(&args(&["--curve", "0"])).err().unwrap();
        assert!(e.contains("\"0\""), "{e}");
        let e = check_args(&args(&["--curve"])).unwrap_err();
        assert!(e.contains("--curve needs sizes"), "{e}");
    }

    #[test]
    fn quick_is_fewer_and_shorter_rounds() {
        let q = Options::parse(&args(&["--quick"])).unwrap();
        let full = Options::parse(&args(&[])).unwrap();
        assert!(q.rounds < full.rounds && q.rounds1 < full.rounds1);
        assert!(q.settings.seconds < full.settings.seconds);
        assert!(q.records < full.records);
        // Enough rounds for a median and a spread.
        assert!(q.rounds >= 3 && q.rounds1 >= 3);
        assert_eq!(full.settings.seconds1, 2);
        assert_eq!(q.settings.seconds1, 1);
    }
}
