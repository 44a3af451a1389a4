//! A hook for `ringside chaos` to step a running node's wall clock, as an
//! administrator's `date -s` or an NTP step would, without touching the
//! machine's clock (which every node on the machine shares).
//!
//! Compiled only with the `clock-hook` feature, which `cargo xtask test`
//! turns on for the tests and release builds leave off: a production node
//! offers no way to move its clock from outside.
//!
//! SIGUSR1 steps the node's wall clock forward, SIGUSR2 back, by
//! `RINGSIDE_CLOCK_STEP_MS` milliseconds (default 2000) each time. Only
//! the wall clock moves: timers run on the monotonic clock, as they do
//! when the machine's clock is stepped.

use std::io;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::signal::unix::{signal, SignalKind};
use tracing::warn;

/// The environment variable giving the size of one step.
pub const STEP_ENV: &str = "RINGSIDE_CLOCK_STEP_MS";
const DEFAULT_STEP_MS: i64 = 2000;

static OFFSET_US: AtomicI64 = AtomicI64::new(0);

/// How far the node's wall clock is stepped from the machine's, in
/// microseconds.
pub fn offset_us() -> i64 {
    OFFSET_US.load(Ordering::Relaxed)
}

/// The size of one step, from [`STEP_ENV`].
pub fn step_us() -> io::Result<i64> {
    match std::env::var(STEP_ENV) {
        Err(_) => Ok(DEFAULT_STEP_MS * 1000),
        Ok(v) => v
            .parse::<i64>()
            .ok()
            .filter(|ms| *ms > 0)
            .map(|ms| ms * 1000)
            .ok_or_else(|| {
                io::Error::other(format!(
                    "{STEP_ENV}={v:?} is not a positive number of milliseconds"
                ))
            }),
    }
}

/// Ignores the two signals until [`listen`] takes them, so that one sent
/// while the node is still starting does not kill it (their default
/// action).
pub fn ignore_until_listening() {
    // SAFETY: setting a signal's disposition to SIG_IGN has no
    // preconditions; no handler of ours runs.
    unsafe {
        libc::signal(libc::SIGUSR1, libc::SIG_IGN);
        libc::signal(libc::SIGUSR2, libc::SIG_IGN);
    }
}

/// Steps the clock on every SIGUSR1 (forward) and SIGUSR2 (back), for as
/// long as the node runs; `step` from [`step_us`].
pub async fn listen(step: i64) -> io::Result<()> {
    let mut forward = signal(SignalKind::user_defined1())?;
    let mut back = signal(SignalKind::user_defined2())?;
    loop {
        let by = tokio::select! {
            _ = forward.recv() => step,
            _ = back.recv() => -step,
        };
        let now = OFFSET_US.fetch_add(by, Ordering::Relaxed) + by;
        warn!(
            "clock hook: wall clock stepped {} by {} ms; it is now {:+} ms off the machine's",
            if by > 0 { "forward" } else { "back" },
            by.abs() / 1000,
            now / 1000
        );
    }
}
