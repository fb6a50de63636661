//! hickory-proto as an oracle: random well-formed messages built and encoded
//! (with name compression) by hickory must decode the same with picket's
//! decoder as with hickory's own, and without anomalies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::{self, MX, NAPTR, NULL, SOA, SRV, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType as HickoryType};
use picket_decode::dns::{DnsLimits, parse_message};
use picket_event::RecordType;
use proptest::prelude::*;

fn name_strategy() -> impl Strategy<Value = Name> {
    prop::collection::vec("[a-zA-Z0-9][a-zA-Z0-9-]{0,11}", 1..4).prop_map(|labels| {
        let mut name = Name::from_labels(labels.iter().map(String::as_bytes)).unwrap();
        name.set_fqdn(true);
        name
    })
}

fn rdata_strategy() -> impl Strategy<Value = RData> {
    let text = prop::collection::vec("[ -~]{0,24}", 1..4);
    let bytes = prop::collection::vec(any::<u8>(), 1..24);
    prop_oneof![
        any::<u32>().prop_map(|ip| RData::A(rdata::A(Ipv4Addr::from(ip)))),
        any::<u128>().prop_map(|ip| RData::AAAA(rdata::AAAA(Ipv6Addr::from(ip)))),
        name_strategy().prop_map(|n| RData::CNAME(rdata::CNAME(n))),
        name_strategy().prop_map(|n| RData::NS(rdata::NS(n))),
        name_strategy().prop_map(|n| RData::PTR(rdata::PTR(n))),
        (any::<u16>(), name_strategy()).prop_map(|(p, n)| RData::MX(MX::new(p, n))),
        text.prop_map(|strings| RData::TXT(TXT::new(strings))),
        (
            name_strategy(),
            name_strategy(),
            any::<u32>(),
            0..i32::MAX,
            0..i32::MAX
        )
            .prop_map(|(m, r, serial, refresh, retry)| {
                RData::SOA(SOA::new(m, r, serial, refresh, retry, 604_800, 300))
            }),
        (any::<u16>(), any::<u16>(), any::<u16>(), name_strategy())
            .prop_map(|(p, w, port, n)| RData::SRV(SRV::new(p, w, port, n))),
        bytes.prop_map(|b| RData::NULL(NULL::with(b))),
        (
            any::<u16>(),
            any::<u16>(),
            "[A-Z]{0,2}",
            "[a-z+:]{0,12}",
            "[!-~]{0,16}",
            name_strategy()
        )
            .prop_map(|(order, pref, flags, services, regexp, replacement)| {
                RData::NAPTR(NAPTR::new(
                    order,
                    pref,
                    flags.into_bytes().into(),
                    services.into_bytes().into(),
                    regexp.into_bytes().into(),
                    replacement,
                ))
            }),
    ]
}

fn record_strategy() -> impl Strategy<Value = Record> {
    (name_strategy(), any::<u32>(), rdata_strategy())
        .prop_map(|(name, ttl, data)| Record::from_rdata(name, ttl, data))
}

prop_compose! {
    fn message_strategy()(
        id in any::<u16>(),
        response in any::<bool>(),
        flags in any::<[bool; 6]>(),
        rcode in 0u8..6,
        queries in prop::collection::vec((name_strategy(), 1u16..300), 0..3),
        answers in prop::collection::vec(record_strategy(), 0..6),
        authorities in prop::collection::vec(record_strategy(), 0..3),
        additionals in prop::collection::vec(record_strategy(), 0..3),
    ) -> Message {
        let kind = if response { MessageType::Response } else { MessageType::Query };
        let mut message = Message::new(id, kind, OpCode::Query);
        message.metadata.authoritative = flags[0];
        message.metadata.truncation = flags[1];
        message.metadata.recursion_desired = flags[2];
        message.metadata.recursion_available = flags[3];
        message.metadata.authentic_data = flags[4];
        message.metadata.checking_disabled = flags[5];
        message.metadata.response_code = hickory_proto::op::ResponseCode::from_low(rcode);
        for (name, qtype) in queries {
            let mut query = Query::new();
            query.set_name(name).set_query_type(HickoryType::from(qtype)).set_query_class(DNSClass::IN);
            message.add_query(query);
        }
        message.answers = answers;
        message.authorities = authorities;
        message.additionals = additionals;
        message
    }
}

/// A name as picket writes it in record data: lower case, no trailing dot.
fn plain(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &byte in bytes {
        if byte == b'"' || byte == b'\\' {
            out.push('\\');
        }
        out.push(char::from(byte));
    }
    out.push('"');
    out
}

/// The presentation form picket is expected to give hickory's decoded data.
fn expected_data(data: &RData) -> String {
    match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(aaaa) => aaaa.0.to_string(),
        RData::CNAME(n) => plain(&n.0),
        RData::NS(n) => plain(&n.0),
        RData::PTR(n) => plain(&n.0),
        RData::MX(mx) => format!("{} {}", mx.preference, plain(&mx.exchange)),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| {
                let quoted = quoted(s);
                format!("TXT {} {}", s.len(), &quoted[1..quoted.len() - 1])
            })
            .collect::<Vec<_>>()
            .join(" "),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            plain(&soa.mname),
            plain(&soa.rname),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            plain(&srv.target)
        ),
        RData::NULL(null) => {
            let hex: String = null.anything.iter().map(|b| format!("{b:02X}")).collect();
            format!("\\# {} {hex}", null.anything.len())
        }
        RData::NAPTR(naptr) => format!(
            "{} {} {} {} {} {}",
            naptr.order,
            naptr.preference,
            quoted(&naptr.flags),
            quoted(&naptr.services),
            quoted(&naptr.regexp),
            plain(&naptr.replacement)
        ),
        other => panic!("no expectation for {other:?}"),
    }
}

fn compare_records(section: &str, ours: &[picket_event::ResourceRecord], theirs: &[Record]) {
    assert_eq!(ours.len(), theirs.len(), "{section} length");
    for (ours, theirs) in ours.iter().zip(theirs) {
        assert_eq!(ours.name, plain(&theirs.name), "{section} owner");
        assert_eq!(
            ours.rtype,
            RecordType(u16::from(theirs.record_type())),
            "{section} type"
        );
        assert_eq!(ours.class, u16::from(theirs.dns_class), "{section} class");
        assert_eq!(ours.ttl, theirs.ttl, "{section} ttl");
        assert_eq!(ours.data, expected_data(&theirs.data), "{section} data");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn hickory_encoded_messages_decode_alike(message in message_strategy()) {
        let bytes = message.to_vec().unwrap();
        let theirs = Message::from_vec(&bytes).unwrap();
        let ours = parse_message(&bytes, &DnsLimits::default());

        prop_assert!(ours.anomalies.is_empty(), "{:?}", ours.anomalies);
        prop_assert_eq!(ours.size, bytes.len());

        // Header.
        let header = ours.header.unwrap();
        let meta = &theirs.metadata;
        prop_assert_eq!(header.id, meta.id);
        prop_assert_eq!(header.flags.qr, meta.message_type == MessageType::Response);
        prop_assert_eq!(header.flags.aa, meta.authoritative);
        prop_assert_eq!(header.flags.tc, meta.truncation);
        prop_assert_eq!(header.flags.rd, meta.recursion_desired);
        prop_assert_eq!(header.flags.ra, meta.recursion_available);
        prop_assert_eq!(header.flags.ad, meta.authentic_data);
        prop_assert_eq!(header.flags.cd, meta.checking_disabled);
        prop_assert_eq!(header.opcode, u8::from(meta.op_code));
        prop_assert_eq!(u16::from(header.rcode), u16::from(meta.response_code));

        // Question: the name keeps its case.
        prop_assert_eq!(ours.questions.len(), theirs.queries.len());
        for (ours, theirs) in ours.questions.iter().zip(&theirs.queries) {
            let name = theirs.name().to_ascii();
            prop_assert_eq!(ours.name.as_str(), name.trim_end_matches('.'));
            prop_assert_eq!(ours.qtype, RecordType(u16::from(theirs.query_type())));
            prop_assert_eq!(ours.qclass, u16::from(theirs.query_class()));
        }

        // Records.
        compare_records("answer", &ours.answers, &theirs.answers);
        compare_records("authority", &ours.authorities, &theirs.authorities);
        compare_records("additional", &ours.additionals, &theirs.additionals);
    }
}
