//! Fuzzes the DNS message decoder and the query/response pairer.
//!
//! The input is one DNS message. It is decoded with the default limits and
//! with tight ones (two pointer jumps, three records per section), and both
//! results go through a pairer twice, once as a query's direction and once
//! as a response's, so every pairing path gets hostile messages. Every
//! query and record name in the events must be in zone-file form.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use picket_decode::dns::{DnsLimits, DnsPairer, PacketMeta, PairerConfig, parse_message};
use picket_event::dns::{DnsProtocol, Transport};
use picket_event::{SourceLocation, Timestamp};

fn meta(forward: bool, packet: u64) -> PacketMeta {
    let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.53".parse().unwrap());
    let (src_ip, dst_ip, src_port, dst_port) = if forward {
        (a, b, 40000, 53)
    } else {
        (b, a, 53, 40000)
    };
    PacketMeta {
        timestamp: Timestamp::from_nanos(packet as i64),
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        transport: Transport::Udp,
        protocol: DnsProtocol::Dns,
        location: SourceLocation::packet(Arc::from("fuzz"), packet, 0),
    }
}

/// Panics unless `name` is in zone-file form: printable ASCII, and each `\`
/// starts `\.`, `\\` or a `\DDD` escape of a byte.
fn assert_presentation(name: &str) {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        assert!(matches!(byte, 0x21..=0x7e), "unescaped byte in {name:?}");
        if byte != b'\\' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'.' | b'\\') => i += 2,
            _ => {
                let digits = bytes.get(i + 1..i + 4).expect("dangling escape");
                assert!(
                    digits.iter().all(u8::is_ascii_digit),
                    "bad escape in {name:?}"
                );
                let value = digits
                    .iter()
                    .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
                assert!(value <= 255, "escape past 255 in {name:?}");
                i += 4;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let tight = DnsLimits {
        max_pointer_jumps: 2,
        max_records_per_section: 3,
        max_rdata_text_bytes: 16,
    };
    let mut pairer = DnsPairer::new(PairerConfig {
        max_pending_queries: 2,
        ..PairerConfig::default()
    });
    let mut events = Vec::new();

    for (packet, limits) in [DnsLimits::default(), tight].iter().enumerate() {
        let message = parse_message(data, limits);
        assert_eq!(message.size, data.len());
        pairer.push(message.clone(), meta(true, packet as u64), &mut events);
        pairer.push(message, meta(false, packet as u64), &mut events);
    }
    pairer.flush(&mut events);
    assert_eq!(pairer.pending(), 0);
    for event in &events {
        assert_presentation(&event.query_name);
        for record in event.answers.iter().chain(&event.authorities) {
            assert_presentation(&record.name);
        }
    }
});
