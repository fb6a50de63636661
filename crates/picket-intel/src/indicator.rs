//! The indicator model: one observable value and every source that reported it.

use serde::{Deserialize, Serialize};

use picket_event::{IntelSource, Severity, Timestamp};

/// What kind of observable an indicator is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// One IPv4 address.
    Ipv4,
    /// One IPv6 address.
    Ipv6,
    /// An IPv4 or IPv6 network in CIDR notation.
    Cidr,
    /// An inclusive range of addresses, `first-last`.
    IpRange,
    /// A DNS name; see [`Indicator::include_subdomains`].
    Domain,
    /// A normalised URL, or a host-and-path prefix.
    Url,
    /// An e-mail address.
    Email,
    /// An MD5 digest, lower-case hex.
    Md5,
    /// A SHA-1 digest, lower-case hex.
    Sha1,
    /// A SHA-256 digest, lower-case hex.
    Sha256,
    /// An HTTP user agent; see [`Indicator::match_substring`].
    UserAgent,
    /// A file name.
    FileName,
}

impl IndicatorKind {
    /// The stable lower-case name used in JSON, the store and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ipv4 => "ipv4",
            IndicatorKind::Ipv6 => "ipv6",
            IndicatorKind::Cidr => "cidr",
            IndicatorKind::IpRange => "ip_range",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::Email => "email",
            IndicatorKind::Md5 => "md5",
            IndicatorKind::Sha1 => "sha1",
            IndicatorKind::Sha256 => "sha256",
            IndicatorKind::UserAgent => "user_agent",
            IndicatorKind::FileName => "file_name",
        }
    }
}

/// One observable value with every sighting of it.
///
/// The same value from several feeds is one indicator with several sightings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// What kind of observable `value` is.
    pub kind: IndicatorKind,
    /// The value in normalised form (lower-case domain without trailing dot,
    /// canonical address or network, normalised URL, lower-case hex digest).
    pub value: String,
    /// For domains: the indicator also covers every name below it.
    #[serde(default)]
    pub include_subdomains: bool,
    /// For user agents and URLs: the value matches as a substring (user agent)
    /// or as a host-and-path prefix (URL) instead of exactly.
    #[serde(default)]
    pub match_substring: bool,
    /// Every source's report of this value.
    pub sightings: Vec<Sighting>,
}

/// One source's report of an indicator, with its own times and trust.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    /// Provider, feed, confidence, TLP, tags, description and reference.
    #[serde(flatten)]
    pub source: IntelSource,
    /// Severity the source gave, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// When the source first reported the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Timestamp>,
    /// When the source last reported the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    /// When the source's report was made or the feed was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<Timestamp>,
    /// Explicit end of validity from the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

impl Indicator {
    /// The highest confidence among the sightings, 0 when there are none.
    pub fn confidence(&self) -> u8 {
        self.sightings
            .iter()
            .map(|s| s.source.confidence)
            .max()
            .unwrap_or(0)
    }

    /// The sources of every sighting, for alerts.
    pub fn sources(&self) -> Vec<IntelSource> {
        self.sightings.iter().map(|s| s.source.clone()).collect()
    }
}
