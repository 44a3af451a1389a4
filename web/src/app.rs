//! The root component: owns the [`Model`], ticks it on every animation
//! frame, shares the view with the panels through the contexts of
//! [`crate::context`], and keeps the URL's fragment in step with the run
//! (the share link). The staleness lab ([`LabView`]) takes the page's
//! place when opened (a button, or `#lab` in the link); the cluster's clock
//! waits meanwhile and the lab owns the fragment. The page opens calm
//! (the ring, the narration, the few controls a student needs); the full
//! control panel is one click or one key away ([`crate::layout`]).

use crate::backend::simulated::{parse_fragment, Fragment};
use crate::components::{
    controls::Controls, guide::Guide, hints::HintBoard, keys::KeysHelp, lab::LabView, lesson,
    lesson::LessonLoader, log::EventLog, replica::Replicas, ring::RingView,
    scenario::ScenarioPanel, scrub::Scrub, spacetime::SpaceTime, timeline::Requests,
};
use crate::context::{Ctx, Live};
use crate::keys::Shortcut;
use crate::layout;
use crate::model::{Cmd, Model};
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

/// The page's fragment and query together (`?speed=20#seed=7&script=...`).
fn url_fragment() -> Fragment {
    let Some(loc) = web_sys::window().map(|w| w.location()) else {
        return Fragment::default();
    };
    let hash = loc.hash().unwrap_or_default();
    let search = loc.search().unwrap_or_default();
    let joined = format!(
        "{}&{}",
        hash.trim_start_matches('#'),
        search.trim_start_matches('?')
    );
    match parse_fragment(&joined) {
        Ok(f) => f,
        Err(e) => {
            web_sys::console::warn_1(&format!("ignoring the link: {e}").into());
            Fragment::default()
        }
    }
}

fn write_fragment(fragment: &str) {
    let Some(w) = web_sys::window() else {
        return;
    };
    if let Ok(h) = w.history() {
        let url = format!("#{fragment}");
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Whether the staleness lab is on screen, and whether it was ever opened
/// (then it stays mounted, hidden, keeping its settings and its run).
#[derive(Clone, Copy, Default)]
struct LabShown {
    open: bool,
    mounted: bool,
}

/// The calm view or the full control panel, and whether the list of keys
/// is open.
#[derive(Clone, Copy, Default)]
struct Layout {
    full: bool,
    keys: bool,
}

impl Layout {
    fn from_url() -> Layout {
        let full = layout::full_from(url_fragment().param(layout::PARAM)).unwrap_or_else(|e| {
            web_sys::console::warn_1(&format!("showing the calm view: {e}").into());
            false
        });
        Layout { full, keys: false }
    }

    /// Opens or closes the full panel, and says so in the address.
    fn set_full(&mut self, full: bool) {
        self.full = full;
        layout::remember(full);
    }
}

/// Focuses the command line, once the full panel that holds it is drawn.
fn focus_console() {
    gloo::timers::callback::Timeout::new(0, || {
        if let Some(el) = gloo::utils::document().get_element_by_id("console") {
            if let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el) {
                let _ = el.focus();
            }
        }
    })
    .forget();
}

/// A key pressed anywhere on the page: the shortcut it names, if it is
/// one here. Keys typed into a field are its own; Space on a button
/// presses the button.
fn on_key(
    e: &web_sys::KeyboardEvent,
    send: &Callback<Cmd>,
    shown_layout: &RefCell<Layout>,
    redraw: &UseForceUpdateHandle,
) {
    let Some(shortcut) = crate::keys::shortcut(&e.key()) else {
        return;
    };
    // A key the focused element used itself (Space on a ring node picks
    // the node) is not also a shortcut.
    if e.default_prevented() {
        return;
    }
    let tag = e
        .target()
        .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
        .map(|el| el.tag_name())
        .unwrap_or_default();
    let typing = matches!(tag.as_str(), "INPUT" | "SELECT" | "TEXTAREA");
    let pressing = matches!(tag.as_str(), "BUTTON" | "A");
    if (typing && shortcut != Shortcut::Close)
        || (pressing && shortcut == Shortcut::TogglePlay)
        || e.ctrl_key()
        || e.meta_key()
        || e.alt_key()
    {
        return;
    }
    // The clock's keys go to the model (which redraws the page).
    let clock = match shortcut {
        Shortcut::TogglePlay => {
            e.prevent_default();
            Some(Cmd::TogglePlay)
        }
        Shortcut::Step => Some(Cmd::Step),
        Shortcut::StepBack => Some(Cmd::StepBack),
        _ => None,
    };
    if let Some(cmd) = clock {
        return send.emit(cmd);
    }
    {
        let mut l = shown_layout.borrow_mut();
        match shortcut {
            Shortcut::AllControls => {
                let full = !l.full;
                l.set_full(full);
            }
            Shortcut::Console => {
                e.prevent_default();
                l.set_full(true);
                focus_console();
            }
            Shortcut::Help => l.keys = !l.keys,
            Shortcut::Close => l.keys = false,
            Shortcut::TogglePlay | Shortcut::Step | Shortcut::StepBack => {}
        }
    }
    redraw.force_update();
}

#[function_component]
pub fn App() -> Html {
    let model = use_mut_ref(|| Model::from_fragment(url_fragment()));
    let lab = use_mut_ref(|| {
        let open = url_fragment().param("lab").is_some();
        LabShown {
            open,
            mounted: open,
        }
    });
    let shown_layout = use_mut_ref(Layout::from_url);
    let redraw = use_force_update();

    // The animation loop: advance the clock, redraw, ask for the next frame.
    {
        let model = model.clone();
        let redraw = redraw.clone();
        let lab = lab.clone();
        use_effect_with((), move |_| {
            let handle: Rc<RefCell<Option<gloo::render::AnimationFrame>>> =
                Rc::new(RefCell::new(None));
            fn schedule(
                model: Rc<RefCell<Model>>,
                redraw: UseForceUpdateHandle,
                lab: Rc<RefCell<LabShown>>,
                slot: Rc<RefCell<Option<gloo::render::AnimationFrame>>>,
            ) {
                let next = slot.clone();
                let frame = gloo::render::request_animation_frame(move |ts| {
                    // The lab draws itself; the cluster waits for the student.
                    if !lab.borrow().open {
                        {
                            let mut m = model.borrow_mut();
                            let t0 = now_ms();
                            m.frame(ts);
                            m.fps.frame_work_ms = 0.9 * m.fps.frame_work_ms + 0.1 * (now_ms() - t0);
                            if let Some(f) = m.refresh_link(ts) {
                                write_fragment(&f);
                            }
                        }
                        redraw.force_update();
                    }
                    schedule(model, redraw, lab, next);
                });
                *slot.borrow_mut() = Some(frame);
            }
            schedule(model, redraw, lab, handle.clone());
            move || {
                handle.borrow_mut().take();
            }
        });
    }

    let send = {
        let model = model.clone();
        let redraw = redraw.clone();
        use_callback((), move |cmd: Cmd, _| {
            model.borrow_mut().handle(cmd);
            redraw.force_update();
        })
    };

    // A lesson the link names by URL (`#lesson-url=`) is fetched once.
    {
        let (model, send) = (model.clone(), send.clone());
        use_effect_with((), move |_| {
            let url = model.borrow().lessons.fetching().map(str::to_string);
            if let Some(url) = url {
                lesson::fetch(url, send);
            }
        });
    }

    // Keyboard: the shortcuts of [`crate::keys::KEYS`] (see [`on_key`]).
    {
        let send = send.clone();
        let (shown_layout, redraw) = (shown_layout.clone(), redraw.clone());
        use_effect_with((), move |_| {
            let doc = gloo::utils::document();
            // Not passive (gloo's default): Space's own scrolling of the
            // page, and "/" opening a browser's find bar, are prevented.
            let options = gloo::events::EventListenerOptions::enable_prevent_default();
            let listener =
                gloo::events::EventListener::new_with_options(&doc, "keydown", options, move |e| {
                    if let Some(e) = wasm_bindgen::JsCast::dyn_ref::<web_sys::KeyboardEvent>(e) {
                        on_key(e, &send, &shown_layout, &redraw);
                    }
                });
            move || drop(listener)
        });
    }

    let render_start = now_ms();
    model.borrow_mut().fps.render_start_ms = render_start;
    // Every render: how long it took to render and patch the page.
    {
        let model = model.clone();
        use_effect(move || {
            if let Ok(mut m) = model.try_borrow_mut() {
                let took = now_ms() - m.fps.render_start_ms;
                m.fps.render_ms = 0.9 * m.fps.render_ms + 0.1 * took;
            }
        });
    }
    let panels = model.borrow_mut().refresh_panels(render_start);
    let why = model.borrow_mut().why();
    let m = model.borrow();
    let live = Live(m.view.clone());
    let ctx = Ctx {
        view: panels,
        ui: m.ui.clone(),
        send: send.clone(),
        speed: m.speed,
        playing: m.playing,
        why,
    };
    let Layout { full, keys } = *shown_layout.borrow();
    let large = m.ui.large_text;
    let class = classes!(
        "app",
        large.then_some("large"),
        if full { "full" } else { "calm" }
    );
    let runner = m.runner.clone();
    let lessons = m.lessons.clone();
    let lesson_share = lessons.share().map(str::to_string);
    let lesson_source = lessons.source();
    let fps = m.ui.fps.then(|| {
        let wires = m.view.wires.len();
        html! {
            <div class="fps" data-testid="fps">
                { format!("{:.0} fps · model {:.1} ms · render {:.1} ms per frame · {} nodes · {} messages in flight · kept to explain: {} events ({} folded), {} requests",
                    m.fps.fps, m.fps.frame_work_ms, m.fps.render_ms, m.view.nodes.len(), wires,
                    m.evidence.len(), m.evidence.folded(), m.view.history_len()) }
            </div>
        }
    });
    let share = m.share.as_ref().map(|f| format!("#{f}"));
    let live_addr = match &m.view.topo.mode {
        crate::state::Mode::Live { addr, .. } => Some(addr.clone()),
        _ => None,
    };
    let replaying = m.view.topo.mode == crate::state::Mode::Replay;
    let back = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::Simulate))
    };
    let shareable = m.settings_known();
    let scrub = m.run_state().map(|run| {
        let ticks = Rc::new(crate::rewind::ticks(m.marks(), run.start, run.head, 400));
        html! { <Scrub {run} {ticks} fork_note={m.fork_note.clone()} send={send.clone()} /> }
    });
    let spacetime = m.ui.spacetime;
    drop(m);
    let shown = *lab.borrow();
    // One callback for the page's life: the controls it is given to are
    // not redrawn for a new one every frame.
    let toggle_lab = {
        let (lab, model, redraw) = (lab.clone(), model.clone(), redraw.clone());
        use_callback((), move |_: MouseEvent, _| {
            let mut l = lab.borrow_mut();
            l.open = !l.open;
            l.mounted = true;
            if !l.open {
                // Back to the cluster: its share link again.
                write_fragment(model.borrow().share.as_deref().unwrap_or(""));
            }
            redraw.force_update();
        })
    };

    let toggle_full = {
        let (shown_layout, redraw) = (shown_layout.clone(), redraw.clone());
        Callback::from(move |_: MouseEvent| {
            shown_layout.borrow_mut().set_full(!full);
            redraw.force_update();
        })
    };
    let toggle_large = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send.emit(Cmd::LargeText(!large)))
    };
    let toggle_keys = {
        let (shown_layout, redraw) = (shown_layout.clone(), redraw.clone());
        Callback::from(move |_: MouseEvent| {
            shown_layout.borrow_mut().keys = !keys;
            redraw.force_update();
        })
    };

    html! {
        <ContextProvider<Ctx> context={ctx}>
        <ContextProvider<Live> context={live}>
            <div {class}>
                <header>
                    <h1>{"ringside"}</h1>
                    if shown.open {
                        <span class="mode lab-mode" data-testid="mode" data-mode="lab">{"STALENESS LAB"}</span>
                        <span class="tagline">{"thousands of simulated trials beside the PBS model"}</span>
                        <button class="back" data-testid="lab-close" onclick={toggle_lab.clone()}>{"back to the cluster"}</button>
                    } else if let Some(addr) = live_addr.clone() {
                        <span class="mode live" data-testid="mode" data-mode="live"
                            title="every panel shows the real nodes: their events and what inspect returns">
                            { format!("LIVE · real nodes via {addr}") }
                        </span>
                        <button class="back" data-testid="back-to-sim" onclick={back}>{"back to the simulation"}</button>
                    } else if replaying {
                        <span class="mode replay" data-testid="mode" data-mode="replay">{"REPLAY · a recorded trace"}</span>
                        <button class="back" data-testid="back-to-sim" onclick={back}>{"back to the simulation"}</button>
                    } else {
                        <span class="mode sim" data-testid="mode" data-mode="simulated"
                            title="core::sim runs the cluster inside this page">{"SIMULATION"}</span>
                        <span class="tagline">{"a Dynamo/Cassandra-style store, running in your browser"}</span>
                    }
                    if !shown.open {
                        <span class="header-tools">
                            <button class={classes!("all-controls", full.then_some("on"))} data-testid="all-controls"
                                onclick={toggle_full} aria-expanded={full.to_string()} aria-controls="full-panel"
                                title="the full control panel: faults, network, cluster settings, command line, event log, space-time view, staleness lab (key: a)">
                                { if full { "Fewer controls" } else { "All controls" } }
                            </button>
                            <button class={classes!("large-text", large.then_some("on"))} data-testid="large-text"
                                onclick={toggle_large} aria-pressed={large.to_string()} title="larger text, for the back of the room">{"Large text"}</button>
                            <button class="keys-open" data-testid="keys-open" onclick={toggle_keys.clone()}
                                aria-expanded={keys.to_string()} aria-controls="keys-help" title="keyboard shortcuts (key: ?)">{"Keys ?"}</button>
                            if let Some(href) = share {
                                <a class="share" data-testid="share" {href} title="this link reproduces the run: the seed and every action so far">{"share link"}</a>
                            } else if shareable {
                                <span class="share">{"this run is too long to share as a link"}</span>
                            }
                        </span>
                    }
                </header>
                if shown.mounted {
                    <div hidden={!shown.open}><LabView visible={shown.open} /></div>
                }
                if !shown.open {
                { fps }
                <Controls {full} open_lab={toggle_lab} />
                if keys {
                    <KeysHelp close={toggle_keys} />
                }
                { for scrub }
                <main>
                    <section class="left">
                        <RingView />
                        if full {
                            <HintBoard />
                        }
                    </section>
                    <section class="right">
                        if lessons.open {
                            <LessonLoader lessons={lessons} live={live_addr.clone()} />
                        }
                        if let Some(r) = runner {
                            <ScenarioPanel runner={r} share={lesson_share} source={lesson_source} />
                        } else {
                            <Guide live={live_addr.is_some()} />
                        }
                        <Replicas />
                    </section>
                </main>
                if full && spacetime {
                    <SpaceTime />
                }
                <section class="bottom">
                    <Requests />
                    if full {
                        <EventLog />
                    }
                </section>
                }
            </div>
        </ContextProvider<Live>>
        </ContextProvider<Ctx>>
    }
}
