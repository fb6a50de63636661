//! Zeek `http.log` and `dns.log`, as tab-separated text or JSON lines.
//!
//! # Tab-separated
//!
//! Header lines set the separator (`#separator \x09`), the set separator
//! (`#set_separator ,`), the empty-set and unset markers (`#empty_field
//! (empty)`, `#unset_field -`), the log's path and its column names
//! (`#fields`) and types (`#types`). Values may hold `\xHH` escapes, decoded
//! here (bytes that are then not UTF-8 become U+FFFD). A file may hold
//! several logs one after another, each with its own header. Logs other than
//! `http` and `dns` are reported once, at their header, and their lines
//! skipped.
//!
//! # JSON
//!
//! One object per line with the same field names (`"id.orig_h"`, or a nested
//! `"id": {"orig_h": ...}`); `ts` as epoch seconds or an ISO 8601 string.
//! The log is told by `_path` when present, otherwise by its fields; records
//! of other logs are skipped.
//!
//! Times are UTC.
//!
//! # `dns.log` into `DnsEvent`
//!
//! | field | `DnsEvent` field |
//! |---|---|
//! | `ts` | `timestamp` |
//! | `id.orig_h`, `id.orig_p`, `id.resp_h`, `id.resp_p` | `client_ip`, `client_port`, `server_ip`, `server_port` |
//! | `proto` | `transport`; port 5353 makes `protocol` mDNS, 5355 LLMNR |
//! | `trans_id`, `rtt`, `opcode` | `id`, `rtt`, `opcode` |
//! | `query` | `query_name` (normalised), `query_name_original` when it differs (from `original_query` when logged) |
//! | `qclass`, `qtype` (or `qtype_name`) | `query_class`, `query_type` |
//! | `rcode` (or `rcode_name`) | `rcode` |
//! | `AA`, `TC`, `RD`, `RA`, `Z` | `flags` (`qr` set when a response was seen) |
//! | `answers` with `TTLs` | `answers`: owner is the query name (Zeek does not log it); the type is A or AAAA for addresses, TXT for `TXT ...` data, the query type when that names a record with a target (PTR, NS, MX, SRV, CNAME), CNAME otherwise |
//!
//! `exchange` is `complete` when the record has a query and a response
//! code or answers, `query_only` when it has no response, `response_only`
//! when the query is unset or only the reply's question was seen (no
//! `qtype` or `qclass`).
//!
//! # `http.log` into `HttpEvent`
//!
//! | field | `HttpEvent` field |
//! |---|---|
//! | `ts`, `id.*` | `timestamp`, `client_ip`, `client_port`, `server_ip`, `server_port` |
//! | `method`, `version` | `method`, `version` |
//! | `host` (the Host header) | `host`, `port` when it names one |
//! | `uri` | `url`, `path`, `query` (and `scheme`, `host`, `port` for an absolute URI) |
//! | `referrer`, `user_agent`, `username` | `referrer`, `user_agent`, `user_name` |
//! | `request_body_len`, `response_body_len` | `request_body_len`, `response_body_len` |
//! | `status_code` | `status` |
//! | `resp_mime_types` (first), `resp_filenames` (first) | `content_type` (Zeek's sniffed type), `file_name` |
//! | `proxied` (`X-FORWARDED-FOR -> 1.2.3.4`) | `forwarded_for`, `real_ip` |

use std::borrow::Cow;
use std::collections::HashMap;

use picket_event::dns::{DnsProtocol, ResponseCode, Transport};
use picket_event::{
    DnsEvent, DnsExchange, DnsFlags, Event, HttpEvent, RecordType, ResourceRecord, Timestamp,
};
use serde_json::{Map, Value};

use crate::error::{RecordError, bad, excerpt};
use crate::fields::{
    fill_url, normalize_host, parse_epoch, parse_ip, parse_iso_instant, parse_u64, split_host_port,
};
use crate::reader::{LineCtx, LineParser, Output, Parsed};

/// Which Zeek log a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Http,
    Dns,
}

/// Field access common to TSV and JSON records.
trait Record {
    /// A scalar field; `None` when absent or unset.
    fn text(&self, name: &str) -> Option<Cow<'_, str>>;
    /// A set or vector field, element by element; empty when absent.
    fn list(&self, name: &str) -> Vec<String>;
    /// Returns whether the log has the field at all, set or not.
    fn declares(&self, name: &str) -> bool;
    /// A number field as text (JSON numbers are written back exactly).
    fn number(&self, name: &str) -> Option<Cow<'_, str>> {
        self.text(name)
    }
}

// ---------------------------------------------------------------------------
// Tab-separated

/// Parser state for Zeek TSV: the current header.
#[derive(Debug)]
pub(crate) struct ZeekTsvParser {
    separator: String,
    set_separator: String,
    empty_field: String,
    unset_field: String,
    path: Option<String>,
    fields: HashMap<String, usize>,
    kind: Option<Kind>,
    /// True once a header named a log this reader skips.
    unsupported: bool,
}

impl Default for ZeekTsvParser {
    fn default() -> Self {
        ZeekTsvParser {
            separator: "\t".into(),
            set_separator: ",".into(),
            empty_field: "(empty)".into(),
            unset_field: "-".into(),
            path: None,
            fields: HashMap::new(),
            kind: None,
            unsupported: false,
        }
    }
}

struct TsvRecord<'a> {
    values: Vec<&'a str>,
    parser: &'a ZeekTsvParser,
}

impl Record for TsvRecord<'_> {
    fn declares(&self, name: &str) -> bool {
        self.parser.fields.contains_key(name)
    }

    fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        let value = *self.values.get(*self.parser.fields.get(name)?)?;
        if value == self.parser.unset_field || value == self.parser.empty_field || value.is_empty()
        {
            return None;
        }
        Some(unescape(value))
    }

    fn list(&self, name: &str) -> Vec<String> {
        let Some(&value) = self
            .parser
            .fields
            .get(name)
            .and_then(|i| self.values.get(*i))
        else {
            return Vec::new();
        };
        if value == self.parser.unset_field || value == self.parser.empty_field || value.is_empty()
        {
            return Vec::new();
        }
        value
            .split(self.parser.set_separator.as_str())
            .map(|v| unescape(v).into_owned())
            .collect()
    }
}

/// Decodes Zeek's `\xHH` escapes; other text is returned as it is.
fn unescape(value: &str) -> Cow<'_, str> {
    if !value.contains("\\x") {
        return Cow::Borrowed(value);
    }
    let b = value.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(byte) = b
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

impl ZeekTsvParser {
    fn header(&mut self, line: &str) -> Result<(), RecordError> {
        let (key, value) = line
            .split_once(self.separator.as_str())
            .or_else(|| line.split_once(' '))
            .unwrap_or((line, ""));
        match key {
            "#separator" => self.separator = unescape(value.trim()).into_owned(),
            "#set_separator" => self.set_separator = unescape(value).into_owned(),
            "#empty_field" => self.empty_field = value.to_owned(),
            "#unset_field" => self.unset_field = value.to_owned(),
            "#path" => {
                self.path = Some(value.to_owned());
                self.kind = None;
                self.unsupported = false;
            }
            "#fields" => {
                self.fields = value
                    .split(self.separator.as_str())
                    .enumerate()
                    .map(|(i, n)| (n.to_owned(), i))
                    .collect();
                self.kind = match self.path.as_deref() {
                    Some("http") => Some(Kind::Http),
                    Some("dns") => Some(Kind::Dns),
                    Some(_) => None,
                    None => kind_from_names(|n| self.fields.contains_key(n)),
                };
                self.unsupported = self.kind.is_none();
                if self.unsupported {
                    let what = self.path.clone().unwrap_or_else(|| "(no #path)".into());
                    return Err(RecordError::Unsupported {
                        what: "zeek log",
                        value: what,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl LineParser for ZeekTsvParser {
    fn format_name(&self) -> &'static str {
        "zeek-tsv"
    }

    fn parse_line(
        &mut self,
        line: &str,
        ctx: &LineCtx<'_>,
        _out: &mut Output,
    ) -> Result<Parsed, RecordError> {
        if line.starts_with('#') {
            self.header(line)?;
            return Ok(Parsed::Skipped);
        }
        if self.unsupported {
            return Ok(Parsed::Skipped);
        }
        let Some(kind) = self.kind else {
            return Err(RecordError::NoHeader { header: "#fields" });
        };
        let values: Vec<&str> = line.split(self.separator.as_str()).collect();
        if values.len() != self.fields.len() {
            return Err(RecordError::ColumnCount {
                expected: self.fields.len().to_string(),
                found: values.len(),
            });
        }
        let record = TsvRecord {
            values,
            parser: self,
        };
        to_event(kind, &record, ctx).map(Parsed::Event)
    }
}

fn kind_from_names(has: impl Fn(&str) -> bool) -> Option<Kind> {
    if has("query") && (has("qtype") || has("qtype_name") || has("rcode")) {
        Some(Kind::Dns)
    } else if has("method") || has("uri") || has("status_code") {
        Some(Kind::Http)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// JSON

/// Parser for Zeek JSON lines.
#[derive(Debug, Default)]
pub(crate) struct ZeekJsonParser;

struct JsonRecord<'a>(&'a Map<String, Value>);

impl JsonRecord<'_> {
    fn value(&self, name: &str) -> Option<&Value> {
        if let Some(v) = self.0.get(name) {
            return Some(v);
        }
        let (outer, inner) = name.split_once('.')?;
        self.0.get(outer)?.as_object()?.get(inner)
    }
}

fn scalar(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) if s.is_empty() || s == "-" => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "T" } else { "F" })),
        _ => None,
    }
}

impl Record for JsonRecord<'_> {
    /// Zeek's JSON writer leaves unset fields out, so a missing key looks the
    /// same as a missing column. Every field counts as present.
    fn declares(&self, _name: &str) -> bool {
        true
    }

    fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        scalar(self.value(name)?)
    }

    fn list(&self, name: &str) -> Vec<String> {
        match self.value(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| scalar(v).map(Cow::into_owned))
                .collect(),
            Some(v) => scalar(v).map(Cow::into_owned).into_iter().collect(),
            None => Vec::new(),
        }
    }
}

impl LineParser for ZeekJsonParser {
    fn format_name(&self) -> &'static str {
        "zeek-json"
    }

    fn parse_line(
        &mut self,
        line: &str,
        ctx: &LineCtx<'_>,
        _out: &mut Output,
    ) -> Result<Parsed, RecordError> {
        if line.trim().is_empty() {
            return Ok(Parsed::Skipped);
        }
        let value: Value = serde_json::from_str(line).map_err(|e| RecordError::Json {
            message: e.to_string(),
        })?;
        let Value::Object(map) = &value else {
            return Err(RecordError::Json {
                message: "not an object".into(),
            });
        };
        let record = JsonRecord(map);
        let kind = match map.get("_path").and_then(Value::as_str) {
            Some("http") => Some(Kind::Http),
            Some("dns") => Some(Kind::Dns),
            Some(_) => None,
            None => kind_from_names(|n| map.contains_key(n)),
        };
        match kind {
            Some(kind) => to_event(kind, &record, ctx).map(Parsed::Event),
            None => Ok(Parsed::Skipped),
        }
    }
}

// ---------------------------------------------------------------------------
// Mapping

fn to_event(kind: Kind, r: &dyn Record, ctx: &LineCtx<'_>) -> Result<Event, RecordError> {
    let ts = r
        .text("ts")
        .ok_or(RecordError::MissingField { field: "ts" })?;
    let timestamp = parse_epoch(&ts)
        .or_else(|| parse_iso_instant(&ts))
        .ok_or_else(|| RecordError::BadTimestamp {
            value: excerpt(&ts),
        })?;
    match kind {
        Kind::Http => http_event(r, timestamp, ctx).map(Event::from),
        Kind::Dns => dns_event(r, timestamp, ctx).map(Event::Dns),
    }
}

fn ip(r: &dyn Record, name: &'static str) -> Result<Option<std::net::IpAddr>, RecordError> {
    match r.text(name) {
        None => Ok(None),
        Some(v) => parse_ip(&v).map(Some).ok_or_else(|| bad(name, &v)),
    }
}

fn num<T: TryFrom<u64>>(r: &dyn Record, name: &'static str) -> Result<Option<T>, RecordError> {
    match r.number(name) {
        None => Ok(None),
        Some(v) => parse_u64(&v)
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(name, &v)),
    }
}

fn owned(r: &dyn Record, name: &str) -> Option<String> {
    r.text(name).map(Cow::into_owned)
}

fn http_event(
    r: &dyn Record,
    timestamp: Timestamp,
    ctx: &LineCtx<'_>,
) -> Result<HttpEvent, RecordError> {
    let mut e = HttpEvent {
        timestamp,
        location: ctx.location(),
        client_ip: ip(r, "id.orig_h")?,
        client_port: num(r, "id.orig_p")?,
        server_ip: ip(r, "id.resp_h")?,
        server_port: num(r, "id.resp_p")?,
        method: owned(r, "method"),
        version: owned(r, "version"),
        referrer: owned(r, "referrer"),
        user_agent: r
            .declares("user_agent")
            .then(|| owned(r, "user_agent").unwrap_or_default()),
        user_name: owned(r, "username"),
        request_body_len: num(r, "request_body_len")?,
        response_body_len: num(r, "response_body_len")?,
        status: num::<u16>(r, "status_code")?.filter(|s| *s != 0),
        content_type: r
            .list("resp_mime_types")
            .into_iter()
            .next()
            .map(|m| m.to_ascii_lowercase()),
        file_name: r.list("resp_filenames").into_iter().next(),
        ..HttpEvent::default()
    };
    if let Some(host) = r.text("host") {
        let (name, port) = split_host_port(&host);
        e.host = normalize_host(name);
        e.port = port;
    }
    if let Some(uri) = r.text("uri") {
        // Zeek logs a CONNECT target as `host:port /`; the authority is the first word.
        let target = if e.method.as_deref() == Some("CONNECT") {
            uri.split(' ').next().unwrap_or(&uri)
        } else {
            &uri
        };
        fill_url(&mut e, target);
        e.url = uri.into_owned();
    }
    for header in r.list("proxied") {
        let Some((name, value)) = header.split_once(" -> ") else {
            continue;
        };
        if name.eq_ignore_ascii_case("X-FORWARDED-FOR") {
            e.forwarded_for = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("X-REAL-IP") {
            e.real_ip = Some(value.to_owned());
        }
    }
    Ok(e)
}

fn flag(r: &dyn Record, name: &'static str) -> Result<bool, RecordError> {
    match r.text(name).as_deref() {
        None | Some("F" | "false" | "0") => Ok(false),
        Some("T" | "true") => Ok(true),
        Some(n) if parse_u64(n).is_some() => Ok(true),
        Some(other) => Err(bad(name, other)),
    }
}

fn dns_event(
    r: &dyn Record,
    timestamp: Timestamp,
    ctx: &LineCtx<'_>,
) -> Result<DnsEvent, RecordError> {
    let mut e = DnsEvent {
        timestamp,
        location: ctx.location(),
        client_ip: ip(r, "id.orig_h")?,
        client_port: num(r, "id.orig_p")?,
        server_ip: ip(r, "id.resp_h")?,
        server_port: num(r, "id.resp_p")?,
        id: num(r, "trans_id")?,
        query_class: num(r, "qclass")?,
        opcode: num(r, "opcode")?,
        ..DnsEvent::default()
    };
    e.transport = match r.text("proto").as_deref() {
        Some("udp") => Some(Transport::Udp),
        Some("tcp") => Some(Transport::Tcp),
        _ => None,
    };
    e.protocol = match e.server_port.or(e.client_port) {
        Some(5353) => DnsProtocol::Mdns,
        Some(5355) => DnsProtocol::Llmnr,
        _ => DnsProtocol::Dns,
    };
    if let Some(rtt) = r.number("rtt") {
        e.rtt = Some(rtt.parse::<f64>().map_err(|_| bad("rtt", &rtt))?);
    }
    let query = r.text("query");
    if let Some(q) = &query {
        e.query_name = picket_event::dns::normalize_name(q);
        // Zeek lower-cases `query`; the `original_query` field (policy
        // script) keeps the case as sent.
        let original = r.text("original_query");
        let seen = original.as_deref().unwrap_or(q);
        if e.query_name != seen {
            e.query_name_original = Some(seen.to_owned());
        }
    }
    e.query_type = match num::<u16>(r, "qtype")? {
        Some(t) => Some(RecordType(t)),
        None => r.text("qtype_name").and_then(|n| RecordType::from_name(&n)),
    };
    e.rcode = match num::<u16>(r, "rcode")? {
        Some(c) => Some(ResponseCode(c)),
        None => r
            .text("rcode_name")
            .and_then(|n| ResponseCode::from_name(&n)),
    };

    let answers = r.list("answers");
    let ttls = r.list("TTLs");
    for (i, data) in answers.into_iter().enumerate() {
        let ttl = ttls
            .get(i)
            .and_then(|t| t.parse::<f64>().ok())
            .map_or(0, |t| t.clamp(0.0, f64::from(u32::MAX)) as u32);
        let rtype = answer_type(&data, e.query_type);
        let data = match rtype {
            RecordType::CNAME | RecordType::PTR | RecordType::NS => {
                picket_event::dns::normalize_name(&data)
            }
            _ => data,
        };
        e.answers.push(ResourceRecord {
            name: e.query_name.clone(),
            rtype,
            class: e.query_class.unwrap_or(1),
            ttl,
            data,
        });
    }

    let responded = e.rcode.is_some() || !e.answers.is_empty();
    e.flags = DnsFlags {
        qr: responded,
        aa: flag(r, "AA")?,
        tc: flag(r, "TC")?,
        rd: flag(r, "RD")?,
        ra: flag(r, "RA")?,
        z: flag(r, "Z")?,
        ..DnsFlags::default()
    };
    // Zeek fills `qtype` and `qclass` from the request; a reply with no
    // request (`mdns-no-assoc`) has the name but not those.
    let asked =
        query.is_some() && (e.query_type.is_some() || e.query_class.is_some() || !responded);
    e.exchange = match (asked, responded) {
        (true, true) => DnsExchange::Complete,
        (true, false) => DnsExchange::QueryOnly,
        (false, _) => DnsExchange::ResponseOnly,
    };
    Ok(e)
}

/// The record type of a Zeek answer, which Zeek logs as data only.
fn answer_type(data: &str, qtype: Option<RecordType>) -> RecordType {
    match parse_ip(data) {
        Some(std::net::IpAddr::V4(_)) => return RecordType::A,
        Some(std::net::IpAddr::V6(_)) => return RecordType::AAAA,
        None => {}
    }
    if data.starts_with("TXT ") {
        return RecordType::TXT;
    }
    match qtype {
        Some(
            t @ (RecordType::PTR
            | RecordType::NS
            | RecordType::MX
            | RecordType::SRV
            | RecordType::CNAME
            | RecordType::NAPTR
            | RecordType::TXT),
        ) => t,
        _ => RecordType::CNAME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use crate::testing::parse_all;

    const DNS: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n\
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n\
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n\
1258535653.0\tC1\t192.168.1.103\t52327\t192.168.1.1\t53\tudp\t4711\t0.01\tWWW.Example.com.\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\tcdn.example.net,192.0.2.1\t60.0,30.0\tF\n\
1258535654.0\tC2\t192.168.1.103\t52328\t192.168.1.1\t53\tudp\t4712\t-\tx\\x2cy.example\t1\tC_INTERNET\t16\tTXT\t-\t-\tF\tF\tT\tF\t0\t-\t-\tF\n\
1258535655.0\tC2\t192.168.1.103\tbad\n";

    #[test]
    fn tsv_dns() {
        let (events, rejects, stats) = parse_all(Format::ZeekTsv, DNS.as_bytes());
        assert_eq!((events.len(), rejects.len(), stats.skipped), (2, 1, 7));
        let Event::Dns(a) = &events[0] else { panic!() };
        assert_eq!(a.query_name, "www.example.com");
        assert_eq!(a.query_name_original.as_deref(), Some("WWW.Example.com."));
        assert_eq!(a.answers.len(), 2);
        assert_eq!(
            (a.answers[0].rtype, a.answers[0].ttl),
            (RecordType::CNAME, 60)
        );
        assert_eq!(a.answers[1].ip(), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(a.exchange, DnsExchange::Complete);
        assert!(a.flags.rd && a.flags.ra && a.flags.qr);
        let Event::Dns(b) = &events[1] else { panic!() };
        assert_eq!(b.query_name, "x,y.example");
        assert_eq!(b.exchange, DnsExchange::QueryOnly);
        assert_eq!(b.query_type, Some(RecordType::TXT));
    }

    #[test]
    fn json_http_and_dns() {
        let text = r#"{"_path":"http","ts":1258535653.087,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":1042,"id.resp_h":"192.0.2.9","id.resp_p":80,"method":"GET","host":"Evil.example:8080","uri":"/a.jar?x=1","user_agent":"Java/1.6.0_26","status_code":200,"resp_mime_types":["application/java-archive"],"proxied":["X-FORWARDED-FOR -> 10.9.9.9"]}
{"ts":"2009-11-18T09:14:14.000000Z","id":{"orig_h":"10.0.0.5","orig_p":5353,"resp_h":"224.0.0.251","resp_p":5353},"proto":"udp","query":"printer.local","qtype_name":"PTR","rcode":3,"AA":true,"answers":[],"TTLs":[]}
{"_path":"conn","ts":1.0}
"#;
        let (events, rejects, stats) = parse_all(Format::ZeekJson, text.as_bytes());
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!((events.len(), stats.skipped), (2, 1));
        let Event::Http(h) = &events[0] else { panic!() };
        assert_eq!(
            (h.host.as_deref(), h.port, h.path.as_deref()),
            (Some("evil.example"), Some(8080), Some("/a.jar"))
        );
        assert_eq!(h.forwarded_for.as_deref(), Some("10.9.9.9"));
        assert_eq!(h.content_type.as_deref(), Some("application/java-archive"));
        let Event::Dns(d) = &events[1] else { panic!() };
        assert_eq!(d.protocol, DnsProtocol::Mdns);
        assert_eq!(d.rcode, Some(ResponseCode::NXDOMAIN));
        assert!(d.flags.aa);
        assert_eq!(d.timestamp.to_string(), "2009-11-18T09:14:14Z");
    }

    #[test]
    fn unsupported_log_is_reported_once() {
        let text = "#separator \\x09\n#path\tconn\n#fields\tts\tuid\n1.0\tC1\n2.0\tC2\n";
        let (events, rejects, _) = parse_all(Format::ZeekTsv, text.as_bytes());
        assert_eq!((events.len(), rejects.len()), (0, 1));
    }
}
