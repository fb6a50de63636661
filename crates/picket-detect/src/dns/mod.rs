//! DNS detectors.
//!
//! | id | key | evidence |
//! |---|---|---|
//! | `dns.dga` | client | random-looking registered labels; NXDOMAIN bursts of one name shape |
//! | `dns.tunnel` | client + registered domain | many distinct, long, encoded subdomains; tunnel query types; volume |
//! | `dns.fast_flux` | query name | many addresses across many /16 networks, low TTLs, rotation |
//! | `dns.sinkhole` | client + query name | answers inside sinkhole ranges, delegation to sinkhole name servers |
//! | `dns.new_domain` | registered domain | first resolution by the organisation after history and warm-up |
//!
//! Every detector reads time from the events only and keeps bounded tables
//! whose sizes are settings (see each config struct).

pub mod allowlist;
pub mod dga;
pub mod eval;
pub mod fast_flux;
pub mod model;
pub mod name;
pub mod new_domain;
pub mod recent;
pub mod sinkhole;
pub mod table;
pub mod tunnel;

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use picket_event::dns::DnsProtocol;
use picket_event::{Detector, DnsEvent, Event, RecordType, ResourceRecord, Timestamp};
use serde::Deserialize;

pub use allowlist::{AllowEntry, Allowlist};
pub use dga::{DgaConfig, DgaDetector};
pub use fast_flux::{FastFluxConfig, FastFluxDetector};
pub use new_domain::{NewDomainConfig, NewDomainDetector};
pub use sinkhole::{SinkholeConfig, SinkholeDetector};
pub use tunnel::{TunnelConfig, TunnelDetector};

/// Settings of the DNS detectors.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Use the built-in allowlist (`data/dns-allowlist.txt`). Default: true.
    pub builtin_allowlist: bool,
    /// Extra allowed domain suffixes, each with an optional expiry.
    pub allow: Vec<AllowEntry>,
    /// `dns.dga` settings.
    pub dga: DgaConfig,
    /// `dns.tunnel` settings.
    pub tunnel: TunnelConfig,
    /// `dns.fast_flux` settings.
    pub fast_flux: FastFluxConfig,
    /// `dns.sinkhole` settings.
    pub sinkhole: SinkholeConfig,
    /// `dns.new_domain` settings.
    pub new_domain: NewDomainConfig,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            builtin_allowlist: true,
            allow: Vec::new(),
            dga: DgaConfig::default(),
            tunnel: TunnelConfig::default(),
            fast_flux: FastFluxConfig::default(),
            sinkhole: SinkholeConfig::default(),
            new_domain: NewDomainConfig::default(),
        }
    }
}

/// What the organisation resolved before this run: the store's passive DNS
/// answers it, and `dns.new_domain` asks it.
pub trait DomainHistory: Send {
    /// When a registered domain was first resolved, if ever.
    fn first_seen(&self, registered_domain: &str) -> Option<Timestamp>;

    /// The start of the recorded history, `None` when nothing is recorded.
    /// The warm-up of `dns.new_domain` counts from here.
    fn recorded_since(&self) -> Option<Timestamp>;
}

/// Builds the enabled DNS detectors without stored history; `dns.new_domain`
/// then warms up on the analysed input itself.
pub fn detectors(config: &DnsConfig) -> Vec<Box<dyn Detector>> {
    detectors_with_history(config, None)
}

/// Builds the enabled DNS detectors; `history` feeds `dns.new_domain`.
pub fn detectors_with_history(
    config: &DnsConfig,
    history: Option<Box<dyn DomainHistory>>,
) -> Vec<Box<dyn Detector>> {
    let allowlist = Arc::new(Allowlist::new(config.builtin_allowlist, &config.allow));
    let mut detectors: Vec<Box<dyn Detector>> = Vec::new();
    if config.dga.enabled {
        detectors.push(Box::new(DgaDetector::new(
            config.dga.clone(),
            Arc::clone(&allowlist),
        )));
    }
    if config.tunnel.enabled {
        detectors.push(Box::new(TunnelDetector::new(
            config.tunnel.clone(),
            Arc::clone(&allowlist),
        )));
    }
    if config.fast_flux.enabled {
        detectors.push(Box::new(FastFluxDetector::new(
            config.fast_flux.clone(),
            Arc::clone(&allowlist),
        )));
    }
    if config.sinkhole.enabled {
        match SinkholeDetector::new(config.sinkhole.clone()) {
            Ok(detector) => detectors.push(Box::new(detector)),
            Err(error) => tracing::error!(%error, "dns.sinkhole is off: its list does not load"),
        }
    }
    if config.new_domain.enabled {
        detectors.push(Box::new(NewDomainDetector::new(
            config.new_domain.clone(),
            allowlist,
            history,
        )));
    }
    detectors
}

/// The unicast DNS event inside `event`, if it is one with a query name.
/// Multicast DNS and LLMNR stay on the local link and are skipped.
pub(crate) fn dns_event(event: &Event) -> Option<&DnsEvent> {
    match event {
        Event::Dns(dns) if dns.protocol == DnsProtocol::Dns && !dns.query_name.is_empty() => {
            Some(dns)
        }
        _ => None,
    }
}

/// The client key of an event; events without a client address share one key.
pub(crate) fn client_key(dns: &DnsEvent) -> IpAddr {
    dns.client_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Hashes a name to 64 bits for compact sets of names. The hasher has a
/// fixed seed, so a name gets the same hash in every table of the process;
/// it reads eight bytes a step. The tables rehash these keys with their own
/// seeded hasher, so crafted collisions can merge two names' counts but
/// cannot slow a table down.
pub(crate) fn name_hash(name: &str) -> u64 {
    NAME_HASH.hash_one(name)
}

/// The hasher behind [`name_hash`].
const NAME_HASH: foldhash::fast::FixedState =
    foldhash::fast::FixedState::with_seed(0x646e_735f_6e61_6d65);

/// Returns the address of an A or AAAA record, `None` for other types and
/// for data that is not an address.
///
/// Dotted-quad IPv4 text, the usual form of A record data, is read here in
/// one pass. Any other text goes to the standard parser. The fast path takes
/// only text the standard parser reads to the same address (four decimal
/// fields of 0 to 255, no leading zeros), so the result never differs.
pub(crate) fn answer_ip(rr: &ResourceRecord) -> Option<IpAddr> {
    if rr.rtype == RecordType::A
        && let Some(v4) = dotted_quad(rr.data.as_bytes())
    {
        return Some(IpAddr::V4(v4));
    }
    rr.ip()
}

/// Reads `a.b.c.d` with decimal fields of 0 to 255 and no leading zeros;
/// `None` for any other text.
fn dotted_quad(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut fields = text.split(|&byte| byte == b'.');
    for octet in &mut octets {
        let field = fields.next()?;
        if field.is_empty() || field.len() > 3 || (field.len() > 1 && field[0] == b'0') {
            return None;
        }
        let mut value = 0u16;
        for &byte in field {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(byte - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    if fields.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// Rounds a figure for alert details.
pub(crate) fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_record(data: &str) -> ResourceRecord {
        ResourceRecord {
            name: "example.com".to_owned(),
            rtype: RecordType::A,
            class: 1,
            ttl: 60,
            data: data.to_owned(),
        }
    }

    #[test]
    fn answer_ip_agrees_with_the_standard_parser() {
        for data in [
            "198.51.100.7",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.-4",
            "1.2.3.1000",
            "::1",
            "",
            "a.b.c.d",
        ] {
            assert_eq!(answer_ip(&a_record(data)), data.parse().ok(), "{data:?}");
        }
    }

    #[test]
    fn answer_ip_reads_aaaa_and_skips_other_types() {
        let mut rr = a_record("2001:db8::1");
        rr.rtype = RecordType::AAAA;
        assert_eq!(answer_ip(&rr), "2001:db8::1".parse().ok());
        rr.rtype = RecordType::CNAME;
        assert_eq!(answer_ip(&rr), None);
    }
}
