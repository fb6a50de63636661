//! Presentation-form helpers: escaping, hex, base64 and DNSSEC timestamps.

use std::fmt::Write;

/// Appends one label byte in zone-file form (RFC 1035 section 5.1):
/// printable ASCII as is, `.` and `\` escaped with a backslash, every other
/// byte (space, control, non-ASCII) as `\DDD` in decimal, as tcpdump and
/// BIND print them.
pub(crate) fn push_label_byte(out: &mut String, byte: u8) {
    match byte {
        b'.' | b'\\' => {
            out.push('\\');
            out.push(char::from(byte));
        }
        0x21..=0x7e => out.push(char::from(byte)),
        _ => push_decimal_escape(out, byte),
    }
}

/// Appends one byte of a character-string (TXT, CAA value, NAPTR fields):
/// printable ASCII and space as is, `"` and `\` escaped with a backslash,
/// every other byte as `\DDD`.
pub(crate) fn push_text_byte(out: &mut String, byte: u8) {
    match byte {
        b'"' | b'\\' => {
            out.push('\\');
            out.push(char::from(byte));
        }
        0x20..=0x7e => out.push(char::from(byte)),
        _ => push_decimal_escape(out, byte),
    }
}

/// Appends bytes as a character-string without quotes.
pub(crate) fn push_text(out: &mut String, bytes: &[u8]) {
    for &byte in bytes {
        push_text_byte(out, byte);
    }
}

/// Appends bytes as a quoted character-string (RFC 1035 section 5.1).
pub(crate) fn push_quoted(out: &mut String, bytes: &[u8]) {
    out.push('"');
    push_text(out, bytes);
    out.push('"');
}

fn push_decimal_escape(out: &mut String, byte: u8) {
    out.push('\\');
    out.push(char::from(b'0' + byte / 100));
    out.push(char::from(b'0' + (byte / 10) % 10));
    out.push(char::from(b'0' + byte % 10));
}

/// Appends a number in decimal without going through `fmt`, which costs
/// more than the rest of an A record's decoding.
pub(crate) fn push_decimal(out: &mut String, number: u32) {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    let mut rest = number;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        out.push(char::from(digit));
    }
}

/// Appends an IPv4 address in dotted-decimal form.
pub(crate) fn push_ipv4(out: &mut String, octets: [u8; 4]) {
    // At most 15 characters, so the text is built on the stack and appended once.
    let mut text = [0u8; 15];
    let mut len = 0;
    for (index, octet) in octets.into_iter().enumerate() {
        if index > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + (octet / 10) % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    out.push_str(std::str::from_utf8(&text[..len]).unwrap_or_default());
}

/// Appends bytes as upper-case hexadecimal, the form RFC 3597 and RFC 4034
/// use for digests and unknown data.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

/// Appends bytes in standard base64 with padding (RFC 4648 section 4), the
/// form of DNSKEY keys and RRSIG signatures.
pub(crate) fn push_base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = chunk.get(1).copied().map_or(0, u32::from);
        let b2 = chunk.get(2).copied().map_or(0, u32::from);
        let triple = (b0 << 16) | (b1 << 8) | b2;
        let sextet = |shift: u32| char::from(ALPHABET[((triple >> shift) & 0x3f) as usize]);

        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
}

/// Appends the RFC 3597 generic form `\# len HEX` of record data.
pub(crate) fn push_generic(out: &mut String, bytes: &[u8]) {
    let _ = write!(out, "\\# {}", bytes.len());
    if !bytes.is_empty() {
        out.push(' ');
        push_hex(out, bytes);
    }
}

/// Appends a DNSSEC timestamp (seconds since the epoch, 32 bits) as
/// `YYYYMMDDHHmmSS` in UTC (RFC 4034 section 3.2).
///
/// NOTE: the value is read as seconds since 1970 without the serial-number
/// wrap-around of RFC 4034, so times after 2106 print as 1970 onwards.
pub(crate) fn push_dnssec_time(out: &mut String, secs: u32) {
    let days = i64::from(secs / 86_400);
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rest / 3600,
        (rest / 60) % 60,
        rest % 60
    );
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month,
/// day), after Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both values are small and positive by construction.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: impl Fn(&mut String)) -> String {
        let mut out = String::new();
        f(&mut out);
        out
    }

    #[test]
    fn base64_padding() {
        assert_eq!(render(|o| push_base64(o, b"")), "");
        assert_eq!(render(|o| push_base64(o, b"f")), "Zg==");
        assert_eq!(render(|o| push_base64(o, b"fo")), "Zm8=");
        assert_eq!(render(|o| push_base64(o, b"foo")), "Zm9v");
        assert_eq!(render(|o| push_base64(o, b"foobar")), "Zm9vYmFy");
    }

    #[test]
    fn label_escapes() {
        let text = render(|o| b"a.b\\ c\xff".iter().for_each(|&b| push_label_byte(o, b)));
        assert_eq!(text, "a\\.b\\\\\\032c\\255");
    }

    #[test]
    fn text_escapes() {
        assert_eq!(
            render(|o| push_quoted(o, b"say \"hi\"\x01")),
            "\"say \\\"hi\\\"\\001\""
        );
    }

    #[test]
    fn dnssec_time_format() {
        assert_eq!(render(|o| push_dnssec_time(o, 0)), "19700101000000");
        assert_eq!(
            render(|o| push_dnssec_time(o, 1_700_000_000)),
            "20231114221320"
        );
        assert_eq!(render(|o| push_dnssec_time(o, u32::MAX)), "21060207062815");
    }

    #[test]
    fn decimal_and_ipv4() {
        assert_eq!(render(|o| push_decimal(o, 0)), "0");
        assert_eq!(render(|o| push_decimal(o, u32::MAX)), "4294967295");
        assert_eq!(render(|o| push_ipv4(o, [192, 0, 2, 10])), "192.0.2.10");
        assert_eq!(render(|o| push_ipv4(o, [0, 0, 0, 0])), "0.0.0.0");
    }

    #[test]
    fn generic_form() {
        assert_eq!(
            render(|o| push_generic(o, &[0x0a, 0, 0, 1])),
            "\\# 4 0A000001"
        );
        assert_eq!(render(|o| push_generic(o, &[])), "\\# 0");
    }
}
