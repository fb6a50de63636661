//! Fuzzes the matcher's handling of event values: arbitrary host names,
//! URLs, referrers, user agents, file names, addresses and DNS answer data
//! must give hits or none, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use picket_event::{DnsEvent, Event, HttpEvent, RecordType, ResourceRecord};
use picket_intel::{Indicator, IndicatorKind};
use picket_match::{Matcher, MatcherBuilder};

fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let mut b = MatcherBuilder::new();
        let wide = |kind, value: &str| Indicator {
            kind,
            value: value.into(),
            include_subdomains: true,
            match_substring: true,
            sightings: Vec::new(),
        };
        for (kind, value) in [
            (IndicatorKind::Domain, "a.example"),
            (IndicatorKind::Url, "a.example/x/"),
            (IndicatorKind::Cidr, "10.0.0.0/8"),
            (IndicatorKind::Cidr, "2001:db8::/32"),
            (IndicatorKind::UserAgent, "bot"),
            (IndicatorKind::FileName, "x.exe"),
            (IndicatorKind::Email, "a@a.example"),
        ] {
            let _ = b.add(&wide(kind, value));
        }
        let _ = b.allow(&wide(IndicatorKind::Domain, "ok.a.example"));
        b.build()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\n');
    let mut next = || parts.next().unwrap_or("").to_owned();
    let (host, url, referrer, agent, name, xff, answer) =
        (next(), next(), next(), next(), next(), next(), next());
    let m = matcher();
    let mut hits = Vec::new();
    m.match_event(
        &Event::from(HttpEvent {
            host: Some(host.clone()),
            url: url.clone(),
            referrer: Some(referrer),
            user_agent: Some(agent),
            file_name: Some(name),
            user_name: Some(url.clone()),
            forwarded_for: Some(xff),
            ..HttpEvent::default()
        }),
        &mut hits,
    );
    for rtype in [
        RecordType::A,
        RecordType::CNAME,
        RecordType::MX,
        RecordType::SRV,
    ] {
        m.match_event(
            &Event::Dns(DnsEvent {
                query_name: host.clone(),
                answers: vec![ResourceRecord {
                    name: host.clone(),
                    rtype,
                    class: 1,
                    ttl: 0,
                    data: answer.clone(),
                }],
                ..DnsEvent::default()
            }),
            &mut hits,
        );
    }
    let _ = picket_match::normalize::url_key(&url, Some(&host));
});
