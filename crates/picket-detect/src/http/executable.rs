//! `http.executable_download`: Windows and ELF executables, scripts, Java
//! archives and archives that may hold executables, fetched from hosts off
//! the software-distribution allowlist.

use picket_event::{Alert, Detector, Event, HttpEvent, IntelHit, MatchedField};
use serde::Deserialize;

use super::classify::{self, FileKind};
use super::table::BoundedMap;
use super::{
    HostSuffixList, Suppressor, as_http, client_label, digest, digest2, round3, secs_to_nanos,
};

/// Settings of `http.executable_download`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutableConfig {
    /// Runs the detector. Default true.
    pub enabled: bool,
    /// Hosts (and their subdomains) that distribute software; downloads from
    /// them do not alert. Default: the update and download hosts of
    /// Microsoft, Google, Mozilla, Apple, Adobe, Oracle Java and the large
    /// Linux distributions.
    pub allowed_hosts: Vec<String>,
    /// A host first seen less than this many seconds before the download
    /// counts as new. Default 3600.
    pub new_host_secs: u64,
    /// Seconds of event time the detector must have watched before it calls
    /// any host new; at the start of a log every host is new. Default 3600.
    pub new_host_warmup_secs: u64,
    /// Hosts whose first sighting is remembered (about 24 bytes each plus the
    /// map's overhead); the least recently seen are forgotten first.
    /// Default 200,000.
    pub max_hosts: usize,
    /// Minimum score to alert, in [0, 1]. Default 0.3.
    #[serde(deserialize_with = "crate::bounds::fraction")]
    pub min_score: f64,
    /// Seconds during which the same client and URL raise one alert. Default 3600.
    pub repeat_suppression_secs: u64,
    /// Entries of the repeat-suppression table. Default 100,000.
    pub max_tracked: usize,
}

impl Default for ExecutableConfig {
    fn default() -> Self {
        ExecutableConfig {
            enabled: true,
            allowed_hosts: default_software_hosts(),
            new_host_secs: 3600,
            new_host_warmup_secs: 3600,
            max_hosts: 200_000,
            min_score: 0.3,
            repeat_suppression_secs: 3600,
            max_tracked: 100_000,
        }
    }
}

/// Hosts of the large software vendors' update and download services.
pub fn default_software_hosts() -> Vec<String> {
    [
        "windowsupdate.com",
        "update.microsoft.com",
        "download.microsoft.com",
        "delivery.mp.microsoft.com",
        "officecdn.microsoft.com",
        "dl.google.com",
        "gvt1.com",
        "download.mozilla.org",
        "download-installer.cdn.mozilla.net",
        "swcdn.apple.com",
        "swdist.apple.com",
        "ardownload.adobe.com",
        "ardownload2.adobe.com",
        "armmf.adobe.com",
        "javadl.oracle.com",
        "javadl-esd-secure.oracle.com",
        "sdlc-esd.oracle.com",
        "javadl.sun.com",
        "deb.debian.org",
        "security.debian.org",
        "archive.ubuntu.com",
        "security.ubuntu.com",
        "dl.fedoraproject.org",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// What an event delivered that can run on the client, and how sure we are.
fn executable_kind(event: &HttpEvent) -> Option<(FileKind, &'static str)> {
    if !classify::delivered(event) {
        return None;
    }
    let runnable = |k: &FileKind| {
        matches!(
            k,
            FileKind::Executable | FileKind::Script | FileKind::JavaArchive | FileKind::Archive
        )
    };
    if let Some(kind) = classify::sniffed_kind(event).filter(runnable) {
        return Some((kind, "body magic"));
    }
    if classify::sniffed_kind(event).is_some() {
        // The body was seen and is something else: trust the bytes.
        return None;
    }
    let declared = classify::declared_kind(event);
    if let Some(kind) = declared.filter(runnable) {
        return Some((kind, "content type"));
    }
    if declared.is_some_and(|d| d.is_page_like()) {
        // An HTML or text response behind an executable name is an error page.
        return None;
    }
    if let Some(kind) = classify::file_name_kind(event).filter(runnable) {
        return Some((kind, "file name"));
    }
    classify::url_kind(event)
        .filter(runnable)
        .map(|kind| (kind, "URL extension"))
}

/// The `http.executable_download` detector.
#[derive(Debug)]
pub struct ExecutableDetector {
    config: ExecutableConfig,
    allowed: HostSuffixList,
    host_first_seen: BoundedMap<u64, i64>,
    started: Option<i64>,
    suppressor: Suppressor,
}

impl ExecutableDetector {
    /// Creates a detector with the given settings.
    pub fn new(config: ExecutableConfig) -> Self {
        ExecutableDetector {
            allowed: HostSuffixList::new(&config.allowed_hosts),
            host_first_seen: BoundedMap::new(config.max_hosts),
            started: None,
            suppressor: Suppressor::new(config.max_tracked, config.repeat_suppression_secs),
            config,
        }
    }

    /// Records the host's first sighting and returns whether it is new.
    fn host_is_new(&mut self, host: &str, now: i64) -> bool {
        let started = *self.started.get_or_insert(now);
        let first = *self
            .host_first_seen
            .entry_or_insert_with(&digest(host), now, || now);
        let watched = now.saturating_sub(started);
        watched >= secs_to_nanos(self.config.new_host_warmup_secs)
            && now.saturating_sub(first) < secs_to_nanos(self.config.new_host_secs)
    }
}

impl Detector for ExecutableDetector {
    fn id(&self) -> &'static str {
        "http.executable_download"
    }

    fn observe(&mut self, event: &Event, hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(http) = as_http(event) else {
            return;
        };
        let now = http.timestamp.as_nanos();
        let host = http.host.as_deref().unwrap_or("");
        let new_host = !host.is_empty() && self.host_is_new(host, now);

        let Some((kind, evidence)) = executable_kind(http) else {
            return;
        };
        if let Some(suffix) = self.allowed.find(host) {
            tracing::trace!(host, suffix, "download from an allowed software host");
            return;
        }

        // Base score by what the file can do, then raised by where it came from.
        let mut score: f64 = match kind {
            FileKind::Executable | FileKind::Script => 0.45,
            FileKind::JavaArchive => 0.4,
            _ => 0.25,
        };
        let mut reasons = vec![format!("{} by {evidence}", kind.name())];
        let bare_ip = classify::host_ip(host).is_some();
        if bare_ip {
            score += 0.25;
            reasons.push("host is a bare IP address".to_owned());
        }
        if new_host {
            score += 0.15;
            reasons.push("host first seen within the new-host period".to_owned());
        }
        let intel: Vec<IntelHit> = hits
            .iter()
            .filter(|h| {
                matches!(
                    h.field,
                    MatchedField::HttpHost
                        | MatchedField::Url
                        | MatchedField::ServerIp
                        | MatchedField::BodyHash
                        | MatchedField::FileName
                )
            })
            .cloned()
            .collect();
        if !intel.is_empty() {
            score += 0.3;
            reasons.push(format!("{} intelligence hit(s)", intel.len()));
        }
        let score = score.min(1.0);
        if score < self.config.min_score {
            return;
        }

        let client = client_label(http);
        if !self.suppressor.allow(digest2(&client, &http.url), now) {
            return;
        }
        let kind_name = kind.name().replace('_', " ");
        let article = if kind_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        let summary = format!(
            "{client} downloaded {article} {kind_name} from {}",
            if host.is_empty() {
                "an unknown host"
            } else {
                host
            }
        );
        let mut alert = Alert::new(self.id(), score, summary, vec![event.clone()])
            .with_detail("kind", kind.name())
            .with_detail("evidence", evidence)
            .with_detail("bare_ip_host", bare_ip)
            .with_detail("new_host", new_host)
            .with_detail("reasons", reasons)
            .with_detail("score", round3(score));
        if let Some(body) = &http.body {
            alert = alert.with_detail("sha256", body.sha256.clone());
        }
        alert.indicators = intel;
        alerts.push(alert);
    }

    fn finish(&mut self, _alerts: &mut Vec<Alert>) {
        tracing::debug!(
            suppressed = self.suppressor.suppressed(),
            hosts_evicted = self.host_first_seen.evicted(),
            "http.executable_download finished"
        );
    }
}

#[cfg(test)]
mod tests {
    use picket_event::{IntelSource, Timestamp};

    use super::*;

    fn download(host: &str, path: &str, content_type: &str, secs: i64) -> Event {
        Event::from(HttpEvent {
            timestamp: Timestamp::from_nanos(secs * super::super::NANOS),
            client_ip: Some("10.0.0.9".parse().unwrap()),
            host: Some(host.into()),
            url: format!("http://{host}{path}"),
            path: Some(path.into()),
            status: Some(200),
            content_type: Some(content_type.into()),
            ..HttpEvent::default()
        })
    }

    fn run(events: &[Event], hits: &[IntelHit]) -> Vec<Alert> {
        let mut detector = ExecutableDetector::new(ExecutableConfig::default());
        let mut alerts = Vec::new();
        for event in events {
            detector.observe(event, hits, &mut alerts);
        }
        alerts
    }

    #[test]
    fn exe_from_bare_ip_scores_high() {
        let alerts = run(
            &[download(
                "198.51.100.7",
                "/a.exe",
                "application/octet-stream",
                0,
            )],
            &[],
        );
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].score >= 0.7, "{}", alerts[0].score);
        assert_eq!(alerts[0].details["bare_ip_host"], true);
    }

    #[test]
    fn allowed_updater_is_silent() {
        let alerts = run(
            &[download(
                "au.download.windowsupdate.com",
                "/x/kb123.exe",
                "application/x-msdownload",
                0,
            )],
            &[],
        );
        assert!(alerts.is_empty());
    }

    #[test]
    fn error_page_behind_exe_name_is_silent() {
        let alerts = run(
            &[download("files.example", "/setup.exe", "text/html", 0)],
            &[],
        );
        assert!(alerts.is_empty());
    }

    #[test]
    fn intel_hit_raises_score() {
        let hit = IntelHit {
            indicator: "files.example".into(),
            kind: "domain".into(),
            field: MatchedField::HttpHost,
            value: "files.example".into(),
            confidence: 80,
            sources: vec![IntelSource::default()],
        };
        let plain = run(
            &[download(
                "files.example",
                "/setup.exe",
                "application/x-msdownload",
                0,
            )],
            &[],
        );
        let with_hit = run(
            &[download(
                "files.example",
                "/setup.exe",
                "application/x-msdownload",
                0,
            )],
            &[hit],
        );
        assert!(with_hit[0].score > plain[0].score);
        assert_eq!(with_hit[0].indicators.len(), 1);
    }

    #[test]
    fn new_host_after_warmup_raises_score() {
        let events = [
            download("old.example", "/page.html", "text/html", 0),
            download("old.example", "/tool.exe", "application/x-msdownload", 7200),
            download(
                "fresh.example",
                "/tool.exe",
                "application/x-msdownload",
                7300,
            ),
        ];
        let alerts = run(&events, &[]);
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].details["new_host"], false);
        assert_eq!(alerts[1].details["new_host"], true);
    }
}
