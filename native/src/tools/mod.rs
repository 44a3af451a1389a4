//! What a person runs against a cluster, or instead of one.
//!
//! - [`client`]: `ringside client`, the console
//! - [`inspect`]: `ringside inspect`, every node side by side
//! - [`bench`]: `ringside bench`, throughput and latency
//! - [`ceiling`]: `ringside ceiling`, a member of a bare cluster that only
//!   passes a QUORUM put's and get's messages: what they cost alone
//! - [`timeline`]: `ringside bench --timeline`, where one client's
//!   requests spend their time, step by step across the nodes
//! - [`chaos`]: `ringside chaos`, a real cluster under clients and a
//!   nemesis (kill, stop, pause, restart), its history checked
//! - [`sim_cmd`]: `ringside sim`, the core simulator headless: runs, traces,
//!   sweeps, speed

pub mod bench;
pub mod ceiling;
pub mod chaos;
pub mod client;
pub mod inspect;
pub mod sim_cmd;
pub mod timeline;
