//! Field helpers every reader shares: URLs, content types, numbers, addresses and times.

use std::net::{IpAddr, Ipv4Addr};

use picket_event::{HttpEvent, Timestamp};

use crate::error::{RecordError, bad};
use crate::strings::Strings;
use crate::tz::TimeZoneSetting;

/// `-` and the empty string mean "no value" in every log format here.
#[inline]
pub fn opt(field: &str) -> Option<&str> {
    match field {
        "" | "-" => None,
        other => Some(other),
    }
}

/// An owned optional field, `-` and empty as `None`.
#[inline]
pub fn opt_string(field: &str) -> Option<String> {
    opt(field).map(str::to_owned)
}

/// Returns an owned field that the log always records, with `-` and empty
/// as `Some("")`. `None` is left to mean that the log has no such field.
#[inline]
pub fn recorded_string(field: &str) -> Option<String> {
    Some(opt(field).unwrap_or("").to_owned())
}

/// Splits `text` around the first `byte`, an ASCII character. It does
/// what `str::split_once` does with a `char`, but with a plain byte search
/// in place of the general pattern searcher.
///
/// A byte outside ASCII is never a whole character of UTF-8 text, so it
/// gives `None` rather than a split inside a character.
#[inline]
pub fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    if !byte.is_ascii() {
        return None;
    }
    // Columns are short: a plain loop beats a vector search's setup.
    let i = text.bytes().position(|b| b == byte)?;
    // An ASCII byte is a character boundary on both sides.
    Some((&text[..i], &text[i + 1..]))
}

/// Parses an unsigned decimal integer; `-` and empty give `None`.
#[inline]
pub fn opt_u64(field: &'static str, value: &str) -> Result<Option<u64>, RecordError> {
    match opt(value) {
        None => Ok(None),
        Some(v) => parse_u64(v).map(Some).ok_or_else(|| bad(field, value)),
    }
}

/// Parses a decimal integer without sign or spaces.
#[inline]
pub fn parse_u64(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    if bytes.len() > 19 {
        // Leading zeros can make a long text fit. `str::parse` checks for
        // overflow, but it would also accept a leading `+`.
        return bytes
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| text.parse().ok())
            .flatten();
    }
    let mut n = 0u64;
    for &b in bytes {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    Some(n)
}

/// An HTTP status; `0`, `000`, `-` and empty give `None` (no response).
#[inline]
pub fn opt_status(field: &'static str, value: &str) -> Result<Option<u16>, RecordError> {
    match opt(value) {
        None => Ok(None),
        Some(v) => match parse_u64(v) {
            Some(0) => Ok(None),
            Some(n) => u16::try_from(n).map(Some).map_err(|_| bad(field, value)),
            None => Err(bad(field, value)),
        },
    }
}

/// A port number; `-`, empty and `0` give `None`.
#[inline]
pub fn opt_port(field: &'static str, value: &str) -> Result<Option<u16>, RecordError> {
    match opt(value) {
        None => Ok(None),
        Some(v) => match parse_u64(v) {
            Some(0) => Ok(None),
            Some(n) => u16::try_from(n).map(Some).map_err(|_| bad(field, value)),
            None => Err(bad(field, value)),
        },
    }
}

/// An IP address in dotted, colon or bracketed form; `-` and empty give `None`.
#[inline]
pub fn opt_ip(field: &'static str, value: &str) -> Result<Option<IpAddr>, RecordError> {
    match opt(value) {
        None => Ok(None),
        Some(v) => parse_ip(v).map(Some).ok_or_else(|| bad(field, value)),
    }
}

/// Parses an IPv4 or IPv6 address, allowing `[...]` around IPv6 and an
/// IPv6 zone suffix (`%eth0`, dropped).
#[inline]
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    if let Some(ip) = dotted_quad(text.as_bytes()) {
        return Some(IpAddr::V4(ip));
    }
    if let Ok(ip) = text.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(ip));
    }
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let inner = inner.split('%').next().unwrap_or(inner);
    inner.parse().ok()
}

/// Parses a dotted quad as `Ipv4Addr::from_str` does (four parts of one
/// to three digits, no leading zero, each at most 255) without its generic
/// parser: client and peer columns hold one on nearly every line.
#[inline]
fn dotted_quad(text: &[u8]) -> Option<Ipv4Addr> {
    if !(7..=15).contains(&text.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (part, octet) in octets.iter_mut().enumerate() {
        if part > 0 {
            if text.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while i < text.len() && i - start < 3 && text[i].is_ascii_digit() {
            value = value * 10 + u32::from(text[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || value > 255 || (digits > 1 && text[start] == b'0') {
            return None;
        }
        *octet = value as u8;
    }
    (i == text.len()).then_some(Ipv4Addr::from(octets))
}

/// A declared content type without parameters, trimmed and in lower case.
pub fn content_type(value: &str) -> Option<String> {
    content_type_in(value, &mut Strings::default())
}

/// [`content_type`], copying into a spare buffer from `strings`.
pub(crate) fn content_type_in(value: &str, strings: &mut Strings) -> Option<String> {
    let value = opt(value)?;
    let base = match memchr::memchr(b';', value.as_bytes()) {
        Some(i) => &value[..i],
        None => value,
    }
    .trim();
    if base.is_empty() || base == "-" {
        return None;
    }
    Some(strings.lower(base))
}

/// Normalises a host name: lower case, no trailing dot, no IPv6 brackets.
pub fn normalize_host(host: &str) -> Option<String> {
    normalize_host_in(host, &mut Strings::default())
}

fn normalize_host_in(host: &str, strings: &mut Strings) -> Option<String> {
    host_part(host).map(|host| strings.lower(host))
}

/// Returns a host without its trailing dot and IPv6 brackets, as written,
/// or `None` when it is empty or `-`.
fn host_part(host: &str) -> Option<&str> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || host == "-" {
        return None;
    }
    Some(host)
}

/// Splits `host:port` (or `[v6]:port`, or bare `host`) into host and port.
/// A port that is not a number stays part of the host.
pub fn split_host_port(authority: &str) -> (&str, Option<u16>) {
    if let Some(rest) = authority.strip_prefix('[') {
        if let Some(close) = rest.find(']') {
            let host = &rest[..close];
            let port = rest[close + 1..].strip_prefix(':').and_then(port_number);
            return (host, port);
        }
        return (authority, None);
    }
    match authority.bytes().rposition(|b| b == b':') {
        // More than one colon and no brackets: a bare IPv6 address.
        Some(i) if authority.as_bytes()[..i].contains(&b':') => (authority, None),
        Some(i) => match port_number(&authority[i + 1..]) {
            Some(port) => (&authority[..i], Some(port)),
            None => (authority, None),
        },
        None => (authority, None),
    }
}

/// Parses a port of decimal digits only, at most 65535. `u16::from_str`
/// would also accept a leading `+`.
fn port_number(text: &str) -> Option<u16> {
    parse_u64(text).and_then(|n| u16::try_from(n).ok())
}

/// Fills `url`, `scheme`, `host`, `port`, `path` and `query` of `event` from a
/// request target: absolute (`http://host:8080/p?q`), origin-form (`/p?q`) or
/// authority-form (`host:443`, as in `CONNECT`).
///
/// Fields already set (a host from a separate column) are kept when the
/// target does not carry them.
pub fn fill_url(event: &mut HttpEvent, target: &str) {
    fill_url_in(event, target, &mut Strings::default());
}

/// [`fill_url`], copying into spare buffers from `strings`.
pub(crate) fn fill_url_in(event: &mut HttpEvent, target: &str, strings: &mut Strings) {
    event.url.clear();
    event.url.push_str(target);

    let parts = split_target(target);
    if let Some(scheme) = parts.scheme {
        event.scheme = Some(strings.lower(scheme));
    }
    if let Some(host) = parts.host {
        event.host = Some(strings.lower(host));
    }
    if parts.port.is_some() {
        event.port = parts.port;
    }
    if let Some(path) = parts.path {
        event.path = Some(strings.copy(path));
    }
    if let Some(query) = parts.query {
        event.query = Some(strings.copy(query));
    }
    if parts.scheme.is_some() && event.path.is_none() {
        event.path = Some(strings.copy("/"));
    }
}

/// A request target cut into the parts [`fill_url`] stores, borrowed from
/// the target. The scheme and host are as written, and the event keeps
/// them in lower case. A scheme marks an absolute URL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TargetParts<'a> {
    pub scheme: Option<&'a str>,
    /// Host without user information, port, brackets and trailing dot.
    pub host: Option<&'a str>,
    pub port: Option<u16>,
    /// Path, `None` when empty. An event then takes `/` for an absolute
    /// URL, unless another column gave the path.
    pub path: Option<&'a str>,
    pub query: Option<&'a str>,
}

/// Cuts a request target into its parts, for the forms [`fill_url`] reads.
/// The fragment is dropped, and an empty path or query is `None`.
pub(crate) fn split_target(target: &str) -> TargetParts<'_> {
    let mut parts = TargetParts::default();
    // A scheme's letters end at the first byte outside them, so a `#` in
    // the first few bytes makes `scheme_len` fail whether or not the
    // fragment is cut first.
    if let Some(scheme_end) = scheme_len(target) {
        parts.scheme = Some(&target[..scheme_end]);
        let rest = &target[scheme_end + 3..];
        let auth_end = memchr::memchr3(b'/', b'?', b'#', rest.as_bytes()).unwrap_or(rest.len());
        let authority = &rest[..auth_end];
        // Authorities are short: a plain reverse loop beats `memrchr`'s
        // vector setup.
        let authority = match authority.bytes().rposition(|b| b == b'@') {
            Some(i) => &authority[i + 1..],
            None => authority,
        };
        let (host, port) = split_host_port(authority);
        parts.host = host_part(host);
        parts.port = port;
        split_path_query(&mut parts, &rest[auth_end..]);
        return parts;
    }

    let before_fragment = match memchr::memchr(b'#', target.as_bytes()) {
        Some(i) => &target[..i],
        None => target,
    };
    if before_fragment.starts_with('/') || before_fragment.starts_with('*') {
        split_path_query(&mut parts, before_fragment);
    } else if !before_fragment.is_empty() && !before_fragment.contains('/') {
        // Authority form: CONNECT host:port.
        let (host, port) = split_host_port(before_fragment);
        parts.host = host_part(host);
        parts.port = port;
    } else {
        split_path_query(&mut parts, before_fragment);
    }
    parts
}

/// Length of a leading `scheme` followed by `://`, if the target has one.
#[inline]
fn scheme_len(target: &str) -> Option<usize> {
    let b = target.as_bytes();
    let colon = b
        .iter()
        .take(16)
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
    (colon > 0 && b[colon] == b':' && b.get(colon + 1..colon + 3) == Some(b"//")).then_some(colon)
}

/// Stores the path and query of `path_query`, which ends at its first `#`.
fn split_path_query<'a>(parts: &mut TargetParts<'a>, path_query: &'a str) {
    let bytes = path_query.as_bytes();
    let Some(i) = memchr::memchr2(b'?', b'#', bytes) else {
        if !path_query.is_empty() {
            parts.path = Some(path_query);
        }
        return;
    };

    let path = &path_query[..i];
    if !path.is_empty() {
        parts.path = Some(path);
    }
    if bytes[i] == b'?' {
        let query = &path_query[i + 1..];
        let query = match memchr::memchr(b'#', query.as_bytes()) {
            Some(end) => &query[..end],
            None => query,
        };
        if !query.is_empty() {
            parts.query = Some(query);
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
#[inline]
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A calendar date and wall-clock time, before a time zone is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    /// Year.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second (60 allowed for a leap second, folded into the next minute).
    pub second: u32,
    /// Nanoseconds.
    pub nanos: u32,
}

impl CivilTime {
    /// Seconds since the epoch if this wall-clock time were UTC.
    pub fn utc_seconds(&self) -> i64 {
        days_from_civil(i64::from(self.year), self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The instant, reading this wall-clock time in `tz`.
    pub fn to_timestamp(&self, tz: &TimeZoneSetting) -> Option<Timestamp> {
        let local = self.utc_seconds();
        let offset = tz.offset_seconds_for_local(local, self)?;
        Timestamp::from_secs_nanos(local - offset, self.nanos)
    }

    fn valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Reads up to `max` ASCII digits starting at `*pos`, at least one.
#[inline]
fn digits(bytes: &[u8], pos: &mut usize, max: usize) -> Option<u32> {
    let start = *pos;
    let mut n = 0u32;
    while *pos < bytes.len() && *pos - start < max && bytes[*pos].is_ascii_digit() {
        n = n * 10 + u32::from(bytes[*pos] - b'0');
        *pos += 1;
    }
    (*pos > start).then_some(n)
}

#[inline]
fn expect(bytes: &[u8], pos: &mut usize, c: u8) -> Option<()> {
    (bytes.get(*pos) == Some(&c)).then(|| *pos += 1)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let b = text.as_bytes();
    let mut p = 0;
    let year = digits(b, &mut p, 4)?;
    expect(b, &mut p, b'-')?;
    let month = digits(b, &mut p, 2)?;
    expect(b, &mut p, b'-')?;
    let day = digits(b, &mut p, 2)?;
    (p == b.len()).then_some((year as i32, month, day))
}

/// Parses `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fraction`, optionally followed by
/// ` AM` or ` PM`; returns (hour, minute, second, nanos).
pub fn parse_time(text: &str) -> Option<(u32, u32, u32, u32)> {
    let b = text.as_bytes();
    let mut p = 0;
    let mut hour = digits(b, &mut p, 2)?;
    expect(b, &mut p, b':')?;
    let minute = digits(b, &mut p, 2)?;
    let mut second = 0;
    let mut nanos = 0;
    if expect(b, &mut p, b':').is_some() {
        second = digits(b, &mut p, 2)?;
        if expect(b, &mut p, b'.').is_some() || expect(b, &mut p, b',').is_some() {
            let start = p;
            let frac = digits(b, &mut p, 9)?;
            let len = p - start;
            nanos = frac * 10u32.pow(9 - len as u32);
            while p < b.len() && b[p].is_ascii_digit() {
                p += 1;
            }
        }
    }
    let rest = text[p..].trim();
    if !rest.is_empty() {
        let pm = if rest.eq_ignore_ascii_case("PM") {
            true
        } else if rest.eq_ignore_ascii_case("AM") {
            false
        } else {
            return None;
        };
        if hour == 0 || hour > 12 {
            return None;
        }
        hour = match (pm, hour) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
    }
    Some((hour, minute, second, nanos))
}

/// Parses a local date and time in the shapes Windows and SQL exports use:
/// `2012-08-14 10:50:01.097`, `2012-08-14T10:50:01`, `8/14/2012 10:46`,
/// `8/14/2012 10:46:07 AM`. Slashed dates are month/day/year.
pub fn parse_local_datetime(text: &str) -> Option<CivilTime> {
    let text = text.trim();
    let split = text.find([' ', 'T'])?;
    let (date, time) = (&text[..split], &text[split + 1..]);
    let (year, month, day) = if date.contains('/') {
        let mut parts = date.split('/');
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        let year = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        (year, month, day)
    } else {
        parse_date(date)?
    };
    let (hour, minute, second, nanos) = parse_time(time.trim())?;
    let civil = CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    civil.valid().then_some(civil)
}

/// Parses `YYYY-MM-DD` and `HH:MM[:SS[.f]]` columns as UTC.
pub fn utc_from_date_time(date: &str, time: &str) -> Option<Timestamp> {
    let (year, month, day) = parse_date(date)?;
    let (hour, minute, second, nanos) = parse_time(time)?;
    let civil = CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    if !civil.valid() {
        return None;
    }
    Timestamp::from_secs_nanos(civil.utc_seconds(), nanos)
}

/// Parses an ISO 8601 instant with an offset in any of the forms logs use:
/// `Z`, `+02:00` or `+0200` (Suricata), with `T` or a space.
pub fn parse_iso_instant(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let b = text.as_bytes();
    if b.len() < 19 {
        return None;
    }
    // `get` because a multi-byte character may straddle byte 10. Byte 10
    // must then be ASCII, so slicing at 11 below is safe.
    let (year, month, day) = parse_date(text.get(..10)?)?;
    if !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let rest = &text[11..];
    let tz_start = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (hour, minute, second, nanos) = parse_time(&rest[..tz_start])?;
    let civil = CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    if !civil.valid() {
        return None;
    }
    let tz = &rest[tz_start..];
    let offset: i64 = match tz.as_bytes().first() {
        None | Some(b'Z' | b'z') if tz.len() <= 1 => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let digits: String = tz[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 && digits.len() != 2 {
                return None;
            }
            let hours: i64 = digits.get(..2)?.parse().ok()?;
            let minutes: i64 = if digits.len() == 4 {
                digits[2..].parse().ok()?
            } else {
                0
            };
            let secs = hours * 3600 + minutes * 60;
            if sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    Timestamp::from_secs_nanos(civil.utc_seconds() - offset, nanos)
}

/// Parses `secs[.fraction]` since the epoch (Squid, Zeek, passive DNS),
/// exactly, without going through floating point.
#[inline]
pub fn parse_epoch(text: &str) -> Option<Timestamp> {
    // The whole seconds are a dozen bytes: a plain loop finds the point
    // sooner than a vector search would start.
    let (whole, frac) = match text.bytes().position(|b| b == b'.') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    let negative = whole.starts_with('-');
    let secs = parse_u64(whole.strip_prefix('-').unwrap_or(whole))?;
    let secs = i64::try_from(secs).ok()?;
    let mut nanos = 0u32;
    if !frac.is_empty() {
        let f = frac.as_bytes();
        if !f.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for i in 0..9 {
            nanos = nanos * 10 + f.get(i).map_or(0, |d| u32::from(d - b'0'));
        }
    }
    if negative {
        let total = -(i128::from(secs) * 1_000_000_000 + i128::from(nanos));
        return i64::try_from(total).ok().map(Timestamp::from_nanos);
    }
    Timestamp::from_secs_nanos(secs, nanos)
}

/// Rejects a line holding control bytes other than tab: logs are text, and
/// such a line is binary garbage or a corrupt block.
#[inline]
pub fn check_text(line: &str) -> Result<(), RecordError> {
    if let Some(position) = line
        .bytes()
        .position(|b| b < 0x20 && b != b'\t' || b == 0x7f)
    {
        return Err(RecordError::Binary {
            byte: line.as_bytes()[position],
            position,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dotted_quad_agrees_with_std(text in "[0-9.x]{0,17}") {
            prop_assert_eq!(dotted_quad(text.as_bytes()), text.parse::<Ipv4Addr>().ok());
        }

        #[test]
        fn dotted_quad_reads_every_address(a: u32) {
            let text = Ipv4Addr::from(a).to_string();
            prop_assert_eq!(dotted_quad(text.as_bytes()), Some(Ipv4Addr::from(a)));
        }
    }

    #[test]
    fn ports_are_digits_only() {
        assert_eq!(split_host_port("a.example:8080"), ("a.example", Some(8080)));
        assert_eq!(split_host_port("a.example:+80"), ("a.example:+80", None));
        assert_eq!(
            split_host_port("a.example:65536"),
            ("a.example:65536", None)
        );
        assert_eq!(split_host_port("[::1]:+80"), ("::1", None));
        assert_eq!(split_host_port("[::1]:443"), ("::1", Some(443)));
    }

    #[test]
    fn long_numbers_take_no_sign() {
        assert_eq!(parse_u64("00000000001677971735"), Some(1_677_971_735));
        assert_eq!(parse_u64("+0000000001677971735"), None);
        assert_eq!(parse_u64("+1677971735"), None);
        assert_eq!(parse_u64("99999999999999999999"), None);
        assert_eq!(parse_u64(""), None);
    }

    #[test]
    fn split_at_byte_cases() {
        assert_eq!(
            split_at_byte("TCP_MISS/200", b'/'),
            Some(("TCP_MISS", "200"))
        );
        assert_eq!(split_at_byte("a/b/c", b'/'), Some(("a", "b/c")));
        assert_eq!(split_at_byte("/", b'/'), Some(("", "")));
        assert_eq!(split_at_byte("é/ü", b'/'), Some(("é", "ü")));
        assert_eq!(split_at_byte("TCP_MISS", b'/'), None);
        assert_eq!(split_at_byte("", b'/'), None);
    }

    #[test]
    fn split_at_byte_non_ascii_no_panic() {
        // 0xC3 starts and 0xA9 ends the two bytes of "é": a split there
        // would cut the character and panic.
        for byte in [0xc3, 0xa9, 0x80, 0xff] {
            assert_eq!(split_at_byte("café/x", byte), None, "{byte:#x}");
        }
    }

    #[test]
    fn dotted_quad_edge_cases() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            "1..2.3",
            "1.2.3.4 ",
            "1000.2.3.4",
            "1.2.3.0004",
        ] {
            assert_eq!(dotted_quad(text.as_bytes()), text.parse().ok(), "{text}");
        }
    }

    #[test]
    fn url_forms() {
        let mut e = HttpEvent::default();
        fill_url(&mut e, "HTTP://User@Example.COM.:8080/a/b.jar?x=1#frag");
        assert_eq!(e.scheme.as_deref(), Some("http"));
        assert_eq!(e.host.as_deref(), Some("example.com"));
        assert_eq!(e.port, Some(8080));
        assert_eq!(e.path.as_deref(), Some("/a/b.jar"));
        assert_eq!(e.query.as_deref(), Some("x=1"));

        let mut e = HttpEvent::default();
        fill_url(&mut e, "secure.example.com:443");
        assert_eq!(
            (e.host.as_deref(), e.port),
            (Some("secure.example.com"), Some(443))
        );

        let mut e = HttpEvent::default();
        fill_url(&mut e, "http://[2001:db8::1]:81");
        assert_eq!(
            (e.host.as_deref(), e.port, e.path.as_deref()),
            (Some("2001:db8::1"), Some(81), Some("/"))
        );

        let mut e = HttpEvent {
            host: Some("h".into()),
            ..HttpEvent::default()
        };
        fill_url(&mut e, "/x?");
        assert_eq!(
            (e.host.as_deref(), e.path.as_deref(), e.query.as_deref()),
            (Some("h"), Some("/x"), None)
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type("Text/HTML; charset=UTF-8").as_deref(),
            Some("text/html")
        );
        assert_eq!(content_type("-"), None);
    }

    #[test]
    fn times() {
        let tz = TimeZoneSetting::utc();
        let t = parse_local_datetime("8/14/2012 10:46")
            .unwrap()
            .to_timestamp(&tz)
            .unwrap();
        assert_eq!(t.to_string(), "2012-08-14T10:46:00Z");
        let t = parse_local_datetime("2012-08-14 10:50:01.097")
            .unwrap()
            .to_timestamp(&tz)
            .unwrap();
        assert_eq!(t.to_string(), "2012-08-14T10:50:01.097Z");
        let t = parse_local_datetime("8/14/2012 12:05:01 AM")
            .unwrap()
            .to_timestamp(&tz)
            .unwrap();
        assert_eq!(t.to_string(), "2012-08-14T00:05:01Z");
        assert!(parse_local_datetime("2/30/2012 10:46").is_none());
        assert_eq!(
            parse_iso_instant("2017-06-08T15:45:58.520996+0200")
                .unwrap()
                .to_string(),
            "2017-06-08T13:45:58.520996Z"
        );
        assert_eq!(
            parse_epoch("1677971734.079").unwrap().to_string(),
            "2023-03-04T23:15:34.079Z"
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    /// A plain `fill_url` that cuts the fragment off first and fills the
    /// event as it goes: the reference that events filled through
    /// [`split_target`] must agree with byte for byte.
    fn reference_fill_url(event: &mut HttpEvent, target: &str) {
        event.url.clear();
        event.url.push_str(target);
        let before_fragment = match memchr::memchr(b'#', target.as_bytes()) {
            Some(i) => &target[..i],
            None => target,
        };

        if let Some(scheme_end) = scheme_len(before_fragment) {
            event.scheme = Some(before_fragment[..scheme_end].to_ascii_lowercase());
            let rest = &before_fragment[scheme_end + 3..];
            let auth_end = memchr::memchr2(b'/', b'?', rest.as_bytes()).unwrap_or(rest.len());
            let authority = &rest[..auth_end];
            let authority = match authority.bytes().rposition(|b| b == b'@') {
                Some(i) => &authority[i + 1..],
                None => authority,
            };
            let (host, port) = split_host_port(authority);
            if let Some(h) = normalize_host(host) {
                event.host = Some(h);
            }
            if port.is_some() {
                event.port = port;
            }
            reference_path_query(event, &rest[auth_end..]);
            if event.path.is_none() {
                event.path = Some("/".to_owned());
            }
        } else if before_fragment.starts_with('/') || before_fragment.starts_with('*') {
            reference_path_query(event, before_fragment);
        } else if !before_fragment.is_empty() && !before_fragment.contains('/') {
            let (host, port) = split_host_port(before_fragment);
            if let Some(h) = normalize_host(host) {
                event.host = Some(h);
            }
            if port.is_some() {
                event.port = port;
            }
        } else {
            reference_path_query(event, before_fragment);
        }
    }

    fn reference_path_query(event: &mut HttpEvent, path_query: &str) {
        if path_query.is_empty() {
            return;
        }
        match memchr::memchr(b'?', path_query.as_bytes()) {
            Some(i) => {
                let (path, query) = (&path_query[..i], &path_query[i + 1..]);
                if !path.is_empty() {
                    event.path = Some(path.to_owned());
                }
                if !query.is_empty() {
                    event.query = Some(query.to_owned());
                }
            }
            None => event.path = Some(path_query.to_owned()),
        }
    }

    #[test]
    fn fill_url_agrees_with_reference() {
        // Every target of up to four pieces: schemes in both cases, user
        // information, IPv6 literals, ports, fragments, queries, trailing
        // dots, escapes and non-ASCII hosts.
        let pieces = [
            "http", "HTTP", "://", "a", "B.", ".", "@", ":", "80", "[", "]", "::1", "/", "?", "#",
            "*", "-", "%2F", "é", "+", " ", "\r",
        ];
        let mut targets = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}")))
                .collect();
            targets.extend(last.iter().cloned());
        }

        // Fields from other columns, which a target without them keeps.
        let columns = HttpEvent {
            host: Some("column.example".into()),
            port: Some(8080),
            path: Some("/column".into()),
            ..HttpEvent::default()
        };
        for target in &targets {
            for start in [HttpEvent::default(), columns.clone()] {
                let mut got = start.clone();
                fill_url(&mut got, target);
                let mut want = start;
                reference_fill_url(&mut want, target);
                assert_eq!(got, want, "{target:?}");
            }
        }
    }

    #[test]
    fn iso_instant_multibyte_at_byte_ten() {
        // U+022B takes bytes 9..11, so byte 10 is not a character boundary.
        assert_eq!(parse_iso_instant("2017-06-0\u{22b}15:6:000"), None);
        assert_eq!(parse_iso_instant("2017-06-08\u{22b}15:46:00Z"), None);
    }
}
