//! # ringside-native
//!
//! Real ringside nodes: one process per node, driving the core's
//! [`ringside_core::Node`] with tokio and tokio-tungstenite, writing a real
//! commit log, plus the tools around them. The `ringside` binary
//! (`src/bin/ringside.rs`) is a thin clap front over these modules.
//!
//! ## Map
//!
//! - [`cluster_file`]: the cluster file (TOML): members, core settings, sync
//!   policy, peer secret, allowed origins, bounds
//! - [`commitlog`]: the commit log on disk: append, fsync, cut a torn tail,
//!   compact by atomic rewrite
//! - [`log_reader`]: reading a commit log back, sync markers, and telling a
//!   torn tail from damage in the middle
//! - [`driver`]: the one loop (a thread) that owns a node: inputs in, outputs
//!   carried out in order, group commit before replies
//! - [`transport`]: the listener (`/client`, `/peer`), Origin and secret
//!   checks, bounds, outgoing peer connections
//! - [`slots`]: connection budgets (waiting for a handshake, clients, peers
//!   by member) and who is closed to make room
//! - [`server`]: `ringside node`: wires log, driver, listener and signals
//! - [`wsclient`]: a client connection to `/client`, for the tools below
//! - [`supervisor`]: `ringside cluster up|kill|restart|stop|status|down`, by
//!   recorded pids only
//! - [`client`]: `ringside client`, the console
//! - [`inspect`]: `ringside inspect`, every node side by side
//! - [`bench`]: `ringside bench`, throughput and latency
//! - [`timeline`]: `ringside bench --timeline`, where one client's
//!   requests spend their time, step by step across the nodes
//! - [`chaos`]: `ringside chaos`, a real cluster under clients and a
//!   nemesis (kill, stop, pause, restart), its history checked
//! - [`control`]: the loopback, token-guarded control endpoint the web page
//!   uses to crash, restart and stop nodes (`ringside cluster control`)
//! - [`sim_cmd`]: `ringside sim`, the core simulator headless: runs, traces,
//!   sweeps, speed

pub mod bench;
pub mod chaos;
pub mod client;
pub mod cluster_file;
pub mod commitlog;
pub mod control;
pub mod driver;
pub mod inspect;
pub mod log_reader;
pub mod server;
pub mod sim_cmd;
pub mod slots;
pub mod supervisor;
pub mod timeline;
pub mod transport;
pub mod wsclient;
