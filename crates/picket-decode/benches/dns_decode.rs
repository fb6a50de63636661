//! DNS message decoding speed, beside hickory-proto's `Message::from_vec`
//! on the same messages.
//!
//! The messages are a fixed mix that a resolver's clients see: queries with
//! EDNS, A and AAAA answers behind CNAME chains, MX, TXT and NXDOMAIN
//! responses with an SOA. hickory-proto builds and name-compresses them from
//! a fixed seed, so every run decodes the same bytes.
//!
//!     cargo bench -p picket-decode --bench dns_decode
//!
//! After criterion's wall-clock figures, a second pass reports throughput
//! per CPU-second of the benchmarking thread (from `/proc/thread-self/stat`),
//! which stays meaningful when other work shares the cores.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{self, MX, SOA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use picket_decode::dns::{DnsLimits, DnsPairer, PacketMeta, PairerConfig, parse_message};
use picket_event::dns::{DnsProtocol, Transport};
use picket_event::{SourceLocation, Timestamp};

/// A small deterministic generator (xorshift64), so the mix is the same in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "www",
    "mail",
    "cdn",
    "api",
    "static",
    "login",
    "img",
    "update",
    "news",
    "shop",
    "edge",
    "example",
    "wikimedia",
    "google",
    "akamaiedge",
    "cloudfront",
    "office",
    "microsoft",
];
const ZONES: &[&str] = &["com", "net", "org", "de", "io", "co.uk"];

fn name(rng: &mut Rng, labels: u64) -> Name {
    let mut text = String::new();
    for _ in 0..labels {
        text.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        text.push('.');
    }
    text.push_str(ZONES[rng.below(ZONES.len() as u64) as usize]);
    text.push('.');
    Name::from_ascii(&text).unwrap()
}

/// Builds and encodes one query and its response.
fn exchange(rng: &mut Rng, id: u16) -> (Vec<u8>, Vec<u8>) {
    let labels = 1 + rng.below(3);
    let qname = name(rng, labels);
    let kind = rng.below(10);
    let qtype = match kind {
        0..=4 => RecordType::A,
        5..=6 => RecordType::AAAA,
        7 => RecordType::MX,
        8 => RecordType::TXT,
        _ => RecordType::A,
    };

    let mut query = Message::new(id, MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = true;
    let mut question = Query::new();
    question
        .set_name(qname.clone())
        .set_query_type(qtype)
        .set_query_class(DNSClass::IN);
    query.add_query(question.clone());
    query.edns = Some(Edns::new());

    let mut response = Message::new(id, MessageType::Response, OpCode::Query);
    response.metadata.recursion_desired = true;
    response.metadata.recursion_available = true;
    response.add_query(question);
    response.edns = Some(Edns::new());
    let ttl = 60 + rng.below(3600) as u32;

    if kind == 9 {
        // NXDOMAIN with the zone's SOA.
        response.metadata.response_code = ResponseCode::NXDomain;
        let zone = qname.base_name();
        let soa = SOA::new(
            name(rng, 1),
            name(rng, 1),
            2024010101,
            7200,
            900,
            1209600,
            300,
        );
        response
            .authorities
            .push(Record::from_rdata(zone, 900, RData::SOA(soa)));
    } else {
        // A CNAME chain of 0 to 2 links, then the data.
        let mut owner = qname;
        for _ in 0..rng.below(3) {
            let target = name(rng, 2);
            response.answers.push(Record::from_rdata(
                owner,
                ttl,
                RData::CNAME(rdata::CNAME(target.clone())),
            ));
            owner = target;
        }
        for _ in 0..1 + rng.below(4) {
            let data = match qtype {
                RecordType::AAAA => {
                    RData::AAAA(rdata::AAAA(Ipv6Addr::from(u128::from(rng.next()))))
                }
                RecordType::MX => RData::MX(MX::new(10, name(rng, 2))),
                RecordType::TXT => RData::TXT(TXT::new(vec![
                    "v=spf1 include:_spf.example.com ~all".into(),
                ])),
                _ => RData::A(rdata::A(Ipv4Addr::from(rng.next() as u32))),
            };
            response
                .answers
                .push(Record::from_rdata(owner.clone(), ttl, data));
        }
    }
    (query.to_vec().unwrap(), response.to_vec().unwrap())
}

fn messages() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut all = Vec::new();
    for id in 0..2000u16 {
        let (query, response) = exchange(&mut rng, id);
        all.push(query);
        all.push(response);
    }
    all
}

fn meta(index: usize, file: &Arc<str>) -> PacketMeta {
    let response = index % 2 == 1;
    let (client, server) = ("10.1.2.3".parse().unwrap(), "10.0.0.53".parse().unwrap());
    PacketMeta {
        timestamp: Timestamp::from_nanos(index as i64 * 1000),
        src_ip: if response { server } else { client },
        src_port: if response { 53 } else { 40000 },
        dst_ip: if response { client } else { server },
        dst_port: if response { 40000 } else { 53 },
        transport: Transport::Udp,
        protocol: DnsProtocol::Dns,
        location: SourceLocation::packet(file.clone(), index as u64, 0),
    }
}

fn bench(c: &mut Criterion) {
    let messages = messages();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let limits = DnsLimits::default();
    let file: Arc<str> = Arc::from("bench.pcap");

    for (unit, throughput) in [
        ("messages", Throughput::Elements(messages.len() as u64)),
        ("bytes", Throughput::Bytes(bytes as u64)),
    ] {
        let mut group = c.benchmark_group(format!("dns_decode_{unit}"));
        group.throughput(throughput);
        group.bench_function("picket_parse_message", |b| {
            b.iter(|| {
                for message in &messages {
                    black_box(parse_message(black_box(message), &limits));
                }
            })
        });
        group.bench_function("hickory_message_from_vec", |b| {
            b.iter(|| {
                for message in &messages {
                    black_box(Message::from_vec(black_box(message)).ok());
                }
            })
        });
        group.bench_function("picket_parse_and_pair", |b| {
            b.iter(|| {
                let mut pairer = DnsPairer::new(PairerConfig::default());
                let mut events = Vec::with_capacity(messages.len() / 2);
                for (index, message) in messages.iter().enumerate() {
                    pairer.push(
                        parse_message(message, &limits),
                        meta(index, &file),
                        &mut events,
                    );
                }
                pairer.flush(&mut events);
                black_box(events)
            })
        });
        group.finish();
    }
}

/// CPU time of the calling thread in seconds, from `/proc/thread-self/stat`
/// (user plus system time, in Linux's USER_HZ ticks of 1/100 s).
// The stat file is one short line, so the unbounded read is safe here.
#[allow(clippy::disallowed_methods)]
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Runs `work` over the message set for at least five CPU-seconds and
/// prints messages and MiB per CPU-second.
fn per_cpu_second(name: &str, messages: &[Vec<u8>], mut work: impl FnMut()) {
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let Some(start) = thread_cpu_seconds() else {
        return;
    };
    let mut rounds = 0u64;
    let mut spent = 0.0;
    while spent < 5.0 {
        work();
        rounds += 1;
        spent = thread_cpu_seconds().unwrap_or(start) - start;
    }
    let per_second = rounds as f64 / spent;
    println!(
        "{name}: {:.0} messages per CPU-second, {:.1} MiB per CPU-second",
        per_second * messages.len() as f64,
        per_second * bytes as f64 / (1024.0 * 1024.0),
    );
}

fn cpu_time_report() {
    let messages = messages();
    let limits = DnsLimits::default();
    let file: Arc<str> = Arc::from("bench.pcap");
    println!("throughput per CPU-second of the benchmark thread:");
    per_cpu_second("picket_parse_message", &messages, || {
        for message in &messages {
            black_box(parse_message(black_box(message), &limits));
        }
    });
    per_cpu_second("hickory_message_from_vec", &messages, || {
        for message in &messages {
            black_box(Message::from_vec(black_box(message)).ok());
        }
    });
    per_cpu_second("picket_parse_and_pair", &messages, || {
        let mut pairer = DnsPairer::new(PairerConfig::default());
        let mut events = Vec::with_capacity(messages.len() / 2);
        for (index, message) in messages.iter().enumerate() {
            pairer.push(
                parse_message(message, &limits),
                meta(index, &file),
                &mut events,
            );
        }
        pairer.flush(&mut events);
        black_box(events);
    });
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();

    // Only under `cargo bench`, not when `cargo test` runs benches once.
    if std::env::args().any(|arg| arg == "--bench") {
        cpu_time_report();
    }
}
