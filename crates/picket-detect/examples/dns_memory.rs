//! Memory each DNS detector keeps per tracked key, measured as the growth
//! of the process's resident memory while one detector alone takes events
//! that each add one key.
//!
//! `cargo run --release -p picket-detect --example dns_memory -- [KEYS]`
//!
//! KEYS (default 40,000) stays under every table's default capacity, so
//! nothing is evicted and the figure is the cost of a key that is kept. The
//! busy `dns.tunnel` case sends all KEYS queries to one key and reports its
//! whole growth.
//! Events are built one at a time and alerts are dropped as they come, so
//! the growth is the detector's own state, hash table slack included. The
//! example uses the system allocator, because its resident growth follows
//! small allocations closely. mimalloc, which the `picket` binary uses,
//! commits memory in larger steps and makes the figures noisy.
#![allow(missing_docs, clippy::print_stdout)]

use std::io::Read;
use std::net::IpAddr;

use picket_detect::dns::{DnsConfig, detectors};
use picket_event::dns::ResponseCode;
use picket_event::{Detector, DnsEvent, Event, RecordType, ResourceRecord, Timestamp};

/// Bytes per page of /proc/self/statm: 4 KiB on x86-64 and most Arm Linux.
const PAGE_BYTES: u64 = 4096;

/// Resident memory of this process in bytes.
fn resident_bytes() -> u64 {
    // The statm line is under a hundred bytes, so one read of 256 bytes has it.
    let mut buffer = [0u8; 256];
    let read = std::fs::File::open("/proc/self/statm")
        .and_then(|mut file| file.read(&mut buffer))
        .unwrap_or(0);
    let statm = String::from_utf8_lossy(&buffer[..read]);
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * PAGE_BYTES
}

/// Builds the one detector of the set with id `id`, the others turned off.
fn only(id: &str) -> Box<dyn Detector> {
    let mut config = DnsConfig::default();
    config.dga.enabled = id == "dns.dga";
    config.tunnel.enabled = id == "dns.tunnel";
    config.fast_flux.enabled = id == "dns.fast_flux";
    config.sinkhole.enabled = id == "dns.sinkhole";
    config.new_domain.enabled = id == "dns.new_domain";
    let mut set = detectors(&config);
    assert_eq!(set.len(), 1, "{id} is not a DNS detector id");
    set.remove(0)
}

fn event(
    i: u64,
    client: IpAddr,
    name: String,
    rcode: ResponseCode,
    answers: Vec<ResourceRecord>,
) -> Event {
    Event::Dns(DnsEvent {
        timestamp: Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64 * 1_000_000),
        client_ip: Some(client),
        query_name: name,
        query_type: Some(RecordType::A),
        rcode: Some(rcode),
        answers,
        ..DnsEvent::default()
    })
}

fn client(i: u64) -> IpAddr {
    IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8])
}

/// Returns a label the DGA model scores as random, different for every `i`.
fn random_label(i: u64) -> String {
    let mut state = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..14)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b"bcdfghjklmnpqrstvwxz0123456789"[(state % 30) as usize])
        })
        .collect()
}

fn a_records(name: &str, i: u64, count: u64, ttl: u32) -> Vec<ResourceRecord> {
    (0..count)
        .map(|k| ResourceRecord {
            name: name.to_owned(),
            rtype: RecordType::A,
            class: 1,
            ttl,
            data: format!(
                "{}.{}.{}.{}",
                11 + k * 17 % 200,
                (i >> 8) as u8,
                i as u8,
                k + 1
            ),
        })
        .collect()
}

/// Feeds events that touch every lazily built part of the detectors (the lexical
/// model, the suffix list, the per-thread name caches), from clients and
/// domains no case uses, so that the growth measured after them is state.
fn warm_up(detector: &mut dyn Detector, alerts: &mut Vec<picket_event::Alert>) {
    for i in 0..WARM_UP_EVENTS {
        let warm_client = IpAddr::from([172, 16, (i >> 8) as u8, i as u8]);
        let name = format!("{}.w{i}.warmup.net", random_label(i + 1_000_000_000));
        let (rcode, answers) = if i % 2 == 0 {
            (ResponseCode::NXDOMAIN, Vec::new())
        } else {
            (ResponseCode::NOERROR, a_records(&name, i, 2, 60))
        };
        detector.observe(&event(i, warm_client, name, rcode, answers), &[], alerts);
        alerts.clear();
    }
}

/// Warm-up events per case: enough to fill the per-thread caches.
const WARM_UP_EVENTS: u64 = 4_000;

/// Feeds `count` events from `make` to the detector, after the warm-up,
/// and returns the resident growth in bytes.
fn growth(detector: &mut dyn Detector, count: u64, make: &dyn Fn(u64) -> Event) -> u64 {
    let mut alerts = Vec::new();
    warm_up(detector, &mut alerts);
    let before = resident_bytes();
    for i in 0..count {
        detector.observe(&make(i), &[], &mut alerts);
        alerts.clear();
    }
    resident_bytes().saturating_sub(before)
}

/// A measurement: the detector, what one key is, and whether every event
/// adds a key (otherwise all events go to one key).
struct Case {
    id: &'static str,
    key: &'static str,
    key_per_event: bool,
    make: Box<dyn Fn(u64) -> Event>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "dns.dga",
            key: "client with one random NXDOMAIN name",
            key_per_event: true,
            make: Box::new(|i| {
                event(
                    i,
                    client(i),
                    format!("{}.com", random_label(i)),
                    ResponseCode::NXDOMAIN,
                    Vec::new(),
                )
            }),
        },
        Case {
            id: "dns.tunnel",
            key: "(client, registered domain) with one subdomain",
            key_per_event: true,
            make: Box::new(|i| {
                let name = format!("{}.d{i}.com", random_label(i));
                event(i, client(i % 1000), name, ResponseCode::NOERROR, Vec::new())
            }),
        },
        Case {
            id: "dns.tunnel",
            key: "one busy (client, registered domain): a new hex label per query",
            key_per_event: false,
            make: Box::new(|i| {
                let name = format!(
                    "{:016x}{:016x}.t.tunnel-example.com",
                    i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                    i
                );
                event(i, client(1), name, ResponseCode::NOERROR, Vec::new())
            }),
        },
        Case {
            id: "dns.fast_flux",
            key: "name answered with 4 A records, TTL 60",
            key_per_event: true,
            make: Box::new(|i| {
                let name = format!("www.n{i}.com");
                let answers = a_records(&name, i, 4, 60);
                event(i, client(i % 1000), name, ResponseCode::NOERROR, answers)
            }),
        },
        Case {
            id: "dns.new_domain",
            key: "registered domain resolved once",
            key_per_event: true,
            make: Box::new(|i| {
                let name = format!("www.n{i}.com");
                let answers = a_records(&name, i, 1, 3600);
                event(i, client(i % 1000), name, ResponseCode::NOERROR, answers)
            }),
        },
        Case {
            id: "dns.sinkhole",
            key: "(client, name) reported in a sinkhole range",
            key_per_event: true,
            make: Box::new(|i| {
                let name = format!("c2.n{i}.com");
                let mut answers = a_records(&name, i, 1, 300);
                answers[0].data = format!("143.215.130.{}", i % 250 + 1);
                event(i, client(i), name, ResponseCode::NOERROR, answers)
            }),
        },
    ]
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let keys: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(40_000);

    // Each case runs in a process of its own: memory freed by one case
    // would otherwise be reused by the next without growing the resident set.
    if let Some(index) = args.next().and_then(|a| a.parse::<usize>().ok()) {
        let case = &cases()[index];
        let mut detector = only(case.id);
        let bytes = growth(detector.as_mut(), keys, &*case.make);
        let (per, unit) = if case.key_per_event {
            (bytes as f64 / keys as f64, "per key")
        } else {
            (bytes as f64, "for the key")
        };
        println!(
            "| `{}` | {} | {keys} | {per:.0} {unit} |",
            case.id, case.key
        );
        return Ok(());
    }

    println!("| detector | key | events fed | resident growth (bytes) |");
    println!("|---|---|---|---|");
    let exe = std::env::current_exe()?;
    for index in 0..cases().len() {
        let status = std::process::Command::new(&exe)
            .arg(keys.to_string())
            .arg(index.to_string())
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "case {index} failed: {status}"
            )));
        }
    }
    Ok(())
}
