//! Prints the events of a capture as JSON lines: `dump FILE...` (`-` reads
//! standard input). Rejections and the run's counts go to standard error.
//!
//! With `--count`, prints only the number of events of each kind, which
//! measures decoding without the cost of JSON output. `--no-digests` sets
//! `max_body_hash_bytes` to 0, to measure decoding without body hashing.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use picket_decode::{CaptureReader, DecodeConfig};
use picket_event::{Event, EventReader};

/// The allocator the `picket` binary uses, so that timings match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut count_only = false;
    let mut config = DecodeConfig::default();
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--no-digests" {
            config.max_body_hash_bytes = 0;
        } else if arg == "--count" {
            count_only = true;
        } else {
            files.push(arg);
        }
    }
    if files.is_empty() {
        eprintln!("usage: dump [--count] [--no-digests] FILE...");
        return ExitCode::from(2);
    }

    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = false;
    for file in files {
        let reader = if file == "-" {
            CaptureReader::from_reader(std::io::stdin(), "-", config.clone())
        } else {
            CaptureReader::open(Path::new(&file), config.clone())
        };
        let mut reader = match reader {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{file}: {e}");
                failed = true;
                continue;
            }
        };
        let (mut dns, mut http, mut tls) = (0u64, 0u64, 0u64);
        for item in reader.by_ref() {
            match item {
                Ok(event) => {
                    match &event {
                        Event::Dns(_) => dns += 1,
                        Event::Http(_) => http += 1,
                        Event::Tls(_) => tls += 1,
                    }
                    if !count_only {
                        let line = serde_json::to_string(&event).unwrap_or_default();
                        if writeln!(out, "{line}").is_err() {
                            return ExitCode::SUCCESS;
                        }
                    }
                }
                Err(rejection) => eprintln!("{rejection}"),
            }
        }
        if count_only {
            let _ = writeln!(out, "{file}\tdns={dns}\thttp={http}\ttls={tls}");
        }
        eprintln!("{file}: {:?}", reader.stats());
        eprintln!("{file}: {:?}", reader.capture_stats());
    }
    let _ = out.flush();
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
