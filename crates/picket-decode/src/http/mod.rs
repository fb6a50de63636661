//! HTTP/1.x over a reassembled TCP connection: requests and responses paired
//! in order into [`HttpEvent`]s.
//!
//! Each direction runs a small state machine (head, body, resync after a
//! gap, tunnel after `CONNECT`). Requests wait in a queue for their
//! responses; a transaction is emitted when both halves are done, so
//! pipelined requests, `100 Continue` and HTTP/0.9 pair as on the wire.

pub mod body;
pub mod head;
mod inflate;

use std::collections::VecDeque;

use picket_event::{Anomaly, Event, HttpEvent, TlsEvent};

use crate::context::{Ctx, Endpoint};
use crate::tls::{ClientHelloReader, Hello};
use body::{BodyLimits, BodyReader, ChunkState, Coding, Framing, Progress};
use head::{Head, StartLine};

/// State of one direction's parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a start line and headers.
    Head,
    /// Reading a body.
    Body,
    /// Lost track (gap, garbage): skipping until data starts a new message.
    Seek,
    /// After CONNECT or an upgrade: not HTTP any more.
    Tunnel,
}

/// One direction of the connection.
#[derive(Debug)]
struct Half {
    state: State,
    /// Partial head carried over from earlier segments.
    head: Vec<u8>,
    body: Option<BodyReader>,
}

impl Half {
    fn new() -> Self {
        Half {
            state: State::Head,
            head: Vec::new(),
            body: None,
        }
    }
}

/// A request and, once it arrives, its response.
#[derive(Debug)]
struct Transaction {
    event: HttpEvent,
    request_done: bool,
    response_started: bool,
    response_done: bool,
    /// The response has no body whatever its headers declare (HEAD).
    head_request: bool,
    connect: bool,
    /// HTTP/0.9: the response is a bare body up to the close.
    http09: bool,
}

/// Result of taking a head from the stream.
enum HeadStep {
    /// The head is not complete yet; all data was kept.
    Need,
    /// The head is longer than the limit.
    TooLarge,
    /// The head ends `used` bytes into the data; it is in the half's buffer
    /// when `buffered`, else at the start of the data.
    Done { used: usize, buffered: bool },
}

/// The HTTP state of one TCP connection.
#[derive(Debug)]
pub struct HttpConn {
    client: Endpoint,
    server: Endpoint,
    requests: Half,
    responses: Half,
    pending: VecDeque<Transaction>,
    /// Anomalies seen before the transaction they belong to exists.
    carry: Vec<Anomaly>,
    /// TLS inside a CONNECT tunnel.
    tunnel_hello: Option<ClientHelloReader>,
    /// Whether the client sent anything through the tunnel yet.
    tunnel_used: bool,
}

impl HttpConn {
    /// Creates the state of a connection between `client` and `server`.
    pub fn new(client: Endpoint, server: Endpoint) -> Self {
        HttpConn {
            client,
            server,
            requests: Half::new(),
            responses: Half::new(),
            pending: VecDeque::new(),
            carry: Vec::new(),
            tunnel_hello: None,
            tunnel_used: false,
        }
    }

    /// Notes a reassembly anomaly on the transaction in progress.
    pub fn anomaly(&mut self, anomaly: Anomaly) {
        let target = self.pending.iter_mut().rev().find(|t| !t.response_done);
        let list = match target {
            Some(t) => &mut t.event.anomalies,
            None => &mut self.carry,
        };
        if !list.contains(&anomaly) {
            list.push(anomaly);
        }
    }

    /// Bytes sent by the client.
    pub fn client_data(&mut self, mut data: &[u8], ctx: &mut Ctx<'_>) {
        while !data.is_empty() {
            match self.requests.state {
                State::Tunnel => {
                    self.tunnel_data(data, ctx);
                    return;
                }
                State::Seek => {
                    if !head::looks_like_request(data) {
                        return;
                    }
                    self.requests.state = State::Head;
                }
                State::Head => {
                    if self.requests.head.is_empty() {
                        // Empty lines before a request line are ignored
                        // (RFC 9112 section 2.2).
                        let blank = data
                            .iter()
                            .take_while(|b| matches!(b, b'\r' | b'\n'))
                            .count();
                        data = &data[blank..];
                        if data.is_empty() {
                            return;
                        }
                    }
                    let step = take_head(
                        &mut self.requests,
                        data,
                        ctx.config.max_http_head_bytes,
                        true,
                    );
                    match step {
                        HeadStep::Need => return,
                        HeadStep::TooLarge => {
                            self.lost(true, Anomaly::HttpMalformedHeader);
                            return;
                        }
                        HeadStep::Done { used, buffered } => {
                            let (parsed, wire) = if buffered {
                                let parsed = head::parse_request(&self.requests.head);
                                let wire = self.requests.head.len();
                                self.requests.head.clear();
                                (parsed, wire)
                            } else {
                                (head::parse_request(&data[..used]), used)
                            };
                            self.start_request(parsed, wire as u64, ctx);
                            data = &data[used..];
                        }
                    }
                }
                State::Body => {
                    let Some(body) = self.requests.body.as_mut() else {
                        self.requests.state = State::Head;
                        continue;
                    };
                    match body.feed(data) {
                        Progress::NeedMore => return,
                        Progress::Done(n) => {
                            self.finish_request_body(true, ctx);
                            data = &data[n..];
                        }
                    }
                }
            }
        }
    }

    /// Bytes sent by the server.
    pub fn server_data(&mut self, mut data: &[u8], ctx: &mut Ctx<'_>) {
        while !data.is_empty() {
            match self.responses.state {
                State::Tunnel => return,
                State::Seek => {
                    if !head::looks_like_response(data) {
                        return;
                    }
                    self.responses.state = State::Head;
                }
                State::Head => {
                    if self.responses.head.is_empty() && !head::looks_like_response(data) {
                        // An HTTP/0.9 response is a bare body, so anything else is noise.
                        if let Some(t) = self.pending.iter_mut().find(|t| !t.response_started)
                            && t.http09
                        {
                            t.response_started = true;
                            let limits = body_limits(ctx);
                            self.responses.body = Some(BodyReader::new(
                                Framing::Close,
                                Coding::Identity,
                                true,
                                limits,
                            ));
                            self.responses.state = State::Body;
                            continue;
                        }
                        self.lost(false, Anomaly::HttpMalformedStartLine);
                        return;
                    }
                    let step = take_head(
                        &mut self.responses,
                        data,
                        ctx.config.max_http_head_bytes,
                        false,
                    );
                    match step {
                        HeadStep::Need => return,
                        HeadStep::TooLarge => {
                            self.lost(false, Anomaly::HttpMalformedHeader);
                            return;
                        }
                        HeadStep::Done { used, buffered } => {
                            let (parsed, wire) = if buffered {
                                let parsed = head::parse_response(&self.responses.head);
                                let wire = self.responses.head.len();
                                self.responses.head.clear();
                                (parsed, wire)
                            } else {
                                (head::parse_response(&data[..used]), used)
                            };
                            self.start_response(parsed, wire as u64, ctx);
                            data = &data[used..];
                        }
                    }
                }
                State::Body => {
                    let Some(body) = self.responses.body.as_mut() else {
                        self.responses.state = State::Head;
                        continue;
                    };
                    match body.feed(data) {
                        Progress::NeedMore => return,
                        Progress::Done(n) => {
                            self.finish_response_body(true, ctx);
                            data = &data[n..];
                        }
                    }
                }
            }
        }
    }

    /// Bytes missing from one direction.
    pub fn gap(&mut self, from_client: bool, n: u64, ctx: &mut Ctx<'_>) {
        self.anomaly(Anomaly::TcpGap);
        let half = if from_client {
            &mut self.requests
        } else {
            &mut self.responses
        };
        match half.state {
            State::Head => {
                half.head.clear();
                half.state = State::Seek;
            }
            State::Body => {
                let past_end = half.body.as_mut().and_then(|b| b.gap(n));
                let ended = match (past_end, half.body.as_ref()) {
                    (Some(0), Some(body)) => body.length_done(),
                    _ => true,
                };
                if ended {
                    if from_client {
                        self.finish_request_body(past_end.is_some(), ctx);
                    } else {
                        self.finish_response_body(past_end.is_some(), ctx);
                    }
                    let half = if from_client {
                        &mut self.requests
                    } else {
                        &mut self.responses
                    };
                    if past_end != Some(0) {
                        half.state = State::Seek;
                    }
                }
            }
            State::Seek | State::Tunnel => {}
        }
    }

    /// Ends one direction (FIN), which completes a close-delimited response.
    pub fn end_of_stream(&mut self, from_client: bool, ctx: &mut Ctx<'_>) {
        if !from_client && self.responses.state == State::Body {
            let complete = self
                .responses
                .body
                .as_ref()
                .is_some_and(BodyReader::close_delimited);
            self.finish_response_body(complete, ctx);
        }
    }

    /// The connection is over: finish what is open and emit every
    /// transaction still waiting, with or without its response.
    pub fn close(&mut self, ctx: &mut Ctx<'_>) {
        if self.requests.state == State::Body {
            self.finish_request_body(false, ctx);
        }
        if self.responses.state == State::Body {
            let complete = self
                .responses
                .body
                .as_ref()
                .is_some_and(BodyReader::close_delimited);
            self.finish_response_body(complete, ctx);
        }
        if let Some(reader) = self.tunnel_hello.as_mut()
            && reader.finish() == Hello::Malformed
        {
            self.emit_tls(None, vec![Anomaly::TlsMalformedClientHello], ctx);
        }
        while let Some(t) = self.pending.pop_front() {
            ctx.stats.http_transactions += 1;
            ctx.emit(Event::from(finish_event(t, ctx)));
        }
    }

    /// Gives up on one direction's current message after `anomaly`.
    fn lost(&mut self, from_client: bool, anomaly: Anomaly) {
        self.anomaly(anomaly);
        let half = if from_client {
            &mut self.requests
        } else {
            &mut self.responses
        };
        half.head.clear();
        half.state = State::Seek;
    }

    fn start_request(&mut self, parsed: Head, wire: u64, ctx: &mut Ctx<'_>) {
        let Head {
            start,
            headers,
            mut anomalies,
        } = parsed;
        let StartLine::Request {
            method,
            target,
            version,
        } = start
        else {
            return;
        };

        let mut event = HttpEvent {
            timestamp: ctx.timestamp,
            location: ctx.location(),
            client_ip: Some(self.client.0),
            client_port: Some(self.client.1),
            server_ip: Some(self.server.0),
            server_port: Some(self.server.1),
            bytes_from_client: Some(wire),
            ..HttpEvent::default()
        };
        let is = |name: &str| {
            method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(name))
        };
        let connect = is("CONNECT");
        let head_request = is("HEAD");
        // A request line without a version is HTTP/0.9 (RFC 1945 section 4.1)
        // when nothing follows it; with headers after it, it is a broken 1.x
        // request.
        let http09 =
            version.is_none() && method.is_some() && wire_is_line_only(wire, &target, &method);
        fill_target(&mut event, &target, headers.host.as_deref(), connect);
        event.method = method;
        event.url = target;
        event.version = version.or_else(|| event.method.is_some().then(|| "0.9".to_owned()));
        event.user_agent = Some(headers.user_agent.clone().unwrap_or_default());
        event.referrer = headers.referer.clone();
        event.forwarded_for = headers.forwarded_for.clone();
        event.real_ip = headers.real_ip.clone();
        event.anomalies.append(&mut self.carry);
        event.anomalies.append(&mut anomalies);

        let framing = if http09 {
            Framing::None
        } else if headers.chunked {
            Framing::Chunked(ChunkState::Size(Vec::new()))
        } else {
            match headers.content_length {
                Some(Some(n)) => Framing::Length(n),
                _ => Framing::None,
            }
        };
        let reader = BodyReader::new(framing, Coding::Identity, false, body_limits(ctx));
        let empty = reader.is_empty_framing();

        self.pending.push_back(Transaction {
            event,
            request_done: empty,
            response_started: false,
            response_done: false,
            head_request,
            connect,
            http09,
        });
        if self.pending.len() > ctx.config.max_pending_requests
            && let Some(oldest) = self.pending.pop_front()
        {
            ctx.stats.http_transactions += 1;
            ctx.emit(Event::from(finish_event(oldest, ctx)));
        }
        if empty {
            self.requests.body = None;
            self.requests.state = State::Head;
        } else {
            self.requests.body = Some(reader);
            self.requests.state = State::Body;
        }
    }

    fn finish_request_body(&mut self, complete: bool, ctx: &mut Ctx<'_>) {
        self.requests.state = State::Head;
        let Some(reader) = self.requests.body.take() else {
            return;
        };
        let summary = reader.finish(complete);
        if let Some(t) = self.pending.iter_mut().rev().find(|t| !t.request_done) {
            t.request_done = true;
            t.event.request_body_len = Some(summary.transfer_len);
            *t.event.bytes_from_client.get_or_insert(0) += summary.wire_len;
            push_unique(&mut t.event.anomalies, summary.anomalies);
        }
        self.emit_ready(ctx);
    }

    fn start_response(&mut self, parsed: Head, wire: u64, ctx: &mut Ctx<'_>) {
        let Head {
            start,
            headers,
            anomalies,
        } = parsed;
        let StartLine::Response { version, status } = start else {
            return;
        };

        // Interim responses (100 Continue, 102, 103) precede the final one.
        if let Some(code @ 100..=199) = status
            && code != 101
        {
            if let Some(t) = self.pending.iter_mut().find(|t| !t.response_started) {
                *t.event.bytes_to_client.get_or_insert(0) += wire;
            }
            return;
        }

        let index = match self.pending.iter().position(|t| !t.response_started) {
            Some(i) => i,
            None => {
                // A response to a request never seen (capture began late).
                let event = HttpEvent {
                    timestamp: ctx.timestamp,
                    location: ctx.location(),
                    client_ip: Some(self.client.0),
                    client_port: Some(self.client.1),
                    server_ip: Some(self.server.0),
                    server_port: Some(self.server.1),
                    version: version.clone(),
                    anomalies: vec![Anomaly::HttpUnpairedResponse],
                    ..HttpEvent::default()
                };
                self.pending.push_back(Transaction {
                    event,
                    request_done: true,
                    response_started: false,
                    response_done: false,
                    head_request: false,
                    connect: false,
                    http09: false,
                });
                self.pending.len() - 1
            }
        };
        let Some(t) = self.pending.get_mut(index) else {
            return;
        };
        t.response_started = true;
        let event = &mut t.event;
        event.status = status;
        *event.bytes_to_client.get_or_insert(0) += wire;
        event.content_type = headers.content_type.as_deref().map(mime_type);
        event.location_header = headers.location.clone();
        event.server_header = headers.server.clone();
        event.file_name = headers
            .content_disposition
            .as_deref()
            .and_then(head::disposition_filename);
        push_unique(&mut event.anomalies, anomalies);
        event.anomalies.append(&mut self.carry);

        let code = status.unwrap_or(0);
        let tunnel = (t.connect && (200..300).contains(&code)) || code == 101;
        let no_body = t.head_request || code == 204 || code == 304 || tunnel;
        let framing = if no_body {
            Framing::None
        } else if headers.chunked {
            Framing::Chunked(ChunkState::Size(Vec::new()))
        } else {
            match headers.content_length {
                Some(Some(n)) => Framing::Length(n),
                _ => Framing::Close,
            }
        };
        let coding = headers
            .content_encoding
            .as_deref()
            .map_or(Coding::Identity, Coding::from_header);
        let reader = BodyReader::new(framing, coding, true, body_limits(ctx));

        if tunnel {
            self.requests.state = State::Tunnel;
            self.responses.state = State::Tunnel;
            self.tunnel_hello = Some(ClientHelloReader::default());
            t.response_done = true;
            t.event.response_body_len = Some(0);
            self.emit_ready(ctx);
        } else if reader.is_empty_framing() {
            t.response_done = true;
            t.event.response_body_len = Some(0);
            self.responses.state = State::Head;
            self.emit_ready(ctx);
        } else {
            self.responses.body = Some(reader);
            self.responses.state = State::Body;
        }
    }

    fn finish_response_body(&mut self, complete: bool, ctx: &mut Ctx<'_>) {
        self.responses.state = State::Head;
        let Some(reader) = self.responses.body.take() else {
            return;
        };
        let summary = reader.finish(complete);
        if let Some(t) = self
            .pending
            .iter_mut()
            .find(|t| t.response_started && !t.response_done)
        {
            t.response_done = true;
            t.event.response_body_len = Some(summary.decoded_len);
            *t.event.bytes_to_client.get_or_insert(0) += summary.wire_len;
            t.event.body = summary.info;
            push_unique(&mut t.event.anomalies, summary.anomalies);
        }
        self.emit_ready(ctx);
    }

    /// Emits finished transactions from the front of the queue.
    fn emit_ready(&mut self, ctx: &mut Ctx<'_>) {
        while self
            .pending
            .front()
            .is_some_and(|t| t.response_done && t.request_done)
        {
            if let Some(t) = self.pending.pop_front() {
                ctx.stats.http_transactions += 1;
                ctx.emit(Event::from(finish_event(t, ctx)));
            }
        }
    }

    fn tunnel_data(&mut self, data: &[u8], ctx: &mut Ctx<'_>) {
        let Some(reader) = self.tunnel_hello.as_mut() else {
            return;
        };
        if !self.tunnel_used && looks_like_versioned_request(data) {
            // Plain HTTP through the tunnel (a forward proxy's CONNECT to
            // port 80): parse it as the connection's next transactions.
            self.tunnel_hello = None;
            self.requests.state = State::Head;
            self.responses.state = State::Head;
            self.client_data(data, ctx);
            return;
        }
        self.tunnel_used = true;
        if reader.done() {
            return;
        }
        match reader.feed(data, ctx.config.max_client_hello_bytes) {
            Hello::ServerName(name) => self.emit_tls(name, Vec::new(), ctx),
            Hello::Malformed => self.emit_tls(None, vec![Anomaly::TlsMalformedClientHello], ctx),
            Hello::NeedMore | Hello::NotTls => {}
        }
    }

    fn emit_tls(
        &mut self,
        server_name: Option<String>,
        anomalies: Vec<Anomaly>,
        ctx: &mut Ctx<'_>,
    ) {
        ctx.stats.tls_client_hellos += 1;
        let event = TlsEvent {
            timestamp: ctx.timestamp,
            location: ctx.location(),
            client_ip: Some(self.client.0),
            client_port: Some(self.client.1),
            server_ip: Some(self.server.0),
            server_port: Some(self.server.1),
            server_name,
            anomalies,
        };
        ctx.emit(Event::Tls(event));
    }
}

/// Takes a head from `data` (plus what the half already holds).
fn take_head(half: &mut Half, data: &[u8], max: usize, request: bool) -> HeadStep {
    let held = half.head.len();
    if held == 0
        && let Some(end) = head_end(data, 0, request)
    {
        return HeadStep::Done {
            used: end,
            buffered: false,
        };
    }

    let room = max.saturating_add(1).saturating_sub(held);
    let take = data.len().min(room);
    half.head.extend_from_slice(&data[..take]);
    if let Some(end) = head_end(&half.head, held.saturating_sub(3), request) {
        half.head.truncate(end);
        return HeadStep::Done {
            used: end - held,
            buffered: true,
        };
    }
    if half.head.len() > max {
        return HeadStep::TooLarge;
    }
    HeadStep::Need
}

/// The end of a head; a request line without a version (HTTP/0.9) is a
/// head on its own.
fn head_end(data: &[u8], from: usize, request: bool) -> Option<usize> {
    if request && let Some(nl) = memchr::memchr(b'\n', data) {
        let line = data[..nl].strip_suffix(b"\r").unwrap_or(&data[..nl]);
        let last = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
        let versionless = !head::looks_like_response(last) || !line.contains(&b' ');
        if versionless && !starts_with_header_line(&data[nl + 1..]) {
            return Some(nl + 1);
        }
    }
    head::find_head_end(data, from)
}

/// Reports whether `data` starts with a whole request line that names an HTTP
/// version: stricter than [`head::looks_like_request`], for tunnels, where
/// other protocols' commands ("HELO host") look like methods.
fn looks_like_versioned_request(data: &[u8]) -> bool {
    let Some(nl) = memchr::memchr(b'\n', data) else {
        return false;
    };
    let line = data[..nl].strip_suffix(b"\r").unwrap_or(&data[..nl]);
    let last = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    head::looks_like_request(data) && head::looks_like_response(last)
}

/// Reports whether `data` starts with a `Name: value` header line.
fn starts_with_header_line(data: &[u8]) -> bool {
    let line_end = memchr::memchr(b'\n', data).unwrap_or(data.len());
    let line = &data[..line_end];
    memchr::memchr(b':', line).is_some_and(|colon| colon > 0 && !line[..colon].contains(&b' '))
}

/// Reports whether a request head of `wire` bytes was its request line alone.
fn wire_is_line_only(wire: u64, target: &str, method: &Option<String>) -> bool {
    let line = method.as_deref().map_or(0, str::len) + 1 + target.len();
    wire <= line as u64 + 2
}

fn body_limits(ctx: &Ctx<'_>) -> BodyLimits {
    BodyLimits {
        max_hash: ctx.config.max_body_hash_bytes,
        max_decompressed: ctx.config.max_decompressed_bytes,
    }
}

fn push_unique(list: &mut Vec<Anomaly>, more: Vec<Anomaly>) {
    for a in more {
        if !list.contains(&a) {
            list.push(a);
        }
    }
}

/// Marks what never arrived and returns the event.
fn finish_event(t: Transaction, ctx: &Ctx<'_>) -> HttpEvent {
    let mut event = t.event;
    if !t.request_done {
        push_unique(&mut event.anomalies, vec![Anomaly::HttpIncompleteBody]);
    }
    if t.response_started
        && !t.response_done
        && !event.anomalies.contains(&Anomaly::HttpIncompleteBody)
    {
        event.anomalies.push(Anomaly::HttpIncompleteBody);
    }
    event.location = ctx.location();
    event
}

/// Returns a Content-Type value without parameters, in lower case.
fn mime_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Fills scheme, host, port, path and query from the request target and
/// the Host header.
fn fill_target(event: &mut HttpEvent, target: &str, host_header: Option<&str>, connect: bool) {
    if connect {
        // The target is an authority (RFC 9110 section 9.3.6); a target that
        // is not one leaves the Host header to name the server.
        let authority = target.split_whitespace().next().unwrap_or("");
        let authority = if authority.is_empty() || authority.contains('/') {
            host_header.unwrap_or("")
        } else {
            authority
        };
        let (host, port) = split_host_port(authority);
        event.host = host;
        event.port = port;
        return;
    }

    let lower = target
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let absolute = ["http://", "https://", "ftp://"]
        .iter()
        .find(|scheme| lower.starts_with(*scheme));
    let path_part = if let Some(scheme) = absolute {
        let rest = &target[scheme.len()..];
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (host, port) = split_host_port(&rest[..end]);
        event.scheme = Some(scheme.trim_end_matches("://").to_owned());
        event.host = host;
        event.port = port;
        &rest[end..]
    } else {
        event.scheme = Some("http".to_owned());
        if let Some(value) = host_header {
            let (host, port) = split_host_port(value);
            event.host = host;
            event.port = port;
        }
        target
    };

    if path_part.starts_with('/') {
        let path_part = path_part.split('#').next().unwrap_or(path_part);
        match path_part.split_once('?') {
            Some((path, query)) => {
                event.path = Some(path.to_owned());
                event.query = Some(query.to_owned());
            }
            None => event.path = Some(path_part.to_owned()),
        }
    }
}

/// Splits `host[:port]` or `[v6]:port`; the host comes back normalised.
fn split_host_port(authority: &str) -> (Option<String>, Option<u16>) {
    let authority = authority.trim();
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => (rest, None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (authority, None),
        }
    };
    let host = picket_event::dns::normalize_name(host);
    let port = port.and_then(|p| p.parse().ok());
    ((!host.is_empty()).then_some(host), port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_limit_of_usize_max_keeps_partial_head() {
        let mut half = Half::new();
        let step = take_head(&mut half, b"GET / HTTP/1.1\r\nHost: a", usize::MAX, true);

        assert!(matches!(step, HeadStep::Need));
        assert_eq!(half.head, b"GET / HTTP/1.1\r\nHost: a");
    }

    #[test]
    fn host_and_port() {
        assert_eq!(
            split_host_port("Example.COM:8080"),
            (Some("example.com".into()), Some(8080))
        );
        assert_eq!(split_host_port("[::1]:80"), (Some("::1".into()), Some(80)));
        assert_eq!(split_host_port("a.b."), (Some("a.b".into()), None));
    }

    #[test]
    fn absolute_target() {
        let mut e = HttpEvent::default();
        fill_target(
            &mut e,
            "http://Proxy.Example:3128/a/b?c=d#frag",
            Some("ignored"),
            false,
        );
        assert_eq!(e.host.as_deref(), Some("proxy.example"));
        assert_eq!(e.port, Some(3128));
        assert_eq!(e.path.as_deref(), Some("/a/b"));
        assert_eq!(e.query.as_deref(), Some("c=d"));
    }
}
