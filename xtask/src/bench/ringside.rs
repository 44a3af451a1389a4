//! ringside's side of a round: a 4-node cluster we start with `ringside
//! cluster up` in a directory of our choosing (so that its commit logs
//! sit beside redis's append-only file and its node pids are known), load
//! from `ringside bench --data-dir`, and the nodes' CPU over each phase.

use super::cpu;
use super::syscalls;
use crate::run as run_cmd;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The nodes of the clusters the bench starts.
const NODES: u16 = 4;

/// One operation's figures from `ringside bench --json`.
#[derive(Default, Clone, Copy)]
pub struct OpFigures {
    pub ok: u64,
    pub ops_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
}

/// A phase's figures, and the CPU seconds the nodes spent, the context
/// switches their threads made and the system calls they made over it
/// (none where perf could not count them).
#[derive(Clone, Copy)]
pub struct Measured {
    pub op: OpFigures,
    pub cpu_s: f64,
    pub switches: u64,
    pub syscalls: Option<u64>,
}

impl Measured {
    /// Node CPU per operation, in µs (NaN when nothing succeeded).
    pub fn cpu_us_per_op(&self) -> f64 {
        self.per_op(self.cpu_s * 1e6)
    }

    /// The nodes' context switches per operation.
    pub fn switches_per_op(&self) -> f64 {
        self.per_op(self.switches as f64)
    }

    /// `total` per operation (NaN when nothing succeeded).
    pub fn per_op(&self, total: f64) -> f64 {
        if self.op.ok == 0 {
            f64::NAN
        } else {
            total / self.op.ok as f64
        }
    }
}

/// What the nodes said of their commit logs' syncs when they stopped:
/// how many syncs made records durable, how many of those ran on a
/// node's own thread, and the records appended.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct Syncs {
    pub syncs: u64,
    pub here: u64,
    pub records: u64,
}

impl Syncs {
    /// Adds one node's report (its last "the commit log took" line in
    /// `log`); false when there is none.
    fn add_from(&mut self, log: &str) -> bool {
        let Some(line) = log
            .lines()
            .rev()
            .find(|l| l.contains("the commit log took "))
        else {
            return false;
        };
        // "... took S syncs (H of them on the node's thread) for R records: ..."
        let after = |word: &str| -> Option<u64> {
            let (_, rest) = line.split_once(word)?;
            rest.split_whitespace()
                .next()?
                .trim_start_matches('(')
                .parse()
                .ok()
        };
        match (after(" took "), after(" syncs "), after(" for ")) {
            (Some(s), Some(h), Some(r)) => {
                self.syncs += s;
                self.here += h;
                self.records += r;
                true
            }
            _ => false,
        }
    }
}

/// A cluster started for one leg of a round, brought down (by `ringside
/// cluster down`, which stops the pids it recorded, or by stopping the
/// ceiling's members we started) and removed when dropped.
pub struct BenchCluster<'a> {
    bin: &'a Path,
    dir: PathBuf,
    addrs: Vec<String>,
    pids: Vec<u32>,
    /// The members of a ceiling cluster ([`BenchCluster::ceiling`]).
    ceiling: Vec<Child>,
    /// Brought down already (by [`BenchCluster::down`]).
    stopped: bool,
}

impl Drop for BenchCluster<'_> {
    fn drop(&mut self) {
        if !self.stopped {
            self.stop();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl<'a> BenchCluster<'a> {
    /// Writes a cluster file for `NODES` local nodes with `sync` ("batch"
    /// or "periodic") in `dir` (made fresh), starts them and reads their
    /// pids.
    pub fn up(bin: &'a Path, dir: PathBuf, sync: &str) -> Result<BenchCluster<'a>, String> {
        let mut cluster = BenchCluster::new(bin, dir, sync)?;
        run_cmd(
            Command::new(bin)
                .args(["cluster", "up", "--data-dir"])
                .arg(&cluster.dir),
        )?;
        for i in 0..NODES {
            let path = cluster.dir.join(format!("node-{i}")).join("node.pid");
            let pid = fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
                .ok_or_else(|| format!("no pid in {}", path.display()))?;
            cluster.pids.push(pid);
        }
        Ok(cluster)
    }

    /// `NODES` members of `ringside ceiling` (the bare message pattern,
    /// see its docs; with `sync` "batch", each write synced before it is
    /// answered) from a cluster file in `dir` (made fresh), each
    /// accepting connections before this returns.
    pub fn ceiling(bin: &'a Path, dir: PathBuf, sync: &str) -> Result<BenchCluster<'a>, String> {
        let mut cluster = BenchCluster::new(bin, dir, sync)?;
        let file = cluster.dir.join("cluster.toml");
        let log_of = |i| cluster.dir.join(format!("ceiling-{i}.log"));
        for i in 0..NODES {
            let path = log_of(i);
            let log = fs::File::create(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            let child = Command::new(bin)
                .args(["ceiling", "--id", &i.to_string(), "--cluster"])
                .arg(&file)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
            cluster.pids.push(child.id());
            cluster.ceiling.push(child);
        }
        for (i, (child, addr)) in cluster.ceiling.iter_mut().zip(&cluster.addrs).enumerate() {
            let what = format!("ceiling member {i}");
            super::wait_until_listening(child, addr, &what, &log_of(i as u16))?;
        }
        Ok(cluster)
    }

    /// A fresh `dir` with a cluster file for `NODES` members on free
    /// loopback ports, nothing started yet.
    fn new(bin: &'a Path, dir: PathBuf, sync: &str) -> Result<BenchCluster<'a>, String> {
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let base = crate::ports::free_port_range(NODES as usize)?;
        let addrs: Vec<String> = (0..NODES)
            .map(|i| format!("127.0.0.1:{}", base + i))
            .collect();
        let mut text = format!("secret = \"{}\"\nsync = \"{sync}\"\n", secret()?);
        for (i, addr) in addrs.iter().enumerate() {
            text.push_str(&format!("[[node]]\nid = {i}\naddr = \"{addr}\"\n"));
        }
        let file = dir.join("cluster.toml");
        fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        Ok(BenchCluster {
            bin,
            dir,
            addrs,
            pids: vec![],
            ceiling: vec![],
            stopped: false,
        })
    }

    /// `ringside bench --data-dir <ours> --mix <put_percent> ARGS`: puts
    /// (100) or gets (0) only, one phase, and the nodes' CPU and context
    /// switches over it; with `count`, their system calls too (counting
    /// slows them a little: see [`super::syscalls`]).
    pub fn phase(&self, put_percent: u8, args: &[&str], count: bool) -> Result<Measured, String> {
        let mix = put_percent.to_string();
        let dir = self.dir.to_string_lossy().to_string();
        let mut all = vec!["--data-dir", &dir, "--mix", &mix];
        all.extend_from_slice(args);
        let counting = count.then(|| syscalls::Counting::start(&self.pids));
        let before = cpu::Usage::of(&self.pids)?;
        let figures = bench_json(self.bin, &all)?;
        let used = before.until_now(&self.pids)?;
        let syscalls = counting.and_then(syscalls::counted);
        let op = if put_percent == 0 {
            figures.get
        } else {
            figures.put
        };
        Ok(Measured {
            op,
            cpu_s: used.cpu_s,
            switches: used.switches,
            syscalls,
        })
    }

    /// Brings the cluster down and reads what each node said of its
    /// syncs as it stopped.
    pub fn down(mut self) -> Result<Syncs, String> {
        self.stop();
        let mut syncs = Syncs::default();
        for i in 0..NODES {
            let path = self.dir.join(format!("node-{i}")).join("node.log");
            let log = fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if !syncs.add_from(&log) {
                return Err(format!(
                    "{} does not say how many syncs the node took (did it stop cleanly?)",
                    path.display()
                ));
            }
        }
        Ok(syncs)
    }

    /// Stops the cluster: a ceiling's members, our own children, by
    /// their pids; a cluster of nodes by `ringside cluster down`, which
    /// stops the pids it recorded and waits for them.
    fn stop(&mut self) {
        self.stopped = true;
        if !self.ceiling.is_empty() {
            // Our own children: nothing of theirs needs a clean stop.
            for child in &mut self.ceiling {
                let _ = child.kill();
                let _ = child.wait();
            }
            return;
        }
        let _ = Command::new(self.bin)
            .args(["cluster", "down", "--data-dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// 32 hex digits from the kernel's random source: the cluster's peer
/// secret.
fn secret() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A run's put and get figures.
struct BenchFigures {
    put: OpFigures,
    get: OpFigures,
}

/// `ringside bench --timeline` of one client's batch-sync puts on a
/// cluster it starts itself in `tmp` (the timeline needs its nodes from
/// their start): its breakdown lines, each step's time across the nodes.
pub fn timeline(bin: &Path, seconds: &str, tmp: &Path) -> Result<Vec<String>, String> {
    let args = [
        "--clients",
        "1",
        "--seconds",
        seconds,
        "--sync",
        "batch",
        "--mix",
        "100",
        "--timeline",
    ];
    let text = run_bench(bin, &args, Some(tmp))?;
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

/// Runs `ringside bench ARGS` (with `TMPDIR` set to `tmp`, where it makes
/// its own cluster), shows the command and what it printed, and returns
/// its standard output.
fn run_bench(bin: &Path, args: &[&str], tmp: Option<&Path>) -> Result<String, String> {
    let mut cmd = Command::new(bin);
    cmd.arg("bench").args(args);
    if let Some(t) = tmp {
        cmd.env("TMPDIR", t);
    }
    println!("$ {}", crate::show(&cmd));
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
fn bench_json(bin: &Path, args: &[&str]) -> Result<BenchFigures, String> {
    let mut all = args.to_vec();
    all.push("--json");
    let text = run_bench(bin, &all, None)?;
    parse_json(&text)
}

fn parse_json(text: &str) -> Result<BenchFigures, String> {
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
            ok: number(obj, "ok").unwrap_or(0.0) as u64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_json_phases_are_read_by_their_op() {
        let text = r#"{"clients":32,"phases":[{"op":"put","ok":40000,"failed":0,"seconds":2.0,"ops_per_s":20000.5,"p50_us":1500,"p99_us":4000,"p999_us":9000,"max_us":12000,"first_error":null},{"op":"get","ok":0,"failed":0,"seconds":2.0,"ops_per_s":0.0,"p50_us":0,"p99_us":0,"p999_us":0,"max_us":0,"first_error":null}]}"#;
        let f = parse_json(text).unwrap();
        assert_eq!(f.put.ok, 40000);
        assert_eq!(f.put.ops_per_s, 20000.5);
        assert_eq!(f.put.p50_us, 1500.0);
        assert_eq!(f.get.ok, 0);
        assert!(parse_json(r#"{"phases":[]}"#).is_err());
    }

    #[test]
    fn cpu_per_op_is_not_a_number_without_ops() {
        let m = Measured {
            op: OpFigures::default(),
            cpu_s: 1.0,
            switches: 10,
            syscalls: None,
        };
        assert!(m.cpu_us_per_op().is_nan());
        assert!(m.switches_per_op().is_nan());
        let m = Measured {
            op: OpFigures {
                ok: 1000,
                ..OpFigures::default()
            },
            cpu_s: 0.25,
            switches: 2500,
            syscalls: Some(4000),
        };
        assert_eq!(m.cpu_us_per_op(), 250.0);
        assert_eq!(m.switches_per_op(), 2.5);
    }

    #[test]
    fn the_syncs_are_read_from_each_nodes_last_report() {
        let line = |s, h, r| {
            format!("INFO ringside_native::node::driver::syncer: the commit log took {s} syncs ({h} of them on the node's thread) for {r} records: 2.0 records per sync\n")
        };
        let mut syncs = Syncs::default();
        assert!(syncs.add_from(&format!(
            "INFO x: started\n{}{}",
            line(1, 1, 1),
            line(30, 10, 60)
        )));
        assert!(syncs.add_from(&line(5, 0, 7)));
        assert_eq!(
            syncs,
            Syncs {
                syncs: 35,
                here: 10,
                records: 67
            }
        );
        assert!(!syncs.add_from("INFO x: started\n"));
        assert!(!syncs.add_from("INFO the commit log took many syncs\n"));
    }
}
