//! Connections that never finish their handshake, against real node
//! processes: raw TCP connections that open `/peer` and then send nothing
//! more, connections that send nothing at all, and ones that send garbage
//! after `GET /peer`, kept open (and reopened when the node closes them)
//! the whole time, must not keep a restarting peer from reconnecting.

mod common;

use common::*;
use serde_json::json;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One way of never finishing a handshake.
#[derive(Clone, Copy)]
enum Stall {
    /// The request line and a header of `/peer`, then nothing.
    PeerThenNothing,
    /// Nothing at all.
    Silent,
    /// `GET /peer ` and then bytes that are no HTTP.
    Garbage,
}

fn open(addr: &str, how: Stall, seed: &mut u64) -> Option<TcpStream> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_nonblocking(true).ok()?;
    match how {
        Stall::PeerThenNothing => {
            let _ = s.write_all(b"GET /peer HTTP/1.1\r\nHost: ringside\r\n");
        }
        Stall::Silent => {}
        Stall::Garbage => {
            let mut junk = b"GET /peer ".to_vec();
            junk.extend((0..300).map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                *seed as u8
            }));
            let _ = s.write_all(&junk);
        }
    }
    Some(s)
}

/// True while the node keeps `s` open.
fn is_open(s: &TcpStream) -> bool {
    let mut b = [0u8; 64];
    match s.peek(&mut b) {
        Ok(0) => false,
        Ok(_) => {
            // An answer (an HTTP error) means the node is done with it.
            false
        }
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    }
}

/// Keeps `n` stalled connections of each kind open to `addr` until
/// `stop`, reopening those the node closes; counts every one opened.
fn stall(
    addr: String,
    n: usize,
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let kinds = [Stall::PeerThenNothing, Stall::Silent, Stall::Garbage];
        let mut held: Vec<(Stall, Option<TcpStream>)> = kinds
            .iter()
            .flat_map(|&k| std::iter::repeat_n(k, n))
            .map(|k| (k, None))
            .collect();
        let mut seed = 0x9e3779b97f4a7c15u64;
        while !stop.load(Ordering::Relaxed) {
            for (how, s) in held.iter_mut() {
                if !s.as_ref().is_some_and(is_open) {
                    *s = open(&addr, *how, &mut seed);
                    opened.fetch_add(1, Ordering::Relaxed);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

/// The view of `peer` of the node `cl` is connected to.
fn state(cl: &mut Client, peer: usize) -> String {
    match cl.try_call(json!({"op": "inspect"})) {
        Ok(r) => peer_state(&r["node"], peer),
        Err(e) => panic!("inspect failed: {e}"),
    }
}

/// Shows that stalled and garbage `/peer` connections (and silent ones),
/// held open and renewed the whole time, do not keep node 0 from hearing
/// a restarted node 1 within a few seconds.
#[test]
fn stalled_handshakes_do_not_lock_out_a_restarting_peer() {
    const MAX: usize = 8;
    const EACH: usize = 30;
    let c = TestCluster::start_with(3, &format!("max_connections = {MAX}"), "");
    c.wait_sees_up(0, &[1, 2]);
    // Asks node 0 over a connection made before the attack: silent
    // connections may hold every client slot (until their handshake
    // times out), which is not what this test is about.
    let mut watcher = c.client(0);
    c.kill(1);
    wait_until("node 0 sees node 1 down", Duration::from_secs(10), || {
        state(&mut watcher, 1) == "down"
    });
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicUsize::new(0));
    let attacker = stall(c.addrs[0].clone(), EACH, stop.clone(), opened.clone());
    // Past the time a silent connection is taken for a client (2 s).
    std::thread::sleep(Duration::from_secs(3));
    let restarted = Instant::now();
    c.restart(1);
    let deadline = Duration::from_secs(8);
    while state(&mut watcher, 1) != "up" {
        if restarted.elapsed() > deadline {
            stop.store(true, Ordering::Relaxed);
            let _ = attacker.join();
            panic!(
                "node 0 did not hear the restarted node 1 within {deadline:?} while {} stalled connections were opened against it\n{}",
                opened.load(Ordering::Relaxed),
                c.log_text(0)
                    .lines()
                    .rev()
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = restarted.elapsed();
    let put = watcher.put(json!(5), "x", "ALL");
    stop.store(true, Ordering::Relaxed);
    attacker.join().unwrap();
    assert_eq!(outcome(&put), "ok", "an ALL write through node 0: {put}");
    println!(
        "node 0 heard the restarted node 1 {:.1} s after its restart began, with {} stalled connections opened against it",
        took.as_secs_f64(),
        opened.load(Ordering::Relaxed)
    );
}
