//! `gen-pcap`: writes a capture of mixed DNS, HTTP and TLS traffic of any
//! size, streaming, for benchmarks of capture decoding.
//!
//! The mix per session: four in five are a DNS lookup over UDP (query and
//! response), the rest an HTTP/1.1 connection (handshake, one or two
//! requests, responses of 200 bytes to 256 KiB sent in full-size segments,
//! some chunked, some gzip, FIN exchange) or a TLS connection's ClientHello.
//! Bodies are slices of random noise, so no two digests repeat, except the
//! one gzip page that one response in ten carries. With `--mix dns` every
//! session is a DNS lookup, for packet-rate benchmarks. The same seed, size
//! and mix always write the same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::Context;
use etherparse::PacketBuilder;
use crate::rng::Rng;

/// Arguments of `gen-pcap`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Size of the capture to write, such as `1GB`, `200MB` or `4096`
    /// (bytes); the capture ends with the first session past it.
    #[arg(long, default_value = "100MB")]
    size: String,
    /// Seed: the same seed and size write the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Traffic mix: `mixed` (byte-heavy: bodies are most of the bytes) or
    /// `dns` (packet-heavy: DNS lookups only, about 100 bytes a packet).
    #[arg(long, value_enum, default_value_t = Mix::Mixed)]
    mix: Mix,
}

/// The kinds of session a capture contains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// Four in five sessions DNS, the rest HTTP and TLS.
    Mixed,
    /// DNS lookups only.
    Dns,
}

const DOMAINS: &[&str] = &[
    "example.com", "example.net", "example.org", "news.example", "cdn.example",
    "shop.example", "mail.example", "intranet.corp.example", "updates.example", "static.example",
];
const LABELS: &[&str] = &["www", "api", "img", "static", "login", "cdn1", "cdn2", "m", "ads", "track"];
const PATHS: &[&str] = &[
    "/", "/index.html", "/js/app.js", "/css/site.css", "/img/logo.png", "/api/v1/items?id=42",
    "/download/setup.exe", "/search?q=picket", "/gate.php", "/favicon.ico",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "curl/8.4.0",
    "Microsoft-CryptoAPI/10.0",
];
const MIME: &[&str] = &["text/html", "application/javascript", "image/png", "application/octet-stream", "text/css"];

/// Maximum TCP payload per segment (Ethernet MTU minus IPv4 and TCP headers).
const MSS: usize = 1460;

/// Writes pcap records for generated packets.
struct Writer {
    out: BufWriter<File>,
    packet: Vec<u8>,
    micros: u64,
    written: u64,
}

impl Writer {
    fn record(&mut self) -> anyhow::Result<()> {
        self.micros += 37;
        let secs = 1_700_000_000 + self.micros / 1_000_000;
        let usec = self.micros % 1_000_000;
        let len = self.packet.len() as u32;
        self.out.write_all(&(secs as u32).to_le_bytes())?;
        self.out.write_all(&(usec as u32).to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&self.packet)?;
        self.written += 16 + u64::from(len);
        Ok(())
    }

    fn udp(&mut self, src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: &[u8]) -> anyhow::Result<()> {
        self.packet.clear();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0.octets(), dst.0.octets(), 64)
            .udp(src.1, dst.1)
            .write(&mut self.packet, payload)?;
        self.record()
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        seq: u32,
        ack: Option<u32>,
        syn: bool,
        fin: bool,
        payload: &[u8],
    ) -> anyhow::Result<()> {
        self.packet.clear();
        let mut builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0.octets(), dst.0.octets(), 64)
            .tcp(src.1, dst.1, seq, 64_240);
        if syn {
            builder = builder.syn();
        }
        if fin {
            builder = builder.fin();
        }
        if let Some(ack) = ack {
            builder = builder.ack(ack);
        }
        builder.write(&mut self.packet, payload)?;
        self.record()
    }
}

/// Parses `1GB`, `200MB`, `64KB` or plain bytes (powers of 1000).
fn parse_size(text: &str) -> anyhow::Result<u64> {
    let upper = text.trim().to_ascii_uppercase();
    let (digits, unit) = upper.split_at(upper.find(|c: char| !c.is_ascii_digit()).unwrap_or(upper.len()));
    let n: u64 = digits.parse().with_context(|| format!("bad size {text:?}"))?;
    let scale = match unit {
        "" | "B" => 1,
        "KB" | "K" => 1_000,
        "MB" | "M" => 1_000_000,
        "GB" | "G" => 1_000_000_000,
        other => anyhow::bail!("unknown size unit {other:?} (use B, KB, MB or GB)"),
    };
    Ok(n * scale)
}

fn name(rng: &mut Rng) -> String {
    format!("{}.{}", rng.pick(LABELS), rng.pick(DOMAINS))
}

fn dns_message(id: u16, name: &str, answer: Option<Ipv4Addr>) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(if answer.is_some() { &[0x81, 0x80] } else { &[0x01, 0x00] });
    m.extend_from_slice(&[0, 1, 0, u8::from(answer.is_some()), 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    if let Some(addr) = answer {
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        m.extend_from_slice(&addr.octets());
    }
    m
}

fn client_addr(rng: &mut Rng) -> (Ipv4Addr, u16) {
    let host = rng.below(4096) as u32;
    (Ipv4Addr::from(0x0a00_0000 | host), 32_768 + rng.below(28_000) as u16)
}

fn server_addr(rng: &mut Rng) -> Ipv4Addr {
    Ipv4Addr::from(0xc633_6400 | rng.below(256) as u32)
}

/// Writes one HTTP/1.1 connection with one or two transactions.
fn http_session(w: &mut Writer, rng: &mut Rng, noise: &[u8], gzip_body: &[u8]) -> anyhow::Result<()> {
    let client = client_addr(rng);
    let server = (server_addr(rng), 80);
    let (mut cseq, mut sseq) = (rng.next() as u32, rng.next() as u32);
    w.tcp(client, server, cseq, None, true, false, b"")?;
    w.tcp(server, client, sseq, Some(cseq.wrapping_add(1)), true, false, b"")?;
    cseq = cseq.wrapping_add(1);
    sseq = sseq.wrapping_add(1);

    for _ in 0..1 + rng.below(2) {
        let host = name(rng);
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\nAccept: */*\r\nReferer: http://{}/\r\nConnection: keep-alive\r\n\r\n",
            rng.pick(PATHS),
            rng.pick(AGENTS),
            name(rng),
        );
        w.tcp(client, server, cseq, Some(sseq), false, false, request.as_bytes())?;
        cseq = cseq.wrapping_add(request.len() as u32);

        // Body: 200 B to 256 KiB, skewed small; a distinct slice of noise.
        let size = 200 + ((rng.below(1 << 18) * rng.below(1 << 18)) >> 18) as usize;
        let start = rng.below((noise.len() - size) as u64) as usize;
        let kind = rng.below(10);
        let mut response = Vec::with_capacity(size + 300);
        let body: &[u8] = if kind == 0 { gzip_body } else { &noise[start..start + size] };
        response.extend_from_slice(b"HTTP/1.1 200 OK\r\nServer: gen\r\n");
        response.extend_from_slice(format!("Content-Type: {}\r\n", rng.pick(MIME)).as_bytes());
        if kind == 0 {
            response.extend_from_slice(b"Content-Encoding: gzip\r\n");
        }
        if kind == 1 {
            response.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for chunk in body.chunks(8192) {
                response.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                response.extend_from_slice(chunk);
                response.extend_from_slice(b"\r\n");
            }
            response.extend_from_slice(b"0\r\n\r\n");
        } else {
            response.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            response.extend_from_slice(body);
        }
        for segment in response.chunks(MSS) {
            w.tcp(server, client, sseq, Some(cseq), false, false, segment)?;
            sseq = sseq.wrapping_add(segment.len() as u32);
        }
        w.tcp(client, server, cseq, Some(sseq), false, false, b"")?;
    }

    w.tcp(client, server, cseq, Some(sseq), false, true, b"")?;
    w.tcp(server, client, sseq, Some(cseq.wrapping_add(1)), false, true, b"")?;
    w.tcp(client, server, cseq.wrapping_add(1), Some(sseq.wrapping_add(1)), false, false, b"")
}

/// Writes a TLS connection up to the ClientHello and the server's first flight.
fn tls_session(w: &mut Writer, rng: &mut Rng, noise: &[u8]) -> anyhow::Result<()> {
    let client = client_addr(rng);
    let server = (server_addr(rng), 443);
    let (cseq, sseq) = (rng.next() as u32, rng.next() as u32);
    w.tcp(client, server, cseq, None, true, false, b"")?;
    w.tcp(server, client, sseq, Some(cseq.wrapping_add(1)), true, false, b"")?;
    let hello = picket_decode::tls::build_client_hello(&name(rng));
    w.tcp(client, server, cseq.wrapping_add(1), Some(sseq.wrapping_add(1)), false, false, &hello)?;
    let flight = &noise[..3 * MSS];
    let mut seq = sseq.wrapping_add(1);
    for segment in flight.chunks(MSS) {
        w.tcp(server, client, seq, Some(cseq.wrapping_add(1 + hello.len() as u32)), false, false, segment)?;
        seq = seq.wrapping_add(segment.len() as u32);
    }
    Ok(())
}

/// Writes the capture; a one-line summary goes to standard error.
#[allow(clippy::print_stderr)]
pub fn run(args: Args) -> anyhow::Result<()> {
    let target = parse_size(&args.size)?;
    let file = File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut w = Writer {
        out: BufWriter::with_capacity(1 << 20, file),
        packet: Vec::with_capacity(2048),
        micros: 0,
        written: 24,
    };
    let mut rng = Rng::seeded(args.seed);

    // pcap header: little endian, microseconds, Ethernet.
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&65_535u32.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes());
    w.out.write_all(&header)?;

    let noise: Vec<u8> = (0..(4 << 20) / 8).flat_map(|_| rng.next().to_le_bytes()).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let text: Vec<u8> = (0..20_000).flat_map(|i| format!("<p>line {i} of a long page</p>\n").into_bytes()).collect();
    gz.write_all(&text)?;
    let gzip_body = gz.finish()?;

    let mut sessions = 0u64;
    while w.written < target {
        sessions += 1;
        let roll = if args.mix == Mix::Dns { 0 } else { rng.below(100) };
        match roll {
            0..80 => {
                let client = client_addr(&mut rng);
                let resolver = (Ipv4Addr::new(10, 255, 0, 53), 53);
                let id = rng.next() as u16;
                let qname = name(&mut rng);
                w.udp(client, resolver, &dns_message(id, &qname, None))?;
                let answer = server_addr(&mut rng);
                w.udp(resolver, client, &dns_message(id, &qname, Some(answer)))?;
            }
            80..97 => http_session(&mut w, &mut rng, &noise, &gzip_body)?,
            _ => tls_session(&mut w, &mut rng, &noise)?,
        }
    }
    w.out.flush()?;
    eprintln!("wrote {} bytes, {sessions} sessions, to {}", w.written, args.out.display());
    Ok(())
}
