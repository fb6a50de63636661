//! Microsoft ISA Server / Forefront TMG WebProxyLog, exported from its SQL
//! store as tab-separated text.
//!
//! Lines end in CRLF; a first line of column names (`ClientIP\t...` or
//! `UserAgent\t...`) is skipped; `-` and empty are no value.
//!
//! # 30-column layout ([`Layout::Full`])
//!
//! | # | column | `HttpEvent` field |
//! |---|---|---|
//! | 1 | ClientIP (IPv4 as an unsigned 32-bit integer in network order: `169096208` is 10.20.52.16; dotted and IPv6 text also accepted) | `client_ip` |
//! | 2 | ClientUserName | `user_name` (`anonymous` kept as logged) |
//! | 3 | ClientAgent | `user_agent` |
//! | 4 | ClientAuthenticate | not kept |
//! | 5 | logTime (local time) | `timestamp` when GmtLogTime is empty |
//! | 6-8 | service, servername, referredserver | not kept |
//! | 9 | DestHost | `host` when the URI has none |
//! | 10 | DestHostIP (integer like ClientIP) | `server_ip` |
//! | 11 | DestHostPort | `server_port` |
//! | 12 | processingtime | not kept |
//! | 13 | bytesrecvd (bytes the proxy received from the client) | `bytes_from_client` |
//! | 14 | bytessent (bytes the proxy sent to the client) | `bytes_to_client` |
//! | 15 | protocol (`http`, `https`, `ftp`) | `scheme` when the URI has none |
//! | 16 | transport | not kept |
//! | 17 | operation (`GET`; `-` for tunnels) | `method` (`-` is none) |
//! | 18 | uri (`http://host/p?q`, or `host:443` for a tunnel) | `url`, `host`, `port`, `path`, `query` |
//! | 19 | mimetype | `content_type` |
//! | 20 | objectsource | `proxy_hierarchy` |
//! | 21 | resultcode | `status` for 100-599, otherwise `proxy_result_code` (Winsock and TMG codes such as 10060, 12209) |
//! | 22-27 | CacheInfo, rule, FilterInfo, SrcNetwork, DstNetwork, ErrorInfo | not kept |
//! | 28 | Action | `proxy_action` |
//! | 29 | GmtLogTime (UTC) | `timestamp`, preferred |
//! | 30 | AuthenticationServer | not kept |
//!
//! # 16-column layout ([`Layout::Reduced`])
//!
//! UserAgent, LocalTime, Referrer, DestHost, DestHostIP (dotted), DestHostPort,
//! Method, URL, MimeType, ResultCode, Transport, BytesIn, BytesOut, Protocol,
//! GmtTime, Action. Mapping as above, plus `referrer`. `BytesIn` is taken as
//! the bytes that came in to the client (`bytes_to_client`) and `BytesOut`
//! as the bytes it sent out (`bytes_from_client`). The layout has no client
//! address column, so `client_ip` stays empty. Times mix `8/14/2012 10:46`
//! and `2012-08-14 10:50:01.097` within one file; both are read.
//!
//! Local times are read in [`ReaderConfig::timezone`](crate::ReaderConfig::timezone).

use std::net::{IpAddr, Ipv4Addr};

use picket_event::{Event, HttpEvent};

use crate::config::ReaderConfig;
use crate::error::{RecordError, bad, excerpt};
use crate::fields::{
    content_type, fill_url, normalize_host, opt, opt_port, opt_string, opt_u64, parse_ip,
    parse_local_datetime, parse_u64, recorded_string,
};
use crate::reader::{LineCtx, LineParser, Output, Parsed};
use crate::tz::TimeZoneSetting;

/// Which TMG export layout a file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The 30-column WebProxyLog table.
    Full,
    /// The reduced 16-column export.
    Reduced,
}

impl Layout {
    fn columns(self) -> usize {
        match self {
            Layout::Full => 30,
            Layout::Reduced => 16,
        }
    }
}

/// Parser for both TMG layouts.
#[derive(Debug)]
pub(crate) struct TmgParser {
    layout: Layout,
    timezone: TimeZoneSetting,
}

impl TmgParser {
    /// A parser for `layout`, reading local times in the configured zone.
    pub fn new(layout: Layout, config: &ReaderConfig) -> Self {
        TmgParser {
            layout,
            timezone: config.timezone.clone(),
        }
    }
}

impl LineParser for TmgParser {
    fn format_name(&self) -> &'static str {
        match self.layout {
            Layout::Full => "tmg",
            Layout::Reduced => "tmg16",
        }
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
        let mut cols = [""; 30];
        let mut found = 0;
        for field in line.split('\t') {
            if found < 30 {
                cols[found] = field.trim();
            }
            found += 1;
        }
        if found != self.layout.columns() {
            return Err(RecordError::ColumnCount {
                expected: self.layout.columns().to_string(),
                found,
            });
        }
        if cols[0].eq_ignore_ascii_case("ClientIP")
            || cols[0].eq_ignore_ascii_case("UserAgent")
                && cols[1].eq_ignore_ascii_case("LocalTime")
        {
            return Ok(Parsed::Skipped);
        }
        let event = match self.layout {
            Layout::Full => self.full(&cols, ctx)?,
            Layout::Reduced => self.reduced(&cols, ctx)?,
        };
        Ok(Parsed::Event(Event::from(event)))
    }
}

impl TmgParser {
    fn full(&self, c: &[&str; 30], ctx: &LineCtx<'_>) -> Result<HttpEvent, RecordError> {
        let mut e = HttpEvent {
            timestamp: self.time(c[28], c[4])?,
            location: ctx.location(),
            client_ip: tmg_ip("ClientIP", c[0])?,
            user_name: opt_string(c[1]),
            user_agent: recorded_string(c[2]),
            server_ip: tmg_ip("DestHostIP", c[9])?,
            server_port: opt_port("DestHostPort", c[10])?,
            bytes_from_client: opt_u64("bytesrecvd", c[12])?,
            bytes_to_client: opt_u64("bytessent", c[13])?,
            method: opt_string(c[16]),
            content_type: content_type(c[18]),
            proxy_hierarchy: opt_string(c[19]),
            proxy_action: opt_string(c[27]),
            ..HttpEvent::default()
        };
        result_code(&mut e, c[20])?;
        let port = e.server_port;
        fill_target(&mut e, c[17], c[8], c[14], port);
        Ok(e)
    }

    fn reduced(&self, c: &[&str; 30], ctx: &LineCtx<'_>) -> Result<HttpEvent, RecordError> {
        let mut e = HttpEvent {
            timestamp: self.time(c[14], c[1])?,
            location: ctx.location(),
            user_agent: recorded_string(c[0]),
            referrer: opt_string(c[2]),
            server_ip: tmg_ip("DestHostIP", c[4])?,
            server_port: opt_port("DestHostPort", c[5])?,
            method: opt_string(c[6]),
            content_type: content_type(c[8]),
            bytes_to_client: opt_u64("BytesIn", c[11])?,
            bytes_from_client: opt_u64("BytesOut", c[12])?,
            proxy_action: opt_string(c[15]),
            ..HttpEvent::default()
        };
        result_code(&mut e, c[9])?;
        let port = e.server_port;
        fill_target(&mut e, c[7], c[3], c[13], port);
        Ok(e)
    }

    /// The UTC column when filled, else the local column in the configured zone.
    fn time(&self, gmt: &str, local: &str) -> Result<picket_event::Timestamp, RecordError> {
        if let Some(gmt) = opt(gmt) {
            return parse_local_datetime(gmt)
                .and_then(|t| t.to_timestamp(&TimeZoneSetting::Utc))
                .ok_or_else(|| RecordError::BadTimestamp {
                    value: excerpt(gmt),
                });
        }
        let local = opt(local).ok_or(RecordError::MissingField { field: "logTime" })?;
        parse_local_datetime(local)
            .and_then(|t| t.to_timestamp(&self.timezone))
            .ok_or_else(|| RecordError::BadTimestamp {
                value: excerpt(local),
            })
    }
}

/// An address column: an unsigned 32-bit integer in network byte order
/// (the SQL export's form), or dotted or IPv6 text.
fn tmg_ip(field: &'static str, value: &str) -> Result<Option<IpAddr>, RecordError> {
    let Some(value) = opt(value) else {
        return Ok(None);
    };
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let n = parse_u64(value)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(field, value))?;
        return Ok(Some(IpAddr::V4(Ipv4Addr::from(n))));
    }
    parse_ip(value).map(Some).ok_or_else(|| bad(field, value))
}

/// Splits `resultcode`: HTTP statuses go to `status`, Winsock and TMG
/// error codes (10060, 12209, ...) to `proxy_result_code`.
fn result_code(e: &mut HttpEvent, value: &str) -> Result<(), RecordError> {
    let Some(value) = opt(value) else {
        return Ok(());
    };
    let code = parse_u64(value)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad("resultcode", value))?;
    match code {
        0 => {}
        100..=599 => e.status = u16::try_from(code).ok(),
        other => e.proxy_result_code = Some(other),
    }
    Ok(())
}

/// Fills the URL parts from `uri`, then the host and scheme from their own
/// columns where the URI lacks them.
fn fill_target(
    e: &mut HttpEvent,
    uri: &str,
    dest_host: &str,
    protocol: &str,
    dest_port: Option<u16>,
) {
    if let Some(uri) = opt(uri) {
        fill_url(e, uri);
    }
    if e.host.is_none() {
        e.host = opt(dest_host).and_then(normalize_host);
    }
    if e.scheme.is_none() && e.path.is_some() {
        e.scheme = opt(protocol).map(str::to_ascii_lowercase);
    }
    if e.port.is_none() && e.path.is_none() {
        e.port = dest_port;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use crate::testing::parse_all;

    fn full_line(fields: &[(usize, &str)]) -> String {
        let mut cols = vec!["-"; 30];
        for (i, v) in fields {
            cols[*i] = v;
        }
        cols.join("\t") + "\r\n"
    }

    #[test]
    fn integer_addresses_and_codes() {
        let text = full_line(&[
            (0, "169096208"),
            (2, "Java/1.6.0_26"),
            (4, "2012-08-14 12:46:00.097"),
            (9, "3232235777"),
            (10, "443"),
            (16, "-"),
            (17, "mail.example.com:443"),
            (20, "12209"),
            (28, "2012-08-14 10:46:00.097"),
        ]) + &full_line(&[
            (0, "169096208"),
            (4, "8/14/2012 10:46"),
            (17, "http://Ex.com/a.jar"),
            (20, "200"),
            (14, "http"),
        ]);
        let (events, rejects, _) = parse_all(Format::Tmg, text.as_bytes());
        assert!(rejects.is_empty(), "{rejects:?}");
        let Event::Http(tunnel) = &events[0] else {
            panic!()
        };
        assert_eq!(tunnel.client_ip, Some("10.20.52.16".parse().unwrap()));
        assert_eq!(tunnel.server_ip, Some("192.168.1.1".parse().unwrap()));
        assert_eq!(tunnel.method, None);
        assert_eq!(
            (tunnel.host.as_deref(), tunnel.port),
            (Some("mail.example.com"), Some(443))
        );
        assert_eq!(
            (tunnel.status, tunnel.proxy_result_code),
            (None, Some(12209))
        );
        assert_eq!(tunnel.timestamp.to_string(), "2012-08-14T10:46:00.097Z");
        let Event::Http(get) = &events[1] else {
            panic!()
        };
        assert_eq!(get.status, Some(200));
        assert_eq!(get.timestamp.to_string(), "2012-08-14T10:46:00Z");
    }

    #[test]
    fn local_time_uses_configured_zone() {
        let config = ReaderConfig {
            timezone: "+02:00".parse().unwrap(),
            ..ReaderConfig::default()
        };
        let text = full_line(&[(4, "8/14/2012 10:46"), (17, "http://a/")]);
        let (events, _, _) = crate::read_all(text.as_bytes(), Format::Tmg, &config);
        assert_eq!(events[0].timestamp().to_string(), "2012-08-14T08:46:00Z");
    }

    #[test]
    fn bad_columns() {
        let text = "a\tb\tc\r\n".to_string()
            + &full_line(&[(0, "99999999999"), (28, "2012-08-14 10:46:00")])
            + &full_line(&[(28, "yesterday")]);
        let (events, rejects, _) = parse_all(Format::Tmg, text.as_bytes());
        assert_eq!((events.len(), rejects.len()), (0, 3));
        assert!(
            rejects[0]
                .reason
                .to_string()
                .contains("expected 30 columns, found 3")
        );
        assert!(rejects[1].reason.to_string().contains("ClientIP"));
        assert!(rejects[2].reason.to_string().contains("timestamp"));
    }
}
