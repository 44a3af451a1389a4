//! The guided scenario on screen: the step being played, what it shows,
//! and the checks so far (✓ or ✗), with a visible "done" when it is over.

use crate::context::Ctx;
use crate::model::{Cmd, LessonCmd};
use crate::scenario::{Phase, Runner};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub runner: Runner,
    /// The fragment that shares this lesson, when it can be shared.
    #[prop_or_default]
    pub share: Option<String>,
    /// Where a lesson loaded from outside came from, in words.
    #[prop_or_default]
    pub source: Option<String>,
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
        Phase::Asking => "waiting for your prediction",
        Phase::Answered => "running",
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
        let answer = r.answers.iter().find(|a| a.step == i);
        let predict = s.predict.as_ref().map(|p| {
            let asking = i == r.step && r.asking().is_some();
            let choices = p.choices.iter().enumerate().map(|(c, text)| {
                let send = ctx.send.clone();
                let pick = Callback::from(move |_: MouseEvent| send.emit(Cmd::ScenarioAnswer(c)));
                let class = classes!(
                    "choice",
                    answer.is_some_and(|a| a.chosen == c).then_some("chosen"),
                    (answer.is_some() && c == p.answer).then_some("right")
                );
                html! { <li><button {class} onclick={pick} disabled={!asking} data-choice={c.to_string()}>{ text.clone() }</button></li> }
            });
            let verdict = answer.map(|a| {
                let right = p.choices.get(p.answer).map_or("", String::as_str);
                let head = if a.right {
                    format!("Right: {right}.")
                } else {
                    let chosen = p.choices.get(a.chosen).map_or("", String::as_str);
                    format!("Not quite: you chose {chosen}; the answer is {right}.")
                };
                html! { <p class={if a.right { "verdict ok" } else { "verdict bad" }} data-testid="prediction-verdict">{ format!("{head} {}", p.why) }</p> }
            });
            html! {
                <div class={classes!("prediction", asking.then_some("asking"))} data-testid="prediction">
                    <p class="question">{ format!("Predict: {}", p.question) }</p>
                    if asking {
                        <p class="hint">{"Click your answer; the step runs after it."}</p>
                    }
                    <ol class="choices">{ for choices }</ol>
                    { for verdict }
                </div>
            }
        });
        // The step's narration tells what happens: shown only once its
        // prediction is answered, or it would give the answer away.
        let told = s.predict.is_none() || answer.is_some();
        html! {
            <li {class}>
                if shown {
                    { for predict }
                    if told {
                        <p>{ s.say.clone() }</p>
                    }
                    <ul class="checks">{ for checks }</ul>
                } else {
                    <p class="later">{"…"}</p>
                }
            </li>
        }
    });
    // A long lesson scrolls inside its panel, which stays whole on
    // screen beside the ring: keep the step being played in view.
    use_effect_with((r.step, r.answers.len(), r.checks.len()), |_| {
        keep_current_step_in_view()
    });
    let send = ctx.send.clone();
    let next = Callback::from(move |_: MouseEvent| send.emit(Cmd::ScenarioNext));
    let send = ctx.send.clone();
    let auto = r.auto;
    let toggle = Callback::from(move |_: Event| send.emit(Cmd::ScenarioAuto(!auto)));
    let send = ctx.send.clone();
    let close = Callback::from(move |_: MouseEvent| send.emit(Cmd::ScenarioClose));
    let send = ctx.send.clone();
    let again = Callback::from(move |_: MouseEvent| send.emit(Cmd::Lesson(LessonCmd::Again)));
    let share = p.share.as_ref().map(|f| {
        html! {
            <a class="lesson-share" data-testid="lesson-share" href={format!("#{f}")}
                title="a link that opens this page and starts this lesson">{"share this lesson"}</a>
        }
    });
    html! {
        <section class={classes!("scenario", r.done().then_some("done"))} data-testid="scenario" data-scenario={r.scenario.id.clone()}>
            <header>
                <h2>{ r.scenario.title.clone() }</h2>
                if let Some(source) = &p.source {
                    <span class="source" data-testid="lesson-source">{ format!("(a lesson from {source})") }</span>
                }
                <span class="progress">{ format!("step {} of {total}", (r.step + 1).min(total)) }</span>
                <span class="status" data-testid="scenario-status" data-status={match r.phase {
                    Phase::Done => "done",
                    Phase::Asking => "asking",
                    _ => "running",
                }}>{ status }</span>
                <button onclick={next} disabled={r.done() || r.asking().is_some()}>{"next step"}</button>
                <label><input type="checkbox" checked={r.auto} onchange={toggle} />{" go on by itself"}</label>
                <button onclick={again}>{"again"}</button>
                { super::guide::own_lesson(&ctx.send) }
                <button onclick={close} aria-label="close the scenario">{"close"}</button>
                { for share }
            </header>
            <ol class="steps">{ for steps }</ol>
        </section>
    }
}

/// Scrolls the lesson's panel (not the page) so that its current step is
/// whole in view, when the panel is scrolled at all.
fn keep_current_step_in_view() {
    use wasm_bindgen::JsCast;
    let doc = gloo::utils::document();
    let find = |css: &str| {
        doc.query_selector(css)
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    };
    let (Some(panel), Some(step)) = (
        find("[data-testid=scenario]"),
        find("[data-testid=scenario] .step.current"),
    ) else {
        return;
    };
    // The panel is the step's offset parent (it is positioned).
    let (top, bottom) = (step.offset_top(), step.offset_top() + step.offset_height());
    let (shown_top, height) = (panel.scroll_top(), panel.client_height());
    if bottom > shown_top + height {
        panel.set_scroll_top((bottom - height).min(top));
    } else if top < shown_top {
        panel.set_scroll_top(top);
    }
}
