//! The replica: stores the versions coordinators send it, if it
//! replicates their key, and answers reads from what it has.

use super::Node;
use crate::message::{Msg, OpId};
use crate::storage::Table;
use crate::types::{Key, NodeId, Version};
use std::borrow::Cow;

impl Node {
    /// The newest version of every key this node stores, tombstones too.
    pub fn data(&self) -> &Table {
        &self.mem.data
    }

    pub fn get_local(&self, key: &Key) -> Option<&Version> {
        self.mem.data.get(key)
    }

    /// A coordinator's write: store it (last write wins) and acknowledge.
    pub(super) fn on_write(&mut self, from: NodeId, op: OpId, key: Key, version: Version) {
        if self.accepts(&key) {
            self.store(&key, Cow::Owned(version), "replica write");
            self.send(from, Msg::WriteAck { op });
        }
    }

    /// A coordinator's read: answer with what this node has, if anything.
    pub(super) fn on_read(&mut self, from: NodeId, op: OpId, key: Key) {
        let version = self.mem.data.get(&key).cloned();
        self.send(from, Msg::ReadReply { op, key, version });
    }

    /// A read found this replica stale: store the newer version and say so.
    pub(super) fn on_repair(&mut self, from: NodeId, op: OpId, key: Key, version: Version) {
        if self.accepts(&key) {
            self.store(&key, Cow::Owned(version), "read repair");
            self.send(from, Msg::RepairAck { op });
        }
    }

    /// A replica only stores keys it replicates; anything else is a
    /// confused or malicious peer, and ignoring it loses nothing.
    pub(super) fn accepts(&self, key: &Key) -> bool {
        self.ring.is_replica(key, self.config.id)
    }
}
