//! The client connections the driver answers: their frame queues, who
//! subscribed to events, and the fan-out of events to subscribers.

use super::Driver;
use crate::node::inbox::ClientQueue;
use crate::node::queue::Refused;
use crate::node::transport::EVENT_QUEUE_BYTES;
use ringside_core::EventLevel;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tracing::{info, Level};

struct Client {
    tx: ClientQueue,
    in_flight: Arc<AtomicUsize>,
    subscribed: bool,
    /// Events not delivered because the subscriber read too slowly.
    events_dropped: u64,
}

/// The open client connections, by connection number.
#[derive(Default)]
pub(super) struct Clients {
    open: HashMap<u64, Client>,
    /// Whether a client subscribed to events (see
    /// [`Driver::refresh_events`]).
    pub(super) subscribers: bool,
}

impl Clients {
    pub(super) fn open(&mut self, conn: u64, tx: ClientQueue, in_flight: Arc<AtomicUsize>) {
        self.open.insert(
            conn,
            Client {
                tx,
                in_flight,
                subscribed: false,
                events_dropped: 0,
            },
        );
    }

    /// Forgets a connection; true when it was a subscriber.
    pub(super) fn close(&mut self, conn: u64) -> bool {
        let Some(c) = self.open.remove(&conn) else {
            return false;
        };
        if c.events_dropped > 0 {
            info!(
                conn,
                "subscriber closed; {} events were dropped because it read too slowly",
                c.events_dropped
            );
        }
        c.subscribed
    }

    pub(super) fn subscribe(&mut self, conn: u64) {
        if let Some(c) = self.open.get_mut(&conn) {
            c.subscribed = true;
        }
    }

    /// Queues a frame for one client (`answer`: it answers a counted
    /// request). True when the connection turned out gone and was a
    /// subscriber.
    pub(super) fn deliver(&mut self, conn: u64, text: String, answer: bool) -> bool {
        let gone = match self.open.get(&conn) {
            Some(c) => {
                if answer {
                    c.in_flight.fetch_sub(1, Ordering::Relaxed);
                }
                // Answers always fit: the connection has at most
                // max_in_flight of them outstanding and events
                // leave `reply_room` free. Their bytes are bounded where
                // requests come in (see `CLIENT_QUEUE_BYTES`).
                c.tx.push(text, usize::MAX) == Err(Refused::Closed)
            }
            None => false,
        };
        gone && self.open.remove(&conn).is_some_and(|c| c.subscribed)
    }

    /// Queues an event for every subscriber with more than `room` frames
    /// free in its queue (answers keep that much) and less than
    /// [`EVENT_QUEUE_BYTES`] queued, and counts it dropped for the others.
    pub(super) fn publish(&mut self, text: &str, room: usize) {
        for c in self.open.values_mut().filter(|c| c.subscribed) {
            if c.tx.capacity() <= room
                || c.tx.push(text.to_string(), EVENT_QUEUE_BYTES) == Err(Refused::Full)
            {
                c.events_dropped += 1;
            }
        }
    }
}

impl Driver {
    /// Asks the node for every event while someone wants them (a
    /// subscriber, or the debug log of `ringside::event`), and else only
    /// the notable ones this driver logs: building the others (each
    /// message, record and request) is a good part of the node's work.
    /// Called whenever a client subscribes or goes.
    pub(super) fn refresh_events(&mut self) {
        self.clients.subscribers = self.clients.open.values().any(|c| c.subscribed);
        let all =
            self.clients.subscribers || tracing::enabled!(target: "ringside::event", Level::DEBUG);
        self.node.set_events(if all {
            EventLevel::All
        } else {
            EventLevel::Notable
        });
    }
}
