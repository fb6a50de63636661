//! Fuzzes the squid log reader(s): arbitrary bytes, compressed or not, must
//! give events and rejections, never a panic, and reading into one reused
//! event must give the same events as the iterator. Reading with
//! `next_into_if` must pass `keep` a view equal to each event's own, once
//! per event, and reading with `visit_batch` must pass on the same events
//! and rejections.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_event::{Event, EventView, HttpEvent, RecordVisitor, Rejection};
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

        let options = open_options(format, &config);
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

        check_views(data, &options, &events);
        check_batches(data, &options, &events, rejections.len());
    }
    let _ = picket_sources::detect(data);
});

fn open_options(format: Format, config: &ReaderConfig) -> OpenOptions {
    OpenOptions {
        format: Some(format),
        config: config.clone(),
    }
}

/// Reads `data` with `next_into_if`, keeping every record, and checks each
/// view against the event built and the iterator's `events`.
fn check_views(data: &[u8], options: &OpenOptions, events: &[Event]) {
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut reader) = open_reader(input, "input", options) else {
        return;
    };
    let mut slot = Event::from(HttpEvent::default());
    let mut built = Vec::new();
    loop {
        let mut seen = None;
        let mut keep = |view: &EventView<'_>| {
            assert!(seen.is_none(), "keep called twice for one record");
            seen = Some(format!("{view:?}"));
            true
        };
        match reader.next_into_if(&mut slot, &mut keep) {
            None => break,
            Some(Ok(kept)) => {
                assert!(kept);
                assert_eq!(seen, Some(format!("{:?}", slot.view())));
                built.push(slot.clone());
            }
            Some(Err(_)) => assert!(seen.is_none(), "keep called for a rejected record"),
        }
    }
    assert_eq!(built, events);
}

/// Collects what `visit_batch` passes on, keeping every record.
#[derive(Default)]
struct Collector {
    events: Vec<Event>,
    rejected: usize,
}

impl RecordVisitor for Collector {
    fn ahead_distance(&self) -> usize {
        2
    }

    fn keep(&mut self, _view: &EventView<'_>) -> bool {
        true
    }

    fn event(&mut self, event: &Event) {
        self.events.push(event.clone());
    }

    fn rejected(&mut self, _rejection: Rejection) {
        self.rejected += 1;
    }
}

/// Reads `data` with `visit_batch` in small batches and checks the events
/// and rejections against the iterator's.
fn check_batches(data: &[u8], options: &OpenOptions, events: &[Event], rejections: usize) {
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut reader) = open_reader(input, "input", options) else {
        return;
    };
    let mut collector = Collector::default();
    while reader.visit_batch(3, &mut collector) {}
    assert_eq!(collector.events, events);
    assert_eq!(collector.rejected, rejections);
}
