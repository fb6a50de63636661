//! Reading an address out of a URL host the way browsers do.
//!
//! A browser sends `http://3405803842/`, `http://0xcb.0.0x71.0x42/` and
//! `http://0313.0.0161.0102/` all to 203.0.113.66: the WHATWG URL
//! Standard's IPv4 parser accepts one to four dot-separated numbers, each
//! in decimal, octal (leading `0`) or hexadecimal (leading `0x`), the last
//! filling the remaining bytes. Malware and phishing links use these
//! spellings to hide a bare address from string matching, so every stage
//! that tests whether a host is an address reads them the same way.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Returns the address a URL host names, or `None` for a name.
///
/// Accepts a bracketed or bare IPv6 literal, a dotted quad and every IPv4
/// spelling of the WHATWG URL Standard's "IPv4 parser". A host
/// whose last label is a number but which is not a valid address (such as
/// `1.2.3.4.5` or `999.1.1.1`) is `None` too, as it names nothing.
pub fn parse_ip(host: &str) -> Option<IpAddr> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    // Hosts are short: a plain loop beats a vector search's setup.
    if host.bytes().any(|b| b == b':') {
        return host.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    parse_ipv4(host).map(IpAddr::V4)
}

/// Returns the IPv4 address of a host in any WHATWG IPv4 spelling, or
/// `None` when the host is a name or an invalid number.
pub fn parse_ipv4(host: &str) -> Option<Ipv4Addr> {
    // Nearly every host is a name, and this test turns a name away without
    // the standard parser's setup. A dotted quad ends in a number too.
    if !ends_in_number(host) {
        return None;
    }
    if let Ok(plain) = host.parse::<Ipv4Addr>() {
        return Some(plain);
    }

    let host = host.strip_suffix('.').unwrap_or(host);
    let mut numbers = [0u64; 4];
    let mut count = 0;
    for part in host.split('.') {
        if count == numbers.len() {
            return None;
        }
        numbers[count] = parse_number(part)?;
        count += 1;
    }

    let (last, leading) = numbers[..count].split_last()?;
    if leading.iter().any(|&n| n > 255) {
        return None;
    }
    let last_bits = 8 * (5 - count as u32);
    if *last >= 1u64 << last_bits {
        return None;
    }
    let mut address = *last;
    for (i, &n) in leading.iter().enumerate() {
        address += n << (8 * (3 - i as u32));
    }
    u32::try_from(address).ok().map(Ipv4Addr::from)
}

/// Tells whether the host's last label (ignoring one trailing dot) is a
/// decimal number or `0x` with hex digits: only such hosts are addresses.
#[inline]
fn ends_in_number(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host).as_bytes();
    // Labels are short: a plain reverse loop beats a searcher's setup.
    let last = match host.iter().rposition(|&b| b == b'.') {
        Some(i) => &host[i + 1..],
        None => host,
    };
    if !last.is_empty() && last.iter().all(u8::is_ascii_digit) {
        return true;
    }
    match last
        .strip_prefix(b"0x")
        .or_else(|| last.strip_prefix(b"0X"))
    {
        Some(hex) => hex.iter().all(u8::is_ascii_hexdigit),
        None => false,
    }
}

/// Parses one part: `0x` hex, a leading `0` for octal, else decimal. An
/// empty part, a bare `0x` (zero) aside, is invalid; values are capped
/// well above any valid part so that long digit strings cannot overflow.
fn parse_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Some(0);
    }

    let mut value: u64 = 0;
    for c in digits.chars() {
        let digit = u64::from(c.to_digit(radix)?);
        value = value.saturating_mul(u64::from(radix)).saturating_add(digit);
        value = value.min(1 << 40);
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_address() {
        let want = Ipv4Addr::new(203, 0, 113, 66);
        for host in [
            "203.0.113.66",
            "3405803842",
            "0xcb007142",
            "0XCB007142",
            "0xcb.0.0x71.0x42",
            "0313.0.0161.0102",
            "203.0.28994",
            "203.28994",
            "203.0.113.66.",
        ] {
            assert_eq!(parse_ipv4(host), Some(want), "{host}");
        }
    }

    #[test]
    fn names_and_invalid_numbers_are_not_addresses() {
        for host in [
            "example.com",
            "1.2.3.example",
            "0x.example",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.256",
            "4294967296",
            "08",
            "0x1g",
            "1..2",
            "99999999999999999999999999",
            "",
        ] {
            assert_eq!(parse_ipv4(host), None, "{host}");
        }
    }

    #[test]
    fn short_forms_fill_the_last_bytes() {
        assert_eq!(parse_ipv4("1.2.3"), Some(Ipv4Addr::new(1, 2, 0, 3)));
        assert_eq!(parse_ipv4("1.65536"), Some(Ipv4Addr::new(1, 1, 0, 0)));
        assert_eq!(parse_ipv4("0x"), Some(Ipv4Addr::new(0, 0, 0, 0)));
        assert_eq!(parse_ipv4("010"), Some(Ipv4Addr::new(0, 0, 0, 8)));
    }

    #[test]
    fn ipv6_literals() {
        assert_eq!(parse_ip("[2001:db8::1]"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("[2001:db8::zz]"), None);
        assert_eq!(parse_ip("3405803842"), "203.0.113.66".parse().ok());
    }
}
