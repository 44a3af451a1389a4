//! The node's events: the notable ones logged at info or warn, and every
//! one, while someone wants them, as a JSON frame for the subscribers
//! and the debug log of `ringside::event`.

use super::gate::Action;
use super::Driver;
use ringside_core::protocol::event_json;
use ringside_core::{Event, EventKind};
use tracing::{debug, info, warn, Level};

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
    pub(super) fn event(&mut self, e: Event) {
        log_notable(&e);
        let subscribers = self.clients.subscribers;
        if subscribers || tracing::enabled!(target: "ringside::event", Level::DEBUG) {
            let text = event_json(&e);
            debug!(target: "ringside::event", "{text}");
            if subscribers {
                self.emit(Action::Event(text));
            }
        }
    }
}
