//! What the browser tests and the wasm simulator benchmark share: where
//! the built page, the browsers and their drivers are (each missing piece
//! fails naming the command that provides it), a static file server for
//! the page (`server`), a WebDriver session through fantoccini
//! (`session`), and the checks every browser runs (`checks`, `rewind`,
//! `calm`, `why`, `lessons`, `lab`, `spacetime`, `usability`), each run
//! in Chromium by
//! its feature's test file and in Firefox by web/tests/firefox.rs. Each
//! test file uses what it needs.
#![allow(dead_code)]

pub mod calm;
pub mod checks;
pub mod lab;
pub mod lessons;
pub mod rewind;
mod server;
mod session;
pub mod spacetime;
pub mod usability;
pub mod why;

pub use server::Server;
pub use session::{Driver, Session};

use ringside_core::sim::Action;
use ringside_core::Micros;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long any one thing the page should do may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// How to get everything the browser tests need, named in every failure
/// about a missing piece.
const SETUP: &str = "`cargo xtask setup` installs trunk, the browsers and their drivers; \
                     `cargo xtask test` builds the page and runs these tests with all of it";

/// Why the browser tests are `#[ignore]`d in a plain `cargo test`: they
/// need the built page and a browser, which `cargo xtask test` provides
/// (it runs them by name: xtask/src/browser.rs). Run alone, a missing piece
/// fails the test naming the command that provides it.
pub const IGNORED: &str = "a browser test: run by `cargo xtask test`";

/// The two browsers the page is tested in, each through its own driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Browser {
    /// Chromium through chromedriver.
    Chromium,
    /// Firefox (ESR) through geckodriver.
    Firefox,
}

impl Browser {
    pub fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "Chromium",
            Browser::Firefox => "Firefox",
        }
    }

    /// How this browser's screenshots start: `web-*.png`, `firefox-*.png`.
    pub fn shot_prefix(self) -> &'static str {
        match self {
            Browser::Chromium => "web",
            Browser::Firefox => "firefox",
        }
    }
}

/// What every browser test reads from its environment (`cargo xtask test`
/// sets it): the built page, the browser and its driver, and where
/// screenshots go.
pub struct BrowserEnv {
    pub browser: Browser,
    pub dist: PathBuf,
    /// chromedriver or geckodriver.
    pub driver: PathBuf,
    /// The browser's executable.
    pub binary: PathBuf,
    pub art: PathBuf,
}

impl BrowserEnv {
    /// Chromium: `CHROMEDRIVER` / `CHROMIUM` (default: on PATH).
    pub fn chromium() -> BrowserEnv {
        let dist = dist_from_env();
        let driver = tool_from_env(
            "CHROMEDRIVER",
            on_path("chromedriver"),
            "as root: apt-get install chromium-driver",
        );
        let binary = tool_from_env(
            "CHROMIUM",
            on_path("chromium")
                .into_iter()
                .chain(on_path("chromium-browser")),
            "as root: apt-get install chromium",
        );
        BrowserEnv {
            browser: Browser::Chromium,
            dist,
            driver,
            binary,
            art: art_from_env(),
        }
    }

    /// Firefox: `GECKODRIVER` (default: cargo's bin dir, then PATH) and
    /// `FIREFOX` (default: /usr/bin/firefox-esr, then PATH).
    pub fn firefox() -> BrowserEnv {
        let dist = dist_from_env();
        let cargo_bin = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .map(|h| h.join("bin").join("geckodriver"));
        let driver = tool_from_env(
            "GECKODRIVER",
            cargo_bin.into_iter().chain(on_path("geckodriver")),
            "cargo install --locked geckodriver",
        );
        let binary = tool_from_env(
            "FIREFOX",
            std::iter::once(PathBuf::from("/usr/bin/firefox-esr"))
                .chain(on_path("firefox-esr"))
                .chain(on_path("firefox")),
            "as root: apt-get install firefox-esr",
        );
        BrowserEnv {
            browser: Browser::Firefox,
            dist,
            driver,
            binary,
            art: art_from_env(),
        }
    }

    /// Starts the driver (which starts the browser per session).
    pub fn driver(&self) -> Driver {
        Driver::start(self.browser, &self.driver, &self.binary, &self.art)
    }

    /// Runs one check in a fresh session of this browser, on the built
    /// page served by a server of its own; screenshots go to `art`.
    pub fn run(&self, check: fn(&Session, &Server, &Path)) {
        let server = Server::start(self.dist.clone());
        let driver = self.driver();
        check(&driver.session(), &server, &self.art);
    }
}

/// Opens the page with `query` (such as `?paused`) on seed 7's cluster of
/// 4 nodes, RF 3, playing `run` (its `#script=`), and waits for its ring.
pub fn open_run(s: &Session, server: &Server, art: &Path, query: &str, run: &[(Micros, Action)]) {
    let json = serde_json::to_string(run).expect("actions are JSON");
    s.goto(&server.url(&format!(
        "/{query}#seed=7&nodes=4&rf=3&script={}",
        encode(&json)
    )));
    s.wait("the ring with 4 nodes", art, |s| {
        s.count("[data-testid=ring-node]") == 4
    });
}

/// Percent-encodes a value for the page's link (`#script=`, `#lesson-url=`).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `RINGSIDE_DIST`, the built page; fails naming the command that builds
/// it when it is unset or holds no page.
fn dist_from_env() -> PathBuf {
    let build =
        "build it at the repository root with `trunk build --offline --dist target/xtask-dist` \
                 and set RINGSIDE_DIST to that directory's absolute path";
    let Some(dist) = std::env::var_os("RINGSIDE_DIST") else {
        panic!("RINGSIDE_DIST is not set: this test needs the built page: {build} ({SETUP})");
    };
    let dist = PathBuf::from(dist);
    assert!(
        dist.join("index.html").is_file(),
        "RINGSIDE_DIST={} holds no index.html: {build} ({SETUP})",
        dist.display()
    );
    dist
}

/// `RINGSIDE_BIN`, a built `ringside` (for the tests that start real
/// nodes); fails naming the command that builds it.
pub fn ringside_bin() -> PathBuf {
    let build = "build it with `cargo build -p ringside-native` and set RINGSIDE_BIN to \
                 target/debug/ringside's absolute path (`cargo xtask test` does both)";
    let Some(bin) = std::env::var_os("RINGSIDE_BIN") else {
        panic!("RINGSIDE_BIN is not set: this test starts real nodes: {build}");
    };
    let bin = PathBuf::from(bin);
    assert!(
        bin.is_file(),
        "RINGSIDE_BIN={} does not exist: {build}",
        bin.display()
    );
    bin
}

/// `RINGSIDE_ARTIFACTS` (default: the system's temp dir), created.
fn art_from_env() -> PathBuf {
    let art = std::env::var_os("RINGSIDE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&art).unwrap_or_else(|e| panic!("{}: {e}", art.display()));
    art
}

/// The tool `var` names (it must exist), else the first default that
/// exists; fails naming `install` when there is none.
fn tool_from_env(var: &str, defaults: impl IntoIterator<Item = PathBuf>, install: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "{var}={} does not exist: {install} ({SETUP})",
            p.display()
        );
        return p;
    }
    let mut tried = Vec::new();
    for p in defaults {
        if p.is_file() {
            return p;
        }
        tried.push(p.display().to_string());
    }
    panic!(
        "no {} (set {var}; tried {}): {install} ({SETUP})",
        var.to_ascii_lowercase(),
        if tried.is_empty() {
            "PATH".to_string()
        } else {
            tried.join(", ")
        }
    );
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
