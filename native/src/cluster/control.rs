//! The supervisor's control endpoint: a small WebSocket server, loopback
//! only, through which the web page crashes, restarts and stops the nodes
//! that `ringside cluster up` started. It runs as its own background
//! process (`ringside cluster control`), recorded in the data dir like the
//! nodes.
//!
//! Every request carries the control token that `cluster up` generated and
//! stored in `<data-dir>/control.token` (mode 0600); a request without it
//! gets `Unauthorized`. Browsers are checked by `Origin` as on `/client`.
//!
//! ```json
//! {"id": 1, "op": "status", "token": "..."}
//! {"id": 2, "op": "kill", "node": 3, "token": "..."}      // SIGKILL: a crash
//! {"id": 3, "op": "restart", "node": 3, "token": "..."}   // answers once it serves
//! {"id": 4, "op": "stop", "node": 3, "token": "..."}      // SIGTERM
//! ```

use crate::cluster::supervisor::{Cluster, PidState};
use crate::origin::origin_allowed;
use crate::secret::constant_time_eq;
use futures_util::{SinkExt, StreamExt};
use ringside_core::message::ErrorKind;
use ringside_core::protocol::control::{control_op, ControlOp, NodeControl};
use ringside_core::protocol::error_json;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tracing::{info, warn};

/// Control frames are tiny.
const MAX_FRAME_BYTES: usize = 16 * 1024;
/// Connections served at once.
const MAX_CONNECTIONS: usize = 64;

/// Checks that an address is loopback: the control plane never listens
/// anywhere else.
pub fn check_loopback(addr: &SocketAddr) -> Result<(), String> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "the control endpoint only listens on loopback addresses, not {addr}"
        ))
    }
}

/// Serves until the task ends.
pub async fn serve(
    listener: TcpListener,
    cluster: Arc<Cluster>,
    token: Arc<String>,
    extra_origins: Arc<Vec<String>>,
) {
    let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!("control: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if open.load(std::sync::atomic::Ordering::Relaxed) >= MAX_CONNECTIONS {
            warn!("control: refusing {from}: {MAX_CONNECTIONS} connections open");
            continue;
        }
        open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (cluster, token, extra, open) = (
            cluster.clone(),
            token.clone(),
            extra_origins.clone(),
            open.clone(),
        );
        tokio::spawn(async move {
            connection(stream, cluster, token, extra).await;
            open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
}

async fn connection(
    stream: TcpStream,
    cluster: Arc<Cluster>,
    token: Arc<String>,
    extra: Arc<Vec<String>>,
) {
    // tungstenite's handshake callback dictates this error type.
    #[allow(clippy::result_large_err)]
    let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let refuse = |code: StatusCode, why: &str| {
            let mut r = ErrorResponse::new(Some(why.to_string()));
            *r.status_mut() = code;
            r
        };
        if req.uri().path() != "/control" {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "the control endpoint is /control",
            ));
        }
        if let Some(origin) = req.headers().get("origin") {
            let origin = origin.to_str().unwrap_or("");
            if !origin_allowed(origin, &extra) {
                return Err(refuse(StatusCode::FORBIDDEN, "origin not allowed"));
            }
        }
        Ok(resp)
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let ws = match tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        _ => return,
    };
    let (mut tx, mut rx) = ws.split();
    while let Some(frame) = rx.next().await {
        let text = match frame {
            Ok(WsMessage::Text(t)) => t.to_string(),
            Ok(WsMessage::Close(_)) | Err(_) => break,
            Ok(WsMessage::Binary(_)) => {
                let e = error_json(None, ErrorKind::BadRequest, "control frames are JSON text");
                if tx.send(WsMessage::text(e)).await.is_err() {
                    break;
                }
                continue;
            }
            Ok(_) => continue,
        };
        let reply = handle(&text, &cluster, &token).await;
        if tx.send(WsMessage::text(reply)).await.is_err() {
            break;
        }
    }
}

/// Answers one control frame.
pub async fn handle(text: &str, cluster: &Arc<Cluster>, token: &str) -> String {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return error_json(
                None,
                ErrorKind::BadRequest,
                &format!("frame is not JSON: {e}"),
            )
        }
    };
    let id = v.get("id").and_then(Value::as_u64);
    let Some(id) = id else {
        return error_json(
            None,
            ErrorKind::BadRequest,
            "id: missing or not a non-negative integer",
        );
    };
    let given = v.get("token").and_then(Value::as_str).unwrap_or("");
    if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        return error_json(
            Some(id),
            ErrorKind::Unauthorized,
            "control requests need the control token (`cluster up` printed it and stored it in the data dir)",
        );
    }
    let op = match &v {
        Value::Object(frame) => control_op(frame),
        _ => Err("frame is not a JSON object".into()),
    };
    let op = match op {
        Ok(op) => op,
        Err(e) => return error_json(Some(id), ErrorKind::BadRequest, &e),
    };
    let cl = cluster.clone();
    let result = match op {
        ControlOp::Status => tokio::task::spawn_blocking(move || status(&cl)).await,
        ControlOp::Node(what, node) => {
            info!("control: {} node {node}", what.name());
            tokio::task::spawn_blocking(move || match what {
                NodeControl::Kill => cl.kill(node).map(|pid| json!({"node": node, "pid": pid})),
                NodeControl::Stop => cl
                    .stop(node)
                    .map(|(pid, clean)| json!({"node": node, "pid": pid, "clean": clean})),
                NodeControl::Restart => cl
                    .restart(node)
                    .map(|pid| json!({"node": node, "pid": pid})),
            })
            .await
        }
    };
    match result {
        Ok(Ok(mut body)) => {
            if let Value::Object(o) = &mut body {
                o.insert("id".into(), json!(id));
                o.insert("ok".into(), json!(true));
            }
            body.to_string()
        }
        Ok(Err(msg)) => error_json(Some(id), ErrorKind::BadRequest, &msg),
        Err(e) => error_json(
            Some(id),
            ErrorKind::Internal,
            &format!("control task failed: {e}"),
        ),
    }
}

fn status(cluster: &Cluster) -> Result<Value, String> {
    let file = cluster.load()?;
    let nodes: Vec<Value> = file
        .nodes
        .iter()
        .map(|n| {
            let (running, pid) = match cluster.pid_state(n.id) {
                PidState::Running(pid) => (true, Some(pid)),
                _ => (false, None),
            };
            json!({"node": n.id, "addr": n.addr, "running": running, "pid": pid})
        })
        .collect();
    Ok(json!({ "nodes": nodes }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback() {
        assert!(check_loopback(&"127.0.0.1:1".parse().unwrap()).is_ok());
        assert!(check_loopback(&"[::1]:1".parse().unwrap()).is_ok());
        assert!(check_loopback(&"0.0.0.0:1".parse().unwrap()).is_err());
        assert!(check_loopback(&"10.1.2.3:1".parse().unwrap()).is_err());
    }

    #[tokio::test]
    async fn requests_without_the_token_are_unauthorized() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Arc::new(Cluster::new(dir.path()));
        let r = handle(r#"{"id":1,"op":"kill","node":1}"#, &cluster, "secret").await;
        assert!(r.contains("Unauthorized"), "{r}");
        let r = handle(
            r#"{"id":1,"op":"kill","node":1,"token":"nope"}"#,
            &cluster,
            "secret",
        )
        .await;
        assert!(r.contains("Unauthorized"), "{r}");
        let r = handle("nope", &cluster, "secret").await;
        assert!(r.contains("BadRequest"), "{r}");
        let r = handle(
            r#"{"id":2,"op":"frob","token":"secret"}"#,
            &cluster,
            "secret",
        )
        .await;
        assert!(r.contains("unknown op"), "{r}");
    }
}
