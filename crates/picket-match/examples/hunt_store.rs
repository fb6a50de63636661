//! Fills a store with generated proxy and DNS events over several days and
//! writes a plain indicator list, for timing `picket hunt` on them.
//!
//! ```text
//! hunt_store STORE EVENTS DAYS INDICATORS_TXT COUNT
//! picket hunt --store STORE --intel INDICATORS_TXT --no-record --output /dev/null
//! ```
#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[path = "../benches/testdata.rs"]
mod testdata;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use picket_event::{
    DnsEvent, Event, HttpEvent, RecordType, ResourceRecord, SourceLocation, Timestamp,
};
use picket_intel::IndicatorKind;
use picket_store::{Store, WriterConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        println!("usage: hunt_store STORE EVENTS DAYS INDICATORS_TXT COUNT");
        return;
    }
    let (store_path, events, days, list, count) = (
        Path::new(&args[1]),
        args[2].parse::<u64>().unwrap(),
        args[3].parse::<u64>().unwrap().max(1),
        Path::new(&args[4]),
        args[5].parse::<usize>().unwrap(),
    );

    let mut listed = Vec::new();
    let mut out = BufWriter::new(File::create(list).unwrap());
    testdata::each_indicator(count, 42, |i| {
        if i.kind == IndicatorKind::Domain && listed.len() < 20_000 {
            listed.push(i.value.clone());
        }
        if matches!(
            i.kind,
            IndicatorKind::UserAgent | IndicatorKind::FileName | IndicatorKind::Email
        ) {
            return;
        }
        let prefix = if i.include_subdomains { "*." } else { "" };
        writeln!(out, "{prefix}{}", i.value).unwrap();
    });
    out.flush().unwrap();

    let hosts = testdata::lookup_hosts(200_000, &listed, 11);
    let store = Store::open(store_path).unwrap();
    let mut writer = store.writer(WriterConfig::default());
    let mut rng = testdata::Rng::new(3);
    let file: Arc<str> = Arc::from("generated.log");
    let start_day: i64 = 19_700;
    let per_day = events / days;
    let started = Instant::now();
    for n in 0..events {
        let day = start_day + (n / per_day.max(1)).min(days - 1) as i64;
        let ts = Timestamp::from_nanos(
            day * 86_400_000_000_000 + (n % per_day.max(1)) as i64 * 1_000_000,
        );
        let host = rng.pick(&hosts).clone();
        let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (rng.below(4096) as u32)));
        let server = IpAddr::V4(Ipv4Addr::from(testdata::public_v4(&mut rng)));
        let event = if n % 3 == 0 {
            Event::Dns(DnsEvent {
                timestamp: ts,
                location: SourceLocation::line(file.clone(), n, n * 120),
                client_ip: Some(client),
                query_name: host.clone(),
                answers: vec![ResourceRecord {
                    name: host,
                    rtype: RecordType::A,
                    class: 1,
                    ttl: 300,
                    data: server.to_string(),
                }],
                ..DnsEvent::default()
            })
        } else {
            Event::from(HttpEvent {
                timestamp: ts,
                location: SourceLocation::line(file.clone(), n, n * 120),
                client_ip: Some(client),
                server_ip: Some(server),
                method: Some("GET".into()),
                url: format!(
                    "http://{host}/{}/app.js?v={}",
                    testdata::word(&mut rng),
                    rng.below(1000)
                ),
                host: Some(host),
                status: Some(200),
                bytes_to_client: Some(rng.below(100_000)),
                proxy_action: Some("TCP_MISS".into()),
                ..HttpEvent::default()
            })
        };
        writer.insert_event(&event).unwrap();
    }
    writer.commit().unwrap();
    drop(writer);
    let dt = started.elapsed().as_secs_f64();
    println!(
        "wrote {events} events over {days} days in {dt:.1} s ({:.0} events/s)",
        events as f64 / dt
    );
}
