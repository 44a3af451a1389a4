//! The page's usability checks (Chromium in web/tests/usability.rs,
//! Firefox in web/tests/firefox.rs): what is typed into the full panel's
//! fields stays while the clock runs and redraws the page, and the
//! lab's while trials run; the ring's nodes, messages and key marks work
//! from the keyboard; in large text the ring and its labels fit its box.

use super::calm::scrub_events;
use super::{Server, Session};
use fantoccini::key::Key;
use ringside_core::sim::{get, put, Action};
use ringside_core::{Consistency, Micros};
use std::path::Path;

/// Every text and number field of the full panel and of the replica
/// panels, by a selector that names it alone.
const FIELDS: [&str; 11] = [
    ".request-form [aria-label=key]",
    ".request-form [aria-label=value]",
    "[data-testid=live-addr]",
    "[aria-label='minimum latency (ms)']",
    "[aria-label='maximum latency (ms)']",
    "[aria-label='drop rate (%)']",
    // seed, nodes, RF and vnodes, each in its label.
    "form.cluster label:nth-of-type(1) input",
    "form.cluster label:nth-of-type(2) input",
    "form.cluster label:nth-of-type(3) input",
    "form.cluster label:nth-of-type(4) input",
    "[aria-label='clock skew of node 0 in milliseconds']",
];

fn value(s: &Session, css: &str) -> String {
    let q = serde_json::to_string(css).expect("a string is JSON");
    s.js(&format!(
        "const e = document.querySelector({q}); return e ? e.value : null"
    ))
    .as_str()
    .unwrap_or_else(|| panic!("{}: no field {css}", s.browser().name()))
    .to_string()
}

/// In the full panel, with the clock running (heartbeats redraw the page
/// all the time), a digit typed into each field is still there after
/// many redraws, while the field keeps the focus.
pub fn check_typing_while_the_clock_runs(s: &Session, server: &Server, art: &Path) {
    s.goto(&server.url("/?speed=1&panel=full#seed=7&nodes=4&rf=3"));
    s.wait("the full panel and the ring", art, |s| {
        s.count("[data-testid=full-panel]") == 1 && s.count("[data-testid=ring-node]") == 4
    });
    s.wait("the clock running", art, |s| scrub_events(s).1 > 50);
    for css in FIELDS {
        let before = value(s, css);
        s.send_keys(css, "5");
        let (_, head) = scrub_events(s);
        s.wait(
            &format!("fifty events more, after typing into {css}"),
            art,
            |s| scrub_events(s).1 > head + 50,
        );
        let now = value(s, css);
        println!("{css}: {before:?}, typed 5: {now:?}");
        assert_eq!(now, format!("{before}5"), "{css} kept what was typed");
    }
    s.shot(art, "typed-fields");
}

/// In the staleness lab, while trials run (the lab redraws every frame),
/// a digit typed into a field is still there many frames later.
pub fn check_typing_in_the_lab_while_trials_run(s: &Session, server: &Server, art: &Path) {
    s.goto(&server.url("/?panel=full#seed=7"));
    s.wait("the full panel", art, |s| {
        s.count("[data-testid=lab-open]") == 1
    });
    s.click("[data-testid=lab-open]");
    s.wait("the lab", art, |s| s.count("[data-testid=lab]") == 1);
    // The most trials, so that the run lasts while the test types.
    super::lab::set(s, "trials", "200000");
    s.wait("a valid form", art, |s| {
        s.count("[data-testid=lab-error]") == 0
    });
    s.click("[data-testid=lab-run]");
    s.wait("trials running", art, |s| {
        s.attr("[data-testid=lab-speed]", "data-state") == "running"
    });
    let done = super::lab::trials_done;
    for css in [".lab input[name=seed]", ".lab input[name=n]"] {
        let before = value(s, css);
        s.send_keys(css, "5");
        let at = done(s);
        s.wait(
            &format!("more trials done, after typing into {css}"),
            art,
            |s| done(s) > at + 1000.0,
        );
        assert_eq!(
            s.attr("[data-testid=lab-speed]", "data-state"),
            "running",
            "the run went on while the test typed"
        );
        let now = value(s, css);
        println!("{css}: {before:?}, typed 5: {now:?}");
        assert_eq!(now, format!("{before}5"), "{css} kept what was typed");
    }
    s.click("[data-testid=lab-stop]");
}

/// A run with something for every label on the ring: node 3 cut from
/// node 0 while node 0 writes key 137 (a lost message, a hint), then a
/// read.
fn labelled_run() -> Vec<(Micros, Action)> {
    let submit = |node, request| Action::Submit { node, request };
    vec![
        (40_000, Action::Cut { a: 0, b: 3 }),
        (50_000, submit(0, put(137, "hello", Consistency::Quorum))),
        (900_000, submit(2, get(137, Consistency::Quorum))),
    ]
}

/// Each text of the ring whose box leaves the ring's box, or the ring's
/// box leaving the window's width: what a person cannot read.
fn clipped_labels(s: &Session) -> Vec<String> {
    let v = s.js(
        "const svg = document.querySelector('[data-testid=ring]'); \
         const r = svg.getBoundingClientRect(); const out = []; \
         if (r.left < 0 || r.right > document.documentElement.clientWidth + 0.5) \
           out.push(`the ring (${r.left.toFixed(0)} to ${r.right.toFixed(0)}) wider than the window`); \
         if (r.height > window.innerHeight + 0.5) \
           out.push(`the ring (${r.height.toFixed(0)} px) taller than the window`); \
         for (const t of svg.querySelectorAll('text')) { \
           const b = t.getBoundingClientRect(); \
           if (b.width === 0) continue; \
           if (b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5 || b.bottom > r.bottom + 0.5) \
             out.push(`${t.textContent} (${b.left.toFixed(0)},${b.top.toFixed(0)} to ${b.right.toFixed(0)},${b.bottom.toFixed(0)})`); \
         } \
         for (const c of svg.querySelectorAll('.hint-card, .ring-node > circle:not(.focus-ring)')) { \
           const b = c.getBoundingClientRect(); \
           if (b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5 || b.bottom > r.bottom + 0.5) \
             out.push(`a ${c.getAttribute('class') || 'node'} shape outside the ring`); \
         } \
         return out",
    );
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The ring at large text, in a narrow window and at twice the text
/// size: the whole ring and every label on it inside the ring's box, the
/// ring's box inside the window's width. Screenshots
/// `<prefix>-ring-large-<case>.png`.
pub fn check_the_ring_fits_large_text(s: &Session, server: &Server, art: &Path) {
    super::open_run(s, server, art, "?speed=1", &labelled_run());
    s.wait("a hint held for node 3", art, |s| {
        s.count(".hint-count") >= 1
    });
    s.press(' ');
    s.wait("paused", art, |s| {
        s.text("[data-testid=play]").contains("play")
    });
    // The key's replicas drawn, with its label.
    s.js("document.querySelector('[data-testid=ring] .key-mark')\
          .dispatchEvent(new MouseEvent('click', {bubbles: true}))");
    s.wait("key 137 selected", art, |s| s.count(".key-label") == 1);
    s.click("[data-testid=large-text]");
    s.wait("large text", art, |s| s.count(".app.large") == 1);

    let mut failures = Vec::new();
    for (case, (w, h), root) in [
        ("720", (720, 720), "100%"),
        ("1280-200pc", (1280, 720), "200%"),
        ("zoom-200pc", (640, 360), "100%"),
    ] {
        s.viewport(w, h);
        s.js(&format!(
            "document.documentElement.style.fontSize = '{root}'; window.scrollTo(0, 0)"
        ));
        // Two frames for the layout (and the ring's fit) to follow.
        s.js("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
        s.js("document.querySelector('[data-testid=ring]').scrollIntoView({block: 'start'})");
        s.shot(art, &format!("ring-large-{case}"));
        let clipped = clipped_labels(s);
        println!("{case}: {w}x{h}, root font {root}: clipped {clipped:?}");
        if !clipped.is_empty() {
            failures.push(format!("{case}: {}", clipped.join("; ")));
        }
    }
    s.js("document.documentElement.style.fontSize = ''");
    assert!(failures.is_empty(), "clipped on the ring: {failures:#?}");
}

/// Whether the focused element shows a focus ring: an outline, or (a
/// ring node) its own drawn ring.
fn focus_ring_shown(s: &Session) -> bool {
    s.js("const e = document.activeElement; if (!e) return false; \
          const ring = e.querySelector(':scope > .focus-ring'); \
          if (ring) return getComputedStyle(ring).display !== 'none'; \
          return getComputedStyle(e).outlineStyle === 'solid'")
        .as_bool()
        .unwrap_or(false)
}

/// The ring from the keyboard alone: Tab reaches each node in turn, then
/// the messages in flight; Enter and Space on a node make it the
/// coordinator (Space does not also start the clock); on the messages,
/// the arrows step a cursor that the caption names, and Enter picks the
/// message, as a click on its dot does. Screenshot
/// `<prefix>-ring-keyboard.png`.
pub fn check_the_ring_by_keyboard(s: &Session, server: &Server, art: &Path) {
    super::open_run(s, server, art, "?paused", &labelled_run());
    // The write's messages on their way, one event at a time.
    s.wait("messages in flight", art, |s| {
        let n: u64 = s
            .attr("[data-testid=flight]", "data-count")
            .parse()
            .unwrap_or(0);
        if n < 2 {
            s.click("[data-testid=step]");
        }
        n >= 2
    });
    s.js("document.querySelector('[data-testid=ring]').scrollIntoView({block: 'start'})");

    // Tab from the control just before the ring's nodes: node 0 first.
    s.js("const first = document.querySelector('[data-testid=ring-node]'); \
          const all = [...document.querySelectorAll('button, select, input, [tabindex]')] \
            .filter(e => e.tabIndex >= 0 && (first.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_PRECEDING)); \
          all[all.length - 1].focus()");
    for n in 0..4 {
        s.press(Key::Tab.into());
        let name = s.focused("e.getAttribute('aria-label')");
        println!("Tab: {name}");
        assert!(
            name.starts_with(&format!("node {n}, ")),
            "Tab reaches node {n}: {name:?}"
        );
        assert!(focus_ring_shown(s), "no focus ring on node {n}");
    }
    let name0 = s.attr("[data-testid=ring-node][data-node='0']", "aria-label");
    assert!(name0.ends_with(", the coordinator"), "{name0}");
    s.press(Key::Enter.into());
    s.wait("node 3 the coordinator, by Enter", art, |s| {
        s.text("[data-testid=send]").contains("node 3")
    });
    s.js("document.querySelector('[data-testid=ring-node][data-node=\"2\"]').focus()");
    s.press(' ');
    s.wait("node 2 the coordinator, by Space", art, |s| {
        s.text("[data-testid=send]").contains("node 2")
    });
    assert!(
        s.text("[data-testid=play]").contains("play"),
        "Space on a node does not start the clock"
    );

    // The messages: one stop after the last node.
    s.js("document.querySelector('[data-testid=ring-node][data-node=\"3\"]').focus()");
    s.press(Key::Tab.into());
    assert_eq!(
        s.js("return document.activeElement?.dataset.testid")
            .as_str(),
        Some("flight"),
        "Tab reaches the messages after the nodes"
    );
    assert!(focus_ring_shown(s), "no focus ring on the messages");
    let caption = s.text("[data-testid=ring-cursor]");
    println!("caption: {caption}");
    assert!(caption.contains("messages in flight"), "{caption}");
    s.press(Key::Right.into());
    let caption = s.text("[data-testid=ring-cursor]");
    println!("caption: {caption}");
    assert!(
        caption.starts_with("Message 1 of ") && caption.contains(" from node "),
        "{caption}"
    );
    s.press(Key::Right.into());
    let second = s.text("[data-testid=ring-cursor]");
    println!("caption: {second}");
    assert!(second.starts_with("Message 2 of "), "{second}");
    s.press(Key::Enter.into());
    s.wait("the cursor's message picked", art, |s| {
        s.count("[data-testid=ring-picked]") == 1
    });
    let msg = s.attr("[data-testid=ring-picked]", "data-msg");
    let dots = s.attr("[data-testid=flight]", "data-dots");
    let second_dot = dots.split(' ').nth(1).unwrap_or("");
    assert!(
        second_dot.starts_with(&format!("{msg}@")),
        "the second message picked: {msg} (dots {dots})"
    );
    assert!(
        s.text("[data-testid=ring-cursor]")
            .contains("Enter unpicks it"),
        "the caption says it is picked"
    );
    s.shot(art, "ring-keyboard");
    s.press(' ');
    s.wait("unpicked with Space", art, |s| {
        s.count("[data-testid=ring-picked]") == 0
    });
    assert!(
        s.text("[data-testid=play]").contains("play"),
        "Space on the messages does not start the clock"
    );
    check_key_marks_by_keyboard(s, server, art);
}

/// The key marks from the keyboard: however many keys hold data, they are
/// one tab stop, just before the nodes; the arrows go round the ring from
/// mark to mark, each showing its key's replicas as a click does.
fn check_key_marks_by_keyboard(s: &Session, server: &Server, art: &Path) {
    let submit = |node, request| Action::Submit { node, request };
    let run: Vec<(Micros, Action)> = [7, 137, 200]
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let at = 10_000 * (i as Micros + 1);
            (at, submit(0, put(k, "v", Consistency::Quorum)))
        })
        .collect();
    // Another query than the run before: a new hash alone would not load
    // the page again.
    super::open_run(s, server, art, "?paused&run=keys", &run);
    s.wait("three keys on the ring", art, |s| {
        let n = s.count("[data-testid=ring] [data-key]");
        if n < 3 {
            s.click("[data-testid=step]");
        }
        n == 3
    });
    let stops = s
        .js(
            "return [...document.querySelectorAll('[data-testid=ring] [data-key]')] \
             .filter(e => e.tabIndex >= 0).map(e => e.dataset.key)",
        )
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0);
    assert_eq!(stops, 1, "the key marks are one tab stop, not one per key");
    s.js(
        "[...document.querySelectorAll('[data-testid=ring] [data-key]')] \
          .find(e => e.tabIndex >= 0).focus()",
    );
    let first = s.focused("e.dataset.key");
    let mut seen = vec![first.clone()];
    for _ in 0..3 {
        let before = seen[seen.len() - 1].clone();
        s.press(Key::Right.into());
        // The focus moves just after the key press.
        s.wait("the focus on the next key mark", art, |s| {
            let k = s.focused("e.dataset.key");
            !k.is_empty() && k != before
        });
        let k = s.focused("e.dataset.key");
        println!("ArrowRight: key {k}");
        s.wait(&format!("key {k} selected"), art, |s| {
            s.text_content("[data-testid=ring] .key-label") == format!("key {k}")
        });
        seen.push(k);
    }
    assert_eq!(
        seen[3], first,
        "three arrows go round the three keys: {seen:?}"
    );
    let mut round = seen[..3].to_vec();
    round.sort();
    round.dedup();
    assert_eq!(round.len(), 3, "each key once: {seen:?}");
    s.press(Key::Left.into());
    s.wait("ArrowLeft back to the key before", art, |s| {
        s.focused("e.dataset.key") == seen[2]
    });
    s.press(Key::Tab.into());
    let name = s.focused("e.getAttribute('aria-label')");
    assert!(
        name.starts_with("node 0, "),
        "Tab from the keys reaches node 0: {name:?}"
    );
}
