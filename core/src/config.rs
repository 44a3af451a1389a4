//! What a node is told about its cluster: members, partitioner, replication
//! factor, and every timeout and bound. Drivers build it from a cluster file
//! (native) or from the page's settings (web).

use crate::ring::Partitioner;
use crate::types::{Micros, NodeId};
use serde::{Deserialize, Serialize};

/// The longest any of the cluster's times may be: 30 days. Each is
/// turned into microseconds and added to a clock; a month is past any
/// time a cluster needs (the hint window is 3 hours by default) and far
/// inside the clocks' range.
pub const MAX_SETTING_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// The cluster-wide settings, the same on every node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The member ids, `0..n` by convention.
    pub nodes: Vec<NodeId>,
    pub partitioner: Partitioner,
    /// Replication factor: copies of every key.
    pub rf: usize,
    /// How long a coordinator waits for replicas before answering `Timeout`.
    pub request_timeout_ms: u64,
    /// How often a node tells every peer it is alive.
    pub heartbeat_interval_ms: u64,
    /// A peer not heard from for this long is considered down.
    pub failure_timeout_ms: u64,
    /// A hint older than this is dropped undelivered (Cassandra's
    /// `max_hint_window`): the replica then needs read repair or
    /// anti-entropy to catch up. Bounds how long hints pile up.
    pub hint_window_ms: u64,
    /// Hints one node holds at most; past it, new hints are dropped (and
    /// the event says so). Bounds memory and log size.
    pub max_hints: usize,
    /// Bytes of hints (keys and values, about) one node holds at most; past
    /// it, new hints are dropped as for `max_hints`. A count alone would
    /// let 100,000 hints of 1 MiB values hold 100 GB in memory.
    pub max_hint_bytes: u64,
    /// How often undelivered hints for live peers are retried.
    pub hint_retry_ms: u64,
    /// How often a node compares its data with its replica peers and
    /// exchanges what differs (anti-entropy). 0 turns it off.
    pub anti_entropy_interval_ms: u64,
    /// Client requests one coordinator works on at once; past it the answer
    /// is `Overloaded`.
    pub max_pending_requests: usize,
    /// A read coordinator writes the winning version back to replicas that
    /// answered with an older one. Off only to study staleness as the PBS
    /// model sees it (the staleness lab).
    pub read_repair: bool,
}

impl Default for ClusterConfig {
    /// The classic classroom cluster: 4 nodes, byte-ordered tokens, RF 3.
    fn default() -> Self {
        ClusterConfig::classic(4)
    }
}

impl ClusterConfig {
    /// `n` nodes with evenly spaced byte-ordered tokens, RF `min(3, n)`.
    pub fn classic(n: usize) -> ClusterConfig {
        let nodes: Vec<NodeId> = (0..n as NodeId).collect();
        ClusterConfig {
            partitioner: Partitioner::byte_ordered_even(&nodes),
            nodes,
            rf: n.min(3),
            request_timeout_ms: 2_000,
            heartbeat_interval_ms: 200,
            failure_timeout_ms: 1_000,
            hint_window_ms: 3 * 60 * 60 * 1000,
            max_hints: 100_000,
            max_hint_bytes: 128 << 20,
            hint_retry_ms: 1_000,
            anti_entropy_interval_ms: 10_000,
            max_pending_requests: 10_000,
            read_repair: true,
        }
    }

    /// Checks the settings hang together; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.nodes.is_empty() {
            return Err("nodes: a cluster needs at least one node".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for id in &self.nodes {
            if !seen.insert(*id) {
                return Err(format!("nodes: node id {id} appears twice"));
            }
        }
        if self.rf == 0 {
            return Err("rf: the replication factor must be at least 1".into());
        }
        if self.rf > self.nodes.len() {
            return Err(format!(
                "rf: replication factor {} is more than the {} nodes",
                self.rf,
                self.nodes.len()
            ));
        }
        for (name, v) in [
            ("request_timeout_ms", self.request_timeout_ms),
            ("heartbeat_interval_ms", self.heartbeat_interval_ms),
            ("failure_timeout_ms", self.failure_timeout_ms),
            ("hint_retry_ms", self.hint_retry_ms),
        ] {
            if v == 0 {
                return Err(format!("{name}: must be more than 0"));
            }
        }
        for (name, v) in [
            ("request_timeout_ms", self.request_timeout_ms),
            ("heartbeat_interval_ms", self.heartbeat_interval_ms),
            ("failure_timeout_ms", self.failure_timeout_ms),
            ("hint_window_ms", self.hint_window_ms),
            ("hint_retry_ms", self.hint_retry_ms),
            ("anti_entropy_interval_ms", self.anti_entropy_interval_ms),
        ] {
            if v > MAX_SETTING_MS {
                return Err(format!(
                    "{name}: at most {MAX_SETTING_MS} (30 days), got {v}"
                ));
            }
        }
        if self.failure_timeout_ms <= self.heartbeat_interval_ms {
            return Err(format!(
                "failure_timeout_ms: {} must be more than heartbeat_interval_ms ({})",
                self.failure_timeout_ms, self.heartbeat_interval_ms
            ));
        }
        if self.max_pending_requests == 0 {
            return Err("max_pending_requests: must be more than 0".into());
        }
        self.partitioner.validate(&self.nodes)
    }
}

/// One node's configuration: who it is, and the cluster it is in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub id: NodeId,
    pub cluster: ClusterConfig,
}

impl Config {
    pub fn new(id: NodeId, cluster: ClusterConfig) -> Config {
        Config { id, cluster }
    }
}

/// The network's behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// One-way latency is uniform in `latency_min_us..=latency_max_us`.
    pub latency_min_us: Micros,
    pub latency_max_us: Micros,
    /// Fraction of messages lost, `0.0..=1.0`.
    pub drop_probability: f64,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency_min_us: 1_000,
            latency_max_us: 5_000,
            drop_probability: 0.0,
        }
    }
}
