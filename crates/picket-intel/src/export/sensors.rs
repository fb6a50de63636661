//! Line formats read by sensors and enforcement points.

use std::io::Write;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{one_line, ExportCounts, ExportOptions, Exportable};
use crate::error::IntelError;
use crate::formats::base64_encode;
use crate::normalize::{parse_net, parse_range, range_to_cidrs};
use crate::{Indicator, IndicatorKind};

/// The networks an address, network or range indicator covers.
pub(crate) fn networks(indicator: &Indicator) -> Vec<IpNet> {
    match indicator.kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr => parse_net(&indicator.value).into_iter().collect(),
        IndicatorKind::IpRange => parse_range(&indicator.value).map(|(a, b)| range_to_cidrs(a, b)).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn first_source(indicator: &Indicator) -> (&str, String, &str) {
    let s = indicator.sightings.first();
    let source = s.map_or("picket", |s| s.source.provider.as_str());
    let desc = s
        .and_then(|s| s.source.description.clone().or_else(|| (!s.source.tags.is_empty()).then(|| s.source.tags.join(","))))
        .unwrap_or_default();
    let url = s.and_then(|s| s.source.reference.as_deref()).unwrap_or("");
    (source, desc, url)
}

fn field(text: &str) -> String {
    let text = one_line(text);
    if text.is_empty() {
        "-".into()
    } else {
        text
    }
}

/// Zeek Intel file. Zeek's URL type holds the URL without its scheme.
/// Domains match exactly in Zeek, so the subdomain flag cannot travel.
pub(crate) fn zeek(indicators: &mut Exportable<'_>, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    writeln!(out, "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url")?;
    indicators.each(&mut |indicator| {
        let (source, desc, url) = first_source(indicator);
        let mut rows: Vec<(String, &str)> = Vec::new();
        match indicator.kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => rows.push((indicator.value.clone(), "Intel::ADDR")),
            IndicatorKind::Cidr | IndicatorKind::IpRange => {
                for net in networks(indicator) {
                    rows.push((net.to_string(), "Intel::SUBNET"));
                }
            }
            IndicatorKind::Domain => rows.push((indicator.value.clone(), "Intel::DOMAIN")),
            IndicatorKind::Url => {
                let bare = indicator.value.split_once("://").map_or(indicator.value.as_str(), |(_, rest)| rest);
                rows.push((bare.to_owned(), "Intel::URL"));
            }
            IndicatorKind::Email => rows.push((indicator.value.clone(), "Intel::EMAIL")),
            IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 => rows.push((indicator.value.clone(), "Intel::FILE_HASH")),
            IndicatorKind::UserAgent => rows.push((indicator.value.clone(), "Intel::USER_AGENT")),
            IndicatorKind::FileName => rows.push((indicator.value.clone(), "Intel::FILE_NAME")),
        }
        for (value, kind) in rows {
            writeln!(out, "{}\t{kind}\t{}\t{}\t{}", field(&value), field(source), field(&desc), field(url))?;
        }
        counts.written += 1;
        Ok(())
    })
}

/// Suricata dataset. A dataset holds one type, so every indicator must be
/// of one kind (domains and URLs go into a `string` set, base64-encoded).
/// Collects the kinds in a first walk, so that a mixed set writes nothing.
pub(crate) fn suricata_dataset(indicators: &mut Exportable<'_>, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    let mut kinds: Vec<IndicatorKind> = Vec::new();
    indicators.each(&mut |indicator| {
        if !kinds.contains(&indicator.kind) {
            kinds.push(indicator.kind);
        }
        Ok(())
    })?;
    kinds.sort();
    if kinds.len() > 1 {
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        return Err(IntelError::InvalidDocument {
            path: "export".into(),
            format: "suricata-dataset",
            reason: format!("a dataset contains one type; choose one with --type (found {})", names.join(", ")),
        });
    }
    indicators.each(&mut |indicator| {
        match indicator.kind {
            IndicatorKind::Domain | IndicatorKind::Url | IndicatorKind::UserAgent | IndicatorKind::FileName | IndicatorKind::Email => {
                writeln!(out, "{}", base64_encode(indicator.value.as_bytes()))?;
            }
            IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 | IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
                writeln!(out, "{}", indicator.value)?;
            }
            IndicatorKind::Cidr | IndicatorKind::IpRange => {
                counts.skip(indicator.kind);
                return Ok(());
            }
        }
        counts.written += 1;
        Ok(())
    })
}

/// Suricata IP reputation: `address-or-network,category,score` with the
/// score from the highest confidence, scaled to Suricata's 1-127.
pub(crate) fn suricata_iprep(indicators: &mut Exportable<'_>, options: &ExportOptions, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    indicators.each(&mut |indicator| {
        let nets = networks(indicator);
        if nets.is_empty() {
            counts.skip(indicator.kind);
            return Ok(());
        }
        let score = (u32::from(indicator.confidence()) * 127 / 100).max(1);
        for net in nets {
            if net.prefix_len() == net.max_prefix_len() {
                writeln!(out, "{},{},{score}", net.addr(), options.iprep_category)?;
            } else {
                writeln!(out, "{net},{},{score}", options.iprep_category)?;
            }
        }
        counts.written += 1;
        Ok(())
    })
}

/// The `rpz-ip` owner name of a network (RFC draft-vixie-dnsop-dns-rpz
/// section 4.2): prefix length, then the address labels reversed.
fn rpz_ip(net: &IpNet) -> String {
    match net.network() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.{}.rpz-ip", net.prefix_len(), o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let words: Vec<String> = v6.segments().iter().rev().map(|w| format!("{w:x}")).collect();
            format!("{}.{}.rpz-ip", net.prefix_len(), words.join("."))
        }
    }
}

/// A response policy zone: names answer NXDOMAIN (`CNAME .`), a name with
/// the subdomain flag also gets a `*.` wildcard, addresses and networks
/// become `rpz-ip` triggers. URLs, hashes and the rest cannot be said in DNS.
pub(crate) fn rpz(indicators: &mut Exportable<'_>, options: &ExportOptions, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    let serial = options.now.as_secs().clamp(1, i64::from(u32::MAX));
    writeln!(out, "; DNS response policy zone written by picket")?;
    writeln!(out, "$ORIGIN {}", options.rpz_origin)?;
    writeln!(out, "$TTL 300")?;
    writeln!(out, "@ IN SOA localhost. hostmaster.localhost. ({serial} 3600 600 86400 300)")?;
    writeln!(out, "@ IN NS localhost.")?;
    indicators.each(&mut |indicator| {
        match indicator.kind {
            IndicatorKind::Domain => {
                writeln!(out, "{} CNAME .", indicator.value)?;
                if indicator.include_subdomains {
                    writeln!(out, "*.{} CNAME .", indicator.value)?;
                }
            }
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr | IndicatorKind::IpRange => {
                for net in networks(indicator) {
                    writeln!(out, "{} CNAME .", rpz_ip(&net))?;
                }
            }
            _ => {
                counts.skip(indicator.kind);
                return Ok(());
            }
        }
        counts.written += 1;
        Ok(())
    })
}

/// Squid `dstdomain`: `.example.com` covers the name and its subdomains.
pub(crate) fn squid_dstdomain(indicators: &mut Exportable<'_>, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    indicators.each(&mut |indicator| {
        if indicator.kind != IndicatorKind::Domain {
            counts.skip(indicator.kind);
            return Ok(());
        }
        if indicator.include_subdomains {
            writeln!(out, ".{}", indicator.value)?;
        } else {
            writeln!(out, "{}", indicator.value)?;
        }
        counts.written += 1;
        Ok(())
    })
}

/// Squid `dst`: addresses, networks and `first-last` ranges.
pub(crate) fn squid_dst(indicators: &mut Exportable<'_>, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    indicators.each(&mut |indicator| {
        match indicator.kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr | IndicatorKind::IpRange => {
                writeln!(out, "{}", indicator.value)?;
                counts.written += 1;
            }
            _ => counts.skip(indicator.kind),
        }
        Ok(())
    })
}

/// `ipset restore` input: one `hash:net` set per family.
pub(crate) fn ipset(indicators: &mut Exportable<'_>, options: &ExportOptions, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    let v4 = format!("{}-v4", options.ipset_name);
    let v6 = format!("{}-v6", options.ipset_name);
    writeln!(out, "create {v4} hash:net family inet -exist")?;
    writeln!(out, "create {v6} hash:net family inet6 -exist")?;
    indicators.each(&mut |indicator| {
        let nets = networks(indicator);
        if nets.is_empty() {
            counts.skip(indicator.kind);
            return Ok(());
        }
        for net in nets {
            let set = if net.addr().is_ipv4() { &v4 } else { &v6 };
            writeln!(out, "add {set} {net} -exist")?;
        }
        counts.written += 1;
        Ok(())
    })
}

/// One value a line, as picket's plain-list reader takes it back (it reads
/// every domain as covering its subdomains).
pub(crate) fn plain(indicators: &mut Exportable<'_>, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    indicators.each(&mut |indicator| {
        if matches!(indicator.kind, IndicatorKind::UserAgent | IndicatorKind::FileName) {
            // Free text with spaces cannot round-trip through a plain list.
            counts.skip(indicator.kind);
            return Ok(());
        }
        writeln!(out, "{}", indicator.value)?;
        counts.written += 1;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::rpz_ip;

    #[test]
    fn rpz_ip_names() {
        assert_eq!(rpz_ip(&"192.0.2.0/24".parse().unwrap()), "24.0.2.0.192.rpz-ip");
        assert_eq!(rpz_ip(&"2001:db8::/32".parse().unwrap()), "32.0.0.0.0.0.0.db8.2001.rpz-ip");
    }
}
