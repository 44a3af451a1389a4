//! The alternated rounds: in each, ringside, its two redis peers and
//! (at many clients) the ceiling of the bare message pattern at the same
//! concurrency, one after the other, in an order that rotates
//! from round to round so that no side always runs first or last.

use super::floor::{latency_floor, Floor};
use super::redis::{RedisFigures, RedisServer};
use super::ringside::{BenchCluster, Measured, Syncs};
use crate::step;
use std::path::Path;

/// How long and how many: the lengths of the phases and the request
/// counts of redis-benchmark.
pub struct Settings {
    pub clients: u64,
    /// ringside phases at `clients` clients, seconds.
    pub seconds: u64,
    /// ringside phases at one client, seconds.
    pub seconds1: u64,
    /// redis-benchmark requests per test at `clients` clients, and at one.
    pub redis_n: u64,
    pub redis_n1: u64,
    /// Durable writes and round trips timed for each round's floor.
    pub floor_n: usize,
}

/// One round at `clients` clients.
pub struct ManyRound {
    /// QUORUM puts with periodic sync, then gets on the same cluster.
    pub periodic_put: Measured,
    pub get: Measured,
    /// QUORUM puts with batch sync (acknowledged after fsync), and the
    /// nodes' syncs over the leg.
    pub batch_put: Measured,
    pub batch_syncs: Syncs,
    /// SETs on redis with `appendfsync always`.
    pub durable: RedisFigures,
    /// SETs and GETs on redis without persistence.
    pub plain: RedisFigures,
    /// Puts, then gets, on `ringside ceiling`'s bare cluster: what the
    /// messages of a QUORUM put and get cost alone; and puts on one whose
    /// writes are synced before they are answered.
    pub ceiling_put: Measured,
    pub ceiling_get: Measured,
    pub ceiling_batch_put: Measured,
    /// The order the legs ran in.
    pub order: String,
}

/// One round at one client.
pub struct SingleRound {
    pub batch_put: Measured,
    pub batch_syncs: Syncs,
    pub durable: RedisFigures,
    pub floor: Floor,
    pub order: String,
}

/// A part of a round; each runs alone.
#[derive(Clone, Copy)]
enum Leg {
    Ringside(&'static str),
    Durable,
    Plain,
    Floor,
    Ceiling(&'static str),
}

impl Leg {
    fn name(self) -> String {
        match self {
            Leg::Ringside(sync) => format!("ringside {sync}"),
            Leg::Durable => "redis appendfsync always".into(),
            Leg::Plain => "redis without persistence".into(),
            Leg::Floor => "floor".into(),
            Leg::Ceiling(sync) => format!("ceiling {sync}"),
        }
    }
}

/// `legs` rotated by `round`: round 0 runs them as given, round 1 from
/// the second, and so on.
fn rotation(legs: &[Leg], round: u64) -> Vec<Leg> {
    let mut v = legs.to_vec();
    v.rotate_left(round as usize % legs.len());
    v
}

fn order_text(legs: &[Leg]) -> String {
    legs.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
}

/// The peers of the rounds.
pub struct Peers<'a> {
    pub bin: &'a Path,
    /// Where the clusters are made: the directory that also holds the
    /// durable redis's append-only file, so both write to one file system.
    pub work: &'a Path,
    pub durable: &'a RedisServer,
    pub plain: &'a RedisServer,
}

/// `rounds` rounds at `s.clients` clients; with `count`, each leg's
/// system calls counted too.
pub fn many(p: &Peers, s: &Settings, rounds: u64, count: bool) -> Result<Vec<ManyRound>, String> {
    let legs = [
        Leg::Ringside("periodic"),
        Leg::Ringside("batch"),
        Leg::Durable,
        Leg::Plain,
        Leg::Ceiling("periodic"),
        Leg::Ceiling("batch"),
    ];
    let (c, secs) = (s.clients.to_string(), s.seconds.to_string());
    let load = ["--clients", c.as_str(), "--seconds", secs.as_str()];
    let mut out = vec![];
    for r in 0..rounds {
        let order = rotation(&legs, r);
        step(&format!(
            "{}round {} of {rounds} at {} clients: {}",
            if count { "system calls counted, " } else { "" },
            r + 1,
            s.clients,
            order_text(&order)
        ));
        let (mut periodic, mut batch, mut durable, mut plain) = (None, None, None, None);
        let (mut ceiling, mut ceiling_batch) = (None, None);
        for leg in &order {
            match leg {
                Leg::Ringside(sync) => {
                    let cluster =
                        BenchCluster::up(p.bin, p.work.join(format!("cluster-{sync}")), sync)?;
                    let put = cluster.phase(100, &load, count)?;
                    if *sync == "periodic" {
                        let get = cluster.phase(0, &load, count)?;
                        periodic = Some((put, get));
                    } else {
                        batch = Some((put, cluster.down()?));
                    }
                }
                Leg::Durable => {
                    durable = Some(p.durable.bench(s.clients, s.redis_n, false, count)?)
                }
                Leg::Plain => plain = Some(p.plain.bench(s.clients, s.redis_n, true, count)?),
                Leg::Ceiling(sync) => {
                    let dir = p.work.join(format!("cluster-ceiling-{sync}"));
                    let cluster = BenchCluster::ceiling(p.bin, dir, sync)?;
                    let put = cluster.phase(100, &load, count)?;
                    if *sync == "periodic" {
                        ceiling = Some((put, cluster.phase(0, &load, count)?));
                    } else {
                        ceiling_batch = Some(put);
                    }
                }
                Leg::Floor => {}
            }
        }
        let missing = || "internal: a leg of the round did not run".to_string();
        let (periodic_put, get) = periodic.ok_or_else(missing)?;
        let (batch_put, batch_syncs) = batch.ok_or_else(missing)?;
        let (ceiling_put, ceiling_get) = ceiling.ok_or_else(missing)?;
        out.push(ManyRound {
            periodic_put,
            get,
            batch_put,
            batch_syncs,
            durable: durable.ok_or_else(missing)?,
            plain: plain.ok_or_else(missing)?,
            ceiling_put,
            ceiling_get,
            ceiling_batch_put: ceiling_batch.ok_or_else(missing)?,
            order: order_text(&order),
        });
    }
    Ok(out)
}

/// `rounds` rounds at one client: batch-sync puts, durable redis SETs,
/// and the floor; with `count`, the system calls of the first two.
pub fn single(
    p: &Peers,
    s: &Settings,
    rounds: u64,
    count: bool,
) -> Result<Vec<SingleRound>, String> {
    let legs = [Leg::Ringside("batch"), Leg::Durable, Leg::Floor];
    let secs = s.seconds1.to_string();
    let load = ["--clients", "1", "--seconds", secs.as_str()];
    let mut out = vec![];
    for r in 0..rounds {
        let order = rotation(&legs, r);
        step(&format!(
            "{}round {} of {rounds} at 1 client: {}",
            if count { "system calls counted, " } else { "" },
            r + 1,
            order_text(&order)
        ));
        let (mut batch, mut durable, mut floor) = (None, None, None);
        for leg in &order {
            match leg {
                Leg::Ringside(sync) => {
                    let cluster =
                        BenchCluster::up(p.bin, p.work.join(format!("cluster-{sync}")), sync)?;
                    let put = cluster.phase(100, &load, count)?;
                    batch = Some((put, cluster.down()?));
                }
                Leg::Durable => durable = Some(p.durable.bench(1, s.redis_n1, false, count)?),
                Leg::Floor => {
                    let f = latency_floor(p.work, s.floor_n)?;
                    println!(
                        "   floor {:.3} ms: {:.3} ms ({}) + 2 × {:.3} ms (loopback round trips {}; {:.3} ms placed by the kernel)",
                        f.total_ms(),
                        f.sync_ms().0,
                        f.sync_ms().1,
                        f.rtt_ms,
                        f.rtt_how(),
                        f.rtt_free_ms
                    );
                    floor = Some(f);
                }
                Leg::Plain | Leg::Ceiling(_) => {}
            }
        }
        let missing = || "internal: a leg of the round did not run".to_string();
        let (batch_put, batch_syncs) = batch.ok_or_else(missing)?;
        out.push(SingleRound {
            batch_put,
            batch_syncs,
            durable: durable.ok_or_else(missing)?,
            floor: floor.ok_or_else(missing)?,
            order: order_text(&order),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_leg_runs_first_in_turn() {
        let legs = [Leg::Ringside("batch"), Leg::Durable, Leg::Plain];
        let firsts: Vec<String> = (0..4).map(|r| rotation(&legs, r)[0].name()).collect();
        assert_eq!(
            firsts,
            [
                "ringside batch",
                "redis appendfsync always",
                "redis without persistence",
                "ringside batch"
            ]
        );
        assert_eq!(rotation(&legs, 1).len(), 3);
    }
}
