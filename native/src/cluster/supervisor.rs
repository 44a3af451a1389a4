//! `ringside cluster`: starts, crashes, restarts and stops a local cluster
//! by the process ids it recorded itself, never by process name.
//!
//! Layout of a data directory:
//!
//! ```text
//! <data-dir>/cluster.toml      the cluster file (mode 0600: it holds the secret)
//! <data-dir>/node-N/commit.log node N's commit log
//! <data-dir>/node-N/node.pid   the pid `cluster up`/`restart` started it as
//! <data-dir>/node-N/node.log   its output
//! <data-dir>/control.token     the control endpoint's token (mode 0600)
//! <data-dir>/control.addr      where the control endpoint listens
//! <data-dir>/control.pid       its pid; control.log its output
//! ```
//!
//! A pid file is trusted only while `/proc/PID/cmdline` still shows
//! `ringside node --id N ... --data-dir <data-dir>/node-N`: a pid whose
//! process exited, or was reused by another program, is reported stale.

use crate::cluster::layout;
use crate::cluster::signal::signal;
use crate::cluster_file::ClusterFile;
use crate::wsclient::Conn;
use ringside_core::protocol::{subscribe_request_json, DataPage, PeerState};
use ringside_core::NodeId;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CLUSTER_FILE: &str = "cluster.toml";
const PID_FILE: &str = "node.pid";
const NODE_LOG: &str = "node.log";
/// How long `up` and `restart` wait for a node to serve.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop` waits after SIGTERM before it uses SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Nodes in a new cluster file when `--nodes` is not given: the classic
/// classroom cluster.
pub const DEFAULT_NODES: usize = 4;

/// The most nodes a new cluster may have (`cluster up`, `bench`).
pub const MAX_NODES: usize = 64;

/// Checks `--nodes` for a new cluster, before anything looks for ports.
pub fn check_node_count(n: usize) -> Result<(), String> {
    if n == 0 || n > MAX_NODES {
        return Err(format!("--nodes: 1 to {MAX_NODES} nodes, got {n}"));
    }
    Ok(())
}

/// A local cluster's data directory.
pub struct Cluster {
    pub dir: PathBuf,
}

/// What a node's pid file says.
#[derive(Debug, PartialEq, Eq)]
pub enum PidState {
    /// No pid recorded.
    None,
    /// The recorded process is this node, alive.
    Running(u32),
    /// A pid is recorded but that process is gone or is something else.
    Stale(u32, String),
}

impl Cluster {
    /// The cluster in `dir`, made absolute so that recorded command lines
    /// can be checked.
    pub fn new(dir: &Path) -> Cluster {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Cluster { dir }
    }

    pub fn file_path(&self) -> PathBuf {
        self.dir.join(CLUSTER_FILE)
    }

    pub fn node_dir(&self, id: NodeId) -> PathBuf {
        self.dir.join(format!("node-{id}"))
    }

    pub fn load(&self) -> Result<ClusterFile, String> {
        if !self.file_path().exists() {
            return Err(format!(
                "no cluster in {}: {} is missing (start one with `ringside cluster up --data-dir {}`)",
                self.dir.display(),
                CLUSTER_FILE,
                self.dir.display()
            ));
        }
        ClusterFile::load(&self.file_path())
    }

    /// Writes the cluster file if there is none (with a new secret), else
    /// checks the given options agree with it; starts every node not
    /// running; waits until all serve. Returns (id, pid, addr) per node.
    pub fn up(
        &self,
        nodes: Option<usize>,
        base_port: Option<u16>,
    ) -> Result<Vec<(NodeId, u32, String)>, String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let file = if self.file_path().exists() {
            let f = self.load()?;
            // It holds the secret: a file written by hand or copied may
            // have been left readable by others.
            make_private(&self.file_path())?;
            if let Some(n) = nodes {
                if n != f.nodes.len() {
                    return Err(format!(
                        "{} already describes {} nodes, not {n}: use another --data-dir, or remove it",
                        self.file_path().display(),
                        f.nodes.len()
                    ));
                }
            }
            if let Some(p) = base_port {
                if f.nodes.first().map(|n| n.addr.clone()) != Some(format!("127.0.0.1:{p}")) {
                    return Err(format!(
                        "{} already gives node addresses {:?}, not base port {p}",
                        self.file_path().display(),
                        f.nodes.iter().map(|n| &n.addr).collect::<Vec<_>>()
                    ));
                }
            }
            f
        } else {
            let n = nodes.unwrap_or(DEFAULT_NODES);
            check_node_count(n)?;
            let base = base_port.unwrap_or(9000);
            if base as usize + n > 65536 {
                return Err(format!("--base-port: {base} + {n} nodes passes port 65535"));
            }
            let f = ClusterFile::local(n, base, new_secret()?);
            write_private(&self.file_path(), f.to_toml().as_bytes())?;
            f
        };
        let mut started = vec![];
        for n in &file.nodes {
            if let PidState::Running(pid) = self.pid_state(n.id) {
                started.push((n.id, pid, n.addr.clone(), None));
                continue;
            }
            let child = self.spawn(n.id, &[])?;
            started.push((n.id, child.id(), n.addr.clone(), Some(child)));
        }
        let mut out = vec![];
        let mut failure = None;
        let fresh: Vec<NodeId> = started
            .iter()
            .filter(|s| s.3.is_some())
            .map(|s| s.0)
            .collect();
        for (id, pid, addr, child) in started {
            if let Some(mut child) = child {
                if let Err(e) = self.wait_serving(id, &addr, Some(&mut child)) {
                    failure.get_or_insert(e);
                }
            }
            out.push((id, pid, addr));
        }
        if let Some(e) = failure {
            // Leave nothing half up: stop what this call started.
            for id in fresh {
                let _ = self.stop(id);
            }
            return Err(format!("{e}\n(stopped the nodes this command had started)"));
        }
        Ok(out)
    }

    /// The control token, made (mode 0600) if there is none yet.
    pub fn control_token(&self) -> Result<String, String> {
        let path = self.dir.join(layout::TOKEN_FILE);
        match std::fs::read_to_string(&path) {
            Ok(t) if !t.trim().is_empty() => {
                make_private(&path)?;
                Ok(t.trim().to_string())
            }
            _ => {
                let t = new_secret()?;
                write_private(&path, format!("{t}\n").as_bytes())?;
                Ok(t)
            }
        }
    }

    /// What the control pid file says, checked against `/proc` as for nodes.
    pub fn control_state(&self) -> PidState {
        let path = self.dir.join(layout::PID_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return PidState::None;
        };
        let Ok(pid) = text.trim().parse::<u32>() else {
            return PidState::Stale(0, format!("{} does not hold a pid", path.display()));
        };
        match self.is_our_process(pid, &["cluster", "control"], &self.dir) {
            Ok(()) => PidState::Running(pid),
            Err(why) => PidState::Stale(pid, why),
        }
    }

    /// Starts the control endpoint in the background unless it runs;
    /// returns its pid, address and token once it listens.
    pub fn start_control(&self) -> Result<(u32, String, String), String> {
        let token = self.control_token()?;
        let addr_path = self.dir.join(layout::ADDR_FILE);
        if let PidState::Running(pid) = self.control_state() {
            if let Ok(addr) = std::fs::read_to_string(&addr_path) {
                return Ok((pid, addr.trim().to_string(), token));
            }
            // Running, but where it listens is lost: stopped, or the new
            // one's pid file would leave it running out of reach of `down`.
            self.stop_control();
        }
        let _ = std::fs::remove_file(&addr_path);
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find the ringside executable: {e}"))?;
        let log_path = self.dir.join("control.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot open the control log: {e}"))?;
        let mut child = Command::new(exe)
            .args(["cluster", "control", "--data-dir"])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the control endpoint: {e}"))?;
        std::fs::write(self.dir.join(layout::PID_FILE), format!("{}\n", child.id()))
            .map_err(|e| format!("cannot record the control endpoint's pid: {e}"))?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(addr) = std::fs::read_to_string(&addr_path) {
                if !addr.trim().is_empty() {
                    return Ok((child.id(), addr.trim().to_string(), token));
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                let _ = std::fs::remove_file(self.dir.join(layout::PID_FILE));
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!(
                    "the control endpoint exited ({status}); {} ends:\n{}",
                    log_path.display(),
                    log.lines()
                        .rev()
                        .take(5)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
            if Instant::now() > deadline {
                return Err("the control endpoint did not start listening in time".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the control endpoint if it runs; a line saying what happened.
    pub fn stop_control(&self) -> Option<String> {
        let pid_path = self.dir.join(layout::PID_FILE);
        let line = match self.control_state() {
            PidState::None => return None,
            PidState::Stale(pid, why) => {
                format!("control endpoint: stale pid {pid} ({why}); pid file removed")
            }
            PidState::Running(pid) => {
                let _ = signal(pid, libc::SIGTERM);
                let deadline = Instant::now() + STOP_TIMEOUT;
                while self
                    .is_our_process(pid, &["cluster", "control"], &self.dir)
                    .is_ok()
                {
                    if Instant::now() > deadline {
                        let _ = signal(pid, libc::SIGKILL);
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                format!("control endpoint: stopped (pid {pid})")
            }
        };
        let _ = std::fs::remove_file(pid_path);
        let _ = std::fs::remove_file(self.dir.join(layout::ADDR_FILE));
        Some(line)
    }

    /// True when `pid` is alive and is `ringside <words...> ... --data-dir <dir>`.
    fn is_our_process(&self, pid: u32, words: &[&str], dir: &Path) -> Result<(), String> {
        is_ringside_process(pid, words, &[("--data-dir", &dir.to_string_lossy())])
    }

    /// Starts `ringside node` for `id` (with `flags` added) in the
    /// background and records its pid.
    fn spawn(&self, id: NodeId, flags: &[&str]) -> Result<Child, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find the ringside executable: {e}"))?;
        let dir = self.node_dir(id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(NODE_LOG))
            .map_err(|e| format!("cannot open {}: {e}", dir.join(NODE_LOG).display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot open the node log: {e}"))?;
        let child = Command::new(exe)
            .arg("node")
            .arg("--id")
            .arg(id.to_string())
            .arg("--cluster")
            .arg(self.file_path())
            .arg("--data-dir")
            .arg(&dir)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            // Its own process group: a Ctrl-C in the terminal that ran
            // `cluster up` does not reach the background nodes.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start node {id}: {e}"))?;
        std::fs::write(dir.join(PID_FILE), format!("{}\n", child.id()))
            .map_err(|e| format!("cannot record node {id}'s pid: {e}"))?;
        Ok(child)
    }

    /// Waits until node `id` answers `inspect`, or its process exits, or
    /// the deadline passes.
    fn wait_serving(
        &self,
        id: NodeId,
        addr: &str,
        mut child: Option<&mut Child>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let rt = runtime()?;
        loop {
            if let Some(c) = child.as_deref_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    let _ = std::fs::remove_file(self.node_dir(id).join(PID_FILE));
                    return Err(format!(
                        "node {id} exited ({status}) before serving; its log {} ends:\n{}",
                        self.node_dir(id).join(NODE_LOG).display(),
                        self.log_tail(id, 10)
                    ));
                }
            }
            let ok = rt.block_on(async {
                match Conn::connect(addr, Duration::from_millis(500)).await {
                    // A tiny request the node's loop answers itself (an
                    // `inspect` of a node holding a million keys is huge).
                    Ok(mut c) => c
                        .call(1, subscribe_request_json(1), Duration::from_millis(1000))
                        .await
                        .is_ok_and(|a| {
                            matches!(a.frame, ringside_core::protocol::ServerFrame::Ok { .. })
                        }),
                    Err(_) => false,
                }
            });
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "node {id} did not serve on {addr} within {} s; its log ends:\n{}",
                    READY_TIMEOUT.as_secs(),
                    self.log_tail(id, 10)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self, id: NodeId, lines: usize) -> String {
        let text = std::fs::read_to_string(self.node_dir(id).join(NODE_LOG)).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// What node `id`'s pid file says, checked against `/proc`.
    pub fn pid_state(&self, id: NodeId) -> PidState {
        let path = self.node_dir(id).join(PID_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return PidState::None;
        };
        let Ok(pid) = text.trim().parse::<u32>() else {
            return PidState::Stale(0, format!("{} does not hold a pid", path.display()));
        };
        match self.is_our_node(pid, id) {
            Ok(()) => PidState::Running(pid),
            Err(why) => PidState::Stale(pid, why),
        }
    }

    /// True when `pid` is alive and is `ringside node --id <id>` on this
    /// data directory.
    fn is_our_node(&self, pid: u32, id: NodeId) -> Result<(), String> {
        let node_dir = self.node_dir(id).to_string_lossy().into_owned();
        is_ringside_process(
            pid,
            &["node"],
            &[("--id", &id.to_string()), ("--data-dir", &node_dir)],
        )
    }

    /// The pid of node `id`, running; an error saying why not otherwise.
    fn running(&self, id: NodeId) -> Result<u32, String> {
        match self.pid_state(id) {
            PidState::Running(pid) => Ok(pid),
            PidState::None => Err(format!("node {id} is not running (no pid recorded)")),
            PidState::Stale(pid, why) => {
                let _ = std::fs::remove_file(self.node_dir(id).join(PID_FILE));
                Err(format!(
                    "node {id} is not running: its recorded pid {pid} is stale ({why}); removed the pid file"
                ))
            }
        }
    }

    /// SIGKILL: a crash. Returns the pid killed.
    pub fn kill(&self, id: NodeId) -> Result<u32, String> {
        self.load()?.node(id)?;
        let pid = self.running(id)?;
        signal(pid, libc::SIGKILL)?;
        self.wait_gone(pid, id, Duration::from_secs(5))?;
        let _ = std::fs::remove_file(self.node_dir(id).join(PID_FILE));
        Ok(pid)
    }

    /// SIGTERM, then SIGKILL if it has not stopped in time. Returns the pid
    /// and whether it stopped by itself.
    pub fn stop(&self, id: NodeId) -> Result<(u32, bool), String> {
        self.load()?.node(id)?;
        let pid = self.running(id)?;
        signal(pid, libc::SIGTERM)?;
        let clean = self.wait_gone(pid, id, STOP_TIMEOUT).is_ok();
        if !clean {
            signal(pid, libc::SIGKILL)?;
            self.wait_gone(pid, id, Duration::from_secs(5))?;
        }
        let _ = std::fs::remove_file(self.node_dir(id).join(PID_FILE));
        Ok((pid, clean))
    }

    /// Stops node `id` if it runs, starts it again, and returns once it
    /// serves (after replaying its log). Returns the new pid.
    pub fn restart(&self, id: NodeId) -> Result<u32, String> {
        self.restart_with(id, &[])
    }

    /// [`Cluster::restart`] with `flags` added to `ringside node`'s.
    pub fn restart_with(&self, id: NodeId, flags: &[&str]) -> Result<u32, String> {
        let file = self.load()?;
        let addr = file.node(id)?.addr.clone();
        if let PidState::Running(_) = self.pid_state(id) {
            self.stop(id)?;
        }
        let mut child = self.spawn(id, flags)?;
        self.wait_serving(id, &addr, Some(&mut child))?;
        Ok(child.id())
    }

    /// Stops every node this directory records. Returns what it did, one
    /// line per node.
    pub fn down(&self) -> Result<Vec<String>, String> {
        let file = self.load()?;
        let mut lines = vec![];
        if let Some(l) = self.stop_control() {
            lines.push(l);
        }
        let mut sent = vec![];
        for n in &file.nodes {
            match self.pid_state(n.id) {
                PidState::Running(pid) => {
                    signal(pid, libc::SIGTERM)?;
                    sent.push((n.id, pid));
                }
                PidState::None => lines.push(format!("node {}: not running", n.id)),
                PidState::Stale(pid, why) => {
                    let _ = std::fs::remove_file(self.node_dir(n.id).join(PID_FILE));
                    lines.push(format!(
                        "node {}: stale pid {pid} ({why}); pid file removed",
                        n.id
                    ));
                }
            }
        }
        for (id, pid) in sent {
            let clean = self.wait_gone(pid, id, STOP_TIMEOUT).is_ok();
            if !clean {
                signal(pid, libc::SIGKILL)?;
                self.wait_gone(pid, id, Duration::from_secs(5))?;
            }
            let _ = std::fs::remove_file(self.node_dir(id).join(PID_FILE));
            lines.push(format!(
                "node {id}: stopped (pid {pid}){}",
                if clean {
                    ""
                } else {
                    " with SIGKILL after SIGTERM timed out"
                }
            ));
        }
        Ok(lines)
    }

    fn wait_gone(&self, pid: u32, id: NodeId, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while self.is_our_node(pid, id).is_ok() {
            if Instant::now() > deadline {
                return Err(format!("node {id} (pid {pid}) is still running"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// A `nodetool status`-like table.
    pub fn status(&self) -> Result<String, String> {
        let file = self.load()?;
        let rt = runtime()?;
        let mut out = format!(
            "{:<4} {:<22} {:<6} {:<8} {:>8} {:>8}  {}\n",
            "id", "address", "state", "pid", "keys", "hints", "note"
        );
        for n in &file.nodes {
            let (pid, note) = match self.pid_state(n.id) {
                PidState::Running(pid) => (pid.to_string(), String::new()),
                PidState::None => ("-".into(), String::new()),
                PidState::Stale(pid, why) => ("-".into(), format!("stale pid {pid}: {why}")),
            };
            let inspected = rt.block_on(async {
                let mut c = Conn::connect(&n.addr, Duration::from_millis(700)).await?;
                // One key is enough: the count comes with it, and a node
                // holding millions answers at once.
                c.inspect_page(&DataPage::first(1), Duration::from_millis(1500))
                    .await
            });
            let (state, keys, hints, note) = match inspected {
                Ok(i) => {
                    let down: Vec<String> = i
                        .peers
                        .iter()
                        .filter(|p| p.state == PeerState::Down)
                        .map(|p| p.node.to_string())
                        .collect();
                    let mut note = note;
                    if !down.is_empty() {
                        if !note.is_empty() {
                            note.push_str("; ");
                        }
                        note.push_str(&format!("sees down: {}", down.join(",")));
                    }
                    (
                        "up",
                        i.data_total.to_string(),
                        i.hints_total.max(i.hints.len()).to_string(),
                        note,
                    )
                }
                Err(_) => ("down", "-".into(), "-".into(), note),
            };
            out.push_str(&format!(
                "{:<4} {:<22} {:<6} {:<8} {:>8} {:>8}  {}\n",
                n.id, n.addr, state, pid, keys, hints, note
            ));
        }
        Ok(out)
    }
}

/// True when `pid` is alive (not a zombie) and its command line is
/// `ringside <words...>` with every `flag value` pair given: a recorded pid
/// that exited, or was reused by another program, is never trusted.
/// "ringside" is a program whose name starts so, or this very executable
/// under any name (a copy renamed starts its nodes as itself, and must
/// know them again, or it would drop their pid files and leave them
/// running).
fn is_ringside_process(pid: u32, words: &[&str], pairs: &[(&str, &str)]) -> Result<(), String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|_| format!("process {pid} has exited"))?;
    // The state follows the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.trim().chars().next());
    if matches!(state, Some('Z') | Some('X')) {
        return Err(format!("process {pid} has exited"));
    }
    let mut cmdline = Vec::new();
    std::fs::File::open(format!("/proc/{pid}/cmdline"))
        .and_then(|mut f| f.read_to_end(&mut cmdline))
        .map_err(|_| format!("process {pid} has exited"))?;
    let args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let is_ringside = args.first().is_some_and(|a| {
        Path::new(a)
            .file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with("ringside"))
    }) || runs_this_executable(pid);
    let words_match = words
        .iter()
        .enumerate()
        .all(|(i, w)| args.get(i + 1).is_some_and(|a| a == w));
    // A directory is the same one however it was spelled (a trailing
    // slash, `..`, a symlink): `up` and `down` may be typed differently.
    let has = |flag: &str, value: &str| {
        args.windows(2).any(|w| {
            w[0] == flag && (w[1] == value || (flag == "--data-dir" && same_file(&w[1], value)))
        })
    };
    if is_ringside && words_match && pairs.iter().all(|(f, v)| has(f, v)) {
        Ok(())
    } else {
        Err(format!(
            "pid {pid} now belongs to another program ({})",
            args.join(" ").chars().take(80).collect::<String>()
        ))
    }
}

/// Whether process `pid` runs the same file as this process (so a
/// rebuilt binary is another file).
fn runs_this_executable(pid: u32) -> bool {
    std::env::current_exe().is_ok_and(|ours| same_file(format!("/proc/{pid}/exe"), ours))
}

/// Whether two paths name one existing file or directory: the same
/// device and inode, whatever the spelling.
fn same_file(a: impl AsRef<Path>, b: impl AsRef<Path>) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// 32 hex digits from the OS's random source.
pub fn new_secret() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom for the cluster secret: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes a file readable only by its owner (it holds the secret).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Makes an existing file readable and writable by its owner only (mode
/// 0600) if it is not already.
pub fn make_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make {} private (mode 0600): {e}", path.display()))?;
    }
    Ok(())
}

/// A small runtime for the command-line tools.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}
