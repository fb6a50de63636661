//! The DNS events of the product's capture reader agree with those of the
//! small test reader the other DNS tests use, so the agreement shown there
//! with Zeek, Suricata and tcpdump holds for `picket analyze` too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dns_support;

use std::path::Path;

use picket_decode::{CaptureReader, DecodeConfig};
use picket_event::{Anomaly, DnsEvent, Event};

/// The fields compared, in a sortable form.
fn summary(event: &DnsEvent) -> String {
    let answers: Vec<&str> = event.answers.iter().map(|r| r.data.as_str()).collect();
    format!(
        "{:?} id={:?} {} {:?} {:?} answers={answers:?} anomalies={:?}",
        event.exchange, event.id, event.query_name, event.query_type, event.rcode, event.anomalies
    )
}

fn product_events(path: &Path) -> Vec<DnsEvent> {
    CaptureReader::open(path, DecodeConfig::default())
        .unwrap()
        .filter_map(|item| match item {
            Ok(Event::Dns(event)) => Some(event),
            _ => None,
        })
        .collect()
}

#[test]
fn zeek_traces_agree() {
    picket_corpus::require_corpus!("zeek/traces");
    let traces = [
        "dns-huge-ttl.pcap",
        "dns-spf.pcap",
        "dns-two-responses.pcap",
        "dns-txt-multiple.pcap",
        "dns-zero-RRs.pcap",
        "dns53.pcap",
        "dns_original_case.pcap",
        "ipv6-fragmented-dns.pcap",
        "wikipedia.pcap",
        "dns/dns-binds.pcap",
        "dns/dynamic-update.pcap",
        "dns/max-compression-depth.pcap",
        "dns/mdns-no-assoc.pcap",
        "dns/naptr.pcap",
        "dns/tkey.pcap",
        "dnssec/rrsig.pcap",
    ];
    for trace in traces {
        let path = picket_corpus::corpus_path(&format!("zeek/traces/{trace}")).unwrap();
        let mut ours: Vec<String> = dns_support::read_events(&path, &[])
            .iter()
            .map(summary)
            .collect();
        let mut product: Vec<String> = product_events(&path).iter().map(summary).collect();
        ours.sort();
        product.sort();
        assert_eq!(product, ours, "{trace}");
    }
}

#[test]
fn hostile_captures_flagged() {
    picket_corpus::require_corpus!("tcpdump-tests");
    for (capture, anomaly) in [
        ("dns-badlabel.pcap", Anomaly::DnsBadLabelType),
        ("dns_fwdptr.pcap", Anomaly::DnsForwardPointer),
    ] {
        let path = picket_corpus::corpus_path(&format!("tcpdump-tests/{capture}")).unwrap();
        let events = product_events(&path);
        assert!(
            events.iter().any(|e| e.anomalies.contains(&anomaly)),
            "{capture}: {events:#?}"
        );
    }

    // The dns-zlip captures carry a UDP length of 8 with the message behind
    // it inside the IP length; the reader decodes up to the IP length, as
    // tcpdump does, so the compression loop is seen.
    for capture in ["dns-zlip-1.pcap", "dns-zlip-2.pcap", "dns-zlip-3.pcap"] {
        let path = picket_corpus::corpus_path(&format!("tcpdump-tests/{capture}")).unwrap();
        let events = product_events(&path);
        assert_eq!(events.len(), 1, "{capture}");
        let anomalies = &events[0].anomalies;
        assert!(
            anomalies.contains(&Anomaly::DnsCompressionLoop),
            "{capture}: {anomalies:?}"
        );
    }
}
