//! Garbage, truncations and mutations of every format: the readers reject
//! them with a reason and never panic. (The fuzz targets `intel_*` run the
//! same entry points for longer.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods, clippy::print_stderr)]

use picket_intel::{load_bytes, Format, LoadOptions, RuleFile};
use proptest::prelude::*;

const SAMPLES: &[(Format, &str)] = &[
    (Format::Plain, "# c\n192.0.2.1 tag\nevil.example,a,b\nhttp://x.example/a#f\n*.w.example\n"),
    (Format::SpamhausDrop, "; Spamhaus DROP\n1.10.16.0/20 ; SBL256894\nAS123 ; x\n"),
    (Format::SpamhausJson, "{\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL1\",\"rir\":\"apnic\"}\n{\"type\":\"metadata\",\"records\":1}\n"),
    (Format::FeodoCsv, "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\"2024-01-01 00:00:00\",\"192.0.2.1\",\"443\",\"online\",\"2024-01-02\",\"X\"\n# END 1 entries"),
    (Format::PicketCsv, "kind,value,include_subdomains,provider,feed,confidence,tlp,tags,assessment,first_seen,last_seen,valid_until,description,reference\ndomain,a.example,true,p,\"f, g\",80,amber,a|b,c2,2024-01-01T00:00:00Z,,,\"d \"\"q\"\"\",https://r.example/\n"),
    (Format::Bambenek, "a.example,Domain used by x,2016-11-12 15:02,http://m.example/x.txt\n"),
    (Format::Dshield, "Start\tEnd\tNetblock\tAttacks\n192.0.2.0\t192.0.2.255\t24\t5\tn\tc\te\n"),
    (Format::ZeekIntel, "#fields\tindicator\tindicator_type\tmeta.source\n192.0.2.1\tIntel::ADDR\ts\n"),
    (Format::ArkimeTagger, "#field:tags;shortcut:0\n192.0.2.1;0=a,b\n"),
    (Format::SuricataDataset, "ZXZpbC5leGFtcGxl\nMTkyLjAuMi4x\n"),
    (Format::Stix2, r#"{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '192.0.2.1' OR domain-name:value = 'a.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}]}"#),
    (Format::Misp, r#"{"Event":{"info":"x","Tag":[{"name":"tlp:red"}],"Attribute":[{"type":"ip-dst","value":"192.0.2.1","to_ids":true},{"type":"domain|ip","value":"a.example|192.0.2.2","to_ids":true}],"Object":[{"Attribute":[{"type":"md5","value":"d41d8cd98f00b204e9800998ecf8427e","to_ids":true}]}]}}"#),
    (Format::Openioc, r#"<?xml version="1.0"?><ioc id="x"><short_description>a &amp; b</short_description><definition><Indicator operator="OR"><IndicatorItem condition="is"><Context search="PortItem/remoteIP"/><Content type="IP">192.0.2.1</Content></IndicatorItem><Indicator operator="AND"><IndicatorItem condition="is"><Context search="DnsEntryItem/Host"/><Content>a.example</Content></IndicatorItem></Indicator></Indicator></definition></ioc>"#),
];

fn options(format: Format) -> LoadOptions {
    LoadOptions { format: Some(format), ..LoadOptions::default() }
}

#[test]
fn samples_are_valid() {
    for (format, text) in SAMPLES {
        let report = load_bytes("s", text.as_bytes(), &options(*format)).unwrap();
        assert!(!report.indicators.is_empty(), "{format}");
    }
}

#[test]
fn every_truncation_is_handled() {
    for (format, text) in SAMPLES {
        let bytes = text.as_bytes();
        for cut in 0..bytes.len() {
            let _ = load_bytes("t", &bytes[..cut], &options(*format));
        }
    }
}

#[test]
fn deep_nesting_is_rejected() {
    let xml = format!("<ioc>{}{}</ioc>", "<a>".repeat(10_000), "</a>".repeat(10_000));
    assert!(load_bytes("d", xml.as_bytes(), &options(Format::Openioc)).is_err());
    let json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(load_bytes("d", json.as_bytes(), &options(Format::Stix2)).is_err());
    assert!(load_bytes("d", json.as_bytes(), &options(Format::Misp)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), which in 0..SAMPLES.len()) {
        let _ = load_bytes("g", &bytes, &options(SAMPLES[which].0));
        let _ = load_bytes("g", &bytes, &LoadOptions::default());
        let _ = picket_intel::classify(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_samples_never_panic(which in 0..SAMPLES.len(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut bytes = SAMPLES[which].1.as_bytes().to_vec();
        for (at, byte) in edits {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        let _ = load_bytes("m", &bytes, &options(SAMPLES[which].0));
    }

    #[test]
    fn rule_files_never_panic(text in "\\PC{0,300}") {
        let _ = RuleFile::parse(std::path::Path::new("r.yaml"), &text);
    }
}
