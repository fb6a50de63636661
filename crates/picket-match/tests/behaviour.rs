//! What matches where: one small case per rule of the matcher.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use picket_event::{
    BodyInfo, DnsEvent, Event, HttpEvent, IntelHit, IntelSource, MatchedField, RecordType,
    ResourceRecord, TlsEvent,
};
use picket_intel::{Indicator, IndicatorKind, Sighting};
use picket_match::{Matcher, MatcherBuilder, MatcherSettings};

fn ind(kind: IndicatorKind, value: &str) -> Indicator {
    Indicator {
        kind,
        value: value.into(),
        include_subdomains: false,
        match_substring: false,
        sightings: vec![Sighting {
            source: IntelSource {
                provider: "test".into(),
                feed: "unit".into(),
                confidence: 80,
                tlp: Some("amber".into()),
                tags: vec!["c2".into()],
                description: Some(format!("{value} is bad")),
                reference: None,
            },
            ..Sighting::default()
        }],
    }
}

fn wide(kind: IndicatorKind, value: &str) -> Indicator {
    Indicator {
        include_subdomains: kind == IndicatorKind::Domain,
        match_substring: kind != IndicatorKind::Domain,
        ..ind(kind, value)
    }
}

fn matcher(add: &[Indicator], allow: &[Indicator]) -> Matcher {
    let mut b = MatcherBuilder::new();
    for i in add {
        b.add(i).unwrap();
    }
    for i in allow {
        b.allow(i).unwrap();
    }
    b.build()
}

fn hits(m: &Matcher, event: &Event) -> Vec<IntelHit> {
    let mut out = Vec::new();
    m.match_event(event, &mut out);
    out
}

fn dns(name: &str, answers: &[(RecordType, &str)]) -> Event {
    Event::Dns(DnsEvent {
        query_name: name.into(),
        client_ip: Some("10.0.0.5".parse().unwrap()),
        answers: answers
            .iter()
            .map(|(t, d)| ResourceRecord {
                name: name.into(),
                rtype: *t,
                class: 1,
                ttl: 60,
                data: (*d).into(),
            })
            .collect(),
        ..DnsEvent::default()
    })
}

fn fields(hits: &[IntelHit]) -> Vec<(MatchedField, &str, &str)> {
    hits.iter()
        .map(|h| (h.field, h.indicator.as_str(), h.value.as_str()))
        .collect()
}

/// Selects the URL hits of [`fields`].
fn url_fields(hits: &[IntelHit]) -> Vec<(MatchedField, &str, &str)> {
    fields(hits)
        .into_iter()
        .filter(|(field, _, _)| *field == MatchedField::Url)
        .collect()
}

#[test]
fn subdomains_only_on_label_boundaries() {
    let m = matcher(&[wide(IndicatorKind::Domain, "evil.com")], &[]);
    let hit = |name: &str| {
        let mut v = Vec::new();
        m.match_domain(name, MatchedField::DnsQuery, &mut v);
        v.len()
    };
    assert_eq!(hit("evil.com"), 1);
    assert_eq!(hit("a.b.evil.com"), 1);
    assert_eq!(hit("A.B.EVIL.COM."), 1);
    assert_eq!(hit("notevil.com"), 0);
    assert_eq!(hit("evil.com.example"), 0);
    assert_eq!(hit("com"), 0);
    assert_eq!(hit(""), 0);
    assert_eq!(hit("."), 0);
}

#[test]
fn exact_domain_does_not_cover_subdomains() {
    let m = matcher(&[ind(IndicatorKind::Domain, "evil.com")], &[]);
    let mut v = Vec::new();
    m.match_domain("www.evil.com", MatchedField::DnsQuery, &mut v);
    assert!(v.is_empty());
    m.match_domain("Evil.Com.", MatchedField::DnsQuery, &mut v);
    assert_eq!(v.len(), 1);
}

#[test]
fn internationalised_names_match_in_ascii_form() {
    let m = matcher(&[wide(IndicatorKind::Domain, "bücher.example")], &[]);
    let mut v = Vec::new();
    m.match_domain("shop.xn--bcher-kva.example", MatchedField::TlsSni, &mut v);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].indicator, "xn--bcher-kva.example");
    m.match_domain("SHOP.BÜCHER.example", MatchedField::TlsSni, &mut v);
    assert_eq!(v.len(), 2);
}

#[test]
fn whitelisted_child_wins_over_blacklisted_parent() {
    let m = matcher(
        &[
            wide(IndicatorKind::Domain, "wikimedia.org"),
            ind(IndicatorKind::Domain, "deep.meta.wikimedia.org"),
        ],
        &[wide(IndicatorKind::Domain, "meta.wikimedia.org")],
    );
    let names = |name: &str| {
        let mut v = Vec::new();
        m.match_domain(name, MatchedField::HttpHost, &mut v);
        v.into_iter().map(|h| h.indicator).collect::<Vec<_>>()
    };
    assert_eq!(names("upload.wikimedia.org"), ["wikimedia.org"]);
    assert!(names("meta.wikimedia.org").is_empty());
    assert!(names("x.meta.wikimedia.org").is_empty());
    // A blacklisted name more specific than the whitelist entry still hits.
    assert_eq!(
        names("deep.meta.wikimedia.org"),
        ["deep.meta.wikimedia.org"]
    );
}

#[test]
fn allowed_exact_value_is_never_hit() {
    let m = matcher(
        &[
            ind(IndicatorKind::Ipv4, "192.0.2.1"),
            ind(IndicatorKind::Cidr, "192.0.2.0/24"),
            ind(IndicatorKind::Domain, "a.example"),
        ],
        &[
            ind(IndicatorKind::Ipv4, "192.0.2.1"),
            ind(IndicatorKind::Domain, "a.example"),
        ],
    );
    let mut v = Vec::new();
    m.match_ip("192.0.2.1".parse().unwrap(), MatchedField::ServerIp, &mut v);
    m.match_domain("a.example", MatchedField::DnsQuery, &mut v);
    assert!(v.is_empty(), "{v:?}");
    m.match_ip("192.0.2.2".parse().unwrap(), MatchedField::ServerIp, &mut v);
    assert_eq!(v.len(), 1);
}

#[test]
fn dns_answers_catch_addresses_behind_innocent_names() {
    let m = matcher(
        &[
            ind(IndicatorKind::Ipv4, "203.0.113.66"),
            wide(IndicatorKind::Domain, "c2.example"),
            wide(IndicatorKind::Domain, "mx.bad"),
        ],
        &[],
    );
    let event = dns(
        "cdn.innocent.example",
        &[
            (RecordType::CNAME, "edge.c2.example"),
            (RecordType::A, "203.0.113.66"),
            (RecordType::A, "203.0.113.66"),
            (RecordType::MX, "10 mail.mx.bad"),
            (RecordType::TXT, "\"c2.example\""),
        ],
    );
    let got = hits(&m, &event);
    assert_eq!(
        fields(&got),
        [
            (MatchedField::DnsAnswer, "c2.example", "edge.c2.example"),
            (MatchedField::DnsAnswer, "203.0.113.66", "203.0.113.66"),
            (MatchedField::DnsAnswer, "mx.bad", "mail.mx.bad"),
        ]
    );
}

#[test]
fn http_places() {
    let m = matcher(
        &[
            ind(IndicatorKind::Ipv4, "198.51.100.7"),
            ind(IndicatorKind::Cidr, "192.0.2.0/24"),
            wide(IndicatorKind::Domain, "evil.example"),
            ind(IndicatorKind::Domain, "ref.example"),
            ind(
                IndicatorKind::Url,
                "http://WWW.evil.example:80/gate.php?id=1#top",
            ),
            wide(IndicatorKind::Url, "http://dl.example/payloads/"),
            wide(IndicatorKind::UserAgent, "BadBot"),
            ind(IndicatorKind::UserAgent, "curl/7.1"),
            ind(IndicatorKind::FileName, "Invoice.EXE"),
            ind(IndicatorKind::Email, "Boss@Corp.example"),
            ind(IndicatorKind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            ind(
                IndicatorKind::Sha256,
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            ),
        ],
        &[],
    );
    let event = Event::from(HttpEvent {
        client_ip: Some("192.0.2.10".parse().unwrap()),
        server_ip: Some("198.51.100.7".parse().unwrap()),
        forwarded_for: Some("10.1.1.1, 198.51.100.7".into()),
        host: Some("www.evil.example".into()),
        url: "http://www.evil.example/gate.php?id=1".into(),
        path: Some("/gate.php".into()),
        referrer: Some("http://ref.example/page".into()),
        user_agent: Some("Mozilla/5.0 (compatible; badbot/2.1)".into()),
        user_name: Some("boss@corp.example".into()),
        file_name: Some("C:\\tmp\\invoice.exe".into()),
        body: Some(BodyInfo {
            md5: "d41d8cd98f00b204e9800998ecf8427e".into(),
            sha1: "da39a3ee5e6b4b0d3255bfef95601890afd80709".into(),
            sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
            size: 0,
            ..BodyInfo::default()
        }),
        ..HttpEvent::default()
    });
    let got = hits(&m, &event);
    let places: Vec<(MatchedField, &str)> = got
        .iter()
        .map(|h| (h.field, h.indicator.as_str()))
        .collect();
    let expected = [
        (MatchedField::ClientIp, "192.0.2.0/24"),
        (MatchedField::ServerIp, "198.51.100.7"),
        (MatchedField::ForwardedFor, "198.51.100.7"),
        (MatchedField::HttpHost, "evil.example"),
        (MatchedField::Url, "www.evil.example/gate.php?id=1"),
        (MatchedField::Referrer, "ref.example"),
        (MatchedField::UserAgent, "BadBot"),
        (MatchedField::Email, "boss@corp.example"),
        (MatchedField::FileName, "invoice.exe"),
        (MatchedField::BodyHash, "d41d8cd98f00b204e9800998ecf8427e"),
        (
            MatchedField::BodyHash,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ];
    assert_eq!(places, expected, "{got:#?}");

    let h = &got[0];
    assert_eq!(h.kind, "cidr");
    assert_eq!(h.value, "192.0.2.10");
    assert_eq!(h.confidence, 80);
    assert_eq!(h.sources[0].tlp.as_deref(), Some("amber"));
    assert_eq!(h.sources[0].tags, ["c2"]);
    assert_eq!(
        h.sources[0].description.as_deref(),
        Some("192.0.2.0/24 is bad")
    );
}

#[test]
fn url_prefixes_cut_on_path_boundaries() {
    let m = matcher(
        &[
            wide(IndicatorKind::Url, "http://dl.example/payloads/"),
            wide(IndicatorKind::Url, "dl.example/gate.php"),
        ],
        &[],
    );
    let hit = |url: &str| {
        let mut v = Vec::new();
        m.match_url(url, None, MatchedField::Url, &mut v);
        v.into_iter().map(|h| h.indicator).collect::<Vec<_>>()
    };
    assert_eq!(
        hit("https://DL.example/payloads/x.exe"),
        ["dl.example/payloads/"]
    );
    assert_eq!(hit("http://dl.example/payloads/"), ["dl.example/payloads/"]);
    assert!(hit("http://dl.example/payloadsX/x.exe").is_empty());
    assert_eq!(
        hit("http://dl.example/gate.php?x=1"),
        ["dl.example/gate.php"]
    );
    assert_eq!(
        hit("http://dl.example/gate.php/more"),
        ["dl.example/gate.php"]
    );
    assert!(hit("http://dl.example/gate.php5").is_empty());
    assert!(hit("http://other.example/payloads/x").is_empty());

    let mut v = Vec::new();
    m.match_url(
        "/payloads/a.bin",
        Some("dl.example"),
        MatchedField::Url,
        &mut v,
    );
    assert_eq!(v.len(), 1);
}

#[test]
fn integer_and_hex_hosts_match_address_indicators() {
    let m = matcher(&[ind(IndicatorKind::Ipv4, "203.0.113.66")], &[]);
    for host in ["3405803842", "0xcb.0.0x71.0x42", "0313.0.0161.0102"] {
        let event = Event::from(HttpEvent {
            host: Some(host.into()),
            url: format!("http://{host}/gate.php"),
            ..HttpEvent::default()
        });
        let found = hits(&m, &event);
        // The hit shows the address read; the event keeps the spelling.
        assert_eq!(
            fields(&found),
            [(MatchedField::HttpHost, "203.0.113.66", "203.0.113.66")],
            "{host}"
        );
    }
}

#[test]
fn url_spellings_of_one_path_match() {
    let indicator = picket_intel::normalize(IndicatorKind::Url, "http://evil.example/panel/gate.php?id=A").unwrap();
    let m = matcher(&[ind(IndicatorKind::Url, &indicator)], &[]);
    let hit = |url: &str| {
        let mut v = Vec::new();
        m.match_url(url, None, MatchedField::Url, &mut v);
        v.len()
    };
    for url in [
        "http://evil.example/panel/gate.php?id=A",
        "http://evil.example//panel//gate.php?id=A",
        "http://evil.example/panel/%67ate.php?id=%41",
        "http://EVIL.example:80/panel/./gate.php?id=A",
        "http://evil.example/x/../panel/gate.php?id=A",
    ] {
        assert_eq!(hit(url), 1, "{url}");
    }
    assert_eq!(hit("http://evil.example/panel/gate.php?id=B"), 0);
    assert_eq!(hit("http://evil.example/panel%2Fgate.php?id=A"), 0);

    let by_address = picket_intel::normalize(IndicatorKind::Url, "http://3405803842/drop.exe").unwrap();
    let m = matcher(&[ind(IndicatorKind::Url, &by_address)], &[]);
    let mut v = Vec::new();
    m.match_url("http://0xcb007142/drop.exe", None, MatchedField::Url, &mut v);
    assert_eq!(v.len(), 1, "{by_address}");
}

#[test]
fn tls_and_ipv6() {
    let m = matcher(
        &[
            wide(IndicatorKind::Domain, "evil.example"),
            ind(IndicatorKind::Cidr, "2001:db8::/32"),
            ind(IndicatorKind::Ipv4, "192.0.2.1"),
        ],
        &[],
    );
    let event = Event::Tls(TlsEvent {
        client_ip: Some("::ffff:192.0.2.1".parse().unwrap()),
        server_ip: Some("2001:db8::1".parse().unwrap()),
        server_name: Some("api.evil.example".into()),
        ..TlsEvent::default()
    });
    let got = hits(&m, &event);
    assert_eq!(
        fields(&got),
        [
            (MatchedField::ClientIp, "192.0.2.1", "::ffff:192.0.2.1"),
            (MatchedField::ServerIp, "2001:db8::/32", "2001:db8::1"),
            (MatchedField::TlsSni, "evil.example", "api.evil.example"),
        ]
    );
}

#[test]
fn repeated_values_merge_their_sources() {
    let mut other = ind(IndicatorKind::Domain, "evil.example");
    other.sightings[0].source.provider = "second".into();
    other.sightings[0].source.confidence = 95;
    let m = matcher(&[ind(IndicatorKind::Domain, "evil.example"), other], &[]);
    assert_eq!(m.len(), 1);
    let mut v = Vec::new();
    m.match_domain("evil.example", MatchedField::DnsQuery, &mut v);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].sources.len(), 2);
    assert_eq!(v[0].confidence, 95);
}

#[test]
fn hits_per_event_are_capped() {
    let mut b = MatcherBuilder::with_settings(MatcherSettings {
        max_hits_per_event: 3,
        ..MatcherSettings::default()
    });
    let addresses: Vec<String> = (0..50).map(|i| format!("192.0.2.{i}")).collect();
    for address in &addresses {
        b.add(&ind(IndicatorKind::Ipv4, address)).unwrap();
    }
    let m = b.build();
    let answers: Vec<(RecordType, &str)> = addresses
        .iter()
        .map(|a| (RecordType::A, a.as_str()))
        .collect();
    assert_eq!(hits(&m, &dns("x.example", &answers)).len(), 3);
}

#[test]
fn one_hit_per_indicator_and_place() {
    let m = matcher(
        &[
            ind(IndicatorKind::Cidr, "198.51.100.0/24"),
            wide(IndicatorKind::Domain, "evil.example"),
        ],
        &[],
    );
    let answers = [
        (RecordType::CNAME, "a.evil.example"),
        (RecordType::CNAME, "b.evil.example"),
        (RecordType::A, "198.51.100.7"),
        (RecordType::A, "198.51.100.8"),
    ];

    let found = hits(&m, &dns("x.example", &answers));

    let values: Vec<(&str, &str)> = found
        .iter()
        .map(|h| (h.indicator.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("evil.example", "a.evil.example"),
            ("198.51.100.0/24", "198.51.100.7")
        ]
    );
}

#[test]
fn invalid_values_are_rejected_with_the_value() {
    let mut b = MatcherBuilder::new();
    for (kind, value) in [
        (IndicatorKind::Ipv4, "300.1.1.1"),
        (IndicatorKind::Cidr, "10.0.0.0/33"),
        (IndicatorKind::IpRange, "10.0.0.9-10.0.0.1"),
        (IndicatorKind::Md5, "abc"),
        (IndicatorKind::Url, "/no/host"),
        (IndicatorKind::Domain, "bad name"),
        (IndicatorKind::Email, "nobody"),
    ] {
        let err = b.add(&ind(kind, value)).unwrap_err();
        assert!(err.to_string().contains(value), "{err}");
    }
    assert_eq!(b.build().len(), 0);
}

#[test]
fn hostile_values_do_not_panic() {
    let m = matcher(
        &[
            wide(IndicatorKind::Domain, "a.example"),
            wide(IndicatorKind::Url, "a.example/x/"),
            wide(IndicatorKind::UserAgent, "x"),
            ind(IndicatorKind::FileName, "f"),
        ],
        &[],
    );
    let junk = [
        "",
        ".",
        "..",
        "...a.example",
        "a..example",
        "%",
        "%z",
        "http://",
        "://",
        "[::1",
        "[",
        "a.example:99999/x",
        "\u{0}",
        "ü.ü.",
        "x/%%%/?",
        "?",
        "#",
    ];
    for text in junk {
        let event = Event::from(HttpEvent {
            host: Some(text.into()),
            url: text.into(),
            referrer: Some(text.into()),
            user_agent: Some(text.into()),
            file_name: Some(text.into()),
            forwarded_for: Some(text.into()),
            real_ip: Some(text.into()),
            body: Some(BodyInfo {
                md5: text.into(),
                ..BodyInfo::default()
            }),
            ..HttpEvent::default()
        });
        let _ = hits(&m, &event);
        let _ = hits(
            &m,
            &dns(
                text,
                &[
                    (RecordType::CNAME, text),
                    (RecordType::A, text),
                    (RecordType::MX, text),
                    (RecordType::SRV, text),
                ],
            ),
        );
    }
}

#[test]
fn large_address_sets_use_the_block_filter() {
    let mut b = MatcherBuilder::new();
    for i in 0..5000u32 {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i * 1000);
        b.add(&ind(IndicatorKind::Ipv4, &ip.to_string())).unwrap();
    }
    b.add(&ind(IndicatorKind::Cidr, "192.168.0.0/16")).unwrap();
    b.add(&ind(IndicatorKind::IpRange, "172.16.0.5-172.16.1.4"))
        .unwrap();
    let m = b.build();
    let count = |ip: &str| {
        let mut v = Vec::new();
        m.match_ip(ip.parse().unwrap(), MatchedField::ServerIp, &mut v);
        v.len()
    };
    assert_eq!(count("10.0.3.232"), 1);
    assert_eq!(count("10.0.3.233"), 0);
    assert_eq!(count("192.168.77.1"), 1);
    assert_eq!(count("172.16.1.4"), 1);
    assert_eq!(count("172.16.1.5"), 0);
    assert_eq!(count("172.16.0.4"), 0);
    assert_eq!(count("11.0.0.0"), 0);
}

#[test]
fn url_on_host_with_user_info_matches() {
    // A Host header may carry user information (`u@evil.example`), and
    // the URL of an origin-form target is then on `evil.example`, as
    // `url_key` reads it.
    let m = matcher(
        &[ind(IndicatorKind::Url, "http://evil.example/gate.php")],
        &[],
    );
    for host in ["u@evil.example", "a@b@evil.example"] {
        let event = Event::from(HttpEvent {
            host: Some(host.into()),
            url: "/gate.php".into(),
            path: Some("/gate.php".into()),
            ..HttpEvent::default()
        });
        let found = hits(&m, &event);
        assert_eq!(
            url_fields(&found),
            [(MatchedField::Url, "evil.example/gate.php", "/gate.php")],
            "{host}"
        );
    }
}

#[test]
fn url_on_address_host_matches() {
    let m = matcher(
        &[ind(IndicatorKind::Url, "http://203.0.113.5/gate.php")],
        &[],
    );
    let event = Event::from(HttpEvent {
        host: Some("203.0.113.5".into()),
        url: "http://203.0.113.5/gate.php".into(),
        path: Some("/gate.php".into()),
        ..HttpEvent::default()
    });
    let found = hits(&m, &event);
    assert_eq!(
        url_fields(&found),
        [(
            MatchedField::Url,
            "203.0.113.5/gate.php",
            "http://203.0.113.5/gate.php"
        )]
    );
}
