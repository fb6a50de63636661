//! Reader settings, with their documented defaults.

use crate::tz::TimeZoneSetting;

/// The handling of lines that are not valid UTF-8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Utf8Policy {
    /// Reject the line with [`crate::RecordError::InvalidUtf8`] and its
    /// position. The default: every supported format writes UTF-8 or ASCII
    /// (Squid and BlueCoat percent-encode URLs), so invalid bytes mean a
    /// corrupt line, and an analyst should see it rather than an event
    /// built from guessed text.
    #[default]
    Reject,
    /// Replace each invalid sequence with U+FFFD and parse the line. For old
    /// logs known to hold Latin-1 user names or URLs.
    Lossy,
}

/// Settings shared by every log reader.
#[derive(Clone, Debug)]
pub struct ReaderConfig {
    /// Time zone of local wall-clock times: TMG `logTime` and the 16-column
    /// `LocalTime`, used only when the record has no GMT time column filled.
    /// W3C extended logs, Zeek, Squid and Suricata record UTC or an explicit
    /// offset and ignore this. Default: UTC.
    pub timezone: TimeZoneSetting,
    /// Longest line accepted, in bytes. A longer line is rejected with
    /// [`crate::RecordError::LineTooLong`] and skipped as it streams past,
    /// without being held in memory. Default: 1 MiB.
    pub max_line_len: usize,
    /// What to do with lines that are not valid UTF-8. Default: reject.
    pub utf8: Utf8Policy,
    /// Suricata EVE v1 DNS: how many unanswered queries are held while
    /// waiting for their answer records before the oldest is emitted as
    /// query-only. Default: 4096.
    pub eve_pending_queries: usize,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            timezone: TimeZoneSetting::Utc,
            max_line_len: 1 << 20,
            utf8: Utf8Policy::Reject,
            eve_pending_queries: 4096,
        }
    }
}
