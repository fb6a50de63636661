//! Alerts: what a detector or the intel matcher found, with its evidence.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{Event, Timestamp};

/// Version of the JSON Lines alert schema. It changes when a field is renamed
/// or removed, or changes meaning; adding a field does not change it.
pub const SCHEMA_VERSION: u32 = 1;

/// How urgent an alert is, from `info` to `critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context for an analyst; no action expected.
    Info,
    /// Worth a look when time allows.
    Low,
    /// Likely malicious; triage today.
    Medium,
    /// Almost certainly malicious; triage now.
    High,
    /// Active compromise with high confidence.
    Critical,
}

impl Severity {
    /// Maps a score in [0, 1] to a severity with fixed cut points
    /// (0.2, 0.4, 0.7, 0.9).
    pub fn from_score(score: f64) -> Self {
        match score {
            s if s >= 0.9 => Severity::Critical,
            s if s >= 0.7 => Severity::High,
            s if s >= 0.4 => Severity::Medium,
            s if s >= 0.2 => Severity::Low,
            _ => Severity::Info,
        }
    }
}

/// One finding, written as one JSON Lines record.
///
/// The JSON form carries `"type": "alert"` and `"schema_version"` so that a
/// reader of a mixed stream can dispatch on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Always `"alert"`.
    #[serde(rename = "type")]
    pub record_type: AlertTag,
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// Stable detector id, such as `intel.match`, `dns.tunnel` or
    /// `http.drive_by_chain`.
    pub detector: String,
    /// Urgency.
    pub severity: Severity,
    /// Detector score in [0, 1]; 1 is the strongest evidence.
    pub score: f64,
    /// Time of the (last) evidence event.
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// The host the alert points at: the client that made the request, query
    /// or connection. `None` when the source had no client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<IpAddr>,
    /// One line saying what was found, for people.
    pub summary: String,
    /// Detector-specific explanation: sub-scores, thresholds crossed, counts.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// Intelligence hits behind the alert (for `intel.match`, exactly one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<IntelHit>,
    /// Evidence events in time order, each with its source location.
    pub events: Vec<Event>,
    /// True when raised by `picket hunt` over stored history rather than
    /// while the events were analysed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retrospective: bool,
}

/// The constant `"alert"` tag of an [`Alert`] record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertTag {
    /// The only value.
    #[default]
    #[serde(rename = "alert")]
    Alert,
}

impl Alert {
    /// Starts an alert from a detector id, a score and its evidence; the host
    /// and timestamp come from the last evidence event.
    pub fn new(detector: &str, score: f64, summary: String, events: Vec<Event>) -> Self {
        let last = events.last();
        let timestamp = last.map(Event::timestamp).unwrap_or(Timestamp::UNIX_EPOCH);
        let host = last.and_then(|e| e.client().ip);
        let score = if score.is_finite() {
            score.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Alert {
            record_type: AlertTag::Alert,
            schema_version: SCHEMA_VERSION,
            detector: detector.to_owned(),
            severity: Severity::from_score(score),
            score,
            timestamp,
            host,
            summary,
            details: serde_json::Map::new(),
            indicators: Vec::new(),
            events,
            retrospective: false,
        }
    }

    /// Adds one explanation field.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// Where in an event an indicator matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MatchedField {
    /// `client.ip`.
    #[serde(rename = "client.ip")]
    ClientIp,
    /// `server.ip`.
    #[serde(rename = "server.ip")]
    ServerIp,
    /// An address in `X-Forwarded-For` or `X-Real-IP`.
    #[serde(rename = "http.request.x_forwarded_for")]
    ForwardedFor,
    /// The HTTP host (`url.domain`).
    #[serde(rename = "url.domain")]
    HttpHost,
    /// The full URL.
    #[serde(rename = "url.original")]
    Url,
    /// The referrer URL or its host.
    #[serde(rename = "http.request.referrer")]
    Referrer,
    /// The user agent.
    #[serde(rename = "user_agent.original")]
    UserAgent,
    /// A file name from the response.
    #[serde(rename = "file.name")]
    FileName,
    /// A hash of the response body.
    #[serde(rename = "http.response.body.hash")]
    BodyHash,
    /// The DNS query name.
    #[serde(rename = "dns.question.name")]
    DnsQuery,
    /// An address or target name in DNS answer data.
    #[serde(rename = "dns.answers.data")]
    DnsAnswer,
    /// The TLS server name.
    #[serde(rename = "tls.client.server_name")]
    TlsSni,
    /// An e-mail address found in the event.
    #[serde(rename = "email.address")]
    Email,
}

impl MatchedField {
    /// Every field, in declaration order.
    pub const ALL: [MatchedField; 13] = [
        MatchedField::ClientIp,
        MatchedField::ServerIp,
        MatchedField::ForwardedFor,
        MatchedField::HttpHost,
        MatchedField::Url,
        MatchedField::Referrer,
        MatchedField::UserAgent,
        MatchedField::FileName,
        MatchedField::BodyHash,
        MatchedField::DnsQuery,
        MatchedField::DnsAnswer,
        MatchedField::TlsSni,
        MatchedField::Email,
    ];

    /// Returns the field's name as JSON output writes it, without building
    /// a JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedField::ClientIp => "client.ip",
            MatchedField::ServerIp => "server.ip",
            MatchedField::ForwardedFor => "http.request.x_forwarded_for",
            MatchedField::HttpHost => "url.domain",
            MatchedField::Url => "url.original",
            MatchedField::Referrer => "http.request.referrer",
            MatchedField::UserAgent => "user_agent.original",
            MatchedField::FileName => "file.name",
            MatchedField::BodyHash => "http.response.body.hash",
            MatchedField::DnsQuery => "dns.question.name",
            MatchedField::DnsAnswer => "dns.answers.data",
            MatchedField::TlsSni => "tls.client.server_name",
            MatchedField::Email => "email.address",
        }
    }
}

/// One indicator that matched one place of an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntelHit {
    /// The indicator as stored (normalised), such as `evil.example` or `10.0.0.0/8`.
    pub indicator: String,
    /// Indicator type: `ipv4`, `ipv6`, `cidr`, `ip_range`, `domain`, `url`,
    /// `email`, `md5`, `sha1`, `sha256`, `user_agent`, `file_name`.
    pub kind: String,
    /// Where in the event it matched.
    pub field: MatchedField,
    /// The event's value that matched (for example `a.b.evil.example` under
    /// the domain indicator `evil.example`).
    pub value: String,
    /// Highest confidence among the sources, 0 to 100.
    pub confidence: u8,
    /// Every source that reported the indicator.
    pub sources: Vec<IntelSource>,
}

/// One source's report of an indicator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntelSource {
    /// Who publishes the feed (`spamhaus`, `abuse.ch`, or a local file path).
    pub provider: String,
    /// Feed name within the provider.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub feed: String,
    /// Confidence 0 to 100.
    pub confidence: u8,
    /// Traffic Light Protocol marking (`clear`, `green`, `amber`,
    /// `amber+strict`, `red`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlp: Option<String>,
    /// Free tags and assessments (`botnet`, `c2`, `phishing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Free text from the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A URL back to the source's record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_match_json() {
        for field in MatchedField::ALL {
            let json = serde_json::to_string(&field).unwrap();
            assert_eq!(json, format!("\"{}\"", field.as_str()));
        }
    }
}
