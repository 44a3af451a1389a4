//! redis beside ringside: `redis-server`s we start and stop by their
//! pids, and `redis-benchmark` against them.

use super::cpu;
use super::syscalls;
use crate::{find_exe, is_root, run as run_cmd};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What a redis-server promises about a SET it acknowledged.
pub enum Persistence {
    /// Nothing: no snapshots, no append-only file (the in-memory peer of
    /// ringside's periodic sync, which waits for no disk either).
    Off,
    /// `appendonly yes` and `appendfsync always`, the append-only file in
    /// this directory: a SET is answered after the event loop's turn that
    /// wrote it has been fsynced (the durable peer of batch sync).
    AlwaysFsync(PathBuf),
}

/// One operation's figures from redis-benchmark.
#[derive(Clone, Copy)]
pub struct OpFigures {
    pub rps: f64,
    pub p50_ms: f64,
}

/// One redis-benchmark run: its SET figures, its GET figures when GET
/// was asked for, and the CPU seconds the server spent and the context
/// switches its threads made over the run.
pub struct RedisFigures {
    pub set: OpFigures,
    pub get: Option<OpFigures>,
    pub cpu_s: f64,
    pub switches: u64,
    /// System calls the server made over the run, where perf counted
    /// them.
    pub syscalls: Option<u64>,
    /// SETs made in the run (what the CPU is divided by).
    pub sets: u64,
    /// Requests made in the run: the SETs, and as many GETs with GET.
    pub requests: u64,
}

/// A redis-server we started on a free port; stopped (by its pid) when
/// dropped.
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs Debian's redis-server and redis-tools if either program is
/// missing (as root; otherwise says what to install).
pub fn install() -> Result<(), String> {
    if find_exe(&["redis-server"]).is_some() && find_exe(&["redis-benchmark"]).is_some() {
        return Ok(());
    }
    if !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        return Err(
            "redis-server and redis-benchmark are missing; install Debian's redis-server and redis-tools"
                .into(),
        );
    }
    run_cmd(Command::new("apt-get").args(["update", "-q"]))?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(["redis-server", "redis-tools"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    if find_exe(&["redis-server"]).is_none() || find_exe(&["redis-benchmark"]).is_none() {
        return Err(
            "apt-get installed redis-server and redis-tools, yet their programs are not on PATH"
                .into(),
        );
    }
    Ok(())
}

impl RedisServer {
    /// Starts a server with `persistence`, its output in `log`, and waits
    /// until it listens.
    pub fn start(
        name: &'static str,
        persistence: Persistence,
        log: &Path,
    ) -> Result<RedisServer, String> {
        let port = crate::ports::free_port_range(1)?;
        let out =
            fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""]);
        match &persistence {
            Persistence::Off => {
                cmd.args(["--appendonly", "no"]);
            }
            Persistence::AlwaysFsync(dir) => {
                fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                cmd.args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                    .arg(dir);
            }
        }
        cmd.stdout(out).stderr(err);
        println!("$ {}", crate::show(&cmd));
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let mut server = RedisServer { child, port };
        println!(
            "redis-server ({name}) pid {} on 127.0.0.1:{port}",
            server.child.id()
        );
        super::wait_until_listening(
            &mut server.child,
            &format!("127.0.0.1:{port}"),
            &format!("redis-server ({name})"),
            log,
        )?;
        Ok(server)
    }

    /// SETs (and GETs, with `get`) of 100-byte values from `clients`
    /// connections, `n` requests each, and the server's CPU over them;
    /// with `count`, its system calls too.
    pub fn bench(
        &self,
        clients: u64,
        n: u64,
        get: bool,
        count: bool,
    ) -> Result<RedisFigures, String> {
        let (p, c, ns) = (self.port.to_string(), clients.to_string(), n.to_string());
        let tests = if get { "set,get" } else { "set" };
        let pid = [self.child.id()];
        let counting = count.then(|| syscalls::Counting::start(&pid));
        let before = cpu::Usage::of(&pid)?;
        let rows = redis_benchmark(&["-p", &p, "-c", &c, "-n", &ns, "-d", "100", "-t", tests])?;
        let used = before.until_now(&pid)?;
        let syscalls = counting.and_then(syscalls::counted);
        let find = |t: &str| {
            rows.iter()
                .find(|r| r.0 == t)
                .map(|r| OpFigures {
                    rps: r.1,
                    p50_ms: r.2,
                })
                .ok_or_else(|| format!("redis-benchmark printed no {t} row"))
        };
        Ok(RedisFigures {
            set: find("SET")?,
            get: if get { Some(find("GET")?) } else { None },
            cpu_s: used.cpu_s,
            switches: used.switches,
            syscalls,
            sets: n,
            requests: if get { 2 * n } else { n },
        })
    }
}

/// Runs redis-benchmark with `--csv`; (test, rps, p50 ms) per row.
fn redis_benchmark(args: &[&str]) -> Result<Vec<(String, f64, f64)>, String> {
    let mut cmd = Command::new("redis-benchmark");
    cmd.args(args).arg("--csv");
    println!("$ {}", crate::show(&cmd));
    let out = cmd
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run redis-benchmark: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!("redis-benchmark failed: {text}"));
    }
    let rows = parse_csv(&text);
    for line in text.lines() {
        println!("   {line}");
    }
    Ok(rows)
}

/// redis-benchmark's `--csv` rows: "test","rps","avg_latency_ms",
/// "min_latency_ms","p50_latency_ms",...; the header does not parse.
fn parse_csv(text: &str) -> Vec<(String, f64, f64)> {
    let mut rows = vec![];
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').map(|x| x.trim_matches('"')).collect();
        if f.len() >= 5 {
            if let (Ok(rps), Ok(p50)) = (f[1].parse::<f64>(), f[4].parse::<f64>()) {
                rows.push((f[0].to_string(), rps, p50));
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_benchmark_csv_rows_are_read() {
        let text = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\"\n\
                    \"SET\",\"53022.27\",\"0.571\",\"0.136\",\"0.559\",\"0.847\"\n\
                    \"GET\",\"61349.69\",\"0.482\",\"0.120\",\"0.471\",\"0.711\"\n";
        let rows = parse_csv(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, "SET");
        assert_eq!(rows[0].1, 53022.27);
        assert_eq!(rows[1].2, 0.471);
    }
}
