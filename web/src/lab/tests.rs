use super::plot::{Plot, BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH};
use super::run::LabRun;
use super::*;
use crate::backend::simulated::parse_fragment;
use ringside_core::lab::Lab;

fn small() -> LabConfig {
    let mut c = LabForm::default().config().expect("the defaults are valid");
    c.trials = 700;
    c
}

#[test]
fn a_run_in_slices_measures_what_one_go_does() {
    let config = small();
    let mut whole = Lab::new(config.clone()).unwrap();
    whole.step(config.trials);
    assert!(whole.finished());

    // A clock that moves 1 ms per reading: a 1 ms budget is one cluster
    // of trials per slice.
    let mut now = 0.0;
    let mut clock = || {
        now += 1.0;
        now
    };
    let mut run = LabRun::start(config, 0.0).unwrap();
    let mut slices = 0;
    while run.running() {
        let before = run.result().done;
        run.slice(&mut clock, 1.0);
        assert!(run.result().done > before, "every slice makes progress");
        slices += 1;
    }
    assert!(slices >= 3, "700 trials came in {slices} slices");
    assert_eq!(run.result(), whole.result());
    assert!(run.trials_per_s() > 0.0);
    let reads: usize = run.result().curve.iter().map(|t| t.fresh + t.stale).sum();
    assert!(reads > 300, "most trials read on the curve: {reads}");
}

#[test]
fn a_stopped_run_keeps_what_it_measured_and_runs_no_more() {
    let mut run = LabRun::start(small(), 0.0).unwrap();
    let mut clock = || 0.0;
    run.slice(&mut clock, 0.0);
    let done = run.result().done;
    assert!(done > 0 && done < 700);
    run.stopped = true;
    run.slice(&mut clock, 100.0);
    assert_eq!(run.result().done, done);
    assert!(!run.running());
}

#[test]
fn the_plots_points_stay_inside_the_svg_box() {
    let run = LabRun::start(small(), 0.0).unwrap();
    let until = *run.config().ts_ms.last().unwrap() as f64;
    let plot = Plot::new(until);
    let mut curves = vec![run.prediction.curve.clone()];
    // Out-of-range values are clamped, not drawn outside.
    curves.push(vec![(-5.0, -0.2), (until * 3.0, 1.7), (1.0, f64::NAN)]);
    for curve in curves {
        for (x, y) in plot.points(&curve) {
            assert!((LEFT..=WIDTH - RIGHT).contains(&x), "x {x}");
            assert!((TOP..=HEIGHT - BOTTOM).contains(&y), "y {y}");
        }
    }
    assert_eq!(plot.x(0.0), LEFT);
    assert_eq!(plot.x(until), WIDTH - RIGHT);
    assert_eq!(plot.y(1.0), TOP);
    for until in [10.0, 37.0, 50.0, 100.0, 999.0, 60_000.0] {
        let ticks = Plot::new(until).t_ticks();
        assert!((3..=7).contains(&ticks.len()), "{until}: {ticks:?}");
        assert!(ticks.iter().all(|&t| (0.0..=until).contains(&t)));
    }
}

#[test]
fn the_model_predicts_no_staleness_for_overlapping_quorums() {
    let mut c = small();
    c.r = 2;
    c.w = 2;
    let run = LabRun::start(c, 0.0).unwrap();
    assert!(run.prediction.curve.iter().all(|&(_, p)| p == 1.0));
    // R = 2 and 3 of 3 overlap W = 2; R = 1 does not.
    let l = &run.prediction.levels;
    assert_eq!(l.len(), 3);
    assert!(l[0].miss > 0.0 && l[0].wars_stale > 0.0, "{l:?}");
    assert!(l[0].wars_stale <= l[0].miss, "{l:?}");
    assert!(l[1..].iter().all(|m| m.miss == 0.0 && m.wars_stale == 0.0));
}

#[test]
fn the_form_names_the_field_it_cannot_use() {
    let bad = |edit: fn(&mut LabForm)| {
        let mut f = LabForm::default();
        edit(&mut f);
        f.config().unwrap_err()
    };
    let e = bad(|f| f.n = "three".into());
    assert!(e.starts_with("n: \"three\" is not a whole number"), "{e}");
    let e = bad(|f| {
        f.n = "5".into();
        f.r = "4".into()
    });
    assert!(e.starts_with("r: no level waits for 4 of 5"), "{e}");
    let e = bad(|f| {
        f.legs[1].exponential = false;
        f.legs[1].a = "3".into();
        f.legs[1].b = "1".into()
    });
    assert_eq!(e, "ack: the maximum is below the minimum");
    let e = bad(|f| f.legs[2].b = "-1".into());
    assert!(e.starts_with("read: the mean must be 0 to"), "{e}");
    assert!(bad(|f| f.rate = "0".into()).starts_with("rate: "));
    let e = bad(|f| f.rate = "0.000001".into());
    assert!(e.starts_with("rate: at least 0.1"), "{e}");
    assert!(bad(|f| f.trials = "0".into()).starts_with("trials: "));
    assert!(bad(|f| f.until = "5".into()).starts_with("until: "));
}

#[test]
fn a_lab_link_reads_back_as_the_same_settings() {
    let mut f = LabForm {
        n: "5".into(),
        r: "2".into(),
        w: "3".into(),
        seed: "42".into(),
        ..LabForm::default()
    };
    f.legs[0] = LegForm {
        exponential: false,
        a: "1.5".into(),
        b: "8".into(),
    };
    let config = f.config().unwrap();
    let fragment = parse_fragment(&link(&config)).unwrap();
    assert!(fragment.param("lab").is_some());
    let back = LabForm::from_params(&fragment.params).unwrap();
    assert_eq!(back.config().unwrap(), config);

    // A bad link is refused whole, naming the parameter.
    let bad = parse_fragment("lab&n=5&write=exp,abc").unwrap();
    let e = LabForm::from_params(&bad.params).unwrap_err();
    assert!(e.starts_with("write: "), "{e}");
    let bad = parse_fragment("lab&n=5&r=4").unwrap();
    let e = LabForm::from_params(&bad.params).unwrap_err();
    assert!(e.contains("r: no level waits for 4 of 5"), "{e}");
    // Only the lab's parameters are read: a cluster's link is no error.
    let other = parse_fragment("seed=7&nodes=4&speed=1").unwrap();
    assert_eq!(
        LabForm::from_params(&other.params).unwrap(),
        LabForm::default()
    );
}

#[test]
fn the_svg_draws_both_curves_and_a_bar_per_measured_point() {
    let mut run = LabRun::start(small(), 0.0).unwrap();
    let mut clock = || 0.0;
    while run.running() {
        run.slice(&mut clock, 0.0);
    }
    let c = run.config();
    let measured = run.measured();
    assert_eq!(measured.len(), c.ts_ms.len(), "every point has reads");
    let plot = Plot::new(*c.ts_ms.last().unwrap() as f64);
    let svg = plot.svg(&measured, &run.prediction.curve);
    assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
    assert_eq!(svg.matches("<g class=\"dot\">").count(), measured.len());
    let points = |testid: &str| -> Vec<(f64, f64)> {
        let at = svg
            .find(&format!("data-testid=\"{testid}\" points=\""))
            .unwrap();
        let rest = &svg[at..];
        let list = rest.split('"').nth(3).unwrap();
        list.split_whitespace()
            .map(|xy| {
                let (x, y) = xy.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    };
    let (m, model) = (points("lab-measured"), points("lab-model"));
    assert_eq!(m.len(), measured.len());
    assert!(model.len() > measured.len(), "the model is drawn finer");
    for (x, y) in m.into_iter().chain(model) {
        assert!((LEFT..=WIDTH - RIGHT).contains(&x) && (TOP..=HEIGHT - BOTTOM).contains(&y));
    }
}
