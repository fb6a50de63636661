//! Matching on public cases with published ground truth: Zeek's Intel
//! framework tests and Suricata's subdomain dataset test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::path::Path;

use picket_decode::{CaptureReader, DecodeConfig};
use picket_event::{Event, IntelHit, MatchedField};
use picket_intel::{Format, Indicator, LoadOptions};
use picket_match::{Matcher, MatcherBuilder};

fn load(path: &Path, format: Format) -> Vec<Indicator> {
    let options = LoadOptions {
        format: Some(format),
        ..LoadOptions::default()
    };
    let report = picket_intel::load_file_with(path, &options).unwrap();
    assert_eq!(report.rejected(), 0, "{:?}", report.rejections);
    let mut all = report.indicators;
    all.extend(report.allow);
    all
}

/// Adds a file's entries: those the file marks as whitelisted (Zeek's
/// `meta.whitelist`) as whitelist entries, the rest as indicators.
fn add_file(builder: &mut MatcherBuilder, path: &Path) {
    for indicator in load(path, Format::ZeekIntel) {
        if indicator.is_whitelist() {
            builder.allow(&indicator).unwrap();
        } else {
            builder.add(&indicator).unwrap();
        }
    }
}

fn capture_hits(matcher: &Matcher, pcap: &Path) -> (usize, Vec<IntelHit>) {
    let reader = CaptureReader::open(pcap, DecodeConfig::default()).unwrap();
    let mut hits = Vec::new();
    let mut events = 0;
    for item in reader {
        let Ok(event) = item else { continue };
        events += 1;
        matcher.match_event(&event, &mut hits);
    }
    (events, hits)
}

/// Zeek's `intel/whitelisting` test: `upload.wikimedia.org` is on the
/// intel list and hit 20 times (8 DNS requests, 12 HTTP Host headers);
/// `meta.wikimedia.org` is on both the intel list and the whitelist and
/// never hit.
#[test]
fn zeek_whitelisting_on_wikipedia_pcap() {
    let dir = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting");
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");

    let mut builder = MatcherBuilder::new();
    add_file(&mut builder, &dir.join("intel.dat"));
    add_file(&mut builder, &dir.join("whitelist.dat"));
    let matcher = builder.build();
    assert_eq!(matcher.len(), 2);

    let (events, hits) = capture_hits(&matcher, &pcap);
    assert!(events > 30, "the capture decoded to only {events} events");

    let upload = |field| {
        hits.iter()
            .filter(|h| h.indicator == "upload.wikimedia.org" && h.field == field)
            .count()
    };
    assert_eq!(upload(MatchedField::DnsQuery), 8);
    assert_eq!(upload(MatchedField::HttpHost), 12);
    assert!(
        hits.iter().all(|h| h.indicator != "meta.wikimedia.org"),
        "{hits:#?}"
    );
    assert_eq!(hits.len(), 20, "{hits:#?}");
    assert!(hits.iter().all(|h| {
        h.sources
            .iter()
            .any(|s| s.description.as_deref() == Some("somehow bad"))
    }));
}

/// The same case on the Zeek logs Zeek wrote for the same capture, parsed
/// here with the few columns needed: the matcher agrees with Zeek on the
/// events Zeek saw.
#[test]
fn zeek_whitelisting_on_wikipedia_logs() {
    let dir = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting");
    let logs = picket_corpus::require_corpus!("zeek/baselines/opt.basic");

    let mut builder = MatcherBuilder::new();
    add_file(&mut builder, &dir.join("intel.dat"));
    add_file(&mut builder, &dir.join("whitelist.dat"));
    let matcher = builder.build();

    let mut hits = Vec::new();
    for row in zeek_rows(&logs.join("dns.log")) {
        let event = Event::Dns(picket_event::DnsEvent {
            query_name: row["query"].clone(),
            client_ip: row["id.orig_h"].parse().ok(),
            server_ip: row["id.resp_h"].parse().ok(),
            ..Default::default()
        });
        matcher.match_event(&event, &mut hits);
    }
    for row in zeek_rows(&logs.join("http.log")) {
        let event = Event::from(picket_event::HttpEvent {
            host: Some(row["host"].clone()),
            url: row["uri"].clone(),
            referrer: Some(row["referrer"].clone()).filter(|r| r != "-"),
            user_agent: Some(row["user_agent"].clone()),
            client_ip: row["id.orig_h"].parse().ok(),
            server_ip: row["id.resp_h"].parse().ok(),
            ..Default::default()
        });
        matcher.match_event(&event, &mut hits);
    }
    let count = |field| hits.iter().filter(|h| h.field == field).count();
    assert_eq!(count(MatchedField::DnsQuery), 8, "{hits:#?}");
    assert_eq!(count(MatchedField::HttpHost), 12);
    assert_eq!(hits.len(), 20);
}

fn zeek_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut fields: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("#fields\t") {
            fields = header.split('\t').map(str::to_owned).collect();
        } else if !line.starts_with('#') && !line.is_empty() {
            rows.push(
                fields
                    .iter()
                    .cloned()
                    .zip(line.split('\t').map(str::to_owned))
                    .collect(),
            );
        }
    }
    rows
}

/// Zeek's `intel/match-subnet` test: an address inside several listed
/// networks hits each of them, the most specific first.
#[test]
fn zeek_match_subnet_most_specific_first() {
    let dir = picket_corpus::require_corpus!("ioc-matching/zeek-intel/match-subnet");
    let mut builder = MatcherBuilder::new();
    for indicator in load(&dir.join("intel.dat"), Format::ZeekIntel) {
        builder.add(&indicator).unwrap();
    }
    let matcher = builder.build();
    assert_eq!(matcher.len(), 6);

    let lookup = |ip: &str| {
        let mut hits = Vec::new();
        matcher.match_ip(ip.parse().unwrap(), MatchedField::ServerIp, &mut hits);
        hits.into_iter()
            .map(|h| (h.kind, h.indicator))
            .collect::<Vec<_>>()
    };
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(lookup("192.168.1.1"), vec![pair("ipv4", "192.168.1.1")]);
    assert_eq!(lookup("192.168.2.1"), vec![pair("cidr", "192.168.2.0/24")]);
    assert_eq!(
        lookup("192.168.142.1"),
        vec![
            pair("ipv4", "192.168.142.1"),
            pair("cidr", "192.168.142.0/26"),
            pair("cidr", "192.168.142.0/24"),
            pair("cidr", "192.168.128.0/18"),
        ]
    );
    assert!(lookup("192.168.3.1").is_empty());
    let expected = std::fs::read_to_string(dir.join("expected-output")).unwrap();
    assert!(expected.contains("indicator=192.168.142.0/26"));
}

/// Suricata's `datasets-match-subdomain` test: `.evil.com` in a dataset
/// (plain base64 list and NDJSON) matches `mail.evil.com` and
/// `sub.mail.evil.com` in the capture's queries, not `example.com`.
#[test]
fn suricata_dataset_subdomains() {
    let dir = picket_corpus::require_corpus!("suricata-verify/datasets-match-subdomain");
    // The NDJSON form (`format ndjson, value_key domain` in the rule) is
    // read here field by field; the plain base64 list goes through the
    // intel loader.
    let ndjson: Vec<Indicator> = std::fs::read_to_string(dir.join("domains.json"))
        .unwrap()
        .lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            Indicator {
                kind: picket_intel::IndicatorKind::Domain,
                value: record["domain"].as_str().unwrap().to_owned(),
                include_subdomains: false,
                match_substring: false,
                sightings: Vec::new(),
            }
        })
        .collect();
    let lists = [
        (
            "domains.lst",
            load(&dir.join("domains.lst"), Format::SuricataDataset),
        ),
        ("domains.json", ndjson),
    ];
    for (list, indicators) in lists {
        let mut builder = MatcherBuilder::new();
        for indicator in &indicators {
            builder.add(indicator).unwrap();
        }
        let matcher = builder.build();
        assert_eq!(matcher.len(), 1, "{list}");

        let (events, hits) = capture_hits(&matcher, &dir.join("input.pcap"));
        assert_eq!(events, 3, "{list}");
        let mut names: Vec<&str> = hits.iter().map(|h| h.value.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["mail.evil.com", "sub.mail.evil.com"], "{list}");
        assert!(
            hits.iter()
                .all(|h| h.indicator == "evil.com" && h.field == MatchedField::DnsQuery)
        );
    }
}

/// Zeek's `intel/filename-in-http-get-response` indicator, on events the
/// decoder gives for that capture.
#[test]
fn zeek_file_name_indicator() {
    let dir =
        picket_corpus::require_corpus!("ioc-matching/zeek-intel/filename-in-http-get-response");
    let pcap = picket_corpus::require_corpus!("zeek/traces/http/http-filename.pcap");
    let mut builder = MatcherBuilder::new();
    for indicator in load(&dir.join("intel.dat"), Format::ZeekIntel) {
        builder.add(&indicator).unwrap();
    }
    let matcher = builder.build();
    let (_, hits) = capture_hits(&matcher, &pcap);
    assert!(
        hits.iter()
            .any(|h| h.indicator == "test.json" && h.field == MatchedField::FileName),
        "{hits:#?}"
    );
}
