//! The node's events: the notable ones logged at info or warn, and every
//! one, while someone wants them, as a JSON frame for the subscribers
//! and the debug log of `ringside::event`.
//!
//! Subscribers get them in the order they happened, `seq` increasing
//! (the protocol's promise). So they wait in one queue of their own,
//! each until the log is durable as far as it was when the event came
//! (what an event says may have been logged just before it), and leave
//! in order; not in the gate, whose separate queue for what lazy writes
//! bring would let a later event overtake an earlier one. And when the
//! node is rebuilt after a failed log write, its events are numbered on
//! from where the replaced node's stopped.

use super::Driver;
use ringside_core::protocol::event_json;
use ringside_core::{Event, EventKind};
use std::collections::VecDeque;
use tracing::{debug, info, warn, Level};

/// Events on their way to the subscribers.
#[derive(Default)]
pub(super) struct Events {
    /// Frames waiting for the log to be durable up to the position they
    /// carry, in order.
    held: VecDeque<(u64, String)>,
    /// Added to the node's `seq`: the first of the present node's events
    /// follows the last one of the node it replaced.
    seq_base: u64,
    /// One past the last `seq` handed out.
    seq_next: u64,
}

/// Logs the events an operator wants to see without asking.
fn log_notable(e: &Event) {
    match &e.kind {
        EventKind::Started {
            replayed,
            keys,
            hints,
            ..
        } => info!("started: replayed {replayed} records, {keys} keys, {hints} hints"),
        EventKind::PeerDown { peer, reason } => {
            info!("peer {peer} is down: {reason}")
        }
        EventKind::PeerUp { peer, restarted } => {
            info!(
                "peer {peer} is up{}",
                if *restarted { " (restarted)" } else { "" }
            )
        }
        EventKind::HintDropped {
            target,
            key,
            reason,
        } => warn!("hint for node {target}, key {key} dropped: {reason}"),
        EventKind::Compacted { records } => {
            info!("compacted the commit log to {records} records")
        }
        _ => {}
    }
}

impl Driver {
    /// An event the node emitted.
    pub(super) fn event(&mut self, mut e: Event) {
        e.seq += self.events.seq_base;
        self.events.seq_next = e.seq + 1;
        log_notable(&e);
        let subscribers = self.clients.subscribers;
        if subscribers || tracing::enabled!(target: "ringside::event", Level::DEBUG) {
            let text = event_json(&e);
            debug!(target: "ringside::event", "{text}");
            if subscribers {
                let need = self.gate.appended_to();
                self.events.held.push_back((need, text));
                self.release_events();
            }
        }
    }

    /// Publishes the held events whose records are durable, in order.
    pub(super) fn release_events(&mut self) {
        let durable = self.gate.durable();
        while self
            .events
            .held
            .front()
            .is_some_and(|(need, _)| *need <= durable)
        {
            let (_, text) = self.events.held.pop_front().expect("a front entry");
            self.clients.publish(&text, self.settings.reply_room);
        }
    }

    /// The node is being replaced (its log failed): the events still
    /// held never leave, as nothing else it held does, and the new node's
    /// are numbered on. Returns how many were dropped.
    pub(super) fn drop_held_events(&mut self) -> usize {
        self.events.seq_base = self.events.seq_next;
        std::mem::take(&mut self.events.held).len()
    }
}
