//! Shows that a commit-log write that fails (here: a full disk, a small
//! tmpfs holding node 0's log) is never acknowledged: the client gets an
//! error, peers get no acknowledgement, the node says so in its log, keeps
//! serving reads, takes writes again once the disk has room, and after a
//! crash holds exactly what it acknowledged. Needs root (to mount a tmpfs);
//! skipped with a message otherwise.

mod common;

use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A small tmpfs, unmounted (lazily, if a process still holds it) on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(bytes: usize) -> Result<Tmpfs, String> {
        let dir = tempfile::Builder::new()
            .prefix("ringside-tmpfs-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}")])
            .arg("tmpfs")
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the tmpfs is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        // The last few bytes, so not even a small frame fits.
        while f.write_all(&[0u8]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

fn error_message(reply: &serde_json::Value) -> String {
    reply["error"]["message"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_full_disk_is_never_acknowledged_and_reads_go_on() {
    let fs = match Tmpfs::mount(256 * 1024) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("skipped: needs root to mount a small tmpfs ({e})");
            return;
        }
    };
    // Node 0's commit log lives on the tmpfs (the rest of its directory,
    // its own log among it, on the ordinary disk).
    let c = TestCluster::configure(4, "", "");
    let node0 = c.node_dir(0);
    std::fs::create_dir_all(&node0).unwrap();
    let log = fs.path().join("commit.log");
    std::fs::write(&log, b"").unwrap();
    std::os::unix::fs::symlink(&log, node0.join("commit.log")).unwrap();
    let out = c.ringside(&["cluster", "up"]);
    assert!(out.status.success(), "cluster up failed: {}", text(&out));

    // Keys 0..64 live on nodes 0, 1, 2.
    let mut c0 = c.client(0);
    let mut c1 = c.client(1);
    assert_eq!(outcome(&c0.put(json!(1), "before", "ALL")), "ok");

    let filler = fs.fill();

    // Coordinated by node 0, whose own copy cannot be written: not ok.
    // Values larger than a page: the log's last page may have room left,
    // but none of these fits in it.
    let big = "x".repeat(5000);
    let r = (0..64)
        .map(|_| c0.put(json!(2), &big, "ALL"))
        .find(|r| outcome(r) != "ok")
        .expect("64 writes of 5 KB fitted in a full tmpfs");
    assert_eq!(outcome(&r), "Internal", "{r}");
    assert!(error_message(&r).contains("commit log"), "{r}");
    // Coordinated by node 1: node 0 must not acknowledge a write it could
    // not log, so ALL fails...
    let r = c1.put(json!(3), &big, "ALL");
    assert_ne!(
        outcome(&r),
        "ok",
        "node 0 acknowledged an unlogged write: {r}"
    );
    // ...while QUORUM succeeds on nodes 1 and 2.
    assert_eq!(outcome(&c1.put(json!(4), &big, "QUORUM")), "ok");

    // Node 0 still serves reads (its durable data), as coordinator and
    // as replica. (A read answered in the same batch as a failed write is
    // answered with the write's error, so allow a retry or two while
    // node 1 keeps handing node 0 the hint it cannot log.)
    let reads = |c: &mut Client, cl: &str| {
        (0..10).any(|_| {
            let r = c.get(json!(1), cl);
            r["kv"]["value"] == json!("before")
                || (outcome(&r) == "Internal" && {
                    std::thread::sleep(Duration::from_millis(50));
                    false
                })
        })
    };
    assert!(reads(&mut c0, "ONE"), "node 0 does not serve reads");
    assert!(
        reads(&mut c1, "ALL"),
        "node 0 does not answer reads as a replica"
    );
    assert!(
        c.log_text(0).contains("commit log write failed"),
        "node 0's log does not report the failure:\n{}",
        c.log_text(0)
    );

    // Room again: writes through node 0 succeed.
    std::fs::remove_file(filler).unwrap();
    wait_until(
        "node 0 takes an ALL write again",
        Duration::from_secs(20),
        || outcome(&c0.put(json!(5), "after", "ALL")) == "ok",
    );

    // A crash keeps exactly what was acknowledged.
    drop(c0);
    c.kill(0);
    c.restart(0);
    let n0 = c.inspect(0);
    assert_eq!(stored(&n0, json!(1)).as_deref(), Some("before"), "{n0}");
    assert_eq!(stored(&n0, json!(5)).as_deref(), Some("after"), "{n0}");
    drop(c1);
    if std::env::var_os("RINGSIDE_SHOW_LOG").is_some() {
        eprintln!("{}", c.log_text(0));
    }
    drop(c);
    drop(fs);
}
