//! The link that opens the page on a live cluster, and the WebSocket
//! URLs made from the addresses in it.

/// What the link asks for: `#live=ws://127.0.0.1:9000&token=...&control=ws://127.0.0.1:PORT`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LiveLink {
    /// Any node's address as given (`ws://host:port`, `host:port`, ...).
    pub addr: String,
    /// The control token. Kept in memory only: never in a share link,
    /// never logged.
    pub token: Option<String>,
    /// The control endpoint (`ws://host:port` or `.../control`).
    pub control: Option<String>,
}

impl LiveLink {
    /// Why the crash / restart / stop buttons are off, or `None`.
    pub fn control_off(&self) -> Option<String> {
        match (&self.token, &self.control) {
            (Some(_), Some(_)) => None,
            (None, _) => Some(
                "crash, restart and stop need the cluster's control token: open the page with \
                 the link `cargo xtask demo` printed (its #token=... part). Watching and requests work without it."
                    .into(),
            ),
            (Some(_), None) => Some(
                "crash, restart and stop need the control endpoint's address in the link \
                 (#control=ws://127.0.0.1:PORT, from DATA_DIR/control.addr)"
                    .into(),
            ),
        }
    }
}

/// `ws://host:port/client` from what a person typed: `ws://host:port`,
/// `ws://host:port/client`, `host:port`, or `wss://...`.
pub fn client_url(addr: &str) -> Result<String, String> {
    ws_url(addr, "/client")
}

/// `ws://host:port/control` likewise.
pub fn control_url(addr: &str) -> Result<String, String> {
    ws_url(addr, "/control")
}

fn ws_url(addr: &str, path: &str) -> Result<String, String> {
    let a = addr.trim();
    let (scheme, rest) = match a.split_once("://") {
        Some(("ws", r)) => ("ws", r),
        Some(("wss", r)) => ("wss", r),
        Some((s, _)) => {
            return Err(format!(
                "{a:?}: a node's address is ws://HOST:PORT, not {s}://"
            ))
        }
        None => ("ws", a),
    };
    let host = rest.split('/').next().unwrap_or("");
    let Some((h, port)) = host.rsplit_once(':') else {
        return Err(format!(
            "{a:?}: give the port too, as in ws://127.0.0.1:9000"
        ));
    };
    if h.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("{a:?}: not HOST:PORT (as in ws://127.0.0.1:9000)"));
    }
    Ok(format!("{scheme}://{host}{path}"))
}
