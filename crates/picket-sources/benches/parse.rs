//! Parse throughput per format: in-memory lines to events, no disk.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picket_sources::{Format, ReaderConfig, read_all};

const LINES: usize = 20_000;

fn squid(i: usize) -> String {
    format!(
        "1709280000.{:03} {:>6} 10.2.{}.{} TCP_MISS/200 {} GET http://www.example{}.com/static/app.js?id={i} - HIER_DIRECT/198.51.100.{} application/javascript\n",
        i % 1000,
        20 + i % 900,
        i % 200,
        i % 250,
        200 + i * 7 % 60_000,
        i % 40,
        i % 250
    )
}

fn w3c(i: usize) -> String {
    format!(
        "2024-03-01 08:{:02}:{:02} {} 10.2.{}.{} - TCP_NC_MISS 200 {} 512 GET http www.example{}.com 80 /static/app.js ?id={i} application/javascript \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/122.0.0.0 Safari/537.36\" http://www.example.com/ 198.51.100.{}\r\n",
        i / 60 % 60,
        i % 60,
        20 + i % 900,
        i % 200,
        i % 250,
        200 + i * 7 % 60_000,
        i % 40,
        i % 250
    )
}

fn tmg(i: usize) -> String {
    format!(
        "{}\tanonymous\tMozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/122.0.0.0 Safari/537.36\tN\t2024-03-01 08:{:02}:{:02}.123\tw3proxy\tTMG01\t-\twww.example{}.com\t{}\t80\t31\t512\t{}\thttp\tTCP\tGET\thttp://www.example{}.com/static/app.js?id={i}\tapplication/javascript\tInternet\t200\t0\tAllow Web Access\t-\tInternal\tExternal\t0x0\tAllowed\t2024-03-01 08:{:02}:{:02}.123\t-\r\n",
        0x0a02_0000 + i % 4000,
        i / 60 % 60,
        i % 60,
        i % 40,
        0xc633_6400 + i % 250,
        200 + i * 7 % 60_000,
        i % 40,
        i / 60 % 60,
        i % 60
    )
}

fn bench_format(c: &mut Criterion, format: Format, header: &str, line: fn(usize) -> String) {
    let mut data = header.as_bytes().to_vec();
    for i in 0..LINES {
        data.extend_from_slice(line(i).as_bytes());
    }
    let config = ReaderConfig::default();
    let (events, rejects, _) = read_all(&data, format, &config);
    assert_eq!((events.len(), rejects.len()), (LINES, 0), "{format}");

    let mut group = c.benchmark_group(format.as_str());
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("lines_to_events", |b| {
        b.iter(|| read_all(&data, format, &config))
    });
    group.finish();
}

/// Benchmarks the Squid, W3C and TMG readers.
fn parse(c: &mut Criterion) {
    bench_format(c, Format::Squid, "", squid);
    bench_format(
        c,
        Format::W3c,
        "#Fields: date time time-taken c-ip cs-username s-action sc-status sc-bytes cs-bytes cs-method cs-uri-scheme cs-host cs-uri-port cs-uri-path cs-uri-query rs(Content-Type) cs(User-Agent) cs(Referer) s-supplier-ip\n",
        w3c,
    );
    bench_format(c, Format::Tmg, "", tmg);
}

criterion_group!(benches, parse);
criterion_main!(benches);
