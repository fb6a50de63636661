//! Capture decoding throughput: a synthetic capture of DNS lookups and HTTP
//! downloads decoded from memory, and the corpus's wikipedia.pcap.
//!
//! `cargo bench -p picket-decode --bench decode`

// Building the input may unwrap: a failure there is the benchmark's failure.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Cursor;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use etherparse::PacketBuilder;
use picket_decode::{CaptureReader, DecodeConfig};

/// Builds a pcap of `sessions` sessions: four DNS lookups per HTTP
/// download of 1 to 16 KiB, like a small office link.
fn synthetic_capture(sessions: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[
        2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ]);
    let mut packet = Vec::new();
    let record = |out: &mut Vec<u8>, packet: &[u8], n: u32| {
        out.extend_from_slice(&(1_700_000_000 + n / 1000).to_le_bytes());
        out.extend_from_slice(&(n % 1000 * 1000).to_le_bytes());
        out.extend_from_slice(&(packet.len() as u32).to_le_bytes());
        out.extend_from_slice(&(packet.len() as u32).to_le_bytes());
        out.extend_from_slice(packet);
    };
    let body: Vec<u8> = (0..16_384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut n = 0;
    for s in 0..sessions {
        let client = [10, 0, (s >> 8) as u8, s as u8];
        let port = 30_000 + (s % 30_000) as u16;
        for q in 0..4u16 {
            let mut query = vec![
                (s >> 8) as u8,
                s as u8,
                1,
                0,
                0,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                3,
                b'w',
                b'w',
                b'w',
                7,
            ];
            query.extend_from_slice(b"example");
            query.extend_from_slice(&[3, b'c', b'o', b'm', 0, 0, 1, 0, 1]);
            for response in [false, true] {
                let mut m = query.clone();
                let (src, dst, sp, dp) = if response {
                    ([10, 0, 0, 53], client, 53, port + q)
                } else {
                    (client, [10, 0, 0, 53], port + q, 53)
                };
                if response {
                    m[2] = 0x81;
                    m[3] = 0x80;
                    m[7] = 1;
                    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
                }
                packet.clear();
                PacketBuilder::ethernet2([1; 6], [2; 6])
                    .ipv4(src, dst, 64)
                    .udp(sp, dp)
                    .write(&mut packet, &m)
                    .unwrap();
                n += 1;
                record(&mut out, &packet, n);
            }
        }
        let size = 1024 + (s as usize * 4099) % 15_360;
        let request =
            format!("GET /f/{s} HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: bench\r\n\r\n");
        let mut response =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n").into_bytes();
        response.extend_from_slice(&body[..size]);
        let server = [192, 0, 2, 80];
        let mut segs: Vec<(bool, u32, Vec<u8>, bool)> =
            vec![(true, 0, vec![], true), (false, 0, vec![], true)];
        segs.push((true, 1, request.clone().into_bytes(), false));
        let mut seq = 1;
        for chunk in response.chunks(1460) {
            segs.push((false, seq, chunk.to_vec(), false));
            seq += chunk.len() as u32;
        }
        for (from_client, seq, data, syn) in segs {
            let (src, dst, sp, dp) = if from_client {
                (client, server, port, 80)
            } else {
                (server, client, 80, port)
            };
            packet.clear();
            let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
                .ipv4(src, dst, 64)
                .tcp(sp, dp, if syn { 0 } else { seq }, 65_535);
            if syn {
                b = b.syn();
            }
            b.write(&mut packet, &data).unwrap();
            n += 1;
            record(&mut out, &packet, n);
        }
    }
    out
}

fn decode_all(bytes: Vec<u8>) -> usize {
    CaptureReader::from_reader(Cursor::new(bytes), "bench", DecodeConfig::default())
        .unwrap()
        .count()
}

fn bench(c: &mut Criterion) {
    let capture = synthetic_capture(2000);
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(capture.len() as u64));
    group.bench_function("synthetic_dns_http", |b| {
        b.iter_batched(|| capture.clone(), decode_all, BatchSize::LargeInput)
    });
    if let Some(path) = picket_corpus::corpus_path("zeek/traces/wikipedia.pcap")
        && let Ok(bytes) = std::fs::read(path)
    {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("wikipedia_pcap", |b| {
            b.iter_batched(|| bytes.clone(), decode_all, BatchSize::LargeInput)
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
