use super::*;
use crate::ports::free_port_range;

#[test]
fn peer_messages_come_back_as_they_were_sent() {
    for msg in [
        PeerMsg::request(7, "k1", Some("a value")),
        PeerMsg::request(8, "", None),
        PeerMsg::Answer { op: 9, value: None },
        PeerMsg::Answer {
            op: u64::MAX,
            value: Some(String::new()),
        },
    ] {
        assert_eq!(PeerMsg::decode(&msg.encode()), Ok(msg));
    }
}

#[test]
fn a_damaged_peer_message_is_an_error_that_says_what_is_wrong() {
    let whole = PeerMsg::request(7, "key", Some("value")).encode();
    // Every cut but the whole frame is refused, never a panic.
    for cut in 0..whole.len() {
        assert!(PeerMsg::decode(&whole[..cut]).is_err(), "cut at {cut}");
    }
    let mut tag = whole.clone();
    tag[0] = 42;
    assert_eq!(PeerMsg::decode(&tag), Err("unknown tag 42".into()));
    let mut long = whole.clone();
    long.push(0);
    assert_eq!(
        PeerMsg::decode(&long),
        Err("bytes after the last field".into())
    );
    let mut not_utf8 = PeerMsg::request(1, "ab", None).encode();
    *not_utf8.last_mut().unwrap() = 0xff;
    assert_eq!(
        PeerMsg::decode(&not_utf8),
        Err("the key is not UTF-8".into())
    );
}

#[test]
fn a_key_has_three_distinct_replicas_and_every_member_is_one_for_some_key() {
    let member = Member {
        me: 0,
        peers: (0..4).map(|_| Rc::new(Outbox::default())).collect(),
        values: HashMap::new(),
        next: 0,
        pending: HashMap::new(),
        durable: None,
    };
    let mut seen = [false; 4];
    for k in 0..64 {
        let r: Vec<usize> = member.replicas(&k.to_string()).collect();
        assert_eq!(r.len(), 3);
        assert!(r[0] != r[1] && r[1] != r[2] && r[0] != r[2], "{r:?}");
        r.iter().for_each(|&i| seen[i] = true);
    }
    assert_eq!(seen, [true; 4]);
}

#[test]
fn four_members_answer_puts_and_gets_at_quorum() {
    four_members(None);
}

#[test]
fn four_durable_members_answer_after_writing_their_logs() {
    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<PathBuf> = (0..4)
        .map(|i| dir.path().join(format!("ceiling-{i}.log")))
        .collect();
    four_members(Some(&logs));
    for log in &logs {
        assert_eq!(std::fs::metadata(log).unwrap().len(), LOG_BYTES);
    }
}

/// How many of `logs` hold `value` (as a write's field: its length, then
/// its bytes) in their first 64 KiB, where a test's few writes go.
fn logs_holding(logs: &[PathBuf], value: &str) -> usize {
    let mut field = (value.len() as u32).to_le_bytes().to_vec();
    field.extend_from_slice(value.as_bytes());
    logs.iter()
        .filter(|path| {
            let mut head = vec![0u8; 64 << 10];
            File::open(path)
                .unwrap()
                .read_exact_at(&mut head, 0)
                .unwrap();
            head.windows(field.len()).any(|w| w == field)
        })
        .count()
}

/// Four members and a client on one thread (with `logs`, durable): a put
/// is acknowledged, a get finds its value on any coordinator, a bad
/// request gets an error reply and the connection goes on.
fn four_members(logs: Option<&[PathBuf]>) {
    let base = free_port_range(4).unwrap();
    let addrs: Vec<String> = (0..4).map(|i| format!("127.0.0.1:{}", base + i)).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        for me in 0..4 {
            let log = logs.map(|l| l[me].clone());
            tokio::task::spawn_local(serve(me, addrs.clone(), 1 << 20, log));
        }
        let talk = async {
            let mut clients = vec![];
            for addr in &addrs {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                let ws = loop {
                    match tokio_tungstenite::connect_async(format!("ws://{addr}/")).await {
                        Ok((ws, _)) => break ws,
                        Err(e) if tokio::time::Instant::now() >= deadline => {
                            panic!("cannot reach {addr}: {e}")
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                };
                clients.push(ws);
            }
            for k in 0..20 {
                let put =
                    format!(r#"{{"id":{k},"op":"put","key":{k},"value":"v{k}","cl":"quorum"}}"#);
                let reply = ask(&mut clients[k % 4], put).await;
                assert_eq!(reply, serde_json::json!({"id": k, "ok": true}));
                if let Some(logs) = logs {
                    // Answered at a quorum of durable copies, no sooner.
                    let holding = logs_holding(logs, &format!("v{k}"));
                    assert!(holding >= 2, "v{k} is in {holding} logs when answered");
                }
            }
            for k in 0..20 {
                let get = format!(r#"{{"id":{},"op":"get","key":{k}}}"#, 100 + k);
                let reply = ask(&mut clients[(k + 1) % 4], get).await;
                assert_eq!(
                    reply,
                    serde_json::json!({"id": 100 + k, "ok": true, "value": format!("v{k}")})
                );
            }
            let missing = ask(
                &mut clients[0],
                r#"{"id":1,"op":"get","key":"nobody"}"#.into(),
            )
            .await;
            assert_eq!(missing["value"], serde_json::Value::Null);
            let bad = ask(&mut clients[1], r#"{"id":2,"op":"put","key":[1]}"#.into()).await;
            assert_eq!(bad["ok"], false);
            assert_eq!(bad["id"], 2);
            let garbled = ask(&mut clients[1], "{not json".into()).await;
            assert_eq!(garbled["ok"], false);
            let after = ask(
                &mut clients[1],
                r#"{"id":3,"op":"put","key":"x","value":"y"}"#.into(),
            )
            .await;
            assert_eq!(after["ok"], true);
        };
        tokio::time::timeout(Duration::from_secs(30), talk)
            .await
            .expect("the members answered within 30 s");
    });
}

/// Sends one request frame and reads the reply frame as JSON.
async fn ask<S>(ws: &mut S, text: String) -> serde_json::Value
where
    S: futures_util::Sink<WsMessage>
        + Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
    S::Error: std::fmt::Debug,
{
    ws.send(WsMessage::text(text)).await.unwrap();
    match ws.next().await.unwrap().unwrap() {
        WsMessage::Text(t) => serde_json::from_str(&t).unwrap(),
        other => panic!("not a text frame: {other:?}"),
    }
}
