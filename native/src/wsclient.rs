//! A client connection to a node's `/client`, as the console, the
//! inspector, the supervisor and the bench use it: send a request, wait for
//! the reply with its id (skipping event frames), with a deadline.

use futures_util::{SinkExt, StreamExt};
use ringside_core::protocol::{parse_server_frame, request_json, InspectNode, ServerFrame};
use ringside_core::{Reply, Request};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// One open connection.
pub struct Conn {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    pub addr: String,
}

/// A reply: the raw frame (for `--json`) and what it says.
pub struct Answer {
    pub raw: String,
    pub frame: ServerFrame,
}

impl Conn {
    /// Connects to `ws://addr/client`, giving up after `timeout`.
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Conn, String> {
        let url = format!("ws://{addr}/client");
        // Replies can carry a 1 MiB value, and inspect a whole node.
        let config = crate::node::transport::ws_config(1 << 30);
        let connect = tokio_tungstenite::connect_async_with_config(&url, Some(config), true);
        let (ws, _) = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| format!("cannot connect to {addr}: timed out"))?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        Ok(Conn {
            ws,
            next_id: 1,
            addr: addr.to_string(),
        })
    }

    /// Sends a data request and waits for its reply.
    pub async fn request(
        &mut self,
        request: &Request,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.call(id, request_json(id, request), timeout).await
    }

    /// Sends `inspect` and returns the node's state.
    pub async fn inspect(&mut self, timeout: Duration) -> Result<(InspectNode, String), String> {
        let id = self.next_id;
        self.next_id += 1;
        let a = self
            .call(id, format!(r#"{{"id":{id},"op":"inspect"}}"#), timeout)
            .await?;
        match a.frame {
            ServerFrame::Inspect { node, .. } => Ok((*node, a.raw)),
            ServerFrame::Reply {
                reply: Reply::Error { kind, message },
                ..
            } => Err(format!("inspect failed: {kind}: {message}")),
            _ => Err(format!("unexpected reply to inspect: {}", a.raw)),
        }
    }

    /// Sends a frame and waits for the reply carrying `id`.
    pub async fn call(
        &mut self,
        id: u64,
        frame: String,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let addr = self.addr.clone();
        let fut = async {
            self.ws
                .send(WsMessage::text(frame))
                .await
                .map_err(|e| format!("{addr}: send failed: {e}"))?;
            loop {
                let msg = self
                    .ws
                    .next()
                    .await
                    .ok_or_else(|| format!("{addr}: the node closed the connection"))?
                    .map_err(|e| format!("{addr}: {e}"))?;
                let text = match msg {
                    WsMessage::Text(t) => t.to_string(),
                    WsMessage::Close(c) => {
                        return Err(format!(
                            "{addr}: the node closed the connection{}",
                            c.map(|c| format!(": {}", c.reason)).unwrap_or_default()
                        ))
                    }
                    _ => continue,
                };
                let frame = parse_server_frame(&text)
                    .map_err(|e| format!("{addr}: unreadable reply {text:?}: {e}"))?;
                let this = match &frame {
                    ServerFrame::Reply { id: rid, .. } => *rid == Some(id) || rid.is_none(),
                    ServerFrame::Ok { id: rid } | ServerFrame::Inspect { id: rid, .. } => {
                        *rid == id
                    }
                    ServerFrame::Event(_) => false,
                };
                if this {
                    return Ok(Answer { raw: text, frame });
                }
            }
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| format!("{addr}: no reply within {} ms", timeout.as_millis()))?
    }
}
