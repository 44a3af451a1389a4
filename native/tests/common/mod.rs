//! Shared helpers for the integration tests: a local cluster of real
//! `ringside node` processes on free loopback ports, started and crashed
//! through the `ringside cluster` commands, and a plain WebSocket client
//! speaking the client protocol. A cluster is torn down when its guard drops, even
//! when a test fails.

#![allow(dead_code)]

use ringside_native::cluster::signal::signal;
use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub const BIN: &str = env!("CARGO_BIN_EXE_ringside");
pub const SECRET: &str = "test-secret-0123456789abcdef";

/// Settings for test clusters: a fast failure detector, no anti-entropy
/// (so a test sees only the mechanism it is about).
pub const FAST: &str = "heartbeat_interval_ms = 50\nfailure_timeout_ms = 400\nrequest_timeout_ms = 1000\nhint_retry_ms = 200\nanti_entropy_interval_ms = 0\n";

/// `n` free consecutive loopback ports (see `ringside_native::ports`).
pub fn free_ports(n: usize) -> Vec<u16> {
    let base = ringside_native::ports::free_port_range(n).expect("free loopback ports");
    (base..base + n as u16).collect()
}

/// Polls `cond` until it holds or `timeout` passes; panics with `what`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A running test cluster; dropping it stops every node.
pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub addrs: Vec<String>,
}

impl TestCluster {
    /// `n` nodes with the [`FAST`] settings plus `extra` (top-level keys
    /// first, then a `[cluster]` table's lines after `cluster_extra`).
    pub fn start(n: usize) -> TestCluster {
        TestCluster::start_with(n, "", "")
    }

    /// Free ports are picked, then released, then bound by the nodes: a
    /// test running in parallel may take one in between. So a failed
    /// `cluster up` is tried again on fresh ports (its guard has already
    /// stopped what it started) before the test fails.
    pub fn start_with(n: usize, top: &str, cluster_extra: &str) -> TestCluster {
        let mut last = String::new();
        for _ in 0..3 {
            let c = TestCluster::configure(n, top, cluster_extra);
            let out = c.ringside(&["cluster", "up"]);
            if out.status.success() {
                return c;
            }
            last = text(&out);
            eprintln!("cluster up failed, trying again on fresh ports: {last}");
        }
        panic!("cluster up failed three times; last: {last}");
    }

    /// Writes the cluster file without starting anything.
    pub fn configure(n: usize, top: &str, cluster_extra: &str) -> TestCluster {
        let dir = tempfile::Builder::new()
            .prefix("ringside-test-")
            .tempdir()
            .unwrap();
        let ports = free_ports(n);
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let mut file = format!("secret = \"{SECRET}\"\n{top}\n");
        for (i, a) in addrs.iter().enumerate() {
            file.push_str(&format!("[[node]]\nid = {i}\naddr = \"{a}\"\n"));
        }
        file.push_str(&format!("[cluster]\n{FAST}{cluster_extra}"));
        std::fs::write(dir.path().join("cluster.toml"), file).unwrap();
        TestCluster { dir, addrs }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn node_dir(&self, id: usize) -> PathBuf {
        self.path().join(format!("node-{id}"))
    }

    /// Runs `ringside ARGS --data-dir DIR`.
    pub fn ringside(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(self.path())
            .output()
            .expect("run ringside")
    }

    fn cluster_cmd(&self, action: &str, id: usize) {
        let out = self.ringside(&["cluster", action, &id.to_string()]);
        assert!(
            out.status.success(),
            "cluster {action} {id} failed: {}",
            text(&out)
        );
    }

    /// SIGKILL node `id`.
    pub fn kill(&self, id: usize) {
        self.cluster_cmd("kill", id);
    }

    /// Start (or restart) node `id`; returns once it serves.
    pub fn restart(&self, id: usize) {
        self.cluster_cmd("restart", id);
    }

    /// SIGTERM node `id`.
    pub fn stop(&self, id: usize) {
        self.cluster_cmd("stop", id);
    }

    pub fn client(&self, id: usize) -> Client {
        Client::connect(&self.addrs[id]).unwrap_or_else(|e| panic!("node {id}: {e}"))
    }

    /// Node `id`'s `inspect` (the `node` object).
    pub fn inspect(&self, id: usize) -> Value {
        self.client(id).inspect()
    }

    /// Waits until node `observer` sees every node of `down` as down.
    pub fn wait_sees_down(&self, observer: usize, down: &[usize]) {
        wait_until(
            &format!("node {observer} sees {down:?} down"),
            Duration::from_secs(10),
            || {
                let n = self.inspect(observer);
                down.iter().all(|d| peer_state(&n, *d) == "down")
            },
        );
    }

    /// Waits until node `observer` sees every node of `up` as up.
    pub fn wait_sees_up(&self, observer: usize, up: &[usize]) {
        wait_until(
            &format!("node {observer} sees {up:?} up"),
            Duration::from_secs(10),
            || {
                let n = self.inspect(observer);
                up.iter().all(|d| peer_state(&n, *d) == "up")
            },
        );
    }

    pub fn log_text(&self, id: usize) -> String {
        std::fs::read_to_string(self.node_dir(id).join("node.log")).unwrap_or_default()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .args(["cluster", "down", "--data-dir"])
            .arg(self.path())
            .output();
        // Belt and braces: SIGKILL any node (or control endpoint) whose pid
        // file survived.
        let pid_files = (0..self.addrs.len())
            .map(|i| self.node_dir(i).join("node.pid"))
            .chain(std::iter::once(self.path().join("control.pid")));
        for pid_file in pid_files {
            if let Ok(pid) = std::fs::read_to_string(pid_file) {
                if let Ok(pid) = pid.trim().parse::<u32>() {
                    kill_if_it_names(pid, self.path());
                }
            }
        }
    }
}

/// SIGKILLs `pid` if its command line names `dir`: a process of the
/// test's own, never one that has since taken its pid.
pub fn kill_if_it_names(pid: u32, dir: &Path) {
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if String::from_utf8_lossy(&cmd).contains(&*dir.to_string_lossy()) {
        let _ = signal(pid, libc::SIGKILL);
    }
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty()
        && !stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
}

pub fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A peer's state in an `inspect` node object.
pub fn peer_state(node: &Value, peer: usize) -> String {
    node["peers"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["node"] == json!(peer)))
        .and_then(|p| p["state"].as_str())
        .unwrap_or("?")
        .to_string()
}

/// The value a node stores for `key` (None when absent or a tombstone).
pub fn stored(node: &Value, key: Value) -> Option<String> {
    node["data"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .and_then(|kv| kv["value"].as_str().map(str::to_string))
}

/// A plain client of the client protocol over a blocking WebSocket.
pub struct Client {
    pub ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Client {
    pub fn connect(addr: &str) -> Result<Client, String> {
        let (ws, _) =
            tungstenite::connect(format!("ws://{addr}/client")).map_err(|e| e.to_string())?;
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        }
        Ok(Client { ws, next_id: 1 })
    }

    /// Sends a raw text frame.
    pub fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).expect("send");
    }

    /// The next reply frame (events skipped).
    pub fn recv(&mut self) -> Value {
        loop {
            match self.ws.read().expect("read a frame") {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("reply is JSON");
                    if v.get("event").is_none() {
                        return v;
                    }
                }
                Message::Close(c) => panic!("connection closed: {c:?}"),
                _ => {}
            }
        }
    }

    /// Like [`Client::call`] but returns an error instead of panicking
    /// when the connection fails.
    pub fn try_call(&mut self, mut req: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        req["id"] = json!(id);
        self.ws
            .send(Message::text(req.to_string()))
            .map_err(|e| e.to_string())?;
        loop {
            match self.ws.read().map_err(|e| e.to_string())? {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).map_err(|e| e.to_string())?;
                    if v["id"] == json!(id) {
                        return Ok(v);
                    }
                }
                Message::Close(c) => return Err(format!("closed: {c:?}")),
                _ => {}
            }
        }
    }

    /// Sends `req` (an object without `id`) and returns its reply.
    pub fn call(&mut self, mut req: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        req["id"] = json!(id);
        self.send_text(&req.to_string());
        loop {
            let v = self.recv();
            if v["id"] == json!(id) {
                return v;
            }
        }
    }

    pub fn put(&mut self, key: Value, value: &str, cl: &str) -> Value {
        self.call(json!({"op": "put", "key": key, "value": value, "cl": cl}))
    }

    pub fn get(&mut self, key: Value, cl: &str) -> Value {
        self.call(json!({"op": "get", "key": key, "cl": cl}))
    }

    pub fn inspect(&mut self) -> Value {
        let r = self.call(json!({"op": "inspect"}));
        assert_eq!(r["ok"], json!(true), "inspect failed: {r}");
        r["node"].clone()
    }
}

/// The error kind of a reply, or "ok".
pub fn outcome(reply: &Value) -> String {
    if reply["ok"] == json!(true) {
        "ok".into()
    } else {
        reply["error"]["kind"].as_str().unwrap_or("?").to_string()
    }
}
