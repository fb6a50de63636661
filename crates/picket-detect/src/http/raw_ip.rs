//! `http.raw_ip_host`: requests whose Host is a bare IP address, above all
//! POSTs with random-looking paths, the habit of much commodity C2 (Agent
//! Tesla's `/c2sock`, Emotet's `/IEyF/EN3GUkgHakZ3iVe/...`).

use picket_event::{Alert, Detector, Event, IntelHit};
use serde::Deserialize;

use super::classify;
use super::{Suppressor, as_http, client_label, digest2, round3};

/// Settings of `http.raw_ip_host`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIpConfig {
    /// Runs the detector. Default true.
    pub enabled: bool,
    /// Also alerts on private, loopback and link-local addresses, which
    /// intranet services use all the time. Default false.
    pub include_internal: bool,
    /// Minimum score to alert, in [0, 1]. Default 0.3: every request to a
    /// public bare IP alerts once per suppression period; raise it to 0.5 to
    /// see only POSTs and random paths.
    #[serde(deserialize_with = "crate::bounds::fraction")]
    pub min_score: f64,
    /// Seconds during which the same client, server address and method
    /// raise one alert. Default 3600.
    pub repeat_suppression_secs: u64,
    /// Entries of the repeat-suppression table. Default 100,000.
    pub max_tracked: usize,
}

impl Default for RawIpConfig {
    fn default() -> Self {
        RawIpConfig {
            enabled: true,
            include_internal: false,
            min_score: 0.3,
            repeat_suppression_secs: 3600,
            max_tracked: 100_000,
        }
    }
}

/// The `http.raw_ip_host` detector.
#[derive(Debug)]
pub struct RawIpDetector {
    config: RawIpConfig,
    suppressor: Suppressor,
}

impl RawIpDetector {
    /// Creates a detector with the given settings.
    pub fn new(config: RawIpConfig) -> Self {
        RawIpDetector {
            suppressor: Suppressor::new(config.max_tracked, config.repeat_suppression_secs),
            config,
        }
    }
}

impl Detector for RawIpDetector {
    fn id(&self) -> &'static str {
        "http.raw_ip_host"
    }

    fn observe(&mut self, event: &Event, hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(http) = as_http(event) else {
            return;
        };
        let Some(host) = http.host.as_deref() else {
            return;
        };
        if !host
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_digit() || *b == b'[' || *b == b':')
        {
            return;
        }
        let Some(ip) = classify::host_ip(host) else {
            return;
        };
        let internal = classify::is_internal(ip);
        if internal && !self.config.include_internal {
            return;
        }

        // Score the request: the method, the path's shape and what came back.
        let method = http.method.as_deref().unwrap_or("GET");
        let mut score: f64 = 0.3;
        let mut reasons = vec!["host is a bare IP address"];
        if obscured_spelling(host, ip) {
            score += 0.2;
            reasons.push("address spelt as an integer, hex or octal number");
        }
        let post = method.eq_ignore_ascii_case("POST");
        if post {
            score += 0.25;
            reasons.push("POST to a bare IP address");
        }
        let path = classify::event_path(http);
        let random = classify::random_path_reason(path);
        if let Some(reason) = random {
            score += 0.25;
            reasons.push(reason);
        }
        if classify::delivered_kind(http).is_some_and(|k| k.is_payload()) {
            score += 0.15;
            reasons.push("response is binary or executable");
        }
        if http
            .referrer
            .as_deref()
            .is_none_or(|r| r.is_empty() || r == "-")
        {
            score += 0.05;
            reasons.push("no referrer");
        }
        if internal {
            score -= 0.2;
        }
        if !hits.is_empty() {
            score += 0.2;
            reasons.push("intelligence hit");
        }
        let score = score.clamp(0.0, 1.0);
        if score < self.config.min_score {
            return;
        }

        let client = client_label(http);
        let key = digest2(&client, &format!("{ip} {}", method.to_ascii_uppercase()));
        if !self.suppressor.allow(key, http.timestamp.as_nanos()) {
            return;
        }
        let summary = format!("{client} sent {method} {path} to the bare IP address {ip}");
        let mut alert = Alert::new(self.id(), score, summary, vec![event.clone()])
            .with_detail("server", ip.to_string())
            .with_detail("method", method)
            .with_detail("random_path", random.is_some())
            .with_detail("internal", internal)
            .with_detail("reasons", reasons)
            .with_detail("score", round3(score));
        alert.indicators = hits.to_vec();
        alerts.push(alert);
    }

    fn finish(&mut self, _alerts: &mut Vec<Alert>) {
        tracing::debug!(
            suppressed = self.suppressor.suppressed(),
            "http.raw_ip_host finished"
        );
    }
}

/// Tells whether `host` writes `ip` in another form than the usual
/// dotted quad or IPv6 literal, such as `3405803842` or `0xcb.0.0x71.0x42`.
/// Browsers accept these, but ordinary links rarely use them.
fn obscured_spelling(host: &str, ip: std::net::IpAddr) -> bool {
    ip.is_ipv4() && host.strip_suffix('.').unwrap_or(host) != ip.to_string()
}

#[cfg(test)]
mod tests {
    use picket_event::{HttpEvent, Timestamp};

    use super::*;

    fn request(method: &str, host: &str, path: &str) -> Event {
        Event::from(HttpEvent {
            timestamp: Timestamp::from_nanos(0),
            client_ip: Some("192.168.1.108".parse().unwrap()),
            method: Some(method.into()),
            host: Some(host.into()),
            path: Some(path.into()),
            url: format!("http://{host}{path}"),
            ..HttpEvent::default()
        })
    }

    fn run(events: &[Event]) -> Vec<Alert> {
        let mut detector = RawIpDetector::new(RawIpConfig::default());
        let mut alerts = Vec::new();
        for event in events {
            detector.observe(event, &[], &mut alerts);
        }
        alerts
    }

    #[test]
    fn post_with_random_path_scores_high() {
        let alerts = run(&[request(
            "POST",
            "74.120.55.163",
            "/IEyF/EN3GUkgHakZ3iVe/YBqssWlF8iWaHTr/",
        )]);
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].score >= 0.8, "{}", alerts[0].score);
    }

    #[test]
    fn plain_post_alerts() {
        let alerts = run(&[request("POST", "45.9.74.78", "/c2sock")]);
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].score >= 0.5);
    }

    #[test]
    fn integer_and_hex_hosts_are_addresses() {
        for host in ["3405803842", "0xcb.0.0x71.0x42", "0313.0.0161.0102"] {
            let alerts = run(&[request("GET", host, "/x.exe")]);
            assert_eq!(alerts.len(), 1, "{host}");
            assert_eq!(alerts[0].details["server"], "203.0.113.66");
            let reasons = alerts[0].details["reasons"].to_string();
            assert!(reasons.contains("integer, hex or octal"), "{reasons}");
        }
    }

    #[test]
    fn names_and_internal_addresses_are_silent() {
        let alerts = run(&[
            request(
                "POST",
                "example.com",
                "/IEyF/EN3GUkgHakZ3iVe/YBqssWlF8iWaHTr/",
            ),
            request("GET", "10.1.1.1", "/intranet"),
            request("GET", "1up.example", "/"),
        ]);
        assert!(alerts.is_empty());
    }

    #[test]
    fn ipv6_hosts_are_recognised() {
        let alerts = run(&[request("GET", "[2001:db8::5]", "/x")]);
        assert_eq!(alerts.len(), 1);
    }
}
