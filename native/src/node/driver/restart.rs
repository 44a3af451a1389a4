//! A failed commit-log write or fsync (disk full, EIO) handled as a crash
//! followed by a restart in place (see the driver's module docs).

use super::gate::Action;
use super::log_tail::LogTail;
use super::Driver;
use crate::node::commitlog::CommitLog;
use ringside_core::durability::Policy;
use ringside_core::message::ErrorKind;
use ringside_core::protocol::error_json;
use ringside_core::{Input, Node};
use std::io;
use tracing::{debug, error, info, warn};

/// With batch sync, switches the log to direct writes where the file
/// system allows them (see the commit log's docs), and says which.
pub(super) fn write_directly(log: &mut CommitLog, policy: Policy) {
    if !policy.is_batch() {
        return;
    }
    match log.write_directly() {
        Ok(true) => debug!("commit log: direct synchronous writes (O_DIRECT | O_DSYNC)"),
        Ok(false) => info!(
            "commit log: the file system refuses direct writes (O_DIRECT); using write and fdatasync"
        ),
        Err(e) => warn!("commit log: cannot switch to direct writes ({e}); using write and fdatasync"),
    }
}

impl Driver {
    /// The commit log could not be written or synced: what the batch held
    /// back never leaves (a data reply becomes an `Internal` error; peer
    /// messages, acknowledgements among them, are dropped), the log is cut
    /// back to what its released outputs stood on (synced with batch
    /// sync, written with periodic) and reopened, and the node is rebuilt
    /// from it and started again, as after a crash. An error only when the
    /// log cannot be cut back or reopened: then the node stops.
    pub(super) fn log_failed(&mut self, cause: io::Error) -> io::Result<()> {
        self.log_failures += 1;
        // The log is replaced below: a snapshot of it being written no
        // longer fits it.
        self.compaction.give_up();
        let why = format!(
            "the commit log write failed ({cause}); the request was not acknowledged, and may be applied on other replicas"
        );
        // What outputs were let go against (synced with batch sync,
        // written with periodic): the log keeps it, and nothing after it.
        let keep = self.gate.durable();
        // The log is replaced below: an fsync in flight no longer counts,
        // and nothing held may leave.
        let held = self.new_log(keep);
        let (mut answered, mut dropped) = (0usize, 0usize);
        for action in held {
            match action {
                Action::ToClient {
                    conn,
                    data_reply: Some(req),
                    ..
                } => {
                    answered += 1;
                    // Its log line said ok; the error below says why not.
                    self.requests.unanswer(conn, req);
                    self.act(Action::ToClient {
                        conn,
                        text: error_json(Some(req), ErrorKind::Internal, &why),
                        answer: true,
                        data_reply: None,
                    });
                }
                Action::ToClient { .. } => self.act(action),
                Action::Send { .. } => dropped += 1,
            }
        }
        dropped += self.drop_held_events();
        let cut = self.log.cut_back_to(keep)?;
        let dir = self
            .log
            .path()
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .to_path_buf();
        let config = self.node.config().clone();
        let (log, _, (node, recovery)) =
            CommitLog::open_with(&dir, |records| Node::recover_from(config, records))?;
        // Every request still open belonged to the node being replaced.
        let open = self.requests.take_open();
        for client in &open {
            self.act(Action::ToClient {
                conn: client.conn,
                text: error_json(Some(client.req), ErrorKind::Internal, &why),
                answer: true,
                data_reply: None,
            });
        }
        error!(
            "commit log write failed (failure {} of this process): {cause}; answered {} requests with an error, dropped {dropped} messages and events, cut {cut} unsynced bytes; restarting the node in place from {} durable records",
            self.log_failures,
            answered + open.len(),
            recovery.records
        );
        self.node = node;
        self.log = log;
        write_directly(&mut self.log, self.settings.policy);
        // The gate starts over at the reopened log's end; it held nothing
        // since the call above.
        let held = self.new_log(self.log.bytes());
        debug_assert!(held.is_empty());
        // The tail starts again, as after a restart: records may have
        // been cut, and the rebuilt node numbers from what the log holds.
        self.tail = LogTail::after(self.node.lsn());
        self.refresh_events();
        self.timers.clear();
        self.handle(Input::Start);
        // Start persists nothing, so this cannot recurse further.
        self.flush(true)
    }
}
