//! `ringside bench`: a first load generator. Starts its own local cluster
//! in a temporary directory (or uses a running one), runs closed-loop
//! clients spread over every coordinator, first puts then gets, and prints
//! throughput and latency percentiles per phase.

use crate::supervisor::{runtime, Cluster};
use crate::wsclient::Conn;
use ringside_core::protocol::ServerFrame;
use ringside_core::{Consistency, Key, Reply, Request};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct BenchArgs {
    /// A running cluster's data directory; none: start one.
    pub data_dir: Option<PathBuf>,
    pub nodes: usize,
    pub clients: usize,
    pub ops: usize,
    pub cl: Consistency,
    pub value_bytes: usize,
}

/// One phase's numbers.
pub struct Phase {
    pub name: &'static str,
    pub ok: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latencies_us: Vec<u64>,
}

impl Phase {
    pub fn percentile_us(&self, p: f64) -> u64 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i]
    }

    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let ms = |us: u64| us as f64 / 1000.0;
        format!(
            "{}: {} ok, {} failed in {:.2} s: {:.0} ops/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms{}",
            self.name,
            self.ok,
            self.failed,
            secs,
            self.ok as f64 / secs,
            ms(self.percentile_us(0.50)),
            ms(self.percentile_us(0.99)),
            ms(self.latencies_us.last().copied().unwrap_or(0)),
            self.first_error
                .as_ref()
                .map(|e| format!(" (first error: {e})"))
                .unwrap_or_default()
        )
    }
}

/// Runs the bench; returns the report's lines.
pub fn run(args: BenchArgs) -> Result<Vec<String>, String> {
    if args.clients == 0 || args.ops == 0 {
        return Err("--clients and --ops must be more than 0".into());
    }
    let mut tmp = None;
    let cluster = match &args.data_dir {
        Some(d) => Cluster::new(d),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("ringside-bench-")
                .tempdir()
                .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
            let c = Cluster::new(dir.path());
            tmp = Some(dir);
            let base = free_port_range(args.nodes)?;
            if let Err(e) = c.up(Some(args.nodes), Some(base)) {
                let _ = c.down();
                return Err(e);
            }
            c
        }
    };
    let result = bench(&cluster, &args);
    if tmp.is_some() {
        let _ = cluster.down();
    }
    drop(tmp);
    result
}

fn bench(cluster: &Cluster, args: &BenchArgs) -> Result<Vec<String>, String> {
    let file = cluster.load()?;
    let addrs: Vec<String> = file.nodes.iter().map(|n| n.addr.clone()).collect();
    let rt = runtime()?;
    let mut lines = vec![format!(
        "bench: {} nodes, {} client{}, {} ops per client per phase, {}, {}-byte values, sync {:?}",
        addrs.len(),
        args.clients,
        if args.clients == 1 { "" } else { "s" },
        args.ops,
        args.cl,
        args.value_bytes,
        file.sync
    )];
    let value: String = "x".repeat(args.value_bytes);
    for phase in ["put", "get"] {
        let p = rt.block_on(run_phase(phase, &addrs, args, &value))?;
        lines.push(p.summary());
    }
    Ok(lines)
}

async fn run_phase(
    name: &'static str,
    addrs: &[String],
    args: &BenchArgs,
    value: &str,
) -> Result<Phase, String> {
    let mut conns = vec![];
    for c in 0..args.clients {
        conns.push(Conn::connect(&addrs[c % addrs.len()], Duration::from_secs(3)).await?);
    }
    let cl = if name == "get" && args.cl == Consistency::Any {
        Consistency::One
    } else {
        args.cl
    };
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(c, mut conn)| {
            let ops = args.ops;
            let value = value.to_string();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(ops);
                let mut failed = 0;
                let mut first_error = None;
                for i in 0..ops {
                    let key = Key::Int(((c * 7919 + i) % 256) as u8);
                    let req = if name == "put" {
                        Request::Put {
                            key,
                            value: value.clone(),
                            cl,
                        }
                    } else {
                        Request::Get { key, cl }
                    };
                    let t = Instant::now();
                    let r = conn.request(&req, Duration::from_secs(10)).await;
                    let us = t.elapsed().as_micros() as u64;
                    match r {
                        Ok(a) => match a.frame {
                            ServerFrame::Reply {
                                reply: Reply::Error { kind, message },
                                ..
                            } => {
                                failed += 1;
                                first_error.get_or_insert(format!("{kind}: {message}"));
                            }
                            _ => lat.push(us),
                        },
                        Err(e) => {
                            failed += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (lat, failed, first_error)
            })
        })
        .collect();
    let mut phase = Phase {
        name,
        ok: 0,
        failed: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latencies_us: vec![],
    };
    for t in tasks {
        let (lat, failed, err) = t.await.map_err(|e| format!("a bench client failed: {e}"))?;
        phase.ok += lat.len();
        phase.failed += failed;
        phase.latencies_us.extend(lat);
        if phase.first_error.is_none() {
            phase.first_error = err;
        }
    }
    phase.elapsed = started.elapsed();
    phase.latencies_us.sort_unstable();
    Ok(phase)
}

/// A base port with `n` free consecutive loopback ports after it.
pub fn free_port_range(n: usize) -> Result<u16, String> {
    let seed = std::process::id() as usize;
    for attempt in 0..200usize {
        let base = 20_000 + (seed * 31 + attempt * 97) % 30_000;
        let ok =
            (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", (base + i) as u16)).is_ok());
        if ok {
            return Ok(base as u16);
        }
    }
    Err(format!(
        "cannot find {n} free consecutive ports on 127.0.0.1"
    ))
}
