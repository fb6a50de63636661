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

/// A URL cut into its parts as written, before any normalisation.
#[derive(Debug)]
pub(crate) struct RawUrl<'a> {
    /// The host, without user information and port.
    pub host: &'a str,
    /// A port other than 80 and 443.
    pub port: Option<&'a str>,
    /// Path and query, possibly empty.
    pub path_and_query: &'a str,
}

/// Cuts a URL into host, port and the rest without copying; see
/// [`url_key`] for the forms read. `None` when no host is known.
pub(crate) fn split_url<'a>(raw: &'a str, default_host: Option<&'a str>) -> Option<RawUrl<'a>> {
    let raw = raw.trim();
    let rest = match memchr::memmem::find(raw.as_bytes(), b"://") {
        Some(i)
            if raw[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.') =>
        {
            &raw[i + 3..]
        }
        _ => raw,
    };
    let rest = match memchr::memchr(b'#', rest.as_bytes()) {
        Some(i) => &rest[..i],
        None => rest,
    };

    let (authority, path_and_query) = if rest.starts_with('/') {
        (default_host?, rest)
    } else {
        match memchr::memchr2(b'/', b'?', rest.as_bytes()) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    };

    let authority = match memchr::memrchr(b'@', authority.as_bytes()) {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    let (host, port) = split_port(authority);
    Some(RawUrl {
        host,
        port: port.filter(|p| *p != "80" && *p != "443"),
        path_and_query,
    })
}

/// Tells, without cutting it into parts, that the URL `raw` is on `host`
/// with no port or a default one. Such a URL starts with `http://` or
/// `https://` and `host`, is `host` alone or with its port (authority
/// form), or starts with `/` (origin form, on the event's host).
/// [`split_url`] with `host` as default host then gives `host` and no port.
///
/// False means only "not plainly so": user information, another spelling
/// of the host or leading spaces are left to [`split_url`]. So is a host
/// with a byte that [`split_url`] may cut at or trim, such as a Host header
/// `u@evil.example`, whose URL is on `evil.example`.
#[inline]
pub(crate) fn names_host(raw: &str, host: &str) -> bool {
    if !plain_host(host) {
        return false;
    }
    if raw.starts_with('/') {
        return true;
    }
    let rest = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"))
        .unwrap_or(raw);
    let Some(after) = rest.strip_prefix(host) else {
        return false;
    };
    let after = after
        .strip_prefix(":80")
        .or_else(|| after.strip_prefix(":443"))
        .unwrap_or(after);
    matches!(after.as_bytes().first(), None | Some(b'/' | b'?' | b'#'))
}

/// Tells whether `split_url` keeps `host` whole: it is not empty, its
/// ASCII bytes are letters, digits, `-`, `.` and those above `@` but `[`,
/// and it has no white space at its ends. The bytes it turns away include
/// every one that [`split_url`] cuts a host at (`#`, `/`, `:`, `?`, `@`,
/// `[`) or trims (ASCII white space).
#[inline]
fn plain_host(host: &str) -> bool {
    let bytes = host.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    // A fold without an early exit: on the generated Squid log's hosts it
    // added a third of the instructions that `any` with a `matches!` of
    // the six cut bytes added (callgrind).
    let has_odd_byte = bytes.iter().fold(false, |odd, &b| {
        odd | matches!(b, 0..=b',' | b'/' | b':'..=b'@' | b'[')
    });
    // White space outside ASCII, such as U+00A0, is trimmed at the ends only.
    let wide_ends = !first.is_ascii() || !last.is_ascii();
    let trimmed = wide_ends && host.trim().len() != host.len();
    !has_odd_byte && !trimmed
}

/// Splits a URL into its normalised authority and the rest; see [`url_key`].
pub fn url_parts<'a>(raw: &'a str, default_host: Option<&'a str>) -> Option<UrlParts<'a>> {
    split_url(raw, default_host)?.normalize()
}

impl<'a> RawUrl<'a> {
    /// Normalises the host and joins it to the port, as [`url_parts`] gives them.
    pub(crate) fn normalize(self) -> Option<UrlParts<'a>> {
        let RawUrl {
            host,
            port,
            path_and_query,
        } = self;
        let host = url_host(host)?;

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
    let path = match memchr::memchr2(b'?', b'#', path.as_bytes()) {
        Some(i) => &path[..i],
        None => path,
    };
    // The last segment is short: a plain reverse loop beats `memrchr`'s
    // vector setup.
    let name = match path.bytes().rposition(|b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    };
    (!name.is_empty()).then_some(name)
}

/// Multiplier of the hash's steps.
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Hashes `bytes` under `seed` to 64 bits, eight bytes per step, with a
/// full-avalanche finaliser so that both the top bits (bucket) and the next
/// 32 bits (fingerprint) are well mixed.
///
/// The steps read eight-byte words aligned to the end of `bytes`, from the
/// last word back, and the length comes in only at the end. So every
/// suffix of a name shares the name's steps over its whole words, and a
/// domain walk hashes all its parents in one pass ([`SuffixHashes`]).
#[inline]
pub(crate) fn hash(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed;
    let mut end = bytes.len();
    while end >= 8 {
        h = step(h, word(&bytes[end - 8..end]));
        end -= 8;
    }
    if end > 0 {
        h = step(h, word(&bytes[..end]));
    }
    finish(h, bytes.len())
}

#[inline]
fn step(h: u64, word: u64) -> u64 {
    (h ^ word).wrapping_mul(K).rotate_left(29)
}

#[inline]
fn finish(h: u64, len: usize) -> u64 {
    fmix64(h ^ (len as u64).wrapping_mul(K))
}

/// Up to eight bytes as a little-endian word, zero-padded.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// Most whole words of a name whose suffix states [`SuffixHashes`] keeps:
/// 64 bytes, more than nearly every host name has. Kept small because the
/// states are made for every name matched.
const SUFFIX_WORDS: usize = 8;

/// The hash of every suffix of one name for the price of one pass: the
/// hash state after each whole word from the end.
pub(crate) struct SuffixHashes {
    seed: u64,
    states: [u64; SUFFIX_WORDS + 1],
    /// Whole words the states cover; the suffixes of a longer name that
    /// need more are hashed from scratch.
    words: usize,
}

impl SuffixHashes {
    fn new(seed: u64) -> Self {
        let mut states = [0; SUFFIX_WORDS + 1];
        states[0] = seed;
        SuffixHashes {
            seed,
            states,
            words: 0,
        }
    }

    /// Records the state after one more whole word, while there is room.
    #[inline]
    fn push(&mut self, h: u64) {
        if self.words < SUFFIX_WORDS {
            self.words += 1;
            self.states[self.words] = h;
        }
    }

    /// Returns [`hash`] of `bytes[at..]`, `bytes` being the name these
    /// states were computed over.
    #[inline]
    pub(crate) fn suffix(&self, bytes: &[u8], at: usize) -> u64 {
        let len = bytes.len() - at;
        let whole = len / 8;
        if whole > self.words {
            return hash(self.seed, &bytes[at..]);
        }
        let mut h = self.states[whole];
        let rest = len % 8;
        if rest > 0 {
            h = step(h, word(&bytes[at..at + rest]));
        }
        finish(h, len)
    }
}

/// Hashes a name already in normal form (ASCII without upper-case
/// letters) and counts its dots in one pass of eight bytes per step.
/// Returns the hash, the dot count and the states that hash its suffixes,
/// or `None` for a name not in normal form.
#[inline]
pub(crate) fn normal_name_hash(seed: u64, bytes: &[u8]) -> Option<(u64, usize, SuffixHashes)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut bad = 0u64;
    let mut dots = 0u32;
    let mut check = |word: u64| {
        // Per byte, with the high bit clear: `b + 0x3f` sets it from `A`
        // up, `b + 0x25` from past `Z`; `b ^ '.'` is zero only for a dot.
        bad |= word & HIGH;
        bad |= word.wrapping_add(0x3f * ONES) & !word.wrapping_add(0x25 * ONES) & HIGH;
        let x = word ^ (u64::from(b'.') * ONES);
        let zero = !(((x & !HIGH).wrapping_add(!HIGH)) | x) & HIGH;
        dots += zero.count_ones();
    };

    let mut suffixes = SuffixHashes::new(seed);
    let mut h = seed;
    let mut end = bytes.len();
    while end >= 8 {
        let w = word(&bytes[end - 8..end]);
        check(w);
        h = step(h, w);
        suffixes.push(h);
        end -= 8;
    }
    if end > 0 {
        let w = word(&bytes[..end]);
        check(w);
        h = step(h, w);
    }
    (bad == 0).then(|| (finish(h, bytes.len()), dots as usize, suffixes))
}

/// Computes the suffix states of any name; see [`normal_name_hash`].
pub(crate) fn suffix_hashes(seed: u64, bytes: &[u8]) -> SuffixHashes {
    let mut suffixes = SuffixHashes::new(seed);
    let mut h = seed;
    let mut end = bytes.len();
    while end >= 8 && suffixes.words < SUFFIX_WORDS {
        h = step(h, word(&bytes[end - 8..end]));
        suffixes.push(h);
        end -= 8;
    }
    suffixes
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
    fn names_host_only_when_split_agrees() {
        let host = "a.example";
        let plain = [
            "http://a.example/p.js?v=1",
            "https://a.example",
            "http://a.example:80/x",
            "https://a.example:443?q",
            "a.example:443",
            "a.example",
            "/origin/form",
            "http://a.example#frag",
        ];
        let not_plain = [
            "http://a.example.evil.net/",
            "http://a.example:8080/",
            "http://a.example:80800/",
            "http://a.example:/",
            "http://u@a.example/",
            "http://A.example/",
            "HTTP://a.example/",
            " http://a.example/",
            "ftp://a.example/",
            "http://b.example/a.example",
            "",
        ];
        for raw in plain {
            assert!(names_host(raw, host), "{raw:?}");
        }
        for raw in not_plain {
            assert!(!names_host(raw, host), "{raw:?}");
        }
        assert!(!names_host("http://[::1]/", "::1"));

        // Whenever it returns true, the full split agrees: the same host
        // and no port other than a default one.
        for raw in plain.iter().chain(&not_plain) {
            if names_host(raw, host) {
                let split = split_url(raw, Some(host)).unwrap();
                assert_eq!((split.host, split.port), (host, None), "{raw:?}");
            }
        }
    }

    #[test]
    fn names_host_agrees_with_split_url() {
        // Hosts of up to three pieces, and URLs of a prefix, a host and a
        // suffix: every form `names_host` reads and the bytes `split_url`
        // cuts or trims at.
        let pieces = [
            "a", "b.c", ".", "-", "A", "1", "@", " ", "\x0c", "\u{85}", "\u{a0}", "[", "]", "/",
            "?", "#", ":", "%41", "é",
        ];
        let mut hosts = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = hosts
                .iter()
                .flat_map(|h| pieces.iter().map(move |p| format!("{h}{p}")))
                .collect();
            hosts.extend(longer);
        }
        hosts.sort();
        hosts.dedup();
        let prefixes = [
            "",
            "http://",
            "https://",
            "HTTP://",
            "ftp://",
            " ",
            "u@",
            "/",
            "http://u@",
        ];
        let suffixes = [
            "", ":80", ":443", ":8080", ":", "/", "/p?q", "?q", "#f", ".", "@x", " ", "\x0c",
            ":80/x", ":443#f", "://x/",
        ];

        for host in &hosts {
            for prefix in prefixes {
                for suffix in suffixes {
                    let raw = format!("{prefix}{host}{suffix}");
                    if !names_host(&raw, host) {
                        continue;
                    }
                    // The matcher's own test of the same host: the split's
                    // host is the event's, without a port or a colon.
                    let split = split_url(&raw, Some(host));
                    let same = split.as_ref().is_some_and(|u| {
                        u.port.is_none() && !u.host.contains(':') && u.host == host
                    });
                    assert!(same, "{raw:?} on {host:?}: {split:?}");
                }
            }
        }
    }

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
    fn normal_name_hash_agrees_with_the_plain_forms() {
        let names = [
            "",
            "a",
            "evil.com",
            "www.evil.co.uk",
            "a.b.c.d.e.f.g.h.i",
            "Evil.com",
            "evil.coM",
            "b\u{fc}cher.de",
            "xn--bcher-kva.example",
            "...",
            "x@[]{}.`~.AZaz",
            "@",
            "[",
            "`",
            "{",
        ];
        for name in names {
            let want = name
                .bytes()
                .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
                .then(|| (hash(7, name.as_bytes()), name.matches('.').count()));
            let got = normal_name_hash(7, name.as_bytes()).map(|(h, dots, _)| (h, dots));
            assert_eq!(got, want, "{name}");
        }
        for b in 0..=255u8 {
            let name = [b'a', b, b'.', b'z'];
            let ok = b.is_ascii() && !b.is_ascii_uppercase();
            let dots = 1 + usize::from(b == b'.');
            assert_eq!(
                normal_name_hash(3, &name).map(|(h, dots, _)| (h, dots)),
                ok.then(|| (hash(3, &name), dots)),
                "byte {b}"
            );
        }
    }

    #[test]
    fn suffix_hashes_agree_with_hashing_each_suffix() {
        let long = "label.".repeat(60) + "example";
        for name in [
            "a",
            "evil.com",
            "www.mail.evil.co.uk",
            "x.yy.zzz.wwww.vvvvv.uuuuuuuuu",
            &long,
        ] {
            let bytes = name.as_bytes();
            let normal = normal_name_hash(5, bytes).map(|(_, _, s)| s);
            let any = suffix_hashes(5, bytes);
            for at in 0..bytes.len() {
                let want = hash(5, &bytes[at..]);
                assert_eq!(any.suffix(bytes, at), want, "{name} at {at}");
                if let Some(normal) = &normal {
                    assert_eq!(normal.suffix(bytes, at), want, "{name} at {at}");
                }
            }
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(last_path_segment("/a/b/x.exe?y=1"), Some("x.exe"));
        assert_eq!(last_path_segment("/a/"), None);
    }
}
