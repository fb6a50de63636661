//! Fuzzes the squid log reader(s): arbitrary bytes, compressed or not, must
//! give events and rejections, never a panic, and reading into one reused
//! event must give the same events as the iterator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_event::{Event, HttpEvent};
use picket_sources::{Format, OpenOptions, ReaderConfig, open_reader, read_all};

fuzz_target!(|data: &[u8]| {
    // A small line cap so that the over-long-line path is reached too.
    let config = ReaderConfig {
        max_line_len: 4096,
        ..ReaderConfig::default()
    };
    for format in [Format::Squid, Format::SquidCombined] {
        let (events, rejections, stats) = read_all(data, format, &config);
        assert_eq!(stats.events, events.len() as u64);
        assert_eq!(stats.rejected, rejections.len() as u64);

        let options = OpenOptions {
            format: Some(format),
            config: config.clone(),
        };
        let input = Box::new(std::io::Cursor::new(data.to_vec()));
        if let Ok(mut reader) = open_reader(input, "input", &options) {
            let mut slot = Event::from(HttpEvent::default());
            let (mut reused, mut rejected) = (Vec::new(), 0);
            while let Some(item) = reader.next_into(&mut slot) {
                match item {
                    Ok(()) => reused.push(slot.clone()),
                    Err(_) => rejected += 1,
                }
            }
            assert_eq!(reused, events);
            assert_eq!(rejected, rejections.len());
        }
    }
    let _ = picket_sources::detect(data);
});
