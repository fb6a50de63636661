//! Event time: a UTC instant with nanosecond resolution.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant, in nanoseconds since the Unix epoch.
///
/// Time in picket always comes from the events, never from the wall clock, so
/// that replaying an old log behaves like the day it was written. The range is
/// that of an `i64` of nanoseconds: the years 1677 to 2262.
///
/// Human-readable formats (JSON) carry it as an RFC 3339 string in UTC
/// (`2012-08-14T10:46:00.097Z`); compact binary formats carry the `i64`.
/// Deserialization accepts both forms from any format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch, used where a source gives no time at all.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// Builds a timestamp from nanoseconds since the Unix epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// Builds a timestamp from whole seconds and a nanosecond part, or `None`
    /// when the instant is outside the representable range.
    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Option<Self> {
        secs.checked_mul(1_000_000_000)
            .and_then(|n| n.checked_add(i64::from(nanos)))
            .map(Timestamp)
    }

    /// Builds a timestamp from milliseconds since the Unix epoch, or `None`
    /// when out of range.
    pub fn from_millis(millis: i64) -> Option<Self> {
        millis.checked_mul(1_000_000).map(Timestamp)
    }

    /// Builds a timestamp from fractional seconds since the epoch, as Zeek and
    /// CIRCL passive DNS write them; `None` for NaN, infinities or out of range.
    pub fn from_secs_f64(secs: f64) -> Option<Self> {
        if !secs.is_finite() {
            return None;
        }
        let whole = secs.floor();
        let frac = secs - whole;
        if whole < i64::MIN as f64 / 1e9 || whole > i64::MAX as f64 / 1e9 {
            return None;
        }
        // The cast is in range: checked above, and frac is in [0, 1).
        #[allow(clippy::cast_possible_truncation)]
        let nanos = (frac * 1e9).round() as u32;
        #[allow(clippy::cast_possible_truncation)]
        Self::from_secs_nanos(whole as i64, nanos.min(999_999_999))
    }

    /// Parses an RFC 3339 / ISO 8601 instant with an offset (`Z` or `+02:00`).
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let parsed: jiff::Timestamp = text.parse().map_err(|_| TimestampError {
            text: text.chars().take(64).collect(),
        })?;
        Ok(Self::from_jiff(parsed))
    }

    /// Converts from a `jiff` timestamp.
    pub fn from_jiff(ts: jiff::Timestamp) -> Self {
        // jiff's range (years -9999..=9999) is wider than ours; saturate.
        let nanos = ts.as_nanosecond();
        Timestamp(nanos.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    /// Converts to a `jiff` timestamp for calendar arithmetic and formatting.
    pub fn to_jiff(self) -> jiff::Timestamp {
        // Every i64 of nanoseconds is inside jiff's range, so this cannot fail.
        jiff::Timestamp::from_nanosecond(i128::from(self.0)).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch, rounded towards minus infinity.
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// The UTC day this instant falls in, as days since the Unix epoch.
    /// Day partitions in the store use this number.
    pub const fn day_number(self) -> i64 {
        self.0.div_euclid(86_400 * 1_000_000_000)
    }

    /// Fractional seconds since the Unix epoch.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Signed difference `self - earlier` in nanoseconds, saturating.
    pub const fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Timestamp {
    /// Formats as RFC 3339 in UTC with as many fractional digits as needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_jiff())
    }
}

/// A timestamp string that is not an RFC 3339 instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {text:?}: expected RFC 3339, such as 2012-08-14T10:46:00Z")]
pub struct TimestampError {
    /// The rejected text, cut to 64 characters.
    pub text: String,
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 string or an integer of nanoseconds since the Unix epoch")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
        Ok(Timestamp(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
        i64::try_from(v)
            .map(Timestamp)
            .map_err(|_| E::custom(format!("timestamp {v} is out of range")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        Timestamp::parse_rfc3339(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let ts = Timestamp::parse_rfc3339("2012-08-14T10:46:00.097Z").unwrap();
        assert_eq!(ts.to_string(), "2012-08-14T10:46:00.097Z");
        assert_eq!(ts.as_secs(), 1_344_941_160);
    }

    #[test]
    fn offset_is_converted_to_utc() {
        let ts = Timestamp::parse_rfc3339("2012-08-14T12:46:00+02:00").unwrap();
        assert_eq!(ts.to_string(), "2012-08-14T10:46:00Z");
    }

    #[test]
    fn fractional_seconds() {
        let ts = Timestamp::from_secs_f64(1_258_535_654.268_192).unwrap();
        assert_eq!(ts.as_secs(), 1_258_535_654);
        assert!(Timestamp::from_secs_f64(f64::NAN).is_none());
        assert!(Timestamp::from_secs_f64(1e30).is_none());
    }

    #[test]
    fn day_number_before_epoch() {
        assert_eq!(Timestamp::from_nanos(-1).day_number(), -1);
        assert_eq!(Timestamp::from_nanos(0).day_number(), 0);
    }

    #[test]
    fn json_and_binary_forms() {
        let ts = Timestamp::from_millis(1_344_941_160_097).unwrap();
        let json = serde_json::to_string(&ts).unwrap();
        assert_eq!(json, "\"2012-08-14T10:46:00.097Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), ts);

        let packed = rmp_serde::to_vec(&ts).unwrap();
        assert_eq!(rmp_serde::from_slice::<Timestamp>(&packed).unwrap(), ts);
    }

    #[test]
    fn invalid_text_is_rejected() {
        let err = Timestamp::parse_rfc3339("14/08/2012").unwrap_err();
        assert!(err.to_string().contains("14/08/2012"));
    }
}
