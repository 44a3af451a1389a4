//! What the browser tests share: a tiny static file server for the built
//! page and a tiny WebDriver client (std only), on loopback ports picked
//! free. Each test file uses what it needs.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(30);

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
    pub driver: String,
    /// The browser's executable.
    pub binary: String,
    pub art: PathBuf,
}

impl BrowserEnv {
    /// Chromium: `CHROMEDRIVER` / `CHROMIUM` (default: /usr/bin/chromedriver,
    /// /usr/bin/chromium). `None`, after saying why, when `RINGSIDE_DIST`
    /// is unset.
    pub fn chromium() -> Option<BrowserEnv> {
        let dist = dist_from_env()?;
        let driver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        Some(BrowserEnv {
            browser: Browser::Chromium,
            dist,
            driver,
            binary,
            art: art_from_env(),
        })
    }

    /// Firefox: `GECKODRIVER` (default: cargo's bin dir, then PATH) and
    /// `FIREFOX` (default: /usr/bin/firefox-esr, then PATH). `None`, after
    /// saying why, when `RINGSIDE_DIST` is unset or a default is not
    /// found; a path set explicitly must exist (`cargo xtask test` sets
    /// both, so there it never skips).
    pub fn firefox() -> Option<BrowserEnv> {
        let dist = dist_from_env()?;
        let cargo_bin = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .map(|h| h.join("bin").join("geckodriver"));
        let driver = tool_from_env(
            "GECKODRIVER",
            cargo_bin.into_iter().chain(on_path("geckodriver")),
            "`cargo install geckodriver`",
        )?;
        let binary = tool_from_env(
            "FIREFOX",
            std::iter::once(PathBuf::from("/usr/bin/firefox-esr"))
                .chain(on_path("firefox-esr"))
                .chain(on_path("firefox")),
            "as root: apt-get install firefox-esr",
        )?;
        Some(BrowserEnv {
            browser: Browser::Firefox,
            dist,
            driver,
            binary,
            art: art_from_env(),
        })
    }

    /// Starts the driver (which starts the browser per session).
    pub fn driver(&self) -> Driver {
        Driver::start(self.browser, &self.driver, &self.binary, &self.art)
    }
}

/// `RINGSIDE_DIST`, checked; `None`, after saying why, when unset.
fn dist_from_env() -> Option<PathBuf> {
    let Some(dist) = std::env::var_os("RINGSIDE_DIST") else {
        println!("skipped: set RINGSIDE_DIST (cargo xtask test does)");
        return None;
    };
    let dist = PathBuf::from(dist);
    assert!(
        dist.join("index.html").exists(),
        "RINGSIDE_DIST={} has no index.html: run `trunk build --offline` first",
        dist.display()
    );
    Some(dist)
}

/// `RINGSIDE_ARTIFACTS` (default: the system's temp dir), created.
fn art_from_env() -> PathBuf {
    let art = std::env::var_os("RINGSIDE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&art).unwrap();
    art
}

/// The tool `var` names (it must exist), else the first default that
/// exists; `None`, after saying why, when there is none.
fn tool_from_env(
    var: &str,
    defaults: impl Iterator<Item = PathBuf>,
    install: &str,
) -> Option<String> {
    if let Some(p) = std::env::var_os(var) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "{var}={} does not exist", p.display());
        return Some(p.to_string_lossy().into_owned());
    }
    let mut tried = Vec::new();
    for p in defaults {
        if p.is_file() {
            return Some(p.to_string_lossy().into_owned());
        }
        tried.push(p.display().to_string());
    }
    println!(
        "skipped: no {} (tried {}): set {var} or {install}; cargo xtask test does",
        var.to_ascii_lowercase(),
        tried.join(", ")
    );
    None
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

// ----- a static file server for the dist dir -----

pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

pub fn serve_one(mut s: TcpStream, root: &Path) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match s.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(_) if h == "\r\n" || h == "\n" => break,
            Ok(_) => {}
        }
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let rel = path.trim_start_matches('/');
    let file = if rel.is_empty() || rel.contains("..") {
        root.join("index.html")
    } else {
        root.join(rel)
    };
    let (status, body, ctype) = match std::fs::read(&file) {
        Ok(b) => ("200 OK", b, content_type(&file)),
        Err(_) => ("404 Not Found", b"not found".to_vec(), "text/plain"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(&body);
}

impl Server {
    pub fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let root = root.clone();
                        thread::spawn(move || serve_one(s, &root));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ----- a minimal WebDriver client -----

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    // Read the head, then exactly the body: chromedriver keeps the
    // connection open whatever the request asked.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed before the header".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut payload = raw[split + 4..].to_vec();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let complete = match length {
            Some(len) => payload.len() >= len,
            None if chunked => payload.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = s.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        payload.extend_from_slice(&buf[..n]);
    }
    if chunked {
        payload = dechunk(&payload);
    }
    let v: Value = serde_json::from_slice(&payload)
        .map_err(|e| format!("{method} {path}: not JSON ({e}): {head}"))?;
    if let Some(err) = v["value"].get("error") {
        return Err(format!("{method} {path}: {err}: {}", v["value"]["message"]));
    }
    Ok(v)
}

pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let len = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if len == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + len]);
        b = &b[i + 2 + len + 2..];
    }
    out
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A running chromedriver or geckodriver, on a free loopback port.
pub struct Driver {
    child: Child,
    pub port: u16,
    pub browser: Browser,
    binary: String,
    /// Chromium's user data dir; for Firefox, where geckodriver makes its
    /// fresh profile per session. Removed on drop.
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = http(
            self.driver.port,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
        );
    }
}

/// Firefox preferences for a quiet test browser: nothing updated, reported
/// or fetched behind the page's back, no first-run pages, and the page's
/// console on stdout (in the geckodriver log). geckodriver sets many more
/// of this kind itself.
fn firefox_prefs() -> Value {
    json!({
        "app.update.enabled": false,
        "app.update.auto": false,
        "app.update.checkInstallTime": false,
        "app.normandy.enabled": false,
        "app.shield.optoutstudies.enabled": false,
        "messaging-system.rsexperimentloader.enabled": false,
        "browser.backup.enabled": false,
        "browser.backup.scheduled.enabled": false,
        "browser.shell.checkDefaultBrowser": false,
        "browser.startup.homepage_override.mstone": "ignore",
        "browser.aboutwelcome.enabled": false,
        "browser.newtabpage.enabled": false,
        "browser.search.update": false,
        "browser.safebrowsing.malware.enabled": false,
        "browser.safebrowsing.phishing.enabled": false,
        "browser.safebrowsing.downloads.enabled": false,
        "browser.ping-centre.telemetry": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "datareporting.healthreport.uploadEnabled": false,
        "toolkit.telemetry.enabled": false,
        "toolkit.telemetry.unified": false,
        "extensions.update.enabled": false,
        "extensions.getAddons.cache.enabled": false,
        "media.gmp-manager.updateEnabled": false,
        "network.captive-portal-service.enabled": false,
        "network.connectivity-service.enabled": false,
        "network.dns.disablePrefetch": true,
        "network.prefetch-next": false,
        "geo.provider.network.url": "",
        "devtools.console.stdout.content": true,
    })
}

impl Driver {
    /// Starts `driver` (chromedriver or geckodriver) for `browser`, whose
    /// executable is `binary`. geckodriver's output (with the page's
    /// console) goes to `art/firefox-geckodriver.log`.
    pub fn start(browser: Browser, driver: &str, binary: &str, art: &Path) -> Driver {
        let port = free_port();
        let profile = std::env::temp_dir().join(format!(
            "ringside-{}-{}-{}",
            browser.shot_prefix(),
            std::process::id(),
            port
        ));
        let mut cmd = Command::new(driver);
        match browser {
            Browser::Chromium => {
                cmd.arg(format!("--port={port}"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
            }
            Browser::Firefox => {
                std::fs::create_dir_all(&profile).unwrap();
                let log_path = art.join("firefox-geckodriver.log");
                let log = std::fs::File::create(&log_path)
                    .unwrap_or_else(|e| panic!("{}: {e}", log_path.display()));
                // --websocket-port 0: the BiDi port is picked free too
                // (default 9222), so drivers can run side by side.
                cmd.args(["--port", &port.to_string(), "--websocket-port", "0"])
                    .arg("--binary")
                    .arg(binary)
                    .arg("--profile-root")
                    .arg(&profile)
                    .env("MOZ_HEADLESS", "1")
                    .stdout(log.try_clone().unwrap())
                    .stderr(log);
            }
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {driver}: {e}"));
        let d = Driver {
            child,
            port,
            browser,
            binary: binary.to_string(),
            profile,
        };
        let deadline = Instant::now() + WAIT;
        while http(port, "GET", "/status", None)
            .map(|v| v["value"]["ready"] != json!(true))
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "{driver} did not start");
            thread::sleep(Duration::from_millis(100));
        }
        d
    }

    /// A new browser session, its window 1600 x 1400.
    pub fn session(&self) -> Session<'_> {
        let caps = match self.browser {
            Browser::Chromium => json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": self.binary,
                    "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                             "--no-first-run", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync",
                             "--window-size=1600,1400",
                             format!("--user-data-dir={}", self.profile.display())]
                }
            }}}),
            Browser::Firefox => json!({"capabilities": {"alwaysMatch": {
                "browserName": "firefox",
                "moz:firefoxOptions": {
                    "binary": self.binary,
                    "args": ["-headless"],
                    "prefs": firefox_prefs(),
                }
            }}}),
        };
        let v = http(self.port, "POST", "/session", Some(&caps))
            .unwrap_or_else(|e| panic!("a {} session: {e}", self.browser.name()));
        let s = Session {
            driver: self,
            id: v["value"]["sessionId"].as_str().unwrap().to_string(),
        };
        if self.browser == Browser::Firefox {
            s.call(
                "POST",
                "/window/rect",
                Some(json!({"width": 1600, "height": 1400})),
            );
        }
        s
    }
}

impl Session<'_> {
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let p = format!("/session/{}{path}", self.id);
        http(self.driver.port, method, &p, body.as_ref())
            .unwrap_or_else(|e| panic!("webdriver: {e}"))["value"]
            .clone()
    }

    pub fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    pub fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    pub fn click(&self, css: &str) {
        let e = self.element(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    pub fn type_line(&self, css: &str, text: &str) {
        let e = self.element(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": format!("{text}\u{E007}")})),
        );
    }

    pub fn count(&self, css: &str) -> u64 {
        let css = serde_json::to_string(css).unwrap();
        self.js(&format!("return document.querySelectorAll({css}).length"))
            .as_u64()
            .unwrap_or(0)
    }

    pub fn browser(&self) -> Browser {
        self.driver.browser
    }

    /// Saves a screenshot as `art/<prefix>-<name>.png` (`web-` for
    /// Chromium, `firefox-` for Firefox).
    pub fn shot(&self, art: &Path, name: &str) -> PathBuf {
        let path = art.join(format!("{}-{name}.png", self.browser().shot_prefix()));
        self.screenshot(&path);
        path
    }

    pub fn screenshot(&self, path: &Path) {
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().unwrap_or(""));
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("screenshot: {}", path.display());
    }

    /// Waits until `cond` holds, or fails with a screenshot and the text of
    /// the page.
    pub fn wait(&self, what: &str, art: &Path, cond: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !cond(self) {
            if Instant::now() > deadline {
                let shot = self.shot(art, "failure");
                let text = self.js("return document.body.innerText");
                let text: String = text.as_str().unwrap_or("").chars().take(4000).collect();
                panic!(
                    "{}: timed out waiting for: {what}\nscreenshot: {}\npage text:\n{text}",
                    self.browser().name(),
                    shot.display()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

// ----- the checks every browser runs on the simulated page -----

/// Runs every check below in `env`'s browser, printing its user agent and
/// how long the checks took (`<browser> browser test: N s`).
pub fn check_the_page(env: &BrowserEnv, browser: &str) {
    let started = Instant::now();
    let server = Server::start(env.dist.clone());
    let driver = env.driver();
    let s = driver.session();
    let ua = s.js("return navigator.userAgent");
    println!("{}", ua.as_str().unwrap_or(""));
    check_replicas_hints_and_handoff(&s, &server, &env.art);
    check_16_nodes_under_load(&s, &server, &env.art);
    println!(
        "{browser} browser test: {:.1} s",
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
/// 2, 3 and 0, crashing node 3 and writing again leaves a hint for node 3
/// on the coordinator, restarting node 3 delivers it, and the
/// hinted-handoff guided scenario runs to its end. Screenshots:
/// `<prefix>-hint-held.png`, `<prefix>-handoff-done.png`,
/// `<prefix>-scenario-hinted-handoff.png`.
pub fn check_replicas_hints_and_handoff(s: &Session, server: &Server, art: &Path) {
    // speed=3: three simulated seconds per real second, so failure
    // detection (about 1 s simulated) takes a third of a second.
    let url = format!("http://127.0.0.1:{}/?speed=3#seed=7", server.port);
    s.call("POST", "/url", Some(json!({ "url": url })));

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

    // The hinted-handoff guided scenario runs to its end, every check ✓.
    s.click("[data-scenario-start=\"hinted-handoff\"]");
    s.wait("the hinted-handoff scenario done", art, |s| {
        s.count("[data-testid=scenario-status][data-status=done]") == 1
    });
    assert_eq!(s.count("[data-testid=scenario] .checks .bad"), 0);
    assert!(s.count("[data-testid=scenario] .checks .ok") >= 4);
    let status = s.js("return document.querySelector('[data-testid=scenario-status]').innerText");
    assert_eq!(status, json!("done"));
    // The share link carries the script: the scenario's actions.
    let hash = s.js("return location.hash");
    let hash = hash.as_str().unwrap_or("");
    assert!(
        hash.contains("seed=7") && hash.contains("script="),
        "{hash}"
    );
    s.shot(art, "scenario-hinted-handoff");
}

/// 16 nodes with vnodes under a random load: the page keeps drawing. The
/// frame rate is printed and returned (headless browsers render in
/// software, so it is a floor for a real browser). Screenshot:
/// `<prefix>-16-nodes-under-load.png`.
pub fn check_16_nodes_under_load(s: &Session, server: &Server, art: &Path) -> f64 {
    let url = format!(
        "http://127.0.0.1:{}/?speed=0.3&fps=1&load=300#seed=7&nodes=16&rf=3&vnodes=8",
        server.port
    );
    s.call("POST", "/url", Some(json!({ "url": url })));
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
