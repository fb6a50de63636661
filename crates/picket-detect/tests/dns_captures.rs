//! The DNS detectors on real captures: tunnel tools must be flagged on their
//! tunnel domain and nothing else, ordinary DNS must stay quiet.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::disallowed_methods)]

use std::path::Path;

use picket_decode::{CaptureReader, DecodeConfig};
use picket_detect::dns::{DnsConfig, detectors};
use picket_event::{Alert, Event};

/// Runs every DNS detector over a capture and returns the alerts and the
/// number of DNS events.
fn run(path: &Path) -> (Vec<Alert>, usize) {
    let reader = CaptureReader::open(path, DecodeConfig::default()).unwrap();
    let mut detectors = detectors(&DnsConfig::default());
    let mut alerts = Vec::new();
    let mut dns = 0;
    for item in reader {
        let Ok(event) = item else { continue };
        if matches!(event, Event::Dns(_)) {
            dns += 1;
        }
        for detector in &mut detectors {
            detector.observe(&event, &[], &mut alerts);
        }
    }
    for detector in &mut detectors {
        detector.finish(&mut alerts);
    }
    (alerts, dns)
}

fn describe(alerts: &[Alert]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| format!("{} {:.2} {}", a.detector, a.score, a.summary))
        .collect()
}

#[test]
fn tunnel_captures_are_flagged_on_their_domain_only() {
    let cases = [
        ("dns-tunnel/dmachard/iodine.pcap", "biillpi.com"),
        ("dns-tunnel/dmachard/dnscat2.pcap", "biillpi.com"),
        ("dns-tunnel/dmachard/dns2tcp.pcap", "hsc.fr"),
        (
            "dns-tunnel/suricata-verify-bug-1158/dns2tcp-input.pcap",
            "tunnel.com",
        ),
    ];
    for (file, domain) in cases {
        let path = picket_corpus::require_corpus!(file);
        let (alerts, dns) = run(&path);
        assert!(dns > 0, "{file}: no DNS events decoded");
        assert!(!alerts.is_empty(), "{file}: no alert");
        for alert in &alerts {
            assert_eq!(
                alert.detector,
                "dns.tunnel",
                "{file}: {:?}",
                describe(&alerts)
            );
            assert_eq!(alert.details["registered_domain"], domain, "{file}");
            assert!(alert.host.is_some(), "{file}: the alert names the client");
        }
    }
}

#[test]
fn ordinary_dns_in_zeek_traces_raises_nothing() {
    let dir = picket_corpus::require_corpus!("zeek/traces");
    let mut files = Vec::new();
    let mut folders = vec![dir];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "trace")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut dns_total = 0;
    for path in files {
        let (alerts, dns) = run(&path);
        dns_total += dns;
        assert!(
            alerts.is_empty(),
            "{}: {:?}",
            path.display(),
            describe(&alerts)
        );
    }
    assert!(
        dns_total > 50,
        "only {dns_total} DNS events decoded from the Zeek traces"
    );
}

#[test]
fn zeek_dns_logs_raise_nothing() {
    let dir = picket_corpus::require_corpus!("zeek/baselines");
    let mut logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path().join("dns.log"))
        .filter(|path| path.is_file())
        .collect();
    logs.sort();
    assert!(!logs.is_empty());

    let mut dns_total = 0;
    for log in logs {
        // Zeek's baselines mask times as X; give every line the same real time.
        let text = std::fs::read_to_string(&log)
            .unwrap()
            .replace("XXXXXXXXXX.XXXXXX", "1700000000.000000");
        let name = log.display().to_string();
        let reader = picket_sources::open_reader(
            Box::new(std::io::Cursor::new(text.into_bytes())),
            &name,
            &picket_sources::OpenOptions::default(),
        )
        .unwrap();
        let mut all = detectors(&DnsConfig::default());
        let mut alerts = Vec::new();
        for event in reader.flatten() {
            if matches!(event, Event::Dns(_)) {
                dns_total += 1;
            }
            for detector in &mut all {
                detector.observe(&event, &[], &mut alerts);
            }
        }
        for detector in &mut all {
            detector.finish(&mut alerts);
        }
        assert!(
            alerts.is_empty(),
            "{}: {:?}",
            log.display(),
            describe(&alerts)
        );
    }
    assert!(
        dns_total > 20,
        "only {dns_total} DNS events read from Zeek dns.log files"
    );
}
