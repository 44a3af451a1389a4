//! Two in-memory replicas and one anti-entropy round between them, with
//! what it sent: for the tests and the anti-entropy cost measurement
//! (`cargo run --release -p ringside-core --example anti_entropy_cost`).

use super::{EventLevel, Node};
use crate::config::{ClusterConfig, Config};
use crate::io::{Input, Output, TimerId};
use crate::message::{Message, Msg, MsgId};
use crate::storage::Record;
use crate::types::{Key, Micros, Version, Yarn};

/// Two started replicas (nodes 0 and 1 of a 2-node cluster, RF 2) of
/// `keys` keys `user:00000000`, ... with `value_bytes`-byte values, that
/// differ in `missing` keys node 1 never got and `stale` keys it holds an
/// older version of, spread evenly over the keys.
pub fn diverged_replicas(
    keys: usize,
    missing: usize,
    stale: usize,
    value_bytes: usize,
) -> (Node, Node) {
    let cluster = ClusterConfig::classic(2);
    let value = "x".repeat(value_bytes);
    let record = |i: usize, ts: u64| Record::Write {
        key: Key::Str(Yarn::from_string(format!("user:{i:08}"))),
        version: Version {
            ts,
            value: Some(value.clone().into()),
        },
    };
    let every = (keys / (missing + stale).max(1)).max(1);
    let differs = |i: usize| i.is_multiple_of(every) && i / every < missing + stale;
    let (mut a, _) = Node::recover_from(
        Config::new(0, cluster.clone()),
        (0..keys).map(|i| record(i, 10)),
    );
    let (mut b, _) = Node::recover_from(
        Config::new(1, cluster),
        (0..keys).filter_map(|i| match (differs(i), i / every < missing) {
            (false, _) => Some(record(i, 10)),
            (true, true) => None,
            (true, false) => Some(record(i, 5)),
        }),
    );
    for n in [&mut a, &mut b] {
        n.set_events(EventLevel::Off);
        n.handle(1_000_000, Input::Start);
    }
    (a, b)
}

/// What one anti-entropy round between two nodes sent (see
/// [`anti_entropy_round_between`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundCost {
    pub messages: u64,
    /// Encoded peer-message bytes, both ways.
    pub bytes: u64,
    /// Versions carried by `sync_data`, both ways.
    pub versions: u64,
}

/// Runs one anti-entropy round that `a` starts with `b`, delivering every
/// message between them at once until neither has more to say, and
/// counts what went across. Both must be started; each is first told the
/// other is alive. Other outputs (persists, timers, events) are dropped:
/// this measures the exchange, not a driver. For tests and the
/// anti-entropy cost measurement.
pub fn anti_entropy_round_between(a: &mut Node, b: &mut Node, now: Micros) -> RoundCost {
    anti_entropy_round_with(a, b, now, &mut |node, now, input| node.handle(now, input))
}

/// [`anti_entropy_round_between`], handing each of the round's inputs to
/// `turn`, which must pass it to the node's [`Node::handle`]: the cost
/// measurement times each turn there (the core has no clock of its own).
pub fn anti_entropy_round_with(
    a: &mut Node,
    b: &mut Node,
    now: Micros,
    turn: &mut dyn FnMut(&mut Node, Micros, Input),
) -> RoundCost {
    let mut cost = RoundCost::default();
    hear_from(a, b, now);
    hear_from(b, a, now);
    a.out.clear();
    b.out.clear();
    turn(a, now, Input::Timer(TimerId::AntiEntropy));
    while deliver(a, b, now, &mut cost, turn) | deliver(b, a, now, &mut cost, turn) {}
    cost
}

/// `to` hears a heartbeat from `from`, so it counts it alive.
fn hear_from(to: &mut Node, from: &Node, now: Micros) {
    let gen = from.generation();
    let id = MsgId {
        from: from.id(),
        gen,
        n: 0,
    };
    let msg = Message {
        id,
        body: Msg::Heartbeat { gen },
    };
    to.handle(now, Input::Message { from: id.from, msg });
}

/// Hands `to` what `from` sends it; true when there was anything.
fn deliver(
    from: &mut Node,
    to: &mut Node,
    now: Micros,
    cost: &mut RoundCost,
    turn: &mut dyn FnMut(&mut Node, Micros, Input),
) -> bool {
    let mut moved = false;
    while let Some(out) = from.poll() {
        let Output::Send { to: dest, msg } = out else {
            continue;
        };
        if dest != to.id() {
            continue;
        }
        cost.messages += 1;
        cost.bytes += msg.encode().len() as u64;
        if let Msg::SyncData { entries, .. } = &msg.body {
            cost.versions += entries.len() as u64;
        }
        turn(
            to,
            now,
            Input::Message {
                from: msg.id.from,
                msg,
            },
        );
        moved = true;
    }
    moved
}
