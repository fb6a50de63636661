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

/// Returns what follows the authority of the URL `raw` (the path, query
/// and fragment, possibly empty) when, without cutting it into parts, the
/// URL is plainly on `host` with no port or a default one. Such a URL
/// starts with `http://` or `https://` and `host`, is `host` alone or with
/// its port (authority form), or starts with `/` (origin form, on the
/// event's host, returned whole). [`split_url`] with `host` as default
/// host then gives `host` and no port.
///
/// `None` means only "not plainly so": user information, another spelling
/// of the host or leading spaces are left to [`split_url`]. So is a host
/// with a byte that [`split_url`] may cut at or trim, such as a Host header
/// `u@evil.example`, whose URL is on `evil.example`.
#[inline]
pub(crate) fn names_host<'a>(raw: &'a str, host: &str) -> Option<&'a str> {
    if !plain_host(host) {
        return None;
    }
    after_host(raw, host)
}

/// Returns what follows the authority, as [`names_host`] does, for a host
/// already known to pass [`plain_host`].
#[inline]
pub(crate) fn after_host<'a>(raw: &'a str, host: &str) -> Option<&'a str> {
    if raw.starts_with('/') {
        return Some(raw);
    }
    let rest = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"))
        .unwrap_or(raw);
    let after = rest.strip_prefix(host)?;
    let after = after
        .strip_prefix(":80")
        .or_else(|| after.strip_prefix(":443"))
        .unwrap_or(after);
    matches!(after.as_bytes().first(), None | Some(b'/' | b'?' | b'#')).then_some(after)
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

/// Finds the last path segment of `path`, as [`last_path_segment`] does,
/// and the part of it after its last `\`, eight bytes per step. The first
/// is the value a file name indicator is matched against, the second the
/// name itself.
#[inline]
pub(crate) fn path_file_name(path: &str) -> Option<(&str, &str)> {
    let bytes = path.as_bytes();
    let (words, rest) = bytes.as_chunks::<8>();
    // A short word's zero padding matches none of the bytes tested.
    let stops = |w: u64| bytes_equal(w, b'?') | bytes_equal(w, b'#');
    let mut stop = words
        .iter()
        .fold(0, |found, w| found | stops(u64::from_le_bytes(*w)));
    if !rest.is_empty() {
        stop |= stops(word(rest));
    }
    let end = match stop {
        0 => bytes.len(),
        _ => memchr::memchr2(b'?', b'#', bytes).unwrap_or(bytes.len()),
    };

    // The segment and the name start after the last `/` and the last `/`
    // or `\` before the end, found from the end a word at a time.
    let (mut segment, mut base) = (None, None);
    let mut word_end = end;
    while segment.is_none() && word_end > 0 {
        let word_start = word_end.saturating_sub(8);
        let w = word(&bytes[word_start..word_end]);
        let last = |found: u64| word_start + (63 - found.leading_zeros() as usize) / 8 + 1;
        let slash = bytes_equal(w, b'/');
        if base.is_none() {
            let cut = slash | bytes_equal(w, b'\\');
            base = (cut != 0).then(|| last(cut));
        }
        segment = (slash != 0).then(|| last(slash));
        word_end = word_start;
    }
    let (segment, base) = (segment.unwrap_or(0), base.unwrap_or(0));

    // Both cuts follow an ASCII byte and the end is the length or precedes
    // an ASCII byte, so every slice starts and ends on a char boundary.
    let segment = path.get(segment..end).filter(|s| !s.is_empty())?;
    Some((segment, path.get(base..end)?))
}

/// Checks whether `text` contains a byte that is not ASCII or is an
/// upper-case ASCII letter, eight bytes per step.
#[inline]
pub(crate) fn has_upper_or_wide(text: &str) -> bool {
    let (words, rest) = text.as_bytes().as_chunks::<8>();
    let mut found = words
        .iter()
        .fold(0, |found, w| found | upper_or_wide(u64::from_le_bytes(*w)));
    if !rest.is_empty() {
        found |= upper_or_wide(word(rest));
    }
    found != 0
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
        h = step(h, word8(&bytes[end - 8..end]));
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

/// A one in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of every byte of a word.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Returns a mask with the high bit set in each byte of `word` that equals
/// `b`, and no other bit. It is exact per byte because no sum carries
/// across bytes.
#[inline]
fn bytes_equal(word: u64, b: u8) -> u64 {
    let x = word ^ (u64::from(b) * ONES);
    !(((x & !HIGH).wrapping_add(!HIGH)) | x) & HIGH
}

/// Returns a mask with the high bit set in each byte of `word` that is
/// not ASCII or is an upper-case ASCII letter.
#[inline]
fn upper_or_wide(word: u64) -> u64 {
    // With the high bit clear, `b + 0x3f` sets it from `A` up and
    // `b + 0x25` from past `Z`.
    let low = word & !HIGH;
    (word & HIGH) | (low.wrapping_add(0x3f * ONES) & !low.wrapping_add(0x25 * ONES) & HIGH)
}

/// Reads the first eight bytes as a little-endian word, or fewer
/// zero-padded as [`word`] does.
#[inline]
fn word8(bytes: &[u8]) -> u64 {
    bytes
        .first_chunk::<8>()
        .map_or_else(|| word(bytes), |b| u64::from_le_bytes(*b))
}

/// Up to eight bytes as a little-endian word, zero-padded.
///
/// Uses two overlapping loads and shifts instead of a copy, because a copy
/// of a length known only at run time is a `memcpy` call of about 15
/// instructions (callgrind), while a whole step of the hash takes three.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    if let (Some(head), Some(tail)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        // Four to eight bytes, read as two four-byte halves that overlap
        // when fewer than eight.
        let low = u64::from(u32::from_le_bytes(*head));
        let high = u64::from(u32::from_le_bytes(*tail));
        return low | (high << (8 * (n - 4)));
    }
    match bytes {
        [] => 0,
        // One to three bytes, read as the first, middle and last, which
        // overlap when fewer than three.
        [first, ..] => {
            let middle = bytes[n / 2];
            let last = bytes[n - 1];
            u64::from(*first)
                | (u64::from(middle) << (8 * (n / 2)))
                | (u64::from(last) << (8 * (n - 1)))
        }
    }
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

/// The result of one pass over a name in normal form: its hash, the
/// states that hash its suffixes and where its dots are.
pub(crate) struct NameScan {
    /// [`hash`] of the whole name.
    pub(crate) hash: u64,
    /// The states that hash each suffix.
    pub(crate) suffixes: SuffixHashes,
    /// Number of dots.
    pub(crate) dot_count: usize,
    /// Mask of the dots, bit `i` set when byte `i` is a dot, or `None` for
    /// a name longer than 64 bytes.
    pub(crate) dots: Option<u64>,
}

impl NameScan {
    /// Checks whether the scanned name `bytes` may be an IPv4 address in a
    /// spelling browsers accept ([`picket_event::host::parse_ip`]). Such
    /// an address needs its last label to be a decimal number or to start
    /// with `0x`, so a name this rejects is never an address.
    #[inline]
    pub(crate) fn may_be_address(&self, bytes: &[u8]) -> bool {
        let last_label = match self.dots {
            Some(dots) => (64 - dots.leading_zeros()) as usize,
            None => bytes.iter().rposition(|&b| b == b'.').map_or(0, |i| i + 1),
        };
        let label = &bytes[last_label.min(bytes.len())..];
        bytes.last().is_some_and(u8::is_ascii_digit)
            || label.starts_with(b"0x")
            || label.starts_with(b"0X")
    }
}

/// Hashes a name already in normal form (ASCII without upper-case
/// letters) and marks where its dots are, in one pass of eight bytes per
/// step. Returns `None` for a name not in normal form, and with `HOST`
/// also for a host that [`plain_host`] rejects: one with an ASCII byte
/// below `-`, a `/`, a byte from `:` to `@` or a `[`. Such a host may be
/// an IPv6 literal or be cut by URL splitting, and nearly no host is.
#[inline]
pub(crate) fn scan_normal_name<const HOST: bool>(seed: u64, bytes: &[u8]) -> Option<NameScan> {
    // Multiplier that gathers bit 0 of each byte into the top byte, byte
    // `i` to bit `56 + i`. No sum carries because the partial products
    // land on distinct bits.
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let mut bad = 0u64;
    let mut dots = 0u64;
    // `check` returns the word's dot mask in its low byte, bit `i` for
    // byte `i`. `valid` has the high bit set in each byte of the name,
    // because a short word's zero padding would count as bytes below `-`.
    let mut check = |word: u64, valid: u64| -> u64 {
        // For a byte `b` with the high bit clear, `b + (0x80 - c)` sets that
        // bit when `b >= c`. A byte with the high bit set may carry into the
        // next byte's sum, which is harmless because that byte already makes
        // the name bad.
        bad |= word & HIGH;
        let at_least = |c: u8| word.wrapping_add(u64::from(0x80 - c) * ONES);
        if HOST {
            // Bytes below `-`, a `/`, and `:` to `[`, upper case among them.
            bad |= !at_least(b'-') & valid;
            bad |= bytes_equal(word, b'/');
            bad |= at_least(b':') & !at_least(b'[' + 1) & HIGH;
        } else {
            bad |= at_least(b'A') & !at_least(b'Z' + 1) & HIGH;
        }
        (bytes_equal(word, b'.') >> 7).wrapping_mul(GATHER) >> 56
    };

    let mut suffixes = SuffixHashes::new(seed);
    let mut h = seed;
    let mut end = bytes.len();
    while end >= 8 {
        let w = word8(&bytes[end - 8..end]);
        let word_dots = check(w, HIGH);
        if end <= 64 {
            dots |= word_dots << (end - 8);
        }
        h = step(h, w);
        suffixes.push(h);
        end -= 8;
    }
    if end > 0 {
        let w = word(&bytes[..end]);
        dots |= check(w, HIGH >> (64 - 8 * end));
        h = step(h, w);
    }
    if bad != 0 {
        return None;
    }
    let short = bytes.len() <= 64;
    Some(NameScan {
        hash: finish(h, bytes.len()),
        suffixes,
        dot_count: match short {
            true => sparse_count(dots),
            false => bytes.iter().filter(|&&b| b == b'.').count(),
        },
        dots: short.then_some(dots),
    })
}

/// Counts the set bits of a word that has few, one step per bit. Without a
/// `popcnt` instruction in the target, `count_ones` takes about twenty
/// instructions (x86-64 baseline), while a typical name has two or three
/// dots.
#[inline]
fn sparse_count(mut bits: u64) -> usize {
    let mut n = 0;
    while bits != 0 {
        bits &= bits - 1;
        n += 1;
    }
    n
}

/// Computes the suffix states of any name, as [`scan_normal_name`] does
/// for a name in normal form.
pub(crate) fn suffix_hashes(seed: u64, bytes: &[u8]) -> SuffixHashes {
    let mut suffixes = SuffixHashes::new(seed);
    let mut h = seed;
    let mut end = bytes.len();
    while end >= 8 && suffixes.words < SUFFIX_WORDS {
        h = step(h, word8(&bytes[end - 8..end]));
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
            assert!(names_host(raw, host).is_some(), "{raw:?}");
        }
        for raw in not_plain {
            assert!(names_host(raw, host).is_none(), "{raw:?}");
        }
        assert!(names_host("http://[::1]/", "::1").is_none());

        // Whenever it returns true, the full split agrees: the same host
        // and no port other than a default one.
        for raw in plain.iter().chain(&not_plain) {
            if names_host(raw, host).is_some() {
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
                    if names_host(&raw, host).is_none() {
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
    fn name_scan_agrees_with_the_plain_forms() {
        /// Computes the expected scan result with byte-by-byte tests.
        fn expected(seed: u64, name: &[u8], host: bool) -> Option<(u64, usize, Option<u64>)> {
            if !name.iter().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                return None;
            }
            let text = std::str::from_utf8(name).unwrap();
            if host && !text.is_empty() && !plain_host(text) {
                return None;
            }
            let dots = name.iter().enumerate().filter(|(_, b)| **b == b'.');
            let mask = (name.len() <= 64).then(|| dots.clone().fold(0, |m, (i, _)| m | 1 << i));
            Some((hash(seed, name), dots.count(), mask))
        }
        fn scanned<const HOST: bool>(seed: u64, name: &[u8]) -> Option<(u64, usize, Option<u64>)> {
            scan_normal_name::<HOST>(seed, name).map(|s| (s.hash, s.dot_count, s.dots))
        }

        let long = "ab.".repeat(30);
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
            "a.b:8080",
            "u@evil.example",
            "evil.example/dl",
            "a b",
            "0123456789.-_~^|}{`]\\",
            &long,
            &long[1..],
            &long[..64],
            &long[..65],
        ];
        for name in names {
            let bytes = name.as_bytes();
            assert_eq!(
                scanned::<true>(7, bytes),
                expected(7, bytes, true),
                "{name}"
            );
            assert_eq!(
                scanned::<false>(7, bytes),
                expected(7, bytes, false),
                "{name}"
            );
        }
        for b in 0..=255u8 {
            for at in 0..13 {
                let mut name = *b"abc.defghi.jk";
                name[at] = b;
                assert_eq!(
                    scanned::<true>(3, &name),
                    expected(3, &name, true),
                    "byte {b} at {at}"
                );
                assert_eq!(
                    scanned::<false>(3, &name),
                    expected(3, &name, false),
                    "byte {b} at {at}"
                );
            }
        }
    }

    #[test]
    fn address_test_passes_every_address() {
        let hosts = [
            "203.0.113.66",
            "3405803842",
            "0xcb007142",
            "0xcb.0.0x71.0x42",
            "0313.0.0161.0102",
            "a.0x",
            "1.2.3.4.5",
            "999.1.1.1",
            "evil.example",
            "evil.0xample",
            "deadbeef",
            "a.b.c",
            "0x",
            "x.",
        ];
        for host in hosts {
            let trimmed = host.strip_suffix('.').unwrap_or(host);
            let Some(scan) = scan_normal_name::<true>(1, trimmed.as_bytes()) else {
                continue;
            };
            let address = picket_event::host::parse_ip(host).is_some();
            let may_be = scan.may_be_address(trimmed.as_bytes());
            assert!(may_be || !address, "{host}");
            let named = matches!(host, "evil.example" | "a.b.c" | "deadbeef" | "x.");
            assert_eq!(may_be, !named, "{host}");
        }
    }

    #[test]
    fn word_is_the_zero_padded_bytes() {
        let bytes = [0x81u8, 2, 0xff, 4, 5, 0x86, 7, 0xf8];
        for n in 0..=8 {
            let mut head = [0u8; 8];
            head[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(
                word(&bytes[..n]),
                u64::from_le_bytes(head),
                "first {n} bytes"
            );

            let mut tail = [0u8; 8];
            tail[..n].copy_from_slice(&bytes[8 - n..]);
            assert_eq!(
                word(&bytes[8 - n..]),
                u64::from_le_bytes(tail),
                "last {n} bytes"
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
            let normal = scan_normal_name::<false>(5, bytes).map(|s| s.suffixes);
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
    fn path_file_name_agrees_with_cutting_in_steps() {
        let pieces = [
            "/", "\\", "?", "#", "a", "B", "x.exe", "\u{e9}", " ", "\u{a0}",
        ];
        let mut paths = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = paths
                .iter()
                .flat_map(|p| pieces.iter().map(move |q| format!("{p}{q}")))
                .collect();
            paths.extend(longer);
        }
        paths.push("/dir/sub/a-long-file-name.tar.gz?x=/y#z".into());
        paths.push("/".repeat(17) + "\\name.js");
        for path in &paths {
            let want = last_path_segment(path).map(|segment| {
                let base = match segment.rfind('\\') {
                    Some(i) => &segment[i + 1..],
                    None => segment,
                };
                (segment, base)
            });
            assert_eq!(path_file_name(path), want, "{path:?}");
        }
    }

    #[test]
    fn upper_or_wide_bytes_are_found() {
        for text in [
            "",
            "a",
            "abcdefgh",
            "abcdefghijklmnop.exe",
            "@[`{",
            "0123456789",
        ] {
            assert!(!has_upper_or_wide(text), "{text}");
        }
        for text in [
            "A",
            "abcdefgZ",
            "abcdefghijklmnoP",
            "\u{e9}",
            "abcdefgh\u{e9}",
        ] {
            assert!(has_upper_or_wide(text), "{text}");
        }
        for b in 0..=127u8 {
            let text = format!("abcdefghij{}", char::from(b));
            assert_eq!(has_upper_or_wide(&text), b.is_ascii_uppercase(), "byte {b}");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(last_path_segment("/a/b/x.exe?y=1"), Some("x.exe"));
        assert_eq!(last_path_segment("/a/"), None);
    }
}
