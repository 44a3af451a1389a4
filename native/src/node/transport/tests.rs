//! The transport's bounds: an outgoing peer connection whose far end
//! falls silent is given up, and a client that does not read is refused
//! past its byte bound.

use super::*;

/// A connected pair: our end, dialled as a peer sender dials, and the
/// far end's task, which either keeps reading (and so answers pings)
/// or goes silent after the handshake.
async fn dial_far_end(reads: bool) -> (Ws, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let far = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        if reads {
            while let Some(Ok(_)) = ws.next().await {}
        } else {
            std::future::pending::<()>().await;
        }
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/peer"), tcp)
        .await
        .unwrap();
    (ws, far)
}

/// A far end that stops reading never answers a ping: the sender
/// gives the connection up (and so dials again) instead of queueing
/// into it for good; a far end that reads is kept.
#[tokio::test]
async fn an_outgoing_peer_connection_that_falls_silent_is_given_up() {
    let limit = Duration::from_millis(200);
    let limits = Keepalive {
        ping_every: Duration::from_millis(20),
        silence: limit,
        write: limit,
    };
    let (tx, mut rx) = peer_queue();
    let (ws, far) = dial_far_end(false).await;
    let started = tokio::time::Instant::now();
    let lost = tokio::time::timeout(limit * 10, send_until_lost(ws, &mut rx, limits))
        .await
        .expect("a silent connection was never given up");
    assert!(
        matches!(&lost, Lost::Connection(why) if why.contains("no answer to pings")),
        "{lost:?}"
    );
    assert!(started.elapsed() >= limit);
    far.abort();

    let (ws, far) = dial_far_end(true).await;
    let kept = tokio::time::timeout(limit * 5, send_until_lost(ws, &mut rx, limits)).await;
    assert!(
        kept.is_err(),
        "a connection that answers was given up: {kept:?}"
    );
    drop(tx);
    far.abort();
}

/// A client that sends without reading its answers is refused more
/// once what it left unread passes the bound, and admitted again once
/// it reads.
#[test]
fn a_client_that_does_not_read_is_refused_past_its_byte_bound() {
    let (tx, mut rx) = queue::<String>(64);
    let answer = "v".repeat(1 << 20);
    while tx.queued_bytes() <= CLIENT_QUEUE_BYTES {
        assert!(admit(tx.queued_bytes(), 0, 1024).is_ok());
        tx.push(answer.clone(), usize::MAX).unwrap();
    }
    let why = admit(tx.queued_bytes(), 0, 1024).unwrap_err();
    assert!(why.contains("not read"), "{why}");
    rx.try_recv().unwrap();
    rx.try_recv().unwrap();
    assert!(admit(tx.queued_bytes(), 0, 1024).is_ok());
    assert!(admit(0, 1024, 1024).unwrap_err().contains("max_in_flight"));
}
