//! The messages on the ring's canvas: every message in flight along its
//! chord, lost ones falling away, the picked one ringed; and which
//! message a click on the canvas hits (the canvas draws without DOM
//! elements, so it answers clicks by position).

use super::geometry::{dist, lerp, trim, NODE_R};
use super::kind_color;
use super::short_kind;
use crate::state::{ClusterView, FALL_US};
use ringside_core::{MsgId, NodeId};
use std::collections::BTreeMap;
use std::f64::consts::TAU;
use yew::prelude::*;

/// One message on its way, or one falling away, as the canvas draws it.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// A message at `at`, having left the sender's edge at `from`.
    Wire {
        msg: MsgId,
        from: (f64, f64),
        at: (f64, f64),
        color: &'static str,
        doomed: bool,
        label: Option<String>,
        /// From the dot to the nearest node's centre, in the ring's
        /// units: a label drawn this close would cover the node's words
        /// (see [`label_clear_of_nodes`]).
        clearance: f64,
        /// The side of the chord its label goes on: the unit normal on
        /// the sender's left as it looks at the receiver. A write and its
        /// acknowledgement crossing on one chord label opposite sides,
        /// instead of one label over the other.
        side: (f64, f64),
    },
    /// A lost message, `age` 0.0 (just lost) to 1.0 (gone).
    Fall {
        msg: MsgId,
        at: (f64, f64),
        age: f64,
        label: String,
    },
}

impl Shape {
    pub fn msg(&self) -> MsgId {
        match self {
            Shape::Wire { msg, .. } | Shape::Fall { msg, .. } => *msg,
        }
    }

    fn at(&self) -> (f64, f64) {
        match self {
            Shape::Wire { at, .. } | Shape::Fall { at, .. } => *at,
        }
    }
}

/// Past this many messages, labels are noise (and text is the costliest
/// thing to draw every frame): the colours still tell the kinds apart.
const MAX_LABELLED: usize = 40;

/// Whether a message's label, `text_size` units high, may be drawn with
/// its dot `clearance` units from the nearest node's centre. A node's
/// name and state reach about a line past its circle (more in large
/// text, where the ring is drawn smaller beside the same words), so a
/// label waits until its message is two of its own lines clear of the
/// circle; the dot and its colour still show the message meanwhile.
pub fn label_clear_of_nodes(clearance: f64, text_size: f64) -> bool {
    clearance >= NODE_R + 2.0 * text_size
}

/// How far from its dot, across the chord, a message's label starts.
const LABEL_GAP: f64 = 8.0;

/// Where a message's label is drawn, and how it is aligned there, for a
/// dot at `at` whose label goes to `side` (a unit vector): the text
/// starts `LABEL_GAP` away and runs away from the chord, so that it
/// never covers its own dot or its chord.
pub fn label_place(at: (f64, f64), side: (f64, f64)) -> ((f64, f64), &'static str, &'static str) {
    let place = (at.0 + side.0 * LABEL_GAP, at.1 + side.1 * LABEL_GAP);
    let align = match side.0 {
        x if x < -0.4 => "end",
        x if x > 0.4 => "start",
        _ => "center",
    };
    let baseline = match side.1 {
        y if y < -0.4 => "bottom",
        y if y > 0.4 => "top",
        _ => "middle",
    };
    (place, align, baseline)
}

/// The size of the canvas's current font, in its units (the canvas
/// reports its font with the size worked out in px, which are the units
/// it draws in before its transform); `fallback` if it cannot be read.
fn font_size(cx: &web_sys::CanvasRenderingContext2d, fallback: f64) -> f64 {
    cx.font()
        .split_whitespace()
        .find_map(|w| w.strip_suffix("px")?.parse().ok())
        .unwrap_or(fallback)
}

/// What the canvas shows at the view's instant: every message along its
/// chord, coloured by kind, and lost ones falling away.
pub fn flight_shapes(
    view: &ClusterView,
    pos: &BTreeMap<NodeId, (f64, f64)>,
    heartbeats: bool,
) -> Vec<Shape> {
    let now = view.now_us;
    let shown: Vec<_> = view
        .wires
        .iter()
        .filter(|w| heartbeats || w.kind != "heartbeat")
        .collect();
    let labelled = shown.len() <= MAX_LABELLED;
    let mut out = Vec::with_capacity(shown.len() + view.falls.len());
    for w in shown {
        let (Some(a), Some(b)) = (pos.get(&w.from), pos.get(&w.to)) else {
            continue;
        };
        let (a, b) = trim(*a, *b);
        let at = lerp(a, b, w.progress(now));
        let len = dist(a, b).max(1e-9);
        let side = ((b.1 - a.1) / len, (a.0 - b.0) / len);
        let label = labelled.then(|| match &w.key {
            Some(k) if w.kind != "heartbeat" => format!("{} {k}", short_kind(w.kind)),
            _ => short_kind(w.kind).to_string(),
        });
        let clearance = pos
            .values()
            .map(|&p| dist(at, p))
            .fold(f64::INFINITY, f64::min);
        out.push(Shape::Wire {
            msg: w.msg,
            from: a,
            at,
            color: kind_color(w.kind),
            doomed: w.doomed,
            label,
            clearance,
            side,
        });
    }
    for f in view
        .falls
        .iter()
        .filter(|f| heartbeats || f.kind != "heartbeat")
    {
        let (Some(a), Some(b)) = (pos.get(&f.from), pos.get(&f.to)) else {
            continue;
        };
        let (a, b) = trim(*a, *b);
        let (x, y) = lerp(a, b, 0.8);
        let age = (now.saturating_sub(f.at) as f64 / FALL_US as f64).clamp(0.0, 1.0);
        out.push(Shape::Fall {
            msg: f.msg,
            at: (x, y + 70.0 * age * age),
            age,
            label: format!("✕ {} lost", short_kind(f.kind)),
        });
    }
    out
}

/// A message on the ring in words, as the keyboard's caption says it:
/// "write from node 1 to node 3, key 137".
pub fn describe(view: &ClusterView, msg: MsgId) -> Option<String> {
    if let Some(w) = view.wires.iter().find(|w| w.msg == msg) {
        let key = match &w.key {
            Some(k) if w.kind != "heartbeat" => format!(", key {k}"),
            _ => String::new(),
        };
        let fate = if w.doomed { ", to be lost" } else { "" };
        return Some(format!(
            "{} from node {} to node {}{key}{fate}",
            w.kind.replace('_', " "),
            w.from,
            w.to
        ));
    }
    let f = view.falls.iter().find(|f| f.msg == msg)?;
    Some(format!(
        "{} from node {} to node {}, lost",
        f.kind.replace('_', " "),
        f.from,
        f.to
    ))
}

/// What a key pressed on the ring's messages (or its key marks) does to
/// the keyboard's cursor among `order` (the messages as the canvas lists
/// them, the keys round the ring): the arrows step to the next or the one
/// before (round the list), Home and End to the first and the last.
/// `None` for any other key. A cursor on a message that has since arrived
/// starts again from an end.
pub fn step_cursor<T: Clone + PartialEq>(
    order: &[T],
    cursor: Option<&T>,
    key: &str,
) -> Option<Option<T>> {
    const STEPS: [&str; 6] = [
        "ArrowRight",
        "ArrowDown",
        "ArrowLeft",
        "ArrowUp",
        "Home",
        "End",
    ];
    if !STEPS.contains(&key) {
        return None;
    }
    let n = order.len();
    if n == 0 {
        return Some(None);
    }
    let at = cursor.and_then(|m| order.iter().position(|o| o == m));
    let i = match key {
        "ArrowRight" | "ArrowDown" => at.map_or(0, |i| (i + 1) % n),
        "ArrowLeft" | "ArrowUp" => at.map_or(n - 1, |i| (i + n - 1) % n),
        "Home" => 0,
        _ => n - 1,
    };
    Some(Some(order[i].clone()))
}

/// How far from a message's dot (in ring units; the dot's radius is 7)
/// a click still picks it.
const HIT_R: f64 = 12.0;

/// The message whose dot is nearest `p` (ring units), if a click at `p`
/// is on or next to it: how a click on the canvas picks a message.
pub fn msg_at(shapes: &[Shape], p: (f64, f64)) -> Option<MsgId> {
    shapes
        .iter()
        .map(|s| {
            let (x, y) = s.at();
            (s.msg(), (x - p.0).powi(2) + (y - p.1).powi(2))
        })
        .filter(|(_, d2)| *d2 <= HIT_R * HIT_R)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(m, _)| m)
}

/// Where a mouse event is on the canvas, in ring units (the canvas is
/// stretched over the square `frame`, `(origin, side)`, as the ring's
/// drawing is).
pub fn event_point(canvas: &NodeRef, e: &MouseEvent, frame: (f64, f64)) -> Option<(f64, f64)> {
    let el = canvas.cast::<web_sys::Element>()?;
    let r = el.get_bounding_client_rect();
    if r.width() <= 0.0 || r.height() <= 0.0 {
        return None;
    }
    let (origin, side) = frame;
    Some((
        origin + (f64::from(e.client_x()) - r.left()) * side / r.width(),
        origin + (f64::from(e.client_y()) - r.top()) * side / r.height(),
    ))
}

/// The messages' dots as `id@x,y` (ring units), space-separated: what a
/// test needs to click one.
pub fn dots_attr(shapes: &[Shape]) -> String {
    shapes
        .iter()
        .map(|s| {
            let (x, y) = s.at();
            format!("{}@{x:.0},{y:.0}", s.msg())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const BAD: &str = "#c62828";

/// Canvas pixels per ring unit: the screen's density, at most 2.
pub fn device_scale() -> f64 {
    web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .clamp(1.0, 2.0)
}

/// Draws `shapes` on the canvas, which shows the square `frame`
/// (`(origin, side)` in ring units, as the ring's SVG does), the `picked`
/// message's dot ringed, and the keyboard's `cursor` ringed in the page's
/// focus colours.
pub fn draw_flight(
    canvas: &NodeRef,
    shapes: &[Shape],
    frame: (f64, f64),
    picked: Option<MsgId>,
    cursor: Option<MsgId>,
    large: bool,
) {
    use wasm_bindgen::JsCast;
    let Some(el) = canvas.cast::<web_sys::HtmlCanvasElement>() else {
        return;
    };
    let Some(cx) = el
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let (origin, side) = frame;
    let scale = el.width() as f64 / side;
    let _ = cx.set_transform(scale, 0.0, 0.0, scale, -origin * scale, -origin * scale);
    cx.clear_rect(origin, origin, side, side);
    // In em, which a canvas takes from its own element's text size: the
    // page's (the reader's browser setting, or large text mode).
    let font = if large {
        "0.81em sans-serif"
    } else {
        "0.6875em sans-serif"
    };
    let bold = if large {
        "bold 0.81em sans-serif"
    } else {
        "bold 0.6875em sans-serif"
    };
    cx.set_line_cap("round");
    // Trails first, faint, so the dots sit on top of every trail.
    cx.set_global_alpha(0.35);
    cx.set_line_width(2.0);
    for s in shapes {
        if let Shape::Wire {
            from, at, color, ..
        } = s
        {
            cx.set_stroke_style_str(color);
            cx.begin_path();
            cx.move_to(from.0, from.1);
            cx.line_to(at.0, at.1);
            cx.stroke();
        }
    }
    cx.set_global_alpha(1.0);
    let dash = js_sys::Array::of2(&3.0.into(), &2.0.into());
    let solid = js_sys::Array::new();
    for s in shapes {
        match s {
            Shape::Wire {
                at, color, doomed, ..
            } => {
                cx.begin_path();
                let _ = cx.arc(at.0, at.1, 7.0, 0.0, TAU);
                if *doomed {
                    cx.set_fill_style_str("#fff");
                    cx.fill();
                    cx.set_stroke_style_str(BAD);
                    cx.set_line_width(2.0);
                    let _ = cx.set_line_dash(&dash);
                    cx.stroke();
                    let _ = cx.set_line_dash(&solid);
                } else {
                    cx.set_fill_style_str(color);
                    cx.fill();
                    cx.set_stroke_style_str("rgba(0,0,0,0.45)");
                    cx.set_line_width(1.0);
                    cx.stroke();
                }
            }
            Shape::Fall { at, age, .. } => {
                cx.set_global_alpha(1.0 - age);
                cx.begin_path();
                let _ = cx.arc(at.0, at.1, 7.0, 0.0, TAU);
                cx.set_fill_style_str(BAD);
                cx.fill();
                cx.set_global_alpha(1.0);
            }
        }
    }
    // The picked message: a dark ring around its dot, to follow it.
    if let Some(s) = shapes.iter().find(|s| Some(s.msg()) == picked) {
        let (x, y) = s.at();
        cx.begin_path();
        let _ = cx.arc(x, y, 11.0, 0.0, TAU);
        cx.set_stroke_style_str("#1d232a");
        cx.set_line_width(3.0);
        cx.stroke();
    }
    // The keyboard's cursor: amber on dark, as every focus ring on the page.
    if let Some(s) = shapes.iter().find(|s| Some(s.msg()) == cursor) {
        let (x, y) = s.at();
        for (r, color, w) in [(16.0, "#1d232a", 7.0), (16.0, "#ffb300", 4.0)] {
            cx.begin_path();
            let _ = cx.arc(x, y, r, 0.0, TAU);
            cx.set_stroke_style_str(color);
            cx.set_line_width(w);
            cx.stroke();
        }
    }
    // Labels last, with a white halo so they read over anything.
    cx.set_line_join("round");
    cx.set_line_width(3.0);
    cx.set_stroke_style_str("#fff");
    cx.set_font(font);
    let text_size = font_size(&cx, 11.0);
    for s in shapes {
        match s {
            // The picked message's label is the ring's, beside its chord.
            Shape::Wire {
                msg,
                at,
                label: Some(label),
                clearance,
                side,
                ..
            } if picked != Some(*msg) && label_clear_of_nodes(*clearance, text_size) => {
                let ((x, y), align, baseline) = label_place(*at, *side);
                cx.set_font(font);
                cx.set_fill_style_str("#1d232a");
                cx.set_text_align(align);
                cx.set_text_baseline(baseline);
                let _ = cx.stroke_text(label, x, y);
                let _ = cx.fill_text(label, x, y);
                cx.set_text_align("start");
                cx.set_text_baseline("alphabetic");
            }
            Shape::Fall { at, age, label, .. } => {
                cx.set_global_alpha(1.0 - age);
                cx.set_font(bold);
                cx.set_fill_style_str(BAD);
                let _ = cx.stroke_text(label, at.0 + 9.0, at.1 + 4.0);
                let _ = cx.fill_text(label, at.0 + 9.0, at.1 + 4.0);
                cx.set_global_alpha(1.0);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::geometry::{node_positions, tests::view, C, NODE_R};
    use ringside_core::{Key, Partitioner};

    fn wire(n: u64, from: NodeId, to: NodeId, kind: &'static str) -> crate::state::Wire {
        crate::state::Wire {
            msg: MsgId { from, gen: 0, n },
            from,
            to,
            kind,
            key: Some(Key::Int(137)),
            sent_at: 1_000,
            arrive_at: 3_000,
            doomed: false,
        }
    }

    /// The classic 4-node ring at `now_us`, with `wires` on the wire.
    fn classic(now_us: ringside_core::Micros, wires: Vec<crate::state::Wire>) -> ClusterView {
        let mut v = view(Partitioner::byte_ordered_even(&[0, 1, 2, 3]), 4);
        v.now_us = now_us;
        v.wires = wires;
        v
    }

    #[test]
    fn messages_sit_along_their_chords() {
        let v = classic(
            2_000,
            vec![wire(1, 0, 2, "write"), wire(2, 1, 3, "heartbeat")],
        );
        let pos = node_positions(&v);
        let shapes = flight_shapes(&v, &pos, false);
        assert_eq!(shapes.len(), 1, "heartbeats are hidden unless asked for");
        let Shape::Wire {
            from,
            at,
            color,
            label,
            ..
        } = &shapes[0]
        else {
            panic!("{shapes:?}");
        };
        // Node 0 and node 2 face each other: halfway is the centre.
        assert!((at.0 - C).abs() < 1.0 && (at.1 - C).abs() < 1.0, "{at:?}");
        // The trail starts at node 0's edge, not its centre.
        let d = dist(*from, pos[&0]);
        assert!((d - NODE_R).abs() < 1.0, "{d}");
        assert_eq!(*color, kind_color("write"));
        assert_eq!(label.as_deref(), Some("write 137"));
        assert_eq!(flight_shapes(&v, &pos, true).len(), 2);
    }

    /// A write and its acknowledgement crossing on one chord put their
    /// labels on opposite sides of it, each off the chord.
    #[test]
    fn crossing_messages_label_opposite_sides_of_their_chord() {
        let v = classic(
            2_000,
            vec![wire(1, 0, 2, "write"), wire(2, 2, 0, "write_ack")],
        );
        let pos = node_positions(&v);
        let places: Vec<_> = flight_shapes(&v, &pos, false)
            .iter()
            .map(|s| match s {
                Shape::Wire { at, side, .. } => label_place(*at, *side),
                other => panic!("{other:?}"),
            })
            .collect();
        let [((x1, y1), _, b1), ((x2, y2), _, b2)] = places[..] else {
            panic!("{places:?}");
        };
        // Nodes 0 and 2 face each other across the centre: a flat chord.
        assert!((y1 - C).abs() >= LABEL_GAP - 0.01 && (y2 - C).abs() >= LABEL_GAP - 0.01);
        assert!((y1 - C).signum() != (y2 - C).signum(), "{places:?}");
        assert!((x1 - x2).abs() < 1.0);
        assert_eq!([b1, b2], ["top", "bottom"], "each runs away from the chord");
    }

    /// A message just off a node keeps its label back until it is clear
    /// of the node's words; larger text keeps it back longer.
    #[test]
    fn a_label_waits_until_its_message_is_clear_of_the_nodes() {
        let mut v = classic(0, vec![wire(1, 0, 2, "write")]);
        let pos = node_positions(&v);
        let mut clearance_at = |now| {
            v.now_us = now;
            match &flight_shapes(&v, &pos, false)[0] {
                Shape::Wire { clearance, .. } => *clearance,
                other => panic!("{other:?}"),
            }
        };
        // Sent at 1 ms, arriving at 3 ms: just sent, it sits at the edge
        // of node 0's circle; halfway, at the ring's centre.
        let leaving = clearance_at(1_000);
        let halfway = clearance_at(2_000);
        assert!((leaving - NODE_R).abs() < 1.0, "{leaving}");
        let radius = dist((C, C), pos[&0]);
        assert!((halfway - radius).abs() < 1.0, "{halfway} {radius}");
        let normal = 11.0;
        assert!(!label_clear_of_nodes(leaving, normal));
        assert!(label_clear_of_nodes(halfway, normal));
        assert!(label_clear_of_nodes(NODE_R + 2.0 * normal, normal));
        assert!(!label_clear_of_nodes(NODE_R + 2.0 * normal, 2.0 * normal));
    }

    #[test]
    fn crowds_lose_their_labels_and_lost_messages_fall() {
        let mut v = classic(
            100_000,
            (0..=MAX_LABELLED as u64)
                .map(|n| wire(n, 0, 1, "read"))
                .collect(),
        );
        v.falls = vec![crate::state::Fall {
            msg: MsgId {
                from: 2,
                gen: 0,
                n: 99,
            },
            from: 2,
            to: 3,
            kind: "write",
            at: 100_000 - FALL_US / 2,
            reason: "dropped".into(),
        }];
        let pos = node_positions(&v);
        let shapes = flight_shapes(&v, &pos, false);
        assert!(shapes
            .iter()
            .all(|s| !matches!(s, Shape::Wire { label: Some(_), .. })));
        let Some(Shape::Fall { age, label, at, .. }) = shapes.last() else {
            panic!("{shapes:?}");
        };
        assert!((age - 0.5).abs() < 1e-9);
        assert_eq!(label, "✕ write lost");
        let (a, b) = trim(pos[&2], pos[&3]);
        assert!(at.1 > lerp(a, b, 0.8).1, "it falls down the screen");
    }

    #[test]
    fn a_click_picks_the_nearest_dot_within_reach() {
        // A quarter of the way along two crossing chords: two dots apart.
        let v = classic(1_500, vec![wire(1, 0, 2, "write"), wire(2, 1, 3, "read")]);
        let pos = node_positions(&v);
        let shapes = flight_shapes(&v, &pos, false);
        let m1 = MsgId {
            from: 0,
            gen: 0,
            n: 1,
        };
        let m2 = MsgId {
            from: 1,
            gen: 0,
            n: 2,
        };
        let dot = |m| {
            shapes
                .iter()
                .find(|s| s.msg() == m)
                .map(Shape::at)
                .expect("a dot")
        };
        let (a, b) = (dot(m1), dot(m2));
        assert_eq!(msg_at(&shapes, (a.0 + 3.0, a.1 - 3.0)), Some(m1));
        assert_eq!(msg_at(&shapes, (b.0 - 3.0, b.1 + 3.0)), Some(m2));
        // Beyond reach of every dot: nothing.
        assert_eq!(msg_at(&shapes, (a.0 + HIT_R + 1.0, a.1)), None);
        assert_eq!(dots_attr(&shapes).split(' ').count(), 2);
    }

    #[test]
    fn the_keyboard_steps_round_the_messages() {
        let m = |n| MsgId { from: 0, gen: 0, n };
        let order = [m(1), m(2), m(3)];
        assert_eq!(step_cursor(&order, None, "ArrowRight"), Some(Some(m(1))));
        assert_eq!(step_cursor(&order, None, "ArrowLeft"), Some(Some(m(3))));
        assert_eq!(
            step_cursor(&order, Some(&m(1)), "ArrowDown"),
            Some(Some(m(2)))
        );
        assert_eq!(
            step_cursor(&order, Some(&m(3)), "ArrowRight"),
            Some(Some(m(1))),
            "round the list"
        );
        assert_eq!(
            step_cursor(&order, Some(&m(1)), "ArrowUp"),
            Some(Some(m(3)))
        );
        assert_eq!(step_cursor(&order, Some(&m(2)), "End"), Some(Some(m(3))));
        assert_eq!(step_cursor(&order, Some(&m(3)), "Home"), Some(Some(m(1))));
        // A message that arrived: the arrows start again from an end.
        assert_eq!(
            step_cursor(&order, Some(&m(9)), "ArrowRight"),
            Some(Some(m(1)))
        );
        assert_eq!(
            step_cursor(&order, Some(&m(2)), "x"),
            None,
            "not the cursor's key"
        );
        assert_eq!(
            step_cursor(&[], Some(&m(2)), "ArrowRight"),
            Some(None),
            "nothing in flight"
        );
        assert_eq!(step_cursor::<MsgId>(&[], None, "Enter"), None);
    }

    #[test]
    fn a_message_in_words() {
        let mut v = classic(0, vec![wire(1, 1, 3, "write_ack")]);
        let m = MsgId {
            from: 1,
            gen: 0,
            n: 1,
        };
        assert_eq!(
            describe(&v, m).as_deref(),
            Some("write ack from node 1 to node 3, key 137")
        );
        v.wires[0].doomed = true;
        assert!(describe(&v, m).is_some_and(|d| d.ends_with(", to be lost")));
        assert_eq!(
            describe(
                &v,
                MsgId {
                    from: 2,
                    gen: 0,
                    n: 1
                }
            ),
            None
        );
    }
}
