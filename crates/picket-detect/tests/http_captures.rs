//! The HTTP detectors on captures of real malware traffic from the public
//! corpus, decoded by picket-decode.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::Path;

use picket_decode::{CaptureReader, DecodeConfig};
use picket_detect::http::eval::run_detectors;
use picket_event::{Alert, Event};

fn alerts_of_capture(path: &Path) -> (Vec<Event>, Vec<Alert>) {
    let reader = CaptureReader::open(path, DecodeConfig::default()).unwrap();
    let events: Vec<Event> = reader.filter_map(Result::ok).collect();
    let alerts = run_detectors(&events);
    (events, alerts)
}

/// Agent Tesla posting stolen data to `45.9.74.78/c2sock` with its own
/// `TeslaBrowser/5.5` agent.
#[test]
fn agent_tesla_capture_alerts() {
    let path = picket_corpus::require_corpus!("zeek/traces/http/ctu-62604-80.pcap");
    let (events, alerts) = alerts_of_capture(&path);
    assert!(
        events.iter().any(|e| matches!(e, Event::Http(_))),
        "no HTTP event decoded"
    );

    let raw_ip: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.detector == "http.raw_ip_host")
        .collect();
    assert_eq!(raw_ip.len(), 1, "{alerts:#?}");
    assert_eq!(raw_ip[0].details["server"], "45.9.74.78");
    assert_eq!(raw_ip[0].details["method"], "POST");
    assert_eq!(raw_ip[0].host, Some("192.168.1.108".parse().unwrap()));

    let agent: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.detector == "http.suspicious_user_agent")
        .collect();
    assert_eq!(agent.len(), 1, "{alerts:#?}");
    assert!(agent[0].score >= 0.8);
}

/// Emotet-style POSTs with random mixed-case paths to `74.120.55.163`.
#[test]
fn emotet_style_capture_alerts() {
    let path = picket_corpus::require_corpus!("suricata-verify/bug-4953/file76.pcap");
    let (events, alerts) = alerts_of_capture(&path);
    assert!(
        events.iter().any(|e| matches!(e, Event::Http(_))),
        "no HTTP event decoded"
    );

    let raw_ip: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.detector == "http.raw_ip_host")
        .collect();
    assert_eq!(raw_ip.len(), 1, "{alerts:#?}");
    assert_eq!(raw_ip[0].details["server"], "74.120.55.163");
    assert_eq!(raw_ip[0].details["random_path"], true);
    assert!(raw_ip[0].score >= 0.8, "{}", raw_ip[0].score);
}

/// Ordinary browsing captured from Wikipedia: no HTTP detector fires.
#[test]
fn wikipedia_capture_is_quiet() {
    let path = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let (events, alerts) = alerts_of_capture(&path);
    assert!(events.len() > 10);
    let http_alerts: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.detector.starts_with("http."))
        .collect();
    assert!(http_alerts.is_empty(), "{http_alerts:#?}");
}

/// Real loopback traffic recorded by `fixtures/record_beacon.py`: a client
/// checking in to `c2.test` every 2 s (jitter up to 0.3 s, one TCP
/// connection each) beside a reader browsing `news.test` in bursts.
#[test]
fn recorded_beacon_capture_alerts_once() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/beacon-loopback.pcap");
    let (events, alerts) = alerts_of_capture(&path);
    let host_count = |host: &str| {
        events
            .iter()
            .filter(|e| matches!(e, Event::Http(h) if h.host.as_deref() == Some(host)))
            .count()
    };
    assert_eq!(host_count("c2.test"), 45, "every check-in decoded");
    assert_eq!(host_count("news.test"), 60, "every page and resource decoded");

    let beacons: Vec<&Alert> = alerts.iter().filter(|a| a.detector == "http.beacon").collect();
    assert_eq!(beacons.len(), 1, "{beacons:#?}");
    assert_eq!(beacons[0].details["server"], "c2.test");
    assert_eq!(beacons[0].details["connections"], 45);
    assert!(beacons[0].score >= 0.8, "{}", beacons[0].score);
    assert_eq!(beacons[0].details["median_gap_secs"], 2.0);
}
