//! One panel per node: its data (the newest version highlighted where the
//! replicas of a key differ), the tail of its commit log, the hints it
//! holds, what its failure detector thinks of its peers, and its buttons.

use super::field::use_draft;
use super::node_color;
use crate::context::Ctx;
use crate::model::Cmd;
use crate::state::{ClusterView, NodeState, NodeView};
use ringside_core::sim::Action;
use ringside_core::{Key, Version};
use std::collections::BTreeMap;
use std::rc::Rc;
use yew::prelude::*;

/// For every key whose replicas differ, the newest version among them.
pub fn differing(view: &ClusterView) -> BTreeMap<Key, Version> {
    view.keys()
        .into_iter()
        .filter_map(|k| view.newest_if_differs(&k).map(|v| (k, v)))
        .collect()
}

#[function_component]
pub fn Replicas() -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let view = ctx.view.clone();
    let differs = {
        let view = view.clone();
        use_memo(view.version, move |_| differing(&view))
    };
    let (live, control_off) = match &view.topo.mode {
        crate::state::Mode::Live { control_off, .. } => (true, control_off.clone()),
        _ => (false, None),
    };
    let panels = view.nodes.values().map(|n| {
        html! {
            <ReplicaPanel
                key={n.id}
                node={n.clone()}
                state={view.node_state(n.id)}
                differs={differs.clone()}
                selected={ctx.ui.selected_key.clone()}
                coordinator={ctx.ui.coordinator == n.id}
                send={ctx.send.clone()}
                live={live}
                control_off={control_off.clone()} />
        }
    });
    html! {
        <div class="replicas" data-testid="replicas">
            { for panels }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct PanelProps {
    pub node: Rc<NodeView>,
    pub state: NodeState,
    pub differs: Rc<BTreeMap<Key, Version>>,
    pub selected: Option<Key>,
    pub coordinator: bool,
    pub send: Callback<Cmd>,
    /// A live cluster's node (real processes).
    pub live: bool,
    /// Why crash / restart / stop are off, when they are.
    pub control_off: Option<String>,
}

fn show_value(v: &Version) -> String {
    match &v.value {
        Some(s) if s.chars().count() > 20 => format!("{}…", s.chars().take(20).collect::<String>()),
        Some(s) => s.to_string(),
        None => "(deleted)".into(),
    }
}

#[function_component]
pub fn ReplicaPanel(p: &PanelProps) -> Html {
    let n = &p.node;
    let id = n.id;
    let send = p.send.clone();
    let act = move |a: Action| {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::Act(a.clone())))
    };
    // Live without the control token: the buttons stay, off, saying why.
    let off = p.control_off.clone();
    let tip = |t: &str| off.clone().unwrap_or_else(|| t.to_string());
    let button = if p.state == NodeState::Down {
        html! { <button class="restart" data-testid={format!("restart-{id}")} onclick={act(Action::Restart { node: id })}
        disabled={off.is_some()} title={tip(if p.live { "start the process again through the supervisor: it replays its commit log from disk" } else { "start it again: it replays its commit log" })}>{"restart"}</button> }
    } else {
        html! { <button class="crash" data-testid={format!("crash-{id}")} onclick={act(Action::Crash { node: id })}
        disabled={off.is_some()} title={tip(if p.live { "SIGKILL the real process: its memory is lost, its commit log stays on disk" } else { "kill the process: memory and unsynced records are lost" })}>{"crash"}</button> }
    };
    let stop = (p.live && p.state != NodeState::Down).then(|| {
        let send = p.send.clone();
        let click = Callback::from(move |_: MouseEvent| send.emit(Cmd::Stop(id)));
        html! { <button class="stop" data-testid={format!("stop-{id}")} onclick={click} disabled={off.is_some()}
            title={tip("SIGTERM: the node stops cleanly")}>{"stop"}</button> }
    });
    let coord = {
        let send = p.send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::Coordinator(id)))
    };
    let skew_typed = use_draft((n.skew_us / 1000).to_string());
    let skew = {
        let send = p.send.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            match input.value().trim().parse::<i64>() {
                Ok(ms) => send.emit(Cmd::Act(Action::SetSkew {
                    node: id,
                    skew_us: ms.saturating_mul(1000),
                })),
                Err(_) => input.set_value(""),
            }
        })
    };

    let rows = n.data.iter().map(|(k, v)| {
        let newest = p.differs.get(k);
        let class = classes!(
            newest.map(|nv| if nv == v { "newest" } else { "stale" }),
            (p.selected.as_ref() == Some(k)).then_some("selected"),
            v.is_tombstone().then_some("tombstone")
        );
        let pick = {
            let send = p.send.clone();
            let k = k.clone();
            Callback::from(move |_: MouseEvent| send.emit(Cmd::SelectKey(Some(k.clone()))))
        };
        let mark = match newest {
            Some(nv) if nv == v => "newest",
            Some(_) => "older",
            None => "",
        };
        html! {
            <tr key={k.to_string()} {class} data-key={k.to_string()} data-value={v.value.as_deref().unwrap_or_default().to_string()} onclick={pick}>
                <td class="k">{ k.to_string() }</td>
                <td class="v">{ show_value(v) }</td>
                <td class="ts" title="timestamp (µs) set by the coordinator">{ v.ts }</td>
                <td class="mark">{ mark }</td>
            </tr>
        }
    });
    let log = n.log_tail.iter().rev().map(|r| {
        html! {
            <li key={r.lsn} data-lsn={r.lsn.to_string()} class={classes!((!r.synced).then_some("unsynced"))}>
                <span class="lsn">{ format!("#{}", r.lsn) }</span>
                { format!(" {} ", r.record) }
                <span class="synced">{ if r.synced { "synced" } else { "not synced" } }</span>
            </li>
        }
    });
    let hints = n.hints.values().map(|h| {
        html! {
            <li key={h.id} data-hint-target={h.target.to_string()} data-key={h.key.to_string()}>
                <span class="swatch" style={format!("background:{}", node_color(h.target))}></span>
                { format!("for node {}: key {}", h.target, h.key) }
            </li>
        }
    });
    let peers = n.peers.iter().map(|(peer, up)| {
        html! {
            <span class={classes!("peer", if *up { "up" } else { "down" })} data-peer={peer.to_string()}>
                { format!("{peer} {}", if *up { "up" } else { "down" }) }
            </span>
        }
    });
    let note = match p.state {
        NodeState::Down if p.live => Some("down: the page has no connection to it (it retries every second). Shown greyed: what it held when last seen. Its commit log is on disk.".to_string()),
        NodeState::Down => Some("crashed: its memory is gone. Shown greyed: what it held. Its commit log on disk is kept and replayed at restart.".to_string()),
        NodeState::Recovering => Some(format!(
            "restarted: replayed {} from its commit log; waiting for every live peer to see it up",
            crate::narration::count(n.replayed.unwrap_or(0), "record")
        )),
        NodeState::Partitioned => Some("some of its links are cut".to_string()),
        NodeState::Up => None,
    };

    html! {
        <section class={classes!("replica", p.state.class(), p.coordinator.then_some("coordinator"))}
                 data-replica={id.to_string()} style={format!("--node-color:{}", node_color(id))}>
            <header>
                <h3>{ format!("node {id}") }</h3>
                <span class="badge">{ p.state.class() }</span>
                { button }
                { for stop }
                <button class="coord" onclick={coord} aria-pressed={p.coordinator.to_string()}
                    title="send the page's requests through this node">{ if p.coordinator { "coordinator ✓" } else { "coordinate" } }</button>
            </header>
            if let Some(note) = note { <p class="note">{ note }</p> }
            <h4>{ format!("data ({} keys)", n.data.len()) }</h4>
            if n.data.is_empty() {
                <p class="empty">{"no data"}</p>
            } else {
                <table class="data"><tbody>{ for rows }</tbody></table>
            }
            <h4>{ format!("commit log ({} records, newest first)", n.log_len) }</h4>
            <ul class="log-tail">{ for log }</ul>
            <h4>{ format!("hints held ({})", n.hints.len()) }</h4>
            <ul class="hints" data-testid={format!("hints-{id}")}>{ for hints }</ul>
            <h4>{"failure detector"}</h4>
            <div class="peers">{ for peers }</div>
            if !p.live {
                <label class="skew">{"clock skew (ms) "}
                    <input type="number" step="100" value={skew_typed.value.clone()} oninput={skew_typed.oninput.clone()} onchange={skew}
                        aria-label={format!("clock skew of node {id} in milliseconds")} />
                </label>
            }
        </section>
    }
}
