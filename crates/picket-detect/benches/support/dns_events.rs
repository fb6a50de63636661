//! The generated DNS events of the detector benchmark, shared by
//! `benches/dns_detectors.rs` and `examples/dns_rate.rs`.

use std::net::IpAddr;

use picket_detect::dns::{DnsConfig, detectors};
use picket_event::dns::ResponseCode;
use picket_event::{DnsEvent, Event, RecordType, ResourceRecord, Timestamp};

/// Returns `count` events from 200 clients: popular names that resolve and,
/// one event in `suspicious_every` each, random-looking NXDOMAIN names and
/// long encoded subdomains. `suspicious_every = 0` gives popular names only.
pub fn events(count: usize, suspicious_every: u64) -> Vec<Event> {
    let popular = [
        "www.google.com",
        "mail.example.org",
        "cdn.wikipedia.org",
        "api.github.com",
        "login.microsoftonline.com",
        "static.xx.fbcdn.net",
        "www.bbc.co.uk",
        "s3.eu-west-1.amazonaws.com",
        "update.mozilla.org",
        "news.ycombinator.com",
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|i| {
            let r = next();
            let pick = if suspicious_every == 0 {
                2
            } else {
                r % suspicious_every
            };
            let (name, rcode) = match pick {
                0 => (format!("{:x}.com", r >> 20), ResponseCode::NXDOMAIN),
                1 => (
                    format!("{:x}{:x}.tunnel.example.net", r, r >> 3),
                    ResponseCode::NOERROR,
                ),
                _ => (
                    popular[(r >> 8) as usize % popular.len()].to_owned(),
                    ResponseCode::NOERROR,
                ),
            };
            let answers = if rcode == ResponseCode::NOERROR {
                vec![ResourceRecord {
                    name: name.clone(),
                    rtype: RecordType::A,
                    class: 1,
                    ttl: 300,
                    data: format!("198.51.100.{}", r % 200),
                }]
            } else {
                Vec::new()
            };
            Event::Dns(DnsEvent {
                timestamp: Timestamp::from_nanos(1_600_000_000_000_000_000 + i as i64 * 1_000_000),
                client_ip: Some(IpAddr::from([
                    10,
                    1,
                    (r >> 40) as u8 % 4,
                    (r >> 32) as u8 % 50,
                ])),
                query_name: name,
                query_type: Some(RecordType::A),
                rcode: Some(rcode),
                answers,
                ..DnsEvent::default()
            })
        })
        .collect()
}

/// Runs all DNS detectors, built afresh, over `events`; returns the alerts.
pub fn run_all(events: &[Event]) -> usize {
    let mut detectors = detectors(&DnsConfig::default());
    let mut alerts = Vec::new();
    for event in events {
        for detector in &mut detectors {
            detector.observe(event, &[], &mut alerts);
        }
    }
    for detector in &mut detectors {
        detector.finish(&mut alerts);
    }
    alerts.len()
}
