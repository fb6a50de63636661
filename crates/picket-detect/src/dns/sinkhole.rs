//! `dns.sinkhole`: a host resolving a name that now points at a sinkhole, the
//! sign of malware whose command-and-control domain was taken over.
//!
//! Evidence: an A/AAAA answer inside a sinkhole range (the MISP "known
//! sinkholes" warninglist shipped in `data/misp-sinkholes.json`, CC0, plus
//! `extra_ranges`), or an NS record in the answer or authority section naming
//! a sinkhole name server (a label containing `sinkhole`, the suffixes in
//! [`BUILTIN_NAME_SERVERS`], plus `extra_name_servers`). The alert names the
//! client, which is the infected host.
//!
//! Ranges of the list that sit inside `shared_ranges` are dropped: those are
//! shared CDN front ends (Cloudflare, Microsoft Front Door) that also serve
//! popular sites, so an answer there says nothing on its own.
//!
//! Keyed by client and query name; state is a de-duplication table of at most
//! `max_reported` 16-byte keys.

use std::net::IpAddr;

use ipnet::IpNet;
use picket_event::{Alert, Event, IntelHit, RecordType, Timestamp};
use serde::Deserialize;

use crate::dns::table::BoundedTable;
use crate::dns::{answer_ip, client_key, dns_event, name_hash};

/// The detector id.
pub const ID: &str = "dns.sinkhole";

const MISP_SINKHOLES: &str = include_str!("../../data/misp-sinkholes.json");

/// Name-server suffixes known to serve sinkholed zones, besides any label
/// containing `sinkhole`.
pub const BUILTIN_NAME_SERVERS: &[&str] = &["microsoftinternetsafety.net"];

/// Settings of `dns.sinkhole`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinkholeConfig {
    /// Run the detector. Default: true.
    pub enabled: bool,
    /// Use the shipped MISP sinkhole list. Default: true.
    pub builtin_ranges: bool,
    /// More sinkhole addresses or networks.
    pub extra_ranges: Vec<IpNet>,
    /// Networks whose list entries are ignored because popular sites share
    /// them. Default: 104.16.0.0/13 and 172.64.0.0/13 (Cloudflare),
    /// 13.107.0.0/16 (Microsoft Front Door), 151.139.0.0/16 (StackPath).
    pub shared_ranges: Vec<IpNet>,
    /// More name-server suffixes that mark a sinkholed zone.
    pub extra_name_servers: Vec<String>,
    /// (client, name) pairs remembered to report once. Default: 100,000.
    pub max_reported: usize,
    /// How long a reported pair stays quiet after its alert, in seconds. A
    /// pair still seen afterwards is reported again. Default: 86,400.
    pub dedupe_secs: u64,
}

impl Default for SinkholeConfig {
    fn default() -> Self {
        let shared = [
            "104.16.0.0/13",
            "172.64.0.0/13",
            "13.107.0.0/16",
            "151.139.0.0/16",
        ];
        SinkholeConfig {
            enabled: true,
            builtin_ranges: true,
            extra_ranges: Vec::new(),
            shared_ranges: shared.iter().filter_map(|net| net.parse().ok()).collect(),
            extra_name_servers: Vec::new(),
            max_reported: 100_000,
            dedupe_secs: 86_400,
        }
    }
}

/// The shipped sinkhole list does not load.
#[derive(Debug, thiserror::Error)]
pub enum SinkholeError {
    /// The JSON is not a MISP warninglist.
    #[error("sinkhole list is not a MISP warninglist: {0}")]
    Json(#[from] serde_json::Error),
    /// An entry is neither an address nor a network.
    #[error("sinkhole list entry {index} is not an address or network: {value:?}")]
    Entry {
        /// Position in the list, from 0.
        index: usize,
        /// The entry.
        value: String,
    },
}

#[derive(Deserialize)]
struct Warninglist {
    list: Vec<String>,
}

/// Parses the ranges of a MISP `cidr` warninglist.
pub fn parse_misp_ranges(json: &str) -> Result<Vec<IpNet>, SinkholeError> {
    let list: Warninglist = serde_json::from_str(json)?;
    list.list
        .iter()
        .enumerate()
        .map(|(index, value)| {
            value
                .parse::<IpNet>()
                .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| SinkholeError::Entry {
                    index,
                    value: value.clone(),
                })
        })
        .collect()
}

/// The `dns.sinkhole` detector.
pub struct SinkholeDetector {
    ranges: Vec<IpNet>,
    /// IPv4 ranges as (first, last, index into `ranges`), sorted by first
    /// address and without overlaps, for a binary search per answer.
    v4: Vec<(u32, u32, usize)>,
    /// For each first octet `o`, the index in `v4` of the first range that
    /// starts at or above `o.0.0.0`; entry 256 is `v4.len()`. A look-up
    /// searches only the ranges starting in its address's /8.
    v4_by_octet: Vec<usize>,
    name_servers: Vec<String>,
    reported: BoundedTable<(IpAddr, u64), Timestamp>,
}

impl SinkholeDetector {
    /// Builds a detector from the shipped list (unless turned off) and the user's ranges.
    pub fn new(config: SinkholeConfig) -> Result<Self, SinkholeError> {
        let mut ranges = if config.builtin_ranges {
            parse_misp_ranges(MISP_SINKHOLES)?
        } else {
            Vec::new()
        };
        ranges.retain(|net| {
            !config
                .shared_ranges
                .iter()
                .any(|shared| shared.contains(net))
        });
        ranges.extend(config.extra_ranges.iter().copied());

        let mut name_servers: Vec<String> = BUILTIN_NAME_SERVERS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        name_servers.extend(
            config
                .extra_name_servers
                .iter()
                .map(|s| s.trim_matches('.').to_ascii_lowercase()),
        );

        let mut v4: Vec<(u32, u32, usize)> = ranges
            .iter()
            .enumerate()
            .filter_map(|(i, net)| match net {
                IpNet::V4(v4) => Some((u32::from(v4.network()), u32::from(v4.broadcast()), i)),
                IpNet::V6(_) => None,
            })
            .collect();
        v4.sort_unstable();
        // Nested or overlapping ranges merge into the first; the alert then
        // names the wider one.
        let mut merged: Vec<(u32, u32, usize)> = Vec::with_capacity(v4.len());
        for range in v4 {
            match merged.last_mut() {
                Some(last) if range.0 <= last.1 => last.1 = last.1.max(range.1),
                _ => merged.push(range),
            }
        }

        let v4_by_octet = (0..=256u32)
            .map(|octet| merged.partition_point(|(first, _, _)| (first >> 24) < octet))
            .collect();

        Ok(SinkholeDetector {
            ranges,
            v4: merged,
            v4_by_octet,
            name_servers,
            reported: BoundedTable::new(config.max_reported, config.dedupe_secs),
        })
    }

    /// Returns the sinkhole range containing `ip`, if any.
    pub fn range_of(&self, ip: IpAddr) -> Option<IpNet> {
        match ip {
            IpAddr::V4(v4) => {
                let ip = u32::from(v4);
                let octet = (ip >> 24) as usize;
                let (low, high) = (self.v4_by_octet[octet], self.v4_by_octet[octet + 1]);
                // The last range starting at or below `ip`: in this /8, or
                // else the last one before it, which may reach into it.
                let within = self.v4[low..high].partition_point(|(first, _, _)| *first <= ip);
                let (_, last, index) = *self.v4.get((low + within).checked_sub(1)?)?;
                (ip <= last).then(|| self.ranges[index])
            }
            IpAddr::V6(_) => self.ranges.iter().find(|net| net.contains(&ip)).copied(),
        }
    }

    fn is_sinkhole_server(&self, name: &str) -> bool {
        name.split('.').any(|label| label.contains("sinkhole"))
            || self.name_servers.iter().any(|suffix| {
                name == suffix
                    || name
                        .strip_suffix(suffix.as_str())
                        .is_some_and(|head| head.ends_with('.'))
            })
    }
}

impl picket_event::Detector for SinkholeDetector {
    fn id(&self) -> &'static str {
        ID
    }

    fn observe(&mut self, event: &Event, _hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(dns) = dns_event(event) else { return };

        let mut evidence = None;
        for rr in &dns.answers {
            if let Some(ip) = answer_ip(rr)
                && let Some(range) = self.range_of(ip)
            {
                evidence = Some((
                    "answer_in_sinkhole_range",
                    rr.data.clone(),
                    range.to_string(),
                ));
                break;
            }
        }
        if evidence.is_none() {
            let ns = dns
                .answers
                .iter()
                .chain(&dns.authorities)
                .filter(|rr| rr.rtype == RecordType::NS)
                .find(|rr| self.is_sinkhole_server(&rr.data));
            if let Some(rr) = ns {
                evidence = Some(("sinkhole_name_server", rr.data.clone(), rr.name.clone()));
            }
        }
        let Some((kind, value, context)) = evidence else {
            return;
        };

        let client = client_key(dns);
        let key = (client, name_hash(&dns.query_name));
        if self.reported.reported_recently(key, dns.timestamp) {
            return;
        }

        let who = dns
            .client_ip
            .map_or_else(|| "A client".to_owned(), |ip| ip.to_string());
        let (summary, score) = if kind == "answer_in_sinkhole_range" {
            (
                format!(
                    "{who} resolved {} to the sinkhole address {value} ({context}); the host likely runs malware whose C2 was taken over",
                    dns.query_name
                ),
                0.85,
            )
        } else {
            (
                format!(
                    "{who} resolved {}, delegated to the sinkhole name server {value}",
                    dns.query_name
                ),
                0.75,
            )
        };
        let mut alert = Alert::new(ID, score, summary, vec![event.clone()])
            .with_detail("kind", kind)
            .with_detail("query_name", dns.query_name.clone());
        if kind == "answer_in_sinkhole_range" {
            alert = alert
                .with_detail("address", value)
                .with_detail("sinkhole_range", context);
        } else {
            alert = alert
                .with_detail("name_server", value)
                .with_detail("zone", context);
        }
        alerts.push(alert);
    }

    fn finish(&mut self, _alerts: &mut Vec<Alert>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_list_loads_without_shared_ranges() {
        let detector = SinkholeDetector::new(SinkholeConfig::default()).unwrap();
        assert!(
            detector
                .range_of("143.215.130.7".parse().unwrap())
                .is_some()
        );
        assert!(
            detector.range_of("104.21.27.14".parse().unwrap()).is_none(),
            "Cloudflare is shared"
        );
        assert!(detector.range_of("8.8.8.8".parse().unwrap()).is_none());
        assert!(
            detector
                .range_of("143.215.129.255".parse().unwrap())
                .is_none()
        );
        assert!(
            detector
                .range_of("143.215.131.0".parse().unwrap())
                .is_none()
        );
        assert!(
            detector
                .range_of("95.211.174.92".parse().unwrap())
                .is_some(),
            "the last entry"
        );
        assert!(
            detector
                .range_of("104.155.11.149".parse().unwrap())
                .is_some(),
            "the first entry"
        );
    }

    #[test]
    fn octet_index_agrees_with_a_scan() {
        // A range spanning two /8s checks the look-back into an earlier /8.
        let config = SinkholeConfig {
            extra_ranges: vec![
                "9.255.0.0/15".parse().unwrap(),
                "11.0.0.0/7".parse().unwrap(),
            ],
            ..SinkholeConfig::default()
        };
        let detector = SinkholeDetector::new(config).unwrap();
        let mut probes: Vec<u32> = (0..=255u32).map(|octet| octet << 24).collect();
        for &(first, last, _) in &detector.v4 {
            probes.extend([first.wrapping_sub(1), first, last, last.wrapping_add(1)]);
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            probes.push(state as u32);
        }

        for probe in probes {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(probe));
            let scanned = detector
                .v4
                .iter()
                .find(|(first, last, _)| (*first..=*last).contains(&probe))
                .map(|(_, _, index)| detector.ranges[*index]);
            assert_eq!(detector.range_of(ip), scanned, "{ip}");
        }
        assert!(detector.range_of("10.1.2.3".parse().unwrap()).is_some());
    }

    #[test]
    fn bad_entries_are_named() {
        let err = parse_misp_ranges(r#"{"list": ["10.0.0.0/8", "ten"]}"#).unwrap_err();
        assert!(err.to_string().contains("entry 1"), "{err}");
    }

    #[test]
    fn sinkhole_name_servers() {
        let detector = SinkholeDetector::new(SinkholeConfig::default()).unwrap();
        assert!(detector.is_sinkhole_server("ns1.sinkhole.example.org"));
        assert!(detector.is_sinkhole_server("ns3.microsoftinternetsafety.net"));
        assert!(!detector.is_sinkhole_server("ns1.google.com"));
        assert!(!detector.is_sinkhole_server("xmicrosoftinternetsafety.net"));
    }
}
