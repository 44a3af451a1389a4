//! A client connection to a node's `/client`, as the console, the
//! inspector, the supervisor and the bench use it: send a request, wait for
//! the reply with its id (skipping event frames), with a deadline.

use futures_util::{SinkExt, StreamExt};
use ringside_core::protocol::{
    inspect_json, inspect_request_json, parse_server_frame, request_json, DataPage, InspectNode,
    ServerFrame,
};
use ringside_core::{Key, Reply, Request};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Keys per `inspect` page (about 1.5 MB of frame with 100-byte values;
/// the node also stops a page at `protocol::PAGE_BYTES`).
pub const INSPECT_PAGE: usize = 10_000;

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

    /// Asks `inspect` page by page ([`INSPECT_PAGE`] keys at a time) and
    /// returns the node's whole state, with the frame that carries it (for
    /// `--json`). Pages keep each answer, and the node's turn building it,
    /// short on a node with millions of keys. They are read one after
    /// another, so on a node taking writes the data is not one instant's
    /// snapshot. `timeout` bounds the whole walk.
    pub async fn inspect(&mut self, timeout: Duration) -> Result<(InspectNode, String), String> {
        self.inspect_in_pages(INSPECT_PAGE, timeout).await
    }

    /// [`Conn::inspect`] with `page` keys per request.
    pub async fn inspect_in_pages(
        &mut self,
        page: usize,
        timeout: Duration,
    ) -> Result<(InspectNode, String), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let first_id = self.next_id;
        let mut whole: Option<InspectNode> = None;
        let mut after: Option<Key> = None;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let page = DataPage {
                after: after.take(),
                limit: Some(page),
            };
            let mut part = self.inspect_page(&page, left).await?;
            after = part.data_next.clone();
            // The keys of every page so far; the rest of the state is the
            // newest page's.
            let mut data = whole.take().map(|w| w.data).unwrap_or_default();
            data.append(&mut part.data);
            whole = Some(InspectNode { data, ..part });
            if after.is_none() {
                break;
            }
        }
        let mut node = whole.expect("the walk reads at least one page");
        node.data_next = None;
        let raw = inspect_json(first_id, &node);
        Ok((node, raw))
    }

    /// One `inspect` answer, its data limited to `page`: the node's state
    /// without its whole data set (`data_total` counts the keys).
    pub async fn inspect_page(
        &mut self,
        page: &DataPage,
        timeout: Duration,
    ) -> Result<InspectNode, String> {
        let id = self.next_id;
        self.next_id += 1;
        let a = self
            .call(id, inspect_request_json(id, page), timeout)
            .await?;
        match a.frame {
            ServerFrame::Inspect { node, .. } => Ok(*node),
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
