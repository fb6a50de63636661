//! Whole-document formats from the public corpus: STIX 2.1, OpenIOC and
//! MISP, plus the hostile XML fixtures beside this file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods, clippy::print_stderr)]

use std::path::Path;

use picket_intel::{load_file, Format, IndicatorKind, IntelError};

#[test]
fn stix_c2_indicator_and_apt1_report() {
    let path = picket_corpus::require_corpus!("threat-intel/stix21/cti-stix2-json-schemas/examples/indicator-for-c2-ip-address.json");
    let report = load_file(&path).unwrap();
    assert_eq!(report.format, Some(Format::Stix2));
    assert_eq!(report.indicators.len(), 1, "{:?}", report.rejections);
    assert_eq!(report.indicators[0].kind, IndicatorKind::Ipv4);

    let path = picket_corpus::require_corpus!("threat-intel/stix21/cti-stix2-json-schemas/examples/threat-reports/apt1.json");
    let report = load_file(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let patterns = text.matches("\"pattern\":").count();
    // Every indicator either yields indicators or is reported.
    let x509 = text.matches("x509-certificate:issuer").count();
    assert!(report.indicators.len() >= patterns - x509);
    let unsupported = report.rejections.iter().filter(|r| r.to_string().contains("x509-certificate")).count();
    assert_eq!(unsupported, x509, "x509 patterns must be reported: {:?}", report.rejections.iter().map(ToString::to_string).collect::<Vec<_>>());
    let cidrs = report.indicators.iter().filter(|i| i.kind == IndicatorKind::Cidr).count();
    assert!(cidrs >= 4);
    assert!(report.indicators.iter().any(|i| i.value == "hugesoft.org"));

    let path = picket_corpus::require_corpus!("threat-intel/stix21/cti-stix2-json-schemas/examples/threat-reports/poisonivy.json");
    let report = load_file(&path).unwrap();
    let freetcp = report.indicators.iter().find(|i| i.value == "www.webserver.freetcp.com").unwrap();
    assert_eq!(freetcp.kind, IndicatorKind::Domain);
    // The same C2 addresses appear in several OR patterns: one indicator each.
    assert!(report.duplicates > 0);
}

#[test]
fn stix_invalid_examples_are_rejected_with_their_reason() {
    let dir = picket_corpus::require_corpus!("threat-intel/stix21/cti-stix-validator/test_examples");
    let load = |name: &str| load_file(&dir.join(name));
    for name in ["invalid_braces.json", "invalid_comma.json"] {
        match load(name) {
            Err(IntelError::InvalidDocument { reason, .. }) => assert!(reason.contains("JSON"), "{name}: {reason}"),
            other => panic!("{name}: expected an invalid document, got {other:?}"),
        }
    }
    let report = load("invalid_identity.json").unwrap();
    assert_eq!(report.rejections.len(), 1);
    assert!(report.rejections[0].to_string().contains("missing field $.modified"), "{}", report.rejections[0]);
    let report = load("invalid_timestamp.json").unwrap();
    assert_eq!(report.rejections.len(), 1);
    assert!(report.rejections[0].to_string().contains("before created"), "{}", report.rejections[0]);
    for valid in ["identity.json", "identity_warning.json", "identity_unicode.json", "tlp-amber.json", "tool.json"] {
        let report = load(valid).unwrap();
        assert!(report.rejections.is_empty(), "{valid}: {:?}", report.rejections);
    }
}

#[test]
fn stix_spec_patterns_all_parse() {
    let path = picket_corpus::require_corpus!("threat-intel/stix21/cti-pattern-validator/spec_examples_v21_valid.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut usable = 0;
    for (i, pattern) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let bundle = serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2020-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z",
            "pattern": pattern, "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"
        });
        let options = picket_intel::LoadOptions { format: Some(Format::Stix2), ..Default::default() };
        let report = picket_intel::load_bytes("p.json", bundle.to_string().as_bytes(), &options).unwrap();
        for r in &report.rejections {
            let text = r.to_string();
            assert!(text.contains("unsupported pattern"), "line {}: {pattern}: {text}", i + 1);
        }
        assert!(!report.indicators.is_empty() || !report.rejections.is_empty(), "line {}: silently dropped", i + 1);
        usable += usize::from(!report.indicators.is_empty());
    }
    assert!(usable >= 8, "{usable}");
}

#[test]
fn openioc_corpus_files_read() {
    let root = picket_corpus::require_corpus!("threat-intel/openioc");
    let mut files = Vec::new();
    collect(&root, &mut files);
    assert!(files.len() > 30);
    let mut indicators = 0;
    let mut context = 0;
    for file in &files {
        let report = load_file(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(report.format, Some(Format::Openioc));
        indicators += report.indicators.len();
        context += report.context_terms;
    }
    assert!(indicators > 150, "{indicators}");
    assert!(context > 100, "{context}");

    // Zeus's IOC contains only process-handle terms, so all are context.
    let zeus = root.join("openioc-to-stix/examples/zeus.ioc.xml");
    let report = load_file(&zeus).unwrap();
    assert!(report.indicators.is_empty());
    assert_eq!(report.context_terms, 12);
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "ioc") || path.to_string_lossy().ends_with(".ioc.xml") {
            out.push(path);
        }
    }
}

#[test]
fn hostile_xml_is_rejected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    for name in ["billion-laughs.ioc", "xxe.ioc"] {
        let err = load_file(&dir.join(name)).unwrap_err().to_string();
        assert!(err.contains("DOCTYPE is not accepted"), "{name}: {err}");
    }
}

#[test]
fn misp_events() {
    let path = picket_corpus::require_corpus!("threat-intel/misp/pymisp_existing_event.json");
    let report = load_file(&path).unwrap();
    assert_eq!(report.format, Some(Format::Misp));
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    let count = |kind| report.indicators.iter().filter(|i| i.kind == kind).count();
    // 28 domain attributes with to_ids, 18 distinct values (counted with jq).
    assert_eq!(count(IndicatorKind::Domain), 18);
    assert_eq!(count(IndicatorKind::FileName), 15);
    assert_eq!(count(IndicatorKind::Sha1), 37);
    assert!(count(IndicatorKind::Ipv4) + count(IndicatorKind::Cidr) >= 11);
    assert!(report.context_terms >= 39);

    let path = picket_corpus::require_corpus!("threat-intel/misp/pymisp_57c4445b-c548-4654-af0b-4be3950d210f.json");
    let report = load_file(&path).unwrap();
    let kinds: Vec<_> = report.indicators.iter().map(|i| i.kind).collect();
    assert!(kinds.contains(&IndicatorKind::Md5) && kinds.contains(&IndicatorKind::Sha256) && kinds.contains(&IndicatorKind::FileName));

    let path = picket_corpus::require_corpus!("threat-intel/misp/pymisp_event_obj_attr_tag.json");
    let report = load_file(&path).unwrap();
    assert!(report.indicators.iter().any(|i| i.kind == IndicatorKind::Url));

    for name in ["intelmq_misp_event.json", "intelmq_misp_attribute.json", "pymisp_galaxy.json", "pymisp_misp_event.json"] {
        let path = picket_corpus::require_corpus!(&format!("threat-intel/misp/{name}"));
        let report = load_file(&path).unwrap();
        assert!(report.rejections.is_empty(), "{name}: {:?}", report.rejections);
    }
}
