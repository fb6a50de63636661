//! Suricata `eve.json`: `http` and `dns` records; other event types are skipped.
//!
//! Common fields: `timestamp` (ISO 8601 with offset, such as
//! `2017-06-08T15:45:58.520996+0000`), `src_ip`, `src_port`, `dest_ip`,
//! `dest_port`, `proto`.
//!
//! # `http`
//!
//! | field | `HttpEvent` field |
//! |---|---|
//! | `src_ip`/`src_port`, `dest_ip`/`dest_port` | `client_*`, `server_*` |
//! | `http.hostname`, `http.http_port` | `host`, `port` |
//! | `http.url` | `url`, `path`, `query` (and the host parts of an absolute URL) |
//! | `http.http_method`, `http.protocol` | `method`, `version` (`HTTP/` removed) |
//! | `http.status` | `status` |
//! | `http.http_user_agent`, `http.http_refer` | `user_agent`, `referrer` |
//! | `http.http_content_type` | `content_type` |
//! | `http.length` | `response_body_len` |
//! | `http.redirect` | `location_header` |
//! | `http.xff`, else the `X-Forwarded-For` request header | `forwarded_for` |
//! | request header `X-Real-IP`; response headers `Server`, `Content-Disposition` (file name) | `real_ip`, `server_header`, `file_name` |
//!
//! # `dns`, in all three layouts
//!
//! - **v1** (Suricata before 5, or `version: 1`): one record per query
//!   (`"type": "query"`, with `rrname`, `rrtype`, `id`) and one per answer
//!   or authority record (`"type": "answer"` / `"authority"`, each with
//!   `rrname`, `rrtype`, `ttl`, `rdata`, `rcode`). Consecutive answer records
//!   of one transaction are gathered into one response.
//! - **v2** (`version: 2`): the query record as in v1; one response record
//!   (`"type": "answer"`) with `flags`, `qr`, `aa`, `rd`, `ra`, `rcode`, the
//!   question's `rrname`/`rrtype`, and `answers`/`authorities` arrays
//!   and/or `grouped` answers by type.
//! - **v3** (Suricata 8, `version: 3`): `"type": "request"` or `"response"`,
//!   the question in `queries[]`, and `answers`, `authorities`,
//!   `additionals` arrays; SRV and SOA data come as objects (`srv`, `soa`),
//!   written here in zone-file order (`priority weight port target`,
//!   `mname rname serial refresh retry expire minimum`).
//!
//! A query and the response to it (same client and server address and port,
//! same DNS id) become one `DnsEvent` with `exchange: complete`, the query's
//! time, location and the round-trip time. A response with no query seen
//! becomes `response_only`; a query with no response within
//! [`PAIR_WINDOW_SECS`] of event time, or past
//! [`ReaderConfig::eve_pending_queries`](crate::ReaderConfig::eve_pending_queries)
//! held queries, or at the end of input, becomes `query_only`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use picket_event::dns::{DnsProtocol, ResponseCode, Transport, normalize_name};
use picket_event::{
    DnsEvent, DnsExchange, DnsFlags, Event, HttpEvent, RecordType, ResourceRecord, Timestamp,
};
use serde_json::{Map, Value};

use crate::config::ReaderConfig;
use crate::error::{RecordError, bad, excerpt};
use crate::fields::{content_type, fill_url, normalize_host, parse_ip, parse_iso_instant};
use crate::reader::{LineCtx, LineParser, Output, Parsed};

/// How long, in seconds of event time, a query waits for its response
/// before it is emitted as query-only.
pub const PAIR_WINDOW_SECS: i64 = 5;

/// Identity of a DNS transaction: client address and port, server address
/// and port, DNS id.
type TxKey = (
    Option<IpAddr>,
    Option<u16>,
    Option<IpAddr>,
    Option<u16>,
    Option<u16>,
);

/// A v1 response being gathered from consecutive answer records.
#[derive(Debug)]
struct Gathering {
    key: TxKey,
    event: DnsEvent,
}

/// Parser for EVE JSON lines, holding queries until their responses come.
#[derive(Debug)]
pub(crate) struct EveParser {
    pending: HashMap<TxKey, DnsEvent>,
    order: VecDeque<(TxKey, Timestamp)>,
    max_pending: usize,
    gathering: Option<Gathering>,
}

impl EveParser {
    /// A parser with the configured pairing limit.
    pub fn new(config: &ReaderConfig) -> Self {
        EveParser {
            pending: HashMap::new(),
            order: VecDeque::new(),
            max_pending: config.eve_pending_queries.max(1),
            gathering: None,
        }
    }
}

impl LineParser for EveParser {
    fn format_name(&self) -> &'static str {
        "suricata-eve"
    }

    fn parse_line(
        &mut self,
        line: &str,
        ctx: &LineCtx<'_>,
        out: &mut Output,
    ) -> Result<Parsed, RecordError> {
        if line.trim().is_empty() {
            return Ok(Parsed::Skipped);
        }
        let value: Value = serde_json::from_str(line).map_err(|e| RecordError::Json {
            message: e.to_string(),
        })?;
        let Value::Object(record) = value else {
            return Err(RecordError::Json {
                message: "not an object".into(),
            });
        };
        match record.get("event_type").and_then(Value::as_str) {
            Some("http") => Ok(Parsed::Event(Event::from(http_event(&record, ctx)?))),
            Some("dns") => {
                self.dns_record(&record, ctx, out)?;
                Ok(Parsed::Consumed)
            }
            Some(_) => Ok(Parsed::Skipped),
            None => Err(RecordError::MissingField {
                field: "event_type",
            }),
        }
    }

    fn finish(&mut self, out: &mut Output) {
        self.flush_gathering(out);
        while let Some((key, _)) = self.order.pop_front() {
            if let Some(query) = self.pending.remove(&key) {
                out.push_back(Ok(Event::Dns(query)));
            }
        }
    }
}

fn str_field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    m.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn u64_field(m: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, RecordError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(name, &n.to_string())),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| bad(name, s)),
        Some(other) => Err(bad(name, &other.to_string())),
    }
}

fn small<T: TryFrom<u64>>(
    m: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<T>, RecordError> {
    match u64_field(m, name)? {
        None => Ok(None),
        Some(n) => T::try_from(n)
            .map(Some)
            .map_err(|_| bad(name, &n.to_string())),
    }
}

fn ip_field(m: &Map<String, Value>, name: &'static str) -> Result<Option<IpAddr>, RecordError> {
    match str_field(m, name) {
        None => Ok(None),
        Some(s) => parse_ip(s).map(Some).ok_or_else(|| bad(name, s)),
    }
}

fn timestamp(record: &Map<String, Value>) -> Result<Timestamp, RecordError> {
    let text =
        str_field(record, "timestamp").ok_or(RecordError::MissingField { field: "timestamp" })?;
    parse_iso_instant(text).ok_or_else(|| RecordError::BadTimestamp {
        value: excerpt(text),
    })
}

fn http_event(record: &Map<String, Value>, ctx: &LineCtx<'_>) -> Result<HttpEvent, RecordError> {
    let empty = Map::new();
    let http = record
        .get("http")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut e = HttpEvent {
        timestamp: timestamp(record)?,
        location: ctx.location(),
        client_ip: ip_field(record, "src_ip")?,
        client_port: small(record, "src_port")?,
        server_ip: ip_field(record, "dest_ip")?,
        server_port: small(record, "dest_port")?,
        method: str_field(http, "http_method").map(str::to_owned),
        version: str_field(http, "protocol")
            .map(|v| v.strip_prefix("HTTP/").unwrap_or(v).to_owned()),
        status: small::<u16>(http, "status")?.filter(|s| *s != 0),
        // EVE leaves the key out when the request had no agent.
        user_agent: Some(str_field(http, "http_user_agent").unwrap_or("").to_owned()),
        referrer: str_field(http, "http_refer").map(str::to_owned),
        content_type: str_field(http, "http_content_type").and_then(content_type),
        response_body_len: u64_field(http, "length")?,
        location_header: str_field(http, "redirect").map(str::to_owned),
        forwarded_for: str_field(http, "xff").map(str::to_owned),
        ..HttpEvent::default()
    };
    if let Some(url) = str_field(http, "url") {
        fill_url(&mut e, url);
    }
    // An absolute URL names the host itself; otherwise `hostname` is the Host header.
    if e.host.is_none() {
        e.host = str_field(http, "hostname").and_then(normalize_host);
    }
    if let Some(port) = small::<u16>(http, "http_port")? {
        e.port = e.port.or(Some(port));
    }
    for (name, value) in headers(http, "request_headers") {
        if name.eq_ignore_ascii_case("x-forwarded-for") && e.forwarded_for.is_none() {
            e.forwarded_for = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("x-real-ip") {
            e.real_ip = Some(value.to_owned());
        }
    }
    for (name, value) in headers(http, "response_headers") {
        if name.eq_ignore_ascii_case("server") {
            e.server_header = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("content-disposition") {
            e.file_name = disposition_filename(value);
        }
    }
    Ok(e)
}

fn headers<'a>(
    http: &'a Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    http.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| Some((h.get("name")?.as_str()?, h.get("value")?.as_str()?)))
}

/// The `filename=` parameter of a `Content-Disposition` value.
fn disposition_filename(value: &str) -> Option<String> {
    value.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("filename")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

// ---------------------------------------------------------------------------
// DNS

/// One EVE DNS record, classified.
enum DnsRecord {
    /// A query (all layouts).
    Query(DnsEvent),
    /// A whole response (v2 and v3).
    Response(DnsEvent),
    /// One answer or authority record of a v1 response.
    V1Part { event: DnsEvent, section: Section },
}

#[derive(Clone, Copy)]
enum Section {
    Answer,
    Authority,
}

impl EveParser {
    fn dns_record(
        &mut self,
        record: &Map<String, Value>,
        ctx: &LineCtx<'_>,
        out: &mut Output,
    ) -> Result<(), RecordError> {
        let parsed = parse_dns(record, ctx)?;
        let now = match &parsed {
            DnsRecord::Query(e) | DnsRecord::Response(e) | DnsRecord::V1Part { event: e, .. } => {
                e.timestamp
            }
        };
        if !matches!(parsed, DnsRecord::V1Part { .. }) {
            self.flush_gathering(out);
        }
        self.expire(now, out);

        match parsed {
            DnsRecord::Query(query) => {
                let key = query_key(&query);
                if let Some(older) = self.pending.insert(key, query) {
                    out.push_back(Ok(Event::Dns(older)));
                }
                self.order.push_back((key, now));
                if self.pending.len() > self.max_pending {
                    self.evict_oldest(out);
                }
            }
            DnsRecord::Response(response) => {
                let event = self.pair(response);
                out.push_back(Ok(Event::Dns(event)));
            }
            DnsRecord::V1Part { event, section } => {
                let key = query_key(&event);
                match &mut self.gathering {
                    Some(g) if g.key == key => {
                        let target = &mut g.event;
                        match section {
                            Section::Answer => target.answers.extend(event.answers),
                            Section::Authority => target.authorities.extend(event.authorities),
                        }
                        if target.rcode.is_none() {
                            target.rcode = event.rcode;
                        }
                    }
                    _ => {
                        self.flush_gathering(out);
                        self.gathering = Some(Gathering { key, event });
                    }
                }
            }
        }
        Ok(())
    }

    fn flush_gathering(&mut self, out: &mut Output) {
        if let Some(g) = self.gathering.take() {
            let event = self.pair(g.event);
            out.push_back(Ok(Event::Dns(event)));
        }
    }

    /// Emits queries that waited longer than the pairing window.
    fn expire(&mut self, now: Timestamp, out: &mut Output) {
        while let Some(&(key, at)) = self.order.front() {
            if now.nanos_since(at) <= PAIR_WINDOW_SECS * 1_000_000_000 {
                break;
            }
            self.order.pop_front();
            if let Some(query) = self.pending.remove(&key) {
                out.push_back(Ok(Event::Dns(query)));
            }
        }
    }

    fn evict_oldest(&mut self, out: &mut Output) {
        while let Some((key, _)) = self.order.pop_front() {
            if let Some(query) = self.pending.remove(&key) {
                out.push_back(Ok(Event::Dns(query)));
                return;
            }
        }
    }

    /// Merges a response with its held query, if any.
    fn pair(&mut self, mut response: DnsEvent) -> DnsEvent {
        let key = query_key(&response);
        let Some(query) = self.pending.remove(&key) else {
            response.exchange = DnsExchange::ResponseOnly;
            return response;
        };
        let rtt = response.timestamp.nanos_since(query.timestamp) as f64 / 1e9;
        response.rtt = (rtt >= 0.0).then_some(rtt);
        response.timestamp = query.timestamp;
        response.location = query.location;
        response.query_name = query.query_name;
        response.query_name_original = query.query_name_original;
        response.query_type = query.query_type.or(response.query_type);
        response.query_class = query.query_class.or(response.query_class);
        response.opcode = response.opcode.or(query.opcode);
        response.exchange = DnsExchange::Complete;
        response
    }
}

/// The transaction key of a query or response, always client first.
fn query_key(e: &DnsEvent) -> TxKey {
    (e.client_ip, e.client_port, e.server_ip, e.server_port, e.id)
}

fn parse_dns(record: &Map<String, Value>, ctx: &LineCtx<'_>) -> Result<DnsRecord, RecordError> {
    let empty = Map::new();
    let dns = record
        .get("dns")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let kind = str_field(dns, "type").ok_or(RecordError::MissingField { field: "dns.type" })?;
    let is_query = matches!(kind, "query" | "request");

    let (src_ip, src_port) = (
        ip_field(record, "src_ip")?,
        small::<u16>(record, "src_port")?,
    );
    let (dst_ip, dst_port) = (
        ip_field(record, "dest_ip")?,
        small::<u16>(record, "dest_port")?,
    );
    let (client_ip, client_port, server_ip, server_port) = if is_query {
        (src_ip, src_port, dst_ip, dst_port)
    } else {
        (dst_ip, dst_port, src_ip, src_port)
    };

    let mut e = DnsEvent {
        timestamp: timestamp(record)?,
        location: ctx.location(),
        client_ip,
        client_port,
        server_ip,
        server_port,
        id: small(dns, "id")?,
        opcode: small(dns, "opcode")?,
        exchange: if is_query {
            DnsExchange::QueryOnly
        } else {
            DnsExchange::ResponseOnly
        },
        ..DnsEvent::default()
    };
    e.transport = match str_field(record, "proto") {
        Some(p) if p.eq_ignore_ascii_case("udp") => Some(Transport::Udp),
        Some(p) if p.eq_ignore_ascii_case("tcp") => Some(Transport::Tcp),
        _ => None,
    };
    e.protocol = match e.server_port {
        Some(5353) => DnsProtocol::Mdns,
        Some(5355) => DnsProtocol::Llmnr,
        _ => DnsProtocol::Dns,
    };
    e.flags = flags(dns)?;
    if let Some(rcode) = str_field(dns, "rcode") {
        e.rcode = Some(ResponseCode::from_name(rcode).ok_or_else(|| bad("dns.rcode", rcode))?);
    }

    // The question: v3 `queries[0]`, v2 `query[0]`, else the record's own rrname.
    let question = dns
        .get("queries")
        .or_else(|| dns.get("query"))
        .and_then(Value::as_array)
        .and_then(|q| q.first())
        .and_then(Value::as_object)
        .unwrap_or(dns);
    let is_v1_part = !is_query && is_v1_answer(dns);
    if !is_v1_part {
        set_question(&mut e, question)?;
    }

    if is_query {
        return Ok(DnsRecord::Query(e));
    }
    if is_v1_part {
        let rr = v1_record(dns)?;
        let section = if kind == "authority" {
            Section::Authority
        } else {
            Section::Answer
        };
        // The first owner name stands in for the question until the query pairs.
        if let Some(name) = str_field(dns, "rrname") {
            set_name(&mut e, name);
        }
        match (rr, section) {
            (Some(rr), Section::Answer) => e.answers.push(rr),
            (Some(rr), Section::Authority) => e.authorities.push(rr),
            (None, _) => {}
        }
        e.flags.qr = true;
        return Ok(DnsRecord::V1Part { event: e, section });
    }

    e.answers = records(dns, "answers")?;
    e.authorities = records(dns, "authorities")?;
    e.additionals = records(dns, "additionals")?;
    if e.answers.is_empty() {
        e.answers = grouped(dns, &e.query_name);
    }
    e.flags.qr = true;
    Ok(DnsRecord::Response(e))
}

/// A v1 answer record: `type: answer|authority` with no `version` above 1,
/// no answer arrays and no flags.
fn is_v1_answer(dns: &Map<String, Value>) -> bool {
    let version = dns.get("version").and_then(Value::as_u64).unwrap_or(1);
    version <= 1
        && !dns.contains_key("answers")
        && !dns.contains_key("grouped")
        && !dns.contains_key("flags")
        && !dns.contains_key("queries")
}

fn set_name(e: &mut DnsEvent, name: &str) {
    e.query_name = normalize_name(name);
    e.query_name_original = (e.query_name != name).then(|| name.to_owned());
}

fn set_question(e: &mut DnsEvent, q: &Map<String, Value>) -> Result<(), RecordError> {
    if let Some(name) = q.get("rrname").and_then(Value::as_str) {
        set_name(e, name);
    }
    if let Some(t) = str_field(q, "rrtype") {
        e.query_type = Some(RecordType::from_name(t).ok_or_else(|| bad("rrtype", t))?);
    }
    if e.opcode.is_none() {
        e.opcode = small(q, "opcode")?;
    }
    if q.get("z").and_then(Value::as_bool) == Some(true) {
        e.flags.z = true;
    }
    Ok(())
}

fn flags(dns: &Map<String, Value>) -> Result<DnsFlags, RecordError> {
    let mut flags = match str_field(dns, "flags") {
        Some(hex) => DnsFlags::from_header_word(
            u16::from_str_radix(hex, 16).map_err(|_| bad("dns.flags", hex))?,
        ),
        None => DnsFlags::default(),
    };
    let on = |name: &str| dns.get(name).and_then(Value::as_bool) == Some(true);
    flags.qr |= on("qr");
    flags.aa |= on("aa");
    flags.tc |= on("tc");
    flags.rd |= on("rd");
    flags.ra |= on("ra");
    flags.z |= on("z");
    Ok(flags)
}

fn v1_record(dns: &Map<String, Value>) -> Result<Option<ResourceRecord>, RecordError> {
    if !dns.contains_key("rrtype") {
        return Ok(None);
    }
    resource_record(dns).map(Some)
}

fn records(dns: &Map<String, Value>, key: &str) -> Result<Vec<ResourceRecord>, RecordError> {
    let Some(items) = dns.get(key).and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .filter_map(Value::as_object)
        .map(resource_record)
        .collect()
}

fn resource_record(m: &Map<String, Value>) -> Result<ResourceRecord, RecordError> {
    let name = m.get("rrname").and_then(Value::as_str).unwrap_or("");
    let type_name = str_field(m, "rrtype").ok_or(RecordError::MissingField { field: "rrtype" })?;
    let rtype = RecordType::from_name(type_name).ok_or_else(|| bad("rrtype", type_name))?;
    let ttl = small::<u32>(m, "ttl")?.unwrap_or(0);
    Ok(ResourceRecord {
        name: normalize_name(name),
        rtype,
        class: 1,
        ttl,
        data: rdata(m, rtype),
    })
}

/// Record data in presentation form, from `rdata` or the typed objects.
fn rdata(m: &Map<String, Value>, rtype: RecordType) -> String {
    if let Some(srv) = m.get("srv").and_then(Value::as_object) {
        let n = |k: &str| srv.get(k).and_then(Value::as_u64).unwrap_or(0);
        let target = srv.get("name").and_then(Value::as_str).unwrap_or("");
        return format!(
            "{} {} {} {}",
            n("priority"),
            n("weight"),
            n("port"),
            normalize_name(target)
        );
    }
    if let Some(soa) = m.get("soa").and_then(Value::as_object) {
        return soa_text(soa);
    }
    if let Some(sshfp) = m.get("sshfp").and_then(Value::as_object) {
        let n = |k: &str| sshfp.get(k).and_then(Value::as_u64).unwrap_or(0);
        let fp = sshfp
            .get("fingerprint")
            .and_then(Value::as_str)
            .unwrap_or("");
        return format!("{} {} {}", n("algo"), n("type"), fp.replace(':', ""));
    }
    let data = m.get("rdata").and_then(Value::as_str).unwrap_or("");
    match rtype {
        RecordType::CNAME | RecordType::NS | RecordType::PTR | RecordType::DNAME => {
            normalize_name(data)
        }
        _ => data.to_owned(),
    }
}

fn soa_text(soa: &Map<String, Value>) -> String {
    let s = |k: &str| {
        soa.get(k)
            .and_then(Value::as_str)
            .map(normalize_name)
            .unwrap_or_default()
    };
    let n = |k: &str| soa.get(k).and_then(Value::as_u64).unwrap_or(0);
    format!(
        "{} {} {} {} {} {} {}",
        s("mname"),
        s("rname"),
        n("serial"),
        n("refresh"),
        n("retry"),
        n("expire"),
        n("minimum")
    )
}

/// Answers from the `grouped` object, when the full list was not logged.
/// Owners and TTLs are not in it: owner is the question, TTL 0.
fn grouped(dns: &Map<String, Value>, qname: &str) -> Vec<ResourceRecord> {
    let Some(groups) = dns.get("grouped").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (type_name, values) in groups {
        let Some(rtype) = RecordType::from_name(type_name) else {
            continue;
        };
        for value in values.as_array().into_iter().flatten() {
            let data = match value {
                Value::String(s) => match rtype {
                    RecordType::CNAME | RecordType::NS | RecordType::PTR => normalize_name(s),
                    _ => s.clone(),
                },
                Value::Object(o) if rtype == RecordType::SOA => soa_text(o),
                Value::Object(o) if rtype == RecordType::SRV => {
                    let mut wrapper = Map::new();
                    wrapper.insert("srv".into(), Value::Object(o.clone()));
                    rdata(&wrapper, rtype)
                }
                other => other.to_string(),
            };
            out.push(ResourceRecord {
                name: qname.to_owned(),
                rtype,
                class: 1,
                ttl: 0,
                data,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use crate::testing::parse_all;

    #[test]
    fn unanswered_query_is_emitted_after_the_window() {
        let text = r#"{"timestamp":"2017-06-08T15:45:58.000000+0000","event_type":"dns","src_ip":"10.0.0.1","src_port":1000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"lost.example","rrtype":"A","tx_id":0}}
{"timestamp":"2017-06-08T15:46:58.000000+0000","event_type":"dns","src_ip":"10.0.0.1","src_port":1001,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"type":"query","id":2,"rrname":"Later.Example.","rrtype":"TXT","tx_id":0}}
{"timestamp":"2017-06-08T15:46:59.000000+0000","event_type":"flow","src_ip":"10.0.0.1"}
{"timestamp":"bad","event_type":"http"}
"#;
        let (events, rejects, stats) = parse_all(Format::SuricataEve, text.as_bytes());
        assert_eq!((events.len(), rejects.len(), stats.skipped), (2, 1, 1));
        let Event::Dns(first) = &events[0] else {
            panic!()
        };
        assert_eq!(
            (first.query_name.as_str(), first.exchange),
            ("lost.example", DnsExchange::QueryOnly)
        );
        let Event::Dns(second) = &events[1] else {
            panic!()
        };
        assert_eq!(
            second.query_name_original.as_deref(),
            Some("Later.Example.")
        );
    }

    #[test]
    fn multibyte_timestamp_rejected_with_line() {
        // Found by the source_eve fuzz target: U+022B (bytes C8 AB) at byte
        // 9 of the timestamp used to panic on a slice at byte 10.
        let mut input = b"\"\n{\"timestamp\":\"2017-06-0\xc8\xab15:6:000\",\"event_type\":\"dns\",\"dns\":{\"type\":\"w\"}}".to_vec();
        input.extend_from_slice(b"\n{\"timestamp\":\"2017-06-08T15:45:58.000000+0000\",\"event_type\":\"dns\",\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.53\",\"proto\":\"UDP\",\"dns\":{\"type\":\"query\",\"id\":1,\"rrname\":\"ok.example\",\"rrtype\":\"A\",\"tx_id\":0}}\n");

        let (events, rejects, _) = parse_all(Format::SuricataEve, &input);

        assert_eq!(rejects.len(), 2);
        assert_eq!(rejects[1].location.line, Some(2));
        assert!(rejects[1].reason.to_string().contains("timestamp"));
        assert_eq!(events.len(), 1);
    }
}
