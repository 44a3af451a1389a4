//! Hinted handoff at a glance: who holds hints for whom, and for which
//! keys. The ring shows the same hints piling up beside their holders.

use super::node_color;
use crate::context::Ctx;
use ringside_core::NodeId;
use std::collections::BTreeMap;
use yew::prelude::*;

#[function_component]
pub fn HintBoard() -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let view = &ctx.view;
    let mut by_pair: BTreeMap<(NodeId, NodeId), Vec<String>> = BTreeMap::new();
    for n in view.nodes.values() {
        for h in n.hints.values() {
            by_pair
                .entry((n.id, h.target))
                .or_default()
                .push(h.key.to_string());
        }
    }
    let rows = by_pair.iter().map(|((holder, target), keys)| {
        let shown: Vec<&str> = keys.iter().take(12).map(String::as_str).collect();
        let more = if keys.len() > shown.len() { " …" } else { "" };
        html! {
            <li data-hint-holder={holder.to_string()} data-hint-target={target.to_string()}>
                <span class="swatch" style={format!("background:{}", node_color(*target))}></span>
                { format!("node {holder} holds {} hint{} for node {target} (keys {}{more})",
                    keys.len(), if keys.len() == 1 { "" } else { "s" }, shown.join(", ")) }
            </li>
        }
    });
    html! {
        <div class="hint-board" data-testid="hint-board">
            <h2>{"Hinted handoff"}</h2>
            if by_pair.is_empty() {
                <p class="empty">{"No hints held. Crash a replica and write a key it holds: the coordinator keeps a hint and hands it over when the replica is back."}</p>
            } else {
                <ul>{ for rows }</ul>
            }
        </div>
    }
}
