//! The peer message decoder must turn any bytes into a message or an error,
//! and a decoded message must encode back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringside_core::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        assert_eq!(m.encode(), data, "decode/encode is not the identity");
    }
});
