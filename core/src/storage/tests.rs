//! The storage encodings: records and logs round trip, any bytes decode
//! to a valid prefix, a torn tail or a bad checksum stops the reading, and
//! a snapshot (whole, or taken in slices) rebuilds the same state.

use super::*;
use crate::types::Value;
use proptest::prelude::*;

fn arb_key() -> impl Strategy<Value = Key> {
    prop_oneof![
        any::<u8>().prop_map(Key::Int),
        "[a-zA-Z0-9 éß]{1,40}".prop_map(|s| Key::Str(s.into())),
    ]
}

fn arb_version() -> impl Strategy<Value = Version> {
    (any::<u64>(), proptest::option::of(".{0,60}")).prop_map(|(ts, value)| Version {
        ts,
        value: value.map(Value::from),
    })
}

fn arb_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (arb_key(), arb_version()).prop_map(|(key, version)| Record::Write { key, version }),
        (
            0..8u64,
            any::<u32>(),
            arb_key(),
            arb_version(),
            any::<u64>()
        )
            .prop_map(|(id, target, key, version, created_us)| Record::Hint {
                id,
                target,
                key,
                version,
                created_us
            }),
        (0..8u64).prop_map(|id| Record::HintDone { id }),
        any::<u64>().prop_map(|below| Record::Timestamps { below }),
    ]
}

proptest! {
    #[test]
    fn record_round_trips(r in arb_record()) {
        let mut buf = Vec::new();
        r.encode(&mut buf);
        prop_assert_eq!(Record::decode(&buf).unwrap(), r);
    }

    #[test]
    fn a_frame_appended_to_other_bytes_is_the_records_frame(
        r in arb_record(),
        before in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut out = before.clone();
        r.frame_into(&mut out);
        prop_assert_eq!(&out[..before.len()], &before[..]);
        prop_assert_eq!(&out[before.len()..], &r.frame()[..]);
        let mut body = Vec::new();
        r.encode(&mut body);
        if matches!(r, Record::Write { .. } | Record::Hint { .. }) {
            prop_assert_eq!(body.len(), r.encoded_len());
        }
    }

    #[test]
    fn log_round_trips(rs in proptest::collection::vec(arb_record(), 0..20)) {
        let bytes: Vec<u8> = rs.iter().flat_map(|r| r.frame()).collect();
        let (back, report) = read_log(&bytes);
        prop_assert_eq!(back, rs);
        prop_assert_eq!(report.dropped_bytes, 0);
        prop_assert!(report.problem.is_none());
    }

    #[test]
    fn any_bytes_yield_a_prefix(rs in proptest::collection::vec(arb_record(), 0..10),
                                cut in any::<prop::sample::Index>(),
                                garbage in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes: Vec<u8> = rs.iter().flat_map(|r| r.frame()).collect();
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep);
        bytes.extend_from_slice(&garbage);
        let (back, report) = read_log(&bytes);
        prop_assert!(back.len() <= rs.len() + 1);
        // Everything read is a prefix of what was written, except that
        // garbage may by chance form one valid frame only if it carries
        // a correct checksum, which random bytes do not in practice.
        let n = back.len().min(rs.len());
        prop_assert_eq!(&back[..n], &rs[..n]);
        prop_assert_eq!(report.good_bytes + report.dropped_bytes, bytes.len());
        if report.dropped_bytes > 0 { prop_assert!(report.problem.is_some()); }
    }

    #[test]
    fn the_hint_byte_count_follows_the_hints(rs in proptest::collection::vec(arb_record(), 0..40)) {
        let mut m = Memtable::default();
        for r in &rs {
            m.apply(r);
            let sum: u64 = m.hints.values().map(Hint::bytes).sum();
            prop_assert_eq!(m.hint_bytes, sum);
        }
        let (back, _) = Memtable::replay(&m.snapshot());
        prop_assert_eq!(back.hint_bytes, m.hint_bytes);
    }

    #[test]
    fn a_snapshot_taken_in_slices_while_records_arrive_rebuilds_the_state(
        before in proptest::collection::vec(arb_record(), 0..30),
        during in proptest::collection::vec((arb_record(), 0usize..4), 0..30),
    ) {
        let mut m = Memtable::default();
        for r in &before {
            m.apply(r);
        }
        let mut cursor = SnapshotCursor::default();
        let (mut snap, mut kept) = (Vec::new(), Vec::new());
        for (r, slice) in &during {
            m.snapshot_slice(&mut cursor, *slice, &mut snap);
            m.apply(r);
            kept.push(r.clone());
        }
        while !cursor.is_done() {
            m.snapshot_slice(&mut cursor, 2, &mut snap);
        }
        snap.extend(kept);
        let (back, _) = Memtable::replay(&snap);
        prop_assert_eq!(&back.data, &m.data);
        prop_assert_eq!(&back.hints, &m.hints);
        prop_assert_eq!(back.hint_bytes, m.hint_bytes);
        prop_assert_eq!(back.timestamps_below, m.timestamps_below);
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Record::decode(&bytes);
        let _ = read_log(&bytes);
    }
}

#[test]
fn torn_tail_is_reported() {
    let a = Record::Write {
        key: Key::Int(1),
        version: Version {
            ts: 5,
            value: Some("x".into()),
        },
    };
    let mut bytes = a.frame();
    bytes.extend_from_slice(&a.frame()[..7]);
    let (back, report) = read_log(&bytes);
    assert_eq!(back, vec![a]);
    assert_eq!(report.dropped_bytes, 7);
    assert!(report.problem.unwrap().contains("torn"));
}

#[test]
fn corrupt_checksum_stops_reading() {
    let a = Record::HintDone { id: 3 };
    let mut bytes = a.frame();
    let mut second = a.frame();
    let last = second.len() - 1;
    second[last] ^= 0xff;
    bytes.extend_from_slice(&second);
    bytes.extend_from_slice(&a.frame());
    let (back, report) = read_log(&bytes);
    assert_eq!(back.len(), 1);
    assert!(report.problem.unwrap().contains("checksum"));
}

#[test]
fn snapshot_rebuilds_the_same_state() {
    let mut m = Memtable::default();
    for i in 0..10u64 {
        m.apply(&Record::Write {
            key: Key::Int((i % 3) as u8),
            version: Version {
                ts: i,
                value: Some(format!("v{i}").into()),
            },
        });
    }
    m.apply(&Record::Hint {
        id: 1,
        target: 2,
        key: Key::Int(9),
        version: Version { ts: 1, value: None },
        created_us: 0,
    });
    m.apply(&Record::Hint {
        id: 2,
        target: 2,
        key: Key::Int(9),
        version: Version { ts: 1, value: None },
        created_us: 0,
    });
    m.apply(&Record::HintDone { id: 1 });
    m.apply(&Record::Timestamps { below: 500 });
    m.apply(&Record::Timestamps { below: 300 });
    let snap = m.snapshot();
    assert_eq!(snap.len(), 5);
    let (back, n) = Memtable::replay(&snap);
    assert_eq!(n, 5);
    assert_eq!(back.data, m.data);
    assert_eq!(back.hints, m.hints);
    assert_eq!(back.timestamps_below, 500);
}
