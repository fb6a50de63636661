//! Criterion benches of the matcher: build time and single-field lookups
//! over 1.5 million mixed indicators (generated, plus the corpus feeds),
//! and whole-event matching.
//!
//! `cargo bench -p picket-match --bench matcher`

#![allow(clippy::unwrap_used, missing_docs)]

mod testdata;

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use picket_event::{DnsEvent, Event, HttpEvent, MatchedField, RecordType, ResourceRecord};
use picket_intel::Indicator;
use picket_match::{Matcher, MatcherBuilder};

const TOTAL: usize = 1_500_000;

fn indicator_set() -> Vec<Indicator> {
    let mut all = testdata::corpus_indicators();
    all.extend(testdata::indicators(TOTAL.saturating_sub(all.len()), 42));
    all
}

fn build(indicators: &[Indicator]) -> Matcher {
    let mut b = MatcherBuilder::new();
    for i in indicators {
        let _ = b.add(i);
    }
    b.build()
}

fn benches(c: &mut Criterion) {
    let indicators = indicator_set();

    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.throughput(Throughput::Elements(indicators.len() as u64));
    group.bench_function("1.5M mixed indicators", |b| {
        b.iter(|| build(black_box(&indicators)))
    });
    group.finish();

    let matcher = build(&indicators);
    let listed = testdata::listed_domains(&indicators);
    let hosts = testdata::lookup_hosts(100_000, &listed, 7);
    let mut rng = testdata::Rng::new(9);
    let ips: Vec<IpAddr> = (0..100_000)
        .map(|_| IpAddr::V4(Ipv4Addr::from(testdata::public_v4(&mut rng))))
        .collect();
    let urls: Vec<String> = hosts
        .iter()
        .take(100_000)
        .map(|h| format!("http://{h}/index.php?id=1"))
        .collect();
    drop(indicators);

    let mut group = c.benchmark_group("lookup");
    let mut hits = Vec::new();
    group.throughput(Throughput::Elements(hosts.len() as u64));
    group.bench_function("domain (proxy-like host names)", |b| {
        b.iter(|| {
            hits.clear();
            for h in &hosts {
                matcher.match_domain(h, MatchedField::HttpHost, &mut hits);
            }
        })
    });
    group.throughput(Throughput::Elements(ips.len() as u64));
    group.bench_function("ipv4 (random public addresses)", |b| {
        b.iter(|| {
            hits.clear();
            for ip in &ips {
                matcher.match_ip(*ip, MatchedField::ServerIp, &mut hits);
            }
        })
    });
    group.throughput(Throughput::Elements(urls.len() as u64));
    group.bench_function("url (exact and prefixes)", |b| {
        b.iter(|| {
            hits.clear();
            for u in &urls {
                matcher.match_url(u, None, MatchedField::Url, &mut hits);
            }
        })
    });
    group.finish();

    let events: Vec<Event> = hosts
        .iter()
        .zip(&ips)
        .enumerate()
        .map(|(i, (h, ip))| {
            if i % 2 == 0 {
                Event::from(HttpEvent {
                    client_ip: Some("10.1.2.3".parse().unwrap()),
                    server_ip: Some(*ip),
                    host: Some(h.clone()),
                    url: format!("http://{h}/a/b.js?x={i}"),
                    path: Some("/a/b.js".into()),
                    user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)".into()),
                    referrer: Some(format!("http://{h}/")),
                    ..HttpEvent::default()
                })
            } else {
                Event::Dns(DnsEvent {
                    client_ip: Some("10.1.2.3".parse().unwrap()),
                    query_name: h.clone(),
                    answers: vec![ResourceRecord {
                        name: h.clone(),
                        rtype: RecordType::A,
                        class: 1,
                        ttl: 60,
                        data: ip.to_string(),
                    }],
                    ..DnsEvent::default()
                })
            }
        })
        .collect();
    let mut group = c.benchmark_group("event");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("match_event (half HTTP, half DNS)", |b| {
        b.iter_batched_ref(
            Vec::new,
            |hits| {
                for e in &events {
                    matcher.match_event(e, hits);
                    hits.clear();
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(matcher_benches, benches);
criterion_main!(matcher_benches);
