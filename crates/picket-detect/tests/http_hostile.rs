//! Hostile input for the HTTP detectors and the triage engine: arbitrary
//! field values, disordered and extreme times, garbage list files. Nothing
//! may panic, and every score stays in [0, 1].
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::net::IpAddr;

use picket_detect::http::triage::{Triage, TriageConfig};
use picket_detect::http::{HttpConfig, detectors};
use picket_event::{BodyInfo, Event, HttpEvent, Timestamp};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[A-Za-z0-9/._-]{0,60}",
        Just(String::new()),
        Just("-".to_owned()),
        Just("User-Agent: Java/1.7\r\nHost: x".to_owned()),
        Just("/0123456789abcdef0123456789abcdef/q.php".to_owned()),
        Just("[::1]".to_owned()),
        Just("999.1.1.1".to_owned()),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    (
        (any::<i64>(), 0i64..100_000, any::<bool>()),
        (any::<Option<[u8; 4]>>(), text(), text(), text()),
        (text(), text(), text(), prop::option::of(text())),
        (
            any::<Option<u16>>(),
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            prop::option::of(text()),
        ),
    )
        .prop_map(
            |(
                (raw, small, extreme),
                (client, host, path, agent),
                (method, ctype, url, referrer),
                (status, sent, received, sniffed),
            )| {
                let nanos = if extreme { raw } else { small * 1_000_000_000 };
                Event::from(HttpEvent {
                    timestamp: Timestamp::from_nanos(nanos),
                    client_ip: client.map(IpAddr::from),
                    host: Some(host),
                    path: Some(path),
                    user_agent: Some(agent),
                    method: Some(method),
                    content_type: Some(ctype),
                    url,
                    referrer,
                    status,
                    bytes_to_client: sent,
                    bytes_from_client: received,
                    body: sniffed.map(|s| BodyInfo {
                        sniffed_type: Some(s),
                        ..BodyInfo::default()
                    }),
                    ..HttpEvent::default()
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn detectors_survive_arbitrary_events(events in prop::collection::vec(event(), 0..80)) {
        let config = HttpConfig::default();
        let mut all = detectors(&config);
        let mut alerts = Vec::new();
        for event in &events {
            for detector in &mut all {
                detector.observe(event, &[], &mut alerts);
            }
        }
        for detector in &mut all {
            detector.finish(&mut alerts);
        }
        for alert in &alerts {
            prop_assert!((0.0..=1.0).contains(&alert.score));
            prop_assert!(!alert.events.is_empty());
        }
    }

    #[test]
    fn triage_survives_garbage_lists(list in ".{0,200}", kind in 0usize..4, value in text(), labels in 0usize..5) {
        let guard = tempfile::Builder::new().prefix("picket-hostile-triage-").tempdir().unwrap();
        let dir = guard.path();
        std::fs::write(dir.join("list.txt"), &list).unwrap();
        let kind = ["exact", "suffix", "cidr", "regex"][kind];
        let config = serde_json::json!({
            "checks": [{"field": "domain", "list": "list.txt", "match": kind, "labels": labels, "weight": -5}],
            "extract": [{"rules": [format!("{} ## out.log", list.lines().next().unwrap_or("x"))]}],
        });
        let Ok(config) = serde_json::from_value::<TriageConfig>(config) else {
            return Ok(());
        };
        if let Ok(triage) = Triage::build(&config, dir) {
            let event = HttpEvent { host: Some(value.clone()), url: value.clone(), ..HttpEvent::default() };
            let scored = triage.score(&event, &value);
            prop_assert!(scored.score == 0 || scored.score == -5);
        }
    }
}

/// Events far apart in time and out of order, as merged logs deliver them.
#[test]
fn disordered_times_do_not_panic() {
    let times = [i64::MAX, i64::MIN, 0, -1, i64::MAX - 1, 5_000_000_000, 1];
    let mut all = detectors(&HttpConfig::default());
    let mut alerts = Vec::new();
    for (i, t) in times.iter().enumerate() {
        let event = Event::from(HttpEvent {
            timestamp: Timestamp::from_nanos(*t),
            client_ip: Some("10.0.0.1".parse().unwrap()),
            host: Some(format!("h{}.example", i % 2)),
            url: "http://h.example/a.jar".into(),
            path: Some("/a.jar".into()),
            content_type: Some("application/java-archive".into()),
            user_agent: Some("Java/1.6.0".into()),
            ..HttpEvent::default()
        });
        for detector in &mut all {
            detector.observe(&event, &[], &mut alerts);
        }
    }
    for detector in &mut all {
        detector.finish(&mut alerts);
    }
    assert!(alerts.iter().all(|a| (0.0..=1.0).contains(&a.score)));
}
