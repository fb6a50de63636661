//! `picket triage` end to end on the HTTP fixture logs.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../picket-detect/tests/fixtures/http")
}

fn triage(out: &Path, input: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_picket"))
        .arg("triage")
        .arg("--config")
        .arg(fixtures().join("triage/triage.yaml"))
        .arg("--out-dir")
        .arg(out)
        .args(extra)
        .arg(input)
        .output()
        .unwrap()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

fn data_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn drive_by_lines_land_in_explicit_black() {
    let out = tempfile::tempdir().unwrap();
    let result = triage(out.path(), &fixtures().join("drive-by-full.w3c.log"), &[]);
    assert_eq!(
        result.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );

    let black = read(out.path(), "explicit-black.log");
    let lines = data_lines(&black);
    assert_eq!(lines.len(), 4, "{black}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("kitblast.example") || l.contains("jhgsd7.example"))
    );
    assert!(black.starts_with("#Software:"), "W3C headers are copied");

    assert_eq!(data_lines(&read(out.path(), "explicit-white.log")).len(), 2);
    assert_eq!(data_lines(&read(out.path(), "ek-landing.log")).len(), 1);
    assert_eq!(
        data_lines(&read(out.path(), "client-10.20.1.15.log")).len(),
        9
    );
}

#[test]
fn output_is_the_same_for_any_chunking() {
    let input = fixtures().join("beacon-jitter.squid.log");
    let whole = tempfile::tempdir().unwrap();
    let chunked = tempfile::tempdir().unwrap();
    triage(whole.path(), &input, &["--threads", "1"]);
    triage(
        chunked.path(),
        &input,
        &["--threads", "2", "--chunk-lines", "7"],
    );
    for band in ["explicit-white", "white", "grey", "black", "explicit-black"] {
        let name = format!("{band}.log");
        assert_eq!(
            read(whole.path(), &name),
            read(chunked.path(), &name),
            "{band} differs"
        );
    }
    let original = std::fs::read_to_string(&input).unwrap();
    let total: usize = ["explicit-white", "white", "grey", "black", "explicit-black"]
        .iter()
        .map(|b| data_lines(&read(whole.path(), &format!("{b}.log"))).len())
        .sum();
    assert_eq!(total, original.lines().count());
}

#[test]
fn garbage_lines_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.squid.log");
    let good = std::fs::read_to_string(fixtures().join("raw-ip-post.squid.log")).unwrap();
    let mut text = String::new();
    for (i, line) in good.lines().enumerate() {
        text.push_str(line);
        text.push('\n');
        if i == 0 {
            text.push_str("1709629201.100 not a squid line at all\n");
            text.push_str("\u{1}\u{2}garbage\n");
        }
    }
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("out");
    let result = triage(&out, &input, &["--format", "squid"]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("mixed.squid.log:2"), "{stderr}");
    assert!(stderr.contains("mixed.squid.log:3"), "{stderr}");
    let scored: usize = ["explicit-white", "white", "grey", "black", "explicit-black"]
        .iter()
        .map(|b| data_lines(&read(&out, &format!("{b}.log"))).len())
        .sum();
    assert_eq!(scored, 3);
}

#[test]
fn invalid_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yaml");
    std::fs::write(
        &config,
        "checks:\n  - field: domain\n    list: x.txt\n    match: exact\n    wieght: 1\n",
    )
    .unwrap();
    let result = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["triage", "--config"])
        .arg(&config)
        .arg(fixtures().join("raw-ip-post.squid.log"))
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("wieght"));
}
