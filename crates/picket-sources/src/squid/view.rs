//! Reading a native Squid line of the usual shape into a view in one pass.
//!
//! The general reader splits the line into columns first and then parses
//! the columns the view needs, so it reads most bytes two or three times.
//! This one parses the time, the addresses, the status, the size and the
//! request target while it looks for the end of each column, and skips the
//! columns the view does not hold. It accepts only the shapes proxies
//! usually log: an absolute URL or a `host:port` target with a lower-case
//! host and a numeric port or none. For any other line it returns `None`
//! and the caller reads the line the general way, which has the last word.
//! So on every line this reader accepts, its view must equal the general
//! reader's; the tests below and the `source_squid` fuzz target compare
//! them.

use std::net::{IpAddr, Ipv4Addr};

use picket_event::{EventView, Timestamp};

use crate::columns::{WORD, byte_mask, low_byte_mask};
use crate::fields::{opt, parse_ip};

/// Place values of the first nine fraction digits, in nanoseconds.
const NANOS_PER_DIGIT: [u32; 9] = [
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// Bytes of a target in which the general reader looks for the end of a
/// scheme.
const SCHEME_WINDOW: usize = 16;

/// The role of a byte in a host, for this reader.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HostByte {
    /// A lower-case letter, digit, `-`, `.` or `_`.
    Plain,
    /// `:`, before a port.
    Colon,
    /// `/`, `?` or `#`: the end of an absolute URL's authority.
    End,
    /// Space or tab: the end of the column.
    Separator,
    /// Anything else (`@`, `[`, upper case, non-ASCII, ...): a shape this
    /// reader leaves to the general one.
    Other,
}

/// [`HostByte`] of every byte value.
const HOST_BYTES: [HostByte; 256] = host_bytes();

const fn host_bytes() -> [HostByte; 256] {
    let mut table = [HostByte::Other; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = match byte {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => HostByte::Plain,
            b':' => HostByte::Colon,
            b'/' | b'?' | b'#' => HostByte::End,
            b' ' | b'\t' => HostByte::Separator,
            _ => HostByte::Other,
        };
        b += 1;
    }
    table
}

/// Reads `line` into a view, or returns `None` when the line is not of a
/// shape this reader accepts. `None` does not mean the line is invalid.
pub(super) fn read_usual(line: &str) -> Option<EventView<'_>> {
    let mut cursor = Cursor {
        text: line,
        bytes: line.as_bytes(),
        at: 0,
    };

    // time elapsed client action/status bytes method
    cursor.next_column()?;
    let timestamp = cursor.epoch()?;
    cursor.next_column()?;
    cursor.skip_column();
    cursor.next_column()?;
    let client_ip = cursor.address();
    cursor.next_column()?;
    cursor.status()?;
    cursor.next_column()?;
    cursor.size()?;
    cursor.next_column()?;
    cursor.skip_column();

    let mut view = EventView::http(timestamp);
    view.client_ip = client_ip;

    // URL user hierarchy/peer. The type and later columns are not viewed.
    cursor.next_column()?;
    cursor.target(&mut view)?;
    cursor.next_column()?;
    view.user_name = opt(cursor.take_column());
    cursor.next_column()?;
    view.server_ip = cursor.peer();
    Some(view)
}

/// A position in a line. Columns are separated by runs of spaces and tabs.
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Moves to the start of the next column, or returns `None` at the end
    /// of the line.
    fn next_column(&mut self) -> Option<()> {
        while is_separator(*self.bytes.get(self.at)?) {
            self.at += 1;
        }
        Some(())
    }

    /// Moves to the end of the current column.
    fn skip_column(&mut self) {
        self.skip_to(b' ');
    }

    /// Moves to the first separator or `stop` byte in the current column,
    /// or to its end. Columns before the URL are a few bytes long, too few
    /// for the word scan of [`Cursor::scan_to`] to pay.
    fn skip_to(&mut self, stop: u8) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|&b| b != stop && !is_separator(b))
        {
            self.at += 1;
        }
    }

    /// Moves as [`Cursor::skip_to`] does, stopping at either of two bytes.
    /// Tests eight bytes at a time while eight are left in the line.
    fn scan_to(&mut self, stops: [u8; 2]) {
        while let Some(word) = self.bytes.get(self.at..self.at + WORD) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or([0; WORD]));
            // Control bytes below `!` are flagged too; they belong to the
            // column and are stepped over below.
            let mask = low_byte_mask(word) | byte_mask(word, stops[0]) | byte_mask(word, stops[1]);
            if mask == 0 {
                self.at += WORD;
                continue;
            }
            self.at += mask.trailing_zeros() as usize / 8;
            if self.at_stop(stops) {
                return;
            }
            self.at += 1;
        }
        while self.bytes.get(self.at).is_some() && !self.at_stop(stops) {
            self.at += 1;
        }
    }

    fn at_stop(&self, stops: [u8; 2]) -> bool {
        self.bytes
            .get(self.at)
            .is_some_and(|&b| is_separator(b) || stops.contains(&b))
    }

    /// Returns the rest of the current column and moves past it.
    fn take_column(&mut self) -> &'a str {
        let start = self.at;
        self.skip_column();
        // Both ends sit at a separator, a column start or the line's end,
        // all character boundaries.
        self.text.get(start..self.at).unwrap_or_default()
    }

    fn at_column_end(&self) -> bool {
        self.bytes.get(self.at).is_none_or(|&b| is_separator(b))
    }

    /// Consumes one decimal digit and returns its value.
    fn digit(&mut self) -> Option<u32> {
        let d = self.bytes.get(self.at)?.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        self.at += 1;
        Some(u32::from(d))
    }

    /// Parses the time column (`1700000000.018`): whole seconds and an
    /// optional fraction. A sign, or more whole digits than fit without a
    /// check, is left to the general reader.
    fn epoch(&mut self) -> Option<Timestamp> {
        let start = self.at;
        let mut secs = 0i64;
        while let Some(d) = self.digit() {
            if self.at - start > 18 {
                return None;
            }
            secs = secs * 10 + i64::from(d);
        }
        if self.at == start {
            return None;
        }

        let mut nanos = 0;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            let mut place = 0;
            while let Some(d) = self.digit() {
                // Digits past the ninth are below a nanosecond.
                if let Some(value) = NANOS_PER_DIGIT.get(place) {
                    nanos += d * value;
                }
                place += 1;
            }
        }
        if !self.at_column_end() {
            return None;
        }
        Timestamp::from_secs_nanos(secs, nanos)
    }

    /// Reads the rest of an address column as [`parse_ip`] reads it (`-`
    /// and empty are no address).
    fn address(&mut self) -> Option<IpAddr> {
        let start = self.at;
        if let Some(ip) = self.dotted_quad()
            && self.at_column_end()
        {
            return Some(IpAddr::V4(ip));
        }
        self.at = start;
        parse_ip(self.take_column())
    }

    /// Parses four parts of one to three digits with no leading zero, each
    /// at most 255, as `Ipv4Addr::from_str` accepts them. Stops after the
    /// fourth part.
    fn dotted_quad(&mut self) -> Option<Ipv4Addr> {
        let mut octets = [0u8; 4];
        for (part, octet) in octets.iter_mut().enumerate() {
            if part > 0 {
                if self.bytes.get(self.at) != Some(&b'.') {
                    return None;
                }
                self.at += 1;
            }
            let mut value = self.digit()?;
            // A part that starts with 0 is that digit alone.
            if value > 0 {
                for _ in 0..2 {
                    match self.digit() {
                        Some(d) => value = value * 10 + d,
                        None => break,
                    }
                }
            }
            *octet = u8::try_from(value).ok()?;
        }
        Some(Ipv4Addr::from(octets))
    }

    /// Checks the `action/status` column: the status after the first `/`
    /// must be absent, `-` or a number up to 65535, as the full parse
    /// requires.
    fn status(&mut self) -> Option<()> {
        self.scan_to([b'/', b'/']);
        if self.at_column_end() {
            return Some(());
        }
        self.at += 1;
        let value = self.number(5)?;
        (value <= u64::from(u16::MAX)).then_some(())
    }

    /// Checks the size column: absent (`-`) or a number that fits in a
    /// `u64`.
    fn size(&mut self) -> Option<()> {
        self.number(19).map(|_| ())
    }

    /// Parses the rest of a column made of `-`, nothing, or at most
    /// `max_digits` decimal digits. Returns 0 for the first two, and `None`
    /// for anything else, which is left to the general reader.
    fn number(&mut self, max_digits: usize) -> Option<u64> {
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
            return self.at_column_end().then_some(0);
        }
        let start = self.at;
        let mut value = 0u64;
        while let Some(d) = self.digit() {
            if self.at - start > max_digits {
                return None;
            }
            value = value * 10 + u64::from(d);
        }
        self.at_column_end().then_some(value)
    }

    /// Reads the request target (`-`, an absolute URL, or `host:port` as
    /// `CONNECT` logs it) into the view's URL, host, path and query.
    fn target(&mut self, view: &mut EventView<'a>) -> Option<()> {
        let start = self.at;
        if self.bytes.get(start) == Some(&b'-') {
            self.at += 1;
            if self.at_column_end() {
                return Some(());
            }
        }

        self.at = start;
        if self.scheme() {
            self.authority(view, HostEnds::AtPath)?;
            self.path_query(view);
            if view.path.is_none() {
                view.path = Some("/");
            }
        } else {
            self.at = start;
            self.authority(view, HostEnds::AtColumnEnd)?;
        }
        view.url = self.text.get(start..self.at)?;
        Some(())
    }

    /// Consumes `scheme://` when the target starts with one, as the general
    /// reader finds it: scheme characters within the first
    /// [`SCHEME_WINDOW`] bytes, then `://`.
    fn scheme(&mut self) -> bool {
        let start = self.at;
        let window = self.bytes.len().min(start + SCHEME_WINDOW);
        while self.at < window
            && self
                .bytes
                .get(self.at)
                .is_some_and(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            self.at += 1;
        }
        let found = self.at > start
            && self.at < window
            && self.bytes.get(self.at..self.at + 3) == Some(b"://");
        if found {
            self.at += 3;
        }
        found
    }

    /// Reads a lower-case host with an optional numeric port, ended as
    /// `ends` requires, into the view's host. Returns `None` for any other
    /// shape.
    fn authority(&mut self, view: &mut EventView<'a>, ends: HostEnds) -> Option<()> {
        let start = self.at;
        while self.class() == HostByte::Plain {
            self.at += 1;
        }

        let host_end = self.at;
        if self.class() == HostByte::Colon {
            self.at += 1;
            self.port()?;
        }
        match self.class() {
            HostByte::End if ends == HostEnds::AtPath => {}
            HostByte::Separator => {}
            _ => return None,
        }

        let host = self.text.get(start..host_end)?;
        // An empty host, `-` and a trailing dot are the general reader's.
        if host.is_empty() || host == "-" || host.ends_with('.') {
            return None;
        }
        view.host = Some(host);
        Some(())
    }

    /// Returns the [`HostByte`] of the byte at the cursor. The line's end
    /// counts as a separator.
    fn class(&self) -> HostByte {
        self.bytes
            .get(self.at)
            .map_or(HostByte::Separator, |&b| HOST_BYTES[usize::from(b)])
    }

    /// Checks a port after its colon: one to five digits, at most 65535.
    fn port(&mut self) -> Option<()> {
        let start = self.at;
        let mut value = 0u32;
        while let Some(d) = self.digit() {
            if self.at - start > 5 {
                return None;
            }
            value = value * 10 + d;
        }
        (self.at > start && value <= u32::from(u16::MAX)).then_some(())
    }

    /// Reads the path and query of an absolute URL, up to the column's end:
    /// the path ends at the first `?` or `#`, the query at the first `#`
    /// after its `?`. Empty parts stay `None`.
    fn path_query(&mut self, view: &mut EventView<'a>) {
        let path = self.take_until_any(b'?', b'#');
        if !path.is_empty() {
            view.path = Some(path);
        }
        if self.bytes.get(self.at) == Some(&b'?') {
            self.at += 1;
            let query = self.take_until_any(b'#', b'#');
            if !query.is_empty() {
                view.query = Some(query);
            }
        }
        self.skip_column();
    }

    /// Returns the column's bytes up to `a`, `b` or its end, and moves
    /// there.
    fn take_until_any(&mut self, a: u8, b: u8) -> &'a str {
        let start = self.at;
        self.scan_to([a, b]);
        // The ends are ASCII bytes or the line's end, so character
        // boundaries.
        self.text.get(start..self.at).unwrap_or_default()
    }

    /// Reads the server address after the first `/` of the
    /// `hierarchy/peer` column, as [`parse_ip`] reads it.
    fn peer(&mut self) -> Option<IpAddr> {
        self.scan_to([b'/', b'/']);
        if self.at_column_end() {
            return None;
        }
        self.at += 1;
        self.address()
    }
}

/// The bytes that end a host.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HostEnds {
    /// A `/`, `?` or `#`, or the column's end (absolute URL).
    AtPath,
    /// The column's end only (`CONNECT` target).
    AtColumnEnd,
}

fn is_separator(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use picket_event::{Event, HttpEvent};
    use proptest::prelude::*;

    use super::*;
    use crate::reader::{LineCtx, LineParser, Output, Parsed};
    use crate::squid::{SquidParser, columns_view};

    /// Checks that a line this reader accepts reads as the column reader
    /// reads it, and returns whether it accepted the line.
    fn agrees(line: &str) -> bool {
        let Some(view) = read_usual(line) else {
            return false;
        };
        assert_eq!(Some(&view), columns_view(line).as_ref(), "{line:?}");
        true
    }

    /// Checks that the parser's view of `line`, from either reader, is the
    /// view of the event the full parse builds.
    fn agrees_with_event(line: &str) {
        let mut parser = SquidParser::default();
        let Some(view) = parser.parse_view(line) else {
            return;
        };
        let file = Arc::from("input");
        let ctx = LineCtx {
            file: &file,
            line: 1,
            offset: 0,
        };
        let mut slot = Event::from(HttpEvent::default());
        let parsed = parser.parse_line_into(line, &ctx, &mut Output::new(), &mut slot);
        assert!(matches!(parsed, Ok(Parsed::Filled)), "{line:?}");
        assert_eq!(view, slot.view(), "{line:?}");
    }

    #[test]
    fn reads_the_usual_shapes() {
        let lines = [
            "1700000000.018   1461 10.0.1.71 TCP_MISS/200 54436 CONNECT static.example.biz:443 - HIER_DIRECT/218.5.185.69 text/html",
            "1700000000.027   1656 10.0.9.232 TCP_MISS/200 91609 GET http://img.example.info/a/b.js?v=399 - HIER_DIRECT/96.153.215.99 text/html",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://example.com - HIER_NONE/- -",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://example.com? alice HIER_NONE/- -",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://example.com#top - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://example.com:8080/?q#f - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET HTTP://example.com/p?a?b#c - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET ftp://files.example.org/x - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://1.2.3.4/gate.php - DIRECT/1.2.3.4",
            "1700000000 1 10.0.9.232 TCP_DENIED/407 1 GET http://a.b/ - NONE/-",
            "1700000000. 1 10.0.9.232 TCP_DENIED/ - GET - - NONE",
            "1700000000.1234567891234 1 2001:db8::1 NONE/000 0 NONE - - HIER_NONE/2001:db8::2",
            "\t 1700000000.5\t1 host-name TCP_MISS 0 GET host:1 - DIRECT/peer.example extra columns here",
            "1700000000.027 1 10.0.9.232 TCP_MISS/65535 18446744073 GET http://e.com/é?ü - DIRECT/1.2.3.4 t",
            "1700000000.027 1 010.0.9.232 TCP_MISS/200 1 GET http://e.com/ - DIRECT/255.255.255.255",
        ];
        for line in lines {
            assert!(agrees(line), "not read: {line:?}");
        }
    }

    #[test]
    fn leaves_other_shapes_to_the_columns() {
        let lines = [
            "",
            "# a comment",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://e.com/ -",
            "-1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://e.com/ - DIRECT/1.2.3.4",
            "1700000000x 1 10.0.9.232 TCP_MISS/200 1 GET http://e.com/ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/abc 1 GET http://e.com/ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/65536 1 GET http://e.com/ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 -1 GET http://e.com/ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://E.com/ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://u@e.com/ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://[::1]:80/ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://e.com:80x/ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://e.com:65536/ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://e.com./ - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http:///p - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET /origin/form - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 CONNECT e.com:443/x - DIRECT/1.2.3.4",
            "1700000000.027 1 10.0.9.232 TCP_MISS/200 1 GET http://ex\u{e4}mple.com/ - DIRECT/1.2.3.4",
        ];
        for line in lines {
            assert!(!agrees(line), "read: {line:?}");
        }
    }

    #[test]
    fn mutated_lines_agree() {
        // Sample lines with bytes replaced and inserted from a set that
        // reaches every branch, drawn by a fixed linear congruential
        // sequence.
        let samples = [
            "1700000000.018   1461 10.0.1.71 TCP_MISS/200 54436 CONNECT static.example.biz:443 - HIER_DIRECT/218.5.185.69 text/html",
            "1700000000.027 1656 10.0.9.232 TCP_MISS/200 91609 GET http://img.example.info:8080/a/b.js?v=399#x alice HIER_DIRECT/96.153.215.99 -",
        ];
        let pieces = [
            " ",
            "\t",
            "/",
            ":",
            "?",
            "#",
            "@",
            ".",
            "-",
            "0",
            "9",
            "5",
            "A",
            "[",
            "]",
            "%",
            "é",
            "\r",
            "\u{1}",
            "//",
            "://",
            "255",
            "256",
            "65535",
            "99999999999999999999",
        ];
        let mut state = 11u64;
        let mut next = |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % bound
        };

        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut line = samples[next(samples.len())].to_string();
            for _ in 0..1 + next(3) {
                let mut at = next(line.len() + 1);
                while !line.is_char_boundary(at) {
                    at -= 1;
                }
                let piece = pieces[next(pieces.len())];
                if next(2) == 0 && at < line.len() {
                    let mut end = at + 1;
                    while !line.is_char_boundary(end) {
                        end += 1;
                    }
                    line.replace_range(at..end, piece);
                } else {
                    line.insert_str(at, piece);
                }
            }
            accepted += usize::from(agrees(&line));
            agrees_with_event(&line);
        }

        // The mutations must leave many lines of the usual shape, or the
        // test checks nothing.
        assert!(accepted > 5_000, "{accepted} accepted");
    }

    /// Returns a strategy for strings that match `pattern`, compiled once
    /// rather than on every draw.
    fn matching(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
        proptest::string::string_regex(pattern).expect("valid pattern")
    }

    /// Returns the columns of a native line, with the type column empty
    /// (missing) or containing a space at times. Each column is drawn from
    /// the usual shapes, so that many lines are accepted, or from values
    /// near the edges of what this reader accepts. The edges are digit
    /// counts at the limits, leading zeros, empty parts after `/`, and odd
    /// schemes, ports and hosts.
    fn columns() -> impl Strategy<Value = Vec<String>> {
        let time = prop_oneof![
            3 => matching(r"[0-9]{1,20}(\.[0-9]{0,12})?"),
            1 => matching(r"[-+.]?[0-9]{0,3}[.e]?[0-9]{0,3}"),
            1 => Just("9223372036.854775807".to_string()),
            1 => Just("9223372036.854775808".to_string()),
        ];
        let address = prop_oneof![
            matching(r"(1?[0-9]{1,2}\.){3}[0-9]{1,3}"),
            matching(r"([0-9]{1,4}\.){3}[0-9]{1,4}"),
            matching(r"[0-9a-f:.%\[\]]{1,12}"),
            matching(r"[a-z.-]{1,6}"),
        ];
        let status = prop_oneof![
            3 => matching(r"[A-Z_]{1,3}(/(-|[0-9]{0,5}))?"),
            1 => matching(r"[A-Z_]{1,3}/[0-9]{5,7}"),
            1 => matching(r"[A-Z_]{0,3}(/[0-9-]{0,7})?"),
        ];
        let size = prop_oneof![
            3 => matching(r"-|[0-9]{1,19}"),
            1 => matching(r"[0-9]{19,21}"),
            1 => matching(r"[0-9-]{1,21}"),
        ];
        let target = prop_oneof![
            1 => Just("-".to_string()),
            3 => matching(r"(https?://)?[a-z0-9._-]{1,8}(:[0-9]{1,5})?([/?#][a-z/?#.@:]{0,8})?"),
            3 => matching(r"([a-z0-9+.-]{0,17}://)?[a-z0-9._@-]{0,6}(:[0-9]{0,6})?[.]?(:[0-9]{0,3})?([/?#][a-z/?#.@:]{0,8})?"),
            1 => matching(r"([a-zA-Z0-9+.-]{0,17}://)?[a-zA-Z0-9._@\[\]:-]{0,8}([/?#][a-z/?#.@:]{0,8})?"),
        ];
        let hierarchy = (matching(r"[A-Z_/]{0,3}"), address.clone())
            .prop_map(|(hierarchy, peer)| format!("{hierarchy}/{peer}"));
        (
            time,
            matching(r"[0-9-]{1,3}"),
            address,
            status,
            size,
            matching(r"[A-Z]{1,7}"),
            target,
            matching(r"[a-z-]{1,3}"),
            prop_oneof![3 => hierarchy, 1 => matching(r"[A-Z_/-]{1,3}")],
            matching(r"([a-z/]{1,3}( [a-z]{1,2})?)?"),
        )
            .prop_map(|columns| {
                vec![
                    columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6,
                    columns.7, columns.8, columns.9,
                ]
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Lines of such columns joined by runs of spaces and tabs, with
        /// or without a separator at either end.
        #[test]
        fn edge_columns_agree(
            columns in columns(),
            separators in proptest::collection::vec(matching(r"[ \t]{1,2}"), 10),
            edges in (matching(r"[ \t]?"), matching(r"[ \t]?")),
        ) {
            let mut line = edges.0.clone();
            for (column, separator) in columns.iter().zip(&separators) {
                line.push_str(column);
                line.push_str(separator);
            }
            line.truncate(line.trim_end().len());
            line.push_str(&edges.1);
            agrees(&line);
            agrees_with_event(&line);
        }
    }
}
