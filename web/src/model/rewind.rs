//! The model's side of rewinding (see [`crate::rewind`]): where the run
//! stands, seeking (the view rebuilt from the history), stepping back,
//! the fork note, and the violation marks the view finds.

use super::{is_heartbeat, Model};
use crate::rewind::{violation_mark, Mark, RunState};
use crate::state::{ClusterView, Update};
use crate::why::Evidence;
use ringside_core::check::ReadLabel;
use std::rc::Rc;

impl Model {
    /// Where the run stands, when it can be rewound (see
    /// [`crate::rewind`]); the scrub bar reads its marks too.
    pub fn run_state(&self) -> Option<RunState> {
        self.backend.run_state()
    }

    pub fn marks(&self) -> &[Mark] {
        self.backend.marks()
    }

    /// Marks the reads the checker calls violations on the scrub bar,
    /// once each, at the event they are first seen at.
    pub(super) fn mark_violations(&mut self) {
        let Some(run) = self.backend.run_state() else {
            return;
        };
        let found: Vec<_> = self
            .view
            .requests
            .iter()
            .filter(|r| matches!(r.label, Some(ReadLabel::Violation { .. })))
            .filter_map(|r| {
                let what = format!(
                    "{} via node {} (#{})",
                    r.request, r.coordinator, r.client.req
                );
                violation_mark(run.cursor, r.complete_us?, what, r.label.as_ref()?)
            })
            .collect();
        for m in found {
            if !self.backend.marks().iter().any(|k| k.text == m.text) {
                self.backend.mark(m);
            }
        }
    }

    /// Shows the run as it was after `event` events: the view and the
    /// evidence are rebuilt from the history up to there.
    pub(super) fn seek(&mut self, event: u64) {
        match self.backend.seek(event) {
            Ok(u) => {
                self.evidence = Evidence::default();
                self.view = Rc::new(ClusterView::new(self.backend.topology()));
                self.why = None;
                self.fork_note = None;
                self.apply(u);
            }
            Err(e) => self.apply(vec![Update::Notice(e)]),
        }
    }

    /// A live page showing an earlier moment goes back to the present and
    /// follows the nodes again: real nodes act now, not in the past shown.
    pub(super) fn return_to_the_present_if_live(&mut self) {
        if let Some(run) = self.backend.run_state().filter(|r| r.live && r.behind()) {
            self.seek(run.head);
            self.playing = true;
        }
    }

    /// The event to go back to for one step back: right after the last
    /// event before the cursor that said something in the log
    /// (heartbeats only when they are shown), where [`Cmd::Step`] would
    /// have stopped; the start when there is none.
    pub(super) fn step_back_target(&self) -> Option<u64> {
        let run = self.backend.run_state()?;
        let history = self.backend.history();
        let before = history.partition_point(|(k, _)| *k < run.cursor);
        history[..before]
            .iter()
            .rev()
            .find(|(_, e)| says_a_line(e) && (self.ui.heartbeats || !is_heartbeat(e)))
            .map(|(k, _)| *k)
            .or((run.cursor > 0).then_some(0))
    }

    /// An action at an earlier moment started a new history from there.
    /// A guided scenario's steps describe the old one: it ends.
    pub(super) fn forked(&mut self, run: RunState) {
        let ended = if self.runner.take().is_some() {
            " The guided scenario ended with it."
        } else {
            ""
        };
        self.fork_note = Some(format!(
            "Forked at t = {}: the old future (up to {}) is gone; the share link now carries this run.{ended}",
            crate::rewind::secs(run.now_us),
            crate::rewind::secs(run.head_us),
        ));
    }

    /// True while the page plays (or shows) an earlier moment of the run.
    pub(super) fn replaying(&self) -> bool {
        self.backend.run_state().is_some_and(|r| r.behind())
    }
}

/// True when the event log has a line for this entry.
fn says_a_line(e: &ringside_core::TraceEntry) -> bool {
    use ringside_core::TraceWhat;
    match &e.what {
        TraceWhat::Node { event } => {
            crate::narration::node_event(event.node, &event.kind).is_some()
        }
        TraceWhat::Sim { event } => crate::narration::sim_event(event).is_some(),
    }
}
