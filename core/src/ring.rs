//! Tokens, partitioners and replica placement (SimpleStrategy).
//!
//! Every node owns the range of tokens `(previous token, its token]`; a key
//! goes to the node owning its token and the next `rf - 1` distinct nodes
//! clockwise. With the classic byte-ordered tokens key `k` lands on node
//! `k / 64`, so key 137 lives on nodes 2, 3, 0.

use crate::types::{Key, NodeId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A position on the ring, `0..=u64::MAX`. Written as 16 hex digits in JSON
/// and TOML (TOML integers stop at `i64::MAX`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub u64);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Token {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:016x}", self.0))
    }
}

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Token, D::Error> {
        let s = String::deserialize(d)?;
        let digits = s.strip_prefix("0x").unwrap_or(&s);
        u64::from_str_radix(digits, 16).map(Token).map_err(|_| {
            serde::de::Error::custom(format!(
                "token {s:?} is not a hex number of at most 16 digits"
            ))
        })
    }
}

/// One node's token, as the cluster file lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeToken {
    pub node: NodeId,
    pub token: Token,
}

/// How keys map to tokens, and which tokens the nodes hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Partitioner {
    /// The key's bytes are its token (first 8 bytes, big-endian, zero
    /// padded), so keys keep their order on the ring. One token per node.
    ByteOrdered { tokens: Vec<NodeToken> },
    /// Murmur3 (x64, 128-bit, first 64 bits) of the key's bytes, with
    /// `vnodes` tokens per node, also derived by Murmur3 from the node id,
    /// so every node computes the same ring without talking.
    Murmur3 { vnodes: u32 },
}

impl Default for Partitioner {
    fn default() -> Self {
        Partitioner::byte_ordered_even(&[0, 1, 2, 3])
    }
}

impl Partitioner {
    /// Evenly spaced byte-ordered tokens: with `n` nodes, node `i` owns the
    /// first bytes `[i*256/n, (i+1)*256/n)`.
    pub fn byte_ordered_even(nodes: &[NodeId]) -> Partitioner {
        let n = nodes.len().max(1) as u128;
        let span = 1u128 << 64;
        let tokens = nodes
            .iter()
            .enumerate()
            .map(|(i, &node)| {
                // The last token of the node's share, aligned to first-byte
                // boundaries so that classic keys split as k * n / 256.
                let first_byte_end = ((i as u128 + 1) * 256).div_ceil(n);
                let end = (first_byte_end * (span / 256)).min(span) - 1;
                NodeToken {
                    node,
                    token: Token(end as u64),
                }
            })
            .collect();
        Partitioner::ByteOrdered { tokens }
    }

    pub fn murmur3(vnodes: u32) -> Partitioner {
        Partitioner::Murmur3 { vnodes }
    }

    pub fn validate(&self, nodes: &[NodeId]) -> Result<(), String> {
        match self {
            Partitioner::ByteOrdered { tokens } => {
                for id in nodes {
                    if !tokens.iter().any(|t| t.node == *id) {
                        return Err(format!("partitioner.tokens: node {id} has no token"));
                    }
                }
                let mut seen = std::collections::BTreeMap::new();
                for t in tokens {
                    if !nodes.contains(&t.node) {
                        return Err(format!(
                            "partitioner.tokens: node {} is not a member of the cluster",
                            t.node
                        ));
                    }
                    if let Some(other) = seen.insert(t.token, t.node) {
                        return Err(format!(
                            "partitioner.tokens: token {} is given to both node {other} and node {}",
                            t.token, t.node
                        ));
                    }
                }
                Ok(())
            }
            Partitioner::Murmur3 { vnodes } => {
                if *vnodes == 0 || *vnodes > 1024 {
                    Err(format!(
                        "partitioner.vnodes: must be 1..=1024, got {vnodes}"
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The token of a key under this partitioner.
    pub fn token_of(&self, key: &Key) -> Token {
        let bytes = key.bytes();
        match self {
            Partitioner::ByteOrdered { .. } => {
                let mut first = [0u8; 8];
                for (slot, b) in first.iter_mut().zip(bytes.iter()) {
                    *slot = *b;
                }
                Token(u64::from_be_bytes(first))
            }
            Partitioner::Murmur3 { .. } => Token(murmur64(bytes)),
        }
    }
}

/// First 64 bits of Murmur3 x64 128 (seed 0), as Cassandra's partitioner.
pub fn murmur64(bytes: &[u8]) -> u64 {
    let mut cursor = std::io::Cursor::new(bytes);
    // Reading from an in-memory cursor cannot fail.
    let h = murmur3::murmur3_x64_128(&mut cursor, 0).unwrap_or(0);
    (h >> 64) as u64
}

/// The ring: every token in order with its node, and the replication factor.
#[derive(Clone, Debug)]
pub struct Ring {
    partitioner: Partitioner,
    /// Sorted by token.
    tokens: Vec<(Token, NodeId)>,
    rf: usize,
    nodes: Vec<NodeId>,
}

impl Ring {
    pub fn new(partitioner: &Partitioner, nodes: &[NodeId], rf: usize) -> Ring {
        let mut tokens: Vec<(Token, NodeId)> = match partitioner {
            Partitioner::ByteOrdered { tokens } => {
                tokens.iter().map(|t| (t.token, t.node)).collect()
            }
            Partitioner::Murmur3 { vnodes } => nodes
                .iter()
                .flat_map(|&node| {
                    (0..*vnodes).map(move |v| {
                        (
                            Token(murmur64(format!("node-{node}-vnode-{v}").as_bytes())),
                            node,
                        )
                    })
                })
                .collect(),
        };
        tokens.sort();
        tokens.dedup_by_key(|t| t.0);
        let mut nodes = nodes.to_vec();
        nodes.sort();
        Ring {
            partitioner: partitioner.clone(),
            tokens,
            rf: rf.min(nodes.len()).max(1),
            nodes,
        }
    }

    pub fn rf(&self) -> usize {
        self.rf
    }

    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    pub fn partitioner(&self) -> &Partitioner {
        &self.partitioner
    }

    /// Every token with its owner, in ring order.
    pub fn tokens(&self) -> &[(Token, NodeId)] {
        &self.tokens
    }

    pub fn token_of(&self, key: &Key) -> Token {
        self.partitioner.token_of(key)
    }

    /// The replicas of a key: the owner of its token first, then clockwise.
    pub fn replicas(&self, key: &Key) -> Vec<NodeId> {
        self.replicas_for_token(self.token_of(key))
    }

    pub fn replicas_for_token(&self, token: Token) -> Vec<NodeId> {
        self.walk(token).collect()
    }

    /// True when `node` holds a replica of `key`.
    pub fn is_replica(&self, key: &Key, node: NodeId) -> bool {
        self.walk(self.token_of(key)).any(|n| n == node)
    }

    /// The replicas of `token` in ring order, with no vector of their own
    /// (a replica checks every message it is sent): the owners of the
    /// tokens from it on, each node the first time it comes, `rf` at most.
    fn walk(&self, token: Token) -> impl Iterator<Item = NodeId> + '_ {
        let n = self.tokens.len();
        let start = match n {
            0 => 0,
            _ => self.tokens.partition_point(|(t, _)| *t < token) % n,
        };
        let owner = move |i: usize| self.tokens[(start + i) % n].1;
        (0..n)
            .filter(move |&i| (0..i).all(|j| owner(j) != owner(i)))
            .map(owner)
            .take(self.rf)
    }

    /// The token ranges `(start, end]` a node owns as primary.
    pub fn primary_ranges(&self, node: NodeId) -> Vec<(Token, Token)> {
        let n = self.tokens.len();
        (0..n)
            .filter(|&i| self.tokens[i].1 == node)
            .map(|i| (self.tokens[(i + n - 1) % n].0, self.tokens[i].0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classic() -> Ring {
        Ring::new(
            &Partitioner::byte_ordered_even(&[0, 1, 2, 3]),
            &[0, 1, 2, 3],
            3,
        )
    }

    #[test]
    fn classic_placement_table() {
        let ring = classic();
        assert_eq!(ring.replicas(&Key::Int(0)), vec![0, 1, 2]);
        assert_eq!(ring.replicas(&Key::Int(63)), vec![0, 1, 2]);
        assert_eq!(ring.replicas(&Key::Int(64)), vec![1, 2, 3]);
        assert_eq!(ring.replicas(&Key::Int(137)), vec![2, 3, 0]);
        assert_eq!(ring.replicas(&Key::Int(255)), vec![3, 0, 1]);
    }

    #[test]
    fn classic_owner_is_k_div_64() {
        let ring = classic();
        for k in 0..=255u8 {
            assert_eq!(ring.replicas(&Key::Int(k))[0], k as u32 / 64, "key {k}");
        }
    }

    #[test]
    fn classic_tokens_match_inspect_example() {
        let ring = classic();
        assert_eq!(ring.tokens()[0].0.to_string(), "3fffffffffffffff");
        assert_eq!(ring.tokens()[3].0.to_string(), "ffffffffffffffff");
    }

    #[test]
    fn even_tokens_for_other_sizes() {
        for n in 1..=16u32 {
            let nodes: Vec<u32> = (0..n).collect();
            let ring = Ring::new(&Partitioner::byte_ordered_even(&nodes), &nodes, 3);
            for k in 0..=255u8 {
                let owner = ring.replicas(&Key::Int(k))[0];
                assert_eq!(owner, (k as u32 * n) / 256, "n={n} key {k}");
                assert_eq!(ring.replicas(&Key::Int(k)).len(), (n as usize).min(3));
            }
        }
    }

    #[test]
    fn murmur3_vnodes_spread_and_distinct() {
        let nodes: Vec<u32> = (0..5).collect();
        let ring = Ring::new(&Partitioner::murmur3(16), &nodes, 3);
        assert_eq!(ring.tokens().len(), 80);
        let mut owners = [0usize; 5];
        for k in 0..=255u8 {
            let r = ring.replicas(&Key::Int(k));
            assert_eq!(r.len(), 3);
            let mut d = r.clone();
            d.sort();
            d.dedup();
            assert_eq!(d.len(), 3);
            owners[r[0] as usize] += 1;
        }
        assert!(owners.iter().all(|&c| c > 10), "{owners:?}");
    }

    /// The walk without a vector is the plain one: the first `rf`
    /// distinct owners from the key's token on; and `is_replica` agrees.
    #[test]
    fn replicas_are_the_first_distinct_owners_from_the_keys_token() {
        for (nodes, rf) in [(5, 3), (3, 3), (2, 3), (6, 1), (4, 4)] {
            let ids: Vec<u32> = (0..nodes).collect();
            let ring = Ring::new(&Partitioner::murmur3(8), &ids, rf);
            let tokens = ring.tokens();
            for k in 0..=255u8 {
                let key = Key::Int(k);
                let token = ring.token_of(&key);
                let start = tokens.partition_point(|(t, _)| *t < token);
                let mut plain = vec![];
                for i in 0..tokens.len() {
                    let owner = tokens[(start + i) % tokens.len()].1;
                    if !plain.contains(&owner) && plain.len() < rf {
                        plain.push(owner);
                    }
                }
                assert_eq!(
                    ring.replicas(&key),
                    plain,
                    "{nodes} nodes, rf {rf}, key {k}"
                );
                for n in &ids {
                    assert_eq!(ring.is_replica(&key, *n), plain.contains(n));
                }
            }
        }
    }

    #[test]
    fn string_keys_are_placed_by_their_bytes() {
        let ring = classic();
        // 'a' is 0x61 = 97: node 1.
        assert_eq!(ring.replicas(&Key::Str("alice".into()))[0], 1);
    }

    #[test]
    fn token_hex_round_trip() {
        let t: Token = serde_json::from_str("\"3fffffffffffffff\"").unwrap();
        assert_eq!(t, Token(0x3fff_ffff_ffff_ffff));
        assert!(serde_json::from_str::<Token>("\"xyz\"").is_err());
    }
}
