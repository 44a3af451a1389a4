//! `ringside chaos`: a real local cluster under concurrent clients while a
//! seeded nemesis kills (SIGKILL), stops (SIGTERM), pauses (SIGSTOP),
//! resumes (SIGCONT) and restarts node processes at random. Every client
//! operation is recorded with its invocation and completion time into a
//! [`History`]; when the nemesis stops, every node is brought back, hints
//! drain and anti-entropy runs, every node's state is read with `inspect`
//! into a [`FinalState`], and [`ringside_core::check::check`] judges the
//! run (no invented values, quorum freshness, durability, convergence).
//!
//! The client workload ([`run_clients`]) and the settling phase
//! ([`settle`]) take plain addresses, so tests that place nodes elsewhere
//! (network namespaces) reuse them with a nemesis of their own.
//!
//! Built with the `clock-hook` feature (as the tests are), the nemesis
//! also steps a running node's wall clock forward or back
//! (`crate::node::clock_hook`); release builds have no such hook and do
//! not try.
//!
//! Processes are acted on by the pids the supervisor recorded, never by
//! name; paused pids are tracked and always resumed, also when the run
//! fails or panics ([`ChaosGuard`]).

mod settle;
mod workload;

pub use settle::{describe, final_state, inspect_all, settle, Settled};
pub use workload::{run_clients, spread_keys, Clients, WorkloadOptions};

use crate::cluster::signal::signal;
use crate::cluster::supervisor::{new_secret, write_private, Cluster, PidState};
use crate::cluster_file::ClusterFile;
use clap::Args;
use ringside_core::check::{check, Summary, Violation};
use ringside_core::sim::Rng;
use ringside_core::{NodeId, Ring};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Whether the nodes this binary runs have the clock hook (the
/// `clock-hook` feature): then the nemesis also steps clocks. Without it
/// the signals would kill the node, so they are never sent.
const CLOCK_HOOK: bool = cfg!(feature = "clock-hook");

/// How often `ringside chaos` moves its clients to fresh keys.
const KEY_ROTATION_S: u64 = 20;

/// Options of `ringside chaos`.
#[derive(Args, Debug, Clone)]
pub struct ChaosArgs {
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=16))]
    pub nodes: u64,
    /// Concurrent clients (each one request at a time, moving between coordinators).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub clients: u64,
    /// How long the nemesis and the clients run, in seconds (at most a
    /// day).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub seconds: u64,
    /// Seed of the nemesis's and the clients' choices (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keys the clients use at once (few keys: many conflicts); every 20 s
    /// they move to fresh ones, so long runs stay quick to check.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..))]
    pub keys: u8,
    /// Longest wait, in seconds, for hints to drain and replicas to agree
    /// once every node is back (at most a day).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub settle_seconds: u64,
    /// Where the cluster lives (a new temporary directory by default; kept
    /// when the run fails).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Faults injected, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub kill: usize,
    /// Kills of every node at once.
    pub kill_all: usize,
    pub stop: usize,
    pub pause: usize,
    /// Steps of a running node's wall clock, forward or back.
    pub clock_step: usize,
    pub resume: usize,
    pub restart: usize,
}

impl FaultCounts {
    /// Faults proper: kills (one node or all), stops, pauses and clock
    /// steps (resumes and restarts heal).
    pub fn faults(&self) -> usize {
        self.kill + self.kill_all + self.stop + self.pause + self.clock_step
    }
}

impl std::fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} faults (kill {}, kill all {}, stop {}, pause {}, clock step {}), healed by resume {}, restart {}",
            self.faults(),
            self.kill,
            self.kill_all,
            self.stop,
            self.pause,
            self.clock_step,
            self.resume,
            self.restart
        )
    }
}

/// Collects a child node process that was killed or stopped, so dead
/// nodes do not stay zombies of this process for the rest of a long run.
/// Blocking: `/proc` may stop showing the node before it is a zombie, so a
/// non-blocking wait could miss it. The pid was just sent SIGKILL or has
/// stopped, so the wait is short; a pid that is not our child (a node an
/// earlier `cluster up` started) gives ECHILD at once.
fn reap(pid: u32) {
    if let Ok(p) = libc::pid_t::try_from(pid) {
        // SAFETY: waitpid(2) on one specific positive pid, no status out.
        unsafe {
            libc::waitpid(p, std::ptr::null_mut(), 0);
        }
    }
}

/// Resumes every paused node and stops the cluster when dropped, so a
/// failed or panicking run leaves no stopped or running processes behind.
pub struct ChaosGuard {
    pub cluster: Cluster,
    /// Paused nodes: id -> pid.
    pub paused: Arc<Mutex<BTreeMap<NodeId, u32>>>,
    /// Set once cleaned up.
    pub done: Mutex<bool>,
}

impl ChaosGuard {
    /// SIGCONT every paused node.
    pub fn resume_all(&self) -> Vec<(NodeId, u32)> {
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        let resumed: Vec<(NodeId, u32)> = std::mem::take(&mut *paused).into_iter().collect();
        for &(_, pid) in &resumed {
            let _ = signal(pid, libc::SIGCONT);
        }
        resumed
    }
}

impl ChaosGuard {
    /// Resumes every paused node and stops the cluster; the second call
    /// does nothing.
    pub fn cleanup(&self) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        if !*done {
            *done = true;
            self.resume_all();
            let _ = self.cluster.down();
        }
    }
}

impl Drop for ChaosGuard {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// On SIGTERM or SIGINT, cleans up (resumes paused nodes, stops the
/// cluster) and exits with code 130, whatever the run was doing.
fn cleanup_on_signal(guard: Arc<ChaosGuard>) {
    let _ = std::thread::Builder::new()
        .name("chaos-signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut term), Ok(mut int)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) else {
                    return;
                };
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                println!("interrupted: resuming paused nodes and stopping the cluster");
                guard.cleanup();
                std::process::exit(130);
            });
        });
}

/// The nemesis: one fault or heal at a time, at random, by recorded pid.
struct Nemesis<'a> {
    guard: &'a ChaosGuard,
    ids: Vec<NodeId>,
    rng: Rng,
    down: BTreeSet<NodeId>,
    counts: FaultCounts,
    epoch: Instant,
    /// Nodes down or paused at most at once (a kill of every node goes
    /// past it; the nemesis then only heals until it is back under).
    max_faulty: usize,
    /// Half the run's time.
    halfway: Instant,
    errors: Vec<String>,
}

impl Nemesis<'_> {
    fn paused(&self) -> BTreeMap<NodeId, u32> {
        self.guard
            .paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn say(&self, what: &str) {
        println!("  t={:>6.2}s  {what}", self.epoch.elapsed().as_secs_f64());
    }

    fn running_pid(&self, id: NodeId) -> Result<u32, String> {
        match self.guard.cluster.pid_state(id) {
            PidState::Running(pid) => Ok(pid),
            other => Err(format!("node {id} is not running ({other:?})")),
        }
    }

    /// Every run kills every node at once at least once: in its second
    /// half, if chance has not done it by then.
    fn kill_all_due(&self) -> bool {
        self.counts.kill_all == 0 && Instant::now() >= self.halfway
    }

    /// Every run with the hook steps a clock at least once: in its
    /// second half, if chance has not done it by then.
    fn clock_step_due(&self) -> bool {
        CLOCK_HOOK && self.counts.clock_step == 0 && Instant::now() >= self.halfway
    }

    /// One random action.
    fn step(&mut self) {
        let paused = self.paused();
        let up: Vec<NodeId> = self
            .ids
            .iter()
            .copied()
            .filter(|id| !self.down.contains(id) && !paused.contains_key(id))
            .collect();
        let faulty = self.down.len() + paused.len();
        let roll = self.rng.range(0, 99);
        // Once the kill of every node is due, heal first: it needs every
        // node up, and a run that keeps one down to its end would skip it.
        let heal = faulty > 0 && (faulty >= self.max_faulty || roll < 40 || self.kill_all_due());
        let result = if self.clock_step_due() && !up.is_empty() {
            // Due before the kill of every node: a step needs only one
            // node up and leaves none faulty, where healing everything
            // for that kill can take the rest of the run.
            let id = self.rng.pick(&up).unwrap_or(0);
            self.step_clock(id)
        } else if heal {
            let mut sick: Vec<NodeId> = self.down.iter().copied().collect();
            sick.extend(paused.keys().copied());
            let id = self.rng.pick(&sick).unwrap_or(0);
            if let Some(&pid) = paused.get(&id) {
                // A paused node is sometimes killed while stopped (SIGKILL
                // reaches a stopped process), else resumed.
                if self.rng.chance(0.25) {
                    self.kill(id, pid)
                } else {
                    self.resume(id, pid)
                }
            } else {
                self.restart(id)
            }
        } else if faulty == 0 && (roll >= 95 || self.kill_all_due()) {
            self.kill_all()
        } else if let Some(id) = self.rng.pick(&up) {
            let kinds = if CLOCK_HOOK { 11 } else { 9 };
            match self.rng.range(0, kinds) {
                0..=4 => self.running_pid(id).and_then(|pid| self.kill(id, pid)),
                5 | 6 => self.stop(id),
                7..=9 => self.pause(id),
                _ => self.step_clock(id),
            }
        } else {
            Ok(())
        };
        if let Err(e) = result {
            self.say(&format!("ERROR: {e}"));
            self.errors.push(e);
        }
    }

    fn kill(&mut self, id: NodeId, pid: u32) -> Result<(), String> {
        let was_paused = self.forget_paused(id);
        signal(pid, libc::SIGKILL)?;
        self.await_killed(id, pid)?;
        self.counts.kill += 1;
        self.say(&format!(
            "kill node {id} (SIGKILL, pid {pid}{})",
            if was_paused { ", while paused" } else { "" }
        ));
        Ok(())
    }

    /// Every node dies at the same instant, paused ones included, as in
    /// a power cut of one machine running the whole cluster: what each
    /// had not synced is gone from every replica at once.
    fn kill_all(&mut self) -> Result<(), String> {
        let running: Vec<(NodeId, u32)> = self
            .ids
            .iter()
            .filter_map(|&id| match self.guard.cluster.pid_state(id) {
                PidState::Running(pid) => Some((id, pid)),
                _ => None,
            })
            .collect();
        for &(_, pid) in &running {
            signal(pid, libc::SIGKILL)?;
        }
        for &(id, pid) in &running {
            self.forget_paused(id);
            self.await_killed(id, pid)?;
        }
        self.counts.kill_all += 1;
        let pids: Vec<String> = running
            .iter()
            .map(|(id, pid)| format!("node {id} pid {pid}"))
            .collect();
        self.say(&format!(
            "kill every node at once (SIGKILL: {})",
            pids.join(", ")
        ));
        Ok(())
    }

    /// Takes `id` off the paused list; true when it was on it.
    fn forget_paused(&self, id: NodeId) -> bool {
        self.guard
            .paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
            .is_some()
    }

    /// Waits until a node sent SIGKILL is gone, then forgets its pid file
    /// as `cluster kill` does.
    fn await_killed(&mut self, id: NodeId, pid: u32) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.guard.cluster.pid_state(id), PidState::Running(_)) {
            if Instant::now() > deadline {
                return Err(format!("node {id} (pid {pid}) survived SIGKILL for 5 s"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        reap(pid);
        let _ = std::fs::remove_file(self.guard.cluster.node_dir(id).join("node.pid"));
        self.down.insert(id);
        Ok(())
    }

    fn stop(&mut self, id: NodeId) -> Result<(), String> {
        let (pid, clean) = self.guard.cluster.stop(id)?;
        reap(pid);
        self.down.insert(id);
        self.counts.stop += 1;
        self.say(&format!(
            "stop node {id} (SIGTERM, pid {pid}{})",
            if clean { "" } else { ", needed SIGKILL" }
        ));
        Ok(())
    }

    fn pause(&mut self, id: NodeId) -> Result<(), String> {
        let pid = self.running_pid(id)?;
        // Record first: the guard must resume it whatever happens next.
        self.guard
            .paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, pid);
        signal(pid, libc::SIGSTOP)?;
        self.counts.pause += 1;
        self.say(&format!("pause node {id} (SIGSTOP, pid {pid})"));
        Ok(())
    }

    /// Steps a running node's wall clock forward or back (see
    /// [`CLOCK_HOOK`]); the node stays up.
    fn step_clock(&mut self, id: NodeId) -> Result<(), String> {
        let pid = self.running_pid(id)?;
        let (sig, way) = if self.rng.chance(0.5) {
            (libc::SIGUSR1, "forward")
        } else {
            (libc::SIGUSR2, "back")
        };
        signal(pid, sig)?;
        self.counts.clock_step += 1;
        self.say(&format!(
            "step node {id}'s clock {way} ({}, pid {pid})",
            if sig == libc::SIGUSR1 {
                "SIGUSR1"
            } else {
                "SIGUSR2"
            }
        ));
        Ok(())
    }

    fn resume(&mut self, id: NodeId, pid: u32) -> Result<(), String> {
        signal(pid, libc::SIGCONT)?;
        self.guard
            .paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.counts.resume += 1;
        self.say(&format!("resume node {id} (SIGCONT, pid {pid})"));
        Ok(())
    }

    fn restart(&mut self, id: NodeId) -> Result<(), String> {
        let t = Instant::now();
        let pid = self.guard.cluster.restart(id)?;
        self.down.remove(&id);
        self.counts.restart += 1;
        self.say(&format!(
            "restart node {id} (pid {pid}, serving after {:.2} s)",
            t.elapsed().as_secs_f64()
        ));
        Ok(())
    }
}

/// Writes the chaos cluster's file: free loopback ports, a new secret,
/// a fast failure detector and frequent anti-entropy.
fn write_cluster_file(cluster: &Cluster, nodes: usize) -> Result<ClusterFile, String> {
    std::fs::create_dir_all(&cluster.dir)
        .map_err(|e| format!("cannot create {}: {e}", cluster.dir.display()))?;
    if cluster.file_path().exists() {
        return Err(format!(
            "{} already holds a cluster: give chaos an empty --data-dir",
            cluster.dir.display()
        ));
    }
    let mut file = ClusterFile::local(nodes, crate::ports::free_port_range(nodes)?, new_secret()?);
    let c = &mut file.cluster;
    c.heartbeat_interval_ms = 50;
    c.failure_timeout_ms = 500;
    c.request_timeout_ms = 1_000;
    c.hint_retry_ms = 200;
    c.anti_entropy_interval_ms = 1_000;
    file.validate()?;
    write_private(&cluster.file_path(), file.to_toml().as_bytes())?;
    Ok(file)
}

/// What a chaos run found.
pub struct ChaosReport {
    pub seed: u64,
    pub counts: FaultCounts,
    pub verdict: Result<Summary, Violation>,
    pub settled: Settled,
    /// Errors acting on processes (a node that would not restart, ...).
    pub errors: Vec<String>,
}

impl ChaosReport {
    pub fn passed(&self) -> bool {
        self.verdict.is_ok() && self.settled.done() && self.errors.is_empty()
    }
}

/// Runs `ringside chaos`; the exit code is 0 when every property held, 1
/// on a violation (or a cluster that did not settle), 2 when the run could
/// not be set up.
pub fn run(args: ChaosArgs) -> i32 {
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(1)
    });
    let temp;
    let dir: PathBuf = match &args.data_dir {
        Some(d) => d.clone(),
        None => match tempfile::Builder::new().prefix("ringside-chaos-").tempdir() {
            Ok(t) => {
                temp = t;
                temp.path().to_path_buf()
            }
            Err(e) => {
                eprintln!("error: cannot make a temporary directory: {e}");
                return 2;
            }
        },
    };
    match run_in(&args, seed, &dir) {
        Ok(report) => {
            if report.passed() {
                0
            } else {
                if args.data_dir.is_none() {
                    // Keep the logs of a failed run.
                    let kept = dir.with_extension("kept");
                    if std::fs::rename(&dir, &kept).is_ok() {
                        println!("cluster directory kept: {}", kept.display());
                    }
                }
                1
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// The run itself, in `dir`.
pub fn run_in(args: &ChaosArgs, seed: u64, dir: &Path) -> Result<ChaosReport, String> {
    let n = args.nodes as usize;
    let cluster = Cluster::new(dir);
    let file = write_cluster_file(&cluster, n)?;
    println!(
        "chaos: {n} nodes, {} clients, {} s, seed {seed}, cluster in {}",
        args.clients,
        args.seconds,
        cluster.dir.display()
    );
    println!(
        "  replay the nemesis's and clients' choices: ringside chaos --nodes {n} --clients {} --seconds {} --keys {} --seed {seed}",
        args.clients, args.seconds, args.keys
    );
    let guard = Arc::new(ChaosGuard {
        cluster: Cluster::new(dir),
        paused: Arc::new(Mutex::new(BTreeMap::new())),
        done: Mutex::new(false),
    });
    cleanup_on_signal(guard.clone());
    // Cleans up when this function returns or panics (the signal thread
    // holds another reference, so the guard's own drop would not run).
    struct CleanupOnReturn(Arc<ChaosGuard>);
    impl Drop for CleanupOnReturn {
        fn drop(&mut self) {
            self.0.cleanup();
        }
    }
    let _cleanup = CleanupOnReturn(guard.clone());
    guard.cluster.up(None, None)?;
    let ring = Ring::new(
        &file.cluster.partitioner,
        &file.cluster.nodes,
        file.cluster.rf,
    );
    let nodes: Vec<(NodeId, String)> = file.nodes.iter().map(|n| (n.id, n.addr.clone())).collect();
    let epoch = Instant::now();
    let mut workload = WorkloadOptions::new(args.clients as usize, seed, spread_keys(args.keys));
    workload.rotate_keys = Some(Duration::from_secs(KEY_ROTATION_S));
    let clients = run_clients(nodes.clone(), workload, epoch);
    let mut nemesis = Nemesis {
        guard: &guard,
        ids: nodes.iter().map(|n| n.0).collect(),
        rng: Rng::new(seed ^ 0x6e6d_6573),
        down: BTreeSet::new(),
        counts: FaultCounts::default(),
        epoch,
        max_faulty: (n / 2).max(1),
        halfway: epoch + Duration::from_secs(args.seconds) / 2,
        errors: vec![],
    };
    let deadline = epoch + Duration::from_secs(args.seconds);
    println!("nemesis:");
    while Instant::now() < deadline {
        // A quiet spell first, so each fault meets traffic.
        let pause_ms = nemesis.rng.range(300, 1_500);
        let wake = (Instant::now() + Duration::from_millis(pause_ms)).min(deadline);
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
        if Instant::now() >= deadline {
            break;
        }
        nemesis.step();
    }
    let counts = nemesis.counts;
    let mut errors = std::mem::take(&mut nemesis.errors);
    drop(nemesis);
    let history = clients.finish();
    println!(
        "nemesis stopped at t={:.2}s; {} client operations recorded",
        epoch.elapsed().as_secs_f64(),
        history.ops.len()
    );
    for (id, pid) in guard.resume_all() {
        println!("  resume node {id} (SIGCONT, pid {pid})");
    }
    match guard.cluster.up(None, None) {
        Ok(_) => println!("  every node serving again"),
        Err(e) => errors.push(format!("bringing every node back: {e}")),
    }
    let settled = settle(
        &nodes,
        &ring,
        &history,
        Duration::from_secs(args.settle_seconds),
    );
    if settled.done() {
        println!(
            "settled in {:.1} s: no hints left, every key's replicas agree",
            settled.waited.as_secs_f64()
        );
    } else {
        println!(
            "did NOT settle within {} s: {} hints left, {} keys diverging{}",
            args.settle_seconds,
            settled.hints,
            settled.diverging,
            settled
                .error
                .as_deref()
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default()
        );
        for line in &settled.hints_left {
            println!("  {line}");
        }
    }
    let verdict = check(&history, settled.final_state.as_ref(), ring.rf());
    println!("faults: {counts}");
    match &verdict {
        Ok(summary) => {
            println!("{}", describe(summary));
            if settled.final_state.is_none() {
                println!("verdict: INCOMPLETE (durability and convergence not checked: a node could not be read)");
            } else if !settled.done() {
                println!("verdict: FAILED (the cluster did not settle)");
            } else if !errors.is_empty() {
                println!("verdict: FAILED (the nemesis could not act, see the errors)");
            } else {
                println!(
                    "verdict: ok ({})",
                    ringside_core::check::PROPERTIES.join(", ")
                );
            }
        }
        Err(v) => {
            let summary = check(&history, None, ring.rf()).ok();
            if let Some(s) = summary {
                println!("{}", describe(&s));
            }
            println!("verdict: VIOLATION {v}");
        }
    }
    for e in &errors {
        println!("error: {e}");
    }
    let report = ChaosReport {
        seed,
        counts,
        verdict,
        settled,
        errors,
    };
    guard.cleanup();
    Ok(report)
}

#[cfg(test)]
mod tests;
