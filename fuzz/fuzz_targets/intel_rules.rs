//! Fuzzes the feed-rule YAML reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = picket_intel::RuleFile::parse(std::path::Path::new("fuzz.yaml"), text);
    }
});
