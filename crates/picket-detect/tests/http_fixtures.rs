//! The HTTP detectors on the project's labelled fixture logs (Squid, W3C,
//! TMG) and on the public corpus's proxy and Zeek logs.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

use picket_detect::http::eval::{evaluate, parse_manifest, run_detectors};
use picket_event::{Alert, Event};
use picket_sources::{OpenOptions, expand_inputs, open};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/http")
}

/// Reads every event of a log, failing on any rejected line.
fn read_strict(path: &Path) -> Result<Vec<Event>, String> {
    let mut reader = open(path, &OpenOptions::default()).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    for item in reader.by_ref() {
        match item {
            Ok(event) => events.push(event),
            Err(rejection) => return Err(format!("fixture line rejected: {rejection}")),
        }
    }
    Ok(events)
}

/// Reads the good events of a log, counting rejections.
fn read_lenient(path: &Path) -> (Vec<Event>, usize) {
    let Ok(mut reader) = open(path, &OpenOptions::default()) else {
        return (Vec::new(), 0);
    };
    let mut events = Vec::new();
    let mut rejected = 0;
    for item in reader.by_ref() {
        match item {
            Ok(event) => events.push(event),
            Err(_) => rejected += 1,
        }
    }
    (events, rejected)
}

fn alerts_of(file: &str) -> Vec<Alert> {
    let events = read_strict(&fixtures().join(file)).unwrap();
    run_detectors(&events)
}

#[test]
fn labelled_fixtures_meet_their_labels() {
    let manifest = std::fs::read_to_string(fixtures().join("cases.tsv")).unwrap();
    let cases = parse_manifest(&manifest).unwrap();
    let (outcomes, _) = evaluate(&cases, &fixtures(), read_strict).unwrap();
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| {
            format!(
                "{} {} expected {} got {}",
                o.case.file.display(),
                o.detector,
                o.case.expected,
                o.alerts
            )
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn drive_by_alert_lists_stages_in_order() {
    let alerts = alerts_of("drive-by-full.w3c.log");
    let chain: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.detector == "http.drive_by_chain")
        .collect();
    assert_eq!(chain.len(), 1);
    let stages = &chain[0].details["stages"];
    assert_eq!(
        stages,
        &serde_json::json!(["landing", "exploit", "payload", "follow_up"])
    );
    let times: Vec<_> = chain[0].events.iter().map(Event::timestamp).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(chain[0].host, Some("10.20.1.15".parse().unwrap()));
    assert!(chain[0].events.iter().all(|e| e.location().line.is_some()));
}

#[test]
fn jittered_beacon_shows_sub_scores() {
    let alerts = alerts_of("beacon-jitter.squid.log");
    let beacon: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.detector == "http.beacon")
        .collect();
    assert_eq!(beacon.len(), 1);
    assert_eq!(beacon[0].details["server"], "update-check.cdnsvc.example");
    for key in [
        "timing_skew_score",
        "timing_mad_score",
        "size_score",
        "persistence_score",
        "hours_of_day_score",
    ] {
        assert!(beacon[0].details.contains_key(key), "missing {key}");
    }
    let median = beacon[0].details["median_gap_secs"].as_f64().unwrap();
    assert!((270.0..=330.0).contains(&median), "{median}");
}

/// Zeek's own http.log of the Agent Tesla trace: a POST to a bare IP with
/// the TeslaBrowser agent.
#[test]
fn agent_tesla_zeek_log_alerts() {
    let path = picket_corpus::require_corpus!(
        "zeek/baselines/scripts.base.protocols.http.ctu-agent-tesla/http.log.cut"
    );
    let (events, _) = read_lenient(&path);
    if events.is_empty() {
        // The log's timestamps are masked as X by Zeek's test baseline, so a
        // strict reader may reject every line; the pcap test covers the trace.
        return;
    }
    let alerts = run_detectors(&events);
    assert!(
        alerts.iter().any(|a| a.detector == "http.raw_ip_host"),
        "{alerts:#?}"
    );
}

/// The BlueCoat and IIS W3C logs of the corpus: what fires, and that
/// nothing panics or floods. The one alert is a `Microsoft BITS` agent
/// fetching a binary; the transparent SSL entries, which carry no HTTP
/// request and so no agent, raise nothing.
#[test]
fn corpus_w3c_logs_run_cleanly() {
    let dir = picket_corpus::require_corpus!("proxy-logs/w3c-elff-bluecoat");
    let mut total_events = 0;
    let mut fired = Vec::new();
    for path in expand_inputs(&[dir]) {
        if path.extension().is_some_and(|e| e == "json")
            || path.file_name().is_some_and(|n| n == "LICENSE")
        {
            continue;
        }
        let (events, _) = read_lenient(&path);
        total_events += events.len();
        let alerts = run_detectors(&events);
        for alert in &alerts {
            assert!((0.0..=1.0).contains(&alert.score));
            assert!(!alert.events.is_empty());
        }
        assert!(
            alerts.len() <= events.len(),
            "{}: more alerts than events",
            path.display()
        );
        fired.extend(alerts.into_iter().map(|a| (a.detector, a.summary)));
    }
    assert!(total_events > 100, "{total_events}");
    assert_eq!(fired.len(), 1, "{fired:#?}");
    assert_eq!(fired[0].0, "http.suspicious_user_agent");
    assert!(fired[0].1.contains("Microsoft BITS"), "{}", fired[0].1);
}
