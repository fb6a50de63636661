//! HTTP/1.x message heads (RFC 9112 sections 3, 4 and 5): httparse for
//! well-formed heads, a lenient line parser for what it refuses.

use picket_event::Anomaly;

/// Headers the decoder keeps, by their meaning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    /// `Host`.
    pub host: Option<String>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// `Referer`.
    pub referer: Option<String>,
    /// `Content-Type`, as sent.
    pub content_type: Option<String>,
    /// `X-Forwarded-For`.
    pub forwarded_for: Option<String>,
    /// `X-Real-IP`.
    pub real_ip: Option<String>,
    /// `Location`.
    pub location: Option<String>,
    /// `Server`.
    pub server: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Length`, when it parses; `Some(None)` when present but invalid.
    pub content_length: Option<Option<u64>>,
    /// `Transfer-Encoding` ends in `chunked`.
    pub chunked: bool,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
}

impl Headers {
    fn set(&mut self, name: &[u8], value: &[u8]) {
        let text = || String::from_utf8_lossy(value).trim().to_owned();
        let slot = match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => &mut self.host,
            6 if name.eq_ignore_ascii_case(b"server") => &mut self.server,
            7 if name.eq_ignore_ascii_case(b"referer") => &mut self.referer,
            8 if name.eq_ignore_ascii_case(b"location") => &mut self.location,
            9 if name.eq_ignore_ascii_case(b"x-real-ip") => &mut self.real_ip,
            10 if name.eq_ignore_ascii_case(b"user-agent") => &mut self.user_agent,
            12 if name.eq_ignore_ascii_case(b"content-type") => &mut self.content_type,
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                let parsed = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse().ok());
                if self.content_length.is_none() {
                    self.content_length = Some(parsed);
                }
                return;
            }
            15 if name.eq_ignore_ascii_case(b"x-forwarded-for") => &mut self.forwarded_for,
            16 if name.eq_ignore_ascii_case(b"content-encoding") => &mut self.content_encoding,
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                let last = value
                    .rsplit(|&b| b == b',')
                    .next()
                    .unwrap_or(b"")
                    .trim_ascii();
                self.chunked = last.eq_ignore_ascii_case(b"chunked");
                return;
            }
            19 if name.eq_ignore_ascii_case(b"content-disposition") => {
                &mut self.content_disposition
            }
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(text());
        }
    }
}

/// The first line of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// A request line.
    Request {
        /// Method, as sent; `None` when the request line is not one.
        method: Option<String>,
        /// Request target, as sent (may be empty).
        target: String,
        /// Version such as `1.1`; `None` when the line has none (HTTP/0.9
        /// or malformed).
        version: Option<String>,
    },
    /// A status line.
    Response {
        /// Version such as `1.1`.
        version: Option<String>,
        /// Status code, when it parses.
        status: Option<u16>,
    },
}

/// A parsed head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The start line.
    pub start: StartLine,
    /// The headers kept.
    pub headers: Headers,
    /// Defects found in it.
    pub anomalies: Vec<Anomaly>,
}

/// Most headers httparse is given room for; heads with more go to the
/// lenient parser.
const MAX_HEADERS: usize = 96;

/// Whether the line `data` starts looks like a request line: a method token
/// followed by a space.
pub fn looks_like_request(data: &[u8]) -> bool {
    let token_end = data
        .iter()
        .position(|b| !is_token(*b))
        .unwrap_or(data.len());
    token_end > 0
        && token_end <= 24
        && data.get(token_end).is_some_and(|b| *b == b' ')
        && data[..token_end]
            .iter()
            .all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_')
}

/// Reports whether `data` starts like a status line.
pub fn looks_like_response(data: &[u8]) -> bool {
    data.len() >= 5 && data[..5].eq_ignore_ascii_case(b"HTTP/")
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn version_text(minor: u8) -> String {
    format!("1.{minor}")
}

/// Parses a request head (start line and headers, up to and including the
/// empty line, or the request line alone for HTTP/0.9).
pub fn parse_request(head: &[u8]) -> Head {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    if let Ok(httparse::Status::Complete(_)) = req.parse(head) {
        let mut headers = Headers::default();
        for h in req.headers.iter() {
            headers.set(h.name.as_bytes(), h.value);
        }
        let mut anomalies = Vec::new();
        if req.headers.iter().any(|h| has_control(h.value)) {
            anomalies.push(Anomaly::HttpNonPrintableHeader);
        }
        return Head {
            start: StartLine::Request {
                method: req.method.map(str::to_owned),
                target: req.path.unwrap_or_default().to_owned(),
                version: req.version.map(version_text),
            },
            headers,
            anomalies,
        };
    }
    lenient(head, true)
}

/// Parses a response head.
pub fn parse_response(head: &[u8]) -> Head {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    if let Ok(httparse::Status::Complete(_)) = resp.parse(head) {
        let mut headers = Headers::default();
        for h in resp.headers.iter() {
            headers.set(h.name.as_bytes(), h.value);
        }
        let mut anomalies = Vec::new();
        if resp.headers.iter().any(|h| has_control(h.value)) {
            anomalies.push(Anomaly::HttpNonPrintableHeader);
        }
        return Head {
            start: StartLine::Response {
                version: resp.version.map(version_text),
                status: resp.code,
            },
            headers,
            anomalies,
        };
    }
    lenient(head, false)
}

/// Bytes that have no business in a header: controls other than tab.
fn has_control(value: &[u8]) -> bool {
    value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

/// Parses a head line by line, accepting what httparse rejects and noting why.
fn lenient(head: &[u8], request: bool) -> Head {
    let mut anomalies = Vec::new();
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or_default();

    let start = if request {
        parse_request_line(first, &mut anomalies)
    } else {
        parse_status_line(first, &mut anomalies)
    };

    let mut headers = Headers::default();
    let mut nonprintable = false;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // obs-fold continuation (RFC 9112 section 5.2): dropped.
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            anomalies.push(Anomaly::HttpMalformedHeader);
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if has_control(name) || has_control(value) || name.iter().any(|b| !b.is_ascii_graphic()) {
            nonprintable = true;
        }
        headers.set(name.trim_ascii(), value);
    }
    if nonprintable {
        anomalies.push(Anomaly::HttpNonPrintableHeader);
    }
    anomalies.dedup();
    Head {
        start,
        headers,
        anomalies,
    }
}

fn parse_request_line(line: &[u8], anomalies: &mut Vec<Anomaly>) -> StartLine {
    let text = String::from_utf8_lossy(line);
    let parts: Vec<&str> = text.split(' ').collect();
    let method = parts.first().copied().unwrap_or_default().to_owned();
    let valid_method = !method.is_empty() && method.bytes().all(is_token);
    if !valid_method {
        // Not a request line at all ("OPTIONSHTTP/1.1"): nothing in it is
        // trustworthy, the headers that follow still are.
        anomalies.push(Anomaly::HttpMalformedStartLine);
        return StartLine::Request {
            method: None,
            target: String::new(),
            version: None,
        };
    }

    let last = parts.last().copied().unwrap_or_default();
    let (target, version) = if parts.len() >= 2 && looks_like_response(last.as_bytes()) {
        (
            parts[1..parts.len() - 1].join(" "),
            Some(last[5..].to_owned()),
        )
    } else {
        anomalies.push(Anomaly::HttpMissingVersion);
        (
            parts.get(1..).map(|p| p.join(" ")).unwrap_or_default(),
            None,
        )
    };
    StartLine::Request {
        method: Some(method),
        target,
        version,
    }
}

fn parse_status_line(line: &[u8], anomalies: &mut Vec<Anomaly>) -> StartLine {
    let text = String::from_utf8_lossy(line);
    let mut parts = text.split_ascii_whitespace();
    let version = parts
        .next()
        .filter(|v| looks_like_response(v.as_bytes()))
        .map(|v| v[5..].to_owned());
    let status = parts.next().and_then(|s| s.parse().ok());
    if version.is_none() || status.is_none() {
        anomalies.push(Anomaly::HttpMalformedStartLine);
    }
    StartLine::Response { version, status }
}

/// Finds the end of a head in `data`: the index just past the empty line that
/// ends it (CRLF CRLF, or bare LFs), searching from `from`.
pub fn find_head_end(data: &[u8], from: usize) -> Option<usize> {
    let mut search = from;
    while let Some(nl) = memchr::memchr(b'\n', data.get(search..)?) {
        let at = search + nl;
        match data.get(at + 1..at + 3) {
            Some([b'\n', _]) => return Some(at + 2),
            Some([b'\r', b'\n']) => return Some(at + 3),
            None if data.get(at + 1) == Some(&b'\n') => return Some(at + 2),
            _ => {}
        }
        search = at + 1;
    }
    None
}

/// Extracts the file name of a `Content-Disposition` value (RFC 6266), preferring
/// the RFC 8187 `filename*` form.
pub fn disposition_filename(value: &str) -> Option<String> {
    let mut plain = None;
    for param in value.split(';').skip(1) {
        let Some((key, val)) = param.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let val = val.trim();
        if key.eq_ignore_ascii_case("filename*") {
            let encoded = val.split_once("''").map_or(val, |(_, v)| v);
            return Some(percent_decode(encoded));
        }
        if key.eq_ignore_ascii_case("filename") {
            let unquoted = val
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(val);
            plain = Some(unquoted.to_owned());
        }
    }
    plain.filter(|name| !name.is_empty())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_request() {
        let head = parse_request(b"GET /a?b=1 HTTP/1.1\r\nHost: Example.com\r\nUser-Agent: x\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(
            head.start,
            StartLine::Request {
                method: Some("GET".into()),
                target: "/a?b=1".into(),
                version: Some("1.1".into())
            }
        );
        assert_eq!(head.headers.host.as_deref(), Some("Example.com"));
        assert_eq!(head.headers.content_length, Some(Some(5)));
        assert!(head.anomalies.is_empty());
    }

    #[test]
    fn http09_and_odd_targets() {
        let head = parse_request(b"GET /x\r\n");
        assert_eq!(
            head.start,
            StartLine::Request {
                method: Some("GET".into()),
                target: "/x".into(),
                version: None
            }
        );
        assert_eq!(head.anomalies, vec![Anomaly::HttpMissingVersion]);

        let head = parse_request(b"CONNECT host:25 / HTTP/1.0\r\n\r\n");
        assert_eq!(
            head.start,
            StartLine::Request {
                method: Some("CONNECT".into()),
                target: "host:25 /".into(),
                version: Some("1.0".into())
            }
        );
    }

    #[test]
    fn nonprintable_header_is_flagged_and_kept() {
        let head = parse_request(b"GET / HTTP/1.1\r\nHost: a\x01b\r\nUser\x02Agent: y\r\n\r\n");
        assert!(head.anomalies.contains(&Anomaly::HttpNonPrintableHeader));
        assert_eq!(head.headers.host.as_deref(), Some("a\u{1}b"));
    }

    #[test]
    fn head_end() {
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody", 0),
            Some(24)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.0\n\nbody", 0), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.0\r\nA: b\r\n", 0), None);
    }

    #[test]
    fn disposition() {
        assert_eq!(
            disposition_filename("attachment; filename=\"test.json\"").as_deref(),
            Some("test.json")
        );
        assert_eq!(
            disposition_filename("attachment; filename*=UTF-8''a%20b.exe").as_deref(),
            Some("a b.exe")
        );
        assert_eq!(disposition_filename("inline"), None);
    }
}
