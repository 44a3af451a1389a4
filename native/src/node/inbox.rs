//! What the connections hand the driver: the one type both sides of the
//! node's inbox channel know, so that the transport depends on it and not
//! on the driver (which depends on the transport's peer queues).

use ringside_core::message::ErrorKind;
use ringside_core::protocol::error_json;
use ringside_core::{Message, NodeId, Request};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What the connections tell the driver.
pub enum DriverInput {
    /// A client connection opened; frames for it go to `tx`.
    ClientOpened {
        conn: u64,
        tx: mpsc::Sender<String>,
        /// Requests of this connection not yet answered; the driver
        /// decrements it as it sends each answer.
        in_flight: Arc<AtomicUsize>,
    },
    ClientClosed {
        conn: u64,
    },
    /// A data request (put, get, delete).
    Request {
        conn: u64,
        id: u64,
        request: Request,
    },
    Inspect {
        conn: u64,
        id: u64,
    },
    Subscribe {
        conn: u64,
        id: u64,
    },
    /// A message from a peer, already checked to come from `from`.
    Peer {
        from: NodeId,
        msg: Message,
    },
    /// The outgoing connection to a peer was lost.
    PeerLost(NodeId),
    /// Finish the current batch, fsync, and stop.
    Shutdown,
}

/// The answer a connection gives itself when the driver cannot take more.
pub fn overloaded(id: u64, why: &str) -> String {
    error_json(Some(id), ErrorKind::Overloaded, why)
}
