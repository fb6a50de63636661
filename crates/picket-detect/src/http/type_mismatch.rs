//! `http.type_mismatch`: the URL's extension, the declared content type and
//! the sniffed body magic disagree, the way a payload poses as a page or a
//! picture (`/news.html` delivering a PE executable).

use picket_event::{Alert, Detector, Event, HttpEvent, IntelHit};
use serde::Deserialize;

use super::classify::{self, FileKind};
use super::{Suppressor, as_http, client_label, digest2, round3};

/// Settings of `http.type_mismatch`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TypeMismatchConfig {
    /// Runs the detector. Default true.
    pub enabled: bool,
    /// Seconds during which the same client, host and path raise one alert.
    /// Default 3600.
    pub repeat_suppression_secs: u64,
    /// Entries of the repeat-suppression table (16 bytes each plus the map's
    /// overhead). Default 100,000.
    pub max_tracked: usize,
}

impl Default for TypeMismatchConfig {
    fn default() -> Self {
        TypeMismatchConfig {
            enabled: true,
            repeat_suppression_secs: 3600,
            max_tracked: 100_000,
        }
    }
}

/// One disagreement between what a transaction claims and what it carries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mismatch {
    /// Kind the URL extension claims.
    pub url: Option<FileKind>,
    /// Kind the content type declares.
    pub declared: Option<FileKind>,
    /// Kind sniffed from the body.
    pub sniffed: Option<FileKind>,
    /// Strength of the evidence in [0, 1].
    pub score: f64,
    /// The claims that disagree, for people.
    pub reason: &'static str,
}

/// Compares an event's URL extension, declared type and sniffed magic.
///
/// Only a delivered (2xx or unlogged status) response with binary or
/// executable content can mismatch: an HTML error page behind an `.exe`
/// URL is ordinary. Dynamic pages (`.php`, `.asp`) serving octet-streams
/// are download scripts as often as payload drops, so they score lower
/// than static names (`.html`, `.jpg`).
pub fn find_mismatch(event: &HttpEvent) -> Option<Mismatch> {
    if !classify::delivered(event) {
        return None;
    }
    let declared = classify::declared_kind(event);
    let sniffed = classify::sniffed_kind(event);
    let binary = |k: FileKind| k.is_payload() || k.is_exploit_carrier();
    if !sniffed.is_some_and(binary) && !declared.is_some_and(binary) {
        // Nothing binary was delivered, so nothing can pose as a page.
        return None;
    }
    let path = classify::event_path(event);
    let ext = classify::path_extension(path);
    let url = ext.and_then(classify::kind_of_extension);
    let dynamic = ext.is_some_and(is_dynamic_page_extension);

    let build = |score: f64, reason| Mismatch {
        url,
        declared,
        sniffed,
        score,
        reason,
    };

    // Sniffed magic is the strongest evidence: it is what the bytes are.
    if let Some(real) = sniffed.filter(|k| k.is_payload() || k.is_exploit_carrier()) {
        if let Some(claimed) = declared.filter(|d| *d != real && *d != FileKind::OpaqueBinary) {
            let score = if claimed.is_page_like() { 0.9 } else { 0.7 };
            return Some(build(
                score,
                "body magic contradicts the declared content type",
            ));
        }
        if url.is_some_and(|u| u != real && u.is_page_like()) {
            let score = if dynamic { 0.6 } else { 0.85 };
            return Some(build(score, "body magic contradicts the URL's extension"));
        }
        return None;
    }

    // Without a body: a page-like URL declared as a binary type.
    let claimed = url.filter(|u| u.is_page_like())?;
    let delivered = declared.filter(|d| d.is_payload() || d.is_exploit_carrier())?;
    if claimed == FileKind::Html && delivered == FileKind::Pdf && dynamic {
        // Report generators and document viewers serve PDFs from scripts.
        return None;
    }
    let mut score: f64 = match delivered {
        FileKind::Executable | FileKind::Script | FileKind::JavaArchive => 0.75,
        FileKind::OpaqueBinary | FileKind::Archive => 0.6,
        _ => 0.5,
    };
    if dynamic {
        score -= 0.2;
    }
    Some(build(
        score,
        "declared content type contradicts the URL's extension",
    ))
}

/// Server-side script extensions, whose responses can be anything.
fn is_dynamic_page_extension(ext: &str) -> bool {
    ["php", "asp", "aspx", "jsp", "cfm", "cgi", "pl"]
        .iter()
        .any(|d| d.eq_ignore_ascii_case(ext))
}

/// The `http.type_mismatch` detector.
#[derive(Debug)]
pub struct TypeMismatchDetector {
    suppressor: Suppressor,
}

impl TypeMismatchDetector {
    /// Creates a detector with the given settings.
    pub fn new(config: TypeMismatchConfig) -> Self {
        TypeMismatchDetector {
            suppressor: Suppressor::new(config.max_tracked, config.repeat_suppression_secs),
        }
    }
}

impl Detector for TypeMismatchDetector {
    fn id(&self) -> &'static str {
        "http.type_mismatch"
    }

    fn observe(&mut self, event: &Event, hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(http) = as_http(event) else {
            return;
        };
        if http.content_type.is_none() && http.body.is_none() {
            return;
        }
        let Some(found) = find_mismatch(http) else {
            return;
        };

        let client = client_label(http);
        let host = http.host.as_deref().unwrap_or("-");
        let key = digest2(&client, &http.url);
        if !self.suppressor.allow(key, http.timestamp.as_nanos()) {
            return;
        }

        let name = |k: Option<FileKind>| k.map_or("unknown", FileKind::name);
        let summary = format!(
            "{client} received {} content from {host} under a URL that claims {}",
            name(found.sniffed.or(found.declared)),
            name(found.url.or(found.declared)),
        );
        let mut alert = Alert::new(self.id(), found.score, summary, vec![event.clone()])
            .with_detail("reason", found.reason)
            .with_detail("url_kind", name(found.url))
            .with_detail("declared_kind", name(found.declared))
            .with_detail("sniffed_kind", name(found.sniffed))
            .with_detail(
                "content_type",
                http.content_type.clone().unwrap_or_default(),
            )
            .with_detail("score", round3(found.score));
        alert.indicators = hits.to_vec();
        alerts.push(alert);
    }

    fn finish(&mut self, _alerts: &mut Vec<Alert>) {
        tracing::debug!(
            suppressed = self.suppressor.suppressed(),
            "http.type_mismatch finished"
        );
    }
}

#[cfg(test)]
mod tests {
    use picket_event::{BodyInfo, Timestamp};

    use super::*;

    fn response(path: &str, content_type: &str, sniffed: Option<&str>) -> HttpEvent {
        HttpEvent {
            timestamp: Timestamp::from_nanos(0),
            client_ip: Some("10.0.0.5".parse().unwrap()),
            host: Some("example.net".into()),
            url: format!("http://example.net{path}"),
            path: Some(path.into()),
            status: Some(200),
            content_type: Some(content_type.into()),
            body: sniffed.map(|s| BodyInfo {
                sniffed_type: Some(s.into()),
                ..BodyInfo::default()
            }),
            ..HttpEvent::default()
        }
    }

    #[test]
    fn html_url_with_pe_body_mismatches() {
        let found = find_mismatch(&response("/index.html", "text/html", Some("pe"))).unwrap();
        assert!(found.score >= 0.85);
    }

    #[test]
    fn jpg_url_with_octet_stream_mismatches() {
        let found =
            find_mismatch(&response("/logo.jpg", "application/octet-stream", None)).unwrap();
        assert_eq!(found.url, Some(FileKind::Image));
        assert_eq!(found.declared, Some(FileKind::OpaqueBinary));
    }

    #[test]
    fn consistent_responses_do_not_mismatch() {
        assert!(
            find_mismatch(&response(
                "/setup.exe",
                "application/x-msdownload",
                Some("pe")
            ))
            .is_none()
        );
        assert!(find_mismatch(&response("/index.html", "text/html", Some("html"))).is_none());
        assert!(find_mismatch(&response("/get", "application/octet-stream", None)).is_none());
        assert!(find_mismatch(&response("/report.php", "application/pdf", None)).is_none());
    }

    #[test]
    fn error_pages_do_not_mismatch() {
        let mut event = response("/logo.jpg", "application/octet-stream", None);
        event.status = Some(404);
        assert!(find_mismatch(&event).is_none());
    }

    #[test]
    fn dynamic_pages_score_lower() {
        let static_page =
            find_mismatch(&response("/a.html", "application/octet-stream", None)).unwrap();
        let script = find_mismatch(&response("/a.php", "application/octet-stream", None)).unwrap();
        assert!(script.score < static_page.score);
    }

    #[test]
    fn repeats_are_suppressed() {
        let mut detector = TypeMismatchDetector::new(TypeMismatchConfig::default());
        let event = Event::from(response("/a.html", "application/x-msdownload", None));
        let mut alerts = Vec::new();
        detector.observe(&event, &[], &mut alerts);
        detector.observe(&event, &[], &mut alerts);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].detector, "http.type_mismatch");
        assert_eq!(alerts[0].details["declared_kind"], "executable");
    }
}
