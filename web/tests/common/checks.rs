//! The checks every browser runs on the simulated page (Chromium in
//! web/tests/browser.rs, Firefox in web/tests/firefox.rs), and the one
//! the live test shares with them.

use super::{BrowserEnv, Server, Session};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// Runs every check below in `env`'s browser, printing its user agent and
/// how long the checks took (`<browser> browser test: N s`).
pub fn check_the_page(env: &BrowserEnv) {
    let started = Instant::now();
    let server = Server::start(env.dist.clone());
    let driver = env.driver();
    let s = driver.session();
    let ua = s.js("return navigator.userAgent");
    println!("{}", ua.as_str().unwrap_or(""));
    check_replicas_hints_and_handoff(&s, &server, &env.art);
    check_16_nodes_under_load(&s, &server, &env.art);
    println!(
        "{} browser test: {:.1} s",
        env.browser.name(),
        started.elapsed().as_secs_f64()
    );
}

/// Crashes node 3 from the page (simulated or live) and, once node 0
/// sees it down, types `put 137 w quorum`: waits until node 0's panel
/// shows the hint it holds for node 3.
pub fn crash_3_until_node_0_holds_a_hint(s: &Session, art: &Path) {
    s.click("[data-testid=crash-3]");
    s.wait("node 3 drawn down", art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].down") == 1
    });
    s.wait("node 0's failure detector sees node 3 down", art, |s| {
        s.count("[data-replica=\"0\"] .peer.down[data-peer=\"3\"]") == 1
    });
    s.type_line("#console", "put 137 w quorum");
    s.wait("a hint for node 3 held by node 0", art, |s| {
        s.count("[data-replica=\"0\"] [data-hint-target=\"3\"]") == 1
    });
}

/// The built page driven the way a student drives it: it shows the 4-node
/// ring, a `put 137 v quorum` typed into its command line lands on nodes
/// 2, 3 and 0 and a QUORUM read after it is labelled fresh, crashing node
/// 3 and writing again leaves a hint for node 3
/// on the coordinator, and restarting node 3 delivers it. Screenshots:
/// `<prefix>-hint-held.png`, `<prefix>-handoff-done.png`.
pub fn check_replicas_hints_and_handoff(s: &Session, server: &Server, art: &Path) {
    // speed=3: three simulated seconds per real second, so failure
    // detection (about 1 s simulated) takes a third of a second; the
    // full panel for its command line.
    s.goto(&server.url("/?speed=3&panel=full#seed=7"));

    // The ring shows 4 nodes.
    s.wait("the ring with 4 nodes", art, |s| {
        s.count("[data-testid=ring-node]") == 4
    });
    assert_eq!(s.count("[data-replica]"), 4, "a panel per replica");

    // A QUORUM put through the command line lands on nodes 2, 3, 0.
    s.type_line("#console", "put 137 v quorum");
    s.wait("key 137 on nodes 2, 3 and 0", art, |s| {
        [2, 3, 0]
            .iter()
            .all(|n| s.count(&format!("[data-replica=\"{n}\"] tr[data-key=\"137\"]")) == 1)
    });
    s.wait("the put answered ok", art, |s| {
        s.count("[data-testid=request][data-outcome=ok]") == 1
    });
    assert_eq!(
        s.count("[data-replica=\"1\"] tr[data-key=\"137\"]"),
        0,
        "node 1 is not a replica of 137"
    );
    // A QUORUM read after it is labelled fresh, as the checker labels it.
    s.type_line("#console", "get 137 quorum");
    s.wait("the read labelled fresh", art, |s| {
        s.count("[data-testid=request] [data-testid=read-label][data-label=fresh]") == 1
    });

    // Crash node 3; once node 0 sees it down, a write leaves a hint for it.
    crash_3_until_node_0_holds_a_hint(s, art);
    assert_eq!(
        s.count("[data-testid=hint-board] [data-hint-holder=\"0\"][data-hint-target=\"3\"]"),
        1
    );
    s.shot(art, "hint-held");

    // Restart node 3: the hint is delivered and forgotten.
    s.click("[data-testid=restart-3]");
    s.wait("the hint delivered to node 3", art, |s| {
        s.count("[data-replica=\"0\"] [data-hint-target=\"3\"]") == 0
            && s.count("[data-replica=\"3\"] tr[data-key=\"137\"][data-value=\"w\"]") == 1
    });
    s.wait("node 3 up again", art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].up") == 1
    });
    s.shot(art, "handoff-done");
}

/// A guided scenario asks its prediction and waits: the hinted-handoff
/// scenario stops before restarting node 3 with the question and its
/// choices, runs nothing until a choice is clicked, then shows the
/// verdict (right, and why) and runs to its end with every check ✓.
/// Screenshots: `<prefix>-prediction-asked.png`,
/// `<prefix>-prediction-verdict.png`.
pub fn check_a_prediction(s: &Session, server: &Server, art: &Path) {
    s.goto(&server.url("/?speed=3#seed=7"));
    s.wait("the ring with 4 nodes", art, |s| {
        s.count("[data-testid=ring-node]") == 4
    });
    s.click("[data-scenario-start=\"hinted-handoff\"]");
    s.wait("the scenario asking its prediction", art, |s| {
        s.count("[data-testid=scenario-status][data-status=asking]") == 1
    });
    let question =
        s.js("return document.querySelector('[data-testid=prediction] .question').innerText");
    let question = question.as_str().unwrap_or("");
    assert!(question.contains("Node 3 was down"), "{question:?}");
    assert_eq!(
        s.count("[data-testid=prediction] button[data-choice]:not([disabled])"),
        3,
        "three choices to click"
    );
    s.shot(art, "prediction-asked");
    // Nothing runs while the question is open: node 3 stays down.
    thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        s.count("[data-testid=ring-node][data-node=\"3\"].down"),
        1,
        "node 3 restarted before the prediction was answered"
    );
    // "nothing" is the right answer.
    s.click("[data-testid=prediction] button[data-choice=\"1\"]");
    s.wait("the verdict", art, |s| {
        s.count("[data-testid=prediction-verdict].ok") == 1
    });
    let verdict =
        s.js("return document.querySelector('[data-testid=prediction-verdict]').innerText");
    let verdict = verdict.as_str().unwrap_or("");
    assert!(
        verdict.starts_with("Right") && verdict.contains("hint"),
        "{verdict:?}"
    );
    s.wait("the hinted-handoff scenario done", art, |s| {
        s.count("[data-testid=scenario-status][data-status=done]") == 1
    });
    assert_eq!(s.count("[data-testid=scenario] .checks .bad"), 0);
    assert!(s.count("[data-testid=scenario] .checks .ok") >= 4);
    // The share link carries the script: the scenario's actions.
    let hash = s.js("return location.hash");
    let hash = hash.as_str().unwrap_or("");
    assert!(
        hash.contains("seed=7") && hash.contains("script="),
        "{hash}"
    );
    s.shot(art, "prediction-verdict");
}

/// 16 nodes with vnodes under a random load: the page keeps drawing. The
/// frame rate is printed and returned (headless browsers render in
/// software, so it is a floor for a real browser). Screenshot:
/// `<prefix>-16-nodes-under-load.png`.
pub fn check_16_nodes_under_load(s: &Session, server: &Server, art: &Path) -> f64 {
    s.goto(&server.url("/?speed=0.3&fps=1&load=300#seed=7&nodes=16&rf=3&vnodes=8"));
    s.wait("16 nodes on the ring", art, |s| {
        s.count("[data-testid=ring-node]") == 16
    });
    // The overlay averages over the seconds it has drawn: let it draw.
    thread::sleep(Duration::from_secs(6));
    let overlay = s.js("return document.querySelector('[data-testid=fps]').innerText");
    let overlay = overlay.as_str().unwrap_or("").to_string();
    println!("{}: 16 nodes under load: {overlay}", s.browser().name());
    s.shot(art, "16-nodes-under-load");
    let fps: f64 = overlay
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or(0.0);
    // A floor, not a benchmark: the test machine may be busy.
    assert!(fps >= 2.0, "the page stalls under load: {overlay}");
    // The messages in flight are drawn on the canvas over the ring: it
    // counts them, and it has painted pixels.
    s.wait("messages drawn on the ring's canvas", art, |s| {
        let drawn = s.js("const c = document.querySelector('[data-testid=flight]'); \
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
             let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; \
             return [Number(c.dataset.count), n];");
        let count = drawn[0].as_u64().unwrap_or(0);
        let painted = drawn[1].as_u64().unwrap_or(0);
        count > 0 && painted > 100 * count.min(5)
    });
    assert!(
        s.count("[data-testid=request]") > 50,
        "the load sends requests"
    );
    fps
}
