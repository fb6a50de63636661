//! [`EventView`]: the fields of an event an indicator can match, borrowed.
//!
//! Scanning stored history decodes millions of records, and only a few of
//! them hit. [`decode_view`] reads a record of the compact binary form
//! ([`crate::codec`]) into a view that borrows its text from the record.
//! It skips every field that matching does not read, without allocating.
//! Only a record that hits needs the full [`Event`] decode. [`Event::view`]
//! gives the same view of a decoded event, so one matching code path serves
//! both.

use std::fmt;
use std::net::IpAddr;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

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
    Text(&'a str),
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
            Stamp::Text(text) => Timestamp::parse_rfc3339(text).ok(),
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
        RecordType::A | RecordType::AAAA => data.parse().ok().map(AnswerValue::Ip),
        RecordType::CNAME | RecordType::DNAME | RecordType::NS | RecordType::PTR => {
            Some(AnswerValue::Name(data))
        }
        RecordType::MX => data.split_whitespace().nth(1).map(AnswerValue::Name),
        RecordType::SRV => data.split_whitespace().nth(3).map(AnswerValue::Name),
        _ => None,
    }
}

/// Reads the matching fields of one record of the compact binary form of
/// an [`Event`], borrowing text from `bytes`.
///
/// Only the fields read are checked: a record this accepts may still fail
/// the full decode, which a caller needing the event reports.
pub fn decode_view(bytes: &[u8]) -> Result<EventView<'_>, CodecError> {
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes).with_human_readable();
    EventView::deserialize(&mut deserializer).map_err(CodecError::Decode)
}

impl<'de> Deserialize<'de> for EventView<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ViewVisitor)
    }
}

struct ViewVisitor;

impl<'de> Visitor<'de> for ViewVisitor {
    type Value = EventView<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut view = EventView::empty(EventKind::Http);
        let mut kind = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "event.dataset" => {
                    kind = Some(match map.next_value::<&'de str>()? {
                        "http" => EventKind::Http,
                        "dns" => EventKind::Dns,
                        "tls" => EventKind::Tls,
                        other => {
                            return Err(de::Error::unknown_variant(other, &["http", "dns", "tls"]));
                        }
                    });
                }
                "@timestamp" => view.timestamp = map.next_value::<StampValue<'de>>()?.0,
                "client.ip" => view.client_ip = ip(map.next_value()?)?,
                "server.ip" => view.server_ip = ip(map.next_value()?)?,
                "http.request.x_forwarded_for" => view.forwarded_for = map.next_value()?,
                "http.request.x_real_ip" => view.real_ip = map.next_value()?,
                "url.domain" => view.host = map.next_value()?,
                "url.original" => view.url = map.next_value()?,
                "url.path" => view.path = map.next_value()?,
                "url.query" => view.query = map.next_value()?,
                "http.request.referrer" => view.referrer = map.next_value()?,
                "user_agent.original" => view.user_agent = map.next_value()?,
                "user.name" => view.user_name = map.next_value()?,
                "file.name" => view.file_name = map.next_value()?,
                "http.response.body" => {
                    if let Some(body) = map.next_value::<Option<BodyDigests<'de>>>()? {
                        view.body_digests = body.0;
                    }
                }
                "dns.question.name" => view.query_name = map.next_value()?,
                "dns.answers" => {
                    view.answers = Answers::Borrowed(map.next_value::<AnswerList<'de>>()?.0);
                }
                "tls.client.server_name" => view.server_name = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        view.kind = kind.ok_or_else(|| de::Error::missing_field("event.dataset"))?;
        Ok(view)
    }
}

fn ip<E: de::Error>(text: Option<&str>) -> Result<Option<IpAddr>, E> {
    text.map(|t| {
        t.parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(t), &"an IP address"))
    })
    .transpose()
}

/// A timestamp as stored: RFC 3339 text, or nanoseconds.
struct StampValue<'a>(Stamp<'a>);

impl<'de> Deserialize<'de> for StampValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StampValue<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 string or an integer of nanoseconds")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(StampValue(Stamp::Text(v)))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(StampValue(Stamp::Known(Timestamp::from_nanos(v))))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(|v| StampValue(Stamp::Known(Timestamp::from_nanos(v))))
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The digests of `http.response.body`.
struct BodyDigests<'a>([&'a str; 3]);

impl<'de> Deserialize<'de> for BodyDigests<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BodyDigests<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("body information")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut digests = ["", "", ""];
                while let Some(key) = map.next_key::<&'de str>()? {
                    let slot = match key {
                        "md5" => 0,
                        "sha1" => 1,
                        "sha256" => 2,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    digests[slot] = map.next_value()?;
                }
                Ok(BodyDigests(digests))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// Type and data of each record of `dns.answers`.
struct AnswerList<'a>(Vec<(RecordType, &'a str)>);

impl<'de> Deserialize<'de> for AnswerList<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnswerList<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of resource records")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // Bounded by the record's length: each element takes bytes.
                let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(record) = seq.next_element::<Answer<'de>>()? {
                    records.push((record.0, record.1));
                }
                Ok(AnswerList(records))
            }
        }
        deserializer.deserialize_seq(V)
    }
}

/// Type and data of one resource record.
struct Answer<'a>(RecordType, &'a str);

impl<'de> Deserialize<'de> for Answer<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Answer<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a resource record")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut rtype, mut data) = (None, None);
                while let Some(key) = map.next_key::<&'de str>()? {
                    match key {
                        "type" => rtype = Some(map.next_value::<RecordType>()?),
                        "data" => data = Some(map.next_value::<&'de str>()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Answer(
                    rtype.ok_or_else(|| de::Error::missing_field("type"))?,
                    data.ok_or_else(|| de::Error::missing_field("data"))?,
                ))
            }
        }
        deserializer.deserialize_map(V)
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
            Event::Http(HttpEvent {
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
            Event::Http(HttpEvent {
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
