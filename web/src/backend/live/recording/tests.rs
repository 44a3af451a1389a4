//! The recording, fed the updates a simulated run produces: the same
//! vocabulary a live cluster's frames become (events, snapshots, clock
//! frames with messages on the wire).

use super::*;
use crate::backend::simulated::{Settings, SimBackend};
use crate::backend::Backend;
use crate::model::tests::{same, seen};
use crate::state::ClusterView;
use ringside_core::sim::{put, Action};
use ringside_core::Consistency;

/// A simulated run with a write, a crash and a restart, recorded while
/// the page follows it; what the view showed after each batch.
struct Run {
    backend: SimBackend,
    rec: Recording,
    view: ClusterView,
    moments: Vec<(u64, String)>,
}

impl Run {
    fn new() -> Run {
        let (backend, init) = SimBackend::new(Settings::default());
        let mut rec = Recording::new(backend.topology());
        let mut view = ClusterView::new(backend.topology());
        view.apply_all(rec.record(init));
        Run {
            backend,
            rec,
            view,
            moments: Vec::new(),
        }
    }

    /// `frames` batches of 16 ms, acting at the given batch numbers.
    fn play(&mut self, frames: usize) {
        for i in 0..frames {
            let acted = match i {
                10 => Some(Action::Submit {
                    node: 0,
                    request: put(137, "v", Consistency::Quorum),
                }),
                40 => Some(Action::Crash { node: 3 }),
                70 => Some(Action::Submit {
                    node: 1,
                    request: put(137, "w", Consistency::Quorum),
                }),
                100 => Some(Action::Restart { node: 3 }),
                _ => None,
            };
            if let Some(a) = acted {
                let u = self.backend.act(a).unwrap();
                self.view.apply_all(self.rec.record(u));
            }
            let u = self.backend.advance(16_000);
            self.view.apply_all(self.rec.record(u));
            self.moments.push((self.rec.head(), seen(&self.view)));
        }
    }
}

fn rebuilt(rec: &mut Recording, k: u64) -> ClusterView {
    let mut v = ClusterView::new(rec.start_topo.clone());
    v.apply_all(rec.seek(k));
    v
}

#[test]
fn a_seek_shows_the_view_as_it_was_when_that_event_arrived() {
    let mut run = Run::new();
    run.play(150);
    let head = run.rec.head();
    assert!(head > 300, "a busy run: {head} events");
    let mut picks: Vec<usize> = (0..run.moments.len()).step_by(7).collect();
    picks.reverse();
    picks.swap(0, 5);
    for i in picks {
        let (k, want) = run.moments[i].clone();
        let v = rebuilt(&mut run.rec, k);
        same(&seen(&v), &want, &format!("event {k}"));
        let state = run.rec.run_state();
        assert_eq!(state.cursor, k);
        assert_eq!(state.behind(), k < head, "event {k} of {head}");
    }
    // The crash is marked where it arrived, and seeking just before it
    // shows node 3 up.
    let crash = run
        .rec
        .marks()
        .iter()
        .find(|m| m.kind == MarkKind::Fault && m.text.contains("node 3 crashed"))
        .expect("the crash is marked")
        .event;
    assert!(rebuilt(&mut run.rec, crash - 1).nodes[&3].up);
    assert!(!rebuilt(&mut run.rec, crash).nodes[&3].up);
    assert!(run.rec.marks().iter().any(|m| m.kind == MarkKind::Request));
}

#[test]
fn held_the_page_keeps_its_moment_and_replay_catches_up_with_the_nodes() {
    let mut run = Run::new();
    run.play(30);
    let held_at = run.rec.head();
    run.rec.hold();
    let before = seen(&run.view);
    // The nodes go on: recorded, not shown (but a notice still is).
    let mut shown = run.view.clone();
    for _ in 0..60 {
        let u = run.backend.advance(16_000);
        run.view.apply_all(u.clone());
        shown.apply_all(run.rec.record(u));
    }
    let notice = run.rec.record(vec![Update::Notice("refused".into())]);
    assert!(matches!(&notice[..], [Update::Notice(t)] if t == "refused"));
    same(&seen(&shown), &before, "held");
    let state = run.rec.run_state();
    assert!(state.behind() && state.cursor == held_at && state.head > held_at);
    assert!(state.live);

    // Steps go one event at a time and agree with a seek.
    for _ in 0..5 {
        let u = run.rec.step();
        assert_eq!(u.len(), 1, "one event per step");
        shown.apply_all(u);
    }
    let k = run.rec.run_state().cursor;
    assert_eq!(k, held_at + 5);
    assert!(run.rec.replay(0).is_empty(), "paused, nothing moves");
    assert_eq!(run.rec.run_state().cursor, k);
    let want = seen(&rebuilt(&mut run.rec, k));
    same(&seen(&shown), &want, "five steps on");

    // Replay at the pace it came: after 100 ms of it, about that much
    // of the recording is shown, then the rest, and the page follows.
    let t0 = run.rec.run_state().now_us;
    shown.apply_all(run.rec.replay(100_000));
    let mid = run.rec.run_state();
    assert!(mid.behind(), "{mid:?}");
    assert!(mid.now_us <= t0 + 100_000 && mid.cursor > k, "{mid:?}");
    for _ in 0..200 {
        if run.rec.following() {
            break;
        }
        shown.apply_all(run.rec.replay(16_000));
    }
    assert!(run.rec.following(), "replay reached the head");
    same(&seen(&shown), &seen(&run.view), "caught up");
    // Following again, new updates are shown as they come.
    let u = run.backend.advance(16_000);
    assert_eq!(run.rec.record(u.clone()).len(), u.len());
}

#[test]
fn an_unchanged_data_map_is_kept_once() {
    let mut run = Run::new();
    run.play(20);
    let maps: Vec<_> = run
        .rec
        .updates
        .iter()
        .filter_map(|k| match k {
            Kept::Other(Update::Snapshot(s)) if s.id == 0 => s.data.clone(),
            _ => None,
        })
        .collect();
    assert!(maps.len() > 2);
    assert!(
        maps.windows(2)
            .all(|w| *w[0] != *w[1] || Rc::ptr_eq(&w[0], &w[1])),
        "equal maps are shared"
    );
}

fn fault(at: Micros, text: &str) -> Update {
    Update::Say {
        at,
        node: Some(1),
        kind: LogKind::Fault,
        text: text.into(),
        flag: true,
    }
}

#[test]
fn a_long_recording_drops_its_oldest_quarter_and_starts_later() {
    let (b, _) = SimBackend::new(Settings::default());
    let mut rec = Recording::new(b.topology());
    let mut other = b.topology();
    other.source = "the cluster learned from the seed".into();
    let connected = Update::Say {
        at: 1,
        node: None,
        kind: LogKind::Fault,
        text: "connected".into(),
        flag: false,
    };
    rec.record(vec![connected, fault(1, "early fault")]);
    assert_eq!(rec.marks().len(), 1, "the page's own news is not a fault");
    rec.record(vec![Update::Reset(other.clone())]);
    let batch: Vec<Update> = (0..1_000).map(|i| fault(10 + i, "later")).collect();
    while rec.head() <= KEPT as u64 {
        rec.record(batch.clone());
    }
    let state = rec.run_state();
    assert_eq!(state.start, (KEPT / 4) as u64);
    assert_eq!(state.head, rec.first + rec.updates.len() as u64);
    assert!(rec.updates.len() <= KEPT);
    assert!(rec.marks().iter().all(|m| m.event > state.start));
    assert!(!rec.marks().iter().any(|m| m.text == "early fault"));
    // A seek before the start shows the start, from the topology the
    // dropped part ended with.
    let u = rec.seek(0);
    assert!(matches!(&u[..], [Update::Reset(t)] if *t == other));
    assert_eq!(rec.run_state().cursor, state.start);
}
