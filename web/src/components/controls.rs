//! Everything a person can do. What a student needs is always shown: the
//! clock (play, pause, step, speed) and the request form (large text is
//! in the page's header).
//! The full panel ([`crate::layout`]) adds the command line, faults
//! (crash and restart are on each replica panel; links, partitions,
//! latency, drops here), the cluster's settings, a live cluster,
//! loading a trace, and the staleness lab's door. Guided lessons are picked in
//! [`super::guide`].

use super::field::use_draft;
use crate::backend::simulated::Settings;
use crate::context::Ctx;
use crate::model::{Cmd, SPEEDS};
use ringside_core::sim::Action;
use ringside_core::{Consistency, Key, Request};
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

fn input_value(r: &NodeRef) -> String {
    r.cast::<web_sys::HtmlInputElement>()
        .map(|i| i.value())
        .or_else(|| r.cast::<web_sys::HtmlSelectElement>().map(|s| s.value()))
        .unwrap_or_default()
}

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The full control panel, or only what a student needs.
    pub full: bool,
    /// Opens the staleness lab (a view of its own, in place of the page).
    pub open_lab: Callback<MouseEvent>,
}

#[function_component]
pub fn Controls(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let view = &ctx.view;
    let send = ctx.send.clone();
    let nodes = view.topo.nodes.clone();

    // ----- clock -----
    let play = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::TogglePlay))
    };
    let step = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::Step))
    };
    let step_back = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::StepBack))
    };
    let speed = {
        let send = send.clone();
        Callback::from(move |e: Event| {
            let s: web_sys::HtmlSelectElement = e.target_unchecked_into();
            if let Ok(v) = s.value().parse::<f64>() {
                send.emit(Cmd::Speed(v));
            }
        })
    };
    let mut speeds: Vec<f64> = SPEEDS.to_vec();
    if !speeds.contains(&ctx.speed) {
        speeds.push(ctx.speed);
        speeds.sort_by(f64::total_cmp);
    }
    let speed_options = speeds.iter().map(|s| {
        html! { <option value={s.to_string()} selected={*s == ctx.speed}>{ format!("{s}×") }</option> }
    });

    // ----- command line -----
    let console_ref = use_node_ref();
    let on_console = {
        let send = send.clone();
        let r = console_ref.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(i) = r.cast::<web_sys::HtmlInputElement>() {
                send.emit(Cmd::Console(i.value()));
                i.set_value("");
            }
        })
    };
    let coord_pick = {
        let send = send.clone();
        Callback::from(move |e: Event| {
            let s: web_sys::HtmlSelectElement = e.target_unchecked_into();
            if let Ok(n) = s.value().parse() {
                send.emit(Cmd::Coordinator(n));
            }
        })
    };
    let coord_options = nodes.iter().map(|n| {
        html! { <option value={n.to_string()} selected={*n == ctx.ui.coordinator}>{ format!("node {n}") }</option> }
    });
    let reply = ctx.ui.console_reply.clone().map(|(ok, text)| {
        html! { <div class={classes!("console-reply", (!ok).then_some("error"))} data-testid="console-reply">{ text }</div> }
    });

    // ----- request form -----
    // What the person typed, kept: Yew sets a field back to the value it
    // was drawn with on every redraw, and the controls redraw while the
    // clock runs.
    let (key, value) = (
        use_state(|| "137".to_string()),
        use_state(|| "hello".to_string()),
    );
    let typed = |field: &UseStateHandle<String>| {
        let field = field.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            field.set(input.value());
        })
    };
    let (op_ref, key_ref, val_ref, cl_ref) = (
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
    );
    let on_form = {
        let send = send.clone();
        let refs = (
            op_ref.clone(),
            key_ref.clone(),
            val_ref.clone(),
            cl_ref.clone(),
        );
        let coordinator = ctx.ui.coordinator;
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (op, key, value, cl) = (
                input_value(&refs.0),
                input_value(&refs.1),
                input_value(&refs.2),
                input_value(&refs.3),
            );
            let built = (|| -> Result<Request, String> {
                let key = Key::parse_console(key.trim())?;
                let cl = Consistency::parse(&cl)?;
                Ok(match op.as_str() {
                    "get" => Request::Get { key, cl },
                    "delete" => Request::Delete { key, cl },
                    _ => Request::Put {
                        key,
                        value: value.into(),
                        cl,
                    },
                })
            })();
            match built {
                Ok(request) => send.emit(Cmd::Act(Action::Submit {
                    node: coordinator,
                    request,
                })),
                Err(e) => send.emit(Cmd::Notice(e)),
            }
        })
    };
    let levels = Consistency::ALL_LEVELS.iter().map(|l| {
        html! { <option value={l.name()} selected={*l == Consistency::Quorum}>{ l.name() }</option> }
    });

    // ----- network and links -----
    let (a_ref, b_ref, part_ref) = (use_node_ref(), use_node_ref(), use_node_ref());
    let link = |cut: bool, a: NodeRef, b: NodeRef| {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| {
            let (a, b) = (input_value(&a), input_value(&b));
            if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                send.emit(Cmd::Act(if cut {
                    Action::Cut { a, b }
                } else {
                    Action::Heal { a, b }
                }));
            }
        })
    };
    let cut_link = link(true, a_ref.clone(), b_ref.clone());
    let heal_link = link(false, a_ref.clone(), b_ref.clone());
    let heal_all = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::Act(Action::HealAll)))
    };
    let partition = {
        let send = send.clone();
        let r = part_ref.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            send.emit(Cmd::Console(format!("partition {}", input_value(&r))));
        })
    };
    let node_opts = |sel: usize| {
        nodes
            .iter()
            .enumerate()
            .map(|(i, n)| html! { <option value={n.to_string()} selected={i == sel}>{ format!("node {n}") }</option> })
            .collect::<Html>()
    };
    let net = view.net.clone().unwrap_or_default();
    let net = if view.net.is_none() {
        ringside_core::sim::NetConfig {
            latency_min_us: 10_000,
            latency_max_us: 30_000,
            drop_probability: 0.0,
        }
    } else {
        net
    };
    let (lmin_ref, lmax_ref, drop_ref) = (use_node_ref(), use_node_ref(), use_node_ref());
    let lmin = use_draft((net.latency_min_us / 1000).to_string());
    let lmax = use_draft((net.latency_max_us / 1000).to_string());
    let drop = use_draft(format!("{}", net.drop_probability * 100.0));
    let on_net = {
        let send = send.clone();
        let refs = (lmin_ref.clone(), lmax_ref.clone(), drop_ref.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let min = input_value(&refs.0).parse::<u64>();
            let max = input_value(&refs.1).parse::<u64>();
            let drop = input_value(&refs.2).parse::<f64>();
            match (min, max, drop) {
                (Ok(min), Ok(max), Ok(drop)) => {
                    let latency = Action::SetLatency {
                        min_us: min.saturating_mul(1000),
                        max_us: max.saturating_mul(1000),
                    };
                    let drop = Action::SetDropProbability { p: drop / 100.0 };
                    // Both or neither: half a form applied is not what was asked.
                    match latency.check().and(drop.check()) {
                        Ok(()) => {
                            send.emit(Cmd::Act(latency));
                            send.emit(Cmd::Act(drop));
                        }
                        Err(e) => send.emit(Cmd::Notice(e)),
                    }
                }
                _ => send.emit(Cmd::Notice("latency and drop rate: numbers, please".into())),
            }
        })
    };

    // ----- cluster -----
    let (seed_ref, n_ref, rf_ref, part_kind_ref, vn_ref) = (
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
    );
    let on_reset = {
        let send = send.clone();
        let refs = (
            seed_ref.clone(),
            n_ref.clone(),
            rf_ref.clone(),
            part_kind_ref.clone(),
            vn_ref.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let num = |r: &NodeRef| input_value(r).trim().parse::<u64>();
            match (num(&refs.0), num(&refs.1), num(&refs.2), num(&refs.4)) {
                (Ok(seed), Ok(n), Ok(rf), Ok(vn)) => {
                    // Saturated, not wrapped: the settings' check refuses
                    // a number too large by name.
                    let vnodes = (input_value(&refs.3) == "murmur3")
                        .then_some(u32::try_from(vn).unwrap_or(u32::MAX));
                    send.emit(Cmd::Reset(Settings {
                        seed,
                        nodes: usize::try_from(n).unwrap_or(usize::MAX),
                        rf: usize::try_from(rf).unwrap_or(usize::MAX),
                        vnodes,
                    }));
                }
                _ => send.emit(Cmd::Notice(
                    "seed, nodes, RF and vnodes must be numbers".into(),
                )),
            }
        })
    };
    let topo = &view.topo;
    let murmur = matches!(topo.partitioner, ringside_core::Partitioner::Murmur3 { .. });
    let vnodes = match topo.partitioner {
        ringside_core::Partitioner::Murmur3 { vnodes } => vnodes,
        _ => 8,
    };
    let seed = topo
        .source
        .split("seed ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or("7")
        .to_string();
    let seed = use_draft(seed);
    let n_nodes = use_draft(topo.nodes.len().to_string());
    let rf = use_draft(topo.rf.to_string());
    let vnodes = use_draft(vnodes.to_string());

    // ----- trace file -----
    let reader: Rc<RefCell<Option<gloo::file::callbacks::FileReader>>> = use_mut_ref(|| None);
    let on_file = {
        let send = send.clone();
        let reader = reader.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            let file = gloo::file::File::from(file);
            let name = file.name();
            let send = send.clone();
            let task = gloo::file::callbacks::read_as_text(&file, move |res| match res {
                Ok(text) => send.emit(Cmd::LoadTrace { name, text }),
                Err(e) => send.emit(Cmd::Notice(format!("could not read {name}: {e}"))),
            });
            *reader.borrow_mut() = Some(task);
        })
    };

    // ----- live cluster -----
    let live_ref = use_node_ref();
    let live = view.topo.mode.is_live();
    let live_addr = match &view.topo.mode {
        crate::state::Mode::Live { addr, .. } => addr.clone(),
        _ => ctx
            .ui
            .live_addr
            .clone()
            .unwrap_or_else(|| "ws://127.0.0.1:9000".into()),
    };
    let live_addr = use_draft(live_addr);
    let on_connect = {
        let send = send.clone();
        let r = live_ref.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            send.emit(Cmd::Connect(input_value(&r)));
        })
    };
    let on_simulate = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::Simulate))
    };
    let live_group = html! {
        <form class={classes!("group", "live", live.then_some("on"))} onsubmit={on_connect} aria-label="live cluster">
            <label>{ if live { "live cluster at " } else { "or watch a live cluster: " } }
                <input ref={live_ref} data-testid="live-addr" type="text" size="22" value={live_addr.value.clone()} oninput={live_addr.oninput.clone()}
                    aria-label="any node's address" title="any node's address, e.g. ws://127.0.0.1:9000 (ringside cluster up)" />
            </label>
            <button type="submit" data-testid="connect">{ if live { "reconnect" } else { "connect" } }</button>
            if live {
                <button type="button" data-testid="simulate" onclick={on_simulate}>{"back to the simulation"}</button>
            }
        </form>
    };

    // ----- display -----
    let toggle = |on: bool, make: fn(bool) -> Cmd| {
        let send = send.clone();
        Callback::from(move |_: Event| send.emit(make(!on)))
    };

    html! {
        <nav class={classes!("controls", p.full.then_some("full"))} aria-label="controls">
            <div class="group clock">
                <button data-testid="play" onclick={play}
                    title={ if live { "pause holds what the page shows (the nodes go on); play replays what came next (key: space)" } else { "key: space" } }>
                    { if ctx.playing { "❚❚ pause" } else { "▶ play" } }</button>
                <button data-testid="step-back" onclick={step_back} title="one event back (key: ,)">{"◀ back"}</button>
                <button data-testid="step" onclick={step} title="next event (key: .)">{"step ▶"}</button>
                if !live {
                    <label>{"speed "}
                        <select data-testid="speed" onchange={speed} aria-label="simulated time per real second">{ for speed_options }</select>
                    </label>
                }
                <span class="source" data-testid="source">{ &view.topo.source }</span>
            </div>
            <form class="group request-form" onsubmit={on_form} aria-label="send a request">
                <select ref={op_ref} aria-label="operation">
                    <option value="put" selected={true}>{"put"}</option><option value="get">{"get"}</option><option value="delete">{"delete"}</option>
                </select>
                <label>{"key "}<input ref={key_ref} type="text" value={(*key).clone()} oninput={typed(&key)} size="4" aria-label="key" /></label>
                <label>{"value "}<input ref={val_ref} type="text" value={(*value).clone()} oninput={typed(&value)} size="7" aria-label="value" /></label>
                <select ref={cl_ref} aria-label="consistency level">{ for levels }</select>
                <button type="submit" data-testid="send">{ format!("send via node {}", ctx.ui.coordinator) }</button>
            </form>
            if p.full {
            <div class="full-panel" id="full-panel" data-testid="full-panel" role="group" aria-label="all controls">
            { live_group.clone() }
            <form class="group console" onsubmit={on_console}>
                <label>{"via "}<select onchange={coord_pick} aria-label="coordinator">{ for coord_options }</select></label>
                <input id="console" data-testid="console" ref={console_ref} type="text" autocomplete="off" spellcheck="false"
                    placeholder="put 137 value137 quorum   (or: get 137 one · crash 3 · help)" aria-label="command line"
                    title={crate::console::HELP} />
                <button type="submit">{"run"}</button>
                { for reply }
            </form>
            if !live {
            <>
            <div class="group links">
                <select ref={a_ref} aria-label="link end A">{ node_opts(0) }</select>
                <select ref={b_ref} aria-label="link end B">{ node_opts(1) }</select>
                <button onclick={cut_link}>{"cut link"}</button>
                <button onclick={heal_link}>{"heal link"}</button>
                <button onclick={heal_all}>{"heal all"}</button>
                <form onsubmit={partition}>
                    <input ref={part_ref} type="text" size="9" placeholder="0 1 | 2 3" aria-label="partition: two sides separated by |" />
                    <button type="submit">{"partition"}</button>
                </form>
            </div>
            <form class="group net" onsubmit={on_net} aria-label="network">
                <label>{"latency "}<input ref={lmin_ref} type="number" min="0" size="4" value={lmin.value.clone()} oninput={lmin.oninput.clone()} aria-label="minimum latency (ms)" /></label>
                <label>{"– "}<input ref={lmax_ref} type="number" min="0" size="4" value={lmax.value.clone()} oninput={lmax.oninput.clone()} aria-label="maximum latency (ms)" />{" ms"}</label>
                <label>{" drop "}<input ref={drop_ref} type="number" min="0" max="100" size="3" value={drop.value.clone()} oninput={drop.oninput.clone()} aria-label="drop rate (%)" />{" %"}</label>
                <button type="submit">{"set network"}</button>
            </form>
            <form class="group cluster" onsubmit={on_reset} aria-label="cluster settings">
                <label>{"seed "}<input ref={seed_ref} type="number" min="0" value={seed.value.clone()} oninput={seed.oninput.clone()} size="6" /></label>
                <label>{"nodes "}<input ref={n_ref} type="number" min="1" max="16" value={n_nodes.value.clone()} oninput={n_nodes.oninput.clone()} size="3" /></label>
                <label>{"RF "}<input ref={rf_ref} type="number" min="1" max="16" value={rf.value.clone()} oninput={rf.oninput.clone()} size="2" /></label>
                <select ref={part_kind_ref} aria-label="partitioner">
                    <option value="byte" selected={!murmur}>{"ByteOrdered"}</option>
                    <option value="murmur3" selected={murmur}>{"Murmur3 + vnodes"}</option>
                </select>
                <label>{"vnodes "}<input ref={vn_ref} type="number" min="1" max="64" value={vnodes.value.clone()} oninput={vnodes.oninput.clone()} size="3" /></label>
                <button type="submit" data-testid="reset">{"reset cluster"}</button>
            </form>
            </>
            }
            <div class="group display">
                <button class="lab-open" data-testid="lab-open" onclick={p.open_lab.clone()}
                    title="how soon does a read see a write? N, R, W and network delays against the PBS model">{"Staleness lab"}</button>
                <label>{"replay a trace (ringside sim --trace) "}<input type="file" accept=".jsonl,.json,.txt" onchange={on_file} /></label>
                <label><input type="checkbox" checked={ctx.ui.heartbeats} onchange={toggle(ctx.ui.heartbeats, Cmd::Heartbeats)} />{" heartbeats"}</label>
                <label><input type="checkbox" checked={ctx.ui.fps} onchange={toggle(ctx.ui.fps, Cmd::Fps)} />{" FPS"}</label>
            </div>
            </div>
            }
            if let Some(n) = &view.notice {
                <div class="notice" data-testid="notice" role="status">{ n }</div>
            }
        </nav>
    }
}
