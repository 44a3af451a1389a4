//! Many nodes on one machine: what `ringside cluster ...` runs. The
//! cluster file they are made from is [`crate::cluster_file`], which nodes
//! read too.
//!
//! - [`supervisor`]: `ringside cluster up|kill|restart|stop|status|down`, by
//!   recorded pids only
//! - [`control`]: the loopback, token-guarded control endpoint the web page
//!   uses to crash, restart and stop nodes (`ringside cluster control`)
//! - [`layout`]: the control endpoint's files in the data dir
//! - [`signal`]: the one kill(2) wrapper

pub mod control;
pub mod layout;
pub mod signal;
pub mod supervisor;
