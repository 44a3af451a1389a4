//! Acting on a simulated cluster: faults, client requests, crashes and
//! restarts.

use super::disk::Opened;
use super::{
    events_for, Action, ClusterEvent, Held, Interceptor, InterceptorSlot, Item, Sim,
    MAX_CLOCK_SHIFT_US, MAX_LATENCY_US,
};
use crate::check::{HistoryOp, Outcome};
use crate::config::Config;
use crate::durability::Gate;
use crate::io::Input;
use crate::message::{ClientRef, Request};
use crate::node::Node;
use crate::storage::Record;
use crate::types::NodeId;

impl Sim {
    /// Passes every peer message and client reply through `f` from now
    /// on, which may change it: tests break nodes this way.
    pub fn set_interceptor(&mut self, f: Option<Interceptor>) {
        self.interceptor = InterceptorSlot(f.map(|f| std::rc::Rc::new(std::cell::RefCell::new(f))));
    }

    /// Applies an action now. Amounts past [`Action::check`]'s bounds
    /// are clamped to them, as a drop probability is to 0..=1: a script
    /// that skipped the check still runs, with its clocks and deliveries
    /// inside the clocks' range.
    pub fn apply(&mut self, action: Action) -> Option<ClientRef> {
        match action {
            Action::Submit { node, request } => return Some(self.submit(node, request)),
            Action::Crash { node } => self.crash(node),
            Action::Restart { node } => self.restart(node),
            Action::Cut { a, b } => self.set_link(a, b, true),
            Action::Heal { a, b } => self.set_link(a, b, false),
            Action::Partition { side_a, side_b } => {
                for &a in &side_a {
                    for &b in &side_b {
                        self.set_link(a, b, true);
                    }
                }
            }
            Action::HealAll => {
                for (a, b) in std::mem::take(&mut self.cut) {
                    self.sim_event(ClusterEvent::LinkHealed { a, b });
                }
            }
            Action::SetLatency { min_us, max_us } => {
                let (min_us, max_us) = (min_us.min(MAX_LATENCY_US), max_us.min(MAX_LATENCY_US));
                self.config.net.latency_min_us = min_us.min(max_us);
                self.config.net.latency_max_us = max_us.max(min_us);
                let net = self.config.net.clone();
                self.sim_event(ClusterEvent::NetChanged { net });
            }
            Action::SetDropProbability { p } => {
                self.config.net.drop_probability = if p.is_finite() {
                    p.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let net = self.config.net.clone();
                self.sim_event(ClusterEvent::NetChanged { net });
            }
            Action::SetSkew { node, skew_us } => self.set_skew(node, skew_us),
            Action::StepClock { node, by_us } => {
                for id in self.targets(node) {
                    let skew = self.skew(id).saturating_add(by_us);
                    self.set_skew(id, skew);
                }
            }
            Action::Suspend { node, us } => {
                let us = us.min(MAX_CLOCK_SHIFT_US);
                for id in self.targets(node) {
                    let until = self.now + us;
                    if let Some(n) = self.nodes.get_mut(&id) {
                        n.frozen_until = n.frozen_until.max(until);
                    }
                    let skew = self.skew(id).saturating_sub(us as i64);
                    self.set_skew(id, skew);
                }
            }
            Action::CrashAll => {
                for id in self.node_ids() {
                    self.crash(id);
                }
            }
            Action::CorruptLog { node, pick } => {
                if !self.is_up(node) {
                    if let Some(n) = self.nodes.get_mut(&node) {
                        n.disk.corrupt(pick);
                    }
                }
            }
            Action::RestoreLog { node } => {
                if let Some(n) = self.nodes.get_mut(&node) {
                    n.disk.restore();
                }
            }
            Action::Compact { node } => self.start_compaction(node),
        }
        None
    }

    /// `node`, or every node.
    pub(super) fn targets(&self, node: Option<NodeId>) -> Vec<NodeId> {
        match node {
            Some(id) => vec![id],
            None => self.node_ids(),
        }
    }

    pub(super) fn set_skew(&mut self, node: NodeId, skew_us: i64) {
        let bound = MAX_CLOCK_SHIFT_US as i64;
        let skew_us = skew_us.clamp(-bound, bound);
        if let Some(n) = self.nodes.get_mut(&node) {
            n.skew_us = skew_us;
            self.sim_event(ClusterEvent::SkewChanged { node, skew_us });
        }
    }

    /// A client sends `request` to coordinator `node`.
    pub fn submit(&mut self, node: NodeId, request: Request) -> ClientRef {
        let client = ClientRef {
            conn: 0,
            req: self.next_req,
        };
        self.next_req += 1;
        self.stats.client_requests += 1;
        let idx = self.history.ops.len();
        self.history.ops.push(HistoryOp {
            client,
            node,
            request: request.clone(),
            invoke_us: self.now,
            complete_us: None,
            outcome: Outcome::Pending,
        });
        self.sim_event(ClusterEvent::ClientSent {
            client,
            node,
            request: request.clone(),
        });
        if self.is_frozen(node) {
            self.pending.insert(client, idx);
            let at = self.nodes[&node].frozen_until;
            self.push(
                at,
                Item::Client {
                    node,
                    client,
                    request,
                },
            );
        } else if self.is_up(node) {
            self.pending.insert(client, idx);
            self.feed(node, Input::Client { client, request });
        } else {
            self.finish(
                idx,
                Outcome::NoReply {
                    reason: format!("node {node} is down: connection refused"),
                },
            );
        }
        client
    }

    pub fn crash(&mut self, id: NodeId) {
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        if n.node.take().is_none() {
            return;
        }
        n.incarnation += 1;
        n.frozen_until = 0;
        n.wake_at = None;
        n.compaction = None;
        let lost = n.disk.crash(&mut self.rng);
        self.disk_stats.lost_records += lost as u64;
        self.sim_event(ClusterEvent::Crashed {
            node: id,
            lost_records: lost,
        });
        let stranded: Vec<usize> = self
            .pending
            .iter()
            .filter(|(_, &i)| self.history.ops[i].node == id)
            .map(|(_, &i)| i)
            .collect();
        for i in stranded {
            let client = self.history.ops[i].client;
            self.pending.remove(&client);
            self.finish(
                i,
                Outcome::NoReply {
                    reason: format!("coordinator {id} crashed"),
                },
            );
        }
    }

    pub fn restart(&mut self, id: NodeId) {
        let cluster = self.config.cluster.clone();
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        if n.node.is_some() {
            return;
        }
        match n.disk.open() {
            Opened::Whole => {}
            Opened::Cut { .. } => self.disk_stats.tails_cut += 1,
            Opened::Refused { .. } => {
                self.disk_stats.refused += 1;
                return;
            }
        }
        // The driver syncs the log it replayed before it serves.
        n.disk.mark_all_synced();
        let records: Vec<Record> = n.disk.records().iter().map(|r| r.record.clone()).collect();
        let end = n.disk.end();
        let (mut node, rec) = Node::recover(Config::new(id, cluster), &records);
        node.set_events(events_for(self.config.trace));
        let gate = self.new_gate(end);
        let n = self.nodes.get_mut(&id).expect("the node exists");
        n.node = Some(node);
        n.gate = gate;
        self.sim_event(ClusterEvent::Restarted {
            node: id,
            replayed: rec.records,
        });
        self.feed(id, Input::Start);
    }

    /// A gate over a log whose first `end` positions are durable.
    pub(super) fn new_gate(&self, end: u64) -> Gate<Held> {
        let mut gate = Gate::new(self.config.sync, end, self.now);
        gate.set_flaw(self.config.flaw);
        gate
    }

    pub(super) fn set_link(&mut self, a: NodeId, b: NodeId, cut: bool) {
        if a == b {
            return;
        }
        let k = (a.min(b), a.max(b));
        let changed = if cut {
            self.cut.insert(k)
        } else {
            self.cut.remove(&k)
        };
        if changed {
            let e = if cut {
                ClusterEvent::LinkCut { a: k.0, b: k.1 }
            } else {
                ClusterEvent::LinkHealed { a: k.0, b: k.1 }
            };
            self.sim_event(e);
        }
    }
}
