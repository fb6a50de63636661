//! Configuration text of `picket analyze --config` from any bytes. The
//! parser returns either settings or an error with a line and column. With
//! settings, the target builds what `picket analyze` builds from them (every
//! DNS and HTTP detector and the capture decoder) and runs a small capture
//! and a few dozen log events through them. No setting may panic, allocate
//! past the RSS limit, or make a detector score outside [0, 1].
#![no_main]

use std::io::Cursor;
use std::net::IpAddr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use picket_cli::analyze_config;
use picket_decode::CaptureReader;
use picket_event::dns::ResponseCode;
use picket_event::{DnsEvent, Event, RecordType, ResourceRecord, Timestamp};
use picket_sources::{Format, ReaderConfig, read_all};

fuzz_target!(|data: &[u8]| {
    let settings = match analyze_config::parse(data) {
        Ok(settings) => settings,
        Err(error) => {
            assert!(
                error.location().is_some(),
                "error without a location: {error}"
            );
            return;
        }
    };

    let mut detectors = picket_detect::all_detectors(&settings.detect);
    let mut alerts = Vec::new();
    let capture = CaptureReader::from_reader(Cursor::new(capture()), "fuzz.pcap", settings.decode)
        .expect("the built capture starts with a valid pcap header");
    for event in capture.flatten().chain(log_events().iter().cloned()) {
        for detector in &mut detectors {
            detector.observe(&event, &[], &mut alerts);
        }
    }
    for detector in &mut detectors {
        detector.finish(&mut alerts);
    }

    for alert in &alerts {
        assert!(
            (0.0..=1.0).contains(&alert.score),
            "{} scored {}",
            alert.detector,
            alert.score
        );
    }
});

/// Unix time of the capture's first packet: 2024-03-05 08:00:00 UTC.
const CAPTURE_START: u32 = 1_709_625_600;

/// Unix time of the first log event: 2024-03-05 09:00:00 UTC.
const LOG_START: i64 = 1_709_629_200;

/// Returns a classic pcap (Ethernet, microseconds) of the traffic that each
/// capture limit applies to. It has DNS over UDP and TCP, an HTTP download
/// with a gzip body whose server segments arrive out of order, a TLS
/// ClientHello in two segments and a UDP datagram in two IP fragments. A last
/// packet a day later closes every idle flow.
fn capture() -> Vec<u8> {
    static CAPTURE: OnceLock<Vec<u8>> = OnceLock::new();
    CAPTURE.get_or_init(build_capture).clone()
}

fn build_capture() -> Vec<u8> {
    const CLIENT: [u8; 4] = [10, 0, 0, 2];
    const RESOLVER: [u8; 4] = [10, 0, 0, 53];
    const WEB: [u8; 4] = [203, 0, 113, 66];
    const TLS: [u8; 4] = [198, 51, 100, 7];
    let mut pcap = Pcap::new();

    // DNS over UDP: a query and its answer.
    let query = dns_query(0x1111, "kit.example", 1);
    pcap.packet(
        0,
        0,
        &ipv4(CLIENT, RESOLVER, 17, 1, 0, &udp(40_000, 53, &query)),
    );
    let answer = dns_answer(0x1111, "kit.example", WEB);
    pcap.packet(
        0,
        10_000,
        &ipv4(RESOLVER, CLIENT, 17, 2, 0, &udp(53, 40_000, &answer)),
    );

    // HTTP: handshake, request, the response's second segment before its
    // first, then both FINs.
    let request = b"GET /photo.jpg HTTP/1.1\r\nHost: kit.example\r\n\
        User-Agent: python-requests/2.31.0\r\nAccept-Encoding: gzip\r\n\r\n";
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Encoding: gzip\r\n\
         Content-Length: {}\r\n\r\n",
        GZIP_EXECUTABLE.len()
    )
    .into_bytes();
    response.extend_from_slice(&GZIP_EXECUTABLE);
    let (first, second) = response.split_at(response.len() / 2);
    let client_seq = 1_000;
    let server_seq = 5_000;
    let after_request = client_seq + 1 + request.len() as u32;
    let after_response = server_seq + 1 + response.len() as u32;
    let segments: [(bool, u32, u32, u8, &[u8]); 7] = [
        (true, client_seq, 0, SYN, &[]),
        (false, server_seq, client_seq + 1, SYN | ACK, &[]),
        (true, client_seq + 1, server_seq + 1, PSH | ACK, request),
        (
            false,
            server_seq + 1 + first.len() as u32,
            after_request,
            PSH | ACK,
            second,
        ),
        (false, server_seq + 1, after_request, PSH | ACK, first),
        (true, after_request, after_response, FIN | ACK, &[]),
        (false, after_response, after_request + 1, FIN | ACK, &[]),
    ];
    for (index, (from_client, seq, ack, flags, payload)) in segments.into_iter().enumerate() {
        let micros = 10_000 * index as u32;
        let packet = if from_client {
            ipv4(
                CLIENT,
                WEB,
                6,
                10,
                0,
                &tcp(50_000, 80, seq, ack, flags, payload),
            )
        } else {
            ipv4(
                WEB,
                CLIENT,
                6,
                11,
                0,
                &tcp(80, 50_000, seq, ack, flags, payload),
            )
        };
        pcap.packet(1, micros, &packet);
    }

    // TLS: a ClientHello split after its record header.
    let hello = client_hello("c2.example");
    let (head, rest) = hello.split_at(5);
    pcap.packet(
        2,
        0,
        &ipv4(CLIENT, TLS, 6, 20, 0, &tcp(50_001, 443, 1, 0, SYN, &[])),
    );
    pcap.packet(
        2,
        10_000,
        &ipv4(CLIENT, TLS, 6, 21, 0, &tcp(50_001, 443, 2, 0, PSH, head)),
    );
    pcap.packet(
        2,
        20_000,
        &ipv4(CLIENT, TLS, 6, 22, 0, &tcp(50_001, 443, 7, 0, PSH, rest)),
    );

    // DNS over TCP: one length-prefixed query.
    let query = dns_query(0x2222, "tcp.example", 16);
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    pcap.packet(
        3,
        0,
        &ipv4(CLIENT, RESOLVER, 6, 30, 0, &tcp(50_002, 53, 1, 0, SYN, &[])),
    );
    pcap.packet(
        3,
        10_000,
        &ipv4(
            CLIENT,
            RESOLVER,
            6,
            31,
            0,
            &tcp(50_002, 53, 2, 0, PSH, &framed),
        ),
    );

    // A UDP DNS query in two IPv4 fragments: 24 bytes with "more fragments"
    // set, then the rest at offset 3 (in units of 8 bytes).
    let datagram = udp(40_001, 53, &dns_query(0x3333, "fragmented.example", 1));
    let (head, rest) = datagram.split_at(24);
    pcap.packet(4, 0, &ipv4(CLIENT, RESOLVER, 17, 0x4242, 0x2000, head));
    pcap.packet(4, 10_000, &ipv4(CLIENT, RESOLVER, 17, 0x4242, 3, rest));

    // A day later, past every default timeout.
    let late = dns_query(0x4444, "late.example", 1);
    pcap.packet(
        86_400,
        0,
        &ipv4([10, 0, 0, 3], RESOLVER, 17, 40, 0, &udp(40_002, 53, &late)),
    );
    pcap.bytes
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// A gzip member (mtime 0) of the start of a PE executable: an `MZ` header,
/// zeros and the DOS stub message.
const GZIP_EXECUTABLE: [u8; 69] = [
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xf3, 0x8d, 0x9a, 0xc0, 0xc0, 0xcc,
    0x30, 0x70, 0x20, 0x24, 0x23, 0xb3, 0x58, 0xa1, 0xa0, 0x28, 0x3f, 0xbd, 0x28, 0x31, 0x57, 0x21,
    0x39, 0x31, 0x2f, 0x2f, 0xbf, 0x44, 0x21, 0x29, 0x55, 0xa1, 0xa8, 0x34, 0x4f, 0x21, 0x33, 0x4f,
    0xc1, 0xc5, 0x3f, 0x58, 0x21, 0x37, 0x3f, 0x25, 0x55, 0x8f, 0x97, 0x0b, 0x00, 0x47, 0x85, 0x8d,
    0xe0, 0xa9, 0x00, 0x00, 0x00,
];

/// A classic pcap file being written: little-endian, Ethernet link type.
struct Pcap {
    bytes: Vec<u8>,
}

impl Pcap {
    fn new() -> Self {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&65_535u32.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        Pcap { bytes }
    }

    /// Appends an IPv4 packet in an Ethernet frame, `seconds` after
    /// [`CAPTURE_START`].
    fn packet(&mut self, seconds: u32, micros: u32, ip: &[u8]) {
        let length = (14 + ip.len()) as u32;
        self.bytes
            .extend_from_slice(&(CAPTURE_START + seconds).to_le_bytes());
        self.bytes.extend_from_slice(&micros.to_le_bytes());
        self.bytes.extend_from_slice(&length.to_le_bytes());
        self.bytes.extend_from_slice(&length.to_le_bytes());

        self.bytes
            .extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2]);
        self.bytes.extend_from_slice(&0x0800u16.to_be_bytes());
        self.bytes.extend_from_slice(ip);
    }
}

/// Builds an IPv4 header (RFC 791) with a valid checksum, then `payload`.
/// `fragment` contains the flags and the fragment offset.
fn ipv4(
    source: [u8; 4],
    destination: [u8; 4],
    protocol: u8,
    id: u16,
    fragment: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut packet = vec![0x45, 0];
    packet.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&fragment.to_be_bytes());
    packet.extend_from_slice(&[64, protocol, 0, 0]);
    packet.extend_from_slice(&source);
    packet.extend_from_slice(&destination);

    let sum: u32 = packet
        .chunks(2)
        .map(|word| u32::from(u16::from_be_bytes([word[0], word[1]])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    let checksum = !((folded & 0xffff) + (folded >> 16)) as u16;
    packet[10..12].copy_from_slice(&checksum.to_be_bytes());

    packet.extend_from_slice(payload);
    packet
}

/// Builds a UDP header (RFC 768) with no checksum, then `payload`.
fn udp(source_port: u16, destination_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut datagram = Vec::new();
    datagram.extend_from_slice(&source_port.to_be_bytes());
    datagram.extend_from_slice(&destination_port.to_be_bytes());
    datagram.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    datagram.extend_from_slice(&[0, 0]);
    datagram.extend_from_slice(payload);
    datagram
}

/// Builds a TCP header (RFC 9293) without options or checksum, then `payload`.
fn tcp(
    source_port: u16,
    destination_port: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend_from_slice(&source_port.to_be_bytes());
    segment.extend_from_slice(&destination_port.to_be_bytes());
    segment.extend_from_slice(&seq.to_be_bytes());
    segment.extend_from_slice(&ack.to_be_bytes());
    segment.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    segment.extend_from_slice(payload);
    segment
}

/// Builds a DNS query (RFC 1035 section 4.1) for `name`, recursion desired.
fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut message = id.to_be_bytes().to_vec();
    message.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    push_question(&mut message, name, qtype);
    message
}

/// Builds a DNS response to an A query for `name` with one address, TTL 60.
fn dns_answer(id: u16, name: &str, address: [u8; 4]) -> Vec<u8> {
    let mut message = id.to_be_bytes().to_vec();
    message.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    push_question(&mut message, name, 1);

    // The answer's name is a pointer to the question's name at offset 12.
    message.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
    message.extend_from_slice(&60u32.to_be_bytes());
    message.extend_from_slice(&4u16.to_be_bytes());
    message.extend_from_slice(&address);
    message
}

fn push_question(message: &mut Vec<u8>, name: &str, qtype: u16) {
    for label in name.split('.') {
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    message.extend_from_slice(&qtype.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
}

/// Builds a TLS 1.2 ClientHello record (RFC 5246 section 7.4.1.2) with one cipher
/// suite and a server_name extension (RFC 6066 section 3).
fn client_hello(server_name: &str) -> Vec<u8> {
    let name = server_name.as_bytes();
    let mut extension = vec![0, 0];
    extension.extend_from_slice(&((5 + name.len()) as u16).to_be_bytes());
    extension.extend_from_slice(&((3 + name.len()) as u16).to_be_bytes());
    extension.push(0);
    extension.extend_from_slice(&(name.len() as u16).to_be_bytes());
    extension.extend_from_slice(name);

    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x42; 32]);
    body.extend_from_slice(&[0, 0, 2, 0xc0, 0x2f, 1, 0]);
    body.extend_from_slice(&(extension.len() as u16).to_be_bytes());
    body.extend_from_slice(&extension);

    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&((4 + body.len()) as u16).to_be_bytes());
    record.push(1);
    record.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    record.extend_from_slice(&body);
    record
}

/// Returns DNS and HTTP events for every detector. The DNS events are
/// DGA-like NXDOMAINs, a TXT tunnel, a fast-flux name, a sinkholed answer and
/// a new domain two days in. The HTTP events are a drive-by chain, a raw-IP
/// POST by a tool agent and a beacon every 60 s. One event of each kind a
/// month later ends every window.
fn log_events() -> &'static [Event] {
    static EVENTS: OnceLock<Vec<Event>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let mut events = dns_events();
        let (http, rejected, _) =
            read_all(w3c_log().as_bytes(), Format::W3c, &ReaderConfig::default());
        assert!(
            rejected.is_empty(),
            "the built W3C log has rejected lines: {rejected:?}"
        );
        events.extend(http);
        events
    })
}

fn dns_events() -> Vec<Event> {
    let mut random = Lcg(7);
    let mut events = Vec::new();

    for i in 0..12 {
        let name = format!("{}.com", random.word(b"abcdefghijklmnopqrstuvwxyz", 13));
        events.push(dns(
            i,
            7,
            &name,
            RecordType::A,
            ResponseCode::NXDOMAIN,
            vec![],
        ));
    }

    for i in 0..25 {
        let label = random.word(b"abcdefghijklmnopqrstuvwxyz234567", 40);
        let name = format!("{label}.t.tunnel-ns.example");
        let answer = record(&name, RecordType::TXT, 0, "ok");
        events.push(dns(
            30 + i,
            8,
            &name,
            RecordType::TXT,
            ResponseCode::NOERROR,
            vec![answer],
        ));
    }

    for round in 0..3u8 {
        let answers = (0..6u8)
            .map(|host| {
                let address = format!("{}.{}.7.{}", 20 + host * 30 + round, 40 + round, host + 1);
                record("shop.flux.example", RecordType::A, 60, &address)
            })
            .collect();
        let at = 100 + 400 * i64::from(round);
        events.push(dns(
            at,
            9,
            "shop.flux.example",
            RecordType::A,
            ResponseCode::NOERROR,
            answers,
        ));
    }

    let sinkholed = record("sinkholed.example", RecordType::A, 300, "146.112.61.104");
    events.push(dns(
        1_500,
        10,
        "sinkholed.example",
        RecordType::A,
        ResponseCode::NOERROR,
        vec![sinkholed],
    ));

    for (at, name) in [
        (1_600, "news.example"),
        (2 * 86_400, "fresh-domain.example"),
    ] {
        let answer = record(name, RecordType::A, 300, "198.51.100.9");
        events.push(dns(
            at,
            11,
            name,
            RecordType::A,
            ResponseCode::NOERROR,
            vec![answer],
        ));
    }

    let answer = record("news.example", RecordType::A, 300, "198.51.100.9");
    events.push(dns(
        30 * 86_400,
        11,
        "news.example",
        RecordType::A,
        ResponseCode::NOERROR,
        vec![answer],
    ));
    events
}

/// Builds a DNS event `seconds` after [`LOG_START`] from client 10.0.0.`client`.
fn dns(
    seconds: i64,
    client: u8,
    name: &str,
    qtype: RecordType,
    rcode: ResponseCode,
    answers: Vec<ResourceRecord>,
) -> Event {
    Event::Dns(DnsEvent {
        timestamp: Timestamp::from_nanos((LOG_START + seconds) * 1_000_000_000),
        client_ip: Some(IpAddr::from([10, 0, 0, client])),
        query_name: name.to_owned(),
        query_name_original: Some(name.to_owned()),
        query_type: Some(qtype),
        rcode: Some(rcode),
        answers,
        ..DnsEvent::default()
    })
}

fn record(name: &str, rtype: RecordType, ttl: u32, data: &str) -> ResourceRecord {
    ResourceRecord {
        name: name.to_owned(),
        rtype,
        class: 1,
        ttl,
        data: data.to_owned(),
    }
}

/// Builds a W3C extended log (BlueCoat fields) of the HTTP cases in [`log_events`].
fn w3c_log() -> String {
    const BROWSER: &str = "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\"";
    let mut log = String::from(
        "#Software: SGOS 6.7.4.1\n#Version: 1.0\n#Fields: date time time-taken c-ip \
         sc-status s-action sc-bytes cs-bytes cs-method cs-uri-scheme cs-host cs-uri-path \
         cs-uri-query cs-username s-supplier-name rs(Content-Type) cs(User-Agent) cs(Referer)\n",
    );
    let lines = [
        format!("09:00:01 80 10.30.1.5 200 TCP_MISS 30411 402 GET http www.recipes.example /soup.html - - 198.51.100.40 text/html {BROWSER} -"),
        format!("09:00:03 80 10.30.1.5 200 TCP_MISS 14020 455 GET http land.kit.example /a1b2c3d4e5f6a7b8c9d0/ - - 203.0.113.80 text/html {BROWSER} \"http://www.recipes.example/soup.html\""),
        format!("09:00:05 80 10.30.1.5 200 TCP_MISS 20480 300 GET http land.kit.example /x.jar - - 203.0.113.80 application/java-archive \"Java/1.8.0_51\" \"http://land.kit.example/a1b2c3d4e5f6a7b8c9d0/\""),
        "09:00:07 80 10.30.1.5 200 TCP_MISS 180224 290 GET http land.kit.example /photo.jpg - - 203.0.113.80 application/x-msdownload \"Java/1.8.0_51\" -".to_owned(),
        "09:00:20 80 10.30.1.5 200 TCP_MISS 312 640 POST http 192.0.2.45 /gate.php - - 192.0.2.45 text/html \"python-requests/2.31.0\" -".to_owned(),
        "09:00:25 80 10.30.1.5 200 TCP_MISS 0 210 GET http updates.kit.example /check - - 203.0.113.81 text/plain - -".to_owned(),
    ];
    for line in lines {
        log.push_str("2024-03-05 ");
        log.push_str(&line);
        log.push('\n');
    }

    let mut random = Lcg(11);
    for i in 0..25u32 {
        let seconds = 60 * (i + 1) + random.below(5);
        let (minute, second) = (seconds / 60, seconds % 60);
        log.push_str(&format!(
            "2024-03-05 10:{minute:02}:{second:02} 90 10.30.1.6 200 TCP_MISS 246 {} POST http \
             ping.cdn-check.example /api/v2/ping - - 203.0.113.99 text/plain {BROWSER} -\n",
            500 + random.below(3),
        ));
    }

    log.push_str(&format!(
        "2024-04-05 09:00:00 80 10.30.1.5 200 TCP_MISS 9000 420 GET http www.recipes.example /today.html - - 198.51.100.40 text/html {BROWSER} -\n"
    ));
    log
}

/// A linear congruential generator (Knuth's MMIX constants): fixed names
/// and jitter that look random to the detectors, the same on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % u64::from(bound)) as u32
    }

    fn word(&mut self, alphabet: &[u8], length: usize) -> String {
        (0..length)
            .map(|_| char::from(alphabet[self.below(alphabet.len() as u32) as usize]))
            .collect()
    }
}
