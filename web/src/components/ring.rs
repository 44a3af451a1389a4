//! The token ring: each node's primary ranges coloured, the nodes at their
//! tokens, the keys that hold data as marks, messages flying along chords,
//! lost messages falling away, cut links, and hints piling up.

use super::flight::{
    describe, device_scale, dots_attr, draw_flight, event_point, flight_shapes, msg_at,
    step_cursor, Shape,
};
use super::geometry::{at, dist, key_label_at, lerp, node_positions, token_frac, C, NODE_R, R};
use super::node_color;
use crate::context::{Ctx, Live};
use crate::model::Cmd;
use crate::state::{ClusterView, Picked};
use ringside_core::{Key, MsgId, Token};
use std::rc::Rc;
use yew::prelude::*;

fn arc(start: f64, end: f64, r: f64) -> String {
    let mut len = end - start;
    if len <= 0.0 {
        len += 1.0;
    }
    let (x1, y1) = at(start, r);
    let (x2, y2) = at(start + len.min(0.9999), r);
    let large = if len > 0.5 { 1 } else { 0 };
    format!("M {x1:.1} {y1:.1} A {r} {r} 0 {large} 1 {x2:.1} {y2:.1}")
}

/// Half the side of the square the ring is drawn in, centred on the
/// ring's centre: the drawing's own square, grown to hold all that its
/// content's box `(x, y, w, h)` reaches (a hint count beside a node at
/// the edge, labels in large text), so that the ring scales down to fit
/// its box instead of cutting a label off. Whole steps of 20 units, so
/// that the ring does not twitch as labels come and go.
pub fn fit_half(x: f64, y: f64, w: f64, h: f64) -> f64 {
    const MARGIN: f64 = 6.0;
    if ![x, y, w, h].iter().all(|v| v.is_finite()) {
        return C;
    }
    let reach = (C - x).max(x + w - C).max(C - y).max(y + h - C) + MARGIN;
    (reach.max(C) / 20.0).ceil() * 20.0
}

/// The square's half side to draw in next, from the `current` one and
/// the one the content `needs` ([`fit_half`]): a square that is too small
/// grows at once; one that is too big shrinks only by two steps or more.
/// Text measures a little differently at each scale the ring is drawn
/// at, so a need right at a step's edge can flip with the scale that it
/// sets: without this slack, each measure would redraw the ring at the
/// other scale, for ever.
pub fn refit(current: f64, needs: f64) -> f64 {
    if needs > current || current - needs >= 40.0 {
        needs
    } else {
        current
    }
}

/// The content box `(x, y, w, h)` of the SVG element `r` names, in its
/// own units (`getBBox`).
fn content_box(r: &NodeRef) -> Option<(f64, f64, f64, f64)> {
    use js_sys::{Function, Reflect};
    use wasm_bindgen::JsCast;
    let el = r.cast::<web_sys::Element>()?;
    let get_b_box = Reflect::get(&el, &"getBBox".into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    let b = get_b_box.call0(&el).ok()?;
    let n = |k: &str| Reflect::get(&b, &k.into()).ok().and_then(|v| v.as_f64());
    Some((n("x")?, n("y")?, n("width")?, n("height")?))
}

/// Moves the keyboard's focus to the mark of key `k` on the ring.
fn focus_key_mark(k: &Key) {
    use js_sys::{Function, Reflect};
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(marks) = doc.query_selector_all(".key-mark[data-key]") else {
        return;
    };
    let name = k.to_string();
    let mark = (0..marks.length())
        .filter_map(|i| marks.item(i))
        .filter_map(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
        .find(|e| e.get_attribute("data-key").as_deref() == Some(name.as_str()));
    if let Some(mark) = mark {
        // An SVG element's focus(), which web-sys offers only with a
        // feature this crate does not otherwise need.
        if let Some(focus) = Reflect::get(&mark, &"focus".into())
            .ok()
            .and_then(|f| wasm_bindgen::JsCast::dyn_into::<Function>(f).ok())
        {
            let _ = focus.call0(&mark);
        }
    }
}

/// The view the panels draw, compared by pointer: the ring's still parts
/// (ranges, keys, cuts) redraw only when it changes, not every frame.
#[derive(Clone)]
pub struct Panels(pub Rc<ClusterView>);

impl PartialEq for Panels {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Properties, PartialEq)]
pub struct StillProps {
    pub view: Panels,
    pub selected: Option<Key>,
    pub send: Callback<Cmd>,
}

/// Ranges, cut links, key marks and the selected key's replicas.
#[function_component]
pub fn RingStill(p: &StillProps) -> Html {
    let view = &p.view.0;
    let pos = node_positions(view);
    let selected = p.selected.clone();
    let sel_replicas = selected
        .as_ref()
        .map(|k| view.replicas(k))
        .unwrap_or_default();
    let send = p.send.clone();

    // Primary ranges.
    let tokens = view.ring.tokens();
    let many = tokens.len() > view.topo.nodes.len();
    let ranges = tokens.iter().enumerate().map(|(i, (t, n))| {
        let prev = tokens[(i + tokens.len() - 1) % tokens.len()].0;
        let d = arc(token_frac(prev), token_frac(*t), R);
        let lit = sel_replicas.first() == Some(n);
        let class = classes!("range", lit.then_some("lit"));
        let tick = many.then(|| {
            let (x1, y1) = at(token_frac(*t), R - 10.0);
            let (x2, y2) = at(token_frac(*t), R + 10.0);
            html! { <line class="vnode-tick" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} stroke={node_color(*n)} /> }
        });
        html! {
            <>
                <path {class} d={d} stroke={node_color(*n)}>
                    <title>{ format!("node {n}'s range, up to token {t}") }</title>
                </path>
                { for tick }
            </>
        }
    });

    // Cut links.
    let cuts = view.cut.iter().filter_map(|(a, b)| {
        let (pa, pb) = (pos.get(a)?, pos.get(b)?);
        let mid = lerp(*pa, *pb, 0.5);
        Some(html! {
            <g class="cut" data-cut={format!("{a}-{b}")}>
                <line x1={pa.0.to_string()} y1={pa.1.to_string()} x2={pb.0.to_string()} y2={pb.1.to_string()} />
                <text x={mid.0.to_string()} y={mid.1.to_string()}>{"✂ cut"}</text>
            </g>
        })
    });

    // Lines from the selected key to its replicas.
    let key_lines = selected.as_ref().map(|k| {
        let f = token_frac(view.ring.token_of(k));
        let kp = at(f, R);
        sel_replicas
            .iter()
            .filter_map(|r| pos.get(r))
            .map(|p| html! { <line class="key-line" x1={kp.0.to_string()} y1={kp.1.to_string()} x2={p.0.to_string()} y2={p.1.to_string()} /> })
            .collect::<Html>()
    });

    // Keys holding data, in ring order. From the keyboard they are one
    // tab stop (the selected key's mark, else the first), not one per key:
    // with many keys Tab would take a student through all of them before
    // the nodes. The arrows go round the ring from mark to mark.
    let mut ring_order: Vec<(Token, Key)> = view
        .keys()
        .into_iter()
        .map(|k| (view.ring.token_of(&k), k))
        .collect();
    ring_order.sort();
    let order: Rc<Vec<Key>> = Rc::new(ring_order.into_iter().map(|(_, k)| k).collect());
    let stop = selected
        .clone()
        .filter(|k| order.contains(k))
        .or_else(|| order.first().cloned());
    let keys = order.iter().map(|k| {
        let f = token_frac(view.ring.token_of(k));
        let (x1, y1) = at(f, R - 14.0);
        let (x2, y2) = at(f, R + 14.0);
        let differs = view.newest_if_differs(k).is_some();
        let sel = selected.as_ref() == Some(k);
        let class = classes!("key-mark", differs.then_some("differs"), sel.then_some("selected"));
        let pick = {
            let send = send.clone();
            let k = k.clone();
            Callback::from(move |_: MouseEvent| send.emit(Cmd::SelectKey(if sel { None } else { Some(k.clone()) })))
        };
        let enter = {
            let (send, order, k) = (send.clone(), order.clone(), k.clone());
            Callback::from(move |e: KeyboardEvent| {
                let key = e.key();
                if key == "Enter" || key == " " {
                    e.prevent_default();
                    send.emit(Cmd::SelectKey(Some(k.clone())));
                } else if let Some(Some(next)) = step_cursor(&order, Some(&k), &key) {
                    e.prevent_default();
                    send.emit(Cmd::SelectKey(Some(next.clone())));
                    // After this event: moved during it, the focus takes
                    // the same key press on to the mark after (seen in
                    // Chromium), two keys at a time.
                    gloo::timers::callback::Timeout::new(0, move || focus_key_mark(&next)).forget();
                }
            })
        };
        let hover = {
            let send = send.clone();
            let k = k.clone();
            Callback::from(move |_: MouseEvent| send.emit(Cmd::SelectKey(Some(k.clone()))))
        };
        html! {
            <g {class} data-key={k.to_string()} tabindex={if stop.as_ref() == Some(k) { "0" } else { "-1" }}
               onclick={pick} onkeydown={enter} onmouseenter={hover}
               role="button" aria-label={format!("key {k}: show its replicas (arrows: the other keys)")}>
                <line x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
                <title>{ format!("key {k} (token {}): replicas {:?}{}", view.ring.token_of(k), view.replicas(k),
                    if differs { "; replicas differ" } else { "" }) }</title>
            </g>
        }
    });
    let key_label = selected.as_ref().map(|k| {
        let f = token_frac(view.ring.token_of(k));
        let (x, y) = key_label_at(f, &pos);
        html! { <text class="key-label" x={x.to_string()} y={y.to_string()}>{ format!("key {k}") }</text> }
    });

    html! {
        <g class="still">
            { for ranges }
            { for cuts }
            { for key_lines }
            { for keys }
            { for key_label }
        </g>
    }
}

#[function_component]
pub fn RingView() -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let live = use_context::<Live>().expect("Live");
    let view = &live.0;
    let pos = node_positions(view);
    let selected = ctx.ui.selected_key.clone();
    let sel_replicas = selected
        .as_ref()
        .map(|k| view.replicas(k))
        .unwrap_or_default();
    let send = ctx.send.clone();

    // Messages in flight and lost ones: drawn on a canvas over the SVG
    // after every render (see [`flight_shapes`]), not as SVG elements,
    // so hundreds of moving messages cost no DOM patching. A click on a
    // message's dot picks it, as a click on its arrow in the space-time
    // view or its line in the event log does.
    let flight = Rc::new(flight_shapes(view, &pos, ctx.ui.heartbeats));
    let in_flight = flight
        .iter()
        .filter(|s| matches!(s, Shape::Wire { .. }))
        .count();
    let canvas = use_node_ref();
    let picked_msg = match ctx.ui.picked {
        Some(Picked::Msg(m)) => Some(m),
        _ => None,
    };
    // The keyboard's way to the messages: the canvas is one tab stop (a
    // stop per message would be hundreds under load, and they come and
    // go every frame); while it has the focus, the arrows step a cursor
    // through the messages, and Enter or Space picks the cursor's, as a
    // click on its dot does. The caption says which message it is on.
    let cursor = use_state_eq(|| None::<MsgId>);
    let focused = use_state_eq(|| false);
    let shown_cursor = (*focused).then_some(*cursor).flatten();
    // The square the ring is drawn in (see [`fit_half`]), measured after
    // each draw: the SVG shows it, and the canvas draws in the same units.
    let svg = use_node_ref();
    let half = use_state_eq(|| C);
    let text_size = use_text_size_watch();
    let frame = (C - *half, 2.0 * *half);
    {
        let (canvas, flight, svg, half) =
            (canvas.clone(), flight.clone(), svg.clone(), half.clone());
        let large = ctx.ui.large_text;
        use_effect(move || {
            draw_flight(&canvas, &flight, frame, picked_msg, shown_cursor, large);
            if let Some((x, y, w, h)) = content_box(&svg) {
                half.set(refit(*half, fit_half(x, y, w, h)));
            }
        });
    }
    let order: Rc<Vec<MsgId>> = Rc::new(flight.iter().map(Shape::msg).collect());
    let on_msg_key = {
        let (cursor, order, send) = (cursor.clone(), order.clone(), send.clone());
        Callback::from(move |e: KeyboardEvent| {
            let key = e.key();
            if let Some(next) = step_cursor(&order, (*cursor).as_ref(), &key) {
                e.prevent_default();
                cursor.set(next);
            } else if key == "Enter" || key == " " {
                e.prevent_default();
                if let Some(m) = cursor.filter(|m| order.contains(m)) {
                    let on = picked_msg == Some(m);
                    send.emit(Cmd::Pick((!on).then_some(Picked::Msg(m))));
                }
            }
        })
    };
    let on_focus = {
        let focused = focused.clone();
        Callback::from(move |_: FocusEvent| focused.set(true))
    };
    let on_blur = {
        let focused = focused.clone();
        Callback::from(move |_: FocusEvent| focused.set(false))
    };
    let caption = (*focused).then(|| {
        let n = order.len();
        let at = cursor.and_then(|m| order.iter().position(|o| *o == m).map(|i| (i, m)));
        match at {
            _ if n == 0 => "No messages in flight: press . to step the clock on.".to_string(),
            None => format!(
                "{}: ← → step through them, Enter picks one.",
                messages_in_flight(n)
            ),
            Some((i, m)) => format!(
                "Message {} of {n}: {}. {}; ← → the others.",
                i + 1,
                describe(view, m).unwrap_or_default(),
                if picked_msg == Some(m) {
                    "Picked: Enter unpicks it"
                } else {
                    "Enter picks it"
                }
            ),
        }
    });
    let hit = {
        let (canvas, flight) = (canvas.clone(), flight.clone());
        Rc::new(move |e: &MouseEvent| {
            event_point(&canvas, e, frame).and_then(|p| msg_at(&flight, p))
        })
    };
    let pick_msg = {
        let (hit, send) = (hit.clone(), send.clone());
        Callback::from(move |e: MouseEvent| {
            if let Some(m) = hit(&e) {
                let on = picked_msg == Some(m);
                send.emit(Cmd::Pick((!on).then_some(Picked::Msg(m))));
            }
        })
    };
    let now = view.now_us;
    let scale = device_scale();
    let coordinator = ctx.ui.coordinator;

    // Nodes.
    let nodes = view.nodes.values().filter_map(|n| {
        let (x, y) = *pos.get(&n.id)?;
        let state = view.node_state(n.id);
        let is_replica = sel_replicas.contains(&n.id);
        let class = classes!("ring-node", state.class(), is_replica.then_some("replica"));
        // Hints pile up as little cards beside the node, in the target's colour.
        let (ox, oy) = {
            let d = dist((C, C), (x, y)).max(1.0);
            ((x - C) / d, (y - C) / d)
        };
        let cards = n.hints.values().take(12).enumerate().map(|(i, h)| {
            let cx = x + ox * (NODE_R + 14.0 + i as f64 * 9.0) - 6.0;
            let cy = y + oy * (NODE_R + 14.0 + i as f64 * 9.0) - 4.0;
            html! { <rect class="hint-card" x={cx.to_string()} y={cy.to_string()} width="12" height="8" fill={node_color(h.target)}>
                <title>{ format!("hint for node {}: key {}", h.target, h.key) }</title></rect> }
        });
        // The count goes past the cards, away from the ring: beside a node
        // at the ring's side it starts (or ends) there, so that however
        // large the text it reaches away from the node's name, not over it.
        let hint_text = (!n.hints.is_empty()).then(|| {
            let reach = NODE_R + 22.0 + 12.0f64.min(n.hints.len() as f64) * 9.0;
            let (tx, ty) = (x + ox * reach, y + oy * reach);
            let side = if ox > 0.4 {
                Some("start")
            } else if ox < -0.4 {
                Some("end")
            } else {
                None
            };
            html! { <text class={classes!("hint-count", side)} x={tx.to_string()} y={ty.to_string()} dy="0.35em">{ crate::narration::count(n.hints.len(), "hint") }</text> }
        });
        let skew = (n.skew_us != 0).then(|| html! {
            <text class="skew" x={x.to_string()} y={(y + NODE_R + 28.0).to_string()}>{ format!("clock {:+} ms", n.skew_us / 1000) }</text>
        });
        let (send, hit) = (send.clone(), hit.clone());
        let id = n.id;
        let enter = {
            let send = send.clone();
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Enter" || e.key() == " " {
                    e.prevent_default();
                    send.emit(Cmd::Coordinator(id));
                }
            })
        };
        // A message's dot over the node's edge is the message's: the
        // click goes on to the ring's own handler, which picks it.
        let pick = Callback::from(move |e: MouseEvent| {
            if hit(&e).is_none() {
                send.emit(Cmd::Coordinator(id));
            }
        });
        let mut name = format!("node {}, {}", n.id, state.class());
        if !n.hints.is_empty() {
            name += &format!(", {}", crate::narration::count(n.hints.len(), "hint"));
        }
        if n.skew_us != 0 {
            name += &format!(", clock {:+} ms", n.skew_us / 1000);
        }
        if is_replica {
            name += ", a replica of the selected key";
        }
        if coordinator == n.id {
            name += ", the coordinator";
        }
        Some(html! {
            <g {class} data-node={n.id.to_string()} data-testid="ring-node" onclick={pick} onkeydown={enter}
               tabindex="0" role="button" aria-label={name}>
                <circle class="focus-ring" cx={x.to_string()} cy={y.to_string()} r={(NODE_R + 10.0).to_string()} />
                <circle cx={x.to_string()} cy={y.to_string()} r={NODE_R.to_string()} stroke={node_color(n.id)} />
                <text class="name" x={x.to_string()} y={(y + 1.0).to_string()}>{ format!("node {}", n.id) }</text>
                <text class="state" x={x.to_string()} y={(y + 17.0).to_string()}>{ state.class() }</text>
                { for cards }
                { for hint_text }
                { for skew }
                <title>{ format!("node {}: {} (click or Enter: make it the coordinator)", n.id, state.class()) }</title>
            </g>
        })
    });

    let clock = if view.topo.mode.is_live() {
        format!("t = {:.1} s (real time since connecting)", now as f64 / 1e6)
    } else {
        format!("t = {:.1} ms (simulated)", now as f64 / 1000.0)
    };
    // The clock and the legend are the page's text, above and below the
    // ring's square rather than in it: they wrap at any text size, and
    // the ring's fit (which scales the ring down to hold what is drawn
    // in its square) follows only the ring's own labels. While the
    // keyboard's cursor is on the messages its caption takes the
    // legend's place.
    let legend = if let Some(caption) = caption {
        html! { <p class="ring-cursor" data-testid="ring-cursor">{ caption }</p> }
    } else if view.nodes.values().all(|n| n.data.is_empty()) {
        html! { <p class="ring-legend">{ "No keys yet: try put 137 hello quorum." }</p> }
    } else {
        html! { <p class="ring-legend">{ "Hover or click a key mark to see its replicas; click a message (or Tab to it) to follow it." }</p> }
    };

    html! {
        <div class="ring-wrap">
            <p class="ring-clock clock" data-testid="ring-clock">{ clock }</p>
            <div class="ring-square" onclick={pick_msg}>
                <svg ref={svg} class="ring" data-testid="ring" viewBox={format!("{0} {0} {1} {1}", frame.0, frame.1)} role="img"
                     aria-label={format!("the token ring: {} nodes", view.nodes.len())}>
                    <circle class="ring-base" cx={C.to_string()} cy={C.to_string()} r={R.to_string()} />
                    <RingStill view={Panels(ctx.view.clone())} selected={selected.clone()} send={ctx.send.clone()} />
                    { for nodes }
                    { super::picked::ring_overlay(view, ctx.ui.picked, &pos, NODE_R) }
                </svg>
                <canvas ref={canvas} class="flight" data-testid="flight" data-count={in_flight.to_string()}
                    width={((frame.1 * scale) as u32).to_string()} height={((frame.1 * scale) as u32).to_string()}
                    data-dots={dots_attr(&flight)} tabindex="0" onkeydown={on_msg_key} onfocus={on_focus} onblur={on_blur}
                    role="group" aria-describedby="ring-caption"
                    aria-label={format!("{}: arrow keys step through them, Enter picks one",
                        messages_in_flight(order.len()))} />
            </div>
            <div id="ring-caption" role="status">{ legend }</div>
            <span ref={text_size} class="em-probe" aria-hidden="true"></span>
        </div>
    }
}

/// A probe one em square, for an element of the ring's box: when the
/// page's text size changes (the reader's browser setting, or large text
/// mode), the probe's size does and the ring renders again, so that its
/// fit follows its labels' new size; nothing else would render it while
/// the clock is paused. (A page zoom scales the ring and its labels
/// alike, and needs no new fit.)
#[hook]
fn use_text_size_watch() -> NodeRef {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let probe = use_node_ref();
    let redraw = use_force_update();
    {
        let probe = probe.clone();
        use_effect_with((), move |_| {
            let on_resize =
                Closure::<dyn FnMut(js_sys::Array)>::new(move |_| redraw.force_update());
            let observer = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok();
            if let (Some(o), Some(el)) = (&observer, probe.cast::<web_sys::Element>()) {
                o.observe(&el);
            }
            move || {
                if let Some(o) = observer {
                    o.disconnect();
                }
                drop(on_resize);
            }
        });
    }
    probe
}

/// "1 message in flight", "12 messages in flight".
fn messages_in_flight(n: usize) -> String {
    format!("{} in flight", crate::narration::count(n, "message"))
}

/// The key marks' token positions, for tests.
#[allow(dead_code)]
pub fn key_fracs(view: &ClusterView) -> Vec<(Key, f64)> {
    view.keys()
        .into_iter()
        .map(|k| {
            let f = token_frac(view.ring.token_of(&k));
            (k, f)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::geometry::SIZE;

    #[test]
    fn the_square_grows_to_hold_what_reaches_past_it() {
        assert_eq!(
            fit_half(20.0, 30.0, 600.0, 600.0),
            C,
            "all inside: the ring's own square"
        );
        // A label 40 units past the right edge: the square grows on every
        // side, in whole steps, and the ring stays in its middle.
        let h = fit_half(10.0, 10.0, SIZE + 30.0, 600.0);
        assert!(h >= C + 40.0 && h % 20.0 == 0.0 && h < C + 70.0, "{h}");
        assert_eq!(fit_half(f64::NAN, 0.0, 0.0, 0.0), C);
    }

    #[test]
    fn the_square_grows_at_once_and_shrinks_only_by_two_steps() {
        assert_eq!(refit(C, C + 20.0), C + 20.0);
        // A need flipping between two neighbouring steps settles.
        assert_eq!(refit(C + 20.0, C), C + 20.0);
        assert_eq!(refit(C + 40.0, C), C);
    }

    #[test]
    fn arcs_wrap_around_the_top() {
        let d = arc(0.9, 0.1, R);
        assert!(d.contains(" 0 0 1 "), "a short arc across the top: {d}");
        assert!(arc(0.1, 0.8, R).contains(" 0 1 1 "));
    }
}
