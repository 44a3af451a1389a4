//! The reducer's parts: how each event and snapshot changes the view.
//! What the event log says about each event is [`crate::narration`]'s.

use super::{intern_kind, marks, BEAT_CAP, LOG_TAIL, MSG_CAP, REQUEST_CAP, WRITES_PER_KEY};
use super::{ClusterView, Fall, HintList, HintRow, LogRow, MsgRecord, NodeSnapshot, RequestView};
use crate::narration;
use ringside_core::check::{stale_read, History, HistoryOp, Outcome};
use ringside_core::io::EventKind;
use ringside_core::{ClientRef, Micros, NodeId};
use ringside_core::{ClusterEvent, TraceEntry, TraceWhat};
use std::collections::VecDeque;
use std::rc::Rc;

impl ClusterView {
    /// Takes a node's snapshot. Only what differs is written: a node
    /// whose snapshot matches what the view holds is not copied (the
    /// panels share the view's nodes, so a write would clone one).
    pub(super) fn snapshot(&mut self, s: NodeSnapshot) {
        let hints = s.hints.map(|h| self.name_hints(s.id, h));
        let same = self.nodes.get(&s.id).is_some_and(|n| {
            n.up == s.up
                && (s.up || n.restarted_at.is_none())
                && s.data.as_ref().is_none_or(|d| n.data == *d)
                && hints.as_ref().is_none_or(|h| {
                    h.len() == n.hints.len() && h.iter().all(|r| n.hints.get(&r.id) == Some(r))
                })
                && s.peers.as_ref().is_none_or(|p| {
                    p.len() == n.peers.len() && p.iter().all(|(k, v)| n.peers.get(k) == Some(v))
                })
                && s.log_tail
                    .as_ref()
                    .is_none_or(|t| n.log_tail.iter().eq(t.iter()))
                && s.log_len.is_none_or(|l| n.log_len == l)
                && n.skew_us == s.skew_us
        });
        if !same {
            let n = self.node_mut(s.id);
            n.up = s.up;
            if let Some(data) = s.data {
                n.data = data;
            }
            if let Some(hints) = hints {
                n.hints = hints.into_iter().map(|h| (h.id, h)).collect();
            }
            if let Some(peers) = s.peers {
                n.peers = peers.into_iter().collect();
            }
            if let Some(tail) = s.log_tail {
                n.log_tail = tail.into_iter().collect();
            }
            if let Some(len) = s.log_len {
                n.log_len = len;
            }
            n.skew_us = s.skew_us;
            if !n.up {
                n.restarted_at = None;
            }
            self.version += 1;
        }
        self.settle_recovery();
    }

    /// Hints with ids: an unnamed hint takes the id of a hint the node
    /// holds for the same target and key, else a made-up one.
    fn name_hints(&mut self, node: NodeId, hints: HintList) -> Vec<HintRow> {
        let unnamed = match hints {
            HintList::Named(rows) => return rows,
            HintList::Unnamed(pairs) => pairs,
        };
        let mut known: Vec<HintRow> = self
            .nodes
            .get(&node)
            .map(|n| n.hints.values().cloned().collect())
            .unwrap_or_default();
        let mut rows = Vec::with_capacity(unnamed.len());
        for (target, key) in unnamed {
            let id = match known
                .iter()
                .position(|k| k.target == target && k.key == key)
            {
                Some(i) => known.swap_remove(i).id,
                None => {
                    self.made_up_hint += 1;
                    self.made_up_hint
                }
            };
            rows.push(HintRow { id, target, key });
        }
        rows
    }

    /// Where messages of `kind` are remembered, and how many: heartbeats
    /// apart, so their flood cannot push the other messages out.
    fn msg_list(&mut self, kind: &str) -> (&mut VecDeque<MsgRecord>, usize) {
        if kind == "heartbeat" {
            (&mut self.beats, BEAT_CAP)
        } else {
            (&mut self.msgs, MSG_CAP)
        }
    }

    /// A restarted node is "recovering" until every live peer sees it up.
    pub(super) fn settle_recovery(&mut self) {
        let recovering: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| n.up && n.restarted_at.is_some())
            .map(|n| n.id)
            .collect();
        for id in recovering {
            let seen = self
                .nodes
                .values()
                .filter(|o| o.id != id && o.up)
                .all(|o| o.peers.get(&id).copied().unwrap_or(true));
            let cut_off = self.cut.iter().any(|&(a, b)| a == id || b == id);
            if seen && !cut_off {
                self.node_mut(id).restarted_at = None;
            }
        }
    }

    pub(super) fn trace(&mut self, entry: TraceEntry) {
        let at = entry.at;
        match entry.what {
            TraceWhat::Node { event } => self.node_event(at, event.node, event.kind),
            TraceWhat::Sim { event } => self.sim_event(at, event),
        }
    }

    fn node_event(&mut self, at: Micros, node: NodeId, kind: EventKind) {
        use EventKind as K;
        let line = narration::node_event(node, &kind);
        let tag = marks::node_tag(node, &kind);
        match kind {
            K::Started { replayed, .. } => {
                let n = self.node_mut(node);
                n.up = true;
                n.replayed = Some(replayed);
            }
            K::RequestReceived {
                client,
                replicas,
                live,
                ..
            } => {
                if let Some(r) = self.request_mut(client) {
                    r.replicas = replicas;
                    r.live = live;
                }
            }
            K::RequestAnswered {
                client, answered, ..
            } => {
                if let Some(r) = self.request_mut(client) {
                    r.answered = answered;
                }
            }
            K::MessageSent {
                msg,
                to,
                msg_kind,
                key,
                ..
            } => {
                let kind = intern_kind(&msg_kind);
                let (list, cap) = self.msg_list(kind);
                list.push_back(MsgRecord {
                    msg,
                    from: node,
                    to,
                    kind,
                    key,
                    sent_at: at,
                    received_at: None,
                    dropped: None,
                });
                while list.len() > cap {
                    list.pop_front();
                }
            }
            K::MessageReceived { msg, msg_kind, .. } => {
                let (list, _) = self.msg_list(intern_kind(&msg_kind));
                if let Some(m) = list.iter_mut().rev().find(|m| m.msg == msg) {
                    m.received_at = Some(at);
                }
            }
            K::RecordPersisted { lsn, record } => {
                let n = self.node_mut(node);
                n.log_tail.push_back(LogRow {
                    lsn,
                    record,
                    synced: true,
                });
                while n.log_tail.len() > LOG_TAIL {
                    n.log_tail.pop_front();
                }
                n.log_len = n.log_len.max(lsn as usize);
            }
            K::WriteApplied {
                key, version, won, ..
            } => {
                if won {
                    let value = version.value.clone();
                    Rc::make_mut(&mut self.node_mut(node).data).insert(key.clone(), version);
                    for r in self.requests.iter_mut().rev().take(64) {
                        if r.request.key() == &key
                            && r.written_value() == Some(value.as_deref())
                            && r.invoke_us <= at
                            && !r.landed_on.contains(&node)
                        {
                            Rc::make_mut(r).landed_on.push(node);
                        }
                    }
                }
            }
            K::HintStored {
                hint, target, key, ..
            } => {
                self.node_mut(node).hints.insert(
                    hint,
                    HintRow {
                        id: hint,
                        target,
                        key,
                    },
                );
            }
            K::HintDelivered { hint, .. } => {
                self.node_mut(node).hints.remove(&hint);
            }
            K::HintDropped { target, key, .. } => {
                let n = self.node_mut(node);
                let gone: Vec<u64> = n
                    .hints
                    .values()
                    .filter(|h| h.target == target && h.key == key)
                    .map(|h| h.id)
                    .take(1)
                    .collect();
                for id in gone {
                    n.hints.remove(&id);
                }
            }
            K::PeerDown { peer, .. } => {
                self.node_mut(node).peers.insert(peer, false);
            }
            K::PeerUp { peer, .. } => {
                self.node_mut(node).peers.insert(peer, true);
            }
            K::HintSent { .. } | K::ReadRepair { .. } | K::AntiEntropy { .. } => {}
            K::Compacted { .. } => {}
        }
        self.say_tagged(at, line, tag);
    }

    fn sim_event(&mut self, at: Micros, event: ClusterEvent) {
        let line = narration::sim_event(&event);
        let tag = marks::sim_tag(&event);
        match event {
            ClusterEvent::MessageDropped {
                msg,
                from,
                to,
                msg_kind,
                reason,
            } => {
                let kind = intern_kind(&msg_kind);
                let (list, _) = self.msg_list(kind);
                if let Some(m) = list.iter_mut().rev().find(|m| m.msg == msg) {
                    m.dropped = Some(reason.clone());
                    m.received_at = Some(at);
                }
                self.falls.push(Fall {
                    msg,
                    from,
                    to,
                    kind,
                    at,
                    reason,
                });
            }
            ClusterEvent::Crashed { node, lost_records } => {
                let n = self.node_mut(node);
                n.up = false;
                n.restarted_at = None;
                n.lost_records = lost_records;
            }
            ClusterEvent::Restarted { node, replayed } => {
                let n = self.node_mut(node);
                n.up = true;
                n.restarted_at = Some(at);
                n.replayed = Some(replayed);
                n.peers.clear();
            }
            ClusterEvent::LinkCut { a, b } => {
                self.cut.insert((a.min(b), a.max(b)));
            }
            ClusterEvent::LinkHealed { a, b } => {
                self.cut.remove(&(a.min(b), a.max(b)));
            }
            ClusterEvent::NetChanged { net } => self.net = Some(net),
            ClusterEvent::SkewChanged { node, skew_us } => self.node_mut(node).skew_us = skew_us,
            ClusterEvent::ClientSent {
                client,
                node,
                request,
            } => {
                self.op_sent(HistoryOp {
                    client,
                    node,
                    request: request.clone(),
                    invoke_us: at,
                    complete_us: None,
                    outcome: Outcome::Pending,
                });
                self.requests.push_back(Rc::new(RequestView {
                    client,
                    coordinator: node,
                    request,
                    invoke_us: at,
                    complete_us: None,
                    outcome: Outcome::Pending,
                    replicas: Vec::new(),
                    live: Vec::new(),
                    answered: Vec::new(),
                    stale: None,
                    landed_on: Vec::new(),
                    label: None,
                }));
                while self.requests.len() > REQUEST_CAP {
                    self.requests.pop_front();
                }
            }
            ClusterEvent::ClientAnswered {
                client, outcome, ..
            } => self.answered(at, client, outcome),
            ClusterEvent::Compacted { .. } => {}
        }
        self.say_tagged(at, line, tag);
    }

    fn answered(&mut self, at: Micros, client: ClientRef, outcome: Outcome) {
        let Some(r) = self.request(client).cloned() else {
            self.op_answered(client, at, &outcome);
            return;
        };
        let mut r = (*r).clone();
        r.complete_us = Some(at);
        r.outcome = outcome.clone();
        let key = r.request.key().clone();
        // Stale reads: the checker's own rule, on the writes of this key.
        if matches!(outcome, Outcome::Read { .. }) {
            let mut ops: Vec<HistoryOp> = self.writes.get(&key).cloned().unwrap_or_default();
            ops.push(HistoryOp {
                client,
                node: r.coordinator,
                request: r.request.clone(),
                invoke_us: r.invoke_us,
                complete_us: Some(at),
                outcome: outcome.clone(),
            });
            let idx = ops.len() - 1;
            r.stale = stale_read(&History { ops }, idx);
        }
        if let Outcome::Written { .. } = outcome {
            let writes = Rc::make_mut(&mut self.writes).entry(key).or_default();
            writes.push(HistoryOp {
                client,
                node: r.coordinator,
                request: r.request.clone(),
                invoke_us: r.invoke_us,
                complete_us: Some(at),
                outcome: outcome.clone(),
            });
            if writes.len() > WRITES_PER_KEY {
                writes.remove(0);
            }
        }
        let line = narration::answer(&r.request, r.coordinator, &r.outcome, r.stale.as_ref());
        self.say_tagged(at, line, None);
        if let Some(slot) = self.request_mut(client) {
            *slot = r;
        }
        self.op_answered(client, at, &outcome);
    }
}
