//! A live native cluster, over WebSocket: the same panels as the
//! simulator, fed by real nodes.
//!
//! The page connects to one node's `/client` (the address in the link,
//! `#live=ws://127.0.0.1:9000`), asks it `inspect` to learn the ring and
//! every member's address, then opens `/client` to every node, sends
//! `subscribe`, and polls `inspect` twice a second. Events become the
//! same [`Update`]s the simulator produces; `inspect` replies become
//! [`NodeSnapshot`]s. A node whose connection closes is shown down; the
//! page retries it every second and shows it up (or restarted, when its
//! generation changed) once it answers again.
//!
//! Clocks: each node stamps its events with its own wall clock. Events are
//! released to the view per node in `seq` order (the order its socket
//! delivers them), and a `message_received` waits (briefly) until the
//! matching `message_sent` from the other node has been released, matched
//! by message id. Each event's time on screen is a hybrid logical clock:
//! the node's timestamp, but never before the node's previous event nor
//! before the send it receives. So a node whose clock is behind cannot
//! make an arrow point backwards in a sequence diagram.
//!
//! Crash, restart and stop go to the supervisor's control endpoint
//! (`ringside cluster up` serves it) with the token from the link's
//! fragment; without one they are refused with a reason, and observing
//! and requests still work.
//!
//! The logic is [`LiveCore`], sans-IO (quinn-proto's habit): it is handed
//! socket events with the time and says which sockets to open and what to
//! send, so it is tested natively. [`LiveBackend`] joins it to a
//! [`Transport`]: browser WebSockets in the page.
//!
//! Rewinding a live cluster replays what the page received: every update
//! is kept in a [`Recording`], which the scrub bar moves through while the
//! nodes go on.
//!
//! Files: `link` (the link and the URLs made from it), `machine`
//! (`LiveCore`), `recording` (what the page received, for rewinding),
//! `ws` (the browser's sockets).

mod link;
mod machine;
mod recording;
#[cfg(target_arch = "wasm32")]
mod ws;

#[cfg(test)]
mod tests;

pub use link::LiveLink;
pub use machine::{Conn, Io, LiveCore, SockEvent};
pub use recording::{Recording, KEPT};

use super::Backend;
use crate::rewind::{Mark, RunState};
use crate::state::{Topology, Update};
use ringside_core::protocol::control::NodeControl;
use ringside_core::sim::Action;
use ringside_core::{Micros, NodeId};

/// Sockets, as the page (or a test) has them.
pub trait Transport {
    fn open(&mut self, conn: Conn, url: &str);
    fn send(&mut self, conn: Conn, text: &str);
    fn close(&mut self, conn: Conn);
    /// What the sockets did since the last call, in order.
    fn drain(&mut self) -> Vec<(Conn, SockEvent)>;
    /// Wall clock, milliseconds since the epoch.
    fn now_ms(&self) -> f64;
}

/// A live cluster as a [`Backend`].
pub struct LiveBackend {
    core: LiveCore,
    io: Box<dyn Transport>,
    recording: Recording,
}

impl LiveBackend {
    pub fn new(
        link: LiveLink,
        io: Box<dyn Transport>,
    ) -> Result<(LiveBackend, Vec<Update>), String> {
        let core = LiveCore::new(link, io.now_ms())?;
        let recording = Recording::new(core.topology());
        let mut b = LiveBackend {
            core,
            io,
            recording,
        };
        let u = b.pump();
        Ok((b, u))
    }

    /// What the sockets brought, recorded; what of it to show now.
    fn pump(&mut self) -> Vec<Update> {
        let u = self.receive();
        self.recording.record(u)
    }

    /// Feeds socket events in, carries socket operations out.
    fn receive(&mut self) -> Vec<Update> {
        for (conn, ev) in self.io.drain() {
            let now = self.io.now_ms();
            self.core.handle_sock(conn, ev, now);
        }
        self.core.tick(self.io.now_ms());
        self.flush();
        self.core.poll_updates()
    }

    fn flush(&mut self) {
        while let Some(op) = self.core.poll_io() {
            match op {
                Io::Open { conn, url } => self.io.open(conn, &url),
                Io::Send { conn, text } => self.io.send(conn, &text),
                Io::Close { conn } => self.io.close(conn),
            }
        }
    }

    fn done(&mut self, r: Result<Vec<Update>, String>) -> Result<Vec<Update>, String> {
        self.flush();
        r.map(|u| self.recording.record(u))
    }
}

impl Backend for LiveBackend {
    fn topology(&self) -> Topology {
        self.core.topology()
    }

    /// Following the nodes, shows what arrived; showing the past, replays
    /// `by_us` of the recording (the nodes' news is recorded meanwhile).
    fn advance(&mut self, by_us: Micros) -> Vec<Update> {
        let mut u = self.pump();
        u.extend(self.recording.replay(by_us));
        u
    }

    /// Following the nodes, holds the moment shown (the next step goes
    /// on from it); showing the past, one event on.
    fn step(&mut self) -> Vec<Update> {
        let mut u = self.pump();
        if self.recording.following() {
            self.recording.hold();
        } else {
            u.extend(self.recording.step());
        }
        u
    }

    fn hold(&mut self) {
        self.recording.hold();
    }

    fn act(&mut self, action: Action) -> Result<Vec<Update>, String> {
        let r = match action {
            Action::Submit { node, request } => self.core.submit(node, request),
            Action::Crash { node } => self.core.control(NodeControl::Kill, node),
            Action::Restart { node } => self.core.control(NodeControl::Restart, node),
            other => Err(format!(
                "{}: only the simulation can do that; on a live cluster the page can send requests, and crash, restart and stop nodes",
                action_name(&other)
            )),
        };
        self.done(r)
    }

    fn stop(&mut self, node: NodeId) -> Result<Vec<Update>, String> {
        let r = self.core.control(NodeControl::Stop, node);
        self.done(r)
    }

    fn script(&self) -> Option<&[ringside_core::rewind::Scripted]> {
        None
    }

    fn run_state(&self) -> Option<RunState> {
        Some(self.recording.run_state())
    }

    fn marks(&self) -> &[Mark] {
        self.recording.marks()
    }

    fn history(&self) -> &[(u64, ringside_core::TraceEntry)] {
        self.recording.history()
    }

    fn mark(&mut self, mark: Mark) {
        self.recording.mark(mark);
    }

    fn seek(&mut self, event: u64) -> Result<Vec<Update>, String> {
        Ok(self.recording.seek(event))
    }
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Cut { .. } | Action::Heal { .. } | Action::HealAll => "cutting and healing links",
        Action::Partition { .. } => "a partition",
        Action::SetLatency { .. } | Action::SetDropProbability { .. } => "changing the network",
        Action::SetSkew { .. } => "clock skew",
        _ => "this action",
    }
}

/// The page's sockets: browser WebSockets in a browser; natively (unit
/// tests of the model) every socket fails to open.
pub fn page_transport() -> Box<dyn Transport> {
    #[cfg(target_arch = "wasm32")]
    {
        Box::new(ws::WsTransport::default())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        Box::new(NoSockets::default())
    }
}

/// Outside a browser: sockets never open.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Default)]
struct NoSockets {
    failed: Vec<(Conn, SockEvent)>,
}

#[cfg(not(target_arch = "wasm32"))]
impl Transport for NoSockets {
    fn open(&mut self, conn: Conn, _url: &str) {
        self.failed.push((
            conn,
            SockEvent::Closed("no WebSocket outside a browser".into()),
        ));
    }
    fn send(&mut self, _conn: Conn, _text: &str) {}
    fn close(&mut self, _conn: Conn) {}
    fn drain(&mut self) -> Vec<(Conn, SockEvent)> {
        std::mem::take(&mut self.failed)
    }
    fn now_ms(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}
