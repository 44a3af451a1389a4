//! The report's rows from the rounds: each target of the performance
//! issue as a ratio taken within each round, the median round's ratio
//! with every round's, the batch rows' spread, and what a put costs the
//! nodes: CPU, context switches and (batch sync) commit-log syncs.

use super::redis::RedisFigures;
use super::report::Report;
use super::ringside::{Measured, Syncs};
use super::rounds::{ManyRound, SingleRound};

/// What the system-call rows say where perf did not count.
pub const NOT_COUNTED: &str =
    "system calls per operation: not counted: perf (Debian's linux-perf) is not on PATH, or may not trace here (the run's output says why)";

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

/// Adds the rows and the notes behind them.
pub fn add(report: &mut Report, many: &[ManyRound], single: &[SingleRound], clients: u64) {
    let (batch_at, batch_ratios) = report.median_row(
        format!("QUORUM put, {clients} clients, batch sync ÷ redis appendfsync-always SET"),
        ">= 1.0",
        many,
        |r| {
            let (a, b) = (r.batch_put.op.ops_per_s, r.durable.set.rps);
            (ratio(a, b), format!("{a:.0} puts/s ÷ {b:.0} SET/s"))
        },
    );
    let (floor_at, floor_ratios) = report.median_row(
        "1-client QUORUM put p50, batch sync ÷ its floor".into(),
        "<= 1.1",
        single,
        |r| {
            let p50 = r.batch_put.op.p50_us / 1e3;
            let (sync, how) = r.floor.sync_ms();
            (
                ratio(p50, r.floor.total_ms()),
                format!(
                    "{p50:.3} ms ÷ {:.3} ms = {sync:.3} ms ({how}) + 2 × {:.3} ms (loopback round trips {})",
                    r.floor.total_ms(),
                    r.floor.rtt_ms,
                    r.floor.rtt_how()
                ),
            )
        },
    );
    report.median_row(
        "1-client QUORUM put p50, batch sync ÷ redis appendfsync-always SET p50".into(),
        "none, reported",
        single,
        |r| {
            let (a, b) = (r.batch_put.op.p50_us / 1e3, r.durable.set.p50_ms);
            (ratio(a, b), format!("{a:.3} ms ÷ {b:.3} ms"))
        },
    );
    let (periodic_at, _) = report.median_row(
        format!("QUORUM put, {clients} clients, periodic sync ÷ redis SET without persistence"),
        ">= 1.0",
        many,
        |r| {
            let (a, b) = (r.periodic_put.op.ops_per_s, r.plain.set.rps);
            (ratio(a, b), format!("{a:.0} puts/s ÷ {b:.0} SET/s"))
        },
    );
    let (get_at, _) = report.median_row(
        format!("QUORUM get, {clients} clients ÷ redis GET"),
        ">= 1.0",
        many,
        |r| {
            let a = r.get.op.ops_per_s;
            let b = r.plain.get.map_or(0.0, |g| g.rps);
            (ratio(a, b), format!("{a:.0} gets/s ÷ {b:.0} GET/s"))
        },
    );
    ceiling_rows(report, many, clients);
    report.spread_row(
        format!("spread of the {clients}-client batch row's rounds, largest |round ÷ median − 1|"),
        "<= 0.25",
        &batch_ratios,
    );
    report.spread_row(
        "spread of the 1-client batch row's rounds (÷ floor), the same".into(),
        "<= 0.25",
        &floor_ratios,
    );

    per_put_rows(
        report,
        "node CPU per put (µs)",
        clients,
        many,
        single,
        |r| {
            (
                r.cpu_us_per_op(),
                format!("{:.2} s of node CPU over {} puts", r.cpu_s, r.op.ok),
            )
        },
    );
    per_put_rows(
        report,
        "node context switches per put",
        clients,
        many,
        single,
        |r| {
            (
                r.switches_per_op(),
                format!(
                    "{} context switches of the nodes' threads over {} puts",
                    r.switches, r.op.ok
                ),
            )
        },
    );
    for (what, of) in [
        (
            "node CPU per get (µs)",
            (|r| &r.get) as fn(&ManyRound) -> &Measured,
        ),
        ("the ceiling's CPU per put (µs)", |r| &r.ceiling_put),
        ("the ceiling's CPU per synced put (µs)", |r| {
            &r.ceiling_batch_put
        }),
        ("the ceiling's CPU per get (µs)", |r| &r.ceiling_get),
    ] {
        report.median_row(
            format!("{what}, {clients} clients"),
            "none, reported",
            many,
            |r| {
                let m = of(r);
                (
                    m.cpu_us_per_op(),
                    format!("{:.2} s of CPU over {} operations", m.cpu_s, m.op.ok),
                )
            },
        );
    }
    let syncs = |m: &Measured, s: &Syncs| {
        (
            m.per_op(s.syncs as f64),
            format!(
                "{} syncs ({} on the nodes' own threads) for {} records, {:.1} records per sync",
                s.syncs,
                s.here,
                s.records,
                ratio(s.records as f64, s.syncs as f64)
            ),
        )
    };
    report.median_row(
        format!("commit-log syncs per put, {clients} clients, batch sync"),
        "none, reported",
        many,
        |r| syncs(&r.batch_put, &r.batch_syncs),
    );
    report.median_row(
        "commit-log syncs per put, 1 client, batch sync".into(),
        "none, reported",
        single,
        |r| syncs(&r.batch_put, &r.batch_syncs),
    );
    report.median_row(
        format!("redis appendfsync-always CPU per SET (µs), {clients} clients"),
        "none, reported",
        many,
        |r| {
            let d = &r.durable;
            (
                ratio(d.cpu_s * 1e6, d.sets as f64),
                format!("{:.2} s of redis-server CPU over {} SETs", d.cpu_s, d.sets),
            )
        },
    );
    report.median_row(
        format!("redis appendfsync-always context switches per SET, {clients} clients"),
        "none, reported",
        many,
        |r| {
            let d = &r.durable;
            (
                ratio(d.switches as f64, d.sets as f64),
                format!(
                    "{} context switches of redis-server's threads over {} SETs",
                    d.switches, d.sets
                ),
            )
        },
    );

    notes(
        report,
        [&many[batch_at], &many[periodic_at], &many[get_at]],
        &single[floor_at],
    );
    report.note(format!(
        "legs ran in this order: at {clients} clients, round 1: {}, rotated by one each round; at 1 client, round 1: {}, likewise",
        many.first().map_or("", |r| r.order.as_str()),
        single.first().map_or("", |r| r.order.as_str())
    ));
}

/// ringside against the ceiling, the bare message pattern of a QUORUM
/// put and get (`ringside ceiling`), and the ceiling against redis: how
/// much of each gap to redis the messages alone leave.
fn ceiling_rows(report: &mut Report, many: &[ManyRound], clients: u64) {
    // Per row: what it is, the units of its two figures, and the figures.
    type Pick = fn(&ManyRound) -> (f64, f64);
    let rows: [(String, &str, &str, Pick); 6] = [
        (
            format!("QUORUM put, {clients} clients, batch sync ÷ the ceiling's synced put"),
            "puts/s",
            "ceiling puts/s",
            |r| (r.batch_put.op.ops_per_s, r.ceiling_batch_put.op.ops_per_s),
        ),
        (
            format!("QUORUM put, {clients} clients, periodic sync ÷ the ceiling's put"),
            "puts/s",
            "ceiling puts/s",
            |r| (r.periodic_put.op.ops_per_s, r.ceiling_put.op.ops_per_s),
        ),
        (
            format!("QUORUM get, {clients} clients ÷ the ceiling's get"),
            "gets/s",
            "ceiling gets/s",
            |r| (r.get.op.ops_per_s, r.ceiling_get.op.ops_per_s),
        ),
        (
            format!("the ceiling's synced put, {clients} clients ÷ redis appendfsync-always SET"),
            "ceiling puts/s",
            "SET/s",
            |r| (r.ceiling_batch_put.op.ops_per_s, r.durable.set.rps),
        ),
        (
            format!("the ceiling's put, {clients} clients ÷ redis SET without persistence"),
            "ceiling puts/s",
            "SET/s",
            |r| (r.ceiling_put.op.ops_per_s, r.plain.set.rps),
        ),
        (
            format!("the ceiling's get, {clients} clients ÷ redis GET"),
            "ceiling gets/s",
            "GET/s",
            |r| {
                (
                    r.ceiling_get.op.ops_per_s,
                    r.plain.get.map_or(0.0, |g| g.rps),
                )
            },
        ),
    ];
    for (what, a_unit, b_unit, pick) in rows {
        report.median_row(what, "none, reported", many, |r| {
            let (a, b) = pick(r);
            (ratio(a, b), format!("{a:.0} {a_unit} ÷ {b:.0} {b_unit}"))
        });
    }
}

/// Three reported rows of one measure of the put phases (`of`: its
/// value and the raw figures behind it): at `clients` clients with batch
/// and with periodic sync, and at one client with batch sync.
fn per_put_rows(
    report: &mut Report,
    what: &str,
    clients: u64,
    many: &[ManyRound],
    single: &[SingleRound],
    of: impl Fn(&Measured) -> (f64, String),
) {
    report.median_row(
        format!("{what}, {clients} clients, batch sync"),
        "none, reported",
        many,
        |r| of(&r.batch_put),
    );
    report.median_row(
        format!("{what}, {clients} clients, periodic sync"),
        "none, reported",
        many,
        |r| of(&r.periodic_put),
    );
    report.median_row(
        format!("{what}, 1 client, batch sync"),
        "none, reported",
        single,
        |r| of(&r.batch_put),
    );
}

/// The figures behind the median rounds: of the batch row, the periodic
/// row and the get row at many clients, and of the floor row at one.
fn notes(report: &mut Report, [batch, periodic, get]: [&ManyRound; 3], one: &SingleRound) {
    let line = |name: &str, m: &Measured| {
        let o = &m.op;
        format!(
            "ringside {name}: {:.0}/s p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms",
            o.ops_per_s,
            o.p50_us / 1e3,
            o.p99_us / 1e3,
            o.p999_us / 1e3
        )
    };
    report.note(line("periodic put", &periodic.periodic_put));
    report.note(line("batch put", &batch.batch_put));
    report.note(line("get", &get.get));
    report.note(line("1-client batch put", &one.batch_put));
    let plain_get = get.plain.get.map_or(0.0, |g| g.p50_ms);
    report.note(format!(
        "redis without persistence: SET p50 {:.3} ms, GET p50 {plain_get:.3} ms; appendfsync always: SET p50 {:.3} ms, at 1 client {:.3} ms",
        periodic.plain.set.p50_ms, batch.durable.set.p50_ms, one.durable.set.p50_ms
    ));
    let f = &one.floor;
    let direct = match (f.direct_ms, f.alone_ms) {
        (Some(d), Some(a)) => format!(
            "direct O_DSYNC write of a 4 KiB block p50 {d:.3} ms beside another thread's, {a:.3} ms alone; "
        ),
        _ => "direct writes refused; ".into(),
    };
    report.note(format!(
        "floor (median round) on {} ({}): {direct}write + fdatasync p50 {:.3} ms over zeros written ahead, {:.3} ms appending; loopback TCP round trip p50 {:.3} ms {}, {:.3} ms between two threads the kernel placed",
        f.dir, f.fs, f.overwrite_ms, f.append_ms, f.rtt_ms, f.rtt_how(), f.rtt_free_ms
    ));
    if matches!(f.fs.as_str(), "tmpfs" | "ramfs") {
        report.note(format!(
            "warning: {} is {}: fsync costs nothing there, unlike on a real disk; run from a checkout on one",
            f.dir, f.fs
        ));
    }
}

/// The system-call rows, from the rounds that counted them (`many` at
/// many clients, `single` at one): counting slows what it counts, so
/// those rounds are not the ones the ratios come from.
pub fn add_syscalls(report: &mut Report, many: &ManyRound, single: &SingleRound, clients: u64) {
    // Per row: the calls and the operations they were made over, whose
    // calls, and what the operations were.
    let measured = |m: &Measured, whose, ops| (m.syscalls.map(|c| (c, m.op.ok)), whose, ops);
    let node = |m, ops| measured(m, "the nodes", ops);
    let member = |m, ops| measured(m, "the ceiling's members", ops);
    let redis = |f: &RedisFigures, ops| (f.syscalls.map(|c| (c, f.requests)), "redis-server", ops);
    let rows = [
        (
            format!("node system calls per put, {clients} clients, batch sync"),
            node(&many.batch_put, "puts"),
        ),
        (
            format!("node system calls per put, {clients} clients, periodic sync"),
            node(&many.periodic_put, "puts"),
        ),
        (
            "node system calls per put, 1 client, batch sync".into(),
            node(&single.batch_put, "puts"),
        ),
        (
            format!("node system calls per get, {clients} clients"),
            node(&many.get, "gets"),
        ),
        (
            format!("the ceiling's system calls per put, {clients} clients"),
            member(&many.ceiling_put, "puts"),
        ),
        (
            format!("the ceiling's system calls per synced put, {clients} clients"),
            member(&many.ceiling_batch_put, "puts"),
        ),
        (
            format!("the ceiling's system calls per get, {clients} clients"),
            member(&many.ceiling_get, "gets"),
        ),
        (
            format!("redis without persistence system calls per request, {clients} clients"),
            redis(&many.plain, "SETs and GETs"),
        ),
        (
            format!("redis appendfsync-always system calls per SET, {clients} clients"),
            redis(&many.durable, "SETs"),
        ),
    ];
    for (what, (counted, whose, ops)) in rows {
        match counted {
            Some((calls, n)) => report.row(
                what,
                ratio(calls as f64, n as f64),
                "none, reported",
                format!("{calls} system calls of {whose} over {n} {ops}, in a round of their own"),
            ),
            None => report.row(what, f64::NAN, "none, reported", NOT_COUNTED.into()),
        }
    }
}
