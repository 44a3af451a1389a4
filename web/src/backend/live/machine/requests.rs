//! What the page asks of a live cluster: data requests through a node,
//! and crash / restart / stop through the supervisor's control endpoint.

use super::super::link::control_url;
use super::{trace_sim, Conn, ConnState, Io, LiveCore, Pending, PAGE_CONN};
use crate::state::{LogKind, Update};
use ringside_core::protocol::control::{control_request_json, ControlOp, NodeControl};
use ringside_core::protocol::request_json;
use ringside_core::ClusterEvent;
use ringside_core::{ClientRef, NodeId, Request};

impl LiveCore {
    /// A data request through `node` as coordinator.
    pub fn submit(&mut self, node: NodeId, request: Request) -> Result<Vec<Update>, String> {
        let Some(m) = self.members.get(&node) else {
            return Err(if self.members.is_empty() {
                "not connected yet: the page is still reaching the cluster".into()
            } else {
                format!(
                    "node {node} is not in this cluster (nodes: {})",
                    crate::narration::list(&self.members.keys().copied().collect::<Vec<_>>())
                )
            });
        };
        if m.conn != ConnState::Open {
            return Err(format!(
                "node {node} is down: the page has no connection to it (choose another coordinator)"
            ));
        }
        let id = self.id();
        let client = ClientRef {
            conn: PAGE_CONN,
            req: id,
        };
        let at = self.at();
        self.pending.insert(
            id,
            Pending {
                node,
                client,
                sent_at: at,
            },
        );
        self.out.push_back(Io::Send {
            conn: Conn::Node(node),
            text: request_json(id, &request),
        });
        Ok(vec![trace_sim(
            at,
            ClusterEvent::ClientSent {
                client,
                node,
                request,
            },
        )])
    }

    /// Asks the supervisor to `kill`, `restart` or `stop` a node.
    pub fn control(&mut self, op: NodeControl, node: NodeId) -> Result<Vec<Update>, String> {
        if let Some(why) = self.link.control_off() {
            return Err(why);
        }
        if !self.members.contains_key(&node) {
            return Err(format!("node {node} is not in this cluster"));
        }
        let (Some(token), Some(addr)) = (self.link.token.clone(), self.link.control.clone()) else {
            return Err("no control endpoint".into());
        };
        let url = control_url(&addr)?;
        let id = self.id();
        let text = control_request_json(id, ControlOp::Node(op, node), &token);
        self.control_pending.insert(id, (op, node));
        if op != NodeControl::Restart {
            if let Some(m) = self.members.get_mut(&node) {
                m.asked = Some(op);
            }
        }
        match self.control {
            ConnState::Open => self.out.push_back(Io::Send {
                conn: Conn::Control,
                text,
            }),
            ConnState::Connecting => self.control_queue.push(text),
            ConnState::Closed { .. } => {
                self.control = ConnState::Connecting;
                self.control_queue.push(text);
                self.out.push_back(Io::Open {
                    conn: Conn::Control,
                    url,
                });
            }
        }
        let what = match op {
            NodeControl::Kill => "crash (SIGKILL)",
            NodeControl::Stop => "stop (SIGTERM)",
            NodeControl::Restart => "restart",
        };
        let at = self.at();
        Ok(vec![Update::Say {
            at,
            node: Some(node),
            kind: LogKind::Fault,
            text: format!("the page asks the supervisor to {what} node {node}"),
            flag: false,
        }])
    }
}
