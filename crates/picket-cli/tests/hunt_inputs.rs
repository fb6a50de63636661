//! `picket hunt INPUT...` end to end: logs and captures hunted without a
//! store, as an analyst sweeps files for indicators.
#![allow(clippy::unwrap_used)] // a test stops at the first unexpected value

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../picket-sources/tests/fixtures")
        .join(name)
}

fn squid_line(secs: u64, client: &str, url: &str) -> String {
    format!(
        "{secs}.123    150 {client} TCP_MISS/200 1024 GET {url} - HIER_DIRECT/192.0.2.10 text/html\n"
    )
}

/// Splits a hunt's stdout into its alerts and the summary on the last line.
fn alerts_and_summary(output: &Output) -> (Vec<Value>, Value) {
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    let mut records: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let summary = records.pop().unwrap();
    assert_eq!(summary["type"], "input_hunt_summary");
    (records, summary)
}

/// Returns what identifies an `intel.match` hit: indicator, field, value
/// and the location of the event, sorted.
fn hit_keys(alerts: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = alerts
        .iter()
        .filter(|a| a["detector"] == "intel.match")
        .map(|a| {
            let hit = &a["indicators"][0];
            let event = &a["events"][0];
            format!(
                "{} {} {} at {}:{}:{}:{}",
                hit["indicator"],
                hit["field"],
                hit["value"],
                event["log.file.path"],
                event["log.line"],
                event["log.packet"],
                event["log.offset"]
            )
        })
        .collect();
    keys.sort();
    keys
}

/// The Zeek whitelisting case: on its capture, `upload.wikimedia.org` is hit
/// 20 times (8 DNS queries, 12 HTTP Host headers) and the whitelisted
/// `meta.wikimedia.org` never.
#[test]
fn zeek_whitelisting_case_hits_twenty() {
    let case = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting");
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let output = picket()
        .args(["hunt", "--intel"])
        .arg(case.join("intel.dat"))
        .arg("--whitelist")
        .arg(case.join("whitelist.dat"))
        .arg(&pcap)
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1), "alerts mean exit 1");
    let (alerts, summary) = alerts_and_summary(&output);
    let in_field = |field: &str| {
        alerts
            .iter()
            .filter(|a| {
                a["indicators"][0]["field"] == field
                    && a["indicators"][0]["indicator"] == "upload.wikimedia.org"
            })
            .count()
    };
    assert_eq!(in_field("dns.question.name"), 8);
    assert_eq!(in_field("url.domain"), 12);
    assert_eq!(alerts.len(), 20, "no other hit, meta.wikimedia.org none");
    assert!(alerts.iter().all(|a| a["retrospective"] == true));
    assert_eq!(summary["hits"], 20);
    assert_eq!(summary["alerts"], 20);
    assert_eq!(summary["inputs_failed"], 0);
    assert_eq!(summary["inputs"][0]["format"], "pcap");
    assert_eq!(summary["sightings"][0]["indicator"], "upload.wikimedia.org");
    assert_eq!(summary["sightings"][0]["count"], 20);
}

/// A hunt through inputs raises the `intel.match` alerts `analyze` raises
/// live on the same inputs, with or without a second thread.
#[test]
fn same_hits_as_analyze() {
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let squid = picket_corpus::require_corpus!("proxy-logs/squid/plaso_squid_access.log");
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.txt");
    std::fs::write(
        &feed,
        "upload.wikimedia.org\nexample.com\n1.2.3.4\n10.20.52.16\n",
    )
    .unwrap();
    let inputs = [pcap, squid, fixture("tmg-webproxy-30col.tsv")];

    let analyzed = picket()
        .args(["analyze", "--no-store", "--format", "jsonl", "--intel"])
        .arg(&feed)
        .args(&inputs)
        .output()
        .unwrap();
    let text = String::from_utf8(analyzed.stdout).unwrap();
    let live: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected = hit_keys(&live);
    assert!(expected.len() > 20, "{expected:?}");

    for threads in ["1", "2"] {
        let output = picket()
            .args(["hunt", "--threads", threads, "--intel"])
            .arg(&feed)
            .args(&inputs)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let (alerts, summary) = alerts_and_summary(&output);
        assert_eq!(hit_keys(&alerts), expected, "{threads} threads");
        assert_eq!(summary["inputs"].as_array().unwrap().len(), 3);
        assert_eq!(summary["inputs"][1]["format"], "squid");
    }
}

/// Bad lines are counted and located while the good ones around them are
/// hunted. An unreadable path is reported, the other inputs (a directory
/// among them) are still read, and the exit code is 2.
#[test]
fn hostile_inputs_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let mut bytes = Vec::new();
    bytes.extend(squid_line(1_344_941_160, "10.0.0.1", "http://c2.example.net/a").as_bytes());
    bytes.extend(b"this is not a squid line at all\n");
    bytes.extend(squid_line(1_344_941_161, "10.0.0.2", "http://b.example/").as_bytes());
    bytes.extend(b"1344941162.000 10 10.0.0.3 TCP_MISS/200 5 GET http://\xff\xfe.example/ - HIER_DIRECT/- text/html\n");
    bytes.extend(vec![b'x'; 3 * 1024 * 1024]);
    bytes.push(b'\n');
    bytes.extend(squid_line(1_344_941_163, "10.0.0.4", "http://www.c2.example.net/b").as_bytes());
    std::fs::write(logs.join("access.log"), &bytes).unwrap();
    let nested = logs.join("old");
    std::fs::create_dir(&nested).unwrap();
    std::fs::write(
        nested.join("access.log.1"),
        squid_line(1_344_941_100, "10.0.0.9", "http://c2.example.net/old"),
    )
    .unwrap();

    let output = picket()
        .args(["hunt", "--indicator", "c2.example.net"])
        .arg(&logs)
        .arg(dir.path().join("missing.log"))
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2), "an input could not be read");
    let (alerts, summary) = alerts_and_summary(&output);
    assert_eq!(alerts.len(), 3, "two hits in the damaged log, one below it");
    assert_eq!(summary["inputs_failed"], 1);
    let inputs = summary["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3, "the directory's two files and the path");
    let damaged = &inputs[0];
    assert_eq!(damaged["events"], 3);
    assert!(damaged["rejected"].as_u64().unwrap() >= 2, "{damaged}");
    let first = damaged["rejection_samples"][0]["location"]
        .as_str()
        .unwrap();
    assert!(first.ends_with("access.log:2"), "{first}");
    assert!(summary["records_rejected"].as_u64().unwrap() >= 2);
    assert_eq!(inputs[1]["events"], 1);
    let error = inputs[2]["error"].as_str().unwrap();
    assert!(error.contains("missing.log"), "{error}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("record rejected"), "{stderr}");
    assert!(stderr.contains("input skipped"), "{stderr}");
}

/// The corpus Squid log with its edge cases (an IPv6 client, a doubled
/// space before the last column): every line is read and the domain
/// indicator hits its subdomain too.
#[test]
fn corpus_squid_log_hunted() {
    let squid = picket_corpus::require_corpus!("proxy-logs/squid/plaso_squid_access.log");
    let output = picket()
        .args([
            "hunt",
            "--indicator",
            "example.com",
            "--indicator",
            "2001:db8::1",
        ])
        .arg(&squid)
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let (alerts, summary) = alerts_and_summary(&output);
    assert_eq!(summary["events_scanned"], 8);
    assert_eq!(summary["records_rejected"], 0);
    let domain_lines: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["indicators"][0]["indicator"] == "example.com")
        .map(|a| &a["events"][0]["log.line"])
        .collect();
    assert_eq!(
        domain_lines.len(),
        6,
        "every example.com request, CONNECT too"
    );
    let client = alerts
        .iter()
        .filter(|a| a["indicators"][0]["field"] == "client.ip")
        .count();
    assert_eq!(client, 1, "the IPv6 client");
}

/// `--since` and `--until` bound the events' own timestamps.
#[test]
fn time_bounds_filter_events() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut text = String::new();
    // 2012-08-14T10:46:00Z, then one line per hour.
    for hour in 0..5 {
        text.push_str(&squid_line(
            1_344_941_160 + hour * 3_600,
            "10.0.0.1",
            "http://c2.example.net/",
        ));
    }
    std::fs::write(&log, text).unwrap();

    let output = picket()
        .args(["hunt", "--indicator", "c2.example.net"])
        .args(["--since", "2012-08-14T11:00:00Z"])
        .args(["--until", "2012-08-14T13:46:00Z"])
        .arg(&log)
        .output()
        .unwrap();

    let (alerts, summary) = alerts_and_summary(&output);
    assert_eq!(summary["events_scanned"], 5);
    assert_eq!(summary["events_matched"], 2, "11:46 and 12:46");
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0]["@timestamp"], "2012-08-14T11:46:00.123Z");
}

/// Standard input and a gzip-compressed log are read like plain files.
#[test]
fn stdin_and_gzip_read() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("access.log.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(squid_line(1_344_941_160, "10.0.0.1", "http://c2.example.net/").as_bytes())
        .unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();

    let mut child = picket()
        .args([
            "hunt",
            "--indicator",
            "c2.example.net",
            "--input-format",
            "squid",
            "-",
        ])
        .arg(&gz)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(squid_line(1_344_941_170, "10.0.0.2", "http://x.c2.example.net/").as_bytes())
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();

    assert_eq!(output.status.code(), Some(1));
    let (alerts, summary) = alerts_and_summary(&output);
    assert_eq!(alerts.len(), 2);
    assert_eq!(summary["inputs"][0]["path"], "-");
    assert_eq!(summary["inputs"][1]["events"], 1);
}

/// A log followed on standard input: a hit's alert is written as soon as
/// its line is read, before the input ends.
#[test]
fn followed_stdin_alerts_at_once() {
    let mut child = picket()
        .args(["hunt", "--indicator", "c2.example.net"])
        .args(["--input-format", "squid", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin
        .write_all(squid_line(1_344_941_160, "10.0.0.1", "http://c2.example.net/").as_bytes())
        .unwrap();
    stdin.flush().unwrap();

    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let alert: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(alert["type"], "alert", "the alert came while stdin is open");
    assert_eq!(alert["indicators"][0]["value"], "c2.example.net");

    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
}

/// `--store` and `--no-record` name a store, which a hunt through inputs
/// never opens; `PICKET_STORE` alone does not stop it.
#[test]
fn store_options_rejected_with_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(
        &log,
        squid_line(1_344_941_160, "10.0.0.1", "http://a.example/"),
    )
    .unwrap();
    let store = dir.path().join("store.sqlite");

    let with_store = picket()
        .args(["hunt", "--indicator", "a.example", "--store"])
        .arg(&store)
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(with_store.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&with_store.stderr);
    assert!(stderr.contains("cannot be used with inputs"), "{stderr}");

    let no_record = picket()
        .args(["hunt", "--indicator", "a.example", "--no-record"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(no_record.status.code(), Some(2));

    let from_env = picket()
        .env("PICKET_STORE", &store)
        .args(["hunt", "--indicator", "a.example"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(1));
    assert!(!store.exists(), "no store is created");
}

/// Alerts go to `--output` and a text summary to stdout. A file the hunt
/// reads is rejected as the output.
#[test]
fn output_file_gets_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(
        &log,
        squid_line(1_344_941_160, "10.0.0.1", "http://a.example/"),
    )
    .unwrap();
    let out = dir.path().join("alerts.jsonl");

    let output = picket()
        .args(["hunt", "--indicator", "a.example", "--output"])
        .arg(&out)
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(summary.contains("1 hits, 1 alerts"), "{summary}");
    let file = std::io::BufReader::new(std::fs::File::open(&out).unwrap());
    assert_eq!(std::io::BufRead::lines(file).count(), 1);

    let over_input = picket()
        .args(["hunt", "--indicator", "a.example", "--output"])
        .arg(&log)
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(over_input.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&over_input.stderr);
    assert!(stderr.contains("is one of the inputs"), "{stderr}");
}

#[test]
fn closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut text = String::new();
    for i in 0..5_000 {
        text.push_str(&squid_line(
            1_344_941_160 + i,
            "10.0.0.1",
            "http://c2.example.net/",
        ));
    }
    std::fs::write(&log, text).unwrap();
    // The reader is gone before the hunt starts, so its first write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);

    let output = picket()
        .args(["hunt", "--indicator", "c2.example.net"])
        .arg(&log)
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(output.status.code(), Some(1));
}
