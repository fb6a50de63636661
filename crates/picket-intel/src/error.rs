//! Errors: whole-file failures ([`IntelError`]), one bad record
//! ([`RecordError`]) and one bad observable ([`ValueError`]).

use std::path::PathBuf;

use crate::IndicatorKind;

/// A failure that stops reading, pulling or writing one whole input.
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The input is larger than the configured cap.
    #[error("{path}: {size} bytes exceed the limit of {limit} bytes")]
    TooLarge {
        /// The file or URL.
        path: PathBuf,
        /// Bytes seen so far (at least `limit + 1`).
        size: u64,
        /// The cap, [`crate::LoadOptions::max_bytes`] or the feed's `max-bytes`.
        limit: u64,
    },
    /// The input is a whole document (JSON, XML) that cannot be read at all.
    #[error("{path}: not a valid {format} document: {reason}")]
    InvalidDocument {
        /// The file.
        path: PathBuf,
        /// The format that was expected.
        format: &'static str,
        /// What is wrong, with its location inside the document.
        reason: String,
    },
    /// The format could not be recognised and none was named.
    #[error("{path}: unknown intelligence format; name it with a feed rule or --format")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A feed rule file is wrong. Every problem is listed.
    #[error("{path}: {} problem(s) in the feed rule:\n  {}", problems.len(), problems.join("\n  "))]
    Rule {
        /// The rule file.
        path: PathBuf,
        /// One line per problem, each naming the field.
        problems: Vec<String>,
    },
    /// A download failed after every retry.
    #[error("cannot download {url}: {reason}")]
    Download {
        /// The feed URL.
        url: String,
        /// The last failure.
        reason: String,
    },
    /// A warninglist is malformed.
    #[error("{path}: invalid warninglist: {reason}")]
    Warninglist {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An export could not be written.
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
    /// Failure to read the indicators of an export from their source, such
    /// as the store.
    #[error("failed to read the indicators to export: {0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why one record of a feed was rejected. The record's location travels in
/// the [`picket_event::Rejection`] that carries this error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    /// The observable is not a valid value of its kind.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// The value is not recognisable as any kind of indicator.
    #[error("{value:?} is not an IP address, network, domain, URL, e-mail address or hash")]
    Unclassified {
        /// The value, cut to 200 characters.
        value: String,
    },
    /// A required field or column is absent or empty.
    #[error("missing field {field}")]
    MissingField {
        /// The field name or JSON path.
        field: String,
    },
    /// A field has a value of the wrong shape.
    #[error("field {field}: {reason}")]
    BadField {
        /// The field name or JSON path.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A STIX pattern or an OpenIOC term that picket cannot express as
    /// indicators. The record is reported instead of dropped silently.
    #[error("{path}: unsupported {what}: {detail}")]
    Unsupported {
        /// JSON path or XML element path of the construct.
        path: String,
        /// What kind of construct (`pattern`, `term`, `attribute type`).
        what: &'static str,
        /// The construct and why it cannot be used.
        detail: String,
    },
    /// A line of a delimited file has fewer columns than the column map needs.
    #[error("{found} column(s), column {needed} is needed")]
    TooFewColumns {
        /// Columns on the line.
        found: usize,
        /// The 1-based column that is missing.
        needed: usize,
    },
    /// A delimited (CSV) record cannot be read, such as one that is not
    /// UTF-8.
    #[error("invalid delimited record: {reason}")]
    Delimited {
        /// The reader's message.
        reason: String,
    },
    /// A record is not valid JSON.
    #[error("invalid JSON: {reason}")]
    Json {
        /// The parser's message.
        reason: String,
    },
    /// The record is longer than the configured cap.
    #[error("record of {len} bytes exceeds the limit of {limit}")]
    TooLong {
        /// Record length in bytes.
        len: usize,
        /// [`crate::LoadOptions::max_line_bytes`].
        limit: usize,
    },
    /// A whole document inside a multi-document input is invalid.
    #[error("invalid {format} document: {reason}")]
    Document {
        /// Format name.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// An observable that cannot be normalised as the given kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {} {value:?}: {reason}", kind.as_str())]
pub struct ValueError {
    /// The kind it was read as.
    pub kind: IndicatorKind,
    /// The offending text, cut to 200 characters.
    pub value: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl ValueError {
    pub(crate) fn new(kind: IndicatorKind, value: &str, reason: &'static str) -> Self {
        ValueError {
            kind,
            value: cut(value),
            reason,
        }
    }
}

/// Cuts a value to 200 characters for error messages.
pub(crate) fn cut(value: &str) -> String {
    value.chars().take(200).collect()
}
