//! The coordinator's refusals, each with the error kind and words a client
//! sees, straight from one node (the simulator's scenarios cover the
//! answers that need peers).

use super::Node;
use crate::config::{ClusterConfig, Config};
use crate::io::{EventKind, Input, Output};
use crate::message::{ClientRef, ErrorKind, Reply, Request};
use crate::types::{Consistency, Key, MAX_VALUE_BYTES};

const CLIENT: ClientRef = ClientRef { conn: 1, req: 1 };

fn node(tune: impl FnOnce(&mut ClusterConfig)) -> Node {
    let mut cluster = ClusterConfig::classic(4);
    tune(&mut cluster);
    let mut n = Node::new(Config::new(0, cluster));
    n.handle(1_000, Input::Start);
    n
}

fn put(key: u8, value: &str, cl: Consistency) -> Request {
    Request::Put {
        key: Key::Int(key),
        value: value.to_string().into(),
        cl,
    }
}

/// The reply to `request`, and the op id the node reported it under.
fn answer(n: &mut Node, request: Request) -> (Reply, u64) {
    n.handle(
        2_000,
        Input::Client {
            client: CLIENT,
            request,
        },
    );
    let mut op = None;
    let mut reply = None;
    while let Some(out) = n.poll() {
        match out {
            Output::Event(e) => {
                if let EventKind::RequestAnswered { op: o, .. } = e.kind {
                    op = Some(o);
                }
            }
            Output::Reply { reply: r, .. } => reply = Some(r),
            _ => {}
        }
    }
    (reply.expect("a reply"), op.expect("an answered event"))
}

fn refused(reply: &Reply) -> (ErrorKind, &str) {
    match reply {
        Reply::Error { kind, message } => (*kind, message.as_str()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A key that node 0 does not replicate, so that with its peers down no
/// replica is live.
fn foreign_key(n: &Node) -> u8 {
    (0..=u8::MAX)
        .find(|&k| !n.ring().replicas(&Key::Int(k)).contains(&0))
        .expect("some key lives elsewhere")
}

#[test]
fn a_node_that_has_not_started_refuses() {
    let mut n = Node::new(Config::new(0, ClusterConfig::classic(4)));
    let (reply, op) = answer(&mut n, put(1, "v", Consistency::One));
    assert_eq!(
        refused(&reply),
        (ErrorKind::Unavailable, "node is starting")
    );
    assert_eq!(op, 0, "refused before it has an op");
}

#[test]
fn too_many_requests_is_overloaded() {
    let mut n = node(|c| c.max_pending_requests = 0);
    let (reply, op) = answer(&mut n, put(1, "v", Consistency::One));
    assert_eq!(
        refused(&reply),
        (
            ErrorKind::Overloaded,
            "this node already works on 0 requests (max_pending_requests)"
        )
    );
    assert_eq!(op, 0);
}

#[test]
fn a_value_over_the_limit_is_a_bad_request() {
    let mut n = node(|_| {});
    let big = "x".repeat(MAX_VALUE_BYTES + 1);
    let (reply, _) = answer(&mut n, put(1, &big, Consistency::One));
    let (kind, message) = refused(&reply);
    assert_eq!(kind, ErrorKind::BadRequest);
    assert_eq!(
        message,
        format!(
            "value: at most {MAX_VALUE_BYTES} bytes, got {}",
            MAX_VALUE_BYTES + 1
        )
    );
}

#[test]
fn reading_at_any_is_a_bad_request() {
    let mut n = node(|_| {});
    let get = Request::Get {
        key: Key::Int(1),
        cl: Consistency::Any,
    };
    let (reply, op) = answer(&mut n, get);
    assert_eq!(
        refused(&reply),
        (ErrorKind::BadRequest, "cl: ANY is for writes only")
    );
    assert_ne!(op, 0, "refused once it has an op");
}

#[test]
fn a_level_above_the_replication_factor_is_unavailable() {
    let mut n = node(|c| c.rf = 2);
    let (reply, _) = answer(&mut n, put(1, "v", Consistency::Three));
    assert_eq!(
        refused(&reply),
        (
            ErrorKind::Unavailable,
            "THREE needs 3 replicas but the replication factor is 2"
        )
    );
}

#[test]
fn too_few_live_replicas_is_unavailable() {
    let mut n = node(|_| {});
    for peer in 1..4 {
        n.handle(1_500, Input::PeerDisconnected(peer));
    }
    let key = foreign_key(&n);
    let replicas = n.ring().replicas(&Key::Int(key));
    let (reply, _) = answer(&mut n, put(key, "v", Consistency::One));
    assert_eq!(
        refused(&reply),
        (
            ErrorKind::Unavailable,
            format!("ONE needs 1 live replica of {replicas:?}; live: []").as_str()
        )
    );
}

#[test]
fn any_with_no_replica_and_a_full_hint_store_is_unavailable() {
    let mut n = node(|c| c.max_hints = 0);
    for peer in 1..4 {
        n.handle(1_500, Input::PeerDisconnected(peer));
    }
    let key = foreign_key(&n);
    let (reply, _) = answer(&mut n, put(key, "v", Consistency::Any));
    assert_eq!(
        refused(&reply),
        (
            ErrorKind::Unavailable,
            "ANY: no replica is live and the hint store is full"
        )
    );
    assert_eq!(n.hint_count(), 0, "a refused write leaves no hint");
}

/// Every peer down: a write at ANY can only become hints on this node.
fn alone(tune: impl FnOnce(&mut ClusterConfig)) -> Node {
    let mut n = node(tune);
    for peer in 1..4 {
        n.handle(1_500, Input::PeerDisconnected(peer));
    }
    n
}

#[test]
fn any_with_no_replica_and_no_room_for_the_hints_bytes_is_unavailable() {
    let value = "v".repeat(1000);
    let key = foreign_key(&node(|_| {}));
    // Room for the three hints of one write, not of two.
    let one = crate::storage::hint_bytes(&Key::Int(key), Some(&value));
    let mut n = alone(|c| c.max_hint_bytes = 3 * one + 10);
    let (reply, _) = answer(&mut n, put(key, &value, Consistency::Any));
    assert!(matches!(reply, Reply::Written { .. }), "{reply:?}");
    assert_eq!(n.hint_count(), 3);
    let (reply, _) = answer(&mut n, put(key, &value, Consistency::Any));
    assert_eq!(
        refused(&reply),
        (
            ErrorKind::Unavailable,
            "ANY: no replica is live and the hint store is full"
        )
    );
    assert_eq!(n.hint_count(), 3, "a refused write leaves no hint");
}

#[test]
fn a_hint_past_the_byte_bound_is_dropped_and_says_which_bound() {
    let value = "v".repeat(1000);
    let key = foreign_key(&node(|_| {}));
    let one = crate::storage::hint_bytes(&Key::Int(key), Some(&value));
    // One replica of the key up, two down: the write goes out and two
    // hints are due, but the store has room for one.
    let mut n = node(|c| c.max_hint_bytes = one);
    let replicas = n.ring().replicas(&Key::Int(key));
    for &down in &replicas[1..] {
        n.handle(1_500, Input::PeerDisconnected(down));
    }
    n.handle(
        2_000,
        Input::Client {
            client: CLIENT,
            request: put(key, &value, Consistency::One),
        },
    );
    let mut dropped = Vec::new();
    while let Some(out) = n.poll() {
        if let Output::Event(e) = out {
            if let EventKind::HintDropped { reason, .. } = e.kind {
                dropped.push(reason);
            }
        }
    }
    assert_eq!(n.hint_count(), 1, "one hint fits, the second does not");
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert!(
        dropped[0].contains("max_hint_bytes"),
        "the reason names the bound: {}",
        dropped[0]
    );
}
