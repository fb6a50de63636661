//! Property tests: matching a run of events with the filter words of later
//! events prefetched ([`Matcher::prefetch`]) finds exactly the hits, in
//! the same order, that matching each event on its own finds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use picket_event::{DnsEvent, Event, HttpEvent, IntelHit, RecordType, ResourceRecord, TlsEvent};
use picket_intel::{Indicator, IndicatorKind};
use picket_match::{Matcher, MatcherBuilder, PREFETCH_DISTANCE, SharedMatcher};
use proptest::prelude::*;

fn indicator(kind: IndicatorKind, value: &str, wide: bool) -> Indicator {
    Indicator {
        kind,
        value: value.into(),
        include_subdomains: wide && kind == IndicatorKind::Domain,
        match_substring: wide && kind == IndicatorKind::Url,
        sightings: Vec::new(),
    }
}

/// Returns a matcher large enough to turn on the /24 bitmap (4,096 IPv4 entries),
/// with networks, domains with and without subdomains, URL prefixes and a
/// whitelist entry, over the same small value space the events use.
fn large() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let mut builder = MatcherBuilder::new();
        let add = |builder: &mut MatcherBuilder, kind, value: &str, wide| {
            builder.add(&indicator(kind, value, wide)).unwrap();
        };
        for i in 0..5000u32 {
            let ip = Ipv4Addr::from(0x0a00_0000 + i * 7);
            add(&mut builder, IndicatorKind::Ipv4, &ip.to_string(), false);
        }
        add(&mut builder, IndicatorKind::Cidr, "10.0.64.0/18", false);
        add(
            &mut builder,
            IndicatorKind::IpRange,
            "10.0.9.0-10.0.9.99",
            false,
        );
        add(&mut builder, IndicatorKind::Ipv6, "2001:db8::7", false);
        for name in ["evil.com", "b.example", "xn--bcher-kva.example"] {
            add(&mut builder, IndicatorKind::Domain, name, true);
        }
        add(&mut builder, IndicatorKind::Domain, "a.cdn.com", false);
        add(&mut builder, IndicatorKind::Url, "evil.com/x/", true);
        add(&mut builder, IndicatorKind::Url, "a.b.example/y?q=1", false);
        add(&mut builder, IndicatorKind::FileName, "y", false);
        builder
            .allow(&indicator(IndicatorKind::Domain, "www.evil.com", true))
            .unwrap();
        builder.build()
    })
}

/// Returns a matcher with every table and so every filter empty.
fn empty() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| MatcherBuilder::new().build())
}

fn address() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        4 => (0u32..0x1_0000).prop_map(|low| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | low))),
        1 => any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        1 => (0u32..0x1_0000).prop_map(|low| {
            IpAddr::V6(Ipv4Addr::from(0x0a00_0000 | low).to_ipv6_mapped())
        }),
        1 => (0u16..16).prop_map(|low| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, low))),
    ]
}

/// Names that nest and share labels with the indicators, in every
/// spelling the matcher normalises, and host strings that are no name.
fn host() -> impl Strategy<Value = String> {
    let label = prop::sample::select(vec![
        "a",
        "b",
        "www",
        "cdn",
        "evil",
        "example",
        "com",
        "xn--bcher-kva",
        "bücher",
        "EVIL",
    ]);
    prop_oneof![
        8 => (prop::collection::vec(label, 1..5), any::<bool>()).prop_map(|(labels, dot)| {
            let name = labels.join(".");
            if dot { name + "." } else { name }
        }),
        1 => (0u32..0x1_0000).prop_map(|low| Ipv4Addr::from(0x0a00_0000 | low).to_string()),
        1 => (0u32..0x1_0000).prop_map(|low| (0x0a00_0000u32 | low).to_string()),
        1 => prop::sample::select(vec!["", ".", "..", "[2001:db8::7]", "a..b", "-"])
            .prop_map(str::to_owned),
        1 => "\\PC{0,40}",
    ]
}

fn http() -> impl Strategy<Value = Event> {
    let path = prop::sample::select(vec!["/", "/x/", "/x/y", "/y?q=1", "/x/y.js?v=1", ""]);
    (
        prop::option::of(address()),
        prop::option::of(address()),
        prop::option::of(host()),
        path,
        any::<bool>(),
    )
        .prop_map(|(client_ip, server_ip, host, path, absolute)| {
            let url = match (&host, absolute) {
                (Some(host), true) => format!("http://{host}{path}"),
                _ => path.to_owned(),
            };
            let (path, query) = match path.split_once('?') {
                Some((p, q)) => (Some(p.to_owned()), Some(q.to_owned())),
                None => ((!path.is_empty()).then(|| path.to_owned()), None),
            };
            Event::from(HttpEvent {
                client_ip,
                server_ip,
                host,
                url,
                path,
                query,
                ..HttpEvent::default()
            })
        })
}

fn dns() -> impl Strategy<Value = Event> {
    let answer = prop_oneof![
        address().prop_map(|ip| match ip {
            IpAddr::V4(a) => (RecordType::A, a.to_string()),
            IpAddr::V6(a) => (RecordType::AAAA, a.to_string()),
        }),
        host().prop_map(|name| (RecordType::CNAME, name)),
    ];
    (
        prop::option::of(address()),
        host(),
        prop::collection::vec(answer, 0..3),
    )
        .prop_map(|(client_ip, query_name, answers)| {
            Event::Dns(DnsEvent {
                client_ip,
                answers: answers
                    .into_iter()
                    .map(|(rtype, data)| ResourceRecord {
                        name: query_name.clone(),
                        rtype,
                        class: 1,
                        ttl: 60,
                        data,
                    })
                    .collect(),
                query_name,
                ..DnsEvent::default()
            })
        })
}

fn tls() -> impl Strategy<Value = Event> {
    (
        prop::option::of(address()),
        prop::option::of(address()),
        prop::option::of(host()),
    )
        .prop_map(|(client_ip, server_ip, server_name)| {
            Event::Tls(TlsEvent {
                client_ip,
                server_ip,
                server_name,
                ..TlsEvent::default()
            })
        })
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![4 => http(), 2 => dns(), 1 => tls()]
}

/// Matches `events` in order, prefetching the event `distance` places
/// ahead of each as a batch reader does, and returns every event's hits.
fn match_ahead(
    events: &[Event],
    distance: usize,
    prefetch: impl Fn(&Event),
    match_event: impl Fn(&Event, &mut Vec<IntelHit>),
) -> Vec<Vec<IntelHit>> {
    let mut hits = Vec::new();
    let mut out = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        if let Some(ahead) = events.get(i + distance) {
            prefetch(ahead);
        }
        match_event(event, &mut hits);
        out.push(std::mem::take(&mut hits));
    }
    out
}

/// Returns each event's hits, matched on its own.
fn match_each(matcher: &Matcher, events: &[Event]) -> Vec<Vec<IntelHit>> {
    events
        .iter()
        .map(|event| {
            let mut hits = Vec::new();
            matcher.match_event(event, &mut hits);
            hits
        })
        .collect()
}

#[test]
fn varied_events_hit_the_large_matcher() {
    // Guards the property below against a value space that never hits.
    let events = [
        Event::from(HttpEvent {
            server_ip: Some("10.0.0.7".parse().unwrap()),
            host: Some("c.evil.com".into()),
            url: "http://c.evil.com/x/y".into(),
            path: Some("/x/y".into()),
            ..HttpEvent::default()
        }),
        Event::Dns(DnsEvent {
            query_name: "B.Example.".into(),
            ..DnsEvent::default()
        }),
    ];
    let single = match_each(large(), &events);
    assert!(single[0].len() >= 3, "{:?}", single[0]);
    assert_eq!(single[1].len(), 1, "{:?}", single[1]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prefetched_hits_equal_single_hits(
        events in prop::collection::vec(event(), 1..40),
        distance in prop::sample::select(vec![1usize, 2, 3, PREFETCH_DISTANCE, 8]),
    ) {
        for matcher in [large(), empty()] {
            let expected = match_each(matcher, &events);
            let got = match_ahead(
                &events,
                distance,
                |e| matcher.prefetch(e),
                |e, hits| matcher.match_event(e, hits),
            );
            for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
                prop_assert_eq!(got, expected, "event {} of {}", i, events.len());
            }
        }
    }

    #[test]
    fn shared_prefetched_hits_equal_single_hits(
        events in prop::collection::vec(event(), 1..20),
    ) {
        let mut builder = MatcherBuilder::new();
        builder.add(&indicator(IndicatorKind::Domain, "evil.com", true)).unwrap();
        builder.add(&indicator(IndicatorKind::Cidr, "10.0.0.0/20", false)).unwrap();
        let shared = SharedMatcher::new(builder.build());
        let expected = match_each(&shared.current(), &events);
        let got = match_ahead(
            &events,
            PREFETCH_DISTANCE,
            |e| shared.prefetch(e),
            |e, hits| shared.match_event(e, hits),
        );
        prop_assert_eq!(got, expected);
    }
}
