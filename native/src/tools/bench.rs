//! `ringside bench`: the load generator. Starts its own local cluster in a
//! temporary directory (or uses a running one), opens many client
//! connections spread over every coordinator, and measures puts and gets
//! through the client protocol: throughput, latency percentiles (p50, p99,
//! p99.9, max) and errors, per operation, with a progress bar on stderr.
//!
//! The clients are lean on purpose: requests are formatted and replies
//! scanned without building JSON trees (an error reply is parsed fully),
//! so that on a small machine the nodes, not the load generator, get the
//! CPU, as with `redis-benchmark`, the baseline `cargo xtask bench` runs
//! beside it.
//!
//! `--write-log DIR` (hidden) writes a large commit log instead, for the
//! replay and memory measurements.

use crate::cluster::supervisor::{check_node_count, new_secret, write_private, Cluster};
use crate::cluster_file::{ClusterFile, SyncMode};
use crate::node::commitlog::CommitLog;
use crate::node::timeline::{self as marks, Step};
use crate::tools::timeline;
use futures_util::{SinkExt, StreamExt};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use ringside_core::{Consistency, Key, Record, Version};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// What to run.
pub struct BenchArgs {
    /// A running cluster's data directory; none: start one.
    pub data_dir: Option<PathBuf>,
    /// Nodes of the cluster bench starts itself.
    pub nodes: usize,
    /// Connections, spread round-robin over the coordinators.
    pub clients: usize,
    /// Requests per client per phase (when `seconds` is none).
    pub ops: usize,
    /// Run each phase this long instead of a number of requests.
    pub seconds: Option<f64>,
    pub cl: Consistency,
    /// Percent of puts in one mixed phase; none: a put phase, then a get
    /// phase.
    pub mix: Option<u8>,
    pub value_bytes: usize,
    /// Keys used: `0..=255` integer keys up to 256, else string keys.
    pub keys: usize,
    /// Sync policy of the cluster bench starts itself.
    pub sync: Option<SyncMode>,
    /// Requests each connection keeps in flight.
    pub pipeline: usize,
    /// Print one JSON object instead of lines.
    pub json: bool,
    /// Follow each request through the nodes (see [`crate::tools::timeline`]).
    pub timeline: bool,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            data_dir: None,
            nodes: 4,
            clients: 32,
            ops: 2000,
            seconds: None,
            cl: Consistency::Quorum,
            mix: None,
            value_bytes: 100,
            keys: 256,
            sync: None,
            pipeline: 1,
            json: false,
            timeline: false,
        }
    }
}

/// One operation's numbers in one phase.
pub struct Phase {
    pub name: &'static str,
    pub ok: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Sorted.
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

    pub fn ops_per_s(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn summary(&self) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        format!(
            "{}: {} ok, {} failed in {:.2} s: {:.0} ops/s; latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms{}",
            self.name,
            self.ok,
            self.failed,
            self.elapsed.as_secs_f64(),
            self.ops_per_s(),
            ms(self.percentile_us(0.50)),
            ms(self.percentile_us(0.99)),
            ms(self.percentile_us(0.999)),
            ms(self.latencies_us.last().copied().unwrap_or(0)),
            self.first_error
                .as_ref()
                .map(|e| format!(" (first error: {e})"))
                .unwrap_or_default()
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "op": self.name,
            "ok": self.ok,
            "failed": self.failed,
            "seconds": self.elapsed.as_secs_f64(),
            "ops_per_s": self.ops_per_s(),
            "p50_us": self.percentile_us(0.50),
            "p99_us": self.percentile_us(0.99),
            "p999_us": self.percentile_us(0.999),
            "max_us": self.latencies_us.last().copied().unwrap_or(0),
            "first_error": self.first_error,
        })
    }
}

/// Runs the bench; returns the report's lines (one line of JSON with
/// `json`).
pub fn run(args: BenchArgs) -> Result<Vec<String>, String> {
    if args.clients == 0 || args.pipeline == 0 || (args.seconds.is_none() && args.ops == 0) {
        return Err("--clients, --pipeline and --ops must be more than 0".into());
    }
    if args.seconds.is_some_and(|s| !(s > 0.0 && s < 86_400.0)) {
        return Err("--seconds: more than 0 and less than a day".into());
    }
    if args.mix.is_some_and(|m| m > 100) {
        return Err("--mix: the percentage of puts, 0 to 100".into());
    }
    if args.keys == 0 {
        return Err("--keys must be more than 0".into());
    }
    if args.data_dir.is_none() {
        check_node_count(args.nodes)?;
    }
    if args.timeline {
        if args.clients != 1 || args.pipeline != 1 {
            return Err(
                "--timeline follows one request at a time: use it with --clients 1 (and --pipeline 1)"
                    .into(),
            );
        }
        if args.data_dir.is_some() {
            return Err(
                "--timeline needs the cluster bench starts itself (its nodes record their marks from the start): drop --data-dir"
                    .into(),
            );
        }
    }
    if args.value_bytes > ringside_core::types::MAX_VALUE_BYTES {
        return Err(format!(
            "--value-bytes: at most {} (the protocol's value limit)",
            ringside_core::types::MAX_VALUE_BYTES
        ));
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
            let base = crate::ports::free_port_range(args.nodes)?;
            let mut file = ClusterFile::local(args.nodes, base, new_secret()?);
            if let Some(sync) = args.sync {
                file.sync = sync;
            }
            std::fs::create_dir_all(&c.dir)
                .map_err(|e| format!("cannot create {}: {e}", c.dir.display()))?;
            write_private(&c.file_path(), file.to_toml().as_bytes())?;
            if args.timeline {
                // The nodes inherit it; nothing else runs yet.
                std::env::set_var(marks::ENV, "1");
                marks::enable();
            }
            if let Err(e) = c.up(None, None) {
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
    let result = match result {
        Ok(lines) if args.timeline => with_timeline(&cluster, &args, lines),
        r => r,
    };
    drop(tmp);
    result
}

/// Adds where the requests' time went to the report, from the bench's own
/// marks and those the nodes wrote when they stopped.
fn with_timeline(
    cluster: &Cluster,
    args: &BenchArgs,
    mut lines: Vec<String>,
) -> Result<Vec<String>, String> {
    let file = cluster.load()?;
    let mut nodes = vec![];
    for n in &file.nodes {
        nodes.push(marks::load(&cluster.node_dir(n.id).join(marks::FILE))?);
    }
    let breakdown = timeline::analyze(&marks::take(), &nodes);
    if args.json {
        let mut v: serde_json::Value = serde_json::from_str(&lines[0])
            .map_err(|e| format!("internal: the report is not JSON: {e}"))?;
        v["timeline"] = breakdown.to_json();
        return Ok(vec![v.to_string()]);
    }
    lines.extend(breakdown.lines());
    Ok(lines)
}

fn bench(cluster: &Cluster, args: &BenchArgs) -> Result<Vec<String>, String> {
    let file = cluster.load()?;
    let addrs: Vec<String> = file.nodes.iter().map(|n| n.addr.clone()).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let sync = match file.sync {
        SyncMode::Batch => "batch",
        SyncMode::Periodic => "periodic",
    };
    let length = match args.seconds {
        Some(s) => format!("{s} s per phase"),
        None => format!("{} ops per client per phase", args.ops),
    };
    let header = format!(
        "bench: {} nodes, {} client{}, pipeline {}, {length}, {}, {}-byte values, {} keys, sync {sync}",
        addrs.len(),
        args.clients,
        if args.clients == 1 { "" } else { "s" },
        args.pipeline,
        args.cl,
        args.value_bytes,
        args.keys,
    );
    let value: Arc<str> = (0..args.value_bytes)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect::<String>()
        .into();
    let mut phases = vec![];
    match args.mix {
        None => {
            for (name, puts) in [("put", 100), ("get", 0)] {
                let (p, g) = rt.block_on(run_phase(name, puts, &addrs, args, value.clone()))?;
                phases.push(if puts == 100 { p } else { g });
            }
        }
        Some(m) => {
            let (p, g) = rt.block_on(run_phase("mixed", m, &addrs, args, value.clone()))?;
            phases.push(p);
            phases.push(g);
        }
    }
    if args.json {
        let v = serde_json::json!({
            "nodes": addrs.len(),
            "clients": args.clients,
            "pipeline": args.pipeline,
            "cl": args.cl.to_string(),
            "value_bytes": args.value_bytes,
            "keys": args.keys,
            "sync": sync,
            "mix": args.mix,
            "phases": phases.iter().map(Phase::to_json).collect::<Vec<_>>(),
        });
        return Ok(vec![v.to_string()]);
    }
    let mut lines = vec![header];
    lines.extend(phases.iter().map(Phase::summary));
    Ok(lines)
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    put_us: Vec<u64>,
    get_us: Vec<u64>,
    put_failed: usize,
    get_failed: usize,
    put_error: Option<String>,
    get_error: Option<String>,
}

/// One phase: every connection runs until its ops are done or time is up.
/// Returns the puts' and the gets' numbers.
async fn run_phase(
    name: &'static str,
    put_percent: u8,
    addrs: &[String],
    args: &BenchArgs,
    value: Arc<str>,
) -> Result<(Phase, Phase), String> {
    let mut conns = vec![];
    for c in 0..args.clients {
        conns.push(connect(&addrs[c % addrs.len()]).await?);
    }
    let cl = args.cl;
    let get_cl = if cl == Consistency::Any {
        Consistency::One
    } else {
        cl
    };
    let total = args
        .seconds
        .is_none()
        .then(|| (args.ops * args.clients) as u64);
    let progress = progress_bar(name, total, args.seconds);
    let started = Instant::now();
    let deadline = args.seconds.map(|s| started + Duration::from_secs_f64(s));
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(c, ws)| {
            let job = Job {
                ws,
                client: c,
                ops: if deadline.is_some() {
                    usize::MAX
                } else {
                    args.ops
                },
                deadline,
                put_percent,
                keys: args.keys,
                value: value.clone(),
                cl,
                get_cl,
                pipeline: args.pipeline,
                done: progress.clone(),
            };
            tokio::spawn(job.run())
        })
        .collect();
    let mut tally = Tally::default();
    let mut failure = None;
    for t in tasks {
        match t.await {
            Ok(Ok(t)) => {
                tally.put_us.extend(t.put_us);
                tally.get_us.extend(t.get_us);
                tally.put_failed += t.put_failed;
                tally.get_failed += t.get_failed;
                tally.put_error = tally.put_error.or(t.put_error);
                tally.get_error = tally.get_error.or(t.get_error);
            }
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(format!("a bench client failed: {e}"));
            }
        }
    }
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    tally.put_us.sort_unstable();
    tally.get_us.sort_unstable();
    let put = Phase {
        name: "put",
        ok: tally.put_us.len(),
        failed: tally.put_failed,
        first_error: tally.put_error,
        elapsed,
        latencies_us: tally.put_us,
    };
    let get = Phase {
        name: "get",
        ok: tally.get_us.len(),
        failed: tally.get_failed,
        first_error: tally.get_error,
        elapsed,
        latencies_us: tally.get_us,
    };
    Ok((put, get))
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: &str) -> Result<Ws, String> {
    let url = format!("ws://{addr}/client");
    let config = crate::node::transport::ws_config(64 << 20);
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async_with_config(&url, Some(config), true),
    )
    .await
    .map_err(|_| format!("cannot connect to {addr}: timed out"))?
    .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    Ok(ws)
}

/// One connection's closed loop (with `pipeline` requests in flight).
struct Job {
    ws: Ws,
    client: usize,
    ops: usize,
    deadline: Option<Instant>,
    put_percent: u8,
    keys: usize,
    value: Arc<str>,
    cl: Consistency,
    get_cl: Consistency,
    pipeline: usize,
    done: ProgressBar,
}

/// How long one reply may take before the bench gives up on it.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

impl Job {
    async fn run(mut self) -> Result<Tally, String> {
        let mut tally = Tally::default();
        // The simulator's seeded generator: one per client, so that a run's
        // mix of puts and gets is the same every time.
        let mut rng = ringside_core::sim::Rng::new(0x9e37_79b9_7f4a_7c15 ^ self.client as u64);
        let mut next_key = self.client * 7919;
        let mut in_flight: HashMap<u64, (Instant, bool)> = HashMap::new();
        let mut sent = 0usize;
        let mut next_id = 1u64;
        let mut text = String::with_capacity(self.value.len() + 96);
        loop {
            let time_up = self.deadline.is_some_and(|d| Instant::now() >= d);
            let mut fed = false;
            while !time_up && sent < self.ops && in_flight.len() < self.pipeline {
                let put = rng.range(0, 99) < u64::from(self.put_percent);
                let k = next_key % self.keys;
                next_key += 1;
                let id = next_id;
                next_id += 1;
                text.clear();
                self.request(&mut text, id, put, k);
                marks::mark(Step::ClientSent);
                self.ws
                    .feed(WsMessage::text(text.as_str()))
                    .await
                    .map_err(|e| format!("send failed: {e}"))?;
                in_flight.insert(id, (Instant::now(), put));
                sent += 1;
                fed = true;
            }
            if fed {
                self.ws
                    .flush()
                    .await
                    .map_err(|e| format!("send failed: {e}"))?;
            }
            if in_flight.is_empty() {
                return Ok(tally);
            }
            let frame = tokio::time::timeout(REPLY_TIMEOUT, self.ws.next())
                .await
                .map_err(|_| format!("no reply within {} s", REPLY_TIMEOUT.as_secs()))?
                .ok_or("the node closed the connection")?
                .map_err(|e| format!("connection failed: {e}"))?;
            marks::mark(Step::ClientGot);
            let WsMessage::Text(reply) = frame else {
                if let WsMessage::Close(c) = frame {
                    return Err(format!("the node closed the connection: {c:?}"));
                }
                continue;
            };
            let Some((id, ok)) = reply_id(reply.as_str()) else {
                // An event frame, or an error without an id.
                if reply.as_str().contains("\"ok\":false") {
                    return Err(format!("error without a request id: {}", reply.as_str()));
                }
                continue;
            };
            let Some((at, put)) = in_flight.remove(&id) else {
                continue;
            };
            let us = at.elapsed().as_micros() as u64;
            self.done.inc(1);
            if ok {
                if put {
                    tally.put_us.push(us);
                } else {
                    tally.get_us.push(us);
                }
            } else {
                let why = error_text(reply.as_str());
                if put {
                    tally.put_failed += 1;
                    tally.put_error.get_or_insert(why);
                } else {
                    tally.get_failed += 1;
                    tally.get_error.get_or_insert(why);
                }
            }
        }
    }

    /// A request frame, formatted directly (the value is plain ASCII).
    fn request(&self, out: &mut String, id: u64, put: bool, k: usize) {
        use std::fmt::Write;
        let key = if self.keys <= 256 {
            format!("{k}")
        } else {
            format!("\"k{k}\"")
        };
        let _ = if put {
            write!(
                out,
                r#"{{"id":{id},"op":"put","key":{key},"value":"{}","cl":"{}"}}"#,
                self.value, self.cl
            )
        } else {
            write!(
                out,
                r#"{{"id":{id},"op":"get","key":{key},"cl":"{}"}}"#,
                self.get_cl
            )
        };
    }
}

/// The `id` of a reply frame and whether it says `"ok":true`, found
/// without parsing the whole frame: the node writes them first
/// (`{"id":N,"ok":...`).
fn reply_id(text: &str) -> Option<(u64, bool)> {
    let rest = text.strip_prefix("{\"id\":")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    let id = rest[..end].parse().ok()?;
    Some((id, rest[end..].starts_with(",\"ok\":true")))
}

/// `Kind: message` of an error reply.
fn error_text(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => format!(
            "{}: {}",
            v["error"]["kind"].as_str().unwrap_or("?"),
            v["error"]["message"].as_str().unwrap_or(text)
        ),
        Err(_) => text.to_string(),
    }
}

/// A progress bar's `{rate}`: items per second, whole.
pub fn whole_rate(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(w, "{:.0}", state.per_sec());
}

/// The phase's progress bar on stderr (indicatif draws nothing when
/// stderr is not a terminal): ops against the total, or, for a timed
/// phase, ops so far against the clock.
fn progress_bar(name: &'static str, total: Option<u64>, seconds: Option<f64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(t) => (
            ProgressBar::new(t),
            "{prefix:>5} [{bar:30}] {percent:>3}%  {pos} ops  {rate} ops/s",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{prefix:>5} {spinner} {elapsed} of {msg}  {pos} ops  {rate} ops/s",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("#>-").with_key("rate", whole_rate));
    }
    bar.set_prefix(name);
    if let Some(s) = seconds {
        bar.set_message(format!("{s} s"));
        bar.enable_steady_tick(Duration::from_millis(200));
    }
    bar
}

/// Writes a commit log of `records` writes over `keys` string keys
/// (`k0`, `k1`, ...) with `value_bytes`-byte values into `dir`, which must
/// not hold one yet: the input for measuring replay speed and a node's
/// memory. Returns a line saying what it wrote.
pub fn write_log(
    dir: &Path,
    records: usize,
    keys: usize,
    value_bytes: usize,
) -> Result<String, String> {
    if keys == 0 {
        return Err("--keys must be more than 0".into());
    }
    let path = dir.join(crate::node::commitlog::LOG_FILE);
    if path.exists() {
        return Err(format!(
            "{} exists; give an empty directory",
            path.display()
        ));
    }
    let started = Instant::now();
    let mut log = CommitLog::open(dir)
        .map_err(|e| format!("cannot open a log in {}: {e}", dir.display()))?
        .log;
    let value: String = (0..value_bytes)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let ts0 = 1_600_000_000_000_000u64;
    for i in 0..records {
        log.append(&Record::Write {
            key: Key::Str(format!("k{}", i % keys).into()),
            version: Version {
                ts: ts0 + i as u64,
                value: Some(value.clone().into()),
            },
        });
        if i % 8192 == 8191 {
            log.write_pending()
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    log.trim()
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(format!(
        "wrote {records} records ({} bytes, {} keys, {value_bytes}-byte values) to {} in {:.2} s",
        log.bytes(),
        keys.min(records),
        path.display(),
        started.elapsed().as_secs_f64()
    ))
}

#[cfg(test)]
mod tests;
