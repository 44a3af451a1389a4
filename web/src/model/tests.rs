//! The model's tests: the page's behaviour without a browser.

use super::*;
use crate::backend::simulated::parse_fragment;
use crate::scenario::{AnswerLine, Phase};

pub(super) fn model() -> Model {
    Model::from_fragment(Fragment::default())
}

/// Frames of 16 ms for `wall_ms` of wall-clock time.
pub(super) fn run(m: &mut Model, wall_ms: f64) {
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

/// What a student sees of the cluster, to compare two views of one
/// moment: all but the clock, which a frame moves past its last event.
pub(crate) fn seen(v: &ClusterView) -> String {
    let nodes: Vec<_> = v.nodes.values().collect();
    let requests: Vec<_> = v
        .requests
        .iter()
        .map(|r| (r.client, r.outcome.label(), r.label.clone(), &r.answered))
        .collect();
    let log: Vec<_> = v.log.iter().map(|l| (l.n, l.at, &l.text)).collect();
    format!("{nodes:?}|{:?}|{requests:?}|{log:?}|{:?}", v.cut, v.wires)
}

/// Fails naming where two pictures of the page first differ.
pub(crate) fn same(got: &str, want: &str, what: &str) {
    if got != want {
        let at = got
            .bytes()
            .zip(want.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let from = at.saturating_sub(200);
        panic!(
            "{what}: differs at byte {at}:\n got …{}\nwant …{}",
            &got[from..(at + 200).min(got.len())],
            &want[from..(at + 200).min(want.len())]
        );
    }
}

#[test]
fn after_a_rewind_the_page_shows_what_it_showed_then_over_many_seeds() {
    for seed in 1..=6 {
        let mut m = Model::from_fragment(parse_fragment(&format!("seed={seed}")).unwrap());
        m.handle(Cmd::Speed(1.0));
        m.handle(Cmd::Load(40.0));
        let mut first = Vec::new();
        for i in 0..120 {
            if i == 40 {
                m.handle(Cmd::Act(Action::Crash {
                    node: seed as u32 % 4,
                }));
            }
            if i == 80 {
                m.handle(Cmd::Act(Action::Restart {
                    node: seed as u32 % 4,
                }));
            }
            run(&mut m, 16.0);
            first.push((m.run_state().unwrap().cursor, seen(&m.view)));
        }
        let head = m.run_state().unwrap();
        // Back to every tenth frame, in a shuffled order, then forward.
        let mut picks: Vec<usize> = (0..first.len()).step_by(10).collect();
        picks.reverse();
        picks.swap(0, 3);
        for i in picks {
            let (k, ref want) = first[i];
            m.handle(Cmd::Seek(k));
            let run = m.run_state().unwrap();
            assert_eq!(run.cursor, k, "seed {seed}");
            assert!(run.behind() || k == head.cursor);
            same(&seen(&m.view), want, &format!("seed {seed}, event {k}"));
        }
        // Playing from an earlier moment replays the recorded history:
        // no new requests, the same present at the head.
        m.handle(Cmd::Seek(first[30].0));
        assert!(!m.playing, "a seek pauses");
        m.handle(Cmd::TogglePlay);
        let script = m.script();
        while m.run_state().unwrap().behind() {
            run(&mut m, 16.0);
        }
        assert_eq!(m.script()[..script.len()], script[..], "seed {seed}");
        let back_at_head = first
            .iter()
            .find(|(k, _)| *k == m.run_state().unwrap().cursor);
        if let Some((_, want)) = back_at_head {
            same(
                &seen(&m.view),
                want,
                &format!("seed {seed}: replayed to the head"),
            );
        }
        assert!(m.fork_note.is_none());
    }
}

#[test]
fn stepping_back_undoes_a_step() {
    let mut m = model();
    m.handle(Cmd::Speed(1.0));
    run(&mut m, 100.0);
    m.handle(Cmd::Console("put 1 a".into()));
    m.handle(Cmd::Step);
    let (at, lines) = (m.run_state().unwrap().cursor, seen(&m.view));
    m.handle(Cmd::Step);
    assert!(m.run_state().unwrap().cursor > at);
    m.handle(Cmd::StepBack);
    assert!(!m.playing);
    assert_eq!(m.run_state().unwrap().cursor, at);
    assert_eq!(seen(&m.view), lines);
    // All the way back to the start, one step at a time.
    for _ in 0..10_000 {
        if m.run_state().unwrap().cursor == 0 {
            break;
        }
        m.handle(Cmd::StepBack);
    }
    assert_eq!(m.run_state().unwrap().cursor, 0);
    assert!(m.view.requests.is_empty());
}

#[test]
fn acting_at_an_earlier_moment_forks_and_the_link_reproduces_the_fork() {
    let mut m = model();
    m.handle(Cmd::Speed(1.0));
    run(&mut m, 100.0);
    m.handle(Cmd::Act(Action::Crash { node: 3 }));
    let crashed_at = m.run_state().unwrap().cursor;
    run(&mut m, 500.0);
    m.handle(Cmd::Console("put 137 x quorum".into()));
    run(&mut m, 300.0);
    assert_eq!(m.script().len(), 2);
    assert!(!m.marks().is_empty());
    // Back to before the crash: node 3 is up again on the page.
    m.handle(Cmd::Seek(crashed_at - 1));
    assert!(m.view.nodes[&3].up);
    let fork_at = m.run_state().unwrap();
    m.handle(Cmd::Console("put 42 forked all".into()));
    // The crash and the old put are gone; the fork is the whole script.
    let script = m.script();
    assert_eq!(script.len(), 1, "{script:?}");
    assert_eq!(script[0].after_event, fork_at.cursor);
    assert!(m.fork_note.as_ref().unwrap().contains("Forked"));
    assert!(m.marks().iter().all(|k| k.event <= fork_at.cursor + 1));
    let run_after = m.run_state().unwrap();
    assert!(!run_after.behind());
    assert_eq!(run_after.head, fork_at.cursor);
    m.handle(Cmd::TogglePlay);
    run(&mut m, 300.0);
    assert!(m.view.nodes[&3].up, "no crash in the fork");
    assert_eq!(m.view.requests.len(), 1);
    assert_eq!(m.view.requests[0].outcome.label(), "ok");
    // The link opens the fork: same script, the same cluster once run as far.
    m.link_dirty = true;
    let link = m.refresh_link(1e9).unwrap();
    let mut again = Model::from_fragment(parse_fragment(&link).unwrap());
    assert_eq!(again.script(), m.script());
    again.handle(Cmd::Speed(1.0));
    while again.view.now_us < m.view.now_us {
        run(&mut again, 16.0);
    }
    assert!(again.view.nodes[&3].up);
    assert_eq!(again.view.nodes[&0].data, m.view.nodes[&0].data);
    assert!(again.view.nodes[&0].data.contains_key(&Key::Int(42)));
    assert!(!again.view.nodes[&0].data.contains_key(&Key::Int(137)));
}

#[test]
fn a_live_page_holds_its_moment_while_the_nodes_go_on_then_follows_them_again() {
    let mut m = model();
    // Natively no socket opens: the page still records what it says
    // (the clock, the nodes it cannot reach).
    m.handle(Cmd::Connect("ws://127.0.0.1:9".into()));
    assert!(m.is_live());
    run(&mut m, 100.0);
    let first = m.run_state().expect("a live page can go back");
    assert!(first.live && !first.behind() && m.playing, "{first:?}");

    // Pause: the moment shown stays while what arrives is recorded.
    m.handle(Cmd::TogglePlay);
    assert!(!m.playing && m.replaying());
    let held = m.run_state().unwrap().cursor;
    run(&mut m, 100.0);
    let r = m.run_state().unwrap();
    assert_eq!(r.cursor, held, "{r:?}");
    assert!(r.head > held, "{r:?}");

    // Play replays what came meanwhile, then follows the nodes.
    m.handle(Cmd::TogglePlay);
    assert!(m.playing);
    run(&mut m, 1_000.0);
    assert!(!m.replaying(), "{:?}", m.run_state());

    // Back to an earlier moment, then a request: it goes to the nodes
    // now, and the page shows the present again (no fork).
    m.handle(Cmd::Seek(held - 1));
    assert!(m.replaying() && !m.playing);
    m.handle(Cmd::Console("get 1 one".into()));
    assert!(!m.replaying() && m.playing, "{:?}", m.run_state());
    assert!(m.fork_note.is_none());
    // So does a stop (refused here: no control endpoint in the link).
    m.handle(Cmd::Seek(held - 1));
    m.handle(Cmd::Stop(1));
    assert!(!m.replaying() && m.playing, "{:?}", m.run_state());
    // Seeking to the head follows the nodes too.
    m.handle(Cmd::StepBack);
    assert!(m.replaying());
    let head = m.run_state().unwrap().head;
    m.handle(Cmd::Seek(head));
    assert!(!m.replaying() && m.playing);
}
