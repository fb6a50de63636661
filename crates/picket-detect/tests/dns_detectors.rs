//! Behaviour of each DNS detector on events built here: what fires, what
//! stays quiet, and that hostile names never panic.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::net::IpAddr;

use picket_detect::dns::allowlist::Allowlist;
use picket_detect::dns::{
    DnsConfig, DomainHistory, FastFluxConfig, FastFluxDetector, NewDomainConfig, NewDomainDetector,
    SinkholeConfig, SinkholeDetector, detectors, detectors_with_history,
};
use picket_event::dns::ResponseCode;
use picket_event::{Alert, Detector, DnsEvent, Event, RecordType, ResourceRecord, Timestamp};
use proptest::prelude::*;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_nanos(1_700_000_000_000_000_000 + secs * 1_000_000_000)
}

fn query(
    secs: i64,
    client: &str,
    name: &str,
    rcode: ResponseCode,
    answers: &[(RecordType, &str, u32)],
) -> Event {
    Event::Dns(DnsEvent {
        timestamp: at(secs),
        client_ip: Some(client.parse().unwrap()),
        server_ip: Some("192.0.2.53".parse().unwrap()),
        query_name: name.into(),
        query_type: Some(RecordType::A),
        rcode: Some(rcode),
        answers: answers
            .iter()
            .map(|(t, d, ttl)| ResourceRecord {
                name: name.into(),
                rtype: *t,
                class: 1,
                ttl: *ttl,
                data: (*d).into(),
            })
            .collect(),
        ..DnsEvent::default()
    })
}

fn run(detector: &mut dyn Detector, events: &[Event]) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for event in events {
        detector.observe(event, &[], &mut alerts);
    }
    detector.finish(&mut alerts);
    alerts
}

fn run_all(config: &DnsConfig, events: &[Event]) -> Vec<Alert> {
    let mut all = detectors(config);
    let mut alerts = Vec::new();
    for event in events {
        for d in &mut all {
            d.observe(event, &[], &mut alerts);
        }
    }
    for d in &mut all {
        d.finish(&mut alerts);
    }
    alerts
}

#[test]
fn sinkhole_answer_names_the_client() {
    let mut detector = SinkholeDetector::new(SinkholeConfig::default()).unwrap();
    let events = [
        // 143.215.130.0/24 is in the MISP sinkhole list (Georgia Tech).
        query(
            0,
            "10.1.2.3",
            "c2.badhost.example",
            ResponseCode::NOERROR,
            &[(RecordType::A, "143.215.130.33", 300)],
        ),
        query(
            1,
            "10.1.2.3",
            "c2.badhost.example",
            ResponseCode::NOERROR,
            &[(RecordType::A, "143.215.130.33", 300)],
        ),
        query(
            2,
            "10.1.2.4",
            "www.wikipedia.org",
            ResponseCode::NOERROR,
            &[(RecordType::A, "208.80.154.224", 300)],
        ),
        // A Cloudflare address listed by MISP is shared with popular sites.
        query(
            3,
            "10.1.2.5",
            "shop.example.com",
            ResponseCode::NOERROR,
            &[(RecordType::A, "104.21.27.14", 300)],
        ),
    ];
    let alerts = run(&mut detector, &events);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].host, Some("10.1.2.3".parse::<IpAddr>().unwrap()));
    assert_eq!(alerts[0].details["sinkhole_range"], "143.215.130.0/24");
}

#[test]
fn sinkhole_repeats_after_quiet_time() {
    let config = SinkholeConfig {
        dedupe_secs: 3600,
        ..SinkholeConfig::default()
    };
    let mut detector = SinkholeDetector::new(config).unwrap();
    let sinkholed = |secs| {
        query(
            secs,
            "10.1.2.3",
            "c2.badhost.example",
            ResponseCode::NOERROR,
            &[(RecordType::A, "143.215.130.33", 300)],
        )
    };
    // The infected host keeps resolving its C2 name every ten minutes for
    // three hours: an alert each time the hour since the last one has
    // passed, not one for the whole run.
    let events: Vec<Event> = (0..18).map(|i| sinkholed(i * 600)).collect();
    let alerts = run(&mut detector, &events);
    let times: Vec<Timestamp> = alerts.iter().map(|a| a.timestamp).collect();
    assert_eq!(times, vec![at(0), at(4200), at(8400)], "{alerts:?}");
}

#[test]
fn sinkhole_name_server_delegation() {
    let mut detector = SinkholeDetector::new(SinkholeConfig::default()).unwrap();
    let Event::Dns(mut dns) = query(0, "10.1.2.3", "old-c2.example", ResponseCode::NOERROR, &[])
    else {
        unreachable!()
    };
    dns.authorities.push(ResourceRecord {
        name: "old-c2.example".into(),
        rtype: RecordType::NS,
        class: 1,
        ttl: 3600,
        data: "ns1.sinkhole.shadowserver.org".into(),
    });
    let alerts = run(&mut detector, &[Event::Dns(dns)]);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].details["kind"], "sinkhole_name_server");
}

#[test]
fn fast_flux_needs_spread_low_ttl_and_rotation() {
    let mut detector = FastFluxDetector::new(
        FastFluxConfig::default(),
        std::sync::Arc::new(Allowlist::new(true, &[])),
    );
    let mut events = Vec::new();
    for i in 0..8u8 {
        let a = format!("{}.{}.1.1", 20 + i * 7, 3 + i);
        let b = format!("{}.{}.2.2", 90 + i * 5, 40 + i);
        events.push(query(
            i64::from(i) * 60,
            "10.0.0.7",
            "flux.example",
            ResponseCode::NOERROR,
            &[(RecordType::A, &a, 120), (RecordType::A, &b, 120)],
        ));
    }
    // A stable name with a long TTL never alerts.
    for i in 0..8 {
        events.push(query(
            i * 60,
            "10.0.0.8",
            "stable.example",
            ResponseCode::NOERROR,
            &[(RecordType::A, "198.51.100.1", 3600)],
        ));
    }
    let alerts = run(&mut detector, &events);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].details["query_name"], "flux.example");
    assert!(alerts[0].details["distinct_networks"].as_u64().unwrap() >= 5);
}

#[test]
fn dga_nxdomain_burst_of_one_shape() {
    let names = [
        "qwhxkzpdlm",
        "zrtplkqwvb",
        "mnbvcxzlkj",
        "plmoknijbu",
        "xswcdevfrb",
        "tgbyhnujmk",
        "qazwsxedcr",
        "rfvtgbyhnu",
        "ujmikolpqa",
    ];
    let mut events: Vec<Event> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            query(
                i as i64,
                "10.9.9.9",
                &format!("{n}.net"),
                ResponseCode::NXDOMAIN,
                &[],
            )
        })
        .collect();
    // Another client's ordinary failures do not group.
    events.push(query(
        20,
        "10.9.9.10",
        "wpad.example.com",
        ResponseCode::NXDOMAIN,
        &[],
    ));
    let alerts = run_all(&DnsConfig::default(), &events);
    let burst: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.details.get("kind").is_some_and(|k| k == "nxdomain_shape"))
        .collect();
    assert!(!burst.is_empty(), "{alerts:?}");
    assert!(
        burst
            .iter()
            .all(|a| a.host == Some("10.9.9.9".parse().unwrap()))
    );
    assert!(
        alerts
            .iter()
            .all(|a| a.host != Some("10.9.9.10".parse().unwrap()))
    );
}

#[test]
fn dga_lists_names_past_alert_limit() {
    // Six random-looking failures in one window: too few for a shape alert,
    // more than the three single-name alerts a window allows.
    let names = [
        "xjq7vkz9wqpl3hd.com",
        "qz8vwx4kjp2mtr.net",
        "vk3qzx9wjp7rlt.org",
        "zp5xqk2vjw8mtn.info",
        "wq9zxk3pvj6rlt.biz",
        "jx4qzv8kwp2tmr.com",
    ];
    let mut events: Vec<Event> = names
        .iter()
        .enumerate()
        .map(|(i, n)| query(i as i64, "10.9.9.12", n, ResponseCode::NXDOMAIN, &[]))
        .collect();
    // A failure in the next window closes the first one.
    events.push(query(
        700,
        "10.9.9.12",
        "kq7zxv3pwj9tlm.net",
        ResponseCode::NXDOMAIN,
        &[],
    ));
    let alerts = run_all(&DnsConfig::default(), &events);

    let kind = |k: &str| -> Vec<&Alert> {
        alerts
            .iter()
            .filter(|a| a.details.get("kind").is_some_and(|v| v == k))
            .collect()
    };
    assert_eq!(kind("lexical").len(), 4, "{alerts:?}");
    let held = kind("lexical_held");
    assert_eq!(held.len(), 1, "{alerts:?}");
    let listed: Vec<&str> = held[0].details["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed, &names[3..]);
    assert_eq!(held[0].details["reason"], "window closed");
    assert_eq!(held[0].host, Some("10.9.9.12".parse().unwrap()));
}

#[test]
fn dga_alert_explains_lexical_score() {
    let events = [query(
        0,
        "10.9.9.11",
        "xjq7vkz9wqpl3hd.com",
        ResponseCode::NOERROR,
        &[(RecordType::A, "198.51.100.7", 300)],
    )];
    let alerts = run_all(&DnsConfig::default(), &events);
    let lexical = alerts
        .iter()
        .find(|a| a.details.get("kind").is_some_and(|k| k == "lexical"))
        .unwrap_or_else(|| panic!("no lexical alert: {alerts:?}"));
    assert!(lexical.details["lexical_score"].as_f64().unwrap() >= 0.5);
    let parts: Vec<&str> = lexical.details["top_contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!parts.is_empty(), "{parts:?}");
    assert!(parts.len() <= 5, "{parts:?}");
    // Each part is "<name> +<logit>", largest first, all pushing towards random.
    let logits: Vec<f64> = parts
        .iter()
        .map(|p| p.rsplit_once(' ').unwrap().1.parse().unwrap())
        .collect();
    assert!(logits.iter().all(|&l| l > 0.0), "{parts:?}");
    assert!(logits.windows(2).all(|w| w[0] >= w[1]), "{parts:?}");
}

#[test]
fn dga_ignores_popular_names_and_local_zones() {
    let names = [
        "www.google.com",
        "en.wikipedia.org",
        "login.microsoftonline.com",
        "printer.local",
        "1.0.168.192.in-addr.arpa",
    ];
    let events: Vec<Event> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            query(
                i as i64,
                "10.0.0.1",
                n,
                ResponseCode::NOERROR,
                &[(RecordType::A, "198.51.100.9", 300)],
            )
        })
        .collect();
    assert!(run_all(&DnsConfig::default(), &events).is_empty());
}

struct FixedHistory;

impl DomainHistory for FixedHistory {
    fn first_seen(&self, registered_domain: &str) -> Option<Timestamp> {
        (registered_domain == "example.com").then(|| at(-10 * 86_400))
    }

    fn recorded_since(&self) -> Option<Timestamp> {
        Some(at(-30 * 86_400))
    }
}

#[test]
fn new_domain_after_history_and_warmup() {
    let config = NewDomainConfig::default();
    let mut detector = NewDomainDetector::new(
        config,
        std::sync::Arc::new(Allowlist::new(true, &[])),
        Some(Box::new(FixedHistory)),
    );
    let events = [
        query(
            0,
            "10.0.0.1",
            "www.example.com",
            ResponseCode::NOERROR,
            &[(RecordType::A, "198.51.100.9", 300)],
        ),
        query(
            1,
            "10.0.0.2",
            "xjwqkvzptrhm.com",
            ResponseCode::NOERROR,
            &[(RecordType::A, "198.51.100.10", 300)],
        ),
        query(
            2,
            "10.0.0.2",
            "xjwqkvzptrhm.com",
            ResponseCode::NOERROR,
            &[(RecordType::A, "198.51.100.10", 300)],
        ),
    ];
    let alerts = run(&mut detector, &events);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].details["registered_domain"], "xjwqkvzptrhm.com");
}

#[test]
fn new_domain_warms_up_on_the_input_without_history() {
    let mut all = detectors_with_history(&DnsConfig::default(), None);
    let mut alerts = Vec::new();
    let event = query(
        0,
        "10.0.0.2",
        "xjwqkvzptrhm.com",
        ResponseCode::NOERROR,
        &[(RecordType::A, "198.51.100.10", 300)],
    );
    for d in &mut all {
        d.observe(&event, &[], &mut alerts);
    }
    assert!(
        alerts.iter().all(|a| a.detector != "dns.new_domain"),
        "first day is warm-up"
    );
}

#[test]
fn config_rejects_unknown_keys_and_reads_user_allow_entries() {
    let config: DnsConfig = serde_json::from_str(
        r#"{"allow": [{"suffix": "corp.example", "expires": "2030-01-01T00:00:00Z", "reason": "VPN"}],
            "tunnel": {"min_distinct_subdomains": 30}}"#,
    )
    .unwrap();
    assert_eq!(config.tunnel.min_distinct_subdomains, 30);
    assert_eq!(config.allow.len(), 1);
    assert!(serde_json::from_str::<DnsConfig>(r#"{"tunel": {}}"#).is_err());
}

fn hostile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.-]{0,80}",
        "\\PC{0,60}",
        "([a-z]{1,5}\\.){0,40}[a-z]{0,3}",
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("a.".repeat(200)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_names_never_panic(names in proptest::collection::vec((hostile_name(), 0u8..6, any::<u16>()), 1..40)) {
        let mut all = detectors(&DnsConfig::default());
        let mut alerts = Vec::new();
        for (i, (name, kind, qtype)) in names.iter().enumerate() {
            let rcode = if kind % 2 == 0 { ResponseCode::NXDOMAIN } else { ResponseCode::NOERROR };
            let Event::Dns(mut dns) = query(i as i64, "10.0.0.1", name, rcode, &[(RecordType::A, name, u32::from(*qtype))]) else { unreachable!() };
            dns.query_type = Some(RecordType(*qtype));
            dns.query_name_original = Some(name.to_uppercase());
            if *kind == 5 {
                dns.client_ip = None;
            }
            let event = Event::Dns(dns);
            for d in &mut all {
                d.observe(&event, &[], &mut alerts);
            }
        }
        for d in &mut all {
            d.finish(&mut alerts);
        }
        for alert in &alerts {
            prop_assert!((0.0..=1.0).contains(&alert.score));
        }
    }
}
