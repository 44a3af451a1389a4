//! The command-line tools a teacher uses: the console, `cluster status`
//! with stale pid files, the inspector, config errors and the bench.

mod common;

use common::*;
use serde_json::json;
use std::io::Write;
use std::process::{Command, Stdio};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Shows that `ringside client --exec` runs lines in the seed's syntax,
/// prints readable replies, reports a bad line in one line and goes on,
/// and exits nonzero when a line failed.
#[test]
fn console_exec_runs_seed_syntax() {
    let c = TestCluster::start(4);
    let out = c.ringside(&[
        "client",
        "--node",
        "1",
        "--exec",
        "put 137 value137 quorum",
        "--exec",
        "get 137 quorum",
        "--exec",
        "delete 137 all",
        "--exec",
        "get 137 one",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let s = stdout(&out);
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[0].starts_with("ok (ts "), "{s}");
    assert!(lines[1].starts_with("137 = value137 (ts "), "{s}");
    assert!(lines[2].starts_with("ok (ts "), "{s}");
    assert_eq!(lines[3], "(no value)", "{s}");

    let out = c.ringside(&[
        "client",
        "--exec",
        "get 137 some",
        "--exec",
        "frob",
        "--exec",
        "put 1 one",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = stdout(&out);
    let lines: Vec<&str> = s.lines().collect();
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("some"),
        "{s}"
    );
    assert!(lines[1].starts_with("error: unknown command"), "{s}");
    assert!(lines[2].starts_with("ok (ts "), "{s}");

    let out = c.ringside(&["client", "--json", "--exec", "get 1 quorum"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["kv"]["value"], json!("one"));
}

/// Shows that the console reads lines from standard input (no terminal)
/// and stops at `exit`.
#[test]
fn console_reads_stdin_until_exit() {
    let c = TestCluster::start(4);
    let mut child = Command::new(BIN)
        .args(["client", "--node", "2", "--data-dir"])
        .arg(c.path())
        .env("HOME", c.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"put 9 nine quorum\nhelp\nget 9 quorum\nexit\nget 9 one\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let s = stdout(&out);
    assert!(s.contains("9 = nine (ts "), "{}", text(&out));
    assert!(s.contains("put KEY VALUE"), "{s}");
    assert_eq!(s.matches("9 = nine").count(), 1, "stopped at exit: {s}");
}

/// Shows that `cluster status` reports up and down nodes with keys and
/// hints, and that a pid file naming another program is detected as stale
/// and never signalled.
#[test]
fn status_and_stale_pid_files() {
    let c = TestCluster::start(4);
    assert_eq!(outcome(&c.client(0).put(json!(200), "x", "ALL")), "ok");
    c.kill(3);
    c.wait_sees_down(0, &[3]);
    assert_eq!(outcome(&c.client(0).put(json!(201), "y", "QUORUM")), "ok");
    let out = c.ringside(&["cluster", "status"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = stdout(&out);
    let row = |id: &str| {
        s.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("no row for {id}: {s}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(row("0")[2], "up", "{s}");
    assert_eq!(row("0")[4], "2", "keys on node 0: {s}");
    assert_eq!(row("0")[5], "1", "hints on node 0: {s}");
    assert_eq!(row("3")[2], "down", "{s}");

    // A pid file pointing at this test process: not a ringside node.
    let me = std::process::id();
    std::fs::write(c.node_dir(3).join("node.pid"), format!("{me}\n")).unwrap();
    let s = stdout(&c.ringside(&["cluster", "status"]));
    assert!(s.contains(&format!("stale pid {me}")), "{s}");
    let out = c.ringside(&["cluster", "kill", "3"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("stale"), "{}", text(&out));
    // And a pid of a process that has exited.
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(c.node_dir(3).join("node.pid"), format!("{gone_pid}\n")).unwrap();
    let out = c.ringside(&["cluster", "stop", "3"]);
    assert!(text(&out).contains("exited"), "{}", text(&out));
    c.restart(3);
    let s = stdout(&c.ringside(&["cluster", "status"]));
    assert_eq!(s.matches(" up ").count(), 4, "{s}");
}

/// Shows that `ringside inspect` lays the nodes side by side, flags a key
/// whose replicas disagree, and shows an unreachable node as down.
#[test]
fn inspect_flags_disagreeing_replicas() {
    let c = TestCluster::start(4);
    assert_eq!(outcome(&c.client(0).put(json!(10), "same", "ALL")), "ok");
    c.kill(2);
    c.wait_sees_down(1, &[2]);
    assert_eq!(outcome(&c.client(1).put(json!(137), "v", "QUORUM")), "ok");
    // Node 1 holds the hint for node 2; it crashes before handing it off.
    c.kill(1);
    c.restart(2);
    let out = c.ringside(&["inspect"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = stdout(&out);
    let line137 = s.lines().find(|l| l.starts_with("137")).unwrap_or("");
    assert!(line137.contains("disagree"), "{s}");
    let line10 = s.lines().find(|l| l.starts_with("10 ")).unwrap_or("");
    assert!(!line10.contains("<<"), "{s}");
    assert!(s.contains("node 1: down"), "{s}");

    let out = c.ringside(&["inspect", "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["flagged"][0]["key"], json!(137), "{v}");
    assert_eq!(v["nodes"][1]["up"], json!(false));

    // From one address, the others are found through its inspect.
    let out = Command::new(BIN)
        .args(["inspect", "--addr", &c.addrs[0]])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("node 3"), "{}", text(&out));
}

/// Shows that a bad cluster file stops `ringside node` with exit code 2 and
/// an error naming the field.
#[test]
fn bad_cluster_file_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("secret = \"0123456789abcdef0\"\n[[node]]\nid = 0\naddr = \"127.0.0.1:1\"\n[cluster]\nrf = 3\n", "rf"),
        ("secret = \"0123456789abcdef0\"\n[[node]]\nid = 0\naddr = \"127.0.0.1:1\"\n[cluster]\nheartbeat_ms = 3\n", "heartbeat_ms"),
        ("secret = \"0123456789abcdef0\"\n[[node]]\nid = 0\naddr = \"here\"\n", "addr"),
        ("[[node]]\nid = 0\naddr = \"127.0.0.1:1\"\n", "secret"),
        ("secret = \"0123456789abcdef0\"\n[[node]]\nid = 1\naddr = \"127.0.0.1:1\"\n", "node 0"),
    ];
    for (file, needle) in cases {
        let path = dir.path().join("cluster.toml");
        std::fs::write(&path, file).unwrap();
        let out = Command::new(BIN)
            .args(["node", "--id", "0", "--cluster"])
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path().join("node-0"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{file}\n{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{file}\n=> {err}");
    }
}

/// Shows that the periodic sync policy serves, and that a process crash
/// (not a power loss) loses nothing under it.
#[test]
fn periodic_sync_survives_a_process_crash() {
    let c = TestCluster::start_with(4, "sync = \"periodic\"\nsync_period_ms = 20", "");
    let mut cl = c.client(0);
    for k in 0..20 {
        assert_eq!(outcome(&cl.put(json!(k), "p", "ONE")), "ok");
    }
    c.kill(0);
    c.restart(0);
    let n0 = c.inspect(0);
    assert_eq!(n0["data"].as_array().unwrap().len(), 20, "{n0}");
}

/// Shows that `ringside bench` runs against a running cluster and reports
/// throughput and latency percentiles.
#[test]
fn bench_reports_throughput_and_latency() {
    let c = TestCluster::start(4);
    let out = c.ringside(&["bench", "--ops", "100", "--clients", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = stdout(&out);
    for phase in ["put:", "get:"] {
        let line = s
            .lines()
            .find(|l| l.starts_with(phase))
            .unwrap_or_else(|| panic!("{s}"));
        assert!(line.contains("200 ok, 0 failed"), "{s}");
        assert!(line.contains("p50") && line.contains("p99"), "{s}");
    }
}

/// Shows that `ringside bench --timeline` follows one client's puts through
/// the nodes of the cluster it starts and prints each step's time, and
/// that it refuses what it cannot follow.
#[test]
fn bench_timeline_follows_puts_step_by_step() {
    let out = Command::new(BIN)
        .args(["bench", "--clients", "1", "--ops", "200", "--mix", "100"])
        .args(["--sync", "batch", "--timeline"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let s = stdout(&out);
    let head = s
        .lines()
        .find(|l| l.starts_with("timeline: "))
        .unwrap_or_else(|| panic!("{s}"));
    let followed: usize = head["timeline: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Three keys in four have the coordinator among their replicas.
    assert!(followed >= 50, "{s}");
    assert!(head.contains("of 200 requests followed"), "{s}");
    // The steps: label, then p25, p50 and p75 in microseconds.
    let p50 = |label: &str| -> f64 {
        let line = s
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("no {label:?} in {s}"));
        let f: Vec<f64> = line
            .split_whitespace()
            .rev()
            .take(3)
            .map(|x| x.parse().unwrap())
            .collect();
        assert!(f[2] <= f[1] && f[1] <= f[0], "{line}");
        f[1]
    };
    let write = p50("replica: its commit-log write");
    let whole = p50("the whole request, as the client saw it");
    assert!(write > 0.0, "{s}");
    // Each request holds its replica's write, so its median does too.
    assert!(whole >= write, "{s}");
    // The puts whose coordinator is not a replica (keys 0..200 are
    // spread over the ring) get a line of their own: only their whole
    // time.
    let others = p50("the whole request, not followed");
    assert!(others > 0.0, "{s}");
    assert_eq!(s.lines().filter(|l| l.starts_with("  ")).count(), 12, "{s}");

    let out = Command::new(BIN)
        .args(["bench", "--clients", "2", "--ops", "10", "--timeline"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--timeline follows one request at a time"),
        "{}",
        text(&out)
    );
}

/// Shows that `cluster up` writes a private cluster file with a generated
/// secret, prints one line per node, and `cluster down` stops them all.
#[test]
fn cluster_up_writes_a_private_file_and_down_stops_all() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let base = free_ports(2)[0];
    let run = |args: &[&str]| in_data_dir(args, dir.path());
    let out = run(&[
        "cluster",
        "up",
        "--nodes",
        "2",
        "--base-port",
        &base.to_string(),
    ]);
    let guard = scopeguard(dir.path().to_path_buf());
    assert!(out.status.success(), "{}", text(&out));
    let s = stdout(&out);
    assert!(
        s.contains("node 0  pid ") && s.contains(&format!("port {base}")),
        "{s}"
    );
    assert!(s.contains(&format!("port {}", base + 1)), "{s}");
    let file = dir.path().join("cluster.toml");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let toml = std::fs::read_to_string(&file).unwrap();
    let secret = toml.lines().find(|l| l.starts_with("secret")).unwrap();
    assert!(secret.len() > 30, "{secret}");
    let out = run(&["cluster", "down"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = stdout(&out);
    assert_eq!(said.matches("node ").count(), 2, "{}", text(&out));
    assert_eq!(
        said.matches(": stopped").count(),
        3,
        "two nodes and the control endpoint: {}",
        text(&out)
    );
    assert!(said.contains("control endpoint: stopped"), "{said}");
    drop(guard);
}

#[test]
fn cluster_up_with_base_port_auto_takes_free_ports_in_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| in_data_dir(args, dir.path());
    for (bad, said) in [("soon", "\"soon\""), ("0", "\"0\"")] {
        let out = run(&["cluster", "up", "--base-port", bad]);
        assert!(!out.status.success());
        assert!(
            text(&out).contains(&format!("expected a port (1 to 65535) or auto, got {said}")),
            "{}",
            text(&out)
        );
    }
    let out = run(&["cluster", "up", "--nodes", "2", "--base-port", "auto"]);
    let guard = scopeguard(dir.path().to_path_buf());
    assert!(out.status.success(), "{}", text(&out));
    let s = stdout(&out);
    let ports: Vec<u16> = s
        .lines()
        .filter_map(|l| {
            l.split("  port ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(ports.len(), 2, "{s}");
    assert_eq!(ports[1], ports[0] + 1, "{s}");
    assert_ne!(ports[0], 9000, "not the default port: {s}");
    // Up again with auto: the cluster file's ports stand.
    let again = run(&["cluster", "up", "--base-port", "auto"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        stdout(&again).contains(&format!("port {}", ports[0])),
        "{}",
        text(&again)
    );
    drop(guard);
}

/// Shows that a copy of the binary under a name of its own manages the
/// cluster it starts: `cluster status` finds every process it started
/// (none stale) and `cluster down` stops them all. A pid check that knew
/// only programs named ringside would take them for other programs:
/// `down` would remove their pid files and leave them running.
#[test]
fn a_renamed_copy_of_the_binary_manages_its_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("kv");
    std::fs::copy(BIN, &bin).unwrap();
    let data = dir.path().join("data");
    up_then_status_and_down(&bin, &data, &data);
}

/// `cluster up` with the data directory spelled one way (a trailing
/// slash) and `status` and `down` with it spelled another (through a
/// symlink) find the same processes: a check that compared the spellings
/// would take them for other programs, and `down` would remove their pid
/// files and leave them running.
#[test]
fn a_data_directory_spelled_two_ways_is_one_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let mut slashed = data.clone().into_os_string();
    slashed.push("/");
    up_then_status_and_down(
        std::path::Path::new(BIN),
        std::path::Path::new(&slashed),
        &link,
    );
}

/// Runs `cluster up` (two nodes, free ports) through `bin` with `up_dir`,
/// then `cluster status` and `cluster down` with `later_dir`, the same
/// directory: status shows every pid up printed and none stale, down
/// stops all three processes, and they are gone within 10 s. A guard
/// SIGKILLs, by pid, any left whose command line names `up_dir`.
fn up_then_status_and_down(
    bin: &std::path::Path,
    up_dir: &std::path::Path,
    later_dir: &std::path::Path,
) {
    let run = |args: &[&str], data: &std::path::Path| {
        Command::new(bin)
            .args(args)
            .arg("--data-dir")
            .arg(data)
            .output()
            .unwrap()
    };
    let out = run(
        &["cluster", "up", "--nodes", "2", "--base-port", "auto"],
        up_dir,
    );
    // The pids `up` printed, stopped by pid whatever the test finds.
    let pids = printed_pids(&out);
    let _guard = KillOnDrop(pids.clone(), up_dir.to_path_buf());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        pids.len(),
        3,
        "two nodes and the control endpoint: {}",
        text(&out)
    );

    let status = run(&["cluster", "status"], later_dir);
    let said = stdout(&status);
    assert!(!said.contains("stale"), "{}", text(&status));
    for pid in &pids[..2] {
        assert!(
            said.contains(&pid.to_string()),
            "pid {pid} not shown: {said}"
        );
    }

    let down = run(&["cluster", "down"], later_dir);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(
        stdout(&down).matches(": stopped").count(),
        3,
        "{}",
        text(&down)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let left: Vec<_> = pids.iter().filter(|p| alive(**p)).collect();
    assert!(left.is_empty(), "still running after down: {left:?}");
}

/// The pids `cluster up` printed ("pid N" for each node and the control
/// endpoint), in order.
fn printed_pids(out: &std::process::Output) -> Vec<u32> {
    stdout(out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "pid")
        .filter_map(|w| w[1].parse().ok())
        .collect()
}

/// SIGKILLs on drop those of the pids whose command line still names the
/// directory, so a failed assertion leaves no process behind.
struct KillOnDrop(Vec<u32>, std::path::PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            kill_if_it_names(pid, &self.1);
        }
    }
}

/// Runs `ringside ARGS --data-dir DIR` to its end.
fn in_data_dir(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

/// Runs `cluster down` on drop, so a failed assertion leaves no nodes.
struct DownOnDrop(std::path::PathBuf);

fn scopeguard(dir: std::path::PathBuf) -> DownOnDrop {
    DownOnDrop(dir)
}

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        // Never a panic here: this may run while a test unwinds.
        let _ = Command::new(BIN)
            .args(["cluster", "down", "--data-dir"])
            .arg(&self.0)
            .output();
    }
}

/// Flags past their bounds are refused by name before anything starts:
/// the sim's settling time, chaos's run and settle times, and the node
/// count of a cluster whose ports `up` would look for.
#[test]
fn flags_out_of_range_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["sim", "--faults", "--settle-ms", "18446744073709552"],
            "--settle-ms",
        ),
        (&["chaos", "--seconds", "18446744073709551615"], "--seconds"),
        (&["chaos", "--settle-seconds", "100000"], "--settle-seconds"),
        (
            &[
                "cluster",
                "up",
                "--nodes",
                "100000",
                "--base-port",
                "auto",
                "--data-dir",
                data,
            ],
            "--nodes: 1 to 64",
        ),
        (
            &["bench", "--nodes", "65", "--ops", "1"],
            "--nodes: 1 to 64",
        ),
    ];
    for (args, needle) in cases {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(needle), "{args:?}: {}", text(&out));
    }
    assert!(
        !dir.path().join("data").join("cluster.toml").exists(),
        "nothing was written"
    );
}

/// `cluster up` again after `control.addr` was removed by hand: the
/// control endpoint that was running is stopped before a new one starts,
/// so none is left running without a pid file, out of reach of `down`.
#[test]
fn a_lost_control_address_is_not_a_second_control_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = || {
        in_data_dir(
            &["cluster", "up", "--nodes", "1", "--base-port", "auto"],
            &data,
        )
    };
    let first = up();
    let first_pids = printed_pids(&first);
    let _guard = KillOnDrop(first_pids.clone(), data.clone());
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(
        first_pids.len(),
        2,
        "a node and the control endpoint: {}",
        text(&first)
    );
    std::fs::remove_file(data.join("control.addr")).unwrap();

    let second = up();
    let second_pids = printed_pids(&second);
    let _guard2 = KillOnDrop(second_pids.clone(), data.clone());
    assert!(second.status.success(), "{}", text(&second));
    let (old, new) = (first_pids[1], second_pids[1]);
    assert_ne!(old, new, "a new control endpoint: {}", text(&second));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive(old) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !alive(old),
        "the first control endpoint, pid {old}, still runs"
    );
    let down = in_data_dir(&["cluster", "down"], &data);
    assert!(down.status.success(), "{}", text(&down));
}
