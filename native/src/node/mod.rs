//! One node's runtime: what `ringside node` runs.
//!
//! - [`commitlog`]: the commit log on disk: append, fsync, cut a torn tail,
//!   compaction by a snapshot written beside it and renamed over it
//! - [`log_reader`]: reading a commit log back, sync markers, and telling a
//!   torn tail from damage in the middle
//! - [`driver`]: the one loop (a thread) that owns a node: inputs in, outputs
//!   carried out in order, group commit before replies
//! - [`inbox`]: what the connections hand the driver (the type both know)
//! - [`transport`]: the listener (`/client`, `/peer`), Origin and secret
//!   checks, bounds, outgoing peer connections
//! - [`slots`]: connection budgets (waiting for a handshake, clients, peers
//!   by member) and who is closed to make room
//! - [`server`]: `ringside node`: wires log, driver, listener and signals
//! - [`timeline`]: the marks `ringside bench --timeline` follows requests by

#[cfg(feature = "clock-hook")]
pub mod clock_hook;
pub mod commitlog;
pub mod driver;
pub mod inbox;
pub mod log_reader;
pub mod queue;
pub mod server;
pub mod slots;
pub mod timeline;
pub mod transport;
