//! Where things sit in the ring's drawing, a square of [`SIZE`] units:
//! the ring, each token and node on it, a key's label, and the chords
//! messages fly along. The ring, the messages in flight, the picked
//! message and the "why?" picture all draw on it.

use crate::state::ClusterView;
use ringside_core::{NodeId, Partitioner, Token};
use std::collections::BTreeMap;
use std::f64::consts::TAU;

pub const SIZE: f64 = 640.0;
pub const C: f64 = SIZE / 2.0;
/// The ring's radius.
pub const R: f64 = 225.0;
pub const NODE_R: f64 = 36.0;

/// A token as a fraction of the ring, `0.0..1.0`, clockwise from the top.
pub fn token_frac(t: Token) -> f64 {
    t.0 as f64 / 18_446_744_073_709_551_616.0
}

/// The point at fraction `f` of the ring, at radius `r`.
pub fn at(f: f64, r: f64) -> (f64, f64) {
    let a = f * TAU;
    (C + r * a.sin(), C - r * a.cos())
}

/// Where each node is drawn: at its token (byte-ordered, one token each),
/// or evenly around the ring (Murmur3: many tokens each, drawn as ticks).
pub fn node_positions(view: &ClusterView) -> BTreeMap<NodeId, (f64, f64)> {
    let nodes = &view.topo.nodes;
    match view.ring.partitioner() {
        Partitioner::ByteOrdered { .. } => view
            .ring
            .tokens()
            .iter()
            .map(|(t, n)| (*n, at(token_frac(*t), R)))
            .collect(),
        Partitioner::Murmur3 { .. } => nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, at((i as f64 + 0.5) / nodes.len() as f64, R + 55.0)))
            .collect(),
    }
}

/// The distance between two points of the ring's drawing.
pub fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    (b.0 - a.0).hypot(b.1 - a.1)
}

/// Half the width and half the height of the box, around a node's
/// centre, that a key's label must keep out of: the label's own half
/// width ("key 137" in large text) plus the node's words beside its
/// circle, and the label's half height plus the node's name, state and
/// circle above and below.
const KEY_LABEL_CLEAR: (f64, f64) = (150.0, 72.0);

/// Where the selected key's label goes: just inside its mark, or further
/// in along the same radius when that would put it on a node's words (a
/// key by a node's token: key 137 sits by node 1).
pub fn key_label_at(f: f64, nodes: &BTreeMap<NodeId, (f64, f64)>) -> (f64, f64) {
    let on_a_node = |(x, y): (f64, f64)| {
        nodes.values().any(|&(nx, ny)| {
            (x - nx).abs() < KEY_LABEL_CLEAR.0 && (y - ny).abs() < KEY_LABEL_CLEAR.1
        })
    };
    let mut r = R - 34.0;
    while r > R * 0.3 && on_a_node(at(f, r)) {
        r -= 6.0;
    }
    at(f, r)
}

pub fn lerp(a: (f64, f64), b: (f64, f64), p: f64) -> (f64, f64) {
    (a.0 + (b.0 - a.0) * p, a.1 + (b.1 - a.1) * p)
}

/// A point `NODE_R` inside the chord from `a` to `b`, so messages leave
/// and reach the node's edge rather than its centre.
pub fn trim(a: (f64, f64), b: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    let d = dist(a, b).max(1.0);
    let k = (NODE_R / d).min(0.45);
    (lerp(a, b, k), lerp(a, b, 1.0 - k))
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::state::Topology;
    use ringside_core::Key;

    pub fn view(p: Partitioner, n: u32) -> ClusterView {
        let nodes: Vec<NodeId> = (0..n).collect();
        ClusterView::new(Topology {
            nodes,
            rf: 3,
            partitioner: p,
            source: "test".into(),
            failure_timeout_ms: 450,
            mode: Default::default(),
        })
    }

    #[test]
    fn classic_nodes_sit_at_their_tokens() {
        let v = view(Partitioner::byte_ordered_even(&[0, 1, 2, 3]), 4);
        let p = node_positions(&v);
        // Node 3's token is the top of the ring, node 1's the bottom.
        assert!((p[&3].0 - C).abs() < 1.0 && p[&3].1 < C);
        assert!((p[&1].0 - C).abs() < 1.0 && p[&1].1 > C);
        assert!(p[&0].0 > C, "node 0 at three o'clock");
        // Key 137 is in node 2's range: between node 1 (bottom) and node 2 (left).
        let f = token_frac(v.ring.token_of(&Key::Int(137)));
        assert!(f > 0.5 && f < 0.75, "{f}");
    }

    #[test]
    fn a_key_label_keeps_off_the_nodes_words() {
        let v = view(Partitioner::byte_ordered_even(&[0, 1, 2, 3]), 4);
        let p = node_positions(&v);
        let clear = |(x, y): (f64, f64)| {
            p.values().all(|&(nx, ny)| {
                (x - nx).abs() >= KEY_LABEL_CLEAR.0 || (y - ny).abs() >= KEY_LABEL_CLEAR.1
            })
        };
        // Key 137, by node 1 at the bottom: moved in, clear of node 1.
        let f = token_frac(v.ring.token_of(&Key::Int(137)));
        let l = key_label_at(f, &p);
        assert!(clear(l), "{l:?}");
        assert!(dist(l, (C, C)) < R - 34.0);
        // A key half way between two nodes keeps its place by its mark.
        assert_eq!(key_label_at(0.125, &p), at(0.125, R - 34.0));
        // Every key of the ring finds a clear place inside it.
        for i in 0..256 {
            let l = key_label_at(i as f64 / 256.0, &p);
            assert!(clear(l) && dist(l, (C, C)) > R * 0.25, "key {i}: {l:?}");
        }
    }

    #[test]
    fn vnode_rings_place_every_node() {
        let v = view(Partitioner::murmur3(8), 16);
        assert_eq!(node_positions(&v).len(), 16);
        assert_eq!(v.ring.tokens().len(), 128);
    }
}
