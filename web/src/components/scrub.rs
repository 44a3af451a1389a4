//! The scrub bar: the whole run as a bar, from its start to the furthest
//! moment reached, with its requests, faults and checker violations
//! marked. Dragging it (or clicking a mark) shows the cluster as it was
//! then; the part of the run after the cursor stays drawn, shaded, until
//! an action there forks a new history. A live cluster's bar is what the
//! page received from the nodes (see `backend::live::recording`): it can
//! go back, but an action acts in the present.

use crate::model::Cmd;
use crate::rewind::{secs, MarkKind, RunState, Tick};
use std::rc::Rc;
use yew::prelude::*;

/// The bar's width in SVG units (it is stretched to the page's width).
const WIDTH: f64 = 1000.0;

#[derive(Properties, PartialEq)]
pub struct ScrubProps {
    pub run: RunState,
    pub ticks: Rc<Vec<Tick>>,
    pub fork_note: Option<String>,
    pub send: Callback<Cmd>,
}

#[function_component]
pub fn Scrub(p: &ScrubProps) -> Html {
    let run = p.run;
    let span = run.head.saturating_sub(run.start).max(1) as f64;
    let cursor_x = run.cursor.saturating_sub(run.start) as f64 / span * WIDTH;
    let on_input = {
        let send = p.send.clone();
        Callback::from(move |e: InputEvent| {
            let i: web_sys::HtmlInputElement = e.target_unchecked_into();
            if let Ok(k) = i.value().parse::<u64>() {
                send.emit(Cmd::Seek(k));
            }
        })
    };
    let to_head = {
        let send = p.send.clone();
        let head = run.head;
        Callback::from(move |_: MouseEvent| send.emit(Cmd::Seek(head)))
    };
    let ticks = p.ticks.iter().map(|t| {
        let x = t.pos * WIDTH;
        let (y1, y2) = match t.kind {
            MarkKind::Request => (14.0, 24.0),
            MarkKind::Fault => (2.0, 24.0),
            MarkKind::Violation => (0.0, 12.0),
        };
        let go = {
            let send = p.send.clone();
            let k = t.event;
            Callback::from(move |_: MouseEvent| send.emit(Cmd::Seek(k)))
        };
        html! {
            <line class={classes!("mark", t.kind.class())} data-testid="scrub-mark" data-kind={t.kind.class()}
                data-event={t.event.to_string()} x1={x.to_string()} x2={x.to_string()}
                y1={y1.to_string()} y2={y2.to_string()} onclick={go}>
                <title>{ &t.text }</title>
            </line>
        }
    });
    let behind = run.behind();
    html! {
        <section class={classes!("scrub", behind.then_some("behind"))} data-testid="scrub" aria-label="the run's timeline"
            data-cursor={run.cursor.to_string()} data-head={run.head.to_string()}>
            <div class="scrub-row">
                <span class="scrub-title" title={ if run.live { "what the page received from the nodes: drag back to any moment" } else { "the whole run so far: drag back to any moment" } }>{"Timeline"}</span>
                <span class="scrub-end">{ secs(run.start_us) }</span>
                <div class="scrub-track">
                    <svg class="scrub-marks" viewBox={format!("0 0 {WIDTH} 24")} preserveAspectRatio="none" aria-hidden="true">
                        <rect class="past" x="0" y="10" width={cursor_x.to_string()} height="4" />
                        <rect class="future" x={cursor_x.to_string()} y="10" width={(WIDTH - cursor_x).max(0.0).to_string()} height="4" />
                        { for ticks }
                    </svg>
                    <input type="range" data-testid="scrub-range" min={run.start.to_string()} max={run.head.to_string()}
                        value={run.cursor.to_string()} oninput={on_input}
                        aria-label="the moment shown: drag back to see the cluster as it was"
                        title="drag to any moment of the run; keys: , one event back, . one forward, space play" />
                </div>
                <span class="scrub-end">{ secs(run.head_us) }</span>
                <button data-testid="to-head" onclick={to_head} disabled={!behind}
                    title={ if run.live { "back to the present: follow the nodes again" } else { "back to the latest moment reached" } }>
                    { if run.live { "now →" } else { "latest →" } }</button>
            </div>
            <div class="scrub-caption" data-testid="scrub-caption">
                <span class="legend"><i class="request" />{"request "}<i class="fault" />{"fault "}<i class="violation" />{"violation"}</span>
                { format!(" · showing t = {} (event {} of {})", secs(run.now_us), run.cursor, run.head) }
                if behind {
                    <span class="earlier" data-testid="earlier">
                        { if run.live {
                            " · an earlier moment of what the page received: the nodes go on meanwhile; play replays what came next, now → follows them again, and a request or a crash acts in the present"
                        } else {
                            " · an earlier moment: play replays what happened next; an action here starts a new history from this point"
                        } }
                    </span>
                }
            </div>
            if let Some(note) = &p.fork_note {
                <div class="fork-note" data-testid="fork-note" role="status">{ note }</div>
            }
        </section>
    }
}
