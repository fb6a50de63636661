//! The TCP flow table: one entry per connection, its two reassembled
//! streams and the application parser chosen from its first bytes.

use std::net::IpAddr;

use hashbrown::HashMap;
use picket_event::dns::{DnsProtocol, Transport};
use picket_event::{Anomaly, Event, Timestamp, TlsEvent};

use crate::context::{Ctx, Endpoint, dns_protocol};
use crate::dns_tcp::DnsTcpFramer;
use crate::http::{HttpConn, head};
use crate::packet::TcpSegment;
use crate::tcp::{Budget, Chunk, Stream, StreamFlags};
use crate::tls::{ClientHelloReader, Hello, looks_like_tls};

/// A connection's key, the same for both directions: the lower endpoint first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FlowKey {
    low: Endpoint,
    high: Endpoint,
}

impl FlowKey {
    fn new(a: Endpoint, b: Endpoint) -> Self {
        if a <= b {
            FlowKey { low: a, high: b }
        } else {
            FlowKey { low: b, high: a }
        }
    }
}

/// Application protocol of a connection, chosen from its first bytes.
#[derive(Debug)]
enum App {
    /// No data yet.
    Undecided,
    /// HTTP/1.x.
    Http(Box<HttpConn>),
    /// TLS: the ClientHello is read for its server name.
    Tls(Box<ClientHelloReader>),
    /// DNS over TCP, one framer per direction.
    Dns(Box<[DnsTcpFramer; 2]>, DnsProtocol),
    /// Something else, or TLS after its ClientHello: not reassembled.
    Ignored,
}

/// One TCP connection.
#[derive(Debug)]
struct Flow {
    /// The sender of direction 0 and of direction 1; direction 0 is the
    /// client's as far as the first packets tell.
    ends: [Endpoint; 2],
    streams: [Stream; 2],
    /// Whether each direction's end was passed to the parser.
    ended: [bool; 2],
    app: App,
    last_seen: Timestamp,
}

/// Counts of TCP handling, for the run summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// Connections tracked.
    pub flows: u64,
    /// Connections closed by the idle timeout.
    pub idle_closed: u64,
    /// Connections closed early because the flow table was full.
    pub evicted: u64,
    /// Gaps (holes never filled), counted once per direction and hole.
    pub gaps: u64,
    /// Retransmitted or overlapping segments whose bytes differed.
    pub overlap_mismatches: u64,
    /// Times a memory limit dropped data or forced a gap.
    pub limit_hits: u64,
    /// Most bytes held out of order at once, over all flows.
    pub peak_buffered: u64,
}

/// All TCP connections being followed.
#[derive(Debug)]
pub struct FlowTable {
    flows: HashMap<FlowKey, Flow>,
    budget: Budget,
    stats: TcpStats,
    last_sweep: Timestamp,
}

impl FlowTable {
    /// Creates an empty table with these memory limits.
    pub fn new(max_total: usize, max_stream: usize) -> Self {
        FlowTable {
            flows: HashMap::new(),
            budget: Budget {
                held: 0,
                max_total,
                max_stream,
            },
            stats: TcpStats::default(),
            last_sweep: Timestamp::UNIX_EPOCH,
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> TcpStats {
        self.stats
    }

    /// Handles one TCP segment.
    pub fn segment(&mut self, src: IpAddr, dst: IpAddr, seg: &TcpSegment<'_>, ctx: &mut Ctx<'_>) {
        self.sweep(ctx);
        let from = (src, seg.src_port);
        let to = (dst, seg.dst_port);
        let key = FlowKey::new(from, to);

        if !self.flows.contains_key(&key) {
            if seg.rst || (seg.payload.is_empty() && !seg.syn) {
                // Nothing to follow: a reset or a bare ACK of an unknown connection.
                return;
            }
            if self.flows.len() >= ctx.config.max_flows {
                self.evict_oldest(ctx);
            }
            let client_first = if seg.syn {
                !seg.ack
            } else {
                looks_like_client(from.1, to.1)
            };
            let ends = if client_first { [from, to] } else { [to, from] };
            self.flows.insert(
                key,
                Flow {
                    ends,
                    streams: [Stream::default(), Stream::default()],
                    ended: [false; 2],
                    app: App::Undecided,
                    last_seen: ctx.timestamp,
                },
            );
            self.stats.flows += 1;
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        flow.last_seen = ctx.timestamp;
        let dir = usize::from(flow.ends[0] != from);

        if seg.syn {
            flow.streams[dir].syn(seg.seq);
        }
        if !matches!(flow.app, App::Ignored) {
            let Flow {
                ends, streams, app, ..
            } = flow;
            let ends = *ends;
            let [s0, s1] = streams;
            let (this, other) = if dir == 0 { (s0, s1) } else { (s1, s0) };
            let mut flags =
                this.segment(seg.seq, seg.payload, seg.fin, &mut self.budget, &mut |c| {
                    dispatch(app, ends, dir, c, ctx)
                });
            if seg.ack {
                let acked = other.acked(seg.ack_number, &mut self.budget, &mut |c| {
                    dispatch(app, ends, 1 - dir, c, ctx)
                });
                merge(&mut flags, acked);
            }
            note(&mut self.stats, flags, Some(app));
        } else if seg.fin {
            flow.streams[dir].segment(seg.seq, &[], true, &mut self.budget, &mut |_| {});
        }
        self.stats.peak_buffered = self.stats.peak_buffered.max(self.budget.held as u64);

        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        for d in 0..2 {
            if flow.streams[d].finished() && !flow.ended[d] {
                flow.ended[d] = true;
                if let App::Http(conn) = &mut flow.app {
                    conn.end_of_stream(d == 0, ctx);
                }
            }
        }
        if (seg.rst || (flow.ended[0] && flow.ended[1]))
            && let Some(flow) = self.flows.remove(&key)
        {
            self.close(flow, ctx);
        }
    }

    /// Closes every connection (end of input).
    pub fn close_all(&mut self, ctx: &mut Ctx<'_>) {
        let mut flows: Vec<Flow> = self.flows.drain().map(|(_, f)| f).collect();
        flows.sort_by_key(|f| f.last_seen);
        for flow in flows {
            self.close(flow, ctx);
        }
    }

    /// Flushes a connection's streams and its parser.
    fn close(&mut self, mut flow: Flow, ctx: &mut Ctx<'_>) {
        if !matches!(flow.app, App::Ignored) {
            let mut flags = StreamFlags::default();
            for d in 0..2 {
                let ends = flow.ends;
                let app = &mut flow.app;
                let mut f = |chunk: Chunk<'_>| dispatch(app, ends, d, chunk, ctx);
                merge(&mut flags, flow.streams[d].flush(&mut self.budget, &mut f));
            }
            note(&mut self.stats, flags, Some(&mut flow.app));
        }
        for stream in &mut flow.streams {
            stream.release(&mut self.budget);
        }
        match &mut flow.app {
            App::Http(conn) => conn.close(ctx),
            App::Tls(reader) => {
                let outcome = reader.finish();
                if outcome == Hello::Malformed {
                    emit_tls(flow.ends, None, vec![Anomaly::TlsMalformedClientHello], ctx);
                }
            }
            _ => {}
        }
    }

    /// Closes connections idle past the timeout, once per second of packet time.
    fn sweep(&mut self, ctx: &mut Ctx<'_>) {
        if ctx.timestamp.nanos_since(self.last_sweep) < 1_000_000_000 {
            return;
        }
        self.last_sweep = ctx.timestamp;
        let timeout = i64::try_from(ctx.config.flow_idle_timeout.as_nanos()).unwrap_or(i64::MAX);
        let now = ctx.timestamp;
        let idle: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(_, f)| now.nanos_since(f.last_seen) > timeout)
            .map(|(k, _)| *k)
            .collect();
        for key in idle {
            if let Some(flow) = self.flows.remove(&key) {
                self.stats.idle_closed += 1;
                self.close(flow, ctx);
            }
        }
    }

    fn evict_oldest(&mut self, ctx: &mut Ctx<'_>) {
        let oldest = self
            .flows
            .iter()
            .min_by_key(|(_, f)| f.last_seen)
            .map(|(k, _)| *k);
        if let Some(flow) = oldest.and_then(|k| self.flows.remove(&k)) {
            self.stats.evicted += 1;
            self.close(flow, ctx);
        }
    }
}

/// Counts stream flags and puts them on the connection's transaction.
fn note(stats: &mut TcpStats, flags: StreamFlags, app: Option<&mut App>) {
    if flags == StreamFlags::default() {
        return;
    }
    stats.gaps += u64::from(flags.gap);
    stats.overlap_mismatches += u64::from(flags.overlap_mismatch);
    stats.limit_hits += u64::from(flags.limit);
    if let Some(App::Http(conn)) = app {
        if flags.overlap_mismatch {
            conn.anomaly(Anomaly::TcpOverlapMismatch);
        }
        if flags.limit {
            conn.anomaly(Anomaly::TcpReassemblyLimit);
        }
    }
}

fn merge(into: &mut StreamFlags, other: StreamFlags) {
    into.gap |= other.gap;
    into.overlap_mismatch |= other.overlap_mismatch;
    into.limit |= other.limit;
}

/// Whether the sender of a segment from `src_port` to `dst_port` is the
/// client, when no SYN showed it: the side on a well-known or lower port
/// is the server.
fn looks_like_client(src_port: u16, dst_port: u16) -> bool {
    let known =
        |p: u16| p < 1024 || matches!(p, 3128 | 5353 | 5355 | 8000 | 8008 | 8080 | 8443 | 8888);
    match (known(src_port), known(dst_port)) {
        (false, true) => true,
        (true, false) => false,
        _ => src_port >= dst_port,
    }
}

/// Passes reassembled bytes of direction `dir` to the connection's parser,
/// choosing the parser on the first bytes.
fn dispatch(app: &mut App, ends: [Endpoint; 2], dir: usize, chunk: Chunk<'_>, ctx: &mut Ctx<'_>) {
    if let (App::Undecided, Chunk::Data(data)) = (&*app, chunk) {
        *app = choose(ends, dir, data);
    }
    match app {
        App::Undecided | App::Ignored => {}
        App::Http(conn) => match chunk {
            Chunk::Data(data) if dir == 0 => conn.client_data(data, ctx),
            Chunk::Data(data) => conn.server_data(data, ctx),
            Chunk::Gap(n) => conn.gap(dir == 0, n, ctx),
        },
        App::Tls(reader) => {
            if dir != 0 {
                return;
            }
            let outcome = match chunk {
                Chunk::Data(data) => reader.feed(data, ctx.config.max_client_hello_bytes),
                Chunk::Gap(_) => reader.finish(),
            };
            match outcome {
                Hello::NeedMore => {}
                Hello::ServerName(name) => {
                    emit_tls(ends, name, Vec::new(), ctx);
                    *app = App::Ignored;
                }
                Hello::Malformed => {
                    emit_tls(ends, None, vec![Anomaly::TlsMalformedClientHello], ctx);
                    *app = App::Ignored;
                }
                Hello::NotTls => *app = App::Ignored,
            }
        }
        App::Dns(framers, protocol) => {
            let protocol = *protocol;
            let framer = &mut framers[dir];
            let (src, dst) = (ends[dir], ends[1 - dir]);
            match chunk {
                Chunk::Data(data) => {
                    let max = ctx.config.max_dns_tcp_message_bytes;
                    framer.data(data, max, &mut |message| {
                        ctx.dns_message(message, src, dst, Transport::Tcp, protocol);
                    });
                }
                Chunk::Gap(_) => framer.gap(),
            }
        }
    }
}

/// Ports where a connection is taken as HTTP even when its first bytes are
/// not a well-formed request, so that malformed requests are still seen.
const HTTP_PORTS: [u16; 6] = [80, 3128, 8000, 8008, 8080, 8888];

/// Chooses the parser from the first bytes seen in direction `dir`.
fn choose(ends: [Endpoint; 2], dir: usize, data: &[u8]) -> App {
    let server_port = ends[1].1;
    if let Some(protocol) = dns_protocol(server_port).or_else(|| dns_protocol(ends[0].1)) {
        return App::Dns(Box::default(), protocol);
    }
    if dir == 0 && looks_like_tls(data) {
        return App::Tls(Box::default());
    }
    let http = (dir == 0 && head::looks_like_request(data))
        || (dir == 1 && head::looks_like_response(data))
        || HTTP_PORTS.contains(&server_port);
    if http {
        return App::Http(Box::new(HttpConn::new(ends[0], ends[1])));
    }
    App::Ignored
}

fn emit_tls(
    ends: [Endpoint; 2],
    server_name: Option<String>,
    anomalies: Vec<Anomaly>,
    ctx: &mut Ctx<'_>,
) {
    ctx.stats.tls_client_hellos += 1;
    let event = TlsEvent {
        timestamp: ctx.timestamp,
        location: ctx.location(),
        client_ip: Some(ends[0].0),
        client_port: Some(ends[0].1),
        server_ip: Some(ends[1].0),
        server_port: Some(ends[1].1),
        server_name,
        anomalies,
    };
    ctx.emit(Event::Tls(event));
}
