//! Errors: opening an input ([`SourceError`]) and rejecting one record ([`RecordError`]).

use std::path::PathBuf;

/// An input that could not be opened or read at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened or its first bytes read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The input path (`-` for standard input).
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// No reader recognised the content and no format was given.
    #[error(
        "cannot tell the log format of {path}; name it with --input-format (first line: {first_line:?})"
    )]
    UnknownFormat {
        /// The input path.
        path: PathBuf,
        /// The first line of the decompressed content, cut to 120 characters.
        first_line: String,
    },
    /// The input is a packet capture, which `picket-decode` reads, not this crate.
    #[error("{path} is a packet capture, not a log")]
    Capture {
        /// The input path.
        path: PathBuf,
    },
}

/// Why one record (a line, or a JSON object) was rejected.
///
/// Every variant carries the offending value, cut to a readable length, so
/// the run summary can show what was wrong without the whole line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The line had fewer or more columns than the format allows.
    #[error("expected {expected} columns, found {found}")]
    ColumnCount {
        /// What the format or header asks for, such as `30` or `at least 9`.
        expected: String,
        /// Columns found.
        found: usize,
    },
    /// A timestamp field did not parse.
    #[error("bad timestamp {value:?}")]
    BadTimestamp {
        /// The field text.
        value: String,
    },
    /// A numeric, address or flag field did not parse.
    #[error("bad {field} {value:?}")]
    BadField {
        /// The column name.
        field: &'static str,
        /// The field text.
        value: String,
    },
    /// A required field was empty or missing.
    #[error("missing {field}")]
    MissingField {
        /// The column name.
        field: &'static str,
    },
    /// The line held bytes that are not UTF-8 and the reader rejects those.
    #[error("invalid UTF-8 at byte {position} of the line")]
    InvalidUtf8 {
        /// Byte position of the first invalid byte within the line.
        position: usize,
    },
    /// The line was longer than [`crate::ReaderConfig::max_line_len`].
    #[error("line of {len} bytes exceeds the limit of {limit} bytes")]
    LineTooLong {
        /// Length of the line in bytes (up to the newline or end of input).
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// The line held control bytes that no text log contains.
    #[error("binary data (byte 0x{byte:02x} at {position})")]
    Binary {
        /// The first offending byte.
        byte: u8,
        /// Its position within the line.
        position: usize,
    },
    /// A data line came before the header that names its columns.
    #[error("data before any {header} header")]
    NoHeader {
        /// The header the format needs, such as `#Fields:`.
        header: &'static str,
    },
    /// A header line was malformed.
    #[error("bad header {value:?}")]
    BadHeader {
        /// The header text.
        value: String,
    },
    /// A JSON record did not parse.
    #[error("bad JSON: {message}")]
    Json {
        /// The parser's message, with column.
        message: String,
    },
    /// The record is of a kind this reader does not turn into events, and
    /// the whole input is skipped for that reason.
    #[error("unsupported {what} {value:?}")]
    Unsupported {
        /// What is unsupported, such as `zeek log path`.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// Reading stopped early: a read error or a truncated compressed stream.
    #[error("input ends early: {message}")]
    Truncated {
        /// The underlying error's message.
        message: String,
    },
}

/// Cuts a field to at most 120 bytes on a character boundary, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    if text.len() <= 120 {
        return text.to_owned();
    }
    let mut end = 120;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Builds a [`RecordError::BadField`].
pub(crate) fn bad(field: &'static str, value: &str) -> RecordError {
    RecordError::BadField {
        field,
        value: excerpt(value),
    }
}
