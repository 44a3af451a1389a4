//! What a simulation shows about itself: messages in flight, and
//! counters for the sweep and benchmarks.

use crate::message::MsgId;
use crate::types::{Key, Micros, NodeId};
use serde::{Deserialize, Serialize};

/// A message on the wire, for drawing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InFlight {
    pub msg: MsgId,
    pub from: NodeId,
    pub to: NodeId,
    pub kind: &'static str,
    pub key: Option<Key>,
    pub sent_at: Micros,
    pub arrive_at: Micros,
    /// The network has already decided to lose it.
    pub doomed: bool,
}

impl InFlight {
    /// How far along its way the message is at `now`, `0.0..=1.0`.
    pub fn progress(&self, now: Micros) -> f64 {
        if self.arrive_at <= self.sent_at {
            return 1.0;
        }
        let p = now.saturating_sub(self.sent_at) as f64 / (self.arrive_at - self.sent_at) as f64;
        p.clamp(0.0, 1.0)
    }
}

/// What the disks and the gates saw, for the sweep's summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    pub syncs: u64,
    /// Syncs that covered more than one record (group commit).
    pub grouped_syncs: u64,
    /// Records appended for lazy writes.
    pub lazy_records: u64,
    /// Records lost by crashes (never acknowledged).
    pub lost_records: u64,
    /// Restarts that cut a torn tail, and that refused a damaged log.
    pub tails_cut: u64,
    pub refused: u64,
    /// Compactions whose new log replaced the old, and the records they
    /// carried over that were logged while their snapshot was taken.
    pub compactions: u64,
    pub kept_records: u64,
    /// Outputs that waited in a gate.
    pub held: u64,
    /// Acknowledgements and read replies that left before what they
    /// stand for was synced: each breaks durability (batch sync only).
    pub early_acks: Vec<String>,
    /// Requests (remote writes and reads) that left before the
    /// reservation of their op id was synced (batch sync only).
    pub early_requests: Vec<String>,
}

/// Counters for benchmarks and status lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    pub steps: u64,
    pub delivered: u64,
    pub dropped: u64,
    /// The nodes' events; none without a trace, when the nodes do not
    /// build them (see [`crate::Node::set_events`]).
    pub events: u64,
    pub client_requests: u64,
}
