//! `cargo xtask`: the project's two commands and their helpers.
//!
//! - `cargo xtask test`: every check (format, clippy, all tests, the wasm
//!   build, the browser tests), installing what is missing first.
//! - `cargo xtask demo`: a 4-node native cluster plus the web UI on
//!   `trunk serve`; prints the URL; Ctrl-C stops everything it started.
//! - `cargo xtask setup`: only install what is missing.
//! - `cargo xtask sweep N`, `cargo xtask chaos`, `cargo xtask bench`,
//!   `cargo xtask fuzz`: the longer checks, when they exist.
//!
//! Installs are idempotent: each tool is checked (and its version
//! compared) before anything is installed.

mod bench;
mod browser;
mod chaos;
mod wasm_opt;
// The native crate's free-port finder, by path: it uses only std, and
// depending on the whole native crate would build tokio for xtask.
#[path = "../../native/src/ports.rs"]
mod ports;

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{exit, Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TRUNK_VERSION: &str = "0.21.14";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Features the checks build with and release builds leave off: the hook
/// that lets the chaos test step a running node's clock.
const TEST_FEATURES: &str = "ringside-native/clock-hook";
/// The geckodriver `cargo xtask setup` installs when there is none (the
/// Firefox browser test drives firefox-esr with it); it builds `--locked`
/// with our toolchain.
const GECKODRIVER_VERSION: &str = "0.37.1";

const HELP: &str = "\
cargo xtask <command>

commands:
  test            every check: fmt, clippy, all tests, the wasm build, browser tests
  demo            start a 4-node cluster and the web UI (trunk serve); Ctrl-C stops both
  setup           install what the tests and the demo need (wasm target, trunk,
                  wasm-bindgen-cli, chromium + chromedriver, firefox-esr +
                  geckodriver), skipping what is there; the bench's release
                  page build installs wasm-opt from npm's binaryen itself
  sweep [N]       the simulator sweep with N seeds (default 100000)
  fuzz [--seconds N] [TARGET...]
                  run each cargo-fuzz target (client_frame, peer_message, commit_log)
                  for N seconds (default 60), starting from the checked-in seed corpus
  chaos [--minutes M] [--seed S] [--nodes N] [--clients C]
                  a real release-built cluster under clients while a nemesis kills,
                  stops, pauses and restarts nodes; the history is checked (default 5 min)
  bench [--rounds R] [--seconds S] [--clients N] [--records N] [--no-web] [--quick]
                  ringside bench beside redis-benchmark in one run, in rounds, the
                  ratios of the performance issue (the median round's), replay
                  speed, memory, web bundle size
  help            this text

test options:
  --no-browser    skip building the web bundle and the browser tests
  --quick         skip clippy and fmt (while iterating)

demo options:
  --base-port P   first node port (default 9000)
  --ui-port P     the web UI's port (default 8080)
  --data-dir DIR  where the demo cluster lives (default target/demo-cluster)";

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let root = project_root();
    env::set_current_dir(&root)
        .unwrap_or_else(|e| die(&format!("cannot enter {}: {e}", root.display())));
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("demo") => demo(&args[1..]),
        Some("setup") => setup(true).map(|_| ()),
        Some("sweep") => sweep(&args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("chaos") => chaos::run(&args[1..]),
        Some("help") | Some("--help") | Some("-h") | None => {
            println!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{HELP}")),
    };
    if let Err(e) = result {
        die(&e);
    }
}

fn die(msg: &str) -> ! {
    eprintln!("xtask: error: {msg}");
    exit(1)
}

fn project_root() -> PathBuf {
    let dir = env::var("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| env::current_dir().unwrap_or_default());
    dir.ancestors()
        .find(|d| d.join("Cargo.toml").exists() && d.join("core").is_dir())
        .map(Path::to_path_buf)
        .unwrap_or(dir)
}

fn step(title: &str) {
    println!("\n==> {title}");
}

/// Runs a command, streaming its output; an error names it.
fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = show(cmd);
    println!("$ {shown}");
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        println!("   ({:.1}s)", started.elapsed().as_secs_f64());
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().to_string();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Where the web tools are: cargo's bin dir, also put on PATH for trunk
/// (after the npm wasm-opt's, see `tool_path`).
fn cargo_bin_dir() -> PathBuf {
    let home = env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env::var("HOME").unwrap_or_default()).join(".cargo"));
    home.join("bin")
}

/// PATH for the tools xtask runs: the npm wasm-opt's dir (trunk takes the
/// first `wasm-opt` on PATH), cargo's bin dir, then the caller's PATH.
fn tool_path() -> std::ffi::OsString {
    let mut paths = vec![wasm_opt::bin_dir(), cargo_bin_dir()];
    if let Some(p) = env::var_os("PATH") {
        paths.extend(env::split_paths(&p));
    }
    env::join_paths(paths).unwrap_or_default()
}

fn tool_version(tool: &str) -> Option<String> {
    let path = cargo_bin_dir().join(tool);
    let program = if path.exists() {
        path.to_string_lossy().to_string()
    } else {
        tool.to_string()
    };
    output(&program, &["--version"])
}

/// The wasm-bindgen version Cargo.lock holds (the CLI must match it).
fn locked_wasm_bindgen() -> Result<String, String> {
    let lock = fs::read_to_string("Cargo.lock").map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package; is web/ a member?".into())
}

struct Tools {
    chromium: Option<PathBuf>,
    chromedriver: Option<PathBuf>,
    firefox: Option<PathBuf>,
    geckodriver: Option<PathBuf>,
}

/// geckodriver in cargo's bin dir, else on PATH.
fn find_geckodriver() -> Option<PathBuf> {
    let p = cargo_bin_dir().join("geckodriver");
    if p.is_file() {
        Some(p)
    } else {
        find_exe(&["geckodriver"])
    }
}

/// Installs what is missing. With `browser`, the browsers the page is
/// tested in too: Chromium and Firefox ESR, and their drivers.
fn setup(browser: bool) -> Result<Tools, String> {
    step("checking tools (installing what is missing)");
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if targets.lines().any(|l| l.trim() == WASM_TARGET) {
        println!("ok: rust target {WASM_TARGET}");
    } else {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    // Generating the lock file is cheap and needs no build.
    if !Path::new("Cargo.lock").exists() {
        run(cargo().args(["generate-lockfile"]))?;
    }
    match tool_version("trunk") {
        Some(v) if v.contains(TRUNK_VERSION) => println!("ok: trunk {TRUNK_VERSION}"),
        found => {
            println!(
                "installing trunk {TRUNK_VERSION} (found: {:?}); this takes a few minutes",
                found.map(|s| s.trim().to_string())
            );
            run(cargo().args(["install", "--locked", &format!("trunk@{TRUNK_VERSION}")]))?;
        }
    }
    let wb = locked_wasm_bindgen()?;
    match tool_version("wasm-bindgen") {
        Some(v) if v.split_whitespace().any(|w| w == wb) => println!("ok: wasm-bindgen-cli {wb}"),
        found => {
            println!(
                "installing wasm-bindgen-cli {wb} (found: {:?})",
                found.map(|s| s.trim().to_string())
            );
            // Not --locked: one of its locked dependencies left the registry.
            run(cargo().args(["install", "--force", &format!("wasm-bindgen-cli@{wb}")]))?;
        }
    }
    // wasm-opt is installed by the release build that needs it (the
    // bench), not here: the tests and the demo build the page for debug.
    let mut tools = Tools {
        chromium: find_exe(&["chromium", "chromium-browser"]),
        chromedriver: find_exe(&["chromedriver"]),
        firefox: find_exe(&["firefox-esr", "firefox"]),
        geckodriver: find_geckodriver(),
    };
    if browser {
        let mut missing = Vec::new();
        if tools.chromium.is_none() || tools.chromedriver.is_none() {
            missing.extend(["chromium", "chromium-driver"]);
        }
        if tools.firefox.is_none() {
            missing.push("firefox-esr");
        }
        if !missing.is_empty() && is_root() && Path::new("/usr/bin/apt-get").exists() {
            println!("installing {} with apt-get", missing.join(", "));
            run(Command::new("apt-get").arg("update").arg("-q"))?;
            run(Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"))?;
            tools.chromium = find_exe(&["chromium", "chromium-browser"]);
            tools.chromedriver = find_exe(&["chromedriver"]);
            tools.firefox = find_exe(&["firefox-esr", "firefox"]);
        }
        if tools.chromium.is_none() || tools.chromedriver.is_none() {
            return Err("the browser tests need chromium and chromedriver: install Debian's `chromium` and `chromium-driver` \
                 (as root: apt-get install chromium chromium-driver), or run with --no-browser"
                .into());
        }
        if tools.firefox.is_none() {
            return Err(
                "the Firefox browser test needs Firefox: install Debian's `firefox-esr` \
                 (as root: apt-get install firefox-esr), or run with --no-browser"
                    .into(),
            );
        }
        if tools.geckodriver.is_none() {
            println!(
                "installing geckodriver {GECKODRIVER_VERSION} (for the Firefox test); this takes a few minutes"
            );
            run(cargo().args([
                "install",
                "--locked",
                &format!("geckodriver@{GECKODRIVER_VERSION}"),
            ]))?;
            tools.geckodriver = find_geckodriver();
            if tools.geckodriver.is_none() {
                return Err(format!(
                    "cargo install geckodriver@{GECKODRIVER_VERSION} left no geckodriver in {}",
                    cargo_bin_dir().display()
                ));
            }
        }
    }
    if let (Some(c), Some(d)) = (&tools.chromium, &tools.chromedriver) {
        println!("ok: {} and {}", c.display(), d.display());
    }
    if let (Some(f), Some(g)) = (&tools.firefox, &tools.geckodriver) {
        println!("ok: {} and {}", f.display(), g.display());
    }
    Ok(tools)
}

/// About what a whole `cargo xtask test` writes under `target/` from a
/// clean clone (the builds, the page, the browser tests' files).
const TEST_DISK_MB: u64 = 2_500;

/// Says so up front when the disk holding `target/` has less room than a
/// whole check may need, rather than leaving a compiler's "No space left
/// on device" to say it halfway through.
fn warn_if_short_of_disk() {
    let dir = if Path::new("target").exists() {
        "target"
    } else {
        "."
    };
    let Ok(path) = std::ffi::CString::new(dir) else {
        return;
    };
    // SAFETY: `path` is a NUL-terminated string and `st` a plain struct
    // that statvfs fills in.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return;
    }
    let free_mb = st.f_bavail as u64 * st.f_frsize as u64 / (1 << 20);
    if free_mb < TEST_DISK_MB {
        eprintln!(
            "xtask: warning: {free_mb} MB free on the disk holding {dir}/; from a clean clone \
             the check writes about {TEST_DISK_MB} MB there (less when target/ is already built), \
             and installing its tools needs more"
        );
    }
}

fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|s| s.trim() == "0")
}

fn find_exe(names: &[&str]) -> Option<PathBuf> {
    let paths = env::var_os("PATH")?;
    for dir in env::split_paths(&paths) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn trunk_build(dist: &Path, release: bool) -> Result<(), String> {
    let trunk = cargo_bin_dir().join("trunk");
    let mut cmd = Command::new(if trunk.exists() {
        trunk.as_os_str()
    } else {
        OsStr::new("trunk")
    });
    cmd.args(["build", "--offline", "--dist"]).arg(dist);
    if release {
        // Only the release build runs wasm-opt (index.html).
        wasm_opt::ensure()?;
        cmd.arg("--release");
    }
    cmd.env("PATH", tool_path());
    run(&mut cmd)
}

fn test(args: &[String]) -> Result<(), String> {
    let no_browser = args.iter().any(|a| a == "--no-browser");
    let quick = args.iter().any(|a| a == "--quick");
    for a in args {
        if !matches!(a.as_str(), "--no-browser" | "--quick") {
            return Err(format!("test: unknown option {a:?}\n\n{HELP}"));
        }
    }
    let started = Instant::now();
    // Incremental compilation keeps a cache per test binary that takes
    // more disk than the binaries themselves; a whole check gains little
    // from it, and a CI machine's disk is what runs out.
    env::set_var("CARGO_INCREMENTAL", "0");
    warn_if_short_of_disk();
    let tools = setup(!no_browser)?;
    if !quick {
        step("format");
        run(cargo().args(["fmt", "--all", "--check"]))?;
        step("clippy (native, warnings denied)");
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            TEST_FEATURES,
            "--",
            "-D",
            "warnings",
        ]))?;
        step("clippy (web on wasm32, warnings denied)");
        run(cargo().args([
            "clippy",
            "-p",
            "ringside-web",
            "--target",
            WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    step("core builds for wasm32");
    run(cargo().args(["build", "-p", "ringside-core", "--target", WASM_TARGET]))?;
    let artifacts = PathBuf::from("target/artifacts");
    fs::create_dir_all(&artifacts).map_err(|e| format!("creating {}: {e}", artifacts.display()))?;
    step("the ringside binary (for the tests that start real nodes)");
    // The whole workspace, so features unify as in the test build below
    // and nothing is compiled twice.
    run(cargo().args([
        "build",
        "--workspace",
        "--bins",
        "--features",
        TEST_FEATURES,
    ]))?;
    let bin = fs::canonicalize("target/debug/ringside")
        .map_err(|e| format!("target/debug/ringside: {e}"))?;
    let mut env: Vec<(&str, PathBuf)> = vec![("RINGSIDE_BIN", bin)];
    if !no_browser {
        step("web bundle (trunk build)");
        let dist = PathBuf::from("target/xtask-dist");
        trunk_build(&dist, false)?;
        let abs = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        env.push(("RINGSIDE_DIST", abs(&dist)));
        env.push(("RINGSIDE_ARTIFACTS", abs(&artifacts)));
        let tools = [
            ("CHROMIUM", &tools.chromium),
            ("CHROMEDRIVER", &tools.chromedriver),
            ("FIREFOX", &tools.firefox),
            ("GECKODRIVER", &tools.geckodriver),
        ];
        for (name, path) in tools {
            if let Some(p) = path {
                env.push((name, p.clone()));
            }
        }
    }
    let cargo_with_env = || {
        let mut cmd = cargo();
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    };
    step("all tests");
    // Unit, integration and doc tests, in one build; ignored tests do not
    // run here.
    run(cargo_with_env().args(["test", "--workspace", "--features", TEST_FEATURES]))?;
    if !no_browser {
        step("browser tests (Chromium, Firefox, a live cluster)");
        run(&mut browser::tests(cargo_with_env)?)?;
    }
    println!(
        "\nall checks passed in {:.0}s{}",
        started.elapsed().as_secs_f64(),
        if no_browser {
            " (browser tests not run: --no-browser)"
        } else {
            ""
        }
    );
    println!("artifacts (screenshots): {}", artifacts.display());
    Ok(())
}

fn sweep(args: &[String]) -> Result<(), String> {
    let n = match args.first() {
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| format!("sweep: {s:?} is not a number of seeds"))?,
        None => 100_000,
    };
    run(cargo()
        .args([
            "test",
            "--release",
            "-p",
            "ringside-core",
            "--test",
            "sweep",
            "--",
            "--nocapture",
        ])
        .env("RINGSIDE_SWEEP_SEEDS", n.to_string()))
}

const FUZZ_TARGETS: [&str; 3] = ["client_frame", "peer_message", "commit_log"];

fn fuzz(args: &[String]) -> Result<(), String> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().ok_or("fuzz: --seconds needs a number")?;
                seconds = v
                    .parse()
                    .map_err(|_| format!("fuzz: --seconds: {v:?} is not a number"))?;
            }
            t if FUZZ_TARGETS.contains(&t) => targets.push(t.to_string()),
            other => {
                return Err(format!(
                    "fuzz: unknown target or option {other:?} (targets: {})",
                    FUZZ_TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = FUZZ_TARGETS.iter().map(|s| s.to_string()).collect();
    }
    if tool_version("cargo-fuzz").is_none() {
        step("installing cargo-fuzz");
        run(cargo().args(["install", "cargo-fuzz"]))?;
    }
    for t in &targets {
        step(&format!("fuzzing {t} for {seconds} s"));
        // New inputs go to a scratch corpus; the checked-in seeds stay as they are.
        let scratch = PathBuf::from(format!("target/fuzz-corpus/{t}"));
        fs::create_dir_all(&scratch).map_err(|e| format!("creating {}: {e}", scratch.display()))?;
        let scratch = fs::canonicalize(&scratch).unwrap_or(scratch);
        run(cargo()
            .current_dir("core")
            .env("RUSTC_BOOTSTRAP", "1")
            .env("PATH", tool_path())
            .args(["fuzz", "run", "--sanitizer", "none", t])
            .arg(&scratch)
            .arg(format!("fuzz/corpus/{t}"))
            .arg("--")
            .arg(format!("-max_total_time={seconds}")))?;
    }
    println!("\nno crashes in {} target(s) x {seconds} s", targets.len());
    Ok(())
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn demo(args: &[String]) -> Result<(), String> {
    let base_port: u16 = flag(args, "--base-port").map_or(Ok(9000), |s| {
        s.parse()
            .map_err(|_| format!("--base-port: {s:?} is not a port"))
    })?;
    let ui_port: u16 = flag(args, "--ui-port").map_or(Ok(8080), |s| {
        s.parse()
            .map_err(|_| format!("--ui-port: {s:?} is not a port"))
    })?;
    let data_dir = PathBuf::from(flag(args, "--data-dir").unwrap_or("target/demo-cluster"));
    setup(false)?;
    step("building ringside (release)");
    run(cargo().args(["build", "--release", "-p", "ringside-native"]))?;
    let ringside = fs::canonicalize("target/release/ringside")
        .map_err(|e| format!("target/release/ringside: {e}"))?;
    if data_dir.join("cluster.toml").exists() {
        step("stopping the cluster a previous demo left running");
        let _ = Command::new(&ringside)
            .args(["cluster", "down", "--data-dir"])
            .arg(&data_dir)
            .status();
    }
    step("starting a 4-node cluster");
    let base_port = ports::free_port_range_from(base_port, 4)?;
    let out = Command::new(&ringside)
        .args([
            "cluster",
            "up",
            "--nodes",
            "4",
            "--base-port",
            &base_port.to_string(),
            "--data-dir",
        ])
        .arg(&data_dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("starting the cluster: {e}"))?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        return Err("`ringside cluster up` failed (see above)".into());
    }
    let stop_cluster = {
        let ringside = ringside.clone();
        let data_dir = data_dir.clone();
        move || {
            println!("\nstopping the cluster");
            let _ = Command::new(&ringside)
                .args(["cluster", "down", "--data-dir"])
                .arg(&data_dir)
                .status();
        }
    };
    let token = fs::read_to_string(data_dir.join("control.token"))
        .ok()
        .map(|t| t.trim().to_string());
    let control = fs::read_to_string(data_dir.join("control.addr"))
        .ok()
        .map(|t| t.trim().to_string());
    step("serving the web UI (trunk serve)");
    let ui_port = ports::free_port_range_from(ui_port, 1)?;
    let trunk = cargo_bin_dir().join("trunk");
    let mut child: Child = match Command::new(if trunk.exists() {
        trunk.as_os_str()
    } else {
        OsStr::new("trunk")
    })
    .args([
        "serve",
        "--offline",
        "--address",
        "127.0.0.1",
        "--port",
        &ui_port.to_string(),
        "--dist",
        "target/demo-dist",
    ])
    .env("PATH", tool_path())
    .stdout(Stdio::piped())
    .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            stop_cluster();
            return Err(format!("starting trunk serve: {e}"));
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let mut url = format!("http://127.0.0.1:{ui_port}/#live=ws://127.0.0.1:{base_port}");
    if let Some(t) = &token {
        url.push_str(&format!("&token={t}"));
    }
    if let Some(c) = &control {
        url.push_str(&format!("&control=ws://{c}"));
    }
    // Relay trunk's output in the background, and print the URL once it
    // says it is serving (or after the first build at the latest).
    let stdout = child.stdout.take();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Some(out) = stdout {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("  trunk: {line}");
                if line.contains("server listening") || line.contains("serving") {
                    let _ = tx.send(());
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if rx.recv_timeout(Duration::from_millis(200)).is_ok() {
            break;
        }
        if interrupted.load(Ordering::SeqCst) || Instant::now() > deadline {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            stop_cluster();
            return Err(format!("trunk serve exited ({status})"));
        }
    }
    // The link's fragment (never sent to the server) carries the node to
    // connect to, the control endpoint and its token: the page shows the
    // live cluster with crash / restart / stop on.
    println!("\n  ringside demo is up. Open:\n\n    {url}\n\n  The page shows the live 4-node cluster at ws://127.0.0.1:{base_port} (the header says LIVE; \"back to the simulation\" leaves it).");
    println!(
        "  Console: target/release/ringside client --data-dir {}",
        data_dir.display()
    );
    println!("  Press Ctrl-C to stop the cluster and the server.");
    while !interrupted.load(Ordering::SeqCst) {
        if let Ok(Some(status)) = child.try_wait() {
            println!("trunk serve exited ({status})");
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    stop_cluster();
    Ok(())
}
