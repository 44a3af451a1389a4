//! The space-time view's check (Chromium in web/tests/spacetime.rs,
//! Firefox in web/tests/firefox.rs): a share link replays a run in which
//! node 0 writes key 137 at QUORUM while node 3 is cut from it; one click
//! opens the view, whose lanes show the write's arrows; clicking one
//! picks it, and the event log shows the same message highlighted
//! (though message lines are hidden by default), and the ring draws it.
//! Then a line picked in the log is highlighted in the diagram, a mark
//! picked with the keyboard is highlighted in the log, and a message's
//! dot clicked on the ring is picked there, in the log and in the
//! diagram.

use super::{Server, Session};
use ringside_core::sim::{put, Action};
use ringside_core::{Consistency, Micros};
use std::path::Path;

/// The run, as the page's share link carries it: `[time, action]` pairs.
fn script() -> Vec<(Micros, Action)> {
    let submit = |node, request| Action::Submit { node, request };
    vec![
        (40_000, Action::Cut { a: 0, b: 3 }),
        (50_000, submit(0, put(137, "hello", Consistency::Quorum))),
    ]
}

/// An arrow picked in the diagram is picked in the log and on the ring;
/// a log line and a keyboard-picked mark the other way; a dot on the
/// ring picks its message everywhere. Screenshots:
/// `<prefix>-spacetime.png`, `<prefix>-ring-picked.png`.
pub fn check_the_space_time_view(s: &Session, server: &Server, art: &Path) {
    // Paused right after the replay: the write's messages stay in view.
    // The full panel: the event log and the space-time view are in it.
    super::open_run(s, server, art, "?paused&panel=full", &script());
    s.wait("the page", art, |s| s.count("[data-testid=event-log]") == 1);
    assert_eq!(s.count("[data-testid=spacetime]"), 0, "hidden by default");
    s.click("[data-testid=spacetime-toggle]");
    s.wait("the space-time view", art, |s| {
        s.count("[data-testid=spacetime]") == 1
    });
    // Step the paused run until the write's copies are on the diagram.
    s.wait(
        "writes to the replicas, a loss, and an acknowledgement",
        art,
        |s| {
            let shown = s.count("[data-testid=st-arrow][data-kind=write]") >= 2
                && s.count("[data-testid=st-arrow].lost") >= 1
                && s.count("[data-testid=st-arrow][data-kind=write_ack]:not(.in-flight)") >= 1;
            if !shown {
                s.js("document.querySelector('[data-testid=step]')?.click()");
                return false;
            }
            true
        },
    );
    assert_eq!(
        s.count("[data-testid=spacetime] .st-lane"),
        4,
        "a lane per node"
    );
    assert!(
        s.count("[data-testid=st-mark].m-link-cut") == 1,
        "the cut is marked"
    );
    let msg = s
        .js("return document.querySelector('[data-testid=st-arrow][data-kind=write]').dataset.msg");
    let msg = msg
        .as_str()
        .expect("an arrow names its message")
        .to_string();
    // The arrow's own line, in the middle of the window: a click at the
    // centre of the whole arrow (its label included) can miss the line.
    s.js("document.querySelector('[data-testid=spacetime]').scrollIntoView({block: 'center'})");
    s.click(&format!(
        "[data-testid=st-arrow][data-msg='{msg}'] line.shaft"
    ));
    s.wait("the arrow picked", art, |s| {
        s.count(&format!("[data-testid=st-arrow].picked[data-msg='{msg}']")) == 1
    });
    // The same message in the event log, highlighted, and on the ring.
    let line = format!("[data-testid=event-log] li.picked[data-msg='{msg}']");
    s.wait("the message's line picked in the event log", art, |s| {
        s.count(&line) >= 1
    });
    let said = s.text_content(&line);
    println!("log: {said}");
    assert!(said.contains("node 0 sends a write to node"), "{said}");
    assert_eq!(
        s.count(&format!("[data-testid=ring-picked][data-msg='{msg}']")),
        1
    );
    let caption = s.text_content("[data-testid=st-picked]");
    println!("caption: {caption}");
    assert!(
        caption.contains("node 0 sent a write for key 137"),
        "{caption}"
    );
    s.js("document.querySelector('[data-testid=spacetime]').scrollIntoView({block: 'start'})");
    s.shot(art, "spacetime");

    // The other way: a request line picked in the log marks the diagram.
    s.click("[data-testid=event-log] li.k-client");
    s.wait("a mark picked from the log", art, |s| {
        s.count("[data-testid=st-mark].picked") == 1
            && s.count("[data-testid=st-arrow].picked") == 0
    });
    // From the keyboard: Enter on the cut's mark picks its log line.
    s.type_line("[data-testid=st-mark].m-link-cut", "");
    s.wait("the cut picked from the keyboard", art, |s| {
        s.count("[data-testid=st-mark].m-link-cut.picked") == 1
            && s.text_content("[data-testid=event-log] li.picked")
                .contains("node 0 and node 3 is cut")
    });

    // On the ring: a message's dot, clicked, picks it there, in the log
    // and in the diagram. Back, one event at a time, to a moment with a
    // message on its way (the canvas counts them, and lists the dots of
    // those and of lost ones falling away, on their way first, in ring
    // units).
    s.wait("a message on its way on the ring", art, |s| {
        let shown = s.attr("[data-testid=flight]", "data-count") != "0";
        if !shown {
            s.click("[data-testid=step-back]");
        }
        shown
    });
    let dots = s.attr("[data-testid=flight]", "data-dots");
    let first = dots.split(' ').next().expect("a dot");
    let (msg, at) = first.split_once('@').expect("id@x,y");
    let (x, y) = at.split_once(',').expect("x,y");
    let (x, y): (f64, f64) = (x.parse().expect("x"), y.parse().expect("y"));
    s.js("document.querySelector('[data-testid=ring]').scrollIntoView({block: 'start'})");
    let size = s.js(
        "const r = document.querySelector('[data-testid=flight]').getBoundingClientRect(); \
         return [r.width, r.height]",
    );
    let (w, h) = (
        size[0].as_f64().unwrap_or(0.0),
        size[1].as_f64().unwrap_or(0.0),
    );
    let coordinator = s.text("[data-testid=send]");
    // The canvas shows the ring's square, its viewBox (in ring units).
    let view_box: Vec<f64> = s
        .attr("[data-testid=ring]", "viewBox")
        .split(' ')
        .filter_map(|v| v.parse().ok())
        .collect();
    let [x0, y0, side_w, side_h] = view_box[..] else {
        panic!("the ring's viewBox: {view_box:?}");
    };
    s.click_at(
        "[data-testid=flight]",
        (x - x0) * w / side_w - w / 2.0,
        (y - y0) * h / side_h - h / 2.0,
    );
    s.wait("the dot's message picked on the ring", art, |s| {
        s.count(&format!("[data-testid=ring-picked][data-msg='{msg}']")) == 1
    });
    let line = format!("[data-testid=event-log] li.picked[data-msg='{msg}']");
    assert!(s.count(&line) >= 1, "the message's line picked in the log");
    println!("ring pick, log: {}", s.text_content(&line));
    assert_eq!(
        s.count(&format!("[data-testid=st-arrow].picked[data-msg='{msg}']")),
        1,
        "the message's arrow picked in the diagram"
    );
    assert_eq!(
        s.text("[data-testid=send]"),
        coordinator,
        "the click picked the message, not a node as coordinator"
    );
    s.shot(art, "ring-picked");
}
