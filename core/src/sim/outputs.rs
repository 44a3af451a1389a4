//! How a node's inputs and outputs pass through its gate, its disk and
//! the network.

use super::{ClusterEvent, Item, Sim, TraceEntry, TraceWhat, Wire};
use crate::check::Outcome;
use crate::durability::Needs;
use crate::io::{Input, Output};
use crate::message::{Message, Msg};
use crate::types::{Key, Micros, NodeId, Version};
use std::cmp::Reverse;

impl Sim {
    pub(super) fn local_now(&self, id: NodeId) -> Micros {
        let skew = self.skew(id);
        (self.now as i64).saturating_add(skew).max(0) as Micros
    }

    /// Hands `input` to a live node and carries out its outputs, through
    /// its gate.
    pub(super) fn feed(&mut self, id: NodeId, input: Input) {
        let now = self.local_now(id);
        // What an acknowledgement emitted for this input stands for.
        let lazy = matches!(
            &input,
            Input::Message { msg, .. } if matches!(msg.body, Msg::Write { lazy: true, .. })
        );
        let acked = match &input {
            Input::Message { msg, .. } => match &msg.body {
                Msg::Write { key, version, .. }
                | Msg::Repair { key, version, .. }
                | Msg::Hint { key, version, .. } => Some((key.clone(), version.clone())),
                _ => None,
            },
            _ => None,
        };
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        let Some(node) = n.node.as_mut() else {
            return;
        };
        n.gate.begin_input(&input);
        node.handle(now, input);
        let before = self.nodes[&id].disk.end();
        self.drain(id, acked);
        if lazy {
            let after = self.nodes.get(&id).map_or(before, |n| n.disk.end());
            self.disk_stats.lazy_records += after.saturating_sub(before);
        }
        self.compaction_step(id);
    }

    /// Takes a node's outputs: records to its disk, timers and events at
    /// once, messages and replies into its gate; then starts a sync if one
    /// is due and lets go what the gate released.
    pub(super) fn drain(&mut self, id: NodeId, acked: Option<(Key, Version)>) {
        // A buffer kept between calls, so that taking a node's outputs
        // neither allocates nor copies them.
        let mut outs = std::mem::take(&mut self.outs);
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        if let Some(node) = n.node.as_mut() {
            node.take_outputs(&mut outs);
        }
        let periodic = !self.config.sync.is_batch();
        let incarnation = n.incarnation;
        let skew = n.skew_us;
        while let Some(out) = outs.pop_front() {
            let n = self.nodes.get_mut(&id).expect("the node exists");
            match out {
                Output::Persist(record) => {
                    if let Some(c) = n.compaction.as_mut() {
                        c.logged(&record);
                    }
                    let lsn = n.disk.append(record);
                    let record = &n.disk.records().last().expect("just appended").record;
                    n.gate.appended(lsn, record, self.now);
                    if periodic {
                        // The simulated write lands in the page cache at once.
                        n.gate.written_to(lsn);
                    }
                }
                Output::Send { ref msg, .. } => {
                    let needs = Needs::of_message(&msg.body);
                    let tag = match &msg.body {
                        Msg::ReadReply {
                            key,
                            version: Some(v),
                            ..
                        } => Some((key.clone(), v.clone())),
                        _ if needs == Needs::Ack => acked.clone(),
                        _ => None,
                    };
                    n.gate.emit((out, tag), needs);
                }
                Output::Reply { .. } => n.gate.emit((out, None), Needs::Data),
                Output::Timer { id: tid, at } => {
                    let global = ((at as i64).saturating_sub(skew)).max(self.now as i64) as Micros;
                    self.push(
                        global,
                        Item::Timer {
                            node: id,
                            incarnation,
                            id: tid,
                        },
                    );
                }
                Output::Event(event) => {
                    self.stats.events += 1;
                    if self.config.trace {
                        self.trace.push(TraceEntry {
                            at: self.now,
                            what: TraceWhat::Node { event },
                        });
                    }
                }
            }
        }
        self.outs = outs;
        self.kick_sync(id, true);
        self.release(id);
    }

    /// Starts a sync when the node's gate wants one (`lone`: after one
    /// input, which never waits for the group window), else makes sure it
    /// wakes when it will.
    pub(super) fn kick_sync(&mut self, id: NodeId, lone: bool) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        let incarnation = n.incarnation;
        if n.gate.should_sync(now, lone) {
            let end = n.gate.appended_to();
            if end > n.gate.synced() + 1 {
                self.disk_stats.grouped_syncs += 1;
            }
            n.gate.sync_started(end);
            let d = self.config.disk;
            let took = self.rng.range(d.sync_min_us, d.sync_max_us);
            self.push(
                now + took,
                Item::SyncDone {
                    node: id,
                    incarnation,
                    end,
                },
            );
        } else if let Some(at) = n.gate.next_wakeup() {
            if n.wake_at.is_none_or(|w| at < w) {
                n.wake_at = Some(at);
                self.push(
                    at.max(now),
                    Item::SyncWake {
                        node: id,
                        incarnation,
                    },
                );
            }
        }
    }

    /// Carries out what the node's gate let go, in order.
    pub(super) fn release(&mut self, id: NodeId) {
        let batch = self.config.sync.is_batch();
        loop {
            let Some(n) = self.nodes.get_mut(&id) else {
                return;
            };
            let Some((out, tag)) = n.gate.pop_ready() else {
                return;
            };
            if let (true, Some((key, version))) = (batch, &tag) {
                let held = n.disk.newest_synced(key);
                if held.is_none_or(|h| version.supersedes(h)) {
                    let what = match &out {
                        Output::Send { to, msg } => format!("{} to node {to}", msg.body.kind()),
                        _ => "an output".into(),
                    };
                    self.disk_stats.early_acks.push(format!(
                        "node {id} sent {what} for {key} @{} while its synced log held {}",
                        version.ts,
                        held.map_or("nothing".into(), |h| format!("@{}", h.ts)),
                    ));
                }
            }
            if let (true, Output::Send { to, msg }) = (batch, &out) {
                // The messages the gate treats as requests, by the gate's
                // own rule.
                let request = Needs::of_message(&msg.body) == Needs::Request;
                if let (true, Some(op)) = (request, msg.body.op()) {
                    let reserved = n.disk.reserved_synced();
                    if op >= reserved {
                        self.disk_stats.early_requests.push(format!(
                            "node {id} sent {} op {op} to node {to} while its synced log reserved op ids below {reserved} only",
                            msg.body.kind()
                        ));
                    }
                }
            }
            match out {
                Output::Send { to, mut msg } => {
                    self.interceptor.see(Wire::Message {
                        from: id,
                        to,
                        msg: &mut msg,
                    });
                    self.transmit(id, to, msg)
                }
                Output::Reply { client, mut reply } => {
                    if let Some(idx) = self.pending.remove(&client) {
                        self.interceptor.see(Wire::Reply {
                            node: id,
                            request: &self.history.ops[idx].request,
                            reply: &mut reply,
                        });
                        self.finish(idx, Outcome::from(reply));
                    }
                }
                _ => {}
            }
        }
    }

    pub(super) fn finish(&mut self, idx: usize, outcome: Outcome) {
        let op = &mut self.history.ops[idx];
        op.complete_us = Some(self.now);
        op.outcome = outcome.clone();
        let (client, node) = (op.client, op.node);
        self.sim_event(ClusterEvent::ClientAnswered {
            client,
            node,
            outcome,
        });
    }

    pub(super) fn transmit(&mut self, from: NodeId, to: NodeId, msg: Message) {
        let net = &self.config.net;
        let latency = match self.config.latency_by_kind.get(msg.body.kind()) {
            Some(dist) => dist.sample(&mut self.rng),
            None => self.rng.range(net.latency_min_us, net.latency_max_us),
        };
        let doomed = net.drop_probability > 0.0 && self.rng.chance(net.drop_probability);
        let mut at = self.now.saturating_add(latency);
        let last = self.link_last.entry((from, to)).or_insert(0);
        at = at.max(*last);
        *last = at;
        self.push(
            at,
            Item::Deliver {
                from,
                to,
                msg,
                sent_at: self.now,
                doomed,
            },
        );
    }

    pub(super) fn push(&mut self, at: Micros, item: Item) {
        self.seq += 1;
        let slot = self.items.put(item);
        self.queue.push(Reverse((at, self.seq, slot)));
    }

    pub(super) fn sim_event(&mut self, event: ClusterEvent) {
        if self.config.trace {
            self.trace.push(TraceEntry {
                at: self.now,
                what: TraceWhat::Sim { event },
            });
        }
    }
}
