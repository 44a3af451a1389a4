//! The panels. Each renders from the [`crate::context::Ctx`] (the view, the
//! display choices) and asks for things with `Cmd`s; none knows where the
//! events come from.
//!
//! - [`ring`]: the token ring, nodes, key marks, messages in flight
//! - [`geometry`]: where things sit in the ring's drawing
//! - [`replica`]: one panel per node: data, commit-log tail, hints, peers
//! - [`hints`]: hints held across the cluster, at a glance
//! - [`timeline`]: the request list and a request's sequence diagram
//! - [`log`]: the event log in plain words, filterable
//! - [`picked`]: the message or event picked, drawn on the ring
//! - [`spacetime`]: one lane per node, messages as arrows, in a window of time
//! - [`controls`]: the clock and the request form; in the full panel,
//!   faults, network, cluster, live cluster, traces
//! - [`field`]: a field drawn from the model that keeps what is typed
//! - [`guide`]: the narration beside the ring while no lesson runs
//! - [`keys`]: the list of keyboard shortcuts
//! - [`scenario`]: the guided scenario on screen
//! - [`lesson`]: loading a lesson from a file, a URL or pasted text
//! - [`scrub`]: the run's timeline: drag back, step back, see the marks
//! - [`why`]: "why?" for the selected request, in words and a picture
//! - [`lab`]: the staleness lab, a view of its own beside the cluster

pub mod controls;
pub mod field;
pub mod flight;
pub mod geometry;
pub mod guide;
pub mod hints;
pub mod keys;
pub mod lab;
pub mod lesson;
pub mod log;
pub mod picked;
pub mod replica;
pub mod ring;
pub mod scenario;
pub mod scrub;
pub mod spacetime;
pub mod timeline;
pub mod why;

use ringside_core::NodeId;

/// A colour per node, readable on a projector and distinct for 16 nodes.
pub fn node_color(id: NodeId) -> &'static str {
    const PALETTE: [&str; 16] = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
        "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    ];
    PALETTE[id as usize % PALETTE.len()]
}

/// A message kind's colour on the ring.
pub fn kind_color(kind: &str) -> &'static str {
    match kind {
        "write" => "#1565c0",
        "write_ack" => "#64b5f6",
        "read" => "#2e7d32",
        "read_reply" => "#81c784",
        "read_repair" => "#ef6c00",
        "hint" => "#8e24aa",
        "hint_ack" => "#ce93d8",
        "heartbeat" => "#f48fb1",
        "sync_digest" | "sync_data" => "#9e9e9e",
        _ => "#455a64",
    }
}

/// A message kind, short, for labels on the ring.
pub fn short_kind(kind: &str) -> &'static str {
    match kind {
        "write" => "write",
        "write_ack" => "ack",
        "read" => "read",
        "read_reply" => "reply",
        "read_repair" => "repair",
        "read_repair_ack" => "repair ack",
        "hint" => "hint",
        "hint_ack" => "hint ack",
        "heartbeat" => "♥",
        "sync_digest" => "digest",
        "sync_data" => "sync",
        _ => "msg",
    }
}
