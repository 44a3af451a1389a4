//! A browser driven through WebDriver: the driver process (chromedriver or
//! geckodriver) on a loopback port, and a session in it through
//! fantoccini. The checks are written as a student's steps, one after the
//! other, so `Session` offers them synchronously: each step runs the
//! fantoccini future to completion on the session's own single-thread
//! runtime.

use super::{Browser, WAIT};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

/// A running chromedriver or geckodriver, on a free loopback port.
pub struct Driver {
    child: Child,
    port: u16,
    browser: Browser,
    binary: PathBuf,
    /// Chromium's user data dir; for Firefox, where geckodriver makes its
    /// fresh profile per session. Removed on drop.
    profile: PathBuf,
    /// The driver's output ([`driver_log`]).
    log: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A port free a moment ago, below the kernel's range for outgoing
/// connections. The driver binds it itself, so another process may take
/// it first: `Driver::start` then tries another.
fn unused_port() -> u16 {
    ringside_native::ports::free_port_range(1).expect("a free loopback port")
}

/// Where the driver's output goes: a file per test (the test's thread
/// is named after it), since the tests run side by side and would
/// otherwise each start the same file over. geckodriver's carries the
/// page's console too.
fn driver_log(browser: Browser, art: &Path) -> PathBuf {
    let test = thread::current()
        .name()
        .unwrap_or("main")
        .replace("::", "-");
    let driver = match browser {
        Browser::Chromium => "chromedriver",
        Browser::Firefox => "geckodriver",
    };
    art.join(format!("{}-{driver}-{test}.log", browser.shot_prefix()))
}

impl Driver {
    /// Starts `driver` (chromedriver or geckodriver) for `browser`, whose
    /// executable is `binary`, and waits until it listens. Its output
    /// goes to [`driver_log`].
    pub fn start(browser: Browser, driver: &Path, binary: &Path, art: &Path) -> Driver {
        let mut last_exit = None;
        for _ in 0..3 {
            let port = unused_port();
            let mut d = Driver::spawn(browser, driver, binary, art, port);
            let deadline = Instant::now() + WAIT;
            loop {
                let listens = TcpStream::connect(("127.0.0.1", port)).is_ok();
                // A driver that exited (its port taken meanwhile) leaves
                // whoever took the port listening: only ours counts.
                if let Ok(Some(status)) = d.child.try_wait() {
                    // Most likely the port was taken in the meantime.
                    last_exit = Some(status);
                    break;
                }
                if listens {
                    return d;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} did not listen on port {port} within {WAIT:?}",
                    driver.display()
                );
                thread::sleep(Duration::from_millis(50));
            }
        }
        panic!(
            "{} exited before listening, three times (last: {last_exit:?}); see {}",
            driver.display(),
            driver_log(browser, art).display()
        );
    }

    fn spawn(browser: Browser, driver: &Path, binary: &Path, art: &Path, port: u16) -> Driver {
        let profile = std::env::temp_dir().join(format!(
            "ringside-{}-{}-{}",
            browser.shot_prefix(),
            std::process::id(),
            port
        ));
        let mut cmd = Command::new(driver);
        let log_path = driver_log(browser, art);
        let log = std::fs::File::create(&log_path)
            .unwrap_or_else(|e| panic!("{}: {e}", log_path.display()));
        let log2 = log
            .try_clone()
            .unwrap_or_else(|e| panic!("{}: {e}", log_path.display()));
        match browser {
            Browser::Chromium => {
                cmd.arg(format!("--port={port}")).stdout(log2).stderr(log);
            }
            Browser::Firefox => {
                std::fs::create_dir_all(&profile)
                    .unwrap_or_else(|e| panic!("{}: {e}", profile.display()));
                // --websocket-port 0: the BiDi port is picked free too
                // (default 9222), so drivers can run side by side.
                cmd.args(["--port", &port.to_string(), "--websocket-port", "0"])
                    .arg("--binary")
                    .arg(binary)
                    .arg("--profile-root")
                    .arg(&profile)
                    .env("MOZ_HEADLESS", "1")
                    .stdout(log2)
                    .stderr(log);
            }
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
        Driver {
            child,
            port,
            browser,
            binary: binary.to_path_buf(),
            profile,
            log: log_path,
        }
    }

    /// The capabilities of a headless session, its window 1600 x 1400.
    fn capabilities(&self) -> Map<String, Value> {
        let caps = match self.browser {
            Browser::Chromium => json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": self.binary,
                    "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                             "--no-first-run", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync",
                             "--window-size=1600,1400",
                             format!("--user-data-dir={}", self.profile.display())]
                }
            }),
            Browser::Firefox => json!({
                "browserName": "firefox",
                "moz:firefoxOptions": {
                    "binary": self.binary,
                    "args": ["-headless"],
                    "prefs": firefox_prefs(),
                }
            }),
        };
        match caps {
            Value::Object(m) => m,
            _ => unreachable!("capabilities are a JSON object"),
        }
    }

    /// A new browser session, its window 1600 x 1400.
    pub fn session(&self) -> Session {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        // Twice at most: on a loaded machine a browser may fail to start
        // once; the driver's log says why.
        let connect = || {
            rt.block_on(
                ClientBuilder::new(HttpConnector::new())
                    .capabilities(self.capabilities())
                    .connect(&format!("http://127.0.0.1:{}", self.port)),
            )
            .map_err(|e| e.to_string())
        };
        let client = connect()
            .or_else(|first| {
                thread::sleep(Duration::from_secs(1));
                connect().map_err(|second| format!("{first}; then, once more: {second}"))
            })
            .unwrap_or_else(|e| {
                panic!(
                    "a {} session: {e} (the driver's log: {})",
                    self.browser.name(),
                    self.log.display()
                )
            });
        let s = Session {
            rt,
            client: Some(client),
            browser: self.browser,
        };
        if self.browser == Browser::Firefox {
            // Firefox takes no window size among its arguments.
            s.step("set the window size", |c| c.set_window_size(1600, 1400));
        }
        s
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

/// One browser session; ended when dropped.
pub struct Session {
    rt: tokio::runtime::Runtime,
    /// `None` only while dropping (closing consumes the client).
    client: Option<Client>,
    browser: Browser,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
    }
}

impl Session {
    /// Runs one WebDriver step to completion; a failure names the step.
    fn step<'a, T, E, F>(&'a self, what: &str, f: impl FnOnce(&'a Client) -> F) -> T
    where
        F: Future<Output = Result<T, E>> + 'a,
        E: std::fmt::Display,
    {
        let client = self.client.as_ref().expect("a live session");
        self.rt
            .block_on(f(client))
            .unwrap_or_else(|e| panic!("{}: webdriver: {what}: {e}", self.browser.name()))
    }

    pub fn browser(&self) -> Browser {
        self.browser
    }

    pub fn goto(&self, url: &str) {
        self.step(&format!("open {url}"), |c| c.goto(url));
    }

    /// Resizes the browser's window (to see the page as a projector would).
    pub fn window_size(&self, width: u32, height: u32) {
        self.step(&format!("resize to {width}x{height}"), |c| {
            c.set_window_size(width, height)
        });
    }

    /// Resizes the window so that the page itself (the viewport, without
    /// the browser's own bars) is `width` x `height`, as on a projector;
    /// fails when the browser cannot make it so.
    pub fn viewport(&self, width: u32, height: u32) {
        let want = (i64::from(width), i64::from(height));
        let inner = |s: &Self| {
            let v = s.js("return [window.innerWidth, window.innerHeight]");
            let n = |i: usize| v[i].as_i64().unwrap_or(0);
            (n(0), n(1))
        };
        // The window is asked for the viewport's size, then for as much
        // more as the browser's bars take. A busy browser tells the page
        // its new size a moment after the resize: each size is read until
        // two reads agree.
        let mut asked = want;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            self.window_size(asked.0.max(1) as u32, asked.1.max(1) as u32);
            let mut seen = inner(self);
            loop {
                thread::sleep(Duration::from_millis(50));
                let again = inner(self);
                if again == seen {
                    break;
                }
                seen = again;
            }
            if seen == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: the viewport is not {width}x{height} but {}x{}",
                self.browser.name(),
                seen.0,
                seen.1
            );
            asked = (asked.0 + want.0 - seen.0, asked.1 + want.1 - seen.1);
        }
    }

    /// Runs `script` in the page and returns what it returns.
    pub fn js(&self, script: &str) -> Value {
        self.step(&format!("run {script:?}"), |c| c.execute(script, vec![]))
    }

    pub fn click(&self, css: &str) {
        self.step(&format!("click {css}"), |c| async move {
            c.find(Locator::Css(css)).await?.click().await
        });
    }

    /// Types `text` into the element `css` names, then Enter.
    pub fn type_line(&self, css: &str, text: &str) {
        let keys = format!("{text}{}", char::from(fantoccini::key::Key::Enter));
        self.step(&format!("type {text:?} into {css}"), |c| async move {
            c.find(Locator::Css(css)).await?.send_keys(&keys).await
        });
    }

    /// Clicks `(x, y)` CSS pixels from the centre of the element `css`
    /// names, as a person's mouse does: whatever is on top there gets the
    /// click (for a canvas that lets clicks through to what is beneath).
    pub fn click_at(&self, css: &str, x: f64, y: f64) {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        self.step(&format!("click {css} at {x:.0}, {y:.0}"), |c| async move {
            let element = c.find(Locator::Css(css)).await?;
            let mouse = MouseActions::new("mouse".into())
                .then(PointerAction::MoveToElement {
                    element,
                    duration: None,
                    x: x.round(),
                    y: y.round(),
                })
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                })
                .then(PointerAction::Up {
                    button: MOUSE_BUTTON_LEFT,
                });
            c.perform_actions(mouse).await
        });
    }

    /// Presses and releases `key` (a character, or a special key such as
    /// `fantoccini::key::Key::Tab` as a char) on the keyboard, wherever
    /// the focus is, as a person's key press does.
    pub fn press(&self, key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.step(&format!("press {key:?}"), |c| async move {
            c.perform_actions(keys).await
        });
    }

    /// Sends `text` as keystrokes to the element `css` names (for a file
    /// input: the file's absolute path, which picks it).
    pub fn send_keys(&self, css: &str, text: &str) {
        self.step(&format!("send {text:?} to {css}"), |c| async move {
            c.find(Locator::Css(css)).await?.send_keys(text).await
        });
    }

    /// The text of the first element `css` names ("" when there is none).
    pub fn text(&self, css: &str) -> String {
        let quoted = serde_json::to_string(css).expect("a string is JSON");
        let v = self.js(&format!(
            "const e = document.querySelector({quoted}); return e ? e.innerText : ''"
        ));
        v.as_str().unwrap_or("").to_string()
    }

    /// The `textContent` of the first element `css` names ("" when there
    /// is none): unlike [`Session::text`] it reads SVG elements and
    /// hidden ones too.
    pub fn text_content(&self, css: &str) -> String {
        let quoted = serde_json::to_string(css).expect("a string is JSON");
        let v = self.js(&format!(
            "const e = document.querySelector({quoted}); return e ? e.textContent : ''"
        ));
        v.as_str().unwrap_or("").to_string()
    }

    /// The attribute `name` of the first element `css` names ("" when
    /// there is none, or it has no such attribute).
    pub fn attr(&self, css: &str, name: &str) -> String {
        let q = serde_json::to_string(css).expect("a string is JSON");
        let n = serde_json::to_string(name).expect("a string is JSON");
        let v = self.js(&format!(
            "const e = document.querySelector({q}); return e ? (e.getAttribute({n}) || '') : ''"
        ));
        v.as_str().unwrap_or("").to_string()
    }

    /// What `expr`, a script expression on `e`, the element with the
    /// keyboard's focus, says of it ("" when nothing has the focus or the
    /// expression is empty), e.g. `e.dataset.key`.
    pub fn focused(&self, expr: &str) -> String {
        let v = self.js(&format!(
            "const e = document.activeElement; return e ? String(({expr}) || '') : ''"
        ));
        v.as_str().unwrap_or("").to_string()
    }

    /// How many elements `css` matches now.
    pub fn count(&self, css: &str) -> u64 {
        let quoted = serde_json::to_string(css).expect("a string is JSON");
        self.js(&format!(
            "return document.querySelectorAll({quoted}).length"
        ))
        .as_u64()
        .unwrap_or(0)
    }

    /// Saves a screenshot as `art/<prefix>-<name>.png` (`web-` for
    /// Chromium, `firefox-` for Firefox).
    pub fn shot(&self, art: &Path, name: &str) -> PathBuf {
        let path = art.join(format!("{}-{name}.png", self.browser.shot_prefix()));
        self.screenshot(&path);
        path
    }

    pub fn screenshot(&self, path: &Path) {
        let png = self.step("take a screenshot", |c| c.screenshot());
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("screenshot: {}", path.display());
    }

    /// Waits until `cond` holds, or fails with a screenshot and the text of
    /// the page.
    pub fn wait(&self, what: &str, art: &Path, cond: impl Fn(&Self) -> bool) {
        self.wait_for(what, art, WAIT, cond);
    }

    /// `wait` with a deadline of its own.
    pub fn wait_for(&self, what: &str, art: &Path, limit: Duration, cond: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + limit;
        while !cond(self) {
            if Instant::now() > deadline {
                let shot = self.shot(art, "failure");
                let text = self.js("return document.body.innerText");
                let text: String = text.as_str().unwrap_or("").chars().take(4000).collect();
                panic!(
                    "{}: timed out waiting for: {what}\nscreenshot: {}\npage text:\n{text}",
                    self.browser.name(),
                    shot.display()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}
