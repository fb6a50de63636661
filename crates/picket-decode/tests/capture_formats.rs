//! Capture formats, link layers, reassembly and hostile input, on captures
//! built here with etherparse's packet builder.

// Test helpers may unwrap (a failure there is the test's failure) and read
// whole corpus files (all small).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::io::Write;
use std::sync::Arc;

use etherparse::PacketBuilder;
use picket_decode::capture::Frame;
use picket_decode::{CaptureReader, DecodeConfig, PacketDecoder};
use picket_event::{Anomaly, Event, EventReader, Timestamp};
use proptest::prelude::*;

const CLIENT: [u8; 4] = [10, 0, 0, 5];
const SERVER: [u8; 4] = [192, 0, 2, 80];

/// Builds a classic pcap file: little or big endian, micro or nanosecond stamps.
fn pcap(linktype: u32, frames: &[Vec<u8>], big_endian: bool, nanos: bool) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(magic));
    out.extend_from_slice(&u16b(2));
    out.extend_from_slice(&u16b(4));
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u32b(65_535));
    out.extend_from_slice(&u32b(linktype));
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&u32b(1_700_000_000 + i as u32));
        out.extend_from_slice(&u32b(if nanos { 500_000_000 } else { 500_000 }));
        out.extend_from_slice(&u32b(f.len() as u32));
        out.extend_from_slice(&u32b(f.len() as u32));
        out.extend_from_slice(f);
    }
    out
}

/// Builds a pcapng file with one interface per entry of `linktypes`.
/// Frame `i` goes out on interface `i % linktypes.len()`.
fn pcapng(linktypes: &[u16], frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let block = |out: &mut Vec<u8>, kind: u32, body: &[u8]| {
        let padded = body.len().div_ceil(4) * 4;
        let len = (12 + padded) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend_from_slice(&len.to_le_bytes());
    };
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    for lt in linktypes {
        let mut idb = Vec::new();
        idb.extend_from_slice(&lt.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&65_535u32.to_le_bytes());
        block(&mut out, 1, &idb);
    }
    for (i, f) in frames.iter().enumerate() {
        let ts: u64 = 1_700_000_000_000_000 + i as u64;
        let mut epb = Vec::new();
        epb.extend_from_slice(&((i % linktypes.len()) as u32).to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(f);
        block(&mut out, 6, &epb);
    }
    out
}

fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = vec![(id >> 8) as u8, id as u8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

fn dns_response(id: u16, name: &str, addr: [u8; 4]) -> Vec<u8> {
    let mut m = dns_query(id, name);
    m[2] = 0x81;
    m[3] = 0x80;
    m[7] = 1;
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    m.extend_from_slice(&addr);
    m
}

fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

fn tcp(from_client: bool, seq: u32, ack: u32, flags: &str, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_client {
        (CLIENT, SERVER, 40000, 80)
    } else {
        (SERVER, CLIENT, 80, 40000)
    };
    let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 65_535);
    if flags.contains('S') {
        b = b.syn();
    }
    if flags.contains('A') {
        b = b.ack(ack);
    }
    if flags.contains('F') {
        b = b.fin();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

fn events(bytes: Vec<u8>) -> (Vec<Event>, usize, CaptureReader) {
    let mut reader =
        CaptureReader::from_reader(std::io::Cursor::new(bytes), "test", DecodeConfig::default())
            .unwrap();
    let mut out = Vec::new();
    let mut rejected = 0;
    for item in reader.by_ref() {
        match item {
            Ok(e) => out.push(e),
            Err(_) => rejected += 1,
        }
    }
    (out, rejected, reader)
}

fn dns_pair() -> Vec<Vec<u8>> {
    vec![
        udp(
            CLIENT,
            [10, 0, 0, 53],
            5555,
            53,
            &dns_query(7, "evil.example"),
        ),
        udp(
            [10, 0, 0, 53],
            CLIENT,
            53,
            5555,
            &dns_response(7, "evil.example", [192, 0, 2, 1]),
        ),
    ]
}

fn http_session(request: &[u8], response: &[u8]) -> Vec<Vec<u8>> {
    vec![
        tcp(true, 100, 0, "S", b""),
        tcp(false, 500, 101, "SA", b""),
        tcp(true, 101, 501, "A", request),
        tcp(false, 501, 101 + request.len() as u32, "A", response),
        tcp(
            true,
            101 + request.len() as u32,
            501 + response.len() as u32,
            "FA",
            b"",
        ),
        tcp(
            false,
            501 + response.len() as u32,
            102 + request.len() as u32,
            "FA",
            b"",
        ),
    ]
}

#[test]
fn every_pcap_variant_yields_the_dns_exchange() {
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let (ev, rejected, reader) = events(pcap(1, &dns_pair(), big_endian, nanos));
            assert_eq!(rejected, 0);
            assert_eq!(reader.format_name(), "pcap");
            let [Event::Dns(dns)] = ev.as_slice() else {
                panic!("{ev:?}")
            };
            assert_eq!(dns.query_name, "evil.example");
            assert_eq!(dns.answers[0].data, "192.0.2.1");
            assert_eq!(
                dns.timestamp,
                Timestamp::from_secs_nanos(1_700_000_000, 500_000_000).unwrap()
            );
            assert_eq!(dns.location.packet, Some(2));
        }
    }
}

#[test]
fn gzip_pcapng_with_two_link_types() {
    // Interface 0 is Ethernet, interface 1 raw IP: strip the Ethernet header
    // from the frames sent on it.
    let frames: Vec<Vec<u8>> = dns_pair()
        .into_iter()
        .enumerate()
        .map(|(i, f)| if i % 2 == 1 { f[14..].to_vec() } else { f })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&pcapng(&[1, 101], &frames)).unwrap();
    let (ev, rejected, reader) = events(gz.finish().unwrap());
    assert_eq!(rejected, 0);
    assert_eq!(reader.format_name(), "pcapng");
    assert_eq!(ev.len(), 1);
}

#[test]
fn link_layers_vlan_sll_sll2_null() {
    let eth = udp(CLIENT, [10, 0, 0, 53], 5555, 53, &dns_query(9, "a.example"));
    let ip = &eth[14..];
    let mut qinq = eth[..12].to_vec();
    qinq.extend_from_slice(&[0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00]);
    qinq.extend_from_slice(ip);
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(ip);
    let mut sll2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    sll2.extend_from_slice(ip);
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(ip);
    for (linktype, frame) in [
        (1, qinq),
        (113, sll),
        (276, sll2),
        (0, null),
        (228, ip.to_vec()),
    ] {
        let (ev, rejected, _) = events(pcap(linktype, &[frame], false, false));
        assert_eq!(rejected, 0, "linktype {linktype}");
        let [Event::Dns(dns)] = ev.as_slice() else {
            panic!("linktype {linktype}: {ev:?}")
        };
        assert_eq!(dns.query_name, "a.example");
    }
}

#[test]
fn fragmented_udp_dns_is_reassembled() {
    let full = udp(
        CLIENT,
        [10, 0, 0, 53],
        5555,
        53,
        &dns_query(3, &"x".repeat(60)),
    );
    let ip = &full[14..];
    let header = &ip[..20];
    let payload = &ip[20..];
    let mut frames = Vec::new();
    // Second fragment first, then the first.
    for (offset, more) in [(40usize, false), (0, true)] {
        let part = if more { &payload[..40] } else { &payload[40..] };
        let mut h = header.to_vec();
        let total = (20 + part.len()) as u16;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        let flags_off = ((offset / 8) as u16) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&flags_off.to_be_bytes());
        h[10..12].copy_from_slice(&[0, 0]);
        let mut frame = full[..14].to_vec();
        frame.extend_from_slice(&h);
        frame.extend_from_slice(part);
        frames.push(frame);
    }
    let (ev, _, reader) = events(pcap(1, &frames, false, false));
    assert_eq!(reader.capture_stats().fragments.reassembled, 1);
    let [Event::Dns(dns)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(dns.query_name, "x".repeat(60));
}

#[test]
fn http_transaction_with_body_digest() {
    let request = b"GET /dl/a.exe HTTP/1.1\r\nHost: Files.Example:8080\r\nUser-Agent: t\r\nX-Forwarded-For: 10.9.9.9\r\n\r\n";
    let response = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream; x=1\r\nContent-Length: 4\r\nContent-Disposition: attachment; filename=\"a.exe\"\r\nServer: s\r\n\r\nMZ\x90\x00";
    let (ev, rejected, _) = events(pcap(1, &http_session(request, response), false, false));
    assert_eq!(rejected, 0);
    let [Event::Http(http)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(http.method.as_deref(), Some("GET"));
    assert_eq!(http.host.as_deref(), Some("files.example"));
    assert_eq!(http.port, Some(8080));
    assert_eq!(http.path.as_deref(), Some("/dl/a.exe"));
    assert_eq!(http.status, Some(200));
    assert_eq!(
        http.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(http.file_name.as_deref(), Some("a.exe"));
    assert_eq!(http.forwarded_for.as_deref(), Some("10.9.9.9"));
    let body = http.body.as_ref().unwrap();
    assert_eq!(body.size, 4);
    assert_eq!(body.sniffed_type.as_deref(), Some("pe"));
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(b"MZ\x90\x00")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(body.sha256, want);
    assert_eq!(body.md5.len(), 32);
    assert!(http.anomalies.is_empty(), "{:?}", http.anomalies);
}

#[test]
fn out_of_order_retransmitted_and_altered_segments() {
    let request = b"GET /a HTTP/1.1\r\nHost: h.example\r\n\r\n";
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    let mut frames = http_session(request, response);
    // Split the response into two segments delivered in reverse order, and
    // retransmit the first with different bytes.
    let resp_seq = 501;
    let ack = 101 + request.len() as u32;
    let (a, rest) = response.split_at(20);
    let (m, z) = rest.split_at(20);
    let mut altered = a.to_vec();
    altered[0] = b'X';
    frames[3] = tcp(false, resp_seq + 40, ack, "A", z);
    frames.insert(4, tcp(false, resp_seq, ack, "A", a));
    frames.insert(5, tcp(false, resp_seq, ack, "A", &altered));
    frames.insert(6, tcp(false, resp_seq + 20, ack, "A", m));
    let (ev, _, reader) = events(pcap(1, &frames, false, false));
    let [Event::Http(http)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(http.status, Some(200));
    assert_eq!(http.response_body_len, Some(10));
    assert!(
        http.anomalies.contains(&Anomaly::TcpOverlapMismatch),
        "{:?}",
        http.anomalies
    );
    assert_eq!(reader.capture_stats().tcp.overlap_mismatches, 1);
}

#[test]
fn missing_segment_is_a_gap() {
    let request = b"GET /a HTTP/1.1\r\nHost: h.example\r\n\r\n";
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n0123456789abcdefghij0123456789";
    let mut frames = http_session(request, response);
    let ack = 101 + request.len() as u32;
    let head_len = response.len() as u32 - 30;
    frames[3] = tcp(false, 501, ack, "A", &response[..head_len as usize]);
    frames.insert(
        4,
        tcp(
            false,
            501 + head_len + 10,
            ack,
            "A",
            &response[head_len as usize + 10..],
        ),
    );
    let (ev, _, reader) = events(pcap(1, &frames, false, false));
    let [Event::Http(http)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert!(
        http.anomalies.contains(&Anomaly::TcpGap),
        "{:?}",
        http.anomalies
    );
    assert!(http.body.is_none());
    assert!(reader.capture_stats().tcp.gaps >= 1);
}

#[test]
fn tcp_dns_and_tls_sni() {
    let q = dns_query(11, "tcp.example");
    let r = dns_response(11, "tcp.example", [192, 0, 2, 9]);
    let mut stream = Vec::new();
    for m in [&q, &q] {
        stream.extend_from_slice(&(m.len() as u16).to_be_bytes());
        stream.extend_from_slice(m);
    }
    let mut resp = (r.len() as u16).to_be_bytes().to_vec();
    resp.extend_from_slice(&r);
    let mk = |from_client: bool, seq: u32, ack: u32, flags: &str, payload: &[u8]| {
        let (src, dst, sport, dport) = if from_client {
            (CLIENT, SERVER, 40001, 53)
        } else {
            (SERVER, CLIENT, 53, 40001)
        };
        let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sport, dport, seq, 1000);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('A') {
            b = b.ack(ack);
        }
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    };
    // Two queries in one stream, the second split across segments.
    let cut = stream.len() - 5;
    let mut frames = vec![
        mk(true, 0, 0, "S", b""),
        mk(false, 0, 1, "SA", b""),
        mk(true, 1, 1, "A", &stream[..cut]),
        mk(true, 1 + cut as u32, 1, "A", &stream[cut..]),
        mk(false, 1, 1 + stream.len() as u32, "A", &resp),
    ];
    let hello = picket_decode::tls::build_client_hello("Secure.Example");
    let (h1, h2) = hello.split_at(30);
    let mut tls = http_session(h1, b"");
    tls.truncate(3);
    tls.push(tcp(true, 101 + h1.len() as u32, 501, "A", h2));
    frames.extend(tls);
    let (ev, rejected, _) = events(pcap(1, &frames, false, false));
    assert_eq!(rejected, 0);
    let dns: Vec<_> = ev
        .iter()
        .filter_map(|e| if let Event::Dns(d) = e { Some(d) } else { None })
        .collect();
    assert_eq!(dns.len(), 2, "{dns:?}");
    assert!(dns.iter().all(|d| d.query_name == "tcp.example"));
    let sni: Vec<_> = ev
        .iter()
        .filter_map(|e| {
            if let Event::Tls(t) = e {
                t.server_name.clone()
            } else {
                None
            }
        })
        .collect();
    assert_eq!(sni, vec!["secure.example".to_owned()]);
}

#[test]
fn corpus_dns_pcap_yields_dns_events() {
    let path = picket_corpus::require_corpus!("zeek/traces/dns53.pcap");
    let reader = CaptureReader::open(&path, DecodeConfig::default()).unwrap();
    let dns = reader.filter(|e| matches!(e, Ok(Event::Dns(_)))).count();
    assert!(dns > 0);
}

#[test]
fn truncated_capture_is_a_final_rejection() {
    let mut bytes = pcap(1, &dns_pair(), false, false);
    bytes.truncate(bytes.len() - 10);
    let (ev, rejected, _) = events(bytes);
    assert_eq!(rejected, 1);
    // The first packet was whole: its query is still reported.
    assert_eq!(ev.len(), 1);
}

#[test]
fn not_a_capture_is_an_error() {
    assert!(
        CaptureReader::from_reader(
            std::io::Cursor::new(b"hello world".to_vec()),
            "x",
            DecodeConfig::default()
        )
        .is_err()
    );
    assert!(
        CaptureReader::from_reader(
            std::io::Cursor::new(Vec::new()),
            "x",
            DecodeConfig::default()
        )
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Garbage frames of every link type never panic the decoder.
    #[test]
    fn garbage_frames_do_not_panic(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..20),
                                   linktype in prop::sample::select(vec![0, 1, 101, 113, 228, 229, 276, 147])) {
        let mut d = PacketDecoder::new(DecodeConfig::default(), Arc::from("fuzz"));
        for (i, data) in frames.iter().enumerate() {
            d.frame(Frame { linktype, timestamp: Timestamp::from_nanos(i as i64), number: i as u64 + 1, offset: 0, data });
        }
        d.finish();
        while d.pop().is_some() {}
    }

    /// Mutated real sessions never panic the decoder or the reader.
    #[test]
    fn mutated_captures_do_not_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..40), cut in any::<usize>()) {
        let request = b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        let response = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\n\x1f\x8b\x08\x00\x00";
        let mut frames = http_session(request, response);
        frames.extend(dns_pair());
        let mut bytes = pcap(1, &frames, false, false);
        for (at, value) in flips {
            let at = 24 + at % (bytes.len() - 24);
            bytes[at] = value;
        }
        bytes.truncate(24 + cut % (bytes.len() - 23));
        if let Ok(reader) = CaptureReader::from_reader(std::io::Cursor::new(bytes), "m", DecodeConfig::default()) {
            for _ in reader {}
        }
    }
}
