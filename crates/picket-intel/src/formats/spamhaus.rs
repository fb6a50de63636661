//! Spamhaus DROP, EDROP and DROPv6: the text form (`cidr ; SBL-id`) and
//! the NDJSON form with its metadata trailer.

use crate::error::RecordError;
use crate::formats::plain::line_text;
use crate::load::{lines, Batch};
use crate::normalize::normalize_observable;
use crate::IndicatorKind;

/// Spamhaus's public page for one SBL record.
const SBL_URL: &str = "https://check.spamhaus.org/sbl/query/";

fn add_network(batch: &mut Batch<'_>, cidr: &str, sbl: Option<&str>, rir: Option<&str>) -> Result<(), RecordError> {
    let observable = normalize_observable(IndicatorKind::Cidr, cidr)?;
    let mut sighting = batch.sighting(&observable.value);
    sighting.assessment.get_or_insert_with(|| "hijacked".into());
    if !sighting.source.tags.iter().any(|t| t == "drop") {
        sighting.source.tags.push("drop".into());
    }
    if let Some(sbl) = sbl.filter(|s| !s.is_empty()) {
        sighting.source.description = Some(sbl.to_owned());
        if sighting.source.reference.is_none() {
            sighting.source.reference = Some(format!("{SBL_URL}{sbl}"));
        }
    }
    if let Some(rir) = rir.filter(|r| !r.is_empty()) {
        sighting.source.tags.push(format!("rir:{rir}"));
    }
    batch.add(observable, sighting);
    Ok(())
}

/// Reads the text form. ASN-DROP lines (`AS123 ; ...`) are rejected as
/// unsupported: picket has no autonomous-system indicator.
pub(crate) fn read_text(bytes: &[u8], batch: &mut Batch<'_>) {
    for (line, offset, raw) in lines(bytes) {
        let Some(text) = line_text(batch, line, offset, raw) else {
            continue;
        };
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
            continue;
        }
        batch.record();
        let (value, comment) = match trimmed.split_once(';') {
            Some((v, c)) => (v.trim(), Some(c.trim())),
            None => (trimmed, None),
        };
        let bytes = value.as_bytes();
        if bytes.len() > 2 && bytes[..2].eq_ignore_ascii_case(b"AS") && bytes[2..].iter().all(u8::is_ascii_digit) {
            batch.reject_line(line, offset, RecordError::Unsupported {
                path: "network".to_owned(),
                what: "indicator type",
                detail: format!("{value} is an autonomous system number"),
            });
            continue;
        }
        if let Err(reason) = add_network(batch, value, comment, None) {
            batch.reject_line(line, offset, reason);
        }
    }
}

/// One object of the NDJSON form.
#[derive(serde::Deserialize)]
struct Entry {
    #[serde(default)]
    cidr: Option<String>,
    #[serde(default)]
    sblid: Option<String>,
    #[serde(default)]
    rir: Option<String>,
    #[serde(default, rename = "type")]
    record_type: Option<String>,
    #[serde(default)]
    records: Option<u64>,
}

/// Reads the NDJSON form. The trailer's `records` is the declared count.
pub(crate) fn read_json(bytes: &[u8], batch: &mut Batch<'_>) {
    for (line, offset, raw) in lines(bytes) {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if raw.len() > batch.options.max_line_bytes {
            batch.reject_line(line, offset, RecordError::TooLong { len: raw.len(), limit: batch.options.max_line_bytes });
            continue;
        }
        let entry: Entry = match serde_json::from_slice(raw) {
            Ok(e) => e,
            Err(e) => {
                batch.record();
                batch.reject_line(line, offset, RecordError::Json { reason: e.to_string() });
                continue;
            }
        };
        if entry.record_type.as_deref() == Some("metadata") {
            batch.report.declared_entries = entry.records;
            continue;
        }
        batch.record();
        let Some(cidr) = entry.cidr else {
            batch.reject_line(line, offset, RecordError::MissingField { field: "cidr".into() });
            continue;
        };
        if let Err(reason) = add_network(batch, &cidr, entry.sblid.as_deref(), entry.rir.as_deref()) {
            batch.reject_line(line, offset, reason);
        }
    }
}
