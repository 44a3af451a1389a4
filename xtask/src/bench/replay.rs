//! Commit-log replay: how fast a node replays a large log, how soon it
//! serves, and how much memory it holds the keys in.

use crate::run as run_cmd;
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Writes a log of `records` distinct keys, starts one node on it, and
/// returns (records/s replayed, seconds until serving, VmRSS kB, details).
/// Works in `work/replay`, removed afterwards.
pub fn replay_and_memory(
    bin: &Path,
    records: u64,
    work: &Path,
) -> Result<(f64, f64, u64, String), String> {
    let dir = work.join("replay");
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
    let port = crate::ports::free_port_range(1)?;
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
    println!("$ {}", crate::show(&node));
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
