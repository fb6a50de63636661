//! One reader per import format; [`read`] dispatches on [`Format`].

mod delimited;
mod misp;
mod openioc;
mod plain;
mod sensor;
mod spamhaus;
mod stix;
mod time;

pub(crate) use delimited::{PICKET_CSV_COLUMNS, is_picket_csv};
pub(crate) use sensor::base64_encode;
#[cfg(test)]
pub(crate) use stix::parse_pattern;
pub(crate) use time::parse_time;

use serde::{Deserialize, Serialize};

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

impl Columns {
    /// Returns a column map that reads observables from `value` alone.
    pub fn of_value(value: ColumnList, header: bool) -> Columns {
        Columns {
            value,
            kind: None,
            tags: None,
            description: None,
            first_seen: None,
            last_seen: None,
            confidence: None,
            reference: None,
            header,
        }
    }
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
