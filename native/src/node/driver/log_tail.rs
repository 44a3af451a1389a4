//! The last records appended, which `inspect` shows, and the answer to
//! `inspect` itself.

use super::Driver;
use ringside_core::protocol::{DataPage, InspectNode, LogStats, LogTailEntry};
use ringside_core::Record;
use std::collections::VecDeque;

/// Records `inspect` shows from the end of the log.
const LOG_TAIL: usize = 8;

pub(super) struct LogTail {
    /// The last records appended, with their lsn.
    records: VecDeque<(u64, Record)>,
    /// The node's lsn as of the last record in `records`.
    pub(super) lsn: u64,
}

impl LogTail {
    /// An empty tail after the node's record `lsn`.
    pub(super) fn after(lsn: u64) -> LogTail {
        LogTail {
            records: VecDeque::with_capacity(LOG_TAIL),
            lsn,
        }
    }

    pub(super) fn push(&mut self, record: Record) {
        self.lsn += 1;
        if self.records.len() == LOG_TAIL {
            self.records.pop_front();
        }
        self.records.push_back((self.lsn, record));
    }
}

impl Driver {
    /// This node's state for `inspect`, with what only the driver knows.
    pub fn inspect(&self, page: &DataPage) -> InspectNode {
        let mut i = InspectNode::of(&self.node, page);
        i.addr = self.settings.addr.clone();
        i.log = LogStats {
            records: self.log.records(),
            bytes: self.log.bytes(),
        };
        i.nodes = self.settings.nodes.clone();
        // The answer waits, as every output does, until what was appended
        // before it is durable: with batch sync, fsynced.
        let synced = self.settings.policy.is_batch();
        i.log_tail = self
            .tail
            .records
            .iter()
            .map(|(lsn, record)| LogTailEntry {
                lsn: *lsn,
                record: record.to_string(),
                synced,
            })
            .collect();
        i
    }
}
