//! The lesson loader: a lesson a teacher wrote, from a file, a URL or
//! pasted text, and, when one is refused, where it came from, its line
//! and the reason. The loading itself (parse, refuse or start) is the
//! model's (`model::lessons`); this panel reads the text and hands it over.

use crate::context::Ctx;
use crate::model::{Cmd, LessonCmd, Lessons, Origin, Refusal, Status};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub lessons: Lessons,
    /// The address of the live cluster on screen, if one is.
    pub live: Option<String>,
}

/// Fetches the lesson at `url` and hands the model its text, or the HTTP
/// or network error. Relative URLs are relative to the page.
pub fn fetch(url: String, send: Callback<Cmd>) {
    send.emit(Cmd::Lesson(LessonCmd::Fetching(url.clone())));
    if url.is_empty() {
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        let result = fetch_text(&url).await;
        send.emit(Cmd::Lesson(LessonCmd::Fetched { url, result }));
    });
}

async fn fetch_text(url: &str) -> Result<String, String> {
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or("no window to fetch from")?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| {
            format!(
                "network error ({}): the server did not answer, or it does not let this page \
                 read the file (a server for lessons must send Access-Control-Allow-Origin)",
                js_message(&e)
            )
        })?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| "the fetch did not give a response".to_string())?;
    if !response.ok() {
        return Err(format!(
            "the server answered HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let text = response
        .text()
        .map_err(|e| format!("reading the answer: {}", js_message(&e)))?;
    let text = JsFuture::from(text)
        .await
        .map_err(|e| format!("reading the answer: {}", js_message(&e)))?;
    text.as_string()
        .ok_or_else(|| "the answer is not text".to_string())
}

/// A JavaScript error's message, or the value as the console shows it.
fn js_message(e: &wasm_bindgen::JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn refusal(r: &Refusal) -> Html {
    let from = match &r.origin {
        Origin::Url(url) => {
            html! { <>{"from "}<code data-testid="lesson-error-url">{ url }</code></> }
        }
        other => html! { { format!("from {}", other.describe()) } },
    };
    let place = match r.line {
        Some(line) => html! {
            <p class="where"><strong>{ format!("line {line}: ") }</strong>{ &r.reason }</p>
        },
        None => html! { <p class="where">{ &r.reason }</p> },
    };
    html! {
        <div class="refused" role="alert" data-testid="lesson-error"
            data-line={r.line.map(|l| l.to_string()).unwrap_or_default()}>
            <p><strong>{"This lesson was refused: nothing of it ran, and the cluster is as it was."}</strong>{" "}{ from }</p>
            { place }
            if let (Some(line), Some(text)) = (r.line, &r.text) {
                <pre class="bad-line"><span class="num">{ format!("{line:>4} | ") }</span>{ text }</pre>
            }
        </div>
    }
}

#[function_component]
pub fn LessonLoader(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let send = ctx.send.clone();
    let reader: Rc<RefCell<Option<gloo::file::callbacks::FileReader>>> = use_mut_ref(|| None);
    let on_file = {
        let send = send.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            // Cleared, so that the same file, edited, can be loaded again.
            input.set_value("");
            let file = gloo::file::File::from(file);
            let name = file.name();
            let send = send.clone();
            let task = gloo::file::callbacks::read_as_text(&file, move |res| match res {
                Ok(text) => send.emit(Cmd::Lesson(LessonCmd::Load {
                    origin: Origin::File(name),
                    text,
                })),
                Err(e) => send.emit(Cmd::Lesson(LessonCmd::Unreadable {
                    origin: Origin::File(name),
                    reason: format!("could not read the file: {e}"),
                })),
            });
            *reader.borrow_mut() = Some(task);
        })
    };
    let url_ref = use_node_ref();
    let on_url = {
        let send = send.clone();
        let r = url_ref.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(i) = r.cast::<web_sys::HtmlInputElement>() {
                fetch(i.value().trim().to_string(), send.clone());
            }
        })
    };
    let text_ref = use_node_ref();
    let on_paste = {
        let send = send.clone();
        let r = text_ref.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(t) = r.cast::<web_sys::HtmlTextAreaElement>() {
                send.emit(Cmd::Lesson(LessonCmd::Load {
                    origin: Origin::Pasted,
                    text: t.value(),
                }));
            }
        })
    };
    let close = Callback::from(move |_: MouseEvent| send.emit(Cmd::Lesson(LessonCmd::Close)));
    let status = match &p.lessons.status {
        Status::Idle => Html::default(),
        Status::Fetching(url) => html! {
            <p class="fetching" data-testid="lesson-fetching">{"fetching "}<code>{ url }</code>{" …"}</p>
        },
        Status::Refused(r) => refusal(r),
    };
    html! {
        <section class="lesson-loader" data-testid="lesson-loader" aria-label="load a lesson">
            <header>
                <h2>{"A lesson of your own"}</h2>
                <button onclick={close} data-testid="lesson-close" aria-label="close the lesson loader">{"close"}</button>
            </header>
            <p class="note">
                {"A lesson is a TOML file: the cluster, then steps that narrate, act, wait, check and ask for predictions (the format: lessons/README.md in the repository). "}
                {"It runs like the built-in lessons, on a fresh simulated cluster of its own; one with an error is refused whole."}
            </p>
            if let Some(addr) = &p.live {
                <p class="note live-note" data-testid="lesson-live-note">
                    { format!("A lesson cannot run on the live cluster at {addr}: its steps crash nodes and cut links, and it checks what a seeded simulation does. Loading one leaves the live cluster for the simulation (\"connect\" returns to it).") }
                </p>
            }
            <div class="ways">
                <label class="way">{"from a file "}
                    <input type="file" accept=".toml,text/plain" data-testid="lesson-file" onchange={on_file} />
                </label>
                <form class="way" onsubmit={on_url}>
                    <label>{"from a URL "}
                        <input ref={url_ref} type="text" size="40" data-testid="lesson-url-input" spellcheck="false"
                            placeholder="https://example.org/lesson.toml" aria-label="the lesson's URL"
                            title="fetched by this page: the server must allow it (Access-Control-Allow-Origin); the page's link #lesson-url=… shares it" />
                    </label>
                    <button type="submit" data-testid="lesson-url-load">{"load"}</button>
                </form>
                <form class="way paste" onsubmit={on_paste}>
                    <label for="lesson-text">{"or paste it:"}</label>
                    <textarea id="lesson-text" ref={text_ref} rows="6" cols="60" spellcheck="false" data-testid="lesson-text"
                        placeholder={"id = \"my-lesson\"\ntitle = \"...\"\n\n[[step]]\nsay = \"...\""}></textarea>
                    <button type="submit" data-testid="lesson-text-load">{"load the pasted lesson"}</button>
                </form>
            </div>
            { status }
        </section>
    }
}
