//! One reader per import format; [`read`] dispatches on [`Format`].

mod delimited;
mod misp;
mod openioc;
mod plain;
mod sensor;
mod spamhaus;
mod stix;

pub(crate) use delimited::{PICKET_CSV_COLUMNS, is_picket_csv};
pub(crate) use sensor::base64_encode;
#[cfg(test)]
pub(crate) use stix::parse_pattern;

use serde::{Deserialize, Serialize};

use picket_event::Timestamp;

use crate::error::IntelError;
use crate::load::{Batch, Format};


/// Column map of a delimited feed. Columns are 1-based numbers or header
/// names (the latter need `header: true`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Columns {
    /// Column or columns holding observables. Each non-empty cell becomes
    /// an indicator.
    pub value: ColumnList,
    /// Column naming the indicator type (see `IndicatorKind`'s names);
    /// guessed from the value when absent.
    #[serde(default)]
    pub kind: Option<Column>,
    /// Column of tags, separated by `,`, `|` or `;`.
    #[serde(default)]
    pub tags: Option<Column>,
    /// Column of free text.
    #[serde(default)]
    pub description: Option<Column>,
    /// Column of the first-seen time.
    #[serde(default)]
    pub first_seen: Option<Column>,
    /// Column of the last-seen time.
    #[serde(default)]
    pub last_seen: Option<Column>,
    /// Column of a 0-100 confidence.
    #[serde(default)]
    pub confidence: Option<Column>,
    /// Column of a URL back to the source.
    #[serde(default)]
    pub reference: Option<Column>,
    /// The first data row is a header of column names.
    #[serde(default)]
    pub header: bool,
}

/// One column: a 1-based number or a header name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Column {
    /// 1-based column number.
    Index(usize),
    /// Header name.
    Name(String),
}

/// One column or several.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnList {
    /// A single column.
    One(Column),
    /// Several columns, each giving its own indicator.
    Many(Vec<Column>),
}

impl ColumnList {
    /// The columns as a slice.
    pub fn as_slice(&self) -> &[Column] {
        match self {
            ColumnList::One(c) => std::slice::from_ref(c),
            ColumnList::Many(v) => v,
        }
    }
}

/// Content type of a Suricata dataset file (`dataset:... type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetType {
    /// Base64-encoded strings, one a line (`type string`).
    #[default]
    String,
    /// MD5 hex digests.
    Md5,
    /// SHA-1 hex digests.
    Sha1,
    /// SHA-256 hex digests.
    Sha256,
    /// IPv4 addresses.
    Ipv4,
    /// IPv6 (or IPv4) addresses.
    Ip,
}

/// Reads `bytes` as `format` into the batch.
pub(crate) fn read(format: Format, bytes: &[u8], batch: &mut Batch<'_>) -> Result<(), IntelError> {
    match format {
        Format::Plain => plain::read_plain(bytes, batch),
        Format::Regex => {
            let pattern = batch.options.regex.as_deref().unwrap_or("");
            let regex = regex::Regex::new(pattern).map_err(|e| IntelError::InvalidDocument {
                path: batch.file.to_string().into(),
                format: "regex",
                reason: format!("the feed's regex does not compile: {e}"),
            })?;
            plain::read_regex(bytes, batch, &regex);
        }
        Format::Delimited => delimited::read_delimited(bytes, batch)?,
        Format::FeodoCsv => delimited::read_feodo(bytes, batch),
        Format::PicketCsv => delimited::read_picket_csv(bytes, batch),
        Format::Bambenek => delimited::read_bambenek(bytes, batch),
        Format::Dshield => delimited::read_dshield(bytes, batch),
        Format::SpamhausDrop => spamhaus::read_text(bytes, batch),
        Format::SpamhausJson => spamhaus::read_json(bytes, batch),
        Format::ZeekIntel => sensor::read_zeek_intel(bytes, batch),
        Format::ArkimeTagger => sensor::read_arkime(bytes, batch),
        Format::SuricataDataset => sensor::read_suricata_dataset(bytes, batch),
        Format::Stix2 => stix::read(bytes, batch)?,
        Format::Openioc => openioc::read(bytes, batch)?,
        Format::Misp => misp::read(bytes, batch)?,
    }
    Ok(())
}

/// Parses the time formats feeds use: RFC 3339, `YYYY-MM-DD HH:MM:SS`,
/// `YYYY-MM-DD HH:MM` and `YYYY-MM-DD` (all UTC), and Unix seconds.
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(ts) = Timestamp::parse_rfc3339(text) {
        return Some(ts);
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return text.parse::<f64>().ok().and_then(Timestamp::from_secs_f64);
    }
    let bare = text.trim_end_matches(" UTC").trim_end_matches('Z');
    let civil = match bare.as_bytes().get(10) {
        Some(b'T') => format!("{} {}", &bare[..10], &bare[11..]),
        _ => bare.to_owned(),
    };
    let civil = civil.as_str();
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = jiff::civil::DateTime::strptime(format, civil) {
            return dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| Timestamp::from_jiff(z.timestamp()));
        }
    }
    if let Ok(d) = jiff::civil::Date::strptime("%Y-%m-%d", civil) {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| Timestamp::from_jiff(z.timestamp()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn parses_feed_times() {
        let want = parse_time("2024-04-04T07:03:03Z").unwrap();
        assert_eq!(parse_time("2024-04-04 07:03:03"), Some(want));
        assert_eq!(parse_time("2024-04-04 07:03:03 UTC"), Some(want));
        assert_eq!(parse_time("1712214183"), Some(want));
        assert!(parse_time("2024-04-04").is_some());
        assert!(parse_time("2016-11-12 15:02").is_some());
        assert_eq!(parse_time("yesterday"), None);
    }
}
