//! Passive DNS: gamelinux `passivedns` lines and CIRCL Passive DNS Common
//! Output Format. Both record answers seen, not queries, so every event has
//! `exchange: response_only`.
//!
//! # gamelinux passivedns
//!
//! `timestamp||client||server||class||query||type||answer||ttl||count`
//! (older versions omit `count`):
//!
//! | field | `DnsEvent` field |
//! |---|---|
//! | timestamp (`1322849924.408856`, UTC epoch seconds) | `timestamp` |
//! | client, server | `client_ip`, `server_ip` |
//! | class (`IN`) | `query_class` |
//! | query | `query_name` (normalised), `query_name_original` when it differs |
//! | type | `query_type`, and the answer's type |
//! | answer, ttl | one record in `answers` (owner: the query); an answer of `NXDOMAIN` sets `rcode` instead |
//! | count | not kept |
//!
//! # CIRCL Common Output Format
//!
//! One JSON object per line (draft-dulaunoy-dnsop-passive-dns-cof):
//!
//! | field | `DnsEvent` field |
//! |---|---|
//! | `time_last` (else `time_first`), epoch seconds | `timestamp`: the latest sighting |
//! | `rrname` | `query_name`, `query_name_original` |
//! | `rrtype` (mnemonic or number) | `query_type` and the answers' type |
//! | `rdata` (a string or a list) | `answers`, TTL 0 (the format has none) |
//! | `count`, `bailiwick`, `sensor_id`, `time_first` | not kept |

use picket_event::dns::{ResponseCode, normalize_name};
use picket_event::{DnsEvent, DnsExchange, Event, RecordType, ResourceRecord, Timestamp};
use serde_json::Value;

use crate::error::{RecordError, bad, excerpt};
use crate::fields::{opt_ip, parse_epoch, parse_u64};
use crate::reader::{LineCtx, LineParser, Output, Parsed};

/// Parser for gamelinux passivedns lines.
#[derive(Debug, Default)]
pub(crate) struct PassiveDnsParser;

impl LineParser for PassiveDnsParser {
    fn format_name(&self) -> &'static str {
        "passivedns"
    }

    fn parse_line(
        &mut self,
        line: &str,
        ctx: &LineCtx<'_>,
        _out: &mut Output,
    ) -> Result<Parsed, RecordError> {
        if line.starts_with('#') {
            return Ok(Parsed::Skipped);
        }
        let f: Vec<&str> = line.split("||").collect();
        if f.len() != 8 && f.len() != 9 {
            return Err(RecordError::ColumnCount {
                expected: "8 or 9".into(),
                found: f.len(),
            });
        }
        let timestamp = parse_epoch(f[0]).ok_or_else(|| RecordError::BadTimestamp {
            value: excerpt(f[0]),
        })?;
        let class = class_number(f[3]).ok_or_else(|| bad("class", f[3]))?;
        let rtype = RecordType::from_name(f[5])
            .or_else(|| {
                parse_u64(f[5])
                    .and_then(|n| u16::try_from(n).ok())
                    .map(RecordType)
            })
            .ok_or_else(|| bad("type", f[5]))?;
        let ttl = parse_u64(f[7])
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad("ttl", f[7]))?;

        let mut e = DnsEvent {
            timestamp,
            location: ctx.location(),
            client_ip: opt_ip("client", f[1])?,
            server_ip: opt_ip("server", f[2])?,
            query_class: Some(class),
            query_type: Some(rtype),
            exchange: DnsExchange::ResponseOnly,
            ..DnsEvent::default()
        };
        e.flags.qr = true;
        set_name(&mut e, f[4]);
        if f[6] == "NXDOMAIN" {
            e.rcode = Some(ResponseCode::NXDOMAIN);
        } else {
            e.rcode = Some(ResponseCode::NOERROR);
            e.answers.push(ResourceRecord {
                name: e.query_name.clone(),
                rtype,
                class,
                ttl,
                data: answer_data(f[6], rtype),
            });
        }
        Ok(Parsed::Event(Event::Dns(e)))
    }
}

fn class_number(name: &str) -> Option<u16> {
    match name.to_ascii_uppercase().as_str() {
        "IN" => Some(1),
        "CH" | "CS" => Some(3),
        "HS" => Some(4),
        "ANY" => Some(255),
        other => other.strip_prefix("CLASS").unwrap_or(other).parse().ok(),
    }
}

fn set_name(e: &mut DnsEvent, name: &str) {
    e.query_name = normalize_name(name);
    if e.query_name != name {
        e.query_name_original = Some(name.to_owned());
    }
}

fn answer_data(data: &str, rtype: RecordType) -> String {
    match rtype {
        RecordType::CNAME | RecordType::NS | RecordType::PTR | RecordType::DNAME => {
            normalize_name(data)
        }
        _ => data.to_owned(),
    }
}

/// Parser for CIRCL Passive DNS Common Output Format lines.
#[derive(Debug, Default)]
pub(crate) struct CirclParser;

impl LineParser for CirclParser {
    fn format_name(&self) -> &'static str {
        "circl-pdns"
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
        let record = value.as_object().ok_or_else(|| RecordError::Json {
            message: "not an object".into(),
        })?;
        let rrname = record
            .get("rrname")
            .and_then(Value::as_str)
            .ok_or(RecordError::MissingField { field: "rrname" })?;
        let rtype = match record.get("rrtype") {
            Some(Value::String(s)) => RecordType::from_name(s).ok_or_else(|| bad("rrtype", s))?,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .map(RecordType)
                .ok_or_else(|| bad("rrtype", &n.to_string()))?,
            _ => return Err(RecordError::MissingField { field: "rrtype" }),
        };
        let timestamp = epoch_field(record.get("time_last"), "time_last")?
            .or(epoch_field(record.get("time_first"), "time_first")?)
            .ok_or(RecordError::MissingField { field: "time_last" })?;

        let mut e = DnsEvent {
            timestamp,
            location: ctx.location(),
            query_type: Some(rtype),
            query_class: Some(1),
            exchange: DnsExchange::ResponseOnly,
            rcode: Some(ResponseCode::NOERROR),
            ..DnsEvent::default()
        };
        e.flags.qr = true;
        set_name(&mut e, rrname);
        let rdata: Vec<&str> = match record.get("rdata") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for data in rdata {
            e.answers.push(ResourceRecord {
                name: e.query_name.clone(),
                rtype,
                class: 1,
                ttl: 0,
                data: answer_data(data, rtype),
            });
        }
        Ok(Parsed::Event(Event::Dns(e)))
    }
}

fn epoch_field(
    value: Option<&Value>,
    name: &'static str,
) -> Result<Option<Timestamp>, RecordError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let parsed = match n.as_i64() {
                Some(secs) => Timestamp::from_secs_nanos(secs, 0),
                None => n.as_f64().and_then(Timestamp::from_secs_f64),
            };
            parsed.map(Some).ok_or_else(|| RecordError::BadTimestamp {
                value: n.to_string(),
            })
        }
        Some(Value::String(s)) => parse_epoch(s)
            .or_else(|| crate::fields::parse_iso_instant(s))
            .map(Some)
            .ok_or_else(|| RecordError::BadTimestamp { value: excerpt(s) }),
        Some(other) => Err(bad(name, &other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use crate::testing::parse_all;

    #[test]
    fn passivedns_lines() {
        let text = "1322849924.408856||10.1.1.1||8.8.8.8||IN||Upload.YouTube.com.||A||74.125.43.117||46587||5\n\
1322849924.5||10.1.1.1||8.8.8.8||IN||www.example.com.||CNAME||Example.com.||300\n\
1322849925.0||10.1.1.1||8.8.8.8||IN||nx.example.||A||NXDOMAIN||0||1\n\
1322849925.0||10.1.1.1||8.8.8.8||IN||short\n";
        let (events, rejects, _) = parse_all(Format::PassiveDns, text.as_bytes());
        assert_eq!((events.len(), rejects.len()), (3, 1));
        let Event::Dns(a) = &events[0] else { panic!() };
        assert_eq!(a.query_name, "upload.youtube.com");
        assert_eq!(a.exchange, DnsExchange::ResponseOnly);
        assert_eq!(a.answers[0].ip(), Some("74.125.43.117".parse().unwrap()));
        assert_eq!(a.answers[0].ttl, 46587);
        let Event::Dns(b) = &events[1] else { panic!() };
        assert_eq!(b.answers[0].target_name(), Some("example.com"));
        let Event::Dns(c) = &events[2] else { panic!() };
        assert_eq!(
            (c.rcode, c.answers.len()),
            (Some(ResponseCode::NXDOMAIN), 0)
        );
    }

    #[test]
    fn circl_lines() {
        let text = r#"{"count": 5, "time_first": 1411229720, "rrtype": "A", "rrname": "Example.com", "rdata": "192.0.2.1", "time_last": 1411229799}
{"count": 1, "time_first": 1411229720, "rrtype": 15, "rrname": "example.com", "rdata": ["10 mx1.example.com", "20 mx2.example.com"], "time_last": 1411229720}
{"rrname": "x", "rrtype": "A", "time_last": "soon"}
"#;
        let (events, rejects, _) = parse_all(Format::CirclPdns, text.as_bytes());
        assert_eq!((events.len(), rejects.len()), (2, 1));
        let Event::Dns(a) = &events[0] else { panic!() };
        assert_eq!(a.timestamp.as_secs(), 1_411_229_799);
        assert_eq!(a.query_name_original.as_deref(), Some("Example.com"));
        let Event::Dns(b) = &events[1] else { panic!() };
        assert_eq!(b.answers.len(), 2);
        assert_eq!(b.answers[1].target_name(), Some("mx2.example.com"));
    }
}
