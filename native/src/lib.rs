//! # ringside-native
//!
//! Real ringside nodes: one process per node, driving the core's
//! [`ringside_core::Node`] with tokio and tokio-tungstenite, writing a real
//! commit log, plus the tools around them. The `ringside` binary
//! (`src/bin/ringside.rs`) is a thin clap front over these modules.
//!
//! ## Map
//!
//! The source is in three rooms, each depending only on the ones listed
//! before it (and on the small shared modules at the end):
//!
//! - [`node`]: one node's runtime (`ringside node`): the driver that owns
//!   the core state machine, the transport, the commit log, the server
//!   that wires them
//! - [`cluster`]: many nodes on one machine (`ringside cluster ...`): the
//!   supervisor, the control endpoint the page uses
//! - [`tools`]: what a person runs against a cluster: the console, the
//!   inspector, the bench and its timeline, chaos, the headless simulator
//! - [`cluster_file`]: the cluster file (TOML) a node and the supervisor
//!   read: members, core settings, sync policy, peer secret, allowed
//!   origins, bounds
//! - [`origin`]: which browser origins may open a node's or the control
//!   endpoint's WebSocket
//! - [`ports`]: the one free-port finder (the tests and xtask use it too)
//! - [`secret`]: the one constant-time comparison of a presented secret
//! - [`wsclient`]: a client connection to `/client`, for the supervisor and
//!   the tools

pub mod cluster;
pub mod cluster_file;
pub mod node;
pub mod origin;
pub mod ports;
pub mod secret;
pub mod tools;
pub mod wsclient;
