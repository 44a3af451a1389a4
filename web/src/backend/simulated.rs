//! The simulated cluster: `core::sim` in the page, through a
//! [`Timeline`] so that the page can go back to any earlier event and
//! fork from there. Same seed and same script, same run, so the URL can
//! carry both (see [`super::link`]) and reproduce what a teacher showed.

use super::Backend;
use crate::rewind::{mark_of, Mark, RunState};
use crate::state::{HintList, HintRow, LogRow, NodeSnapshot, Topology, Update, LOG_TAIL};
use ringside_core::rewind::{Scripted, Timeline};
use ringside_core::sim::Action;
use ringside_core::TraceWhat;
use ringside_core::{Key, Micros, NodeId, Version};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

pub use super::link::{parse_fragment, to_fragment, Fragment, LinkStep, Settings};

/// Trace entries handled in one call at most: a frame at high speed under
/// heavy load does not freeze the page; the rest waits for the next frame.
const MAX_STEPS_PER_CALL: usize = 20_000;

/// `core::sim` as a [`Backend`].
pub struct SimBackend {
    timeline: Timeline,
    settings: Settings,
    /// The history's trace entries (up to the cursor) already reported.
    reported: usize,
    /// The scrub bar's marks, and how many of the history's trace entries
    /// were looked at for them.
    marks: Vec<Mark>,
    marked: usize,
    /// Simulated time at the furthest event reached.
    head_us: Micros,
    /// What each node's last snapshot carried, so an unchanged data map
    /// or log tail is shared rather than copied and formatted again.
    sent: BTreeMap<NodeId, Sent>,
}

#[derive(Default)]
struct Sent {
    data: Rc<BTreeMap<Key, Version>>,
    log_tail: Vec<LogRow>,
}

impl SimBackend {
    /// A fresh cluster, and the updates that show it.
    pub fn new(settings: Settings) -> (SimBackend, Vec<Update>) {
        let mut b = SimBackend {
            timeline: Timeline::new(settings.sim_config()),
            settings,
            reported: 0,
            marks: Vec::new(),
            marked: 0,
            head_us: 0,
            sent: BTreeMap::new(),
        };
        let out = b.redraw();
        (b, out)
    }

    /// A fresh cluster with `script` replayed on it: the same run as the
    /// one that wrote the script, up to its last step. A step this
    /// cluster would refuse (a node it does not have) refuses the link:
    /// nothing of it is played.
    pub fn replay(
        settings: Settings,
        script: Vec<LinkStep>,
    ) -> Result<(SimBackend, Vec<Update>), String> {
        settings.validate()?;
        let (mut b, _) = SimBackend::new(settings);
        for (i, step) in script.iter().enumerate() {
            b.check(step.action())
                .map_err(|e| format!("the link's script, step {}: {e}", i + 1))?;
        }
        let exact: Option<Vec<Scripted>> = script
            .iter()
            .map(|s| match s {
                LinkStep::Exact(at_us, action, after_event) => Some(Scripted {
                    after_event: *after_event,
                    at_us: *at_us,
                    action: action.clone(),
                }),
                LinkStep::Timed(..) => None,
            })
            .collect();
        match exact {
            Some(script) => {
                b.timeline = Timeline::from_script(b.settings.sim_config(), script, 0);
            }
            None => {
                for step in script {
                    b.timeline.run_until(step.at_us());
                    b.timeline.act(step.action().clone());
                }
            }
        }
        let out = b.redraw();
        Ok((b, out))
    }

    /// The updates that draw the cluster at the cursor from scratch.
    fn redraw(&mut self) -> Vec<Update> {
        self.reported = 0;
        self.sent.clear();
        let mut out = vec![Update::Reset(self.topology())];
        out.extend(self.collect(true));
        out
    }

    /// Everything that happened since the last call: events, then the
    /// nodes they touched as snapshots, then the clock and the wires.
    fn collect(&mut self, all_nodes: bool) -> Vec<Update> {
        let t = &self.timeline;
        let ids = t.sim().node_ids();
        let produced = t.produced();
        let trace = &t.full_trace()[self.reported.min(produced)..produced];
        self.reported = produced;
        let mut touched: BTreeSet<NodeId> = BTreeSet::new();
        if all_nodes {
            touched.extend(&ids);
        }
        let mut out = Vec::with_capacity(trace.len() + 8);
        for (_, e) in trace {
            match &e.what {
                TraceWhat::Node { event } => {
                    touched.insert(event.node);
                }
                TraceWhat::Sim { .. } => touched.extend(&ids),
            }
            out.push(Update::Trace(e.clone()));
        }
        let full = t.full_trace();
        self.marks.extend(
            full[self.marked.min(full.len())..]
                .iter()
                .filter_map(|(k, e)| mark_of(*k, e)),
        );
        self.marked = full.len();
        if t.at_head() {
            self.head_us = t.sim().now();
        }
        for id in touched {
            out.push(Update::Snapshot(self.snapshot(id)));
        }
        out.push(self.frame());
        out
    }

    /// Refuses an action on a node the cluster does not have (and other
    /// nonsense), naming the problem.
    fn check(&self, action: &Action) -> Result<(), String> {
        action.check()?;
        let ids = self.timeline.sim().node_ids();
        let check = |n: &NodeId| {
            if ids.contains(n) {
                Ok(())
            } else {
                Err(format!(
                    "node {n} is not in this cluster (nodes 0 to {})",
                    ids.len() - 1
                ))
            }
        };
        match action {
            Action::Submit { node, .. }
            | Action::Crash { node }
            | Action::Restart { node }
            | Action::SetSkew { node, .. } => check(node)?,
            Action::Cut { a, b } | Action::Heal { a, b } => {
                check(a)?;
                check(b)?;
                if a == b {
                    return Err("a link joins two different nodes".into());
                }
            }
            Action::Partition { side_a, side_b } => {
                for n in side_a.iter().chain(side_b) {
                    check(n)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks an action, records it in the script and applies it (behind
    /// the head, this forks: the old future and its marks are dropped);
    /// what it caused is reported by the next [`SimBackend::collect`].
    fn take(&mut self, action: Action) -> Result<(), String> {
        self.check(&action)?;
        if !self.timeline.at_head() {
            let k = self.timeline.cursor();
            self.marks.retain(|m| m.event <= k);
            self.marked = self.marked.min(self.timeline.produced());
        }
        self.timeline.act(action);
        Ok(())
    }

    fn frame(&self) -> Update {
        let sim = self.timeline.sim();
        Update::Frame {
            now_us: sim.now(),
            wires: sim.in_flight(),
        }
    }

    fn snapshot(&mut self, id: NodeId) -> NodeSnapshot {
        let sim = self.timeline.sim();
        let sent = self.sent.entry(id).or_default();
        let disk = sim.disk(id);
        let tail = &disk[disk.len().saturating_sub(LOG_TAIL)..];
        let log_tail: Vec<LogRow> = tail
            .iter()
            .map(
                |r| match sent.log_tail.iter().find(|row| row.lsn == r.lsn) {
                    // Records keep their text; only the synced flag moves.
                    Some(row) => LogRow {
                        synced: r.synced,
                        ..row.clone()
                    },
                    None => LogRow {
                        lsn: r.lsn,
                        record: r.record.to_string(),
                        synced: r.synced,
                    },
                },
            )
            .collect();
        sent.log_tail.clone_from(&log_tail);
        let node = sim.node(id);
        let data = node.map(|n| {
            if *n.data() != *sent.data {
                let copy = n.data().iter().map(|(k, v)| (k.clone(), v.clone()));
                sent.data = Rc::new(copy.collect());
            }
            sent.data.clone()
        });
        NodeSnapshot {
            id,
            up: node.is_some(),
            data,
            hints: node.map(|n| {
                HintList::Named(
                    n.hints()
                        .map(|h| HintRow {
                            id: h.id,
                            target: h.target,
                            key: h.key.clone(),
                        })
                        .collect(),
                )
            }),
            peers: node.map(|n| n.peers().iter().map(|p| (p.node, p.up)).collect()),
            log_tail: Some(log_tail),
            log_len: Some(disk.len()),
            skew_us: sim.skew(id),
        }
    }
}

impl Backend for SimBackend {
    fn topology(&self) -> Topology {
        let c = &self.timeline.config().cluster;
        let p = match self.settings.vnodes {
            Some(v) => format!(", Murmur3 with {v} vnodes"),
            None => String::new(),
        };
        Topology {
            nodes: c.nodes.clone(),
            rf: c.rf,
            partitioner: c.partitioner.clone(),
            source: format!("simulated, seed {}{p}", self.settings.seed),
            failure_timeout_ms: c.failure_timeout_ms,
            mode: crate::state::Mode::Simulated,
        }
    }

    fn advance(&mut self, by_us: Micros) -> Vec<Update> {
        let target = self.timeline.sim().now() + by_us;
        let mut steps = 0;
        while let Some(at) = self.timeline.sim().next_at() {
            if at > target || steps >= MAX_STEPS_PER_CALL {
                break;
            }
            self.timeline.forward();
            steps += 1;
        }
        if steps < MAX_STEPS_PER_CALL {
            self.timeline.run_until(target);
        }
        self.collect(false)
    }

    fn step(&mut self) -> Vec<Update> {
        self.timeline.forward();
        self.collect(false)
    }

    fn act(&mut self, action: Action) -> Result<Vec<Update>, String> {
        self.take(action)?;
        Ok(self.collect(false))
    }

    fn act_all(&mut self, actions: Vec<Action>) -> (Vec<Update>, Vec<String>) {
        let errors = actions
            .into_iter()
            .filter_map(|a| self.take(a).err())
            .collect();
        (self.collect(false), errors)
    }

    fn script(&self) -> Option<&[Scripted]> {
        Some(self.timeline.script())
    }

    fn run_state(&self) -> Option<RunState> {
        let t = &self.timeline;
        Some(RunState {
            cursor: t.cursor(),
            head: t.head(),
            at_head: t.at_head(),
            now_us: t.sim().now(),
            head_us: self.head_us,
            start: 0,
            start_us: 0,
            live: false,
        })
    }

    fn history(&self) -> &[(u64, ringside_core::TraceEntry)] {
        self.timeline.full_trace()
    }

    fn marks(&self) -> &[Mark] {
        &self.marks
    }

    fn mark(&mut self, mark: Mark) {
        self.marks.push(mark);
    }

    fn seek(&mut self, event: u64) -> Result<Vec<Update>, String> {
        self.timeline.seek(event.min(self.timeline.head()));
        Ok(self.redraw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringside_core::sim::put;
    use ringside_core::Consistency;

    fn link_of(b: &SimBackend) -> Vec<LinkStep> {
        b.script().unwrap().iter().map(LinkStep::from).collect()
    }

    #[test]
    fn a_replayed_script_gives_the_same_run() {
        let (mut a, _) = SimBackend::new(Settings::default());
        a.advance(50_000);
        a.act(Action::Crash { node: 3 }).unwrap();
        a.advance(1_000_000);
        a.act(Action::Submit {
            node: 0,
            request: put(137, "x", Consistency::Quorum),
        })
        .unwrap();
        a.advance(200_000);
        let (mut b, _) = SimBackend::replay(Settings::default(), link_of(&a)).unwrap();
        b.timeline.run_until(a.timeline.sim().now());
        assert_eq!(a.timeline.sim().history(), b.timeline.sim().history());
        assert_eq!(a.timeline.sim().digest(), b.timeline.sim().digest());
        assert_eq!(a.timeline.sim().node(0).unwrap().hint_count(), 1);
        // An older link, by time only, replays the same run.
        let timed = link_of(&a)
            .into_iter()
            .map(|s| LinkStep::Timed(s.at_us(), s.action().clone()))
            .collect();
        let (mut c, _) = SimBackend::replay(Settings::default(), timed).unwrap();
        c.timeline.run_until(a.timeline.sim().now());
        assert_eq!(a.timeline.sim().digest(), c.timeline.sim().digest());
    }

    #[test]
    fn an_action_between_two_events_at_the_same_time_replays_between_them() {
        // Every node's first heartbeat is due at the same microsecond:
        // stepping one event at a time stops between them.
        let (mut a, _) = SimBackend::new(Settings::default());
        let t0 = loop {
            let before = a.timeline.sim().now();
            a.step();
            let t = a.timeline.sim().now();
            if t == before && t > 0 && a.timeline.sim().next_at() == Some(t) {
                break t;
            }
        };
        a.act(Action::Crash { node: 2 }).unwrap();
        a.advance(500_000);
        let (mut b, _) = SimBackend::replay(Settings::default(), link_of(&a)).unwrap();
        b.timeline.run_until(a.timeline.sim().now());
        assert!(t0 > 0);
        assert_eq!(a.timeline.sim().digest(), b.timeline.sim().digest());
    }

    #[test]
    fn a_link_with_a_bad_step_is_refused_whole() {
        let bad = vec![
            LinkStep::Exact(0, Action::Crash { node: 1 }, 0),
            LinkStep::Exact(10, Action::Crash { node: 9 }, 3),
        ];
        let e = SimBackend::replay(Settings::default(), bad).err().unwrap();
        assert!(e.contains("step 2") && e.contains("node 9"), "{e}");
    }

    #[test]
    fn a_link_with_an_amount_out_of_range_is_refused_whole() {
        let bad = vec![
            LinkStep::Exact(0, Action::Crash { node: 1 }, 0),
            LinkStep::Exact(
                10,
                Action::SetSkew {
                    node: 0,
                    skew_us: i64::MAX,
                },
                3,
            ),
        ];
        let e = SimBackend::replay(Settings::default(), bad).err().unwrap();
        assert!(e.contains("step 2") && e.contains("skew"), "{e}");
        let (mut b, _) = SimBackend::new(Settings::default());
        let huge = Action::SetLatency {
            min_us: u64::MAX,
            max_us: u64::MAX,
        };
        assert!(b.act(huge).unwrap_err().contains("latency"));
        assert!(b.script().unwrap().is_empty());
    }

    #[test]
    fn actions_on_unknown_nodes_are_refused() {
        let (mut b, _) = SimBackend::new(Settings::default());
        assert!(b
            .act(Action::Crash { node: 9 })
            .unwrap_err()
            .contains("node 9"));
        assert!(b.act(Action::Cut { a: 1, b: 1 }).is_err());
        assert!(
            b.script().unwrap().is_empty(),
            "refused actions are not recorded"
        );
    }
}
