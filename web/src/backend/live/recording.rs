//! What the page received from a live cluster, kept so that it can be
//! shown again. Real nodes cannot be rewound, but the page can go back
//! through what they told it: the scrub bar drags to any moment of the
//! recording, steps through it and replays it at the pace it came, then
//! follows the nodes again. The nodes go on meanwhile; what arrives while
//! the page shows the past is recorded and shown when it catches up.
//!
//! Event `k` is the moment after the first `k` updates received: seeking
//! there rebuilds the view from a reset and those updates, as the
//! simulated backend rebuilds it from its trace. Notices are not kept (a
//! refused command is not part of the cluster's history), and a run of
//! clock frames with nothing between them is kept as its last frame.
//!
//! The recording is bounded ([`KEPT`] updates): past that the oldest
//! quarter is dropped and the bar starts later.

use crate::rewind::{mark_of, Mark, MarkKind, RunState};
use crate::state::{LogKind, Topology, Update, Wire};
use ringside_core::{Key, Micros, NodeId, TraceEntry, Version};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Updates kept: about ten minutes of a quiet four-node cluster.
pub const KEPT: usize = 50_000;

/// A kept update. Trace entries live in [`Recording::history`] (which
/// the step back reads), so they are not held twice.
#[derive(Debug)]
enum Kept {
    Trace,
    Other(Update),
}

/// See the module docs.
#[derive(Debug)]
pub struct Recording {
    /// The topology the kept updates start from.
    start_topo: Topology,
    /// Events dropped from the front.
    first: u64,
    updates: Vec<Kept>,
    /// The view's clock after each kept update.
    times: Vec<Micros>,
    /// The trace entries, each with the event it is (`first + i + 1` for
    /// the update at `i`).
    history: Vec<(u64, TraceEntry)>,
    marks: Vec<Mark>,
    /// The event shown while the page shows the past, and the clock
    /// shown (a replay moves it between events); `None` while the page
    /// follows the nodes.
    cursor: Option<(u64, Micros)>,
    /// The newest clock frame, for the clock and the wires at the head.
    last_frame: (Micros, Vec<Wire>),
    /// Each node's last data map, shared by its snapshots while it is
    /// unchanged (a node is polled twice a second).
    data: BTreeMap<NodeId, Rc<BTreeMap<Key, Version>>>,
}

impl Recording {
    pub fn new(topo: Topology) -> Recording {
        Recording {
            start_topo: topo,
            first: 0,
            updates: Vec::new(),
            times: Vec::new(),
            history: Vec::new(),
            marks: Vec::new(),
            cursor: None,
            last_frame: (0, Vec::new()),
            data: BTreeMap::new(),
        }
    }

    /// The events received so far.
    pub fn head(&self) -> u64 {
        self.first + self.updates.len() as u64
    }

    /// True while the page follows the nodes.
    pub fn following(&self) -> bool {
        self.cursor.is_none()
    }

    /// Keeps `updates` (as they arrived) and says which of them to show
    /// now: all while following; only notices while showing the past.
    pub fn record(&mut self, updates: Vec<Update>) -> Vec<Update> {
        let following = self.following();
        let mut shown = Vec::new();
        for u in updates {
            if let Update::Notice(_) = u {
                shown.push(u);
                continue;
            }
            let u = self.share_data(u);
            if following {
                shown.push(u.clone());
            }
            self.keep(u);
        }
        self.trim();
        shown
    }

    fn share_data(&mut self, u: Update) -> Update {
        let Update::Snapshot(mut s) = u else {
            return u;
        };
        if let Some(d) = s.data.take() {
            let last = self.data.entry(s.id).or_insert_with(|| d.clone());
            if **last != *d {
                *last = d;
            }
            s.data = Some(last.clone());
        }
        Update::Snapshot(s)
    }

    fn keep(&mut self, u: Update) {
        let prev = self.times.last().copied().unwrap_or(0);
        let at = match &u {
            Update::Frame { now_us, .. } => *now_us,
            Update::Trace(e) => e.at,
            Update::Say { at, .. } => *at,
            _ => prev,
        };
        let now = prev.max(at);
        if let Update::Frame { now_us, wires } = &u {
            self.last_frame = (*now_us, wires.clone());
            // A frame right after a frame only moved the clock.
            if let Some(Kept::Other(Update::Frame { .. })) = self.updates.last() {
                if self.cursor.map(|c| c.0) != Some(self.head()) {
                    *self.updates.last_mut().expect("a last update") = Kept::Other(u);
                    *self.times.last_mut().expect("a last time") = now;
                    return;
                }
            }
        }
        let event = self.head() + 1;
        let kept = match u {
            Update::Trace(e) => {
                self.marks.extend(mark_of(event, &e));
                self.history.push((event, e));
                Kept::Trace
            }
            // A node's fault line (gone, back, asked to crash), not the
            // page's own news (connected).
            Update::Say {
                kind: LogKind::Fault,
                node: Some(_),
                ref text,
                at,
                ..
            } => {
                self.marks.push(Mark {
                    event,
                    at,
                    kind: MarkKind::Fault,
                    text: text.clone(),
                });
                Kept::Other(u)
            }
            other => Kept::Other(other),
        };
        self.updates.push(kept);
        self.times.push(now);
    }

    /// Drops the oldest quarter once more than [`KEPT`] are kept.
    fn trim(&mut self) {
        if self.updates.len() <= KEPT {
            return;
        }
        let cut = KEPT / 4;
        for k in &self.updates[..cut] {
            if let Kept::Other(Update::Reset(topo)) = k {
                self.start_topo = topo.clone();
            }
        }
        self.updates.drain(..cut);
        self.times.drain(..cut);
        self.first += cut as u64;
        let first = self.first;
        self.history.retain(|(k, _)| *k > first);
        self.marks.retain(|m| m.event > first);
        if let Some((c, _)) = self.cursor.as_mut() {
            *c = (*c).max(first);
        }
    }

    /// The update that made event `k` (`first < k <= head`).
    fn update(&self, k: u64) -> Update {
        match &self.updates[(k - self.first - 1) as usize] {
            Kept::Trace => {
                let i = self
                    .history
                    .binary_search_by_key(&k, |(e, _)| *e)
                    .expect("a kept trace entry is in the history");
                Update::Trace(self.history[i].1.clone())
            }
            Kept::Other(u) => u.clone(),
        }
    }

    /// The view's clock at event `k`.
    fn time(&self, k: u64) -> Micros {
        match k.checked_sub(self.first + 1) {
            Some(i) => self.times[i as usize],
            None => self.times.first().copied().unwrap_or(0),
        }
    }

    /// The messages on the wire at event `k`: the last frame's, as the
    /// view had them then.
    fn wires_at(&self, k: u64) -> Vec<Wire> {
        (self.first + 1..=k)
            .rev()
            .find_map(|j| match &self.updates[(j - self.first - 1) as usize] {
                Kept::Other(Update::Frame { wires, .. }) => Some(wires.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Shows event `k` (the start at most, the head at least, where the
    /// page follows the nodes again): the updates that draw it from a
    /// reset, which leave the view as it was when event `k` arrived.
    pub fn seek(&mut self, k: u64) -> Vec<Update> {
        let k = k.max(self.first);
        self.cursor = (k < self.head()).then(|| (k, self.time(k)));
        let mut out = Vec::with_capacity((k - self.first) as usize + 1);
        out.push(Update::Reset(self.start_topo.clone()));
        out.extend((self.first + 1..=k).map(|j| self.update(j)));
        out
    }

    /// Stops following: the page keeps showing this moment.
    pub fn hold(&mut self) {
        if self.cursor.is_none() {
            self.cursor = Some((self.head(), self.time(self.head())));
        }
    }

    /// One event on from the moment shown (none at the head).
    pub fn step(&mut self) -> Vec<Update> {
        let Some((c, _)) = self.cursor else {
            return Vec::new();
        };
        if c >= self.head() {
            return Vec::new();
        }
        self.cursor = Some((c + 1, self.time(c + 1)));
        vec![self.update(c + 1)]
    }

    /// Replays `by_us` of the recording from the moment shown, at the
    /// pace it came; on reaching the head the page follows the nodes
    /// again.
    pub fn replay(&mut self, by_us: Micros) -> Vec<Update> {
        let Some((c, shown_us)) = self.cursor else {
            return Vec::new();
        };
        if by_us == 0 {
            // Paused: events that share the shown moment's time stay
            // unshown too.
            return Vec::new();
        }
        let until = shown_us.saturating_add(by_us);
        let end = self.head();
        let mut k = c;
        let mut out = Vec::new();
        while k < end && self.time(k + 1) <= until {
            k += 1;
            out.push(self.update(k));
        }
        if k >= end {
            self.cursor = None;
            let (now_us, wires) = self.last_frame.clone();
            out.push(Update::Frame { now_us, wires });
        } else {
            self.cursor = Some((k, until));
            // The clock between two kept events: what had not arrived.
            let mut wires = self.wires_at(k);
            wires.retain(|w| w.arrive_at > until);
            out.push(Update::Frame {
                now_us: until,
                wires,
            });
        }
        out
    }

    /// Where the recording stands, for the scrub bar.
    pub fn run_state(&self) -> RunState {
        let head = self.head();
        let (cursor, now_us) = self.cursor.unwrap_or((head, self.time(head)));
        RunState {
            cursor,
            head,
            at_head: self.following(),
            now_us,
            head_us: self.time(head),
            start: self.first,
            start_us: self.time(self.first),
            live: true,
        }
    }

    pub fn history(&self) -> &[(u64, TraceEntry)] {
        &self.history
    }

    pub fn marks(&self) -> &[Mark] {
        &self.marks
    }

    pub fn mark(&mut self, mark: Mark) {
        self.marks.push(mark);
    }
}

#[cfg(test)]
mod tests;
