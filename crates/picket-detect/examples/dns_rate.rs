//! Detector throughput in events per CPU second: all DNS detectors over the
//! generated events of `benches/dns_detectors.rs`, for a machine shared with
//! other work, where wall-clock rates understate a core.
//!
//! `cargo run --release -p picket-detect --example dns_rate -- [EVERY] [ROUNDS]`
//!
//! One event in EVERY is suspicious (0: popular names only, default 100).
//! ROUNDS is the number of passes over 100,000 events (default 50), with the
//! detectors built afresh per pass as in the benchmark. The example prints
//! the wall and CPU time of the passes.
#![allow(missing_docs, clippy::print_stdout)]

use std::hint::black_box;
use std::io::Read;
use std::time::Instant;

#[path = "../benches/support/dns_events.rs"]
mod dns_events;

use dns_events::{events, run_all};

/// CPU time this thread has used, in seconds.
fn thread_cpu_secs() -> f64 {
    // The stat line is a few hundred bytes, so one read of 4 KiB contains it.
    let mut buffer = [0u8; 4096];
    let read = std::fs::File::open("/proc/thread-self/stat")
        .and_then(|mut file| file.read(&mut buffer))
        .unwrap_or(0);
    let stat = String::from_utf8_lossy(&buffer[..read]);
    // Fields after the command name, which is in parentheses and may hold
    // spaces; utime and stime are fields 14 and 15 of the whole line.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks_per_sec()
}

/// Clock ticks per second of /proc times (USER_HZ): 100 on x86 and Arm
/// Linux.
fn clock_ticks_per_sec() -> f64 {
    100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let every: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let events = events(100_000, every);

    let cpu_start = thread_cpu_secs();
    let wall_start = Instant::now();
    let mut alerts = 0;
    for _ in 0..rounds {
        alerts += black_box(run_all(&events));
    }
    let wall = wall_start.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs() - cpu_start;

    let total = (rounds * events.len()) as f64;
    println!(
        "1 in {every} suspicious, {rounds} x {} events, {} alerts per pass: wall {wall:.2} s = {:.2} M events/s; CPU {cpu:.2} s = {:.2} M events per CPU second",
        events.len(),
        alerts / rounds.max(1),
        total / wall / 1e6,
        total / cpu.max(1e-9) / 1e6
    );
}
