//! The project's own fixtures: TMG exports and Suricata EVE records built from
//! the records Suricata's verification cases list.
// Test helpers may panic on bad fixtures, and the corpus files are small and trusted.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

use picket_event::dns::{DnsExchange, RecordType, ResponseCode};
use picket_event::{DnsEvent, Event, HttpEvent};
use picket_sources::{Format, OpenOptions, ReaderConfig, open};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Reads a fixture with format detection, asserting it detects as `format`
/// and has no rejections.
fn read(name: &str, format: Format, config: ReaderConfig) -> Vec<Event> {
    let options = OpenOptions {
        format: None,
        config,
    };
    let mut reader = open(&fixture(name), &options).unwrap();
    assert_eq!(reader.format_name(), format.as_str());
    let mut events = Vec::new();
    for item in reader.by_ref() {
        events.push(item.unwrap_or_else(|r| panic!("{r}")));
    }
    let stats = reader.stats();
    assert_eq!(stats.events, events.len() as u64);
    assert_eq!(stats.rejected, 0);
    events
}

fn http(events: &[Event]) -> Vec<&HttpEvent> {
    events
        .iter()
        .map(|e| match e {
            Event::Http(h) => &**h,
            other => panic!("{other:?}"),
        })
        .collect()
}

fn dns(events: &[Event]) -> Vec<&DnsEvent> {
    events
        .iter()
        .map(|e| match e {
            Event::Dns(d) => d,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn tmg_30_column_drive_by() {
    let events = read(
        "tmg-webproxy-30col.tsv",
        Format::Tmg,
        ReaderConfig::default(),
    );
    let h = http(&events);
    assert_eq!(h.len(), 7);
    let victim = "10.20.52.16".parse().unwrap();
    let chain: Vec<_> = h.iter().filter(|e| e.client_ip == Some(victim)).collect();
    assert_eq!(chain.len(), 4);

    assert_eq!(chain[1].path.as_deref(), Some("/news/index.html"));
    assert_eq!(chain[1].content_type.as_deref(), Some("text/html"));
    assert_eq!(chain[2].user_agent.as_deref(), Some("Java/1.6.0_26"));
    assert_eq!(chain[2].path.as_deref(), Some("/applet/Gmx.jar"));
    assert_eq!(chain[2].referrer, None);
    assert_eq!(
        chain[3].content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(chain[3].path.as_deref(), Some("/load/about.html"));
    assert_eq!(chain[3].bytes_to_client, Some(184_320));
    assert_eq!(chain[3].server_ip, Some("198.51.100.24".parse().unwrap()));
    assert_eq!(chain[3].timestamp.to_string(), "2012-08-14T10:46:03.85Z");
    assert_eq!(chain[0].user_name.as_deref(), Some("CORP\\alice"));

    let tunnel = h[4];
    assert_eq!(
        (
            tunnel.method.as_deref(),
            tunnel.host.as_deref(),
            tunnel.port
        ),
        (None, Some("mail.example.org"), Some(443))
    );
    assert_eq!((h[5].status, h[5].proxy_result_code), (None, Some(10060)));
    assert_eq!(
        (h[6].proxy_result_code, h[6].proxy_action.as_deref()),
        (Some(12209), Some("Denied"))
    );
    assert_eq!(h[4].location.line, Some(6));
}

#[test]
fn tmg_16_column_mixed_times() {
    let config = ReaderConfig {
        timezone: "+02:00".parse().unwrap(),
        ..ReaderConfig::default()
    };
    let events = read("tmg-webproxy-16col.tsv", Format::Tmg16, config);
    let h = http(&events);
    assert_eq!(h.len(), 5);
    assert_eq!(h[0].timestamp.to_string(), "2012-08-14T10:45:00Z");
    assert_eq!(
        h[0].referrer.as_deref(),
        Some("http://www.bing.com/search?q=olympics+results")
    );
    assert_eq!(h[1].user_agent.as_deref(), Some("Java/1.6.0_26"));
    assert_eq!(h[1].referrer, None);
    assert_eq!(h[1].timestamp.to_string(), "2012-08-14T10:46:02.31Z");
    assert_eq!(
        h[2].content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(h[2].url, "http://cdn.badsite.example/load/about.html");
    assert_eq!(
        (h[3].host.as_deref(), h[3].port, h[3].method.as_deref()),
        (Some("www.example.com"), Some(443), None)
    );
    // No GmtTime: LocalTime read at +02:00.
    assert_eq!(h[4].timestamp.to_string(), "2012-08-14T10:51:00Z");
    assert_eq!(h[4].proxy_result_code, Some(10060));
}

#[test]
fn eve_v3_pairs_requests_and_responses() {
    let events = read(
        "eve-dns-v3.json",
        Format::SuricataEve,
        ReaderConfig::default(),
    );
    let d = dns(&events);
    assert_eq!(d.len(), 5);

    let txt = d[0];
    assert_eq!(
        (txt.query_name.as_str(), txt.query_type, txt.exchange),
        ("google.com", Some(RecordType::TXT), DnsExchange::Complete)
    );
    assert_eq!(txt.id, Some(28243));
    assert_eq!(txt.client_ip, Some("10.16.1.11".parse().unwrap()));
    assert_eq!(txt.client_port, Some(52345));
    assert_eq!(txt.answers[0].data, "v=spf1 include:_spf.google.com ~all");
    assert_eq!(txt.answers[0].ttl, 3217);
    assert!(txt.flags.qr && txt.flags.rd && txt.flags.ra);
    assert!((txt.rtt.unwrap() - 0.004605).abs() < 1e-9);
    assert_eq!(txt.location.line, Some(1));

    let dig = d[2];
    assert_eq!(dig.rcode, Some(ResponseCode::NOERROR));
    assert_eq!(dig.answers.len(), 3);
    assert_eq!(
        (dig.answers[0].rtype, dig.answers[0].data.as_str()),
        (RecordType::CNAME, "suricata-ids.org")
    );
    assert_eq!(dig.answers[2].ip(), Some("192.0.78.25".parse().unwrap()));
    assert!(dig.flags.ad, "flags 81a0 carry AD");

    let srv = d[3];
    assert_eq!(srv.exchange, DnsExchange::ResponseOnly);
    assert_eq!(
        srv.answers[0].data,
        "20 1 5060 sip-anycast-2.voice.google.com"
    );
    assert_eq!(
        srv.answers[1].target_name(),
        Some("sip-anycast-1.voice.google.com")
    );

    let lone = d[4];
    assert_eq!(
        (lone.query_name.as_str(), lone.exchange),
        ("codemonkey.net", DnsExchange::QueryOnly)
    );
}

#[test]
fn eve_v2_answers_grouped_and_authorities() {
    let events = read(
        "eve-dns-v2.json",
        Format::SuricataEve,
        ReaderConfig::default(),
    );
    let d = dns(&events);
    assert_eq!(d.len(), 3);
    assert_eq!(d[0].exchange, DnsExchange::Complete);
    assert_eq!(d[0].answers.len(), 3);
    let grouped = d[1];
    assert_eq!(
        (grouped.answers.len(), grouped.answers[0].rtype),
        (1, RecordType::TXT)
    );
    let nx = d[2];
    assert_eq!(nx.rcode, Some(ResponseCode::NXDOMAIN));
    assert_eq!(
        nx.authorities[0].data,
        "ns-110.awsdns-13.com awsdns-hostmaster.amazon.com 1 7200 900 1209600 86400"
    );
    assert_eq!(nx.authorities[0].name, "oisf.net");
}

#[test]
fn eve_v1_gathers_answer_records() {
    let events = read(
        "eve-dns-v1.json",
        Format::SuricataEve,
        ReaderConfig::default(),
    );
    let d = dns(&events);
    assert_eq!(d.len(), 4);
    let dig = d[0];
    assert_eq!(
        (dig.exchange, dig.answers.len()),
        (DnsExchange::Complete, 3)
    );
    assert_eq!(dig.query_name, "www.suricata-ids.org");
    assert_eq!(dig.answers[1].name, "suricata-ids.org");
    let nx = d[1];
    assert_eq!(
        (nx.rcode, nx.answers.len(), nx.authorities.len()),
        (Some(ResponseCode::NXDOMAIN), 0, 1)
    );
    assert_eq!(nx.exchange, DnsExchange::Complete);
    let unsolicited = d[2];
    assert_eq!(
        (unsolicited.exchange, unsolicited.query_name.as_str()),
        (DnsExchange::ResponseOnly, "unsolicited.example")
    );
    assert_eq!(d[3].exchange, DnsExchange::QueryOnly);
}

#[test]
fn eve_http_fields() {
    let events = read(
        "eve-http.json",
        Format::SuricataEve,
        ReaderConfig::default(),
    );
    let h = http(&events);
    assert_eq!(h.len(), 3);
    assert_eq!(h[0].host.as_deref(), Some("www.ethereal.com"));
    assert_eq!(h[0].content_type.as_deref(), Some("text/html"));
    assert_eq!(h[0].response_body_len, Some(18070));
    assert_eq!(h[0].server_header.as_deref(), Some("Apache"));
    assert_eq!(h[0].version.as_deref(), Some("1.1"));
    assert_eq!(h[1].forwarded_for.as_deref(), Some("10.2.2.2"));
    assert_eq!(
        (h[1].host.as_deref(), h[1].port),
        (Some("evil.example"), None)
    );
    assert_eq!(h[1].path.as_deref(), Some("/gate.php"));
    assert_eq!(
        h[1].location_header.as_deref(),
        Some("http://evil.example/next")
    );
    assert_eq!(
        (h[2].method.as_deref(), h[2].port),
        (Some("CONNECT"), Some(443))
    );
    assert_eq!(h[2].file_name.as_deref(), Some("invoice.exe"));
}
