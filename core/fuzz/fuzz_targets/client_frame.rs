//! The client frame decoder must answer any text with a frame or an error,
//! never a panic, and what it accepts must survive a round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringside_core::protocol::{parse_request_frame, request_json, ClientOp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = parse_request_frame(text) {
        if let ClientOp::Data(req) = &frame.op {
            let again = parse_request_frame(&request_json(frame.id, req)).expect("re-encoded frame parses");
            assert_eq!(&again.op, &frame.op);
        }
    }
    let _ = ringside_core::protocol::parse_server_frame(text);
    let _ = ringside_core::protocol::parse_console_line(text);
});
