//! Reading feeds and classifying values: the parsing half of an import.
//! The store half is measured end to end in BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use picket_intel::{classify, load_bytes, Column, ColumnList, Columns, Format, LoadOptions};

/// A plain list of `n` mixed values with a tag each.
fn plain_list(n: usize) -> String {
    let mut out = String::with_capacity(n * 40);
    for i in 0..n {
        match i % 5 {
            0 => out.push_str(&format!("{}.{}.{}.{} c2\n", 1 + i % 200, (i >> 8) % 256, (i >> 16) % 256, i % 256)),
            1 => out.push_str(&format!("{}.{}.0.0/16 scanner\n", 1 + i % 200, (i >> 8) % 256)),
            2 | 3 => out.push_str(&format!("login-{i:x}.example.com phishing\n")),
            _ => out.push_str(&format!("http://cdn-{i:x}.example.net/gate.php?id={i} malware\n")),
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let n = 100_000;
    let text = plain_list(n);
    let mut group = c.benchmark_group("intel");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);

    group.bench_function("plain_100k", |b| {
        b.iter(|| load_bytes("bench.txt", black_box(text.as_bytes()), &LoadOptions::default()).map(|r| r.indicators.len()))
    });

    let csv: String = text
        .lines()
        .map(|l| {
            let (value, tag) = l.split_once(' ').unwrap_or((l, ""));
            format!("{value},{tag},2025-01-01 00:00:00,80\n")
        })
        .collect();
    let csv = format!("value,tags,first_seen,confidence\n{csv}");
    let options = LoadOptions {
        format: Some(Format::Delimited),
        columns: Some(Columns {
            value: ColumnList::One(Column::Name("value".into())),
            kind: None,
            tags: Some(Column::Name("tags".into())),
            description: None,
            first_seen: Some(Column::Name("first_seen".into())),
            last_seen: None,
            confidence: Some(Column::Name("confidence".into())),
            reference: None,
            header: true,
        }),
        ..LoadOptions::default()
    };
    group.bench_function("csv_100k", |b| {
        b.iter(|| load_bytes("bench.csv", black_box(csv.as_bytes()), &options).map(|r| r.indicators.len()))
    });

    let values: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap_or(l)).collect();
    group.bench_function("classify_100k", |b| {
        b.iter(|| values.iter().filter(|v| classify(black_box(v)).is_some()).count())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
