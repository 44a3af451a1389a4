//! A recorded run, replayed: the JSON lines `ringside sim --trace FILE`
//! writes (one `core::event::TraceEntry` per line). The clock runs over the
//! recording; messages are drawn from their send to their receipt (or
//! loss), matched by message id. Nothing can be changed in a recording.

use super::Backend;
use crate::state::{intern_kind, Topology, Update, Wire};
use ringside_core::io::EventKind;
use ringside_core::sim::Action;
use ringside_core::{ClusterEvent, TraceEntry, TraceWhat};
use ringside_core::{Micros, MsgId, NodeId, Partitioner};
use std::collections::{BTreeMap, BTreeSet};

/// A trace file, read.
pub struct Replay {
    name: String,
    entries: Vec<TraceEntry>,
    /// When each message arrived or was lost.
    arrivals: BTreeMap<MsgId, Micros>,
    next: usize,
    now: Micros,
    on_wire: Vec<Wire>,
    nodes: Vec<NodeId>,
}

/// The most nodes a trace may name: as many as `ringside sim` runs. The
/// page draws nodes 0 to the highest id a trace names, each with a view of
/// every other, so one stray id must not make it draw billions.
const MAX_TRACE_NODES: NodeId = 64;

/// Reads a trace file. Lines that are not trace entries are skipped and
/// counted (the second value), so a header line does not stop a replay;
/// an entry naming a node past [`MAX_TRACE_NODES`] refuses the whole file.
pub fn parse_trace(text: &str) -> Result<(Vec<TraceEntry>, usize), String> {
    let mut entries = Vec::new();
    let mut skipped = 0;
    let mut first_error = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let entry = serde_json::from_str(line)
            .map_err(|e| e.to_string())
            .and_then(TraceEntry::from_json);
        match entry {
            Ok(TraceEntry {
                what: TraceWhat::Node { event },
                ..
            }) if event.node >= MAX_TRACE_NODES => {
                return Err(format!(
                    "not a ringside trace: line {} names node {}, past the {MAX_TRACE_NODES} nodes a run has",
                    i + 1,
                    event.node
                ));
            }
            Ok(e) => entries.push(e),
            Err(e) => {
                skipped += 1;
                first_error.get_or_insert(format!("line {}: {e}", i + 1));
            }
        }
    }
    if entries.is_empty() {
        return Err(match first_error {
            Some(e) => format!("not a ringside trace (no trace entries; {e})"),
            None => "the file is empty".into(),
        });
    }
    if entries.windows(2).any(|w| w[1].at < w[0].at) {
        return Err("not a ringside trace: times go backwards".into());
    }
    Ok((entries, skipped))
}

impl Replay {
    pub fn new(name: &str, entries: Vec<TraceEntry>) -> (Replay, Vec<Update>) {
        let mut arrivals = BTreeMap::new();
        let mut nodes = BTreeSet::new();
        for e in &entries {
            match &e.what {
                TraceWhat::Node { event } => {
                    nodes.insert(event.node);
                    if let EventKind::MessageReceived { msg, .. } = &event.kind {
                        arrivals.insert(*msg, e.at);
                    }
                }
                TraceWhat::Sim { event } => {
                    if let ClusterEvent::MessageDropped { msg, .. } = event {
                        arrivals.insert(*msg, e.at);
                    }
                }
            }
        }
        let r = Replay {
            name: name.to_string(),
            entries,
            arrivals,
            next: 0,
            now: 0,
            on_wire: Vec::new(),
            nodes: nodes.into_iter().collect(),
        };
        let out = vec![Update::Reset(r.topology())];
        (r, out)
    }

    /// True once every entry has been shown.
    #[cfg(test)]
    pub fn finished(&self) -> bool {
        self.next >= self.entries.len()
    }

    fn emit_until(&mut self, t: Micros, limit: usize) -> Vec<Update> {
        let mut out = Vec::new();
        while let Some(e) = self.entries.get(self.next) {
            if e.at > t || out.len() >= limit {
                break;
            }
            if let TraceWhat::Node { event } = &e.what {
                if let EventKind::MessageSent {
                    msg,
                    to,
                    msg_kind,
                    key,
                    ..
                } = &event.kind
                {
                    let arrive_at = self.arrivals.get(msg).copied().unwrap_or(e.at + 5_000);
                    self.on_wire.push(Wire {
                        msg: *msg,
                        from: event.node,
                        to: *to,
                        kind: intern_kind(msg_kind),
                        key: key.clone(),
                        sent_at: e.at,
                        arrive_at,
                        doomed: false,
                    });
                }
            }
            self.now = self.now.max(e.at);
            out.push(Update::Trace(e.clone()));
            self.next += 1;
        }
        let now = self.now;
        self.on_wire.retain(|w| w.arrive_at > now);
        out.push(Update::Frame {
            now_us: now,
            wires: self.on_wire.clone(),
        });
        out
    }
}

impl Backend for Replay {
    fn topology(&self) -> Topology {
        let nodes = if self.nodes.is_empty() {
            vec![0, 1, 2, 3]
        } else {
            let max = self.nodes.iter().copied().max().unwrap_or(0);
            (0..=max).collect()
        };
        Topology {
            rf: nodes.len().min(3),
            partitioner: Partitioner::byte_ordered_even(&nodes),
            nodes,
            source: format!("trace {} (replay, read-only)", self.name),
            failure_timeout_ms: 450,
            mode: crate::state::Mode::Replay,
        }
    }

    fn advance(&mut self, by_us: Micros) -> Vec<Update> {
        self.now += by_us;
        self.emit_until(self.now, 20_000)
    }

    fn step(&mut self) -> Vec<Update> {
        let t = self.entries.get(self.next).map_or(self.now, |e| e.at);
        self.emit_until(t, 1)
    }

    fn act(&mut self, _action: Action) -> Result<Vec<Update>, String> {
        Err("this is a recorded trace: it cannot be changed (press Reset to go back to the simulator)".into())
    }

    fn script(&self) -> Option<&[ringside_core::rewind::Scripted]> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ClusterView;
    use ringside_core::sim::{put, Sim, SimConfig};
    use ringside_core::{Consistency, Key};

    fn recorded() -> String {
        let mut sim = Sim::new(SimConfig::classic(1));
        sim.run_for(50_000);
        sim.submit(0, put(137, "v", Consistency::Quorum));
        sim.run_for(200_000);
        let mut text = String::from("{\"header\": \"not an entry\"}\n");
        for e in sim.drain_trace() {
            text.push_str(&serde_json::to_string(&e).unwrap());
            text.push('\n');
        }
        text
    }

    #[test]
    fn a_trace_replays_into_the_same_panels() {
        let (entries, skipped) = parse_trace(&recorded()).unwrap();
        assert_eq!(skipped, 1);
        let (mut r, init) = Replay::new("t.jsonl", entries);
        let mut view = ClusterView::new(r.topology());
        view.apply_all(init);
        assert_eq!(view.nodes.len(), 4);
        let mut saw_wire = false;
        while !r.finished() {
            let u = r.advance(1_000);
            if let Some(Update::Frame { wires, .. }) = u.last() {
                saw_wire |= wires.iter().any(|w| w.kind == "write");
            }
            view.apply_all(u);
        }
        assert!(saw_wire, "writes were drawn on the wire");
        for n in [2, 3, 0] {
            assert!(view.nodes[&n].data.contains_key(&Key::Int(137)), "node {n}");
        }
        assert!(!view.nodes[&1].data.contains_key(&Key::Int(137)));
        assert_eq!(view.requests.len(), 1);
        assert!(r.act(Action::Crash { node: 1 }).is_err());
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(parse_trace("").unwrap_err().contains("empty"));
        assert!(parse_trace("hello\n").unwrap_err().contains("line 1"));
        let stray = r#"{"at":0,"source":"node","event":{"seq":1,"ts":0,"node":4294967295,"kind":"compacted","records":0}}"#;
        let e = parse_trace(&format!("{}\n{stray}\n", recorded())).unwrap_err();
        assert!(e.contains("node 4294967295"), "{e}");
    }
}
