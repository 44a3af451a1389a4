//! How long a rewind takes: `?rewindbench` in the page (wasm), and
//! `ringside-web --rewind-bench` natively; `cargo bench -p ringside-web
//! --bench simbench` prints both. A run under a random load (40 requests
//! a simulated second, a crash, a restart) is played to [`EVENTS`]
//! events; then the page seeks to points spread over it (each just before
//! a checkpoint, the most replay a seek can cost, and the start), each a
//! full rebuild of the view as a drag of the scrub bar asks, and the
//! slowest and the mean are printed:
//!
//! `rewind bench (wasm): slowest 12.3 ms, mean 8.1 ms over 40 seeks of a 10000-event run`
//!
//! A live page rewinds by rebuilding its view from what it received
//! (`backend::live::recording`); the second line times that at the
//! recording's bound, the worst case.

use crate::backend::live::Recording;
use crate::backend::simulated::{Fragment, Settings, SimBackend};
use crate::backend::Backend;
use crate::model::{Cmd, Model};
use crate::state::ClusterView;
use ringside_core::rewind::DEFAULT_CHECKPOINT_EVERY;
use ringside_core::sim::{get, put, Action, Rng};
use ringside_core::{Consistency, NodeId};

/// The run's length, in events.
pub const EVENTS: u64 = 10_000;
/// Seeks measured.
pub const SEEKS: u64 = 40;

/// A model played to [`EVENTS`] events, as a student's page would be.
pub fn long_run() -> Model {
    let mut m = Model::from_fragment(Fragment::default());
    m.handle(Cmd::Speed(1.0));
    m.handle(Cmd::Load(40.0));
    let mut t = 0.0;
    let mut faults = 0;
    while m.run_state().is_some_and(|r| r.head < EVENTS) {
        t += 16.0;
        m.frame(t);
        let head = m.run_state().map_or(0, |r| r.head);
        if faults == 0 && head > EVENTS / 3 {
            m.handle(Cmd::Act(Action::Crash { node: 2 }));
            faults = 1;
        } else if faults == 1 && head > EVENTS / 2 {
            m.handle(Cmd::Act(Action::Restart { node: 2 }));
            faults = 2;
        }
    }
    m
}

/// The points [`SEEKS`] seeks go to over `span` events from `start`: from
/// the far end back to the start, alternating.
fn seek_points(start: u64, span: u64) -> impl Iterator<Item = u64> {
    (0..SEEKS).map(move |i| {
        start
            + if i % 2 == 0 {
                span * (SEEKS - i) / SEEKS
            } else {
                span * i / SEEKS
            }
    })
}

/// Times `seek` at each point, by `now_ms`: the slowest and the mean.
fn time_seeks(
    points: impl Iterator<Item = u64>,
    now_ms: impl Fn() -> f64,
    mut seek: impl FnMut(u64),
) -> (f64, f64) {
    let (mut slowest, mut total) = (0.0f64, 0.0);
    for k in points {
        let t0 = now_ms();
        seek(k);
        let took = now_ms() - t0;
        slowest = slowest.max(took);
        total += took;
    }
    (slowest, total / SEEKS as f64)
}

/// Seeks over the run, timed by `now_ms`; the result line.
pub fn measure(m: &mut Model, label: &str, now_ms: impl Fn() -> f64) -> String {
    let head = m.run_state().map_or(0, |r| r.head);
    let every = DEFAULT_CHECKPOINT_EVERY;
    // Each just before a checkpoint: the most replay a seek can cost.
    let points = seek_points(0, head).map(|k| (k / every * every).saturating_sub(1).min(head));
    let (slowest, mean) = time_seeks(points, now_ms, |k| m.handle(Cmd::Seek(k)));
    format!(
        "rewind bench ({label}): slowest {slowest:.1} ms, mean {mean:.1} ms over {SEEKS} seeks of a {head}-event run"
    )
}

/// A live page's recording of `updates` updates (the bench fills it to
/// its bound, [`crate::backend::live::KEPT`]), made of a simulated run's
/// updates under load (the vocabulary a live cluster's frames become).
pub fn recording(updates: usize) -> Recording {
    let (mut b, init) = SimBackend::new(Settings::default());
    let mut rec = Recording::new(b.topology());
    rec.record(init);
    let mut rng = Rng::new(7);
    while rec.head() < updates as u64 {
        for _ in 0..2 {
            let key = rng.range(0, 255) as u8;
            let request = if rng.chance(0.5) {
                put(key, "v", Consistency::Quorum)
            } else {
                get(key, Consistency::Quorum)
            };
            let node = rng.range(0, 4) as NodeId;
            let u = b.act(Action::Submit { node, request }).unwrap_or_default();
            rec.record(u);
        }
        rec.record(b.advance(16_000));
    }
    rec
}

/// Seeks over a live recording, each a rebuild of the view from a reset
/// and the recording up to there, as a drag of a live page's bar asks;
/// the result line.
pub fn measure_live(rec: &mut Recording, label: &str, now_ms: impl Fn() -> f64) -> String {
    let run = rec.run_state();
    let span = run.head - run.start;
    // Any topology: a seek's first update is the recording's reset.
    let topo = SimBackend::new(Settings::default()).0.topology();
    let points = seek_points(run.start, span).map(|k| k.saturating_sub(1));
    let (slowest, mean) = time_seeks(points, now_ms, |k| {
        let mut view = ClusterView::new(topo.clone());
        view.apply_all(rec.seek(k));
    });
    format!(
        "live rewind bench ({label}): slowest {slowest:.1} ms, mean {mean:.1} ms over {SEEKS} seeks of a {span}-update recording"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_plays_a_long_run_and_seeks_all_over_it() {
        let mut m = long_run();
        let head = m.run_state().unwrap().head;
        assert!(head >= EVENTS);
        assert!(m.marks().len() > 50, "requests and faults marked");
        let start = std::time::Instant::now();
        let line = measure(&mut m, "native", || start.elapsed().as_secs_f64() * 1e3);
        assert!(
            line.starts_with("rewind bench (native): slowest "),
            "{line}"
        );
        assert!(m.run_state().unwrap().cursor < head);
    }

    #[test]
    fn the_live_bench_fills_a_recording_to_its_bound_and_seeks_over_it() {
        let mut rec = recording(5_000);
        let run = rec.run_state();
        assert!(run.head >= 5_000 && run.live);
        let start = std::time::Instant::now();
        let line = measure_live(&mut rec, "native", || start.elapsed().as_secs_f64() * 1e3);
        assert!(
            line.starts_with("live rewind bench (native): slowest "),
            "{line}"
        );
        assert!(rec.run_state().behind());
    }
}
