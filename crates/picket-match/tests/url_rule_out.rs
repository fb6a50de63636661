//! The URL hits of `match_event` equal those of `match_url` on the event's
//! URL, and its file name hits equal those of `match_file_name` on the last
//! segment of the path or URL. This is true whatever shortcut rules a URL
//! out on its host first. The hosts are names, addresses in any spelling
//! and IPv6 literals, with upper case, user information, ports and white
//! space around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use picket_event::{Event, HttpEvent, IntelHit, MatchedField};
use picket_intel::{Indicator, IndicatorKind, Sighting};
use picket_match::{Matcher, MatcherBuilder, normalize};

fn url_indicator(value: &str, prefix: bool) -> Indicator {
    Indicator {
        kind: IndicatorKind::Url,
        value: value.into(),
        include_subdomains: false,
        match_substring: prefix,
        sightings: vec![Sighting::default()],
    }
}

/// Hosts as events may carry them: each of the listed hosts in several
/// spellings, and hosts with no URL indicator.
const HOSTS: &[&str] = &[
    "evil.example",
    "EVIL.example",
    "evil.example.",
    "203.0.113.5",
    "3405803781",
    "0xcb.0.0x71.5",
    "[2001:db8::5]",
    "2001:db8::5",
    "bücher.example",
    "xn--bcher-kva.example",
    "u@evil.example",
    " evil.example",
    "evil.example ",
    "evil.example:8080",
    "evil.example:80",
    "other.example",
    "203.0.113.6",
    "",
];

/// URL forms around a host `{h}`.
const FORMS: &[&str] = &[
    "http://{h}/gate.php",
    "https://{h}/gate.php?x=1",
    "HTTP://{h}/dir/a.exe",
    "http://{h}:80/dir/",
    "http://{h}:443/gate.php#f",
    "http://{h}:8080/gate.php",
    "http://u@{h}/gate.php",
    "/gate.php",
    "/dir/b.bin?q",
    "{h}/gate.php",
    " /gate.php",
    "//{h}/gate.php",
    "{h}:443",
    "{h}",
    "{h}?q",
    "http://{h}#f",
];

fn matcher() -> Matcher {
    let mut builder = MatcherBuilder::new();
    for host in [
        "evil.example",
        "203.0.113.5",
        "[2001:db8::5]",
        "bücher.example",
        "evil.example:8080",
    ] {
        builder
            .add(&url_indicator(&format!("http://{host}/gate.php"), false))
            .unwrap();
        builder
            .add(&url_indicator(&format!("http://{host}/dir/"), true))
            .unwrap();
    }
    for name in ["gate.php", "a.exe", "b.bin"] {
        let file = Indicator {
            kind: IndicatorKind::FileName,
            ..url_indicator(name, false)
        };
        builder.add(&file).unwrap();
    }
    builder.build()
}

fn url_hits(hits: &[IntelHit]) -> Vec<&IntelHit> {
    hits.iter()
        .filter(|h| h.field == MatchedField::Url)
        .collect()
}

/// Builds the event of a URL on `host`, with the path cut from the URL as a
/// proxy log records it (none for a URL without one).
fn event(host: &str, url: &str) -> Event {
    let path = url
        .find(['/', '?'])
        .map(|i| url[i..].split(['?', '#']).next().unwrap_or("").to_owned())
        .filter(|p| !p.is_empty());
    Event::from(HttpEvent {
        host: (!host.is_empty()).then(|| host.to_owned()),
        url: url.to_owned(),
        path,
        ..HttpEvent::default()
    })
}

/// Calls `check` with every host of [`HOSTS`] and every URL of [`FORMS`]
/// on every host, and the event that carries both.
fn each_case(mut check: impl FnMut(&str, &str, &Event)) {
    for host in HOSTS {
        for form in FORMS {
            for url_host in HOSTS {
                let url = form.replace("{h}", url_host);
                check(host, &url, &event(host, &url));
            }
        }
    }
}

#[test]
fn file_name_hits_equal_match_file_name() {
    let m = matcher();
    let mut checked_hits = 0;
    each_case(|host, url, event| {
        let Event::Http(http) = event else {
            unreachable!()
        };

        // The file name is the path's last segment, or with no path the
        // last segment of the URL's matching key.
        let default_host = (!host.is_empty()).then_some(host);
        let key = normalize::url_key(url, default_host);
        let name = match (&http.path, &key) {
            (Some(path), _) => normalize::last_path_segment(path),
            (None, Some(key)) => key
                .find('/')
                .and_then(|i| normalize::last_path_segment(&key[i..])),
            (None, None) => None,
        };
        let mut want = Vec::new();
        if let Some(name) = name {
            m.match_file_name(name, &mut want);
        }

        let mut hits = Vec::new();
        m.match_event(event, &mut hits);
        hits.retain(|h| h.field == MatchedField::FileName);
        assert_eq!(hits, want, "{url:?} on host {host:?}");
        checked_hits += want.len();
    });
    assert!(
        checked_hits > 100,
        "only {checked_hits} file name hits checked"
    );
}

#[test]
fn event_url_hits_equal_match_url() {
    let m = matcher();
    let mut checked_hits = 0;
    each_case(|host, url, event| {
        let mut hits = Vec::new();
        m.match_event(event, &mut hits);
        let mut want = Vec::new();
        let default_host = (!host.is_empty()).then_some(host);
        m.match_url(url, default_host, MatchedField::Url, &mut want);
        let want: Vec<&IntelHit> = want.iter().collect();
        assert_eq!(url_hits(&hits), want, "{url:?} on host {host:?}");
        checked_hits += want.len();
    });
    assert!(checked_hits > 100, "only {checked_hits} URL hits checked");
}

#[test]
fn url_hits_on_hosts_with_a_slash() {
    // Each build hashes with another random seed, so a filter false
    // positive is unlikely to hide a miss in all eight.
    for _ in 0..8 {
        let mut builder = MatcherBuilder::new();
        builder
            .add(&url_indicator("http://evil.example/dl/", true))
            .unwrap();
        let m = builder.build();
        for (host, url) in [
            ("evil.example/dl", "/x.exe"),
            ("/@evil.example/dl", "http:///@evil.example/dl/x.exe"),
        ] {
            let event = event(host, url);
            let mut hits = Vec::new();
            m.match_event(&event, &mut hits);
            let mut want = Vec::new();
            m.match_url(url, Some(host), MatchedField::Url, &mut want);

            assert_eq!(want.len(), 1, "{url:?} on host {host:?}");
            assert_eq!(url_hits(&hits), vec![&want[0]], "{url:?} on host {host:?}");
        }
    }
}
