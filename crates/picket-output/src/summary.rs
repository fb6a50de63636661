//! The run summary: what was read, what was rejected and what was found.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::net::IpAddr;

use picket_event::{Alert, Rejection};
use serde::Serialize;

/// Rejections kept per input as examples; the rest are only counted.
pub const REJECTION_SAMPLES: usize = 5;

/// Hosts listed in the "top hosts" part of the summary.
pub const TOP_HOSTS: usize = 10;

/// Counts for one input.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InputSummary {
    /// Path as given.
    pub path: String,
    /// Format name (`squid`, `pcap`, ...).
    pub format: String,
    /// Records read (lines or packets).
    pub records: u64,
    /// Events produced.
    pub events: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Comment, header and blank lines skipped on purpose.
    pub skipped: u64,
    /// Events skipped because an earlier run already stored them.
    pub already_stored: u64,
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// The first rejections, with location and reason.
    pub rejection_samples: Vec<RejectionSample>,
    /// Set when the input could not be read at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One rejected record, as shown in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct RejectionSample {
    /// `path:line` or `path#packet`.
    pub location: String,
    /// The reason for the rejection.
    pub reason: String,
}

impl InputSummary {
    /// Counts a rejection and keeps it as an example while there is room.
    pub fn record_rejection(&mut self, rejection: &Rejection) {
        self.rejected += 1;
        if self.rejection_samples.len() < REJECTION_SAMPLES {
            self.rejection_samples.push(RejectionSample {
                location: rejection.location.to_string(),
                reason: rejection.reason.to_string(),
            });
        }
    }
}

/// The whole run's summary, printed at the end of `picket analyze`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunSummary {
    /// Always `"summary"`.
    #[serde(rename = "type")]
    pub record_type: &'static str,
    /// Schema version of the JSON form (the alert schema's).
    pub schema_version: u32,
    /// Per-input counts, in reading order.
    pub inputs: Vec<InputSummary>,
    /// Alerts per detector id.
    pub alerts_by_detector: BTreeMap<String, u64>,
    /// Alerts per host, for the top-hosts table.
    #[serde(skip)]
    host_counts: HashMap<IpAddr, u64>,
    /// The hosts with the most alerts, most first.
    pub top_hosts: Vec<HostCount>,
    /// Indicators loaded into the matcher.
    pub indicators: u64,
    /// The store file, when one was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Wall-clock seconds the run took.
    pub elapsed_seconds: f64,
}

/// A host and its alert count.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HostCount {
    /// The host's address.
    pub host: IpAddr,
    /// Alerts pointing at it.
    pub alerts: u64,
}

impl RunSummary {
    /// An empty summary.
    pub fn new() -> Self {
        RunSummary {
            record_type: "summary",
            schema_version: picket_event::alert::SCHEMA_VERSION,
            ..RunSummary::default()
        }
    }

    /// Counts one alert by detector and host.
    pub fn record_alert(&mut self, alert: &Alert) {
        *self
            .alerts_by_detector
            .entry(alert.detector.clone())
            .or_default() += 1;
        if let Some(host) = alert.host {
            *self.host_counts.entry(host).or_default() += 1;
        }
    }

    /// Adds another summary's alert counts (by detector and by host) to this one.
    pub fn add_alert_counts(&mut self, other: &RunSummary) {
        for (detector, count) in &other.alerts_by_detector {
            *self.alerts_by_detector.entry(detector.clone()).or_default() += count;
        }
        for (host, count) in &other.host_counts {
            *self.host_counts.entry(*host).or_default() += count;
        }
    }

    /// Total alerts.
    pub fn alert_total(&self) -> u64 {
        self.alerts_by_detector.values().sum()
    }

    /// Fills `top_hosts` from the counts; call once before printing.
    pub fn rank_hosts(&mut self) {
        let mut hosts: Vec<HostCount> = self
            .host_counts
            .iter()
            .map(|(host, alerts)| HostCount {
                host: *host,
                alerts: *alerts,
            })
            .collect();
        hosts.sort_by(|a, b| b.alerts.cmp(&a.alerts).then(a.host.cmp(&b.host)));
        hosts.truncate(TOP_HOSTS);
        self.top_hosts = hosts;
    }

    /// Renders the summary as readable text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let events: u64 = self.inputs.iter().map(|i| i.events).sum();
        let rejected: u64 = self.inputs.iter().map(|i| i.rejected).sum();
        let _ = writeln!(
            out,
            "picket analyze: {} input(s), {events} events, {rejected} rejected, {} alerts, {} indicators, {:.2}s",
            self.inputs.len(),
            self.alert_total(),
            self.indicators,
            self.elapsed_seconds
        );

        let _ = writeln!(out, "\nInputs:");
        for input in &self.inputs {
            let _ = write!(
                out,
                "  {} [{}]: {} events, {} rejected, {} skipped",
                input.path, input.format, input.events, input.rejected, input.skipped
            );
            if input.already_stored > 0 {
                let _ = write!(out, ", {} already in the store", input.already_stored);
            }
            let _ = writeln!(out);
            if let Some(error) = &input.error {
                let _ = writeln!(out, "    error: {error}");
            }
            for sample in &input.rejection_samples {
                let _ = writeln!(out, "    rejected {}: {}", sample.location, sample.reason);
            }
            if input.rejected > input.rejection_samples.len() as u64 {
                let more = input.rejected - input.rejection_samples.len() as u64;
                let _ = writeln!(out, "    ... and {more} more rejected");
            }
        }

        let _ = writeln!(out, "\nAlerts by detector:");
        if self.alerts_by_detector.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for (detector, count) in &self.alerts_by_detector {
            let _ = writeln!(out, "  {detector:<28} {count}");
        }

        if !self.top_hosts.is_empty() {
            let _ = writeln!(out, "\nTop hosts by alerts:");
            for host in &self.top_hosts {
                let _ = writeln!(out, "  {:<40} {}", host.host.to_string(), host.alerts);
            }
        }
        if let Some(store) = &self.store {
            let _ = writeln!(out, "\nStore: {store}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_event::{Event, HttpEvent, SourceLocation};

    fn alert_for(host: &str, detector: &str) -> Alert {
        let event = Event::from(HttpEvent {
            client_ip: Some(host.parse().unwrap()),
            ..HttpEvent::default()
        });
        Alert::new(detector, 0.5, "x".into(), vec![event])
    }

    #[test]
    fn hosts_ranked_by_alerts() {
        let mut summary = RunSummary::new();
        summary.record_alert(&alert_for("10.0.0.1", "a"));
        summary.record_alert(&alert_for("10.0.0.2", "a"));
        summary.record_alert(&alert_for("10.0.0.2", "b"));
        summary.rank_hosts();
        assert_eq!(summary.top_hosts[0].host.to_string(), "10.0.0.2");
        assert_eq!(summary.top_hosts[0].alerts, 2);
        assert_eq!(summary.alert_total(), 3);
        assert_eq!(summary.alerts_by_detector["a"], 2);
    }

    #[test]
    fn rejections_sampled_and_counted() {
        let mut input = InputSummary::default();
        for line in 1..=8 {
            let rejection = Rejection::new(
                SourceLocation::line("a.log".into(), line, 0),
                "bad timestamp",
            );
            input.record_rejection(&rejection);
        }
        assert_eq!(input.rejected, 8);
        assert_eq!(input.rejection_samples.len(), REJECTION_SAMPLES);
        assert_eq!(input.rejection_samples[0].location, "a.log:1");

        let mut summary = RunSummary::new();
        summary.inputs.push(input);
        let text = summary.to_text();
        assert!(text.contains("rejected a.log:1: bad timestamp"));
        assert!(text.contains("and 3 more rejected"));
    }
}
