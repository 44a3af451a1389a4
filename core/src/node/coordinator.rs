//! The coordinator: the node a client asked. It sends the request to the
//! key's replicas, answers once the consistency level is met, hints the
//! writes replicas miss, repairs the stale replicas a read finds, and
//! answers `Timeout` when the level is not met in time.

use super::{EventLevel, Node};
use crate::io::{EventKind, HintReason, TimerId};
use crate::message::{ClientRef, ErrorKind, Msg, OpId, Reply, Request};
use crate::storage::{hint_bytes, Record};
use crate::types::{Consistency, Key, KeyVersion, Micros, NodeId, Value, Version, MAX_VALUE_BYTES};
use std::borrow::Cow;

/// How far ahead of the timestamp (or op id) it needs a coordinator
/// reserves in the log. Longer means fewer reservation records; it is
/// also how far past its clock a node's first write after a restart may
/// be stamped, so it stays short next to the skews the lessons show.
const TIMESTAMP_RESERVATION_US: Micros = 100_000;

/// One client request being worked on.
#[derive(Clone, Debug)]
pub(super) struct PendingOp {
    client: ClientRef,
    key: Key,
    cl: Consistency,
    needed: usize,
    replicas: Vec<NodeId>,
    started: Micros,
    replied: bool,
    state: OpState,
}

impl PendingOp {
    /// See `Node::clock_stepped_back`.
    pub(super) fn shift_back(&mut self, by: Micros) {
        self.started = self.started.saturating_sub(by);
    }
}

#[derive(Clone, Debug)]
enum OpState {
    Write {
        version: Version,
        /// Live replicas the write went to.
        sent: Vec<NodeId>,
        acked: Vec<NodeId>,
        hinted: usize,
    },
    Read {
        asked: Vec<NodeId>,
        responses: Vec<(NodeId, Option<Version>)>,
        winner: Option<Version>,
        /// Stale replicas whose blocking repair we wait for.
        repairing: Vec<NodeId>,
        /// Replicas already sent a repair (blocking or not).
        repaired: Vec<NodeId>,
    },
}

impl Node {
    /// Client requests being worked on.
    pub fn pending_requests(&self) -> usize {
        self.ops.len()
    }

    pub(super) fn handle_client(&mut self, client: ClientRef, request: Request) {
        // Refused before it gets an operation id: the node cannot take it
        // at all, whatever the key.
        if let Err(refusal) = self.admit(&request) {
            self.refuse(client, 0, refusal);
            return;
        }
        let key = request.key().clone();
        let cl = request.cl();
        let replicas = self.ring.replicas(&key);
        let live: Vec<NodeId> = replicas
            .iter()
            .copied()
            .filter(|&r| self.is_up(r))
            .collect();
        let op = self.new_op();
        if self.events == EventLevel::All {
            self.event(EventKind::RequestReceived {
                client,
                op,
                request: request.clone(),
                replicas: replicas.clone(),
                live: live.clone(),
            });
        }
        // Refused once the replicas are known: the level cannot be met.
        let needed = cl.required(self.ring.rf());
        if let Err(refusal) = self.reachable(&request, needed, &replicas, &live) {
            self.refuse(client, op, refusal);
            return;
        }
        let state = match request {
            Request::Put { value, .. } => {
                self.start_write(op, &key, Some(value), needed, &replicas, &live)
            }
            Request::Delete { .. } => self.start_write(op, &key, None, needed, &replicas, &live),
            Request::Get { .. } => self.start_read(op, &key, &live),
        };
        let pending = PendingOp {
            client,
            key,
            cl,
            needed,
            replicas,
            started: self.now,
            replied: false,
            state,
        };
        self.ops.insert(op, Box::new(pending));
        let timeout = self.cfg().request_timeout_ms;
        self.timer(TimerId::Request { op }, timeout);
        self.progress(op);
    }

    /// Whether this node can take a request at all: it has started, is
    /// not overloaded, and the value is within bounds.
    fn admit(&self, request: &Request) -> Result<(), Reply> {
        if !self.started {
            return Err(Reply::error(ErrorKind::Unavailable, "node is starting"));
        }
        if self.ops.len() >= self.cfg().max_pending_requests {
            let msg = format!(
                "this node already works on {} requests (max_pending_requests)",
                self.ops.len()
            );
            return Err(Reply::error(ErrorKind::Overloaded, msg));
        }
        if let Request::Put { value, .. } = request {
            if value.len() > MAX_VALUE_BYTES {
                let msg = format!(
                    "value: at most {MAX_VALUE_BYTES} bytes, got {}",
                    value.len()
                );
                return Err(Reply::error(ErrorKind::BadRequest, msg));
            }
        }
        Ok(())
    }

    /// Whether the request's level can be met with the replicas that are
    /// up (or, for ANY, with room for hints).
    fn reachable(
        &self,
        request: &Request,
        needed: usize,
        replicas: &[NodeId],
        live: &[NodeId],
    ) -> Result<(), Reply> {
        let cl = request.cl();
        if cl == Consistency::Any && !request.is_write() {
            return Err(Reply::error(
                ErrorKind::BadRequest,
                "cl: ANY is for writes only",
            ));
        }
        let rf = self.ring.rf();
        if needed > rf {
            let msg = format!("{cl} needs {needed} replicas but the replication factor is {rf}");
            return Err(Reply::error(ErrorKind::Unavailable, msg));
        }
        if live.len() < needed {
            let msg = format!(
                "{cl} needs {needed} live replica{} of {replicas:?}; live: {live:?}",
                if needed == 1 { "" } else { "s" }
            );
            return Err(Reply::error(ErrorKind::Unavailable, msg));
        }
        if cl == Consistency::Any && live.is_empty() {
            // Every replica's copy becomes a hint here: there must be
            // room for all of them.
            let value = match request {
                Request::Put { value, .. } => Some(&**value),
                _ => None,
            };
            let each = hint_bytes(request.key(), value);
            if self
                .hint_room(replicas.len(), each * replicas.len() as u64)
                .is_err()
            {
                let msg = "ANY: no replica is live and the hint store is full";
                return Err(Reply::error(ErrorKind::Unavailable, msg));
            }
        }
        Ok(())
    }

    /// Answers a request that was refused before any replica was asked.
    fn refuse(&mut self, client: ClientRef, op: OpId, refusal: Reply) {
        self.reply(client, op, self.now, vec![], refusal);
    }

    /// A new op id. Replicas answer by op id, so an id used again by a
    /// later life of this node would count an answer meant for the
    /// earlier op: ids are reserved in the log like timestamps (see
    /// [`Node::reserve_past`]), and a restart begins above the
    /// reservation. When the id needs a new reservation, the record is
    /// logged before the op sends anything, and every message waits for
    /// it.
    fn new_op(&mut self) -> OpId {
        let op = self.next_op;
        self.next_op += 1;
        self.reserve_past(op);
        op
    }

    /// Makes sure the log says this node's clock-derived numbers
    /// (timestamps and op ids) reach past `n`: a restart, whatever its
    /// clock says, begins above every one it used. For a timestamp this
    /// is called after the remote writes are sent and before the reply:
    /// the reply waits for the record (it waits for every record before
    /// it), the remote writes do not. A write nobody answered may carry a
    /// timestamp a crash unreserved; that costs nothing, as such a write
    /// may take effect at any later time anyway.
    pub(super) fn reserve_past(&mut self, n: Micros) {
        if n >= self.mem.timestamps_below {
            let below = n.saturating_add(TIMESTAMP_RESERVATION_US);
            self.persist(Record::Timestamps { below });
            self.mem.timestamps_below = below;
        }
    }

    /// Gives the write a timestamp and sends it to the live replicas,
    /// writing our own copy and hinting the replicas that are down.
    fn start_write(
        &mut self,
        op: OpId,
        key: &Key,
        value: Option<Value>,
        needed: usize,
        replicas: &[NodeId],
        live: &[NodeId],
    ) -> OpState {
        let me = self.config.id;
        let ts = self.now.max(self.last_ts + 1);
        self.last_ts = ts;
        let version = Version { ts, value };
        let mut acked = vec![];
        let mut sent = vec![];
        let mut hinted = 0;
        // The replicas the answer waits for write at once; the rest
        // (beyond the consistency level's count, after our own write) are
        // told they may write lazily, with their next sync: on one shared
        // disk, a durable write nobody waits for slows the ones somebody
        // does.
        let own = usize::from(replicas.contains(&me) && live.contains(&me));
        let mut waited_for = needed.max(1).saturating_sub(own);
        // Remote writes go out first: they depend on no record of ours, so
        // the replicas' fsyncs overlap with our own.
        for &r in replicas {
            if r != me && live.contains(&r) {
                let lazy = waited_for == 0;
                waited_for = waited_for.saturating_sub(1);
                self.send(
                    r,
                    Msg::Write {
                        op,
                        key: key.clone(),
                        version: version.clone(),
                        lazy,
                    },
                );
                sent.push(r);
            }
        }
        self.reserve_past(version.ts);
        for &r in replicas {
            if r == me && live.contains(&r) {
                self.store(key, Cow::Borrowed(&version), "client write");
                acked.push(me);
            } else if !live.contains(&r) && self.store_hint(r, key, &version, HintReason::Down) {
                hinted += 1;
            }
        }
        OpState::Write {
            version,
            sent,
            acked,
            hinted,
        }
    }

    /// Asks every live replica for the key, answering for itself at once.
    fn start_read(&mut self, op: OpId, key: &Key, live: &[NodeId]) -> OpState {
        let me = self.config.id;
        let mut asked = vec![];
        let mut responses = vec![];
        for &r in live {
            if r == me {
                responses.push((me, self.mem.data.get(key).cloned()));
            } else {
                self.send(
                    r,
                    Msg::Read {
                        op,
                        key: key.clone(),
                    },
                );
            }
            asked.push(r);
        }
        OpState::Read {
            asked,
            responses,
            winner: None,
            repairing: vec![],
            repaired: vec![],
        }
    }

    /// A replica acknowledged a write this node coordinates.
    pub(super) fn on_write_ack(&mut self, from: NodeId, op: OpId) {
        if let Some(p) = self.ops.get_mut(&op) {
            if let OpState::Write { sent, acked, .. } = &mut p.state {
                if sent.contains(&from) && !acked.contains(&from) {
                    acked.push(from);
                }
            }
            self.progress(op);
        }
    }

    /// A replica answered a read this node coordinates.
    pub(super) fn on_read_reply(
        &mut self,
        from: NodeId,
        op: OpId,
        key: Key,
        version: Option<Version>,
    ) {
        if let Some(p) = self.ops.get_mut(&op) {
            if p.key != key {
                return;
            }
            if let OpState::Read {
                asked, responses, ..
            } = &mut p.state
            {
                if asked.contains(&from) && !responses.iter().any(|(n, _)| *n == from) {
                    responses.push((from, version));
                }
            }
            self.progress(op);
        }
    }

    /// A stale replica took the read repair this node sent it.
    pub(super) fn on_repair_ack(&mut self, from: NodeId, op: OpId) {
        if let Some(p) = self.ops.get_mut(&op) {
            if let OpState::Read { repairing, .. } = &mut p.state {
                // One acknowledgement per repair: a replica repaired
                // twice (the winner changed) is waited for twice.
                if let Some(i) = repairing.iter().position(|&r| r == from) {
                    repairing.remove(i);
                }
            }
            self.progress(op);
        }
    }

    /// Moves an operation forward: replies when its level is met, starts
    /// read repair, and forgets it when nothing more can happen.
    fn progress(&mut self, op: OpId) {
        let Some(mut p) = self.ops.remove(&op) else {
            return;
        };
        let done;
        match &mut p.state {
            OpState::Write {
                version,
                sent,
                acked,
                hinted,
            } => {
                let met = if p.cl == Consistency::Any {
                    !acked.is_empty() || *hinted > 0
                } else {
                    acked.len() >= p.needed
                };
                if met && !p.replied {
                    p.replied = true;
                    let answered = acked.clone();
                    let ts = version.ts;
                    self.reply(p.client, op, p.started, answered, Reply::Written { ts });
                }
                done = p.replied && sent.iter().all(|r| acked.contains(r));
            }
            OpState::Read {
                asked,
                responses,
                winner,
                repairing,
                repaired,
            } => {
                if responses.len() >= p.needed {
                    let newest = responses
                        .iter()
                        .fold(None, |acc: Option<&Version>, (_, v)| {
                            Version::newest(acc, v.as_ref())
                        })
                        .cloned();
                    let changed = match (&newest, &*winner) {
                        (Some(n), Some(w)) => n.supersedes(w),
                        (Some(_), None) => true,
                        _ => false,
                    };
                    if changed || winner.is_none() {
                        // Replicas repaired with the old winner are stale
                        // again: repair them too, or with RF 5 the version
                        // returned can sit on fewer than a quorum.
                        if changed {
                            repaired.clear();
                        }
                        *winner = newest;
                    }
                    let blocking =
                        !p.replied && matches!(p.cl, Consistency::Quorum | Consistency::All);
                    if let Some(w) = winner.clone().filter(|_| self.config.cluster.read_repair) {
                        let stale: Vec<NodeId> = responses
                            .iter()
                            .filter(|(n, v)| {
                                !repaired.contains(n) && v.as_ref().is_none_or(|v| w.supersedes(v))
                            })
                            .map(|(n, _)| *n)
                            .collect();
                        for r in stale {
                            repaired.push(r);
                            self.event(EventKind::ReadRepair {
                                key: p.key.clone(),
                                target: r,
                                version: w.clone(),
                                blocking,
                            });
                            if r == self.config.id {
                                let key = p.key.clone();
                                self.store(&key, Cow::Borrowed(&w), "read repair");
                            } else {
                                if blocking {
                                    repairing.push(r);
                                }
                                self.send(
                                    r,
                                    Msg::Repair {
                                        op,
                                        key: p.key.clone(),
                                        version: w.clone(),
                                    },
                                );
                            }
                        }
                    }
                    if !p.replied && repairing.is_empty() {
                        p.replied = true;
                        let kv = winner.as_ref().and_then(|w| {
                            w.value.as_ref().map(|value| KeyVersion {
                                key: p.key.clone(),
                                value: Some(value.clone()),
                                ts: w.ts,
                            })
                        });
                        let answered = responses.iter().map(|(n, _)| *n).collect();
                        self.reply(p.client, op, p.started, answered, Reply::Read { kv });
                    }
                }
                done = p.replied && responses.len() == asked.len() && repairing.is_empty();
            }
        }
        if !done {
            self.ops.insert(op, p);
        }
    }

    pub(super) fn request_timeout(&mut self, op: OpId) {
        let Some(mut p) = self.ops.remove(&op) else {
            return;
        };
        let waited = self.cfg().request_timeout_ms;
        match &mut p.state {
            OpState::Write {
                version,
                sent,
                acked,
                hinted,
            } => {
                let missing: Vec<NodeId> = sent
                    .iter()
                    .copied()
                    .filter(|r| !acked.contains(r))
                    .collect();
                let version = version.clone();
                for r in missing {
                    let key = p.key.clone();
                    if self.store_hint(r, &key, &version, HintReason::NoAck) {
                        *hinted += 1;
                    }
                }
                if !p.replied {
                    p.replied = true;
                    let answered = acked.clone();
                    if p.cl == Consistency::Any && (*hinted > 0 || !acked.is_empty()) {
                        self.reply(
                            p.client,
                            op,
                            p.started,
                            answered,
                            Reply::Written { ts: version.ts },
                        );
                    } else {
                        let msg = format!(
                            "{} write got {} of {} acknowledgements from {:?} in {waited} ms; it may be applied on {:?}",
                            p.cl, acked.len(), p.needed, p.replicas, acked
                        );
                        self.reply(
                            p.client,
                            op,
                            p.started,
                            answered,
                            Reply::error(ErrorKind::Timeout, msg),
                        );
                    }
                }
            }
            OpState::Read { responses, .. } => {
                if !p.replied {
                    p.replied = true;
                    let answered: Vec<NodeId> = responses.iter().map(|(n, _)| *n).collect();
                    let msg = format!(
                        "{} read got {} of {} replies from {:?} in {waited} ms",
                        p.cl,
                        responses.len(),
                        p.needed,
                        p.replicas
                    );
                    self.reply(
                        p.client,
                        op,
                        p.started,
                        answered,
                        Reply::error(ErrorKind::Timeout, msg),
                    );
                }
            }
        }
    }
}
