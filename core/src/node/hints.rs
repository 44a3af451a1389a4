//! Hinted handoff: a write for a replica that is down, or did not answer
//! in time, is kept by the coordinator as a hint, logged like any record,
//! and sent on when the replica is back. A hint is forgotten once the
//! replica acknowledges it, or given up after the hint window.

use super::Node;
use crate::io::{EventKind, HintReason, TimerId};
use crate::message::Msg;
use crate::storage::{hint_bytes, Hint, Record};
use crate::types::{Key, NodeId, Version};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Hints sent to one target per delivery round; the rest wait for the next
/// round, so a long outage does not become one huge burst.
const HINTS_PER_ROUND: usize = 256;

impl Node {
    /// The hints this node holds for others, by id.
    pub fn hints(&self) -> impl Iterator<Item = &Hint> {
        self.mem.hints.values()
    }

    pub fn hint_count(&self) -> usize {
        self.mem.hints.len()
    }

    /// The hints timer: give up the expired hints, retry the rest to every
    /// target that is up.
    pub(super) fn hints_round(&mut self) {
        self.expire_hints();
        let targets: BTreeSet<NodeId> = self.mem.hints.values().map(|h| h.target).collect();
        for t in targets {
            if self.is_up(t) {
                self.deliver_hints(t, false);
            }
        }
        let retry = self.cfg().hint_retry_ms;
        self.timer(TimerId::Hints, retry);
    }

    /// A hint from a coordinator for a write this replica missed.
    pub(super) fn on_hint(&mut self, from: NodeId, hint: u64, key: Key, version: Version) {
        if self.accepts(&key) {
            self.store(&key, Cow::Owned(version), "hinted handoff");
            self.send(from, Msg::HintAck { hint });
        }
    }

    /// The target stored the hint: it is done, and the record says so.
    pub(super) fn on_hint_ack(&mut self, from: NodeId, hint: u64) {
        self.hints_in_flight.remove(&hint);
        if let Some(h) = self.mem.hints.get(&hint).cloned() {
            if h.target == from {
                self.persist(Record::HintDone { id: hint });
                self.mem.forget_hint(hint);
                self.event(EventKind::HintDelivered {
                    hint,
                    target: from,
                    key: h.key,
                });
            }
        }
    }

    /// Whether the hint store can take `count` more hints of `bytes` in
    /// all, within both of its bounds; if not, which bound stops it.
    pub(super) fn hint_room(&self, count: usize, bytes: u64) -> Result<(), String> {
        let (max, max_bytes) = (self.cfg().max_hints, self.cfg().max_hint_bytes);
        if self.mem.hints.len() + count > max {
            return Err(format!("the hint store is full ({max} hints, max_hints)"));
        }
        if self.mem.hint_bytes + bytes > max_bytes {
            return Err(format!(
                "the hint store is full ({} of {max_bytes} bytes held, max_hint_bytes)",
                self.mem.hint_bytes
            ));
        }
        Ok(())
    }

    pub(super) fn store_hint(
        &mut self,
        target: NodeId,
        key: &Key,
        version: &Version,
        reason: HintReason,
    ) -> bool {
        if let Err(reason) = self.hint_room(1, hint_bytes(key, version.value.as_deref())) {
            self.event(EventKind::HintDropped {
                target,
                key: key.clone(),
                reason,
            });
            return false;
        }
        let id = self.next_hint;
        self.next_hint += 1;
        let record = Record::Hint {
            id,
            target,
            key: key.clone(),
            version: version.clone(),
            created_us: self.now,
        };
        self.persist(record.clone());
        self.mem.apply(&record);
        self.event(EventKind::HintStored {
            hint: id,
            target,
            key: key.clone(),
            reason,
        });
        true
    }

    pub(super) fn deliver_hints(&mut self, target: NodeId, force: bool) {
        let retry_us = self.cfg().hint_retry_ms * 1000;
        let now = self.now;
        let due: Vec<Hint> = self
            .mem
            .hints
            .values()
            .filter(|h| h.target == target)
            .filter(|h| {
                force
                    || self
                        .hints_in_flight
                        .get(&h.id)
                        .is_none_or(|&sent| now.saturating_sub(sent) >= retry_us)
            })
            .take(HINTS_PER_ROUND)
            .cloned()
            .collect();
        for h in due {
            self.hints_in_flight.insert(h.id, now);
            self.event(EventKind::HintSent {
                hint: h.id,
                target,
                key: h.key.clone(),
            });
            self.send(
                target,
                Msg::Hint {
                    hint: h.id,
                    key: h.key,
                    version: h.version,
                },
            );
        }
    }

    fn expire_hints(&mut self) {
        let window_us = self.cfg().hint_window_ms.saturating_mul(1000);
        let now = self.now;
        let old: Vec<Hint> = self
            .mem
            .hints
            .values()
            .filter(|h| now.saturating_sub(h.created_us) > window_us)
            .cloned()
            .collect();
        for h in old {
            self.persist(Record::HintDone { id: h.id });
            self.mem.forget_hint(h.id);
            self.hints_in_flight.remove(&h.id);
            let window = self.cfg().hint_window_ms;
            self.event(EventKind::HintDropped {
                target: h.target,
                key: h.key,
                reason: format!("older than the hint window ({window} ms)"),
            });
        }
    }
}
