//! Expiry: how long a report of each kind of indicator stays valid.
//!
//! A sighting expires at its source's explicit `valid_until` when it has
//! one, else at its last-seen time plus the lifetime of its kind. An
//! indicator is active while any of its sightings is. Expired indicators
//! are kept for retro-search. They only leave the active set.

use picket_event::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{IndicatorKind, Sighting};

/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Default lifetime of each kind, in days, from the last time a source
/// reported the value. Addresses churn in weeks, names in months, file
/// hashes stay bad for years.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Lifetimes {
    /// IPv4 and IPv6 addresses. Default 30 days.
    pub ip: u32,
    /// CIDR networks and ranges. Default 90 days.
    pub network: u32,
    /// Domains. Default 180 days.
    pub domain: u32,
    /// URLs. Default 90 days.
    pub url: u32,
    /// E-mail addresses. Default 180 days.
    pub email: u32,
    /// MD5, SHA-1 and SHA-256 digests. Default 730 days.
    pub hash: u32,
    /// User agents. Default 365 days.
    pub user_agent: u32,
    /// File names. Default 365 days.
    pub file_name: u32,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            ip: 30,
            network: 90,
            domain: 180,
            url: 90,
            email: 180,
            hash: 730,
            user_agent: 365,
            file_name: 365,
        }
    }
}

impl Lifetimes {
    /// The lifetime of `kind` in days.
    pub fn days(&self, kind: IndicatorKind) -> u32 {
        match kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => self.ip,
            IndicatorKind::Cidr | IndicatorKind::IpRange => self.network,
            IndicatorKind::Domain => self.domain,
            IndicatorKind::Url => self.url,
            IndicatorKind::Email => self.email,
            IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 => self.hash,
            IndicatorKind::UserAgent => self.user_agent,
            IndicatorKind::FileName => self.file_name,
        }
    }

    /// When a sighting of `kind` expires: its `valid_until`, else its last
    /// sighting time plus the kind's lifetime. A sighting with no time at
    /// all counts from `now`.
    pub fn expires_at(&self, kind: IndicatorKind, sighting: &Sighting, now: Timestamp) -> Timestamp {
        if let Some(until) = sighting.valid_until {
            return until;
        }
        let seen = sighting.seen().unwrap_or(now);
        let life = i64::from(self.days(kind)).saturating_mul(DAY_NS);
        Timestamp::from_nanos(seen.as_nanos().saturating_add(life))
    }
}

/// Lifetimes a feed rule or the command line sets for some kinds; the
/// kinds it leaves out keep the lifetime they had. Feed rules write it as
/// `lifetimes:` with the keys of [`Lifetimes`] (`ip`, `network`, `domain`,
/// `url`, `email`, `hash`, `user-agent`, `file-name`) and days as values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LifetimeOverrides {
    /// IPv4 and IPv6 addresses, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<u32>,
    /// CIDR networks and ranges, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<u32>,
    /// Domains, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<u32>,
    /// URLs, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<u32>,
    /// E-mail addresses, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<u32>,
    /// MD5, SHA-1 and SHA-256 digests, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<u32>,
    /// User agents, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<u32>,
    /// File names, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<u32>,
}

/// The names [`LifetimeOverrides::set`] takes.
pub const LIFETIME_NAMES: [&str; 8] = ["ip", "network", "domain", "url", "email", "hash", "user-agent", "file-name"];

impl LifetimeOverrides {
    fn slots(&self) -> [Option<u32>; 8] {
        [self.ip, self.network, self.domain, self.url, self.email, self.hash, self.user_agent, self.file_name]
    }

    fn slots_mut(&mut self) -> [&mut Option<u32>; 8] {
        [
            &mut self.ip,
            &mut self.network,
            &mut self.domain,
            &mut self.url,
            &mut self.email,
            &mut self.hash,
            &mut self.user_agent,
            &mut self.file_name,
        ]
    }

    /// `base` with the lifetimes set here.
    pub fn over(&self, base: &Lifetimes) -> Lifetimes {
        let mut out = base.clone();
        let targets = [
            &mut out.ip,
            &mut out.network,
            &mut out.domain,
            &mut out.url,
            &mut out.email,
            &mut out.hash,
            &mut out.user_agent,
            &mut out.file_name,
        ];
        for (target, value) in targets.into_iter().zip(self.slots()) {
            if let Some(days) = value {
                *target = days;
            }
        }
        out
    }

    /// These overrides with those of `top` winning.
    pub fn then(&self, top: &LifetimeOverrides) -> LifetimeOverrides {
        let mut out = self.clone();
        for (target, value) in out.slots_mut().into_iter().zip(top.slots()) {
            if value.is_some() {
                *target = value;
            }
        }
        out
    }

    /// Sets the lifetime named `name` (one of [`LIFETIME_NAMES`]); false
    /// for an unknown name.
    pub fn set(&mut self, name: &str, days: u32) -> bool {
        match LIFETIME_NAMES.iter().position(|n| *n == name) {
            Some(i) => {
                *self.slots_mut()[i] = Some(days);
                true
            }
            None => false,
        }
    }
}

/// Days as nanoseconds, for grace periods and ages.
pub fn days_to_nanos(days: u32) -> i64 {
    i64::from(days).saturating_mul(DAY_NS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_layer_over_the_defaults() {
        let file: LifetimeOverrides = serde_yaml_ng::from_str("ip: 3\ndomain: 10\n").unwrap();
        let feed: LifetimeOverrides = serde_yaml_ng::from_str("domain: 20\nuser-agent: 1\n").unwrap();
        let mut flags = LifetimeOverrides::default();
        assert!(flags.set("user-agent", 2));
        assert!(!flags.set("colour", 2));
        let l = file.then(&feed).then(&flags).over(&Lifetimes::default());
        assert_eq!((l.ip, l.domain, l.user_agent, l.hash), (3, 20, 2, 730));
        assert!(serde_yaml_ng::from_str::<LifetimeOverrides>("ips: 3\n").is_err());
    }

    #[test]
    fn valid_until_wins_then_lifetime_from_last_seen() {
        let lifetimes = Lifetimes::default();
        let now = Timestamp::from_nanos(1_000 * DAY_NS);
        let mut s = Sighting { last_seen: Some(Timestamp::from_nanos(10 * DAY_NS)), ..Sighting::default() };
        assert_eq!(lifetimes.expires_at(IndicatorKind::Ipv4, &s, now).as_nanos(), 40 * DAY_NS);
        assert_eq!(lifetimes.expires_at(IndicatorKind::Sha256, &s, now).as_nanos(), 740 * DAY_NS);
        s.valid_until = Some(Timestamp::from_nanos(12 * DAY_NS));
        assert_eq!(lifetimes.expires_at(IndicatorKind::Ipv4, &s, now).as_nanos(), 12 * DAY_NS);
        let bare = Sighting::default();
        assert_eq!(lifetimes.expires_at(IndicatorKind::Domain, &bare, now).as_nanos(), 1_180 * DAY_NS);
    }
}
