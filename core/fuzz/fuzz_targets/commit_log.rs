//! The commit-log reader must return a prefix of valid records for any
//! bytes, account for every byte, and say why it stopped.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringside_core::storage::read_log;

fuzz_target!(|data: &[u8]| {
    let (records, report) = read_log(data);
    assert_eq!(report.good_bytes + report.dropped_bytes, data.len());
    assert_eq!(report.dropped_bytes > 0, report.problem.is_some());
    let again: Vec<u8> = records.iter().flat_map(|r| r.frame()).collect();
    assert_eq!(&again[..], &data[..report.good_bytes], "valid prefix re-encodes to itself");
    ringside_core::storage::Memtable::replay(&records);
});
