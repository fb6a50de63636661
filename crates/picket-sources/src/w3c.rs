//! W3C extended log format (BlueCoat ProxySG, IIS, TMG W3C, and others).
//!
//! A `#Fields:` header names the columns; a later `#Fields:` replaces them
//! for the lines that follow. Columns are separated by runs of spaces or
//! tabs; a value in double quotes may hold spaces; `-` is an empty value.
//! Times are UTC, as the W3C draft (WD-logfile-960323) requires.
//!
//! Columns are mapped by name, ignoring case; unknown names (`x-...`,
//! `time-taken`, `sc-filter-category`, ...) are read past.
//!
//! | column | `HttpEvent` field |
//! |---|---|
//! | `date` + `time` (the `#Date:` header's day when there is no `date`) | `timestamp` |
//! | `c-ip`, `c-port` | `client_ip`, `client_port` |
//! | `cs-username` | `user_name` |
//! | `cs-method` | `method` |
//! | `cs-uri` (whole URL) | `url` and its parts |
//! | `cs-uri-scheme`, `cs-host`, `cs-uri-port`, `cs-uri-stem` or `cs-uri-path`, `cs-uri-query` | `scheme`, `host`, `port`, `path`, `query`; `url` is rebuilt from them |
//! | `cs-version` | `version` (`HTTP/` removed) |
//! | `sc-status` | `status` (`0` is none) |
//! | `s-action` | `proxy_action` |
//! | `s-hierarchy` | `proxy_hierarchy` |
//! | `rs(Content-Type)`, else `sc(Content-Type)` | `content_type` |
//! | `cs(User-Agent)` | `user_agent` |
//! | `cs(Referer)` or `cs(Referrer)` | `referrer` |
//! | `cs(X-Forwarded-For)` or `x-forwarded-for` | `forwarded_for` |
//! | `sc-bytes`, `cs-bytes` | `bytes_to_client`, `bytes_from_client` |
//! | `s-supplier-ip`, `r-ip`, or `s-supplier-name` holding an address | `server_ip` (the origin or parent proxy) |
//! | `s-ip`, `s-port` | `server_ip`, `server_port` only when the log has no `cs-host` (a web server's own log, as IIS writes) |
//! | `r-port` | `server_port` |

use picket_event::{Event, HttpEvent, Timestamp};

use crate::error::{RecordError, excerpt};
use crate::fields::{
    content_type, normalize_host, opt, opt_ip, opt_port, opt_status, opt_u64, parse_date, parse_ip,
    utc_from_date_time,
};
use crate::reader::{LineCtx, LineParser, Output, Parsed};

/// Splits a W3C data line into its values: whitespace-separated, with
/// double-quoted values kept whole (quotes removed). A quoted value ends at
/// a quote followed by whitespace or the end of the line, so a stray quote
/// inside it does not end it early.
pub fn split_fields(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for_each_field(line, |f| out.push(f));
    out
}

#[inline]
fn for_each_field<'a>(line: &'a str, mut emit: impl FnMut(&'a str)) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            let end = loop {
                match memchr::memchr(b'"', &b[j..]) {
                    Some(p) => {
                        let q = j + p;
                        if q + 1 >= b.len() || b[q + 1] == b' ' || b[q + 1] == b'\t' {
                            break q;
                        }
                        j = q + 1;
                    }
                    None => break b.len(),
                }
            };
            emit(&line[start..end]);
            i = end + 1;
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                i += 1;
            }
            emit(&line[start..i]);
        }
    }
}

/// Column positions of the fields picket maps, from one `#Fields:` header.
#[derive(Debug, Default, Clone)]
struct Columns {
    count: usize,
    date: Option<usize>,
    time: Option<usize>,
    c_ip: Option<usize>,
    c_port: Option<usize>,
    username: Option<usize>,
    method: Option<usize>,
    uri: Option<usize>,
    scheme: Option<usize>,
    host: Option<usize>,
    port: Option<usize>,
    path: Option<usize>,
    query: Option<usize>,
    version: Option<usize>,
    status: Option<usize>,
    action: Option<usize>,
    hierarchy: Option<usize>,
    rs_content_type: Option<usize>,
    sc_content_type: Option<usize>,
    user_agent: Option<usize>,
    referrer: Option<usize>,
    forwarded_for: Option<usize>,
    sc_bytes: Option<usize>,
    cs_bytes: Option<usize>,
    supplier_ip: Option<usize>,
    r_ip: Option<usize>,
    supplier_name: Option<usize>,
    s_ip: Option<usize>,
    s_port: Option<usize>,
    r_port: Option<usize>,
}

impl Columns {
    fn from_header(names: &str) -> Columns {
        let mut c = Columns::default();
        for (i, name) in names.split_ascii_whitespace().enumerate() {
            c.count += 1;
            let slot = match name.to_ascii_lowercase().as_str() {
                "date" => &mut c.date,
                "time" => &mut c.time,
                "c-ip" => &mut c.c_ip,
                "c-port" => &mut c.c_port,
                "cs-username" => &mut c.username,
                "cs-method" => &mut c.method,
                "cs-uri" => &mut c.uri,
                "cs-uri-scheme" => &mut c.scheme,
                "cs-host" => &mut c.host,
                "cs-uri-port" => &mut c.port,
                "cs-uri-stem" | "cs-uri-path" => &mut c.path,
                "cs-uri-query" => &mut c.query,
                "cs-version" => &mut c.version,
                "sc-status" => &mut c.status,
                "s-action" => &mut c.action,
                "s-hierarchy" => &mut c.hierarchy,
                "rs(content-type)" => &mut c.rs_content_type,
                "sc(content-type)" => &mut c.sc_content_type,
                "cs(user-agent)" => &mut c.user_agent,
                "cs(referer)" | "cs(referrer)" => &mut c.referrer,
                "cs(x-forwarded-for)" | "x-forwarded-for" => &mut c.forwarded_for,
                "sc-bytes" => &mut c.sc_bytes,
                "cs-bytes" => &mut c.cs_bytes,
                "s-supplier-ip" => &mut c.supplier_ip,
                "r-ip" => &mut c.r_ip,
                "s-supplier-name" => &mut c.supplier_name,
                "s-ip" => &mut c.s_ip,
                "s-port" => &mut c.s_port,
                "r-port" => &mut c.r_port,
                _ => continue,
            };
            slot.get_or_insert(i);
        }
        c
    }
}

/// Parser state: the current header's columns and the `#Date:` day.
#[derive(Debug, Default)]
pub(crate) struct W3cParser {
    columns: Option<Columns>,
    header_date: Option<String>,
    values: Vec<(usize, usize)>,
}

impl LineParser for W3cParser {
    fn format_name(&self) -> &'static str {
        "w3c"
    }

    fn parse_line(
        &mut self,
        line: &str,
        ctx: &LineCtx<'_>,
        _out: &mut Output,
    ) -> Result<Parsed, RecordError> {
        if let Some(directive) = line.strip_prefix('#') {
            self.directive(directive)?;
            return Ok(Parsed::Skipped);
        }
        if line.trim().is_empty() {
            return Ok(Parsed::Skipped);
        }
        let Some(columns) = &self.columns else {
            return Err(RecordError::NoHeader { header: "#Fields:" });
        };

        self.values.clear();
        let base = line.as_ptr() as usize;
        for_each_field(line, |f| {
            let start = f.as_ptr() as usize - base;
            self.values.push((start, start + f.len()));
        });
        if self.values.len() != columns.count {
            return Err(RecordError::ColumnCount {
                expected: columns.count.to_string(),
                found: self.values.len(),
            });
        }
        let values = &self.values;
        let get = |i: Option<usize>| i.map(|i| &line[values[i].0..values[i].1]).and_then(opt);
        build_event(columns, get, self.header_date.as_deref(), ctx)
            .map(|e| Parsed::Event(Event::from(e)))
    }
}

impl W3cParser {
    fn directive(&mut self, directive: &str) -> Result<(), RecordError> {
        if let Some(names) = directive.strip_prefix("Fields:") {
            let columns = Columns::from_header(names);
            if columns.count == 0 {
                self.columns = None;
                return Err(RecordError::BadHeader {
                    value: excerpt(directive),
                });
            }
            self.columns = Some(columns);
        } else if let Some(date) = directive.strip_prefix("Date:") {
            self.header_date = date.split_ascii_whitespace().next().map(str::to_owned);
        }
        Ok(())
    }
}

fn build_event<'a>(
    c: &Columns,
    get: impl Fn(Option<usize>) -> Option<&'a str>,
    header_date: Option<&str>,
    ctx: &LineCtx<'_>,
) -> Result<HttpEvent, RecordError> {
    let timestamp = timestamp(get(c.date).or(header_date), get(c.time))?;
    let mut e = HttpEvent {
        timestamp,
        location: ctx.location(),
        client_ip: opt_ip("c-ip", get(c.c_ip).unwrap_or("-"))?,
        client_port: opt_port("c-port", get(c.c_port).unwrap_or("-"))?,
        user_name: get(c.username).map(str::to_owned),
        method: get(c.method).map(str::to_owned),
        version: get(c.version).map(|v| v.strip_prefix("HTTP/").unwrap_or(v).to_owned()),
        status: opt_status("sc-status", get(c.status).unwrap_or("-"))?,
        proxy_action: get(c.action).map(str::to_owned),
        proxy_hierarchy: get(c.hierarchy).map(str::to_owned),
        content_type: get(c.rs_content_type)
            .or(get(c.sc_content_type))
            .and_then(content_type),
        // Present column, empty agent: `Some("")`; no column: `None`.
        user_agent: c
            .user_agent
            .map(|_| get(c.user_agent).unwrap_or("").to_owned()),
        referrer: get(c.referrer).map(str::to_owned),
        forwarded_for: get(c.forwarded_for).map(str::to_owned),
        bytes_to_client: opt_u64("sc-bytes", get(c.sc_bytes).unwrap_or("-"))?,
        bytes_from_client: opt_u64("cs-bytes", get(c.cs_bytes).unwrap_or("-"))?,
        ..HttpEvent::default()
    };

    e.server_ip = get(c.supplier_ip)
        .and_then(parse_ip)
        .or_else(|| get(c.r_ip).and_then(parse_ip))
        .or_else(|| get(c.supplier_name).and_then(parse_ip));
    e.server_port = opt_port("r-port", get(c.r_port).unwrap_or("-"))?;
    if c.host.is_none() {
        e.server_ip = e.server_ip.or_else(|| get(c.s_ip).and_then(parse_ip));
        e.server_port = e
            .server_port
            .or(opt_port("s-port", get(c.s_port).unwrap_or("-"))?);
    }

    if let Some(uri) = get(c.uri) {
        crate::fields::fill_url(&mut e, uri);
    }
    if let Some(scheme) = get(c.scheme) {
        e.scheme = Some(scheme.to_ascii_lowercase());
    }
    if let Some(host) = get(c.host) {
        e.host = normalize_host(host);
    }
    if let Some(port) = get(c.port) {
        e.port = opt_port("cs-uri-port", port)?;
    }
    if let Some(path) = get(c.path) {
        e.path = Some(path.to_owned());
    }
    if let Some(query) = get(c.query) {
        let query = query.strip_prefix('?').unwrap_or(query);
        e.query = (!query.is_empty()).then(|| query.to_owned());
    }
    if c.uri.is_none() {
        e.url = rebuild_url(&e);
    }
    Ok(e)
}

/// Rebuilds the request URL from its logged parts: `scheme://host[:port]path[?query]`,
/// or just `path[?query]` without a host.
fn rebuild_url(e: &HttpEvent) -> String {
    let mut url = String::new();
    if let Some(host) = &e.host {
        url.push_str(e.scheme.as_deref().unwrap_or("http"));
        url.push_str("://");
        if host.contains(':') {
            url.push('[');
            url.push_str(host);
            url.push(']');
        } else {
            url.push_str(host);
        }
        if let Some(port) = e.port {
            let default = matches!(
                (e.scheme.as_deref(), port),
                (Some("http") | None, 80) | (Some("https"), 443)
            );
            if !default {
                url.push(':');
                url.push_str(&port.to_string());
            }
        }
    }
    if let Some(path) = &e.path {
        url.push_str(path);
    } else if e.host.is_some() && e.query.is_some() {
        url.push('/');
    }
    if let Some(query) = &e.query {
        url.push('?');
        url.push_str(query);
    }
    url
}

fn timestamp(date: Option<&str>, time: Option<&str>) -> Result<Timestamp, RecordError> {
    let time = time.ok_or(RecordError::MissingField { field: "time" })?;
    let date = date.ok_or(RecordError::MissingField { field: "date" })?;
    utc_from_date_time(date, time).ok_or_else(|| {
        let value = if parse_date(date).is_none() {
            date
        } else {
            time
        };
        RecordError::BadTimestamp {
            value: excerpt(value),
        }
    })
}

/// The rebuilt URL of a W3C event, for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn url_of(e: &HttpEvent) -> String {
    rebuild_url(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use crate::testing::parse_all;

    #[test]
    fn split_quoted() {
        assert_eq!(
            split_fields(r#"a  "b c" - "" "d"e" f"#),
            ["a", "b c", "-", "", "d\"e", "f"]
        );
        assert_eq!(split_fields("x\t\ty "), ["x", "y"]);
    }

    #[test]
    fn header_change_mid_file() {
        let text = "#Software: test\n#Fields: date time c-ip cs-host cs-uri-stem cs-uri-query sc-status\n\
2012-08-14 10:46:00 10.0.0.1 Example.COM /a.html ?x=1 200\n\
#Fields: date time c-ip cs(User-Agent) cs-uri sc-status rs(Content-Type)\n\
2012-08-14 10:46:01 10.0.0.2 \"Java/1.6.0_26\" http://evil.example:8080/a.jar 200 application/java-archive\n\
2012-08-14 10:46:01 10.0.0.2 too few\n\
2012-13-14 10:46:01 10.0.0.2 - http://x/ 200 -\n";
        let (events, rejects, stats) = parse_all(Format::W3c, text.as_bytes());
        assert_eq!((events.len(), rejects.len(), stats.skipped), (2, 2, 3));
        let Event::Http(a) = &events[0] else { panic!() };
        assert_eq!(a.url, "http://example.com/a.html?x=1");
        assert_eq!(a.query.as_deref(), Some("x=1"));
        let Event::Http(b) = &events[1] else { panic!() };
        assert_eq!(b.user_agent.as_deref(), Some("Java/1.6.0_26"));
        assert_eq!(
            (b.host.as_deref(), b.port),
            (Some("evil.example"), Some(8080))
        );
        assert_eq!(url_of(b), "http://evil.example:8080/a.jar");
        assert!(rejects[0].reason.to_string().contains("expected 7 columns"));
        assert!(rejects[1].reason.to_string().contains("timestamp"));
    }

    #[test]
    fn agent_column_tells_unsent_from_unlogged() {
        let text = "#Fields: date time c-ip cs(User-Agent) cs-uri\n\
2012-08-14 10:46:00 10.0.0.1 - http://a.example/\n\
#Fields: date time c-ip cs-uri\n\
2012-08-14 10:46:01 10.0.0.1 http://b.example/\n";
        let (events, rejects, _) = parse_all(Format::W3c, text.as_bytes());
        assert_eq!((events.len(), rejects.len()), (2, 0));
        let Event::Http(sent_none) = &events[0] else {
            panic!()
        };
        assert_eq!(sent_none.user_agent.as_deref(), Some(""));
        let Event::Http(not_logged) = &events[1] else {
            panic!()
        };
        assert_eq!(not_logged.user_agent, None);
    }

    #[test]
    fn data_before_header_is_rejected() {
        let (events, rejects, _) = parse_all(Format::W3c, b"2012-08-14 10:46:00 10.0.0.1\n");
        assert_eq!((events.len(), rejects.len()), (0, 1));
    }
}
