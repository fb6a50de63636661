//! Canonical forms shared by indicators and event values, so that both sides
//! of a comparison are spelt the same way.

use std::borrow::Cow;

/// Lower-cases a DNS name, drops one trailing dot and converts an
/// internationalised name to its ASCII (`xn--`) form.
///
/// Returns `None` for a name that is empty or that IDNA rejects. The common
/// case, an already normal ASCII name, borrows without copying.
pub fn domain(name: &str) -> Option<Cow<'_, str>> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return None;
    }
    let bytes = trimmed.as_bytes();
    if bytes
        .iter()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        return Some(Cow::Borrowed(trimmed));
    }
    if trimmed.is_ascii() {
        return Some(Cow::Owned(trimmed.to_ascii_lowercase()));
    }
    match url::Host::parse(trimmed) {
        Ok(url::Host::Domain(ascii)) => Some(Cow::Owned(ascii)),
        _ => None,
    }
}

/// The matching key of a URL: host, optional non-default port, path and
/// query, as in `evil.example/gate.php?id=1`.
///
/// The scheme, user information and fragment are dropped, so `http://` and
/// `https://` spellings of one resource give one key. The host is
/// normalised like [`domain`], and an IPv4 address in any browser spelling
/// becomes its dotted quad. A default port (80, 443) is dropped and a
/// missing path becomes `/`. The path takes the canonical form of
/// [`picket_intel::normalize::url_path`], and the query's escapes are
/// normalised. `default_host` fills in the host for an origin-form target
/// (`/path`), as captures and Zeek logs give it. Returns `None` when no
/// host is known.
pub fn url_key(raw: &str, default_host: Option<&str>) -> Option<String> {
    url_parts(raw, default_host).map(|parts| parts.key())
}

/// A URL split for matching: the normalised authority, which alone decides
/// whether any URL indicator can apply, and the path and query as written.
#[derive(Debug)]
pub struct UrlParts<'a> {
    /// Host and optional non-default port, as they start the key.
    pub authority: Cow<'a, str>,
    /// Path and query as written, possibly empty.
    pub path_and_query: &'a str,
}

impl UrlParts<'_> {
    /// Returns the whole matching key, as [`url_key`] gives it.
    pub fn key(&self) -> String {
        let (path, query) = match self.path_and_query.find('?') {
            Some(i) => (
                &self.path_and_query[..i],
                Some(&self.path_and_query[i + 1..]),
            ),
            None => (self.path_and_query, None),
        };

        let mut key = String::with_capacity(self.authority.len() + self.path_and_query.len() + 1);
        key.push_str(&self.authority);
        if !path.starts_with('/') {
            key.push('/');
        }
        key.push_str(&picket_intel::normalize::url_path(path));
        if let Some(query) = query {
            key.push('?');
            if query.contains('%') {
                key.push_str(&picket_intel::normalize::normalize_percent(query));
            } else {
                key.push_str(query);
            }
        }
        key
    }
}

/// Splits a URL into its normalised authority and the rest; see [`url_key`].
pub fn url_parts<'a>(raw: &'a str, default_host: Option<&'a str>) -> Option<UrlParts<'a>> {
    let raw = raw.trim();
    let rest = match raw.find("://") {
        Some(i)
            if raw[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.') =>
        {
            &raw[i + 3..]
        }
        _ => raw,
    };
    let rest = rest.split('#').next().unwrap_or("");

    let (authority, path_and_query) = if rest.starts_with('/') {
        (default_host?, rest)
    } else {
        match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    };

    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = split_port(authority);
    let host = url_host(host)?;
    let port = port.filter(|p| *p != "80" && *p != "443");

    let authority = match (host, port) {
        (host, None) if !host.contains(':') => host,
        (host, port) => {
            let mut text = String::with_capacity(host.len() + 8);
            if host.contains(':') {
                text.push('[');
                text.push_str(&host);
                text.push(']');
            } else {
                text.push_str(&host);
            }
            if let Some(port) = port {
                text.push(':');
                text.push_str(port);
            }
            Cow::Owned(text)
        }
    };
    Some(UrlParts {
        authority,
        path_and_query,
    })
}

/// Normalises a URL host like [`domain`], except that a host naming an IPv4
/// address in any spelling browsers accept (`3405803842`, `0xcb.0.0x71.0x42`)
/// becomes its dotted quad, as indicators store it.
fn url_host(host: &str) -> Option<Cow<'_, str>> {
    let ends_in_digit = host
        .strip_suffix('.')
        .unwrap_or(host)
        .bytes()
        .last()
        .is_some_and(|b| b.is_ascii_hexdigit());
    if ends_in_digit
        && host.parse::<std::net::Ipv4Addr>().is_err()
        && let Some(ip) = picket_event::host::parse_ipv4(host)
    {
        return Some(Cow::Owned(ip.to_string()));
    }
    domain(host)
}

/// Splits `host:port`, keeping a bracketed IPv6 literal whole.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(inner) = authority.strip_prefix('[') {
        return match inner.find(']') {
            Some(end) => {
                let port = inner[end + 1..].strip_prefix(':');
                (&inner[..end], port)
            }
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, (!port.is_empty()).then_some(port))
        }
        _ => (authority, None),
    }
}

/// Decodes a hex digest of exactly `N` bytes, either case.
pub fn hex_digest<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.trim().as_bytes();
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Writes `bytes` as lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Returns the last path segment of a URL key or path, without query: the file name
/// a download would get, or `None` when the path ends in `/`.
pub fn last_path_segment(path: &str) -> Option<&str> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("");
    (!name.is_empty()).then_some(name)
}

/// Hashes `bytes` under `seed` to 64 bits, eight bytes per step, with a
/// full-avalanche finaliser so that both the top bits (bucket) and the next
/// 32 bits (fingerprint) are well mixed.
#[inline]
pub(crate) fn hash(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    fmix64(h)
}

/// MurmurHash3's 64-bit finaliser.
#[inline]
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_forms() {
        assert_eq!(domain("Evil.COM.").as_deref(), Some("evil.com"));
        assert_eq!(domain("evil.com").as_deref(), Some("evil.com"));
        assert_eq!(
            domain("bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(domain("."), None);
        assert_eq!(domain(""), None);
    }

    #[test]
    fn url_keys() {
        let cases = [
            (
                "http://Evil.COM/gate.php?id=1#x",
                None,
                "evil.com/gate.php?id=1",
            ),
            ("https://evil.com:443/a", None, "evil.com/a"),
            ("http://evil.com:8080/a", None, "evil.com:8080/a"),
            ("evil.com", None, "evil.com/"),
            ("http://user:pw@evil.com?q", None, "evil.com/?q"),
            ("/a/b%2fc", Some("evil.com"), "evil.com/a/b%2Fc"),
            ("http://[2001:db8::1]:81/x", None, "[2001:db8::1]:81/x"),
        ];
        for (raw, host, want) in cases {
            assert_eq!(url_key(raw, host).as_deref(), Some(want), "{raw}");
        }
        assert_eq!(url_key("/a", None), None);
    }

    #[test]
    fn digests() {
        assert_eq!(hex_digest::<2>("aBcD"), Some([0xab, 0xcd]));
        assert_eq!(hex_digest::<2>("abc"), None);
        assert_eq!(hex_digest::<2>("zzzz"), None);
        assert_eq!(to_hex(&[0xab, 0x01]), "ab01");
    }

    #[test]
    fn file_names() {
        assert_eq!(last_path_segment("/a/b/x.exe?y=1"), Some("x.exe"));
        assert_eq!(last_path_segment("/a/"), None);
    }
}
