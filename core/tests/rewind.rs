//! Rewind: the cluster at event k after going back (and forth) is the
//! cluster at event k on the first pass, over many seeds and random
//! scripts of requests and faults; a fork keeps the script up to the fork
//! and a share link (config + script) rebuilds it.

use ringside_core::rewind::{Timeline, MAX_CHECKPOINTS};
use ringside_core::sim::{get, put, Action, Rng, SimConfig};
use ringside_core::Consistency;

/// A random action: mostly requests, sometimes a fault or its repair.
fn random_action(rng: &mut Rng) -> Action {
    let node = rng.range(0, 3) as u32;
    let cl = [Consistency::One, Consistency::Quorum, Consistency::All][rng.range(0, 2) as usize];
    match rng.range(0, 9) {
        0 => Action::Crash { node },
        1 => Action::Restart { node },
        2 => Action::Cut {
            a: node,
            b: (node + 1) % 4,
        },
        3 => Action::HealAll,
        4..=6 => Action::Submit {
            node,
            request: put(
                rng.range(0, 255) as u8,
                &format!("v{}", rng.next_u64() % 100),
                cl,
            ),
        },
        _ => Action::Submit {
            node,
            request: get(rng.range(0, 255) as u8, cl),
        },
    }
}

/// Plays a random first pass of `events` events; returns the timeline and
/// the digest at every event (after the actions taken there).
fn first_pass(seed: u64, events: u64, every: u64) -> (Timeline, Vec<u64>) {
    let mut rng = Rng::new(seed);
    let mut config = SimConfig::classic(seed);
    config.net.drop_probability = 0.02;
    let mut t = Timeline::with_checkpoints(config, every);
    let mut digests = Vec::new();
    while t.cursor() < events {
        if rng.chance(0.05) {
            t.act(random_action(&mut rng));
        }
        if t.sim().next_at().is_none() {
            // Every node crashed: nothing is scheduled until one restarts.
            t.act(Action::Restart { node: 0 });
        }
        assert_eq!(digests.len() as u64, t.cursor());
        digests.push(t.sim().digest());
        assert!(t.forward());
    }
    digests.push(t.sim().digest());
    (t, digests)
}

#[test]
fn state_after_rewinding_equals_state_on_the_first_pass() {
    for seed in 0..25 {
        let (mut t, digests) = first_pass(seed, 1_500, 100);
        let mut rng = Rng::new(seed ^ 0xbac4);
        for _ in 0..15 {
            let k = rng.range(0, 1_500);
            t.seek(k);
            assert_eq!(t.cursor(), k);
            assert_eq!(
                t.sim().digest(),
                digests[k as usize],
                "seed {seed}, seek to {k}"
            );
            if k > 0 {
                t.back();
                assert_eq!(
                    t.sim().digest(),
                    digests[k as usize - 1],
                    "seed {seed}, back from {k}"
                );
                t.forward();
                assert_eq!(
                    t.sim().digest(),
                    digests[k as usize],
                    "seed {seed}, forward to {k}"
                );
            }
        }
        assert_eq!(t.head(), 1_500, "seeking never shortens the history");
        t.seek(1_500);
        assert_eq!(t.trace().count(), t.full_trace().len());
    }
}

#[test]
fn the_trace_at_the_cursor_is_a_prefix_of_the_history() {
    let (mut t, _) = first_pass(3, 800, 64);
    let all: Vec<_> = t.full_trace().iter().map(|(_, e)| e.clone()).collect();
    t.seek(400);
    let at: Vec<_> = t.trace().cloned().collect();
    assert!(!at.is_empty() && at.len() < all.len());
    assert_eq!(at[..], all[..at.len()]);
}

#[test]
fn acting_in_the_past_forks_and_the_script_rebuilds_the_fork() {
    let (mut t, digests) = first_pass(9, 1_000, 100);
    t.seek(300);
    let kept = t.script().iter().filter(|s| s.after_event <= 300).count();
    t.act(Action::Crash { node: 2 });
    assert_eq!(t.head(), 300, "the future after the fork is gone");
    assert_eq!(t.script().len(), kept + 1);
    assert!(!t.sim().is_up(2));
    for _ in 0..500 {
        t.forward();
    }
    let fork_digest = t.sim().digest();
    assert_ne!(fork_digest, digests[800]);
    // A share link: the config and the script rebuild the same cluster.
    let shared = Timeline::from_script(t.config().clone(), t.script().to_vec(), 800);
    assert_eq!(shared.cursor(), 800);
    assert_eq!(shared.sim().digest(), fork_digest);
    // And going back inside the fork still lands on the same states.
    t.seek(350);
    let d350 = t.sim().digest();
    t.seek(800);
    assert_eq!(t.sim().digest(), fork_digest);
    t.seek(350);
    assert_eq!(t.sim().digest(), d350);
}

/// A long run keeps at most `MAX_CHECKPOINTS` checkpoints (the older ones
/// thinned), and rewinding anywhere, into the thinned part too, still
/// gives the first pass's state.
#[test]
fn a_long_run_keeps_its_checkpoints_bounded_and_rewinds_right() {
    let events = 6 * MAX_CHECKPOINTS as u64;
    let (mut t, digests) = first_pass(11, events, 1);
    assert!(
        t.checkpoint_count() <= MAX_CHECKPOINTS,
        "{} checkpoints",
        t.checkpoint_count()
    );
    let mut rng = Rng::new(0x7e1e);
    for k in [0, 1, 2, events / 3, events - 1, events]
        .into_iter()
        .chain((0..20).map(|_| rng.range(0, events)))
    {
        t.seek(k);
        assert_eq!(t.sim().digest(), digests[k as usize], "seek to {k}");
    }
}
