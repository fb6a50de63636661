//! [`EventView`]: the fields of an event an indicator can match, borrowed.
//!
//! Scanning stored history decodes millions of records, and only a few of
//! them hit. [`decode_view`] reads a record of the compact binary form
//! ([`crate::codec`]) into a view that borrows its text from the record.
//! It skips every field that matching does not read, without allocating.
//! Only a record that hits needs the full [`Event`] decode. [`Event::view`]
//! gives the same view of a decoded event, so one matching code path serves
//! both.

use std::net::IpAddr;

use crate::codec::CodecError;
use crate::{Event, RecordType, ResourceRecord, Timestamp};

/// The variant of [`Event`] a view was taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// [`Event::Http`].
    Http,
    /// [`Event::Dns`].
    Dns,
    /// [`Event::Tls`].
    Tls,
}

/// The fields of one event that indicator matching reads, borrowed from a
/// decoded [`Event`] or from a stored record.
///
/// Fields that the event's kind does not have stay empty.
#[derive(Clone, Debug, PartialEq)]
pub struct EventView<'a> {
    /// The event's variant.
    pub kind: EventKind,
    /// Client address.
    pub client_ip: Option<IpAddr>,
    /// Server address.
    pub server_ip: Option<IpAddr>,
    /// HTTP: the `X-Forwarded-For` header as logged.
    pub forwarded_for: Option<&'a str>,
    /// HTTP: the `X-Real-IP` header as logged.
    pub real_ip: Option<&'a str>,
    /// HTTP: the requested host.
    pub host: Option<&'a str>,
    /// HTTP: the URL as logged, empty when the source logs only parts.
    pub url: &'a str,
    /// HTTP: the URL path.
    pub path: Option<&'a str>,
    /// HTTP: the URL query.
    pub query: Option<&'a str>,
    /// HTTP: the `Referer` header.
    pub referrer: Option<&'a str>,
    /// HTTP: the `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// HTTP: the authenticated user name.
    pub user_name: Option<&'a str>,
    /// HTTP: the file name declared for the body.
    pub file_name: Option<&'a str>,
    /// HTTP: the response body's MD5, SHA-1 and SHA-256 in hex, empty when
    /// not computed.
    pub body_digests: [&'a str; 3],
    /// DNS: the query name.
    pub query_name: &'a str,
    /// DNS: the answer records' types and data.
    pub answers: Answers<'a>,
    /// TLS: the ClientHello's server name.
    pub server_name: Option<&'a str>,
    timestamp: Stamp<'a>,
}

/// The answer records of a DNS event in a view.
#[derive(Clone, Debug, PartialEq)]
pub enum Answers<'a> {
    /// The records of a decoded event.
    Records(&'a [ResourceRecord]),
    /// Type and data of the records read from a stored record.
    Borrowed(Vec<(RecordType, &'a str)>),
}

/// The timestamp as found. It is parsed only on request, because a scan
/// whose block lies wholly inside its time range never needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stamp<'a> {
    Known(Timestamp),
    /// RFC 3339 text, checked as UTF-8 only when parsed.
    Text(&'a [u8]),
    Missing,
}

impl Event {
    /// Returns the fields indicator matching reads, borrowed from this event.
    pub fn view(&self) -> EventView<'_> {
        let mut view = EventView::empty(EventKind::Http);
        view.timestamp = Stamp::Known(self.timestamp());
        view.client_ip = self.client().ip;
        view.server_ip = self.server().ip;
        match self {
            Event::Http(e) => {
                view.forwarded_for = e.forwarded_for.as_deref();
                view.real_ip = e.real_ip.as_deref();
                view.host = e.host.as_deref();
                view.url = &e.url;
                view.path = e.path.as_deref();
                view.query = e.query.as_deref();
                view.referrer = e.referrer.as_deref();
                view.user_agent = e.user_agent.as_deref();
                view.user_name = e.user_name.as_deref();
                view.file_name = e.file_name.as_deref();
                if let Some(body) = &e.body {
                    view.body_digests = [&body.md5, &body.sha1, &body.sha256];
                }
            }
            Event::Dns(e) => {
                view.kind = EventKind::Dns;
                view.query_name = &e.query_name;
                view.answers = Answers::Records(&e.answers);
            }
            Event::Tls(e) => {
                view.kind = EventKind::Tls;
                view.server_name = e.server_name.as_deref();
            }
        }
        view
    }
}

impl<'a> EventView<'a> {
    /// Returns a view of an HTTP event at `timestamp` with every other
    /// field empty, for a reader that fills a view from a record without
    /// building the event.
    pub fn http(timestamp: Timestamp) -> Self {
        let mut view = EventView::empty(EventKind::Http);
        view.timestamp = Stamp::Known(timestamp);
        view
    }

    fn empty(kind: EventKind) -> Self {
        EventView {
            kind,
            client_ip: None,
            server_ip: None,
            forwarded_for: None,
            real_ip: None,
            host: None,
            url: "",
            path: None,
            query: None,
            referrer: None,
            user_agent: None,
            user_name: None,
            file_name: None,
            body_digests: ["", "", ""],
            query_name: "",
            answers: Answers::Records(&[]),
            server_name: None,
            timestamp: Stamp::Missing,
        }
    }

    /// Returns when the event happened. `None` when a stored record lacks a
    /// readable timestamp, and then its full decode fails too.
    pub fn timestamp(&self) -> Option<Timestamp> {
        match self.timestamp {
            Stamp::Known(t) => Some(t),
            Stamp::Text(text) => std::str::from_utf8(text)
                .ok()
                .and_then(|text| Timestamp::parse_rfc3339(text).ok()),
            Stamp::Missing => None,
        }
    }

    /// HTTP: the addresses in `X-Forwarded-For` and `X-Real-IP` that parse
    /// as IPs, as [`crate::HttpEvent::forwarded_addresses`] gives them.
    pub fn forwarded_addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let xff = self.forwarded_for.unwrap_or("").split(',');
        xff.chain(self.real_ip)
            .filter_map(|s| s.trim().parse().ok())
    }

    /// DNS: the answers' addresses (A, AAAA) and target names (CNAME,
    /// DNAME, NS, PTR, MX, SRV), in record order, as
    /// [`ResourceRecord::ip`] and [`ResourceRecord::target_name`] read them.
    pub fn answer_values(&self) -> impl Iterator<Item = AnswerValue<'_>> + '_ {
        let records: &[ResourceRecord] = match &self.answers {
            Answers::Records(r) => r,
            Answers::Borrowed(_) => &[],
        };
        let borrowed: &[(RecordType, &str)] = match &self.answers {
            Answers::Records(_) => &[],
            Answers::Borrowed(b) => b,
        };
        records
            .iter()
            .map(|r| (r.rtype, r.data.as_str()))
            .chain(borrowed.iter().copied())
            .filter_map(|(rtype, data)| answer_value(rtype, data))
    }
}

/// The address or name a DNS answer points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerValue<'a> {
    /// An A or AAAA record's address.
    Ip(IpAddr),
    /// A record's target name.
    Name(&'a str),
}

fn answer_value(rtype: RecordType, data: &str) -> Option<AnswerValue<'_>> {
    match rtype {
        RecordType::A | RecordType::AAAA => parse_ip(data.as_bytes()).map(AnswerValue::Ip),
        RecordType::CNAME | RecordType::DNAME | RecordType::NS | RecordType::PTR => {
            Some(AnswerValue::Name(data))
        }
        RecordType::MX => data.split_whitespace().nth(1).map(AnswerValue::Name),
        RecordType::SRV => data.split_whitespace().nth(3).map(AnswerValue::Name),
        _ => None,
    }
}

/// Parses an IP address as [`IpAddr`]'s `FromStr` does. Dotted-quad IPv4,
/// nearly every address in a store, is read straight from the bytes,
/// which takes a fraction of the general parser's time.
fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_dotted_quad(text) {
        return Some(IpAddr::V4(v4));
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Reads `a.b.c.d` with decimal parts of one to three digits, no leading
/// zero and at most 255: exactly the IPv4 form the standard parser accepts.
/// Anything else gives `None`, and the caller falls back to that parser.
fn parse_dotted_quad(text: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = 0;
    for part in text.split(|&b| b == b'.') {
        let slot = octets.get_mut(parts)?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut value = 0u16;
        for &digit in part {
            if !digit.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(digit - b'0');
        }
        *slot = u8::try_from(value).ok()?;
        parts += 1;
    }
    (parts == 4).then(|| std::net::Ipv4Addr::from(octets))
}

/// Reads the matching fields of one record of the compact binary form of
/// an [`Event`], borrowing text from `bytes`.
///
/// Only the fields read are checked: a record this accepts may still fail
/// the full decode (bad UTF-8 in a skipped string, say), which a caller
/// needing the event reports.
pub fn decode_view(bytes: &[u8]) -> Result<EventView<'_>, CodecError> {
    let mut view = EventView::empty(EventKind::Http);
    let mut cursor = Cursor { bytes, pos: 0 };
    read_event(&mut cursor, &mut view).map_err(|e| CodecError::Decode(e.into_rmp()))?;
    Ok(view)
}

/// Deepest nesting of skipped values, so that hostile records cannot
/// exhaust the stack.
const MAX_DEPTH: u32 = 64;

/// The reason a record could not be read.
#[derive(Debug)]
enum ReadError {
    Eof,
    Marker(u8),
    Utf8(std::str::Utf8Error),
    Value(String),
}

impl ReadError {
    fn into_rmp(self) -> rmp_serde::decode::Error {
        use rmp_serde::decode::Error;
        match self {
            ReadError::Eof => Error::Syntax("record cut short".into()),
            ReadError::Marker(m) => {
                Error::Syntax(format!("unexpected MessagePack marker 0x{m:02x}"))
            }
            ReadError::Utf8(e) => Error::Utf8Error(e),
            ReadError::Value(text) => Error::Syntax(text),
        }
    }
}

fn read_event<'a>(c: &mut Cursor<'a>, view: &mut EventView<'a>) -> Result<(), ReadError> {
    let marker = c.byte()?;
    let fields = c.map_len(marker)?.ok_or(ReadError::Marker(marker))?;
    let mut kind = None;
    for _ in 0..fields {
        let key = c.key()?;
        match key {
            b"event.dataset" => {
                kind = Some(match c.key()? {
                    b"http" => EventKind::Http,
                    b"dns" => EventKind::Dns,
                    b"tls" => EventKind::Tls,
                    other => {
                        let other = String::from_utf8_lossy(other);
                        return Err(ReadError::Value(format!("unknown dataset {other:?}")));
                    }
                });
            }
            b"@timestamp" => view.timestamp = c.stamp()?,
            b"client.ip" => view.client_ip = c.ip()?,
            b"server.ip" => view.server_ip = c.ip()?,
            b"http.request.x_forwarded_for" => view.forwarded_for = c.opt_str()?,
            b"http.request.x_real_ip" => view.real_ip = c.opt_str()?,
            b"url.domain" => view.host = c.opt_str()?,
            b"url.original" => view.url = c.str()?,
            b"url.path" => view.path = c.opt_str()?,
            b"url.query" => view.query = c.opt_str()?,
            b"http.request.referrer" => view.referrer = c.opt_str()?,
            b"user_agent.original" => view.user_agent = c.opt_str()?,
            b"user.name" => view.user_name = c.opt_str()?,
            b"file.name" => view.file_name = c.opt_str()?,
            b"http.response.body" => read_body(c, &mut view.body_digests)?,
            b"dns.question.name" => view.query_name = c.str()?,
            b"dns.answers" => view.answers = Answers::Borrowed(read_answers(c)?),
            b"tls.client.server_name" => view.server_name = c.opt_str()?,
            _ => c.skip(0)?,
        }
    }
    view.kind = kind.ok_or_else(|| ReadError::Value("missing field event.dataset".into()))?;
    Ok(())
}

fn read_body<'a>(c: &mut Cursor<'a>, digests: &mut [&'a str; 3]) -> Result<(), ReadError> {
    let marker = c.byte()?;
    if marker == NIL {
        return Ok(());
    }
    let fields = c.map_len(marker)?.ok_or(ReadError::Marker(marker))?;
    for _ in 0..fields {
        let slot = match c.key()? {
            b"md5" => 0,
            b"sha1" => 1,
            b"sha256" => 2,
            _ => {
                c.skip(1)?;
                continue;
            }
        };
        digests[slot] = c.str()?;
    }
    Ok(())
}

fn read_answers<'a>(c: &mut Cursor<'a>) -> Result<Vec<(RecordType, &'a str)>, ReadError> {
    let marker = c.byte()?;
    let count = c.array_len(marker)?.ok_or(ReadError::Marker(marker))?;
    // Each record takes at least one byte, so the record's length bounds this.
    let mut answers = Vec::with_capacity(count.min(c.remaining()));
    for _ in 0..count {
        let marker = c.byte()?;
        let fields = c.map_len(marker)?.ok_or(ReadError::Marker(marker))?;
        let (mut rtype, mut data) = (None, None);
        for _ in 0..fields {
            match c.key()? {
                b"type" => rtype = Some(c.record_type()?),
                b"data" => data = Some(c.str()?),
                _ => c.skip(2)?,
            }
        }
        match (rtype, data) {
            (Some(rtype), Some(data)) => answers.push((rtype, data)),
            _ => {
                return Err(ReadError::Value(
                    "invalid answer: missing type or data".into(),
                ));
            }
        }
    }
    Ok(answers)
}

const NIL: u8 = 0xc0;

/// A reader of MessagePack values over one record.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, ReadError> {
        let byte = *self.bytes.get(self.pos).ok_or(ReadError::Eof)?;
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(ReadError::Eof)?;
        let taken = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(taken)
    }

    /// Reads an `n`-byte big-endian unsigned integer.
    fn be(&mut self, n: usize) -> Result<usize, ReadError> {
        let value = self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        usize::try_from(value).map_err(|_| ReadError::Value(format!("length {value} too large")))
    }

    fn str_len(&mut self, marker: u8) -> Result<Option<usize>, ReadError> {
        Ok(Some(match marker {
            0xa0..=0xbf => usize::from(marker & 0x1f),
            0xd9 => self.be(1)?,
            0xda => self.be(2)?,
            0xdb => self.be(4)?,
            _ => return Ok(None),
        }))
    }

    fn map_len(&mut self, marker: u8) -> Result<Option<usize>, ReadError> {
        Ok(Some(match marker {
            0x80..=0x8f => usize::from(marker & 0x0f),
            0xde => self.be(2)?,
            0xdf => self.be(4)?,
            _ => return Ok(None),
        }))
    }

    fn array_len(&mut self, marker: u8) -> Result<Option<usize>, ReadError> {
        Ok(Some(match marker {
            0x90..=0x9f => usize::from(marker & 0x0f),
            0xdc => self.be(2)?,
            0xdd => self.be(4)?,
            _ => return Ok(None),
        }))
    }

    /// Reads the bytes of a string that is compared, never shown, such as
    /// a map key, so it is not checked as UTF-8.
    fn key(&mut self) -> Result<&'a [u8], ReadError> {
        let marker = self.byte()?;
        let len = self.str_len(marker)?.ok_or(ReadError::Marker(marker))?;
        self.take(len)
    }

    fn opt_str(&mut self) -> Result<Option<&'a str>, ReadError> {
        let marker = self.byte()?;
        if marker == NIL {
            return Ok(None);
        }
        let len = self.str_len(marker)?.ok_or(ReadError::Marker(marker))?;
        std::str::from_utf8(self.take(len)?)
            .map(Some)
            .map_err(ReadError::Utf8)
    }

    fn str(&mut self) -> Result<&'a str, ReadError> {
        self.opt_str()?.ok_or(ReadError::Marker(NIL))
    }

    fn ip(&mut self) -> Result<Option<IpAddr>, ReadError> {
        let marker = self.byte()?;
        if marker == NIL {
            return Ok(None);
        }
        let len = self.str_len(marker)?.ok_or(ReadError::Marker(marker))?;
        let text = self.take(len)?;
        match parse_ip(text) {
            Some(ip) => Ok(Some(ip)),
            None => Err(ReadError::Value(format!(
                "invalid IP address {:?}",
                String::from_utf8_lossy(text)
            ))),
        }
    }

    /// Reads an integer of any width, `None` for any other value.
    fn int(&mut self, marker: u8) -> Result<Option<i128>, ReadError> {
        let signed = |bytes: &[u8]| {
            let unsigned = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            let shift = 64 - 8 * bytes.len() as u32;
            i128::from(((unsigned << shift) as i64) >> shift)
        };
        Ok(Some(match marker {
            0x00..=0x7f => i128::from(marker),
            0xe0..=0xff => i128::from(marker as i8),
            0xcc => self.be(1)? as i128,
            0xcd => self.be(2)? as i128,
            0xce => self.be(4)? as i128,
            0xcf => {
                let bytes = self.take(8)?;
                i128::from(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
            }
            0xd0 => signed(self.take(1)?),
            0xd1 => signed(self.take(2)?),
            0xd2 => signed(self.take(4)?),
            0xd3 => signed(self.take(8)?),
            _ => return Ok(None),
        }))
    }

    fn stamp(&mut self) -> Result<Stamp<'a>, ReadError> {
        let marker = self.byte()?;
        if let Some(len) = self.str_len(marker)? {
            return Ok(Stamp::Text(self.take(len)?));
        }
        let nanos = self.int(marker)?.ok_or(ReadError::Marker(marker))?;
        i64::try_from(nanos)
            .map(|n| Stamp::Known(Timestamp::from_nanos(n)))
            .map_err(|_| ReadError::Value(format!("timestamp {nanos} out of range")))
    }

    /// Reads a record type as [`RecordType`]'s own decoding does: a
    /// mnemonic, `TYPEnnn` or a number.
    fn record_type(&mut self) -> Result<RecordType, ReadError> {
        let marker = self.byte()?;
        if let Some(len) = self.str_len(marker)? {
            let name = std::str::from_utf8(self.take(len)?).map_err(ReadError::Utf8)?;
            return RecordType::from_name(name)
                .ok_or_else(|| ReadError::Value(format!("unknown record type {name:?}")));
        }
        let number = self.int(marker)?.ok_or(ReadError::Marker(marker))?;
        u16::try_from(number)
            .map(RecordType)
            .map_err(|_| ReadError::Value(format!("record type {number} does not fit in 16 bits")))
    }

    /// Skips one value of any type.
    fn skip(&mut self, depth: u32) -> Result<(), ReadError> {
        if depth > MAX_DEPTH {
            return Err(ReadError::Value("values nested too deep".into()));
        }
        let marker = self.byte()?;
        let (items, bytes) = match marker {
            0x00..=0x7f | 0xe0..=0xff | NIL | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (2 * usize::from(marker & 0x0f), 0),
            0x90..=0x9f => (usize::from(marker & 0x0f), 0),
            0xa0..=0xbf => (0, usize::from(marker & 0x1f)),
            0xc4 | 0xd9 => (0, self.be(1)?),
            0xc5 | 0xda => (0, self.be(2)?),
            0xc6 | 0xdb => (0, self.be(4)?),
            0xc7 => (0, self.be(1)?.saturating_add(1)),
            0xc8 => (0, self.be(2)?.saturating_add(1)),
            0xc9 => (0, self.be(4)?.saturating_add(1)),
            0xca => (0, 4),
            0xcb => (0, 8),
            0xcc | 0xd0 => (0, 1),
            0xcd | 0xd1 => (0, 2),
            0xce | 0xd2 => (0, 4),
            0xcf | 0xd3 => (0, 8),
            0xd4 => (0, 2),
            0xd5 => (0, 3),
            0xd6 => (0, 5),
            0xd7 => (0, 9),
            0xd8 => (0, 17),
            0xdc => (self.be(2)?, 0),
            0xdd => (self.be(4)?, 0),
            0xde => (self.be(2)?.saturating_mul(2), 0),
            0xdf => (self.be(4)?.saturating_mul(2), 0),
            _ => return Err(ReadError::Marker(marker)),
        };
        self.take(bytes)?;
        for _ in 0..items {
            self.skip(depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use crate::{BodyInfo, DnsEvent, HttpEvent, SourceLocation, TlsEvent};

    fn record(rtype: RecordType, data: &str) -> ResourceRecord {
        ResourceRecord {
            name: "q.example".into(),
            rtype,
            class: 1,
            ttl: 60,
            data: data.into(),
        }
    }

    fn samples() -> Vec<Event> {
        let at = Timestamp::from_nanos(1_700_000_000_123_456_789);
        vec![
            Event::from(HttpEvent {
                timestamp: at,
                location: SourceLocation::line("proxy.log".into(), 3, 99),
                client_ip: Some("10.1.2.3".parse().unwrap()),
                server_ip: Some("2001:db8::7".parse().unwrap()),
                user_name: Some("ann@corp.example".into()),
                method: Some("POST".into()),
                url: "http://evil.example:8080/a/b.exe?x=1".into(),
                host: Some("evil.example".into()),
                path: Some("/a/b.exe".into()),
                query: Some("x=1".into()),
                user_agent: Some("Mozilla/5.0 evilbot".into()),
                referrer: Some("http://ref.example/page".into()),
                forwarded_for: Some("192.0.2.1, unknown".into()),
                real_ip: Some("198.51.100.2".into()),
                file_name: Some("invoice.pdf".into()),
                status: Some(200),
                body: Some(BodyInfo {
                    md5: "d41d8cd98f00b204e9800998ecf8427e".into(),
                    sha1: "da39a3ee5e6b4b0d3255bfef95601890afd80709".into(),
                    sha256: String::new(),
                    size: 0,
                    sniffed_type: Some("application/pdf".into()),
                    truncated: true,
                }),
                proxy_action: Some("TCP_MISS".into()),
                ..HttpEvent::default()
            }),
            Event::from(HttpEvent {
                timestamp: at,
                location: SourceLocation::line("proxy.log".into(), 4, 199),
                path: Some("/only/a/path".into()),
                ..HttpEvent::default()
            }),
            Event::Dns(DnsEvent {
                timestamp: at,
                location: SourceLocation::packet("trace.pcap".into(), 7, 1234),
                client_ip: Some("10.0.0.5".parse().unwrap()),
                query_name: "www.example".into(),
                answers: vec![
                    record(RecordType::CNAME, "cdn.example"),
                    record(RecordType::A, "192.0.2.9"),
                    record(RecordType::AAAA, "2001:db8::9"),
                    record(RecordType::MX, "10 mail.example"),
                    record(RecordType::SRV, "1 2 443 srv.example"),
                    record(RecordType::TXT, "v=spf1"),
                    record(RecordType::A, "not an address"),
                ],
                authorities: vec![record(RecordType::NS, "ns.example")],
                ..DnsEvent::default()
            }),
            Event::Tls(TlsEvent {
                timestamp: at,
                location: SourceLocation::packet("trace.pcap".into(), 9, 2000),
                client_ip: Some("10.0.0.5".parse().unwrap()),
                server_ip: Some("203.0.113.4".parse().unwrap()),
                server_name: Some("sni.example".into()),
                ..TlsEvent::default()
            }),
        ]
    }

    fn strip(mut view: EventView<'_>) -> EventView<'_> {
        view.answers = Answers::Records(&[]);
        view.timestamp = Stamp::Missing;
        view
    }

    fn values(view: &EventView<'_>) -> Vec<String> {
        view.answer_values().map(|v| format!("{v:?}")).collect()
    }

    #[test]
    fn stored_view_equals_event_view() {
        for event in samples() {
            let bytes = codec::encode(&event).unwrap();
            let stored = decode_view(&bytes).unwrap();
            let direct = event.view();
            assert_eq!(stored.kind, direct.kind);
            assert_eq!(stored.timestamp(), Some(event.timestamp()));
            assert_eq!(values(&stored), values(&direct));
            assert_eq!(strip(stored), strip(direct), "{event:?}");
        }
    }

    #[test]
    fn answer_values_match_records() {
        let Event::Dns(dns) = &samples()[2] else {
            unreachable!()
        };
        let expected: Vec<String> = dns
            .answers
            .iter()
            .filter_map(|r| match (r.ip(), r.target_name()) {
                (Some(ip), _) => Some(format!("{:?}", AnswerValue::Ip(ip))),
                (None, Some(name)) => Some(format!("{:?}", AnswerValue::Name(name))),
                (None, None) => None,
            })
            .collect();
        assert_eq!(values(&samples()[2].view()), expected);
        assert_eq!(expected.len(), 5);
    }

    #[test]
    fn forwarded_addresses_match_http() {
        let event = &samples()[0];
        let Event::Http(http) = event else {
            unreachable!()
        };
        let view = event.view();
        let a: Vec<IpAddr> = view.forwarded_addresses().collect();
        let b: Vec<IpAddr> = http.forwarded_addresses().collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn unread_fields_of_every_type_skipped() {
        let long = "x".repeat(70_000);
        let value = serde_json::json!({
            "float": 1.5,
            "negative": -70_000,
            "big": u64::MAX,
            "flag": true,
            "nothing": null,
            "nested": [[1, {"a": [2, 3]}], {"b": long}],
            "event.dataset": "dns",
            "@timestamp": 1_700_000_000_000_000_000i64,
            "client.ip": null,
            "dns.question.name": "q.example",
            "dns.answers": [{"name": "q.example", "type": 28, "ttl": 5, "data": "2001:db8::1"}],
            "http.response.body": null,
        });
        let bytes = codec::encode(&value).unwrap();
        let view = decode_view(&bytes).unwrap();
        assert_eq!(view.kind, EventKind::Dns);
        assert_eq!(view.query_name, "q.example");
        assert_eq!(view.client_ip, None);
        assert_eq!(
            view.timestamp(),
            Some(Timestamp::from_nanos(1_700_000_000_000_000_000))
        );
        let answers: Vec<AnswerValue<'_>> = view.answer_values().collect();
        assert_eq!(
            answers,
            vec![AnswerValue::Ip("2001:db8::1".parse().unwrap())]
        );

        // A map of three: the dataset, a bin 8 of three bytes, a fixext 4.
        let mut raw = vec![0x83, 0xad];
        raw.extend_from_slice(b"event.dataset");
        raw.extend_from_slice(&[0xa3, b't', b'l', b's', 0xa1, b'x', 0xc4, 3, 1, 2, 3]);
        raw.extend_from_slice(&[0xa1, b'y', 0xd6, 7, 0, 0, 0, 0]);
        assert_eq!(decode_view(&raw).unwrap().kind, EventKind::Tls);
        raw.truncate(raw.len() - 1);
        assert!(decode_view(&raw).is_err());
    }

    #[test]
    fn ip_fast_path_agrees_with_std() {
        let mut cases: Vec<String> = [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.02.3.4",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "1.2.3.4.5",
            "+1.2.3.4",
            "1.2.3.4 ",
            "1234.1.1.1",
            "::1",
            "2001:db8::1",
            "::ffff:192.0.2.1",
            "",
            "é.1.1.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let alphabet = b"0123456789.:0000129559.";
            let len = (state % 17) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((state >> (i * 3)) as usize + i) % alphabet.len()] as char)
                .collect();
            cases.push(text);
        }
        let mut accepted = 0;
        for case in &cases {
            let std = case.parse::<IpAddr>().ok();
            assert_eq!(parse_ip(case.as_bytes()), std, "{case:?}");
            accepted += usize::from(std.is_some());
        }
        assert!(accepted > 3, "{accepted} of {} parsed", cases.len());
    }

    #[test]
    fn deep_nesting_rejected() {
        let mut raw = vec![0x82, 0xad];
        raw.extend_from_slice(b"event.dataset");
        raw.extend_from_slice(&[0xa3, b'd', b'n', b's', 0xa1, b'z']);
        raw.extend(std::iter::repeat_n(0x91, 100_000));
        raw.push(0xc0);
        assert!(decode_view(&raw).is_err());
    }

    #[test]
    fn garbage_and_truncations_rejected() {
        let bytes = codec::encode(&samples()[0]).unwrap();
        for cut in 0..bytes.len() {
            let _ = decode_view(&bytes[..cut]);
        }
        assert!(decode_view(&bytes[..bytes.len() / 2]).is_err());
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..400 {
            let garbage: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = decode_view(&garbage);
        }
        let other = codec::encode(&serde_json::json!({"event.dataset": "smtp"})).unwrap();
        assert!(decode_view(&other).is_err());
        let missing = codec::encode(&serde_json::json!({"client.ip": "10.0.0.1"})).unwrap();
        assert!(decode_view(&missing).is_err());
        let bad_ip =
            codec::encode(&serde_json::json!({"event.dataset": "dns", "client.ip": "x"})).unwrap();
        assert!(decode_view(&bad_ip).is_err());
    }
}
