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

/// A realistic mix: mostly popular names resolving, some NXDOMAIN, some
/// random-looking names, some long subdomains; 200 clients.
fn events(count: usize) -> Vec<Event> {
    let popular = [
        "www.google.com", "mail.example.org", "cdn.wikipedia.org", "api.github.com", "login.microsoftonline.com",
        "static.xx.fbcdn.net", "www.bbc.co.uk", "s3.eu-west-1.amazonaws.com", "update.mozilla.org", "news.ycombinator.com",
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
            let (name, rcode) = match r % 20 {
                0 => (format!("{:x}.com", r >> 20), ResponseCode::NXDOMAIN),
                1 => (format!("{:x}{:x}.tunnel.example.net", r, r >> 3), ResponseCode::NOERROR),
                _ => (popular[(r >> 8) as usize % popular.len()].to_owned(), ResponseCode::NOERROR),
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
                client_ip: Some(IpAddr::from([10, 1, (r >> 40) as u8 % 4, (r >> 32) as u8 % 50])),
                query_name: name,
                query_type: Some(RecordType::A),
                rcode: Some(rcode),
                answers,
                ..DnsEvent::default()
            })
        })
        .collect()
}

fn all_detectors(c: &mut Criterion) {
    let events = events(100_000);
    let mut group = c.benchmark_group("dns_detectors");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    group.bench_function("all_dns_detectors_100k_events", |b| {
        b.iter(|| {
            let mut detectors = detectors(&DnsConfig::default());
            let mut alerts = Vec::new();
            for event in &events {
                for detector in &mut detectors {
                    detector.observe(event, &[], &mut alerts);
                }
            }
            for detector in &mut detectors {
                detector.finish(&mut alerts);
            }
            black_box(alerts.len())
        });
    });
    group.finish();
}

fn lexical_model(c: &mut Criterion) {
    let model = DgaModel::shipped();
    let labels = ["google", "wikipedia", "xkqzjwpvbn", "earnestnessbiophysicalohax", "a1b2c3d4e5f6", "mail"];
    let mut group = c.benchmark_group("dga_model");
    group.throughput(Throughput::Elements(labels.len() as u64));
    group.bench_function("score_6_labels", |b| {
        b.iter(|| labels.iter().map(|l| model.score(black_box(l)).score).sum::<f64>());
    });
    group.finish();
}

criterion_group!(benches, all_detectors, lexical_model);
// The macro below writes `main`, which needs no documentation.
criterion_main!(benches);
