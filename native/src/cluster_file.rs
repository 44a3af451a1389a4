//! The cluster file (`cluster.toml`): who the members are and where they
//! listen, the core's [`ClusterConfig`], and the settings only native nodes
//! have (sync policy, peer secret, allowed origins, bounds).
//!
//! ```toml
//! secret = "9f1c..."            # /peer connections must carry it
//! sync = "batch"                # or "periodic", with sync_period_ms
//! sync_group_window_us = 0      # batch: least time between fsyncs under load
//! allowed_origins = []          # browser origins allowed besides localhost
//!
//! [[node]]
//! id = 0
//! addr = "127.0.0.1:9000"
//!
//! [cluster]                     # the core's ClusterConfig, minus `nodes`
//! rf = 3
//! request_timeout_ms = 2000
//! [cluster.partitioner]
//! kind = "byte_ordered"
//! tokens = [{ node = 0, token = "3fffffffffffffff" }, ...]
//! ```
//!
//! Every field but `[[node]]` has a default, so a file listing the nodes is
//! enough. Errors name the field.

use ringside_core::config::{ClusterConfig, MAX_SETTING_MS};
use ringside_core::durability::Policy;
use ringside_core::ring::Partitioner;
use ringside_core::{Config, NodeId};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;

/// The file's `sync` word (and `ringside bench --sync`): which kind of
/// [`Policy`] the node runs; [`ClusterFile::policy`] adds the timings to
/// make the policy itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Group commit: the records of one batch of inputs are written and
    /// fsynced once, before any reply or message that follows them goes
    /// out. An acknowledged write is on disk.
    Batch,
    /// Records are written at once (so a process crash loses nothing) but
    /// fsynced only every `sync_period_ms`: a power loss may lose up to that
    /// much of acknowledged writes. Faster.
    Periodic,
}

/// One member: its id and the address it listens on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    pub id: NodeId,
    /// `host:port`; 127.0.0.1 unless you mean to expose the node.
    pub addr: String,
}

/// The whole cluster file.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterFile {
    pub nodes: Vec<NodeEntry>,
    pub cluster: ClusterConfig,
    pub sync: SyncMode,
    pub sync_period_ms: u64,
    /// With batch sync, under load: the least time from one fsync's end to
    /// the start of the next, so that each covers more writes (0: none),
    /// grown while fsyncs carry many records (see
    /// [`ringside_core::durability`]). A lone request never waits for it.
    pub sync_group_window_us: u64,
    /// Shared by the members; a `/peer` connection without it is refused.
    pub secret: String,
    /// Browser origins allowed on `/client` besides localhost and
    /// 127.0.0.1 (any port), e.g. `"https://lab.example.org"`.
    pub allowed_origins: Vec<String>,
    /// Connections one node accepts at once (clients and peers).
    pub max_connections: usize,
    /// Requests one client connection may have in flight; past it the
    /// answer is `Overloaded`.
    pub max_in_flight: usize,
    /// Largest WebSocket message a node reads from a client, in bytes.
    pub max_frame_bytes: usize,
    /// The log is compacted when it holds more than
    /// `4 * (keys + hints) + compact_min_records` records.
    pub compact_min_records: u64,
}

impl ClusterFile {
    /// The sync policy the file's `sync`, `sync_period_ms` and
    /// `sync_group_window_us` describe.
    pub fn policy(&self) -> Policy {
        match self.sync {
            SyncMode::Batch => Policy::batch(self.sync_group_window_us),
            SyncMode::Periodic => Policy::periodic(self.sync_period_ms),
        }
    }
}

/// The file's shape as serde sees it; turned into [`ClusterFile`] after
/// checks.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    secret: String,
    #[serde(default = "default_sync")]
    sync: SyncMode,
    #[serde(default = "default_sync_period_ms")]
    sync_period_ms: u64,
    #[serde(default = "default_sync_group_window_us")]
    sync_group_window_us: u64,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default = "default_max_connections")]
    max_connections: usize,
    #[serde(default = "default_max_in_flight")]
    max_in_flight: usize,
    #[serde(default = "default_max_frame_bytes")]
    max_frame_bytes: usize,
    #[serde(default = "default_compact_min_records")]
    compact_min_records: u64,
    #[serde(default, rename = "node")]
    nodes: Vec<NodeEntry>,
    #[serde(default)]
    cluster: Option<toml::Table>,
}

fn default_sync() -> SyncMode {
    SyncMode::Batch
}
fn default_sync_period_ms() -> u64 {
    10
}
/// None: under load a node starts its next sync as soon as the last one
/// returns, which on the benchmark's machine moved more puts than any
/// window (see docs/durability.md).
fn default_sync_group_window_us() -> u64 {
    0
}
fn default_max_connections() -> usize {
    512
}
fn default_max_in_flight() -> usize {
    1024
}
/// A 1 MiB value, a 256-byte key, JSON escaping headroom.
fn default_max_frame_bytes() -> usize {
    2 << 20
}
fn default_compact_min_records() -> u64 {
    10_000
}

impl ClusterFile {
    /// The classic cluster: `n` nodes on 127.0.0.1 from `base_port`, with
    /// the core's defaults and the given secret.
    pub fn local(n: usize, base_port: u16, secret: String) -> ClusterFile {
        let nodes = (0..n)
            .map(|i| NodeEntry {
                id: i as NodeId,
                addr: format!("127.0.0.1:{}", base_port as usize + i),
            })
            .collect();
        ClusterFile {
            nodes,
            cluster: ClusterConfig::classic(n),
            sync: default_sync(),
            sync_period_ms: default_sync_period_ms(),
            sync_group_window_us: default_sync_group_window_us(),
            secret,
            allowed_origins: vec![],
            max_connections: default_max_connections(),
            max_in_flight: default_max_in_flight(),
            max_frame_bytes: default_max_frame_bytes(),
            compact_min_records: default_compact_min_records(),
        }
    }

    /// Reads and checks a cluster file; the error names the file and field.
    pub fn load(path: &Path) -> Result<ClusterFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read cluster file {}: {e}", path.display()))?;
        ClusterFile::parse(&text).map_err(|e| format!("cluster file {}: {e}", path.display()))
    }

    /// Parses and checks the text of a cluster file.
    pub fn parse(text: &str) -> Result<ClusterFile, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        if raw.nodes.is_empty() {
            return Err("node: the file lists no [[node]] (id, addr)".into());
        }
        let ids: Vec<NodeId> = raw.nodes.iter().map(|n| n.id).collect();
        // Start from the classic settings for this many nodes, then lay the
        // file's [cluster] table over them, so any field may be left out.
        let mut base = toml::Table::try_from(ClusterConfig::classic(ids.len()))
            .map_err(|e| format!("cluster: {e}"))?;
        base.insert(
            "nodes".into(),
            toml::Value::Array(
                ids.iter()
                    .map(|&i| toml::Value::Integer(i as i64))
                    .collect(),
            ),
        );
        base.insert(
            "partitioner".into(),
            toml::Value::try_from(Partitioner::byte_ordered_even(&ids))
                .map_err(|e| format!("cluster.partitioner: {e}"))?,
        );
        if let Some(over) = raw.cluster {
            for (k, v) in over {
                if k == "nodes" {
                    return Err(
                        "cluster.nodes: list the members as [[node]] tables (id, addr) instead"
                            .into(),
                    );
                }
                base.insert(k, v);
            }
        }
        let cluster: ClusterConfig = toml::Value::Table(base)
            .try_into()
            .map_err(|e: toml::de::Error| format!("cluster: {}", e.to_string().trim()))?;
        cluster.validate().map_err(|e| format!("cluster.{e}"))?;
        let file = ClusterFile {
            nodes: raw.nodes,
            cluster,
            sync: raw.sync,
            sync_period_ms: raw.sync_period_ms,
            sync_group_window_us: raw.sync_group_window_us,
            secret: raw.secret,
            allowed_origins: raw.allowed_origins,
            max_connections: raw.max_connections,
            max_in_flight: raw.max_in_flight,
            max_frame_bytes: raw.max_frame_bytes,
            compact_min_records: raw.compact_min_records,
        };
        file.validate()?;
        Ok(file)
    }

    /// Checks what the core does not: addresses, secret, bounds.
    pub fn validate(&self) -> Result<(), String> {
        for n in &self.nodes {
            n.addr.parse::<SocketAddr>().map_err(|_| {
                format!(
                    "node {}: addr {:?} is not an IP address and port (like 127.0.0.1:9000)",
                    n.id, n.addr
                )
            })?;
        }
        let mut addrs: Vec<&str> = self.nodes.iter().map(|n| n.addr.as_str()).collect();
        addrs.sort();
        if let Some(w) = addrs.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("node: address {} is given to two nodes", w[0]));
        }
        if self.secret.len() < 16 {
            return Err("secret: must be at least 16 characters (cluster up generates one)".into());
        }
        if self.sync == SyncMode::Periodic && self.sync_period_ms == 0 {
            return Err("sync_period_ms: must be more than 0 with sync = \"periodic\"".into());
        }
        if self.sync_period_ms > MAX_SETTING_MS {
            return Err(format!(
                "sync_period_ms: at most {MAX_SETTING_MS} (30 days), got {}",
                self.sync_period_ms
            ));
        }
        if self.sync_group_window_us > 100_000 {
            return Err(format!(
                "sync_group_window_us: at most 100000 (100 ms, which grows to at most 5 times that while syncs carry many records), got {}",
                self.sync_group_window_us
            ));
        }
        for (name, v) in [
            ("max_connections", self.max_connections),
            ("max_in_flight", self.max_in_flight),
        ] {
            if v == 0 {
                return Err(format!("{name}: must be more than 0"));
            }
        }
        if self.max_frame_bytes < 1024 {
            return Err("max_frame_bytes: must be at least 1024".into());
        }
        for o in &self.allowed_origins {
            if !o.starts_with("http://") && !o.starts_with("https://") {
                return Err(format!(
                    "allowed_origins: {o:?} is not an origin like \"https://host:port\""
                ));
            }
        }
        Ok(())
    }

    /// The file's text, as `cluster up` writes it.
    pub fn to_toml(&self) -> String {
        let mut cluster =
            toml::Table::try_from(&self.cluster).expect("a ClusterConfig serializes to TOML");
        cluster.remove("nodes");
        let raw = Raw {
            secret: self.secret.clone(),
            sync: self.sync,
            sync_period_ms: self.sync_period_ms,
            sync_group_window_us: self.sync_group_window_us,
            allowed_origins: self.allowed_origins.clone(),
            max_connections: self.max_connections,
            max_in_flight: self.max_in_flight,
            max_frame_bytes: self.max_frame_bytes,
            compact_min_records: self.compact_min_records,
            nodes: self.nodes.clone(),
            cluster: Some(cluster),
        };
        let body = toml::to_string(&raw).expect("the cluster file serializes to TOML");
        format!(
            "# ringside cluster file: members, settings and the peer secret.\n\
             # Keep it private (mode 0600): the secret lets a process join as a peer.\n{body}"
        )
    }

    /// The member with this id.
    pub fn node(&self, id: NodeId) -> Result<&NodeEntry, String> {
        self.nodes.iter().find(|n| n.id == id).ok_or_else(|| {
            let ids: Vec<NodeId> = self.nodes.iter().map(|n| n.id).collect();
            format!("node {id} is not in the cluster file (members: {ids:?})")
        })
    }

    /// The core configuration for node `id`.
    pub fn config_for(&self, id: NodeId) -> Result<Config, String> {
        self.node(id)?;
        Ok(Config::new(id, self.cluster.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123";

    #[test]
    fn round_trips() {
        let f = ClusterFile::local(4, 9000, SECRET.into());
        let text = f.to_toml();
        let back = ClusterFile::parse(&text).unwrap();
        assert_eq!(back, f);
        assert!(text.contains("3fffffffffffffff"), "{text}");
    }

    #[test]
    fn nodes_alone_are_enough() {
        let f = ClusterFile::parse(&format!(
            "secret = \"{SECRET}\"\n[[node]]\nid = 0\naddr = \"127.0.0.1:1\"\n[[node]]\nid = 1\naddr = \"127.0.0.1:2\"\n"
        ))
        .unwrap();
        assert_eq!(f.cluster.nodes, vec![0, 1]);
        assert_eq!(f.cluster.rf, 2);
        assert_eq!(f.sync, SyncMode::Batch);
        assert_eq!(f.sync_group_window_us, 0);
    }

    #[test]
    fn overrides_apply() {
        let f = ClusterFile::parse(&format!(
            "secret = \"{SECRET}\"\nsync = \"periodic\"\nsync_period_ms = 5\nsync_group_window_us = 300\n[[node]]\nid = 0\naddr = \"127.0.0.1:1\"\n[cluster]\nheartbeat_interval_ms = 50\nfailure_timeout_ms = 300\n"
        ))
        .unwrap();
        assert_eq!(f.cluster.heartbeat_interval_ms, 50);
        assert_eq!(f.sync, SyncMode::Periodic);
        assert_eq!(f.sync_group_window_us, 300);
    }

    #[test]
    fn errors_name_the_field() {
        let node = "[[node]]\nid = 0\naddr = \"127.0.0.1:1\"\n";
        let cases = [
            (format!("secret = \"{SECRET}\"\n"), "node"),
            (format!("secret = \"{SECRET}\"\n{node}[cluster]\nrf = 5\n"), "rf"),
            (format!("secret = \"{SECRET}\"\n{node}[cluster]\nbogus = 5\n"), "bogus"),
            (format!("secret = \"{SECRET}\"\nsync = \"sometimes\"\n{node}"), "sometimes"),
            (format!("secret = \"short\"\n{node}"), "secret"),
            (format!("secret = \"{SECRET}\"\n[[node]]\nid = 0\naddr = \"nowhere\"\n"), "addr"),
            (
                format!("secret = \"{SECRET}\"\n{node}[cluster]\nfailure_timeout_ms = 1\n"),
                "failure_timeout_ms",
            ),
            (
                format!("secret = \"{SECRET}\"\nsync_group_window_us = 500000\n{node}"),
                "sync_group_window_us",
            ),
            (
                format!("secret = \"{SECRET}\"\n{node}[cluster]\nfailure_timeout_ms = 18446744073709552\n"),
                "failure_timeout_ms: at most 2592000000",
            ),
            (
                format!("secret = \"{SECRET}\"\n{node}[cluster]\nhint_window_ms = 2592000001\n"),
                "hint_window_ms: at most",
            ),
            (
                format!("secret = \"{SECRET}\"\n{node}[cluster]\nanti_entropy_interval_ms = 9223372036854775807\n"),
                "anti_entropy_interval_ms",
            ),
            (
                format!("secret = \"{SECRET}\"\nsync = \"periodic\"\nsync_period_ms = 18446744073709552\n{node}"),
                "sync_period_ms: at most",
            ),
            (
                format!("secret = \"{SECRET}\"\n{node}[cluster.partitioner]\nkind = \"byte_ordered\"\ntokens = [{{ node = 0, token = \"zz\" }}]\n"),
                "token",
            ),
        ];
        for (text, needle) in cases {
            let e = ClusterFile::parse(&text).unwrap_err();
            assert!(e.contains(needle), "{text}\n=> {e}");
        }
    }
}
