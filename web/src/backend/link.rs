//! A simulated run as a link: the cluster's settings and the script of
//! actions taken, in a URL fragment (`#seed=7&nodes=4&rf=3&script=...`).
//! Same seed and same script, same run (see [`super::simulated`]).
//!
//! Each script step is `[time, action, event]`: taken at that simulated
//! time, right after that many events, so that an action taken between
//! two events at the same microsecond (a step, then a crash) is replayed
//! between the same two. Links written before steps carried their event
//! are `[time, action]`: replayed by time, as they were then.

use ringside_core::rewind::Scripted;
use ringside_core::sim::{Action, SimConfig};
use ringside_core::{Micros, Partitioner};

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

/// One step of a link's script. See the module docs.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkStep {
    Exact(Micros, Action, u64),
    /// Older links: replayed by time.
    Timed(Micros, Action),
}

impl LinkStep {
    pub fn at_us(&self) -> Micros {
        match self {
            LinkStep::Exact(t, ..) | LinkStep::Timed(t, _) => *t,
        }
    }
    pub fn action(&self) -> &Action {
        match self {
            LinkStep::Exact(_, a, _) | LinkStep::Timed(_, a) => a,
        }
    }

    /// `[time, action, event]` or, from an older link, `[time, action]`.
    fn parse(v: serde_json::Value) -> Result<LinkStep, String> {
        let serde_json::Value::Array(mut parts) = v else {
            return Err("not a [time, action, event] list".into());
        };
        let number = |v: &serde_json::Value, what: &str| {
            v.as_u64()
                .ok_or_else(|| format!("the {what} is not a whole number"))
        };
        match parts.len() {
            2 | 3 => {
                let t = number(&parts[0], "time")?;
                let k = parts.get(2).map(|k| number(k, "event")).transpose()?;
                let action = serde_json::from_value(parts.swap_remove(1))
                    .map_err(|e| format!("not an action: {e}"))?;
                Ok(match k {
                    Some(k) => LinkStep::Exact(t, action, k),
                    None => LinkStep::Timed(t, action),
                })
            }
            n => Err(format!("{n} items, not [time, action, event]")),
        }
    }
}

impl From<&Scripted> for LinkStep {
    fn from(s: &Scripted) -> LinkStep {
        LinkStep::Exact(s.at_us, s.action.clone(), s.after_event)
    }
}

/// The page's share link: settings and the script so far, as a URL
/// fragment (`#seed=7&nodes=4&rf=3&script=...`).
pub fn to_fragment(settings: &Settings, script: &[Scripted]) -> String {
    let mut s = settings.to_query();
    if !script.is_empty() {
        let steps: Vec<(Micros, &Action, u64)> = script
            .iter()
            .map(|s| (s.at_us, &s.action, s.after_event))
            .collect();
        let json = serde_json::to_string(&steps).unwrap_or_default();
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
    pub script: Vec<LinkStep>,
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
                let steps: Vec<serde_json::Value> = serde_json::from_str(&v).map_err(|e| {
                    format!("script: not a list of [time, action, event] steps: {e}")
                })?;
                f.script = steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        LinkStep::parse(s).map_err(|e| format!("script: step {}: {e}", i + 1))
                    })
                    .collect::<Result<_, _>>()?;
            }
            _ => f.params.push((k.to_string(), v)),
        }
    }
    f.settings.validate()?;
    let (mut last_t, mut last_k) = (0, 0);
    for (i, step) in f.script.iter().enumerate() {
        if step.at_us() < last_t {
            return Err(format!("script: step {}: time goes backwards", i + 1));
        }
        last_t = step.at_us();
        if let LinkStep::Exact(_, _, k) = step {
            if *k < last_k {
                return Err(format!("script: step {}: event goes backwards", i + 1));
            }
            last_k = *k;
        }
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
            Scripted {
                after_event: 0,
                at_us: 0,
                action: Action::Crash { node: 3 },
            },
            Scripted {
                after_event: 17,
                at_us: 1_500,
                action: Action::Submit {
                    node: 0,
                    request: put(137, "a b&c#", Consistency::Quorum),
                },
            },
        ];
        let frag = to_fragment(&s, &script);
        assert!(!frag.contains('#') && !frag.contains(' '), "{frag}");
        let back = parse_fragment(&format!("#{frag}&speed=3")).unwrap();
        assert_eq!(back.settings, s);
        let steps: Vec<LinkStep> = script.iter().map(LinkStep::from).collect();
        assert_eq!(back.script, steps);
        assert_eq!(back.param("speed"), Some("3"));
    }

    #[test]
    fn older_links_without_events_still_open() {
        let json = serde_json::to_string(&Action::Crash { node: 3 }).unwrap();
        let f = parse_fragment(&format!("script=[[600000,{json}]]")).unwrap();
        assert_eq!(
            f.script,
            vec![LinkStep::Timed(600_000, Action::Crash { node: 3 })]
        );
    }

    #[test]
    fn bad_fragments_say_what_is_wrong() {
        assert!(parse_fragment("seed=x").unwrap_err().contains("seed"));
        assert!(parse_fragment("nodes=4&rf=9").unwrap_err().contains("rf"));
        assert!(parse_fragment("script=%5B").unwrap_err().contains("script"));
        let json = serde_json::to_string(&Action::HealAll).unwrap();
        let back = format!("script=[[5,{json},9],[6,{json},2]]");
        assert!(parse_fragment(&back).unwrap_err().contains("step 2"));
        let e = parse_fragment("script=[[1,{\"action\":\"nap\"}]]").unwrap_err();
        assert!(e.contains("step 1: not an action"), "{e}");
        let e = parse_fragment("script=[[1]]").unwrap_err();
        assert!(e.contains("step 1: 1 items"), "{e}");
        assert_eq!(parse_fragment("").unwrap().settings, Settings::default());
    }
}
