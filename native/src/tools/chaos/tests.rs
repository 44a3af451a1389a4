//! The nemesis's and the workload's own parts.

use super::*;
use ringside_core::Key;

#[test]
fn spread_keys_cover_the_ring() {
    let k = spread_keys(8);
    assert_eq!(k.len(), 8);
    let owners: BTreeSet<u8> = k
        .iter()
        .map(|k| match k {
            Key::Int(i) => i / 64,
            _ => 9,
        })
        .collect();
    assert_eq!(owners.len(), 4, "{k:?}");
    assert_eq!(spread_keys(1), vec![Key::Int(5)]);
}

#[test]
fn fault_counts_say_what_happened() {
    let c = FaultCounts {
        kill: 2,
        kill_all: 1,
        stop: 1,
        pause: 3,
        clock_step: 2,
        resume: 2,
        restart: 3,
    };
    assert_eq!(c.faults(), 9);
    assert!(c
        .to_string()
        .starts_with("9 faults (kill 2, kill all 1, stop 1, pause 3, clock step 2)"));
}
