//! Fuzzes the fixed-layout CSV intelligence readers (abuse.ch Feodo Tracker
//! and picket's own CSV export): any input is read or rejected with a
//! reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_intel::{load_bytes, Format, LoadOptions};

fuzz_target!(|data: &[u8]| {
    for format in [Format::FeodoCsv, Format::PicketCsv] {
        let options = LoadOptions { format: Some(format), ..LoadOptions::default() };
        let _ = load_bytes("fuzz", data, &options);
    }
});
