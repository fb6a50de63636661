//! Property tests: the compiled matcher against a naive reference that
//! checks every indicator one by one, on random indicator sets and values
//! drawn from small alphabets so that values collide, nest and share
//! label and path boundaries often.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use picket_event::{IntelHit, MatchedField};
use picket_intel::{Indicator, IndicatorKind};
use picket_match::{MatcherBuilder, normalize};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Entry {
    indicator: Indicator,
    allow: bool,
}

fn indicator(kind: IndicatorKind, value: String, wide: bool) -> Indicator {
    Indicator {
        kind,
        value,
        include_subdomains: wide && kind == IndicatorKind::Domain,
        match_substring: wide && kind == IndicatorKind::Url,
        sightings: Vec::new(),
    }
}

fn build(entries: &[Entry]) -> picket_match::Matcher {
    let mut builder = MatcherBuilder::new();
    for e in entries {
        if e.allow {
            builder.allow(&e.indicator).unwrap();
        } else {
            builder.add(&e.indicator).unwrap();
        }
    }
    builder.build()
}

// ---------- addresses ----------

/// Addresses in 10.0.0.0/22 so that networks and exact entries overlap.
fn small_v4() -> impl Strategy<Value = u32> {
    (0u32..1024).prop_map(|low| 0x0a00_0000 | low)
}

fn v4_entry() -> impl Strategy<Value = Entry> {
    let exact = small_v4().prop_map(|a| (IndicatorKind::Ipv4, Ipv4Addr::from(a).to_string()));
    let cidr = (small_v4(), 20u8..=32).prop_map(|(a, p)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
        (
            IndicatorKind::Cidr,
            format!("{}/{p}", Ipv4Addr::from(a & mask)),
        )
    });
    let range = (small_v4(), 0u32..300).prop_map(|(a, len)| {
        (
            IndicatorKind::IpRange,
            format!(
                "{}-{}",
                Ipv4Addr::from(a),
                Ipv4Addr::from(a.saturating_add(len))
            ),
        )
    });
    (prop_oneof![exact, cidr, range], prop::bool::weighted(0.15)).prop_map(
        |((kind, value), allow)| Entry {
            indicator: indicator(kind, value, false),
            allow,
        },
    )
}

/// Returns the extent of an address entry as (first, last).
fn extent(e: &Indicator) -> (u128, u128) {
    let to = |ip: IpAddr| match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    match e.kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
            let a = to(e.value.parse().unwrap());
            (a, a)
        }
        IndicatorKind::Cidr => {
            let (addr, prefix) = e.value.split_once('/').unwrap();
            let addr: IpAddr = addr.parse().unwrap();
            let bits: u32 = if addr.is_ipv4() { 32 } else { 128 };
            let host = bits - prefix.parse::<u32>().unwrap();
            let first = to(addr);
            let last = first
                | u128::MAX
                    .checked_shr(128 - host)
                    .filter(|_| host > 0)
                    .unwrap_or(0);
            (first, last)
        }
        IndicatorKind::IpRange => {
            let (a, b) = e.value.split_once('-').unwrap();
            (to(a.parse().unwrap()), to(b.parse().unwrap()))
        }
        _ => unreachable!(),
    }
}

/// Reference: exact entries first (an allowed exact address hides
/// everything), then containing networks from the smallest, whitelist
/// entries first among equals, stopping at the first whitelist entry.
fn reference_ip(entries: &[Entry], ip: u128) -> Vec<(String, String)> {
    let exact = |e: &Entry| matches!(e.indicator.kind, IndicatorKind::Ipv4 | IndicatorKind::Ipv6);
    let containing: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            let (a, b) = extent(&e.indicator);
            a <= ip && ip <= b
        })
        .collect();

    let mut out = Vec::new();
    let exacts: Vec<&&Entry> = containing.iter().filter(|e| exact(e)).collect();
    if exacts.iter().any(|e| e.allow) {
        return out;
    }
    if let Some(e) = exacts.first() {
        out.push((
            e.indicator.kind.as_str().to_owned(),
            e.indicator.value.clone(),
        ));
    }

    let mut nets: Vec<&&Entry> = containing.iter().filter(|e| !exact(e)).collect();
    let prefix_order = |e: &Entry| {
        if e.indicator.kind == IndicatorKind::IpRange {
            255
        } else {
            0
        }
    };
    nets.sort_by_key(|e| {
        let (a, b) = extent(&e.indicator);
        (b - a, !e.allow, a, prefix_order(e))
    });
    let mut seen = BTreeSet::new();
    for e in nets {
        if e.allow {
            break;
        }
        let (a, b) = extent(&e.indicator);
        if seen.insert((a, b, prefix_order(e))) {
            out.push((
                e.indicator.kind.as_str().to_owned(),
                e.indicator.value.clone(),
            ));
        }
    }
    out
}

fn pairs(hits: &[IntelHit]) -> Vec<(String, String)> {
    hits.iter()
        .map(|h| (h.kind.clone(), h.indicator.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ipv4_matches_reference(entries in prop::collection::vec(v4_entry(), 0..40), probes in prop::collection::vec(small_v4(), 1..40)) {
        let matcher = build(&entries);
        for ip in probes {
            let mut hits = Vec::new();
            matcher.match_ip(IpAddr::V4(Ipv4Addr::from(ip)), MatchedField::ServerIp, &mut hits);
            prop_assert_eq!(pairs(&hits), reference_ip(&entries, u128::from(ip)), "address {}", Ipv4Addr::from(ip));
        }
    }

    #[test]
    fn ipv6_matches_reference(
        entries in prop::collection::vec((0u16..64, 118u8..=128, any::<bool>(), prop::bool::weighted(0.15)), 0..30),
        probes in prop::collection::vec(0u16..64, 1..30),
    ) {
        let base = u128::from("2001:db8::".parse::<Ipv6Addr>().unwrap());
        let entries: Vec<Entry> = entries.into_iter().map(|(low, prefix, exact, allow)| {
            let addr = base | u128::from(low);
            let (kind, value) = if exact {
                (IndicatorKind::Ipv6, Ipv6Addr::from(addr).to_string())
            } else {
                let mask = u128::MAX << (128 - u32::from(prefix));
                (IndicatorKind::Cidr, format!("{}/{prefix}", Ipv6Addr::from(addr & mask)))
            };
            Entry { indicator: indicator(kind, value, false), allow }
        }).collect();
        let matcher = build(&entries);
        for low in probes {
            let ip = base | u128::from(low);
            let mut hits = Vec::new();
            matcher.match_ip(IpAddr::V6(Ipv6Addr::from(ip)), MatchedField::ClientIp, &mut hits);
            prop_assert_eq!(pairs(&hits), reference_ip(&entries, ip));
        }
    }
}

// ---------- domains ----------

/// Labels chosen so that one is a suffix of another without a label
/// boundary (`evil`, `notevil`), with case and IDNA forms.
fn label() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "evil", "notevil", "a", "b", "com", "net", "xn--p1ai", "mail",
    ])
}

fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..5).prop_map(|labels| labels.join("."))
}

/// Reference: walk from the name itself up through its parents. At each
/// level a whitelist entry ends the walk, otherwise every entry that
/// applies there hits.
fn reference_domain(entries: &[Entry], query: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let labels: Vec<&str> = query.split('.').collect();
    for level in 0..labels.len() {
        let suffix = labels[level..].join(".");
        let applies: Vec<&Entry> = entries
            .iter()
            .filter(|e| {
                let v = e.indicator.value.to_ascii_lowercase();
                v == suffix && (level == 0 || e.indicator.include_subdomains)
            })
            .collect();
        if applies.iter().any(|e| e.allow) {
            break;
        }
        out.extend(
            applies
                .iter()
                .map(|e| e.indicator.value.to_ascii_lowercase()),
        );
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn domains_match_reference(
        entries in prop::collection::vec((name(), any::<bool>(), prop::bool::weighted(0.2)), 0..25),
        probes in prop::collection::vec((name(), any::<bool>(), any::<bool>()), 1..25),
    ) {
        let entries: Vec<Entry> = entries.into_iter().map(|(v, wide, allow)| Entry {
            indicator: indicator(IndicatorKind::Domain, v, wide),
            allow,
        }).collect();
        let matcher = build(&entries);
        for (query, upper, dot) in probes {
            let mut spelt = if upper { query.to_ascii_uppercase() } else { query.clone() };
            if dot {
                spelt.push('.');
            }
            let mut hits = Vec::new();
            matcher.match_domain(&spelt, MatchedField::DnsQuery, &mut hits);
            let got: BTreeSet<String> = hits.iter().map(|h| h.indicator.clone()).collect();
            prop_assert_eq!(got.len(), hits.len(), "repeated hit");
            prop_assert_eq!(&got, &reference_domain(&entries, &query), "name {}", spelt);
            let depth: Vec<usize> = hits.iter().map(|h| h.indicator.matches('.').count()).collect();
            prop_assert!(depth.windows(2).all(|w| w[0] >= w[1]), "not most specific first: {:?}", hits);
        }
    }
}

// ---------- URLs ----------

fn url() -> impl Strategy<Value = String> {
    let host = prop::sample::select(vec!["evil.com", "Evil.com", "b.net:8080"]);
    let segment = prop::sample::select(vec!["a", "b", "gate.php", "a%2f", ""]);
    let query = prop::option::of(prop::sample::select(vec!["x=1", "x=/a", "y"]));
    (
        host,
        prop::collection::vec(segment, 0..4),
        any::<bool>(),
        query,
    )
        .prop_map(|(h, segs, slash, q)| {
            let mut u = format!("http://{h}/{}", segs.join("/"));
            if slash && !u.ends_with('/') {
                u.push('/');
            }
            if let Some(q) = q {
                u.push('?');
                u.push_str(q);
            }
            u
        })
}

/// Reference: a prefix entry covers a URL when it is the URL or stops just
/// before a path `/`, just after one, or just before a `?`. The walk goes
/// from the longest, and a whitelist entry ends it.
fn reference_url(entries: &[(String, bool, bool)], key: &str) -> BTreeSet<String> {
    let query = key.find('?').unwrap_or(key.len());
    let covers = |p: &str, prefix: bool| {
        if p == key {
            return true;
        }
        if !prefix || !key.starts_with(p) || p.is_empty() {
            return false;
        }
        let next = key.as_bytes()[p.len()];
        (next == b'/' && p.len() < query)
            || next == b'?'
            || (p.ends_with('/') && p.len() - 1 < query)
    };
    let mut applies: Vec<&(String, bool, bool)> = entries
        .iter()
        .filter(|(p, prefix, _)| covers(p, *prefix))
        .collect();
    applies.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.len()));
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < applies.len() {
        let len = applies[i].0.len();
        let level: Vec<_> = applies[i..]
            .iter()
            .take_while(|e| e.0.len() == len)
            .collect();
        if level.iter().any(|e| e.2) {
            break;
        }
        out.extend(level.iter().map(|e| e.0.clone()));
        i += level.len();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn urls_match_reference(
        entries in prop::collection::vec((url(), any::<bool>(), prop::bool::weighted(0.15)), 0..25),
        probes in prop::collection::vec(url(), 1..25),
    ) {
        let matcher = build(&entries.iter().map(|(u, prefix, allow)| Entry {
            indicator: indicator(IndicatorKind::Url, u.clone(), *prefix),
            allow: *allow,
        }).collect::<Vec<_>>());
        let keyed: Vec<(String, bool, bool)> = entries.iter()
            .map(|(u, prefix, allow)| (normalize::url_key(u, None).unwrap(), *prefix, *allow))
            .collect();
        for probe in probes {
            let key = normalize::url_key(&probe, None).unwrap();
            let mut hits = Vec::new();
            matcher.match_url(&probe, None, MatchedField::Url, &mut hits);
            let got: BTreeSet<String> = hits.iter().map(|h| h.indicator.clone()).collect();
            prop_assert_eq!(got, reference_url(&keyed, &key), "url {}", probe);
        }
    }
}

/// Generates one part of an IPv4 host in any radix browsers accept, or a
/// stray token.
fn ipv4_part() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..70_000).prop_map(|n| n.to_string()),
        (0u64..70_000).prop_map(|n| format!("0{n:o}")),
        (0u64..70_000).prop_map(|n| format!("0x{n:x}")),
        (0u64..5_000_000_000).prop_map(|n| n.to_string()),
        "[0-9a-fxX]{0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// The matcher's host reading agrees with the `url` crate, an
    /// implementation of the WHATWG URL Standard, on which hosts are
    /// addresses and which address each names.
    #[test]
    fn ipv4_hosts_agree_with_the_url_standard(
        parts in proptest::collection::vec(ipv4_part(), 1..6),
        trailing_dot in any::<bool>(),
    ) {
        let mut host = parts.join(".");
        if trailing_dot {
            host.push('.');
        }
        let reference = match url::Host::parse(&host) {
            Ok(url::Host::Ipv4(ip)) => Some(ip),
            _ => None,
        };
        prop_assert_eq!(picket_event::host::parse_ipv4(&host), reference, "{}", host);
    }
}

// ---------- long names and whole HTTP events ----------

/// Names of up to a dozen labels, longer than one batch of the walk.
fn long_name() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..13).prop_map(|labels| labels.join("."))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn long_names_match_reference(
        entries in prop::collection::vec((long_name(), any::<bool>(), prop::bool::weighted(0.2)), 0..25),
        probes in prop::collection::vec((long_name(), any::<bool>()), 1..25),
    ) {
        let entries: Vec<Entry> = entries.into_iter().map(|(v, wide, allow)| Entry {
            indicator: indicator(IndicatorKind::Domain, v, wide),
            allow,
        }).collect();
        let matcher = build(&entries);
        for (query, upper) in probes {
            let spelt = if upper { query.to_ascii_uppercase() } else { query.clone() };
            let mut hits = Vec::new();
            matcher.match_domain(&spelt, MatchedField::DnsQuery, &mut hits);
            let got: BTreeSet<String> = hits.iter().map(|h| h.indicator.clone()).collect();
            prop_assert_eq!(&got, &reference_domain(&entries, &query), "name {}", spelt);
        }
    }
}

/// Generates a request target as a proxy logs it: absolute (with a port,
/// user information or an address host) or a `CONNECT` authority.
fn target() -> impl Strategy<Value = String> {
    let host = prop::sample::select(vec![
        "evil.com",
        "Evil.com",
        "a.evil.com",
        "b.net",
        "b.net:8080",
        "evil.com:80",
        "evil.com:443",
        "10.0.0.1",
        "0x0a.0.0.1",
        "evil.com.",
        "[2001:db8::1]",
    ]);
    let path = prop::sample::select(vec!["/", "/a", "/a/b", "/gate.php?x=1", "/a%2f/b?y", ""]);
    (host, path, 0u8..3).prop_map(|(host, path, form)| match form {
        0 => format!("http://{host}{path}"),
        1 => format!("HTTPS://user@{host}{path}"),
        _ => host.to_owned(),
    })
}

/// Returns the (field, indicator) pairs of `hits` at `field`.
fn at(hits: &[IntelHit], field: MatchedField) -> BTreeSet<String> {
    hits.iter()
        .filter(|h| h.field == field)
        .map(|h| h.indicator.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A Squid line parsed and matched whole hits the same URL and host
    /// indicators as the URL and the host matched on their own.
    #[test]
    fn http_events_match_as_their_parts(
        urls in prop::collection::vec((url(), any::<bool>(), prop::bool::weighted(0.15)), 0..20),
        names in prop::collection::vec((
            prop::sample::select(vec!["evil.com", "a.evil.com", "b.net", "com"]),
            any::<bool>(),
            prop::bool::weighted(0.15),
        ), 0..8),
        targets in prop::collection::vec(target(), 1..20),
    ) {
        let mut entries: Vec<Entry> = urls.iter().map(|(u, prefix, allow)| Entry {
            indicator: indicator(IndicatorKind::Url, u.clone(), *prefix),
            allow: *allow,
        }).collect();
        entries.extend(names.iter().map(|(n, wide, allow)| Entry {
            indicator: indicator(IndicatorKind::Domain, (*n).to_owned(), *wide),
            allow: *allow,
        }));
        let matcher = build(&entries);

        let log: String = targets.iter().map(|t| {
            format!("1700000000.000 1 10.9.9.9 TCP_MISS/200 5 GET {t} - HIER_NONE/- -\n")
        }).collect();
        let (events, _, _) = picket_sources::read_all(
            log.as_bytes(),
            picket_sources::Format::Squid,
            &picket_sources::ReaderConfig::default(),
        );
        prop_assert_eq!(events.len(), targets.len());
        for event in &events {
            let picket_event::Event::Http(http) = event else {
                unreachable!("Squid lines are HTTP events")
            };
            let mut hits = Vec::new();
            matcher.match_event(event, &mut hits);

            let mut url_hits = Vec::new();
            matcher.match_url(&http.url, http.host.as_deref(), MatchedField::Url, &mut url_hits);
            prop_assert_eq!(at(&hits, MatchedField::Url), at(&url_hits, MatchedField::Url), "url {}", http.url);

            let mut host_hits = Vec::new();
            if let Some(host) = http.host.as_deref()
                && picket_event::host::parse_ip(host).is_none()
            {
                matcher.match_domain(host, MatchedField::HttpHost, &mut host_hits);
            }
            prop_assert_eq!(
                at(&hits, MatchedField::HttpHost),
                at(&host_hits, MatchedField::HttpHost),
                "host {:?}",
                http.host
            );
        }
    }
}
