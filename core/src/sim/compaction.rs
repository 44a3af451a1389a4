//! Compaction in the simulator, as the native driver runs it: the node's
//! snapshot is taken a slice at a time, one slice after each input the
//! node handles and each sync that ends, while it goes on serving; every
//! record it logs meanwhile is kept. Once the snapshot is whole and no
//! sync is in flight, the old log is synced, what waited for it goes out,
//! and the snapshot followed by the kept records replaces the log. A
//! crash before that leaves the old log as it was.

use super::{ClusterEvent, Sim};
use crate::durability::Flaw;
use crate::storage::{Record, SnapshotCursor};
use crate::types::NodeId;

/// Records a compaction copies per input its node handles: few, so that
/// even the sweep's small nodes take several inputs to copy and records
/// arrive between the slices.
const SLICE: usize = 2;

/// A compaction under way on one node.
#[derive(Clone, Debug, Default)]
pub(super) struct Compacting {
    cursor: SnapshotCursor,
    snapshot: Vec<Record>,
    /// What the node logged since the first slice.
    kept: Vec<Record>,
}

impl Compacting {
    /// The node logged `record` while its snapshot was being taken.
    pub(super) fn logged(&mut self, record: &Record) {
        self.kept.push(record.clone());
    }
}

impl Sim {
    /// Starts compacting a live node's log, a slice per input from now on
    /// (nothing if one is under way).
    pub fn start_compaction(&mut self, id: NodeId) {
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        if n.node.is_none() || n.compaction.is_some() {
            return;
        }
        n.compaction = Some(Compacting::default());
        self.compaction_step(id);
    }

    /// Compacts a node's log: the whole snapshot at once, and the switch
    /// at once too unless a sync is in flight (then when it ends, as
    /// the native driver waits for it).
    pub fn compact(&mut self, id: NodeId) {
        self.start_compaction(id);
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        let (Some(node), Some(c)) = (n.node.as_ref(), n.compaction.as_mut()) else {
            return;
        };
        node.snapshot_slice(&mut c.cursor, usize::MAX, &mut c.snapshot);
        if n.gate.sync_in_flight().is_none() {
            self.switch_log(id);
        }
    }

    /// Takes the next slice of a node's snapshot, or, once it is whole and
    /// no sync is in flight, puts it in the log's place.
    pub(super) fn compaction_step(&mut self, id: NodeId) {
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        let (Some(node), Some(c)) = (n.node.as_ref(), n.compaction.as_mut()) else {
            return;
        };
        if !c.cursor.is_done() {
            node.snapshot_slice(&mut c.cursor, SLICE, &mut c.snapshot);
        } else if n.gate.sync_in_flight().is_none() {
            self.switch_log(id);
        }
    }

    /// The snapshot and the records kept meanwhile replace the log. As
    /// the native driver does: the old log is synced and everything
    /// waiting on it let go first, and the gate starts over at the new
    /// log's end (the new log's records are no group of the next sync).
    fn switch_log(&mut self, id: NodeId) {
        let now = self.now;
        let drops_kept = self.config.flaw == Some(Flaw::CompactionDropsKept);
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        let (Some(node), Some(c)) = (n.node.as_mut(), n.compaction.take()) else {
            return;
        };
        let before = n.disk.records().len();
        let mut records = c.snapshot;
        let kept = c.kept.len() as u64;
        if !drops_kept {
            records.extend(c.kept);
        }
        let after = records.len();
        node.compacted(after);
        let old_end = n.disk.end();
        n.disk.mark_all_synced();
        n.gate.sync_finished(old_end, now);
        n.disk.replace(records);
        let held = n.gate.reset(n.disk.end(), now);
        debug_assert!(held.is_empty(), "held outputs across a synced log");
        self.disk_stats.compactions += 1;
        self.disk_stats.kept_records += kept;
        self.release(id);
        self.drain(id, None);
        self.sim_event(ClusterEvent::Compacted {
            node: id,
            before,
            after,
        });
    }
}
