//! What the connections hand the driver, and the inbox it travels in:
//! the types both sides know, so that the transport depends on them and
//! not on the driver (which depends on the transport's peer queues).

use crate::node::queue::QueueTx;
use ringside_core::message::ErrorKind;
use ringside_core::protocol::{error_json, DataPage};
use ringside_core::{Message, NodeId, Request};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::{SendError, TryRecvError, TrySendError};

/// A client connection's frames, from the driver and from its reader.
pub type ClientQueue = QueueTx<String>;

/// What the connections tell the driver.
pub enum DriverInput {
    /// A client connection opened; frames for it go to `tx`.
    ClientOpened {
        conn: u64,
        tx: ClientQueue,
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
        page: DataPage,
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

/// Inputs waiting from clients at most; past it a request is answered
/// `Overloaded`.
pub const CLIENT_INBOX: usize = 64 * 1024;
/// Inputs waiting from peers at most; past it a peer message is dropped
/// (the protocol copes with loss).
pub const PEER_INBOX: usize = 64 * 1024;

/// The connections' end of the node's inbox.
///
/// Peers and clients each have a lane with a bound of its own, and the
/// driver empties the peers' lane first. A flood of client requests fills
/// only its own lane (and is answered `Overloaded` there): it never
/// crowds out a heartbeat or an acknowledgement, so it cannot get a live
/// peer marked down or a write refused for want of replicas.
#[derive(Clone)]
pub struct InboxTx {
    clients: mpsc::Sender<DriverInput>,
    peers: mpsc::Sender<DriverInput>,
}

/// The driver's end of the node's inbox (see [`InboxTx`]).
pub struct Inbox {
    clients: mpsc::Receiver<DriverInput>,
    peers: mpsc::Receiver<DriverInput>,
}

/// A new inbox with room for `clients` inputs from clients and `peers`
/// from peers.
pub fn inbox(clients: usize, peers: usize) -> (InboxTx, Inbox) {
    let (clients_tx, clients_rx) = mpsc::channel(clients);
    let (peers_tx, peers_rx) = mpsc::channel(peers);
    (
        InboxTx {
            clients: clients_tx,
            peers: peers_tx,
        },
        Inbox {
            clients: clients_rx,
            peers: peers_rx,
        },
    )
}

impl InboxTx {
    /// The lane an input travels in. A shutdown goes with the peers, so
    /// that a full clients' lane cannot hold up a stop.
    fn lane(&self, input: &DriverInput) -> &mpsc::Sender<DriverInput> {
        match input {
            DriverInput::Peer { .. } | DriverInput::PeerLost(_) | DriverInput::Shutdown => {
                &self.peers
            }
            DriverInput::ClientOpened { .. }
            | DriverInput::ClientClosed { .. }
            | DriverInput::Request { .. }
            | DriverInput::Inspect { .. }
            | DriverInput::Subscribe { .. } => &self.clients,
        }
    }

    /// Hands the driver an input unless its lane is full.
    pub fn try_send(&self, input: DriverInput) -> Result<(), TrySendError<DriverInput>> {
        self.lane(&input).try_send(input)
    }

    /// Hands the driver an input, waiting for room in its lane: for the
    /// few inputs that must not be lost (a closed connection, whose
    /// subscription and queue would stay behind; a shutdown).
    pub async fn send(&self, input: DriverInput) -> Result<(), SendError<DriverInput>> {
        self.lane(&input).send(input).await
    }
}

impl Inbox {
    /// The next input, peers' first; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<DriverInput> {
        tokio::select! {
            biased;
            Some(input) = self.peers.recv() => Some(input),
            Some(input) = self.clients.recv() => Some(input),
            else => None,
        }
    }

    /// The next input if one is waiting, peers' first.
    pub fn try_recv(&mut self) -> Result<DriverInput, TryRecvError> {
        match self.peers.try_recv() {
            Ok(input) => Ok(input),
            Err(peers) => match (self.clients.try_recv(), peers) {
                (Ok(input), _) => Ok(input),
                (Err(TryRecvError::Disconnected), TryRecvError::Disconnected) => {
                    Err(TryRecvError::Disconnected)
                }
                (Err(_), _) => Err(TryRecvError::Empty),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringside_core::{Consistency, Msg, MsgId};

    fn request(id: u64) -> DriverInput {
        DriverInput::Request {
            conn: 1,
            id,
            request: Request::Get {
                key: ringside_core::Key::Int(7),
                cl: Consistency::One,
            },
        }
    }

    fn heartbeat() -> DriverInput {
        DriverInput::Peer {
            from: 2,
            msg: Message {
                id: MsgId {
                    from: 2,
                    gen: 1,
                    n: 1,
                },
                body: Msg::Heartbeat { gen: 1 },
            },
        }
    }

    /// A client flood fills its own lane only: a heartbeat still gets in,
    /// and the driver takes it before the flood.
    #[test]
    fn a_client_flood_cannot_crowd_out_a_heartbeat() {
        let (tx, mut rx) = inbox(8, 8);
        let mut accepted = 0;
        while tx.try_send(request(accepted)).is_ok() {
            accepted += 1;
        }
        assert!(
            tx.try_send(heartbeat()).is_ok(),
            "after {accepted} client requests filled the inbox, a peer's heartbeat was dropped"
        );
        assert!(
            matches!(rx.try_recv(), Ok(DriverInput::Peer { .. })),
            "the driver took a client request before the waiting heartbeat"
        );
        let mut requests = 0;
        while let Ok(DriverInput::Request { .. }) = rx.try_recv() {
            requests += 1;
        }
        assert_eq!(requests, accepted, "every accepted request is still there");
    }
}
