//! tcpdump's DNS regression captures, hostile ones included: each decodes
//! without a panic and with the anomalies tcpdump's own output points at.
// The corpus files read whole here are small, known test inputs.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dns_support;

use picket_decode::dns::DnsMessage;
use picket_event::dns::ResponseCode;
use picket_event::{Anomaly, RecordType};

fn messages(name: &str) -> Option<Vec<DnsMessage>> {
    let path = picket_corpus::corpus_path(&format!("tcpdump-tests/{name}"))?;
    Some(
        dns_support::read_messages(&path, &[])
            .into_iter()
            .map(|f| f.message)
            .collect(),
    )
}

fn anomalies(messages: &[DnsMessage]) -> Vec<Anomaly> {
    let mut all: Vec<Anomaly> = messages.iter().flat_map(|m| m.anomalies.clone()).collect();
    all.sort();
    all.dedup();
    all
}

#[test]
fn every_listed_capture_decodes() {
    let list = picket_corpus::require_corpus!("tcpdump-tests/TESTLIST.dns-subset");
    let text = std::fs::read_to_string(list).unwrap();
    let mut captures: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .collect();
    captures.sort();
    captures.dedup();

    for capture in captures {
        let path = picket_corpus::corpus_path(&format!("tcpdump-tests/{capture}")).unwrap();
        if !path.exists() {
            // The corpus keeps a subset of the list (no port-8053 captures).
            continue;
        }
        // Decoding and pairing must not panic; the events are checked below.
        let _ = dns_support::read_events(&path, &[8053]);
    }
}

#[test]
fn zlip_pointer_loops() {
    let Some(one) = messages("dns-zlip-1.pcap") else {
        return;
    };
    // The question name is a pointer to itself; more pointers follow the
    // question as bytes no record claims.
    assert_eq!(
        anomalies(&one),
        vec![Anomaly::DnsCompressionLoop, Anomaly::DnsTrailingBytes]
    );

    // A pointer forward to a pointer back to the first.
    let two = messages("dns-zlip-2.pcap").unwrap();
    let two = anomalies(&two);
    assert!(two.contains(&Anomaly::DnsCompressionLoop), "{two:?}");
    assert!(two.contains(&Anomaly::DnsForwardPointer), "{two:?}");

    // A label, then a pointer back to the start of the same name.
    let three = messages("dns-zlip-3.pcap").unwrap();
    assert!(anomalies(&three).contains(&Anomaly::DnsCompressionLoop));
    assert_eq!(three.len(), 1);
}

#[test]
fn bad_label_type() {
    let Some(found) = messages("dns-badlabel.pcap") else {
        return;
    };
    assert!(
        anomalies(&found).contains(&Anomaly::DnsBadLabelType),
        "{found:#?}"
    );
}

#[test]
fn forward_pointer() {
    let Some(found) = messages("dns_fwdptr.pcap") else {
        return;
    };
    assert!(
        anomalies(&found).contains(&Anomaly::DnsForwardPointer),
        "{found:#?}"
    );
}

#[test]
fn snaplen_cut_response() {
    // tcpdump prints `[|domain]`: the capture kept 98 of 266 bytes.
    let Some(found) = messages("dns_udp_2.pcap") else {
        return;
    };
    assert!(found[0].anomalies.is_empty());
    assert!(found[1].anomalies.contains(&Anomaly::DnsTruncatedRecord));
    assert_eq!(found[1].questions[0].name, "www.tcpdump.org");
}

#[test]
fn extended_rcodes() {
    let Some(cookie) = messages("dns-badcookie.pcap") else {
        return;
    };
    assert_eq!(cookie[1].rcode(), Some(ResponseCode(23)));
    assert_eq!(cookie[1].rcode().unwrap().to_string(), "BADCOOKIE");

    let badvers = messages("dns-badvers.pcap").unwrap();
    assert_eq!(badvers[1].rcode().unwrap().to_string(), "BADVERS");
    for message in cookie.iter().chain(&badvers) {
        assert!(message.anomalies.is_empty(), "{message:#?}");
    }
}

#[test]
fn uri_record() {
    let Some(found) = messages("dns-uri.pcap") else {
        return;
    };
    let uri = &found[1].answers[0];
    assert_eq!(uri.rtype, RecordType(256));
    assert_eq!(uri.data, "10 5 \"http://www.dns.test:8000\"");
}

#[test]
fn edns_options() {
    let Some(found) = messages("edns-opts.pcap") else {
        return;
    };
    let options: Vec<String> = found
        .iter()
        .flat_map(|m| m.additionals.iter())
        .filter(|r| r.rtype == RecordType::OPT)
        .map(|r| r.data.clone())
        .collect();
    for expected in [
        "ECS=192.0.2.0/24/0",
        "ECS=192.1.2.3/32/0",
        "ECS=2001:db8:85a3::8a2e:0:0/100/0",
        "COOKIE=A954D29208767B5C",
        "COOKIE=A954D29208767B5CCF75F75B5DB0BF0575C9F2D76C962883",
        "KEEPALIVE=1234",
    ] {
        assert!(
            options.iter().any(|o| o == expected),
            "{expected} not in {options:?}"
        );
    }
    let edns = found[0..].iter().find_map(|m| m.edns).unwrap();
    assert_eq!(edns.udp_payload_size, 12345);
    assert!(edns.dnssec_ok);
    assert!(anomalies(&found).is_empty());
}

#[test]
fn dnssec_records() {
    let Some(found) = messages("dnssec.pcap") else {
        return;
    };
    assert!(anomalies(&found).is_empty(), "{:?}", anomalies(&found));
    let records: Vec<_> = found
        .iter()
        .flat_map(|m| m.answers.iter().chain(&m.authorities).chain(&m.additionals))
        .collect();
    let rrsig = records
        .iter()
        .find(|r| r.rtype == RecordType::RRSIG)
        .unwrap();
    // type covered, algorithm, labels, original TTL, two times, key tag, signer, signature
    let fields: Vec<&str> = rrsig.data.split(' ').collect();
    assert_eq!(fields.len(), 9, "{}", rrsig.data);
    assert_eq!(fields[4].len(), 14);
    // SSHFP: algorithm, fingerprint type, fingerprint in hex.
    let sshfp = records.iter().find(|r| r.rtype == RecordType(44)).unwrap();
    let fields: Vec<&str> = sshfp.data.split(' ').collect();
    assert_eq!(fields.len(), 3, "{}", sshfp.data);
    assert!(
        fields[2].bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        sshfp.data
    );
}

#[test]
fn tcp_messages() {
    let Some(found) = messages("dns_tcp.pcap") else {
        return;
    };
    assert_eq!(found.len(), 2);
    assert_eq!(found[1].answers.len(), 2);
    assert_eq!(found[1].answers[0].data, "192.139.46.66");
}
