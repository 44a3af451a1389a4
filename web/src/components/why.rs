//! The "why?" panel of the selected request: `core::explain`'s sentences,
//! the cause set apart, and a picture of the key's replicas on the ring:
//! who was asked, whose answer counted (R), who held the newest write
//! when a read began (W), who missed it, and whether R and W met.

use super::geometry::{at, node_positions, token_frac};
use super::node_color;
use crate::context::Ctx;
use crate::model::Cmd;
use crate::state::{label_meaning, ClusterView, RequestView};
use crate::why::Why;
use ringside_core::check::{Outcome, ReadLabel};
use ringside_core::explain::Explanation;
use ringside_core::NodeId;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct WhyProps {
    pub request: Rc<RequestView>,
    pub why: Option<Rc<Why>>,
}

/// The label's CSS class (also what tests look for).
pub fn label_class(label: &ReadLabel) -> &'static str {
    match label {
        ReadLabel::Fresh => "fresh",
        ReadLabel::Stale { .. } => "stale",
        ReadLabel::Violation { .. } => "violation",
    }
}

#[function_component]
pub fn WhyPanel(p: &WhyProps) -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let close = {
        let send = ctx.send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::SelectRequest(None)))
    };
    let r = &p.request;
    let label = r.label.as_ref().map(|l| {
        html! {
            <p class={classes!("why-label", label_class(l))} data-testid="why-label">{ label_meaning(l) }</p>
        }
    });
    let body = match p.why.as_deref() {
        Some(w) if !w.ex.replicas.is_empty() => explained(&ctx.view, w),
        _ if matches!(r.outcome, Outcome::Pending) => html! {
            <p class="why-empty">{ format!("Node {} has not answered yet; the explanation follows its answer.", r.coordinator) }</p>
        },
        _ => html! {
            <p class="why-empty">{"The page no longer keeps this request's events: select a newer one."}</p>
        },
    };
    let live = ctx.view.topo.mode.is_live().then(|| {
        html! {
            <p class="why-note">{"Live cluster: the nodes report what they did, not what the network lost, so a missed write may say the events do not say why."}</p>
        }
    });
    html! {
        <div class="why" data-testid="why">
            <div class="why-head">
                <h3>{ format!("Why? {} via node {}", r.request, r.coordinator) }</h3>
                <button class="why-close" onclick={close} title="close the explanation">{"close"}</button>
            </div>
            { for label }
            { body }
            { for live }
        </div>
    }
}

/// The sentences and the picture.
fn explained(view: &ClusterView, w: &Why) -> Html {
    let words = w.ex.words();
    // `words()` ends with one sentence per replica that missed a write:
    // the cause of a stale answer, set apart.
    let causes = w.ex.missed.len().min(words.len());
    let (story, cause) = words.split_at(words.len() - causes);
    html! {
        <div class="why-body">
            <div class="why-text">
                <ol class="why-words" data-testid="why-words">
                    { for story.iter().map(|s| html! { <li>{ s.clone() }</li> }) }
                </ol>
                if !cause.is_empty() {
                    <div class="why-cause" data-testid="why-cause">
                        <strong>{"Why it was stale: "}</strong>
                        { for cause.iter().map(|s| html! { <p>{ s.clone() }</p> }) }
                    </div>
                }
            </div>
            { picture(view, w) }
        </div>
    }
}

/// What each node was to this request, for the picture.
struct Roles<'a> {
    ex: &'a Explanation,
    counted: Vec<NodeId>,
    late: Vec<NodeId>,
    holders: Vec<NodeId>,
    missed: Vec<NodeId>,
    is_read: bool,
}

impl Roles<'_> {
    fn fill(&self, n: NodeId) -> &'static str {
        if self.counted.contains(&n) {
            "#c8e6c9"
        } else if self.late.contains(&n) {
            "#eef6ee"
        } else if self.ex.replicas.contains(&n) {
            "#ffffff"
        } else {
            "#f4f5f6"
        }
    }
}

/// The ring with the key's replicas marked, and the overlap in words.
fn picture(view: &ClusterView, w: &Why) -> Html {
    let ex = &w.ex;
    let counted = w.counted();
    let roles = Roles {
        ex,
        late: ex
            .answers
            .iter()
            .filter(|a| !a.counted)
            .map(|a| a.replica)
            .collect(),
        counted: counted.clone(),
        holders: if ex.request.is_write() {
            ex.landed.clone()
        } else {
            w.write_holders()
        },
        missed: ex.missed.iter().map(|m| m.replica).collect(),
        is_read: !ex.request.is_write(),
    };
    let pos = node_positions(view);
    let centre = (320.0, 320.0);
    let c_pos = pos.get(&ex.coordinator).copied();
    let asked_lines = ex
        .asked
        .iter()
        .filter(|&&n| n != ex.coordinator)
        .filter_map(|n| Some((c_pos?, *pos.get(n)?)))
        .map(|((x1, y1), (x2, y2))| {
            html! { <line class="asked" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} /> }
        });
    let key = ex.request.key();
    let (kx, ky) = at(token_frac(view.ring.token_of(key)), 225.0);
    let nodes = pos
        .iter()
        .map(|(&n, &(x, y))| node_mark(&roles, n, x, y, centre));
    let (r_word, w_word) = if roles.is_read { ("R", "W") } else { ("W", "") };
    let n = ex.replicas.len();
    let centre_text = if roles.is_read {
        vec![
            format!("key {key}"),
            format!("R = {} of N = {n}", ex.needed),
        ]
    } else {
        vec![
            format!("key {key}"),
            format!("W = {} of N = {n}", ex.needed),
        ]
    };
    html! {
        <figure class="why-picture" data-testid="why-picture">
            <svg viewBox="-30 -30 700 700" role="img"
                aria-label={format!("the ring: key {key}'s replicas, the coordinator node {}", ex.coordinator)}>
                <circle class="ring" cx="320" cy="320" r="225" />
                { for asked_lines }
                <path class="key-mark" d={format!("M {kx:.1} {:.1} l 12 12 l -12 12 l -12 -12 z", ky - 12.0)} />
                { for nodes }
                { for centre_text.iter().enumerate().map(|(i, t)| html! {
                    <text class="centre" x="320" y={(305.0 + 40.0 * i as f64).to_string()}>{ t.clone() }</text>
                }) }
            </svg>
            <figcaption>
                <ul class="why-legend">
                    <li><span class="chip r on">{ r_word }</span>{ if roles.is_read {
                        " its answer counted toward the read's level"
                    } else {
                        " it stored the write and its acknowledgement counted"
                    } }</li>
                    if roles.is_read {
                        <li><span class="chip w on">{ w_word }</span>{ " it held the newest acknowledged write when the read began" }</li>
                    }
                    if !roles.missed.is_empty() {
                        <li><span class="chip missed">{"✕"}</span>{ " it lacked that write when it answered" }</li>
                    }
                    <li><span class="chip coord">{"C"}</span>{ " the coordinator" }</li>
                </ul>
                <p class="overlap" data-testid="why-overlap">{ overlap(w, &roles) }</p>
            </figcaption>
        </figure>
    }
}

/// One node on the picture: its circle, its chips, its name.
fn node_mark(roles: &Roles, n: NodeId, x: f64, y: f64, centre: (f64, f64)) -> Html {
    let ex = roles.ex;
    let replica = ex.replicas.contains(&n);
    let radius = if replica { 36.0 } else { 24.0 };
    let missed = roles.missed.contains(&n);
    let stroke = if missed { "#c62828" } else { node_color(n) };
    let width = if missed {
        7.0
    } else if replica {
        4.0
    } else {
        2.0
    };
    // Chips sit outside the ring, away from the centre.
    let (dx, dy) = (x - centre.0, y - centre.1);
    let d = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ox, oy) = (x + dx / d * 78.0, y + dy / d * 78.0);
    let chip = |label: &'static str, on: bool, cx: f64, class: &'static str| {
        let class = classes!("chip", class, on.then_some("on"));
        html! {
            <g {class}>
                <rect x={(cx - 17.0).to_string()} y={(oy - 17.0).to_string()} width="34" height="34" rx="6" />
                <text x={cx.to_string()} y={(oy + 10.0).to_string()}>{ label }</text>
            </g>
        }
    };
    let chips = replica.then(|| {
        if roles.is_read {
            html! { <>
                { chip("R", roles.counted.contains(&n), ox - 20.0, "r") }
                { chip("W", roles.holders.contains(&n), ox + 20.0, "w") }
            </> }
        } else {
            chip("W", roles.counted.contains(&n), ox, "r")
        }
    });
    let coord = (n == ex.coordinator).then(|| {
        html! { <circle class="coord-ring" cx={x.to_string()} cy={y.to_string()} r={(radius + 12.0).to_string()} /> }
    });
    let title = describe(roles, n);
    html! {
        <g class={classes!("why-node", replica.then_some("replica"), missed.then_some("missed"))} data-node={n.to_string()}>
            <title>{ title }</title>
            { for coord }
            <circle cx={x.to_string()} cy={y.to_string()} r={radius.to_string()} fill={roles.fill(n)}
                stroke={stroke} stroke-width={width.to_string()} />
            <text class="name" x={x.to_string()} y={(y + 10.0).to_string()}>{ n.to_string() }</text>
            { for chips }
            if missed {
                <text class="missed-mark" x={(x - dx / d * (radius + 26.0)).to_string()} y={(y - dy / d * (radius + 26.0) + 14.0).to_string()}>{"✕"}</text>
            }
        </g>
    }
}

/// A node's part in the request, for its hover text.
fn describe(roles: &Roles, n: NodeId) -> String {
    let ex = roles.ex;
    let mut parts = vec![format!("node {n}")];
    if n == ex.coordinator {
        parts.push("coordinator".into());
    }
    if !ex.replicas.contains(&n) {
        parts.push("not a replica of this key".into());
        return parts.join(": ");
    }
    parts.push(
        if ex.asked.contains(&n) {
            "asked"
        } else {
            "not asked (thought down)"
        }
        .into(),
    );
    if roles.counted.contains(&n) {
        parts.push("its answer counted".into());
    } else if roles.late.contains(&n) {
        parts.push("answered too late to count".into());
    }
    if roles.missed.contains(&n) {
        parts.push("it lacked the newest write".into());
    }
    parts.join(", ")
}

/// R + W against N, and whether the two sets met this time.
fn overlap(w: &Why, roles: &Roles) -> String {
    let ex = &w.ex;
    let n = ex.replicas.len();
    if !roles.is_read {
        let landed = ex.landed.len();
        return format!(
            "{} needed {} acknowledgement{} of {n}; the write is on {landed} replica{} now. A later read meets it for sure only if R + W > N.",
            ex.level,
            ex.needed,
            if ex.needed == 1 { "" } else { "s" },
            if landed == 1 { "" } else { "s" }
        );
    }
    let Some(write) = &w.write else {
        return "No write of this key was acknowledged before the read began.".into();
    };
    let (r, wn) = (ex.needed, write.needed);
    let met: Vec<String> = roles
        .counted
        .iter()
        .filter(|c| roles.holders.contains(c))
        .map(|c| format!("node {c}"))
        .collect();
    let promise = if r + wn > n {
        format!(
            "R + W = {r} + {wn} = {} > N = {n}: every read set meets every write set.",
            r + wn
        )
    } else {
        format!(
            "R + W = {r} + {wn} = {} ≤ N = {n}: the replicas read need not include one that took the write \"{}\".",
            r + wn,
            write.request
        )
    };
    let here = if !met.is_empty() {
        format!(" This time they met at {}.", met.join(" and "))
    } else if !roles.missed.is_empty() {
        " This time they did not meet: the read missed the write.".to_string()
    } else {
        " They did not meet when the read began, but the write reached the replicas read before they answered.".to_string()
    };
    promise + &here
}
