//! Fuzzes the zeek log reader(s): arbitrary bytes, compressed or not, must
//! give events and rejections, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_sources::{Format, ReaderConfig, read_all};

fuzz_target!(|data: &[u8]| {
    // A small line cap so that the over-long-line path is reached too.
    let config = ReaderConfig { max_line_len: 4096, ..ReaderConfig::default() };
    for format in [Format::ZeekTsv, Format::ZeekJson] {
        let (events, rejections, stats) = read_all(data, format, &config);
        assert_eq!(stats.events, events.len() as u64);
        assert_eq!(stats.rejected, rejections.len() as u64);
    }
    let _ = picket_sources::detect(data);
});
