//! Agreement with Zeek's `dns.log` on the DNS traces of Zeek's test suite.
//!
//! Each baseline row is matched to a picket event by transaction id, the
//! two endpoints, the query name and whether a response was seen; then
//! qtype, qclass, rcode, the AA, TC, RD and RA flags, Zeek's three-bit Z
//! field, the answers and their TTLs must agree, or the difference must be
//! one of [`EXPECTED_DIFFERENCES`].
// The corpus files read whole here are small, known test inputs.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod dns_support;

use std::collections::HashMap;
use std::path::Path;

use picket_decode::dns::{DnsLimits, parse_message};
use picket_event::dns::{DnsFlags, DnsProtocol, ResponseCode};
use picket_event::{Anomaly, DnsEvent, DnsExchange, RecordType, ResourceRecord};

/// Where picket and Zeek (7.x baselines) differ on purpose, and which side is right.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[
    (
        "netbios",
        "Zeek decodes NetBIOS name service (UDP 137) with its DNS analyzer; picket \
         decodes DNS, mDNS and LLMNR only, so those rows have no picket event. \
         Both are right for their scope.",
    ),
    (
        "bind-signing",
        "For BIND's private type 65534 Zeek logs the text `BIND9 signing signal`; \
         picket keeps the record as RFC 3597 `\\# len HEX` with its number, which \
         preserves the data. picket is right for a generic decoder.",
    ),
    (
        "rrsig",
        "Zeek abbreviates RRSIG answers to `RRSIG <type covered number> <signer>`; \
         picket gives the full RFC 4034 presentation form. The test compares the \
         two fields Zeek keeps. picket is more complete.",
    ),
    (
        "dynamic-update",
        "For UPDATE messages (opcode 5) Zeek logs prerequisite, delete and add \
         records in its own `pre:`/`del:`/`add:` wording; picket decodes the \
         sections as plain records. The rows are compared on everything else.",
    ),
    (
        "header-flags",
        "Zeek logs RD and its three-bit Z (Z, AD, CD) from the query, false and 0 \
         when only the response was seen, and AA, TC and RA from the response only \
         when it carried answers. picket's flags are those of one message, the \
         response when there is one, as ECS `dns.header_flags` defines them. The \
         test derives Zeek's values from the query picket decoded. picket is right \
         for the response it describes.",
    ),
    (
        "question-from-query",
        "Zeek fills qtype and qclass only from a query, so response-only rows show \
         `-`; picket takes them from the question the response echoes. picket is \
         right: the response states its question.",
    ),
    (
        "mdns-known-answers",
        "mDNS queries may carry known answers (RFC 6762 section 7.1); picket keeps \
         them on the query-only event, Zeek logs answers only from responses. \
         picket keeps more.",
    ),
    (
        "update-zone",
        "For UPDATE messages the question section is the zone (RFC 2136 section \
         2.3); picket names the event after it, Zeek after the first updated name. \
         Rows are matched by id. picket follows the RFC.",
    ),
    (
        "tkey",
        "Zeek leaves TKEY records out of the answers column (it raises dns_TKEY \
         only); picket lists them like any record. picket keeps more.",
    ),
    (
        "bad-checksum-query",
        "The queries in these traces have bad IP and UDP checksums (captured on the \
         sending host with checksum offload). Zeek drops such packets and logs the \
         response alone; picket, like tcpdump and tshark by default, does not \
         verify checksums and pairs them. picket keeps the exchange whole; the \
         test compares as if the query were absent.",
    ),
    (
        "mx-soa-srv",
        "Zeek logs only the target name of MX, SRV and SOA answers; picket keeps \
         the whole record data. The test compares the name.",
    ),
];

/// Baseline folder, trace, and the expected differences that apply to it.
/// Differences that apply to every case.
const GLOBAL_DIFFERENCES: &[&str] = &["header-flags", "question-from-query"];

const CASES: &[(&str, &str, &[&str])] = &[
    ("core.ipv6-frag", "ipv6-fragmented-dns.pcap", &[]),
    (
        "opt.basic",
        "wikipedia.pcap",
        &["netbios", "mx-soa-srv", "mdns-known-answers"],
    ),
    (
        "scripts.base.protocols.dns.binds",
        "dns/dns-binds.pcap",
        &["bind-signing"],
    ),
    (
        "scripts.base.protocols.dns.duplicate-reponses",
        "dns-two-responses.pcap",
        &["rrsig"],
    ),
    (
        "scripts.base.protocols.dns.dynamic-update",
        "dns/dynamic-update.pcap",
        &["dynamic-update", "update-zone"],
    ),
    ("scripts.base.protocols.dns.flip", "dns53.pcap", &[]),
    (
        "scripts.base.protocols.dns.mdns-no-assoc",
        "dns/mdns-no-assoc.pcap",
        &[],
    ),
    (
        "scripts.base.protocols.dns.multiple-txt-strings",
        "dns-txt-multiple.pcap",
        &["bad-checksum-query"],
    ),
    (
        "scripts.base.protocols.dns.rrsig",
        "dnssec/rrsig.pcap",
        &["rrsig"],
    ),
    (
        "scripts.base.protocols.dns.spf",
        "dns-spf.pcap",
        &["bad-checksum-query"],
    ),
    (
        "scripts.base.protocols.dns.tkey",
        "dns/tkey.pcap",
        &["tkey"],
    ),
    (
        "scripts.base.protocols.dns.zero-responses",
        "dns-zero-RRs.pcap",
        &[],
    ),
    (
        "scripts.policy.protocols.dns.original_case",
        "dns_original_case.pcap",
        &[],
    ),
];

/// One row of a Zeek `dns.log`, by column name.
struct ZeekRow(HashMap<String, String>);

impl ZeekRow {
    fn get(&self, field: &str) -> Option<&str> {
        self.0
            .get(field)
            .map(String::as_str)
            .filter(|value| *value != "-")
    }

    fn list(&self, field: &str) -> Vec<String> {
        match self.get(field) {
            None | Some("(empty)") => Vec::new(),
            Some(value) => value.split(',').map(str::to_string).collect(),
        }
    }

    fn flag(&self, field: &str) -> bool {
        self.get(field) == Some("T")
    }
}

fn read_zeek_log(path: &Path) -> Vec<ZeekRow> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut fields = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(names) = line.strip_prefix("#fields\t") {
            fields = names.split('\t').map(str::to_string).collect();
        } else if !line.starts_with('#') && !line.is_empty() {
            let values = line.split('\t').map(str::to_string);
            rows.push(ZeekRow(fields.iter().cloned().zip(values).collect()));
        }
    }
    rows
}

/// The answer as Zeek's `dns.log` writes it, for the types Zeek prints.
fn zeek_answer(record: &ResourceRecord, differences: &[&str]) -> String {
    let fields: Vec<&str> = record.data.split(' ').collect();
    match record.rtype {
        RecordType::MX | RecordType::SRV => record.target_name().unwrap_or_default().to_string(),
        RecordType::SOA => fields[0].to_string(),
        RecordType::RRSIG if differences.contains(&"rrsig") => {
            let covered = RecordType::from_name(fields[0]).unwrap();
            format!("RRSIG {} {}", covered.0, fields[7])
        }
        RecordType(65534) if differences.contains(&"bind-signing") => {
            assert!(record.data.starts_with("\\# "), "{}", record.data);
            "BIND9 signing signal".to_string()
        }
        _ => record.data.clone(),
    }
}

/// Zeek's `Z` column: the three bits Z, AD and CD as one number.
fn zeek_z(flags: &DnsFlags) -> u8 {
    u8::from(flags.z) << 2 | u8::from(flags.ad) << 1 | u8::from(flags.cd)
}

fn endpoint(ip: Option<std::net::IpAddr>, port: Option<u16>) -> (String, u16) {
    (ip.unwrap().to_string(), port.unwrap())
}

fn endpoints(event: &DnsEvent) -> [(String, u16); 2] {
    let mut pair = [
        (
            event.client_ip.unwrap().to_string(),
            event.client_port.unwrap(),
        ),
        (
            event.server_ip.unwrap().to_string(),
            event.server_port.unwrap(),
        ),
    ];
    pair.sort();
    pair
}

fn row_endpoints(row: &ZeekRow) -> [(String, u16); 2] {
    let mut pair = [
        (
            row.get("id.orig_h").unwrap().to_string(),
            row.get("id.orig_p").unwrap().parse().unwrap(),
        ),
        (
            row.get("id.resp_h").unwrap().to_string(),
            row.get("id.resp_p").unwrap().parse().unwrap(),
        ),
    ];
    pair.sort();
    pair
}

fn compare_case(baseline: &str, trace: &str, differences: &[&str]) -> Vec<String> {
    let log = picket_corpus::corpus_path(&format!("zeek/baselines/{baseline}/dns.log")).unwrap();
    let pcap = picket_corpus::corpus_path(&format!("zeek/traces/{trace}")).unwrap();
    let rows = read_zeek_log(&log);
    let mut query_flags = HashMap::new();
    for found in dns_support::read_messages(&pcap, &[]) {
        if let Some(header) = found.message.header.filter(|h| !h.flags.qr) {
            let meta = &found.meta;
            let key = (
                header.id,
                (meta.src_ip.to_string(), meta.src_port),
                (meta.dst_ip.to_string(), meta.dst_port),
            );
            query_flags.entry(key).or_insert(header.flags);
        }
    }
    let mut events: Vec<Option<DnsEvent>> = dns_support::read_events(&pcap, &[])
        .into_iter()
        .map(Some)
        .collect();
    let mut problems = Vec::new();

    for (index, row) in rows.iter().enumerate() {
        let here = format!("{baseline} row {}", index + 1);
        let netbios = row.get("id.orig_p") == Some("137") || row.get("id.resp_p") == Some("137");
        if netbios && differences.contains(&"netbios") {
            continue;
        }

        // Find the event: same id, endpoints, query and presence of a response.
        let id: u16 = row.get("trans_id").unwrap().parse().unwrap();
        let query = row.get("query").unwrap_or_default().to_ascii_lowercase();
        let has_response = row.get("rcode").is_some();
        let slot = events.iter_mut().find(|slot| {
            slot.as_ref().is_some_and(|event| {
                event.id == Some(id)
                    && endpoints(event) == row_endpoints(row)
                    && (event.query_name == query || differences.contains(&"update-zone"))
                    && (event.exchange != DnsExchange::QueryOnly) == has_response
            })
        });
        let Some(event) = slot.and_then(Option::take) else {
            problems.push(format!(
                "{here}: no picket event for id {id} query {query:?}"
            ));
            continue;
        };

        // Question fields.
        let mut qtype = row.get("qtype").map(|v| RecordType(v.parse().unwrap()));
        let mut qclass = row.get("qclass").map(|v| v.parse::<u16>().unwrap());
        let query_unseen = event.exchange == DnsExchange::ResponseOnly
            || differences.contains(&"bad-checksum-query");
        let update = differences.contains(&"update-zone");
        if (query_unseen || update) && qtype.is_none() {
            // Difference question-from-query.
            qtype = event.query_type;
            qclass = event.query_class;
        }
        if event.query_type != qtype {
            problems.push(format!(
                "{here}: qtype {:?} vs Zeek {qtype:?}",
                event.query_type
            ));
        }
        if event.query_class != qclass {
            problems.push(format!(
                "{here}: qclass {:?} vs Zeek {qclass:?}",
                event.query_class
            ));
        }
        let rcode = row.get("rcode").map(|v| ResponseCode(v.parse().unwrap()));
        if event.rcode != rcode {
            problems.push(format!("{here}: rcode {:?} vs Zeek {rcode:?}", event.rcode));
        }
        if let Some(original) = row.get("original_query") {
            let ours = event
                .query_name_original
                .as_deref()
                .unwrap_or(&event.query_name);
            if ours != original {
                problems.push(format!(
                    "{here}: original query {ours:?} vs Zeek {original:?}"
                ));
            }
        }

        // Header flags, as Zeek combines them (difference header-flags).
        let key = (
            id,
            endpoint(event.client_ip, event.client_port),
            endpoint(event.server_ip, event.server_port),
        );
        let query = if query_unseen {
            DnsFlags::default()
        } else {
            query_flags.get(&key).copied().unwrap_or_default()
        };
        let from_response = event.exchange != DnsExchange::QueryOnly && !event.answers.is_empty();
        let shown = if from_response { event.flags } else { query };
        let flags = [
            ("AA", shown.aa),
            ("TC", shown.tc),
            ("RD", query.rd),
            ("RA", shown.ra),
        ];
        for (name, ours) in flags {
            if ours != row.flag(name) {
                problems.push(format!(
                    "{here}: flag {name} {ours} vs Zeek {}",
                    row.flag(name)
                ));
            }
        }
        let z: u8 = row.get("Z").unwrap().parse().unwrap();
        if zeek_z(&query) != z {
            problems.push(format!("{here}: Z {} vs Zeek {z}", zeek_z(&query)));
        }

        // Answers and TTLs; UPDATE sections are worded differently by Zeek.
        if !differences.contains(&"dynamic-update") {
            let known_answers = event.exchange == DnsExchange::QueryOnly
                && event.protocol == DnsProtocol::Mdns
                && differences.contains(&"mdns-known-answers");
            let answers: Vec<&ResourceRecord> = event
                .answers
                .iter()
                .filter(|_| !known_answers)
                .filter(|r| !(r.rtype == RecordType::TKEY && differences.contains(&"tkey")))
                .collect();
            let ttls: Vec<String> = answers
                .iter()
                .map(|r| format!("{}.000000", r.ttl))
                .collect();
            let answers: Vec<String> = answers
                .iter()
                .map(|r| zeek_answer(r, differences))
                .collect();
            if answers != row.list("answers") {
                problems.push(format!(
                    "{here}: answers {answers:?} vs Zeek {:?}",
                    row.list("answers")
                ));
            }
            if ttls != row.list("TTLs") {
                problems.push(format!(
                    "{here}: TTLs {ttls:?} vs Zeek {:?}",
                    row.list("TTLs")
                ));
            }
        } else if event.answers.len() + event.authorities.len() != row.list("answers").len() {
            problems.push(format!(
                "{here}: {} update records vs Zeek {}",
                event.answers.len() + event.authorities.len(),
                row.list("answers").len()
            ));
        }

        // Zeek's rtt is kept only for responses with answers; compare when set.
        if let (Some(theirs), Some(ours)) = (row.get("rtt"), event.rtt) {
            let theirs: f64 = theirs.parse().unwrap();
            if (theirs - ours).abs() > 2e-6 {
                problems.push(format!("{here}: rtt {ours} vs Zeek {theirs}"));
            }
        }

        // Well-formed traffic carries no message anomalies.
        let unexpected: Vec<&Anomaly> = event
            .anomalies
            .iter()
            .filter(|a| !matches!(a, Anomaly::DnsNoResponse | Anomaly::DnsUnsolicitedResponse))
            .collect();
        if !unexpected.is_empty() {
            problems.push(format!("{here}: unexpected anomalies {unexpected:?}"));
        }
    }

    // NetBIOS aside, Zeek logs every DNS exchange picket sees.
    for event in events.into_iter().flatten() {
        problems.push(format!(
            "{baseline}: picket event {} {:?} id {:?} has no Zeek row",
            event.query_name, event.exchange, event.id
        ));
    }
    problems
}

#[test]
fn zeek_dns_log_agreement() {
    picket_corpus::require_corpus!("zeek/baselines");
    for (difference, _) in EXPECTED_DIFFERENCES {
        let used = GLOBAL_DIFFERENCES.contains(difference)
            || CASES.iter().any(|(_, _, used)| used.contains(difference));
        assert!(used, "{difference} is listed but applies to no case");
    }

    let mut problems = Vec::new();
    for (baseline, trace, differences) in CASES {
        problems.extend(compare_case(baseline, trace, differences));
    }
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn zeek_traces_without_baseline() {
    picket_corpus::require_corpus!("zeek/traces");
    for trace in [
        "dns-huge-ttl.pcap",
        "dns/dns-invalid-names.pcap",
        "dns/naptr.pcap",
    ] {
        let pcap = picket_corpus::corpus_path(&format!("zeek/traces/{trace}")).unwrap();
        let events = dns_support::read_events(&pcap, &[]);
        assert!(!events.is_empty(), "{trace}: no events");
    }
}

#[test]
fn zeek_max_compression_depth() {
    // The last answer's owner name is a chain of six pointers. Zeek 7 stops
    // below that (weird DNS_max_compression_chain_depth_exceeded, depth 6);
    // tshark and picket's default of 16 read all seven answers, and a limit
    // of 5 makes picket report the chain too.
    let pcap = picket_corpus::require_corpus!("zeek/traces/dns/max-compression-depth.pcap");
    let found = dns_support::read_messages(&pcap, &[]);
    let response = found.iter().find(|f| f.message.is_response()).unwrap();
    assert_eq!(response.message.answers.len(), 7);
    assert!(response.message.answers.iter().all(|r| r.name == "a"));
    assert!(response.message.anomalies.is_empty());

    let strict = DnsLimits {
        max_pointer_jumps: 5,
        ..DnsLimits::default()
    };
    let message = parse_message(&response.payload, &strict);
    assert_eq!(message.anomalies, vec![Anomaly::DnsCompressionTooDeep]);
}
