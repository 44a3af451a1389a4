//! Every client request: coordinator, level, which replicas answered, the
//! outcome and latency, each read labelled (fresh, stale as allowed, a
//! violation), flagged when a failed write still landed; and, for the one
//! selected, its "why?" panel under it and its sequence diagram (a lane
//! per node, an arrow per message, in simulated time).

use super::why::{label_class, WhyPanel};
use super::{node_color, short_kind};
use crate::context::Ctx;
use crate::model::Cmd;
use crate::narration::{list, ms, show_version};
use crate::state::{label_meaning, label_text, ClusterView, RequestView};
use ringside_core::check::Outcome;
use yew::prelude::*;

/// Requests shown in the list (the newest).
const SHOWN: usize = 60;

/// A request's outcome in words.
pub fn outcome_text(r: &RequestView) -> String {
    match &r.outcome {
        Outcome::Pending => "waiting…".into(),
        Outcome::Written { .. } => "ok".into(),
        Outcome::Read { kv: Some(kv) } => match &kv.value {
            Some(v) => format!("ok: {v:?}"),
            None => "ok: deleted".into(),
        },
        Outcome::Read { kv: None } => "ok: no value".into(),
        Outcome::Error { kind, .. } => kind.name().to_string(),
        Outcome::NoReply { .. } => "no reply".into(),
    }
}

/// Warnings a request deserves: a stale read the checker could not label
/// (a labelled one says so in its label), a failed write that landed.
pub fn flags(r: &RequestView) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(newer), None) = (&r.stale, &r.label) {
        out.push(format!(
            "stale read: a newer write ({}) had been acknowledged before this read began",
            show_version(newer)
        ));
    }
    if r.failed_but_landed() {
        out.push(format!(
            "failed its level, but landed on node{} {}: there is no rollback",
            if r.landed_on.len() == 1 { "" } else { "s" },
            list(&r.landed_on)
        ));
    }
    out
}

#[function_component]
pub fn Requests() -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let view = &ctx.view;
    let selected = ctx.ui.selected_request;
    let rows = view.requests.iter().rev().take(SHOWN).map(|r| {
        let client = r.client;
        let is_sel = selected == Some(client);
        let pick = {
            let send = ctx.send.clone();
            Callback::from(move |_: MouseEvent| {
                send.emit(Cmd::SelectRequest(if is_sel { None } else { Some(client) }))
            })
        };
        let fl = flags(r);
        let class = classes!(
            "request",
            r.outcome.label().replace(' ', "-"),
            is_sel.then_some("selected"),
            (!fl.is_empty()).then_some("flagged")
        );
        let label = r.label.as_ref().map(|l| {
            html! {
                <span class={classes!("label", label_class(l))} data-testid="read-label" data-label={label_class(l)} title={label_meaning(l)}>
                    { label_text(l) }
                </span>
            }
        });
        html! {
            <li key={format!("{}-{}", client.conn, client.req)} {class} data-testid="request" data-outcome={r.outcome.label().to_string()}
                data-label={r.label.as_ref().map(label_class).unwrap_or_default()}>
                <button onclick={pick} aria-pressed={is_sel.to_string()}>
                    { for label }
                    <span class="what">{ r.request.to_string() }</span>
                    <span class="via">{ format!(" via node {}", r.coordinator) }</span>
                    <span class="outcome">{ format!(" → {}", outcome_text(r)) }</span>
                    if !r.answered.is_empty() {
                        <span class="answered">{ format!(" · answered: {}", list(&r.answered)) }</span>
                    }
                    if let Some(l) = r.latency_us() {
                        <span class="latency">{ format!(" · {}", ms(l)) }</span>
                    }
                </button>
                { for fl.iter().map(|f| html! { <div class="flag">{ format!("⚠ {f}") }</div> }) }
                if let Outcome::Error { message, .. } = &r.outcome {
                    <div class="error-message">{ message.clone() }</div>
                }
            </li>
        }
    });
    let chosen = selected.and_then(|c| view.request(c));
    let why = chosen.map(|r| html! { <WhyPanel request={r.clone()} why={ctx.why.clone()} /> });
    let diagram = chosen.map(|r| sequence(view, r));
    html! {
        <div class="requests" data-testid="requests">
            <h2>{"Requests"}</h2>
            if view.requests.is_empty() {
                <p class="empty">{"No requests yet. Type put 137 hello quorum in the command line."}</p>
            } else {
                <p class="hint">{"Select a request to see why it ended as it did, and its messages."}</p>
            }
            { for why }
            { for diagram }
            <ol class="request-list">{ for rows }</ol>
        </div>
    }
}

/// The sequence diagram of one request.
fn sequence(view: &ClusterView, r: &RequestView) -> Html {
    let msgs = view.request_messages(r);
    let t0 = r.invoke_us;
    let t_end = msgs
        .iter()
        .map(|m| m.received_at.unwrap_or(m.sent_at))
        .chain(r.complete_us)
        .max()
        .unwrap_or(t0)
        .max(t0 + 1_000);
    let nodes = &view.topo.nodes;
    let lane_w = 110.0;
    let width = 90.0 + lane_w * nodes.len() as f64;
    let top = 40.0;
    let height = 320.0;
    let y = |t: u64| top + (t.saturating_sub(t0)) as f64 / (t_end - t0) as f64 * height;
    let x_of = |n: u32| {
        90.0 + lane_w * nodes.iter().position(|&m| m == n).unwrap_or(0) as f64 + lane_w / 2.0
    };
    let lanes = nodes.iter().map(|&n| {
        let x = x_of(n);
        html! {
            <g class="lane">
                <text x={x.to_string()} y="20" fill={node_color(n)}>{ format!("node {n}") }</text>
                <line x1={x.to_string()} y1={top.to_string()} x2={x.to_string()} y2={(top + height + 10.0).to_string()} />
            </g>
        }
    });
    let arrows = msgs.iter().map(|m| {
        let (x1, y1) = (x_of(m.from), y(m.sent_at));
        let (x2, y2) = match (m.dropped.as_ref(), m.received_at) {
            (Some(_), Some(t)) => ((x1 + x_of(m.to)) / 2.0, y(t)),
            (None, Some(t)) => (x_of(m.to), y(t)),
            (_, None) => ((x1 + x_of(m.to)) / 2.0, y(view.now_us.min(t_end))),
        };
        let class = classes!("arrow", m.kind, m.dropped.is_some().then_some("dropped"));
        let (lx, ly) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 4.0);
        html! {
            <g {class}>
                <line x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} marker-end="url(#arrowhead)" />
                <text x={lx.to_string()} y={ly.to_string()}>{ short_kind(m.kind) }</text>
                if m.dropped.is_some() {
                    <text class="lost" x={(x2 + 4.0).to_string()} y={(y2 + 4.0).to_string()}>{"✕ lost"}</text>
                }
                <title>{ format!("{} from node {} to node {}, sent at {:.1} ms{}", short_kind(m.kind), m.from, m.to,
                    m.sent_at.saturating_sub(t0) as f64 / 1000.0,
                    m.dropped.as_ref().map(|d| format!(", lost: {d}")).unwrap_or_default()) }</title>
            </g>
        }
    });
    let cx = x_of(r.coordinator);
    let reply = r.complete_us.map(|t| {
        html! {
            <g class="client-arrow reply">
                <line x1={cx.to_string()} y1={y(t).to_string()} x2="40" y2={y(t).to_string()} marker-end="url(#arrowhead)" />
                // Below its line: an answer that comes at once would
                // otherwise sit on the request's label above.
                <text x="44" y={(y(t) + 14.0).to_string()}>{ outcome_text(r) }</text>
            </g>
        }
    });
    html! {
        <div class="sequence" data-testid="sequence">
            <h3>{ format!("{} via node {}: {} message{}", r.request, r.coordinator, msgs.len(), if msgs.len() == 1 { "" } else { "s" }) }</h3>
            // As wide as the panel, up to half again its own size: on a
            // wide screen its text would dwarf the page's.
            <svg viewBox={format!("0 0 {width} {}", top + height + 30.0)} width="100%"
                style={format!("max-width: {:.0}px", width * 1.5)}>
                <defs>
                    <marker id="arrowhead" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">
                        <path d="M0,0 L8,4 L0,8 z" />
                    </marker>
                </defs>
                <text x="40" y="20">{"client"}</text>
                <line class="client-lane" x1="40" y1={top.to_string()} x2="40" y2={(top + height + 10.0).to_string()} />
                { for lanes }
                <g class="client-arrow">
                    <line x1="40" y1={top.to_string()} x2={cx.to_string()} y2={top.to_string()} marker-end="url(#arrowhead)" />
                    <text x="44" y={(top - 4.0).to_string()}>{ r.request.op_name() }</text>
                </g>
                { for arrows }
                { for reply }
                <text class="axis" x="4" y={(top + height + 24.0).to_string()}>
                    { format!("time runs down: {} from the request to the last message", ms(t_end - t0)) }
                </text>
            </svg>
        </div>
    }
}
