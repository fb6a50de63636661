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
    /// A DNS name. See [`Indicator::include_subdomains`].
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
    /// An HTTP user agent. See [`Indicator::match_substring`].
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
    /// The source's assessment of the value (`botnet`, `c2`, `phishing`,
    /// `scanner`, `malware`, `exploit-kit`, `sinkhole`, `whitelist`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<String>,
}

impl Sighting {
    /// The time this report was last confirmed: `last_seen`, else
    /// `reported_at`, else `first_seen`.
    pub fn seen(&self) -> Option<Timestamp> {
        self.last_seen.or(self.reported_at).or(self.first_seen)
    }

    /// Folds a later report of the same source into this one: tags are
    /// united, first seen is the earliest, last seen and validity the latest.
    pub fn merge(&mut self, other: &Sighting) {
        for tag in &other.source.tags {
            if !self.source.tags.contains(tag) {
                self.source.tags.push(tag.clone());
            }
        }
        self.source.confidence = self.source.confidence.max(other.source.confidence);
        self.first_seen = min_opt(self.first_seen, other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.reported_at = self.reported_at.max(other.reported_at);
        self.valid_until = self.valid_until.max(other.valid_until);
        self.severity = self.severity.max(other.severity);
        if self.source.description.is_none() {
            self.source
                .description
                .clone_from(&other.source.description);
        }
        if self.source.reference.is_none() {
            self.source.reference.clone_from(&other.source.reference);
        }
        if self.assessment.is_none() {
            self.assessment.clone_from(&other.assessment);
        }
        if self.source.tlp.is_none() {
            self.source.tlp.clone_from(&other.source.tlp);
        }
    }
}

fn min_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Traffic Light Protocol 2.0 marking; `white` (TLP 1.0) reads as `clear`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tlp {
    /// May be shared freely (`TLP:CLEAR`, formerly `TLP:WHITE`).
    #[serde(rename = "clear", alias = "white")]
    Clear,
    /// Community-wide sharing.
    #[serde(rename = "green")]
    Green,
    /// Need-to-know within the recipient's organisation and its clients.
    #[serde(rename = "amber")]
    Amber,
    /// Need-to-know within the recipient's organisation only.
    #[serde(rename = "amber+strict")]
    AmberStrict,
    /// Named recipients only.
    #[serde(rename = "red")]
    Red,
}

impl Tlp {
    /// Reads `clear`, `white`, `green`, `amber`, `amber+strict`, `red`, with
    /// or without a `tlp:` prefix, in any case.
    pub fn parse(text: &str) -> Option<Tlp> {
        let lower = text.trim().to_ascii_lowercase();
        let name = lower.strip_prefix("tlp:").unwrap_or(&lower).trim();
        match name {
            "clear" | "white" => Some(Tlp::Clear),
            "green" => Some(Tlp::Green),
            "amber" => Some(Tlp::Amber),
            "amber+strict" | "amber-strict" | "amber_strict" => Some(Tlp::AmberStrict),
            "red" => Some(Tlp::Red),
            _ => None,
        }
    }

    /// The lower-case TLP 2.0 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }
}

impl std::str::FromStr for IndicatorKind {
    type Err = UnknownKind;

    /// Reads the names of [`IndicatorKind::as_str`], plus the common
    /// aliases `ip`, `ipv4-addr`, `ipv6-addr`, `domain-name`, `hostname`,
    /// `sha-1`, `sha-256`, `email-addr`, `filename`, `ua`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // A feed's kind column nearly always contains a name as written below,
        // which is then read without building a lower-case copy.
        if let Some(kind) = IndicatorKind::from_name(text) {
            return Ok(kind);
        }
        let folded = text.trim().to_ascii_lowercase().replace('-', "_");
        IndicatorKind::from_name(&folded)
            .ok_or_else(|| UnknownKind(text.chars().take(64).collect()))
    }
}

impl IndicatorKind {
    /// Reads a lower-case name or alias with `_` between words.
    fn from_name(name: &str) -> Option<Self> {
        let kind = match name {
            "ipv4" | "ip" | "ipv4_addr" | "ip_src" | "ip_dst" => IndicatorKind::Ipv4,
            "ipv6" | "ipv6_addr" => IndicatorKind::Ipv6,
            "cidr" | "net" | "network" | "subnet" => IndicatorKind::Cidr,
            "ip_range" | "range" | "iprange" => IndicatorKind::IpRange,
            "domain" | "domain_name" | "hostname" | "host" | "fqdn" => IndicatorKind::Domain,
            "url" | "uri" => IndicatorKind::Url,
            "email" | "email_addr" | "email_src" | "email_dst" => IndicatorKind::Email,
            "md5" => IndicatorKind::Md5,
            "sha1" | "sha_1" => IndicatorKind::Sha1,
            "sha256" | "sha_256" => IndicatorKind::Sha256,
            "user_agent" | "useragent" | "ua" => IndicatorKind::UserAgent,
            "file_name" | "filename" => IndicatorKind::FileName,
            _ => return None,
        };
        Some(kind)
    }
}

/// An indicator type name that picket does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown indicator type {0:?}")]
pub struct UnknownKind(pub String);

impl IndicatorKind {
    /// Every kind, in declaration order.
    pub const ALL: [IndicatorKind; 12] = [
        IndicatorKind::Ipv4,
        IndicatorKind::Ipv6,
        IndicatorKind::Cidr,
        IndicatorKind::IpRange,
        IndicatorKind::Domain,
        IndicatorKind::Url,
        IndicatorKind::Email,
        IndicatorKind::Md5,
        IndicatorKind::Sha1,
        IndicatorKind::Sha256,
        IndicatorKind::UserAgent,
        IndicatorKind::FileName,
    ];

    /// True for addresses, networks and ranges.
    pub fn is_ip(self) -> bool {
        matches!(
            self,
            IndicatorKind::Ipv4
                | IndicatorKind::Ipv6
                | IndicatorKind::Cidr
                | IndicatorKind::IpRange
        )
    }

    /// The single-address kind of `ip`.
    pub fn from_ip(ip: std::net::IpAddr) -> Self {
        if ip.is_ipv4() {
            IndicatorKind::Ipv4
        } else {
            IndicatorKind::Ipv6
        }
    }

    /// True for MD5, SHA-1 and SHA-256.
    pub fn is_hash(self) -> bool {
        matches!(
            self,
            IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256
        )
    }
}

impl std::fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Indicator {
    /// An indicator from a normalised observable and its first sighting.
    pub fn new(observable: crate::Observable, sighting: Sighting) -> Self {
        Indicator {
            kind: observable.kind,
            value: observable.value,
            include_subdomains: observable.include_subdomains,
            match_substring: false,
            sightings: vec![sighting],
        }
    }

    /// Adds a sighting, folding it into an earlier one of the same provider
    /// and feed.
    pub fn add_sighting(&mut self, sighting: Sighting) {
        let same = self.sightings.iter_mut().find(|s| {
            s.source.provider == sighting.source.provider && s.source.feed == sighting.source.feed
        });
        match same {
            Some(existing) => existing.merge(&sighting),
            None => self.sightings.push(sighting),
        }
    }

    /// The highest confidence among the sightings, 0 when there are none.
    pub fn confidence(&self) -> u8 {
        self.sightings
            .iter()
            .map(|s| s.source.confidence)
            .max()
            .unwrap_or(0)
    }

    /// True when every sighting marks the value as whitelisted (assessment
    /// `whitelist`): such an indicator is an allow entry, not a block.
    pub fn is_whitelist(&self) -> bool {
        !self.sightings.is_empty()
            && self
                .sightings
                .iter()
                .all(|s| s.assessment.as_deref() == Some("whitelist"))
    }

    /// The sources of every sighting, for alerts.
    pub fn sources(&self) -> Vec<IntelSource> {
        self.sightings.iter().map(|s| s.source.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::IndicatorKind;

    #[test]
    fn kind_names_read_in_any_case() {
        for kind in IndicatorKind::ALL {
            assert_eq!(kind.as_str().parse::<IndicatorKind>(), Ok(kind));
            assert_eq!(
                kind.as_str().to_ascii_uppercase().parse::<IndicatorKind>(),
                Ok(kind)
            );
        }
        assert_eq!(
            " Domain-Name ".parse::<IndicatorKind>(),
            Ok(IndicatorKind::Domain)
        );
        assert_eq!(
            "SHA-256".parse::<IndicatorKind>(),
            Ok(IndicatorKind::Sha256)
        );
        assert!("bogus".parse::<IndicatorKind>().is_err());
    }
}
