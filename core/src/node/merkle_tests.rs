//! The hash trees stay what a rebuild from the data would give, through
//! writes, deletes, anti-entropy, crashes and replays, compactions, and
//! the rebuilds that deepen them as the data grows.

use super::merkle::Merkle;
use super::Node;
use crate::message::Request;
use crate::sim::{Action, Sim, SimConfig};
use crate::types::{Consistency, Key};

/// A small deterministic generator (the simulator's own is its business).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn assert_tree_matches_data(n: &Node, when: &str) {
    let rebuilt = Merkle::build_at(n.ring(), n.id(), n.data(), n.tree.depth());
    assert!(
        n.tree == rebuilt,
        "node {}: the tree kept up to date differs from a rebuild {when}",
        n.id()
    );
}

fn request(rng: &mut Lcg, keys: u64) -> Request {
    let key = match rng.below(8) {
        0 => Key::Int(rng.below(256) as u8),
        _ => Key::Str(format!("user:{:06}", rng.below(keys)).into()),
    };
    let cl = [Consistency::One, Consistency::Quorum, Consistency::All][rng.below(3) as usize];
    if rng.below(6) == 0 {
        Request::Delete { key, cl }
    } else {
        Request::Put {
            key,
            value: format!("v{}", rng.below(1_000_000)).into(),
            cl,
        }
    }
}

#[test]
fn the_tree_equals_a_rebuild_after_writes_deletes_replays_and_compactions() {
    for seed in 1..=4u64 {
        let mut s = Sim::new(SimConfig::classic(seed));
        let mut rng = Lcg(seed);
        let start_depth = s.node(0).unwrap().tree.depth();
        for step in 0..60 {
            for _ in 0..40 {
                let node = rng.below(4) as u32;
                let r = request(&mut rng, 2_000);
                s.submit(node, r);
            }
            s.run_for(50_000);
            match rng.below(10) {
                0 => {
                    s.apply(Action::Crash {
                        node: rng.below(4) as u32,
                    });
                }
                1 => s.quiesce(),
                2 => s.compact(rng.below(4) as u32),
                _ => {}
            }
            for id in s.node_ids() {
                if let Some(n) = s.node(id) {
                    assert_tree_matches_data(n, &format!("(seed {seed}, step {step})"));
                }
            }
        }
        s.quiesce();
        s.run_for(3_000_000);
        let mut deepened = 0;
        for id in s.node_ids() {
            let n = s.node(id).unwrap();
            assert_tree_matches_data(n, &format!("(seed {seed}, at the end)"));
            deepened += usize::from(n.tree.depth() > start_depth);
        }
        // The nodes that replicate the range of the `user:` keys (all of
        // them share their first bytes) grew their trees along the way,
        // so the rebuilds were checked too.
        assert!(
            deepened >= 2,
            "seed {seed}: {deepened} nodes deepened their trees"
        );
    }
}

/// Deeper trees filled a bucket per write, through writes to keys
/// already added, to keys not added yet and to new keys along the way,
/// equal a rebuild at their depth when they take over.
#[test]
fn trees_deepened_a_bucket_per_write_equal_a_rebuild() {
    use crate::ring::{Partitioner, Ring};
    use crate::storage::Table;
    use crate::types::Version;
    let ring = Ring::new(&Partitioner::murmur3(8), &[0, 1, 2, 3], 3);
    let key = |i: u64| Key::Str(format!("user:{i:06}").into());
    let mut data = Table::default();
    let mut tree = Merkle::build(&ring, 0, &data);
    let mut rng = Lcg(3);
    let (mut grown, mut writes_while_growing) = (0, 0);
    for i in 0..60_000u64 {
        // Mostly new keys; a quarter rewrite a key written before.
        let k = if i > 0 && rng.below(4) == 0 {
            key(rng.below(i))
        } else {
            key(i)
        };
        let v = Version {
            ts: i + 1,
            value: Some(format!("v{i}").into()),
        };
        let old = data.get(&k).cloned();
        tree.update(&ring, &k, old.as_ref(), &v);
        data.insert(k, v);
        writes_while_growing += usize::from(tree.is_growing());
        if tree.grow(&ring, &data) {
            grown += 1;
            let rebuilt = Merkle::build_at(&ring, 0, &data, tree.depth());
            assert!(tree == rebuilt, "deepened to {}", tree.depth());
        }
    }
    assert!(
        grown >= 3 && writes_while_growing >= 20,
        "{grown} deepenings, {writes_while_growing} writes while one was under way"
    );
    assert!(tree == Merkle::build_at(&ring, 0, &data, tree.depth()));
}

#[test]
fn a_replayed_node_builds_the_tree_a_live_one_kept() {
    let mut s = Sim::new(SimConfig::classic(7));
    let mut rng = Lcg(7);
    for _ in 0..600 {
        let r = request(&mut rng, 500);
        s.submit(rng.below(4) as u32, r);
    }
    s.run_for(2_000_000);
    let before = s.node(1).unwrap().clone();
    s.apply(Action::Crash { node: 1 });
    s.apply(Action::Restart { node: 1 });
    let after = s.node(1).unwrap();
    assert_eq!(after.data(), before.data());
    // A replay sizes the tree for its data: the same depth, or deeper
    // when the live tree had not yet reached a doubling.
    let at_live_depth = Merkle::build_at(after.ring(), 1, after.data(), before.tree.depth());
    assert!(at_live_depth == before.tree);
    assert_tree_matches_data(after, "after a replay");
}

/// A build fills as deep as if every key fell in one range, then folds
/// to the depth the fullest range asks for: the same trees as filling at
/// that depth, with keys spread over many ranges (Murmur3, vnodes) or
/// piled in one (byte-ordered keys with a shared prefix).
#[test]
fn a_build_folded_to_its_depth_equals_one_filled_at_it() {
    use crate::ring::{Partitioner, Ring};
    use crate::storage::Table;
    use crate::types::Version;
    let nodes = [0, 1, 2, 3];
    for partitioner in [
        Partitioner::murmur3(8),
        Partitioner::byte_ordered_even(&nodes),
    ] {
        let ring = Ring::new(&partitioner, &nodes, 3);
        let data: Table = (0..20_000u64)
            .map(|i| {
                let v = Version {
                    ts: i % 7,
                    value: (i % 5 != 0).then(|| format!("v{i}").into()),
                };
                (Key::Str(format!("user:{i:06}").into()), v)
            })
            .collect();
        let me = ring.replicas(&Key::Str("user:000000".into()))[0];
        let built = Merkle::build(&ring, me, &data);
        let filled = Merkle::build_at(&ring, me, &data, built.depth());
        assert!(built == filled, "{partitioner:?}: depth {}", built.depth());
        // 20,000 keys in one range want 2^11 leaves of at most 16 keys:
        // byte-ordered, they all are in one; spread over 24 ranges, the
        // build was folded up from that depth to a shallower one.
        match partitioner {
            Partitioner::ByteOrdered { .. } => assert_eq!(built.depth(), 11),
            Partitioner::Murmur3 { .. } => assert!(built.depth() < 11, "{}", built.depth()),
        }
    }
}
