//! Putting each node's frames in order and turning them into updates:
//! per node in `seq` order, a receipt after its send, each on a hybrid
//! logical clock (see the backend's module docs).

use super::{trace_sim, ConnState, Item, LiveCore, HOLD_MS, QUEUE_CAP, WIRE_US};
use crate::state::{intern_kind, HintList, LogKind, LogRow, NodeSnapshot, Update, Wire, LOG_TAIL};
use ringside_core::check::Outcome;
use ringside_core::io::{Event, EventKind};
use ringside_core::protocol::{InspectNode, PeerState};
use ringside_core::{ClusterEvent, TraceEntry, TraceWhat};
use ringside_core::{Key, NodeId, Version};
use std::collections::BTreeMap;

impl LiveCore {
    /// Releases held items in order: per node by arrival (= `seq`), a
    /// receipt only after its send. Only when nothing can go in that
    /// order does the receipt held longest past [`HOLD_MS`] go first (its
    /// send predates the page, or its sender's frame was lost); `flush`
    /// releases everything that node holds.
    pub(super) fn release(&mut self, flush: Option<NodeId>) {
        let now = self.now_ms;
        loop {
            let mut progress = true;
            while progress {
                progress = false;
                let ids: Vec<NodeId> = self.members.keys().copied().collect();
                for id in ids {
                    while self.head_ready(id) {
                        let Some((_, item)) =
                            self.members.get_mut(&id).and_then(|m| m.queue.pop_front())
                        else {
                            break;
                        };
                        self.apply_item(id, item);
                        progress = true;
                    }
                }
            }
            // Stuck: the receipt waiting longest goes, if it waited enough.
            let overdue = self
                .members
                .iter()
                .filter_map(|(id, m)| m.queue.front().map(|(t, _)| (*id, *t, m.queue.len())))
                .filter(|(id, t, len)| {
                    flush == Some(*id) || now - t >= HOLD_MS || *len >= QUEUE_CAP
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((id, _, _)) = overdue else {
                break;
            };
            if let Some((_, item)) = self.members.get_mut(&id).and_then(|m| m.queue.pop_front()) {
                self.apply_item(id, item);
            }
        }
    }

    /// True when node `id`'s oldest held item can be shown now: anything
    /// but a receipt whose send has not been shown while its sender is
    /// followed.
    fn head_ready(&self, id: NodeId) -> bool {
        let Some((_, item)) = self.members.get(&id).and_then(|m| m.queue.front()) else {
            return false;
        };
        match item {
            Item::Event(Event {
                kind: EventKind::MessageReceived { msg, from, .. },
                ..
            }) => {
                self.sent.contains_key(msg)
                    || !self
                        .members
                        .get(from)
                        .is_some_and(|s| s.conn == ConnState::Open)
            }
            _ => true,
        }
    }

    fn apply_item(&mut self, n: NodeId, item: Item) {
        match item {
            Item::Event(e) => self.apply_event(n, e),
            Item::Inspect(node) => self.apply_inspect(n, *node),
            Item::Reply { id, reply } => {
                let Some(p) = self.pending.remove(&id) else {
                    return;
                };
                let last = self.members.get(&n).map_or(0, |m| m.last_at);
                let at = self.at().max(last + 1);
                let outcome = Outcome::from(reply);
                self.updates.push(trace_sim(
                    at,
                    ClusterEvent::ClientAnswered {
                        client: p.client,
                        node: n,
                        outcome,
                    },
                ));
            }
        }
    }

    fn apply_event(&mut self, n: NodeId, mut e: Event) {
        let base = self.base_us;
        let page_at = self.at();
        let Some(m) = self.members.get_mut(&n) else {
            return;
        };
        let mut at = e.ts.saturating_sub(base).max(m.last_at + 1);
        match &mut e.kind {
            EventKind::MessageReceived { msg, .. } => {
                if let Some(sent) = self.sent.remove(msg) {
                    at = at.max(sent + 1);
                }
            }
            EventKind::MessageSent {
                msg,
                to,
                msg_kind,
                key,
                ..
            } => {
                self.sent.insert(*msg, at);
                self.wires.push(Wire {
                    msg: *msg,
                    from: n,
                    to: *to,
                    kind: intern_kind(msg_kind),
                    key: key.clone(),
                    sent_at: page_at,
                    arrive_at: page_at + WIRE_US,
                    doomed: false,
                });
            }
            EventKind::RequestReceived { client, .. }
            | EventKind::RequestAnswered { client, .. } => {
                if let Some(p) = self.pending.get(&client.req).filter(|p| p.node == n) {
                    *client = p.client;
                    at = at.max(p.sent_at + 1);
                }
            }
            EventKind::Started { gen, .. } => m.generation = Some(*gen),
            _ => {}
        }
        m.last_at = at;
        self.updates.push(Update::Trace(TraceEntry {
            at,
            what: TraceWhat::Node { event: e },
        }));
    }

    fn apply_inspect(&mut self, n: NodeId, node: InspectNode) {
        let page_at = self.at();
        let Some(m) = self.members.get_mut(&n) else {
            return;
        };
        let restarted = m.generation.is_some_and(|g| g != node.generation);
        let came_back = m.shown_up == Some(false);
        m.generation = Some(node.generation);
        if restarted {
            // Its generation is its start time, by its own clock.
            let started = node.generation.saturating_sub(self.base_us);
            let at = started.min(page_at).max(m.last_at + 1);
            m.last_at = at;
            self.updates.push(trace_sim(
                at,
                ClusterEvent::Restarted {
                    node: n,
                    replayed: node.log.records as usize,
                },
            ));
        } else if came_back {
            let text = format!("node {n} answers again");
            let at = page_at.max(m.last_at + 1);
            self.updates.push(Update::Say {
                at,
                node: Some(n),
                kind: LogKind::Fault,
                text,
                flag: false,
            });
        }
        m.shown_up = Some(true);
        if node.data_total > node.data.len() && !m.said_partial {
            m.said_partial = true;
            self.updates.push(Update::Notice(format!(
                "node {n} holds {} keys; the page shows the first {} of them",
                node.data_total,
                node.data.len()
            )));
        }
        if node.hints_total > node.hints.len() && !m.said_partial_hints {
            m.said_partial_hints = true;
            self.updates.push(Update::Notice(format!(
                "node {n} holds {} hints; the page shows the first {} of them",
                node.hints_total,
                node.hints.len()
            )));
        }
        // Which hint is which, the view knows from the node's events.
        let hints = node
            .hints
            .iter()
            .map(|h| (h.target, h.key.clone()))
            .collect();
        let data: BTreeMap<Key, Version> = node
            .data
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    Version {
                        ts: kv.ts,
                        value: kv.value.clone(),
                    },
                )
            })
            .collect();
        let peers = node
            .peers
            .iter()
            .map(|p| (p.node, p.state == PeerState::Up))
            .collect();
        // The node's own log tail (records written before the page
        // connected included), when it sends one; else the view keeps
        // the tail the node's events built.
        let log_tail = (!node.log_tail.is_empty()).then(|| {
            let skip = node.log_tail.len().saturating_sub(LOG_TAIL);
            node.log_tail[skip..]
                .iter()
                .map(|e| LogRow {
                    lsn: e.lsn,
                    record: e.record.clone(),
                    synced: e.synced,
                })
                .collect()
        });
        self.updates.push(Update::Snapshot(NodeSnapshot {
            id: n,
            up: true,
            data: Some(std::rc::Rc::new(data)),
            hints: Some(HintList::Unnamed(hints)),
            peers: Some(peers),
            log_tail,
            log_len: Some(node.log.records as usize),
            skew_us: 0,
        }));
    }
}
