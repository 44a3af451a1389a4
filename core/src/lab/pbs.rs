//! The PBS model (Bailis et al., "Probabilistically Bounded Staleness"),
//! computed on its own: no simulator code, only the model's formulas and
//! its Monte Carlo over the WARS latencies.
//!
//! - k-staleness, closed form: a read of `R` replicas misses every one of
//!   the `W` that acknowledged a write with probability
//!   `C(N-W, R) / C(N, R)`; it returns one of the last `k` versions with
//!   probability `1 - (C(N-W, R) / C(N, R))^k`.
//! - t-visibility, WARS: a write goes to all `N` replicas (W latencies),
//!   each acknowledges (A); the write commits at the `W`-th fastest
//!   `W + A`. A read `t` after commit goes to all `N` (R) and the
//!   coordinator takes the first `R` answers (by `R + S`); it sees the
//!   write when some replica among them had the write before the read
//!   request arrived.
//!
//! The model leaves out what a real store adds: read repair, hinted
//! handoff, anti-entropy, in-order links, failures.

use crate::sim::{Latency, Rng};

/// `C(n, k)` as a float (exact for the small numbers a cluster has).
fn choose(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The probability that a read misses the latest write's acknowledged
/// replicas altogether (`0` when `R + W > N`).
pub fn miss_probability(n: usize, r: usize, w: usize) -> f64 {
    if n == 0 || r == 0 || w == 0 || r > n || w > n {
        return 1.0;
    }
    choose(n - w, r) / choose(n, r)
}

/// The probability that a read returns one of the `k` latest versions
/// (k-staleness), for `k >= 1`.
pub fn k_staleness(n: usize, r: usize, w: usize, k: u32) -> f64 {
    1.0 - miss_probability(n, r, w).powi(k as i32)
}

/// The four latency distributions of WARS, one per leg.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wars {
    /// Coordinator to replica, carrying the write.
    pub w: Latency,
    /// Replica to coordinator, acknowledging it.
    pub a: Latency,
    /// Coordinator to replica, carrying a read.
    pub r: Latency,
    /// Replica to coordinator, answering the read.
    pub s: Latency,
}

/// t-visibility by Monte Carlo: for each `t` (microseconds after the write
/// committed), the probability a read started then returns the write.
pub fn t_visibility(
    n: usize,
    r: usize,
    w: usize,
    wars: &Wars,
    ts_us: &[u64],
    trials: usize,
    seed: u64,
) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut hits = vec![0usize; ts_us.len()];
    let (r, w) = (r.clamp(1, n.max(1)), w.clamp(1, n.max(1)));
    let mut ws = vec![0u64; n];
    let mut acks = vec![0u64; n];
    let mut reads: Vec<(u64, u64)> = vec![(0, 0); n];
    for _ in 0..trials {
        for i in 0..n {
            ws[i] = wars.w.sample(&mut rng);
            acks[i] = ws[i] + wars.a.sample(&mut rng);
        }
        let mut sorted = acks.clone();
        sorted.sort_unstable();
        let commit = sorted[w - 1];
        // Per replica: the read's round trip, and when the request got there.
        for slot in reads.iter_mut() {
            let rq = wars.r.sample(&mut rng);
            let rs = wars.s.sample(&mut rng);
            *slot = (rq + rs, rq);
        }
        // The first R answers, by read round trip.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| reads[i].0);
        for (ti, &t) in ts_us.iter().enumerate() {
            let start = commit + t;
            if order[..r].iter().any(|&i| ws[i] <= start + reads[i].1) {
                hits[ti] += 1;
            }
        }
    }
    hits.iter()
        .map(|&h| h as f64 / trials.max(1) as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_quorums_never_miss() {
        assert_eq!(miss_probability(3, 2, 2), 0.0);
        assert_eq!(k_staleness(3, 2, 2, 1), 1.0);
        // N = 3, R = W = 1: a read misses the one acknowledged replica
        // with probability 2/3.
        assert!((miss_probability(3, 1, 1) - 2.0 / 3.0).abs() < 1e-12);
        assert!((k_staleness(3, 1, 1, 2) - (1.0 - 4.0 / 9.0)).abs() < 1e-12);
    }

    #[test]
    fn visibility_grows_with_time_and_is_certain_for_strict_quorums() {
        let e = |mean| Latency::Exponential {
            min_us: 0,
            mean_us: mean,
        };
        let wars = Wars {
            w: e(10_000),
            a: e(1_000),
            r: e(1_000),
            s: e(1_000),
        };
        let ts = [0, 5_000, 20_000, 100_000];
        let p = t_visibility(3, 1, 1, &wars, &ts, 20_000, 1);
        assert!(p.windows(2).all(|w| w[0] <= w[1] + 0.01), "{p:?}");
        assert!(p[0] < 0.9 && p[3] > 0.99, "{p:?}");
        let strict = t_visibility(3, 2, 2, &wars, &ts, 5_000, 1);
        assert!(strict.iter().all(|&x| x == 1.0), "{strict:?}");
    }
}
