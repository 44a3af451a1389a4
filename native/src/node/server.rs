//! `ringside node`: one node in the foreground. Reads the cluster file,
//! replays the commit log, binds its port, starts the driver, the listener
//! and the peer senders, all as tasks of one single-threaded runtime (plus
//! the driver's thread for fsyncs under load; see the driver's module docs
//! for why), and stops cleanly on SIGTERM or Ctrl-C.

use crate::cluster_file::ClusterFile;
use crate::node::commitlog::CommitLog;
use crate::node::driver::{Driver, DriverSettings};
use crate::node::inbox;
use crate::node::log_reader::LogRecords;
use crate::node::transport::{self, ServerSettings};
use ringside_core::protocol::NodeAddr;
use ringside_core::{Node, NodeId};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tracing::{error, info, warn};

/// How `ringside node` failed, with the exit code it maps to.
#[derive(Debug)]
pub enum NodeError {
    /// The cluster file or the arguments are wrong (exit code 2).
    Config(String),
    /// Anything else (exit code 1).
    Runtime(String),
}

pub struct NodeArgs {
    pub id: NodeId,
    pub cluster: PathBuf,
    pub data_dir: PathBuf,
    /// Start even if the commit log is damaged in the middle: keep the
    /// damaged file aside and start from its valid records.
    pub salvage_damaged_log: bool,
}

/// Runs one node until SIGTERM or Ctrl-C.
pub fn run_node(args: NodeArgs) -> Result<(), NodeError> {
    crate::node::timeline::init_from_env();
    #[cfg(feature = "clock-hook")]
    let clock_step = {
        crate::node::clock_hook::ignore_until_listening();
        crate::node::clock_hook::step_us().map_err(|e| NodeError::Config(e.to_string()))?
    };
    let file = ClusterFile::load(&args.cluster).map_err(NodeError::Config)?;
    let me = file.node(args.id).map_err(NodeError::Config)?.clone();
    let config = file.config_for(args.id).map_err(NodeError::Config)?;

    // The records go straight from the file's bytes into the memtable, so
    // a large log is never held as records and as data at once.
    let started = std::time::Instant::now();
    let replay = |records: &mut LogRecords<'_>| Node::recover_from(config, records);
    let opened = if args.salvage_damaged_log {
        CommitLog::open_salvaging(&args.data_dir, replay)
    } else {
        CommitLog::open_with(&args.data_dir, replay)
    };
    let (log, report, (node, recovery)) = opened.map_err(|e| {
        NodeError::Runtime(format!(
            "cannot open the commit log in {}: {e}",
            args.data_dir.display()
        ))
    })?;
    let took = started.elapsed().as_secs_f64();
    // Replay's scratch memory is free now; hand it back to the system so
    // the node's resident size is what its data needs.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe {
        libc::malloc_trim(0);
    }
    if let Some(s) = &report.salvaged {
        let d = &s.damage;
        let ranges: Vec<String> = d.lost.iter().map(|(a, b)| format!("{a}..{b}")).collect();
        warn!(
            "commit log {}: salvaged damage in the middle at byte {} ({}): the damaged file is kept as {}; kept {} records before the damage and {} valid records after it; lost {} bytes that hold no valid record (bytes {}), at least one record",
            log.path().display(),
            d.at,
            d.problem,
            s.moved_to.display(),
            s.records_before,
            d.records_after,
            d.lost_bytes(),
            ranges.join(", ")
        );
    } else if report.dropped_bytes > 0 {
        warn!(
            "commit log {}: {}; dropped {} bytes after the last good record (kept {} records, {} bytes) and truncated the file there",
            log.path().display(),
            report.problem.as_deref().unwrap_or("bad tail"),
            report.dropped_bytes,
            recovery.records,
            report.good_bytes
        );
    }
    info!(
        "node {} replayed {} records ({} bytes) from {} in {:.1} ms ({:.0} records/s)",
        args.id,
        recovery.records,
        log.bytes(),
        log.path().display(),
        took * 1000.0,
        recovery.records as f64 / took.max(1e-9)
    );
    info!(
        "recovered {} keys and {} hints",
        recovery.keys, recovery.hints
    );

    // One thread for the node: the driver and every connection are tasks
    // of it, so handing a message between them switches no thread.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NodeError::Runtime(format!("cannot start the runtime: {e}")))?;

    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&me.addr)
            .await
            .map_err(|e| NodeError::Runtime(format!("cannot listen on {}: {e}", me.addr)))?;
        let (inbox_tx, inbox_rx) = inbox::inbox(inbox::CLIENT_INBOX, inbox::PEER_INBOX);

        let mut peers = HashMap::new();
        for n in &file.nodes {
            if n.id == me.id {
                continue;
            }
            let (tx, rx) = transport::peer_queue();
            peers.insert(n.id, tx);
            tokio::spawn(transport::peer_sender(
                me.id,
                n.id,
                n.addr.clone(),
                file.secret.clone(),
                rx,
                inbox_tx.clone(),
            ));
        }
        let settings = DriverSettings {
            addr: me.addr.clone(),
            nodes: file
                .nodes
                .iter()
                .map(|n| NodeAddr {
                    node: n.id,
                    addr: n.addr.clone(),
                })
                .collect(),
            policy: file.policy(),
            compact_min_records: file.compact_min_records,
            reply_room: file.max_in_flight + 16,
        };
        let driver = Driver::new(node, log, settings, inbox_rx, peers);
        let driver_task = tokio::spawn(driver.run());

        let server = Arc::new(ServerSettings {
            me: me.id,
            members: file.nodes.iter().map(|n| n.id).collect(),
            secret: file.secret.clone(),
            allowed_origins: file.allowed_origins.clone(),
            max_connections: file.max_connections,
            max_in_flight: file.max_in_flight,
            max_frame_bytes: file.max_frame_bytes,
        });
        let listen = tokio::spawn(transport::serve(listener, server, inbox_tx.clone()));
        #[cfg(feature = "clock-hook")]
        tokio::spawn(async move {
            if let Err(e) = crate::node::clock_hook::listen(clock_step).await {
                error!("clock hook: cannot take its signals: {e}");
            }
        });
        info!(
            "node {} serving /client and /peer on {} (sync: {:?})",
            me.id, me.addr, file.sync
        );

        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| NodeError::Runtime(format!("cannot handle SIGTERM: {e}")))?;
        tokio::pin!(driver_task);
        let result = tokio::select! {
            _ = sigterm.recv() => { info!("SIGTERM: stopping"); None }
            _ = tokio::signal::ctrl_c() => { info!("Ctrl-C: stopping"); None }
            r = &mut driver_task => Some(r),
        };
        listen.abort();
        let result = match result {
            Some(r) => r,
            None => {
                // The driver finishes its batch, fsyncs and returns.
                let _ = inbox_tx.send(inbox::DriverInput::Shutdown).await;
                driver_task.await
            }
        };
        match result {
            Ok(Ok(node)) => {
                // The node's memory goes back with the process, in whole
                // pages: dropping a memtable of millions of keys would
                // free each value on its own, a long wait before the exit
                // for nothing, since a stopped node has nothing left to
                // write.
                std::mem::forget(node);
                Ok(())
            }
            Ok(Err(e)) => {
                error!("commit log write failed, stopping: {e}");
                Err(NodeError::Runtime(format!("commit log write failed: {e}")))
            }
            Err(_) => Err(NodeError::Runtime("the driver task died".into())),
        }
    })?;
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    if crate::node::timeline::enabled() {
        let path = args.data_dir.join(crate::node::timeline::FILE);
        if let Err(e) = crate::node::timeline::save(&path) {
            warn!("cannot write the timeline marks to {}: {e}", path.display());
        }
    }
    Ok(())
}
