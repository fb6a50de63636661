//! Times in feeds: the forms feeds write, read as UTC instants.

use picket_event::Timestamp;

/// Years whose every second fits a [`Timestamp`] (nanoseconds in an
/// `i64` reach from 1677-09-21 to 2262-04-11), so that the civil-time
/// arithmetic of [`parse_common`] never has to clamp as jiff's path does.
const COMMON_YEARS: std::ops::RangeInclusive<i64> = 1678..=2261;

/// Parses the time formats feeds use: RFC 3339, `YYYY-MM-DD HH:MM:SS`,
/// `YYYY-MM-DD HH:MM` and `YYYY-MM-DD` (all UTC), and Unix seconds.
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    parse_common(text).or_else(|| parse_general(text))
}

/// Reads the form nearly every feed writes, `YYYY-MM-DD HH:MM:SS` or
/// `YYYY-MM-DDTHH:MM:SS`, with or without a trailing `Z`, as UTC. It
/// returns `None` for every other text, including dates that do not exist
/// and leap seconds, which [`parse_general`] then reads.
///
/// Every text it reads gives the instant [`parse_general`] gives (a test
/// compares the two), at a small part of jiff's cost. The generated CSV
/// benchmark feed spent 29 % of its parse thread's instructions in jiff
/// (callgrind).
fn parse_common(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let bytes = bytes.strip_suffix(b"Z").unwrap_or(bytes);
    let [
        y1,
        y2,
        y3,
        y4,
        b'-',
        m1,
        m2,
        b'-',
        d1,
        d2,
        b' ' | b'T',
        h1,
        h2,
        b':',
        i1,
        i2,
        b':',
        s1,
        s2,
    ] = *bytes
    else {
        return None;
    };

    let year = number(&[y1, y2, y3, y4])?;
    let month = number(&[m1, m2])?;
    let day = number(&[d1, d2])?;
    let hour = number(&[h1, h2])?;
    let minute = number(&[i1, i2])?;
    let second = number(&[s1, s2])?;
    let valid = COMMON_YEARS.contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 59;
    if !valid {
        return None;
    }

    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    Timestamp::from_secs_nanos(seconds, 0)
}

/// Reads ASCII decimal digits, `None` when one is not a digit.
fn number(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0_i64, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + i64::from(byte - b'0'))
    })
}

/// Days in `month` (1 to 12) of `year` in the proleptic Gregorian calendar.
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
/// Years are counted from March, so that the leap day is the last day of
/// a year, and in eras of 400 years, which all have 146,097 days.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Reads every form [`parse_time`] takes through jiff. `text` is trimmed.
fn parse_general(text: &str) -> Option<Timestamp> {
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
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = jiff::civil::DateTime::strptime(format, civil) {
            return dt
                .to_zoned(jiff::tz::TimeZone::UTC)
                .ok()
                .map(|z| Timestamp::from_jiff(z.timestamp()));
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
    use super::{parse_common, parse_general, parse_time};

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

    #[test]
    fn common_form_reads_each_separator() {
        let want = parse_general("2024-04-04T07:03:03Z");
        assert!(want.is_some());
        for text in [
            "2024-04-04T07:03:03Z",
            "2024-04-04 07:03:03",
            "2024-04-04T07:03:03",
            "2024-04-04 07:03:03Z",
        ] {
            assert_eq!(parse_common(text), want, "{text}");
        }
    }

    #[test]
    fn common_form_leaves_the_rest_to_jiff() {
        for text in [
            "2023-02-29 00:00:00",
            "2024-04-31 00:00:00",
            "2024-13-01 00:00:00",
            "2024-04-04 24:00:00",
            "2016-12-31 23:59:60",
            "2024-04-04T07:03:03+02:00",
            "2024-04-04 07:03:03.5",
            "2024-04-04t07:03:03z",
            "1677-01-01 00:00:00",
            "+2024-04-04 07:03:03",
        ] {
            assert_eq!(parse_common(text), None, "{text}");
        }
    }

    #[test]
    fn common_form_reads_leap_days() {
        assert_eq!(
            parse_common("2024-02-29 12:00:00"),
            parse_general("2024-02-29 12:00:00")
        );
        assert_eq!(
            parse_common("2000-02-29 12:00:00"),
            parse_general("2000-02-29 12:00:00")
        );
        assert_eq!(parse_common("1900-02-29 12:00:00"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        #[test]
        fn common_form_agrees_with_jiff(
            year in 1600..2300i64,
            month in 0..14i64,
            day in 0..33i64,
            hour in 0..25i64,
            minute in 0..61i64,
            second in 0..61i64,
            separator in proptest::sample::select(vec![" ", "T"]),
            zone in proptest::sample::select(vec!["", "Z"]),
        ) {
            let text = format!("{year:04}-{month:02}-{day:02}{separator}{hour:02}:{minute:02}:{second:02}{zone}");
            if let Some(fast) = parse_common(&text) {
                proptest::prop_assert_eq!(Some(fast), parse_general(&text), "{}", text);
            }
            let in_range = (1678..=2261).contains(&year) && second < 60;
            if in_range && parse_general(&text).is_some() {
                proptest::prop_assert!(parse_common(&text).is_some(), "{} left to jiff", text);
            }
        }
    }
}
