//! Agreement with Suricata's verification cases that check HTTP fields.
//!
//! Each case's `test.yaml` lists filters over Suricata's EVE records. For
//! every filter on `event_type: http`, the events picket decodes from the
//! same capture are turned into EVE-shaped values and the filter's count
//! must match. Keys picket has no counterpart for are listed in
//! [`NOT_COMPARABLE`] with the reason; a filter key in neither list fails the
//! test, so a new kind of check cannot be skipped silently.

// Test helpers may unwrap (a failure there is the test's failure) and read
// whole corpus files (all small).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::Path;

use picket_decode::{CaptureReader, DecodeConfig};
use picket_event::{Event, HttpEvent};
use serde_yaml_ng::Value;

/// Cases with HTTP field checks, and the capture each one reads.
const CASES: &[(&str, &str)] = &[
    ("http-all-headers", "http-all-headers/input.pcap"),
    (
        "http-connect/http-connect-simple",
        "http-connect/http-connect-simple/input.pcap",
    ),
    (
        "http-connect/http-connect-tls",
        "http-connect/http-connect-tls/input.pcap",
    ),
];

/// EVE keys with no picket counterpart, and why.
const NOT_COMPARABLE: &[(&str, &str)] = &[
    (
        "tx_id",
        "Suricata's transaction counter, which restarts after CONNECT; picket events carry no transaction number",
    ),
    (
        "http.request_headers",
        "picket keeps the headers named in HttpEvent, not the full list",
    ),
    (
        "http.response_headers",
        "picket keeps the headers named in HttpEvent, not the full list",
    ),
];

/// EVE keys compared, each mapped in [`eve_value`].
const COMPARED: &[&str] = &[
    "event_type",
    "http.http_method",
    "http.protocol",
    "http.status",
    "http.hostname",
    "http.url",
    "http.http_user_agent",
    "http.xff",
    "http.length",
];

/// Returns picket's EVE value for `key`, or `None` when it has none.
fn eve_value(e: &HttpEvent, key: &str) -> Option<String> {
    Some(match key {
        "event_type" => "http".to_owned(),
        "http.http_method" => e.method.clone()?,
        "http.protocol" => format!("HTTP/{}", e.version.as_deref()?),
        "http.status" => e.status?.to_string(),
        "http.hostname" => e.host.clone()?,
        "http.url" => e.url.clone(),
        "http.http_user_agent" => e.user_agent.clone()?,
        "http.xff" => e.forwarded_for.clone()?,
        "http.length" => e.response_body_len?.to_string(),
        _ => return None,
    })
}

fn yaml_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn http_events(path: &Path) -> Vec<HttpEvent> {
    CaptureReader::open(path, DecodeConfig::default())
        .unwrap()
        .filter_map(|item| match item {
            Ok(Event::Http(e)) => Some(*e),
            _ => None,
        })
        .collect()
}

#[test]
fn http_fields_match_suricata() {
    let root = picket_corpus::require_corpus!("suricata-verify");
    let mut failures = Vec::new();
    let mut checked = 0;

    for (case, pcap) in CASES {
        let yaml: Value = serde_yaml_ng::from_str(
            &std::fs::read_to_string(root.join(case).join("test.yaml")).unwrap(),
        )
        .unwrap();
        let events = http_events(&root.join(pcap));
        let checks = yaml["checks"].as_sequence().cloned().unwrap_or_default();

        for check in checks {
            let filter = &check["filter"];
            let Some(matcher) = filter["match"].as_mapping() else {
                continue;
            };
            if matcher.get("event_type").map(yaml_text).as_deref() != Some("http") {
                continue;
            }
            let want = filter["count"].as_u64().unwrap();

            let mut keys = Vec::new();
            for (k, v) in matcher {
                let key = yaml_text(k);
                let skip = NOT_COMPARABLE
                    .iter()
                    .any(|(prefix, _)| key.starts_with(prefix));
                if skip {
                    continue;
                }
                assert!(
                    COMPARED.contains(&key.as_str()),
                    "{case}: EVE key {key} is neither compared nor listed as not comparable"
                );
                keys.push((key, yaml_text(v)));
            }
            let got = events
                .iter()
                .filter(|e| {
                    keys.iter()
                        .all(|(k, v)| eve_value(e, k).as_deref() == Some(v.as_str()))
                })
                .count() as u64;
            checked += 1;
            if got != want {
                failures.push(format!("{case}: {keys:?}: Suricata {want}, picket {got}"));
            }
        }
    }
    assert!(checked >= 6, "only {checked} HTTP filters checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn connect_tunnel_carries_tls() {
    // Suricata sees TLS inside this CONNECT tunnel (app_proto tls). The
    // client sends only the first 14 bytes of a handshake record, so picket
    // reports the ClientHello as malformed, without a server name.
    let root = picket_corpus::require_corpus!("suricata-verify");
    let reader = CaptureReader::open(
        &root.join("http-connect/http-connect-tls/input.pcap"),
        DecodeConfig::default(),
    )
    .unwrap();
    let tls: Vec<_> = reader
        .filter_map(|item| match item {
            Ok(Event::Tls(t)) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(tls.len(), 1, "{tls:?}");
    assert_eq!(tls[0].server_name, None);
    assert_eq!(
        tls[0].anomalies,
        vec![picket_event::Anomaly::TlsMalformedClientHello]
    );
}

#[test]
fn forwarded_for_header_is_kept() {
    // Suricata's xff extra-data case expects 10.2.2.2 from this capture's
    // X-Forwarded-For header.
    let root = picket_corpus::require_corpus!("suricata-verify");
    let events = http_events(&root.join("http-xff-eve-reverse-overwrite/test.pcap"));
    let xff: Vec<_> = events
        .iter()
        .filter_map(|e| e.forwarded_for.as_deref())
        .collect();
    assert!(
        xff.iter()
            .any(|v| v.split(',').any(|a| a.trim() == "10.2.2.2")),
        "{xff:?}"
    );
}
