//! The page's command line: the console's syntax for data requests
//! (`put 137 value137 quorum`, parsed by core), plus the faults a teacher
//! wants at the keyboard (`crash 3`, `cut 1 3`, ...).

use ringside_core::protocol::{parse_console_line, ConsoleCommand};
use ringside_core::sim::Action;
use ringside_core::NodeId;

/// Shown by `help` and as the input's title.
pub const HELP: &str = "put KEY VALUE [LEVEL] · get KEY [LEVEL] · delete KEY [LEVEL] · prefix @N to choose the coordinator (@2 get 137 quorum) · crash N · restart N · stop N (live) · cut A B · heal A B · heal · partition 0 1 | 2 3 · skew N MS · latency MIN MAX (ms) · drop PERCENT · load RATE (random requests per simulated second; load 0 stops)";

/// What a line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    Act(Action),
    /// Start (or with 0, stop) a random workload of this many requests
    /// per simulated second.
    Load(f64),
    /// Stop a live node cleanly.
    Stop(NodeId),
    Help,
    Empty,
}

/// Parses one line; `coordinator` is used when the line does not name one.
pub fn parse(line: &str, coordinator: NodeId) -> Result<Line, String> {
    let line = line.trim();
    let (node, rest) = match line.strip_prefix('@') {
        Some(r) => {
            let (n, rest) = r.split_once(char::is_whitespace).unwrap_or((r, ""));
            let n = n
                .parse::<NodeId>()
                .map_err(|_| format!("@{n}: the coordinator is a node number, as in @2"))?;
            (n, rest.trim())
        }
        None => (coordinator, line),
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize, what: &str| -> Result<u64, String> {
        let w = words
            .get(i)
            .ok_or_else(|| format!("{}: missing {what}", words[0]))?;
        w.parse::<u64>()
            .map_err(|_| format!("{}: {what} must be a number, got {w:?}", words[0]))
    };
    let node_at = |i: usize| num(i, "node").map(|n| n as NodeId);
    let Some(first) = words.first() else {
        return Ok(Line::Empty);
    };
    let act = |a: Action| a.check().map(|()| Line::Act(a));
    match first.to_ascii_lowercase().as_str() {
        "crash" | "kill" => act(Action::Crash { node: node_at(1)? }),
        "restart" | "start" => act(Action::Restart { node: node_at(1)? }),
        "stop" => Ok(Line::Stop(node_at(1)?)),
        "cut" => act(Action::Cut {
            a: node_at(1)?,
            b: node_at(2)?,
        }),
        "heal" if words.len() == 1 => act(Action::HealAll),
        "heal" => act(Action::Heal {
            a: node_at(1)?,
            b: node_at(2)?,
        }),
        "partition" => {
            let spec = rest["partition".len()..].trim();
            let (a, b) = spec
                .split_once('|')
                .ok_or("partition: separate the two sides with |, as in: partition 0 1 | 2 3")?;
            let side = |s: &str| -> Result<Vec<NodeId>, String> {
                s.split([' ', ','])
                    .filter(|w| !w.is_empty())
                    .map(|w| {
                        w.parse::<NodeId>()
                            .map_err(|_| format!("partition: {w:?} is not a node number"))
                    })
                    .collect()
            };
            let (side_a, side_b) = (side(a)?, side(b)?);
            if side_a.is_empty() || side_b.is_empty() {
                return Err("partition: each side needs at least one node".into());
            }
            act(Action::Partition { side_a, side_b })
        }
        "skew" => {
            let n = node_at(1)?;
            let w = words.get(2).ok_or("skew: missing milliseconds")?;
            let ms: i64 = w
                .parse()
                .map_err(|_| format!("skew: milliseconds must be a number, got {w:?}"))?;
            act(Action::SetSkew {
                node: n,
                skew_us: ms.saturating_mul(1000),
            })
        }
        "latency" => {
            let min = num(1, "minimum (ms)")?;
            let max = words.get(2).map_or(Ok(min), |_| num(2, "maximum (ms)"))?;
            // Saturated, the backend's check refuses it by name.
            act(Action::SetLatency {
                min_us: min.saturating_mul(1000),
                max_us: max.saturating_mul(1000),
            })
        }
        "drop" => {
            let p = num(1, "percent")?;
            if p > 100 {
                return Err(format!("drop: 0 to 100 percent, got {p}"));
            }
            act(Action::SetDropProbability {
                p: p as f64 / 100.0,
            })
        }
        "load" => {
            let rate = num(1, "requests per simulated second")?;
            if rate > 5_000 {
                return Err(format!(
                    "load: at most 5000 requests per simulated second, got {rate}"
                ));
            }
            Ok(Line::Load(rate as f64))
        }
        _ => match parse_console_line(rest)? {
            ConsoleCommand::Data(request) => act(Action::Submit { node, request }),
            ConsoleCommand::Help => Ok(Line::Help),
            ConsoleCommand::Empty => Ok(Line::Empty),
            ConsoleCommand::Inspect => {
                Err("inspect: every node's state is on the page already".into())
            }
            ConsoleCommand::Exit => Err("exit: this is a web page; close the tab".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringside_core::sim::{get, put};
    use ringside_core::Consistency;

    #[test]
    fn console_syntax_goes_to_the_chosen_coordinator() {
        assert_eq!(
            parse("put 137 v quorum", 1),
            Ok(Line::Act(Action::Submit {
                node: 1,
                request: put(137, "v", Consistency::Quorum)
            }))
        );
        assert_eq!(
            parse("@2 get 137 one", 1),
            Ok(Line::Act(Action::Submit {
                node: 2,
                request: get(137, Consistency::One)
            }))
        );
    }

    #[test]
    fn faults_from_the_keyboard() {
        assert_eq!(
            parse("crash 3", 0),
            Ok(Line::Act(Action::Crash { node: 3 }))
        );
        assert_eq!(parse("heal", 0), Ok(Line::Act(Action::HealAll)));
        assert_eq!(
            parse("partition 0 1 | 2,3", 0),
            Ok(Line::Act(Action::Partition {
                side_a: vec![0, 1],
                side_b: vec![2, 3]
            }))
        );
        assert_eq!(
            parse("skew 1 -250", 0),
            Ok(Line::Act(Action::SetSkew {
                node: 1,
                skew_us: -250_000
            }))
        );
        assert_eq!(
            parse("drop 5", 0),
            Ok(Line::Act(Action::SetDropProbability { p: 0.05 }))
        );
        assert_eq!(parse("", 0), Ok(Line::Empty));
        assert_eq!(parse("help", 0), Ok(Line::Help));
        assert_eq!(parse("load 200", 0), Ok(Line::Load(200.0)));
    }

    #[test]
    fn mistakes_name_what_was_wrong() {
        assert!(parse("crash x", 0).unwrap_err().contains("node"));
        assert!(parse("put 999 v", 0).unwrap_err().contains("key"));
        assert!(parse("get 1 any", 0).unwrap_err().contains("ANY"));
        assert!(parse("partition 0 1", 0).unwrap_err().contains('|'));
        assert!(parse("@x get 1", 0).unwrap_err().contains("coordinator"));
        assert!(parse("drop 120", 0).unwrap_err().contains("100"));
        assert!(parse("latency 18446744073709552", 0)
            .unwrap_err()
            .contains("latency: at most 60000 ms"));
        assert!(parse("latency 5 60001", 0)
            .unwrap_err()
            .contains("got 60001 ms"));
        assert!(parse("skew 0 9223372036854775807", 0)
            .unwrap_err()
            .contains("skew: at most 86400000 ms"));
    }
}
