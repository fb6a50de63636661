//! `dns.tunnel`: data carried in query names under one domain (iodine,
//! dnscat2, dns2tcp and the like).
//!
//! Keyed by client and registered domain. Within a window of `window_secs`
//! the detector counts distinct subdomains, their length, how many look
//! encoded ([`subdomain_score`]: base32, hex, base64 with `+` and `/`, mixed
//! case, raw bytes, long high-entropy labels), the share of query types that
//! tunnels favour (TXT, NULL, CNAME, MX, SRV and private types) and response
//! sizes. An alert needs `min_distinct_subdomains` distinct subdomains (or
//! `min_distinct_with_tunnel_qtypes` when most queries use tunnel query types
//! and half the subdomains look encoded) and a window score of at least
//! `min_score`; one alert per key and window, plus a summary when a window
//! that alerted closes.
//!
//! Left alone: names under the allowlist, names with a label starting with
//! `_` (SRV, `_dmarc`, DKIM `_domainkey`), reverse lookups, private zones.
//!
//! State: at most `max_keys` keys, each with a set of at most
//! `max_distinct_tracked` 8-byte hashes and `max_evidence` events; about
//! 10 KiB per busy key and 200 bytes per quiet one.

use std::net::IpAddr;
use std::sync::Arc;

use picket_event::{Alert, DnsEvent, Event, IntelHit, RecordType, Timestamp};
use serde::Deserialize;

use crate::dns::allowlist::Allowlist;
use crate::dns::name::{CharStats, split_name};
use crate::dns::table::BoundedTable;
use crate::dns::{client_key, dns_event, name_hash, round3};

/// The detector id.
pub const ID: &str = "dns.tunnel";

/// Settings of `dns.tunnel`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TunnelConfig {
    /// Run the detector. Default: true.
    pub enabled: bool,
    /// Window length, seconds. Default: 300.
    pub window_secs: u64,
    /// Distinct subdomains under one registered domain from one client in a
    /// window before the detector considers a tunnel. Default: 20.
    pub min_distinct_subdomains: usize,
    /// Distinct subdomains that suffice when most queries use tunnel query
    /// types (see `min_tunnel_qtype_share`) and at least half the subdomains
    /// look encoded: short tunnel sessions, such as a handshake, show fewer
    /// names. Default: 8.
    pub min_distinct_with_tunnel_qtypes: usize,
    /// Share of queries with a tunnel query type (TXT, NULL, CNAME, MX, SRV,
    /// private types) that lowers the bar to `min_distinct_with_tunnel_qtypes`.
    /// Default: 0.75.
    #[serde(deserialize_with = "crate::bounds::fraction")]
    pub min_tunnel_qtype_share: f64,
    /// Window score (0 to 1) that raises an alert. Default: 0.4.
    #[serde(deserialize_with = "crate::bounds::fraction")]
    pub min_score: f64,
    /// [`subdomain_score`] at or above which a subdomain counts as encoded.
    /// Default: 0.5.
    #[serde(deserialize_with = "crate::bounds::fraction")]
    pub encoded_score: f64,
    /// Keys (client, registered domain) tracked at once. Default: 100,000.
    pub max_keys: usize,
    /// Distinct subdomains counted per key and window (counting saturates).
    /// Default: 1,024.
    pub max_distinct_tracked: usize,
    /// Evidence events kept per alert. Default: 16.
    pub max_evidence: usize,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            enabled: true,
            window_secs: 300,
            min_distinct_subdomains: 20,
            min_distinct_with_tunnel_qtypes: 8,
            min_tunnel_qtype_share: 0.75,
            min_score: 0.4,
            encoded_score: 0.5,
            max_keys: 100_000,
            max_distinct_tracked: 1024,
            max_evidence: 16,
        }
    }
}

/// How much one subdomain (the part left of the registered domain) looks
/// like encoded data, from 0 to 1. `original` is the query name as seen,
/// when its case differs; mixed case inside one label counts only when the
/// registered domain itself is not mixed (resolvers that randomise case, the
/// "0x20" defence, mix the whole name).
pub fn subdomain_score(subdomain: &str, original: Option<&str>) -> f64 {
    if subdomain.is_empty() {
        return 0.0;
    }
    let longest = subdomain.split('.').map(str::len).max().unwrap_or(0);
    let stats = CharStats::of(subdomain);

    let mut score: f64 = (stats.len as f64 / 48.0).min(0.45);
    if longest >= 50 {
        score = score.max(1.0);
    }
    if stats.other > 0 {
        score = score.max(0.9);
    }
    if longest >= 20 && stats.entropy >= 3.3 {
        score = score.max(0.7);
    }
    if longest >= 16 && (stats.hex_only || (stats.base32_only && stats.digits > 0)) {
        score = score.max(0.6);
    }
    if longest >= 12 && stats.entropy >= 3.0 && stats.digits > 0 && stats.digit_letter_switches >= 3
    {
        score = score.max(0.55);
    }
    if let Some(original) = original
        && longest >= 8
        && mixed_case_subdomain(original, subdomain.len())
    {
        score = score.max(0.8);
    }
    score
}

/// True when a label of the first `sub_len` bytes of `original` mixes upper
/// and lower case while the rest of the name has a single case.
fn mixed_case_subdomain(original: &str, sub_len: usize) -> bool {
    let (Some(sub), Some(rest)) = (original.get(..sub_len), original.get(sub_len..)) else {
        return false;
    };
    let rest_mixed = rest.bytes().any(|b| b.is_ascii_uppercase())
        && rest.bytes().any(|b| b.is_ascii_lowercase());
    !rest_mixed
        && sub.split('.').any(|label| {
            label.bytes().any(|b| b.is_ascii_uppercase())
                && label.bytes().any(|b| b.is_ascii_lowercase())
        })
}

/// True for query types that tunnels favour because their answers carry
/// data or names: TXT, NULL, CNAME, MX, SRV, and the private-use range.
pub fn is_tunnel_qtype(qtype: RecordType) -> bool {
    matches!(
        qtype,
        RecordType::TXT | RecordType::NULL | RecordType::CNAME | RecordType::MX | RecordType::SRV
    ) || qtype.0 >= 65280
}

#[derive(Debug)]
struct Window {
    start: Timestamp,
    registered: String,
    queries: u64,
    distinct: hashbrown::HashSet<u64>,
    encoded: u64,
    subdomain_bytes: u64,
    longest_label: usize,
    tunnel_qtypes: u64,
    response_bytes: u64,
    responses: u64,
    evidence: Vec<Event>,
    alerted: bool,
}

impl Window {
    fn new(start: Timestamp, registered: &str) -> Self {
        Window {
            start,
            registered: registered.to_owned(),
            queries: 0,
            distinct: hashbrown::HashSet::new(),
            encoded: 0,
            subdomain_bytes: 0,
            longest_label: 0,
            tunnel_qtypes: 0,
            response_bytes: 0,
            responses: 0,
            evidence: Vec::new(),
            alerted: false,
        }
    }

    /// Computes the window score and its parts: (score, encoded share,
    /// mean subdomain length, tunnel query-type share).
    fn score(&self, config: &TunnelConfig) -> (f64, f64, f64, f64) {
        let distinct = self.distinct.len().max(1) as f64;
        let encoded_share = self.encoded as f64 / distinct;
        let mean_len = self.subdomain_bytes as f64 / distinct;
        let qtype_share = self.tunnel_qtypes as f64 / self.queries.max(1) as f64;
        let volume = (distinct / (5 * config.min_distinct_subdomains) as f64).min(1.0);
        let mut score = 0.5 * encoded_share
            + 0.2 * (mean_len / 40.0).min(1.0)
            + 0.15 * qtype_share
            + 0.15 * volume;
        if self.responses > 0 && self.response_bytes / self.responses >= 200 {
            score += 0.05;
        }
        (score.min(1.0), encoded_share, mean_len, qtype_share)
    }
}

/// The `dns.tunnel` detector.
pub struct TunnelDetector {
    config: TunnelConfig,
    allowlist: Arc<Allowlist>,
    windows: BoundedTable<(IpAddr, u64), Window>,
}

impl TunnelDetector {
    /// Builds a detector with the given settings and allowlist.
    pub fn new(config: TunnelConfig, allowlist: Arc<Allowlist>) -> Self {
        TunnelDetector {
            windows: BoundedTable::new(config.max_keys, config.window_secs.saturating_mul(2)),
            config,
            allowlist,
        }
    }
}

fn window_alert(window: &mut Window, client: IpAddr, config: &TunnelConfig, reason: &str) -> Alert {
    let (score, encoded_share, mean_len, qtype_share) = window.score(config);
    let client_text = if client.is_unspecified() {
        "a client".to_owned()
    } else {
        client.to_string()
    };
    let events = std::mem::take(&mut window.evidence);
    let mut alert = Alert::new(
        ID,
        score,
        format!(
            "{client_text} sent {} queries with {} distinct subdomains under {}; {:.0}% look encoded",
            window.queries,
            window.distinct.len(),
            window.registered,
            encoded_share * 100.0
        ),
        events,
    )
    .with_detail("registered_domain", window.registered.clone())
    .with_detail("reason", reason)
    .with_detail("queries", window.queries)
    .with_detail("distinct_subdomains", window.distinct.len())
    .with_detail("encoded_share", round3(encoded_share))
    .with_detail("mean_subdomain_length", round3(mean_len))
    .with_detail("longest_label", window.longest_label)
    .with_detail("tunnel_qtype_share", round3(qtype_share))
    .with_detail("response_bytes", window.response_bytes)
    .with_detail("window_secs", config.window_secs)
    .with_detail("min_distinct_subdomains", config.min_distinct_subdomains)
    .with_detail("min_score", config.min_score);
    if !client.is_unspecified() {
        alert.host = Some(client);
    }
    alert
}

impl picket_event::Detector for TunnelDetector {
    fn id(&self) -> &'static str {
        ID
    }

    fn observe(&mut self, event: &Event, _hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(dns) = dns_event(event) else { return };
        let Some(parts) = split_name(&dns.query_name) else {
            return;
        };
        // Service and policy names (`_dmarc`, `_sip._tcp`) are no tunnel.
        // The byte scan keeps the substring search off most names.
        if parts.name.as_bytes().contains(&b'_')
            && (parts.name.starts_with('_') || parts.name.contains("._"))
        {
            return;
        }
        if self.allowlist.allows(parts.name, dns.timestamp) {
            return;
        }

        let now = dns.timestamp;
        let client = client_key(dns);
        let key = (client, name_hash(parts.registered));
        let config = &self.config;
        let window_nanos =
            i64::try_from(config.window_secs.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX);
        let window = self
            .windows
            .entry(key, now, || Window::new(now, parts.registered));
        if now.nanos_since(window.start) > window_nanos {
            if window.alerted {
                alerts.push(window_alert(window, client, config, "window closed"));
            }
            *window = Window::new(now, parts.registered);
        }

        observe_query(window, dns, parts.subdomain, config);

        if !window.alerted
            && window.distinct.len()
                >= config
                    .min_distinct_with_tunnel_qtypes
                    .min(config.min_distinct_subdomains)
        {
            let (score, encoded_share, _, qtype_share) = window.score(config);
            let enough = window.distinct.len() >= config.min_distinct_subdomains
                || (qtype_share >= config.min_tunnel_qtype_share && encoded_share >= 0.5);
            if enough && score >= config.min_score {
                window.alerted = true;
                alerts.push(window_alert(window, client, config, "threshold"));
            }
        }
    }

    fn finish(&mut self, alerts: &mut Vec<Alert>) {
        let config = self.config.clone();
        self.windows.drain(|(client, _), mut window| {
            if window.alerted && window.queries > 0 {
                alerts.push(window_alert(&mut window, client, &config, "end of input"));
            }
        });
    }
}

fn observe_query(window: &mut Window, dns: &DnsEvent, subdomain: &str, config: &TunnelConfig) {
    window.queries += 1;
    if dns.query_type.is_some_and(is_tunnel_qtype) {
        window.tunnel_qtypes += 1;
    }
    if let Some(size) = dns.response_size {
        window.response_bytes += u64::from(size);
        window.responses += 1;
    }
    if subdomain.is_empty() || window.distinct.len() >= config.max_distinct_tracked {
        return;
    }
    if !window.distinct.insert(name_hash(subdomain)) {
        return;
    }

    // Evidence is one event per distinct subdomain, so repeated lookups of
    // one name cost no copies.
    if window.evidence.len() < config.max_evidence
        && (!window.alerted || window.evidence.is_empty())
    {
        window.evidence.push(Event::Dns(dns.clone()));
    }

    let original = dns.query_name_original.as_deref();
    if subdomain_score(subdomain, original) >= config.encoded_score {
        window.encoded += 1;
    }
    window.subdomain_bytes += subdomain.len() as u64;
    window.longest_label = window
        .longest_label
        .max(subdomain.split('.').map(str::len).max().unwrap_or(0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_subdomains_score_high() {
        assert!(subdomain_score("q+z8anwaba", None) >= 0.9, "base64 with +");
        assert!(subdomain_score("mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpj2a", None) >= 0.6);
        assert!(subdomain_score("deadbeefcafe0011223344", None) >= 0.6);
        assert!(subdomain_score("www", None) < 0.5);
        assert!(subdomain_score("mail.eu-west-1", None) < 0.5);
        assert!(subdomain_score("", None) == 0.0);
    }

    #[test]
    fn mixed_case_needs_single_case_rest() {
        let original = "0eabA822hbYbdn4y.hidemyself.org";
        assert!(mixed_case_subdomain(original, 16));
        let randomised = "WwW.ExAmPlE.CoM";
        assert!(!mixed_case_subdomain(randomised, 3));
    }
}
