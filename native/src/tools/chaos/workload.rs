//! The chaos clients: concurrent connections issuing a seeded random mix
//! of puts, gets and deletes at random consistency levels, each operation
//! recorded with its invocation and completion time into the [`History`]
//! the checker judges.

use crate::wsclient::{Answer, Conn};
use ringside_core::check::{History, HistoryOp, Outcome};
use ringside_core::protocol::ServerFrame;
use ringside_core::sim::workload::{random_request, value};
use ringside_core::sim::Rng;
use ringside_core::{ClientRef, ErrorKind, Key, Micros, NodeId};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the client workload does.
#[derive(Clone, Debug)]
pub struct WorkloadOptions {
    pub clients: usize,
    pub seed: u64,
    /// The keys drawn from.
    pub keys: Vec<Key>,
    /// How long a client waits for a reply before it records `NoReply`
    /// and drops the connection. Longer than the node's request timeout,
    /// so a live coordinator always answers first.
    pub reply_timeout: Duration,
    pub connect_timeout: Duration,
    /// Every this often the clients move to a fresh set of keys (each key
    /// shifted by one), so that a long run's history stays quick to check:
    /// the checker compares each read with every write of its key.
    pub rotate_keys: Option<Duration>,
}

impl WorkloadOptions {
    pub fn new(clients: usize, seed: u64, keys: Vec<Key>) -> WorkloadOptions {
        WorkloadOptions {
            clients,
            seed,
            keys,
            reply_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(1),
            rotate_keys: None,
        }
    }
}

/// `n` integer keys spread over the byte-ordered ring, so every node owns
/// some (keys `0..n` would all belong to node 0).
pub fn spread_keys(n: u8) -> Vec<Key> {
    let n = n.max(1) as u32;
    (0..n)
        .map(|i| Key::Int(((i * 256 / n + 5) % 256) as u8))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Microseconds since `epoch`: the history's clock, shared by every client.
fn since(epoch: Instant) -> Micros {
    epoch.elapsed().as_micros() as Micros
}

/// Clients running in the background; [`Clients::finish`] stops them and
/// returns the history.
pub struct Clients {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<History>>,
}

impl Clients {
    /// Stops the clients (each finishes its request in flight, bounded by
    /// the reply timeout) and returns every operation in invocation order.
    pub fn finish(mut self) -> History {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Starts `opts.clients` clients against `nodes` (id, address), each
/// sending one request at a time to a random coordinator: the simulator
/// sweep's mix of puts (values unique per put, now and then up to the
/// largest a value may be), gets and deletes at random levels, on random
/// keys.
pub fn run_clients(nodes: Vec<(NodeId, String)>, opts: WorkloadOptions, epoch: Instant) -> Clients {
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name("chaos-clients".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(_) => return History::default(),
            };
            let nodes = Arc::new(nodes);
            let mut ops: Vec<HistoryOp> = rt.block_on(async {
                let tasks: Vec<_> = (0..opts.clients)
                    .map(|i| {
                        tokio::spawn(client_loop(
                            i,
                            nodes.clone(),
                            opts.clone(),
                            stop2.clone(),
                            epoch,
                        ))
                    })
                    .collect();
                let mut all = vec![];
                for t in tasks {
                    if let Ok(ops) = t.await {
                        all.extend(ops);
                    }
                }
                all
            });
            ops.sort_by_key(|o| o.invoke_us);
            History { ops }
        })
        .expect("spawn the client thread");
    Clients {
        stop,
        thread: Some(thread),
    }
}

async fn client_loop(
    idx: usize,
    nodes: Arc<Vec<(NodeId, String)>>,
    opts: WorkloadOptions,
    stop: Arc<AtomicBool>,
    epoch: Instant,
) -> Vec<HistoryOp> {
    let mut rng = Rng::new(opts.seed ^ (0xc11e_0000 + idx as u64));
    let mut ops = vec![];
    let mut conn: Option<(NodeId, Conn)> = None;
    let mut seq = 0u64;
    while !stop.load(Ordering::SeqCst) {
        if conn.is_none() {
            let (id, addr) = &nodes[rng.range(0, nodes.len() as u64 - 1) as usize];
            match Conn::connect(addr, opts.connect_timeout).await {
                Ok(c) => conn = Some((*id, c)),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        let Some((node, c)) = conn.as_mut() else {
            continue;
        };
        let node = *node;
        seq += 1;
        let mut key = opts.keys[rng.range(0, opts.keys.len() as u64 - 1) as usize].clone();
        if let (Some(every), Key::Int(k)) = (opts.rotate_keys, &key) {
            let generation = epoch.elapsed().as_millis() / every.as_millis().max(1);
            key = Key::Int(((*k as u128 + generation) % 256) as u8);
        }
        let tag = format!("s{}c{idx}n{seq}", opts.seed);
        let request = random_request(&mut rng, key, |rng| value(rng, &tag));
        let invoke_us = since(epoch);
        let answer = c.request(&request, opts.reply_timeout).await;
        let done = since(epoch);
        let (outcome, complete_us) = match answer {
            Ok(Answer {
                frame: ServerFrame::Reply { reply, .. },
                ..
            }) => (Outcome::from(reply), Some(done)),
            Ok(a) => (
                Outcome::Error {
                    kind: ErrorKind::Internal,
                    message: format!("unexpected reply {}", a.raw),
                },
                Some(done),
            ),
            Err(reason) => {
                // The connection died or the node did not answer in time
                // (killed, stopped or paused): the request may or may not
                // have taken effect. Start afresh elsewhere.
                conn = None;
                (Outcome::NoReply { reason }, None)
            }
        };
        ops.push(HistoryOp {
            client: ClientRef {
                conn: idx as u64,
                req: seq,
            },
            node,
            request,
            invoke_us,
            complete_us,
            outcome,
        });
        // Move to another coordinator now and then.
        if rng.chance(0.03) {
            conn = None;
        }
    }
    ops
}
