//! Every export format, checked by reading it back and, where one exists,
//! by an independent tool: `named-checkzone` (Debian bind9-utils) for the
//! RPZ, the `stix2` and `pymisp` Python libraries for STIX and MISP. A
//! missing tool prints "skipped: ... not installed" and the check passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods, clippy::print_stderr)]

use std::io::Write;
use std::process::Command;

use picket_event::Timestamp;
use picket_intel::{export, load_bytes, ExportFormat, ExportOptions, Format, IndicatorKind, LoadOptions, Whitelist};

const FEED: &str = "\
192.0.2.1 c2
198.51.100.0/24 scanner
10.1.0.0-10.1.0.255
2001:db8::1
2001:db8:1::/48
evil.example malware
login.phish.example phishing
http://evil.example/gate.php?id=1
bad.actor@evil.example
d41d8cd98f00b204e9800998ecf8427e
da39a3ee5e6b4b0d3255bfef95601890afd80709
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
www.google.com
";

fn indicators() -> Vec<picket_intel::Indicator> {
    let options = LoadOptions {
        defaults: picket_intel::Defaults {
            provider: Some("test".into()),
            tlp: Some(picket_intel::Tlp::Amber),
            ..Default::default()
        },
        reported_at: Some(Timestamp::parse_rfc3339("2025-01-01T00:00:00Z").unwrap()),
        ..LoadOptions::default()
    };
    let mut report = load_bytes("feed.txt", FEED.as_bytes(), &options).unwrap();
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    let ua = picket_intel::normalize_observable(IndicatorKind::UserAgent, "EvilBot/1.0 (it's)").unwrap();
    report.indicators.push(picket_intel::Indicator::new(ua, report.indicators[0].sightings[0].clone()));
    report.indicators
}

fn whitelist() -> Whitelist {
    let mut w = Whitelist::new();
    w.add_local(picket_intel::normalize_observable(IndicatorKind::Domain, "www.google.com").unwrap(), "local", None);
    w
}

fn run(format: ExportFormat) -> (String, picket_intel::ExportCounts) {
    let options = ExportOptions { now: Timestamp::parse_rfc3339("2025-01-02T03:04:05Z").unwrap(), ..ExportOptions::default() };
    let mut out = Vec::new();
    let counts = export(format, &indicators(), &whitelist(), &options, &mut out).unwrap();
    assert_eq!(counts.whitelisted, 1, "{format:?}");
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("www.google.com"), "{format:?} leaked a whitelisted value");
    (text, counts)
}

fn tool_available(program: &str, probe: &[&str]) -> bool {
    let ok = Command::new(program).args(probe).output().is_ok_and(|o| o.status.success());
    if !ok {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: {program} {} not installed", probe.join(" "));
        }
    }
    ok
}

fn temp_file(text: &str, suffix: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

#[test]
fn zeek_round_trips() {
    let (text, counts) = run(ExportFormat::Zeek);
    assert_eq!(counts.written, 13);
    assert!(text.contains("evil.example/gate.php?id=1\tIntel::URL"));
    let back = load_bytes("x.dat", text.as_bytes(), &LoadOptions::default()).unwrap();
    assert_eq!(back.format, Some(Format::ZeekIntel));
    assert!(back.rejections.is_empty(), "{:?}", back.rejections);
    assert!(back.indicators.iter().any(|i| i.value == "http://evil.example/gate.php?id=1"));
    assert!(back.indicators.iter().any(|i| i.value == "10.1.0.0/24"));
}

#[test]
fn rpz_passes_named_checkzone() {
    let (text, counts) = run(ExportFormat::Rpz);
    assert!(text.contains("*.evil.example CNAME ."));
    assert!(text.contains("32.1.2.0.192.rpz-ip CNAME ."));
    assert_eq!(counts.unsupported.iter().map(|(_, n)| n).sum::<u64>(), 6);
    if !tool_available("named-checkzone", &["-v"]) {
        return;
    }
    let zone = temp_file(&text, ".zone");
    let out = Command::new("named-checkzone").arg("rpz.picket").arg(zone.path()).output().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), text);
}

#[test]
fn stix_bundle_passes_the_stix2_library_and_reads_back() {
    let (text, counts) = run(ExportFormat::Stix2);
    assert_eq!(counts.written, 13);
    let back = load_bytes("b.json", text.as_bytes(), &LoadOptions::default()).unwrap();
    assert!(back.rejections.is_empty(), "{:?}", back.rejections);
    assert_eq!(back.indicators.len(), 13, "{:?}", back.indicators.iter().map(|i| &i.value).collect::<Vec<_>>());
    assert!(back.indicators.iter().all(|i| i.sightings[0].source.tlp.as_deref() == Some("amber")));
    if !tool_available("python3", &["-c", "import stix2"]) {
        return;
    }
    let file = temp_file(&text, ".json");
    let script = "import sys, stix2\n\
                  b = stix2.parse(open(sys.argv[1]).read(), allow_custom=False)\n\
                  assert len(b.objects) == 13, len(b.objects)\n\
                  for o in b.objects:\n    assert o.type == 'indicator'\n";
    let out = Command::new("python3").args(["-c", script]).arg(file.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn misp_event_passes_pymisp_and_reads_back() {
    let (text, _) = run(ExportFormat::Misp);
    let back = load_bytes("e.json", text.as_bytes(), &LoadOptions::default()).unwrap();
    assert_eq!(back.format, Some(Format::Misp));
    assert!(back.rejections.is_empty(), "{:?}", back.rejections);
    assert!(back.indicators.len() >= 13);
    if !tool_available("python3", &["-c", "import pymisp"]) {
        return;
    }
    let file = temp_file(&text, ".json");
    let script = "import sys\nfrom pymisp import MISPEvent\n\
                  e = MISPEvent()\ne.load_file(sys.argv[1])\n\
                  assert len(e.attributes) >= 13, len(e.attributes)\n\
                  assert all(a.to_ids for a in e.attributes)\n\
                  assert any(t.name == 'tlp:amber' for a in e.attributes for t in a.tags)\n";
    let out = Command::new("python3").args(["-c", script]).arg(file.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn line_formats() {
    let (squid, _) = run(ExportFormat::SquidDstdomain);
    assert_eq!(squid.lines().collect::<Vec<_>>(), [".evil.example", ".login.phish.example"]);
    let (dst, _) = run(ExportFormat::SquidDst);
    assert_eq!(dst.lines().count(), 5);
    let (ipset, _) = run(ExportFormat::Ipset);
    assert!(ipset.contains("add picket-v4 192.0.2.1/32 -exist"));
    assert!(ipset.contains("add picket-v6 2001:db8:1::/48 -exist"));
    let (iprep, _) = run(ExportFormat::SuricataIprep);
    assert!(iprep.contains("192.0.2.1,1,63"), "{iprep}");
    let (plain, counts) = run(ExportFormat::Plain);
    assert_eq!(counts.unsupported, [(IndicatorKind::UserAgent, 1)]);
    let back = load_bytes("p.txt", plain.as_bytes(), &LoadOptions::default()).unwrap();
    assert_eq!(back.indicators.len(), 12);
    let (csv, _) = run(ExportFormat::Csv);
    assert!(csv.starts_with("kind,value,"));
    assert_eq!(csv.lines().count(), 14);
}

#[test]
fn suricata_dataset_needs_one_kind() {
    let options = ExportOptions::default();
    let mut out = Vec::new();
    assert!(export(ExportFormat::SuricataDataset, &indicators(), &whitelist(), &options, &mut out).is_err());
    let domains: Vec<_> = indicators().into_iter().filter(|i| i.kind == IndicatorKind::Domain).collect();
    let counts = export(ExportFormat::SuricataDataset, &domains, &whitelist(), &options, &mut out).unwrap();
    assert_eq!(counts.written, 2);
    let load = LoadOptions { format: Some(Format::SuricataDataset), ..LoadOptions::default() };
    let back = load_bytes("d.lst", &out, &load).unwrap();
    assert_eq!(back.indicators.len(), 2);
}

#[test]
fn csv_export_loads_back() {
    // Every exported column set on the first indicator's sighting.
    let mut indicators = indicators();
    let time = |t: &str| Some(Timestamp::parse_rfc3339(t).unwrap());
    let s = &mut indicators[0].sightings[0];
    s.source.feed = "c2 list, daily".into();
    s.source.confidence = 85;
    s.source.tags = vec!["c2".into(), "botnet x".into()];
    s.source.description = Some("said \"hi\"\nand left".into());
    s.source.reference = Some("https://example.org/ioc?id=1".into());
    s.assessment = Some("c2".into());
    s.first_seen = time("2024-12-01T00:00:00Z");
    s.last_seen = time("2024-12-31T12:00:00.5Z");
    s.valid_until = time("2025-06-01T00:00:00Z");

    let options = ExportOptions { now: Timestamp::parse_rfc3339("2025-01-02T03:04:05Z").unwrap(), ..ExportOptions::default() };
    let mut out = Vec::new();
    export(ExportFormat::Csv, &indicators, &whitelist(), &options, &mut out).unwrap();
    let back = load_bytes("export.csv", &out, &LoadOptions::default()).unwrap();
    assert_eq!(back.format, Some(Format::PicketCsv));
    assert!(back.rejections.is_empty(), "{:?}", back.rejections);

    let exported: Vec<_> = indicators.iter().filter(|i| i.value != "www.google.com").collect();
    assert_eq!(back.indicators.len(), exported.len());
    for indicator in exported {
        let loaded = back
            .indicators
            .iter()
            .find(|l| l.kind == indicator.kind && l.value == indicator.value)
            .unwrap_or_else(|| panic!("{} not loaded back", indicator.value));
        assert_eq!(loaded.include_subdomains, indicator.include_subdomains, "{}", indicator.value);
        assert_eq!(loaded.sightings.len(), indicator.sightings.len(), "{}", indicator.value);
        for (l, e) in loaded.sightings.iter().zip(&indicator.sightings) {
            assert_eq!(l.source, e.source, "{}", indicator.value);
            assert_eq!(l.assessment, e.assessment, "{}", indicator.value);
            assert_eq!((l.first_seen, l.last_seen, l.valid_until), (e.first_seen, e.last_seen, e.valid_until), "{}", indicator.value);
        }
    }
}

#[test]
fn picket_csv_rows_rejected_with_reason() {
    let header = "kind,value,include_subdomains,provider,feed,confidence,tlp,tags,assessment,first_seen,last_seen,valid_until,description,reference\n";
    let rows = [
        ("ipv4,192.0.2.1,false,p,f,101,,,,,,,,", "confidence"),
        ("ipv4,192.0.2.1,maybe,p,f,50,,,,,,,,", "include_subdomains"),
        ("ipv4,192.0.2.1,false,p,f,50,purple,,,,,,,", "tlp"),
        ("ipv4,192.0.2.1,false,p,f,50,,,,yesterday,,,,", "first_seen"),
        ("planet,192.0.2.1,false,p,f,50,,,,,,,,", "kind"),
        ("ipv4,192.0.2.1,false", "columns"),
    ];
    for (row, field) in rows {
        let text = format!("{header}{row}\ndomain,good.example,true,p,f,50,green,a|b,,,,,,\n");
        let back = load_bytes("x.csv", text.as_bytes(), &LoadOptions::default()).unwrap();
        assert_eq!(back.indicators.len(), 1, "{row}");
        assert!(back.indicators[0].include_subdomains, "{row}");
        assert_eq!(back.rejections.len(), 1, "{row}");
        let reason = back.rejections[0].to_string();
        assert!(reason.contains(field) || field == "columns", "{row}: {reason}");
        assert!(reason.contains(":2"), "{row}: {reason}");
    }
}
