//! The `wasm-opt` the page's release build runs (index.html asks trunk
//! for it, Trunk.toml pins its version).
//!
//! It comes from npm's `binaryen` package, installed under the project's
//! `target/` (so `cargo clean` undoes it and nothing outside the project
//! changes): Debian's binaryen is too old for current wasm-bindgen output,
//! and trunk, left to itself, would download a binary of its own. Trunk
//! takes the `wasm-opt` it finds on PATH when its version is the pinned
//! one; `tool_path()` puts this one first.

use crate::{output, run};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// npm's binaryen version; Trunk.toml's `[tools] wasm_opt` must name the
/// same one as `version_<this>`.
pub const BINARYEN_VERSION: &str = "132";

/// Where `npm install --prefix` puts it.
fn prefix() -> PathBuf {
    PathBuf::from(format!("target/tools/binaryen-{BINARYEN_VERSION}"))
}

/// The directory holding the `wasm-opt` script, absolute (for PATH; xtask
/// runs at the project's root).
pub fn bin_dir() -> PathBuf {
    std::env::current_dir()
        .unwrap_or_default()
        .join(prefix())
        .join("node_modules")
        .join(".bin")
}

/// The installed version line, if it is the pinned version.
fn installed() -> Option<String> {
    let wasm_opt = bin_dir().join("wasm-opt");
    let line = output(wasm_opt.to_str()?, &["--version"])?;
    line.contains(&format!("(version_{BINARYEN_VERSION})"))
        .then(|| line.trim().to_string())
}

/// Installs binaryen with npm unless the pinned version is there; an
/// error names the command to run when npm is missing.
pub fn ensure() -> Result<(), String> {
    if let Some(v) = installed() {
        println!("ok: {v} (npm binaryen in {})", prefix().display());
        return Ok(());
    }
    let package = format!("binaryen@{BINARYEN_VERSION}");
    let mut npm = Command::new("npm");
    npm.arg("install").arg("--prefix").arg(prefix()).args([
        "--no-save",
        "--no-audit",
        "--no-fund",
        &package,
    ]);
    let install = crate::show(&npm);
    if output("npm", &["--version"]).is_none()
        && crate::is_root()
        && Path::new("/usr/bin/apt-get").exists()
    {
        println!("installing nodejs and npm with apt-get (for wasm-opt)");
        run(Command::new("apt-get").arg("update").arg("-q"))?;
        run(Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "nodejs",
                "npm",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    if output("npm", &["--version"]).is_none() {
        return Err(format!(
            "the page's release build runs wasm-opt from npm's {package}, and npm is missing: \
             install Node.js and npm (as root on Debian: apt-get install nodejs npm), \
             then run this again (it runs `{install}`)"
        ));
    }
    println!(
        "installing wasm-opt from npm's {package} into {}",
        prefix().display()
    );
    fs::create_dir_all(prefix()).map_err(|e| format!("creating {}: {e}", prefix().display()))?;
    run(&mut npm)?;
    match installed() {
        Some(v) => {
            println!("ok: {v}");
            Ok(())
        }
        None => Err(format!(
            "`{install}` left no working {}/wasm-opt of version {BINARYEN_VERSION} \
             (it is a Node script: is `node` on PATH?)",
            bin_dir().display()
        )),
    }
}
