//! The output gate: when an output of a [`crate::Node`] may leave its
//! driver, given what of the commit log is durable. Sans-IO like the node:
//! the driver tells it what it appended, when a sync starts and ends, and
//! hands it every `Send` and `Reply`; the gate hands them back, in order,
//! once what they depend on is durable, and says when a sync is due.
//!
//! These are the native driver's rules (group commit, lazy writes),
//! written once so that the simulator runs exactly what a real node runs.
//! Positions are offsets into the log (bytes for a file, record numbers in
//! the simulator): anything that increases with every record will do.
//!
//! **What an output waits for.**
//! - [`Needs::Data`]: anything that may carry a value or answer a client
//!   (a read's answer, a repair, a hint, anti-entropy data, a reply)
//!   waits for every record appended before it, lazy ones included.
//! - [`Needs::NoData`]: a message that carries nothing read from the data
//!   (a heartbeat, a digest) waits only for the records that are not
//!   lazy.
//! - [`Needs::Request`]: a coordinator's request to a replica (a remote
//!   write or read) carries only what its client sent and an op id, and
//!   waits only until the reservation record that covers its op id (the
//!   newest [`Record::Timestamps`]) is durable, in a queue of its own. A
//!   restart begins its op ids above the durable reservation; a request
//!   that left under a reservation a crash then lost could share its op
//!   id with one of the next life's, and a late answer to it would count
//!   for the other. Nothing else is at stake: the write is not answered
//!   until its own record is durable, and a write nobody answered may
//!   take effect at any later time anyway. So a coordinator's remote
//!   writes leave before its own write is durable, and under load, while
//!   its earlier records wait for a sync in flight and then for the group
//!   window, its next requests already reach the replicas, whose syncs
//!   overlap its own.
//! - [`Needs::Ack`]: an acknowledgement (of a write, a repair, a hint)
//!   waits like `NoData` and also until the log is durable up to the
//!   newest record for the key the acknowledged message was about. A
//!   replica that logs nothing because what it holds is newer or equal
//!   acknowledges what that older record holds; if the record is lazy and
//!   a crash comes before its sync, both are gone while the coordinator
//!   counted the acknowledgement.
//! - Whatever a lazy write brings (its acknowledgement) waits for every
//!   record before it, in a queue of its own, so that it holds up nothing
//!   else.
//!
//! Outputs wait in order: one held output holds every later one in its
//! queue, as a reply must not overtake the messages before it. Across
//! the three queues (the main one, lazy writes' and requests') there is
//! no order: a request may reach a peer before a message emitted before
//! it, which nothing in the protocol depends on (a replica stores what a
//! write brings whatever came before it, and versions decide).
//!
//! **When a sync is due** (batch policy). Whenever records are not yet
//! durable and no sync is in flight, except that records which came only
//! from lazy writes, with nothing but their own acknowledgements waiting,
//! may wait up to the lazy window for another sync to carry them; and a
//! sync that is not for a lone write starts no sooner than the group
//! window after the previous one ended, so that it covers more.
//!
//! **The group window grows with the groups**, as PostgreSQL's
//! `commit_delay` waits only while enough other transactions are open: a
//! sync that covered few records means few writers, and waiting longer
//! would only delay them; one that covered many means the next group
//! fills while it waits, and fewer, fuller syncs cost the disk and the
//! CPU less per record. So the window is the configured one times the
//! last group's size in steps of [`GROUP_STEP`] records, at most
//! [`MAX_STRETCH`] times.
//!
//! **Periodic policy.** A record counts as durable once written, and a
//! sync is due every period.

use crate::io::Input;
use crate::message::Msg;
use crate::storage::Record;
use crate::types::{Key, Micros};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How the log is made durable: the one description of a sync policy,
/// which the simulator's disks and the native node's log both follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Policy {
    /// Outputs wait for an fsync of what they depend on; syncs are
    /// grouped (see the module docs).
    Batch {
        group_window_us: Micros,
        lazy_window_us: Micros,
    },
    /// Outputs wait only for the write; a sync runs every `period_us`.
    Periodic { period_us: Micros },
}

/// How long a lazy record may wait for another sync to carry it.
pub const LAZY_WINDOW_US: Micros = 2_000;

/// Records per step of the group window's growth (see the module docs):
/// a last group of fewer than twice this keeps the configured window.
pub const GROUP_STEP: u64 = 4;

/// The group window grows to at most this many times the configured one.
pub const MAX_STRETCH: u64 = 5;

impl Policy {
    /// Batch sync with a group window of `group_window_us` and the
    /// lazy window [`LAZY_WINDOW_US`].
    pub fn batch(group_window_us: Micros) -> Policy {
        Policy::Batch {
            group_window_us,
            lazy_window_us: LAZY_WINDOW_US,
        }
    }

    /// Periodic sync every `period_ms` (at least 1 ms).
    pub fn periodic(period_ms: u64) -> Policy {
        Policy::Periodic {
            period_us: period_ms.max(1) * 1000,
        }
    }

    pub fn is_batch(&self) -> bool {
        matches!(self, Policy::Batch { .. })
    }
}

/// What an output depends on (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Request,
    NoData,
    Ack,
    Data,
}

impl Needs {
    /// What a peer message depends on.
    pub fn of_message(msg: &Msg) -> Needs {
        match msg {
            Msg::Write { .. } | Msg::Read { .. } => Needs::Request,
            Msg::Heartbeat { .. } | Msg::SyncDigest { .. } => Needs::NoData,
            Msg::WriteAck { .. } | Msg::RepairAck { .. } | Msg::HintAck { .. } => Needs::Ack,
            Msg::ReadReply { .. }
            | Msg::Repair { .. }
            | Msg::Hint { .. }
            | Msg::SyncData { .. } => Needs::Data,
        }
    }
}

/// A deliberately broken rule, so that a test can show the simulator's
/// sweep catches it. Never set outside such a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    /// An acknowledgement waits only for the records that are not lazy,
    /// as the native driver did: a replica that logged nothing for a write
    /// older than a lazy record it holds acknowledged at once.
    AckIgnoresKey,
    /// A compaction's new log is its snapshot alone: what the node logged
    /// while the snapshot was taken, slice by slice, is not in it.
    CompactionDropsKept,
    /// A request leaves at once, before the reservation of its op id is
    /// durable.
    RequestIgnoresReservation,
}

/// The output gate. `A` is whatever the driver holds back (an output, a
/// frame to send).
#[derive(Clone, Debug)]
pub struct Gate<A> {
    policy: Policy,
    /// The end of the last record appended.
    appended: u64,
    /// How far the log is written (periodic: durable).
    written: u64,
    /// How far the log is synced.
    synced: u64,
    /// The end the sync in flight covers.
    in_flight: Option<u64>,
    /// When the last sync ended (or the gate started).
    last_sync: Micros,
    /// The log end a sync is due for now: the end of the last record not
    /// from a lazy write, or more when a held output needs more.
    urgent_to: u64,
    /// When the oldest lazy record not yet covered by a sync came.
    lazy_since: Option<Micros>,
    /// The input being handled is a lazy write.
    lazy_input: bool,
    /// The key the input being handled is about.
    input_key: Option<Key>,
    /// The end of the newest reservation record (requests wait for it).
    reserved_to: u64,
    /// Records appended since the last sync started, and how many the
    /// last sync covered: the group window grows with the latter.
    ungrouped: u64,
    last_group: u64,
    held: VecDeque<(u64, A)>,
    held_lazy: VecDeque<(u64, A)>,
    held_requests: VecDeque<(u64, A)>,
    ready: VecDeque<A>,
    /// The end of the newest record per key, for records not yet durable,
    /// and the same in append order to forget them once they are.
    /// Ordered, not hashed: a simulation's digest prints the gate, and
    /// the same state must print the same.
    newest: BTreeMap<Key, u64>,
    recent: VecDeque<(u64, Key)>,
    flaw: Option<Flaw>,
}

impl<A> Gate<A> {
    /// A gate over a log whose first `end` positions are durable.
    pub fn new(policy: Policy, end: u64, now: Micros) -> Gate<A> {
        Gate {
            policy,
            appended: end,
            written: end,
            synced: end,
            in_flight: None,
            last_sync: now,
            urgent_to: end,
            lazy_since: None,
            lazy_input: false,
            input_key: None,
            reserved_to: end,
            ungrouped: 0,
            last_group: 0,
            held: VecDeque::new(),
            held_lazy: VecDeque::new(),
            held_requests: VecDeque::new(),
            ready: VecDeque::new(),
            newest: BTreeMap::new(),
            recent: VecDeque::new(),
            flaw: None,
        }
    }

    /// Breaks a rule on purpose (see [`Flaw`]).
    pub fn set_flaw(&mut self, flaw: Option<Flaw>) {
        self.flaw = flaw;
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The driver is about to hand `input` to the node: what it appends
    /// and emits until the next call belongs to it.
    pub fn begin_input(&mut self, input: &Input) {
        let (lazy, key) = match input {
            Input::Message { msg, .. } => (
                matches!(msg.body, Msg::Write { lazy: true, .. }),
                msg.body.key().cloned(),
            ),
            _ => (false, None),
        };
        self.lazy_input = lazy;
        self.input_key = key;
    }

    /// The node appended `record`, which ends at `end`.
    pub fn appended(&mut self, end: u64, record: &Record, now: Micros) {
        debug_assert!(end > self.appended, "log positions increase");
        self.appended = end;
        let key = match record {
            Record::Write { key, .. } | Record::Hint { key, .. } => Some(key),
            Record::Timestamps { .. } => {
                self.reserved_to = end;
                None
            }
            Record::HintDone { .. } => None,
        };
        self.ungrouped += 1;
        if self.lazy_input {
            self.lazy_since.get_or_insert(now);
        } else {
            self.urgent_to = end;
        }
        if let Some(k) = key {
            self.newest.insert(k.clone(), end);
            self.recent.push_back((end, k.clone()));
        }
    }

    /// Everything up to `end` is written (not yet synced).
    pub fn written_to(&mut self, end: u64) {
        self.written = self.written.max(end.min(self.appended));
        self.release();
    }

    /// Hands an output to the gate; it comes back from [`Gate::pop_ready`]
    /// once what it needs is durable.
    pub fn emit(&mut self, action: A, needs: Needs) {
        let durable = self.durable();
        // What it needs, the queue it waits in, and whether, held, it
        // makes the sync due for that need (the main queue's outputs do).
        let (need, queue, urgent) = match needs {
            // A request's queue and need are its own, lazy input or not.
            Needs::Request => {
                let need = match self.flaw {
                    Some(Flaw::RequestIgnoresReservation) => 0,
                    _ => self.reserved_to,
                };
                (need, &mut self.held_requests, false)
            }
            _ if self.lazy_input => (self.appended, &mut self.held_lazy, false),
            Needs::NoData => (self.urgent_to, &mut self.held, true),
            Needs::Ack if self.flaw == Some(Flaw::AckIgnoresKey) => {
                (self.urgent_to, &mut self.held, true)
            }
            Needs::Ack => {
                let need = match &self.input_key {
                    Some(k) => self.urgent_to.max(self.newest.get(k).copied().unwrap_or(0)),
                    None => self.appended,
                };
                (need, &mut self.held, true)
            }
            Needs::Data => (self.appended, &mut self.held, true),
        };
        if queue.is_empty() && need <= durable {
            self.ready.push_back(action);
            return;
        }
        queue.push_back((need, action));
        if urgent {
            self.urgent_to = self.urgent_to.max(need);
        }
    }

    /// The next output free to leave, in order.
    pub fn pop_ready(&mut self) -> Option<A> {
        self.ready.pop_front()
    }

    /// How much of the log counts as durable for what follows it.
    pub fn durable(&self) -> u64 {
        match self.policy {
            Policy::Batch { .. } => self.synced,
            Policy::Periodic { .. } => self.written,
        }
    }

    pub fn synced(&self) -> u64 {
        self.synced
    }

    pub fn appended_to(&self) -> u64 {
        self.appended
    }

    /// Records appended but not yet synced.
    pub fn is_dirty(&self) -> bool {
        self.appended > self.synced
    }

    pub fn sync_in_flight(&self) -> Option<u64> {
        self.in_flight
    }

    /// Outputs held back.
    pub fn held(&self) -> usize {
        self.held.len() + self.held_lazy.len() + self.held_requests.len()
    }

    /// While every record not yet synced came from a lazy write and
    /// nothing waits on them but their acknowledgements: when the oldest
    /// will have waited the lazy window.
    fn lazy_deadline(&self) -> Option<Micros> {
        let Policy::Batch { lazy_window_us, .. } = self.policy else {
            return None;
        };
        let since = self.lazy_since?;
        (self.urgent_to <= self.synced).then_some(since + lazy_window_us)
    }

    /// With batch sync: false only before the lazy deadline.
    fn sync_due(&self, now: Micros) -> bool {
        self.lazy_deadline().is_none_or(|d| now >= d)
    }

    /// True when the driver should start a sync now; `lone` when the
    /// batch of inputs just handled held a single write (it never waits
    /// for the group window).
    pub fn should_sync(&self, now: Micros, lone: bool) -> bool {
        if !self.is_dirty() || self.in_flight.is_some() {
            return false;
        }
        match self.policy {
            Policy::Batch { .. } => {
                self.sync_due(now) && (lone || now >= self.last_sync + self.group_window())
            }
            Policy::Periodic { period_us } => now >= self.last_sync + period_us,
        }
    }

    /// When the driver must wake without input to start a sync.
    pub fn next_wakeup(&self) -> Option<Micros> {
        if !self.is_dirty() || self.in_flight.is_some() {
            return None;
        }
        match self.policy {
            Policy::Batch { .. } => {
                let window = self.last_sync + self.group_window();
                Some(self.lazy_deadline().map_or(window, |d| d.max(window)))
            }
            Policy::Periodic { period_us } => Some(self.last_sync + period_us),
        }
    }

    /// The least time from the end of one sync to the start of the next
    /// that is not for a lone write: the configured window, grown with
    /// the last group (see the module docs).
    pub fn group_window(&self) -> Micros {
        let Policy::Batch {
            group_window_us, ..
        } = self.policy
        else {
            return 0;
        };
        group_window_us.saturating_mul((self.last_group / GROUP_STEP).clamp(1, MAX_STRETCH))
    }

    /// A sync covering the log up to `end` started.
    pub fn sync_started(&mut self, end: u64) {
        self.last_group = self.ungrouped;
        self.ungrouped = 0;
        self.in_flight = Some(end);
        self.lazy_since = None;
    }

    /// The sync covering the log up to `end` finished.
    pub fn sync_finished(&mut self, end: u64, now: Micros) {
        self.in_flight = None;
        self.last_sync = now;
        self.synced = self.synced.max(end.min(self.appended));
        self.written = self.written.max(self.synced);
        while let Some((at, _)) = self.recent.front() {
            if *at > self.synced {
                break;
            }
            let (at, key) = self.recent.pop_front().expect("a front entry");
            if self.newest.get(&key) == Some(&at) {
                self.newest.remove(&key);
            }
        }
        self.release();
    }

    /// Moves the held outputs whose records are now durable to the ready
    /// queue.
    fn release(&mut self) {
        let durable = self.durable();
        for queue in [&mut self.held_requests, &mut self.held, &mut self.held_lazy] {
            while queue.front().is_some_and(|(need, _)| *need <= durable) {
                let (_, a) = queue.pop_front().expect("a front entry");
                self.ready.push_back(a);
            }
        }
    }

    /// The log failed or was lost: nothing held may leave. Returns what
    /// was held, in order, and starts over over a log whose first `end`
    /// positions are durable.
    pub fn reset(&mut self, end: u64, now: Micros) -> Vec<A> {
        let mut out = Vec::with_capacity(self.held());
        for queue in [&mut self.held_requests, &mut self.held, &mut self.held_lazy] {
            out.extend(std::mem::take(queue).into_iter().map(|(_, a)| a));
        }
        let flaw = self.flaw;
        let ready = std::mem::take(&mut self.ready);
        *self = Gate::new(self.policy, end, now);
        self.ready = ready;
        self.flaw = flaw;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, MsgId};
    use crate::types::Version;

    const BATCH: Policy = Policy::Batch {
        group_window_us: 200,
        lazy_window_us: 2_000,
    };

    /// Appends `n` records to `g` and syncs them; returns the new end.
    fn group_of(g: &mut Gate<u32>, end: u64, n: u64, now: Micros) -> u64 {
        g.begin_input(&Input::Start);
        for i in 1..=n {
            g.appended(end + i, &done(), now);
        }
        g.sync_started(end + n);
        g.sync_finished(end + n, now);
        end + n
    }

    #[test]
    fn the_group_window_grows_with_the_last_group_and_shrinks_back() {
        let mut g: Gate<u32> = Gate::new(BATCH, 0, 0);
        assert_eq!(g.group_window(), 200, "before any sync");
        let mut end = 0;
        for (records, window) in [
            (1, 200),
            (7, 200),
            (8, 400),
            (12, 600),
            (19, 800),
            (20, 1000),
            (500, 1000),
            (2, 200),
        ] {
            end = group_of(&mut g, end, records, 0);
            assert_eq!(g.group_window(), window, "after a group of {records}");
        }
        // A sync after a large group waits the grown window: not due
        // before it, due once it has passed.
        end = group_of(&mut g, end, 40, 10_000);
        g.begin_input(&Input::Start);
        g.appended(end + 1, &done(), 10_000);
        g.appended(end + 2, &done(), 10_000);
        assert!(!g.should_sync(10_999, false));
        assert!(g.should_sync(11_000, false));
        assert!(g.should_sync(10_001, true), "a lone write never waits");
        assert_eq!(g.next_wakeup(), Some(11_000));
        let periodic: Gate<u32> = Gate::new(Policy::periodic(10), 0, 0);
        assert_eq!(periodic.group_window(), 0);
    }

    fn msg(body: Msg) -> Input {
        Input::Message {
            from: 2,
            msg: Message {
                id: MsgId {
                    from: 2,
                    gen: 0,
                    n: 0,
                },
                body,
            },
        }
    }

    fn write(key: u8, ts: u64, lazy: bool) -> Input {
        msg(Msg::Write {
            op: 1,
            key: Key::Int(key),
            version: Version {
                ts,
                value: Some("v".into()),
            },
            lazy,
        })
    }

    /// A record of a write of `key`.
    fn put(key: u8) -> Record {
        Record::Write {
            key: Key::Int(key),
            version: Version {
                ts: 1,
                value: Some("v".into()),
            },
        }
    }

    /// A record about no key.
    fn done() -> Record {
        Record::HintDone { id: 1 }
    }

    fn ready(g: &mut Gate<&'static str>) -> Vec<&'static str> {
        std::iter::from_fn(|| g.pop_ready()).collect()
    }

    #[test]
    fn a_reply_waits_for_the_sync_of_the_record_before_it() {
        let mut g: Gate<&str> = Gate::new(BATCH, 0, 0);
        g.begin_input(&Input::Start);
        g.emit("remote write", Needs::NoData);
        g.appended(1, &put(1), 0);
        g.emit("reply", Needs::Data);
        assert_eq!(ready(&mut g), ["remote write"]);
        assert!(g.should_sync(0, true));
        g.sync_started(1);
        assert!(!g.should_sync(0, true), "one sync in flight at a time");
        g.sync_finished(1, 10);
        assert_eq!(ready(&mut g), ["reply"]);
    }

    #[test]
    fn a_request_waits_for_the_reservation_of_its_op_id_and_nothing_else() {
        for flaw in [None, Some(Flaw::RequestIgnoresReservation)] {
            let mut g: Gate<&str> = Gate::new(BATCH, 0, 0);
            g.set_flaw(flaw);
            g.begin_input(&Input::Start);
            g.appended(1, &Record::Timestamps { below: 500 }, 0);
            g.emit("request under a new reservation", Needs::Request);
            g.appended(2, &put(1), 0);
            g.emit("reply", Needs::Data);
            if flaw.is_some() {
                assert_eq!(ready(&mut g), ["request under a new reservation"]);
                continue;
            }
            assert!(ready(&mut g).is_empty());
            assert_eq!(g.held(), 2);
            g.sync_started(2);
            g.sync_finished(2, 10);
            assert_eq!(ready(&mut g), ["request under a new reservation", "reply"]);
            // The next op's request leaves at once, though the records
            // before it are not durable; a heartbeat still waits for them.
            g.begin_input(&Input::Start);
            g.appended(3, &put(2), 20);
            g.emit("heartbeat", Needs::NoData);
            g.emit("next request", Needs::Request);
            assert_eq!(ready(&mut g), ["next request"]);
            // Requests keep their order among themselves.
            g.appended(4, &Record::Timestamps { below: 900 }, 20);
            g.emit("request under the next reservation", Needs::Request);
            g.emit("request after it", Needs::Request);
            assert!(ready(&mut g).is_empty());
            assert_eq!(
                g.reset(2, 30),
                [
                    "request under the next reservation",
                    "request after it",
                    "heartbeat"
                ]
            );
        }
    }

    #[test]
    fn a_lazy_record_waits_for_its_window_and_holds_up_nothing_else() {
        let mut g: Gate<&str> = Gate::new(BATCH, 0, 0);
        g.begin_input(&write(1, 5, true));
        g.appended(1, &put(1), 100);
        g.emit("lazy ack", Needs::Ack);
        assert!(!g.should_sync(100, true), "a lazy record waits");
        assert_eq!(g.next_wakeup(), Some(2_100));
        g.begin_input(&Input::Start);
        g.emit("heartbeat", Needs::NoData);
        assert_eq!(ready(&mut g), ["heartbeat"]);
        assert!(g.should_sync(2_100, true));
    }

    #[test]
    fn an_ack_that_logged_nothing_waits_for_the_lazy_record_of_its_key() {
        for flaw in [None, Some(Flaw::AckIgnoresKey)] {
            let mut g: Gate<&str> = Gate::new(BATCH, 0, 0);
            g.set_flaw(flaw);
            g.begin_input(&write(1, 9, true));
            g.appended(1, &put(1), 0);
            // An older write of the same key: the replica logs nothing.
            g.begin_input(&write(1, 5, false));
            g.emit("ack of the older write", Needs::Ack);
            if flaw.is_some() {
                assert_eq!(ready(&mut g), ["ack of the older write"]);
                continue;
            }
            assert!(ready(&mut g).is_empty());
            assert!(g.should_sync(0, true), "the held ack makes the sync due");
            g.sync_started(1);
            g.sync_finished(1, 5);
            assert_eq!(ready(&mut g), ["ack of the older write"]);
        }
    }

    #[test]
    fn an_ack_for_another_key_does_not_wait_for_a_lazy_record() {
        let mut g: Gate<&str> = Gate::new(BATCH, 0, 0);
        g.begin_input(&write(1, 9, true));
        g.appended(1, &put(1), 0);
        g.begin_input(&write(2, 5, false));
        g.emit("ack", Needs::Ack);
        assert_eq!(ready(&mut g), ["ack"]);
    }

    #[test]
    fn group_commit_waits_for_the_window_unless_lone() {
        let mut g: Gate<&str> = Gate::new(BATCH, 0, 0);
        g.begin_input(&Input::Start);
        g.appended(1, &done(), 0);
        g.sync_started(1);
        g.appended(2, &done(), 10);
        g.appended(3, &done(), 20);
        g.sync_finished(1, 50);
        assert!(!g.should_sync(100, false));
        assert_eq!(g.next_wakeup(), Some(250));
        assert!(g.should_sync(250, false));
        assert!(g.should_sync(100, true));
    }

    #[test]
    fn periodic_outputs_wait_for_the_write_only() {
        let mut g: Gate<&str> = Gate::new(Policy::Periodic { period_us: 1_000 }, 0, 0);
        g.begin_input(&Input::Start);
        g.appended(1, &done(), 0);
        g.emit("reply", Needs::Data);
        assert!(ready(&mut g).is_empty());
        g.written_to(1);
        assert_eq!(ready(&mut g), ["reply"]);
        assert!(!g.should_sync(500, true));
        assert!(g.should_sync(1_000, true));
    }

    #[test]
    fn a_reset_hands_back_what_was_held() {
        let mut g: Gate<&str> = Gate::new(BATCH, 0, 0);
        g.begin_input(&Input::Start);
        g.appended(1, &done(), 0);
        g.emit("reply", Needs::Data);
        assert_eq!(g.reset(0, 5), vec!["reply"]);
        assert_eq!(g.held(), 0);
        assert!(!g.is_dirty());
    }
}
