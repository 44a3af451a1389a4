//! The page connected to a real native cluster, end to end: `ringside
//! cluster up` starts 4 node processes, headless Chromium opens the built
//! page connected to node 0 with the control token in the fragment, a
//! write typed into the page lands on nodes 2, 3 and 0, crashing node 3
//! from the page leaves a hint on the coordinator for the next write,
//! the page's timeline goes back to before the crash and forward again,
//! restarting node 3 from the page delivers the hint, `ringside inspect`
//! agrees with what the page showed, and the calm view the demo's link
//! opens has the ring, its legend and the timeline whole at 1280x720.
//!
//! Needs `RINGSIDE_DIST` (a `trunk build` output) and `RINGSIDE_BIN` (a
//! built `ringside`); `cargo xtask test` sets both and runs this test. A
//! missing piece fails the test naming the command that provides it.
//! Screenshots go to
//! `RINGSIDE_ARTIFACTS` (default: the system's temp dir); with
//! `RINGSIDE_UPDATE_SCREENSHOT=1` the last one also to web/screenshot.png,
//! which the README shows.

mod common;

use common::{BrowserEnv, Server, Session};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What the page received, rewound: dragged back to node 3's crash (the
/// first of its marks on the timeline) and, if the page shows it down
/// there, stepped back from it, the page shows node 3 up (the real node
/// stays down) and says it shows an earlier moment; "now →" shows the
/// present again. Screenshot: `web-live-rewind-before-crash.png`.
fn rewind_to_before_the_crash(s: &Session, art: &Path) {
    let crash = s.js(
        "const ks = [...document.querySelectorAll('[data-testid=scrub-mark][data-kind=fault]')] \
           .filter(e => /crash \\(SIGKILL\\) node 3|node 3 is gone/.test(e.textContent)) \
           .map(e => Number(e.dataset.event)); \
         return ks.length ? Math.min(...ks) : null",
    );
    let crash = crash
        .as_u64()
        .unwrap_or_else(|| panic!("the crash is marked on the timeline: {crash}"));
    common::rewind::drag_to(s, crash);
    s.wait("the page at the crash, an earlier moment", art, |s| {
        s.attr("[data-testid=scrub]", "data-cursor") == crash.to_string()
            && s.count("[data-testid=earlier]") == 1
    });
    let node_3_up = "[data-testid=ring-node][data-node=\"3\"].up";
    for _ in 0..50 {
        if s.count(node_3_up) == 1 {
            break;
        }
        s.click("[data-testid=step-back]");
    }
    assert_eq!(
        s.count(node_3_up),
        1,
        "node 3 up on the page before its crash"
    );
    assert_eq!(s.count("[data-testid=earlier]"), 1);
    let caption = s.text("[data-testid=earlier]");
    assert!(caption.contains("nodes go on"), "{caption}");
    s.screenshot(&art.join("web-live-rewind-before-crash.png"));
    s.click("[data-testid=to-head]");
    s.wait("the present again: node 3 down", art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].down") == 1
            && s.count("[data-testid=earlier]") == 0
    });
}

/// Stops the cluster it started, whatever happens to the test.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
}

impl Cluster {
    fn up(bin: &Path, dir: &Path) -> Cluster {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let c = Cluster {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
        };
        let out = Command::new(bin)
            .args(["cluster", "up", "--nodes", "4", "--base-port", "auto"])
            .arg("--data-dir")
            .arg(dir)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        assert!(
            out.status.success(),
            "cluster up failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        c
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .trim()
            .to_string()
    }

    /// `ringside inspect --json`: every node's view, from the real nodes.
    fn inspect(&self) -> Value {
        let out = Command::new(&self.bin)
            .args(["inspect", "--json", "--data-dir"])
            .arg(&self.dir)
            .output()
            .expect("ringside inspect");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("inspect --json prints JSON")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(&self.bin)
            .args(["cluster", "down", "--data-dir"])
            .arg(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn first_port(cluster: &Value) -> u16 {
    cluster["nodes"][0]["addr"]
        .as_str()
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(_, p)| p.parse().ok())
        .expect("node 0's address")
}

/// The value of `key` on `node` per the real node (`None`: not stored).
fn real_value(inspect: &Value, node: u64, key: u64) -> Option<String> {
    let n = inspect["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["id"] == json!(node))?;
    n["node"]["data"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == json!(key))
        .map(|kv| kv["value"].as_str().unwrap_or("").to_string())
}

fn hints_on(inspect: &Value, node: u64) -> usize {
    inspect["nodes"]
        .as_array()
        .and_then(|ns| ns.iter().find(|n| n["id"] == json!(node)))
        .and_then(|n| n["node"]["hints"].as_array())
        .map_or(0, |h| h.len())
}

fn has(s: &Session, node: u64, key: u64, value: &str) -> bool {
    s.count(&format!(
        "[data-replica=\"{node}\"] tr[data-key=\"{key}\"][data-value=\"{value}\"]"
    )) == 1
}

#[test]
#[ignore = "a browser test: run by `cargo xtask test`"]
fn the_page_drives_a_real_cluster() {
    let bin = common::ringside_bin();
    let env = BrowserEnv::chromium();
    let art = &env.art;
    let started = Instant::now();

    let dir = std::env::temp_dir().join(format!("ringside-web-live-{}", std::process::id()));
    let cluster = Cluster::up(&bin, &dir);
    let token = cluster.read("control.token");
    let control = cluster.read("control.addr");
    let port = first_port(&cluster.inspect());

    let server = Server::start(env.dist.clone());
    let driver = env.driver();
    let s = driver.session();
    s.goto(&server.url(&format!(
        "/?panel=full#live=ws://127.0.0.1:{port}&token={token}&control=ws://{control}"
    )));

    // Live, with the 4 real nodes up.
    s.wait("the page in live mode", art, |s| {
        s.count("[data-testid=mode][data-mode=live]") == 1
    });
    s.wait("4 live nodes up on the ring", art, |s| {
        s.count("[data-testid=ring-node].up") == 4
    });
    s.wait("a panel per node, crash enabled", art, |s| {
        s.count("[data-replica]") == 4 && s.count("[data-testid=crash-3]:enabled") == 1
    });

    // A QUORUM put typed into the page, through node 0, lands on 2, 3, 0.
    s.type_line("#console", "put 137 v quorum");
    s.wait("key 137 = v on nodes 2, 3 and 0", art, |s| {
        [2, 3, 0].iter().all(|&n| has(s, n, 137, "v"))
    });
    s.wait("the put answered ok", art, |s| {
        s.count("[data-testid=request][data-outcome=ok]") == 1
    });
    assert_eq!(s.count("[data-replica=\"1\"] tr[data-key=\"137\"]"), 0);

    // Crash node 3 from the page: the supervisor kills the process.
    common::checks::crash_3_until_node_0_holds_a_hint(&s, art);
    s.wait("the second put answered ok", art, |s| {
        s.count("[data-testid=request][data-outcome=ok]") == 2
    });
    let mid = cluster.inspect();
    assert_eq!(hints_on(&mid, 0), 1, "the real node 0 holds the hint");
    s.screenshot(&art.join("web-live-hint-held.png"));
    rewind_to_before_the_crash(&s, art);

    // Restart node 3 from the page: the hint is delivered.
    s.click("[data-testid=restart-3]");
    s.wait("node 3 back and the hint delivered", art, |s| {
        s.count("[data-replica=\"0\"] [data-hint-target=\"3\"]") == 0 && has(s, 3, 137, "w")
    });
    s.wait("node 3 up on the ring", art, |s| {
        s.count("[data-testid=ring-node][data-node=\"3\"].up") == 1
    });
    // Select the second put: its sequence diagram is on the screenshot.
    s.js("document.querySelectorAll('[data-testid=request] button')[0].click()");
    s.wait("a sequence diagram", art, |s| {
        s.count("[data-testid=sequence]") == 1
    });
    let shot = art.join("web-live.png");
    s.screenshot(&shot);
    // The README's picture, refreshed on request only (a test run leaves
    // the tree clean): RINGSIDE_UPDATE_SCREENSHOT=1.
    if std::env::var_os("RINGSIDE_UPDATE_SCREENSHOT").is_some() {
        let readme_shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshot.png");
        std::fs::copy(&shot, &readme_shot).unwrap();
        println!("updated {}", readme_shot.display());
    }

    // The real nodes agree with the page.
    let real = cluster.inspect();
    for n in [2, 3, 0] {
        assert_eq!(real_value(&real, n, 137).as_deref(), Some("w"), "node {n}");
        assert!(has(&s, n, 137, "w"), "the page shows w on node {n}");
    }
    assert_eq!(real_value(&real, 1, 137), None);
    assert_eq!(hints_on(&real, 0), 0, "node 0 forgot the delivered hint");

    // The link the demo prints opens the calm view: on a projector's
    // 1280x720 the ring, its legend and the timeline are whole on screen.
    s.viewport(1280, 720);
    s.goto(&server.url(&format!(
        "/#live=ws://127.0.0.1:{port}&token={token}&control=ws://{control}"
    )));
    s.wait(
        "the calm live view, 4 nodes up, every panel drawn",
        art,
        |s| {
            s.count("[data-testid=mode][data-mode=live]") == 1
                && s.count("[data-testid=ring-node].up") == 4
                && s.count("[data-replica]") == 4
                && s.text("[data-testid=source]").contains("4 real nodes")
        },
    );
    s.screenshot(&art.join("web-live-calm.png"));
    for (css, min_width) in [
        ("[data-testid=ring]", 430.0),
        (".ring-legend", 300.0),
        ("[data-testid=scrub]", 900.0),
    ] {
        common::calm::assert_on_screen(&s, css, min_width);
    }
    println!(
        "live end-to-end test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(s);
    drop(driver);
    drop(server);
    drop(cluster);
}
