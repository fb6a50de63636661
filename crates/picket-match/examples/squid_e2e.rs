//! End to end on a Squid access log: parse every line with picket's Squid
//! reader and match each event against 1.5 million indicators, on one core.
//!
//! ```text
//! squid_e2e generate LOG LINES DOMAINS_TXT   write a log and the domain list
//! squid_e2e match LOG [TOTAL]                parse and match, print lines/s
//! squid_e2e parse LOG                        parse only, print lines/s
//! ```
//! Events are read one at a time into one reused event
//! ([`picket_event::EventReader::next_into`]), as a streaming matcher does.
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

use picket_event::{Event, HttpEvent};
use picket_intel::IndicatorKind;
use picket_match::MatcherBuilder;

/// The allocator the `picket` binary uses, so that the rates match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 42;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("generate") => generate(
            Path::new(&args[2]),
            args[3].parse().unwrap(),
            Path::new(&args[4]),
        ),
        Some("match") => run(
            Path::new(&args[2]),
            args.get(3)
                .and_then(|a| a.parse().ok())
                .unwrap_or(1_500_000),
        ),
        Some("parse") => parse_only(Path::new(&args[2])),
        _ => println!(
            "usage: squid_e2e generate LOG LINES DOMAINS_TXT | squid_e2e match LOG [TOTAL] | squid_e2e parse LOG"
        ),
    }
}

fn generate(log: &Path, lines: usize, domains_txt: &Path) {
    let mut listed = Vec::new();
    let mut list = BufWriter::new(File::create(domains_txt).unwrap());
    testdata::each_indicator(1_500_000, SEED, |i| {
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

fn run(log: &Path, total: usize) {
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

    let mut hits = Vec::new();
    let (mut matched_events, mut total_hits) = (0u64, 0u64);
    let pass = read_all(log, |event| {
        matcher.match_event(event, &mut hits);
        if !hits.is_empty() {
            matched_events += 1;
            total_hits += hits.len() as u64;
            hits.clear();
        }
    });
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
}

/// Reads the Squid log into one reused event, as a streaming matcher does,
/// and hands each event to `each`.
fn read_all(log: &Path, mut each: impl FnMut(&Event)) -> Pass {
    let options = picket_sources::OpenOptions {
        format: Some(picket_sources::Format::Squid),
        ..picket_sources::OpenOptions::default()
    };
    let (started, cpu) = (
        Instant::now(),
        testdata::thread_cpu_seconds().unwrap_or(0.0),
    );
    let mut reader = picket_sources::open(log, &options).unwrap();
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
    }
}
