//! Agreement with Suricata's verification cases for DNS.
//!
//! Each decoded message is rendered as the DNS part of a Suricata EVE v3
//! record (one per request or response, as Suricata logs them), and every
//! `filter` of the case's `test.yaml` that concerns DNS records must find
//! exactly its `count` of matching records. Alert filters on Suricata's DNS
//! decoder events are checked against picket's anomalies; alerts from
//! content rules and flow and stats records are outside the decoder's scope.
// The corpus files read whole here are small, known test inputs.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dns_support;

use std::path::Path;

use picket_decode::dns::DnsMessage;
use picket_event::dns::{DnsFlags, DnsProtocol};
use picket_event::{Anomaly, RecordType, ResourceRecord};
use serde_json::{Value, json};

/// Match keys picket does not produce, and why.
const IGNORED_KEYS: &[(&str, &str)] = &[
    (
        "dns.tx_id",
        "Suricata's per-flow transaction counter, not a DNS field",
    ),
    (
        "dns.queries[0].rrname.__len",
        "Suricata cuts names at 1,025 characters; picket stops at the 255-byte wire \
         limit of RFC 1035 section 3.1 and flags DnsNameTooLong (rrname_truncated below)",
    ),
];

/// Match keys ignored in one case only: (case, key, reason).
const CASE_IGNORED_KEYS: &[(&str, &str, &str)] = &[(
    "dns/dns-truncated-rname",
    "pcap_cnt",
    "the request is complete with packet 6; Suricata's TCP engine parses to-server \
     data once the server acknowledges it, in packet 8. picket names the packet \
     that completed the message",
)];

/// Suricata DNS decoder events (by rule sid) and the picket anomalies that
/// report the same problem.
const DECODER_EVENTS: &[(u64, &[Anomaly])] = &[
    (2240006, &[Anomaly::DnsZBitSet]),
    (224008, &[Anomaly::DnsNameTooLong]),
    (224009, &[Anomaly::DnsCompressionLoop]),
    (
        2240002,
        &[
            Anomaly::DnsTruncatedRecord,
            Anomaly::DnsBadLabelType,
            Anomaly::DnsCountMismatch,
        ],
    ),
    (
        2240003,
        &[
            Anomaly::DnsTruncatedRecord,
            Anomaly::DnsBadLabelType,
            Anomaly::DnsCountMismatch,
        ],
    ),
];

/// The case folders and the capture of each when it is not beside test.yaml.
const CASES: &[(&str, Option<&str>)] = &[
    ("dns-eve-v2-udp-nxdomain-soa", None),
    ("dns-udp-z-flag-fp", None),
    ("dns/dns-answer-emptydata", None),
    ("dns/dns-eve", None),
    ("dns/dns-forward-pointer", None),
    ("dns/dns-incomplete", None),
    ("dns/dns-rcode", None),
    ("dns/dns-tcp-www-google-com", None),
    ("dns/dns-truncated-rname", None),
    ("dns/dns-udp-eve-dig", Some("cond-log-dns-dig/input.pcap")),
    ("dns/dns-udp-eve-log-srv", None),
    ("dns/dns-udp-eve-txt", None),
    ("dns/dns-udp-null", None),
    ("dns/dns-udp-unsolicited-response", None),
    ("dns/dns-z-bit", None),
    ("dns/dns-query/dns-detect-query-01", None),
    ("dns/dns-query/dns-detect-query-02", None),
];

/// The header's second word, rebuilt from its fields.
fn flags_word(flags: DnsFlags, opcode: u8, rcode: u8) -> u16 {
    let bits = [
        (flags.qr, 15),
        (flags.aa, 10),
        (flags.tc, 9),
        (flags.rd, 8),
        (flags.ra, 7),
        (flags.z, 6),
        (flags.ad, 5),
        (flags.cd, 4),
    ];
    let mut word = u16::from(opcode & 0x0f) << 11 | u16::from(rcode & 0x0f);
    for (set, bit) in bits {
        if set {
            word |= 1 << bit;
        }
    }
    word
}

/// The record data as Suricata writes `rdata`: TXT strings without picket's
/// Zeek-style `TXT <length>` prefix, NULL and unknown data as the raw bytes
/// with bytes above 0x7f written `\xNN`.
fn suricata_rdata(record: &ResourceRecord) -> Value {
    if let Some(generic) = record.data.strip_prefix("\\# ") {
        let hex = generic.split(' ').nth(1).unwrap_or("");
        let mut text = String::new();
        for index in (0..hex.len()).step_by(2) {
            let byte = u8::from_str_radix(&hex[index..index + 2], 16).unwrap();
            if byte < 0x80 {
                text.push(char::from(byte));
            } else {
                text.push_str(&format!("\\x{byte:02x}"));
            }
        }
        return json!(text);
    }
    if record.rtype == RecordType::TXT {
        // "TXT <len> <text>" per string: keep the texts.
        let mut texts = Vec::new();
        let mut rest = record.data.as_str();
        while let Some(after) = rest.strip_prefix("TXT ") {
            let (len, after) = after.split_once(' ').unwrap();
            let len: usize = len.parse().unwrap();
            texts.push(after[..len].to_string());
            rest = after[len..].trim_start();
        }
        return json!(texts.concat());
    }
    json!(record.data)
}

fn eve_record(record: &ResourceRecord) -> Value {
    let mut eve = json!({
        "rrname": record.name,
        "rrtype": record.rtype.to_string(),
        "ttl": record.ttl,
    });
    let fields: Vec<&str> = record.data.split(' ').collect();
    match record.rtype {
        RecordType::SOA => {
            let names = [
                "mname", "rname", "serial", "refresh", "retry", "expire", "minimum",
            ];
            let mut soa = serde_json::Map::new();
            for (index, name) in names.iter().enumerate() {
                let value = fields[index];
                soa.insert(
                    name.to_string(),
                    value
                        .parse::<u64>()
                        .map_or_else(|_| json!(value), |n| json!(n)),
                );
            }
            eve["soa"] = Value::Object(soa);
        }
        RecordType::SRV => {
            eve["srv"] = json!({
                "priority": fields[0].parse::<u64>().unwrap(),
                "weight": fields[1].parse::<u64>().unwrap(),
                "port": fields[2].parse::<u64>().unwrap(),
                "name": fields[3],
            });
        }
        _ => eve["rdata"] = suricata_rdata(record),
    }
    eve
}

/// One message as the DNS part of a Suricata EVE v3 record.
fn eve(found: &dns_support::Found) -> Value {
    let message: &DnsMessage = &found.message;
    let header = message.header.unwrap_or_default();
    let meta = &found.meta;
    let response = header.flags.qr;
    let mut dns = json!({
        "version": 3,
        "type": if response { "response" } else { "request" },
        "id": header.id,
        "flags": format!("{:04x}", flags_word(header.flags, header.opcode, header.rcode)),
        "qr": header.flags.qr,
        "aa": header.flags.aa,
        "tc": header.flags.tc,
        "rd": header.flags.rd,
        "ra": header.flags.ra,
        "z": header.flags.z,
        "queries": message.questions.iter().map(|q| json!({
            "rrname": q.name,
            "rrtype": q.qtype.to_string(),
            "rrname_truncated": message.anomalies.contains(&Anomaly::DnsNameTooLong),
        })).collect::<Vec<_>>(),
        "answers": message.answers.iter().map(eve_record).collect::<Vec<_>>(),
        "authorities": message.authorities.iter().map(eve_record).collect::<Vec<_>>(),
    });
    if response {
        dns["rcode"] = json!(message.rcode().unwrap().to_string());
        let mut grouped = serde_json::Map::new();
        for record in &message.answers {
            let entry = grouped
                .entry(record.rtype.to_string())
                .or_insert_with(|| json!([]));
            entry.as_array_mut().unwrap().push(suricata_rdata(record));
        }
        dns["grouped"] = Value::Object(grouped);
    }
    json!({
        "event_type": "dns",
        "src_ip": meta.src_ip.to_string(),
        "src_port": meta.src_port,
        "dest_ip": meta.dst_ip.to_string(),
        "dest_port": meta.dst_port,
        "proto": match meta.transport { picket_event::dns::Transport::Udp => "UDP", picket_event::dns::Transport::Tcp => "TCP" },
        "pcap_cnt": meta.location.packet.unwrap(),
        "dns": dns,
    })
}

/// Follows a Suricata match key (`dns.answers[0].rrname`) into a record.
fn lookup<'a>(record: &'a Value, key: &str) -> Option<&'a Value> {
    let mut value = record;
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (
                name,
                Some(rest.trim_end_matches(']').parse::<usize>().ok()?),
            ),
            None => (part, None),
        };
        value = value.get(name)?;
        if let Some(index) = index {
            value = value.get(index)?;
        }
    }
    Some(value)
}

fn same(expected: &serde_yaml_ng::Value, actual: &Value) -> bool {
    let expected = match expected {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        serde_yaml_ng::Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    };
    let actual = match actual {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    expected == actual
}

fn extra_ports(case: &serde_yaml_ng::Value) -> Vec<u16> {
    let text = serde_yaml_ng::to_string(&case["args"]).unwrap_or_default();
    text.split("detection-ports.dp=")
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

fn check_case(folder: &str, capture: Option<&str>) -> Vec<String> {
    let dir = picket_corpus::corpus_path(&format!("suricata-verify/{folder}")).unwrap();
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join("test.yaml")).unwrap()).unwrap();
    let pcap = match capture {
        Some(relative) => {
            picket_corpus::corpus_path(&format!("suricata-verify/{relative}")).unwrap()
        }
        None => std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|e| e == "pcap"))
            .unwrap(),
    };
    let found = dns_support::read_messages(Path::new(&pcap), &extra_ports(&yaml));
    let records: Vec<Value> = found.iter().map(eve).collect();
    let rules_are_decoder_events = std::fs::read_dir(&dir).unwrap().all(|entry| {
        let path = entry.unwrap().path();
        path.extension().is_none_or(|e| e != "rules")
            || std::fs::read_to_string(&path).unwrap().lines().all(|line| {
                line.starts_with('#') || line.trim().is_empty() || line.contains("app-layer-event")
            })
    });

    let mut problems = Vec::new();
    for check in yaml["checks"].as_sequence().unwrap() {
        let filter = &check["filter"];
        if !filter["requires"]["lt-version"].is_null() {
            continue;
        }
        let count = filter["count"].as_u64().unwrap();
        let matches = filter["match"].as_mapping().unwrap();
        let event_type = matches
            .get("event_type")
            .and_then(|v| v.as_str())
            .unwrap_or("dns");

        match event_type {
            "dns" => {
                let hits = records
                    .iter()
                    .filter(|record| {
                        matches.iter().all(|(key, expected)| {
                            let key = key.as_str().unwrap();
                            let ignored = IGNORED_KEYS.iter().any(|(k, _)| *k == key)
                                || CASE_IGNORED_KEYS
                                    .iter()
                                    .any(|(c, k, _)| *c == folder && *k == key);
                            if key == "event_type" || ignored {
                                return true;
                            }
                            lookup(record, key).is_some_and(|actual| same(expected, actual))
                        })
                    })
                    .count();
                if hits as u64 != count {
                    problems.push(format!(
                        "{folder}: {hits} records match {matches:?}, expected {count}"
                    ));
                }
            }
            "alert" => {
                let sid = matches.get("alert.signature_id").and_then(|v| v.as_u64());
                let anomalies: Vec<Anomaly> = match sid {
                    Some(sid) => match DECODER_EVENTS.iter().find(|(s, _)| *s == sid) {
                        Some((_, anomalies)) => anomalies.to_vec(),
                        None => continue,
                    },
                    None if rules_are_decoder_events => DECODER_EVENTS
                        .iter()
                        .flat_map(|(_, a)| a.iter().copied())
                        .collect(),
                    None => continue,
                };
                let hits = found
                    .iter()
                    .filter(|f| f.message.anomalies.iter().any(|a| anomalies.contains(a)))
                    .count();
                if hits as u64 != count {
                    problems.push(format!(
                        "{folder}: {hits} messages with {anomalies:?}, expected {count} alerts"
                    ));
                }
            }
            _ => {}
        }
    }
    problems
}

#[test]
fn suricata_dns_cases() {
    picket_corpus::require_corpus!("suricata-verify/dns");
    let mut problems = Vec::new();
    for (folder, capture) in CASES {
        problems.extend(check_case(folder, *capture));
    }
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn suricata_unsolicited_response_event() {
    let pcap = picket_corpus::require_corpus!(
        "suricata-verify/dns/dns-udp-unsolicited-response/dns-response-2x.pcap"
    );
    let events = dns_support::read_events(&pcap, &[]);
    assert_eq!(events.len(), 2);
    let unsolicited: Vec<_> = events
        .iter()
        .filter(|e| e.anomalies.contains(&Anomaly::DnsUnsolicitedResponse))
        .collect();
    assert_eq!(unsolicited.len(), 1);
    assert_eq!(unsolicited[0].protocol, DnsProtocol::Dns);
}
