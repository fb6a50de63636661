//! Throughput of the HTTP detectors: events per second through all six
//! together, and through each alone.
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picket_detect::http::{HttpConfig, detectors};
use picket_event::{Detector, Event, HttpEvent, Timestamp};

/// A proxy-log mix: 500 clients browsing 2,000 hosts (pages, images,
/// scripts, some downloads and bare-IP requests), with one beacon and one
/// drive-by chain planted, in time order.
fn events(count: usize) -> Vec<Event> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let kinds = [
        ("/index.html", "text/html"),
        ("/img/photo.jpg", "image/jpeg"),
        ("/static/app.js", "application/javascript"),
        ("/static/site.css", "text/css"),
        ("/api/items.json", "application/json"),
        ("/files/tool.exe", "application/x-msdownload"),
        ("/docs/report.pdf", "application/pdf"),
    ];
    let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "Microsoft-CryptoAPI/10.0",
    ];
    let mut t_ms = 1_709_251_200_000i64;
    (0..count)
        .map(|i| {
            let r = next();
            t_ms += (r % 20) as i64;
            let client = Ipv4Addr::new(10, 1, (r >> 8) as u8 % 2, (r >> 16) as u8);
            let (host, path, ctype, agent) = if i % 2_000 == 0 {
                (
                    "beacon.example".to_owned(),
                    "/gate.php".to_owned(),
                    "text/plain",
                    agents[0],
                )
            } else if r % 97 == 0 {
                (
                    format!("198.51.100.{}", (r >> 24) as u8),
                    "/x".to_owned(),
                    "text/html",
                    agents[0],
                )
            } else {
                let (path, ctype) = kinds[(r >> 32) as usize % if r % 50 == 0 { 7 } else { 5 }];
                let agent = agents[(r >> 40) as usize % if r % 30 == 0 { 3 } else { 2 }];
                (
                    format!("site{}.example.com", (r >> 44) % 2_000),
                    path.to_owned(),
                    ctype,
                    agent,
                )
            };
            let beacon = host == "beacon.example";
            Event::from(HttpEvent {
                timestamp: Timestamp::from_millis(t_ms).unwrap_or_default(),
                client_ip: Some(IpAddr::V4(if beacon {
                    Ipv4Addr::new(10, 1, 77, 7)
                } else {
                    client
                })),
                method: Some(if beacon { "POST" } else { "GET" }.into()),
                url: format!("http://{host}{path}"),
                scheme: Some("http".into()),
                path: Some(path),
                host: Some(host),
                status: Some(200),
                content_type: Some(ctype.into()),
                user_agent: Some(agent.into()),
                bytes_to_client: Some(300 + (r >> 50) % 40_000),
                bytes_from_client: Some(400),
                ..HttpEvent::default()
            })
        })
        .collect()
}

fn run_all(detectors: &mut [Box<dyn Detector>], events: &[Event]) -> usize {
    let mut alerts = Vec::new();
    for event in events {
        for detector in detectors.iter_mut() {
            detector.observe(event, &[], &mut alerts);
        }
    }
    for detector in detectors.iter_mut() {
        detector.finish(&mut alerts);
    }
    alerts.len()
}

fn bench(c: &mut Criterion) {
    let events = events(200_000);
    let mut group = c.benchmark_group("http_detectors");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);

    group.bench_function("all_six", |b| {
        b.iter(|| {
            let mut all = detectors(&HttpConfig::default());
            black_box(run_all(&mut all, &events))
        })
    });

    let ids: Vec<&'static str> = detectors(&HttpConfig::default())
        .iter()
        .map(|d| d.id())
        .collect();
    for (index, id) in ids.iter().enumerate() {
        group.bench_function(*id, |b| {
            b.iter(|| {
                let mut one: Vec<Box<dyn Detector>> = detectors(&HttpConfig::default())
                    .into_iter()
                    .skip(index)
                    .take(1)
                    .collect();
                black_box(run_all(&mut one, &events))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
