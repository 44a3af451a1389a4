//! What anti-entropy costs as the data grows: for each key count, two
//! in-memory replicas with 100-byte values that differ in a few keys, and
//! the time and bytes of one round between them. See `--help`.

use ringside_core::node::{anti_entropy_round_with, diverged_replicas, Merkle, RoundCost};
use ringside_core::{Input, Key, Micros, Node, Version};
use std::time::Duration;
use std::time::Instant;

const HELP: &str = "\
cargo run --release -p ringside-core --example anti_entropy_cost -- [options]

For each key count: builds two in-memory replicas (a 2-node cluster, RF 2,
100-byte values) that differ in --differ keys (half missing on one, half
older there), then prints:
  build     time to build one node's hash trees from its data at once, and
            per key (reading the table in hash order; a restart builds
            them as it replays, in the order the log was read)
  deepen    a live node's deepening of its trees two levels, a bucket of
            the table per write: how many steps, and the longest one
  write     the trees' cost per write (an update of one key's version),
            the fastest of five passes of 100,000
  round     one anti-entropy round that repairs the difference: its time,
            the longest single turn of either node in it (one input
            handled: what the round holds a node's thread for at a time),
            messages, bytes sent both ways and versions carried
  in step   a second round, with nothing left to repair
  tree      the trees' depth and size, and bytes per key they add

options:
  --keys N[,N...]   key counts (default 1000000,3000000,10000000)
  --differ D        keys that differ (default 100)
  --help            this text

Two replicas of 10M keys hold about 5 GB; check free memory first.";

fn main() {
    let (counts, differ) = match parse(std::env::args().skip(1).collect()) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{HELP}");
            return;
        }
        Err(e) => {
            eprintln!("anti_entropy_cost: {e}\n\n{HELP}");
            std::process::exit(2);
        }
    };
    println!("keys        build (per key)      deepen: steps  longest  write    round: time  longest turn  msgs   bytes     versions  in step: time  bytes  depth  tree MiB  B/key");
    for keys in counts {
        measure(keys, differ);
    }
}

fn measure(keys: usize, differ: usize) {
    let (mut a, mut b) = diverged_replicas(keys, differ / 2, differ - differ / 2, 100);
    let t = Instant::now();
    let built = Merkle::build(a.ring(), a.id(), a.data());
    let build = t.elapsed();
    let (steps, longest_step) = deepen(&built, &a);
    let write = per_write(built, &a);
    let (round, round_time, longest) = timed_round(&mut a, &mut b, 2_000_000);
    assert_eq!(
        a.data().len(),
        b.data().len(),
        "the round left keys missing"
    );
    let (again, again_time, _) = timed_round(&mut a, &mut b, 3_000_000);
    let tree = a.anti_entropy_tree();
    println!(
        "{keys:<10}  {:>7.0} ms ({:>4.0} ns)  {steps:>13}  {:>4.2} ms  {:>5.0} ns  {:>9.1} ms  {:>9.2} ms  {:>4}  {:>8}  {:>8}  {:>10.3} ms  {:>5}  {:>5}  {:>8.1}  {:>5.1}",
        build.as_secs_f64() * 1e3,
        build.as_secs_f64() * 1e9 / keys as f64,
        longest_step.as_secs_f64() * 1e3,
        write,
        round_time.as_secs_f64() * 1e3,
        longest.as_secs_f64() * 1e3,
        round.messages,
        round.bytes,
        round.versions,
        again_time.as_secs_f64() * 1e3,
        again.bytes,
        tree.depth(),
        tree.bytes() as f64 / (1 << 20) as f64,
        tree.bytes() as f64 / keys as f64,
    );
}

/// One round `a` starts with `b`: what it sent, its time, and the
/// longest time one node took over one input of it.
fn timed_round(a: &mut Node, b: &mut Node, now: Micros) -> (RoundCost, Duration, Duration) {
    let mut longest = Duration::ZERO;
    let t = Instant::now();
    let cost = anti_entropy_round_with(a, b, now, &mut |node, now, input: Input| {
        let t = Instant::now();
        node.handle(now, input);
        longest = longest.max(t.elapsed());
    });
    (cost, t.elapsed(), longest)
}

/// A live node's deepening: trees two levels shallower than `built`
/// (crowded, so they deepen), stepped as a node steps them, a call per
/// write, until deeper trees take over. How many steps, and the longest.
fn deepen(built: &Merkle, node: &Node) -> (usize, Duration) {
    let shallow = built.depth().saturating_sub(2);
    let mut tree = Merkle::build_at(node.ring(), node.id(), node.data(), shallow);
    let (mut steps, mut longest) = (0, Duration::ZERO);
    loop {
        steps += 1;
        let t = Instant::now();
        let done = tree.grow(node.ring(), node.data());
        longest = longest.max(t.elapsed());
        if done {
            assert!(&tree == built, "the deepened trees differ from a build");
            return (steps, longest);
        }
    }
}

/// Nanoseconds per tree update: 100,000 keys given a newer version, the
/// fastest of five passes (on a shared machine one pass can lose its
/// processor to another process for longer than the pass takes).
fn per_write(mut tree: Merkle, node: &ringside_core::Node) -> f64 {
    let n = 100_000.min(node.data().len());
    let writes: Vec<(&Key, Version, Version)> = node
        .data()
        .iter()
        .take(n)
        .map(|(k, v)| {
            let newer = Version {
                ts: v.ts + 1,
                value: v.value.clone(),
            };
            (k, v.clone(), newer)
        })
        .collect();
    let mut fastest = f64::INFINITY;
    for pass in 0..5 {
        let t = Instant::now();
        for (k, old, new) in &writes {
            // Odd passes undo the even ones, so each pass changes the
            // version a key holds in the tree.
            let (from, to) = if pass % 2 == 0 {
                (old, new)
            } else {
                (new, old)
            };
            tree.update(node.ring(), k, Some(from), to);
        }
        fastest = fastest.min(t.elapsed().as_secs_f64() * 1e9 / n.max(1) as f64);
    }
    fastest
}

fn parse(args: Vec<String>) -> Result<Option<(Vec<usize>, usize)>, String> {
    let mut counts = vec![1_000_000, 3_000_000, 10_000_000];
    let mut differ = 100;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--help" | "-h" => return Ok(None),
            "--keys" => {
                counts = value()?
                    .split(',')
                    .map(|s| match s.trim().parse::<usize>() {
                        Ok(n) if n >= 2 => Ok(n),
                        _ => Err(format!("--keys: {s:?} is not a key count of 2 or more")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--differ" => {
                let v = value()?;
                differ = v
                    .parse()
                    .map_err(|_| format!("--differ: {v:?} is not a number"))?;
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if let Some(&small) = counts.iter().find(|&&n| n < differ * 2) {
        return Err(format!(
            "--differ {differ} needs at least {} keys, --keys has {small}",
            differ * 2
        ));
    }
    Ok(Some((counts, differ)))
}
