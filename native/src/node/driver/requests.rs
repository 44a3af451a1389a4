//! The requests the node has open, and the one debug line per answered
//! request (`ringside::request`, see [`REQUEST_TARGET`]).

use super::REQUEST_TARGET;
use ringside_core::{ClientRef, Reply, Request};
use std::collections::HashMap;
use std::time::Instant;
use tracing::{debug, Level};

#[derive(Default)]
pub(super) struct Requests {
    /// The open requests and, while requests are logged
    /// ([`REQUEST_TARGET`]), what each asked and when, for its log line.
    asked: HashMap<ClientRef, Option<(String, Instant)>>,
    /// Log lines of requests answered this turn, written once the
    /// answers have left (a log write is not on a request's path).
    answered: Vec<(ClientRef, String)>,
}

impl Requests {
    /// A request came in.
    pub(super) fn open(&mut self, client: ClientRef, request: &Request) {
        let asked = tracing::enabled!(target: REQUEST_TARGET, Level::DEBUG)
            .then(|| (request.to_string(), Instant::now()));
        self.asked.insert(client, asked);
    }

    /// The node answered `client`: its log line waits for
    /// [`Requests::log_answered`].
    pub(super) fn answered(&mut self, client: ClientRef, reply: &Reply) {
        let asked = self.asked.remove(&client).flatten();
        if !tracing::enabled!(target: REQUEST_TARGET, Level::DEBUG) {
            return;
        }
        let (what, since) = asked.unwrap_or_else(|| ("request".into(), Instant::now()));
        let took_ms = since.elapsed().as_secs_f64() * 1000.0;
        let line = match reply {
            Reply::Error { kind, message } => {
                format!("{what} -> {kind}: {message} ({took_ms:.1} ms)")
            }
            Reply::Written { ts } => format!("{what} -> ok ts {ts} ({took_ms:.1} ms)"),
            Reply::Read { kv: Some(kv) } => {
                format!("{what} -> found, ts {} ({took_ms:.1} ms)", kv.ts)
            }
            Reply::Read { kv: None } => format!("{what} -> no value ({took_ms:.1} ms)"),
        };
        self.answered.push((client, line));
    }

    /// Requests not yet answered.
    pub(super) fn open_count(&self) -> usize {
        self.asked.len()
    }

    /// True when answered requests wait for their log lines.
    pub(super) fn lines_waiting(&self) -> bool {
        !self.answered.is_empty()
    }

    /// Writes the log lines of the requests answered so far.
    pub(super) fn log_answered(&mut self) {
        for (client, line) in self.answered.drain(..) {
            debug!(target: REQUEST_TARGET, conn = client.conn, req = client.req, "{line}");
        }
    }

    /// Drops the log line of an answer that never left (the log failed
    /// before it could): the error sent instead says why.
    pub(super) fn unanswer(&mut self, conn: u64, req: u64) {
        self.answered
            .retain(|(c, _)| !(c.conn == conn && c.req == req));
    }

    /// Every request still open, forgotten: the node that had them is
    /// being replaced.
    pub(super) fn take_open(&mut self) -> Vec<ClientRef> {
        self.asked.drain().map(|(c, _)| c).collect()
    }
}
