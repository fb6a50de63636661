//! Fuzzes the FeodoCsv intelligence reader: any input is read or rejected
//! with a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_intel::{load_bytes, Format, LoadOptions};

fuzz_target!(|data: &[u8]| {
    let options = LoadOptions { format: Some(Format::FeodoCsv), ..LoadOptions::default() };
    let _ = load_bytes("fuzz", data, &options);
});
