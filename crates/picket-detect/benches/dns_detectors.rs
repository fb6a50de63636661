//! Throughput of the DNS detectors: events per second through all of them,
//! and the lexical model alone.
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picket_detect::dns::model::DgaModel;
use picket_detect::dns::{DnsConfig, detectors};
use picket_event::dns::ResponseCode;
use picket_event::{DnsEvent, Event, RecordType, ResourceRecord, Timestamp};

/// A mix of popular names resolving with, one event in `suspicious_every`
/// each, random-looking NXDOMAIN names and long encoded subdomains; 200
/// clients. `suspicious_every = 0` gives popular names only.
fn events(count: usize, suspicious_every: u64) -> Vec<Event> {
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

fn run_all(events: &[Event]) -> usize {
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

fn all_detectors(c: &mut Criterion) {
    let mut group = c.benchmark_group("dns_detectors");
    group.sample_size(10);
    for (label, every) in [
        ("popular_names_only", 0),
        ("one_in_100_suspicious", 100),
        ("one_in_10_suspicious", 10),
    ] {
        let events = events(100_000, every);
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_function(label, |b| b.iter(|| black_box(run_all(&events))));
    }
    group.finish();
}

fn lexical_model(c: &mut Criterion) {
    let model = DgaModel::shipped();
    let labels = [
        "google",
        "wikipedia",
        "xkqzjwpvbn",
        "earnestnessbiophysicalohax",
        "a1b2c3d4e5f6",
        "mail",
    ];
    let mut group = c.benchmark_group("dga_model");
    group.throughput(Throughput::Elements(labels.len() as u64));
    group.bench_function("score_6_labels", |b| {
        b.iter(|| {
            labels
                .iter()
                .map(|l| model.score(black_box(l), "com").score)
                .sum::<f64>()
        });
    });
    group.finish();
}

criterion_group!(benches, all_detectors, lexical_model);
// The macro below writes `main`, which needs no documentation.
criterion_main!(benches);
