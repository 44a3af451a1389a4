//! The bench's own parts: its reply scanning and its options.

use super::*;

#[test]
fn reply_ids_are_found_without_parsing() {
    assert_eq!(reply_id(r#"{"id":17,"ok":true,"ts":5}"#), Some((17, true)));
    assert_eq!(
        reply_id(r#"{"id":3,"ok":false,"error":{"kind":"Timeout","message":"\"ok\":true"}}"#),
        Some((3, false))
    );
    assert_eq!(reply_id(r#"{"event":{"seq":1}}"#), None);
    assert_eq!(reply_id(r#"{"id":null,"ok":false}"#), None);
    assert_eq!(
        error_text(r#"{"id":1,"ok":false,"error":{"kind":"Timeout","message":"slow"}}"#),
        "Timeout: slow"
    );
}

#[test]
fn percentiles() {
    let p = Phase {
        name: "put",
        ok: 1000,
        failed: 0,
        first_error: None,
        elapsed: Duration::from_secs(1),
        latencies_us: (1..=1000).collect(),
    };
    assert_eq!(p.percentile_us(0.5), 501);
    assert_eq!(p.percentile_us(0.99), 990);
    assert_eq!(p.percentile_us(0.999), 999);
    assert_eq!(p.ops_per_s(), 1000.0);
}

#[test]
fn a_cluster_of_too_many_nodes_is_refused_before_any_port_is_sought() {
    for nodes in [0, 65, 100_000, usize::MAX] {
        let e = run(BenchArgs {
            nodes,
            ..BenchArgs::default()
        })
        .unwrap_err();
        assert!(e.contains("--nodes: 1 to 64"), "{nodes}: {e}");
    }
}
