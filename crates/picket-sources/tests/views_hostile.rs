//! `next_into_if` and `visit_batch` against `next_into` on hostile Squid
//! logs: control and NUL bytes, CRLF, invalid UTF-8 at every position,
//! lines over `max_line_len`, reads of one byte, and gzip and zstd input
//! that ends mid-stream. Each way must give the same events, rejections
//! (location and reason), views and counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};

use picket_event::{Event, EventReader, EventView, HttpEvent, RecordVisitor, Rejection};
use picket_sources::{Format, OpenOptions, ReaderConfig, Utf8Policy, open_reader};

/// One way of presenting a log to the reader.
#[derive(Clone, Debug)]
struct Input {
    /// The bytes as read, compressed or not.
    bytes: Vec<u8>,
    /// Maximum bytes per read.
    chunk: usize,
    max_line_len: usize,
    utf8: Utf8Policy,
}

/// A record as a reader passes it on, in a form that compares.
#[derive(Clone, Debug, PartialEq)]
enum Record {
    /// An event and the `Debug` text of its view.
    Event(Box<Event>, String),
    /// A rejection's location (`Debug`, with the offset) and reason.
    Rejected(String),
}

fn rejected(rejection: &Rejection) -> Record {
    Record::Rejected(format!("{:?} {}", rejection.location, rejection.reason))
}

fn event(event: &Event) -> Record {
    Record::Event(Box::new(event.clone()), format!("{:?}", event.view()))
}

fn open(input: &Input) -> Box<dyn EventReader> {
    let options = OpenOptions {
        format: Some(Format::Squid),
        config: ReaderConfig {
            max_line_len: input.max_line_len,
            utf8: input.utf8,
            ..ReaderConfig::default()
        },
    };
    let read = Box::new(Chunked {
        data: std::io::Cursor::new(input.bytes.clone()),
        chunk: input.chunk,
    });
    open_reader(read, "input", &options).unwrap()
}

/// A reader that returns at most `chunk` bytes per read.
struct Chunked {
    data: std::io::Cursor<Vec<u8>>,
    chunk: usize,
}

impl Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let len = buf.len().min(self.chunk);
        self.data.read(&mut buf[..len])
    }
}

/// Reads `input` with `next_into`: the reference.
fn read_into(input: &Input) -> (Vec<Record>, picket_event::SourceStats) {
    let mut reader = open(input);
    let mut slot = Event::from(HttpEvent::default());
    let mut records = Vec::new();
    while let Some(item) = reader.next_into(&mut slot) {
        records.push(match item {
            Ok(()) => event(&slot),
            Err(rejection) => rejected(&rejection),
        });
    }
    (records, reader.stats())
}

/// Reads `input` with `next_into_if`, deciding `decision` for every view,
/// and returns the views `keep` saw, the records and the counts.
fn read_if(input: &Input, decision: bool) -> (Vec<String>, Vec<Record>, picket_event::SourceStats) {
    let mut reader = open(input);
    let mut slot = Event::from(HttpEvent::default());
    let (mut views, mut records) = (Vec::new(), Vec::new());
    loop {
        let mut seen = None;
        let mut keep = |view: &EventView<'_>| {
            assert!(seen.is_none(), "keep called twice for one record");
            seen = Some(format!("{view:?}"));
            decision
        };
        let Some(item) = reader.next_into_if(&mut slot, &mut keep) else {
            break;
        };
        match item {
            Ok(kept) => {
                let view = seen.expect("keep not called for an event");
                assert_eq!(kept, decision);
                if kept {
                    assert_eq!(format!("{:?}", slot.view()), view, "kept slot");
                    records.push(event(&slot));
                }
                views.push(view);
            }
            Err(rejection) => {
                assert!(seen.is_none(), "keep called for a rejected record");
                records.push(rejected(&rejection));
            }
        }
    }
    (views, records, reader.stats())
}

/// Records what `visit_batch` passes on.
struct Recorder {
    decision: bool,
    distance: usize,
    ahead: Vec<String>,
    views: Vec<String>,
    records: Vec<Record>,
}

impl RecordVisitor for Recorder {
    fn ahead_distance(&self) -> usize {
        self.distance
    }

    fn ahead(&mut self, view: &EventView<'_>) {
        self.ahead.push(format!("{view:?}"));
    }

    fn keep(&mut self, view: &EventView<'_>) -> bool {
        self.views.push(format!("{view:?}"));
        self.decision
    }

    fn event(&mut self, built: &Event) {
        assert!(self.decision, "event passed on after keep declined");
        let record = event(built);
        if let Record::Event(_, view) = &record {
            assert_eq!(self.views.last(), Some(view), "event without its view");
        }
        self.records.push(record);
    }

    fn rejected(&mut self, rejection: Rejection) {
        self.records.push(rejected(&rejection));
    }
}

/// Checks every way of reading `input` against `next_into`.
fn check(input: &Input) {
    let (reference, stats) = read_into(input);
    let views: Vec<String> = reference
        .iter()
        .filter_map(|r| match r {
            Record::Event(_, view) => Some(view.clone()),
            Record::Rejected(_) => None,
        })
        .collect();
    let only_rejections: Vec<Record> = reference
        .iter()
        .filter(|r| matches!(r, Record::Rejected(_)))
        .cloned()
        .collect();
    let case = |way: &str| {
        format!(
            "{way}, reads of {}, max_line_len {}, {:?}",
            input.chunk, input.max_line_len, input.utf8
        )
    };

    for decision in [true, false] {
        let (seen, records, if_stats) = read_if(input, decision);
        let label = case(&format!("next_into_if keep {decision}"));
        assert_eq!(if_stats, stats, "{label}");
        assert_eq!(seen, views, "{label}");
        let want = if decision {
            &reference
        } else {
            &only_rejections
        };
        assert_eq!(&records, want, "{label}");
    }

    for max in [1, 2, 3, 5, 8, 64, 1024] {
        for decision in [true, false] {
            for distance in [0, 1, 4] {
                let mut reader = open(input);
                let mut recorder = Recorder {
                    decision,
                    distance,
                    ahead: Vec::new(),
                    views: Vec::new(),
                    records: Vec::new(),
                };
                while reader.visit_batch(max, &mut recorder) {}
                let label = case(&format!(
                    "visit_batch of {max}, keep {decision}, ahead {distance}"
                ));
                assert_eq!(reader.stats(), stats, "{label}");
                assert_eq!(recorder.views, views, "{label}");
                let want = if decision {
                    &reference
                } else {
                    &only_rejections
                };
                assert_eq!(&recorder.records, want, "{label}");
                let mut later = recorder.views.iter();
                for view in &recorder.ahead {
                    assert!(
                        later.any(|v| v == view),
                        "{label}: {view} ahead, never kept"
                    );
                }
            }
        }
    }
}

/// A fixed linear congruential sequence, so that every run tests the
/// same lines.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len())]
    }
}

/// Returns one of `valid` three times in four, else one of `hostile`.
fn mostly(rng: &mut Rng, valid: &[&str], hostile: &[&str]) -> String {
    let pool = if rng.below(4) == 0 { hostile } else { valid };
    rng.pick(pool).to_owned()
}

/// Returns a URL from the combinations of scheme case, user information, IPv6
/// literal, port, `#`, `?`, trailing dot, escapes and host case.
fn url(rng: &mut Rng) -> String {
    let scheme = rng.pick(&[
        "http://", "HTTP://", "https://", "hTTp://", "ftp://", "", "//",
    ]);
    let user = rng.pick(&["", "", "u@", "u:p@", "@", "a@b@"]);
    let host = rng.pick(&[
        "a.example",
        "A.Example",
        "a.example.",
        "[2001:db8::1]",
        "[::1",
        "1.2.3.4",
        "0x7f.1",
        "bücher.example",
        "xn--bcher-kva.example",
        "a%2eexample",
        "-",
        "",
        "a\u{b}b",
        "a\u{a0}b",
    ]);
    let port = rng.pick(&["", "", ":80", ":443", ":8080", ":", ":99999", ":x"]);
    let path = rng.pick(&["", "/", "/p/x.exe", "/%2F..%2f", "/a b", "/#"]);
    let query = rng.pick(&["", "", "?", "?q=1", "?a=http://b.example/", "?#"]);
    let fragment = rng.pick(&["", "", "#", "#f", "#/@evil.example"]);
    format!("{scheme}{user}{host}{port}{path}{query}{fragment}")
}

/// Returns a Squid line of 8 to 11 columns. Each column is valid three times in
/// four, so that most lines take the view path.
fn line(rng: &mut Rng) -> Vec<u8> {
    let mut cols: Vec<String> = vec![
        mostly(
            rng,
            &["1700000000.018", "1700000000", "1700000001.5"],
            &["17x", "-1.5", "1e9", ".", "1700000000.1234567890"],
        ),
        mostly(rng, &["1", "0"], &["-", "x"]),
        mostly(
            rng,
            &["10.0.1.71", "::1", "name"],
            &["[::1]", "10.0.1.256", "-", "1.2.3.4.5"],
        ),
        mostly(
            rng,
            &["TCP_MISS/200", "NONE/000", "TCP_MISS"],
            &["TCP_MISS/2x0", "/", "X/99999", "X/-1"],
        ),
        mostly(
            rng,
            &["54436", "-", "0"],
            &["+1", "99999999999999999999", "x"],
        ),
        rng.pick(&["GET", "CONNECT", "-"]).into(),
        url(rng),
        rng.pick(&["-", "bob", "bob@example.org"]).into(),
        mostly(
            rng,
            &["HIER_DIRECT/203.0.113.9", "HIER_NONE/-", "HIER_DIRECT"],
            &["P/peer.local", "P/::1/x"],
        ),
        rng.pick(&["text/html", "-", "Text/HTML; charset=x"]).into(),
        "extra".into(),
    ];
    cols.truncate(8 + rng.below(4));
    let separator = rng.pick(&[" ", "  ", "\t", " \t "]);
    let mut bytes = cols.join(separator).into_bytes();

    // One hostile byte at a random position now and then.
    if rng.below(3) == 0 {
        let at = rng.below(bytes.len() + 1);
        let hostile: &[u8] = match rng.below(7) {
            0 => b"\0",
            1 => b"\r",
            2 => b"\x1b",
            3 => b"\xff",
            4 => b"\xc3",
            5 => b"\xe2\x82",
            _ => b"\x7f",
        };
        bytes.splice(at..at, hostile.iter().copied());
    }
    bytes
}

/// Returns a log of `count` generated lines with empty lines, comments, CRLF
/// endings and long lines among them.
fn log(seed: u64, count: usize) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for _ in 0..count {
        match rng.below(20) {
            0 => {}
            1 => out.extend_from_slice(b"# comment \xff"),
            2 => out.extend_from_slice(b"\r"),
            3 => out.extend(std::iter::repeat_n(b'x', 90 + rng.below(40))),
            4 => out.extend_from_slice(b"   \t "),
            _ => out.extend(line(&mut rng)),
        }
        out.extend_from_slice(if rng.below(4) == 0 { b"\r\n" } else { b"\n" });
    }
    // The last line without its newline, now and then.
    if rng.below(2) == 0 {
        out.extend(line(&mut rng));
    }
    out
}

fn inputs(bytes: &[u8]) -> Vec<Input> {
    let mut all = Vec::new();
    for chunk in [1, 7, 4096, usize::MAX] {
        for max_line_len in [100, 1 << 20] {
            for utf8 in [Utf8Policy::Reject, Utf8Policy::Lossy] {
                all.push(Input {
                    bytes: bytes.to_vec(),
                    chunk,
                    max_line_len,
                    utf8,
                });
            }
        }
    }
    all
}

#[test]
fn hostile_logs_agree() {
    for seed in 0..12 {
        for input in inputs(&log(seed, 60)) {
            check(&input);
        }
    }
}

#[test]
fn invalid_utf8_at_every_position_agrees() {
    let line = b"1700000000.018 1 10.0.0.1 TCP_MISS/200 5 GET http://a.example:8080/p?q#f u HIER_DIRECT/203.0.113.9 text/html";
    for at in 0..=line.len() {
        for hostile in [&b"\xff"[..], b"\xc3", b"\0", b"\x0c"] {
            let mut text = line.to_vec();
            text.splice(at..at, hostile.iter().copied());
            let mut bytes = line.to_vec();
            bytes.push(b'\n');
            bytes.extend(&text);
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(line);
            for chunk in [1, usize::MAX] {
                for utf8 in [Utf8Policy::Reject, Utf8Policy::Lossy] {
                    check(&Input {
                        bytes: bytes.clone(),
                        chunk,
                        max_line_len: 1 << 20,
                        utf8,
                    });
                }
            }
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 1).unwrap()
}

#[test]
fn compressed_logs_cut_mid_stream_agree() {
    let plain = log(99, 400);
    for compressed in [gzip(&plain), zstd(&plain)] {
        // The whole stream, and cuts inside the header, the data and the
        // trailer.
        let len = compressed.len();
        for cut in [len, len - 1, len - 4, len / 2, len / 3, 11, 5] {
            for input in inputs(&compressed[..cut]) {
                check(&input);
            }
        }
    }
}

#[test]
fn cut_gzip_stream_ends_in_rejection() {
    // The cut streams above must end in a read error, not a clean end.
    let compressed = gzip(&log(99, 400));
    let input = Input {
        bytes: compressed[..compressed.len() / 2].to_vec(),
        chunk: usize::MAX,
        max_line_len: 1 << 20,
        utf8: Utf8Policy::Reject,
    };
    let (records, _) = read_into(&input);
    let last = records.last().expect("records before the cut");
    let Record::Rejected(reason) = last else {
        panic!("last record is not a rejection: {last:?}");
    };
    assert!(reason.contains("input ends early"), "{reason}");
}
