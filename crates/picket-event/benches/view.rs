//! Reading stored records: the full `Event` decode against the borrowed
//! `EventView` a hunt matches, on an HTTP record and a DNS record with
//! answers.
//!
//! `cargo bench -p picket-event --bench view`
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use picket_event::{
    BodyInfo, DnsEvent, Event, HttpEvent, RecordType, ResourceRecord, SourceLocation, Timestamp,
    codec, decode_view,
};

fn records() -> Vec<(&'static str, Vec<u8>)> {
    let at = Timestamp::from_nanos(1_700_000_000_123_456_789);
    let http = Event::from(HttpEvent {
        timestamp: at,
        location: SourceLocation::line("access.log".into(), 123_456, 9_876_543),
        client_ip: Some("10.1.2.3".parse().unwrap()),
        server_ip: Some("198.51.100.23".parse().unwrap()),
        method: Some("GET".into()),
        url: "http://cdn.example.com/static/js/app.min.js?v=123".into(),
        host: Some("cdn.example.com".into()),
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/120.0".into()),
        status: Some(200),
        bytes_to_client: Some(48_213),
        content_type: Some("application/javascript".into()),
        proxy_action: Some("TCP_MISS".into()),
        body: Some(BodyInfo {
            md5: "d41d8cd98f00b204e9800998ecf8427e".into(),
            ..BodyInfo::default()
        }),
        ..HttpEvent::default()
    });
    let answer = |rtype, data: &str| ResourceRecord {
        name: "www.example.com".into(),
        rtype,
        class: 1,
        ttl: 300,
        data: data.into(),
    };
    let dns = Event::Dns(DnsEvent {
        timestamp: at,
        location: SourceLocation::line("dns.log".into(), 77, 7_700),
        client_ip: Some("10.1.2.3".parse().unwrap()),
        server_ip: Some("10.0.0.53".parse().unwrap()),
        query_name: "www.example.com".into(),
        query_type: Some(RecordType::A),
        answers: vec![
            answer(RecordType::CNAME, "edge.example.net"),
            answer(RecordType::A, "203.0.113.10"),
            answer(RecordType::A, "203.0.113.11"),
        ],
        ..DnsEvent::default()
    });
    vec![
        ("http", codec::encode(&http).unwrap()),
        ("dns", codec::encode(&dns).unwrap()),
    ]
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("stored record");
    for (name, bytes) in records() {
        group.bench_function(format!("{name}: full Event decode"), |b| {
            b.iter(|| codec::decode::<Event>(black_box(&bytes)).unwrap())
        });
        group.bench_function(format!("{name}: EventView"), |b| {
            b.iter(|| decode_view(black_box(&bytes)).unwrap().client_ip)
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
