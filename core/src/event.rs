//! What observers see: the events a node reports as it works, the events
//! around the nodes (crashes, cuts, clients), and the trace line that
//! carries either with its time. The simulator, the page's backends and
//! the native node's subscribers all speak this one vocabulary, so a live
//! cluster's happenings need not pose as a simulator's.

use crate::check::Outcome;
use crate::config::NetConfig;
use crate::message::{ClientRef, MsgId, OpId, Request};
use crate::types::{Key, Micros, NodeId, Version};
use serde::{Deserialize, Serialize};

/// An observable step, numbered per node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Per node, increasing from 1 in each incarnation.
    pub seq: u64,
    /// The node's clock when it happened (microseconds).
    pub ts: Micros,
    pub node: NodeId,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Why a hint was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HintReason {
    /// The replica was known down when the write came in.
    Down,
    /// The replica did not acknowledge in time.
    NoAck,
}

/// Every kind of event, with its fields. Serialized with `"kind": "..."`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The node started; `replayed` records came from its log.
    Started {
        replayed: usize,
        keys: usize,
        hints: usize,
        gen: Micros,
    },
    RequestReceived {
        client: ClientRef,
        op: OpId,
        request: Request,
        replicas: Vec<NodeId>,
        live: Vec<NodeId>,
    },
    RequestAnswered {
        client: ClientRef,
        op: OpId,
        outcome: String,
        message: String,
        /// Replicas whose answer counted.
        answered: Vec<NodeId>,
        latency_us: Micros,
    },
    MessageSent {
        msg: MsgId,
        to: NodeId,
        msg_kind: String,
        key: Option<Key>,
        /// The coordinator operation it belongs to (on the coordinator
        /// that started it), for sequence diagrams.
        #[serde(default)]
        op: Option<OpId>,
    },
    MessageReceived {
        msg: MsgId,
        from: NodeId,
        msg_kind: String,
        key: Option<Key>,
        #[serde(default)]
        op: Option<OpId>,
    },
    /// A record handed to the commit log; `lsn` numbers records per node.
    RecordPersisted {
        lsn: u64,
        record: String,
    },
    /// A version merged into the memtable; `won` is false when the node
    /// already had a newer one and kept it.
    WriteApplied {
        key: Key,
        version: Version,
        won: bool,
        source: String,
    },
    HintStored {
        hint: u64,
        target: NodeId,
        key: Key,
        reason: HintReason,
    },
    HintSent {
        hint: u64,
        target: NodeId,
        key: Key,
    },
    HintDelivered {
        hint: u64,
        target: NodeId,
        key: Key,
    },
    /// A hint given up: past the hint window, or the hint store was full.
    HintDropped {
        target: NodeId,
        key: Key,
        reason: String,
    },
    ReadRepair {
        key: Key,
        target: NodeId,
        version: Version,
        blocking: bool,
    },
    /// Anti-entropy found `keys` keys differing with `peer` and sent them.
    AntiEntropy {
        peer: NodeId,
        keys: usize,
    },
    PeerDown {
        peer: NodeId,
        reason: String,
    },
    PeerUp {
        peer: NodeId,
        restarted: bool,
    },
    /// A snapshot replaced the log: `records` remain.
    Compacted {
        records: usize,
    },
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Started { .. } => "started",
            EventKind::RequestReceived { .. } => "request_received",
            EventKind::RequestAnswered { .. } => "request_answered",
            EventKind::MessageSent { .. } => "message_sent",
            EventKind::MessageReceived { .. } => "message_received",
            EventKind::RecordPersisted { .. } => "record_persisted",
            EventKind::WriteApplied { .. } => "write_applied",
            EventKind::HintStored { .. } => "hint_stored",
            EventKind::HintSent { .. } => "hint_sent",
            EventKind::HintDelivered { .. } => "hint_delivered",
            EventKind::HintDropped { .. } => "hint_dropped",
            EventKind::ReadRepair { .. } => "read_repair",
            EventKind::AntiEntropy { .. } => "anti_entropy",
            EventKind::PeerDown { .. } => "peer_down",
            EventKind::PeerUp { .. } => "peer_up",
            EventKind::Compacted { .. } => "compacted",
        }
    }
}

/// What happens around the nodes, beside their own events: the network,
/// crashes and restarts, clients sending and being answered. The
/// simulator reports all of them; a live backend the ones it sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClusterEvent {
    MessageDropped {
        msg: MsgId,
        from: NodeId,
        to: NodeId,
        msg_kind: String,
        reason: String,
    },
    Crashed {
        node: NodeId,
        lost_records: usize,
    },
    Restarted {
        node: NodeId,
        replayed: usize,
    },
    LinkCut {
        a: NodeId,
        b: NodeId,
    },
    LinkHealed {
        a: NodeId,
        b: NodeId,
    },
    NetChanged {
        net: NetConfig,
    },
    SkewChanged {
        node: NodeId,
        skew_us: i64,
    },
    ClientSent {
        client: ClientRef,
        node: NodeId,
        request: Request,
    },
    ClientAnswered {
        client: ClientRef,
        node: NodeId,
        outcome: Outcome,
    },
    Compacted {
        node: NodeId,
        before: usize,
        after: usize,
    },
}

/// One line of the trace, at time `at` on the observer's clock (the
/// simulator's global clock, or a live backend's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub at: Micros,
    #[serde(flatten)]
    pub what: TraceWhat,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum TraceWhat {
    Node {
        event: Event,
    },
    /// Named `sim` on the wire for the traces already written.
    Sim {
        event: ClusterEvent,
    },
}

impl TraceEntry {
    /// Reads a trace line already parsed as JSON: what deserializing a
    /// `TraceEntry` reads, but with its event deserialized from a `Value`
    /// by `Event`'s own deserializer. The page reads a live cluster's
    /// events that way (crate::protocol), and the derived deserializer,
    /// through its flattened and tagged layers, would build a second copy
    /// of every event's deserializer into the page's wasm.
    pub fn from_json(v: serde_json::Value) -> Result<TraceEntry, String> {
        let serde_json::Value::Object(mut obj) = v else {
            return Err("not a JSON object".into());
        };
        let at = obj
            .get("at")
            .and_then(serde_json::Value::as_u64)
            .ok_or("at: missing or not a time in microseconds")?;
        let event = obj.remove("event").ok_or("event: missing")?;
        let what = match obj.get("source").and_then(serde_json::Value::as_str) {
            Some("node") => TraceWhat::Node {
                event: serde_json::from_value(event).map_err(|e| format!("event: {e}"))?,
            },
            Some("sim") => TraceWhat::Sim {
                event: serde_json::from_value(event).map_err(|e| format!("event: {e}"))?,
            },
            other => return Err(format!("source: {other:?} is not \"node\" or \"sim\"")),
        };
        Ok(TraceEntry { at, what })
    }
}

#[cfg(test)]
mod tests {
    use super::{TraceEntry, TraceWhat};
    use crate::sim::{put, Sim, SimConfig};
    use crate::types::Consistency;

    #[test]
    fn from_json_reads_what_the_derived_deserializer_reads() {
        let mut sim = Sim::new(SimConfig::classic(3));
        sim.run_for(50_000);
        sim.submit(0, put(137, "v", Consistency::Quorum));
        sim.crash(2);
        sim.run_for(200_000);
        let trace = sim.drain_trace();
        let sources = |node: bool| {
            trace
                .iter()
                .filter(|e| matches!(e.what, TraceWhat::Node { .. }) == node)
                .count()
        };
        assert!(sources(true) > 0 && sources(false) > 0);
        for e in trace {
            let v = serde_json::to_value(&e).unwrap();
            let derived: TraceEntry = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(TraceEntry::from_json(v), Ok(derived.clone()));
            assert_eq!(derived, e);
        }
    }

    #[test]
    fn from_json_names_what_is_wrong() {
        let err = |text: &str| TraceEntry::from_json(serde_json::from_str(text).unwrap());
        assert!(err("[1]").unwrap_err().contains("object"));
        assert!(err(r#"{"source": "node", "event": {}}"#)
            .unwrap_err()
            .starts_with("at:"));
        assert!(err(r#"{"at": 1, "source": "moon", "event": {}}"#)
            .unwrap_err()
            .contains("moon"));
        assert!(
            err(r#"{"at": 1, "source": "node", "event": {"kind": "nope"}}"#)
                .unwrap_err()
                .starts_with("event:")
        );
    }
}
