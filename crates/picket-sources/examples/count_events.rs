//! Reads log files with picket-sources and prints events, rejections, lines/s
//! and MB/s: the end-to-end parse throughput figure of BENCHMARKS.md.
//!
//! `cargo run --release -p picket-sources --example count_events -- FILE...`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Instant;

use picket_sources::{OpenOptions, open};

fn main() {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: count_events FILE...");
        std::process::exit(2);
    }
    for path in paths {
        let start = Instant::now();
        let mut reader = match open(&path, &OpenOptions::default()) {
            Ok(reader) => reader,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        let mut events = 0u64;
        let mut rejected = 0u64;
        for item in reader.by_ref() {
            match item {
                Ok(_) => events += 1,
                Err(_) => rejected += 1,
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let stats = reader.stats();
        println!(
            "{}\t{}\tlines {}\tevents {events}\trejected {rejected}\t{:.3} s\t{:.0} lines/s\t{:.1} MB/s",
            path.display(),
            reader.format_name(),
            stats.records + stats.skipped,
            secs,
            (stats.records + stats.skipped) as f64 / secs,
            stats.bytes as f64 / secs / 1e6
        );
    }
}
