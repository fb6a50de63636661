//! Garbage and truncation: the DNS decoder and pairer never panic, and a
//! cut message reports that it was cut.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dns_support;

use std::path::PathBuf;
use std::sync::Arc;

use picket_decode::dns::{
    DnsLimits, DnsPairer, HEADER_LEN, PacketMeta, PairerConfig, parse_message,
};
use picket_event::dns::{DnsProtocol, Transport};
use picket_event::{Anomaly, SourceLocation, Timestamp};
use proptest::prelude::*;

/// Every DNS message of the DNS captures in the corpus.
fn corpus_messages() -> Vec<Vec<u8>> {
    let Some(corpus) = picket_corpus::corpus_dir() else {
        return Vec::new();
    };
    let mut captures: Vec<PathBuf> = Vec::new();
    for dir in [
        "zeek/traces",
        "zeek/traces/dns",
        "zeek/traces/dnssec",
        "tcpdump-tests",
    ] {
        for entry in std::fs::read_dir(corpus.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "pcap") {
                captures.push(path);
            }
        }
    }
    captures
        .iter()
        .flat_map(|path| dns_support::read_messages(path, &[]))
        .map(|found| found.payload)
        .collect()
}

fn meta(packet: u64) -> PacketMeta {
    PacketMeta {
        timestamp: Timestamp::from_nanos(i64::try_from(packet).unwrap() * 1_000_000),
        src_ip: "10.0.0.1".parse().unwrap(),
        src_port: 40000,
        dst_ip: "10.0.0.53".parse().unwrap(),
        dst_port: 53,
        transport: Transport::Udp,
        protocol: DnsProtocol::Dns,
        location: SourceLocation::packet(Arc::from("garbage"), packet, 0),
    }
}

#[test]
fn every_prefix_of_real_messages() {
    let messages = corpus_messages();
    if messages.is_empty() {
        return;
    }
    let limits = DnsLimits::default();
    let mut checked = 0usize;

    for message in &messages {
        let whole = parse_message(message, &limits);
        // Every cut of ordinary messages; 64 cuts of the two 63 KB hostile
        // ones, which take milliseconds each in a debug build.
        let stride = if message.len() > 4096 {
            message.len() / 64
        } else {
            1
        };
        for cut in (0..message.len()).step_by(stride) {
            let prefix = &message[..cut];
            let decoded = parse_message(prefix, &limits);
            checked += 1;

            assert_eq!(decoded.size, cut);
            if cut < HEADER_LEN {
                assert_eq!(decoded.anomalies, vec![Anomaly::DnsTruncatedHeader]);
                continue;
            }
            // A cut message that held any record reports the cut, unless the
            // whole message already stopped early for its own reasons.
            let announced = whole.questions.len()
                + whole.answers.len()
                + whole.authorities.len()
                + whole.additionals.len();
            let got = decoded.questions.len()
                + decoded.answers.len()
                + decoded.authorities.len()
                + decoded.additionals.len();
            if whole.anomalies.is_empty() && announced > 0 {
                assert!(got < announced, "cut at {cut} lost nothing");
                assert!(
                    decoded.anomalies.contains(&Anomaly::DnsTruncatedRecord)
                        || decoded.anomalies.contains(&Anomaly::DnsCountMismatch),
                    "cut at {cut}: {:?}",
                    decoded.anomalies
                );
            }
        }
    }
    assert!(checked > 10_000, "only {checked} prefixes");
}

#[test]
fn bit_flips_of_real_messages() {
    let limits = DnsLimits::default();
    let mut pairer = DnsPairer::new(PairerConfig::default());
    let mut events = Vec::new();
    for (index, message) in corpus_messages().iter().enumerate().take(400) {
        for position in 0..message.len().min(96) {
            let mut flipped = message.clone();
            flipped[position] ^= 0xa5;
            let decoded = parse_message(&flipped, &limits);
            pairer.push(decoded, meta(index as u64), &mut events);
        }
    }
    pairer.flush(&mut events);
    assert_eq!(pairer.pending(), 0);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let decoded = parse_message(&bytes, &DnsLimits::default());
        prop_assert_eq!(decoded.size, bytes.len());
        let mut pairer = DnsPairer::new(PairerConfig::default());
        let mut events = Vec::new();
        pairer.push(decoded, meta(1), &mut events);
        pairer.flush(&mut events);
        prop_assert_eq!(events.len(), 1);
    }

    #[test]
    fn pointer_soup_never_panics(
        header in prop::collection::vec(any::<u8>(), 12..=12),
        body in prop::collection::vec(prop_oneof![Just(0xc0u8), 0u8..64, any::<u8>()], 0..300),
    ) {
        let mut bytes = header;
        bytes[4..12].copy_from_slice(&[0, 4, 0, 8, 0, 8, 0, 8]);
        bytes.extend_from_slice(&body);
        let decoded = parse_message(&bytes, &DnsLimits::default());
        for record in decoded.answers.iter().chain(&decoded.authorities).chain(&decoded.additionals) {
            prop_assert!(record.name.len() <= 4 * 255);
        }
    }
}
