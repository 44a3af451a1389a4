//! How a simulated cluster is set up: its nodes, network, disks and
//! message latencies.

use super::Rng;
use crate::config::{ClusterConfig, NetConfig};
use crate::durability::{Flaw, Policy};
use crate::types::Micros;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long a simulated sync takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskConfig {
    /// A sync takes uniformly `sync_min_us..=sync_max_us`.
    pub sync_min_us: Micros,
    pub sync_max_us: Micros,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            sync_min_us: 100,
            sync_max_us: 1_500,
        }
    }
}

/// Everything a simulation starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    pub seed: u64,
    pub cluster: ClusterConfig,
    pub net: NetConfig,
    /// When the nodes' disks make records durable, and the group-commit
    /// and lazy-write windows, as on a native node.
    pub sync: Policy,
    #[serde(default)]
    pub disk: DiskConfig,
    /// A rule of the output gate broken on purpose, for the tests that
    /// show the sweep catches it; never set otherwise.
    #[serde(skip)]
    pub flaw: Option<Flaw>,
    /// Keep a trace of every event (the UI and `--trace` want it; sweeps
    /// do not).
    pub trace: bool,
    /// One-way latency for the named message kinds (`write`, `write_ack`,
    /// `read`, `read_reply`, ...), in place of the network's range: the
    /// staleness lab gives each leg of a request its own distribution, as
    /// the PBS model does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub latency_by_kind: BTreeMap<String, Latency>,
}

/// A latency distribution, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum Latency {
    /// Uniform in `min_us..=max_us`.
    Uniform { min_us: Micros, max_us: Micros },
    /// `min_us` plus an exponential tail of mean `mean_us`: the long tail
    /// that makes staleness in time interesting.
    Exponential { min_us: Micros, mean_us: Micros },
}

impl Latency {
    pub fn sample(&self, rng: &mut Rng) -> Micros {
        match *self {
            Latency::Uniform { min_us, max_us } => rng.range(min_us, max_us),
            Latency::Exponential { min_us, mean_us } => {
                // 1 - unit() is in (0, 1], so the logarithm is finite.
                let tail = -(1.0 - rng.unit()).ln() * mean_us as f64;
                min_us.saturating_add(tail.min(1e15) as Micros)
            }
        }
    }

    /// The mean, for labels and sanity checks.
    pub fn mean_us(&self) -> f64 {
        match *self {
            Latency::Uniform { min_us, max_us } => (min_us as f64 + max_us as f64) / 2.0,
            Latency::Exponential { min_us, mean_us } => min_us as f64 + mean_us as f64,
        }
    }
}

impl SimConfig {
    /// The classic 4-node cluster with timings that suit a simulation:
    /// milliseconds of latency, detection within half a second.
    pub fn classic(seed: u64) -> SimConfig {
        SimConfig::with_nodes(seed, 4)
    }

    pub fn with_nodes(seed: u64, n: usize) -> SimConfig {
        let mut cluster = ClusterConfig::classic(n);
        cluster.request_timeout_ms = 300;
        cluster.heartbeat_interval_ms = 100;
        cluster.failure_timeout_ms = 450;
        cluster.hint_retry_ms = 250;
        cluster.anti_entropy_interval_ms = 1_000;
        SimConfig {
            seed,
            cluster,
            net: NetConfig::default(),
            sync: Policy::batch(200),
            disk: DiskConfig::default(),
            flaw: None,
            trace: true,
            latency_by_kind: BTreeMap::new(),
        }
    }
}
