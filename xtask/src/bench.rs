//! `cargo xtask bench`: ringside beside redis, in one run on one machine,
//! and the ratios of the performance issue.
//!
//! 1. Rounds of `ringside bench` (release build) on its own 4-node
//!    cluster, QUORUM puts and gets with periodic and with batch sync,
//!    each beside `redis-benchmark` against a local `redis-server` with
//!    persistence off (on a free port, started once and stopped by its
//!    pid) at the same concurrency and value size: 5 rounds at 32
//!    connections, 7 shorter ones at one connection. Every other round
//!    runs redis first. Each ratio is taken within a round, and the row
//!    gives the median round and every round's ratio: the machine drifts
//!    by tens of percent within minutes, and a ratio of two figures
//!    measured minutes apart drifts with it.
//! 2. Beside the one-connection figures, their floor on this machine:
//!    two durable writes one after the other (a QUORUM write waits for
//!    the coordinator's and a replica's, and here they share one disk),
//!    each timed on the file system the bench's cluster keeps its logs on
//!    (the temporary directory) the way the commit log writes (a direct
//!    synchronous write; also write + fdatasync), plus two loopback TCP
//!    round trips.
//!    And `ringside bench --timeline`: where one client's batch-sync put
//!    spends its time, step by step across the nodes.
//! 3. Commit-log replay: a 1M-record log written by `ringside bench
//!    --write-log`, and the time a node takes from start to serving it;
//!    the same node's resident memory (VmRSS) holding those 1M keys.
//! 4. The web bundle's size (wasm + js of a trunk release build, raw and
//!    gzipped).
//! 5. The core simulator as wasm in headless Chromium (the page's
//!    `?simbench`) against `ringside sim --bench`, native, run in two
//!    halves before and after the page's.
//!
//! Figures drift on a small shared machine; the ratios, measured in the
//! same run, are what to compare with the targets.

use super::{cargo, find_exe, flag, is_root, run as run_cmd, step, trunk_build};
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HELP: &str = "\
cargo xtask bench [--rounds R] [--seconds S] [--clients N] [--records N] [--no-web] [--quick]

  --rounds R     rounds of ringside beside redis at N clients (default 5); one
                 client gets R + 2 rounds of shorter phases. Each ratio is the
                 median of its rounds' ratios.
  --seconds S    length of each ringside bench phase at N clients (default 5;
                 at one client 2 S / 5)
  --clients N    concurrent connections for ringside and redis (default 32)
  --records N    commit-log records for the replay and memory figures (default 1000000)
  --no-web       skip the web bundle size and the wasm simulator
  --quick        1 round of 2-second phases and 100,000 records (a smoke run)";

pub fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{HELP}");
        return Ok(());
    }
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
    let rounds = num("--rounds", if quick { 1 } else { 5 })?.max(1);
    let seconds = num("--seconds", if quick { 2 } else { 5 })?.max(1);
    let clients = num("--clients", 32)?.max(1);
    let records = num("--records", if quick { 100_000 } else { 1_000_000 })?.max(1);
    let no_web = args.iter().any(|a| a == "--no-web");

    step("build ringside (release)");
    run_cmd(cargo().args([
        "build",
        "--release",
        "-p",
        "ringside-native",
        "--bin",
        "ringside",
    ]))?;
    let bin = PathBuf::from("target/release/ringside");
    let mut report = Report::default();

    // Rounds: ringside, then redis (every other round redis first), each
    // ratio taken within its round and the median of them reported, so
    // that the machine drifting between phases moves both sides of a
    // ratio alike. redis runs on while ringside does, idle.
    let redis = RedisServer::start()?;
    let c = clients.to_string();
    let s = seconds.to_string();
    let s1 = (seconds * 2 / 5).max(1).to_string();
    let redis_n = 20_000 * seconds;
    let mut many: Vec<Round> = vec![];
    for r in 0..rounds {
        step(&format!(
            "round {} of {rounds}: ringside bench (4 nodes, {clients} clients, QUORUM, 100-byte values) and redis-benchmark",
            r + 1
        ));
        many.push(Round::run(
            &bin,
            &redis,
            r % 2 == 1,
            clients,
            redis_n,
            &|sync| vec!["--clients", &c, "--seconds", &s, "--sync", sync],
        )?);
    }
    let rounds1 = rounds + 2;
    let mut single: Vec<Round> = vec![];
    for r in 0..rounds1 {
        step(&format!(
            "round {} of {rounds1}: ringside bench and redis-benchmark, 1 client",
            r + 1
        ));
        single.push(Round::run(&bin, &redis, r % 2 == 1, 1, 10_000, &|sync| {
            vec!["--clients", "1", "--seconds", &s1, "--sync", sync]
        })?);
    }
    drop(redis);

    step(
        "the floor of one batch-sync put: a durable write on the logs' file system, loopback round trips",
    );
    let floor = latency_floor(if quick { 300 } else { 1000 });
    step("where a one-client batch put's time goes: ringside bench --timeline");
    let timeline = timeline(&bin, &s1);

    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    // Throughput rows: (row, target, ringside's figure and redis's, units).
    type Pick = fn(&Round) -> (f64, f64);
    let throughput: [(String, &'static str, Pick, [&str; 2]); 3] = [
        (
            format!("QUORUM put, 4 nodes, {clients} clients, periodic sync ÷ redis SET"),
            ">= 0.25",
            |r| (r.periodic.put.ops_per_s, r.redis.set_rps),
            ["puts/s", "SET/s"],
        ),
        (
            format!("QUORUM put, {clients} clients, batch sync (group commit) ÷ redis SET"),
            ">= 0.15",
            |r| (r.batch.put.ops_per_s, r.redis.set_rps),
            ["puts/s", "SET/s"],
        ),
        (
            format!("QUORUM get, {clients} clients ÷ redis GET"),
            ">= 0.3",
            |r| (r.batch.get.ops_per_s, r.redis.get_rps),
            ["gets/s", "GET/s"],
        ),
    ];
    let mut at = vec![];
    for (what, target, pick, [ours, theirs]) in throughput {
        at.push(report.median_row(what, target, &many, |r| {
            let (a, b) = pick(r);
            (ratio(a, b), format!("{a:.0} {ours} ÷ {b:.0} {theirs}"))
        }));
    }
    let (periodic, batch) = (&many[at[0]], &many[at[1]]);
    let mut medians = vec![];
    for (sync, also, pick) in [
        (
            "batch sync (ack after fsync)",
            "",
            (|r: &Round| &r.batch) as fn(&Round) -> &BenchFigures,
        ),
        (
            "periodic sync",
            " (no fsync waited for in either)",
            |r: &Round| &r.periodic,
        ),
    ] {
        medians.push(report.median_row(
            format!("single-client QUORUM put p50, {sync} ÷ redis SET p50, 1 client{also}"),
            "<= 5",
            &single,
            |r| {
                let p50 = pick(r).put.p50_us / 1000.0;
                (
                    ratio(p50, r.redis.set_p50_ms),
                    format!("{p50:.3} ms ÷ {:.3} ms", r.redis.set_p50_ms),
                )
            },
        ));
    }
    let single_batch = &single[medians[0]];
    let single_periodic = &single[medians[1]];
    let plural = |n: u64| if n == 1 { "round" } else { "rounds" };
    report.note(format!(
        "{rounds} {} of {seconds}-second phases at {clients} clients, {rounds1} {} of {s1}-second phases at 1 client; the figures below are from each row's median round",
        plural(rounds),
        plural(rounds1)
    ));
    for (name, f) in [
        ("periodic:", &periodic.periodic),
        ("batch:   ", &batch.batch),
    ] {
        report.note(format!(
            "ringside {name} put {:.0}/s p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms; get {:.0}/s p50 {:.2} ms p99 {:.2} ms",
            f.put.ops_per_s,
            f.put.p50_us / 1e3,
            f.put.p99_us / 1e3,
            f.put.p999_us / 1e3,
            f.get.ops_per_s,
            f.get.p50_us / 1e3,
            f.get.p99_us / 1e3
        ));
    }
    for (name, f) in [
        ("batch", &single_batch.batch),
        ("periodic", &single_periodic.periodic),
    ] {
        report.note(format!(
            "ringside 1 client ({name}): put {:.0}/s p50 {:.3} ms p99 {:.2} ms; get {:.0}/s p50 {:.3} ms p99 {:.2} ms",
            f.put.ops_per_s,
            f.put.p50_us / 1e3,
            f.put.p99_us / 1e3,
            f.get.ops_per_s,
            f.get.p50_us / 1e3,
            f.get.p99_us / 1e3
        ));
    }
    report.note(format!(
        "redis: SET {:.0}/s p50 {:.3} ms, GET {:.0}/s p50 {:.3} ms at {clients} clients; SET p50 {:.3} ms, GET p50 {:.3} ms at 1 client",
        batch.redis.set_rps,
        batch.redis.set_p50_ms,
        batch.redis.get_rps,
        batch.redis.get_p50_ms,
        single_batch.redis.set_p50_ms,
        single_batch.redis.get_p50_ms
    ));
    match &floor {
        Ok(f) => {
            let (sync_ms, how) = match f.direct_ms {
                Some(d) => (d, "direct synchronous writes"),
                None => (f.overwrite_ms, "fdatasyncs"),
            };
            // W = 2: the coordinator's write and a replica's, which on
            // one shared disk run one after the other.
            let floor_ms = 2.0 * sync_ms + 2.0 * f.rtt_ms;
            let direct = match f.direct_ms {
                Some(d) => format!("direct O_DSYNC write of a 4 KiB block p50 {d:.3} ms, as the commit log writes with batch sync; "),
                None => "direct writes refused; ".into(),
            };
            report.note(format!(
                "floor of a 1-client batch put: two {how} one after the other (a QUORUM write waits for two, on one disk here) + 2 loopback round trips = {floor_ms:.3} ms, {:.1}x redis's SET p50 (on {} ({}): {direct}write + fdatasync p50 {:.3} ms over zeros written ahead, {:.3} ms appending; loopback TCP round trip p50 {:.3} ms); the put's p50 is {:.1}x that",
                floor_ms / single_batch.redis.set_p50_ms,
                f.dir,
                f.fs,
                f.overwrite_ms,
                f.append_ms,
                f.rtt_ms,
                single_batch.batch.put.p50_us / 1e3 / floor_ms
            ))
        }
        Err(e) => report.note(format!("floor of a 1-client batch put: not measured: {e}")),
    }
    if let Ok(f) = &floor {
        if matches!(f.fs.as_str(), "tmpfs" | "ramfs") {
            report.note(format!(
                "warning: {} is {}: fsync costs nothing there, unlike on a real disk; set TMPDIR to a directory on one",
                f.dir, f.fs
            ));
        }
    }
    match timeline {
        Ok(lines) => {
            for l in lines {
                report.note(l);
            }
        }
        Err(e) => report.note(format!(
            "timeline of a 1-client batch put: not measured: {e}"
        )),
    }

    step(&format!(
        "commit-log replay and memory: {records} records, {records} keys of 100 bytes"
    ));
    match replay_and_memory(&bin, records) {
        Ok((rate, serve_s, rss_kb, line)) => {
            report.row(
                "commit-log replay (records/s)".into(),
                rate,
                ">= 1,000,000",
                line,
            );
            report.row(
                format!("node serving {records}-record log, seconds from start"),
                serve_s,
                "<= 2",
                "from spawning `ringside node` until it answers a get".into(),
            );
            report.row(
                format!("node resident memory holding {records} keys (MB)"),
                rss_kb as f64 / 1024.0,
                "<= 400",
                format!("VmRSS {rss_kb} kB"),
            );
        }
        Err(e) => report.note(format!("replay/memory: not measured: {e}")),
    }

    if no_web {
        report.note("web bundle: skipped (--no-web)".into());
    } else {
        step("web bundle size (trunk release build)");
        match web_bundle() {
            Ok((raw, gz, dir)) => report.row(
                "web bundle, wasm + js, gzipped (KB)".into(),
                gz as f64 / 1024.0,
                "<= 600",
                format!("{} KB raw, {} KB gzipped, in {dir}", raw / 1024, gz / 1024),
            ),
            Err(e) => report.note(format!("web bundle: not measured: {e}")),
        }
    }
    if !no_web {
        // Its own length, not a bench phase's: the figures the README
        // compares were taken over 10 s.
        wasm_sim_bench(&bin, if quick { 3 } else { 10 }, &mut report);
    }
    match fs::read_to_string("target/sim-bench-wasm.txt") {
        _ if no_web => report.note("wasm simulator in Chromium: skipped (--no-web)".into()),
        Ok(t) => report.note(format!("wasm simulator in Chromium ÷ native: {}", t.trim())),
        Err(_) => report.note(
            "wasm simulator in Chromium ÷ native: measured by the web tests (target/sim-bench-wasm.txt not found)"
                .into(),
        ),
    }

    let text = report.render();
    step("results");
    println!("{text}");
    let _ = fs::write("target/bench-report.txt", &text);
    println!("(also written to target/bench-report.txt)");
    Ok(())
}

#[derive(Default)]
struct Report {
    rows: Vec<(String, f64, &'static str, String)>,
    notes: Vec<String>,
}

impl Report {
    fn row(&mut self, what: String, value: f64, target: &'static str, raw: String) {
        self.rows.push((what, value, target, raw));
    }
    fn note(&mut self, n: String) {
        self.notes.push(n);
    }
    /// A row whose value is the median over `rounds` of `of(round)`'s
    /// ratio; its raw figures are the median round's, then every round's
    /// ratio. Returns the median round's index.
    fn median_row(
        &mut self,
        what: String,
        target: &'static str,
        rounds: &[Round],
        of: impl Fn(&Round) -> (f64, String),
    ) -> usize {
        let all: Vec<(f64, String)> = rounds.iter().map(of).collect();
        let values: Vec<f64> = all.iter().map(|a| a.0).collect();
        let m = median_index(&values);
        let raw = if all.len() == 1 {
            all[m].1.clone()
        } else {
            let each: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
            format!(
                "median round: {}; each round: {}",
                all[m].1,
                each.join(", ")
            )
        };
        self.row(what, values[m], target, raw);
        m
    }
    fn render(&self) -> String {
        let mut out = String::new();
        let w = self
            .rows
            .iter()
            .map(|r| r.0.chars().count())
            .max()
            .unwrap_or(0);
        for (what, value, target, raw) in &self.rows {
            let v = if value.abs() >= 1000.0 {
                format!("{value:.0}")
            } else {
                format!("{value:.3}")
            };
            let pad = w - what.chars().count();
            out.push_str(&format!(
                "{what}{}  {v:>10}  (target {target})  [{raw}]\n",
                " ".repeat(pad)
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("  {n}\n"));
        }
        out
    }
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

/// The index of the median of `values` (of the lower middle one for an
/// even count; NaN sorts last).
fn median_index(values: &[f64]) -> usize {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order[values.len().saturating_sub(1) / 2]
}

/// One round: ringside with periodic and with batch sync, and redis, at
/// the same concurrency, one after the other.
struct Round {
    periodic: BenchFigures,
    batch: BenchFigures,
    redis: RedisFigures,
}

impl Round {
    /// Runs ringside (`args(sync)` for each policy) and then redis with
    /// `clients` connections and `redis_n` requests per test, or redis
    /// first.
    fn run<'a>(
        bin: &Path,
        redis: &RedisServer,
        redis_first: bool,
        clients: u64,
        redis_n: u64,
        args: &dyn Fn(&'static str) -> Vec<&'a str>,
    ) -> Result<Round, String> {
        let mut theirs = None;
        if redis_first {
            theirs = Some(redis.bench(clients, redis_n)?);
        }
        let periodic = ringside_bench(bin, &args("periodic"))?;
        let batch = ringside_bench(bin, &args("batch"))?;
        let redis = match theirs {
            Some(r) => r,
            None => redis.bench(clients, redis_n)?,
        };
        Ok(Round {
            periodic,
            batch,
            redis,
        })
    }
}

#[derive(Default, Clone, Copy)]
struct OpFigures {
    ops_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
}

struct BenchFigures {
    put: OpFigures,
    get: OpFigures,
}

/// `ringside bench --timeline` of one client's batch-sync puts: its
/// breakdown lines, each step's time across the nodes.
fn timeline(bin: &Path, seconds: &str) -> Result<Vec<String>, String> {
    let text = run_ringside_bench(
        bin,
        &[
            "--clients",
            "1",
            "--seconds",
            seconds,
            "--sync",
            "batch",
            "--mix",
            "100",
            "--timeline",
        ],
    )?;
    let lines: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("timeline: "))
        .map(|l| l.trim_end().to_string())
        .collect();
    if lines.is_empty() {
        return Err(format!("no timeline in {text}"));
    }
    Ok(lines)
}

/// Runs `ringside bench ARGS`, shows the command and what it printed,
/// and returns its standard output.
fn run_ringside_bench(bin: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(bin);
    cmd.arg("bench").args(args);
    println!("$ {}", super::show(&cmd));
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!("ringside bench failed ({}): {text}", out.status));
    }
    println!("{}", text.trim_end());
    Ok(text)
}

/// Runs `ringside bench --json ARGS` and reads its figures.
fn ringside_bench(bin: &Path, args: &[&str]) -> Result<BenchFigures, String> {
    let mut all = args.to_vec();
    all.push("--json");
    let text = run_ringside_bench(bin, &all)?;
    let op = |name: &str| -> Result<OpFigures, String> {
        let at = text
            .find(&format!("\"op\":\"{name}\""))
            .ok_or_else(|| format!("no {name} phase in {text}"))?;
        let obj = &text[at..];
        let obj = &obj[..obj.find('}').unwrap_or(obj.len())];
        let failed = number(obj, "failed").unwrap_or(0.0);
        if failed > 0.0 {
            println!("   note: {failed} {name}s failed");
        }
        Ok(OpFigures {
            ops_per_s: number(obj, "ops_per_s").unwrap_or(0.0),
            p50_us: number(obj, "p50_us").unwrap_or(0.0),
            p99_us: number(obj, "p99_us").unwrap_or(0.0),
            p999_us: number(obj, "p999_us").unwrap_or(0.0),
        })
    };
    Ok(BenchFigures {
        put: op("put")?,
        get: op("get")?,
    })
}

/// The number after `"name":` in a flat JSON object's text.
fn number(obj: &str, name: &str) -> Option<f64> {
    let key = format!("\"{name}\":");
    let rest = &obj[obj.find(&key)? + key.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// One redis-benchmark run of SET and GET.
struct RedisFigures {
    set_rps: f64,
    set_p50_ms: f64,
    get_rps: f64,
    get_p50_ms: f64,
}

/// A redis-server we started with persistence off, on a free port;
/// stopped (by its pid) when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RedisServer {
    /// Installs Debian's redis-server and redis-tools if missing (as
    /// root), starts the server and waits until it listens.
    fn start() -> Result<RedisServer, String> {
        if find_exe(&["redis-server"]).is_none() || find_exe(&["redis-benchmark"]).is_none() {
            if !is_root() {
                return Err(
                    "redis-server and redis-benchmark are missing; install Debian's redis-server and redis-tools"
                        .into(),
                );
            }
            run_cmd(Command::new("apt-get").args([
                "install",
                "-y",
                "redis-server",
                "redis-tools",
            ]))?;
        }
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free port: {e}"))?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let server = RedisServer { child, port };
        println!(
            "redis-server pid {} on 127.0.0.1:{port} (persistence off)",
            server.child.id()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// SET and GET of 100-byte values from `clients` connections, `n`
    /// requests each.
    fn bench(&self, clients: u64, n: u64) -> Result<RedisFigures, String> {
        let (p, c, n) = (self.port.to_string(), clients.to_string(), n.to_string());
        let rows = redis_benchmark(&["-p", &p, "-c", &c, "-n", &n, "-d", "100", "-t", "set,get"])?;
        let find = |t: &str| {
            rows.iter()
                .find(|r| r.0 == t)
                .map(|r| (r.1, r.2))
                .ok_or_else(|| format!("redis-benchmark printed no {t} row"))
        };
        let (set_rps, set_p50_ms) = find("SET")?;
        let (get_rps, get_p50_ms) = find("GET")?;
        Ok(RedisFigures {
            set_rps,
            set_p50_ms,
            get_rps,
            get_p50_ms,
        })
    }
}

/// Runs redis-benchmark with `--csv`; (test, rps, p50 ms) per row.
fn redis_benchmark(args: &[&str]) -> Result<Vec<(String, f64, f64)>, String> {
    let mut cmd = Command::new("redis-benchmark");
    cmd.args(args).arg("--csv");
    println!("$ {}", super::show(&cmd));
    let out = cmd
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run redis-benchmark: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!("redis-benchmark failed: {text}"));
    }
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
    let mut rows = vec![];
    for line in text.lines() {
        println!("   {line}");
        let f: Vec<&str> = line.split(',').map(|x| x.trim_matches('"')).collect();
        if f.len() >= 5 {
            if let (Ok(rps), Ok(p50)) = (f[1].parse::<f64>(), f[4].parse::<f64>()) {
                rows.push((f[0].to_string(), rps, p50));
            }
        }
    }
    Ok(rows)
}

/// What bounds a one-client batch-sync put from below on this machine.
struct Floor {
    /// Where it was measured: the directory `ringside bench` makes its
    /// cluster in, and that directory's file system type.
    dir: String,
    fs: String,
    /// p50 of one direct synchronous write (`O_DIRECT | O_DSYNC`) of a
    /// 4 KiB block holding a 124-byte record (a put's size) over zeros
    /// already on disk, as the commit log does with batch sync; `None`
    /// where the file system refuses direct writes.
    direct_ms: Option<f64>,
    /// p50 of one `fdatasync` after writing the record over zeros (the
    /// log's way where direct writes are refused).
    overwrite_ms: f64,
    /// The same, appending to the file (the log's old way).
    append_ms: f64,
    /// p50 of a loopback TCP round trip of 124 bytes, Nagle off.
    rtt_ms: f64,
}

/// Measures [`Floor`]: `n` fdatasyncs each way in the temporary directory
/// (where `ringside bench` puts its cluster), then `n` loopback round trips.
fn latency_floor(n: usize) -> Result<Floor, String> {
    use std::io::{Read, Write};
    use std::os::unix::fs::FileExt;
    let dir = std::env::temp_dir();
    let dir = fs::canonicalize(&dir).unwrap_or(dir);
    let path = dir.join(format!("ringside-xtask-fsync-{}", std::process::id()));
    let p50 = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let record = [0x5au8; 124];
    let timed = |append: bool| -> Result<f64, String> {
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let io = |e: std::io::Error| format!("{}: {e}", path.display());
        if !append {
            f.write_all_at(&vec![0u8; (n + 1) * record.len()], 0)
                .map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            f.write_all_at(&record, (i * record.len()) as u64)
                .map_err(io)?;
            let t = Instant::now();
            f.sync_data().map_err(io)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(p50(times))
    };
    let direct = || -> Result<Option<f64>, String> {
        use std::os::unix::fs::OpenOptionsExt;
        #[repr(C, align(4096))]
        struct Block([u8; 4096]);
        let io = |e: std::io::Error| format!("{}: {e}", path.display());
        fs::write(&path, vec![0u8; (n + 1) * 4096]).map_err(io)?;
        fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        let f = match fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT | libc::O_DSYNC)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let mut block = Box::new(Block([0; 4096]));
        block.0[..record.len()].copy_from_slice(&record);
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            let t = Instant::now();
            f.write_all_at(&block.0, (i * 4096) as u64).map_err(io)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(Some(p50(times)))
    };
    let result = timed(false).and_then(|o| Ok((o, timed(true)?, direct()?)));
    let _ = fs::remove_file(&path);
    let (overwrite_ms, append_ms, direct_ms) = result?;

    let listener =
        TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("no loopback port: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let echo = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 124];
            while s.read_exact(&mut buf).is_ok() && s.write_all(&buf).is_ok() {}
        }
    });
    let mut c = TcpStream::connect(addr).map_err(|e| format!("loopback connect: {e}"))?;
    let _ = c.set_nodelay(true);
    let mut buf = record;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n.max(1000) {
        let t = Instant::now();
        c.write_all(&buf)
            .and_then(|()| c.read_exact(&mut buf))
            .map_err(|e| format!("loopback round trip: {e}"))?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    drop(c);
    let _ = echo.join();
    Ok(Floor {
        fs: fs_type(&dir),
        dir: dir.display().to_string(),
        direct_ms,
        overwrite_ms,
        append_ms,
        rtt_ms: p50(times),
    })
}

/// The type of the file system holding `dir` (ext4, tmpfs, ...), from
/// /proc/self/mountinfo: the mount point that is the longest prefix.
fn fs_type(dir: &Path) -> String {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return "file system unknown".into();
    };
    info.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mount = left.split(' ').nth(4)?;
            let fs = right.split(' ').next()?;
            dir.starts_with(mount)
                .then(|| (mount.len(), fs.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
        .unwrap_or_else(|| "file system unknown".into())
}

/// Writes a log of `records` distinct keys, starts one node on it, and
/// returns (records/s replayed, seconds until serving, VmRSS kB, details).
fn replay_and_memory(bin: &Path, records: u64) -> Result<(f64, f64, u64, String), String> {
    let dir = std::env::temp_dir().join(format!("ringside-xtask-replay-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = replay_in(bin, &dir, records);
    let _ = fs::remove_dir_all(&dir);
    result
}

/// A node we started; killed (by its pid) when dropped.
struct NodeProcess(Child);

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn replay_in(bin: &Path, dir: &Path, records: u64) -> Result<(f64, f64, u64, String), String> {
    let r = records.to_string();
    let node_dir = dir.join("node-0");
    let mut write = Command::new(bin);
    write.args(["bench", "--write-log"]).arg(&node_dir).args([
        "--records",
        &r,
        "--keys",
        &r,
        "--value-bytes",
        "100",
    ]);
    run_cmd(&mut write)?;
    // One node, started directly: `cluster up` waits with `inspect`, which
    // for a million keys is a reply of 150 MB; a `get` says it serves.
    let port = super::free_ports_from(21_000, 1);
    let addr = format!("127.0.0.1:{port}");
    let cluster = dir.join("cluster.toml");
    fs::write(
        &cluster,
        format!("secret = \"xtask-bench-replay-secret\"\n[[node]]\nid = 0\naddr = \"{addr}\"\n"),
    )
    .map_err(|e| format!("cannot write {}: {e}", cluster.display()))?;
    let log_path = node_dir.join("node.log");
    let log =
        fs::File::create(&log_path).map_err(|e| format!("cannot create the node log: {e}"))?;
    let mut node = Command::new(bin);
    node.args(["node", "--id", "0", "--cluster"])
        .arg(&cluster)
        .arg("--data-dir")
        .arg(&node_dir)
        .stdout(Stdio::null())
        .stderr(log);
    println!("$ {}", super::show(&node));
    let started = Instant::now();
    let child = NodeProcess(
        node.spawn()
            .map_err(|e| format!("cannot start the node: {e}"))?,
    );
    let deadline = started + Duration::from_secs(60);
    loop {
        let ok = Command::new(bin)
            .args(["client", "--addr", &addr, "--exec", "get k1 one"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            break;
        }
        if Instant::now() > deadline {
            return Err("the node did not answer a get within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let serve_s = started.elapsed().as_secs_f64();
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    let line = text
        .lines()
        .find(|l| l.contains(" replayed ") && l.contains("records/s"))
        .ok_or("the node's log has no replay line")?;
    println!("   {line}");
    let rate = line
        .rsplit_once('(')
        .and_then(|(_, r)| r.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or_else(|| format!("cannot read the rate in {line:?}"))?;
    let ms = line
        .split(" in ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("?");
    let pid = child.0.id();
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read the node's /proc status: {e}"))?;
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("no VmRSS in /proc status")?;
    println!("   node pid {pid} VmRSS {rss_kb} kB; answered a get {serve_s:.2} s after start");
    drop(child);
    Ok((
        rate,
        serve_s,
        rss_kb,
        format!("{records} records replayed in {ms} ms"),
    ))
}

/// (raw bytes, gzipped bytes, dir) of the wasm and js of a fresh `trunk
/// build --release` (not `dist/`, which `trunk serve` fills with a debug
/// build).
fn web_bundle() -> Result<(u64, u64, String), String> {
    if find_exe(&["trunk"]).is_none() && !super::cargo_bin_dir().join("trunk").exists() {
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

// ----- the core simulator: wasm in headless Chromium beside native -----

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
fn wasm_sim_bench(bin: &Path, seconds: u64, report: &mut Report) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_round_is_the_middle_one_by_value() {
        assert_eq!(median_index(&[4.0]), 0);
        assert_eq!(median_index(&[5.1, 4.0, 4.9]), 2);
        assert_eq!(median_index(&[3.0, 1.0, 2.0, 9.0, 4.0]), 0);
        // An even count: the lower middle one.
        assert_eq!(median_index(&[2.0, 1.0, 4.0, 3.0]), 0);
        // A ratio that could not be taken (NaN) sorts last.
        assert_eq!(median_index(&[f64::NAN, 1.0, 2.0]), 2);
    }

    #[test]
    fn unknown_or_incomplete_options_are_refused() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_args(&args(&["--rounds", "5", "--quick", "--no-web"])).is_ok());
        let e = check_args(&args(&["--round", "5"])).unwrap_err();
        assert!(e.contains("\"--round\""), "{e}");
        let e = check_args(&args(&["--quick", "--seconds"])).unwrap_err();
        assert!(e.contains("--seconds needs a number"), "{e}");
    }
}
