//! `EventReader::next_into_if` on Squid logs. The view passed to `keep`
//! has the fields of the event that the full parse builds, every record
//! counts as it does with `next_into`, and a declined record is not built.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::large_enum_variant)]

use picket_event::{
    DnsEvent, Event, EventReader, EventView, HttpEvent, RecordVisitor, Rejection, SourceStats,
};
use picket_sources::{Format, OpenOptions, open_reader};
use proptest::prelude::*;

/// Squid lines for the view path: plain ones, and every case it must hand
/// to the full parse (comments, invalid fields, hosts to lower-case).
const LINES: &str = "\
1677971734.080  1234 1.2.3.4 TCP_TUNNEL/200 39 CONNECT domain.xyz:443 - HIER_DIRECT/1.2.3.4  -
1677971737.789  123 2001:db8::1 TCP_MISS/404 1024 GET http://Example.com/missing.html?a=b admin HIER_DIRECT/93.184.216.34 text/html;charset=UTF-8
1677971738.012  456 172.16.0.1 TCP_DENIED/407 256 POST http://example.com/api/data - HIER_NONE/- -
# a comment
1677971738.012x  456 172.16.0.1 TCP_DENIED/403 256 POST http://example.com/api/data - HIER_NONE/- -
1677971738.012  456 172.16.0.1 TCP_DENIED/4x3 256 POST http://example.com/api/data - HIER_NONE/- -
1677971738.012  456 172.16.0.1 TCP_DENIED/403 +256 POST http://example.com/api/data - HIER_NONE/- -

1677971739.000  1 10.0.0.1 NONE/000 0 - - bob HIER_NONE/- -
1677971739.500  1 10.0.0.1 TCP_MISS/200 5 GET /origin/form?q bob HIER_DIRECT/10.0.0.9 image/PNG
short line
1677971740.000  1 client-name TCP_MISS/200 5 GET http://a.example - FIRSTUP_PARENT/proxy.local -
1677971740.000  1 10.0.0.2 TCP_MISS/200 5 GET http://user:pw@a.example:8080/p/x.exe?q=1#frag alice@example.org HIER_DIRECT/10.0.0.9 -
1677971740.000  1 10.0.0.2 TCP_MISS/200 5 GET http://[2001:db8::5]/p - HIER_DIRECT/2001:db8::5 -
1677971740.000  1 10.0.0.2 TCP_MISS/200 5 GET http://trailing.example./p?#f - HIER_DIRECT/10.0.0.9 -
1677971740.000  1 10.0.0.2 TCP_MISS/200 5 GET http://bücher.example/ - HIER_DIRECT/10.0.0.9 -
1677971740.000  1 10.0.0.2 TCP_MISS/200 5 GET http://a.example#only-fragment - HIER_DIRECT/10.0.0.9 -
1677971740.000  1 10.0.0.2 TCP_MISS/200 5 GET http://a.example?no-path - HIER_DIRECT/10.0.0.9 -
1677971740.000  1 10.0.0.2 TCP_MISS/200 5 GET * - HIER_NONE/- -
1677971740.000  1 10.0.0.2 TCP_MISS/200 5 GET relative/path - HIER_NONE/- -
-1.5  1 10.0.0.2 TCP_MISS/200 5 GET http://a.example/ - HIER_NONE/- - extra columns here
1677971740.000  1 10.0.0.2 TCP_MISS/200 5 GET http://a.example/
";

/// Result of one call of `next_into_if`.
#[derive(Debug, PartialEq)]
enum Item {
    /// `keep` returned true: the view's `Debug` text and the event built.
    Kept {
        view: String,
        event: Event,
    },
    /// `keep` returned false: the view's `Debug` text, and whether the
    /// caller's slot was left untouched (the event was never built).
    Declined {
        view: String,
        untouched: bool,
    },
    Rejected(String),
}

fn open(text: impl AsRef<[u8]>) -> Box<dyn EventReader> {
    open_chunked(text, usize::MAX)
}

/// Opens `text` as a Squid log whose reads return at most `chunk` bytes,
/// so that lines arrive split across reads.
fn open_chunked(text: impl AsRef<[u8]>, chunk: usize) -> Box<dyn EventReader> {
    let options = OpenOptions {
        format: Some(Format::Squid),
        ..OpenOptions::default()
    };
    let input = Box::new(Chunked {
        data: std::io::Cursor::new(text.as_ref().to_vec()),
        chunk,
    });
    open_reader(input, "input", &options).unwrap()
}

/// A reader that returns at most `chunk` bytes per read.
struct Chunked {
    data: std::io::Cursor<Vec<u8>>,
    chunk: usize,
}

impl std::io::Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let len = buf.len().min(self.chunk);
        self.data.read(&mut buf[..len])
    }
}

/// Returns an event that no Squid line parses into, to tell whether the
/// reader wrote to the slot.
fn sentinel() -> Event {
    Event::from(DnsEvent::default())
}

/// Reads `text` with `next_into_if`, with `keep` returning `decision` for
/// every view.
fn read_kept(text: &str, decision: bool) -> (Vec<Item>, SourceStats) {
    let mut reader = open(text);
    let mut slot = sentinel();
    let mut items = Vec::new();
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
        let item = match item {
            Ok(true) => Item::Kept {
                view: seen.expect("keep not called"),
                event: slot.clone(),
            },
            Ok(false) => Item::Declined {
                view: seen.expect("keep not called"),
                untouched: slot == sentinel(),
            },
            Err(rejection) => {
                assert!(seen.is_none(), "keep called for a rejected record");
                Item::Rejected(rejection.to_string())
            }
        };
        items.push(item);
        slot = sentinel();
    }
    (items, reader.stats())
}

/// Reads `text` with `next_into`, as the reference.
fn read_into(text: impl AsRef<[u8]>) -> (Vec<Result<Event, String>>, SourceStats) {
    let mut reader = open(text);
    let mut slot = Event::from(HttpEvent::default());
    let mut items = Vec::new();
    while let Some(item) = reader.next_into(&mut slot) {
        items.push(item.map(|()| slot.clone()).map_err(|r| r.to_string()));
    }
    (items, reader.stats())
}

/// Checks that keeping every record gives `next_into`'s events, each with a
/// view equal to its own. Declining every record must give the same views,
/// rejections and counts.
fn check_agrees(text: &str) {
    let (reference, reference_stats) = read_into(text);
    let (kept, kept_stats) = read_kept(text, true);
    let (declined, declined_stats) = read_kept(text, false);
    assert_eq!(kept_stats, reference_stats, "{text:?}");
    assert_eq!(declined_stats, reference_stats, "{text:?}");
    assert_eq!(kept.len(), reference.len(), "{text:?}");
    assert_eq!(declined.len(), reference.len(), "{text:?}");

    for ((kept, declined), expected) in kept.iter().zip(&declined).zip(&reference) {
        match (kept, declined, expected) {
            (
                Item::Kept { view, event },
                Item::Declined {
                    view: declined_view,
                    ..
                },
                Ok(expected),
            ) => {
                assert_eq!(event, expected, "{text:?}");
                assert_eq!(view, &format!("{:?}", expected.view()), "{text:?}");
                assert_eq!(declined_view, view, "{text:?}");
            }
            (Item::Rejected(a), Item::Rejected(b), Err(expected)) => {
                assert_eq!(a, expected, "{text:?}");
                assert_eq!(b, expected, "{text:?}");
            }
            other => panic!("records differ in {text:?}: {other:?}"),
        }
    }
}

#[test]
fn views_agree_with_built_events() {
    check_agrees(LINES);
}

#[test]
fn each_line_alone_agrees() {
    for line in LINES.lines() {
        check_agrees(&format!("{line}\n"));
    }
}

#[test]
fn plain_lines_are_declined_without_a_build() {
    let (items, _) = read_kept(LINES, false);
    let untouched: Vec<bool> = items
        .iter()
        .filter_map(|item| match item {
            Item::Declined { untouched, .. } => Some(*untouched),
            _ => None,
        })
        .collect();

    // Line 1 (CONNECT, lower-case host) takes the view path; line 2's
    // `Example.com` needs lower-casing, so it is built.
    assert_eq!(untouched.first(), Some(&true));
    assert_eq!(untouched.get(1), Some(&false));
    let fast = untouched.iter().filter(|u| **u).count();
    assert!(
        fast >= 10,
        "only {fast} of {} lines skipped the build",
        untouched.len()
    );
}

#[test]
fn declined_records_count_as_events() {
    let (reference, stats) = read_into(LINES);
    let (items, declined_stats) = read_kept(LINES, false);
    let events = reference.iter().filter(|r| r.is_ok()).count();
    let declined = items
        .iter()
        .filter(|i| matches!(i, Item::Declined { .. }))
        .count();
    assert_eq!(declined, events);
    assert_eq!(declined_stats.events, stats.events);
    assert_eq!(declined_stats.records, stats.records);
    assert_eq!(declined_stats.rejected, stats.rejected);
    assert_eq!(declined_stats.skipped, stats.skipped);
}

/// A visitor that records what `visit_batch` passes it.
struct Recorder {
    decision: bool,
    distance: usize,
    /// `Debug` texts of the views `ahead` received, in order.
    ahead: Vec<String>,
    /// `Debug` texts of the views `keep` received, in order.
    kept: Vec<String>,
    events: Vec<Event>,
    rejections: Vec<String>,
}

impl RecordVisitor for Recorder {
    fn ahead_distance(&self) -> usize {
        self.distance
    }

    fn ahead(&mut self, view: &EventView<'_>) {
        self.ahead.push(format!("{view:?}"));
    }

    fn keep(&mut self, view: &EventView<'_>) -> bool {
        self.kept.push(format!("{view:?}"));
        self.decision
    }

    fn event(&mut self, event: &Event) {
        self.events.push(event.clone());
    }

    fn rejected(&mut self, rejection: Rejection) {
        self.rejections.push(rejection.to_string());
    }
}

/// Reads `reader` to its end with `visit_batch` in batches of `max`.
fn visit_all(
    mut reader: Box<dyn EventReader>,
    max: usize,
    decision: bool,
    distance: usize,
) -> (Recorder, SourceStats) {
    let mut recorder = Recorder {
        decision,
        distance,
        ahead: Vec::new(),
        kept: Vec::new(),
        events: Vec::new(),
        rejections: Vec::new(),
    };
    while reader.visit_batch(max, &mut recorder) {}
    (recorder, reader.stats())
}

/// Checks `visit_batch` against `next_into` on `text`, read in chunks of
/// `chunk` bytes, for several batch sizes and both decisions.
fn check_batches_agree(text: impl AsRef<[u8]>, chunk: usize) {
    let text = text.as_ref();
    let (reference, stats) = read_into(text);
    let events: Vec<&Event> = reference.iter().filter_map(|r| r.as_ref().ok()).collect();
    let rejections: Vec<String> = reference.iter().filter_map(|r| r.clone().err()).collect();
    let views: Vec<String> = events.iter().map(|e| format!("{:?}", e.view())).collect();

    for max in [1, 2, 7, 1024] {
        for decision in [true, false] {
            let reader = open_chunked(text, chunk);
            let (recorder, batch_stats) = visit_all(reader, max, decision, 3);
            let case = format!("batches of {max}, keep {decision}, reads of {chunk}");
            assert_eq!(batch_stats, stats, "{case}");
            assert_eq!(recorder.kept, views, "{case}");
            assert_eq!(recorder.rejections, rejections, "{case}");
            let kept: Vec<&Event> = recorder.events.iter().collect();
            let expected: Vec<&Event> = if decision { events.clone() } else { Vec::new() };
            assert_eq!(kept, expected, "{case}");

            // Every view passed to `ahead` reaches `keep` later, in order.
            let mut later = recorder.kept.iter();
            for view in &recorder.ahead {
                assert!(later.any(|k| k == view), "{case}: {view} not kept later");
            }
        }
    }
}

#[test]
fn batches_agree_with_next_into() {
    check_batches_agree(LINES, usize::MAX);
}

#[test]
fn batches_agree_across_short_reads() {
    for chunk in [1, 5, 64] {
        check_batches_agree(LINES, chunk);
    }
}

#[test]
fn batches_agree_around_invalid_utf8() {
    // A line with an invalid byte makes the batch check each line alone;
    // the line itself is rejected with its position.
    let good = "1677971734.080 1 10.0.0.1 TCP_MISS/200 39 GET http://a.example/ - HIER_DIRECT/10.0.0.9 -\n";
    let mut text = good.repeat(5).into_bytes();
    text.extend_from_slice(b"1677971734.080 1 10.0.0.1 TCP_MISS/200 39 GET http://a.example/\xff - HIER_DIRECT/10.0.0.9 -\n");
    text.extend_from_slice(good.repeat(5).as_bytes());
    for chunk in [usize::MAX, 64] {
        check_batches_agree(&text, chunk);
    }

    let (reference, _) = read_into(&text);
    let rejected: Vec<&String> = reference.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].contains("input:6"), "{}", rejected[0]);
}

#[test]
fn batch_of_zero_reads_one() {
    let (reference, stats) = read_into(LINES);
    let (recorder, batch_stats) = visit_all(open(LINES), 0, true, 0);
    let events: Vec<&Event> = reference.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(recorder.events.iter().collect::<Vec<_>>(), events);
    assert_eq!(batch_stats, stats);
}

#[test]
fn batches_see_views_ahead() {
    let line = "1677971734.080 1 10.0.0.1 TCP_MISS/200 39 GET http://a.example/ - HIER_DIRECT/10.0.0.9 -\n";
    let text = line.repeat(10);
    let (recorder, _) = visit_all(open(&text), 1024, false, 3);
    assert_eq!(recorder.kept.len(), 10);
    assert_eq!(recorder.ahead.len(), 7);
}

#[test]
fn batches_agree_on_a_large_log() {
    // About 3 MB: more than the reader's first buffer, so batches end
    // where a read must move the buffer.
    let mut text = String::new();
    for i in 0..25_000u32 {
        let host = if i % 97 == 0 {
            "Upper.example"
        } else {
            "host.example"
        };
        text.push_str(&format!(
            "1700000000.{:03} {i} 10.0.{}.{} TCP_MISS/200 {i} GET http://{host}/path/{i}.js?v={i} - HIER_DIRECT/192.0.2.{} text/html\n",
            i % 1000,
            (i >> 8) % 256,
            i % 256,
            i % 200,
        ));
        if i % 5_000 == 0 {
            text.push_str("garbage line\n");
        }
    }
    check_batches_agree(&text, 1 << 16);
}

/// Pieces random lines are made of: each column has a normal value and
/// ones the view path must hand to the full parse.
fn column(choices: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(choices)
}

proptest! {
    #[test]
    fn random_lines_agree(
        lines in prop::collection::vec(
            (
                column(&["1700000000.018", "1700000000", "17x", "-1.25", "1e9"]),
                column(&["10.0.1.71", "::1", "host-name", "[::1]", "10.0.1.256"]),
                column(&["TCP_MISS/200", "NONE/000", "TCP_MISS/20x", "TCP_MISS", "/", "TCP_MISS/99999"]),
                column(&["54436", "-", "+1", "99999999999999999999"]),
                column(&[
                    "http://a.example/p.js?v=1", "http://A.example/", "a.example:443",
                    "https://a.example:8443", "/p?q", "http://u@a.example/#x", "-",
                    "http://é.example/", "ftp://a.example", "http://a.example.",
                    "http://1.2.3.4/", "http://[::1]:80/x",
                ]),
                column(&["-", "bob", "bob@example.org"]),
                column(&["HIER_DIRECT/218.5.185.69", "HIER_NONE/-", "HIER_DIRECT", "PARENT/peer.local"]),
                column(&["text/html", "-", "", "a b"]),
            ),
            1..8,
        )
    ) {
        let mut text = String::new();
        for (time, client, status, bytes, url, user, peer, kind) in lines {
            text.push_str(&format!(
                "{time} 1 {client} {status} {bytes} GET {url} {user} {peer} {kind}\n"
            ));
        }
        check_agrees(&text);
        check_batches_agree(&text, 7);
    }
}
