//! The staleness lab against the PBS model: with read repair and
//! anti-entropy off (the model's assumptions), the measured probability
//! of a fresh read at each t is within 0.08 of the model's (about four
//! standard errors at the trials per point used here), and strict quorums
//! are never stale.

use ringside_core::lab::{pbs, Lab, LabConfig};

#[test]
fn the_measured_curve_follows_the_model_where_its_assumptions_hold() {
    let mut config = LabConfig::classroom();
    config.trials = 5_500;
    let mut lab = Lab::new(config).unwrap();
    let mut slices = 0;
    while !lab.finished() {
        let before = lab.result().done;
        lab.step(300);
        assert!(lab.result().done > before, "every slice makes progress");
        slices += 1;
    }
    assert!(slices > 5, "the work came in slices");
    let model = lab.model_curve(50_000);
    let r = lab.result();
    for (i, (tally, p_model)) in r.curve.iter().zip(&model).enumerate() {
        let t = lab.config().ts_ms[i];
        let p = tally.p_fresh();
        println!(
            "t = {t:>3} ms: measured {p:.3} ({} reads), model {p_model:.3}",
            tally.fresh + tally.stale
        );
        assert_eq!(tally.failed, 0);
        assert!(tally.fresh + tally.stale > 300);
        assert!(
            (p - p_model).abs() < 0.08,
            "t = {t} ms: measured {p:.3}, model {p_model:.3}"
        );
    }
    assert!(
        model[0] < 0.8,
        "the chosen latencies make early reads often stale: {model:?}"
    );
    // Per level: ONE can be stale, QUORUM and ALL (R + W > N) cannot.
    for (count, level, tally) in &r.levels {
        println!(
            "R = {count} ({level}): {} of {} stale",
            tally.stale,
            tally.stale + tally.fresh
        );
        if count + 1 > 3 {
            assert_eq!(tally.stale, 0, "{level} with W = 1 of 3");
        }
    }
    assert!(r.levels[0].2.stale > 0, "ONE reads are sometimes stale");
    // The closed form agrees on whether staleness is possible at all.
    assert!(pbs::miss_probability(3, 1, 1) > 0.0 && pbs::miss_probability(3, 3, 1) == 0.0);
}

#[test]
fn bad_settings_are_refused_with_the_field_named() {
    let mut c = LabConfig::classroom();
    c.n = 5;
    c.r = 4;
    let e = Lab::new(c).err().unwrap();
    assert!(e.starts_with("r: no level waits for 4 of 5"), "{e}");
    let mut c = LabConfig::classroom();
    c.writes_per_s = 0.0;
    assert!(Lab::new(c).err().unwrap().starts_with("writes_per_s"));
}
