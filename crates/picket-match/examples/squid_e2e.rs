//! End to end on a Squid access log: parse every line with picket's Squid
//! reader and match each event against 1.5 million indicators, on one core.
//!
//! ```text
//! squid_e2e generate LOG LINES DOMAINS_TXT   write a log and the domain list
//! squid_e2e match LOG [TOTAL [DISTANCE]]     parse and match in batches, print lines/s
//! squid_e2e match-single LOG [TOTAL]         parse and match one event at a time
//! squid_e2e compare LOG [TOTAL [DISTANCE]]   five ways in one pass, batch by batch
//! squid_e2e parse LOG                        parse only, print lines/s
//! squid_e2e view LOG [TOTAL]                 match views, build only events that hit
//! squid_e2e scan LOG [TOTAL [DISTANCE]]      as view, in batches with prefetch
//! ```
//! `match` reads batches of 1,024 reused events
//! ([`picket_event::EventReader::next_into`] into each slot), as
//! `picket analyze` does, and prefetches the filter words of the event
//! DISTANCE places ahead ([`picket_match::PREFETCH_DISTANCE`] unless given,
//! 0 for none) before it matches each one. `match-single` reads into one
//! reused event and matches it before the next is read.
//! The domain list is the domain indicators of the same set, for the
//! `grep -F -f` / `rg -F -f` baseline on the same log.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[path = "../benches/testdata.rs"]
mod testdata;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Instant;

use picket_event::{Event, EventReader, HttpEvent, IntelHit};
use picket_intel::IndicatorKind;
use picket_match::{Matcher, MatcherBuilder};

/// The allocator the `picket` binary uses, so that the rates match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 42;

/// Indicators generated when the command line gives no TOTAL.
const DEFAULT_INDICATORS: usize = 1_500_000;

/// Events per batch of `match`, as in `picket analyze`.
const BATCH_EVENTS: usize = 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total = || optional_arg(&args, 3, DEFAULT_INDICATORS);
    let distance = || optional_arg(&args, 4, picket_match::PREFETCH_DISTANCE);
    match args.get(1).map(String::as_str) {
        Some("generate") => generate(
            Path::new(&args[2]),
            args[3].parse().unwrap(),
            Path::new(&args[4]),
        ),
        Some("match") => run(Path::new(&args[2]), total(), Some(distance())),
        Some("match-single") => run(Path::new(&args[2]), total(), None),
        Some("compare") => compare(Path::new(&args[2]), total(), distance()),
        Some("parse") => parse_only(Path::new(&args[2])),
        Some("scan") => run_scan(Path::new(&args[2]), total(), distance()),
        Some("view") => run_views(Path::new(&args[2]), total()),
        _ => println!(
            "usage: squid_e2e generate LOG LINES DOMAINS_TXT | squid_e2e match LOG [TOTAL [DISTANCE]] | squid_e2e match-single LOG [TOTAL] | squid_e2e compare LOG [TOTAL [DISTANCE]] | squid_e2e parse LOG | squid_e2e view LOG [TOTAL] | squid_e2e scan LOG [TOTAL [DISTANCE]]"
        ),
    }
}

/// Returns the number at `args[index]`, or `default` when it is missing or
/// not a number.
fn optional_arg(args: &[String], index: usize, default: usize) -> usize {
    args.get(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn generate(log: &Path, lines: usize, domains_txt: &Path) {
    let mut listed = Vec::new();
    let mut list = BufWriter::new(File::create(domains_txt).unwrap());
    testdata::each_indicator(DEFAULT_INDICATORS, SEED, |i| {
        if i.kind == IndicatorKind::Domain {
            writeln!(list, "{}", i.value).unwrap();
            if listed.len() < 20_000 {
                listed.push(i.value);
            }
        }
    });
    list.flush().unwrap();

    let hosts = testdata::lookup_hosts(200_000, &listed, 11);
    let mut rng = testdata::Rng::new(5);
    let mut out = BufWriter::new(File::create(log).unwrap());
    let mut ts = 1_700_000_000u64 * 1000;
    for i in 0..lines {
        ts += rng.below(20);
        let host = rng.pick(&hosts);
        let client = Ipv4Addr::from(0x0a00_0000 | (rng.below(4096) as u32));
        let server = Ipv4Addr::from(testdata::public_v4(&mut rng));
        let (method, url) = if i % 10 == 0 {
            ("CONNECT", format!("{host}:443"))
        } else {
            (
                "GET",
                format!(
                    "http://{host}/{}/{}.js?v={}",
                    testdata::word(&mut rng),
                    testdata::word(&mut rng),
                    rng.below(1000)
                ),
            )
        };
        writeln!(
            out,
            "{}.{:03} {:>6} {client} TCP_MISS/200 {} {method} {url} - HIER_DIRECT/{server} text/html",
            ts / 1000,
            ts % 1000,
            rng.below(2000),
            rng.below(100_000),
        )
        .unwrap();
    }
    out.flush().unwrap();
}

/// Builds the matcher of `total` generated indicators and the corpus's.
fn build_matcher(total: usize) -> Matcher {
    let started = Instant::now();
    let mut builder = MatcherBuilder::new();
    for i in testdata::corpus_indicators() {
        let _ = builder.add(&i);
    }
    testdata::each_indicator(total, SEED, |i| {
        let _ = builder.add(&i);
    });
    let matcher = builder.build();
    println!(
        "matcher: {} indicators in {:.2} s",
        matcher.len(),
        started.elapsed().as_secs_f64()
    );
    matcher
}

/// Matches every event of `log` against `total` generated indicators:
/// in batches with the event `distance` places ahead prefetched, or one
/// at a time when `distance` is `None`.
fn run(log: &Path, total: usize, distance: Option<usize>) {
    let matcher = build_matcher(total);

    let mut hits = Vec::new();
    let (mut matched_events, mut total_hits) = (0u64, 0u64);
    let mut count = |hits: &mut Vec<IntelHit>| {
        if !hits.is_empty() {
            matched_events += 1;
            total_hits += hits.len() as u64;
            hits.clear();
        }
    };
    let pass = match distance {
        None => read_all(log, |event| {
            matcher.match_event(event, &mut hits);
            count(&mut hits);
        }),
        Some(distance) => read_batches(log, |events| {
            match_batch(&matcher, events, distance, &mut hits, &mut count);
        }),
    };

    match distance {
        None => println!("matched one event at a time"),
        Some(distance) => println!(
            "matched in batches of {BATCH_EVENTS}, prefetching {distance} events ahead: {:.2} s wall in matching, {:.0} ns per line",
            pass.matching,
            pass.matching * 1e9 / pass.events as f64
        ),
    }
    println!(
        "parsed and matched {} lines ({} rejected) in {:.2} s wall, {:.2} s CPU: {:.2} M lines/s wall, {:.2} M lines/s CPU time; {matched_events} lines hit, {total_hits} hits",
        pass.events,
        pass.rejected,
        pass.wall,
        pass.cpu,
        pass.events as f64 / pass.wall / 1e6,
        pass.events as f64 / pass.cpu / 1e6
    );
}

/// Matches `events` in order, prefetching for each the filter words of the
/// event `distance` places ahead (none when 0), and hands each event's
/// hits to `each`, which is to clear them.
fn match_batch(
    matcher: &Matcher,
    events: &[Event],
    distance: usize,
    hits: &mut Vec<IntelHit>,
    mut each: impl FnMut(&mut Vec<IntelHit>),
) {
    for (i, event) in events.iter().enumerate() {
        if distance > 0
            && let Some(ahead) = events.get(i + distance)
        {
            matcher.prefetch(ahead);
        }
        matcher.match_event(event, hits);
        each(hits);
    }
}

/// The ways `compare` parses and matches a batch's worth of lines.
const WAYS: [&str; 5] = [
    "one event at a time",
    "batches, no prefetch",
    "batches, prefetch",
    "views, events on hits",
    "view batches, prefetch",
];

/// Parses and matches `log` once, switching batch by batch between the
/// [`WAYS`] and timing each batch. Interleaved so, the ways share
/// the machine's state: a busy neighbour core or a cold cache weighs on
/// each of them alike, which separate runs on a shared machine do not
/// give.
fn compare(log: &Path, total: usize, distance: usize) {
    let matcher = build_matcher(total);
    let mut reader = picket_sources::open(log, &squid_options()).unwrap();
    let mut batch = new_batch();
    let mut hits = Vec::new();
    let (mut nanos, mut lines, mut hit_lines) =
        ([0u128; WAYS.len()], [0u64; WAYS.len()], [0u64; WAYS.len()]);

    let mut ended = false;
    let mut round = 0;
    while !ended {
        let way = round % WAYS.len();
        round += 1;
        let mut hit = 0;
        let mut count = |hits: &mut Vec<IntelHit>| {
            hit += u64::from(!hits.is_empty());
            hits.clear();
        };

        let started = Instant::now();
        let read = if way == 4 {
            let mut visitor = Counter::new(&matcher, distance);
            ended = !reader.visit_batch(BATCH_EVENTS, &mut visitor);
            hit += visitor.kept;
            visitor.records as usize
        } else if way == 3 {
            let mut read = 0;
            let mut keep = |view: &picket_event::EventView<'_>| {
                matcher.match_view(view, &mut hits);
                let hit = !hits.is_empty();
                count(&mut hits);
                hit
            };
            while read < BATCH_EVENTS {
                match reader.next_into_if(&mut batch[0], &mut keep) {
                    Some(Ok(_)) => read += 1,
                    Some(Err(_)) => {}
                    None => {
                        ended = true;
                        break;
                    }
                }
            }
            read
        } else if way == 0 {
            let mut read = 0;
            while read < BATCH_EVENTS {
                match reader.next_into(&mut batch[0]) {
                    Some(Ok(())) => {
                        read += 1;
                        matcher.match_event(&batch[0], &mut hits);
                        count(&mut hits);
                    }
                    Some(Err(_)) => {}
                    None => {
                        ended = true;
                        break;
                    }
                }
            }
            read
        } else {
            let (read, last) = fill(reader.as_mut(), &mut batch);
            ended = last;
            let ahead = if way == 1 { 0 } else { distance };
            match_batch(&matcher, &batch[..read], ahead, &mut hits, &mut count);
            read
        };
        nanos[way] += started.elapsed().as_nanos();
        lines[way] += read as u64;
        hit_lines[way] += hit;
    }

    for (way, label) in WAYS.iter().enumerate() {
        let per_line = nanos[way] as f64 / lines[way].max(1) as f64;
        println!(
            "{label:<22} {:>9} lines {:>6.0} ns per line wall ({:.2} M lines/s), {} lines hit",
            lines[way],
            per_line,
            1e3 / per_line,
            hit_lines[way]
        );
    }
    println!("prefetch distance {distance}, batches of {BATCH_EVENTS}");
}

/// Matches every line of `log` as a view borrowed from the line
/// ([`EventReader::next_into_if`]), and builds the event only for lines
/// that hit, as a run that keeps only the matched events does.
fn run_views(log: &Path, total: usize) {
    let matcher = build_matcher(total);

    let (started, cpu) = (
        Instant::now(),
        testdata::thread_cpu_seconds().unwrap_or(0.0),
    );
    let mut reader = picket_sources::open(log, &squid_options()).unwrap();
    let mut event = Event::from(HttpEvent::default());
    let mut hits = Vec::new();
    let (mut events, mut rejected, mut hit_lines, mut total_hits) = (0u64, 0u64, 0u64, 0u64);
    let mut keep = |view: &picket_event::EventView<'_>| {
        hits.clear();
        matcher.match_view(view, &mut hits);
        total_hits += hits.len() as u64;
        !hits.is_empty()
    };
    while let Some(item) = reader.next_into_if(&mut event, &mut keep) {
        match item {
            Ok(kept) => {
                events += 1;
                hit_lines += u64::from(kept);
            }
            Err(_) => rejected += 1,
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = testdata::thread_cpu_seconds().unwrap_or(0.0) - cpu;

    println!(
        "matched views of {events} lines ({rejected} rejected), building the {hit_lines} events that hit, in {wall:.2} s wall, {cpu:.2} s CPU: {:.2} M lines/s wall, {:.2} M lines/s CPU time; {total_hits} hits",
        events as f64 / wall / 1e6,
        events as f64 / cpu / 1e6
    );
}

/// Matches the views of every line of `log` in batches
/// ([`EventReader::visit_batch`]), prefetching for the view `distance` lines
/// ahead, and builds the event only for lines that hit.
fn run_scan(log: &Path, total: usize, distance: usize) {
    let matcher = build_matcher(total);

    let (started, cpu) = (
        Instant::now(),
        testdata::thread_cpu_seconds().unwrap_or(0.0),
    );
    let mut reader = picket_sources::open(log, &squid_options()).unwrap();
    let mut visitor = Counter::new(&matcher, distance);
    while reader.visit_batch(BATCH_EVENTS, &mut visitor) {}
    let wall = started.elapsed().as_secs_f64();
    let cpu = testdata::thread_cpu_seconds().unwrap_or(0.0) - cpu;

    let Counter {
        records,
        rejected,
        kept,
        hits,
        ..
    } = visitor;
    println!(
        "matched views of {records} lines ({rejected} rejected) in batches of {BATCH_EVENTS}, prefetching {distance} lines ahead, building the {kept} events that hit, in {wall:.2} s wall, {cpu:.2} s CPU: {:.2} M lines/s wall, {:.2} M lines/s CPU time; {hits} hits",
        records as f64 / wall / 1e6,
        records as f64 / cpu / 1e6
    );
}

/// A [`picket_event::RecordVisitor`] that matches each view, prefetches
/// ahead and counts.
struct Counter<'m> {
    matcher: &'m Matcher,
    distance: usize,
    hits: u64,
    buffer: Vec<IntelHit>,
    records: u64,
    rejected: u64,
    kept: u64,
}

impl<'m> Counter<'m> {
    fn new(matcher: &'m Matcher, distance: usize) -> Self {
        Counter {
            matcher,
            distance,
            hits: 0,
            buffer: Vec::new(),
            records: 0,
            rejected: 0,
            kept: 0,
        }
    }
}

impl picket_event::RecordVisitor for Counter<'_> {
    fn ahead_distance(&self) -> usize {
        self.distance
    }

    fn ahead(&mut self, view: &picket_event::EventView<'_>) {
        self.matcher.prefetch_view(view);
    }

    fn keep(&mut self, view: &picket_event::EventView<'_>) -> bool {
        self.records += 1;
        self.buffer.clear();
        self.matcher.match_view(view, &mut self.buffer);
        self.hits += self.buffer.len() as u64;
        !self.buffer.is_empty()
    }

    fn event(&mut self, _event: &Event) {
        self.kept += 1;
    }

    fn rejected(&mut self, _rejection: picket_event::Rejection) {
        self.rejected += 1;
    }
}

/// Parses every line without matching: the parser's share of `run`.
fn parse_only(log: &Path) {
    let mut hosts = 0usize;
    let pass = read_all(log, |event| {
        if let Event::Http(http) = event {
            hosts += http.host.as_ref().map_or(0, String::len);
        }
    });
    println!(
        "parsed {} lines ({} rejected, {hosts} host bytes) in {:.2} s wall, {:.2} s CPU: {:.2} M lines/s wall, {:.2} M lines/s CPU time",
        pass.events,
        pass.rejected,
        pass.wall,
        pass.cpu,
        pass.events as f64 / pass.wall / 1e6,
        pass.events as f64 / pass.cpu / 1e6
    );
}

/// Counts and times of one pass over a log.
struct Pass {
    events: u64,
    rejected: u64,
    /// Seconds of wall time.
    wall: f64,
    /// Seconds of this thread's CPU time.
    cpu: f64,
    /// Seconds of wall time spent in the batches' callback, zero when
    /// reading one event at a time.
    matching: f64,
}

/// Reads the Squid log into one reused event, as a streaming matcher does,
/// and hands each event to `each`.
fn read_all(log: &Path, mut each: impl FnMut(&Event)) -> Pass {
    let (started, cpu) = (
        Instant::now(),
        testdata::thread_cpu_seconds().unwrap_or(0.0),
    );
    let mut reader = picket_sources::open(log, &squid_options()).unwrap();
    let (mut events, mut rejected) = (0u64, 0u64);
    let mut event = Event::from(HttpEvent::default());
    while let Some(item) = reader.next_into(&mut event) {
        match item {
            Ok(()) => {
                events += 1;
                each(&event);
            }
            Err(_) => rejected += 1,
        }
    }
    Pass {
        events,
        rejected,
        wall: started.elapsed().as_secs_f64(),
        cpu: testdata::thread_cpu_seconds().unwrap_or(0.0) - cpu,
        matching: 0.0,
    }
}

/// Reads the Squid log into a batch of [`BATCH_EVENTS`] reused events,
/// refilling each slot in place as `picket analyze` does, and hands every
/// full batch (and the last, shorter one) to `each`.
fn read_batches(log: &Path, mut each: impl FnMut(&[Event])) -> Pass {
    let (started, cpu) = (
        Instant::now(),
        testdata::thread_cpu_seconds().unwrap_or(0.0),
    );
    let mut reader = picket_sources::open(log, &squid_options()).unwrap();
    let mut batch = new_batch();
    let (mut events, mut matching) = (0u64, 0.0);
    loop {
        let (read, ended) = fill(reader.as_mut(), &mut batch);
        events += read as u64;

        let before = Instant::now();
        each(&batch[..read]);
        matching += before.elapsed().as_secs_f64();
        if ended {
            break;
        }
    }
    Pass {
        events,
        rejected: reader.stats().rejected,
        wall: started.elapsed().as_secs_f64(),
        cpu: testdata::thread_cpu_seconds().unwrap_or(0.0) - cpu,
        matching,
    }
}

/// Returns a batch of [`BATCH_EVENTS`] empty HTTP events to read into.
fn new_batch() -> Vec<Event> {
    (0..BATCH_EVENTS)
        .map(|_| Event::from(HttpEvent::default()))
        .collect()
}

/// Reads events into the slots of `batch` until it is full or the log
/// ends, skipping rejected lines. Returns how many slots were filled and
/// whether the log ended.
fn fill(reader: &mut dyn EventReader, batch: &mut [Event]) -> (usize, bool) {
    let mut read = 0;
    while read < batch.len() {
        match reader.next_into(&mut batch[read]) {
            Some(Ok(())) => read += 1,
            Some(Err(_)) => {}
            None => return (read, true),
        }
    }
    (read, false)
}

/// Options that open the log as Squid native without detection.
fn squid_options() -> picket_sources::OpenOptions {
    picket_sources::OpenOptions {
        format: Some(picket_sources::Format::Squid),
        ..picket_sources::OpenOptions::default()
    }
}
