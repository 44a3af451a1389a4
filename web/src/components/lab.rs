//! The staleness lab: a form (N, R, W, each leg's latency, the write
//! rate, the trials), a run in slices between animation frames with its
//! progress and speed, and the result: the measured chance that a read t
//! ms after a write returns it beside the PBS model's, and the share of
//! stale reads at each level. The data path is [`crate::lab`]'s.
//!
//! It stands apart from the cluster on the page: its own state, its own
//! frame loop (only while trials run), and the URL's fragment while open
//! (`#lab&n=3&...`), so a teacher can link to a lab with its settings.

use crate::backend::simulated::parse_fragment;
use crate::lab::plot::Plot;
use crate::lab::run::LabRun;
use crate::lab::{link, LabForm, LEGS};
use gloo::render::AnimationFrame;
use std::cell::RefCell;
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Wall-clock ms of trials per animation frame: most of a 60 Hz frame,
/// leaving the rest for drawing.
const SLICE_MS: f64 = 12.0;

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The form the page's link asks for, and what was wrong with the link.
fn form_from_url() -> (LabForm, Option<String>) {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    match parse_fragment(&hash).and_then(|f| LabForm::from_params(&f.params)) {
        Ok(form) => (form, None),
        Err(e) => (LabForm::default(), Some(e)),
    }
}

fn write_link(fragment: &str) {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        let url = format!("#{fragment}");
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

type Slot<T> = Rc<RefCell<Option<T>>>;
/// What a form field's change does to the form.
type Apply = Rc<dyn Fn(&mut LabForm, String)>;

/// One slice per animation frame until the run is done or stopped.
fn schedule(run: Slot<LabRun>, slot: Slot<AnimationFrame>, redraw: UseForceUpdateHandle) {
    let next = slot.clone();
    let frame = gloo::render::request_animation_frame(move |_| {
        let more = run.borrow_mut().as_mut().is_some_and(|r| {
            r.slice(&mut now_ms, SLICE_MS);
            r.running()
        });
        redraw.force_update();
        if more {
            schedule(run, next, redraw);
        }
    });
    *slot.borrow_mut() = Some(frame);
}

#[derive(Properties, PartialEq)]
pub struct LabProps {
    /// False while the page shows the cluster (the lab keeps its settings
    /// and its run meanwhile).
    pub visible: bool,
}

#[function_component]
pub fn LabView(props: &LabProps) -> Html {
    let start = use_memo((), |_| form_from_url());
    let form = use_state(|| start.0.clone());
    let run: Slot<LabRun> = use_mut_ref(|| None);
    let frame: Slot<AnimationFrame> = use_mut_ref(|| None);
    let redraw = use_force_update();
    {
        // No frame outlives the view.
        let frame = frame.clone();
        use_effect_with((), move |_| move || drop(frame.borrow_mut().take()));
    }
    // While shown, the link carries the settings as they are.
    use_effect_with((props.visible, form.config().ok()), |(visible, config)| {
        if let (true, Some(c)) = (visible, config) {
            write_link(&link(c));
        }
    });
    let config = form.config();
    let running = run.borrow().as_ref().is_some_and(LabRun::running);
    let on_run = {
        let (run, frame, redraw) = (run.clone(), frame.clone(), redraw.clone());
        let config = config.clone().ok();
        Callback::from(move |_: MouseEvent| {
            let Some(c) = config.clone() else { return };
            write_link(&link(&c));
            match LabRun::start(c, now_ms()) {
                Ok(r) => *run.borrow_mut() = Some(r),
                Err(_) => return,
            }
            schedule(run.clone(), frame.clone(), redraw.clone());
        })
    };
    let on_stop = {
        let (run, frame, redraw) = (run.clone(), frame.clone(), redraw.clone());
        Callback::from(move |_: MouseEvent| {
            frame.borrow_mut().take();
            if let Some(r) = run.borrow_mut().as_mut() {
                r.stopped = true;
            }
            redraw.force_update();
        })
    };
    // The field an error names ("r: ..." names r).
    let bad = config
        .as_ref()
        .err()
        .and_then(|e| e.split_once(':'))
        .map(|(field, _)| field.to_string());
    let edit = |apply: Apply| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let value = if let Some(i) = e.target_dyn_into::<HtmlInputElement>() {
                i.value()
            } else if let Some(s) = e.target_dyn_into::<HtmlSelectElement>() {
                s.value()
            } else {
                return;
            };
            let mut f = (*form).clone();
            apply(&mut f, value);
            form.set(f);
        })
    };
    // The text fields keep the form as typed, key by key: the view redraws
    // every frame while trials run, and Yew sets a field back to the value
    // it is drawn with on each redraw. (A change, from a value set without
    // typing, is taken too.)
    let typed = |apply: Apply| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut f = (*form).clone();
            apply(&mut f, input.value());
            form.set(f);
        })
    };
    let field = |name: &'static str, label: &str, value: &str, apply: fn(&mut LabForm, String)| {
        let invalid = bad.as_deref() == Some(name);
        html! {
            <label class="lab-field">{ label }
                <input {name} value={value.to_string()} class={classes!(invalid.then_some("invalid"))}
                    aria-invalid={invalid.to_string()} data-testid={format!("lab-{name}")}
                    oninput={typed(Rc::new(apply))} onchange={edit(Rc::new(apply))} size="6" />
            </label>
        }
    };
    let legs = LEGS.iter().enumerate().map(|(i, (name, label))| {
        let leg = &form.legs[i];
        let invalid = classes!((bad.as_deref() == Some(*name)).then_some("invalid"));
        let dist = edit(Rc::new(move |f: &mut LabForm, v: String| {
            f.legs[i].exponential = v == "exp"
        }));
        let set_a: Apply = Rc::new(move |f: &mut LabForm, v| f.legs[i].a = v);
        let set_b: Apply = Rc::new(move |f: &mut LabForm, v| f.legs[i].b = v);
        let (a, a_changed) = (typed(set_a.clone()), edit(set_a));
        let (b, b_changed) = (typed(set_b.clone()), edit(set_b));
        html! {
            <tr>
                <th scope="row"><b>{ *name }</b>{" "}<span class="to">{ *label }</span></th>
                <td><select name={format!("{name}-dist")} onchange={dist} aria-label={format!("{name} distribution")}>
                    <option value="exp" selected={leg.exponential}>{"exponential"}</option>
                    <option value="uniform" selected={!leg.exponential}>{"uniform"}</option>
                </select></td>
                <td><input class={invalid.clone()} name={format!("{name}-a")} value={leg.a.clone()} size="5"
                    aria-label={format!("{name} minimum, ms")} oninput={a} onchange={a_changed} /></td>
                <td><input class={invalid} name={format!("{name}-b")} value={leg.b.clone()} size="5"
                    aria-label={format!("{name} {}, ms", if leg.exponential { "mean" } else { "maximum" })} oninput={b} onchange={b_changed} /></td>
            </tr>
        }
    });
    let r = run.borrow();
    let progress = r.as_ref().map(|r| {
        let res = r.result();
        let state = if r.running() {
            "running"
        } else if r.stopped {
            "stopped"
        } else {
            "done"
        };
        html! {
            <div class="lab-progress">
                <progress data-testid="lab-progress" max={res.total.to_string()} value={res.done.to_string()} />
                <span data-testid="lab-speed" data-state={state} data-rate={format!("{:.0}", r.trials_per_s())}>
                    { format!("{} of {} trials ({state}) in {:.1} s: {:.0} trials per second",
                        res.done, res.total, r.elapsed_ms() / 1000.0, r.trials_per_s()) }
                </span>
            </div>
        }
    });
    html! {
        <div class="lab" data-testid="lab">
            <section class="lab-form">
                <h2>{"How soon does a read see a write?"}</h2>
                if let Some(e) = &start.1 {
                    <p class="lab-error" data-testid="lab-link-error">{ format!("This link's lab settings were not used: {e}") }</p>
                }
                <div class="lab-row">
                    { field("n", "replicas N", &form.n, |f, v| f.n = v) }
                    { field("r", "reads wait for R", &form.r, |f, v| f.r = v) }
                    { field("w", "writes wait for W", &form.w, |f, v| f.w = v) }
                </div>
                <table class="lab-legs">
                    <thead><tr><th>{"each message's delay"}</th><th>{"distribution"}</th><th>{"min ms"}</th><th>{"mean / max"}</th></tr></thead>
                    <tbody>{ for legs }</tbody>
                </table>
                <div class="lab-row">
                    { field("rate", "writes per second", &form.rate, |f, v| f.rate = v) }
                    { field("trials", "trials", &form.trials, |f, v| f.trials = v) }
                    { field("until", "curve up to (ms)", &form.until, |f, v| f.until = v) }
                    { field("seed", "seed", &form.seed, |f, v| f.seed = v) }
                </div>
                if let Err(e) = &config {
                    <p class="lab-error" data-testid="lab-error">{ e }</p>
                }
                <div class="lab-row">
                    <button class="lab-run" data-testid="lab-run" onclick={on_run} disabled={config.is_err() || running}>{"Run"}</button>
                    <button data-testid="lab-stop" onclick={on_stop} disabled={!running}>{"Stop"}</button>
                    { for progress }
                </div>
                { caption() }
            </section>
            <section class="lab-results">
                if let Some(r) = r.as_ref() {
                    { plot(r) }
                    { levels(r) }
                    { caveat() }
                } else {
                    <p class="empty">{"Press Run: the model's curve appears at once, the measured one fills in as the trials run."}</p>
                }
            </section>
        </div>
    }
}

/// What the student sees, in plain words.
fn caption() -> Html {
    html! {
        <div class="lab-caption" data-testid="lab-caption">
            <p>{"Each trial writes a new key at W from one node, then another node reads it at R, \
                t ms after the write was acknowledged. The solid line is how often the simulated \
                cluster's read returned the write; the dashed line is what the PBS model predicts \
                from the four delays alone, without running the cluster."}</p>
            <p>{"Early reads can miss the write: the R replicas they hear from first may not have it \
                yet. As t grows the write reaches every replica and both curves climb to 100%. When \
                R + W > N every read meets a replica that acknowledged the write, so none is stale."}</p>
        </div>
    }
}

/// Where the model and the system may part, under the results.
fn caveat() -> Html {
    html! {
        <p class="lab-caption" data-testid="lab-caveat">{"A real store also heals replicas that missed a \
            write: read repair, hinted handoff and anti-entropy. The model leaves them out, and so does \
            the lab (each trial reads a fresh key once, anti-entropy is off, no node fails), so the curves \
            agree within the thin bars around each measured point; with those on, reads would be fresher \
            than the model says."}</p>
    }
}

fn plot(r: &LabRun) -> Html {
    let c = r.config();
    let p = Plot::new(c.ts_ms.last().copied().unwrap_or(0) as f64);
    let svg = p.svg(&r.measured(), &r.prediction.curve);
    html! {
        <figure class="lab-plot">
            { Html::from_html_unchecked(svg.into()) }
            <figcaption>{ format!("N = {}, R = {}, W = {}: R + W {} N", c.n, c.r, c.w, if c.r + c.w > c.n { ">" } else { "≤" }) }</figcaption>
        </figure>
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn levels(r: &LabRun) -> Html {
    let c = r.config();
    let interval_ms = 1000.0 / c.writes_per_s;
    let rows = r
        .result()
        .levels
        .iter()
        .zip(&r.prediction.levels)
        .map(|((count, level, t), m)| {
            let reads = t.fresh + t.stale;
            let overlap = if count + c.w > c.n {
                format!("{count} + {} > {}: never stale", c.w, c.n)
            } else {
                format!("{count} + {} ≤ {}: may be stale", c.w, c.n)
            };
            let share = if reads == 0 {
                "–".to_string()
            } else {
                percent(t.stale as f64 / reads as f64)
            };
            html! {
                <tr data-testid="lab-level">
                    <th scope="row">{ format!("{level} (R = {count})") }</th>
                    <td>{ overlap }</td>
                    <td class="num">{ format!("{} of {reads}", t.stale) }</td>
                    <td class="num measured">{ share }</td>
                    <td class="num">{ percent(m.wars_stale) }</td>
                    <td class="num">{ percent(m.miss) }</td>
                </tr>
            }
        });
    let failed: usize = r.result().levels.iter().map(|l| l.2.failed).sum::<usize>()
        + r.result().curve.iter().map(|t| t.failed).sum::<usize>();
    html! {
        <div class="lab-levels">
            <h3>{ format!("Stale reads at each read level, W = {}: each read at a random moment in the {interval_ms:.0} ms between two writes ({} writes per second)", c.w, c.writes_per_s) }</h3>
            <table data-testid="lab-levels">
                <thead><tr>
                    <th>{"read level"}</th><th>{"R + W against N"}</th><th>{"stale reads"}</th>
                    <th>{"measured"}</th><th title="the WARS model at the same moments">{"model (WARS)"}</th>
                    <th title="the chance that the R replicas read include none of the W that acknowledged: C(N-W, R) / C(N, R)">{"worst case (closed form)"}</th>
                </tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
            if failed > 0 {
                <p class="lab-error">{ format!("{failed} reads got no answer (they count in neither share).") }</p>
            }
        </div>
    }
}
