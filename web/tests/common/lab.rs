//! The staleness lab's check (Chromium in web/tests/lab.rs, Firefox in
//! web/tests/firefox.rs): a link with bad lab settings is refused naming
//! the setting; the "Staleness lab" button opens the lab, a bad N is
//! shown beside its field and blocks Run; a run of 20,000 trials goes in
//! slices (the page answers, part done, while it runs) to its end and
//! shows both curves (measured and the PBS model's), the stale share at
//! each level and the trials per second (printed); the link then carries
//! the settings, and opening it shows them.

use super::{Server, Session};
use std::path::Path;
use std::time::Duration;

/// Types `value` into the lab's field `name` as a person would (the
/// change event follows).
pub(super) fn set(s: &Session, name: &str, value: &str) {
    s.js(&format!(
        "const i = document.querySelector('.lab input[name={name}]');
         i.value = {value:?};
         i.dispatchEvent(new Event('change', {{bubbles: true}}));"
    ));
}

/// Trials the lab's progress bar shows done.
pub(super) fn trials_done(s: &Session) -> f64 {
    s.js("return Number(document.querySelector('[data-testid=lab-progress]').value)")
        .as_f64()
        .unwrap_or(0.0)
}

/// Points in an SVG polyline of the plot.
fn points(s: &Session, testid: &str) -> usize {
    text_attr(s, testid, "points").split_whitespace().count()
}

fn text_attr(s: &Session, testid: &str, attr: &str) -> String {
    s.attr(&format!("[data-testid={testid}]"), attr)
}

/// The lab from a link and from the cluster's page, a refused setting, a
/// run to its end, its link. Screenshot at 1280x720:
/// `<prefix>-staleness-lab.png`.
pub fn check_the_staleness_lab(s: &Session, server: &Server, art: &Path) {
    // A 1280x720 page, as a projector shows it: the window's frame
    // takes some of the window's height.
    s.window_size(1280, 720);
    let inner = s.js("return window.innerHeight").as_u64().unwrap_or(720) as u32;
    s.window_size(1280, 720 + 720u32.saturating_sub(inner));

    // A teacher's link with an impossible level: refused, named.
    s.goto(&server.url("/#lab&n=5&r=4"));
    s.wait("the lab, from the link", art, |s| {
        s.count("[data-testid=lab]") == 1
    });
    let e = s.text_content("[data-testid=lab-link-error]");
    assert!(e.contains("r: no level waits for 4 of 5"), "{e}");

    // From the cluster's page (its full panel), one click.
    s.goto(&server.url("/?panel=full"));
    s.wait("the cluster's page", art, |s| {
        s.count("[data-testid=lab-open]") == 1
    });
    s.click("[data-testid=lab-open]");
    s.wait("the lab", art, |s| s.count("[data-testid=lab]") == 1);
    assert_eq!(text_attr(s, "mode", "data-mode"), "lab");

    // A bad setting is named beside its field, and nothing runs.
    set(s, "n", "9");
    s.wait("n's error", art, |s| {
        s.text_content("[data-testid=lab-error]")
            .starts_with("n: 1 to 7 replicas")
    });
    assert_eq!(s.count(".lab input[name=n].invalid"), 1);
    assert_eq!(
        s.js("return document.querySelector('[data-testid=lab-run]').disabled"),
        serde_json::Value::Bool(true)
    );
    set(s, "n", "3");
    set(s, "trials", "20000");
    s.wait("a valid form", art, |s| {
        s.count("[data-testid=lab-error]") == 0
    });

    s.click("[data-testid=lab-run]");
    s.wait("the model's curve at once", art, |s| {
        points(s, "lab-model") > 10
    });
    // The page draws between slices: it shows a run part done.
    s.wait("the run in progress", art, |s| {
        let done = trials_done(s);
        text_attr(s, "lab-speed", "data-state") == "running" && done > 0.0 && done < 20000.0
    });
    s.wait_for("the run's end", art, Duration::from_secs(180), |s| {
        text_attr(s, "lab-speed", "data-state") == "done"
    });
    let rate = s.text_content("[data-testid=lab-speed]");
    println!("lab: {rate}");
    println!(
        "lab trials per second in the page: {}",
        text_attr(s, "lab-speed", "data-rate")
    );
    assert!(rate.starts_with("20000 of 20000 trials (done)"), "{rate}");
    assert_eq!(points(s, "lab-measured"), 11, "every curve point measured");
    assert_eq!(s.count("[data-testid=lab-plot] .dot"), 11);
    // N = 3: ONE, TWO and ALL, with W = 1; ALL is never stale.
    assert_eq!(s.count("[data-testid=lab-level]"), 3);
    let all = s.text_content("[data-testid=lab-level]:nth-child(3)");
    assert!(
        all.contains("ALL (R = 3)") && all.contains("never stale"),
        "{all}"
    );
    assert!(all.contains("0 of "), "{all}");
    assert!(s
        .text_content("[data-testid=lab-caption]")
        .contains("R + W > N"));
    assert!(s
        .text_content("[data-testid=lab-caveat]")
        .contains("read repair"));
    s.shot(art, "staleness-lab");

    // The link now carries the settings; opened afresh it shows them.
    let hash = s.js("return location.hash");
    let hash = hash.as_str().unwrap_or("").to_string();
    assert!(
        hash.starts_with("#lab&n=3&r=1&w=1&") && hash.contains("trials=20000"),
        "{hash}"
    );
    s.goto("about:blank");
    s.goto(&server.url(&format!("/{hash}")));
    s.wait("the lab from its link", art, |s| {
        s.count("[data-testid=lab]") == 1
    });
    let trials = s.js("return document.querySelector('.lab input[name=trials]').value");
    assert_eq!(trials.as_str(), Some("20000"));
    assert_eq!(s.count("[data-testid=lab-link-error]"), 0);

    // Back to the cluster: its page, and its share link, again.
    s.click("[data-testid=lab-close]");
    s.wait("the cluster again", art, |s| {
        text_attr(s, "mode", "data-mode") == "simulated"
    });
    let lab_shown =
        s.js("return document.querySelector('[data-testid=lab]').offsetParent !== null");
    assert_eq!(lab_shown.as_bool(), Some(false), "the lab is hidden");
    let hash = s.js("return location.hash");
    assert!(!hash.as_str().unwrap_or("").starts_with("#lab"), "{hash}");
}
