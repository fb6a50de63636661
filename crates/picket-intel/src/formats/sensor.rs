//! Indicator files of network sensors: Zeek Intel framework files, Arkime
//! WISE tagger files and Suricata dataset files.

use crate::error::{RecordError, ValueError};
use crate::formats::plain::{line_text, observe};
use crate::formats::DatasetType;
use crate::load::{lines, Batch};
use crate::normalize::normalize_observable;
use crate::IndicatorKind;

/// Maps a Zeek `Intel::Type` to picket's kind; `None` for types picket
/// does not match (certificate and public-key hashes, software, users).
fn zeek_kind(name: &str, value: &str) -> Option<IndicatorKind> {
    Some(match name.trim_start_matches("Intel::") {
        "ADDR" => {
            if value.contains(':') {
                IndicatorKind::Ipv6
            } else {
                IndicatorKind::Ipv4
            }
        }
        "SUBNET" => IndicatorKind::Cidr,
        "DOMAIN" => IndicatorKind::Domain,
        "URL" => IndicatorKind::Url,
        "EMAIL" => IndicatorKind::Email,
        "USER_AGENT" => IndicatorKind::UserAgent,
        "FILE_NAME" => IndicatorKind::FileName,
        "FILE_HASH" => match value.len() {
            32 => IndicatorKind::Md5,
            40 => IndicatorKind::Sha1,
            _ => IndicatorKind::Sha256,
        },
        _ => return None,
    })
}

/// Reads a Zeek Intel file: a `#fields` header naming `indicator`,
/// `indicator_type` and `meta.*` columns, then tab-separated rows (`-` is
/// an empty field). Zeek's domains match exactly, so no subdomain flag is
/// set. A row with `meta.whitelist` true gets the `whitelist` assessment.
pub(crate) fn read_zeek_intel(bytes: &[u8], batch: &mut Batch<'_>) {
    let mut fields: Vec<String> = Vec::new();
    for (line, offset, raw) in lines(bytes) {
        let Some(text) = line_text(batch, line, offset, raw) else {
            continue;
        };
        if let Some(header) = text.strip_prefix("#fields") {
            fields = header.split('\t').filter(|f| !f.is_empty()).map(str::to_owned).collect();
            continue;
        }
        if text.starts_with('#') || text.trim().is_empty() {
            continue;
        }
        batch.record();
        if fields.is_empty() {
            batch.reject_line(line, offset, RecordError::MissingField { field: "#fields header".into() });
            continue;
        }
        let cells: Vec<&str> = text.split('\t').collect();
        let get = |name: &str| {
            fields
                .iter()
                .position(|f| f == name)
                .and_then(|i| cells.get(i))
                .copied()
                .filter(|c| !c.is_empty() && *c != "-")
        };
        let (Some(value), Some(type_name)) = (get("indicator"), get("indicator_type")) else {
            batch.reject_line(line, offset, RecordError::TooFewColumns { found: cells.len(), needed: 2 });
            continue;
        };
        let Some(kind) = zeek_kind(type_name, value) else {
            batch.reject_line(line, offset, RecordError::Unsupported {
                path: "indicator_type".to_owned(),
                what: "indicator type",
                detail: format!("{type_name} has no picket equivalent"),
            });
            continue;
        };
        let observable = match normalize_observable(kind, value) {
            Ok(o) => o,
            Err(e) => {
                batch.reject_line(line, offset, e.into());
                continue;
            }
        };
        let mut sighting = batch.sighting(&observable.value);
        if let Some(source) = get("meta.source") {
            sighting.source.feed = source.to_owned();
        }
        if let Some(desc) = get("meta.desc") {
            sighting.source.description = Some(desc.to_owned());
        }
        if let Some(url) = get("meta.url") {
            sighting.source.reference = Some(url.to_owned());
        }
        if let Some(cif_conf) = get("meta.cif_confidence").and_then(|c| c.parse::<f64>().ok()) {
            sighting.source.confidence = (cif_conf.clamp(0.0, 100.0)).round() as u8;
        }
        if let Some(tags) = get("meta.cif_tags") {
            sighting.source.tags.extend(tags.split(',').filter(|t| !t.is_empty()).map(str::to_owned));
        }
        if get("meta.whitelist").is_some_and(|w| w.eq_ignore_ascii_case("t") || w == "true") {
            sighting.assessment = Some("whitelist".into());
        }
        batch.add(observable, sighting);
    }
}

/// Reads an Arkime WISE tagger file: optional `#field:NAME;shortcut:N`
/// lines, then `value;key=value;...` lines where a key is a field name or
/// a shortcut number; `tags` (or the field named `tags`) gives tags, other
/// fields go into the description.
pub(crate) fn read_arkime(bytes: &[u8], batch: &mut Batch<'_>) {
    let mut shortcuts: Vec<(String, String)> = Vec::new();
    for (line, offset, raw) in lines(bytes) {
        let Some(text) = line_text(batch, line, offset, raw) else {
            continue;
        };
        let trimmed = text.trim();
        if let Some(def) = trimmed.strip_prefix("#field:") {
            let mut parts = def.split(';');
            let name = parts.next().unwrap_or("").to_owned();
            for part in parts {
                if let Some(n) = part.strip_prefix("shortcut:") {
                    shortcuts.push((n.to_owned(), name.clone()));
                }
            }
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        batch.record();
        let mut parts = trimmed.split(';');
        let value = parts.next().unwrap_or("");
        let observable = match observe(batch, batch.options.kind, value) {
            Ok(o) => o,
            Err(reason) => {
                batch.reject_line(line, offset, reason);
                continue;
            }
        };
        let mut sighting = batch.sighting(&observable.value);
        let mut extra = Vec::new();
        for part in parts.filter(|p| !p.is_empty()) {
            let Some((key, val)) = part.split_once('=') else {
                batch.reject_line(line, offset, RecordError::BadField { field: part.chars().take(64).collect(), reason: "expected key=value".into() });
                continue;
            };
            let field = shortcuts.iter().find(|(n, _)| n == key).map_or(key, |(_, name)| name.as_str());
            if field == "tags" || field.ends_with(".tags") {
                sighting.source.tags.extend(val.split(',').filter(|t| !t.is_empty()).map(str::to_owned));
            } else {
                extra.push(format!("{field}={val}"));
            }
        }
        if !extra.is_empty() {
            sighting.source.description = Some(extra.join("; "));
        }
        batch.add(observable, sighting);
    }
}

/// Reads a Suricata dataset file of [`crate::LoadOptions::dataset_type`].
/// String datasets hold base64 values (a `,reputation` suffix of datarep
/// files is dropped). The decoded text is classified.
pub(crate) fn read_suricata_dataset(bytes: &[u8], batch: &mut Batch<'_>) {
    let dataset_type = batch.options.dataset_type;
    for (line, offset, raw) in lines(bytes) {
        let Some(text) = line_text(batch, line, offset, raw) else {
            continue;
        };
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        batch.record();
        let cell = trimmed.split(',').next().unwrap_or("");
        let result = match dataset_type {
            DatasetType::String => match base64_decode(cell) {
                Some(decoded) => match String::from_utf8(decoded) {
                    Ok(s) => observe(batch, batch.options.kind, &s),
                    Err(_) => Err(RecordError::BadField { field: "value".into(), reason: "decoded value is not UTF-8".into() }),
                },
                None => Err(RecordError::BadField { field: "value".into(), reason: "not base64".into() }),
            },
            DatasetType::Md5 => normalize_observable(IndicatorKind::Md5, cell).map_err(ValueError::into),
            DatasetType::Sha1 => normalize_observable(IndicatorKind::Sha1, cell).map_err(ValueError::into),
            DatasetType::Sha256 => normalize_observable(IndicatorKind::Sha256, cell).map_err(ValueError::into),
            DatasetType::Ipv4 => normalize_observable(IndicatorKind::Ipv4, cell).map_err(ValueError::into),
            DatasetType::Ip => {
                let kind = if cell.contains(':') { IndicatorKind::Ipv6 } else { IndicatorKind::Ipv4 };
                normalize_observable(kind, cell).map_err(ValueError::into)
            }
        };
        match result {
            Ok(observable) => batch.add_default(observable, &[]),
            Err(reason) => batch.reject_line(line, offset, reason),
        }
    }
}

/// Decodes standard base64 with optional padding; `None` when invalid.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// Encodes standard base64 with padding (for Suricata string datasets).
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{base64_decode, base64_encode};
    use crate::load::{load_bytes, Format, LoadOptions};
    use crate::{DatasetType, IndicatorKind};

    #[test]
    fn base64_round_trip() {
        for text in ["", "a", "ab", "abc", "evil.example", "www.example.com/x?y"] {
            assert_eq!(base64_decode(&base64_encode(text.as_bytes())).unwrap(), text.as_bytes());
        }
        assert_eq!(base64_decode("ZXZpbC5leGFtcGxl").unwrap(), b"evil.example");
        assert!(base64_decode("!!").is_none());
    }

    #[test]
    fn reads_a_suricata_string_dataset() {
        let options = LoadOptions {
            format: Some(Format::SuricataDataset),
            dataset_type: DatasetType::String,
            ..LoadOptions::default()
        };
        let report = load_bytes("ds.lst", b"ZXZpbC5leGFtcGxl\n***\nMTkyLjAuMi4x,10\n", &options).unwrap();
        let values: Vec<_> = report.indicators.iter().map(|i| (i.kind, i.value.as_str())).collect();
        assert_eq!(values, [(IndicatorKind::Domain, "evil.example"), (IndicatorKind::Ipv4, "192.0.2.1")]);
        assert_eq!(report.rejections[0].location.line, Some(2));
    }

    #[test]
    fn zeek_unsupported_type_names_its_field() {
        let text = "#fields\tindicator\tindicator_type\n192.0.2.1\tIntel::ADDR\nx\tIntel::WHATEVER\n";
        let options = LoadOptions { format: Some(Format::ZeekIntel), ..LoadOptions::default() };
        let report = load_bytes("intel.dat", text.as_bytes(), &options).unwrap();
        assert_eq!(report.indicators.len(), 1);
        assert_eq!(report.rejections[0].location.line, Some(3));
        let reason = report.rejections[0].reason.to_string();
        assert_eq!(reason, "indicator_type: unsupported indicator type: Intel::WHATEVER has no picket equivalent");
    }

    #[test]
    fn reads_an_arkime_tagger_file() {
        let text = "#field:tags;shortcut:0\n#field:campaign;shortcut:1\n192.0.2.9;0=bad,c2;1=winter\nevil.example;tags=x\nnothing here\n";
        let options = LoadOptions { format: Some(Format::ArkimeTagger), ..LoadOptions::default() };
        let report = load_bytes("tags.txt", text.as_bytes(), &options).unwrap();
        assert_eq!(report.indicators.len(), 2);
        assert_eq!(report.indicators[0].sightings[0].source.tags, ["bad", "c2"]);
        assert_eq!(report.indicators[0].sightings[0].source.description.as_deref(), Some("campaign=winter"));
        assert_eq!(report.rejections.len(), 1);
    }
}
