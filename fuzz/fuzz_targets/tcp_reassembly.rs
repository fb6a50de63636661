//! The link, IP and TCP layers with fragment and stream reassembly: the
//! input is a sequence of frames, each a link type byte, a two-byte length
//! and the frame's bytes.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use picket_decode::capture::Frame;
use picket_decode::{DecodeConfig, PacketDecoder};
use picket_event::Timestamp;

/// Link types the selector byte maps to.
const LINKTYPES: [i32; 8] = [1, 101, 113, 276, 0, 228, 229, 108];

fuzz_target!(|data: &[u8]| {
    let config = DecodeConfig {
        max_flow_reassembly_bytes: 4096,
        max_total_reassembly_bytes: 16384,
        max_flows: 8,
        max_fragment_bytes: 16384,
        max_fragment_datagrams: 8,
        ..DecodeConfig::default()
    };
    let mut decoder = PacketDecoder::new(config, Arc::from("fuzz"));
    let mut rest = data;
    let mut number = 0;
    while let [kind, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        number += 1;
        decoder.frame(Frame {
            linktype: LINKTYPES[usize::from(*kind) % LINKTYPES.len()],
            timestamp: Timestamp::from_nanos(i64::from(*kind) * 1_000_000_000 * number),
            number: number as u64,
            offset: 0,
            data: frame,
        });
        while decoder.pop().is_some() {}
        rest = next;
    }
    decoder.finish();
    while decoder.pop().is_some() {}
});
