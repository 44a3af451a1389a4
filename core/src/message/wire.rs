//! The compact binary form of peer messages (the client protocol stays
//! JSON): a format version byte, the id, a tag, the fields. Decoding never
//! panics; anything malformed is an error that says what was wrong.

use super::{
    KeySpan, Message, Msg, MsgId, TreeNode, MAX_PEER_MESSAGE_BYTES, MAX_SYNC_ENTRIES,
    MAX_SYNC_NODES,
};
use crate::storage::{key_len, put_key, put_version, version_len, DecodeError, Reader};
use crate::types::{Key, NodeId};

const WRITE: u8 = 1;
const WRITE_ACK: u8 = 2;
const READ: u8 = 3;
const READ_REPLY: u8 = 4;
const REPAIR: u8 = 5;
const REPAIR_ACK: u8 = 6;
const HINT: u8 = 7;
const HINT_ACK: u8 = 8;
const HEARTBEAT: u8 = 9;
// 10 and 11 were the one-level bucket digests and data, retired with
// them: a node that still sends them is refused by name.
const WRITE_LAZY: u8 = 12;
const SYNC_DIGEST: u8 = 13;
const SYNC_DATA: u8 = 14;
const VERSION: u8 = 1;

impl Message {
    /// The compact binary form nodes send each other on `/peer` (the client
    /// protocol stays JSON): a format version byte, the id, a tag, fields.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(VERSION);
        out.extend_from_slice(&self.id.from.to_le_bytes());
        out.extend_from_slice(&self.id.gen.to_le_bytes());
        out.extend_from_slice(&self.id.n.to_le_bytes());
        let u64le = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
        match &self.body {
            Msg::Write {
                op, key, version, ..
            }
            | Msg::Repair { op, key, version } => {
                out.push(match self.body {
                    Msg::Write { lazy: false, .. } => WRITE,
                    Msg::Write { lazy: true, .. } => WRITE_LAZY,
                    _ => REPAIR,
                });
                u64le(&mut out, *op);
                put_key(&mut out, key);
                put_version(&mut out, version);
            }
            Msg::WriteAck { op } => {
                out.push(WRITE_ACK);
                u64le(&mut out, *op);
            }
            Msg::RepairAck { op } => {
                out.push(REPAIR_ACK);
                u64le(&mut out, *op);
            }
            Msg::Read { op, key } => {
                out.push(READ);
                u64le(&mut out, *op);
                put_key(&mut out, key);
            }
            Msg::ReadReply { op, key, version } => {
                out.push(READ_REPLY);
                u64le(&mut out, *op);
                put_key(&mut out, key);
                match version {
                    None => out.push(0),
                    Some(v) => {
                        out.push(1);
                        put_version(&mut out, v);
                    }
                }
            }
            Msg::Hint { hint, key, version } => {
                out.push(HINT);
                u64le(&mut out, *hint);
                put_key(&mut out, key);
                put_version(&mut out, version);
            }
            Msg::HintAck { hint } => {
                out.push(HINT_ACK);
                u64le(&mut out, *hint);
            }
            Msg::Heartbeat { gen } => {
                out.push(HEARTBEAT);
                u64le(&mut out, *gen);
            }
            Msg::SyncDigest { depth, nodes } => {
                out.push(SYNC_DIGEST);
                out.push(*depth);
                out.extend_from_slice(&(nodes.len() as u32).to_le_bytes());
                for (n, hash) in nodes {
                    put_node(&mut out, n);
                    u64le(&mut out, *hash);
                }
            }
            Msg::SyncData {
                entries,
                nodes,
                span,
                reply,
            } => {
                out.push(SYNC_DATA);
                out.push(u8::from(*reply));
                out.extend_from_slice(&(nodes.len() as u32).to_le_bytes());
                for n in nodes {
                    put_node(&mut out, n);
                }
                put_bound(&mut out, span.after.as_ref());
                put_bound(&mut out, span.upto.as_ref());
                out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
                for (k, v) in entries {
                    put_key(&mut out, k);
                    put_version(&mut out, v);
                }
            }
        }
        out
    }

    /// The bytes [`Message::encode`] writes, for the messages a put or a
    /// get sends; a bound for the others (their vector grows as needed).
    /// Exact, so that a frame handed to the socket's writer needs no
    /// second allocation of its own (a `Vec` whose length is its
    /// capacity becomes `Bytes` as it is).
    pub(crate) fn encoded_len(&self) -> usize {
        let id = 1 + size_of::<NodeId>() + 8 + 8;
        id + 1
            + match &self.body {
                Msg::Write { key, version, .. }
                | Msg::Repair { key, version, .. }
                | Msg::Hint { key, version, .. } => 8 + key_len(key) + version_len(version),
                Msg::WriteAck { .. } | Msg::RepairAck { .. } | Msg::HintAck { .. } => 8,
                Msg::Heartbeat { .. } => 8,
                Msg::Read { key, .. } => 8 + key_len(key),
                Msg::ReadReply { key, version, .. } => {
                    8 + key_len(key) + 1 + version.as_ref().map_or(0, version_len)
                }
                Msg::SyncDigest { .. } | Msg::SyncData { .. } => 64,
            }
    }

    /// Decodes [`Message::encode`]'s bytes; anything else is an error that
    /// says what was wrong, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        if bytes.len() > MAX_PEER_MESSAGE_BYTES {
            return Err(DecodeError(format!(
                "peer message of {} bytes is over the {MAX_PEER_MESSAGE_BYTES}-byte limit",
                bytes.len()
            )));
        }
        let mut r = Reader { bytes, at: 0 };
        let v = r.u8("format version")?;
        if v != VERSION {
            return Err(DecodeError(format!(
                "peer message format {v}; this node speaks {}",
                VERSION
            )));
        }
        let id = MsgId {
            from: r.u32("sender")?,
            gen: r.u64("generation")?,
            n: r.u64("message number")?,
        };
        let count = |r: &mut Reader, what: &str, max: usize| -> Result<usize, DecodeError> {
            let n = r.u32(what)? as usize;
            if n > max {
                Err(DecodeError(format!(
                    "{what} {n} is over the limit of {max}"
                )))
            } else {
                Ok(n)
            }
        };
        let body = match r.u8("message tag")? {
            tag @ (WRITE | WRITE_LAZY) => Msg::Write {
                op: r.u64("op")?,
                key: r.key()?,
                version: r.version()?,
                lazy: tag == WRITE_LAZY,
            },
            REPAIR => Msg::Repair {
                op: r.u64("op")?,
                key: r.key()?,
                version: r.version()?,
            },
            WRITE_ACK => Msg::WriteAck { op: r.u64("op")? },
            REPAIR_ACK => Msg::RepairAck { op: r.u64("op")? },
            READ => Msg::Read {
                op: r.u64("op")?,
                key: r.key()?,
            },
            READ_REPLY => {
                let op = r.u64("op")?;
                let key = r.key()?;
                let version = match r.u8("version flag")? {
                    0 => None,
                    1 => Some(r.version()?),
                    t => return Err(DecodeError(format!("unknown version flag {t}"))),
                };
                Msg::ReadReply { op, key, version }
            }
            HINT => Msg::Hint {
                hint: r.u64("hint id")?,
                key: r.key()?,
                version: r.version()?,
            },
            HINT_ACK => Msg::HintAck {
                hint: r.u64("hint id")?,
            },
            HEARTBEAT => Msg::Heartbeat {
                gen: r.u64("generation")?,
            },
            SYNC_DIGEST => {
                let depth = r.u8("tree depth")?;
                let n = count(&mut r, "tree node count", MAX_SYNC_NODES)?;
                let mut nodes = Vec::with_capacity(n);
                for _ in 0..n {
                    nodes.push((node(&mut r)?, r.u64("tree hash")?));
                }
                Msg::SyncDigest { depth, nodes }
            }
            SYNC_DATA => {
                let reply = match r.u8("reply flag")? {
                    0 => false,
                    1 => true,
                    t => return Err(DecodeError(format!("unknown reply flag {t}"))),
                };
                let nn = count(&mut r, "tree node count", MAX_SYNC_NODES)?;
                let mut nodes = Vec::with_capacity(nn);
                for _ in 0..nn {
                    nodes.push(node(&mut r)?);
                }
                let after = bound(&mut r, "lower key bound")?;
                let upto = bound(&mut r, "upper key bound")?;
                let ne = count(&mut r, "entry count", MAX_SYNC_ENTRIES)?;
                let mut entries = Vec::with_capacity(ne.min(1024));
                for _ in 0..ne {
                    entries.push((r.key()?, r.version()?));
                }
                Msg::SyncData {
                    entries,
                    nodes,
                    span: Box::new(KeySpan { after, upto }),
                    reply,
                }
            }
            10 | 11 => {
                return Err(DecodeError(
                    "a one-level anti-entropy message, which this node no longer speaks \
                     (every node of a cluster must run the same version)"
                        .into(),
                ))
            }
            t => return Err(DecodeError(format!("unknown message tag {t}"))),
        };
        if r.at != bytes.len() {
            return Err(DecodeError(format!(
                "{} stray bytes after the {} message",
                bytes.len() - r.at,
                body.kind()
            )));
        }
        Ok(Message { id, body })
    }
}

/// A tree node on the wire: range end token (u64), level (u8), index (u32).
fn put_node(out: &mut Vec<u8>, n: &TreeNode) {
    out.extend_from_slice(&n.range.to_le_bytes());
    out.push(n.level);
    out.extend_from_slice(&n.index.to_le_bytes());
}

fn node(r: &mut Reader) -> Result<TreeNode, DecodeError> {
    Ok(TreeNode {
        range: r.u64("tree range")?,
        level: r.u8("tree level")?,
        index: r.u32("tree index")?,
    })
}

/// A key bound of `sync_data`: 0 for none, or 1 and the key.
fn put_bound(out: &mut Vec<u8>, key: Option<&Key>) {
    match key {
        None => out.push(0),
        Some(k) => {
            out.push(1);
            put_key(out, k);
        }
    }
}

fn bound(r: &mut Reader, what: &str) -> Result<Option<Key>, DecodeError> {
    match r.u8(what)? {
        0 => Ok(None),
        1 => Ok(Some(r.key()?)),
        t => Err(DecodeError(format!("unknown {what} flag {t}"))),
    }
}
