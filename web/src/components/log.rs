//! The event log, in plain words, newest first, filterable by node and by
//! kind. Flagged lines (errors, losses, stale reads) stand out. Clicking a
//! line picks it (see [`crate::state::Picked`]); the picked line is shown
//! whatever the filters say, so a message picked in the space-time view
//! is found here even while message lines are hidden.

use crate::context::Ctx;
use crate::model::Cmd;
use crate::state::{LogKind, Picked};
use yew::prelude::*;

/// Lines rendered at most (the view keeps more).
const SHOWN: usize = 200;

#[function_component]
pub fn EventLog() -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let view = &ctx.view;
    let ui = &ctx.ui;
    let kinds = LogKind::ALL.iter().map(|&k| {
        let on = !ui.hidden_kinds.contains(&k);
        let send = ctx.send.clone();
        let toggle = Callback::from(move |_: Event| send.emit(Cmd::ToggleKind(k)));
        html! {
            <label class="kind-filter">
                <input type="checkbox" checked={on} onchange={toggle} />
                { k.name() }
            </label>
        }
    });
    let node_pick = {
        let send = ctx.send.clone();
        Callback::from(move |e: Event| {
            let s: web_sys::HtmlSelectElement = e.target_unchecked_into();
            send.emit(Cmd::LogNode(s.value().parse().ok()))
        })
    };
    let nodes = view.topo.nodes.iter().map(|n| {
        html! { <option value={n.to_string()} selected={ui.log_node == Some(*n)}>{ format!("node {n}") }</option> }
    });
    let picked = ui.picked;
    let lines = view
        .log
        .iter()
        .rev()
        .filter(|l| {
            let shown = !ui.hidden_kinds.contains(&l.kind)
                && (ui.log_node.is_none() || l.node.is_none() || l.node == ui.log_node);
            shown || picked.is_some_and(|p| p.matches(l))
        })
        .take(SHOWN)
        .map(|l| {
            let on = picked.is_some_and(|p| p.matches(l));
            let send = ctx.send.clone();
            let p = Picked::of_line(l);
            let pick =
                Callback::from(move |_: MouseEvent| send.emit(Cmd::Pick((!on).then_some(p))));
            let class = classes!(
                format!("k-{:?}", l.kind).to_lowercase(),
                l.flag.then_some("flag"),
                on.then_some("picked")
            );
            html! {
                <li key={l.n} {class} onclick={pick} data-line={l.n.to_string()}
                    data-msg={l.msg.map(|m| m.to_string())} aria-selected={on.to_string()}>
                    <span class="t">{ format!("{:>9.1} ms", l.at as f64 / 1000.0) }</span>
                    <span class="text">{ l.text.clone() }</span>
                </li>
            }
        });
    let spacetime = {
        let send = ctx.send.clone();
        let on = ui.spacetime;
        Callback::from(move |_: MouseEvent| send.emit(Cmd::SpaceTime(!on)))
    };
    html! {
        <div class="event-log" data-testid="event-log">
            <div class="log-head">
                <h2>{"What happened"}</h2>
                <button class={classes!("st-toggle", ui.spacetime.then_some("on"))} data-testid="spacetime-toggle"
                    onclick={spacetime} aria-pressed={ui.spacetime.to_string()}
                    title="one lane per node: who sent what to whom, and when">
                    { if ui.spacetime { "hide the space-time view" } else { "space-time view" } }
                </button>
            </div>
            <div class="filters" role="group" aria-label="filter the event log">
                { for kinds }
                <select onchange={node_pick} aria-label="only one node">
                    <option value="all" selected={ui.log_node.is_none()}>{"all nodes"}</option>
                    { for nodes }
                </select>
            </div>
            <ol class="lines" aria-live="off">{ for lines }</ol>
        </div>
    }
}
