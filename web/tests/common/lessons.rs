//! The lesson checks (Chromium in web/tests/lessons.rs, Firefox in
//! web/tests/firefox.rs): a lesson a teacher writes, loaded the three
//! ways the page offers (a file, a URL, pasted text), and one with an
//! error refused with its line while nothing of it runs.

use super::{Server, Session};
use std::path::Path;

/// A lesson no built-in matches: five nodes (the page starts with four),
/// a prediction, a write and a read.
const FIVE_NODES: &str = r#"id = "five-nodes"
title = "Five nodes: a ONE write, then a QUORUM read"

[cluster]
nodes = 5
rf = 3
seed = 3

[[step]]
say = "Key 10 lives on nodes 0, 1 and 2. Node 4 writes it at ONE."
actions = [{ put = { node = 4, key = 10, value = "a", cl = "ONE" } }]
expect = [{ outcome = "ok" }]

[step.predict]
question = "How many replicas must acknowledge a ONE write before node 4 answers?"
choices = ["one", "all three"]
answer = "one"
why = "ONE waits for a single replica's acknowledgement; the other two still get the write."

[[step]]
say = "Node 1 reads key 10 at QUORUM: two of the three replicas answer, and both have the write."
actions = [{ get = { node = 1, key = 10, cl = "QUORUM" } }]
expect = [{ read = { value = "a" } }]
"#;

/// A directory of its own for this test's lesson files, removed when the
/// test ends (passed or not).
fn lesson_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("ringside-lessons-{name}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("a temporary directory: {e}"))
}

/// Waits for the page's 4-node ring.
fn open_page(s: &Session, server: &Server, art: &Path, rest: &str) {
    s.goto(&server.url(rest));
    s.wait("the ring with 4 nodes", art, |s| {
        s.count("[data-testid=ring-node]") == 4
    });
}

/// The five-node lesson is on screen, on its own five-node cluster: its
/// prediction is answered, and it runs to its end with every check held.
fn play_five_nodes(s: &Session, art: &Path) {
    s.wait("the five-node lesson asking its prediction", art, |s| {
        s.count("[data-testid=scenario][data-scenario=five-nodes]") == 1
            && s.count("[data-testid=scenario-status][data-status=asking]") == 1
    });
    assert_eq!(
        s.count("[data-testid=ring-node]"),
        5,
        "the cluster reset to the lesson's five nodes"
    );
    assert_eq!(
        s.count("[data-testid=lesson-loader]"),
        0,
        "the loader closed"
    );
    s.click("[data-testid=prediction] button[data-choice=\"0\"]");
    s.wait("the five-node lesson done", art, |s| {
        s.count("[data-testid=scenario-status][data-status=done]") == 1
    });
    assert_eq!(s.count("[data-testid=scenario] .checks .bad"), 0);
    assert_eq!(s.count("[data-testid=scenario] .checks .ok"), 2);
}

/// A lesson file picked in the loader (WebDriver types its path into
/// the file input) runs on its own cluster; its share link, opened
/// afresh, runs it again. Screenshot: `<prefix>-lesson-file.png`.
pub fn check_a_lesson_from_a_file(s: &Session, server: &Server, art: &Path) {
    let dir = lesson_dir("file");
    let file = dir.path().join("five-nodes.toml");
    std::fs::write(&file, FIVE_NODES).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    open_page(s, server, art, "/?speed=3#seed=7");
    s.click("[data-testid=lesson-open]");
    s.wait("the lesson loader", art, |s| {
        s.count("[data-testid=lesson-file]") == 1
    });
    s.send_keys("[data-testid=lesson-file]", &file.display().to_string());
    play_five_nodes(s, art);
    // A lesson from a file is shared by its text.
    let href =
        s.js("return document.querySelector('[data-testid=lesson-share]').getAttribute('href')");
    let href = href.as_str().unwrap_or("");
    assert!(
        href.starts_with("#lesson=id%20%3D%20%22five-nodes%22"),
        "{href}"
    );
    assert_eq!(
        s.text("[data-testid=lesson-source]"),
        "(a lesson from the file five-nodes.toml)"
    );
    s.shot(art, "lesson-file");
    // The share link opens the page on the same lesson (a page load of
    // its own: a new fragment alone would not reload the page).
    s.goto("about:blank");
    s.goto(&server.url(&format!("/?speed=3{href}")));
    play_five_nodes(s, art);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A lesson at a URL in the page's link (`#lesson-url=`, served by a
/// second server, as a teacher's own site would) runs; a URL that answers
/// 404, and one nobody answers on, are refused naming the URL and why
/// while the lesson on screen stays. Screenshots:
/// `<prefix>-lesson-url.png`, `<prefix>-lesson-url-refused.png`.
pub fn check_a_lesson_from_a_url(s: &Session, server: &Server, art: &Path) {
    let dir = lesson_dir("url");
    std::fs::write(dir.path().join("five-nodes.toml"), FIVE_NODES).expect("the lesson file");
    // The teacher's site: another origin than the page's.
    let site = Server::start(dir.path().to_path_buf());
    let url = site.url("/five-nodes.toml");
    s.goto(&server.url(&format!("/?speed=3#lesson-url={}", super::encode(&url))));
    play_five_nodes(s, art);
    // The URL form is the share form.
    let shared = s.js(
        "const h = document.querySelector('[data-testid=lesson-share]').getAttribute('href'); \
         return h.startsWith('#lesson-url=') ? decodeURIComponent(h.slice(12)) : h",
    );
    assert_eq!(shared.as_str(), Some(url.as_str()));
    let source = s.text("[data-testid=lesson-source]");
    assert!(source.contains(&url), "{source}");
    s.shot(art, "lesson-url");

    // A URL with no lesson behind it: refused, naming the URL and the
    // status; the lesson on screen stays.
    let missing = site.url("/no-such-lesson.toml");
    s.click("[data-testid=lesson-open]");
    s.send_keys("[data-testid=lesson-url-input]", &missing);
    s.click("[data-testid=lesson-url-load]");
    s.wait("the 404 refused", art, |s| {
        s.count("[data-testid=lesson-error]") == 1
    });
    let error = s.text("[data-testid=lesson-error]");
    println!("refused:\n{error}");
    assert!(
        error.contains(&missing) && error.contains("HTTP 404"),
        "{error}"
    );
    assert_eq!(
        s.count("[data-testid=scenario][data-scenario=five-nodes]"),
        1,
        "the lesson on screen stays"
    );
    s.shot(art, "lesson-url-refused");
    // A URL nobody answers on (port 1): a network error, named as one.
    let nowhere = "http://127.0.0.1:1/five-nodes.toml";
    s.js("document.querySelector('[data-testid=lesson-url-input]').value = ''");
    s.send_keys("[data-testid=lesson-url-input]", nowhere);
    s.click("[data-testid=lesson-url-load]");
    s.wait("the unreachable URL refused", art, |s| {
        s.text("[data-testid=lesson-error]").contains(nowhere)
    });
    let error = s.text("[data-testid=lesson-error]");
    println!("refused:\n{error}");
    assert!(error.contains("network error"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Pasted text with an error is refused with its line while the lesson
/// on screen goes on untouched. Screenshot: `<prefix>-lesson-error.png`.
pub fn check_a_refused_lesson(s: &Session, server: &Server, art: &Path) {
    open_page(s, server, art, "/?speed=3#seed=7");
    // A built-in lesson on screen, done: what the refused one must not touch.
    s.click("[data-scenario-start=\"replicas\"]");
    s.wait("the replicas lesson asking", art, |s| {
        s.count("[data-testid=scenario-status][data-status=asking]") == 1
    });
    s.click("[data-testid=prediction] button[data-choice]");
    s.wait("the replicas lesson done", art, |s| {
        s.count("[data-testid=scenario-status][data-status=done]") == 1
    });
    let requests = s.count("[data-testid=request]");
    // The second step crashes node 9 of a 5-node cluster: line 22.
    let bad = FIVE_NODES.replace(
        "actions = [{ get = { node = 1, key = 10, cl = \"QUORUM\" } }]",
        "actions = [{ crash = 9 }]",
    );
    assert_eq!(
        bad.lines().position(|l| l.contains("crash = 9")),
        Some(21),
        "the bad action is on line 22"
    );
    s.click("[data-testid=lesson-open]");
    s.send_keys("[data-testid=lesson-text]", &bad);
    s.click("[data-testid=lesson-text-load]");
    s.wait("the lesson refused at line 22", art, |s| {
        s.count("[data-testid=lesson-error][data-line=\"22\"]") == 1
    });
    let error = s.text("[data-testid=lesson-error]");
    println!("refused:\n{error}");
    assert!(
        error.contains("line 22: node 9 does not exist: the cluster has nodes 0 to 4")
            && error.contains("crash = 9")
            && error.contains("nothing of it ran"),
        "{error}"
    );
    // Nothing of it ran: the same four nodes, the same lesson, no request
    // of the refused one's first step.
    assert_eq!(s.count("[data-testid=ring-node]"), 4);
    assert_eq!(s.count("[data-testid=scenario][data-scenario=replicas]"), 1);
    assert_eq!(s.count("[data-testid=request]"), requests);
    s.js("document.querySelector('[data-testid=lesson-loader]').scrollIntoView({block: 'start'})");
    s.shot(art, "lesson-error");
}
