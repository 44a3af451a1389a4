//! The "why" check (Chromium in web/tests/why.rs, Firefox in
//! web/tests/firefox.rs): a share link replays a run in which node 3 is
//! cut from node 1 while node 1 writes "new" at TWO, then reads key 137
//! at ONE through node 3; the read is labelled stale in the request
//! list, and one click on it opens its explanation, which names the write
//! node 3 missed and why (the cut link).

use super::{Server, Session};
use ringside_core::sim::{get, put, Action};
use ringside_core::{Consistency, Micros};
use std::path::Path;

/// The run, as the page's share link carries it: `[time, action]` pairs.
fn script() -> Vec<(Micros, Action)> {
    let submit = |node, request| Action::Submit { node, request };
    vec![
        (300_000, submit(0, put(137, "old", Consistency::All))),
        (600_000, Action::Cut { a: 1, b: 3 }),
        (600_000, submit(1, put(137, "new", Consistency::Two))),
        (900_000, submit(3, get(137, Consistency::One))),
    ]
}

/// From the stale read's label to its cause in one click. Screenshot:
/// `<prefix>-why-stale-read.png`.
pub fn check_why_a_stale_one_read(s: &Session, server: &Server, art: &Path) {
    super::open_run(s, server, art, "?speed=1", &script());
    // The read ends after the replay: a few hundred simulated ms later.
    s.wait("the ONE read labelled stale", art, |s| {
        s.count("[data-testid=request][data-label=stale]") == 1
    });
    assert_eq!(
        s.count("[data-testid=read-label]"),
        1,
        "only the read has a label"
    );
    let hover =
        s.js("return document.querySelector('[data-label=stale] [data-testid=read-label]').title");
    let hover = hover.as_str().unwrap_or("");
    assert!(hover.contains("R + W = 1 + 2 = 3 ≤ N = 3"), "{hover}");
    // One click from the surprising read to its cause. Late answers and
    // read repair come after the reply: let them arrive, then pause.
    std::thread::sleep(std::time::Duration::from_millis(500));
    s.js("document.querySelector('[data-testid=play]')?.click()");
    s.click("[data-testid=request][data-label=stale] button");
    s.wait("the why panel with its cause", art, |s| {
        s.count("[data-testid=why-cause]") == 1
    });
    let cause = s.js("return document.querySelector('[data-testid=why-cause]').innerText");
    let cause = cause.as_str().unwrap_or("");
    println!("cause: {cause}");
    assert!(
        cause.contains("Node 3 lacked \"put 137 new TWO\"")
            && cause.contains("the link between node 1 and node 3 was cut"),
        "{cause}"
    );
    let words = s.js("return document.querySelector('[data-testid=why-words]').innerText");
    let words = words.as_str().unwrap_or("");
    println!("words:\n{words}");
    assert!(words.contains("Node 3 answered \"old\""), "{words}");
    let overlap = s.js("return document.querySelector('[data-testid=why-overlap]').innerText");
    let overlap = overlap.as_str().unwrap_or("");
    println!("overlap: {overlap}");
    assert!(overlap.contains("did not meet"), "{overlap}");
    assert_eq!(s.count("[data-testid=why-picture] .why-node.missed"), 1);
    s.js("document.querySelector('[data-testid=why]').scrollIntoView({block: 'start'})");
    s.shot(art, "why-stale-read");
}
