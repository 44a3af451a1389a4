//! The failure detector: every node sends each peer a heartbeat per
//! interval, and a peer silent for longer than the failure timeout is
//! taken to be down. Any message counts as a sign of life, and a changed
//! generation in one shows the peer restarted. Coming back up is what
//! sends a peer the hints held for it.

use super::Node;
use crate::io::{EventKind, TimerId};
use crate::message::Msg;
use crate::types::{Micros, NodeId};
use serde::{Deserialize, Serialize};

/// What the failure detector thinks of a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    pub node: NodeId,
    pub up: bool,
    /// When this node last heard from the peer (its own clock).
    pub last_heard_us: Micros,
}

#[derive(Clone, Debug)]
pub(super) struct PeerState {
    pub(super) up: bool,
    pub(super) last_heard: Micros,
    /// The peer's incarnation, from its messages; `None` until one arrives.
    gen: Option<Micros>,
}

impl PeerState {
    /// A peer not heard from yet counts as up: a cluster that starts
    /// together can serve before the first round of heartbeats.
    pub(super) fn unheard() -> PeerState {
        PeerState {
            up: true,
            last_heard: 0,
            gen: None,
        }
    }
}

impl Node {
    pub fn peers(&self) -> Vec<PeerView> {
        self.peers
            .iter()
            .map(|(&node, p)| PeerView {
                node,
                up: p.up,
                last_heard_us: p.last_heard,
            })
            .collect()
    }

    pub fn is_up(&self, peer: NodeId) -> bool {
        peer == self.config.id || self.peers.get(&peer).is_some_and(|p| p.up)
    }

    pub(super) fn heard_from(&mut self, peer: NodeId, gen: Micros) {
        let now = self.now;
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.last_heard = now;
        let restarted = p.gen.is_some_and(|g| g != gen);
        let was_down = !p.up;
        p.gen = Some(gen);
        p.up = true;
        if was_down || restarted {
            self.event(EventKind::PeerUp { peer, restarted });
            self.deliver_hints(peer, true);
        }
    }

    pub(super) fn mark_down(&mut self, peer: NodeId, reason: &str) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        if p.up {
            p.up = false;
            self.event(EventKind::PeerDown {
                peer,
                reason: reason.to_string(),
            });
            // Hints in flight to it will not be acknowledged; resend later.
            let ids: Vec<u64> = self
                .mem
                .hints
                .values()
                .filter(|h| h.target == peer)
                .map(|h| h.id)
                .collect();
            for id in ids {
                self.hints_in_flight.remove(&id);
            }
        }
    }

    /// The heartbeat timer: tell every peer we live, and mark down the
    /// ones silent for too long.
    pub(super) fn heartbeat(&mut self) {
        let peers: Vec<NodeId> = self.peers.keys().copied().collect();
        let gen = self.gen;
        for &p in &peers {
            self.send(p, Msg::Heartbeat { gen });
        }
        let limit = self.cfg().failure_timeout_ms * 1000;
        for p in peers {
            let silent = self.now.saturating_sub(self.peers[&p].last_heard);
            if self.peers[&p].up && silent > limit {
                self.mark_down(p, &format!("silent for {} ms", silent / 1000));
            }
        }
        let every = self.cfg().heartbeat_interval_ms;
        self.timer(TimerId::Heartbeat, every);
    }
}
