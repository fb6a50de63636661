//! Line-oriented feeds from the public corpus, with entry counts taken from
//! the files' own headers and trailers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods, clippy::print_stderr)]

use picket_intel::{load_file, Format, IndicatorKind};

/// Data lines of a text file: not blank, not a `;` or `#` comment.
fn data_lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with(';') && !t.starts_with('#')
        })
        .count()
}

#[test]
fn feodo_matches_its_trailer() {
    let path = picket_corpus::require_corpus!("threat-intel/abusech/feodotracker_ipblocklist_2024-04-04.csv");
    let report = load_file(&path).unwrap();
    assert_eq!(report.format, Some(Format::FeodoCsv));
    assert_eq!(report.declared_entries, Some(28));
    assert_eq!(report.records, 28);
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    let ips: usize = report.indicators.iter().filter(|i| i.kind == IndicatorKind::Ipv4).count();
    assert_eq!(ips + report.duplicates as usize, 28);
    let first = &report.indicators[0];
    assert_eq!(first.value, "192.9.135.73");
    let s = &first.sightings[0];
    assert!(s.source.tags.contains(&"pikabot".to_owned()));
    assert_eq!(s.first_seen.unwrap().to_string(), "2023-05-23T17:51:44Z");
}

#[test]
fn spamhaus_drop_text_json_and_v6() {
    let drop = picket_corpus::require_corpus!("threat-intel/spamhaus/drop.txt");
    let report = load_file(&drop).unwrap();
    assert_eq!(report.format, Some(Format::SpamhausDrop));
    assert!(report.rejections.is_empty());
    assert_eq!(report.indicators.len(), data_lines(&drop));
    assert_eq!(report.indicators[0].value, "1.10.16.0/20");
    assert_eq!(report.indicators[0].sightings[0].source.description.as_deref(), Some("SBL256894"));

    let json = picket_corpus::require_corpus!("threat-intel/spamhaus/drop_v4.json");
    let report = load_file(&json).unwrap();
    assert_eq!(report.format, Some(Format::SpamhausJson));
    assert_eq!(report.declared_entries, Some(1406));
    assert_eq!(report.records, 1406);
    assert_eq!(report.indicators.len() + report.duplicates as usize, 1406);

    let v6 = picket_corpus::require_corpus!("threat-intel/spamhaus/dropv6.txt");
    let report = load_file(&v6).unwrap();
    assert_eq!(report.indicators.len(), data_lines(&v6));
    assert!(report.indicators.iter().all(|i| i.kind == IndicatorKind::Cidr && i.value.contains(':')));

    let edrop = picket_corpus::require_corpus!("threat-intel/spamhaus/edrop_2023-12.txt");
    assert_eq!(load_file(&edrop).unwrap().indicators.len(), data_lines(&edrop));

    let stub = picket_corpus::require_corpus!("threat-intel/spamhaus/edrop_2024-10_merged-stub.txt");
    let report = load_file(&stub).unwrap();
    assert!(report.indicators.is_empty() && report.rejections.is_empty());
}

#[test]
fn spamhaus_asn_drop_is_reported_not_dropped() {
    let path = picket_corpus::require_corpus!("threat-intel/spamhaus/intelmq/asndrop.txt");
    let report = load_file(&path).unwrap();
    assert!(report.indicators.is_empty());
    assert_eq!(report.rejections.len(), 2);
    assert!(report.rejections[0].to_string().contains("autonomous system"));
}

#[test]
fn bambenek_feeds() {
    for (file, kind) in [
        ("threat-intel/bambenek-intelmq/c2-ipmasterlist.txt", IndicatorKind::Ipv4),
        ("threat-intel/bambenek-intelmq/c2-dommasterlist.txt", IndicatorKind::Domain),
        ("threat-intel/bambenek-intelmq/dga-feed.txt", IndicatorKind::Domain),
    ] {
        let path = picket_corpus::require_corpus!(file);
        let report = load_file(&path).unwrap();
        assert_eq!(report.format, Some(Format::Bambenek), "{file}");
        assert!(report.rejections.is_empty(), "{file}: {:?}", report.rejections);
        assert_eq!(report.records as usize, data_lines(&path), "{file}");
        assert!(report.indicators.iter().all(|i| i.kind == kind));
        assert!(report.indicators[0].sightings[0].source.reference.is_some());
    }
}

#[test]
fn dshield_block_list() {
    let path = picket_corpus::require_corpus!("threat-intel/plain-lists/dshield_block.txt");
    let report = load_file(&path).unwrap();
    assert_eq!(report.format, Some(Format::Dshield));
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    let values: Vec<_> = report.indicators.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(values, ["43.229.53.0/24", "194.63.140.0/24"]);
}

#[test]
fn zeek_intel_files_and_their_whitelist() {
    let path = picket_corpus::require_corpus!("ioc-matching/zeek-intel/match-subnet/intel.dat");
    let report = load_file(&path).unwrap();
    assert_eq!(report.format, Some(Format::ZeekIntel));
    assert_eq!(report.indicators.len(), 6);
    assert_eq!(report.indicators.iter().filter(|i| i.kind == IndicatorKind::Cidr).count(), 4);

    let path = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting/whitelist.dat");
    let report = load_file(&path).unwrap();
    assert!(report.indicators.is_empty());
    assert_eq!(report.allow[0].value, "meta.wikimedia.org");
    assert_eq!(report.allow[0].sightings[0].assessment.as_deref(), Some("whitelist"));

    let path = picket_corpus::require_corpus!("ioc-matching/zeek-intel/filename-in-http-get-response/intel.dat");
    let report = load_file(&path).unwrap();
    assert_eq!(report.indicators[0].kind, IndicatorKind::FileName);
}

#[test]
fn misp_warninglists_whitelist_popular_names_and_sinkholes() {
    let dir = picket_corpus::require_corpus!("benign-and-warninglists/misp-warninglists");
    let mut whitelist = picket_intel::Whitelist::new();
    assert_eq!(whitelist.load_path(&dir).unwrap(), 14);
    let check = |kind, value: &str| whitelist.check(kind, value);
    assert!(check(IndicatorKind::Domain, "www.google.com").is_some());
    assert!(check(IndicatorKind::Url, "https://docs.google.com/x").is_some());
    assert!(check(IndicatorKind::Ipv4, "10.20.30.40").is_some());
    assert!(check(IndicatorKind::Ipv4, "104.155.11.149").is_some(), "a sinkhole");
    assert!(check(IndicatorKind::Domain, "sfkh21okrrnlu.com").is_none());
    assert!(check(IndicatorKind::Ipv4, "213.247.47.190").is_none());
    let reason = check(IndicatorKind::Ipv4, "192.168.1.1").unwrap();
    assert!(reason.to_string().contains("192.168.0.0/16"), "{reason}");
    assert!(whitelist.allow_entries().len() > 50_000);
}

#[test]
fn the_example_feed_rules_are_valid_and_local_ones_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../intel/rules");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let rules = picket_intel::RuleFile::load(&entry.path()).unwrap_or_else(|e| panic!("{e}"));
        files += 1;
        for feed in &rules.feeds {
            if feed.remote.starts_with("http") {
                continue;
            }
            let report = picket_intel::load_file_with(std::path::Path::new(&feed.remote), &feed.load_options()).unwrap();
            assert!(report.rejections.is_empty(), "{}: {:?}", feed.name, report.rejections);
            assert!(!report.indicators.is_empty(), "{}", feed.name);
        }
    }
    assert!(files >= 4);
}
