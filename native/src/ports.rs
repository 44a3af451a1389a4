//! The one way ringside finds free loopback ports for processes it is
//! about to start (`ringside bench` and `chaos`, the tests, `cargo xtask`,
//! which includes this file by path, so it uses nothing but std).
//!
//! A port that is free now may be taken before the process meant for it
//! binds it. Two things keep that from happening:
//!
//! - The ports come from below the kernel's ephemeral range, so no
//!   outgoing connection (the nodes dialling each other as they start, a
//!   test's client) and no bind to port 0 can be handed one of them: only
//!   an explicit bind to that very port can take it.
//! - Within one process, each call continues past the ports the last one
//!   handed out, so callers on different threads (tests run in parallel)
//!   never get the same ports; each process starts at its own place in
//!   the window, so that processes seldom look at the same ones.
//!
//! Every candidate is still checked by binding it; a taken one is
//! skipped.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Ports handed out by this process so far (its cursor into the window).
static HANDED_OUT: AtomicUsize = AtomicUsize::new(0);

/// Candidates looked at before giving up.
const ATTEMPTS: usize = 200;

/// A base port with `n` free consecutive loopback ports from it, below
/// the kernel's ephemeral range (see [`port_window`]).
pub fn free_port_range(n: usize) -> Result<u16, String> {
    let n = n.max(1);
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok();
    let (lo, hi) = port_window(range.as_deref(), n);
    let span = hi - lo;
    let start = (std::process::id() as usize).wrapping_mul(7919) % span;
    for _ in 0..ATTEMPTS {
        let offset = HANDED_OUT.fetch_add(n, Ordering::Relaxed);
        let base = lo + (start + offset) % span;
        if all_free(base, n) {
            return Ok(base as u16);
        }
    }
    Err(format!(
        "cannot find {n} free consecutive ports on 127.0.0.1 between {lo} and {}",
        hi + n - 1
    ))
}

/// `preferred` when it and the `n - 1` ports after it are free (a port a
/// person asked for or will type), else [`free_port_range`]'s answer.
pub fn free_port_range_from(preferred: u16, n: usize) -> Result<u16, String> {
    let fits = (preferred as usize)
        .checked_add(n.max(1))
        .is_some_and(|end| end <= 65_536);
    if fits && all_free(preferred as usize, n.max(1)) {
        return Ok(preferred);
    }
    free_port_range(n)
}

/// True when each of `n` ports from `base` can be bound on loopback now.
fn all_free(base: usize, n: usize) -> bool {
    (0..n).all(|i| {
        u16::try_from(base + i)
            .is_ok_and(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
    })
}

/// Where [`free_port_range`] looks for a base port: from 10000 up to
/// below the start of the kernel's ephemeral range (`range_text`, the
/// contents of `/proc/sys/net/ipv4/ip_local_port_range`); 20000 to 50000
/// when that range is unknown or leaves too little room below it.
/// Returns the bases' range, `lo..hi`.
fn port_window(range_text: Option<&str>, n: usize) -> (usize, usize) {
    const LOW: usize = 10_000;
    let start = range_text.and_then(|t| t.split_whitespace().next()?.parse::<usize>().ok());
    match start {
        Some(start) if start >= LOW + n + 1_000 && start <= 65_536 => (LOW, start - n),
        _ => (20_000, 50_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_looked_for_below_the_ephemeral_range() {
        assert_eq!(port_window(Some("32768\t60999\n"), 4), (10_000, 32_764));
        // No room below the range, or no range: a fixed window.
        assert_eq!(port_window(Some("1024 65535"), 4), (20_000, 50_000));
        assert_eq!(port_window(Some("nonsense"), 4), (20_000, 50_000));
        assert_eq!(port_window(None, 4), (20_000, 50_000));
        // On this machine: the base found lies in the window its range
        // gives.
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok();
        let (lo, hi) = port_window(range.as_deref(), 4);
        let base = free_port_range(4).unwrap() as usize;
        assert!((lo..hi).contains(&base), "{base} not in {lo}..{hi}");
    }

    #[test]
    fn callers_in_one_process_never_share_ports() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let base = free_port_range(3).unwrap();
            for p in base..base + 3 {
                assert!(seen.insert(p), "port {p} handed out twice");
            }
        }
    }

    #[test]
    fn a_free_preferred_port_is_kept_and_a_taken_one_is_not() {
        let base = free_port_range(2).unwrap();
        assert_eq!(free_port_range_from(base, 2).unwrap(), base);
        let held = std::net::TcpListener::bind(("127.0.0.1", base)).unwrap();
        assert_ne!(free_port_range_from(base, 2).unwrap(), base);
        drop(held);
    }
}
