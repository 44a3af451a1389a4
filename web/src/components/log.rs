//! The event log, in plain words, newest first, filterable by node and by
//! kind. Flagged lines (errors, losses, stale reads) stand out.

use crate::context::Ctx;
use crate::model::Cmd;
use crate::state::LogKind;
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
    let lines = view
        .log
        .iter()
        .rev()
        .filter(|l| !ui.hidden_kinds.contains(&l.kind))
        .filter(|l| ui.log_node.is_none() || l.node.is_none() || l.node == ui.log_node)
        .take(SHOWN)
        .map(|l| {
            html! {
                <li key={l.n} class={classes!(format!("k-{:?}", l.kind).to_lowercase(), l.flag.then_some("flag"))}>
                    <span class="t">{ format!("{:>9.1} ms", l.at as f64 / 1000.0) }</span>
                    <span class="text">{ l.text.clone() }</span>
                </li>
            }
        });
    html! {
        <div class="event-log" data-testid="event-log">
            <h2>{"What happened"}</h2>
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
