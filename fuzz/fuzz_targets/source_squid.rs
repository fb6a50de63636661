//! Fuzzes the squid log reader(s): arbitrary bytes, compressed or not, must
//! give events and rejections, never a panic, and reading into one reused
//! event must give the same events as the iterator. Reading with
//! `next_into_if` must pass `keep` a view equal to each event's own, once
//! per event, and reading with `visit_batch` through short reads, keeping
//! every record or none, must pass on the same views, events, rejections
//! and counts as `next_into` through the same reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_event::{Event, EventView, HttpEvent, RecordVisitor, Rejection, SourceStats};
use picket_sources::input::Compression;
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
        check_batches(data, &options, &events, &stats);
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

/// Collects what `visit_batch` passes on, keeping every record or none.
struct Collector {
    keep: bool,
    views: Vec<String>,
    events: Vec<Event>,
    rejections: Vec<String>,
}

impl RecordVisitor for Collector {
    fn ahead_distance(&self) -> usize {
        2
    }

    fn keep(&mut self, view: &EventView<'_>) -> bool {
        self.views.push(format!("{view:?}"));
        self.keep
    }

    fn event(&mut self, event: &Event) {
        self.events.push(event.clone());
    }

    fn rejected(&mut self, rejection: Rejection) {
        self.rejections
            .push(format!("{:?} {}", rejection.location, rejection.reason));
    }
}

/// Reads `data` with `visit_batch` in small batches through reads of 7
/// bytes, keeping every record and then none, and checks the views,
/// events, rejections and counts against `next_into` through the same
/// reads. A corrupt compressed stream yields as much as its decoder had
/// decoded when it failed, which depends on the reads, so both sides read
/// alike.
fn check_batches(
    data: &[u8],
    options: &OpenOptions,
    whole_events: &[Event],
    whole_stats: &SourceStats,
) {
    let Some((events, rejections, stats)) = reference(data, options) else {
        return;
    };

    // Without compression, short reads must not change what is read.
    if matches!(Compression::from_magic(data), Compression::None) {
        assert_eq!(events, whole_events);
        assert_eq!(&stats, whole_stats);
    }
    let views: Vec<String> = events.iter().map(|e| format!("{:?}", e.view())).collect();

    for keep in [true, false] {
        let Ok(mut reader) = open_reader(chunked(data), "input", options) else {
            return;
        };
        let mut collector = Collector {
            keep,
            views: Vec::new(),
            events: Vec::new(),
            rejections: Vec::new(),
        };
        while reader.visit_batch(3, &mut collector) {}
        assert_eq!(collector.views, views);
        assert_eq!(collector.events.len(), if keep { events.len() } else { 0 });
        if keep {
            assert_eq!(collector.events, events);
        }
        assert_eq!(collector.rejections, rejections);
        assert_eq!(reader.stats(), stats);
    }
}

/// Reads `data` with `next_into` through reads of 7 bytes and returns its
/// events, rejections (location and reason) and counts.
fn reference(data: &[u8], options: &OpenOptions) -> Option<(Vec<Event>, Vec<String>, SourceStats)> {
    let mut reader = open_reader(chunked(data), "input", options).ok()?;
    let mut slot = Event::from(HttpEvent::default());
    let (mut events, mut rejections) = (Vec::new(), Vec::new());
    while let Some(item) = reader.next_into(&mut slot) {
        match item {
            Ok(()) => events.push(slot.clone()),
            Err(rejection) => {
                rejections.push(format!("{:?} {}", rejection.location, rejection.reason))
            }
        }
    }
    Some((events, rejections, reader.stats()))
}

fn chunked(data: &[u8]) -> Box<Chunked> {
    Box::new(Chunked {
        data: std::io::Cursor::new(data.to_vec()),
    })
}

/// A reader that returns at most 7 bytes per read, so that lines arrive
/// split across reads.
struct Chunked {
    data: std::io::Cursor<Vec<u8>>,
}

impl std::io::Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let len = buf.len().min(7);
        self.data.read(&mut buf[..len])
    }
}
