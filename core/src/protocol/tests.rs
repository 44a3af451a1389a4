//! The client protocol's frames: parsing, every refusal, and the JSON written.

use super::*;

#[test]
fn parses_the_protocol_examples() {
    let f = parse_request_frame(
        r#"{"id": 1, "op": "put", "key": 137, "value": "value137", "cl": "QUORUM"}"#,
    )
    .unwrap();
    assert_eq!(f.id, 1);
    assert_eq!(
        f.op,
        ClientOp::Data(Request::Put {
            key: Key::Int(137),
            value: "value137".into(),
            cl: Consistency::Quorum
        })
    );
    let f = parse_request_frame(r#"{"id": 2, "op": "get", "key": "137", "cl": "one"}"#).unwrap();
    assert_eq!(
        f.op,
        ClientOp::Data(Request::Get {
            key: Key::Str("137".into()),
            cl: Consistency::One
        })
    );
}

#[test]
fn bad_frames_name_the_problem() {
    let cases = [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        (r#"{"op":"get"}"#, "id"),
        (r#"{"id":1,"op":"frob"}"#, "unknown op"),
        (r#"{"id":1,"op":"get","key":256,"cl":"ONE"}"#, "key"),
        (r#"{"id":1,"op":"get","key":-1,"cl":"ONE"}"#, "key"),
        (r#"{"id":1,"op":"get","key":1,"cl":"SOME"}"#, "SOME"),
        (r#"{"id":1,"op":"get","key":1,"cl":"ANY"}"#, "ANY"),
        (r#"{"id":1,"op":"put","key":1,"cl":"ONE"}"#, "value"),
        (
            r#"{"id":1,"op":"put","key":1,"value":5,"cl":"ONE"}"#,
            "value",
        ),
        (r#"{"id":1,"op":"get","key":"","cl":"ONE"}"#, "key"),
        (
            r#"{"id":1,"op":"inspect","limit":0}"#,
            "limit: expected a positive",
        ),
        (r#"{"id":1,"op":"inspect","limit":-3}"#, "limit"),
        (
            r#"{"id":1,"op":"inspect","limit":"10"}"#,
            "limit: expected a positive integer, got a string",
        ),
        (
            r#"{"id":1,"op":"inspect","after":999}"#,
            "after: integer keys are 0..=255",
        ),
        (r#"{"id":1,"op":"inspect","after":[1]}"#, "after: expected"),
    ];
    for (frame, needle) in cases {
        let e = parse_request_frame(frame).unwrap_err();
        assert!(e.message.contains(needle), "{frame}: {}", e.message);
    }
    let big = format!(
        r#"{{"id":9,"op":"put","key":1,"value":"{}","cl":"ONE"}}"#,
        "x".repeat(MAX_VALUE_BYTES + 1)
    );
    let e = parse_request_frame(&big).unwrap_err();
    assert_eq!(e.id, Some(9));
    assert!(e.message.contains("value"));
}

#[test]
fn replies_match_the_protocol() {
    assert_eq!(
        reply_json(1, &Reply::Written { ts: 5 }),
        r#"{"id":1,"ok":true,"ts":5}"#
    );
    assert_eq!(
        reply_json(3, &Reply::Read { kv: None }),
        r#"{"id":3,"ok":true,"kv":null}"#
    );
    let r = reply_json(
        2,
        &Reply::Read {
            kv: Some(KeyVersion {
                key: Key::Int(137),
                value: Some("value137".into()),
                ts: 7,
            }),
        },
    );
    assert_eq!(
        r,
        r#"{"id":2,"ok":true,"kv":{"key":137,"value":"value137","ts":7}}"#
    );
    let back = parse_server_frame(&r).unwrap();
    assert!(matches!(
        back,
        ServerFrame::Reply {
            id: Some(2),
            reply: Reply::Read { kv: Some(_) }
        }
    ));
    let e = error_json(None, ErrorKind::BadRequest, "frame is not JSON");
    assert!(e.contains(r#""id":null"#));
    assert!(matches!(
        parse_server_frame(&e).unwrap(),
        ServerFrame::Reply {
            id: None,
            reply: Reply::Error {
                kind: ErrorKind::BadRequest,
                ..
            }
        }
    ));
}

#[test]
fn request_json_round_trips() {
    let r = Request::Put {
        key: Key::Str("a b".into()),
        value: "v".into(),
        cl: Consistency::All,
    };
    let f = parse_request_frame(&request_json(4, &r)).unwrap();
    assert_eq!(f.op, ClientOp::Data(r));
    assert_eq!(f.id, 4);
}

#[test]
fn console_lines() {
    assert_eq!(
        parse_console_line("put 137 value137 quorum").unwrap(),
        ConsoleCommand::Data(Request::Put {
            key: Key::Int(137),
            value: "value137".into(),
            cl: Consistency::Quorum
        })
    );
    assert_eq!(
        parse_console_line("get \"137\"").unwrap(),
        ConsoleCommand::Data(Request::Get {
            key: Key::Str("137".into()),
            cl: Consistency::One
        })
    );
    assert_eq!(
        parse_console_line(r#"put k "hello world" all"#).unwrap(),
        ConsoleCommand::Data(Request::Put {
            key: Key::Str("k".into()),
            value: "hello world".into(),
            cl: Consistency::All
        })
    );
    assert_eq!(parse_console_line("   ").unwrap(), ConsoleCommand::Empty);
    assert_eq!(parse_console_line("exit").unwrap(), ConsoleCommand::Exit);
    assert!(parse_console_line("get 300 one")
        .unwrap_err()
        .contains("0..=255"));
    assert!(
        parse_console_line("get 3 some")
            .unwrap_err()
            .contains("SOME")
            || parse_console_line("get 3 some")
                .unwrap_err()
                .contains("some")
    );
    assert!(parse_console_line("frob")
        .unwrap_err()
        .contains("unknown command"));
    assert!(parse_console_line("put 1").unwrap_err().contains("usage"));
    assert!(parse_console_line("put 1 \"x")
        .unwrap_err()
        .contains("quote"));
}

#[test]
fn inspect_takes_an_optional_page() {
    let f = parse_request_frame(r#"{"id": 4, "op": "inspect"}"#).unwrap();
    assert_eq!(f.op, ClientOp::Inspect(DataPage::default()));
    let f =
        parse_request_frame(r#"{"id": 4, "op": "inspect", "after": "bob", "limit": 2}"#).unwrap();
    assert_eq!(
        f.op,
        ClientOp::Inspect(DataPage {
            after: Some(Key::Str("bob".into())),
            limit: Some(2),
        })
    );
}

/// Walking the pages lists every key once, in order, and the last page
/// says there is no next one.
#[test]
fn pages_walk_every_key_once() {
    let v = Version {
        ts: 1,
        value: Some("v".into()),
    };
    // Enough keys that the table splits into buckets, which a page merges.
    let map: std::collections::BTreeMap<Key, Version> = (0..7u8)
        .map(Key::Int)
        .chain((0..3_000).map(|i| Key::Str(format!("k{i}").into())))
        .map(|k| (k, v.clone()))
        .collect();
    let data: Table = map.clone().into_iter().collect();
    let (all, next) = DataPage::default().select(&data);
    assert_eq!((all.len(), next), (map.len(), None));
    for limit in [1, 2, 3, 7, 8, 1000] {
        let mut seen = Vec::new();
        let mut page = DataPage {
            after: None,
            limit: Some(limit),
        };
        loop {
            let (keys, next) = page.select(&data);
            assert!(keys.len() <= limit);
            seen.extend(keys.into_iter().map(|(k, _)| k.clone()));
            match next {
                Some(k) => page.after = Some(k),
                None => break,
            }
        }
        let want: Vec<Key> = map.keys().cloned().collect();
        assert_eq!(seen, want, "limit {limit}");
    }
}

/// Large values end a page early, but a page always holds one key, so a
/// client walking the pages still gets through.
#[test]
fn a_page_stops_at_its_byte_bound() {
    let big = Version {
        ts: 1,
        value: Some("x".repeat(MAX_VALUE_BYTES).into()),
    };
    let data: Table = (0..10u8).map(|k| (Key::Int(k), big.clone())).collect();
    let page = DataPage {
        after: None,
        limit: Some(1000),
    };
    let (keys, next) = page.select(&data);
    assert_eq!(keys.len(), PAGE_BYTES / MAX_VALUE_BYTES);
    assert_eq!(next, Some(keys.last().unwrap().0.clone()));
    let one = DataPage {
        after: None,
        limit: Some(1),
    };
    let huge: Table = [(
        Key::Int(0),
        Version {
            ts: 1,
            value: Some("x".repeat(PAGE_BYTES * 2).into()),
        },
    )]
    .into_iter()
    .collect();
    assert_eq!(one.select(&huge).0.len(), 1);
}

/// A whole-data answer is allowed up to its byte bound, to the byte, and
/// refused past it; a page is allowed however large the data.
#[test]
fn a_whole_answer_is_allowed_up_to_its_byte_bound() {
    // 32 keys of one byte and values that fill the bound exactly.
    let keys = 32u8;
    let value_bytes = WHOLE_INSPECT_BYTES / usize::from(keys) - 1;
    let data = |extra: usize| -> Table {
        (0..keys)
            .map(|k| {
                let len = value_bytes + if k == 0 { extra } else { 0 };
                let value = Some("x".repeat(len).into());
                (Key::Int(k), Version { ts: 1, value })
            })
            .collect()
    };
    let whole = DataPage::default();
    assert_eq!(whole.allowed(&data(0)), Ok(()));
    let why = whole.allowed(&data(1)).unwrap_err();
    assert!(why.contains("a page at a time"), "{why}");
    assert_eq!(DataPage::first(10).allowed(&data(1)), Ok(()));
}

/// The request builders write frames the node's parser reads back as the
/// same op.
#[test]
fn request_builders_round_trip() {
    let page = DataPage {
        after: Some(Key::Str("bob".into())),
        limit: Some(3),
    };
    for p in [DataPage::default(), DataPage::first(10), page] {
        let f = parse_request_frame(&inspect_request_json(7, &p)).unwrap();
        assert_eq!((f.id, f.op), (7, ClientOp::Inspect(p)));
    }
    let f = parse_request_frame(&subscribe_request_json(8)).unwrap();
    assert_eq!((f.id, f.op), (8, ClientOp::Subscribe));
}

/// A reply written straight reads as the same JSON a `json!` map made,
/// byte for byte, for every kind of reply.
#[test]
fn replies_are_the_bytes_a_json_map_made() {
    let by_map = |id: u64, reply: &Reply| {
        match reply {
            Reply::Written { ts } => json!({"id": id, "ok": true, "ts": ts}),
            Reply::Read { kv } => json!({"id": id, "ok": true, "kv": kv}),
            Reply::Error { kind, message } => {
                json!({"id": id, "ok": false, "error": {"kind": kind.name(), "message": message}})
            }
        }
        .to_string()
    };
    let kv = |key: Key, value: Option<&str>| KeyVersion {
        key,
        value: value.map(Into::into),
        ts: u64::MAX,
    };
    let replies = [
        Reply::Written { ts: 0 },
        Reply::Written { ts: u64::MAX },
        Reply::Read { kv: None },
        Reply::Read {
            kv: Some(kv(Key::Int(0), None)),
        },
        Reply::Read {
            kv: Some(kv(Key::Str("k \"q\" \\ é\n".into()), Some("v \u{1} \"q\""))),
        },
        Reply::Error {
            kind: ErrorKind::Timeout,
            message: "only 1 of 2 \"replicas\" answered".into(),
        },
    ];
    for id in [0, 7, u64::MAX] {
        for reply in &replies {
            assert_eq!(reply_json(id, reply), by_map(id, reply));
        }
    }
}

mod data_frames {
    use super::*;
    use proptest::prelude::*;

    /// A JSON text for one field's value, from a mix of right and wrong.
    fn arb_json_value() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..300).prop_map(|n| n.to_string()),
            Just("-1".to_string()),
            Just("1.0".to_string()),
            Just("18446744073709551615".to_string()),
            Just("null".to_string()),
            Just("true".to_string()),
            Just("[1]".to_string()),
            Just("{}".to_string()),
            prop_oneof![
                Just("put"),
                Just("get"),
                Just("delete"),
                Just("inspect"),
                Just("p\\u0075t"),
                Just("ONE"),
                Just("QUORUM"),
                Just("ALL"),
                Just("ANY"),
                Just("quorum"),
                Just(""),
                Just("k\\\"ey\\n"),
                Just("é"),
            ]
            .prop_map(|s| format!("\"{s}\"")),
            "[a-z]{0,70}".prop_map(|s| format!("\"{s}\"")),
        ]
    }

    fn arb_frame() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            4 => Just("id"),
            4 => Just("op"),
            4 => Just("key"),
            3 => Just("value"),
            4 => Just("cl"),
            1 => Just("token"),
            1 => Just("limit"),
        ];
        proptest::collection::vec((name, arb_json_value()), 0..7).prop_map(|fields| {
            let body: Vec<String> = fields
                .iter()
                .map(|(n, v)| format!("\"{n}\": {v}"))
                .collect();
            format!("{{{}}}", body.join(", "))
        })
    }

    /// The common shapes, so that most cases take the direct path.
    fn arb_data_frame() -> impl Strategy<Value = String> {
        (
            0u64..5,
            prop_oneof![Just("put"), Just("get"), Just("delete")],
            prop_oneof![
                (0u64..300).prop_map(|k| k.to_string()),
                "[a-z]{0,20}".prop_map(|s| format!("\"{s}\""))
            ],
            proptest::option::of("[a-z ]{0,20}"),
            prop_oneof![Just("ONE"), Just("QUORUM"), Just("ALL"), Just("ANY")],
        )
            .prop_map(|(id, op, key, value, cl)| {
                let value = value.map_or(String::new(), |v| format!(", \"value\": \"{v}\""));
                format!(
                    "{{\"id\": {id}, \"op\": \"{op}\", \"key\": {key}{value}, \"cl\": \"{cl}\"}}"
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the direct path takes, it reads as the map of fields
        /// does; and what it leaves, the map reads (errors included).
        #[test]
        fn the_direct_path_reads_every_frame_as_the_map_does(text in prop_oneof![arb_frame(), arb_data_frame()]) {
            prop_assert_eq!(parse_request_frame(&text), parse_any_frame(&text));
            if let Some(direct) = data_frame(&text) {
                prop_assert_eq!(Ok(direct), parse_any_frame(&text));
            }
        }
    }

    #[test]
    fn the_common_frames_take_the_direct_path() {
        for text in [
            r#"{"id":1,"op":"put","key":137,"value":"v","cl":"QUORUM"}"#,
            r#"{"cl":"ONE","key":"user:1","op":"get","id":2}"#,
            r#"{"id":3,"op":"delete","key":0,"cl":"ANY"}"#,
        ] {
            assert!(data_frame(text).is_some(), "{text}");
        }
        for text in [
            r#"{"id":1,"op":"put","key":137,"value":null,"cl":"QUORUM"}"#,
            r#"{"id":2,"op":"get","key":1,"cl":"ONE","value":null}"#,
            r#"{"id":2,"op":"get","key":1,"cl":"ANY"}"#,
            r#"{"id":2,"op":"get","key":256,"cl":"ONE"}"#,
            r#"{"id":2,"op":"get","key":1,"cl":"ONE","token":"t"}"#,
            r#"{"id":2,"op":"get","key":1,"key":2,"cl":"ONE"}"#,
        ] {
            assert!(data_frame(text).is_none(), "{text}");
        }
    }
}

/// An error names what was wrong without sending back what a client
/// sent whole: a field of a megabyte comes back as its first characters
/// and its size, so a client that sends such frames and never reads
/// queues kilobytes of errors, not megabytes.
#[test]
fn an_error_quotes_a_long_field_only_in_part() {
    let long = "x".repeat(1 << 20);
    for frame in [
        format!(r#"{{"id":"{long}","op":"get","key":1}}"#),
        format!(r#"{{"id":1,"op":["{long}"],"key":1}}"#),
        format!(r#"{{"id":1,"op":"{long}","key":1}}"#),
        format!(r#"{{"id":1,"op":"get","key":1,"cl":"{long}"}}"#),
    ] {
        let Err(e) = parse_request_frame(&frame) else {
            panic!("taken: {}", &frame[..60]);
        };
        assert!(
            e.message.len() < 300,
            "{} bytes: {}",
            e.message.len(),
            &e.message[..200]
        );
        assert!(e.message.contains("xxxx"), "{}", e.message);
    }
}

/// A node holding hints of large values lists them in an inspect answer
/// only up to a bound, whatever page was asked for, and counts them all:
/// every inspect lists the hints, and a node may hold `max_hint_bytes`
/// (128 MiB by default) of them.
#[test]
fn an_inspect_lists_hints_up_to_a_bound_and_counts_them_all() {
    use crate::sim::{put, Action, Sim, SimConfig};
    let mut sim = Sim::new(SimConfig::classic(1));
    sim.run_for(1_000_000);
    // Node 3 down: node 0's writes of keys it replicates become hints.
    sim.apply(Action::Crash { node: 3 });
    let big = "x".repeat(1 << 20);
    let keys: Vec<u8> = (0..=255u8)
        .filter(|&k| sim.ring().is_replica(&Key::Int(k), 3))
        .take(12)
        .collect();
    for &k in &keys {
        sim.submit(0, put(k, &big, Consistency::One));
        sim.run_for(100_000);
    }
    let node = sim.node(0).expect("node 0 runs");
    assert_eq!(node.hint_count(), keys.len(), "every write left a hint");
    let i = InspectNode::of(node, &DataPage::first(1));
    assert_eq!(i.hints_total, keys.len());
    assert!(
        !i.hints.is_empty() && i.hints.len() < keys.len(),
        "{} hints listed",
        i.hints.len()
    );
    let json = inspect_json(1, &i);
    assert!(json.len() < PAGE_BYTES + (2 << 20), "{} bytes", json.len());
}
