//! Replays a proxy log through every HTTP detector and reports throughput,
//! for BENCHMARKS.md:
//!
//! ```text
//! cargo run --release -p picket-detect --example http_replay -- LOG [BATCH [per-detector]]
//! ```
//!
//! Lines are parsed in batches (default 100,000 events). Parsing and
//! detection are timed apart, both on one core. Every event goes through
//! all detectors before the next one, as `picket analyze` runs them. With
//! `per-detector`, each detector takes the whole batch in turn instead, so
//! that its own CPU time can be read. Prints the lines per second of each,
//! and the alerts per detector with their hosts.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::disallowed_methods
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use picket_detect::http::{HttpConfig, detectors};
use picket_sources::{OpenOptions, open};

/// The allocator the `picket` binary uses, so that the rates match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU time this thread has run, from `/proc/thread-self/schedstat` (Linux),
/// so that the rates hold on a loaded machine; `None` elsewhere.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: http_replay LOG [BATCH]");
        std::process::exit(2);
    };
    let batch: usize = args.next().and_then(|b| b.parse().ok()).unwrap_or(100_000);
    let interleaved = args.next().is_none_or(|mode| mode != "per-detector");

    let mut reader = open(&path, &OpenOptions::default()).unwrap();
    let mut all = detectors(&HttpConfig::default());
    let mut alerts = Vec::new();
    let (mut parse_time, mut detect_time) = (Duration::ZERO, Duration::ZERO);
    let (mut parse_cpu, mut detect_cpu) = (Duration::ZERO, Duration::ZERO);
    let (mut events_total, mut rejected) = (0u64, 0u64);
    let mut per_detector_cpu = vec![Duration::ZERO; all.len()];

    loop {
        let started = Instant::now();
        let cpu_started = thread_cpu();
        let mut events = Vec::with_capacity(batch);
        for item in reader.by_ref() {
            match item {
                Ok(event) => events.push(event),
                Err(_) => rejected += 1,
            }
            if events.len() == batch {
                break;
            }
        }
        parse_time += started.elapsed();
        parse_cpu += thread_cpu()
            .zip(cpu_started)
            .map_or(Duration::ZERO, |(b, a)| b.saturating_sub(a));
        if events.is_empty() {
            break;
        }
        events_total += events.len() as u64;

        // Each detector takes the whole batch in turn, so that its own CPU
        // time can be read. Detectors share no state, so this order finds
        // the same alerts.
        let started = Instant::now();
        if interleaved {
            let cpu_started = thread_cpu();
            for event in &events {
                for detector in &mut all {
                    detector.observe(event, &[], &mut alerts);
                }
            }
            detect_cpu += thread_cpu()
                .zip(cpu_started)
                .map_or(Duration::ZERO, |(b, a)| b.saturating_sub(a));
            detect_time += started.elapsed();
            continue;
        }
        for (detector, cpu) in all.iter_mut().zip(per_detector_cpu.iter_mut()) {
            let cpu_started = thread_cpu();
            for event in &events {
                detector.observe(event, &[], &mut alerts);
            }
            let spent = thread_cpu()
                .zip(cpu_started)
                .map_or(Duration::ZERO, |(b, a)| b.saturating_sub(a));
            *cpu += spent;
            detect_cpu += spent;
        }
        detect_time += started.elapsed();
    }
    let started = Instant::now();
    let cpu_started = thread_cpu();
    for (detector, cpu) in all.iter_mut().zip(per_detector_cpu.iter_mut()) {
        let finish_started = thread_cpu();
        detector.finish(&mut alerts);
        *cpu += thread_cpu()
            .zip(finish_started)
            .map_or(Duration::ZERO, |(b, a)| b.saturating_sub(a));
    }
    detect_time += started.elapsed();
    detect_cpu += thread_cpu()
        .zip(cpu_started)
        .map_or(Duration::ZERO, |(b, a)| b.saturating_sub(a));

    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!("events {events_total} rejected {rejected}");
    println!(
        "parse   wall {:>8.2} s  cpu {:>8.2} s  {:>10.0} lines/s per core",
        parse_time.as_secs_f64(),
        parse_cpu.as_secs_f64(),
        rate(events_total, parse_cpu)
    );
    println!(
        "detect  wall {:>8.2} s  cpu {:>8.2} s  {:>10.0} lines/s per core (all HTTP detectors)",
        detect_time.as_secs_f64(),
        detect_cpu.as_secs_f64(),
        rate(events_total, detect_cpu)
    );
    for (detector, cpu) in all.iter().zip(&per_detector_cpu) {
        println!(
            "  {:<28} cpu {:>8.2} s  {:>10.0} lines/s per core",
            detector.id(),
            cpu.as_secs_f64(),
            rate(events_total, *cpu)
        );
    }

    let mut by_detector: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for alert in &alerts {
        let host = alert.host.map_or_else(|| "-".to_owned(), |h| h.to_string());
        *by_detector
            .entry(alert.detector.as_str())
            .or_default()
            .entry(host)
            .or_default() += 1;
    }
    for (detector, hosts) in by_detector {
        let total: usize = hosts.values().sum();
        let mut top: Vec<(String, usize)> = hosts.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let shown: Vec<String> = top
            .iter()
            .take(5)
            .map(|(h, n)| format!("{h}x{n}"))
            .collect();
        println!(
            "{detector:<28} {total:>7} alerts, {} hosts; top: {}",
            top.len(),
            shown.join(" ")
        );
    }
    for alert in alerts
        .iter()
        .filter(|a| a.detector == "http.drive_by_chain" || a.detector == "http.beacon")
        .take(10)
    {
        println!("  {} {:.2} {}", alert.detector, alert.score, alert.summary);
    }
}
