//! Fuzzes format detection and the reader it picks, plus value
//! classification, as `picket analyze --intel` uses them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_intel::{classify, load_bytes, LoadOptions};

fuzz_target!(|data: &[u8]| {
    let _ = load_bytes("fuzz.txt", data, &LoadOptions::default());
    let _ = classify(&String::from_utf8_lossy(data));
});
