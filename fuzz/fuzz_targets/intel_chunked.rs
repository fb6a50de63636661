//! Fuzzes chunked loading: the first byte picks the format and the chunk
//! size, the rest is the document. Any input is read or rejected with a
//! reason, never a panic, and every value is handed over once, with late
//! repeats only of values handed over before.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use picket_intel::{load_bytes_chunked, Chunk, Format, LoadOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, document)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[usize::from(pick) % Format::ALL.len()];
    let size = usize::from(pick >> 4) + 1;
    let options = LoadOptions { format: Some(format), ..LoadOptions::default() };

    let mut handed = HashSet::new();
    let mut sink = |chunk: Chunk| {
        match chunk {
            Chunk::Fresh(indicators) => {
                assert!(indicators.len() <= size);
                for i in indicators {
                    assert!(handed.insert((i.kind, i.include_subdomains, i.value)), "a value was handed over twice");
                }
            }
            Chunk::Repeats(indicators) => {
                // Values are distinguished by a 64-bit random hash. A
                // collision, too rare to occur here, would send a new value
                // this way.
                for i in indicators {
                    assert!(handed.contains(&(i.kind, i.include_subdomains, i.value)), "a repeat of a value never handed over");
                }
            }
        }
        true
    };
    let _ = load_bytes_chunked("fuzz", document, &options, size, &mut sink);
});
