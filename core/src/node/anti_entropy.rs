//! Anti-entropy: now and then a node compares what it shares with one
//! peer, bucket by bucket (a one-level Merkle tree of hashes), and the two
//! exchange the versions of the buckets that differ. It repairs what read
//! repair and hints miss: keys nobody reads, hints given up.

use super::Node;
use crate::io::{EventKind, TimerId};
use crate::message::Msg;
use crate::ring::murmur64;
use crate::types::{Key, NodeId, Version};
use std::collections::BTreeMap;

/// Anti-entropy buckets per peer pair (a one-level Merkle tree).
const AE_BUCKETS: u32 = 64;
/// Versions one anti-entropy message carries at most.
const AE_MAX_ENTRIES: usize = 2_000;
/// Bytes of values one anti-entropy message carries, about, at most (one
/// more version may pass it), far under the peer message limit.
const AE_MAX_BYTES: usize = 8 << 20;

impl Node {
    /// The anti-entropy timer: a round with the next peer that is up.
    pub(super) fn anti_entropy_round(&mut self) {
        self.start_anti_entropy();
        let every = self.cfg().anti_entropy_interval_ms;
        if every > 0 {
            self.timer(TimerId::AntiEntropy, every);
        }
    }

    fn shared_with(&self, peer: NodeId, key: &Key) -> bool {
        let r = self.ring.replicas(key);
        r.contains(&peer) && r.contains(&self.config.id)
    }

    fn bucket_of(key: &Key) -> u32 {
        (murmur64(&key.bytes()) % AE_BUCKETS as u64) as u32
    }

    fn digests(&self, peer: NodeId) -> Vec<(u32, u64)> {
        let mut sums = vec![0u64; AE_BUCKETS as usize];
        for (key, v) in &self.mem.data {
            if self.shared_with(peer, key) {
                let mut bytes = key.bytes();
                bytes.push(matches!(key, Key::Str(_)) as u8);
                bytes.extend_from_slice(&v.ts.to_le_bytes());
                if let Some(val) = &v.value {
                    bytes.push(1);
                    bytes.extend_from_slice(val.as_bytes());
                }
                sums[Self::bucket_of(key) as usize] =
                    sums[Self::bucket_of(key) as usize].wrapping_add(murmur64(&bytes));
            }
        }
        sums.into_iter()
            .enumerate()
            .map(|(i, s)| (i as u32, s))
            .collect()
    }

    /// This node's versions in `buckets` shared with `peer`, bounded by
    /// count and by bytes so the message stays under the peer limit; what
    /// does not fit goes in a later round.
    fn entries_in(&self, peer: NodeId, buckets: &[u32]) -> Vec<(Key, Version)> {
        let mut bytes = 0usize;
        let mut out = Vec::new();
        for (k, v) in &self.mem.data {
            if out.len() >= AE_MAX_ENTRIES || bytes >= AE_MAX_BYTES {
                break;
            }
            if buckets.contains(&Self::bucket_of(k)) && self.shared_with(peer, k) {
                bytes += 32 + k.bytes().len() + v.value.as_ref().map_or(0, String::len);
                out.push((k.clone(), v.clone()));
            }
        }
        out
    }

    fn start_anti_entropy(&mut self) {
        let up: Vec<NodeId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.up)
            .map(|(&n, _)| n)
            .collect();
        if up.is_empty() {
            return;
        }
        let peer = up[self.ae_next_peer % up.len()];
        self.ae_next_peer = self.ae_next_peer.wrapping_add(1);
        let buckets = self.digests(peer);
        self.send(peer, Msg::SyncDigest { buckets });
    }

    pub(super) fn handle_sync_digest(&mut self, from: NodeId, theirs: Vec<(u32, u64)>) {
        let mine = self.digests(from);
        let differ: Vec<u32> = mine
            .iter()
            .filter(|(b, s)| {
                theirs
                    .iter()
                    .find(|(tb, _)| tb == b)
                    .is_none_or(|(_, ts)| ts != s)
            })
            .map(|(b, _)| *b)
            .collect();
        if !differ.is_empty() {
            let entries = self.entries_in(from, &differ);
            self.send(
                from,
                Msg::SyncData {
                    entries,
                    buckets: differ,
                    reply: true,
                },
            );
        }
    }

    pub(super) fn handle_sync_data(
        &mut self,
        from: NodeId,
        entries: Vec<(Key, Version)>,
        buckets: Vec<u32>,
        reply: bool,
    ) {
        let buckets: Vec<u32> = buckets
            .into_iter()
            .filter(|b| *b < AE_BUCKETS)
            .take(AE_BUCKETS as usize)
            .collect();
        let mut changed = 0;
        let theirs: BTreeMap<Key, Version> = entries.into_iter().collect();
        for (key, version) in &theirs {
            if self.shared_with(from, key) && self.store(key, version, "anti-entropy") {
                changed += 1;
            }
        }
        if reply {
            let mine = self.entries_in(from, &buckets);
            let newer: Vec<(Key, Version)> = mine
                .into_iter()
                .filter(|(k, v)| theirs.get(k).is_none_or(|t| v.supersedes(t)))
                .collect();
            if !newer.is_empty() {
                self.send(
                    from,
                    Msg::SyncData {
                        entries: newer,
                        buckets: vec![],
                        reply: false,
                    },
                );
            }
        }
        if changed > 0 {
            self.event(EventKind::AntiEntropy {
                peer: from,
                keys: changed,
            });
        }
    }
}
