//! # ringside-core
//!
//! A replicated key-value store in the style of Cassandra and Dynamo, as a
//! deterministic state machine with no I/O: no sockets, no files, no clock,
//! no threads, no randomness of its own. Drivers feed it inputs with the
//! current time and carry out what it asks. The native nodes (`native/`),
//! the browser's simulated cluster (`web/`) and this crate's own simulator
//! all drive the same [`Node`].
//!
//! **The driver contract: after every [`Node::handle`], drain
//! [`Node::poll`] until it returns `None`, and act on the outputs in order.
//! A [`Output::Persist`] must be durable before any later `Send` or `Reply`
//! goes out.**
//!
//! ## Map
//!
//! - [`types`]: keys, versions, consistency levels, the last-write-wins order
//! - [`config`]: cluster settings (members, partitioner, RF, timeouts, bounds)
//! - [`ring`]: tokens, byte-ordered and Murmur3 partitioners, replica placement
//! - [`message`]: peer messages, client requests and replies
//! - [`io`]: the driver contract: [`Input`], [`Output`], timers
//! - [`event`]: what observers see: node events, cluster events, trace lines
//! - [`node`]: one node: coordinator, replica, hints, failure detector, anti-entropy
//! - [`durability`]: the output gate: which output waits for which sync
//!   (group commit, lazy writes), shared by the native driver and [`sim`]
//! - [`storage`]: memtable, commit-log records, framing, log reader, snapshots
//! - [`protocol`]: the JSON client protocol (PROTOCOL.md) and the console syntax
//! - [`sim`]: a deterministic simulated cluster: virtual clock, network, faults
//! - [`check`]: the history checker: named properties every run must hold
//! - [`rewind`]: a run that can go back to any event and fork from there
//! - [`explain`]: why one request ended as it did, structured and in words
//! - [`lab`]: the staleness lab: measured staleness vs the PBS model ([`lab::pbs`])
//! - [`lesson`]: guided lessons as TOML files, parsed and checked whole

pub mod check;
pub mod config;
pub mod durability;
pub mod event;
pub mod explain;
pub mod io;
pub mod lab;
pub mod lesson;
pub mod message;
pub mod node;
pub mod protocol;
pub mod rewind;
pub mod ring;
pub mod sim;
pub mod storage;
pub mod types;

pub use config::{ClusterConfig, Config};
pub use event::{ClusterEvent, Event, EventKind, TraceEntry, TraceWhat};
pub use io::{Input, Output, TimerId};
pub use message::{ClientRef, ErrorKind, Message, Msg, MsgId, MsgKind, Reply, Request};
pub use node::{EventLevel, Node, Recovery};
pub use ring::{Partitioner, Ring, Token};
pub use storage::{Record, SnapshotCursor};
pub use types::{Consistency, Key, KeyVersion, Micros, NodeId, Value, Version, Yarn};
