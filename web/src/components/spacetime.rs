//! The space-time view: one lane per node, time flowing right, every
//! message an arrow from sender to receiver (lost ones end in a cross),
//! faults and requests marked on their lanes. It shows a window of recent
//! time that follows the run, or stays where the person scrolled it.
//! Clicking an arrow or a mark picks it: the event log and the ring
//! highlight the same thing (see [`crate::state::Picked`]).

use super::{kind_color, node_color, short_kind};
use crate::context::Ctx;
use crate::model::Cmd;
use crate::narration::{ms, words};
use crate::spacetime::{
    layout, ticks, Arrow, Diagram, End, Window, DEFAULT_SPAN, MAX_LABELLED, SPANS,
};
use crate::state::{ClusterView, Mark, MarkKind, Picked};
use ringside_core::Micros;
use yew::prelude::*;

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 14.0;
const LANE_H: f64 = 34.0;
const AXIS_H: f64 = 26.0;

/// Where the window is: following the run, or pinned at an end time.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Scroll {
    span: Micros,
    /// `None`: the window ends at the view's clock.
    pinned: Option<Micros>,
}

impl Scroll {
    fn window(self, now: Micros) -> Window {
        Window::ending(self.pinned.unwrap_or(now).min(now), self.span)
    }
}

fn x_of(w: Window, t: Micros) -> f64 {
    LEFT + w.frac(t) * (WIDTH - LEFT - RIGHT)
}

fn y_of(lane: usize) -> f64 {
    TOP + LANE_H * (lane as f64 + 0.5)
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

fn at_ms(t: Micros) -> String {
    format!("{:.1} ms", t as f64 / 1000.0)
}

#[function_component]
pub fn SpaceTime() -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let scroll = use_state(|| Scroll {
        span: DEFAULT_SPAN,
        pinned: None,
    });
    let view = &ctx.view;
    let window = scroll.window(view.now_us);
    let d = layout(view, window, ctx.ui.heartbeats);
    let picked = ctx.ui.picked;
    let labelled = d.arrows.len() <= MAX_LABELLED;
    let height = TOP + LANE_H * d.lanes.len() as f64 + AXIS_H;

    let lanes = d.lanes.iter().enumerate().map(|(i, &n)| {
        let y = f(y_of(i));
        html! {
            <g class="st-lane">
                <line x1={f(LEFT)} x2={f(WIDTH - RIGHT)} y1={y.clone()} y2={y.clone()} stroke={node_color(n)} />
                <text class="st-lane-name" x="6" y={f(y_of(i) + 4.0)} fill={node_color(n)}>{ format!("node {n}") }</text>
            </g>
        }
    });
    let axis_y = TOP + LANE_H * d.lanes.len() as f64;
    let ticks = ticks(window).into_iter().map(|t| {
        let x = f(x_of(window, t));
        html! {
            <g class="st-tick">
                <line x1={x.clone()} x2={x.clone()} y1={f(TOP)} y2={f(axis_y + 4.0)} />
                <text x={x} y={f(axis_y + 18.0)}>{ at_ms(t) }</text>
            </g>
        }
    });
    let arrows = d.arrows.iter().map(|a| {
        let on = Diagram::arrow_picked(a, picked);
        let send = ctx.send.clone();
        let msg = a.msg;
        let pick =
            Callback::from(move |()| send.emit(Cmd::Pick((!on).then_some(Picked::Msg(msg)))));
        arrow_html(a, window, on, labelled || on, pick)
    });
    let marks = d.marks.iter().filter_map(|m| {
        let on = Diagram::mark_picked(m, picked);
        let send = ctx.send.clone();
        let p = Picked::of_line(&m.line);
        let pick = Callback::from(move |()| send.emit(Cmd::Pick((!on).then_some(p))));
        mark_html(&d, m, window, on, pick)
    });

    let move_by = |dir: i64| {
        let scroll = scroll.clone();
        let now = view.now_us;
        Callback::from(move |_: MouseEvent| {
            let s = *scroll;
            let end = s.pinned.unwrap_or(now) as i64 + dir * (s.span / 2) as i64;
            let end = (end.max(s.span as i64) as Micros).min(now);
            scroll.set(Scroll {
                pinned: (end < now).then_some(end),
                ..s
            });
        })
    };
    let zoom = |dir: i64| {
        let scroll = scroll.clone();
        Callback::from(move |_: MouseEvent| {
            let s = *scroll;
            let i = SPANS.iter().position(|&x| x == s.span).unwrap_or(2) as i64 + dir;
            let span = SPANS[i.clamp(0, SPANS.len() as i64 - 1) as usize];
            scroll.set(Scroll { span, ..s });
        })
    };
    let follow = {
        let scroll = scroll.clone();
        Callback::from(move |_: MouseEvent| {
            scroll.set(Scroll {
                pinned: None,
                ..*scroll
            })
        })
    };
    let close = {
        let send = ctx.send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::SpaceTime(false)))
    };
    let following = scroll.pinned.is_none();
    let caption = picked_words(view, &d, picked);

    html! {
        <section class="spacetime" data-testid="spacetime" aria-label="space-time view">
            <div class="st-head">
                <h2>{"Who sent what to whom, and when"}</h2>
                <span class="st-window">{ format!("{} to {}{}", at_ms(window.start), at_ms(window.end),
                    if following { " (following the run)" } else { "" }) }</span>
                <button onclick={move_by(-1)} title="show earlier time">{"◀ earlier"}</button>
                <button onclick={move_by(1)} disabled={following} title="show later time">{"later ▶"}</button>
                <button onclick={follow} disabled={following} data-testid="st-follow">{"follow the run"}</button>
                <button onclick={zoom(-1)} title="show less time, in more detail">{"zoom in"}</button>
                <button onclick={zoom(1)} title="show more time">{"zoom out"}</button>
                <button class="close" onclick={close} title="hide the space-time view">{"hide"}</button>
            </div>
            <svg class="st" viewBox={format!("0 0 {WIDTH} {}", f(height))} role="img"
                 aria-label={format!("{} nodes, {} messages and {} events between {} and {}",
                    d.lanes.len(), d.arrows.len(), d.marks.len(), at_ms(window.start), at_ms(window.end))}>
                { for ticks }
                { for lanes }
                { for marks }
                { for arrows }
            </svg>
            <p class="st-picked" data-testid="st-picked">{ caption }</p>
            { legend(ctx.ui.heartbeats) }
        </section>
    }
}

/// A click that picks.
fn clicked(pick: &Callback<()>) -> Callback<MouseEvent> {
    pick.reform(|_: MouseEvent| ())
}

/// Enter or space on a focused arrow or mark picks it, as a click does:
/// the diagram works from the keyboard alone.
fn pressed(pick: &Callback<()>) -> Callback<KeyboardEvent> {
    let pick = pick.clone();
    Callback::from(move |e: KeyboardEvent| {
        if matches!(e.key().as_str(), "Enter" | " ") {
            // Not also play/pause (the page's space key).
            e.prevent_default();
            e.stop_propagation();
            pick.emit(());
        }
    })
}

fn arrow_html(a: &Arrow, w: Window, on: bool, label: bool, pick: Callback<()>) -> Html {
    let (x0, y0) = (x_of(w, a.sent_at), y_of(a.from_lane));
    // A message lost as it left (a cut link) still slants a little.
    let (x1, mut y1) = (x_of(w, a.end_at).max(x0 + 6.0), y_of(a.to_lane));
    // A lost message stops short of its receiver's lane.
    if let End::Dropped(_) = a.end {
        y1 = y0 + (y1 - y0) * 0.6;
    }
    let color = kind_color(a.kind);
    let (dx, dy) = (x1 - x0, y1 - y0);
    let len = (dx * dx + dy * dy).sqrt().max(0.1);
    let (ux, uy) = (dx / len, dy / len);
    let head = match a.end {
        End::Dropped(_) => html! {
            <text class="st-cross" x={f(x1)} y={f(y1 + 5.0)}>{"✕"}</text>
        },
        _ => {
            let (bx, by) = (x1 - ux * 8.0, y1 - uy * 8.0);
            let pts = format!(
                "{},{} {},{} {},{}",
                f(x1),
                f(y1),
                f(bx - uy * 4.0),
                f(by + ux * 4.0),
                f(bx + uy * 4.0),
                f(by - ux * 4.0)
            );
            html! { <polygon points={pts} fill={color} /> }
        }
    };
    let text = label.then(|| {
        let k = match &a.key {
            Some(k) => format!("{} {k}", short_kind(a.kind)),
            None => short_kind(a.kind).to_string(),
        };
        // A lost message's label sits by its cross and names its
        // receiver: its shaft may run along another's.
        let (k, x, y) = match a.end {
            End::Dropped(_) => (format!("{k} to node {}: lost", a.to), x1 + 9.0, y1 + 4.0),
            _ => (k, (x0 + x1) / 2.0 + 3.0, (y0 + y1) / 2.0 - 3.0),
        };
        html! { <text class="st-label" x={f(x)} y={f(y)} fill={color}>{ k }</text> }
    });
    let class = classes!(
        "st-arrow",
        on.then_some("picked"),
        matches!(a.end, End::Dropped(_)).then_some("lost"),
        matches!(a.end, End::InFlight).then_some("in-flight")
    );
    html! {
        <g {class} data-testid="st-arrow" data-msg={a.msg.to_string()} data-kind={a.kind}
            onclick={clicked(&pick)} onkeydown={pressed(&pick)} tabindex="0" role="button"
            aria-pressed={on.to_string()}>
            <line class="hit" x1={f(x0)} y1={f(y0)} x2={f(x1)} y2={f(y1)} />
            <line class="shaft" x1={f(x0)} y1={f(y0)} x2={f(x1)} y2={f(y1)} stroke={color} />
            { head }
            { for text }
            <title>{ arrow_words(a) }</title>
        </g>
    }
}

fn mark_html(d: &Diagram, m: &Mark, w: Window, on: bool, pick: Callback<()>) -> Option<Html> {
    let x = x_of(w, m.at());
    let y = y_of(d.lane(m.node)?);
    let link = m.other.and_then(|o| d.lane(o)).map(|o| {
        html! { <line class="st-link" x1={f(x)} x2={f(x)} y1={f(y)} y2={f(y_of(o))} /> }
    });
    let other = m.other.and_then(|o| d.lane(o)).map(|o| {
        html! { <text class="st-glyph" x={f(x)} y={f(y_of(o) + 5.0)}>{ m.what.glyph() }</text> }
    });
    let class = classes!(
        "st-mark",
        format!("m-{}", m.what.name().replace(' ', "-")),
        on.then_some("picked"),
        m.line.flag.then_some("flag")
    );
    Some(html! {
        <g {class} data-testid="st-mark" data-line={m.line.n.to_string()}
            onclick={clicked(&pick)} onkeydown={pressed(&pick)} tabindex="0" role="button" aria-pressed={on.to_string()}>
            { for link }
            <circle cx={f(x)} cy={f(y)} r="9" />
            <text class="st-glyph" x={f(x)} y={f(y + 5.0)}>{ m.what.glyph() }</text>
            { for other }
            <title>{ format!("{}: {}", at_ms(m.at()), m.line.text) }</title>
        </g>
    })
}

/// An arrow in words: "node 0 sent a write for key 137 to node 2 at
/// 300.0 ms; it arrived at 303.1 ms (3.1 ms later)".
fn arrow_words(a: &Arrow) -> String {
    let about = a
        .key
        .as_ref()
        .map(|k| format!(" for key {k}"))
        .unwrap_or_default();
    let sent = format!(
        "node {} sent {}{about} to node {} at {}",
        a.from,
        words(a.kind),
        a.to,
        at_ms(a.sent_at)
    );
    let took = ms(a.end_at.saturating_sub(a.sent_at));
    match &a.end {
        End::Received => format!("{sent}; it arrived at {} ({took} later)", at_ms(a.end_at)),
        End::Dropped(why) => format!("{sent}; it was lost at {}: {why}", at_ms(a.end_at)),
        End::InFlight => format!("{sent}; it is still on its way"),
    }
}

/// The caption under the diagram: what is picked, in words.
fn picked_words(view: &ClusterView, d: &Diagram, picked: Option<Picked>) -> String {
    let hint = "Click an arrow or a mark to pick it: the event log and the ring show the same one.";
    match picked {
        None => hint.into(),
        Some(Picked::Msg(m)) => match d.arrows.iter().find(|a| a.msg == m) {
            Some(a) => format!("Picked: {}.", arrow_words(a)),
            None => "The picked message is outside this window.".into(),
        },
        Some(p) => match view.log.iter().find(|l| p.matches(l)) {
            Some(l) => format!("Picked, at {}: {}.", at_ms(l.at), l.text),
            None => hint.into(),
        },
    }
}

fn legend(heartbeats: bool) -> Html {
    const KINDS: [&str; 8] = [
        "write",
        "write_ack",
        "read",
        "read_reply",
        "read_repair",
        "hint",
        "hint_ack",
        "sync_data",
    ];
    let kinds = KINDS.iter().map(|k| {
        html! { <span class="st-key"><span class="swatch" style={format!("background:{}", kind_color(k))}></span>{ short_kind(k) }</span> }
    });
    const MARKS: [MarkKind; 7] = [
        MarkKind::Asked(ringside_core::ClientRef { conn: 0, req: 0 }),
        MarkKind::Answered(ringside_core::ClientRef { conn: 0, req: 0 }, true),
        MarkKind::Crash,
        MarkKind::Restart,
        MarkKind::Cut,
        MarkKind::Heal,
        MarkKind::Clock,
    ];
    let marks = MARKS.iter().map(|m| {
        html! { <span class="st-key"><span class="glyph">{ m.glyph() }</span>{ m.name() }</span> }
    });
    html! {
        <div class="st-legend" aria-label="legend">
            { for kinds }
            <span class="st-key"><span class="glyph lost">{"✕"}</span>{"lost"}</span>
            <span class="st-key"><span class="glyph">{"┄"}</span>{"on its way"}</span>
            { for marks }
            if heartbeats {
                <span class="st-key"><span class="swatch" style={format!("background:{}", kind_color("heartbeat"))}></span>{"heartbeat"}</span>
            } else {
                <span class="st-key muted">{"heartbeats hidden (tick “heartbeats” above to draw them)"}</span>
            }
        </div>
    }
}
