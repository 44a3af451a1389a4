//! Commit-log replay: how fast a node replays a large log, how soon it
//! serves, how much memory it holds the keys in, the longest turn of its
//! thread, and how long it takes to stop (a restart is a stop, then a
//! replay).

use crate::run as run_cmd;
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What one node measured on a log of distinct keys.
pub struct Replayed {
    pub records: u64,
    /// Records replayed per second, as the node logs it.
    pub rate: f64,
    /// From spawning the node until it answered a get.
    pub serve_s: f64,
    pub rss_kb: u64,
    /// The longest turn of the node's thread over its life (the node
    /// logs it when it stops); none if it did not stop in time.
    pub longest_turn_ms: Option<f64>,
    /// From SIGTERM until the node exited; none if it did not stop in
    /// time.
    pub stop_s: Option<f64>,
    /// The node's own replay line, shortened.
    pub line: String,
}

impl Replayed {
    pub fn bytes_per_key(&self) -> f64 {
        self.rss_kb as f64 * 1024.0 / self.records as f64
    }
}

/// Writes a log of `records` distinct keys, starts one node on it, waits
/// until it serves, then stops it. Works in `work/replay`, removed
/// afterwards.
pub fn replay_and_memory(bin: &Path, records: u64, work: &Path) -> Result<Replayed, String> {
    let dir = work.join("replay");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = replay_in(bin, &dir, records);
    let _ = fs::remove_dir_all(&dir);
    result
}

/// A node we started; killed (by its pid) when dropped.
struct NodeProcess(Child);

impl NodeProcess {
    /// Asks the node to stop (SIGTERM, by its pid) and waits for it up to
    /// `within`; false if it is still running then.
    fn stop(&mut self, within: Duration) -> bool {
        let Ok(pid) = libc::pid_t::try_from(self.0.id()) else {
            return false;
        };
        // SAFETY: kill(2) with a pid we spawned and have not reaped.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return false;
        }
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn replay_in(bin: &Path, dir: &Path, records: u64) -> Result<Replayed, String> {
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
    let mut child = NodeProcess(
        node.spawn()
            .map_err(|e| format!("cannot start the node: {e}"))?,
    );
    let deadline = started + Duration::from_secs(60);
    let sock: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    loop {
        // A client is a process to start, which takes CPU from the replay
        // it waits for, so polling with clients slows what it measures; a
        // connect costs next to nothing, and the node opens its port only
        // once it has replayed.
        let listening =
            std::net::TcpStream::connect_timeout(&sock, Duration::from_millis(200)).is_ok();
        let ok = listening
            && Command::new(bin)
                .args(["client", "--addr", &addr, "--exec", "get k1 one"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if ok {
            break;
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!(
                "the node exited ({status}) before it served; its log is {}",
                log_path.display()
            ));
        }
        if Instant::now() > deadline {
            return Err("the node did not answer a get within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(10));
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
    let stopping = Instant::now();
    let stopped = child.stop(Duration::from_secs(30));
    let stop_s = stopped.then(|| stopping.elapsed().as_secs_f64());
    let longest_turn_ms = if stopped {
        longest_turn(&fs::read_to_string(&log_path).unwrap_or_default())
    } else {
        None
    };
    drop(child);
    Ok(Replayed {
        records,
        rate,
        serve_s,
        rss_kb,
        longest_turn_ms,
        stop_s,
        line: format!("{records} records replayed in {ms} ms"),
    })
}

/// The same figures at each of `sizes` (records, all distinct keys), as
/// a table: whether replay, time to serve, memory per key, the longest
/// turn and the time to stop stay flat as the data grows.
pub fn curve(bin: &Path, sizes: &[u64], work: &Path) -> Result<String, String> {
    let mut rows = Vec::new();
    for (i, &records) in sizes.iter().enumerate() {
        crate::step(&format!(
            "curve {}/{}: {records} records, {records} keys of 100 bytes",
            i + 1,
            sizes.len()
        ));
        rows.push(replay_and_memory(bin, records, work)?);
    }
    let mut out = String::from(
        "records (keys)   replay records/s   serving after   VmRSS MB   B per key   longest turn   stopped after\n",
    );
    for r in &rows {
        let turn = r
            .longest_turn_ms
            .map_or("not reported".to_string(), |ms| format!("{ms:.1} ms"));
        let stop = r
            .stop_s
            .map_or("not in 30 s".to_string(), |s| format!("{s:.2} s"));
        out.push_str(&format!(
            "{:>14}   {:>17.0}   {:>11.2} s   {:>8.1}   {:>9.0}   {turn:>12}   {stop:>13}\n",
            r.records,
            r.rate,
            r.serve_s,
            r.rss_kb as f64 / 1024.0,
            r.bytes_per_key(),
        ));
    }
    Ok(out)
}

/// The longest turn a stopped node's log reports, in milliseconds.
fn longest_turn(log: &str) -> Option<f64> {
    let line = log.lines().rev().find(|l| l.contains("the longest turn"))?;
    let (_, after) = line.split_once(" took ")?;
    after.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::longest_turn;

    #[test]
    fn the_longest_turn_is_read_from_the_nodes_last_report() {
        let log = "INFO x: started\nINFO ringside_native::node::driver::stalls: the longest turn of the node's thread took 8.9 ms\n";
        assert_eq!(longest_turn(log), Some(8.9));
        assert_eq!(longest_turn("INFO x: started\n"), None);
    }
}
