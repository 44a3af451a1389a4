//! What a person or a script does to a simulated cluster.

use crate::message::Request;
use crate::types::{Micros, NodeId};
use serde::{Deserialize, Serialize};

/// The longest one-way latency a person may set: a minute. A longer one
/// shows nothing a minute does not, and keeps every delivery time far
/// inside the simulated clock's range.
pub const MAX_LATENCY_US: Micros = 60_000_000;

/// The furthest a person may set a clock from true time, step it, or
/// suspend a node: a day, far past any failure timeout and far inside
/// the clocks' range.
pub const MAX_CLOCK_SHIFT_US: Micros = 86_400_000_000;

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

impl Action {
    /// Whether the action's amounts are in range (see [`MAX_LATENCY_US`]
    /// and [`MAX_CLOCK_SHIFT_US`]); the error names the amount, in the
    /// milliseconds and percent people type. Node ids are the cluster's to
    /// check.
    pub fn check(&self) -> Result<(), String> {
        let ms = |us: u128| us / 1000;
        let shift = |what: &str, us: i128| {
            if us.unsigned_abs() > u128::from(MAX_CLOCK_SHIFT_US) {
                Err(format!(
                    "{what}: at most {} ms (a day) either way, got {} ms",
                    ms(MAX_CLOCK_SHIFT_US.into()),
                    us / 1000
                ))
            } else {
                Ok(())
            }
        };
        match self {
            Action::SetLatency { min_us, max_us } => {
                let longest = (*min_us).max(*max_us);
                if longest > MAX_LATENCY_US {
                    return Err(format!(
                        "latency: at most {} ms, got {} ms",
                        ms(MAX_LATENCY_US.into()),
                        ms(longest.into())
                    ));
                }
                Ok(())
            }
            Action::SetDropProbability { p } if !(0.0..=1.0).contains(p) => {
                Err(format!("drop rate: 0 to 100%, got {}%", p * 100.0))
            }
            Action::SetSkew { skew_us, .. } => shift("skew", (*skew_us).into()),
            Action::StepClock { by_us, .. } => shift("clock step", (*by_us).into()),
            Action::Suspend { us, .. } => shift("suspend", (*us).into()),
            _ => Ok(()),
        }
    }
}
