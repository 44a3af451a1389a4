//! The event log's words: what each event means, said plainly for a
//! class. The reducer ([`crate::state`]) decides what changes; this
//! module only says it, so a sentence can be reworded without touching
//! what the panels show.

use ringside_core::check::Outcome;
use ringside_core::io::{EventKind, HintReason};
use ringside_core::ClusterEvent;
use ringside_core::{Micros, NodeId, Request, Version};

/// What kind of line an event-log line is, for the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogKind {
    Client,
    Message,
    Storage,
    Hint,
    Repair,
    Failure,
    Fault,
}

impl LogKind {
    pub const ALL: [LogKind; 7] = [
        LogKind::Client,
        LogKind::Message,
        LogKind::Storage,
        LogKind::Hint,
        LogKind::Repair,
        LogKind::Failure,
        LogKind::Fault,
    ];
    pub fn name(self) -> &'static str {
        match self {
            LogKind::Client => "requests",
            LogKind::Message => "messages",
            LogKind::Storage => "commit log",
            LogKind::Hint => "hints",
            LogKind::Repair => "repair",
            LogKind::Failure => "failure detector",
            LogKind::Fault => "faults",
        }
    }
}

/// One line for the event log, before it gets its number and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Said {
    pub node: Option<NodeId>,
    pub kind: LogKind,
    pub text: String,
    /// Worth a second look (an error, a stale read, a lost message).
    pub flag: bool,
}

fn said(node: Option<NodeId>, kind: LogKind, text: String, flag: bool) -> Option<Said> {
    Some(Said {
        node,
        kind,
        text,
        flag,
    })
}

/// What node `node`'s event says, if anything (heartbeats, receipts and
/// anti-entropy traffic go unsaid: they would drown the rest).
pub fn node_event(node: NodeId, kind: &EventKind) -> Option<Said> {
    use EventKind as K;
    let me = Some(node);
    match kind {
        K::Started {
            replayed,
            keys,
            hints,
            ..
        } => {
            let text = if *replayed == 0 {
                format!("node {node} started with an empty commit log")
            } else {
                format!(
                    "node {node} started: replayed {} from its commit log, rebuilding {} and {}",
                    count(*replayed, "record"),
                    count(*keys, "key"),
                    count(*hints, "hint")
                )
            };
            said(me, LogKind::Storage, text, false)
        }
        K::RequestReceived {
            request,
            replicas,
            live,
            ..
        } => {
            let text = format!(
                "node {node} coordinates {request}: replicas {}, of which it believes {} up",
                list(replicas),
                list(live)
            );
            said(me, LogKind::Client, text, false)
        }
        K::RequestAnswered {
            outcome,
            message,
            answered,
            latency_us,
            ..
        } => {
            let ok = outcome == "ok";
            let text = if ok {
                format!(
                    "node {node} answered ok: replicas {} answered, in {}",
                    list(answered),
                    ms(*latency_us)
                )
            } else {
                format!("node {node} answered {outcome}: {message}")
            };
            said(me, LogKind::Client, text, !ok)
        }
        K::MessageSent {
            to, msg_kind, key, ..
        } => {
            let kind = intern_kind(msg_kind);
            if matches!(kind, "heartbeat" | "sync_digest" | "sync_data") {
                return None;
            }
            let about = key
                .as_ref()
                .map(|k| format!(" for key {k}"))
                .unwrap_or_default();
            let text = format!("node {node} sends {} to node {to}{about}", words(kind));
            said(me, LogKind::Message, text, false)
        }
        K::MessageReceived { .. } => None,
        K::RecordPersisted { lsn, record } => {
            let text = format!("node {node} appends to its commit log (#{lsn}): {record}");
            said(me, LogKind::Storage, text, false)
        }
        K::WriteApplied {
            key,
            version,
            won,
            source,
        } => {
            let what = match &version.value {
                Some(v) => format!("{key} = {v:?}"),
                None => format!("the deletion of {key}"),
            };
            let text = if *won {
                format!("node {node} stores {what} ({source})")
            } else {
                format!("node {node} keeps its newer version, not {what} ({source})")
            };
            said(me, LogKind::Storage, text, false)
        }
        K::HintStored {
            target,
            key,
            reason,
            ..
        } => {
            let why = match reason {
                HintReason::Down => format!("node {target} is down"),
                HintReason::NoAck => format!("node {target} did not acknowledge in time"),
            };
            let text = format!("node {node} stored a hint for node {target} (key {key}): {why}");
            said(me, LogKind::Hint, text, false)
        }
        K::HintSent { target, key, .. } => {
            let text = format!("node {node} hands its hint for key {key} to node {target}");
            said(me, LogKind::Hint, text, false)
        }
        K::HintDelivered { target, key, .. } => {
            let text = format!(
                "node {target} has the hinted write of key {key}: node {node} forgets the hint"
            );
            said(me, LogKind::Hint, text, false)
        }
        K::HintDropped {
            target,
            key,
            reason,
        } => {
            let text =
                format!("node {node} gave up its hint for node {target} (key {key}): {reason}");
            said(me, LogKind::Hint, text, true)
        }
        K::ReadRepair {
            key,
            target,
            version,
            blocking,
        } => {
            let how = if *blocking {
                "before answering"
            } else {
                "in the background"
            };
            let text = format!(
                "node {node} repairs node {target}: its copy of {key} is older; sends {} ({how})",
                show_version(version)
            );
            said(me, LogKind::Repair, text, false)
        }
        K::AntiEntropy { peer, keys } => {
            let text = format!(
                "anti-entropy: node {node} and node {peer} differed on {keys} keys; node {node} sent its versions"
            );
            said(me, LogKind::Repair, text, false)
        }
        K::PeerDown { peer, reason } => {
            let text = format!("node {node} thinks node {peer} is down: {reason}");
            said(me, LogKind::Failure, text, false)
        }
        K::PeerUp { peer, restarted } => {
            let text = if *restarted {
                format!("node {node} sees node {peer} up again (it restarted)")
            } else {
                format!("node {node} sees node {peer} up again")
            };
            said(me, LogKind::Failure, text, false)
        }
        K::Compacted { records } => {
            let text = format!("node {node} compacted its commit log to {records} records");
            said(me, LogKind::Storage, text, false)
        }
    }
}

/// What a simulator (or page) event says, if anything. An answer is said
/// by [`answer`], which needs the request it answers.
pub fn sim_event(event: &ClusterEvent) -> Option<Said> {
    match event {
        ClusterEvent::MessageDropped {
            from,
            to,
            msg_kind,
            reason,
            ..
        } => {
            let kind = intern_kind(msg_kind);
            if kind == "heartbeat" {
                return None;
            }
            let text = format!(
                "the {} from node {from} to node {to} is lost: {reason}",
                words(kind)
            );
            said(Some(*from), LogKind::Message, text, true)
        }
        ClusterEvent::Crashed { node, lost_records } => {
            let lost = if *lost_records == 0 {
                "every record it logged was synced, so none is lost".to_string()
            } else {
                format!("{lost_records} unsynced records are lost")
            };
            let text = format!("node {node} crashed: its memory is gone; {lost}");
            said(Some(*node), LogKind::Fault, text, true)
        }
        ClusterEvent::Restarted { node, replayed } => {
            let text = format!(
                "node {node} restarts and replays {} from its commit log",
                count(*replayed, "record")
            );
            said(Some(*node), LogKind::Fault, text, false)
        }
        ClusterEvent::LinkCut { a, b } => {
            let text = format!("the link between node {a} and node {b} is cut");
            said(None, LogKind::Fault, text, true)
        }
        ClusterEvent::LinkHealed { a, b } => {
            let text = format!("the link between node {a} and node {b} is healed");
            said(None, LogKind::Fault, text, false)
        }
        ClusterEvent::NetChanged { net } => {
            let text = format!(
                "network: latency {}–{}, {:.0}% of messages lost",
                ms(net.latency_min_us),
                ms(net.latency_max_us),
                net.drop_probability * 100.0
            );
            said(None, LogKind::Fault, text, false)
        }
        ClusterEvent::SkewChanged { node, skew_us } => {
            let text = if *skew_us == 0 {
                format!("node {node}'s clock is right again")
            } else if *skew_us > 0 {
                format!("node {node}'s clock now runs {} ahead", ms(*skew_us as u64))
            } else {
                format!(
                    "node {node}'s clock now runs {} behind",
                    ms(skew_us.unsigned_abs())
                )
            };
            said(Some(*node), LogKind::Fault, text, *skew_us != 0)
        }
        ClusterEvent::ClientSent { node, request, .. } => {
            let text = format!("a client sends {request} to node {node}");
            said(Some(*node), LogKind::Client, text, false)
        }
        ClusterEvent::ClientAnswered { .. } => None,
        ClusterEvent::Compacted {
            node,
            before,
            after,
        } => {
            let text = format!("node {node}'s commit log compacted: {before} → {after} records");
            said(Some(*node), LogKind::Storage, text, false)
        }
    }
}

/// What the client learnt from the answer `outcome` to `request`, sent
/// to `coordinator`, when it is worth a line: no answer at all, or what a
/// read returned (`stale`: the newer acknowledged write it missed).
pub fn answer(
    request: &Request,
    coordinator: NodeId,
    outcome: &Outcome,
    stale: Option<&Version>,
) -> Option<Said> {
    let at = Some(coordinator);
    match outcome {
        Outcome::NoReply { reason } => {
            let text = format!("the client got no answer to {request}: {reason}");
            said(at, LogKind::Client, text, true)
        }
        Outcome::Read { kv } => {
            let got = match kv {
                Some(kv) => format!(
                    "{:?} (written at {})",
                    kv.value.as_deref().unwrap_or(""),
                    kv.ts
                ),
                None => "nothing".into(),
            };
            let mut text = format!("the client reads {} = {got}", request.key());
            if let Some(newer) = stale {
                text.push_str(&format!(
                    ": STALE, a write of {} had been acknowledged before this read began",
                    show_version(newer)
                ));
            }
            said(at, LogKind::Client, text, stale.is_some())
        }
        _ => None,
    }
}

/// A message kind in words: `write_ack` -> "a write acknowledgement".
pub fn words(kind: &str) -> &'static str {
    match kind {
        "write" => "a write",
        "write_ack" => "a write acknowledgement",
        "read" => "a read",
        "read_reply" => "a read reply",
        "read_repair" => "a read repair",
        "read_repair_ack" => "a repair acknowledgement",
        "hint" => "a hinted write",
        "hint_ack" => "a hint acknowledgement",
        "heartbeat" => "a heartbeat",
        "sync_digest" => "an anti-entropy digest",
        "sync_data" => "anti-entropy data",
        _ => "a message",
    }
}

/// Milliseconds from microseconds, for people.
pub fn ms(us: Micros) -> String {
    if us >= 10_000 {
        format!("{} ms", us / 1000)
    } else {
        format!("{:.1} ms", us as f64 / 1000.0)
    }
}

/// "1 record", "2 records": a count and its noun, for people.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `[2, 3, 0]` as "2, 3, 0" (or "none").
pub fn list(ids: &[NodeId]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn show_version(v: &Version) -> String {
    match &v.value {
        Some(s) => format!("{s:?} @{}", v.ts),
        None => format!("a deletion @{}", v.ts),
    }
}

/// Message kinds as `&'static str`, so remembered messages are cheap to
/// copy (the wire carries a `String`).
pub fn intern_kind(kind: &str) -> &'static str {
    const KINDS: [&str; 11] = [
        "write",
        "write_ack",
        "read",
        "read_reply",
        "read_repair",
        "read_repair_ack",
        "hint",
        "hint_ack",
        "heartbeat",
        "sync_digest",
        "sync_data",
    ];
    KINDS
        .iter()
        .copied()
        .find(|k| *k == kind)
        .unwrap_or("message")
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn a_count_of_one_is_singular() {
        assert_eq!(count(1, "record"), "1 record");
        assert_eq!(count(0, "record"), "0 records");
        assert_eq!(count(12, "hint"), "12 hints");
    }
}
