//! The capture reader on arbitrary bytes: pcap, pcapng and gzip detection,
//! record parsing and everything decoded behind it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_decode::{CaptureReader, DecodeConfig};

fuzz_target!(|data: &[u8]| {
    let input = std::io::Cursor::new(data.to_vec());
    if let Ok(reader) = CaptureReader::from_reader(input, "fuzz", DecodeConfig::default()) {
        for _ in reader {}
    }
});
