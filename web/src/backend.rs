//! Where the page's events come from. A backend owns a cluster (or a
//! recording of one), moves it forward when the page asks, carries out
//! actions, and reports everything as [`Update`]s for the
//! [`crate::state::ClusterView`] reducer. Panels never see a backend.
//!
//! - [`simulated`]: `core::sim` running in the page, from a seed; it can
//!   go back to any earlier event and fork from there (see
//!   [`crate::rewind`]); [`link`] is how its runs are shared.
//! - [`replay`]: a trace recorded by `ringside sim --trace FILE`, replayed.
//! - [`live`]: real native nodes over WebSocket: `advance` turns the
//!   frames received since the last call into updates, and `act` sends
//!   requests or asks the supervisor to crash or restart a node. What it
//!   received is recorded, so it too can go back (but not fork: the
//!   nodes live in the present).

pub mod link;
pub mod live;
pub mod replay;
pub mod simulated;

use crate::rewind::{Mark, RunState};
use crate::state::{Topology, Update};
use ringside_core::rewind::Scripted;
use ringside_core::sim::Action;
use ringside_core::{Micros, NodeId};

/// A source of cluster events. See the module docs.
pub trait Backend {
    fn topology(&self) -> Topology;
    /// Moves the clock forward by `by_us` and reports what happened.
    fn advance(&mut self, by_us: Micros) -> Vec<Update>;
    /// Moves to the next thing that happens, whenever it is.
    fn step(&mut self) -> Vec<Update>;
    /// Does what a person (or a scenario) asked.
    fn act(&mut self, action: Action) -> Result<Vec<Update>, String>;
    /// Does several things at once (a frame's share of the random load),
    /// reporting once: the updates, and why any action was refused.
    fn act_all(&mut self, actions: Vec<Action>) -> (Vec<Update>, Vec<String>) {
        let mut updates = Vec::new();
        let mut errors = Vec::new();
        for a in actions {
            match self.act(a) {
                Ok(u) => updates.extend(u),
                Err(e) => errors.push(e),
            }
        }
        (updates, errors)
    }
    /// Stops a node cleanly (a live cluster's supervisor can; a
    /// simulated node can only crash).
    fn stop(&mut self, node: NodeId) -> Result<Vec<Update>, String> {
        Err(format!(
            "node {node}: only a live cluster's nodes can be stopped; crash it instead"
        ))
    }
    /// The actions so far with their times and events, when the run can
    /// be shared (a simulated run replays from its seed and this script).
    fn script(&self) -> Option<&[Scripted]>;
    /// Keeps showing the moment shown while the source goes on without
    /// the page (a live cluster's nodes do not pause; a simulated run
    /// simply is not advanced).
    fn hold(&mut self) {}
    /// Where the run stands, when it can be rewound.
    fn run_state(&self) -> Option<RunState> {
        None
    }
    /// The marks on the run's history (requests, faults, violations).
    fn marks(&self) -> &[Mark] {
        &[]
    }
    /// The run's history up to the furthest point reached, each trace
    /// entry with the count of events processed when it was recorded
    /// (empty for a run that cannot be rewound).
    fn history(&self) -> &[(u64, ringside_core::TraceEntry)] {
        &[]
    }
    /// Adds a mark the view found (a read the checker calls a violation).
    fn mark(&mut self, _mark: Mark) {}
    /// Goes back (or forth, up to the furthest point reached) to event
    /// `event`: the updates that draw the cluster as it was then, from a
    /// reset.
    fn seek(&mut self, _event: u64) -> Result<Vec<Update>, String> {
        Err("only a simulated run can be rewound".into())
    }
}
