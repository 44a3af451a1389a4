//! The rewind checks (Chromium in web/tests/rewind.rs, Firefox in
//! web/tests/firefox.rs): drag the scrub bar back to before a crash and
//! see the node up; act there and see the fork, then open the share link
//! and see it reproduce the fork.

use super::{Server, Session};
use std::path::Path;

/// A run in which node 3 crashes at 0.6 s, opened from a share link at
/// three simulated seconds per second.
fn open_a_run_with_a_crash(s: &Session, server: &Server, art: &Path) {
    s.goto(&server.url(
        "/?speed=3#seed=7&nodes=4&rf=3&script=%5B%5B600000%2C%7B%22action%22%3A%22crash%22%2C%22node%22%3A3%7D%5D%5D",
    ));
    s.wait("node 3 drawn down", art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].down") == 1
    });
    s.wait("the crash marked on the scrub bar", art, |s| {
        s.count("[data-testid=scrub-mark][data-kind=fault]") == 1
    });
    // Let the run go on a little past the crash, then pause.
    s.wait("a second of run after the crash", art, |s| {
        head_ms(s) > 1_600.0
    });
    s.click("[data-testid=play]");
}

/// Simulated time at the head, from the scrub bar's end label ("1.234 s").
fn head_ms(s: &Session) -> f64 {
    let t = s.js("return document.querySelectorAll('.scrub-end')[1]?.textContent || ''");
    t.as_str()
        .and_then(|t| t.trim_end_matches(" s").parse::<f64>().ok())
        .map_or(0.0, |secs| secs * 1000.0)
}

fn attr(s: &Session, css: &str, name: &str) -> u64 {
    s.attr(css, name).parse().unwrap_or(u64::MAX)
}

/// Sends a request with the request form a student sees: the operation,
/// key, value and level set as a person's typing and picks do (the
/// value, then its input and change events), then "send".
fn send_with_the_form(s: &Session, op: &str, key: &str, value: &str, level: &str) {
    for (label, v) in [
        ("operation", op),
        ("key", key),
        ("value", value),
        ("consistency level", level),
    ] {
        let css = format!(".request-form [aria-label=\"{label}\"]");
        let (css, v) = (
            serde_json::to_string(&css).expect("a string is JSON"),
            serde_json::to_string(v).expect("a string is JSON"),
        );
        s.js(&format!(
            "const e = document.querySelector({css}); \
             e.value = {v}; e.dispatchEvent(new Event('input', {{bubbles: true}})); \
             e.dispatchEvent(new Event('change', {{bubbles: true}}));"
        ));
    }
    s.click("[data-testid=send]");
}

/// Drags the scrub bar to event `k`, as a person's drag does (the range
/// input's value, then its input event).
pub fn drag_to(s: &Session, k: u64) {
    s.js(&format!(
        "const r = document.querySelector('[data-testid=scrub-range]'); r.value = '{k}'; \
         r.dispatchEvent(new Event('input', {{bubbles: true}}));"
    ));
}

/// Back to just before the crash: node 3 is up on the ring again, the
/// caption says this is an earlier moment, and one step back moves
/// further back. Screenshot: `<prefix>-rewind-before-crash.png`.
pub fn check_rewind_before_a_crash(s: &Session, server: &Server, art: &Path) {
    open_a_run_with_a_crash(s, server, art);
    let crash = attr(s, "[data-testid=scrub-mark][data-kind=fault]", "data-event");
    let head = attr(s, "[data-testid=scrub]", "data-head");
    assert!(crash > 0 && crash < head, "crash at {crash}, head {head}");
    drag_to(s, crash - 1);
    s.wait("the page at the event before the crash", art, |s| {
        attr(s, "[data-testid=scrub]", "data-cursor") == crash - 1
    });
    s.wait("node 3 up again", art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].down") == 0
    });
    assert_eq!(s.count("[data-testid=earlier]"), 1, "the caption says why");
    assert_eq!(
        attr(s, "[data-testid=scrub]", "data-head"),
        head,
        "the future is kept"
    );
    s.shot(art, "rewind-before-crash");
    // One step back, with the button next to step.
    s.click("[data-testid=step-back]");
    s.wait("one step further back", art, |s| {
        attr(s, "[data-testid=scrub]", "data-cursor") < crash - 1
    });
    // Back to the latest moment: node 3 down again.
    s.click("[data-testid=to-head]");
    s.wait("node 3 down at the latest moment", art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].down") == 1
    });
}

/// Before the crash, a put forks the run: the crash is gone from the
/// bar, a note says so, and the share link, opened afresh, replays the
/// fork (the put, and no crash). Screenshot: `<prefix>-fork-link.png`.
pub fn check_fork_and_its_link(s: &Session, server: &Server, art: &Path) {
    open_a_run_with_a_crash(s, server, art);
    let crash = attr(s, "[data-testid=scrub-mark][data-kind=fault]", "data-event");
    drag_to(s, crash - 1);
    s.wait("node 3 up again", art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].down") == 0
    });
    send_with_the_form(s, "put", "42", "forked", "ALL");
    s.wait("the fork note", art, |s| {
        s.count("[data-testid=fork-note]") == 1
    });
    assert_eq!(
        s.count("[data-testid=scrub-mark][data-kind=fault]"),
        0,
        "the crash was in the old future"
    );
    let note = s.js("return document.querySelector('[data-testid=fork-note]').innerText");
    println!("fork note: {}", note.as_str().unwrap_or(""));
    s.click("[data-testid=play]");
    s.wait("the share link carries the fork", art, |s| {
        let href = s.js("return document.querySelector('[data-testid=share]')?.href || ''");
        let href = href.as_str().unwrap_or("");
        href.contains("forked") && !href.contains("crash")
    });
    s.wait("the put answered", art, |s| {
        s.count("[data-testid=request][data-outcome=ok]") == 1
    });
    s.shot(art, "fork-note");
    let href = s.js("return document.querySelector('[data-testid=share]').href");
    let href = href.as_str().expect("a link").to_string();
    // Opened afresh (a fragment change alone would not reload the page).
    s.goto("about:blank");
    s.goto(&href);
    s.wait("the fork's put, answered", art, |s| {
        s.count("[data-testid=request][data-outcome=ok]") == 1
    });
    assert_eq!(
        s.count("[data-testid=ring-node][data-node=\"3\"].down"),
        0,
        "no crash in the fork"
    );
    assert_eq!(s.count("[data-testid=scrub-mark][data-kind=fault]"), 0);
    let what = s.js("return document.querySelector('[data-testid=request] .what').textContent");
    assert!(
        what.as_str().unwrap_or("").contains("put 42 forked ALL"),
        "{what:?}"
    );
    s.shot(art, "fork-link");
}
