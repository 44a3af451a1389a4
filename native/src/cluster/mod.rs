//! Many nodes on one machine: what `ringside cluster ...` runs.
//!
//! - [`cluster_file`]: the cluster file (TOML): members, core settings, sync
//!   policy, peer secret, allowed origins, bounds
//! - [`supervisor`]: `ringside cluster up|kill|restart|stop|status|down`, by
//!   recorded pids only
//! - [`control`]: the loopback, token-guarded control endpoint the web page
//!   uses to crash, restart and stop nodes (`ringside cluster control`)
//! - [`layout`]: the control endpoint's files in the data dir
//! - [`signal`]: the one kill(2) wrapper

pub mod cluster_file;
pub mod control;
pub mod layout;
pub mod signal;
pub mod supervisor;
