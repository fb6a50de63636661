//! Differential check of the Squid reader's views on a large log against
//! 1.5 million indicators. The reference builds and matches every event
//! (`next_into` and `match_event`). The other ways match views and build
//! only the events that hit (`next_into_if`, and `visit_batch` in several
//! batch sizes with prefetching). Every hit, rejection and count must be
//! the same in all of them.
//!
//! ```text
//! squid_views_check LOG [LINES]
//! ```
//! Reads the first LINES lines of LOG (all when not given; `squid_e2e
//! generate` writes one) and rewrites about a third of them with hostile
//! forms: URLs of listed indicators in other spellings (scheme case, user
//! information, default ports, fragments, trailing dots, escapes, upper
//! case, origin and authority forms), CRLF, NUL, control and invalid UTF-8
//! bytes, and 8 or 11 columns. Each URL-field hit of `match_event` is also
//! checked against [`Matcher::match_url`] on the event's URL, which cuts
//! every URL in full. Prints the counts and exits with status 1 at the
//! first difference.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

#[path = "../benches/testdata.rs"]
mod testdata;

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use picket_event::{
    Event, EventReader, EventView, HttpEvent, IntelHit, MatchedField, RecordVisitor, Rejection,
    SourceStats,
};
use picket_intel::IndicatorKind;
use picket_match::{Matcher, MatcherBuilder};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The seed of `squid_e2e`, so that its log's listed hosts are listed here.
const SEED: u64 = 42;

/// Indicators in the set, as in `squid_e2e`.
const TOTAL: usize = 1_500_000;

/// The records one way of reading passes on: for each record in order,
/// its hits or its rejection, and the counts at the end.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    /// Record number and hits of each event that hit.
    hits: Vec<(u64, Vec<IntelHit>)>,
    /// Record number and rejection text (location with offset, reason).
    rejections: Vec<(u64, String)>,
    events: u64,
    stats: SourceStats,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let log = Path::new(&args[1]);
    let lines = args.get(2).map_or(usize::MAX, |n| n.parse().unwrap());

    let (matcher, urls) = build();
    let data = Arc::new(hostile_log(log, lines, &urls));
    println!("log: {} bytes", data.len());

    let reference = by_events(&matcher, &data);
    println!(
        "next_into + match_event: {} events, {} hit, {} hits, {} rejected, {:?}",
        reference.events,
        reference.hits.len(),
        reference.hits.iter().map(|(_, h)| h.len()).sum::<usize>(),
        reference.rejections.len(),
        reference.stats
    );

    let mut failed = false;
    failed |= differs(
        "next_into_if + match_view",
        &reference,
        &by_views(&matcher, &data),
    );
    for (max, distance) in [(1024, 4), (1024, 0), (7, 3), (1, 1)] {
        let label = format!("visit_batch({max}), ahead {distance}");
        failed |= differs(
            &label,
            &reference,
            &by_batches(&matcher, &data, max, distance),
        );
    }
    if failed {
        std::process::exit(1);
    }
}

/// Builds the matcher of `squid_e2e`, with URL indicators on address
/// hosts added, and returns it with a sample of its URL indicators, to
/// plant in the log.
fn build() -> (Matcher, Vec<String>) {
    let mut builder = MatcherBuilder::new();
    for i in testdata::corpus_indicators() {
        let _ = builder.add(&i);
    }
    let mut urls = Vec::new();
    testdata::each_indicator(TOTAL, SEED, |i| {
        if i.kind == IndicatorKind::Url && urls.len() < 5_000 {
            urls.push(i.value.clone());
        }
        let _ = builder.add(&i);
    });
    // URL indicators on address hosts, which the generated set has none of.
    for i in 0..1_000u32 {
        let host = std::net::Ipv4Addr::from(0xc633_6400 | (i % 256));
        let url = format!("http://{host}/p{i}/gate.php?id={i}");
        let indicator = picket_intel::Indicator {
            kind: IndicatorKind::Url,
            value: url.clone(),
            include_subdomains: false,
            match_substring: i % 4 == 0,
            sightings: vec![picket_intel::Sighting::default()],
        };
        if builder.add(&indicator).is_ok() {
            urls.push(url);
        }
    }
    let matcher = builder.build();
    println!("matcher: {} indicators", matcher.len());
    (matcher, urls)
}

/// Reads up to `lines` lines of `log` and rewrites about a third of them.
fn hostile_log(log: &Path, lines: usize, urls: &[String]) -> Vec<u8> {
    let text = std::fs::read(log).unwrap();
    let mut rng = testdata::Rng::new(7);
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    for line in text.split(|&b| b == b'\n').take(lines) {
        if line.is_empty() {
            continue;
        }
        if rng.below(3) == 0 {
            rewrite(line, &mut rng, urls, &mut out);
        } else {
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    out
}

/// Appends `line` with one hostile change.
fn rewrite(line: &[u8], rng: &mut testdata::Rng, urls: &[String], out: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(line);
    let mut cols: Vec<String> = text.split(' ').map(str::to_owned).collect();
    // The generator pads the duration column, which leaves empty pieces.
    let url = cols
        .iter()
        .position(|c| c.contains("://") || c.ends_with(":443"));
    let Some(url) = url else {
        out.extend_from_slice(line);
        return;
    };

    match rng.below(12) {
        0..=5 => {
            let planted = rng.pick(urls).clone();
            cols[url] = respell(&planted, rng);
        }
        6 => cols[url] = respell(&cols[url].clone(), rng),
        7 => {
            cols.pop();
        }
        8 => cols.push("extra".into()),
        _ => {}
    }
    let mut bytes = cols.join(" ").into_bytes();
    match rng.below(8) {
        0 => bytes.push(b'\r'),
        1 => {
            let at = rng.below(bytes.len() as u64 + 1) as usize;
            let choices: [&[u8]; 4] = [b"\0", b"\x0c", b"\xff", b"\x1b"];
            let hostile = *rng.pick(&choices);
            bytes.splice(at..at, hostile.iter().copied());
        }
        _ => {}
    }
    out.extend_from_slice(&bytes);
}

/// Returns `url` in another spelling of the same resource, or a near one.
fn respell(url: &str, rng: &mut testdata::Rng) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let scheme = *rng.pick(&[scheme, "HTTP", "Https", "https"]);
    let user = *rng.pick(&["", "", "u@", "u:p@"]);
    let host = match rng.below(5) {
        0 => authority.to_ascii_uppercase(),
        1 => format!("{authority}."),
        _ => authority.to_owned(),
    };
    let port = *rng.pick(&["", "", ":80", ":443", ":8080"]);
    let path = match rng.below(4) {
        0 => path.replacen('/', "/%2e/", 1),
        1 => path.replacen('p', "%70", 1),
        _ => path.to_owned(),
    };
    let fragment = *rng.pick(&["", "", "#f", "#/x"]);
    match rng.below(8) {
        0 => format!("{path}{fragment}"),
        1 => format!("{user}{host}{port}"),
        _ => format!("{scheme}://{user}{host}{port}{path}{fragment}"),
    }
}

/// A log in memory, read as a stream.
struct Shared {
    data: Arc<Vec<u8>>,
    at: usize,
}

impl Read for Shared {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.data.get(self.at..).unwrap_or_default();
        let len = rest.len().min(buf.len());
        buf[..len].copy_from_slice(&rest[..len]);
        self.at += len;
        Ok(len)
    }
}

fn open(data: &Arc<Vec<u8>>) -> Box<dyn EventReader> {
    let options = picket_sources::OpenOptions {
        format: Some(picket_sources::Format::Squid),
        ..picket_sources::OpenOptions::default()
    };
    let read = Box::new(Shared {
        data: Arc::clone(data),
        at: 0,
    });
    picket_sources::open_reader(read, "log", &options).unwrap()
}

fn rejection_text(rejection: &Rejection) -> String {
    format!("{:?} {}", rejection.location, rejection.reason)
}

/// Builds every event and matches it, for the reference. Also checks each
/// URL-field hit against `match_url` on the event's own URL.
fn by_events(matcher: &Matcher, data: &Arc<Vec<u8>>) -> Outcome {
    let mut reader = open(data);
    let mut outcome = Outcome::default();
    let mut event = Event::from(HttpEvent::default());
    let (mut record, mut url_mismatches) = (0u64, 0u64);
    while let Some(item) = reader.next_into(&mut event) {
        match item {
            Ok(()) => {
                outcome.events += 1;
                let mut hits = Vec::new();
                matcher.match_event(&event, &mut hits);
                if !url_hits_agree(matcher, &event, &hits) {
                    url_mismatches += 1;
                }
                if !hits.is_empty() {
                    outcome.hits.push((record, hits));
                }
            }
            Err(rejection) => outcome
                .rejections
                .push((record, rejection_text(&rejection))),
        }
        record += 1;
    }
    outcome.stats = reader.stats();
    println!("URL hits that differ from match_url's: {url_mismatches}");
    outcome
}

/// Tells whether the URL-field hits of `hits` are those that
/// [`Matcher::match_url`] gives for the event's URL, cut in full.
fn url_hits_agree(matcher: &Matcher, event: &Event, hits: &[IntelHit]) -> bool {
    let Event::Http(http) = event else {
        return true;
    };
    let got: Vec<&IntelHit> = hits
        .iter()
        .filter(|h| h.field == MatchedField::Url)
        .collect();
    let mut want = Vec::new();
    let url = http.url.as_str();
    if !url.is_empty() {
        matcher.match_url(url, http.host.as_deref(), MatchedField::Url, &mut want);
    }
    let agree = got.len() == want.len() && got.iter().zip(&want).all(|(a, b)| *a == b);
    if !agree {
        eprintln!(
            "URL hits differ for {url:?} on {:?}: {got:?} against {want:?}",
            http.host
        );
    }
    agree
}

/// Matches each record's view with `next_into_if`, building only the
/// events that hit.
fn by_views(matcher: &Matcher, data: &Arc<Vec<u8>>) -> Outcome {
    let mut reader = open(data);
    let mut outcome = Outcome::default();
    let mut event = Event::from(HttpEvent::default());
    let mut hits = Vec::new();
    let mut record = 0u64;
    loop {
        let mut keep = |view: &EventView<'_>| {
            hits.clear();
            matcher.match_view(view, &mut hits);
            !hits.is_empty()
        };
        let Some(item) = reader.next_into_if(&mut event, &mut keep) else {
            break;
        };
        match item {
            Ok(kept) => {
                outcome.events += 1;
                if kept {
                    check_built(matcher, &event, &hits);
                    outcome.hits.push((record, std::mem::take(&mut hits)));
                }
            }
            Err(rejection) => outcome
                .rejections
                .push((record, rejection_text(&rejection))),
        }
        record += 1;
    }
    outcome.stats = reader.stats();
    outcome
}

/// Panics unless the built event of a kept view has the view's hits.
fn check_built(matcher: &Matcher, event: &Event, hits: &[IntelHit]) {
    let mut again = Vec::new();
    matcher.match_event(event, &mut again);
    assert_eq!(again, hits, "the built event's hits differ from its view's");
}

/// Matches views with `visit_batch` in batches of `max`.
fn by_batches(matcher: &Matcher, data: &Arc<Vec<u8>>, max: usize, distance: usize) -> Outcome {
    let mut reader = open(data);
    let mut visitor = Visitor {
        matcher,
        distance,
        hits: Vec::new(),
        record: 0,
        outcome: Outcome::default(),
    };
    while reader.visit_batch(max, &mut visitor) {}
    let mut outcome = visitor.outcome;
    outcome.stats = reader.stats();
    outcome
}

struct Visitor<'m> {
    matcher: &'m Matcher,
    distance: usize,
    /// Hits of the view `keep` received last.
    hits: Vec<IntelHit>,
    record: u64,
    outcome: Outcome,
}

impl RecordVisitor for Visitor<'_> {
    fn ahead_distance(&self) -> usize {
        self.distance
    }

    fn ahead(&mut self, view: &EventView<'_>) {
        self.matcher.prefetch_view(view);
    }

    fn keep(&mut self, view: &EventView<'_>) -> bool {
        self.outcome.events += 1;
        self.hits.clear();
        self.matcher.match_view(view, &mut self.hits);
        if self.hits.is_empty() {
            self.record += 1;
        }
        !self.hits.is_empty()
    }

    fn event(&mut self, event: &Event) {
        check_built(self.matcher, event, &self.hits);
        let hits = std::mem::take(&mut self.hits);
        self.outcome.hits.push((self.record, hits));
        self.record += 1;
    }

    fn rejected(&mut self, rejection: Rejection) {
        let text = rejection_text(&rejection);
        self.outcome.rejections.push((self.record, text));
        self.record += 1;
    }
}

/// Prints how `got` differs from `reference`, if it does.
fn differs(label: &str, reference: &Outcome, got: &Outcome) -> bool {
    if got == reference {
        println!("{label}: same");
        return false;
    }
    println!(
        "{label}: DIFFERS: {} events, {} hit, {} rejected, {:?}",
        got.events,
        got.hits.len(),
        got.rejections.len(),
        got.stats
    );
    let first_hit = reference.hits.iter().zip(&got.hits).find(|(a, b)| a != b);
    println!("  first hit that differs: {first_hit:?}");
    let first_rejection = reference
        .rejections
        .iter()
        .zip(&got.rejections)
        .find(|(a, b)| a != b);
    println!("  first rejection that differs: {first_rejection:?}");
    true
}
