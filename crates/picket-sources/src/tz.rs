//! The time zone of logs that record local wall-clock time (TMG `logTime`).

use std::fmt;
use std::str::FromStr;

use crate::fields::CivilTime;

/// The time zone a log's local times are read in.
///
/// Parses from `UTC`, a fixed offset (`+02:00`, `-0500`, `+2`) or an IANA
/// zone name (`Europe/Berlin`, read from the system time-zone database).
#[derive(Clone, Debug, Default)]
pub enum TimeZoneSetting {
    /// Coordinated Universal Time.
    #[default]
    Utc,
    /// A fixed offset east of UTC, in seconds.
    Fixed(i32),
    /// A named zone with its daylight-saving rules.
    Zone(jiff::tz::TimeZone),
}

impl TimeZoneSetting {
    /// UTC.
    pub fn utc() -> Self {
        TimeZoneSetting::Utc
    }

    /// Offset east of UTC, in seconds, in force at a local wall-clock time.
    ///
    /// Times that fall in a daylight-saving gap or fold resolve the way
    /// most systems do (the earlier offset for a fold, the offset before the
    /// gap for a gap).
    pub(crate) fn offset_seconds_for_local(
        &self,
        _local_secs: i64,
        civil: &CivilTime,
    ) -> Option<i64> {
        match self {
            TimeZoneSetting::Utc => Some(0),
            TimeZoneSetting::Fixed(secs) => Some(i64::from(*secs)),
            TimeZoneSetting::Zone(tz) => {
                let dt = jiff::civil::DateTime::new(
                    i16::try_from(civil.year).ok()?,
                    i8::try_from(civil.month).ok()?,
                    i8::try_from(civil.day).ok()?,
                    i8::try_from(civil.hour).ok()?,
                    i8::try_from(civil.minute).ok()?,
                    i8::try_from(civil.second.min(59)).ok()?,
                    0,
                )
                .ok()?;
                let zoned = tz.to_ambiguous_zoned(dt).compatible().ok()?;
                Some(i64::from(zoned.offset().seconds()))
            }
        }
    }
}

/// A time-zone text that is neither UTC, an offset nor a known zone.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unknown time zone {0:?}: give UTC, an offset such as +02:00, or an IANA name such as Europe/Berlin"
)]
pub struct TimeZoneError(pub String);

impl FromStr for TimeZoneSetting {
    type Err = TimeZoneError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("utc")
            || t.eq_ignore_ascii_case("z")
            || t.eq_ignore_ascii_case("gmt")
        {
            return Ok(TimeZoneSetting::Utc);
        }
        if let Some(sign) = t
            .strip_prefix(['+', '-'])
            .map(|_| if t.starts_with('-') { -1 } else { 1 })
        {
            let digits: String = t[1..].chars().filter(|c| *c != ':').collect();
            let (h, m) = match digits.len() {
                1 | 2 => (digits.parse::<i32>().ok(), Some(0)),
                4 => (digits[..2].parse().ok(), digits[2..].parse().ok()),
                _ => (None, None),
            };
            return match (h, m) {
                (Some(h), Some(m)) if h <= 14 && m < 60 => {
                    Ok(TimeZoneSetting::Fixed(sign * (h * 3600 + m * 60)))
                }
                _ => Err(TimeZoneError(t.to_owned())),
            };
        }
        jiff::tz::TimeZone::get(t)
            .map(TimeZoneSetting::Zone)
            .map_err(|_| TimeZoneError(t.to_owned()))
    }
}

impl fmt::Display for TimeZoneSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeZoneSetting::Utc => f.write_str("UTC"),
            TimeZoneSetting::Fixed(secs) => {
                let sign = if *secs < 0 { '-' } else { '+' };
                let abs = secs.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
            }
            TimeZoneSetting::Zone(tz) => f.write_str(tz.iana_name().unwrap_or("local")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::parse_local_datetime;

    #[test]
    fn parse_forms() {
        assert!(matches!("UTC".parse(), Ok(TimeZoneSetting::Utc)));
        assert!(matches!("+02:00".parse(), Ok(TimeZoneSetting::Fixed(7200))));
        assert!(matches!(
            "-0530".parse(),
            Ok(TimeZoneSetting::Fixed(-19800))
        ));
        assert!("Mars/Olympus".parse::<TimeZoneSetting>().is_err());
    }

    #[test]
    fn named_zone_applies_daylight_saving() {
        let Ok(tz) = "Europe/Berlin".parse::<TimeZoneSetting>() else {
            return; // no time-zone database on this machine
        };
        let summer = parse_local_datetime("2012-08-14 10:46:00").unwrap();
        assert_eq!(
            summer.to_timestamp(&tz).unwrap().to_string(),
            "2012-08-14T08:46:00Z"
        );
        let winter = parse_local_datetime("1/14/2012 10:46").unwrap();
        assert_eq!(
            winter.to_timestamp(&tz).unwrap().to_string(),
            "2012-01-14T09:46:00Z"
        );
    }
}
