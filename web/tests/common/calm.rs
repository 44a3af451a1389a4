//! The calm classroom layout's check (Chromium in web/tests/calm.rs,
//! Firefox in web/tests/firefox.rs): at 1280 x 720 the ring and the
//! narration are whole on screen in readable text, the full control
//! panel is hidden; Tab reaches the controls in order with a visible
//! focus ring, Enter and Space open and close the panel, Space, `.`,
//! `,`, `a`, `/` and `?` do what the Keys list says, a lesson narrates beside the ring,
//! large text works, a link opens the panel.

use super::{Server, Session};
use fantoccini::key::Key;
use ringside_core::sim::{get, put, Action};
use ringside_core::{Consistency, Micros};
use std::path::Path;

/// What only the full panel shows.
const FULL_ONLY: [&str; 6] = [
    "[data-testid=full-panel]",
    "#console",
    "[data-testid=event-log]",
    "[data-testid=hint-board]",
    "[data-testid=lab-open]",
    "[data-testid=spacetime-toggle]",
];

/// The first stops of Tab from the top of the page, in order: the
/// toggle first.
const TAB_ORDER: [&str; 9] = [
    "all-controls",
    "large-text",
    "keys-open",
    "share",
    "play",
    "step-back",
    "step",
    "speed",
    "operation",
];

/// A put then a read of key 137, so the narration has a story to tell.
fn script() -> Vec<(Micros, Action)> {
    let submit = |node, request| Action::Submit { node, request };
    vec![
        (200_000, submit(0, put(137, "hello", Consistency::Quorum))),
        (500_000, submit(2, get(137, Consistency::Quorum))),
    ]
}

/// `css`'s box (left, top, right, bottom) and the viewport's size;
/// fails when nothing matches.
pub(super) fn bounds(s: &Session, css: &str) -> ([f64; 4], (f64, f64)) {
    let q = serde_json::to_string(css).expect("a string is JSON");
    let v = s.js(&format!(
        "const e = document.querySelector({q}); if (!e) return null; \
         const r = e.getBoundingClientRect(); \
         return [r.left, r.top, r.right, r.bottom, window.innerWidth, window.innerHeight]"
    ));
    let n = |i: usize| {
        v.get(i)
            .and_then(|x| x.as_f64())
            .unwrap_or_else(|| panic!("{}: no {css} on the page", s.browser().name()))
    };
    ([n(0), n(1), n(2), n(3)], (n(4), n(5)))
}

/// Fails unless `css` lies whole inside the viewport and is at least
/// `min_width` wide.
pub fn assert_on_screen(s: &Session, css: &str, min_width: f64) {
    let ([l, t, r, b], (w, h)) = bounds(s, css);
    println!("{css}: ({l:.0}, {t:.0}) to ({r:.0}, {b:.0}) in {w}x{h}");
    assert!(
        l >= 0.0 && t >= 0.0 && r <= w && b <= h,
        "{}: {css} at ({l}, {t})-({r}, {b}) is not inside the {w}x{h} viewport",
        s.browser().name()
    );
    assert!(r - l >= min_width, "{css} is only {} px wide", r - l);
}

/// The smallest computed font size, in px, among the elements `css`
/// matches that are displayed.
fn smallest_text(s: &Session, css: &str) -> f64 {
    let q = serde_json::to_string(css).expect("a string is JSON");
    s.js(&format!(
        "return Math.min(...[...document.querySelectorAll({q})] \
         .filter(e => e.getClientRects().length > 0) \
         .map(e => parseFloat(getComputedStyle(e).fontSize)))"
    ))
    .as_f64()
    .unwrap_or(0.0)
}

/// What has the keyboard's focus: its `data-testid`, else its
/// `aria-label`, else its tag.
fn focused(s: &Session) -> String {
    s.focused("e.dataset.testid || e.getAttribute('aria-label') || e.tagName")
}

/// The timeline's "event X of Y": the event shown, and the run's last.
pub(super) fn scrub_events(s: &Session) -> (u64, u64) {
    let caption = s.text(".scrub-caption");
    let tail = caption.rsplit("(event ").next().unwrap_or("");
    let mut n = tail
        .trim_end_matches(')')
        .split(" of ")
        .map(|x| x.trim().parse::<u64>().unwrap_or(0));
    (n.next().unwrap_or(0), n.next().unwrap_or(0))
}

fn full_panel_shown(s: &Session) -> bool {
    s.js(
        "const p = document.querySelector('[data-testid=full-panel]'); \
          return !!p && p.getClientRects().length > 0",
    )
    .as_bool()
    .unwrap_or(false)
}

fn query(s: &Session) -> String {
    s.js("return location.search")
        .as_str()
        .unwrap_or("")
        .to_string()
}

pub fn check_the_calm_view(s: &Session, server: &Server, art: &Path) {
    s.viewport(1280, 720);
    super::open_run(s, server, art, "?speed=1", &script());
    s.wait("the narration telling the put and the read", art, |s| {
        let story = s.text("[data-testid=narration] .story");
        story.contains("137") && s.count("[data-testid=narration] .story li") >= 3
    });

    // First sight: the ring with its legend and the narration whole, in
    // readable text, and none of the full panel.
    assert_on_screen(s, "[data-testid=ring]", 430.0);
    assert_on_screen(s, ".ring-legend", 300.0);
    assert_on_screen(s, "[data-testid=narration]", 400.0);
    let smallest = smallest_text(
        s,
        ".controls button, .controls select, .controls label, header button, \
         [data-testid=narration] li, [data-testid=narration] button, [data-testid=narration] p",
    );
    assert!(smallest >= 16.0, "text as small as {smallest} px");
    for css in FULL_ONLY {
        assert_eq!(s.count(css), 0, "{css} shown in the calm view");
    }
    assert_eq!(
        s.count("[data-scenario-start]"),
        9,
        "the nine lessons to pick"
    );
    s.shot(art, "calm-default");

    // Keyboard alone: the first Tab from the top reaches the toggle, with
    // a visible focus ring; Enter opens the full panel.
    s.js("document.activeElement?.blur(); window.scrollTo(0, 0)");
    let tab_to = |want: &str| {
        s.press(Key::Tab.into());
        assert_eq!(focused(s), want, "Tab order");
        let outline = s.js("return getComputedStyle(document.activeElement).outlineStyle");
        assert_eq!(outline.as_str(), Some("solid"), "no focus ring on {want}");
    };
    tab_to(TAB_ORDER[0]);
    s.press(Key::Enter.into());
    s.wait("the full panel, opened with Enter", art, full_panel_shown);
    for css in FULL_ONLY {
        assert_eq!(s.count(css), 1, "{css} missing from the full panel");
    }
    assert_eq!(
        s.js("return document.querySelector('[data-testid=all-controls]').getAttribute('aria-expanded')")
            .as_str(),
        Some("true")
    );
    assert!(query(s).contains("panel=full"), "{}", query(s));
    assert_eq!(focused(s), "all-controls", "the focus stays on the toggle");
    s.shot(art, "calm-full-panel");

    // Space closes it again; the address forgets it.
    s.press(' ');
    s.wait("the calm view again, with Space", art, |s| {
        !full_panel_shown(s)
    });
    assert!(!query(s).contains("panel"), "{}", query(s));

    // Tab goes on through the student's controls, in order.
    for want in &TAB_ORDER[1..] {
        tab_to(want);
    }

    // Typing into the request form while the clock runs: the page
    // redraws the whole time and what is typed stays; Enter sends it.
    s.send_keys(".request-form [aria-label=value]", " world");
    let (_, head) = scrub_events(s);
    s.wait("a hundred events more, while typing", art, |s| {
        scrub_events(s).1 > head + 100
    });
    let typed = s.js("return document.querySelector('.request-form [aria-label=value]').value");
    assert_eq!(typed.as_str(), Some("hello world"), "the typed value stays");
    s.type_line(".request-form [aria-label=value]", "");
    s.wait("the typed put sent", art, |s| {
        s.text("[data-testid=requests]").contains("hello world")
    });

    // The keys the Keys list names: `a` toggles the panel, `?` the list,
    // Esc closes the list.
    s.js("document.activeElement?.blur()");
    s.press('a');
    s.wait("the full panel, with the key a", art, full_panel_shown);
    s.press('a');
    s.wait("the calm view, with the key a", art, |s| {
        !full_panel_shown(s)
    });
    s.press('?');
    s.wait("the list of keys", art, |s| {
        s.count("[data-testid=keys-help]") == 1
    });
    let keys = s.text("[data-testid=keys-help]");
    for k in ["Space", "one event back", "all controls", "Tab"] {
        assert!(keys.contains(k), "the list of keys lacks {k:?}: {keys}");
    }
    s.press(Key::Escape.into());
    s.wait("the list of keys closed with Esc", art, |s| {
        s.count("[data-testid=keys-help]") == 0
    });

    // Space pauses, `.` steps on, `,` back. The page's shortcuts keep the
    // browser's own meaning of their keys from happening too (Space
    // scrolls the page, `/` opens Firefox's find bar): a listener on the
    // window, which hears a key after the page's own on the document,
    // records whether each was prevented.
    s.js("window.__keys = []; \
          window.addEventListener('keydown', e => window.__keys.push(`${e.key}:${e.defaultPrevented}`))");
    s.press(' ');
    s.wait("paused with Space", art, |s| {
        s.text("[data-testid=play]").contains("play")
    });
    let (at, head) = scrub_events(s);
    assert_eq!(at, head, "paused at the head");
    // A step goes to the next event the log shows (a few of the run's
    // events may pass unshown on the way).
    s.press('.');
    s.wait("one event on with .", art, |s| scrub_events(s).0 > at);
    let on = scrub_events(s).0;
    s.press(',');
    s.wait("one event back with ,", art, |s| scrub_events(s).0 < on);

    // `/` opens the full panel at its command line.
    s.press('/');
    s.wait("the command line focused", art, |s| {
        full_panel_shown(s) && s.js("return document.activeElement?.id").as_str() == Some("console")
    });
    let heard = s.js("return window.__keys.filter(k => k[0] === ' ' || k[0] === '/')");
    assert_eq!(
        heard,
        serde_json::json!([" :true", "/:true"]),
        "Space and / with the browser's own action prevented"
    );
    s.js("document.activeElement?.blur()");
    s.press('a');
    s.wait("the calm view, with the key a", art, |s| {
        !full_panel_shown(s)
    });

    // Large text still works, in the calm view.
    s.click("[data-testid=large-text]");
    s.wait("large text", art, |s| s.count(".app.large") == 1);
    let large = smallest_text(s, "[data-testid=narration] li");
    assert!(large >= 20.0, "large text only {large} px");
    s.shot(art, "calm-large-text");
    s.click("[data-testid=large-text]");
    s.wait("normal text again", art, |s| s.count(".app.large") == 0);

    // A lesson started from the keyboard narrates beside the ring, whole
    // on screen as it goes on.
    s.js("document.querySelector('[data-scenario-start=\"read-repair\"]').focus()");
    s.press(Key::Enter.into());
    s.wait("the lesson on screen", art, |s| {
        s.count("[data-testid=scenario][data-scenario=\"read-repair\"]") == 1
    });
    s.wait("the lesson asking for a prediction", art, |s| {
        s.count("[data-testid=scenario-status][data-status=asking]") == 1
    });
    assert_on_screen(s, "[data-testid=ring]", 430.0);
    assert_on_screen(s, "[data-testid=scenario]", 400.0);
    assert_on_screen(s, "[data-testid=scenario] .step.current", 300.0);
    s.shot(art, "calm-lesson");
    s.js("document.querySelector('[data-testid=prediction] button[data-choice=\"0\"]').focus()");
    s.press(Key::Enter.into());
    s.wait("the verdict", art, |s| {
        s.count("[data-testid=prediction-verdict]") == 1
    });
    assert_on_screen(s, "[data-testid=prediction-verdict]", 300.0);

    // A teacher's link opens the full panel.
    s.goto("about:blank");
    s.goto(&server.url("/?panel=full#seed=7"));
    s.wait("the full panel, from the link", art, full_panel_shown);
}
