//! `ringside sim`: the core simulator, headless. Runs a seeded scenario and
//! prints each node's state and the checker's verdict; writes the event
//! trace for the web UI; sweeps many seeds; measures simulator speed.

use crate::tools::bench::whole_rate;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ringside_core::sim::workload::{random_run, RunOptions};
use ringside_core::sim::Sim;
use ringside_core::TraceEntry;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Options of `ringside sim`.
#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    /// The seed: the same seed gives the same run, event for event.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Nodes in the simulated cluster.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub nodes: u64,
    /// Client requests to run.
    #[arg(long, default_value_t = 60)]
    pub ops: usize,
    /// Inject faults: crashes, restarts, partitions, drops, delays, clock skew.
    #[arg(long)]
    pub faults: bool,
    /// Keys are drawn from 0..KEYS (fewer keys, more conflicts).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..))]
    pub keys: u8,
    /// Simulated milliseconds the cluster settles after the faults stop
    /// (at most an hour).
    #[arg(long, default_value_t = 8_000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub settle_ms: u64,
    /// Write the event trace as JSON lines (one core::event::TraceEntry per
    /// line) for the web UI to replay.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Check many seeds (SEED, SEED+1, ...) and report the first violations.
    #[arg(long, value_name = "N", conflicts_with_all = ["trace", "bench"])]
    pub sweep: Option<u64>,
    /// Measure simulated messages per second (natively).
    #[arg(long, conflicts_with = "trace")]
    pub bench: bool,
    /// With --bench: seconds to run.
    #[arg(long, default_value_t = 5.0)]
    pub bench_seconds: f64,
}

impl SimArgs {
    fn options(&self) -> RunOptions {
        RunOptions {
            nodes: self.nodes as usize,
            ops: self.ops,
            faults: self.faults,
            keys: self.keys,
            settle_ms: self.settle_ms,
            trace: self.trace.is_some(),
        }
    }
}

/// Runs `ringside sim`; the exit code is 0 when every property held.
pub fn run(args: SimArgs) -> i32 {
    keep_freed_memory();
    if args.bench {
        return bench(&args);
    }
    if let Some(n) = args.sweep {
        return sweep(&args, n);
    }
    let opts = args.options();
    let (mut sim, report) = random_run(args.seed, &opts);
    println!(
        "seed {}: {} nodes, {} requests, {} faults, {:.3} s simulated, {} messages delivered, {} dropped",
        args.seed,
        opts.nodes,
        opts.ops,
        report.faults,
        report.end_us as f64 / 1e6,
        report.stats.delivered,
        report.stats.dropped
    );
    print_nodes(&sim);
    if let Some(path) = &args.trace {
        match write_trace(path, &sim.drain_trace()) {
            Ok(n) => println!("trace: {n} events written to {}", path.display()),
            Err(e) => {
                eprintln!("error: writing the trace to {}: {e}", path.display());
                return 2;
            }
        }
    }
    match &report.verdict {
        Ok(s) => {
            println!(
                "verdict: ok ({}) over {} requests: {} ok, {} unavailable, {} timeout, {} no reply",
                ringside_core::check::PROPERTIES.join(", "),
                s.ops,
                s.ok,
                s.unavailable,
                s.timeout,
                s.no_reply
            );
            0
        }
        Err(v) => {
            println!("verdict: VIOLATION {v}");
            println!("replay: {}", report.replay_command(&opts));
            1
        }
    }
}

fn print_nodes(sim: &Sim) {
    println!(
        "{:>4}  {:<5}  {:>5}  {:>5}  {:>7}",
        "node", "state", "keys", "hints", "records"
    );
    for id in sim.node_ids() {
        let records = sim.disk(id).len();
        match sim.node(id) {
            Some(n) => println!(
                "{:>4}  {:<5}  {:>5}  {:>5}  {:>7}",
                id,
                "up",
                n.data().len(),
                n.hint_count(),
                records
            ),
            None => println!(
                "{:>4}  {:<5}  {:>5}  {:>5}  {:>7}",
                id, "down", "-", "-", records
            ),
        }
    }
}

fn write_trace(path: &PathBuf, trace: &[TraceEntry]) -> std::io::Result<usize> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    for e in trace {
        serde_json::to_writer(&mut w, e)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(trace.len())
}

fn sweep(args: &SimArgs, n: u64) -> i32 {
    let opts = RunOptions {
        faults: true,
        ..args.options()
    };
    let started = Instant::now();
    let mut failures = 0u64;
    let mut ops = 0usize;
    let mut faults = 0usize;
    let bar = ProgressBar::new(n);
    if let Ok(style) =
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} seeds, {msg}, {rate} seeds/s")
    {
        bar.set_style(style.progress_chars("#>.").with_key("rate", whole_rate));
    }
    bar.set_message("0 violations");
    for seed in args.seed..args.seed.saturating_add(n) {
        let (_, report) = random_run(seed, &opts);
        faults += report.faults;
        match &report.verdict {
            Ok(s) => ops += s.ops,
            Err(v) => {
                failures += 1;
                bar.set_message(format!("{failures} violations"));
                bar.suspend(|| {
                    eprintln!(
                        "seed {seed}: {v}\n  replay: {}",
                        report.replay_command(&opts)
                    )
                });
                if failures >= 10 {
                    bar.suspend(|| eprintln!("stopping after 10 violations"));
                    break;
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "sweep: {n} seeds from {}, {ops} requests, {faults} faults, {failures} violations, {:.1} s",
        args.seed,
        started.elapsed().as_secs_f64()
    );
    i32::from(failures > 0)
}

/// Each simulated run builds a whole cluster and drops it. With glibc's
/// default, adaptive thresholds, the memory a run freed was often given
/// back to the OS (the heap's top trimmed, large blocks unmapped) and
/// faulted in again by the next run, a page fault per 4 KiB: whether it
/// was depended on which large block happened to be freed first, so the
/// same bench ran at two speeds from one process to the next, the slow
/// one spending much of its time in page faults. Fixed, high thresholds
/// keep the memory for the next run. Only the simulator's command: a
/// node holds what it allocates for as long as it runs, and gives back
/// what a replay or a compaction used.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's parameters; it is called
    // before this command allocates from other threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

fn bench(args: &SimArgs) -> i32 {
    let opts = RunOptions {
        trace: false,
        ops: args.ops.max(200),
        ..args.options()
    };
    let started = Instant::now();
    let mut delivered = 0u64;
    let mut steps = 0u64;
    let mut runs = 0u64;
    let mut seed = args.seed;
    while started.elapsed().as_secs_f64() < args.bench_seconds {
        let (_, report) = random_run(seed, &opts);
        delivered += report.stats.delivered;
        steps += report.stats.steps;
        runs += 1;
        seed += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "sim bench (native): {:.0} simulated messages/s ({delivered} messages, {steps} events, {runs} runs of {} requests on {} nodes, {secs:.2} s)",
        delivered as f64 / secs,
        opts.ops,
        opts.nodes
    );
    0
}
