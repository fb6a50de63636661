//! Exchange formats: STIX 2.1 bundles, MISP events and CSV.

use std::io::Write;

use serde_json::{json, Value};

use super::json_stream::write_pretty;
use super::sensors::networks;
use super::{ExportCounts, ExportOptions, Exportable};
use crate::error::IntelError;
use crate::{Indicator, IndicatorKind, Tlp};

/// A stable RFC 4122 version-4-shaped UUID derived from `text`, so that a
/// re-export gives every indicator the same id (FNV-1a, two seeds).
pub(crate) fn stable_uuid(text: &str) -> String {
    let fnv = |seed: u64| {
        text.bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    };
    let hi = fnv(0xcbf2_9ce4_8422_2325);
    let lo = fnv(0x8422_2325_cbf2_9ce4 ^ 0x9e37_79b9_7f4a_7c15);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Quotes a value for a STIX pattern string literal.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The STIX pattern of an indicator.
fn pattern(indicator: &Indicator) -> String {
    let v = &indicator.value;
    let terms: Vec<String> = match indicator.kind {
        IndicatorKind::Ipv4 => vec![format!("ipv4-addr:value = {}", quote(v))],
        IndicatorKind::Ipv6 => vec![format!("ipv6-addr:value = {}", quote(v))],
        IndicatorKind::Cidr | IndicatorKind::IpRange => networks(indicator)
            .iter()
            .map(|n| {
                let object = if n.addr().is_ipv4() { "ipv4-addr" } else { "ipv6-addr" };
                format!("{object}:value = {}", quote(&n.to_string()))
            })
            .collect(),
        IndicatorKind::Domain => {
            let mut t = vec![format!("domain-name:value = {}", quote(v))];
            if indicator.include_subdomains {
                t.push(format!("domain-name:value LIKE {}", quote(&format!("%.{v}"))));
            }
            t
        }
        IndicatorKind::Url => vec![format!("url:value = {}", quote(v))],
        IndicatorKind::Email => vec![format!("email-addr:value = {}", quote(v))],
        IndicatorKind::Md5 => vec![format!("file:hashes.MD5 = {}", quote(v))],
        IndicatorKind::Sha1 => vec![format!("file:hashes.'SHA-1' = {}", quote(v))],
        IndicatorKind::Sha256 => vec![format!("file:hashes.'SHA-256' = {}", quote(v))],
        IndicatorKind::UserAgent => vec![format!(
            "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = {}",
            quote(v)
        )],
        IndicatorKind::FileName => vec![format!("file:name = {}", quote(v))],
    };
    format!("[{}]", terms.join(" OR "))
}

/// TLP 1.0 marking-definition ids, which every STIX 2.1 tool knows.
/// `amber+strict` has no TLP 1.0 twin and is exported as `red`, the
/// stricter side.
fn tlp_marking(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Green => "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Amber => "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::AmberStrict | Tlp::Red => "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    }
}

fn highest_tlp(indicator: &Indicator) -> Option<Tlp> {
    indicator.sightings.iter().filter_map(|s| s.source.tlp.as_deref().and_then(Tlp::parse)).max()
}

fn tags(indicator: &Indicator) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &indicator.sightings {
        for t in s.source.tags.iter().chain(s.assessment.iter()) {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    out
}

/// Writes a STIX 2.1 bundle with one indicator object per indicator. The
/// bundle id, written before the objects, is derived from their count, so a
/// first walk counts them.
pub(crate) fn stix2(indicators: &mut Exportable<'_>, options: &ExportOptions, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    let now = options.now.to_string();
    let mut total: u64 = 0;
    indicators.each(&mut |_| {
        total += 1;
        Ok(())
    })?;
    let bundle = json!({
        "type": "bundle",
        "id": format!("bundle--{}", stable_uuid(&format!("bundle|{now}|{total}"))),
        "objects": [],
    });
    write_pretty(out, &bundle, &["objects"], &mut |sink| {
        indicators.each(&mut |indicator| {
            sink(&stix2_object(indicator, &now, options))?;
            counts.written += 1;
            Ok(())
        })
    })
}

/// Builds the STIX indicator object of one indicator.
fn stix2_object(indicator: &Indicator, now: &str, options: &ExportOptions) -> Value {
    let valid_from = indicator
        .sightings
        .iter()
        .filter_map(|s| s.first_seen.or(s.seen()))
        .min()
        .unwrap_or(options.now);

    let mut map = serde_json::Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_owned(), value);
    };
    put("type", json!("indicator"));
    put("spec_version", json!("2.1"));
    put("id", json!(format!("indicator--{}", stable_uuid(&format!("{}|{}", indicator.kind, indicator.value)))));
    put("created", json!(now));
    put("modified", json!(now));
    put("name", json!(format!("{} {}", indicator.kind, indicator.value)));
    put("indicator_types", json!(["malicious-activity"]));
    put("pattern", json!(pattern(indicator)));
    put("pattern_type", json!("stix"));
    put("valid_from", json!(valid_from.to_string()));
    put("confidence", json!(indicator.confidence()));

    if let Some(until) = indicator.sightings.iter().filter_map(|s| s.valid_until).max().filter(|u| *u > valid_from) {
        map.insert("valid_until".into(), Value::String(until.to_string()));
    }
    let labels = tags(indicator);
    if !labels.is_empty() {
        map.insert("labels".into(), json!(labels));
    }
    let providers: Vec<&str> = indicator.sightings.iter().map(|s| s.source.provider.as_str()).collect();
    let description = indicator.sightings.iter().find_map(|s| s.source.description.clone());
    map.insert(
        "description".into(),
        Value::String(match description {
            Some(d) => format!("{d} (sources: {})", providers.join(", ")),
            None => format!("sources: {}", providers.join(", ")),
        }),
    );
    if let Some(tlp) = highest_tlp(indicator) {
        map.insert("object_marking_refs".into(), json!([tlp_marking(tlp)]));
    }
    let refs: Vec<Value> = indicator
        .sightings
        .iter()
        .filter_map(|s| s.source.reference.as_ref().map(|r| json!({"source_name": s.source.provider, "url": r})))
        .collect();
    if !refs.is_empty() {
        map.insert("external_references".into(), Value::Array(refs));
    }
    Value::Object(map)
}

/// MISP attribute type and category of an indicator kind.
fn misp_type(kind: IndicatorKind) -> (&'static str, &'static str) {
    match kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr | IndicatorKind::IpRange => ("ip-dst", "Network activity"),
        IndicatorKind::Domain => ("domain", "Network activity"),
        IndicatorKind::Url => ("url", "Network activity"),
        IndicatorKind::Email => ("email-src", "Payload delivery"),
        IndicatorKind::Md5 => ("md5", "Payload delivery"),
        IndicatorKind::Sha1 => ("sha1", "Payload delivery"),
        IndicatorKind::Sha256 => ("sha256", "Payload delivery"),
        IndicatorKind::UserAgent => ("user-agent", "Network activity"),
        IndicatorKind::FileName => ("filename", "Payload delivery"),
    }
}

/// One MISP event holding every indicator as an attribute with `to_ids`.
pub(crate) fn misp(indicators: &mut Exportable<'_>, options: &ExportOptions, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    let date = options.now.to_jiff().strftime("%Y-%m-%d").to_string();
    let stamp = options.now.as_secs().to_string();
    let event = json!({
        "Event": {
            "uuid": stable_uuid(&format!("event|{}|{stamp}", options.title)),
            "info": options.title,
            "date": date,
            "timestamp": stamp,
            "threat_level_id": "4",
            "analysis": "2",
            "distribution": "0",
            "published": false,
            "Attribute": [],
        }
    });
    write_pretty(out, &event, &["Event", "Attribute"], &mut |sink| {
        indicators.each(&mut |indicator| {
            for attribute in misp_attributes(indicator, &stamp) {
                sink(&attribute)?;
            }
            counts.written += 1;
            Ok(())
        })
    })
}

/// Builds the MISP attributes of one indicator: one, or one per network of a range.
fn misp_attributes(indicator: &Indicator, stamp: &str) -> Vec<Value> {
    let (kind, category) = misp_type(indicator.kind);
    let values: Vec<String> = if indicator.kind == IndicatorKind::IpRange {
        networks(indicator).iter().map(ToString::to_string).collect()
    } else {
        vec![indicator.value.clone()]
    };
    let mut tag_list: Vec<Value> = tags(indicator).into_iter().map(|t| json!({"name": t})).collect();
    if let Some(tlp) = highest_tlp(indicator) {
        tag_list.push(json!({"name": format!("tlp:{}", tlp.as_str())}));
    }
    let comment = indicator.sightings.iter().find_map(|s| s.source.description.clone()).unwrap_or_default();
    values
        .into_iter()
        .map(|value| {
            json!({
                "uuid": stable_uuid(&format!("{kind}|{value}")),
                "type": kind,
                "category": category,
                "value": value,
                "to_ids": true,
                "comment": comment,
                "timestamp": stamp,
                "distribution": "5",
                "Tag": tag_list,
            })
        })
        .collect()
}

/// CSV with a header, one row per sighting.
pub(crate) fn csv(indicators: &mut Exportable<'_>, out: &mut dyn Write, counts: &mut ExportCounts) -> Result<(), IntelError> {
    let mut writer = csv::Writer::from_writer(out);
    let io = |e: csv::Error| IntelError::Write(std::io::Error::other(e));
    writer.write_record(crate::formats::PICKET_CSV_COLUMNS).map_err(io)?;
    indicators.each(&mut |indicator| {
        for s in &indicator.sightings {
            let time = |t: Option<picket_event::Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
            writer
                .write_record([
                    indicator.kind.as_str(),
                    &indicator.value,
                    if indicator.include_subdomains { "true" } else { "false" },
                    &s.source.provider,
                    &s.source.feed,
                    &s.source.confidence.to_string(),
                    s.source.tlp.as_deref().unwrap_or(""),
                    &s.source.tags.join("|"),
                    s.assessment.as_deref().unwrap_or(""),
                    &time(s.first_seen),
                    &time(s.last_seen),
                    &time(s.valid_until),
                    s.source.description.as_deref().unwrap_or(""),
                    s.source.reference.as_deref().unwrap_or(""),
                ])
                .map_err(io)?;
        }
        counts.written += 1;
        Ok(())
    })?;
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_and_well_formed() {
        let a = stable_uuid("x");
        assert_eq!(a, stable_uuid("x"));
        assert_ne!(a, stable_uuid("y"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn patterns_quote_values() {
        let o = crate::normalize_observable(IndicatorKind::UserAgent, "it's \\ bad").unwrap();
        let i = Indicator::new(o, crate::Sighting::default());
        let p = pattern(&i);
        assert!(p.contains("'it\\'s \\\\ bad'"), "{p}");
        let parsed = crate::formats::parse_pattern(&p);
        assert!(parsed.is_ok(), "{parsed:?}");
    }
}
