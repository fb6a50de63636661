//! Hostile input: every reader gets garbage, truncations and oversized
//! lines, and must neither panic nor lose the good lines around them.

use std::io::Write;

use picket_sources::{Format, ReaderConfig, RecordError, Utf8Policy, read_all};
use proptest::prelude::*;

/// One good line per format, to surround bad input with.
fn good_line(format: Format) -> &'static str {
    match format {
        Format::Squid => {
            "1677971735.123 567 192.168.1.100 TCP_MISS/200 5432 GET http://example.com/index.html user1 HIER_DIRECT/93.184.216.34 text/html"
        }
        Format::SquidCombined => {
            r#"10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET http://a.example/ HTTP/1.1" 200 2326 "-" "curl/8" TCP_MISS:HIER_DIRECT"#
        }
        Format::W3c => "2005-04-12 21:03:45 192.16.170.46 www.yahoo.com 200",
        Format::Tmg => {
            "169096208\t-\tJava/1.6.0_26\tN\t2012-08-14 10:46:00\tw3proxy\tTMG\t-\tevil.example\t-\t80\t1\t2\t3\thttp\tTCP\tGET\thttp://evil.example/a.jar\tapplication/java-archive\tInternet\t200\t0\t-\t-\t-\t-\t-\tAllowed\t2012-08-14 10:46:00\t-"
        }
        Format::Tmg16 => {
            "Java/1.6.0_26\t8/14/2012 10:46\t-\tevil.example\t192.0.2.1\t80\tGET\thttp://evil.example/a.jar\tapplication/java-archive\t200\tTCP\t1\t2\thttp\t2012-08-14 10:50:01.097\tAllowed"
        }
        Format::ZeekTsv => "1258535653.0\t10.0.0.1\tGET\tevil.example\t/a.jar",
        Format::ZeekJson => {
            r#"{"ts":1258535653.0,"uid":"C1","id.orig_h":"10.0.0.1","method":"GET","host":"evil.example","uri":"/a"}"#
        }
        Format::SuricataEve => {
            r#"{"timestamp":"2017-06-08T15:45:58.520996+0000","event_type":"http","src_ip":"10.0.0.1","http":{"hostname":"a.example","url":"/"}}"#
        }
        Format::PassiveDns => {
            "1322849924.408856||10.1.1.1||8.8.8.8||IN||a.example.||A||192.0.2.1||60||1"
        }
        Format::CirclPdns => {
            r#"{"rrname":"a.example","rrtype":"A","rdata":"192.0.2.1","time_first":1,"time_last":2,"count":1}"#
        }
    }
}

/// Header lines a format needs before its data.
fn header(format: Format) -> &'static str {
    match format {
        Format::W3c => "#Fields: date time c-ip cs-host sc-status\n",
        Format::ZeekTsv => {
            "#separator \\x09\n#path\thttp\n#fields\tts\tid.orig_h\tmethod\thost\turi\n"
        }
        _ => "",
    }
}

fn surround(format: Format, bad: &[u8]) -> Vec<u8> {
    let mut data = header(format).as_bytes().to_vec();
    data.extend_from_slice(good_line(format).as_bytes());
    data.push(b'\n');
    data.extend_from_slice(bad);
    data.push(b'\n');
    data.extend_from_slice(good_line(format).as_bytes());
    data.push(b'\n');
    data
}

#[test]
fn good_lines_parse_in_every_format() {
    for format in Format::ALL {
        let (events, rejects, _) =
            read_all(&surround(format, b""), format, &ReaderConfig::default());
        assert_eq!(
            (events.len(), rejects.len()),
            (2, 0),
            "{format}: {rejects:?}"
        );
    }
}

#[test]
fn bad_lines_are_rejected_with_location_and_neighbours_kept() {
    let bad: [&[u8]; 5] = [
        b"only three columns",
        b"\x00\x01\x02\xff\xfe binary \x1b[0m",
        b"caf\xe9 \xff not utf-8",
        b"{\"half\": ",
        b"1677971735.123x 567 192.168.1.100 TCP_MISS/200 5432 GET http://e/ - HIER_DIRECT/- -",
    ];
    for format in Format::ALL {
        for bad_line in bad {
            let (events, rejects, stats) = read_all(
                &surround(format, bad_line),
                format,
                &ReaderConfig::default(),
            );
            assert_eq!(events.len(), 2, "{format} {bad_line:?}");
            assert_eq!(rejects.len(), 1, "{format} {bad_line:?}");
            let line = header(format).lines().count() as u64 + 2;
            assert_eq!(rejects[0].location.line, Some(line), "{format}");
            assert_eq!(stats.rejected, 1);
        }
    }
}

#[test]
fn invalid_utf8_is_rejected_or_decoded_as_configured() {
    let data = surround(Format::Squid, b"1677971735.123 567 192.168.1.100 TCP_MISS/200 5432 GET http://caf\xe9.example/ - HIER_DIRECT/- -");
    let (events, rejects, _) = read_all(&data, Format::Squid, &ReaderConfig::default());
    assert_eq!((events.len(), rejects.len()), (2, 1));
    let reason = rejects[0].reason.downcast_ref::<RecordError>().unwrap();
    assert_eq!(*reason, RecordError::InvalidUtf8 { position: 65 });

    let lossy = ReaderConfig {
        utf8: Utf8Policy::Lossy,
        ..ReaderConfig::default()
    };
    let (events, rejects, _) = read_all(&data, Format::Squid, &lossy);
    assert_eq!((events.len(), rejects.len()), (3, 0));
}

#[test]
fn ten_megabyte_line_is_skipped_without_losing_neighbours() {
    for format in Format::ALL {
        let huge = vec![b'A'; 10 << 20];
        let (events, rejects, stats) =
            read_all(&surround(format, &huge), format, &ReaderConfig::default());
        assert_eq!((events.len(), rejects.len()), (2, 1), "{format}");
        assert!(
            rejects[0]
                .to_string()
                .contains("exceeds the limit of 1048576 bytes"),
            "{}",
            rejects[0]
        );
        assert!(stats.bytes > 10 << 20);
    }
}

#[test]
fn truncated_gzip_member_ends_with_a_located_rejection() {
    let mut plain = Vec::new();
    for i in 0..5000 {
        writeln!(plain, "1677971735.{i:03} 567 192.168.1.100 TCP_MISS/200 5432 GET http://example.com/{i} - HIER_DIRECT/93.184.216.34 text/html").unwrap();
    }
    // Two members: the first whole, the second cut in the middle.
    let mut data = Vec::new();
    for half in plain.chunks(plain.len() / 2) {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(half).unwrap();
        data.extend(enc.finish().unwrap());
    }
    data.truncate(data.len() - 100);
    let (events, rejects, _) = read_all(&data, Format::Squid, &ReaderConfig::default());
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(
        rejects[0].to_string().contains("input ends early"),
        "{}",
        rejects[0]
    );
    assert!(
        events.len() > 4900,
        "{} events before the cut",
        events.len()
    );
    assert_eq!(rejects[0].location.line, Some(events.len() as u64 + 1));
}

#[test]
fn compressed_inputs_are_detected_by_magic() {
    let text = surround(Format::Squid, b"");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    let gz = gz.finish().unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&text).unwrap();
    let bz = bz.finish().unwrap();
    let zst = zstd::encode_all(&text[..], 1).unwrap();
    for data in [gz, bz, zst] {
        let (events, rejects, stats) = read_all(&data, Format::Squid, &ReaderConfig::default());
        assert_eq!((events.len(), rejects.len()), (2, 0));
        assert_eq!(stats.bytes, text.len() as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let config = ReaderConfig { max_line_len: 256, ..ReaderConfig::default() };
        for format in Format::ALL {
            let (events, rejects, stats) = read_all(&data, format, &config);
            prop_assert_eq!(stats.events, events.len() as u64);
            prop_assert_eq!(stats.rejected, rejects.len() as u64);
        }
        let _ = picket_sources::detect(&data);
    }

    #[test]
    fn truncated_good_input_never_panics(cut in 0usize..600, format_index in 0usize..10) {
        let format = Format::ALL[format_index];
        let data = surround(format, good_line(format).as_bytes());
        let cut = cut.min(data.len());
        let (events, _, _) = read_all(&data[..cut], format, &ReaderConfig::default());
        prop_assert!(events.len() <= 3);
    }

    #[test]
    fn mutated_lines_never_panic(flips in proptest::collection::vec((0usize..400, any::<u8>()), 1..8), format_index in 0usize..10) {
        let format = Format::ALL[format_index];
        let mut data = surround(format, good_line(format).as_bytes());
        for (at, byte) in flips {
            let at = at % data.len();
            data[at] = byte;
        }
        let _ = read_all(&data, format, &ReaderConfig::default());
    }
}
