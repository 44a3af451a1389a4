//! Frames of the `/control` endpoint, which the cluster's supervisor (not
//! a node) serves: the page crashes, stops and restarts the nodes of a
//! live cluster through it. The supervisor reads them, the page writes
//! them; both use these types.

use crate::types::{clipped, NodeId};
use serde_json::{json, Map, Value};

/// What the supervisor does to one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeControl {
    /// SIGKILL: a crash, the node's memory lost, its commit log kept.
    Kill,
    /// SIGTERM: the node stops cleanly.
    Stop,
    /// Started again (after a kill or a stop); answered once it serves.
    Restart,
}

impl NodeControl {
    /// The op's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            NodeControl::Kill => "kill",
            NodeControl::Stop => "stop",
            NodeControl::Restart => "restart",
        }
    }
}

/// One control request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlOp {
    /// Every node's address, whether it runs and its pid.
    Status,
    Node(NodeControl, NodeId),
}

/// The frame asking `op`, with the control token.
pub fn control_request_json(id: u64, op: ControlOp, token: &str) -> String {
    match op {
        ControlOp::Status => json!({"id": id, "op": "status", "token": token}),
        ControlOp::Node(what, node) => {
            json!({"id": id, "op": what.name(), "node": node, "token": token})
        }
    }
    .to_string()
}

/// The op a control frame asks for (its id and token are the caller's to
/// check first); the error names the field.
pub fn control_op(frame: &Map<String, Value>) -> Result<ControlOp, String> {
    let what = match frame.get("op") {
        None => return Err("op: missing".into()),
        Some(Value::String(op)) => match op.as_str() {
            "status" => return Ok(ControlOp::Status),
            "kill" => NodeControl::Kill,
            "stop" => NodeControl::Stop,
            "restart" => NodeControl::Restart,
            other => {
                return Err(format!(
                    "op: unknown op {} (expected status, kill, restart or stop)",
                    clipped(&format!("{other:?}"))
                ))
            }
        },
        Some(other) => {
            return Err(format!(
                "op: expected a string, got {}",
                clipped(&other.to_string())
            ))
        }
    };
    let node = frame
        .get("node")
        .and_then(Value::as_u64)
        .and_then(|n| NodeId::try_from(n).ok())
        .ok_or("node: missing or not a node id")?;
    Ok(ControlOp::Node(what, node))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op_of(text: &str) -> Result<ControlOp, String> {
        match serde_json::from_str(text) {
            Ok(Value::Object(o)) => control_op(&o),
            _ => panic!("not an object: {text}"),
        }
    }

    #[test]
    fn requests_round_trip() {
        for op in [
            ControlOp::Status,
            ControlOp::Node(NodeControl::Kill, 3),
            ControlOp::Node(NodeControl::Stop, 0),
            ControlOp::Node(NodeControl::Restart, 7),
        ] {
            let text = control_request_json(5, op, "secret");
            assert_eq!(op_of(&text), Ok(op), "{text}");
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                (v["id"].as_u64(), v["token"].as_str()),
                (Some(5), Some("secret"))
            );
        }
    }

    #[test]
    fn bad_ops_name_the_field() {
        let cases = [
            (r#"{"id":1}"#, "op: missing"),
            (r#"{"id":1,"op":3}"#, "op: expected a string, got 3"),
            (r#"{"id":1,"op":"frob"}"#, "op: unknown op \"frob\""),
            (r#"{"id":1,"op":"kill"}"#, "node: missing"),
            (
                r#"{"id":1,"op":"kill","node":-1}"#,
                "node: missing or not a node id",
            ),
            (
                r#"{"id":1,"op":"stop","node":"2"}"#,
                "node: missing or not a node id",
            ),
        ];
        for (text, needle) in cases {
            let e = op_of(text).unwrap_err();
            assert!(e.starts_with(needle), "{text}: {e}");
        }
    }
}
