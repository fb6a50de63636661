//! Normalisation of observables: one canonical text per value, so that the
//! same observable from two feeds is one indicator.
//!
//! | kind | canonical form |
//! |---|---|
//! | IPv4, IPv6 | `std` display form (RFC 5952 for IPv6) |
//! | CIDR | network address and prefix, host bits cleared |
//! | IP range | `first-last`, both in display form, `first <= last` |
//! | domain | IDNA ASCII, lower case, no trailing dot |
//! | URL | lower-case scheme and host, default port removed, percent-escapes of unreserved characters decoded and the rest upper-cased, fragment dropped |
//! | e-mail | lower case, IDNA domain |
//! | MD5, SHA-1, SHA-256 | lower-case hex |
//! | user agent, file name | trimmed, otherwise exact |
//!
//! Defanged values (`hxxp://`, `evil[.]example`, `1.2.3[.]4`) are refanged
//! before parsing: feeds written for people publish them that way.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::IndicatorKind;
use crate::error::ValueError;

/// Longest DNS name in ASCII form (RFC 1035 section 2.3.4).
const MAX_DOMAIN_LEN: usize = 253;
/// Longest DNS label (RFC 1035 section 2.3.4).
const MAX_LABEL_LEN: usize = 63;
/// Longest URL kept. Longer ones are rejected rather than truncated.
const MAX_URL_LEN: usize = 8192;
/// Longest user agent or file name kept.
const MAX_TEXT_LEN: usize = 4096;

/// One normalised observable, with the matching flags some kinds carry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Observable {
    /// The kind.
    pub kind: IndicatorKind,
    /// The canonical text.
    pub value: String,
    /// Domain only: the value also covers every name below it (written
    /// `*.example.com` or `.example.com`).
    pub include_subdomains: bool,
}

/// Normalises `text` as an observable of `kind`.
///
/// Leading and trailing white space is ignored. For domains a leading `*.`
/// or `.` is accepted and dropped. Use [`normalize_observable`] to keep it as
/// the include-subdomains flag.
pub fn normalize(kind: IndicatorKind, text: &str) -> Result<String, ValueError> {
    normalize_observable(kind, text).map(|o| o.value)
}

/// Normalises `text` as an observable of `kind`, keeping the
/// include-subdomains flag of a `*.example.com` or `.example.com` domain.
pub fn normalize_observable(kind: IndicatorKind, text: &str) -> Result<Observable, ValueError> {
    let trimmed = trim(text);
    if trimmed.is_empty() {
        return Err(ValueError::new(kind, text, "empty value"));
    }
    let mut include_subdomains = false;
    let value = match kind {
        IndicatorKind::Ipv4 => ipv4(&refang(trimmed))?,
        IndicatorKind::Ipv6 => ipv6(trimmed)?,
        IndicatorKind::Cidr => cidr(&refang(trimmed))?,
        IndicatorKind::IpRange => ip_range(&refang(trimmed))?,
        IndicatorKind::Domain => {
            let refanged = refang(trimmed);
            let (name, wildcard) = strip_wildcard(&refanged);
            include_subdomains = wildcard;
            domain(name).map_err(|reason| ValueError::new(kind, text, reason))?
        }
        IndicatorKind::Url => url(trimmed)?,
        IndicatorKind::Email => email(&refang(trimmed))?,
        IndicatorKind::Md5 => hex_digest(kind, trimmed, 32)?,
        IndicatorKind::Sha1 => hex_digest(kind, trimmed, 40)?,
        IndicatorKind::Sha256 => hex_digest(kind, trimmed, 64)?,
        IndicatorKind::UserAgent => plain_text(kind, trimmed)?,
        IndicatorKind::FileName => file_name(trimmed)?,
    };
    Ok(Observable {
        kind,
        value,
        include_subdomains,
    })
}

/// Guesses the kind of a bare value and normalises it.
///
/// Order: IP address, CIDR, IP range, hash by length, e-mail address, URL
/// (a scheme, or a host followed by `/`), domain (at least two labels, the
/// last one not all digits). A `*.` or `.` prefix marks a domain and its
/// subdomains. See [`classify_observable`] to keep that flag. User agents and
/// file names are never guessed: they look like anything.
pub fn classify(text: &str) -> Option<(IndicatorKind, String)> {
    classify_observable(text).map(|o| (o.kind, o.value))
}

/// Like [`classify`], keeping the include-subdomains flag.
pub fn classify_observable(text: &str) -> Option<Observable> {
    let text = trim(text);
    if text.is_empty() || text.len() > MAX_URL_LEN {
        return None;
    }
    let refanged = refang(text);
    let shape = Shape::of(&refanged);
    let plain = |kind, value| {
        Some(Observable {
            kind,
            value,
            include_subdomains: false,
        })
    };

    if let Some(ip) = shape
        .has_only(IP)
        .then(|| refanged.parse::<IpAddr>().ok())
        .flatten()
    {
        return match ip {
            // The standard library reads only the canonical dotted quad (no
            // leading zeros, no shorter forms), so the text is the value.
            IpAddr::V4(_) => plain(IndicatorKind::Ipv4, refanged.into_owned()),
            IpAddr::V6(v6) => plain(IndicatorKind::Ipv6, v6.to_string()),
        };
    }
    // Networks and ranges are parsed without building the error a value
    // of another kind would give.
    let scheme = shape.has(COLON) && refanged.contains("://");
    if shape.has(SLASH)
        && !scheme
        && let Some(net) = parse_net(&refanged)
    {
        if net.prefix_len() == 0 {
            return None;
        }
        return plain(IndicatorKind::Cidr, net_text(net));
    }
    if shape.has(DASH)
        && !shape.has(SLASH)
        && let Ok((first, last)) = parse_range(&refanged)
    {
        return plain(IndicatorKind::IpRange, format!("{first}-{last}"));
    }
    if shape.has_only(HEX) {
        let kind = match refanged.len() {
            32 => IndicatorKind::Md5,
            40 => IndicatorKind::Sha1,
            64 => IndicatorKind::Sha256,
            _ => return None,
        };
        return plain(kind, refanged.to_ascii_lowercase());
    }
    if shape.has(AT) && !shape.has(SLASH) && !shape.has(COLON) {
        return email(&refanged)
            .ok()
            .and_then(|value| plain(IndicatorKind::Email, value));
    }
    if !scheme && shape.has(SLASH) && is_invalid_network(&refanged) {
        return None;
    }
    if scheme || shape.has(SLASH) || shape.has(QUESTION) {
        let host_end = memchr::memchr2(b'/', b'?', refanged.as_bytes()).unwrap_or(refanged.len());
        let looks_like_url = scheme || looks_like_host(&refanged[..host_end]);
        return if looks_like_url {
            url(text)
                .ok()
                .and_then(|value| plain(IndicatorKind::Url, value))
        } else {
            None
        };
    }
    let (name, wildcard) = strip_wildcard(&refanged);
    if !looks_like_host(name) {
        return None;
    }
    let value = domain(name).ok()?;
    Some(Observable {
        kind: IndicatorKind::Domain,
        value,
        include_subdomains: wildcard,
    })
}

/// The bytes a value contains, found in one pass, so that the tests of
/// [`classify_observable`] do not each search the value again.
struct Shape {
    /// The [`BYTE_CLASSES`] of any byte of the value.
    any: u8,
    /// The [`BYTE_CLASSES`] of every byte of the value.
    every: u8,
}

const SLASH: u8 = 1;
const DASH: u8 = 1 << 1;
const AT: u8 = 1 << 2;
const COLON: u8 = 1 << 3;
const QUESTION: u8 = 1 << 4;
const HEX: u8 = 1 << 5;
/// A hex digit, `.` or `:`: the bytes of every address that
/// `IpAddr::from_str` reads.
const IP: u8 = 1 << 6;

/// The classes of each byte. One lookup a byte replaces a test for each
/// class, which took several instructions a byte.
const BYTE_CLASSES: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        let mut class = match b {
            b'/' => SLASH,
            b'-' => DASH,
            b'@' => AT,
            b':' => COLON | IP,
            b'?' => QUESTION,
            b'.' => IP,
            _ => 0,
        };
        if b.is_ascii_hexdigit() {
            class |= HEX | IP;
        }
        table[byte] = class;
        byte += 1;
    }
    table
};

impl Shape {
    fn of(text: &str) -> Shape {
        let mut shape = Shape {
            any: 0,
            every: u8::MAX,
        };
        for byte in text.bytes() {
            let class = BYTE_CLASSES[usize::from(byte)];
            shape.any |= class;
            shape.every &= class;
        }
        shape
    }

    fn has(&self, class: u8) -> bool {
        self.any & class != 0
    }

    fn has_only(&self, class: u8) -> bool {
        self.every & class != 0
    }
}

/// Whether `text` could be a host name or address with an optional port:
/// two or more labels and a last label that is not all digits, or an IP.
fn looks_like_host(text: &str) -> bool {
    let host = match memchr::memrchr(b':', text.as_bytes()) {
        Some(colon)
            if text[colon + 1..].bytes().all(|b| b.is_ascii_digit()) && colon + 1 < text.len() =>
        {
            &text[..colon]
        }
        _ => text,
    };
    if parse_ip(host).is_some() || host.starts_with('[') {
        return true;
    }
    // The last label, and whether the one before it is there and not empty.
    let name = host.trim_end_matches('.');
    let (has_parent, last) = match memchr::memrchr(b'.', name.as_bytes()) {
        Some(dot) => (dot > 0 && !name[..dot].ends_with('.'), &name[dot + 1..]),
        None => (false, name),
    };
    has_parent
        && !last.is_empty()
        && !last.bytes().all(|b| b.is_ascii_digit())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_' || b >= 0x80)
}

/// Tells whether `text` is an address, `/` and a prefix length that
/// [`parse_net`] rejects, such as `192.0.2.1/33`. Such a value is a
/// mistyped network, not a URL whose path is a number.
fn is_invalid_network(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let address = address
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(address);
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && parse_ip(address).is_some()
        && parse_net(text).is_none()
}

/// Splits a leading `*.` or `.` off a domain.
fn strip_wildcard(text: &str) -> (&str, bool) {
    if let Some(rest) = text.strip_prefix("*.") {
        (rest, true)
    } else if let Some(rest) = text.strip_prefix('.') {
        (rest, true)
    } else {
        (text, false)
    }
}

/// Removes leading and trailing white space as `str::trim` does. A text
/// that starts and ends with a printable ASCII character, as nearly every
/// value and cell does, is returned without decoding a character.
pub(crate) fn trim(text: &str) -> &str {
    let bytes = text.as_bytes();
    let printable_ends = bytes.first().is_some_and(u8::is_ascii_graphic)
        && bytes.last().is_some_and(u8::is_ascii_graphic);
    if printable_ends {
        return text;
    }
    text.trim()
}

/// Parses an IPv4 or IPv6 address as `IpAddr::from_str` does, without
/// trying both parsers on text that neither reads: a name or URL, which
/// most classified values are.
fn parse_ip(text: &str) -> Option<IpAddr> {
    // Both forms consist of hex digits, `.` and `:` alone.
    let may_be_ip = text
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
    if !may_be_ip {
        return None;
    }
    text.parse().ok()
}

/// Defanged URL schemes, each with the scheme it stands for. `hxxps`
/// comes before `hxxp`, which is its prefix.
const DEFANGED_SCHEMES: [(&str, &str); 3] = [("hxxps", "https"), ("hxxp", "http"), ("fxp", "ftp")];

/// Tells whether [`refang`] may change `text`.
fn is_defanged(text: &str) -> bool {
    memchr::memchr3(b'[', b'(', b'{', text.as_bytes()).is_some() || defanged_scheme(text).is_some()
}

/// Returns the defanged scheme, in any letter case, that `text` starts
/// with, and the scheme it stands for. A name such as `fxpro.com` starts
/// with one too, so [`refang`] rewrites it only before `://`.
fn defanged_scheme(text: &str) -> Option<(&'static str, &'static str)> {
    DEFANGED_SCHEMES.into_iter().find(|(defanged, _)| {
        text.as_bytes()
            .get(..defanged.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(defanged.as_bytes()))
    })
}

/// Undoes the usual defanging: `[.]`, `(.)`, `{.}`, `[dot]`, `hxxp`, `[:]`, `[@]`.
pub fn refang(text: &str) -> std::borrow::Cow<'_, str> {
    if !is_defanged(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("{.}", ".")
        .replace("[dot]", ".")
        .replace("[:]", ":")
        .replace("[@]", "@")
        .replace("[at]", "@")
        .replace("[://]", "://");
    // The scheme is rewritten only where `://` follows it, so that a name
    // that starts with the same letters keeps them.
    if let Some((defanged, scheme)) = defanged_scheme(&out)
        && out[defanged.len()..].starts_with("://")
    {
        out.replace_range(..defanged.len(), scheme);
    }
    std::borrow::Cow::Owned(out)
}

fn ipv4(text: &str) -> Result<String, ValueError> {
    // The standard library reads only the canonical dotted quad (no
    // leading zeros, no shorter forms), so the text is the value.
    text.parse::<Ipv4Addr>()
        .map(|_| text.to_owned())
        .map_err(|_| ValueError::new(IndicatorKind::Ipv4, text, "not a dotted-quad IPv4 address"))
}

fn ipv6(text: &str) -> Result<String, ValueError> {
    let inner = text.trim_start_matches('[').trim_end_matches(']');
    inner
        .parse::<Ipv6Addr>()
        .map(|ip| ip.to_string())
        .map_err(|_| ValueError::new(IndicatorKind::Ipv6, text, "not an IPv6 address"))
}

/// Parses a network. Host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`).
/// A bare address becomes a /32 or /128.
fn cidr(text: &str) -> Result<String, ValueError> {
    let net = parse_net(text).ok_or_else(|| {
        ValueError::new(IndicatorKind::Cidr, text, "not an address/prefix network")
    })?;
    if net.prefix_len() == 0 {
        return Err(ValueError::new(IndicatorKind::Cidr, text, EVERY_ADDRESS));
    }
    Ok(net_text(net))
}

/// The reason a network of prefix length 0 is rejected as an indicator: it
/// would match all traffic of its family, which a feed means only by
/// mistake.
pub(crate) const EVERY_ADDRESS: &str = "prefix length 0 covers every address";

/// Writes a network as `IpNet`'s `Display` does. An IPv4 network is
/// written by hand, which takes a small part of the formatting machinery's
/// instructions.
fn net_text(net: IpNet) -> String {
    let IpNet::V4(v4) = net else {
        return net.to_string();
    };
    let mut out = String::with_capacity(18);
    for (i, octet) in v4.addr().octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_decimal(&mut out, octet);
    }
    out.push('/');
    push_decimal(&mut out, v4.prefix_len());
    out
}

/// Appends a byte in decimal, without leading zeros.
fn push_decimal(out: &mut String, value: u8) {
    if value >= 100 {
        out.push(char::from(b'0' + value / 100));
    }
    if value >= 10 {
        out.push(char::from(b'0' + value / 10 % 10));
    }
    out.push(char::from(b'0' + value % 10));
}

/// Parses a network in CIDR notation or a bare address as a host network.
pub fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(net.trunc());
    }
    text.parse::<IpAddr>().ok().map(IpNet::from)
}

fn ip_range(text: &str) -> Result<String, ValueError> {
    let err = |reason| ValueError::new(IndicatorKind::IpRange, text, reason);
    let (first, last) = parse_range(text).map_err(err)?;
    Ok(format!("{first}-{last}"))
}

/// Parses `first-last` (spaces around the dash allowed) into two addresses
/// of one family with `first <= last`.
pub fn parse_range(text: &str) -> Result<(IpAddr, IpAddr), &'static str> {
    let (a, b) = text.split_once('-').ok_or("expected first-last")?;
    let first = parse_ip(a.trim()).ok_or("first address is invalid")?;
    let last = parse_ip(b.trim()).ok_or("last address is invalid")?;
    match (first, last) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {}
        _ => return Err("the two addresses are of different families"),
    }
    if first > last {
        return Err("first address is above the last");
    }
    Ok((first, last))
}

/// Normalises a DNS name. The error is the reason.
pub(crate) fn domain(text: &str) -> Result<String, &'static str> {
    let name = trim(text).trim_end_matches('.');
    if name.is_empty() {
        return Err("empty name");
    }
    if name.len() > MAX_DOMAIN_LEN * 4 {
        return Err("name too long");
    }
    let ascii = if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        match url::Host::parse(name) {
            Ok(url::Host::Domain(d)) => d,
            Ok(_) => return Err("is an IP address, not a name"),
            Err(_) => return Err("not a valid internationalised name"),
        }
    };
    if parse_ip(&ascii).is_some() {
        return Err("is an IP address, not a name");
    }
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err("name longer than 253 characters");
    }
    if has_valid_labels(ascii.as_bytes()) {
        return Ok(ascii);
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > MAX_LABEL_LEN {
            return Err("label longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("label has a character outside letters, digits, '-' and '_'");
        }
    }
    Ok(ascii)
}

/// Tells whether every label of a name is 1 to 63 letters, digits, `-`
/// or `_`, in one pass over the name: the checks of [`domain`], which
/// then finds the first failing label for the error.
fn has_valid_labels(name: &[u8]) -> bool {
    let mut label_len = 0;
    for &byte in name {
        if byte == b'.' {
            if label_len == 0 {
                return false;
            }
            label_len = 0;
        } else if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            label_len += 1;
        } else {
            return false;
        }
        if label_len > MAX_LABEL_LEN {
            return false;
        }
    }
    label_len > 0
}

/// Normalises a URL. A value without a scheme is read as `http://`.
fn url(text: &str) -> Result<String, ValueError> {
    if text.len() > MAX_URL_LEN {
        return Err(ValueError::new(
            IndicatorKind::Url,
            text,
            "longer than 8192 bytes",
        ));
    }
    match plain_url(text) {
        Some(canonical) => Ok(canonical),
        None => parse_url(text),
    }
}

/// Returns the canonical form of a URL that needs no change but a scheme
/// or a `/` path, or `None` for any other URL.
///
/// It reads the plain form most feeds list. The scheme is `http://`,
/// `https://` or absent. The host is a lower-case name of letters, digits,
/// `-` and `.` whose last label is letters alone. The path and query
/// contain only characters that the `url` crate leaves as they are, and no
/// `%`, `#`, port, user name, empty path segment or segment starting with
/// a dot. A test checks that each URL it reads gives what [`parse_url`]
/// gives. On the generated benchmark feeds a URL took about 8,000
/// instructions through [`parse_url`] and 2,000 here (callgrind).
fn plain_url(text: &str) -> Option<String> {
    if is_defanged(text) {
        return None;
    }
    let (scheme, rest) = if let Some(rest) = text.strip_prefix("http://") {
        ("http://", rest)
    } else if let Some(rest) = text.strip_prefix("https://") {
        ("https://", rest)
    } else if text.contains("://") {
        return None;
    } else {
        ("http://", text)
    };

    let host_end = memchr::memchr2(b'/', b'?', rest.as_bytes()).unwrap_or(rest.len());
    let (host, target) = rest.split_at(host_end);
    if !is_plain_host(host) {
        return None;
    }

    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let path_is_plain = path.bytes().all(is_plain_path_byte) && is_canonical_path(path.as_bytes());
    let query_is_plain = query.is_none_or(|q| {
        q.bytes()
            .all(|b| b != b'\'' && (b == b'?' || is_plain_path_byte(b)))
    });
    if !path_is_plain || !query_is_plain {
        return None;
    }

    let mut out = String::with_capacity(scheme.len() + rest.len() + 1);
    out.push_str(scheme);
    out.push_str(host);
    if path.is_empty() {
        out.push('/');
    }
    out.push_str(target);
    Some(out)
}

/// Tells whether a URL host is a lower-case name that the `url` crate's
/// host parser returns unchanged. Its labels are letters, digits and `-`,
/// none empty or in punycode (`xn--`). The last is letters alone, so that
/// the host is never read as an IPv4 address.
fn is_plain_host(host: &str) -> bool {
    let mut labels = host.split('.');
    let last_is_word = labels
        .next_back()
        .is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_lowercase()));
    last_is_word
        && labels.all(|label| {
            !label.is_empty()
                && !label.starts_with("xn--")
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Tells whether a byte of a URL path is one that the `url` crate copies
/// unchanged and [`refang`] never reads: unreserved characters, `/` and
/// the sub-delimiters other than `(` and `)` (RFC 3986 section 2.2).
fn is_plain_path_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'/'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
        )
}

/// Normalises a URL with the `url` crate: every URL that [`plain_url`] does
/// not read.
fn parse_url(text: &str) -> Result<String, ValueError> {
    let err = |reason| ValueError::new(IndicatorKind::Url, text, reason);
    let refanged = refang(text);
    let with_scheme;
    let input: &str = if refanged.contains("://") {
        &refanged
    } else {
        with_scheme = format!("http://{refanged}");
        &with_scheme
    };
    let mut parsed = url::Url::parse(input).map_err(|_| err("not a valid URL"))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(err("URL has no host"));
    }
    parsed.set_fragment(None);
    let path = url_path(parsed.path()).into_owned();
    parsed.set_path(&path);
    if let Some(query) = parsed.query().map(normalize_percent) {
        parsed.set_query(Some(&query));
    }
    Ok(parsed.to_string())
}

/// Returns the canonical form of a URL path, the same for an indicator and
/// for a logged request. Escapes are normalised as by [`normalize_percent`]
/// and `.` and `..` segments removed (RFC 3986 section 5.2.4). Runs of `/`
/// become one, as nginx and Apache read them by default.
pub fn url_path(path: &str) -> std::borrow::Cow<'_, str> {
    if is_canonical_path(path.as_bytes()) {
        return std::borrow::Cow::Borrowed(path);
    }
    let decoded = normalize_percent(path);
    let body = decoded.strip_prefix('/').unwrap_or(&decoded);

    let segments: Vec<&str> = body.split('/').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            "" if !last => {}
            other => kept.push(other),
        }
        // A path ending in `.` or `..` names the directory: keep its slash.
        if last && matches!(*segment, "." | "..") {
            kept.push("");
        }
    }

    let mut out = String::with_capacity(decoded.len());
    out.push('/');
    out.push_str(&kept.join("/"));
    std::borrow::Cow::Owned(out)
}

/// Returns true when a path has no percent-escape, no empty segment and no
/// segment starting with a dot, so [`url_path`] would return it unchanged.
/// Matching calls this for every URL it reads, so each byte searched for
/// takes one `memchr` pass.
fn is_canonical_path(path: &[u8]) -> bool {
    memchr::memchr(b'%', path).is_none()
        && !memchr::memchr_iter(b'/', path).any(|i| matches!(path.get(i + 1), Some(b'/' | b'.')))
}

/// Decodes percent-escapes of unreserved characters (RFC 3986 section 2.3)
/// and upper-cases the hex digits of the others (section 6.2.2.1).
pub fn normalize_percent(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            // Both bytes are ASCII hex digits, so the slice is on char boundaries.
            let hex = &text[i + 1..i + 3];
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(byte));
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        // Only ASCII '%' sequences are rewritten. Copy everything else as is.
        let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn email(text: &str) -> Result<String, ValueError> {
    let err = |reason| ValueError::new(IndicatorKind::Email, text, reason);
    let text = text.trim().trim_start_matches("mailto:");
    let (local, host) = text.rsplit_once('@').ok_or_else(|| err("no '@'"))?;
    if local.is_empty() || local.len() > 64 {
        return Err(err("local part empty or longer than 64"));
    }
    if local
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '@'))
    {
        return Err(err("local part has a forbidden character"));
    }
    let host = domain(host).map_err(err)?;
    Ok(format!("{}@{host}", local.to_lowercase()))
}

fn hex_digest(kind: IndicatorKind, text: &str, len: usize) -> Result<String, ValueError> {
    if text.len() != len {
        return Err(ValueError::new(kind, text, "wrong number of hex digits"));
    }
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ValueError::new(kind, text, "not hexadecimal"));
    }
    Ok(text.to_ascii_lowercase())
}

fn plain_text(kind: IndicatorKind, text: &str) -> Result<String, ValueError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(ValueError::new(kind, text, "longer than 4096 bytes"));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(ValueError::new(kind, text, "contains a control character"));
    }
    Ok(text.to_owned())
}

fn file_name(text: &str) -> Result<String, ValueError> {
    let name = plain_text(IndicatorKind::FileName, text)?;
    if name.contains(['/', '\\']) {
        return Err(ValueError::new(
            IndicatorKind::FileName,
            text,
            "contains a path separator; give the bare name",
        ));
    }
    Ok(name)
}

/// Lower and upper bound of an address, network or range as 128-bit
/// numbers (IPv4 mapped into `::ffff:0:0/96`), for range queries in the store.
pub fn ip_bounds(kind: IndicatorKind, value: &str) -> Option<(u128, u128)> {
    match kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
            let ip: IpAddr = value.parse().ok()?;
            let n = ip_to_u128(ip);
            Some((n, n))
        }
        IndicatorKind::Cidr => {
            let net = parse_net(value)?;
            Some((ip_to_u128(net.network()), ip_to_u128(net.broadcast())))
        }
        IndicatorKind::IpRange => {
            let (a, b) = parse_range(value).ok()?;
            Some((ip_to_u128(a), ip_to_u128(b)))
        }
        _ => None,
    }
}

/// An address as a 128-bit number; IPv4 is mapped into `::ffff:0:0/96`.
pub fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The smallest list of CIDR networks that covers exactly `first..=last`.
pub fn range_to_cidrs(first: IpAddr, last: IpAddr) -> Vec<IpNet> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => ipnet::Ipv4Subnets::new(a, b, 0).map(IpNet::V4).collect(),
        (IpAddr::V6(a), IpAddr::V6(b)) => ipnet::Ipv6Subnets::new(a, b, 0).map(IpNet::V6).collect(),
        _ => Vec::new(),
    }
}

/// The host of a URL: a DNS name or an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlHost {
    /// A DNS name, lower case.
    Domain(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
}

/// The host of a normalised URL, or `None` when it has none.
pub fn url_host(url: &str) -> Option<UrlHost> {
    match url::Url::parse(url).ok()?.host()? {
        url::Host::Domain(d) => Some(UrlHost::Domain(d.to_ascii_lowercase())),
        url::Host::Ipv4(ip) => Some(UrlHost::Ip(IpAddr::V4(ip))),
        url::Host::Ipv6(ip) => Some(UrlHost::Ip(IpAddr::V6(ip))),
    }
}

/// The parent domains of a name, nearest first, without the name itself
/// and without the top-level label (`a.b.example.com` gives `b.example.com`,
/// `example.com`).
pub fn parent_domains(name: &str) -> impl Iterator<Item = &str> {
    let dots: Vec<usize> = name.match_indices('.').map(|(i, _)| i).collect();
    let keep = dots.len().saturating_sub(1);
    dots.into_iter().take(keep).map(move |i| &name[i + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use IndicatorKind::*;

    #[test]
    fn refang_rewrites_only_schemes() {
        for (kind, input, want) in [
            (Domain, "fxpro.com", "fxpro.com"),
            (Domain, "hxxpool.example", "hxxpool.example"),
            (Domain, "hxxps-evil.example", "hxxps-evil.example"),
            (Url, "fxp.example/a", "http://fxp.example/a"),
            (Url, "hxxp://evil.example/a", "http://evil.example/a"),
            (Url, "hxxps[://]evil[.]example", "https://evil.example/"),
            (Url, "fxp://evil.example/a", "ftp://evil.example/a"),
            (Url, "HXXP://Evil.example/a", "http://evil.example/a"),
            (Url, "HxxPs://evil.example/a", "https://evil.example/a"),
        ] {
            assert_eq!(
                normalize(kind, input).as_deref(),
                Ok(want),
                "{kind:?} {input}"
            );
        }
        assert_eq!(
            classify("fxpro.com"),
            Some((Domain, "fxpro.com".to_owned()))
        );
        assert_eq!(
            classify("FXPRO.com"),
            Some((Domain, "fxpro.com".to_owned()))
        );
    }

    #[test]
    fn classified_ipv4_is_canonical() {
        for text in [
            "0.0.0.0",
            "192.0.2.1",
            "255.255.255.255",
            "10.0.0.10",
            "1.2.3.4",
        ] {
            let observable = classify_observable(text).unwrap();
            let canonical = text.parse::<std::net::Ipv4Addr>().unwrap().to_string();
            assert_eq!(observable.value, canonical);
        }
        for text in [
            "010.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "256.0.0.1",
            "0x7f.0.0.1",
            "+1.2.3.4",
        ] {
            let observable = classify_observable(text);
            assert!(
                observable.is_none_or(|o| o.kind != Ipv4),
                "{text} read as an address"
            );
        }
    }

    #[test]
    fn normalises_each_kind() {
        let cases: &[(IndicatorKind, &str, &str)] = &[
            (Ipv4, " 192.0.2.1 ", "192.0.2.1"),
            (Ipv4, "192.0.2[.]1", "192.0.2.1"),
            (Ipv6, "2001:DB8:0:0::1", "2001:db8::1"),
            (Ipv6, "[2001:db8::1]", "2001:db8::1"),
            (Cidr, "10.1.2.3/8", "10.0.0.0/8"),
            (Cidr, "2001:db8::1/32", "2001:db8::/32"),
            (Cidr, "192.0.2.7", "192.0.2.7/32"),
            (IpRange, "10.0.0.1 - 10.0.0.9", "10.0.0.1-10.0.0.9"),
            (Domain, "WWW.Example.COM.", "www.example.com"),
            (Domain, "evil[.]example", "evil.example"),
            (Domain, "bücher.example", "xn--bcher-kva.example"),
            (
                Url,
                "HTTP://Example.COM:80/a/%7euser/%2f?q=%3a#frag",
                "http://example.com/a/~user/%2F?q=%3A",
            ),
            (Url, "https://example.com:443/", "https://example.com/"),
            (
                Url,
                "https://example.com:8443/x",
                "https://example.com:8443/x",
            ),
            (Url, "example.com/path", "http://example.com/path"),
            (
                Url,
                "hxxp://evil[.]example/gate.php",
                "http://evil.example/gate.php",
            ),
            (Email, "Bad.Guy@Evil.Example", "bad.guy@evil.example"),
            (
                Md5,
                "D41D8CD98F00B204E9800998ECF8427E",
                "d41d8cd98f00b204e9800998ecf8427e",
            ),
            (
                UserAgent,
                "  Mozilla/4.0 (compatible)  ",
                "Mozilla/4.0 (compatible)",
            ),
            (FileName, "invoice.exe", "invoice.exe"),
        ];
        for (kind, input, want) in cases {
            assert_eq!(
                normalize(*kind, input).as_deref(),
                Ok(*want),
                "{kind:?} {input}"
            );
        }
    }

    #[test]
    fn rejects_bad_values_with_reason() {
        let cases: &[(IndicatorKind, &str)] = &[
            (Ipv4, "300.1.1.1"),
            (Ipv4, "010.1.1.1"),
            (Cidr, "10.0.0.0/33"),
            (IpRange, "10.0.0.9-10.0.0.1"),
            (IpRange, "10.0.0.1-::1"),
            (Domain, "a..b"),
            (Domain, "bad domain.com"),
            (Domain, "1.2.3.4"),
            (Url, "http://"),
            (Email, "nobody"),
            (Sha1, "abc"),
            (Sha256, &"g".repeat(64)),
            (FileName, "c:\\windows\\evil.exe"),
            (UserAgent, "a\u{0}b"),
        ];
        for (kind, input) in cases {
            let err = normalize(*kind, input).expect_err(input);
            assert_eq!(err.kind, *kind);
            assert!(!err.reason.is_empty());
        }
    }

    #[test]
    fn wildcard_domain_sets_the_flag() {
        let o = normalize_observable(Domain, "*.Evil.example").unwrap();
        assert_eq!(o.value, "evil.example");
        assert!(o.include_subdomains);
        assert!(
            classify_observable(".evil.example")
                .unwrap()
                .include_subdomains
        );
    }

    #[test]
    fn classifies_bare_values() {
        let cases: &[(&str, Option<(IndicatorKind, &str)>)] = &[
            ("192.0.2.1", Some((Ipv4, "192.0.2.1"))),
            ("2001:db8::1", Some((Ipv6, "2001:db8::1"))),
            ("192.0.2.0/24", Some((Cidr, "192.0.2.0/24"))),
            (
                "192.0.2.1-192.0.2.9",
                Some((IpRange, "192.0.2.1-192.0.2.9")),
            ),
            ("Evil.Example", Some((Domain, "evil.example"))),
            ("evil-site.example", Some((Domain, "evil-site.example"))),
            (
                "evil.example/gate.php",
                Some((Url, "http://evil.example/gate.php")),
            ),
            ("https://evil.example", Some((Url, "https://evil.example/"))),
            ("a@evil.example", Some((Email, "a@evil.example"))),
            (
                "d41d8cd98f00b204e9800998ecf8427e",
                Some((Md5, "d41d8cd98f00b204e9800998ecf8427e")),
            ),
            (&"A".repeat(40), Some((Sha1, &"a".repeat(40)))),
            (&"b".repeat(64), Some((Sha256, &"b".repeat(64)))),
            ("localhost", None),
            ("1.2.3", None),
            ("hello world", None),
            ("abc123", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = classify(input);
            let got = got.as_ref().map(|(k, v)| (*k, v.as_str()));
            assert_eq!(got, *want, "{input}");
        }
    }

    #[test]
    fn zero_prefix_network_is_rejected() {
        for input in ["0.0.0.0/0", "10.0.0.0/0", "::/0"] {
            assert_eq!(classify(input), None, "{input}");
            let error = normalize_observable(IndicatorKind::Cidr, input).unwrap_err();
            assert_eq!(error.reason, EVERY_ADDRESS, "{input}");
        }
        assert_eq!(
            classify("0.0.0.0/1"),
            Some((IndicatorKind::Cidr, "0.0.0.0/1".to_owned()))
        );
    }

    #[test]
    fn invalid_prefix_is_not_a_url() {
        for input in [
            "192.0.2.1/33",
            "192.0.2.0/240",
            "[2001:db8::]/129",
            "2001:db8::/129",
        ] {
            assert_eq!(classify(input), None, "{input}");
        }
        // A path that is not a prefix length still reads as a URL.
        assert_eq!(
            classify("192.0.2.1/33x"),
            Some((Url, "http://192.0.2.1/33x".to_owned()))
        );
    }

    #[test]
    fn parents_and_bounds() {
        let parents: Vec<_> = parent_domains("a.b.example.com").collect();
        assert_eq!(parents, ["b.example.com", "example.com"]);
        assert_eq!(parent_domains("example").count(), 0);
        let (lo, hi) = ip_bounds(Cidr, "10.0.0.0/8").unwrap();
        assert_eq!(hi - lo, (1 << 24) - 1);
        let nets = range_to_cidrs("10.0.0.0".parse().unwrap(), "10.0.1.255".parse().unwrap());
        assert_eq!(nets.len(), 1);
        assert_eq!(nets[0].to_string(), "10.0.0.0/23");
    }

    #[test]
    fn percent_normalisation_keeps_utf8_and_bad_escapes() {
        assert_eq!(normalize_percent("/%41%zz%e9/é%"), "/A%zz%E9/é%");
    }

    #[test]
    fn url_paths_in_canonical_form() {
        for (raw, want) in [
            ("/gate.php", "/gate.php"),
            ("/%67ate.php", "/gate.php"),
            ("//gate.php", "/gate.php"),
            ("/a//b///c/", "/a/b/c/"),
            ("/a/./b/../c", "/a/c"),
            ("/a/%2E%2E/c", "/c"),
            ("/a/b/..", "/a/"),
            ("/%2f/x", "/%2F/x"),
            ("/", "/"),
            ("//", "/"),
            ("/../../x", "/x"),
        ] {
            assert_eq!(url_path(raw), want, "{raw}");
        }
    }

    #[test]
    fn normalised_ipv4_is_canonical() {
        for text in ["0.0.0.0", "192.0.2.1", "255.255.255.255", "10.0.0.10"] {
            assert_eq!(normalize(Ipv4, text).as_deref(), Ok(text));
        }
        for text in ["010.0.0.1", "1.2.3", "256.0.0.1", "+1.2.3.4"] {
            assert!(normalize(Ipv4, text).is_err(), "{text} read as an address");
        }
    }

    #[test]
    fn host_test_reads_ports_and_labels() {
        for (text, want) in [
            ("evil.example", true),
            ("evil.example:8080", true),
            ("evil.example.", true),
            ("192.0.2.1:80", true),
            ("evil.example:", false),
            ("evil.example:x", false),
            ("example", false),
            (".example", false),
            ("a..example", false),
            ("evil.123", false),
            ("bad host.example", false),
        ] {
            assert_eq!(looks_like_host(text), want, "{text}");
        }
    }

    #[test]
    fn domain_errors_name_the_first_bad_label() {
        let long = "a".repeat(64);
        assert_eq!(
            domain(&format!("{long}.b!d.example")),
            Err("label longer than 63 characters")
        );
        assert_eq!(
            domain("b!d..example"),
            Err("label has a character outside letters, digits, '-' and '_'")
        );
        assert_eq!(domain("a..example"), Err("empty label"));
        assert_eq!(
            domain("Evil-1_x.Example."),
            Ok("evil-1_x.example".to_owned())
        );
    }

    #[test]
    fn plain_urls_skip_the_parser() {
        for (text, want) in [
            (
                "http://evil.example/gate.php?id=7",
                "http://evil.example/gate.php?id=7",
            ),
            ("https://a-1.evil.example", "https://a-1.evil.example/"),
            ("evil.example/a/b", "http://evil.example/a/b"),
            ("evil.example?x=1", "http://evil.example/?x=1"),
        ] {
            assert_eq!(plain_url(text).as_deref(), Some(want), "{text}");
            assert_eq!(parse_url(text).as_deref(), Ok(want), "{text}");
        }
        for text in [
            "HTTP://evil.example/",
            "http://Evil.example/",
            "http://evil.example:80/",
            "http://user@evil.example/",
            "http://evil.example/a#frag",
            "http://evil.example/%7e",
            "http://evil.example//a",
            "http://evil.example/./a",
            "http://xn--bcher-kva.example/",
            "http://192.0.2.1/",
            "http://evil.example./",
            "http://evil.example/a b",
            "hxxp://evil.example/",
            "http://evil[.]example/",
            "ftp://evil.example/",
        ] {
            assert_eq!(plain_url(text), None, "{text}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16_384))]

        #[test]
        fn plain_url_agrees_with_parser(
            scheme in proptest::sample::select(vec!["", "http://", "https://", "HTTP://", "ftp://", "http:/"]),
            labels in proptest::collection::vec("[a-z0-9-]{1,4}|[a-z0-9-]{1,4}|xn--[a-z0-9]{1,3}|[a-zA-Z0-9_]{0,3}", 0..3),
            last in "[a-z]{1,3}|[a-z]{1,3}|[a-z]{1,3}|[0-9]{1,3}|0x[0-9a-f]{1,2}|[a-zA-Z0-9_-]{0,3}",
            port in proptest::sample::select(vec!["", "", "", ":80", ":8080", ":", "@"]),
            target in r"([/?][a-z0-9._=&;:@!$*+,~'-]{0,4}){0,4}(|||[a-zA-Z0-9./?#%'()\\ ~!$&*+,;=:@^|`{}-]{1,2})",
        ) {
            let host = labels.iter().chain([&last]).cloned().collect::<Vec<_>>().join(".");
            let text = format!("{scheme}{host}{port}{target}");
            if let Some(fast) = plain_url(&text) {
                proptest::prop_assert_eq!(Ok(fast), parse_url(&text), "{}", text);
            }
        }

        #[test]
        fn ipv4_net_text_matches_display(address in proptest::prelude::any::<u32>(), prefix in 0..=32u8) {
            let net = IpNet::V4(ipnet::Ipv4Net::new(Ipv4Addr::from(address), prefix).unwrap());
            proptest::prop_assert_eq!(net_text(net), net.to_string());
        }

        #[test]
        fn trim_matches_std(text in "[ \t\u{b}\u{a0}\u{2003}\u{1f}a-c]{0,6}") {
            proptest::prop_assert_eq!(trim(&text), text.trim());
        }

        #[test]
        fn parse_ip_matches_std(text in "[0-9a-fA-F.:x% ]{0,20}") {
            proptest::prop_assert_eq!(parse_ip(&text), text.parse::<IpAddr>().ok());
        }

        #[test]
        fn canonical_path_matches_substring_test(path in "[/.%a]{0,12}") {
            let slow = !path.contains('%') && !path.contains("//") && !path.contains("/.");
            proptest::prop_assert_eq!(is_canonical_path(path.as_bytes()), slow);
        }
    }
}
