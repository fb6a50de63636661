//! HTTP detectors: drive-by chains, disguised and executable downloads, odd
//! user agents, bare-IP hosts and beacons.
//!
//! | id | key | state |
//! |---|---|---|
//! | `http.drive_by_chain` | client | [`DriveByConfig::max_clients`] chains |
//! | `http.type_mismatch` | none (per event) | a repeat-suppression table |
//! | `http.executable_download` | none (per event) | host first-seen table and repeat suppression |
//! | `http.suspicious_user_agent` | client | [`UserAgentConfig::max_clients`] agent inventories |
//! | `http.raw_ip_host` | client + server address | a repeat-suppression table |
//! | `http.beacon` | client + server host | [`BeaconConfig::max_pairs`] sample series |
//!
//! The client key is the client address; where a log has none, it is the
//! user agent plus the user name ([`ClientKey`]).

pub mod beacon;
pub mod classify;
pub mod drive_by;
pub mod eval;
pub mod executable;
pub mod raw_ip;
pub mod table;
pub mod triage;
pub mod type_mismatch;
pub mod user_agent;

use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

use picket_event::{Detector, Event, HttpEvent};
use serde::Deserialize;

pub use beacon::{BeaconConfig, BeaconDetector};
pub use drive_by::{DriveByConfig, DriveByDetector};
pub use executable::{ExecutableConfig, ExecutableDetector};
pub use raw_ip::{RawIpConfig, RawIpDetector};
pub use type_mismatch::{TypeMismatchConfig, TypeMismatchDetector};
pub use user_agent::{
    HistoryError, UserAgentConfig, UserAgentDetector, UserAgentHistory, UserAgentSighting,
};

/// Settings of the HTTP detectors, the `detect.http` section of the
/// configuration file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `http.drive_by_chain`.
    pub drive_by_chain: DriveByConfig,
    /// `http.type_mismatch`.
    pub type_mismatch: TypeMismatchConfig,
    /// `http.executable_download`.
    pub executable_download: ExecutableConfig,
    /// `http.suspicious_user_agent`.
    pub suspicious_user_agent: UserAgentConfig,
    /// `http.raw_ip_host`.
    pub raw_ip_host: RawIpConfig,
    /// `http.beacon`.
    pub beacon: BeaconConfig,
}

/// Builds the enabled HTTP detectors, with an in-memory user-agent
/// inventory only.
pub fn detectors(config: &HttpConfig) -> Vec<Box<dyn Detector>> {
    detectors_with_history(config, None)
}

/// Builds the enabled HTTP detectors; `history` persists the per-client
/// user-agent inventory across runs (the store implements it).
pub fn detectors_with_history(
    config: &HttpConfig,
    history: Option<Box<dyn UserAgentHistory>>,
) -> Vec<Box<dyn Detector>> {
    let mut detectors: Vec<Box<dyn Detector>> = Vec::new();
    if config.drive_by_chain.enabled {
        detectors.push(Box::new(DriveByDetector::new(
            config.drive_by_chain.clone(),
        )));
    }
    if config.type_mismatch.enabled {
        detectors.push(Box::new(TypeMismatchDetector::new(
            config.type_mismatch.clone(),
        )));
    }
    if config.executable_download.enabled {
        detectors.push(Box::new(ExecutableDetector::new(
            config.executable_download.clone(),
        )));
    }
    if config.suspicious_user_agent.enabled {
        detectors.push(Box::new(UserAgentDetector::new(
            config.suspicious_user_agent.clone(),
            history,
        )));
    }
    if config.raw_ip_host.enabled {
        detectors.push(Box::new(RawIpDetector::new(config.raw_ip_host.clone())));
    }
    if config.beacon.enabled {
        detectors.push(Box::new(BeaconDetector::new(config.beacon.clone())));
    }
    detectors
}

/// The HTTP event inside an event, if it is one.
pub(crate) fn as_http(event: &Event) -> Option<&HttpEvent> {
    match event {
        Event::Http(http) => Some(http),
        _ => None,
    }
}

/// The identity of a client: its address, or where the log has none, a
/// digest of its user agent and user name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// The client address.
    Ip(IpAddr),
    /// A 64-bit digest of the user agent and user name.
    Agent(u64),
}

impl ClientKey {
    /// The key of an event's client.
    pub fn of(event: &HttpEvent) -> Self {
        match event.client_ip {
            Some(ip) => ClientKey::Ip(ip),
            None => ClientKey::Agent(digest2(
                event.user_agent.as_deref().unwrap_or(""),
                event.user_name.as_deref().unwrap_or(""),
            )),
        }
    }
}

/// How an alert names a client: its address, else `user agent + user name`.
pub(crate) fn client_label(event: &HttpEvent) -> String {
    match event.client_ip {
        Some(ip) => ip.to_string(),
        None => format!(
            "user {:?} with agent {:?}",
            event.user_name.as_deref().unwrap_or("-"),
            event.user_agent.as_deref().unwrap_or("-")
        ),
    }
}

/// A 64-bit digest of a string, the key of the detectors' in-memory
/// tables. Not collision-resistant against chosen input; it keys bounded
/// tables only and is never stored.
pub(crate) fn digest(text: &str) -> u64 {
    DIGEST.hash_one(text)
}

/// A stable 64-bit digest of two strings.
pub(crate) fn digest2(first: &str, second: &str) -> u64 {
    DIGEST.hash_one((first, second))
}

/// Returns a 64-bit digest of any hashable key, with the same hasher.
pub(crate) fn digest_key(key: &impl Hash) -> u64 {
    DIGEST.hash_one(key)
}

/// The hasher behind [`digest`]: fixed-seeded, so that equal strings give
/// equal digests in every table, and it reads eight bytes a step.
const DIGEST: foldhash::quality::FixedState =
    foldhash::quality::FixedState::with_seed(0x7069_636b_6574);

/// Nanoseconds in a second, for turning configured seconds into event time.
pub(crate) const NANOS: i64 = 1_000_000_000;

/// Seconds from configuration as nanoseconds, saturating.
pub(crate) fn secs_to_nanos(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(NANOS)
}

/// Remembers which keys alerted recently, so that one finding repeated on
/// every request raises one alert per period.
#[derive(Debug)]
pub(crate) struct Suppressor {
    last_alert: table::BoundedMap<u64, i64>,
    period: i64,
    suppressed: u64,
}

impl Suppressor {
    /// A suppressor remembering up to `capacity` keys for `period_secs`.
    pub(crate) fn new(capacity: usize, period_secs: u64) -> Self {
        Suppressor {
            last_alert: table::BoundedMap::new(capacity),
            period: secs_to_nanos(period_secs),
            suppressed: 0,
        }
    }

    /// True when `key` may alert at `now`; records the alert if so.
    pub(crate) fn allow(&mut self, key: u64, now: i64) -> bool {
        let period = self.period;
        let mut fresh = false;
        let last = self.last_alert.entry_or_insert_with(&key, now, || {
            fresh = true;
            now
        });
        if fresh || now.saturating_sub(*last) >= period {
            *last = now;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// Alerts held back so far.
    pub(crate) fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

/// A case-insensitive substring list, for user agents and updater names,
/// searched in one pass by an Aho-Corasick automaton.
#[derive(Clone, Debug, Default)]
pub(crate) struct SubstringList {
    needles: Vec<String>,
    automaton: Option<aho_corasick::AhoCorasick>,
}

impl SubstringList {
    /// Builds a list of the given substrings, compared without regard to ASCII case.
    pub(crate) fn new(needles: &[String]) -> Self {
        let needles: Vec<String> = needles
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let automaton = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(&needles)
            .ok()
            .filter(|_| !needles.is_empty());
        SubstringList { needles, automaton }
    }

    /// Finds the first listed substring contained in `text`.
    pub(crate) fn find(&self, text: &str) -> Option<&str> {
        self.find_index(text).and_then(|i| self.needle(i))
    }

    /// Finds the position in the list of the first substring contained in `text`.
    pub(crate) fn find_index(&self, text: &str) -> Option<usize> {
        let found = self.automaton.as_ref()?.find(text)?;
        Some(found.pattern().as_usize())
    }

    /// The listed substring at `index`, lower case.
    pub(crate) fn needle(&self, index: usize) -> Option<&str> {
        self.needles.get(index).map(String::as_str)
    }
}

/// A host-suffix list (`windowsupdate.com` covers `x.windowsupdate.com`),
/// looked up label by label from the right.
#[derive(Clone, Debug, Default)]
pub(crate) struct HostSuffixList {
    suffixes: hashbrown::HashSet<String>,
}

impl HostSuffixList {
    /// Builds a list of the given suffixes, lower-cased, leading dots removed.
    pub(crate) fn new(suffixes: &[String]) -> Self {
        HostSuffixList {
            suffixes: suffixes
                .iter()
                .map(|s| s.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    /// Finds the listed suffix `host` (lower case) falls under.
    pub(crate) fn find(&self, host: &str) -> Option<&str> {
        if self.suffixes.is_empty() {
            return None;
        }
        let host = host.trim_end_matches('.');
        let mut start = 0;
        loop {
            if let Some(found) = self.suffixes.get(&host[start..]) {
                return Some(found.as_str());
            }
            start += host[start..].find('.')? + 1;
        }
    }
}

/// A [`HostSuffixList`] with its recent verdicts cached by host digest,
/// because the same hosts recur on line after line.
#[derive(Debug)]
pub(crate) struct CachedSuffixList {
    list: HostSuffixList,
    verdicts: table::BoundedMap<u64, bool>,
}

impl CachedSuffixList {
    /// Wraps a list, caching up to 16,384 host verdicts.
    pub(crate) fn new(suffixes: &[String]) -> Self {
        CachedSuffixList {
            list: HostSuffixList::new(suffixes),
            verdicts: table::BoundedMap::new(16_384),
        }
    }

    /// Tells whether `host`, whose digest is `host_digest`, falls under a listed suffix.
    pub(crate) fn contains(&mut self, host: &str, host_digest: u64, now: i64) -> bool {
        let list = &self.list;
        *self
            .verdicts
            .entry_or_insert_with(&host_digest, now, || list.find(host).is_some())
    }
}

/// Rounds a score to three decimals for alert details.
pub(crate) fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_enables_every_detector() {
        let detectors = detectors(&HttpConfig::default());
        let ids: Vec<&str> = detectors.iter().map(|d| d.id()).collect();
        assert_eq!(
            ids,
            [
                "http.drive_by_chain",
                "http.type_mismatch",
                "http.executable_download",
                "http.suspicious_user_agent",
                "http.raw_ip_host",
                "http.beacon"
            ]
        );
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let bad = serde_json::json!({"beacon": {"min_conections": 3}});
        assert!(serde_json::from_value::<HttpConfig>(bad).is_err());
        let good = serde_json::json!({"beacon": {"min_connections": 3}, "raw_ip_host": {"enabled": false}});
        let config: HttpConfig = serde_json::from_value(good).unwrap();
        assert_eq!(config.beacon.min_connections, 3);
        assert_eq!(detectors(&config).len(), 5);
    }

    #[test]
    fn suppressor_allows_once_per_period() {
        let mut s = Suppressor::new(4, 60);
        assert!(s.allow(1, 0));
        assert!(!s.allow(1, 30 * NANOS));
        assert!(s.allow(1, 61 * NANOS));
        assert!(s.allow(2, 61 * NANOS));
        assert_eq!(s.suppressed(), 1);
    }

    #[test]
    fn substring_lists_ignore_case() {
        let list = SubstringList::new(&["TeslaBrowser".to_owned()]);
        assert_eq!(list.find("teslabrowser/5.5"), Some("teslabrowser"));
        assert_eq!(list.find("Mozilla/5.0"), None);
    }
}
