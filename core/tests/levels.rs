//! Each consistency level's Unavailable rule, checked against every number
//! of live replicas; recovery of a node from its log records; what the
//! event levels let through; and which timers still matter.

use ringside_core::check::Outcome;
use ringside_core::sim::{get, put, Action, Sim, SimConfig};
use ringside_core::storage::Record;
use ringside_core::{ClusterConfig, Config, Consistency, ErrorKind, Key, Node, Version};

fn outcome_of(sim: &mut Sim, request: ringside_core::Request) -> Outcome {
    // Node 1 coordinates: it is not a replica of key 137 ([2, 3, 0]).
    let c = sim.submit(1, request);
    sim.run_until_answered(5_000_000);
    sim.history()
        .ops
        .iter()
        .find(|o| o.client == c)
        .unwrap()
        .outcome
        .clone()
}

#[test]
fn every_level_is_unavailable_exactly_when_too_few_replicas_are_live() {
    let replicas = [2u32, 3, 0];
    for down in 0..=3usize {
        let live = 3 - down;
        for cl in Consistency::ALL_LEVELS {
            let mut sim = Sim::new(SimConfig::classic(11));
            for &n in &replicas[..down] {
                sim.apply(Action::Crash { node: n });
            }
            sim.run_for(1_000_000);
            let needed = cl.required(3);
            let w = outcome_of(&mut sim, put(137, "v", cl));
            if live >= needed {
                assert!(w.is_ok(), "put at {cl} with {live} live: {w:?}");
            } else {
                assert!(
                    matches!(
                        w,
                        Outcome::Error {
                            kind: ErrorKind::Unavailable,
                            ..
                        }
                    ),
                    "put at {cl} with {live} live: {w:?}"
                );
            }
            let r = outcome_of(&mut sim, get(137, cl));
            if cl == Consistency::Any {
                assert!(
                    matches!(
                        r,
                        Outcome::Error {
                            kind: ErrorKind::BadRequest,
                            ..
                        }
                    ),
                    "{r:?}"
                );
            } else if live >= needed {
                assert!(r.is_ok(), "get at {cl} with {live} live: {r:?}");
            } else {
                assert!(
                    matches!(
                        r,
                        Outcome::Error {
                            kind: ErrorKind::Unavailable,
                            ..
                        }
                    ),
                    "get at {cl} with {live} live: {r:?}"
                );
            }
        }
    }
}

#[test]
fn a_level_beyond_the_replication_factor_is_unavailable() {
    let mut c = SimConfig::classic(5);
    c.cluster.rf = 2;
    let mut sim = Sim::new(c);
    let o = outcome_of(&mut sim, put(137, "v", Consistency::Three));
    match o {
        Outcome::Error {
            kind: ErrorKind::Unavailable,
            message,
        } => {
            assert!(message.contains("replication factor"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn recovery_rebuilds_data_and_hints_from_records() {
    let v = |ts, s: &str| Version {
        ts,
        value: Some(s.to_string().into()),
    };
    let records = vec![
        Record::Write {
            key: Key::Int(1),
            version: v(5, "new"),
        },
        Record::Write {
            key: Key::Int(1),
            version: v(3, "old"),
        },
        Record::Write {
            key: Key::Int(2),
            version: Version { ts: 9, value: None },
        },
        Record::Hint {
            id: 7,
            target: 3,
            key: Key::Int(137),
            version: v(4, "h"),
            created_us: 4,
        },
        Record::Hint {
            id: 8,
            target: 3,
            key: Key::Int(138),
            version: v(4, "h2"),
            created_us: 4,
        },
        Record::HintDone { id: 7 },
    ];
    let (node, rec) = Node::recover(Config::new(0, ClusterConfig::classic(4)), &records);
    assert_eq!(rec.records, 6);
    assert_eq!(rec.keys, 2);
    assert_eq!(rec.hints, 1);
    assert_eq!(
        node.get_local(&Key::Int(1)).unwrap().value.as_deref(),
        Some("new")
    );
    assert!(node.get_local(&Key::Int(2)).unwrap().is_tombstone());
    let hints: Vec<u64> = node.hints().map(|h| h.id).collect();
    assert_eq!(hints, vec![8]);
}

/// Shows what each [`EventLevel`] lets through: everything, only the
/// notable events (start, peers), or nothing, and that the node does the
/// same either way.
#[test]
fn event_levels_filter_events_and_nothing_else() {
    use ringside_core::{ClientRef, EventLevel, Input, Output};
    let run = |level| {
        let mut node = Node::new(Config::new(2, ClusterConfig::classic(4)));
        node.set_events(level);
        let mut kinds = vec![];
        let mut rest = vec![];
        let inputs = [
            Input::Start,
            Input::Client {
                client: ClientRef { conn: 1, req: 1 },
                request: put(137, "v", Consistency::Quorum),
            },
            Input::PeerDisconnected(3),
        ];
        for (i, input) in inputs.into_iter().enumerate() {
            node.handle(1_000 * (i as u64 + 1), input);
            while let Some(out) = node.poll() {
                match out {
                    Output::Event(e) => kinds.push(
                        serde_json::to_value(&e.kind).unwrap()["kind"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                    ),
                    other => rest.push(format!("{other:?}")),
                }
            }
        }
        (kinds, rest)
    };
    let (all, rest_all) = run(EventLevel::All);
    let (notable, rest_notable) = run(EventLevel::Notable);
    let (off, rest_off) = run(EventLevel::Off);
    for k in [
        "started",
        "request_received",
        "message_sent",
        "record_persisted",
        "peer_down",
    ] {
        assert!(all.iter().any(|x| x == k), "no {k} in {all:?}");
    }
    assert_eq!(notable, ["started", "peer_down"], "{all:?}");
    assert!(off.is_empty(), "{off:?}");
    assert_eq!(rest_all, rest_notable);
    assert_eq!(rest_all, rest_off);
}

#[test]
fn a_finished_requests_timer_no_longer_matters_and_firing_it_changes_nothing() {
    use ringside_core::message::{Message, Msg, MsgId};
    use ringside_core::{ClientRef, Input, Output, TimerId};
    let drain = |node: &mut Node| {
        let mut outs = vec![];
        while let Some(out) = node.poll() {
            if !matches!(out, Output::Event(_)) {
                outs.push(out);
            }
        }
        outs
    };
    // Node 2 coordinating a put of key 137, whose replicas are 2, 3 and 0;
    // the put's outputs.
    let coordinating = || {
        let mut node = Node::new(Config::new(2, ClusterConfig::classic(4)));
        node.handle(1_000, Input::Start);
        drain(&mut node);
        node.handle(
            2_000,
            Input::Client {
                client: ClientRef { conn: 1, req: 1 },
                request: put(137, "v", Consistency::Quorum),
            },
        );
        let outs = drain(&mut node);
        (node, outs)
    };
    let (mut node, outs) = coordinating();
    let timer = outs
        .iter()
        .find_map(|o| match o {
            Output::Timer {
                id: id @ TimerId::Request { .. },
                ..
            } => Some(*id),
            _ => None,
        })
        .expect("no request timer");
    let TimerId::Request { op } = timer else {
        unreachable!()
    };
    let ack = |from, n| Input::Message {
        from,
        msg: Message {
            id: MsgId { from, gen: 1, n },
            body: Msg::WriteAck { op },
        },
    };
    assert!(node.timer_matters(timer));
    assert!(node.timer_matters(TimerId::Heartbeat));
    // One replica's ack makes the quorum (with the coordinator's own
    // write): the client is answered, but replica 0 is still awaited, and
    // its hint depends on the timer.
    node.handle(3_000, ack(3, 1));
    assert!(drain(&mut node)
        .iter()
        .any(|o| matches!(o, Output::Reply { .. })));
    assert!(node.timer_matters(timer), "replica 0 is still awaited");
    node.handle(4_000, ack(0, 1));
    drain(&mut node);
    assert!(!node.timer_matters(timer));
    assert_eq!(node.pending_requests(), 0);
    node.handle(2_002_000, Input::Timer(timer));
    let after = drain(&mut node);
    assert!(after.is_empty(), "{after:?}");
    assert_eq!(node.hint_count(), 0);

    // Without the last ack the timer matters, and firing it stores a hint.
    let (mut node, _) = coordinating();
    node.handle(3_000, ack(3, 1));
    drain(&mut node);
    assert!(node.timer_matters(timer));
    node.handle(2_002_000, Input::Timer(timer));
    drain(&mut node);
    assert_eq!(node.hint_count(), 1);
}

/// A coordinator tells the replicas its answer does not wait for that
/// their write is lazy: those beyond the level's count, after its own
/// write when it is a replica. Key 137's replicas are 2, 3 and 0.
#[test]
fn writes_beyond_the_levels_count_are_sent_lazy() {
    use ringside_core::message::Msg;
    use ringside_core::{ClientRef, Input, Output};
    // (coordinator, level) -> the remote replicas sent a write, in order,
    // each with whether it is lazy.
    let sent = |me: u32, cl: Consistency| {
        let mut node = Node::new(Config::new(me, ClusterConfig::classic(4)));
        node.handle(1_000, Input::Start);
        while node.poll().is_some() {}
        node.handle(
            2_000,
            Input::Client {
                client: ClientRef { conn: 1, req: 1 },
                request: put(137, "v", cl),
            },
        );
        let mut writes = vec![];
        while let Some(out) = node.poll() {
            if let Output::Send { to, msg } = out {
                if let Msg::Write { lazy, .. } = msg.body {
                    writes.push((to, lazy));
                }
            }
        }
        writes
    };
    // Node 2 is a replica: its own write counts.
    assert_eq!(
        sent(2, Consistency::Quorum),
        vec![(3, false), (0, true)],
        "QUORUM waits for node 2 and one more"
    );
    assert_eq!(sent(2, Consistency::One), vec![(3, true), (0, true)]);
    assert_eq!(sent(2, Consistency::Any), vec![(3, true), (0, true)]);
    assert_eq!(sent(2, Consistency::All), vec![(3, false), (0, false)]);
    // Node 1 is not: it waits for remote replicas only.
    assert_eq!(
        sent(1, Consistency::Quorum),
        vec![(2, false), (3, false), (0, true)]
    );
    assert_eq!(
        sent(1, Consistency::One),
        vec![(2, false), (3, true), (0, true)]
    );
    assert_eq!(
        sent(1, Consistency::Any),
        vec![(2, false), (3, true), (0, true)]
    );
    assert_eq!(
        sent(1, Consistency::All),
        vec![(2, false), (3, false), (0, false)]
    );
}
