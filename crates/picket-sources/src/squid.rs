//! Squid `access.log`: the native format and the `combined` log format.
//!
//! # Native format
//!
//! `time elapsed client action/status bytes method URL user hierarchy/peer type`,
//! separated by runs of spaces:
//!
//! | column | example | `HttpEvent` field |
//! |---|---|---|
//! | time | `1677971735.123` (Unix seconds, UTC) | `timestamp` |
//! | elapsed | `567` (milliseconds) | not kept |
//! | client | `192.168.1.100`, `2001:db8::1` | `client_ip` (`None` when Squid logged a host name) |
//! | action/status | `TCP_MISS/200`, `TCP_DENIED/407` | `proxy_action`, `status` (`000` is no status) |
//! | bytes | `5432` | `bytes_to_client` |
//! | method | `GET`, `CONNECT` | `method` |
//! | URL | `http://host/p?q`, `host:443` | `url`, `scheme`, `host`, `port`, `path`, `query` |
//! | user | `user1`, `-` | `user_name` |
//! | hierarchy/peer | `HIER_DIRECT/93.184.216.34` | `proxy_hierarchy`, `server_ip` when the peer is an address |
//! | type | `text/html; charset=utf-8`, `-` | `content_type` |
//!
//! Lines with fewer than nine columns are rejected (the type column is
//! optional: old Squids omit it); extra columns from a custom `logformat`
//! are ignored.
//!
//! # Combined format
//!
//! `client ident user [10/Oct/2000:13:55:36 -0700] "METHOD URL HTTP/1.1"
//! status bytes "referrer" "user agent" [action:hierarchy]`, the Apache
//! `combined` format that Squid writes with `logformat combined`. Fields map
//! as above, plus `referrer`, `user_agent` and `version`; the time carries
//! its own offset.

use picket_event::{Event, EventView, HttpEvent, Timestamp};

use crate::columns::split_columns;
use crate::error::{RecordError, excerpt};
use crate::fields::{
    content_type_in, days_from_civil, fill_url, fill_url_in, opt, opt_status, opt_string, opt_u64,
    parse_epoch, parse_ip, recorded_string, split_at_byte, split_target,
};
use crate::reader::{LineCtx, LineParser, Output, Parsed};
use crate::strings::Strings;

mod view;

/// Parser for the Squid native format.
#[derive(Debug, Default)]
pub(crate) struct SquidParser {
    strings: Strings,
}

/// Most columns looked at; more are counted but not kept.
const MAX_COLUMNS: usize = 10;

impl LineParser for SquidParser {
    fn format_name(&self) -> &'static str {
        "squid"
    }

    fn parse_line(
        &mut self,
        line: &str,
        ctx: &LineCtx<'_>,
        out: &mut Output,
    ) -> Result<Parsed, RecordError> {
        let mut slot = Event::from(HttpEvent::default());
        match self.parse_line_into(line, ctx, out, &mut slot)? {
            Parsed::Filled => Ok(Parsed::Event(slot)),
            other => Ok(other),
        }
    }

    fn parse_line_into(
        &mut self,
        line: &str,
        ctx: &LineCtx<'_>,
        _out: &mut Output,
        slot: &mut Event,
    ) -> Result<Parsed, RecordError> {
        if line.starts_with('#') {
            return Ok(Parsed::Skipped);
        }
        let mut cols = [""; MAX_COLUMNS];
        let found = split_columns(line, &mut cols);
        if found < 9 {
            return Err(RecordError::ColumnCount {
                expected: "at least 9".into(),
                found,
            });
        }
        if !matches!(slot, Event::Http(_)) {
            *slot = Event::from(HttpEvent::default());
        }
        let Event::Http(event) = slot else {
            unreachable!("the slot was made an HTTP event above")
        };
        self.strings.recycle_http(event);
        parse_native(&cols, ctx, event, &mut self.strings)?;
        Ok(Parsed::Filled)
    }

    fn parse_view<'a>(&mut self, line: &'a str) -> Option<EventView<'a>> {
        view::read_usual(line).or_else(|| columns_view(line))
    }
}

/// Reads any native line into a view by its columns, as [`parse_native`]
/// would read it, or returns `None` where only the full parse can decide.
fn columns_view(line: &str) -> Option<EventView<'_>> {
    if line.starts_with('#') {
        return None;
    }
    let mut cols = [""; MAX_COLUMNS];
    if split_columns(line, &mut cols) < 9 {
        return None;
    }
    native_view(&cols)
}

/// Reads the columns into a view with the fields [`parse_native`] would
/// fill. Returns `None` when a field is invalid or the host is not in lower
/// case already, because only the full parse reports errors and copies.
fn native_view<'a>(cols: &[&'a str; MAX_COLUMNS]) -> Option<EventView<'a>> {
    let timestamp = parse_epoch(cols[0])?;
    let (_, status) = split_at_byte(cols[3], b'/').unwrap_or((cols[3], "-"));
    opt_status("status", status).ok()?;
    opt_u64("bytes", cols[4]).ok()?;

    let mut view = EventView::http(timestamp);
    view.client_ip = parse_ip(cols[2]);
    let (_, peer) = split_at_byte(cols[8], b'/').unwrap_or((cols[8], "-"));
    view.server_ip = opt(peer).and_then(parse_ip);
    view.user_name = opt(cols[7]);
    if cols[6] != "-" {
        let target = split_target(cols[6]);
        if target
            .host
            .is_some_and(|h| h.bytes().any(|b| !b.is_ascii() || b.is_ascii_uppercase()))
        {
            return None;
        }
        view.url = cols[6];
        view.host = target.host;
        view.path = target.path;
        if target.scheme.is_some() && view.path.is_none() {
            view.path = Some("/");
        }
        view.query = target.query;
    }
    Some(view)
}

/// Fills `event`, reset by [`Strings::recycle_http`], from the columns.
fn parse_native(
    cols: &[&str; MAX_COLUMNS],
    ctx: &LineCtx<'_>,
    event: &mut HttpEvent,
    strings: &mut Strings,
) -> Result<(), RecordError> {
    let mut copy = |text: &str| opt(text).map(|text| strings.copy(text));
    event.timestamp = parse_epoch(cols[0]).ok_or_else(|| RecordError::BadTimestamp {
        value: excerpt(cols[0]),
    })?;
    ctx.set_location(&mut event.location);
    event.client_ip = parse_ip(cols[2]);
    let (action, status) = split_at_byte(cols[3], b'/').unwrap_or((cols[3], "-"));
    event.proxy_action = copy(action);
    event.status = opt_status("status", status)?;
    event.bytes_to_client = opt_u64("bytes", cols[4])?;
    event.method = copy(cols[5]);
    event.user_name = copy(cols[7]);
    let (hierarchy, peer) = split_at_byte(cols[8], b'/').unwrap_or((cols[8], "-"));
    event.proxy_hierarchy = copy(hierarchy);
    event.server_ip = opt(peer).and_then(parse_ip);
    event.content_type = content_type_in(cols[9], strings);
    if cols[6] != "-" {
        fill_url_in(event, cols[6], strings);
    }
    Ok(())
}

/// Parser for the `combined` format.
#[derive(Debug, Default)]
pub(crate) struct CombinedParser;

impl LineParser for CombinedParser {
    fn format_name(&self) -> &'static str {
        "squid-combined"
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
        parse_combined(line, ctx).map(|e| Parsed::Event(Event::from(e)))
    }
}

/// A cursor over a combined-format line.
struct Cursor<'a> {
    rest: &'a str,
    found: usize,
}

impl<'a> Cursor<'a> {
    fn missing(&self) -> RecordError {
        RecordError::ColumnCount {
            expected: "at least 9".into(),
            found: self.found,
        }
    }

    /// The next space-separated token.
    fn token(&mut self) -> Result<&'a str, RecordError> {
        let rest = self.rest.trim_start_matches(' ');
        if rest.is_empty() {
            return Err(self.missing());
        }
        let end = rest.find(' ').unwrap_or(rest.len());
        self.rest = &rest[end..];
        self.found += 1;
        Ok(&rest[..end])
    }

    /// The next token enclosed in `open` and `close`, without them. A
    /// backslash escapes the closing character.
    fn enclosed(&mut self, open: char, close: u8) -> Result<&'a str, RecordError> {
        let rest = self.rest.trim_start_matches(' ');
        let Some(inner) = rest.strip_prefix(open) else {
            return Err(self.missing());
        };
        let bytes = inner.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b if b == close => {
                    self.rest = &inner[i + 1..];
                    self.found += 1;
                    return Ok(&inner[..i]);
                }
                _ => i += 1,
            }
        }
        Err(self.missing())
    }
}

fn parse_combined(line: &str, ctx: &LineCtx<'_>) -> Result<HttpEvent, RecordError> {
    let mut cur = Cursor {
        rest: line,
        found: 0,
    };
    let client = cur.token()?;
    let _ident = cur.token()?;
    let user = cur.token()?;
    let time = cur.enclosed('[', b']')?;
    let request = cur.enclosed('"', b'"')?;
    let status = cur.token()?;
    let bytes = cur.token()?;
    let referrer = cur.enclosed('"', b'"')?;
    let agent = cur.enclosed('"', b'"')?;
    let tail = cur.token().ok();

    let timestamp = parse_clf_time(time).ok_or_else(|| RecordError::BadTimestamp {
        value: excerpt(time),
    })?;
    let mut event = HttpEvent {
        timestamp,
        location: ctx.location(),
        client_ip: parse_ip(client),
        user_name: opt_string(user),
        status: opt_status("status", status)?,
        bytes_to_client: opt_u64("bytes", bytes)?,
        referrer: opt_string(referrer),
        user_agent: recorded_string(agent),
        ..HttpEvent::default()
    };

    let mut parts = request.split(' ').filter(|p| !p.is_empty());
    event.method = parts.next().and_then(opt_string);
    if let Some(target) = parts.next() {
        fill_url(&mut event, target);
    }
    event.version = parts
        .next()
        .map(|v| v.strip_prefix("HTTP/").unwrap_or(v).to_owned());

    if let Some(tail) = tail {
        let (action, hierarchy) = tail.split_once(':').unwrap_or((tail, "-"));
        event.proxy_action = opt_string(action);
        event.proxy_hierarchy = opt_string(hierarchy);
    }
    Ok(event)
}

/// Parses the common log format time `10/Oct/2000:13:55:36 -0700`.
fn parse_clf_time(text: &str) -> Option<Timestamp> {
    let (stamp, zone) = text.split_once(' ').unwrap_or((text, "+0000"));
    let mut parts = stamp.splitn(4, [':', '/']);
    let day: u32 = parts.next()?.parse().ok()?;
    let month = month_number(parts.next()?)?;
    let year: i64 = parts.next()?.parse().ok()?;
    let (hour, minute, second, nanos) = crate::fields::parse_time(parts.next()?)?;
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let zone = zone.trim();
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = zone.get(1..5)?;
    let offset = sign
        * (digits.get(..2)?.parse::<i64>().ok()? * 3600
            + digits.get(2..)?.parse::<i64>().ok()? * 60);
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset;
    Timestamp::from_secs_nanos(secs, nanos)
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use crate::testing::parse_all;

    #[test]
    fn native_edge_cases() {
        let text = "\
1677971734.080  1234 1.2.3.4 TCP_TUNNEL/200 39 CONNECT domain.xyz:443 - HIER_DIRECT/1.2.3.4  -
1677971737.789  123 2001:db8::1 TCP_MISS/404 1024 GET http://Example.com/missing.html?a=b admin HIER_DIRECT/93.184.216.34 text/html;charset=UTF-8
1677971738.012  456 172.16.0.1 TCP_DENIED/407 256 POST http://example.com/api/data - HIER_NONE/- -
not a squid line
1677971738.012x  456 172.16.0.1 TCP_DENIED/403 256 POST http://example.com/api/data - HIER_NONE/- -
";
        let (events, rejects, stats) = parse_all(Format::Squid, text.as_bytes());
        assert_eq!(events.len(), 3);
        assert_eq!(rejects.len(), 2);
        assert_eq!(stats.records, 5);
        let Event::Http(connect) = &events[0] else {
            panic!()
        };
        assert_eq!(connect.method.as_deref(), Some("CONNECT"));
        assert_eq!(connect.host.as_deref(), Some("domain.xyz"));
        assert_eq!(connect.port, Some(443));
        assert_eq!(connect.user_name, None);
        assert_eq!(connect.content_type, None);
        let Event::Http(v6) = &events[1] else {
            panic!()
        };
        assert_eq!(v6.client_ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(v6.host.as_deref(), Some("example.com"));
        assert_eq!(v6.query.as_deref(), Some("a=b"));
        assert_eq!(v6.content_type.as_deref(), Some("text/html"));
        assert_eq!(v6.server_ip, Some("93.184.216.34".parse().unwrap()));
        let Event::Http(denied) = &events[2] else {
            panic!()
        };
        assert_eq!(
            (denied.proxy_action.as_deref(), denied.status),
            (Some("TCP_DENIED"), Some(407))
        );
        assert_eq!(denied.proxy_hierarchy.as_deref(), Some("HIER_NONE"));
        assert_eq!(rejects[0].location.line, Some(4));
        assert!(rejects[1].reason.to_string().contains("timestamp"));
    }

    /// Reads `text` one event at a time into one reused slot.
    fn read_into(text: &str) -> (Vec<Event>, Vec<String>, picket_event::SourceStats) {
        let options = crate::OpenOptions {
            format: Some(Format::Squid),
            ..crate::OpenOptions::default()
        };
        let input = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        let mut reader = crate::open_reader(input, "input", &options).unwrap();
        let mut slot = Event::from(HttpEvent::default());
        let (mut events, mut rejects) = (Vec::new(), Vec::new());
        while let Some(item) = reader.next_into(&mut slot) {
            match item {
                Ok(()) => events.push(slot.clone()),
                Err(rejection) => rejects.push(rejection.to_string()),
            }
        }
        (events, rejects, reader.stats())
    }

    #[test]
    fn reused_slot_gives_the_same_events() {
        let text = "\
1677971737.789  123 2001:db8::1 TCP_MISS/404 1024 GET http://Example.com/missing.html?a=b admin HIER_DIRECT/93.184.216.34 text/html;charset=UTF-8
# a comment
1677971734.080  1234 1.2.3.4 TCP_TUNNEL/200 39 CONNECT domain.xyz:443 - HIER_DIRECT/1.2.3.4  -
1677971738.012x  456 172.16.0.1 TCP_DENIED/403 256 POST http://example.com/api/data - HIER_NONE/- -

1677971738.012  456 172.16.0.1 TCP_DENIED/407 256 POST http://example.com/api/data - HIER_NONE/- -
1677971739.000  1 10.0.0.1 NONE/000 0 - - bob HIER_NONE/- -
1677971739.500  1 10.0.0.1 TCP_MISS/200 5 GET /origin/form?q bob HIER_DIRECT/10.0.0.9 image/PNG
short line
1677971740.000  1 client-name TCP_MISS/200 5 GET http://a.example - FIRSTUP_PARENT/proxy.local -
";
        let (events, rejects, stats) = parse_all(Format::Squid, text.as_bytes());
        let (reused, reused_rejects, reused_stats) = read_into(text);
        assert_eq!(events.len(), 6);
        assert_eq!(reused, events);
        let rejects: Vec<String> = rejects.iter().map(ToString::to_string).collect();
        assert_eq!(reused_rejects, rejects);
        assert_eq!(reused_stats, stats);
    }

    #[test]
    fn combined_lines() {
        let text = r#"10.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] "GET http://Evil.example/a.jar HTTP/1.1" 200 2326 "-" "Java/1.6.0_26" TCP_MISS:HIER_DIRECT
10.0.0.2 - - [10/Oct/2000:13:55:36 +0000] "CONNECT mail.example:443 HTTP/1.1" 200 0 "-" "say \"hi\""
10.0.0.2 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200
"#;
        let (events, rejects, _) = parse_all(Format::SquidCombined, text.as_bytes());
        assert_eq!((events.len(), rejects.len()), (2, 1));
        let Event::Http(e) = &events[0] else { panic!() };
        assert_eq!(e.timestamp.to_string(), "2000-10-10T20:55:36Z");
        assert_eq!(e.host.as_deref(), Some("evil.example"));
        assert_eq!(e.user_agent.as_deref(), Some("Java/1.6.0_26"));
        assert_eq!(e.referrer, None);
        assert_eq!(e.version.as_deref(), Some("1.1"));
        assert_eq!(e.proxy_hierarchy.as_deref(), Some("HIER_DIRECT"));
        let Event::Http(e) = &events[1] else { panic!() };
        assert_eq!(e.user_agent.as_deref(), Some(r#"say \"hi\""#));
        assert_eq!(e.port, Some(443));
    }
}
