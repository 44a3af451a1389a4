//! What a node writes to its log while it answers requests.

use super::*;

/// Log output gathered in memory, for a test's subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The node's log while one QUORUM put is answered, with `filter`
/// as `RUST_LOG`.
async fn log_of_one_put(filter: &str) -> String {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // While a single subscriber is registered, tracing decides whether a
    // log line is wanted from the subscriber of the thread that first
    // reaches it: another test's driver, on a thread with none, would
    // switch this one's lines off for the whole process. A second
    // subscriber, kept for the process, makes it ask every one.
    static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
    let _guard = tracing::subscriber::set_default(subscriber);
    let dir = tempfile::tempdir().unwrap();
    // A lone put is written inline: the fake fsync thread stays idle.
    let mut s = started(dir.path(), 1).await;
    // Key 0 lives on nodes 0, 1 and 2.
    s.inbox_tx.send(put(7, 0)).await.unwrap();
    let op = next_write(s.peers.get_mut(&1).unwrap()).await;
    s.inbox_tx.send(ack(op)).await.unwrap();
    let reply = answer(&mut s.client_rx).await;
    assert!(reply.starts_with(r#"{"id":7,"ok":true"#), "{reply}");
    s.inbox_tx.send(DriverInput::Shutdown).await.unwrap();
    s.driver.await.unwrap().unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    text
}

/// One line per answered request only when `ringside::request` is
/// logged at debug: at the default level (info) a node under load
/// writes none, but still its notable lines.
#[tokio::test]
async fn a_line_per_request_only_at_debug_of_its_target() {
    let info = log_of_one_put("info").await;
    assert!(info.contains("stopped; commit log synced"), "{info}");
    assert!(!info.contains("-> ok"), "{info}");

    let debug = log_of_one_put("info,ringside::request=debug").await;
    let line = debug
        .lines()
        .find(|l| l.contains("-> ok ts") && l.contains("req=7"))
        .unwrap_or_else(|| panic!("no request line in {debug}"));
    assert!(
        line.contains("ringside::request") && line.contains("req=7") && line.contains("put"),
        "{line}"
    );
}
