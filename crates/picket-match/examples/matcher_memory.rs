//! Builds a matcher from generated indicators plus the corpus feeds and
//! prints build time, resident memory and lookup rates.
//!
//! `cargo run --release -p picket-match --example matcher_memory -- [TOTAL]`
//! (TOTAL defaults to 1,500,000).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[path = "../benches/testdata.rs"]
mod testdata;

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use picket_event::MatchedField;
use picket_match::MatcherBuilder;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_500_000);
    let base = testdata::rss_bytes().unwrap_or(0);

    let corpus = testdata::corpus_indicators();
    let mut builder = MatcherBuilder::new();
    let mut added = 0usize;
    for i in &corpus {
        if builder.add(i).is_ok() {
            added += 1;
        }
    }
    let corpus_count = added;
    let mut listed = Vec::new();
    let started = Instant::now();
    testdata::each_indicator(total.saturating_sub(corpus_count), 42, |i| {
        if i.kind == picket_intel::IndicatorKind::Domain && listed.len() < 10_000 {
            listed.push(i.value.clone());
        }
        if builder.add(&i).is_ok() {
            added += 1;
        }
    });
    drop(corpus);
    let add_time = started.elapsed();
    let before_build = testdata::rss_bytes().unwrap_or(0);

    let started = Instant::now();
    let matcher = builder.build();
    let build_time = started.elapsed();
    let after = testdata::rss_bytes().unwrap_or(0);
    let stats = matcher.stats();

    println!(
        "indicators added: {added} ({corpus_count} from the corpus feeds), distinct compiled: {}",
        matcher.len()
    );
    println!(
        "add (normalise + append): {:.2} s; build (sort, merge, lay out): {:.2} s",
        add_time.as_secs_f64(),
        build_time.as_secs_f64()
    );
    println!("stats: {stats:?}");
    println!(
        "matcher heap: {:.1} MiB; VmRSS: baseline {:.1} MiB, builder filled {:.1} MiB, after build {:.1} MiB => matcher resident {:.1} MiB",
        mib(stats.heap_bytes as u64),
        mib(base),
        mib(before_build),
        mib(after),
        mib(after.saturating_sub(base))
    );

    let hosts = testdata::lookup_hosts(4_000_000, &listed, 7);
    let mut hits = Vec::new();
    let (started, cpu) = (
        Instant::now(),
        testdata::thread_cpu_seconds().unwrap_or(0.0),
    );
    for h in &hosts {
        matcher.match_domain(black_box(h), MatchedField::HttpHost, &mut hits);
    }
    let (dt, dcpu) = (
        started.elapsed().as_secs_f64(),
        testdata::thread_cpu_seconds().unwrap_or(0.0) - cpu,
    );
    println!(
        "domain lookups: {:.1} M/s wall, {:.1} M/s CPU time ({} hits over {} names)",
        hosts.len() as f64 / dt / 1e6,
        hosts.len() as f64 / dcpu / 1e6,
        hits.len(),
        hosts.len()
    );

    let mut rng = testdata::Rng::new(9);
    let ips: Vec<IpAddr> = (0..8_000_000)
        .map(|_| IpAddr::V4(Ipv4Addr::from(testdata::public_v4(&mut rng))))
        .collect();
    hits.clear();
    let (started, cpu) = (
        Instant::now(),
        testdata::thread_cpu_seconds().unwrap_or(0.0),
    );
    for ip in &ips {
        matcher.match_ip(black_box(*ip), MatchedField::ServerIp, &mut hits);
    }
    let (dt, dcpu) = (
        started.elapsed().as_secs_f64(),
        testdata::thread_cpu_seconds().unwrap_or(0.0) - cpu,
    );
    println!(
        "IPv4 lookups (uniformly random public addresses): {:.1} M/s wall, {:.1} M/s CPU time ({} hits)",
        ips.len() as f64 / dt / 1e6,
        ips.len() as f64 / dcpu / 1e6,
        hits.len()
    );

    // Server addresses as traffic has them: a working set of popular hosts.
    let popular: Vec<IpAddr> = ips.iter().take(20_000).copied().collect();
    let traffic: Vec<IpAddr> = (0..8_000_000)
        .map(|_| popular[(rng.below(140) * rng.below(140)) as usize % popular.len()])
        .collect();
    hits.clear();
    let (started, cpu) = (
        Instant::now(),
        testdata::thread_cpu_seconds().unwrap_or(0.0),
    );
    for ip in &traffic {
        matcher.match_ip(black_box(*ip), MatchedField::ServerIp, &mut hits);
    }
    let (dt, dcpu) = (
        started.elapsed().as_secs_f64(),
        testdata::thread_cpu_seconds().unwrap_or(0.0) - cpu,
    );
    println!(
        "IPv4 lookups (20,000-address working set, skewed): {:.1} M/s wall, {:.1} M/s CPU time ({} hits)",
        traffic.len() as f64 / dt / 1e6,
        traffic.len() as f64 / dcpu / 1e6,
        hits.len()
    );
}
