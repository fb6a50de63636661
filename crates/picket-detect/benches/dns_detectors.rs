//! Throughput of the DNS detectors: events per second through all of them,
//! and the lexical model alone.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picket_detect::dns::model::DgaModel;
use picket_detect::dns::{DnsConfig, detectors};

#[path = "support/dns_events.rs"]
mod dns_events;

use dns_events::{events, run_all};

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

/// Runs each detector alone on the 1-in-100 mix, to show where an event's time goes.
fn each_detector(c: &mut Criterion) {
    let events = events(100_000, 100);
    let mut group = c.benchmark_group("dns_detector_alone");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events.len() as u64));
    let count = detectors(&DnsConfig::default()).len();
    for index in 0..count {
        let id = detectors(&DnsConfig::default())[index].id();
        group.bench_function(id, |b| {
            b.iter(|| {
                let mut detector = detectors(&DnsConfig::default()).swap_remove(index);
                let mut alerts = Vec::new();
                for event in &events {
                    detector.observe(event, &[], &mut alerts);
                }
                detector.finish(&mut alerts);
                black_box(alerts.len())
            });
        });
    }
    group.bench_function("build_all", |b| {
        b.iter(|| black_box(detectors(&DnsConfig::default()).len()));
    });
    group.finish();
}

criterion_group!(benches, all_detectors, each_detector, lexical_model);
// The macro below writes `main`, which needs no documentation.
criterion_main!(benches);
