//! The marks behind `ringside bench --timeline`: the moments a request
//! passes each step, recorded by the nodes and by the bench (which reads
//! them back and cuts them into requests: see [`crate::tools::timeline`]).
//!
//! With `RINGSIDE_TIMELINE=1` in its environment a process records the
//! moment each request passes a step in it (the client sends, a node has
//! the frame, a node flushes a message to a peer, a commit-log write starts
//! and ends, ...). The clock is `CLOCK_MONOTONIC`, which every process on
//! one machine shares, so marks from different processes compare. A node
//! writes its marks to [`FILE`] in its data directory when it stops; the
//! bench cuts them into requests by its own send and receive marks (one
//! request at a time, so everything between belongs to it) and prints each
//! step's median. Without the variable a mark costs one relaxed atomic
//! load.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The environment variable that turns the marks on (value `1`).
pub const ENV: &str = "RINGSIDE_TIMELINE";
/// A node's marks, in its data directory, written when it stops.
pub const FILE: &str = "timeline";
/// Marks kept per process at most (16 bytes each); later ones are dropped.
const MAX_MARKS: usize = 1 << 20;

/// A point a request passes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    /// The bench has sent a request.
    ClientSent,
    /// The bench has the reply.
    ClientGot,
    /// A node has a client's request frame.
    RequestIn,
    /// A node flushes replies to its client.
    ReplyOut,
    /// A node flushes messages to a peer.
    PeerOut,
    /// A node has a peer's message frame.
    PeerIn,
    /// A node starts a commit-log write that an acknowledgement waits for.
    WriteStart,
    /// That write is done (durable, with batch sync).
    WriteEnd,
}

const STEPS: [Step; 8] = [
    Step::ClientSent,
    Step::ClientGot,
    Step::RequestIn,
    Step::ReplyOut,
    Step::PeerOut,
    Step::PeerIn,
    Step::WriteStart,
    Step::WriteEnd,
];

impl Step {
    fn code(self) -> u8 {
        STEPS.iter().position(|&s| s == self).unwrap_or(0) as u8
    }
    fn from_code(c: u8) -> Option<Step> {
        STEPS.get(c as usize).copied()
    }
}

static ON: AtomicBool = AtomicBool::new(false);
static MARKS: Mutex<Vec<(u64, u8)>> = Mutex::new(Vec::new());

/// Turns the marks on when [`ENV`] is `1`.
pub fn init_from_env() {
    if std::env::var_os(ENV).is_some_and(|v| v == "1") {
        enable();
    }
}

/// Turns the marks on in this process.
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Records that a request passes `step` now (when on).
#[inline]
pub fn mark(step: Step) {
    if enabled() {
        record(step);
    }
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass and nothing else.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn record(step: Step) {
    let t = now_ns();
    let mut marks = MARKS.lock().unwrap_or_else(|e| e.into_inner());
    if marks.len() < MAX_MARKS {
        marks.push((t, step.code()));
    }
}

/// This process's marks so far, taken out.
pub fn take() -> Vec<(u64, Step)> {
    let mut marks = MARKS.lock().unwrap_or_else(|e| e.into_inner());
    marks
        .drain(..)
        .filter_map(|(t, c)| Step::from_code(c).map(|s| (t, s)))
        .collect()
}

/// Writes this process's marks to `path`, one `nanoseconds step` per line.
pub fn save(path: &Path) -> std::io::Result<()> {
    let mut text = String::new();
    for (t, s) in take() {
        let _ = writeln!(text, "{t} {}", s.code());
    }
    std::fs::write(path, text)
}

/// Reads marks [`save`] wrote.
pub fn load(path: &Path) -> Result<Vec<(u64, Step)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut marks = vec![];
    for (i, line) in text.lines().enumerate() {
        let bad = || format!("{} line {}: not a mark: {line:?}", path.display(), i + 1);
        let (t, s) = line.split_once(' ').ok_or_else(bad)?;
        let t = t.parse::<u64>().map_err(|_| bad())?;
        let s = s
            .parse::<u8>()
            .ok()
            .and_then(Step::from_code)
            .ok_or_else(bad)?;
        marks.push((t, s));
    }
    Ok(marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_through_a_file_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(&path, "10 0\n25 7\n").unwrap();
        assert_eq!(
            load(&path).unwrap(),
            [(10, Step::ClientSent), (25, Step::WriteEnd)]
        );
        std::fs::write(&path, "10 0\n25 9\n").unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains("line 2") && e.contains("not a mark"), "{e}");
    }
}
