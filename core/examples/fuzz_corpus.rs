//! Writes the fuzzers' seed corpus (core/fuzz/corpus/<target>/): valid
//! client frames, peer messages and commit logs to start mutating from.
//! Run: `cargo run -p ringside-core --example fuzz_corpus`.

use ringside_core::message::{KeySpan, Message, Msg, MsgId, TreeNode};
use ringside_core::storage::Record;
use ringside_core::{Key, Version};
use std::fs;
use std::path::Path;

/// A node one level under the root of the range ending at token 0x3fff….
fn tree_node(index: u32) -> TreeNode {
    TreeNode {
        range: 0x3fff_ffff_ffff_ffff,
        level: 1,
        index,
    }
}

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let frames = [
        r#"{"id": 1, "op": "put", "key": 137, "value": "value137", "cl": "QUORUM"}"#,
        r#"{"id": 2, "op": "get", "key": 137, "cl": "QUORUM"}"#,
        r#"{"id": 3, "op": "delete", "key": "alice", "cl": "all"}"#,
        r#"{"id": 4, "op": "inspect"}"#,
        r#"{"id": 5, "op": "subscribe"}"#,
        r#"{"id": 6, "op": "put", "key": 1, "value": "x", "cl": "ANY", "token": "t"}"#,
        r#"{"id":2,"ok":true,"kv":{"key":137,"value":"value137","ts":7}}"#,
        "put 137 value137 quorum",
        r#"{"id": 7, "op": "inspect", "limit": 2, "after": "bob"}"#,
    ];
    let dir = root.join("client_frame");
    fs::create_dir_all(&dir)?;
    for (i, f) in frames.iter().enumerate() {
        fs::write(dir.join(format!("seed-{i}")), f)?;
    }
    let v = Version {
        ts: 1_606_702_528_999_280,
        value: Some("value137".into()),
    };
    let bodies = vec![
        Msg::Write {
            op: 7,
            key: Key::Int(137),
            version: v.clone(),
            lazy: false,
        },
        Msg::Write {
            op: 9,
            key: Key::Int(138),
            version: v.clone(),
            lazy: true,
        },
        Msg::WriteAck { op: 7 },
        Msg::Read {
            op: 8,
            key: Key::Str("alice".into()),
        },
        Msg::ReadReply {
            op: 8,
            key: Key::Int(1),
            version: Some(v.clone()),
        },
        Msg::Repair {
            op: 9,
            key: Key::Int(2),
            version: Version { ts: 3, value: None },
        },
        Msg::Hint {
            hint: 4,
            key: Key::Int(5),
            version: v.clone(),
        },
        Msg::HintAck { hint: 4 },
        Msg::Heartbeat { gen: 99 },
        Msg::SyncDigest {
            depth: 12,
            nodes: vec![(tree_node(0), 1), (tree_node(1), 2)],
        },
        Msg::SyncData {
            entries: vec![(Key::Int(3), v.clone())],
            nodes: vec![tree_node(1)],
            span: Box::new(KeySpan {
                after: None,
                upto: Some(Key::Str("user:1".into())),
            }),
            reply: true,
        },
    ];
    let dir = root.join("peer_message");
    fs::create_dir_all(&dir)?;
    for (i, body) in bodies.into_iter().enumerate() {
        let m = Message {
            id: MsgId {
                from: 1,
                gen: 2,
                n: i as u64,
            },
            body,
        };
        fs::write(dir.join(format!("seed-{i}")), m.encode())?;
    }
    let records = [
        Record::Write {
            key: Key::Int(137),
            version: v.clone(),
        },
        Record::Hint {
            id: 1,
            target: 3,
            key: Key::Int(137),
            version: v.clone(),
            created_us: 5,
        },
        Record::HintDone { id: 1 },
        Record::Write {
            key: Key::Str("k".into()),
            version: Version { ts: 9, value: None },
        },
    ];
    let dir = root.join("commit_log");
    fs::create_dir_all(&dir)?;
    let log: Vec<u8> = records.iter().flat_map(|r| r.frame()).collect();
    fs::write(dir.join("seed-log"), &log)?;
    fs::write(dir.join("seed-torn"), &log[..log.len() - 3])?;
    fs::write(dir.join("seed-one"), records[0].frame())?;
    println!("seed corpus written under {}", root.display());
    Ok(())
}
