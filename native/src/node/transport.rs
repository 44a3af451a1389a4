//! The network side of a node: one listening port serving WebSocket paths
//! `/client` (PROTOCOL.md) and `/peer` (node to node), and one outgoing
//! connection per peer.
//!
//! - `/client` checks `Origin` when a browser sends one: localhost and
//!   127.0.0.1 (any scheme and port) and the configured extra origins pass,
//!   others get 403. Frames are bounded in size, and requests in flight per
//!   connection; a bad frame gets a `BadRequest` and the connection stays.
//! - `/peer` needs the cluster secret (header `x-ringside-secret`) and the
//!   sender's id (`x-ringside-node`); others get 401. Messages are
//!   `core::Message` in the core's binary codec, one per binary frame.
//! - Connection budgets (waiting for a handshake, clients, peers by
//!   member) are in [`crate::node::slots`].

use crate::node::inbox::{overloaded, DriverInput, InboxTx};
use crate::node::queue::{queue, QueueRx, QueueTx};
use crate::node::slots::{PeerSlot, Slots};
use crate::node::timeline::{self, Step};
use crate::origin::origin_allowed;
use crate::secret::constant_time_eq;
use futures_util::{SinkExt, StreamExt};
use ringside_core::message::ErrorKind;
use ringside_core::protocol::{error_json, parse_request_frame, ClientOp};
use ringside_core::{Message, NodeId};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tracing::{debug, info, warn};

/// Header carrying the cluster secret on `/peer`.
pub const SECRET_HEADER: &str = "x-ringside-secret";
/// Header carrying the connecting node's id on `/peer`.
pub const NODE_HEADER: &str = "x-ringside-node";
/// Largest peer message. Anti-entropy batches can carry many values.
pub const MAX_PEER_FRAME_BYTES: usize = ringside_core::message::MAX_PEER_MESSAGE_BYTES;
/// Messages queued for one peer at most; past it they are dropped.
pub const PEER_QUEUE: usize = 16 * 1024;
/// Bytes queued for one peer at most (values can be 1 MiB each).
pub const PEER_QUEUE_BYTES: usize = 64 << 20;

/// The driver's end of one peer's outgoing queue: encoded messages, at
/// most [`PEER_QUEUE`] and [`PEER_QUEUE_BYTES`].
pub type PeerQueue = QueueTx<Vec<u8>>;
/// The peer sender's end of the queue.
pub type PeerQueueRx = QueueRx<Vec<u8>>;

/// A new outgoing queue for one peer.
pub fn peer_queue() -> (PeerQueue, PeerQueueRx) {
    queue(PEER_QUEUE)
}

/// Queues a message for a peer; false when it was dropped because the
/// queue is full (the peer is slow or away; the protocol copes with loss).
pub fn send_to_peer(q: &PeerQueue, msg: &Message) -> bool {
    q.push(msg.encode(), PEER_QUEUE_BYTES).is_ok()
}

/// Bytes tungstenite reads from the socket at a time. Its default (128
/// KiB) is zero-filled before every `read` call, which made `memset` the
/// top symbol of a node's profile (15% of all CPU under load): our frames
/// are small, and a large one grows the buffer as it needs.
pub const WS_READ_BUFFER_BYTES: usize = 8 * 1024;

/// The WebSocket settings every connection of ours uses: frames and
/// messages at most `max_bytes`, a small read buffer.
pub fn ws_config(max_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .max_message_size(Some(max_bytes))
        .max_frame_size(Some(max_bytes))
}

/// How long a connection may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The same for `/peer`: a real peer sends its request at once.
const PEER_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the listener needs to know.
pub struct ServerSettings {
    pub me: NodeId,
    pub members: Vec<NodeId>,
    pub secret: String,
    pub allowed_origins: Vec<String>,
    pub max_connections: usize,
    pub max_in_flight: usize,
    pub max_frame_bytes: usize,
}

/// Room in a client's frame queue beyond its answers, for events.
pub const EVENT_ROOM: usize = 1024;
/// Past this many bytes of answers a client has not read, its new
/// requests are answered `Overloaded`: a client that sends without
/// reading holds at most this much of the node's memory, plus its
/// requests in flight.
pub const CLIENT_QUEUE_BYTES: usize = 32 << 20;
/// Events are queued for a subscriber only while its queue holds less
/// than this many bytes; past it they are dropped for it (and counted).
pub const EVENT_QUEUE_BYTES: usize = 8 << 20;

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, settings: Arc<ServerSettings>, inbox: InboxTx) {
    // Clients, peers and connections not yet through their handshake have
    // separate budgets, so none can lock out a peer that restarts (the
    // node would see it down and refuse writes); see `slots`.
    let slots = Slots::new(settings.max_connections, settings.members.len());
    let next_conn = Arc::new(AtomicU64::new(1));
    let mut evictions = 0u64;
    loop {
        let (stream, peer_addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = next_conn.fetch_add(1, Ordering::Relaxed);
        let (waiting, evicted) = slots.wait(conn);
        if evicted {
            // Sparingly: a flood of connections must not flood the log.
            evictions += 1;
            if evictions == 1 || evictions.is_multiple_of(1000) {
                warn!("too many connections waiting for their handshake: closed the oldest to take one from {peer_addr} ({evictions} closed so far)");
            }
        }
        let slots = slots.clone();
        let settings = settings.clone();
        let inbox = inbox.clone();
        tokio::spawn(async move {
            let handshake = async {
                // Peek at the request line: peers and clients have their
                // own budgets and frame limits.
                let is_peer = peek_is_peer(&stream).await;
                // Clients hold their slot from here; a peer only once its
                // secret was checked.
                let client = if is_peer {
                    None
                } else {
                    match slots.client() {
                        Some(s) => Some(s),
                        None => {
                            warn!(
                                "refusing a client connection from {peer_addr}: {} client connections open",
                                slots.clients_max()
                            );
                            return None;
                        }
                    }
                };
                accept(stream, is_peer, &settings)
                    .await
                    .map(|(ws, kind, addr)| (ws, kind, addr, client))
            };
            let accepted = tokio::select! {
                a = handshake => a,
                _ = waiting.evicted() => {
                    debug!(conn, "closed before its handshake finished, to make room");
                    None
                }
            };
            drop(waiting);
            let Some((ws, kind, addr, client)) = accepted else {
                return;
            };
            match kind {
                Kind::Client => client_connection(ws, conn, addr, settings, inbox).await,
                Kind::Peer(from) => {
                    let slot = slots.peer(from, conn);
                    peer_connection(ws, from, addr, inbox, slot).await
                }
            }
            drop(client);
        });
    }
}

/// What the handshake decided the connection is.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Client,
    Peer(NodeId),
}

/// The WebSocket handshake, with the checks of [`check_request`]: the
/// connection, what it is, and where from; `None` when it failed.
async fn accept(
    stream: TcpStream,
    is_peer: bool,
    settings: &ServerSettings,
) -> Option<(Ws, Kind, String)> {
    let peer_addr = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    // Peers may send large anti-entropy batches, clients not.
    let max = if is_peer {
        MAX_PEER_FRAME_BYTES
    } else {
        settings.max_frame_bytes
    };
    let config = ws_config(max);
    let mut kind = None;
    // The handshake API's error type is an HTTP response, large by nature.
    #[allow(clippy::result_large_err)]
    let check = |req: &Request, resp: Response| {
        let k = check_request(req, settings).map_err(|e| *e)?;
        kind = Some(k);
        Ok(resp)
    };
    let timeout = if is_peer {
        PEER_HANDSHAKE_TIMEOUT
    } else {
        HANDSHAKE_TIMEOUT
    };
    let ws = tokio::time::timeout(
        timeout,
        tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)),
    )
    .await;
    let ws = match ws {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            debug!("handshake with {peer_addr} failed: {e}");
            return None;
        }
        Err(_) => {
            debug!("handshake with {peer_addr} timed out");
            return None;
        }
    };
    Some((ws, kind?, peer_addr))
}

async fn peek_is_peer(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 10];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) if n >= buf.len() => return &buf[..] == b"GET /peer ",
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return false,
            Ok(Ok(_)) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

fn reject(status: StatusCode, why: &str) -> Box<ErrorResponse> {
    let mut r = ErrorResponse::new(Some(format!("{why}\n")));
    *r.status_mut() = status;
    Box::new(r)
}

/// Decides from the HTTP upgrade request whether to take the connection.
fn check_request(req: &Request, s: &ServerSettings) -> Result<Kind, Box<ErrorResponse>> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    match req.uri().path() {
        "/client" => {
            if let Some(origin) = req.headers().get("origin") {
                let origin = origin.to_str().unwrap_or("");
                if !origin_allowed(origin, &s.allowed_origins) {
                    warn!("refused /client from origin {origin:?}");
                    return Err(reject(
                        StatusCode::FORBIDDEN,
                        &format!(
                            "origin {origin:?} is not allowed (add it to allowed_origins in the cluster file)"
                        ),
                    ));
                }
            }
            Ok(Kind::Client)
        }
        "/peer" => {
            let secret = header(SECRET_HEADER).unwrap_or("");
            if !constant_time_eq(secret.as_bytes(), s.secret.as_bytes()) {
                warn!("refused /peer: missing or wrong cluster secret");
                return Err(reject(
                    StatusCode::UNAUTHORIZED,
                    "/peer needs the cluster secret",
                ));
            }
            let from = header(NODE_HEADER).and_then(|v| v.parse::<NodeId>().ok());
            match from {
                Some(id) if id != s.me && s.members.contains(&id) => Ok(Kind::Peer(id)),
                _ => Err(reject(
                    StatusCode::BAD_REQUEST,
                    &format!("/peer needs {NODE_HEADER}: the id of another member"),
                )),
            }
        }
        other => Err(reject(
            StatusCode::NOT_FOUND,
            &format!("no such path {other:?}: use /client or /peer"),
        )),
    }
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

/// Whether a client connection may send the node one more request, given
/// the bytes of answers it has not read and its requests in flight; why
/// not, for its `Overloaded` answer.
fn admit(unread: usize, in_flight: usize, max_in_flight: usize) -> Result<(), String> {
    if unread > CLIENT_QUEUE_BYTES {
        return Err(format!(
            "this connection has {unread} bytes of answers it has not read (at most {CLIENT_QUEUE_BYTES}): read them before sending more"
        ));
    }
    if in_flight >= max_in_flight {
        return Err(format!(
            "this connection already has {max_in_flight} requests in flight (max_in_flight)"
        ));
    }
    Ok(())
}

async fn client_connection(
    ws: Ws,
    conn: u64,
    peer_addr: String,
    settings: Arc<ServerSettings>,
    inbox: InboxTx,
) {
    debug!(conn, "client connected from {peer_addr}");
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = queue::<String>(settings.max_in_flight + EVENT_ROOM + 16);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let opened = DriverInput::ClientOpened {
        conn,
        tx: tx.clone(),
        in_flight: in_flight.clone(),
    };
    if inbox.try_send(opened).is_err() {
        let _ = sink
            .send(WsMessage::Close(Some(CloseFrame {
                code: CloseCode::Again,
                reason: "node is overloaded".into(),
            })))
            .await;
        return;
    }
    // The writer: frames from the driver and from this reader, in order.
    let writer = tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            let close = text.is_empty();
            let msg = if close {
                WsMessage::Close(Some(CloseFrame {
                    code: CloseCode::Size,
                    reason: "frame larger than the limit".into(),
                }))
            } else {
                WsMessage::text(text)
            };
            if sink.feed(msg).await.is_err() {
                return;
            }
            if close {
                let _ = sink.flush().await;
                return;
            }
            // Write a burst with one flush.
            while let Ok(text) = rx.try_recv() {
                if sink.feed(WsMessage::text(text)).await.is_err() {
                    return;
                }
            }
            timeline::mark(Step::ReplyOut);
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let max_in_flight = settings.max_in_flight;
    let reply = |text: String| {
        // The queue holds max_in_flight answers plus room: a client that
        // stops reading loses these error frames, not the node its memory.
        let _ = tx.push(text, usize::MAX);
    };
    while let Some(frame) = stream.next().await {
        timeline::mark(Step::RequestIn);
        let text = match frame {
            Ok(WsMessage::Text(t)) => t,
            Ok(WsMessage::Binary(_)) => {
                reply(error_json(
                    None,
                    ErrorKind::BadRequest,
                    "frame is binary: send each request as a JSON text frame",
                ));
                continue;
            }
            Ok(WsMessage::Close(_)) => break,
            Ok(_) => continue,
            Err(tungstenite::Error::Capacity(e)) => {
                info!(conn, "closing: {e}");
                reply(String::new());
                break;
            }
            Err(tungstenite::Error::Utf8) => {
                info!(conn, "closing: a text frame was not UTF-8");
                break;
            }
            Err(e) => {
                debug!(conn, "connection ended: {e}");
                break;
            }
        };
        let frame = match parse_request_frame(text.as_str()) {
            Ok(f) => f,
            Err(e) => {
                info!(conn, "bad request: {}", e.message);
                reply(error_json(e.id, ErrorKind::BadRequest, &e.message));
                continue;
            }
        };
        let id = frame.id;
        if let Err(why) = admit(
            tx.queued_bytes(),
            in_flight.load(Ordering::Relaxed),
            max_in_flight,
        ) {
            reply(overloaded(id, &why));
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let input = match frame.op {
            ClientOp::Data(request) => DriverInput::Request { conn, id, request },
            ClientOp::Inspect(page) => DriverInput::Inspect { conn, id, page },
            ClientOp::Subscribe => DriverInput::Subscribe { conn, id },
        };
        match inbox.try_send(input) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                in_flight.fetch_sub(1, Ordering::Relaxed);
                reply(overloaded(
                    id,
                    "the node's input queue is full; retry later",
                ));
            }
            Err(TrySendError::Closed(_)) => break,
        }
    }
    let _ = inbox.send(DriverInput::ClientClosed { conn }).await;
    drop(tx);
    // Let queued answers (the close frame among them) go out.
    let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
    debug!(conn, "client {peer_addr} disconnected");
}

async fn peer_connection(ws: Ws, from: NodeId, peer_addr: String, inbox: InboxTx, slot: PeerSlot) {
    debug!("peer {from} connected from {peer_addr}");
    let (_sink, mut stream) = ws.split();
    let mut ignored = Ignored::default();
    loop {
        let frame = tokio::select! {
            f = stream.next() => f,
            _ = slot.replaced() => {
                info!("peer {from}: a newer connection took the place of this one from {peer_addr}; closing it");
                break;
            }
        };
        let Some(frame) = frame else { break };
        timeline::mark(Step::PeerIn);
        let bytes = match frame {
            Ok(WsMessage::Binary(b)) => b,
            Ok(WsMessage::Close(_)) => break,
            Ok(WsMessage::Text(_)) => {
                ignored.frame(from, || "a text frame; peers speak the binary codec".into());
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                debug!("peer {from} connection ended: {e}");
                break;
            }
        };
        let msg = match Message::decode(&bytes) {
            Ok(m) => m,
            Err(e) => {
                ignored.frame(from, || format!("an unreadable message: {e}"));
                continue;
            }
        };
        if msg.id.from != from {
            ignored.frame(from, || format!("a message signed as node {}", msg.id.from));
            continue;
        }
        match inbox.try_send(DriverInput::Peer { from, msg }) {
            // A full queue drops the message: the protocol copes with loss.
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Closed(_)) => break,
        }
    }
    if ignored.count > IGNORED_LOGGED {
        warn!(
            "peer {from} disconnected; {} of its frames were ignored in all",
            ignored.count
        );
    } else {
        debug!("peer {from} disconnected");
    }
}

/// Ignored frames a peer connection logs one by one; after them, one line
/// per [`IGNORED_EVERY`], so a broken or hostile peer cannot flood the log.
const IGNORED_LOGGED: u64 = 10;
const IGNORED_EVERY: u64 = 1000;

/// Counts a peer connection's ignored frames and logs them, sparingly.
#[derive(Default)]
struct Ignored {
    count: u64,
}

impl Ignored {
    fn frame(&mut self, from: NodeId, what: impl FnOnce() -> String) {
        self.count += 1;
        let n = self.count;
        if n <= IGNORED_LOGGED {
            warn!("peer {from} sent {}; ignored", what());
            if n == IGNORED_LOGGED {
                warn!("peer {from}: from now on one line per {IGNORED_EVERY} ignored frames");
            }
        } else if n.is_multiple_of(IGNORED_EVERY) {
            warn!(
                "peer {from}: {n} frames ignored so far; the last was {}",
                what()
            );
        }
    }
}

/// Keeps a connection to peer `to` at `addr` and sends it what the driver
/// queues. While the peer is unreachable, queued messages are dropped (they
/// would be stale) and connecting is retried with backoff. Losing an
/// established connection is reported to the driver.
pub async fn peer_sender(
    me: NodeId,
    to: NodeId,
    addr: String,
    secret: String,
    mut rx: PeerQueueRx,
    inbox: InboxTx,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let ws = match connect_peer(me, &addr, &secret).await {
            Ok(ws) => ws,
            Err(e) => {
                debug!("cannot reach peer {to} at {addr}: {e}");
                // Drop what queued while we could not connect.
                loop {
                    match rx.try_recv() {
                        Ok(_) => {}
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => return,
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(500));
                continue;
            }
        };
        info!("connected to peer {to} at {addr}");
        backoff = Duration::from_millis(50);
        match send_until_lost(ws, &mut rx, PEER_KEEPALIVE).await {
            Lost::QueueClosed => return,
            Lost::Connection(why) => {
                info!("lost the connection to peer {to}: {why}");
                let _ = inbox.try_send(DriverInput::PeerLost(to));
            }
        }
    }
}

/// How a peer sender watches its connection. TCP alone may not notice a
/// dead one: after a link comes back, a connection can sit in
/// retransmission backoff, or hold data the far end never reads, while the
/// driver keeps queueing into it.
const PEER_KEEPALIVE: Keepalive = Keepalive {
    ping_every: Duration::from_secs(1),
    silence: Duration::from_secs(5),
    // As slow as the link: an 8 MiB anti-entropy batch takes over half a
    // minute at 2 Mbit/s.
    write: Duration::from_secs(60),
};

/// Why [`send_until_lost`] returned.
#[derive(Debug)]
enum Lost {
    /// The driver dropped its end of the queue: the node is stopping.
    QueueClosed,
    Connection(String),
}

/// How [`send_until_lost`] watches a connection ([`PEER_KEEPALIVE`],
/// shorter in tests).
#[derive(Clone, Copy, Debug)]
struct Keepalive {
    /// How often the connection is pinged.
    ping_every: Duration,
    /// No answer to a ping for this long gives the connection up.
    silence: Duration,
    /// Nor may a write take longer than this.
    write: Duration,
}

/// Sends what the driver queues on one connection, pinging it, until the
/// connection fails, has not answered a ping for `silence`, or has not
/// finished a write in `write`.
async fn send_until_lost(ws: Ws, rx: &mut PeerQueueRx, limits: Keepalive) -> Lost {
    let (mut sink, mut stream) = ws.split();
    let mut ping = tokio::time::interval(limits.ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    loop {
        // What the peer sent first, so that a pong already here counts
        // before the next tick asks whether one came.
        tokio::select! {
            biased;
            frame = stream.next() => {
                match frame {
                    Some(Ok(WsMessage::Close(_))) | None => return Lost::Connection("closed by the peer".into()),
                    Some(Err(e)) => return Lost::Connection(e.to_string()),
                    Some(Ok(_)) => heard = tokio::time::Instant::now(),
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > limits.silence {
                    return Lost::Connection(format!("no answer to pings for {:?}", limits.silence));
                }
                let sent = tokio::time::timeout(
                    limits.write,
                    sink.send(WsMessage::Ping(Default::default())),
                )
                .await;
                if !matches!(sent, Ok(Ok(()))) {
                    return Lost::Connection("a ping could not be sent".into());
                }
            }
            msg = rx.recv() => {
                let Some(msg) = msg else { return Lost::QueueClosed };
                let started = tokio::time::Instant::now();
                let sent = tokio::time::timeout(limits.write, async {
                    feed(&mut sink, msg).await?;
                    while let Ok(msg) = rx.try_recv() {
                        feed(&mut sink, msg).await?;
                    }
                    timeline::mark(Step::PeerOut);
                    sink.flush().await.map_err(|_| ())
                })
                .await;
                match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(())) => return Lost::Connection("a write failed".into()),
                    Err(_) => return Lost::Connection(format!("a write waited over {:?}", limits.write)),
                }
                // A write that had to wait for room finished because the
                // peer took what was sent: it is alive, though no pong
                // could be read meanwhile.
                if started.elapsed() >= limits.ping_every {
                    heard = tokio::time::Instant::now();
                }
            }
        }
    }
}

async fn feed<S>(sink: &mut S, frame: Vec<u8>) -> Result<(), ()>
where
    S: futures_util::Sink<WsMessage> + Unpin,
{
    sink.feed(WsMessage::binary(frame)).await.map_err(|_| ())
}

async fn connect_peer(me: NodeId, addr: &str, secret: &str) -> Result<Ws, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}/peer")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let h = req.headers_mut();
    h.insert(
        SECRET_HEADER,
        HeaderValue::from_str(secret).map_err(|e| e.to_string())?,
    );
    h.insert(NODE_HEADER, HeaderValue::from(me));
    let stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let config = ws_config(MAX_PEER_FRAME_BYTES);
    let (ws, _) = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_tungstenite::client_async_with_config(req, stream, Some(config)),
    )
    .await
    .map_err(|_| "handshake timed out".to_string())?
    .map_err(|e| e.to_string())?;
    Ok(ws)
}

#[cfg(test)]
mod tests;
