//! How fast the checker judges a long history: 200,000 requests on 64
//! keys, a correct register (every read returns the newest write), with
//! the final state. Ignored by default; run it with
//! `cargo test --release -p ringside-core --test check_speed -- --ignored --nocapture`.

use ringside_core::check::{
    check_with, label_reads, CheckOptions, FinalState, History, HistoryOp, Outcome,
};
use ringside_core::message::{ClientRef, Request};
use ringside_core::sim::Rng;
use ringside_core::types::{Consistency, Key, KeyVersion, Version};
use std::collections::BTreeMap;
use std::time::Instant;

fn history(ops: usize) -> (History, FinalState) {
    let mut rng = Rng::new(7);
    let mut state: BTreeMap<Key, Version> = BTreeMap::new();
    let mut h = History::default();
    let levels = [
        Consistency::One,
        Consistency::Quorum,
        Consistency::All,
        Consistency::Two,
    ];
    for i in 0..ops {
        let t = 10 * i as u64 + 1;
        let key = Key::Int(rng.range(0, 63) as u8);
        let cl = rng.pick(&levels).unwrap();
        let roll = rng.range(0, 99);
        let (request, outcome) = if roll < 45 {
            let value = format!("v{i}");
            state.insert(
                key.clone(),
                Version {
                    ts: t,
                    value: Some(value.clone().into()),
                },
            );
            (
                Request::Put {
                    key,
                    value: value.into(),
                    cl,
                },
                Outcome::Written { ts: t },
            )
        } else if roll < 85 {
            let kv = state.get(&key).and_then(|v| {
                v.value.as_ref().map(|value| KeyVersion {
                    key: key.clone(),
                    value: Some(value.clone()),
                    ts: v.ts,
                })
            });
            (Request::Get { key, cl }, Outcome::Read { kv })
        } else {
            state.insert(key.clone(), Version { ts: t, value: None });
            (Request::Delete { key, cl }, Outcome::Written { ts: t })
        };
        h.ops.push(HistoryOp {
            client: ClientRef {
                conn: 0,
                req: i as u64,
            },
            node: rng.range(0, 3) as u32,
            request,
            invoke_us: t,
            complete_us: Some(t + 5),
            outcome,
        });
    }
    let replicas = state
        .into_iter()
        .map(|(k, v)| (k, (0..3).map(|n| (n, Some(v.clone()))).collect()))
        .collect();
    (h, FinalState { rf: 3, replicas })
}

#[test]
#[ignore]
fn check_a_200k_request_history() {
    let (h, fin) = history(200_000);
    let opts = CheckOptions::new(3)
        .with_final_state(Some(&fin))
        .with_clocks_agree(true);
    let t = Instant::now();
    let summary = check_with(&h, opts).expect("a correct register passes");
    let checked = t.elapsed();
    let t = Instant::now();
    let labels = label_reads(&h, opts);
    let labelled = t.elapsed();
    assert_eq!(labels.len(), summary.reads_checked);
    let rate = |d: std::time::Duration| h.ops.len() as f64 / d.as_secs_f64();
    println!(
        "check: {} ops in {:.3} s ({:.0} ops/s); label_reads: {:.3} s ({:.0} ops/s)",
        h.ops.len(),
        checked.as_secs_f64(),
        rate(checked),
        labelled.as_secs_f64(),
        rate(labelled)
    );
}
