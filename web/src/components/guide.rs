//! The narration beside the ring while no lesson runs: the last few
//! things that happened, in the event log's plain words, in time order so
//! it reads as a story, and the guided lessons to start.

use crate::context::Ctx;
use crate::model::{Cmd, LessonCmd};
use crate::scenario;
use crate::state::LogLine;
use std::collections::VecDeque;
use std::rc::Rc;
use yew::prelude::*;

/// Lines of the story shown: enough to follow one request from the
/// client to its answer, few enough to read from the back of a room.
const STORY_LINES: usize = 6;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The page shows a live cluster: lessons run in a simulation.
    pub live: bool,
}

#[function_component]
pub fn Guide(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("Ctx");
    let view = &ctx.view;
    let ui = &ctx.ui;
    // What the event log would show with its filters.
    let story = story(&view.log, |l| {
        !ui.hidden_kinds.contains(&l.kind)
            && (ui.log_node.is_none() || l.node.is_none() || l.node == ui.log_node)
    });
    let story: Vec<Html> = story
        .into_iter()
        .map(|l| {
            html! {
                <li key={l.n} class={classes!(l.flag.then_some("flag"))}>
                    <span class="t">{ format!("{:.1} ms", l.at as f64 / 1000.0) }</span>
                    { l.text.clone() }
                </li>
            }
        })
        .collect();
    let lessons = scenario::all().into_iter().map(|s| {
        let send = ctx.send.clone();
        let id = s.id.clone();
        let start = Callback::from(move |_: MouseEvent| send.emit(Cmd::Scenario(id.clone())));
        html! { <li><button class="scenario-start" data-scenario-start={s.id} onclick={start}>{ s.title }</button></li> }
    });
    html! {
        <section class="guide" data-testid="narration" aria-label="what is happening">
            <h2>{"What is happening"}</h2>
            if story.is_empty() {
                <p class="empty">{"Nothing yet. Send a put with the form above, or start a lesson below."}</p>
            } else {
                <ol class="story" aria-live="off">{ for story.into_iter() }</ol>
            }
            <h2>{ if p.live { "Guided lessons (in a simulation)" } else { "Guided lessons" } }</h2>
            <ul class="lessons" aria-label="guided lessons">
                { for lessons }
                <li>{ own_lesson(&ctx.send) }</li>
            </ul>
        </section>
    }
}

/// The last [`STORY_LINES`] lines of `log` that `shown` keeps, in time
/// order. The log is in arrival order: on a live cluster, events of
/// different nodes reach the page at different moments, and the story
/// must not read as time running backwards. Lines of the same time keep
/// their arrival order.
fn story(log: &VecDeque<Rc<LogLine>>, shown: impl Fn(&LogLine) -> bool) -> Vec<&LogLine> {
    let mut lines: Vec<&LogLine> = log
        .iter()
        .rev()
        .map(|l| l.as_ref())
        .filter(|l| shown(l))
        .take(STORY_LINES)
        .collect();
    lines.reverse();
    lines.sort_by_key(|l| l.at);
    lines
}

/// The button that opens the lesson loader (a file, a URL, pasted text):
/// here, and on a running lesson's panel, which takes this one's place.
pub fn own_lesson(send: &Callback<Cmd>) -> Html {
    let send = send.clone();
    let open = Callback::from(move |_: MouseEvent| send.emit(Cmd::Lesson(LessonCmd::Open)));
    html! {
        <button class="lesson-open" data-testid="lesson-open" onclick={open}
            title="load a lesson you wrote: a file, a URL, or pasted text">{"a lesson of your own…"}</button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::LogKind;

    fn line(n: u64, at: u64, kind: LogKind) -> Rc<LogLine> {
        Rc::new(LogLine {
            n,
            at,
            node: None,
            kind,
            text: format!("line {n}"),
            flag: false,
            msg: None,
        })
    }

    /// A live cluster's lines arrive out of time order: the story shows the
    /// last ones kept by the filter, sorted by time, ties in arrival order.
    #[test]
    fn the_story_is_the_last_lines_in_time_order() {
        let times = [100, 900, 500, 700, 700, 300, 600, 650];
        let log: VecDeque<_> = times
            .iter()
            .enumerate()
            .map(|(n, &at)| line(n as u64, at, LogKind::Fault))
            .collect();
        let ns: Vec<u64> = story(&log, |_| true).iter().map(|l| l.n).collect();
        // The last six to arrive (2..=7), by time; 3 and 4 tie at 700.
        assert_eq!(ns, vec![5, 2, 6, 7, 3, 4]);
        assert!(story(&log, |_| false).is_empty());
    }
}
