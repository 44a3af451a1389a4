//! Unit tests of every property on small hand-written histories.

use super::*;
use crate::types::Consistency;

fn op(req: Request, t0: u64, t1: u64, outcome: Outcome) -> HistoryOp {
    HistoryOp {
        client: ClientRef { conn: 0, req: t0 },
        node: 0,
        request: req,
        invoke_us: t0,
        complete_us: Some(t1),
        outcome,
    }
}

fn put(v: &str, cl: Consistency) -> Request {
    Request::Put {
        key: Key::Int(1),
        value: v.into(),
        cl,
    }
}

fn get(cl: Consistency) -> Request {
    Request::Get {
        key: Key::Int(1),
        cl,
    }
}

fn read(v: &str, ts: u64) -> Outcome {
    Outcome::Read {
        kv: Some(KeyVersion {
            key: Key::Int(1),
            value: Some(v.into()),
            ts,
        }),
    }
}

#[test]
fn a_fresh_history_passes() {
    let h = History {
        ops: vec![
            op(
                put("a", Consistency::Quorum),
                0,
                10,
                Outcome::Written { ts: 5 },
            ),
            op(get(Consistency::Quorum), 20, 30, read("a", 5)),
        ],
    };
    assert!(check(&h, None, 3).is_ok());
}

#[test]
fn stale_quorum_read_is_caught() {
    let h = History {
        ops: vec![
            op(
                put("a", Consistency::Quorum),
                0,
                10,
                Outcome::Written { ts: 5 },
            ),
            op(
                put("b", Consistency::Quorum),
                11,
                19,
                Outcome::Written { ts: 15 },
            ),
            op(get(Consistency::Quorum), 20, 30, read("a", 5)),
        ],
    };
    assert_eq!(check(&h, None, 3).unwrap_err().property, "quorum-freshness");
    // At ONE/ONE nothing is promised.
    let mut weak = h.clone();
    weak.ops[1].request = put("b", Consistency::One);
    weak.ops[2].request = get(Consistency::One);
    assert!(check(&weak, None, 3).is_ok());
    assert!(stale_read(&weak, 2).is_some());
}

#[test]
fn invented_value_is_caught() {
    let h = History {
        ops: vec![op(get(Consistency::One), 20, 30, read("zzz", 5))],
    };
    assert_eq!(
        check(&h, None, 3).unwrap_err().property,
        "no-invented-values"
    );
}

#[test]
fn lost_write_and_divergence_are_caught() {
    let h = History {
        ops: vec![op(
            put("a", Consistency::One),
            0,
            10,
            Outcome::Written { ts: 5 },
        )],
    };
    let mut fin = FinalState {
        rf: 3,
        replicas: BTreeMap::new(),
    };
    fin.replicas
        .insert(Key::Int(1), vec![(0, None), (1, None), (2, None)]);
    assert_eq!(check(&h, Some(&fin), 3).unwrap_err().property, "durability");
    let a = Some(Version {
        ts: 5,
        value: Some("a".into()),
    });
    fin.replicas
        .insert(Key::Int(1), vec![(0, a.clone()), (1, None), (2, a.clone())]);
    assert_eq!(
        check(&h, Some(&fin), 3).unwrap_err().property,
        "convergence"
    );
    fin.replicas
        .insert(Key::Int(1), vec![(0, a.clone()), (1, a.clone()), (2, a)]);
    assert!(check(&h, Some(&fin), 3).is_ok());
}

fn del(cl: Consistency) -> Request {
    Request::Delete {
        key: Key::Int(1),
        cl,
    }
}

fn written(ts: u64) -> Outcome {
    Outcome::Written { ts }
}

fn nothing() -> Outcome {
    Outcome::Read { kv: None }
}

fn refused(kind: ErrorKind) -> Outcome {
    Outcome::Error {
        kind,
        message: "refused".into(),
    }
}

fn at(mut o: HistoryOp, node: NodeId) -> HistoryOp {
    o.node = node;
    o
}

fn prop(h: &History) -> Option<&'static str> {
    check(h, None, 3).err().map(|v| v.property)
}

fn labels(h: &History) -> Vec<ReadLabel> {
    label_reads(h, CheckOptions::new(3))
        .into_iter()
        .map(|(_, l)| l)
        .collect()
}

#[test]
fn a_quorum_read_going_backwards_is_caught() {
    use Consistency::{One, Quorum};
    // "b" was written at ONE and seen by a QUORUM read; a later QUORUM
    // read must not return the older "a".
    let h = History {
        ops: vec![
            op(put("a", Quorum), 0, 10, written(5)),
            op(put("b", One), 11, 12, written(11)),
            op(get(Quorum), 20, 30, read("b", 11)),
            op(get(Quorum), 40, 50, read("a", 5)),
        ],
    };
    let v = check(&h, None, 3).unwrap_err();
    assert_eq!(v.property, "monotonic-quorum-reads");
    assert!(v.detail.contains("request 40") && v.detail.contains("request 20"));
    // Overlapping: the second read began before the first completed.
    let mut concurrent = h.clone();
    concurrent.ops[3].invoke_us = 25;
    assert_eq!(prop(&concurrent), None);
    // A ONE read after it is not bound (1 + 2 = 3 is not more than 3).
    let mut one = h.clone();
    one.ops[3].request = get(One);
    assert_eq!(prop(&one), None);
    // An ALL read binds even a ONE read.
    let mut all = one.clone();
    all.ops[2].request = get(Consistency::All);
    assert_eq!(prop(&all), Some("monotonic-quorum-reads"));
    // Nothing, where a delete explains it, is not older.
    let mut deleted = h.clone();
    deleted.ops[3].outcome = nothing();
    assert_eq!(prop(&deleted), Some("monotonic-quorum-reads"));
    deleted.ops.insert(
        3,
        op(del(One), 32, 33, Outcome::NoReply { reason: "x".into() }),
    );
    assert_eq!(prop(&deleted), None);
}

#[test]
fn a_refused_write_that_is_read_is_caught() {
    use Consistency::{One, Quorum};
    for kind in [
        ErrorKind::Unavailable,
        ErrorKind::BadRequest,
        ErrorKind::Overloaded,
    ] {
        let h = History {
            ops: vec![
                op(put("a", Quorum), 0, 10, refused(kind)),
                op(get(One), 20, 30, read("a", 5)),
            ],
        };
        let v = check(&h, None, 3).unwrap_err();
        assert_eq!(v.property, "refused-writes-invisible", "{kind:?}");
        assert!(v.detail.contains(kind.name()) && v.detail.contains("request 0"));
    }
    // A timeout may have been applied: reading it is fine.
    let h = History {
        ops: vec![
            op(put("a", Quorum), 0, 10, refused(ErrorKind::Timeout)),
            op(get(One), 20, 30, read("a", 5)),
        ],
    };
    assert_eq!(prop(&h), None);
    // So is a value some other put of it wrote too.
    let h = History {
        ops: vec![
            op(put("a", Quorum), 0, 10, refused(ErrorKind::Unavailable)),
            op(put("a", One), 11, 12, written(5)),
            op(get(One), 20, 30, read("a", 5)),
        ],
    };
    assert_eq!(prop(&h), None);
}

#[test]
fn a_deleted_value_coming_back_is_caught() {
    use Consistency::{One, Quorum};
    let h = History {
        ops: vec![
            op(put("a", Quorum), 0, 10, written(5)),
            op(del(Quorum), 11, 19, written(15)),
            op(get(Quorum), 20, 30, read("a", 5)),
        ],
    };
    let v = check(&h, None, 3).unwrap_err();
    assert_eq!(v.property, "no-resurrection");
    assert!(v.detail.contains("request 11") && v.detail.contains("tombstone@15"));
    // A ONE read after a ONE delete may still see it (stale, allowed).
    let mut weak = h.clone();
    weak.ops[1].request = del(One);
    weak.ops[2].request = get(One);
    assert_eq!(prop(&weak), None);
    // Written again: a newer put of the same value is no resurrection.
    let mut again = h.clone();
    again.ops.insert(2, op(put("a", One), 19, 19, written(17)));
    again.ops[3].outcome = read("a", 17);
    assert_eq!(prop(&again), None);
    // In the end: every replica holding the old value again.
    let fin = FinalState {
        rf: 3,
        replicas: BTreeMap::from([(
            Key::Int(1),
            vec![
                (
                    0,
                    Some(Version {
                        ts: 5,
                        value: Some("a".into()),
                    }),
                );
                3
            ],
        )]),
    };
    let settled = History {
        ops: h.ops[..2].to_vec(),
    };
    assert_eq!(
        check(&settled, Some(&fin), 3).unwrap_err().property,
        "no-resurrection"
    );
}

#[test]
fn timestamps_out_of_order_are_caught() {
    use Consistency::One;
    let mut h = History {
        ops: vec![
            at(op(put("a", One), 0, 10, written(8)), 1),
            at(op(put("b", One), 20, 30, written(7)), 1),
        ],
    };
    let v = check(&h, None, 3).unwrap_err();
    assert_eq!(v.property, "timestamp-order");
    assert!(v.detail.contains("same coordinator") && v.detail.contains("request 0"));
    // Through different coordinators with skewed clocks: allowed...
    h.ops[1].node = 2;
    assert_eq!(prop(&h), None);
    // ... unless the clocks agree.
    let agree = CheckOptions::new(3).with_clocks_agree(true);
    assert_eq!(
        check_with(&h, agree).unwrap_err().property,
        "timestamp-order"
    );
    // A coordinator ahead of its clock (many writes in one microsecond)
    // orders only its own writes: the other must only pass the time the
    // first completed.
    h.ops[0].outcome = written(25);
    h.ops[0].complete_us = Some(10);
    h.ops[1].outcome = written(21);
    assert!(check_with(&h, agree).is_ok());
    h.ops[1].outcome = written(10);
    assert!(check_with(&h, agree).is_err());
}

#[test]
fn reads_are_labelled_fresh_stale_or_violation() {
    use Consistency::{One, Quorum};
    let h = History {
        ops: vec![
            op(put("a", Quorum), 0, 10, written(5)),
            op(get(One), 11, 12, read("a", 5)),
            op(put("b", One), 13, 14, written(13)),
            op(get(One), 20, 30, read("a", 5)),
            op(get(Quorum), 31, 32, read("b", 13)),
            op(put("c", Quorum), 33, 34, written(33)),
            op(get(Quorum), 40, 50, read("b", 13)),
        ],
    };
    assert_eq!(
        labels(&h),
        vec![
            ReadLabel::Fresh,
            ReadLabel::Stale {
                reason: "ONE read after a ONE write: R + W = 1 + 1 = 2 ≤ N = 3".into()
            },
            ReadLabel::Fresh,
            ReadLabel::Violation {
                property: "quorum-freshness".into()
            },
        ]
    );
    assert_eq!(prop(&h), Some("quorum-freshness"));
    let any = History {
        ops: vec![
            op(put("a", Consistency::Any), 0, 10, written(5)),
            op(get(Quorum), 20, 30, nothing()),
        ],
    };
    assert_eq!(
        labels(&any),
        vec![ReadLabel::Stale {
            reason: "QUORUM read after an ANY write: R + W = 2 + 0 = 2 ≤ N = 3".into()
        }]
    );
}
