//! The control endpoint's files in a cluster's data dir: the supervisor
//! writes and reads them, the endpoint is described by them, so both
//! depend on this module rather than on each other.

/// The token file in the data dir (mode 0600).
pub const TOKEN_FILE: &str = "control.token";
/// Where the control endpoint listens (`host:port`), written once it does.
pub const ADDR_FILE: &str = "control.addr";
/// The control process's pid.
pub const PID_FILE: &str = "control.pid";
