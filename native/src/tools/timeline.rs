//! `ringside bench --timeline`: where the time of one client's requests
//! goes, step by step, across the processes of the cluster. The marks
//! themselves are recorded by [`crate::node::timeline`]; this cuts them
//! into requests by the bench's own send and receive marks (one request
//! at a time, so everything between belongs to it) and gives each step's
//! quartiles.

use crate::node::timeline::Step;

/// One step of the breakdown: its label and its p25, p50 and p75 in µs.
pub struct Row {
    pub label: &'static str,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
}

impl Row {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "step": self.label,
            "p25_us": self.p25,
            "p50_us": self.p50,
            "p75_us": self.p75,
        })
    }
}

/// Where the time of the requests went.
pub struct Breakdown {
    /// Requests the bench sent and got answers to.
    pub requests: usize,
    /// Of those, the ones followed: puts whose coordinator is one of the
    /// key's replicas and writes its own record, with a replica's
    /// acknowledgement seen.
    pub followed: usize,
    pub rows: Vec<Row>,
    /// The whole time of the requests not followed (puts whose
    /// coordinator is not a replica, gets), if any.
    pub others: Option<Row>,
}

const LABELS: [&str; 11] = [
    "client sends -> coordinator has the request",
    "coordinator: request -> first message to a replica flushed",
    "that flush -> the first replica to acknowledge has the write",
    "replica: write in -> its commit-log write starts",
    "replica: its commit-log write",
    "replica: write done -> acknowledgement flushed",
    "acknowledgement flushed -> coordinator has it (after its own write)",
    "coordinator: its own commit-log write (beside the replica's)",
    "coordinator: own write done and ack in -> reply flushed",
    "reply flushed -> client has it",
    "the whole request, as the client saw it",
];

/// Follows each request of a one-request-at-a-time bench through the
/// nodes: `client` is the bench's marks, `nodes` each node's.
pub fn analyze(client: &[(u64, Step)], nodes: &[Vec<(u64, Step)>]) -> Breakdown {
    // Everything in one time line: (ns, step, who), who 0 the client.
    let mut all: Vec<(u64, Step, usize)> = client.iter().map(|&(t, s)| (t, s, 0)).collect();
    for (i, marks) in nodes.iter().enumerate() {
        all.extend(marks.iter().map(|&(t, s)| (t, s, i + 1)));
    }
    all.sort_by_key(|&(t, _, _)| t);
    let mut samples: Vec<Vec<f64>> = vec![vec![]; LABELS.len()];
    let mut requests = 0;
    let mut followed = 0;
    let mut others = vec![];
    let mut start = None;
    for (i, &(_, step, who)) in all.iter().enumerate() {
        if who != 0 {
            continue;
        }
        match step {
            Step::ClientSent => start = Some(i),
            Step::ClientGot => {
                if let Some(s) = start.take() {
                    requests += 1;
                    if let Some(d) = follow(&all[s..=i], nodes.len()) {
                        followed += 1;
                        for (v, x) in samples.iter_mut().zip(d) {
                            v.push(x);
                        }
                    } else {
                        others.push(all[i].0.saturating_sub(all[s].0) as f64 / 1000.0);
                    }
                }
            }
            _ => {}
        }
    }
    let rows = LABELS
        .iter()
        .zip(samples)
        .map(|(&label, v)| quartiles(label, v))
        .collect();
    Breakdown {
        requests,
        followed,
        rows,
        others: (!others.is_empty()).then(|| quartiles(OTHERS, others)),
    }
}

const OTHERS: &str = "the whole request, not followed (gets, coordinator not a replica)";

fn quartiles(label: &'static str, mut v: Vec<f64>) -> Row {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if v.is_empty() {
            0.0
        } else {
            v[((v.len() - 1) as f64 * p).round() as usize]
        }
    };
    Row {
        label,
        p25: q(0.25),
        p50: q(0.5),
        p75: q(0.75),
    }
}

/// The steps of one request (µs, in [`LABELS`] order), or none when it
/// cannot be followed (a get, a coordinator that is not a replica, a
/// missing mark).
fn follow(window: &[(u64, Step, usize)], nodes: usize) -> Option<[f64; 11]> {
    let (sent, _, _) = *window.first()?;
    let (got, _, _) = *window.last()?;
    let first = |who: usize, step: Step, after: u64| {
        window
            .iter()
            .find(|&&(t, s, w)| w == who && s == step && t >= after)
            .map(|&(t, _, _)| t)
    };
    let last = |who: usize, step: Step| {
        window
            .iter()
            .rev()
            .find(|&&(_, s, w)| w == who && s == step)
            .map(|&(t, _, _)| t)
    };
    let mut coordinators = (1..=nodes).filter(|&n| first(n, Step::RequestIn, 0).is_some());
    let c = coordinators.next()?;
    if coordinators.next().is_some() {
        return None;
    }
    let request_in = first(c, Step::RequestIn, 0)?;
    let out = first(c, Step::PeerOut, request_in)?;
    let own_start = first(c, Step::WriteStart, request_in)?;
    let own_end = last(c, Step::WriteEnd)?;
    // The replica whose acknowledgement left first.
    let (r_in, r_start, r_end, r_ack) = (1..=nodes)
        .filter(|&n| n != c)
        .filter_map(|n| {
            let r_in = first(n, Step::PeerIn, out)?;
            let r_start = first(n, Step::WriteStart, r_in)?;
            let r_end = first(n, Step::WriteEnd, r_start)?;
            let r_ack = first(n, Step::PeerOut, r_end)?;
            Some((r_in, r_start, r_end, r_ack))
        })
        .min_by_key(|r| r.3)?;
    let ack_in = first(c, Step::PeerIn, r_ack)?;
    let reply = first(c, Step::ReplyOut, ack_in.max(own_end))?;
    let us = |a: u64, b: u64| b.saturating_sub(a) as f64 / 1000.0;
    Some([
        us(sent, request_in),
        us(request_in, out),
        us(out, r_in),
        us(r_in, r_start),
        us(r_start, r_end),
        us(r_end, r_ack),
        us(r_ack, ack_in),
        us(own_start, own_end),
        us(ack_in.max(own_end), reply),
        us(reply, got),
        us(sent, got),
    ])
}

impl Breakdown {
    /// The table `ringside bench --timeline` prints.
    pub fn lines(&self) -> Vec<String> {
        if self.followed == 0 {
            return vec![format!(
                "timeline: none of the {} requests could be followed: it follows puts (--mix 100) whose coordinator is one of the key's replicas",
                self.requests
            )];
        }
        let mut lines = vec![format!(
            "timeline: {} of {} requests followed (puts coordinated by one of their replicas); microseconds, p25 / p50 / p75:",
            self.followed, self.requests
        )];
        for (i, r) in self.rows.iter().chain(&self.others).enumerate() {
            let n = if i + 1 < self.rows.len() {
                format!("{:>2}.", i + 1)
            } else {
                "   ".into()
            };
            lines.push(format!(
                "  {n} {:<68} {:>7.1} {:>7.1} {:>7.1}",
                r.label, r.p25, r.p50, r.p75
            ));
        }
        lines
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "requests": self.requests,
            "followed": self.followed,
            "steps": self.rows.iter().map(Row::to_json).collect::<Vec<_>>(),
            "not_followed": self.others.as_ref().map(Row::to_json),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One put through a coordinator (node 1) and two replicas, made up
    /// in microseconds, and a get, which is not followed.
    #[test]
    fn a_put_is_followed_step_by_step() {
        use Step::*;
        let us = |v: &[(u64, Step)]| v.iter().map(|&(t, s)| (t * 1000, s)).collect::<Vec<_>>();
        let client = us(&[
            (0, ClientSent),
            (400, ClientGot),
            (500, ClientSent),
            (600, ClientGot),
        ]);
        let coordinator = us(&[
            (20, RequestIn),
            (35, PeerOut),
            (50, PeerOut),
            (60, WriteStart),
            (260, WriteEnd),
            (330, PeerIn),
            (345, ReplyOut),
            (520, RequestIn),
            (590, ReplyOut),
        ]);
        let fast = us(&[
            (90, PeerIn),
            (100, WriteStart),
            (300, WriteEnd),
            (305, PeerOut),
        ]);
        let slow = us(&[
            (95, PeerIn),
            (110, WriteStart),
            (340, WriteEnd),
            (350, PeerOut),
            (530, PeerIn),
            (560, PeerOut),
        ]);
        let b = analyze(&client, &[coordinator.clone(), fast, slow]);
        assert_eq!((b.requests, b.followed), (2, 1));
        let p50: Vec<f64> = b.rows.iter().map(|r| r.p50).collect();
        assert_eq!(
            p50,
            [20.0, 15.0, 55.0, 10.0, 200.0, 5.0, 25.0, 200.0, 15.0, 55.0, 400.0]
        );
        // The get is not followed: only its whole time, on a line of
        // its own.
        let others = b.others.as_ref().expect("the get's whole time");
        assert_eq!((others.p25, others.p50, others.p75), (100.0, 100.0, 100.0));
        assert_eq!(b.lines().len(), 13);
        assert!(b.lines()[12].contains("not followed"), "{:?}", b.lines());

        // Only the get: nothing to show but why.
        let b = analyze(&client[2..], &[coordinator[7..].to_vec()]);
        assert_eq!((b.requests, b.followed), (1, 0));
        let lines = b.lines();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("none of the 1 requests"), "{lines:?}");
    }
}
