//! The model's tests: the page's behaviour without a browser.

use super::*;
use crate::backend::simulated::parse_fragment;
use crate::scenario::{AnswerLine, Phase};

fn model() -> Model {
    Model::from_fragment(Fragment::default())
}

fn run(m: &mut Model, wall_ms: f64) {
    let start = m.last_wall_ms.unwrap_or(0.0);
    let mut t = start;
    while t < start + wall_ms {
        t += 16.0;
        m.frame(t);
    }
}

#[test]
fn the_command_line_writes_through_the_chosen_coordinator() {
    let mut m = model();
    m.handle(Cmd::Speed(1.0));
    m.handle(Cmd::Console("put 137 v quorum".into()));
    assert!(m.ui.console_reply.as_ref().unwrap().0);
    run(&mut m, 500.0);
    for n in [2, 3, 0] {
        assert!(
            m.view.nodes[&n].data.contains_key(&Key::Int(137)),
            "node {n}"
        );
    }
    m.handle(Cmd::Console("put 999 v".into()));
    let (ok, text) = m.ui.console_reply.clone().unwrap();
    assert!(!ok && text.contains("key"), "{text}");
}

#[test]
fn the_share_link_reproduces_the_run() {
    let mut m = model();
    m.handle(Cmd::Speed(1.0));
    run(&mut m, 100.0);
    m.handle(Cmd::Act(Action::Crash { node: 3 }));
    run(&mut m, 1_000.0);
    m.handle(Cmd::Console("put 137 x quorum".into()));
    run(&mut m, 300.0);
    assert_eq!(m.view.nodes[&0].hints.len(), 1);
    let link = m.fragment().unwrap();
    let mut again = Model::from_fragment(parse_fragment(&link).unwrap());
    // The replay stops at the last action: the put was just sent, and
    // node 0, knowing node 3 down, already holds its hint.
    assert_eq!(again.view.nodes[&0].hints.len(), 1);
    assert_eq!(again.view.requests.len(), 1);
    assert_eq!(again.view.requests[0].outcome.label(), "pending");
    again.handle(Cmd::Speed(1.0));
    run(&mut again, 300.0);
    assert_eq!(again.view.requests[0].outcome.label(), "ok");
    assert_eq!(again.view.nodes[&2].data, m.view.nodes[&2].data);
}

#[test]
fn a_scenario_from_the_url_waits_for_its_prediction_then_runs_to_the_end() {
    let f = parse_fragment("speed=3&scenario=hinted-handoff").unwrap();
    let mut m = Model::from_fragment(f);
    run(&mut m, 20_000.0);
    // Nobody answered: the scenario waits at the question, before the
    // step it asks about (restarting node 3) runs.
    let r = m.runner.as_ref().unwrap();
    assert_eq!(r.phase, Phase::Asking);
    assert_eq!(r.step, 2);
    assert!(!m.view.nodes[&3].up, "node 3 restarted before the answer");
    // The student picks "nothing", the right answer; the rest runs.
    m.handle(Cmd::ScenarioAnswer(1));
    let r = m.runner.as_ref().unwrap();
    assert_eq!(
        r.answers,
        vec![AnswerLine {
            step: 2,
            chosen: 1,
            right: true
        }]
    );
    run(&mut m, 20_000.0);
    let r = m.runner.as_ref().unwrap();
    assert!(r.done(), "{:?}", r.phase);
    assert!(r.all_ok(), "{:?}", r.checks);
    assert!(m.view.nodes[&3].up);
}

#[test]
fn stepping_skips_heartbeats_and_pauses() {
    let mut m = model();
    m.handle(Cmd::Console("put 1 a".into()));
    let before = m.view.log_count;
    m.handle(Cmd::Step);
    assert!(!m.playing);
    assert!(m.view.log_count > before);
}

#[test]
fn a_load_sends_requests_at_its_rate_and_long_runs_stop_sharing() {
    let mut m = model();
    m.handle(Cmd::Speed(1.0));
    m.handle(Cmd::Console("load 200".into()));
    run(&mut m, 1_000.0);
    let n = m.view.requests.len();
    assert!(
        (150..=200).contains(&n),
        "{n} requests in a simulated second"
    );
    run(&mut m, 1_000.0);
    assert!(m.fragment().is_none(), "too long to share");
    m.handle(Cmd::Load(0.0));
    assert!(m.load.is_none());
}

#[test]
fn a_bad_trace_leaves_the_simulator_running() {
    let mut m = model();
    m.handle(Cmd::LoadTrace {
        name: "x.txt".into(),
        text: "hello".into(),
    });
    assert!(m.view.notice.as_ref().unwrap().contains("x.txt"));
    assert!(m.settings().is_some());
}
