//! The simulated cluster: `core::sim` in the page. Same seed and same
//! script, same run, so the URL can carry both and reproduce what a
//! teacher showed.

use super::Backend;
use crate::state::{HintList, HintRow, LogRow, NodeSnapshot, Topology, Update, LOG_TAIL};
use ringside_core::sim::{Action, Sim, SimConfig, TraceWhat};
use ringside_core::{Key, Micros, NodeId, Partitioner, Version};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Trace entries handled in one call at most: a frame at high speed under
/// heavy load does not freeze the page; the rest waits for the next frame.
const MAX_STEPS_PER_CALL: usize = 20_000;

/// What a fresh simulated cluster is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub seed: u64,
    pub nodes: usize,
    pub rf: usize,
    /// `None`: byte-ordered tokens (key k on node k*n/256, the classic
    /// layout); `Some(v)`: Murmur3 with `v` virtual nodes per node.
    pub vnodes: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            seed: 7,
            nodes: 4,
            rf: 3,
            vnodes: None,
        }
    }
}

impl Settings {
    /// Checks the settings, naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=16).contains(&self.nodes) {
            return Err(format!("nodes: 1 to 16, got {}", self.nodes));
        }
        if self.rf == 0 || self.rf > self.nodes {
            return Err(format!(
                "rf: 1 to the number of nodes ({}), got {}",
                self.nodes, self.rf
            ));
        }
        if let Some(v) = self.vnodes {
            if !(1..=64).contains(&v) {
                return Err(format!("vnodes: 1 to 64, got {v}"));
            }
        }
        Ok(())
    }

    /// The simulation config: the simulator's classic timings, with a
    /// network slow enough (10–30 ms) that a message can be followed by eye
    /// at a low speed, and still well under the 300 ms request timeout.
    pub fn sim_config(&self) -> SimConfig {
        let mut c = SimConfig::with_nodes(self.seed, self.nodes);
        c.cluster.rf = self.rf;
        if let Some(v) = self.vnodes {
            c.cluster.partitioner = Partitioner::murmur3(v);
        }
        c.net.latency_min_us = 10_000;
        c.net.latency_max_us = 30_000;
        c.trace = true;
        c
    }

    /// `seed=7&nodes=4&rf=3` (plus `&vnodes=8` under Murmur3).
    pub fn to_query(&self) -> String {
        let mut s = format!("seed={}&nodes={}&rf={}", self.seed, self.nodes, self.rf);
        if let Some(v) = self.vnodes {
            s.push_str(&format!("&vnodes={v}"));
        }
        s
    }
}

/// The page's share link: settings and the script so far, as a URL
/// fragment (`#seed=7&nodes=4&rf=3&script=...`).
pub fn to_fragment(settings: &Settings, script: &[(Micros, Action)]) -> String {
    let mut s = settings.to_query();
    if !script.is_empty() {
        let json = serde_json::to_string(script).unwrap_or_default();
        s.push_str("&script=");
        s.push_str(&percent_encode(&json));
    }
    s
}

/// What a fragment (or query) asks for. Unknown parameters are left for
/// the page (`speed`, `scenario`, ...).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Fragment {
    pub settings: Settings,
    pub script: Vec<(Micros, Action)>,
    pub params: Vec<(String, String)>,
}

impl Fragment {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a fragment or query string (with or without its `#`/`?`).
pub fn parse_fragment(text: &str) -> Result<Fragment, String> {
    let text = text.trim_start_matches(['#', '?']);
    let mut f = Fragment::default();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v)?;
        let num = |what: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{what}: {v:?} is not a number"))
        };
        match k {
            "seed" => f.settings.seed = num("seed")?,
            "nodes" => f.settings.nodes = num("nodes")? as usize,
            "rf" => f.settings.rf = num("rf")? as usize,
            "vnodes" => f.settings.vnodes = Some(num("vnodes")? as u32),
            "script" => {
                f.script = serde_json::from_str(&v)
                    .map_err(|e| format!("script: not a list of [time, action] pairs: {e}"))?
            }
            _ => f.params.push((k.to_string(), v)),
        }
    }
    f.settings.validate()?;
    let mut last = 0;
    for (t, _) in &f.script {
        if *t < last {
            return Err("script: times must not go backwards".into());
        }
        last = *t;
    }
    Ok(f)
}

/// Percent-encodes a fragment parameter's value.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent escape at byte {i}"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "the link is not UTF-8".into())
}

/// `core::sim` as a [`Backend`].
pub struct SimBackend {
    sim: Sim,
    settings: Settings,
    script: Vec<(Micros, Action)>,
    /// What each node's last snapshot carried, so an unchanged data map
    /// or log tail is shared rather than copied and formatted again.
    sent: BTreeMap<NodeId, Sent>,
}

#[derive(Default)]
struct Sent {
    data: Rc<BTreeMap<Key, Version>>,
    log_tail: Vec<LogRow>,
}

impl SimBackend {
    /// A fresh cluster, and the updates that show it.
    pub fn new(settings: Settings) -> (SimBackend, Vec<Update>) {
        let sim = Sim::new(settings.sim_config());
        let mut b = SimBackend {
            sim,
            settings,
            script: Vec::new(),
            sent: BTreeMap::new(),
        };
        let mut out = vec![Update::Reset(b.topology())];
        out.extend(b.collect(true));
        (b, out)
    }

    /// A fresh cluster with `script` replayed on it, each action at its
    /// time: the same run as the one that wrote the script.
    pub fn replay(settings: Settings, script: Vec<(Micros, Action)>) -> (SimBackend, Vec<Update>) {
        let (mut b, mut out) = SimBackend::new(settings);
        for (t, action) in script {
            b.sim.run_until(t);
            out.extend(b.collect(false));
            out.extend(b.act(action).unwrap_or_default());
        }
        (b, out)
    }

    /// Everything that happened since the last call: events, then the
    /// nodes they touched as snapshots, then the clock and the wires.
    fn collect(&mut self, all_nodes: bool) -> Vec<Update> {
        let trace = self.sim.drain_trace();
        let mut touched: BTreeSet<NodeId> = BTreeSet::new();
        if all_nodes {
            touched.extend(self.sim.node_ids());
        }
        let mut out = Vec::with_capacity(trace.len() + 8);
        for e in trace {
            match &e.what {
                TraceWhat::Node { event } => {
                    touched.insert(event.node);
                }
                TraceWhat::Sim { .. } => {
                    touched.extend(self.sim.node_ids());
                }
            }
            out.push(Update::Trace(e));
        }
        for id in touched {
            out.push(Update::Snapshot(self.snapshot(id)));
        }
        out.push(self.frame());
        out
    }

    /// Refuses an action on a node the cluster does not have (and other
    /// nonsense), naming the problem.
    fn check(&self, action: &Action) -> Result<(), String> {
        let ids = self.sim.node_ids();
        let check = |n: &NodeId| {
            if ids.contains(n) {
                Ok(())
            } else {
                Err(format!(
                    "node {n} is not in this cluster (nodes 0 to {})",
                    ids.len() - 1
                ))
            }
        };
        match action {
            Action::Submit { node, .. }
            | Action::Crash { node }
            | Action::Restart { node }
            | Action::SetSkew { node, .. } => check(node)?,
            Action::Cut { a, b } | Action::Heal { a, b } => {
                check(a)?;
                check(b)?;
                if a == b {
                    return Err("a link joins two different nodes".into());
                }
            }
            Action::Partition { side_a, side_b } => {
                for n in side_a.iter().chain(side_b) {
                    check(n)?;
                }
            }
            Action::SetDropProbability { p } if !(0.0..=1.0).contains(p) => {
                return Err(format!("drop rate: 0 to 100%, got {}%", p * 100.0));
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks an action, records it in the script and applies it; what it
    /// caused is reported by the next [`SimBackend::collect`].
    fn take(&mut self, action: Action) -> Result<(), String> {
        self.check(&action)?;
        self.script.push((self.sim.now(), action.clone()));
        self.sim.apply(action);
        Ok(())
    }

    fn frame(&self) -> Update {
        Update::Frame {
            now_us: self.sim.now(),
            wires: self.sim.in_flight(),
        }
    }

    fn snapshot(&mut self, id: NodeId) -> NodeSnapshot {
        let sent = self.sent.entry(id).or_default();
        let disk = self.sim.disk(id);
        let tail = &disk[disk.len().saturating_sub(LOG_TAIL)..];
        let log_tail: Vec<LogRow> = tail
            .iter()
            .map(
                |r| match sent.log_tail.iter().find(|row| row.lsn == r.lsn) {
                    // Records keep their text; only the synced flag moves.
                    Some(row) => LogRow {
                        synced: r.synced,
                        ..row.clone()
                    },
                    None => LogRow {
                        lsn: r.lsn,
                        record: r.record.to_string(),
                        synced: r.synced,
                    },
                },
            )
            .collect();
        sent.log_tail.clone_from(&log_tail);
        let node = self.sim.node(id);
        let data = node.map(|n| {
            if *sent.data != *n.data() {
                sent.data = Rc::new(n.data().clone());
            }
            sent.data.clone()
        });
        NodeSnapshot {
            id,
            up: node.is_some(),
            data,
            hints: node.map(|n| {
                HintList::Named(
                    n.hints()
                        .map(|h| HintRow {
                            id: h.id,
                            target: h.target,
                            key: h.key.clone(),
                        })
                        .collect(),
                )
            }),
            peers: node.map(|n| n.peers().iter().map(|p| (p.node, p.up)).collect()),
            log_tail: Some(log_tail),
            log_len: Some(disk.len()),
            skew_us: self.sim.skew(id),
        }
    }
}

impl Backend for SimBackend {
    fn topology(&self) -> Topology {
        let c = &self.sim.config().cluster;
        let p = match self.settings.vnodes {
            Some(v) => format!(", Murmur3 with {v} vnodes"),
            None => String::new(),
        };
        Topology {
            nodes: c.nodes.clone(),
            rf: c.rf,
            partitioner: c.partitioner.clone(),
            source: format!("simulated, seed {}{p}", self.settings.seed),
            failure_timeout_ms: c.failure_timeout_ms,
            mode: crate::state::Mode::Simulated,
        }
    }

    fn advance(&mut self, by_us: Micros) -> Vec<Update> {
        let target = self.sim.now() + by_us;
        let mut steps = 0;
        while let Some(at) = self.sim.next_at() {
            if at > target || steps >= MAX_STEPS_PER_CALL {
                break;
            }
            self.sim.step();
            steps += 1;
        }
        if steps < MAX_STEPS_PER_CALL {
            self.sim.run_until(target);
        }
        self.collect(false)
    }

    fn step(&mut self) -> Vec<Update> {
        self.sim.step();
        self.collect(false)
    }

    fn act(&mut self, action: Action) -> Result<Vec<Update>, String> {
        self.take(action)?;
        Ok(self.collect(false))
    }

    fn act_all(&mut self, actions: Vec<Action>) -> (Vec<Update>, Vec<String>) {
        let errors = actions
            .into_iter()
            .filter_map(|a| self.take(a).err())
            .collect();
        (self.collect(false), errors)
    }

    fn script(&self) -> Option<&[(Micros, Action)]> {
        Some(&self.script)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringside_core::sim::put;
    use ringside_core::Consistency;

    #[test]
    fn fragments_round_trip_settings_and_script() {
        let s = Settings {
            seed: 42,
            nodes: 5,
            rf: 2,
            vnodes: Some(8),
        };
        let script = vec![
            (0, Action::Crash { node: 3 }),
            (
                1_500,
                Action::Submit {
                    node: 0,
                    request: put(137, "a b&c#", Consistency::Quorum),
                },
            ),
        ];
        let frag = to_fragment(&s, &script);
        assert!(!frag.contains('#') && !frag.contains(' '), "{frag}");
        let back = parse_fragment(&format!("#{frag}&speed=3")).unwrap();
        assert_eq!(back.settings, s);
        assert_eq!(back.script, script);
        assert_eq!(back.param("speed"), Some("3"));
    }

    #[test]
    fn bad_fragments_say_what_is_wrong() {
        assert!(parse_fragment("seed=x").unwrap_err().contains("seed"));
        assert!(parse_fragment("nodes=4&rf=9").unwrap_err().contains("rf"));
        assert!(parse_fragment("script=%5B").unwrap_err().contains("script"));
        assert_eq!(parse_fragment("").unwrap().settings, Settings::default());
    }

    #[test]
    fn a_replayed_script_gives_the_same_run() {
        let (mut a, _) = SimBackend::new(Settings::default());
        a.advance(50_000);
        a.act(Action::Crash { node: 3 }).unwrap();
        a.advance(1_000_000);
        a.act(Action::Submit {
            node: 0,
            request: put(137, "x", Consistency::Quorum),
        })
        .unwrap();
        a.advance(200_000);
        let script = a.script().unwrap().to_vec();
        let (mut b, _) = SimBackend::replay(Settings::default(), script);
        b.sim.run_until(a.sim.now());
        assert_eq!(a.sim.history(), b.sim.history());
        assert_eq!(a.sim.node(0).unwrap().hint_count(), 1);
        assert_eq!(b.sim.node(0).unwrap().hint_count(), 1);
    }

    #[test]
    fn actions_on_unknown_nodes_are_refused() {
        let (mut b, _) = SimBackend::new(Settings::default());
        assert!(b
            .act(Action::Crash { node: 9 })
            .unwrap_err()
            .contains("node 9"));
        assert!(b.act(Action::Cut { a: 1, b: 1 }).is_err());
        assert!(
            b.script().unwrap().is_empty(),
            "refused actions are not recorded"
        );
    }
}
