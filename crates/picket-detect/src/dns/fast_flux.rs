//! `dns.fast_flux`: a name whose addresses keep changing across many networks
//! with short TTLs, the way fast-flux botnets hide their proxies.
//!
//! Keyed by query name. Each A/AAAA answer set adds its addresses (up to
//! `max_addresses_tracked`), their /16 (IPv4) or /32 (IPv6) networks, the
//! lowest TTL, and counts a rotation when the set differs from the previous
//! one. An alert needs, within `window_secs`, at least `min_addresses`
//! distinct addresses in at least `min_networks` networks, a lowest TTL of at
//! most `max_ttl` and at least `min_rotations` rotations. One alert per name
//! and window.
//!
//! Names under the allowlist (CDNs rotate addresses by design) and answers
//! that reach their addresses through a CNAME into an allowlisted domain are
//! left alone.
//!
//! State: at most `max_names` names, each with up to `max_addresses_tracked`
//! 16-byte addresses and their networks; about 2 KiB per busy name.

use std::net::IpAddr;
use std::sync::Arc;

use picket_event::{Alert, Event, IntelHit, RecordType, Timestamp};
use serde::Deserialize;

use crate::dns::allowlist::Allowlist;
use crate::dns::table::BoundedTable;
use crate::dns::{answer_ip, dns_event, round3};

/// The detector id.
pub const ID: &str = "dns.fast_flux";

/// Settings of `dns.fast_flux`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FastFluxConfig {
    /// Run the detector. Default: true.
    pub enabled: bool,
    /// Window length, seconds. Default: 86,400.
    pub window_secs: u64,
    /// Distinct addresses needed. Default: 10.
    pub min_addresses: usize,
    /// Distinct /16 (IPv4) or /32 (IPv6) networks needed. Default: 5.
    pub min_networks: usize,
    /// Highest allowed lowest TTL, seconds. Default: 300.
    pub max_ttl: u32,
    /// Answer-set changes needed. Default: 2.
    pub min_rotations: u32,
    /// Names tracked at once. Default: 100,000.
    pub max_names: usize,
    /// Addresses kept per name (counting saturates). Default: 64.
    pub max_addresses_tracked: usize,
    /// Evidence events kept per alert. Default: 8.
    pub max_evidence: usize,
}

impl Default for FastFluxConfig {
    fn default() -> Self {
        FastFluxConfig {
            enabled: true,
            window_secs: 86_400,
            min_addresses: 10,
            min_networks: 5,
            max_ttl: 300,
            min_rotations: 2,
            max_names: 100_000,
            max_addresses_tracked: 64,
            max_evidence: 8,
        }
    }
}

#[derive(Debug)]
struct NameState {
    start: Timestamp,
    addresses: Vec<IpAddr>,
    networks: Vec<u64>,
    min_ttl: u32,
    last_set: u64,
    rotations: u32,
    answers: u32,
    evidence: Vec<Event>,
    alerted: bool,
}

impl NameState {
    fn new(start: Timestamp) -> Self {
        NameState {
            start,
            addresses: Vec::new(),
            networks: Vec::new(),
            min_ttl: u32::MAX,
            last_set: 0,
            rotations: 0,
            answers: 0,
            evidence: Vec::new(),
            alerted: false,
        }
    }
}

/// Returns the network an address counts in: its /16 for IPv4, its /32 for IPv6.
pub fn network_of(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => u64::from(u32::from(v4) >> 16),
        IpAddr::V6(v6) => (1 << 32) | u64::from((u128::from(v6) >> 96) as u32),
    }
}

/// The `dns.fast_flux` detector.
pub struct FastFluxDetector {
    config: FastFluxConfig,
    allowlist: Arc<Allowlist>,
    names: BoundedTable<u64, NameState>,
}

impl FastFluxDetector {
    /// Builds a detector with the given settings and allowlist.
    pub fn new(config: FastFluxConfig, allowlist: Arc<Allowlist>) -> Self {
        FastFluxDetector {
            names: BoundedTable::new(config.max_names, config.window_secs),
            config,
            allowlist,
        }
    }
}

impl picket_event::Detector for FastFluxDetector {
    fn id(&self) -> &'static str {
        ID
    }

    fn observe(&mut self, event: &Event, _hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(dns) = dns_event(event) else { return };
        if !dns
            .answers
            .iter()
            .any(|rr| matches!(rr.rtype, RecordType::A | RecordType::AAAA))
        {
            return;
        }
        let now = dns.timestamp;
        if self.allowlist.allows(&dns.query_name, now) {
            return;
        }
        let through_allowed_cname = dns
            .answers
            .iter()
            .any(|rr| rr.rtype == RecordType::CNAME && self.allowlist.allows(&rr.data, now));
        if through_allowed_cname {
            return;
        }

        let config = &self.config;
        let window =
            i64::try_from(config.window_secs.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX);
        let state = self
            .names
            .entry(crate::dns::name_hash(&dns.query_name), now, || {
                NameState::new(now)
            });
        if now.nanos_since(state.start) > window {
            *state = NameState::new(now);
        }

        let mut set_hash = 0u64;
        for rr in &dns.answers {
            let Some(ip) = answer_ip(rr) else { continue };
            state.min_ttl = state.min_ttl.min(rr.ttl);
            set_hash ^= crate::dns::name_hash(&rr.data);
            if state.addresses.len() < config.max_addresses_tracked
                && !state.addresses.contains(&ip)
            {
                state.addresses.push(ip);
                let network = network_of(ip);
                if !state.networks.contains(&network) {
                    state.networks.push(network);
                }
            }
        }
        if state.answers > 0 && set_hash != state.last_set {
            state.rotations += 1;
        }
        state.last_set = set_hash;
        state.answers += 1;
        if state.evidence.len() + 1 < config.max_evidence {
            state.evidence.push(event.clone());
        }

        let flux = state.addresses.len() >= config.min_addresses
            && state.networks.len() >= config.min_networks
            && state.min_ttl <= config.max_ttl
            && state.rotations >= config.min_rotations;
        if !flux || state.alerted {
            return;
        }
        state.alerted = true;
        state.evidence.push(event.clone());

        let spread = (state.networks.len() as f64 / (3 * config.min_networks) as f64).min(1.0);
        let count = (state.addresses.len() as f64 / (3 * config.min_addresses) as f64).min(1.0);
        let ttl = 1.0 - (f64::from(state.min_ttl) / f64::from(config.max_ttl.max(1))).min(1.0);
        let score = 0.45
            + 0.2 * spread
            + 0.15 * count
            + 0.1 * ttl
            + 0.1 * (f64::from(state.rotations) / 10.0).min(1.0);
        let addresses: Vec<String> = state.addresses.iter().map(ToString::to_string).collect();
        alerts.push(
            Alert::new(
                ID,
                score,
                format!(
                    "{} answered with {} addresses in {} networks (lowest TTL {} s, {} rotations)",
                    dns.query_name,
                    state.addresses.len(),
                    state.networks.len(),
                    state.min_ttl,
                    state.rotations
                ),
                std::mem::take(&mut state.evidence),
            )
            .with_detail("query_name", dns.query_name.clone())
            .with_detail("distinct_addresses", state.addresses.len())
            .with_detail("distinct_networks", state.networks.len())
            .with_detail("lowest_ttl", state.min_ttl)
            .with_detail("rotations", state.rotations)
            .with_detail("answer_sets", state.answers)
            .with_detail("addresses", addresses)
            .with_detail("score_parts", serde_json::json!({
                "network_spread": round3(spread), "address_count": round3(count), "ttl": round3(ttl)
            })),
        );
    }

    fn finish(&mut self, _alerts: &mut Vec<Alert>) {
        self.names.drain(|_, _| {});
    }
}
