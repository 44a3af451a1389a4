//! Anti-entropy alone brings diverged replicas back in step (hints and
//! read repair off), and one round costs what the difference costs, not
//! what the data does.

use ringside_core::message::{KeySpan, TreeNode};
use ringside_core::node::{
    anti_entropy_round_between, anti_entropy_round_with, diverged_replicas, KEYS_PER_LEAF,
    SCAN_SLICE,
};
use ringside_core::sim::{Action, Sim, SimConfig};
use ringside_core::storage::{hash_order, MAX_BUCKET};
use ringside_core::types::key_hash;
use ringside_core::Node;
use ringside_core::{Consistency, Key, Request, Yarn};
use ringside_core::{Input, Msg};

fn no_hints_no_read_repair(seed: u64, nodes: usize) -> Sim {
    let mut c = SimConfig::with_nodes(seed, nodes);
    c.cluster.max_hints = 0;
    c.cluster.read_repair = false;
    Sim::new(c)
}

fn put(key: &str, value: &str, cl: Consistency) -> Request {
    Request::Put {
        key: Key::Str(Yarn::copy(key)),
        value: value.into(),
        cl,
    }
}

/// Every key held anywhere is held the same by all of its replicas.
fn replicas_agree(s: &Sim) -> Result<(), String> {
    let mut keys = std::collections::BTreeSet::new();
    for id in s.node_ids() {
        keys.extend(s.node(id).unwrap().data().keys().cloned());
    }
    for k in &keys {
        let replicas = s.ring().replicas(k);
        let first = s.node(replicas[0]).unwrap().get_local(k);
        for r in &replicas[1..] {
            let other = s.node(*r).unwrap().get_local(k);
            if other != first {
                return Err(format!(
                    "key {k}: node {} has {first:?}, node {r} {other:?}",
                    replicas[0]
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn replicas_that_missed_writes_while_down_converge_by_anti_entropy_alone() {
    for seed in 1..=6u64 {
        let mut s = no_hints_no_read_repair(seed, 4);
        for i in 0..40 {
            s.submit(0, put(&format!("k{i:03}"), "old", Consistency::All));
        }
        s.run_for(500_000);
        // Node 2 misses a round of writes and deletes, then node 3 another.
        for (down, round) in [(2u32, "a"), (3, "b")] {
            s.apply(Action::Crash { node: down });
            s.run_for(1_000_000);
            for i in (0..40).step_by(3) {
                let key = format!("k{i:03}");
                let r = if i % 2 == 0 {
                    put(&key, round, Consistency::One)
                } else {
                    Request::Delete {
                        key: Key::Str(key.into()),
                        cl: Consistency::One,
                    }
                };
                s.submit((down + 1) % 4, r);
            }
            s.run_for(500_000);
            s.apply(Action::Restart { node: down });
        }
        assert!(replicas_agree(&s).is_err(), "seed {seed}: nothing diverged");
        s.run_for(30_000_000);
        if let Err(e) = replicas_agree(&s) {
            panic!("seed {seed}: not converged after 30 s of anti-entropy: {e}");
        }
    }
}

#[test]
fn one_round_costs_the_difference_times_the_depth_not_the_data() {
    let (missing, stale) = (50, 50);
    let (mut a, mut b) = diverged_replicas(100_000, missing, stale, 100);
    assert_eq!(a.data().len() - b.data().len(), missing);
    assert_ne!(a.data(), b.data());
    let depth = u64::from(a.anti_entropy_tree().depth());
    let cost = anti_entropy_round_between(&mut a, &mut b, 2_000_000);
    assert_eq!(a.data(), b.data(), "one round repairs a 100-key difference");
    let diff = (missing + stale) as u64;
    // Per differing key: two child hashes (21 bytes each) per level, and
    // the versions of its leaf (at most twice KEYS_PER_LEAF before the
    // tree deepens, about 150 bytes each with a 100-byte value), offered
    // by one side; the other answers with the few that are newer, in one
    // pair of messages of a few dozen bytes besides the versions.
    let leaf = 2 * KEYS_PER_LEAF;
    let bound = diff * (depth * 2 * 21 + leaf * 150) + 2 * 100;
    println!(
        "100,000 keys, {diff} differ, depth {depth}: {} messages, {} bytes, {} versions (bound {bound})",
        cost.messages, cost.bytes, cost.versions
    );
    assert!(cost.bytes <= bound, "{cost:?} over {bound} bytes");
    assert!(cost.versions <= diff * (leaf + 1), "{cost:?}");
    // In step, a round is the roots and nothing else.
    let again = anti_entropy_round_between(&mut a, &mut b, 3_000_000);
    assert_eq!(again.messages, 1, "{again:?}");
    assert!(again.bytes < 200, "{again:?}");
}

/// The offers and answers of one round, with the key spans they cover
/// and the leaves the first offer names.
struct Exchange {
    offers: usize,
    answers: usize,
    spans: Vec<(Option<Key>, Option<Key>)>,
    leaves: Vec<TreeNode>,
}

fn watched_round(a: &mut Node, b: &mut Node) -> Exchange {
    let mut x = Exchange {
        offers: 0,
        answers: 0,
        spans: Vec::new(),
        leaves: Vec::new(),
    };
    anti_entropy_round_with(a, b, 2_000_000, &mut |node, now, input| {
        if let Input::Message { msg, .. } = &input {
            if let Msg::SyncData {
                span, reply, nodes, ..
            } = &msg.body
            {
                if *reply {
                    x.offers += 1;
                } else {
                    x.answers += 1;
                }
                x.spans.push((span.after.clone(), span.upto.clone()));
                x.leaves.extend(nodes.iter().copied());
            }
        }
        node.handle(now, input);
    });
    x
}

/// Finding the versions under a few differing leaves reads the few
/// buckets of the table under them, not the data: a round over four times
/// the keys is still one offer and one answer, each reading at most a
/// slice (an exchange that read the whole memtable a slice per message
/// would take a message per slice of the keys).
#[test]
fn a_small_difference_is_one_offer_and_one_answer_however_large_the_data() {
    for keys in [2 * SCAN_SLICE, 8 * SCAN_SLICE] {
        let (mut a, mut b) = diverged_replicas(keys, 10, 10, 20);
        let x = watched_round(&mut a, &mut b);
        assert!(a.data() == b.data(), "{keys} keys: not repaired");
        assert_eq!((x.offers, x.answers), (1, 1), "{keys} keys: {:?}", x.spans);
        assert_eq!(x.spans, vec![(None, None), (None, None)], "{keys} keys");
    }
}

/// A wide difference goes across in several offers, each reading at most
/// a slice of the keys under the leaves (whole buckets, so a slice and
/// one bucket), and the spans of the offers cover every such key.
#[test]
fn a_wide_difference_is_read_a_slice_per_turn() {
    let keys = 3 * SCAN_SLICE + SCAN_SLICE / 2;
    let (mut a, mut b) = diverged_replicas(keys, 500, 500, 20);
    let x = watched_round(&mut a, &mut b);
    assert!(
        a.data() == b.data(),
        "the sliced exchange left a difference"
    );
    assert!(x.offers >= 4, "{keys} keys in {} offers", x.offers);
    let under = |k: &Key| {
        let h = key_hash(k);
        x.leaves
            .iter()
            .any(|n| u64::from(n.index) == h >> (64 - u32::from(n.level)))
    };
    for (after, upto) in &x.spans {
        let in_span = |k: &&Key| {
            after.as_ref().is_none_or(|a| hash_order(k, a).is_gt())
                && upto.as_ref().is_none_or(|u| hash_order(k, u).is_le())
        };
        for n in [&a, &b] {
            let read = n.data().keys().filter(in_span).filter(|k| under(k)).count();
            assert!(
                read <= SCAN_SLICE + MAX_BUCKET,
                "a span of {read} keys under the leaves, over a slice of {SCAN_SLICE}: {after:?}..{upto:?}"
            );
        }
    }
    // The spans cover every key: the last answer reaches the end.
    assert_eq!(x.spans.last().map(|s| s.1.clone()), Some(None));
}

/// A peer's span that runs backwards, or is empty, reads nothing and is
/// answered as such.
#[test]
fn a_backwards_span_from_a_peer_is_answered_empty() {
    use ringside_core::{Message, MsgId};
    let (mut a, b) = diverged_replicas(1_000, 5, 5, 10);
    let root = a.anti_entropy_tree().roots_shared_with(1)[0].0;
    let key = |s: &str| ringside_core::Key::Str(Yarn::copy(s));
    // Spans run in the exchange's order, by key hash.
    let (mut low, mut high) = (key("user:00000900"), key("user:00000100"));
    if hash_order(&low, &high).is_gt() {
        std::mem::swap(&mut low, &mut high);
    }
    for (n, (after, upto)) in [
        (Some(high), Some(low)),
        (Some(key("user:00000500")), Some(key("user:00000500"))),
    ]
    .into_iter()
    .enumerate()
    {
        let id = MsgId {
            from: 1,
            gen: b.generation(),
            n: n as u64 + 1,
        };
        let body = Msg::SyncData {
            entries: vec![],
            nodes: vec![root],
            span: Box::new(KeySpan {
                after: after.clone(),
                upto: upto.clone(),
            }),
            reply: true,
        };
        a.handle(
            2_000_000,
            Input::Message {
                from: 1,
                msg: Message { id, body },
            },
        );
        let mut answers = 0;
        while let Some(out) = a.poll() {
            if let ringside_core::Output::Send { msg, .. } = out {
                if let Msg::SyncData {
                    entries,
                    span: reached,
                    ..
                } = msg.body
                {
                    assert!(entries.is_empty(), "{after:?}..{upto:?}: {entries:?}");
                    assert_eq!(reached.upto, upto);
                    answers += 1;
                }
            }
        }
        assert_eq!(answers, 1, "{after:?}..{upto:?}");
    }
}
