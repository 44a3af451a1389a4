//! `inspect` on the node's thread: an answer of the whole data set is
//! bounded in bytes, a page is not refused.

use super::*;
use ringside_core::protocol::{DataPage, WHOLE_INSPECT_BYTES};
use ringside_core::types::MAX_VALUE_BYTES;
use ringside_core::{Value, Version};

/// A node whose keys and values pass the bound refuses an `inspect`
/// without `limit` as `Overloaded`, saying how to read it instead, and
/// answers the same request with a `limit`.
#[tokio::test]
async fn a_whole_inspect_past_its_byte_bound_is_refused_and_a_page_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = CommitLog::open(dir.path()).unwrap().log;
        let value = Value::from("v".repeat(MAX_VALUE_BYTES));
        for k in 0..=(WHOLE_INSPECT_BYTES / MAX_VALUE_BYTES) as u8 {
            log.append(&Record::Write {
                key: Key::Int(k),
                version: Version {
                    ts: 1,
                    value: Some(value.clone()),
                },
            });
        }
        log.sync().unwrap();
    }
    let (inbox_tx, inbox_rx) = inbox(64, 64);
    let (driver, _peers) = node0_recovered(dir.path(), inbox_rx);
    let driver = tokio::spawn(driver.run());
    let mut client_rx = open_client(&inbox_tx, 0).await;
    let inspect = |id, page| DriverInput::Inspect { conn: 1, id, page };
    inbox_tx
        .send(inspect(7, DataPage::default()))
        .await
        .unwrap();
    let refused = answer(&mut client_rx).await;
    assert!(
        refused.contains("\"id\":7")
            && refused.contains("Overloaded")
            && refused.contains("a page at a time"),
        "{refused}"
    );
    inbox_tx.send(inspect(8, DataPage::first(2))).await.unwrap();
    let page = answer(&mut client_rx).await;
    assert!(
        page.contains("\"id\":8") && page.contains("\"ok\":true") && page.contains("data_next"),
        "{}",
        &page[..page.len().min(300)]
    );
    inbox_tx.send(DriverInput::Shutdown).await.unwrap();
    driver.await.unwrap().unwrap();
}
