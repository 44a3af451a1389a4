//! Shows that ringside keeps its properties across several hosts: each
//! node runs in its own network namespace (its own address on a private
//! test network, a veth pair to a bridge), the cluster file names those
//! addresses, and while clients run, hosts are cut off (links down), two at
//! once, and links are slowed (tc netem delay, or a tbf rate limit where
//! netem is missing); then everything heals and the history is checked
//! (no invented values, quorum freshness, durability, convergence).
//!
//! Root only: where network namespaces cannot be made, it prints
//! "skipped: ..." and passes. Everything it creates carries this test's
//! pid in its name and is removed on drop.

mod common;

use common::*;
use ringside_core::check::check;
use ringside_core::{NodeId, Ring};
use ringside_native::cluster_file::ClusterFile;
use ringside_native::tools::chaos::{run_clients, settle, spread_keys, WorkloadOptions};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NODES: usize = 4;
const PORT: u16 = 9000;

/// Runs `ip`/`tc` with these arguments; the error holds its stderr.
fn sh(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The namespaces, bridge, veths and node processes of one test; all
/// removed on drop.
struct Hosts {
    tag: String,
    subnet: u8,
    namespaces: Vec<String>,
    bridge: Option<String>,
    nodes: Vec<Option<Child>>,
    dir: tempfile::TempDir,
}

impl Hosts {
    fn ns(&self, i: usize) -> String {
        format!("ringside-{}-{i}", self.tag)
    }
    /// The host side of node `i`'s veth pair (15 characters at most).
    fn veth(&self, i: usize) -> String {
        format!("rsv{}{i}", self.tag)
    }
    fn addr(&self, i: usize) -> String {
        format!("10.213.{}.{}:{PORT}", self.subnet, 10 + i)
    }

    /// Makes the bridge and one namespace per node; `Err` when this
    /// machine does not allow it.
    fn build(&mut self) -> Result<(), String> {
        let br = format!("rsb{}", self.tag);
        sh("ip", &["link", "add", &br, "type", "bridge"])?;
        self.bridge = Some(br.clone());
        sh("ip", &["link", "set", &br, "up"])?;
        let gw = format!("10.213.{}.1/24", self.subnet);
        sh("ip", &["addr", "add", &gw, "dev", &br])?;
        for i in 0..NODES {
            let ns = self.ns(i);
            sh("ip", &["netns", "add", &ns])?;
            self.namespaces.push(ns.clone());
            let (host, inner) = (self.veth(i), format!("rsp{}{i}", self.tag));
            sh(
                "ip",
                &["link", "add", &host, "type", "veth", "peer", "name", &inner],
            )?;
            sh("ip", &["link", "set", &inner, "netns", &ns])?;
            sh("ip", &["link", "set", &host, "master", &br])?;
            sh("ip", &["link", "set", &host, "up"])?;
            let ip = format!("10.213.{}.{}/24", self.subnet, 10 + i);
            sh("ip", &["-n", &ns, "addr", "add", &ip, "dev", &inner])?;
            sh("ip", &["-n", &ns, "link", "set", &inner, "up"])?;
            sh("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    fn cluster_file(&self) -> PathBuf {
        self.dir.path().join("cluster.toml")
    }

    /// The lines of node `i`'s log that say it gave up or lost a
    /// connection to a peer, for a reader of a run that was slow to settle.
    fn connections_lost(&self, i: usize) -> Vec<String> {
        let log = self.dir.path().join(format!("node-{i}")).join("node.log");
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("lost the connection"))
            .map(|l| format!("node {i}: {}", l.rsplit_once("  ").map_or(l, |(_, m)| m)))
            .collect()
    }

    /// Starts node `i` inside its namespace and records its pid.
    fn start(&mut self, i: usize) {
        let data = self.dir.path().join(format!("node-{i}"));
        std::fs::create_dir_all(&data).unwrap();
        let log = std::fs::File::create(data.join("node.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns(i), BIN, "node", "--id"])
            .arg(i.to_string())
            .arg("--cluster")
            .arg(self.cluster_file())
            .arg("--data-dir")
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start a node in its namespace");
        self.nodes[i] = Some(child);
    }

    fn link(&self, i: usize, up: bool) {
        sh(
            "ip",
            &["link", "set", &self.veth(i), if up { "up" } else { "down" }],
        )
        .unwrap();
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            // `ip netns exec` execs the node: this pid is the node's.
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.namespaces {
            // Deleting a namespace deletes the veth inside and its peer.
            let _ = sh("ip", &["netns", "del", ns]);
        }
        if let Some(br) = &self.bridge {
            let _ = sh("ip", &["link", "del", br]);
        }
    }
}

/// Why this machine cannot run the test, if it cannot.
fn unsupported() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces need root)".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("the `ip` command (iproute2) is missing".into());
    }
    None
}

#[test]
fn nodes_on_separate_hosts_survive_partitions_and_slow_links() {
    if let Some(why) = unsupported() {
        println!("skipped: {why}");
        return;
    }
    let started = Instant::now();
    let pid = std::process::id();
    let mut hosts = Hosts {
        tag: format!("{}", pid % 100_000),
        subnet: (1 + pid % 250) as u8,
        namespaces: vec![],
        bridge: None,
        nodes: (0..NODES).map(|_| None).collect(),
        dir: tempfile::Builder::new()
            .prefix("ringside-netns-")
            .tempdir()
            .unwrap(),
    };
    if let Err(e) = hosts.build() {
        println!("skipped: cannot build the test network here: {e}");
        return;
    }
    // The cluster file names the hosts' addresses.
    let mut file = ClusterFile::local(NODES, PORT, SECRET.into());
    for (i, n) in file.nodes.iter_mut().enumerate() {
        n.addr = hosts.addr(i);
    }
    file.cluster.heartbeat_interval_ms = 50;
    file.cluster.failure_timeout_ms = 500;
    file.cluster.request_timeout_ms = 1_000;
    file.cluster.hint_retry_ms = 200;
    file.cluster.anti_entropy_interval_ms = 1_000;
    ringside_native::cluster::supervisor::write_private(
        &hosts.cluster_file(),
        file.to_toml().as_bytes(),
    )
    .unwrap();
    for i in 0..NODES {
        hosts.start(i);
    }
    for i in 0..NODES {
        let addr = hosts.addr(i);
        wait_until(
            &format!("node {i} serves on {addr}"),
            Duration::from_secs(15),
            || Client::connect(&addr).is_ok(),
        );
    }
    let addrs: Vec<String> = (0..NODES).map(|i| hosts.addr(i)).collect();
    let probe = Client::connect(&addrs[0]).unwrap().inspect();
    assert_eq!(probe["addr"], serde_json::json!(addrs[0]));
    wait_until("node 0 sees every host up", Duration::from_secs(10), || {
        let n = Client::connect(&addrs[0]).unwrap().inspect();
        (1..NODES).all(|p| peer_state(&n, p) == "up")
    });

    let nodes: Vec<(NodeId, String)> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| (i as NodeId, a.clone()))
        .collect();
    let epoch = Instant::now();
    let seed = u64::from(pid);
    let mut opts = WorkloadOptions::new(3, seed, spread_keys(8));
    opts.connect_timeout = Duration::from_millis(500);
    let clients = run_clients(nodes.clone(), opts, epoch);
    let phase = |what: &str| println!("t={:>5.1}s  {what}", epoch.elapsed().as_secs_f64());
    std::thread::sleep(Duration::from_secs(2));
    phase("host 3 cut off (link down)");
    hosts.link(3, false);
    std::thread::sleep(Duration::from_secs(3));
    hosts.link(3, true);
    phase("host 3 back; hosts 1 and 2 cut off (no QUORUM for keys they share)");
    hosts.link(1, false);
    hosts.link(2, false);
    std::thread::sleep(Duration::from_secs(3));
    hosts.link(1, true);
    hosts.link(2, true);
    phase("hosts 1 and 2 back");
    // Latency: netem where the kernel has it, else a slow link (tbf).
    let slow: Vec<usize> = vec![0, 2];
    let mut shaped = vec![];
    let mut how = String::new();
    for &i in &slow {
        let dev = hosts.veth(i);
        let netem = sh(
            "tc",
            &[
                "qdisc", "add", "dev", &dev, "root", "netem", "delay", "50ms", "20ms",
            ],
        );
        match netem {
            Ok(()) => {
                how = "50 ms +- 20 ms delay (tc netem)".into();
                shaped.push(dev);
            }
            Err(e) => {
                let tbf = sh(
                    "tc",
                    &[
                        "qdisc", "add", "dev", &dev, "root", "tbf", "rate", "2mbit", "burst",
                        "16kb", "latency", "200ms",
                    ],
                );
                match tbf {
                    Ok(()) => {
                        how = format!("skipped netem latency ({e}); instead a 2 Mbit/s link with up to 200 ms of queueing (tc tbf)");
                        shaped.push(dev);
                    }
                    Err(e2) => {
                        how = format!("skipped the latency part: {e}; {e2}");
                    }
                }
            }
        }
    }
    phase(&format!("hosts {slow:?} slowed: {how}"));
    std::thread::sleep(Duration::from_secs(4));
    phase("host 0 cut off while slowed");
    hosts.link(0, false);
    std::thread::sleep(Duration::from_secs(2));
    hosts.link(0, true);
    for dev in &shaped {
        let _ = sh("tc", &["qdisc", "del", "dev", dev, "root"]);
    }
    phase("all links healed and fast; clients stop");
    let history = clients.finish();
    let ring = Ring::new(
        &file.cluster.partitioner,
        &file.cluster.nodes,
        file.cluster.rf,
    );
    let settled = settle(&nodes, &ring, &history, Duration::from_secs(25));
    phase(&format!(
        "settled: {} (hints left {}, keys diverging {}, waited {:.1} s)",
        settled.done(),
        settled.hints,
        settled.diverging,
        settled.waited.as_secs_f64()
    ));
    for line in &settled.hints_left {
        println!("  {line}");
    }
    for i in 0..NODES {
        for line in hosts.connections_lost(i) {
            println!("  {line}");
        }
    }
    let verdict = check(&history, settled.final_state.as_ref(), ring.rf());
    match &verdict {
        Ok(s) => println!("{}", ringside_native::tools::chaos::describe(s)),
        Err(v) => println!("VIOLATION {v}"),
    }
    assert!(settled.done(), "the cluster did not settle: {settled:?}");
    let summary = verdict.unwrap_or_else(|v| panic!("{v}"));
    assert!(summary.ok >= 50, "only {} requests succeeded", summary.ok);
    assert!(
        summary.no_reply + summary.unavailable + summary.timeout > 0,
        "the partitions were felt"
    );
    let took = started.elapsed();
    println!("took {:.1} s", took.as_secs_f64());
    assert!(took < Duration::from_secs(60), "took {took:?}");
}
