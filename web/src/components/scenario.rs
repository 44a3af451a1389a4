//! The guided scenario on screen: the step being played, what it shows,
//! and the checks so far (✓ or ✗), with a visible "done" when it is over.

use crate::context::Ctx;
use crate::model::Cmd;
use crate::scenario::{Phase, Runner};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub runner: Runner,
}

#[function_component]
pub fn ScenarioPanel(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let r = &p.runner;
    let total = r.scenario.steps.len();
    let status = match r.phase {
        Phase::Done if r.all_ok() => "done",
        Phase::Done => "done (with surprises)",
        Phase::Waiting { .. } if r.fast_forward() => "running (fast-forwarding the wait)",
        Phase::Waiting { .. } => "running",
        Phase::Reading { .. } if r.auto => "running",
        Phase::Reading { .. } => "paused: press next",
    };
    let steps = r.scenario.steps.iter().enumerate().map(|(i, s)| {
        let class = classes!(
            "step",
            (i == r.step).then_some("current"),
            (i < r.step || r.done()).then_some("past")
        );
        let checks = r.checks.iter().filter(|c| c.step == i).map(|c| {
            html! { <li class={if c.ok { "ok" } else { "bad" }}>{ format!("{} {}", if c.ok { "✓" } else { "✗" }, c.text) }</li> }
        });
        let shown = i <= r.step || r.done();
        html! {
            <li {class}>
                if shown {
                    <p>{ s.say }</p>
                    <ul class="checks">{ for checks }</ul>
                } else {
                    <p class="later">{"…"}</p>
                }
            </li>
        }
    });
    let send = ctx.send.clone();
    let next = Callback::from(move |_: MouseEvent| send.emit(Cmd::ScenarioNext));
    let send = ctx.send.clone();
    let auto = r.auto;
    let toggle = Callback::from(move |_: Event| send.emit(Cmd::ScenarioAuto(!auto)));
    let send = ctx.send.clone();
    let close = Callback::from(move |_: MouseEvent| send.emit(Cmd::ScenarioClose));
    let send = ctx.send.clone();
    let id = r.scenario.id.to_string();
    let again = Callback::from(move |_: MouseEvent| send.emit(Cmd::Scenario(id.clone())));
    html! {
        <section class={classes!("scenario", r.done().then_some("done"))} data-testid="scenario" data-scenario={r.scenario.id}>
            <header>
                <h2>{ r.scenario.title }</h2>
                <span class="progress">{ format!("step {} of {total}", (r.step + 1).min(total)) }</span>
                <span class="status" data-testid="scenario-status" data-status={if r.done() { "done" } else { "running" }}>{ status }</span>
                <button onclick={next} disabled={r.done()}>{"next step"}</button>
                <label><input type="checkbox" checked={r.auto} onchange={toggle} />{" go on by itself"}</label>
                <button onclick={again}>{"again"}</button>
                <button onclick={close} aria-label="close the scenario">{"close"}</button>
            </header>
            <ol class="steps">{ for steps }</ol>
        </section>
    }
}
