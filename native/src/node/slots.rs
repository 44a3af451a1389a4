//! Who may hold a connection of a node, and for how long.
//!
//! Three budgets, so that no kind of connection can lock another out:
//!
//! - **Waiting**: every connection from accept until its WebSocket
//!   handshake is done (nobody is known yet, nothing is authenticated).
//!   When the budget is full, a new connection evicts the *oldest*
//!   waiting one rather than being refused: connections that never finish
//!   their handshake (silent, or sending half a request) cannot keep a
//!   real peer, which finishes its handshake in a millisecond, from
//!   getting in, however many an attacker opens.
//! - **Clients**: `max_connections`, taken when the request line says
//!   `/client` (or says nothing) and held until the connection ends; past
//!   it clients are refused.
//! - **Peers**: two connections per member, taken only once the cluster
//!   secret was checked, so an unauthenticated `/peer` connection holds no
//!   peer slot at all. A member's third connection closes its oldest (a
//!   restarted peer's old connection may linger half open).

use ringside_core::NodeId;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Connections one member may hold at once.
pub const PER_MEMBER: usize = 2;

/// The least room for connections waiting for their handshake.
pub const MIN_WAITING: usize = 64;

/// A connection's ticket: notified when it must close to make room.
type Ticket = (u64, Arc<Notify>);

pub struct Slots {
    waiting_max: usize,
    clients_max: usize,
    waiting: Mutex<VecDeque<Ticket>>,
    clients: AtomicUsize,
    peers: Mutex<HashMap<NodeId, VecDeque<Ticket>>>,
}

impl Slots {
    pub fn new(max_connections: usize, members: usize) -> Arc<Slots> {
        Arc::new(Slots {
            waiting_max: (max_connections + PER_MEMBER * members).max(MIN_WAITING),
            clients_max: max_connections,
            waiting: Mutex::new(VecDeque::new()),
            clients: AtomicUsize::new(0),
            peers: Mutex::new(HashMap::new()),
        })
    }

    /// A new connection `conn` waits for its handshake; returns whether it
    /// evicted the oldest waiting one to get in.
    pub fn wait(self: &Arc<Self>, conn: u64) -> (Waiting, bool) {
        let notify = Arc::new(Notify::new());
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let evicted = if w.len() >= self.waiting_max {
            if let Some((_, n)) = w.pop_front() {
                n.notify_one();
            }
            true
        } else {
            false
        };
        w.push_back((conn, notify.clone()));
        (
            Waiting {
                slots: self.clone(),
                conn,
                notify,
            },
            evicted,
        )
    }

    /// Takes a client slot, if one is free; it is given back on drop.
    pub fn client(self: &Arc<Self>) -> Option<ClientSlot> {
        if self.clients.fetch_add(1, Ordering::Relaxed) >= self.clients_max {
            self.clients.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(ClientSlot(self.clone()))
    }

    pub fn clients_max(&self) -> usize {
        self.clients_max
    }

    /// Member `from` authenticated connection `conn`; past
    /// [`PER_MEMBER`], its oldest connection is told to close.
    pub fn peer(self: &Arc<Self>, from: NodeId, conn: u64) -> PeerSlot {
        let notify = Arc::new(Notify::new());
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let q = peers.entry(from).or_default();
        while q.len() >= PER_MEMBER {
            if let Some((_, n)) = q.pop_front() {
                n.notify_one();
            }
        }
        q.push_back((conn, notify.clone()));
        PeerSlot {
            slots: self.clone(),
            from,
            conn,
            notify,
        }
    }
}

/// A place among the connections waiting for their handshake.
pub struct Waiting {
    slots: Arc<Slots>,
    conn: u64,
    notify: Arc<Notify>,
}

impl Waiting {
    /// Resolves when a newer connection evicted this one.
    pub async fn evicted(&self) {
        self.notify.notified().await
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut w = self.slots.waiting.lock().unwrap_or_else(|e| e.into_inner());
        w.retain(|(c, _)| *c != self.conn);
    }
}

/// A client slot, given back on drop.
pub struct ClientSlot(Arc<Slots>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A member's connection slot, given back on drop.
pub struct PeerSlot {
    slots: Arc<Slots>,
    from: NodeId,
    conn: u64,
    notify: Arc<Notify>,
}

impl PeerSlot {
    /// Resolves when a newer connection of the same member replaced this.
    pub async fn replaced(&self) {
        self.notify.notified().await
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut peers = self.slots.peers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(q) = peers.get_mut(&self.from) {
            q.retain(|(c, _)| *c != self.conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn fires(f: impl std::future::Future<Output = ()>) -> bool {
        tokio::time::timeout(Duration::from_millis(20), f)
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_full_waiting_room_evicts_its_oldest() {
        let s = Slots::new(0, 0);
        let all: Vec<_> = (0..MIN_WAITING as u64).map(|c| s.wait(c)).collect();
        assert!(all.iter().all(|(_, evicted)| !evicted));
        let (newest, evicted) = s.wait(1000);
        assert!(evicted);
        assert!(fires(all[0].0.evicted()).await, "the oldest goes");
        assert!(!fires(all[1].0.evicted()).await, "the others stay");
        assert!(!fires(newest.evicted()).await);
        // A connection that finished its handshake leaves the room.
        drop(all);
        assert!(!s.wait(1001).1);
    }

    #[test]
    fn client_slots_are_bounded_and_come_back() {
        let s = Slots::new(2, 3);
        let a = s.client().unwrap();
        let _b = s.client().unwrap();
        assert!(s.client().is_none());
        drop(a);
        assert!(s.client().is_some());
    }

    #[tokio::test]
    async fn a_members_newest_connections_replace_its_oldest() {
        let s = Slots::new(0, 3);
        let first = s.peer(1, 1);
        let second = s.peer(1, 2);
        let other = s.peer(2, 3);
        let third = s.peer(1, 4);
        assert!(fires(first.replaced()).await);
        assert!(!fires(second.replaced()).await);
        assert!(!fires(other.replaced()).await);
        assert!(!fires(third.replaced()).await);
    }
}
