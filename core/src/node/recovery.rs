//! Coming back from the commit log, and starting: a node is rebuilt from
//! its records before it takes part in anything, then `Input::Start`
//! begins its incarnation.

use super::detector::PeerState;
use super::{EventLevel, Merkle, Node};
use crate::config::Config;
use crate::io::{EventKind, TimerId};
use crate::ring::Ring;
use crate::storage::{Memtable, Record};
use crate::types::{Key, Version};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// What [`Node::recover`] rebuilt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub records: usize,
    pub keys: usize,
    pub hints: usize,
}

impl Node {
    /// A node with an empty log.
    pub fn new(config: Config) -> Node {
        Node::recover(config, &[]).0
    }

    /// Rebuilds a node from its commit-log records, in order: the memtable
    /// (last write wins) and the hints still held.
    pub fn recover(config: Config, records: &[Record]) -> (Node, Recovery) {
        Node::recover_from(config, records.iter().cloned())
    }

    /// [`Node::recover`] from records handed over one at a time, so a large
    /// log never sits in memory as a whole (see
    /// [`crate::storage::LogReader`]).
    pub fn recover_from(
        config: Config,
        records: impl IntoIterator<Item = Record>,
    ) -> (Node, Recovery) {
        let ring = Ring::new(
            &config.cluster.partitioner,
            &config.cluster.nodes,
            config.cluster.rf,
        );
        let mut mem = Memtable::default();
        let mut n = 0usize;
        let mut max_hint = 0u64;
        // Writes merge by last-write-wins, a total order, so the order
        // they are merged in does not matter: gather them, sort by key,
        // keep the winner of each key, and build the map from sorted
        // input in one pass. Far faster than a million inserts at random
        // places of a B-tree. Hints depend on order and go in as they come.
        let mut writes: Vec<(Key, Version)> = Vec::new();
        for r in records {
            match r {
                Record::Write { key, version } => writes.push((key, version)),
                r => {
                    if let Record::Hint { id, .. } | Record::HintDone { id } = &r {
                        max_hint = max_hint.max(*id);
                    }
                    mem.apply_owned(r);
                }
            }
            n += 1;
        }
        writes.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.lww_cmp(&b.1)));
        // The last of each run of equal keys is its newest version.
        writes.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        mem.data = writes.into_iter().collect();
        // Above every timestamp this node may have issued (reserved in the
        // log), and above every one it stores.
        let newest_stored = mem.data.values().map(|v| v.ts).max().unwrap_or(0);
        let last_ts = newest_stored.max(mem.timestamps_below.saturating_sub(1));
        let recovery = Recovery {
            records: n,
            keys: mem.data.len(),
            hints: mem.hints.len(),
        };
        let peers = config
            .cluster
            .nodes
            .iter()
            .filter(|&&p| p != config.id)
            .map(|&p| (p, PeerState::unheard()))
            .collect();
        let tree = Merkle::build(&ring, config.id, &mem.data);
        let node = Node {
            ring,
            mem,
            tree,
            recovery,
            started: false,
            gen: 0,
            now: 0,
            last_ts,
            next_op: 1,
            next_msg: 1,
            next_hint: max_hint + 1,
            next_seq: 1,
            lsn: n as u64,
            ops: BTreeMap::new(),
            peers,
            hints_in_flight: BTreeMap::new(),
            ae_next_peer: 0,
            ae: Default::default(),
            out: VecDeque::new(),
            events: EventLevel::All,
            config,
        };
        (node, recovery)
    }

    pub(super) fn handle_start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        // Above every op id and timestamp of an earlier life (they are
        // reserved in the log), whatever the clock says now: peers tell
        // lives apart by this, and op ids start from it. The first op
        // logs a new reservation before it sends anything; a node that
        // coordinates nothing (say, its disk is full) logs nothing and
        // still answers as a replica.
        self.gen = self.now.max(self.mem.timestamps_below);
        self.next_op = self.next_op.max(self.gen);
        self.next_hint = self.next_hint.max(self.gen);
        self.last_ts = self.last_ts.max(self.now);
        let now = self.now;
        for p in self.peers.values_mut() {
            p.last_heard = now;
        }
        let r = self.recovery;
        self.event(EventKind::Started {
            replayed: r.records,
            keys: r.keys,
            hints: r.hints,
            gen: self.gen,
        });
        self.handle_timer(TimerId::Heartbeat);
        let retry = self.cfg().hint_retry_ms;
        self.timer(TimerId::Hints, retry);
        let ae = self.cfg().anti_entropy_interval_ms;
        if ae > 0 {
            // Spread the nodes' first rounds apart.
            self.timer(TimerId::AntiEntropy, ae + ae * self.config.id as u64 / 7);
        }
    }
}
