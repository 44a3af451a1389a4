//! The picked message or event, on the ring: a message as a bold chord
//! from its sender to its receiver with its kind and fate; an event as a
//! halo around its node(s). What is picked is [`crate::state::Picked`],
//! set from the space-time view or the event log.

use super::geometry::dist;
use super::{kind_color, short_kind};
use crate::state::{ClusterView, Picked};
use ringside_core::NodeId;
use std::collections::BTreeMap;
use yew::prelude::*;

fn f(v: f64) -> String {
    format!("{v:.1}")
}

/// What the ring draws over its nodes for `picked` (nothing when the
/// picked thing is no longer remembered).
pub fn ring_overlay(
    view: &ClusterView,
    picked: Option<Picked>,
    pos: &BTreeMap<NodeId, (f64, f64)>,
    node_r: f64,
) -> Html {
    let Some(picked) = picked else {
        return Html::default();
    };
    let halo = |n: NodeId| {
        pos.get(&n).map(|&(x, y)| {
            html! { <circle class="picked-halo" cx={f(x)} cy={f(y)} r={f(node_r + 7.0)} /> }
        })
    };
    match picked {
        Picked::Msg(id) => {
            let Some(m) = view.msgs.iter().rev().find(|m| m.msg == id) else {
                return Html::default();
            };
            let (Some(&a), Some(&b)) = (pos.get(&m.from), pos.get(&m.to)) else {
                return Html::default();
            };
            let fate = match (&m.dropped, m.received_at) {
                (Some(_), _) => "lost",
                (None, Some(_)) => "arrived",
                (None, None) => "on its way",
            };
            let key = m.key.as_ref().map(|k| format!(" {k}")).unwrap_or_default();
            let label = format!(
                "{}{key}: node {} → node {}, {fate}",
                short_kind(m.kind),
                m.from,
                m.to
            );
            let ((lx, ly), anchor) = label_place(a, b);
            html! {
                <g class={classes!("picked-msg", m.dropped.is_some().then_some("lost"))} data-testid="ring-picked" data-msg={id.to_string()}>
                    { for halo(m.from) }
                    { for halo(m.to) }
                    <line x1={f(a.0)} y1={f(a.1)} x2={f(b.0)} y2={f(b.1)} stroke={kind_color(m.kind)} />
                    <text x={f(lx)} y={f(ly)} text-anchor={anchor}>{ label }</text>
                </g>
            }
        }
        Picked::Line(n) => {
            let Some(mark) = view.marks.iter().rev().find(|k| k.line.n == n) else {
                return Html::default();
            };
            html! {
                <g class="picked-event" data-testid="ring-picked" data-line={n.to_string()}>
                    { for halo(mark.node) }
                    { for mark.other.and_then(halo) }
                </g>
            }
        }
    }
}

/// Where a picked message's label goes: beside its chord's middle, clear
/// of the line and of the message's dot on it (the canvas draws over the
/// ring), above a flat chord, to the side of a steep one.
fn label_place(a: (f64, f64), b: (f64, f64)) -> ((f64, f64), &'static str) {
    let (mx, my) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
    let len = dist(a, b).max(1.0);
    // The chord's normal, turned to point up the screen.
    let (mut nx, mut ny) = (-(b.1 - a.1) / len, (b.0 - a.0) / len);
    if ny > 0.0 {
        (nx, ny) = (-nx, -ny);
    }
    const CLEAR: f64 = 20.0;
    let at = (mx + nx * CLEAR, my + ny * CLEAR);
    let anchor = if nx.abs() < 0.5 {
        "middle"
    } else if nx > 0.0 {
        "start"
    } else {
        "end"
    };
    (at, anchor)
}

#[cfg(test)]
mod tests {
    use super::label_place;

    #[test]
    fn labels_sit_clear_of_their_chords() {
        // A flat chord: the label centred above its middle.
        let ((x, y), anchor) = label_place((100.0, 300.0), (500.0, 300.0));
        assert_eq!(anchor, "middle");
        assert!((x - 300.0).abs() < 1e-9 && y < 300.0 - 15.0, "{x} {y}");
        // A steep chord: beside it, the text running away from the line.
        let ((x, _), anchor) = label_place((300.0, 100.0), (300.0, 500.0));
        assert!(x != 300.0);
        assert_eq!(anchor, if x > 300.0 { "start" } else { "end" });
    }
}
