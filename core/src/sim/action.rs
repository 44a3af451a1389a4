//! What a person or a script does to a simulated cluster.

use crate::message::Request;
use crate::types::{Micros, NodeId};
use serde::{Deserialize, Serialize};

/// Something a person (or a script) does to the simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A client sends `request` to coordinator `node`.
    Submit {
        node: NodeId,
        request: Request,
    },
    /// The node's process dies: memory and unsynced records are lost.
    Crash {
        node: NodeId,
    },
    /// The node starts again from the records that survived.
    Restart {
        node: NodeId,
    },
    /// Messages between `a` and `b` are lost, both ways.
    Cut {
        a: NodeId,
        b: NodeId,
    },
    Heal {
        a: NodeId,
        b: NodeId,
    },
    /// Cut every link between the two sides.
    Partition {
        side_a: Vec<NodeId>,
        side_b: Vec<NodeId>,
    },
    /// Heal every link.
    HealAll,
    SetLatency {
        min_us: Micros,
        max_us: Micros,
    },
    SetDropProbability {
        p: f64,
    },
    /// The node's clock runs `skew_us` ahead (negative: behind).
    SetSkew {
        node: NodeId,
        skew_us: i64,
    },
    /// The clock of `node` (every node's when `None`) jumps by `by_us`,
    /// forward or back.
    StepClock {
        node: Option<NodeId>,
        by_us: i64,
    },
    /// `node` (every node when `None`) is suspended for `us`: it handles
    /// nothing meanwhile, and its clock, counted from a monotonic clock
    /// that paused, comes back `us` behind.
    Suspend {
        node: Option<NodeId>,
        us: Micros,
    },
    /// Every node's process dies at once.
    CrashAll,
    /// One byte of a stopped node's commit log flips: the one at `pick`
    /// modulo the log's length.
    CorruptLog {
        node: NodeId,
        pick: u64,
    },
    /// The operator puts back an undamaged copy of a node's log.
    RestoreLog {
        node: NodeId,
    },
    /// A live node compacts its commit log: it takes its snapshot a
    /// slice at a time while it goes on serving, then puts it, with what
    /// it logged meanwhile, in the log's place.
    Compact {
        node: NodeId,
    },
}
