//! End-to-end runs of `picket analyze` as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test stops at the first unexpected value

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../picket-sources/tests/fixtures")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    picket().args(args).output().unwrap()
}

/// Splits `--format jsonl` output into alerts and the final summary.
fn alerts_and_summary(output: &Output) -> (Vec<Value>, Value) {
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    let mut records: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let summary = records.pop().unwrap();
    assert_eq!(summary["type"], "summary");
    (records, summary)
}

fn squid_line(secs: u64, client: &str, url: &str) -> String {
    format!(
        "{secs}.123    150 {client} TCP_MISS/200 1024 GET {url} - HIER_DIRECT/192.0.2.10 text/html\n"
    )
}

#[test]
fn tmg_drive_by_chain_is_reported() {
    let tmg = fixture("tmg-webproxy-30col.tsv");
    let output = run(&[
        "analyze",
        "--no-store",
        "--format",
        "jsonl",
        tmg.to_str().unwrap(),
    ]);

    assert_eq!(output.status.code(), Some(1), "alerts found means exit 1");
    let (alerts, summary) = alerts_and_summary(&output);
    let chain = alerts
        .iter()
        .find(|a| a["detector"] == "http.drive_by_chain" && a["host"] == "10.20.52.16")
        .expect("a drive-by chain alert for the TMG client");
    assert_eq!(chain["type"], "alert");
    assert_eq!(chain["schema_version"], 1);
    assert!(chain["events"].as_array().unwrap().len() >= 2);
    assert!(chain["events"][0]["log.line"].as_u64().is_some());
    assert_eq!(summary["inputs"][0]["format"], "tmg");
}

#[test]
fn second_run_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.sqlite");
    let tmg = fixture("tmg-webproxy-30col.tsv");
    let args = [
        "analyze",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "jsonl",
        tmg.to_str().unwrap(),
    ];

    let first = run(&args);
    assert_eq!(first.status.code(), Some(1));
    let (first_alerts, _) = alerts_and_summary(&first);
    assert!(!first_alerts.is_empty());

    let second = run(&args);
    assert_eq!(second.status.code(), Some(0), "nothing new means exit 0");
    let (second_alerts, summary) = alerts_and_summary(&second);
    assert!(second_alerts.is_empty());
    assert_eq!(summary["inputs"][0]["events"], 0);
    assert_eq!(summary["inputs"][0]["already_stored"], 7);
}

/// `--reread` matches a complete input again without storing its events a
/// second time.
#[test]
fn reread_stores_no_duplicate_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.sqlite");
    let tmg = fixture("tmg-webproxy-30col.tsv");
    let stored = || -> (i64, i64) {
        let conn = rusqlite::Connection::open(&store).unwrap();
        conn.query_row(
            "SELECT (SELECT sum(events) FROM days), (SELECT count(*) FROM alerts)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let mut args = vec![
        "analyze",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "jsonl",
        tmg.to_str().unwrap(),
    ];

    let first = run(&args);
    assert_eq!(first.status.code(), Some(1));
    let (events, alerts) = stored();
    assert_eq!(events, 7);
    assert!(alerts > 0);

    args.push("--reread");
    let again = run(&args);
    assert_eq!(again.status.code(), Some(1), "a reread reports its alerts");
    let (_, summary) = alerts_and_summary(&again);
    assert_eq!(summary["inputs"][0]["already_stored"], 7);
    assert_eq!(stored(), (7, alerts));
}

#[test]
fn bad_lines_are_located_and_good_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut bytes = Vec::new();
    bytes.extend(squid_line(1_344_941_160, "10.0.0.1", "http://a.example/").as_bytes());
    bytes.extend(b"this is not a squid line at all\n");
    bytes.extend(squid_line(1_344_941_161, "10.0.0.2", "http://b.example/").as_bytes());
    bytes.extend(b"1344941162.000 10 10.0.0.3 TCP_MISS/200 5 GET http://\xff\xfe.example/ - HIER_DIRECT/- text/html\n");
    bytes.extend(vec![b'x'; 3 * 1024 * 1024]);
    bytes.push(b'\n');
    bytes.extend(squid_line(1_344_941_163, "10.0.0.4", "http://c.example/").as_bytes());
    std::fs::write(&log, &bytes).unwrap();

    let output = run(&[
        "analyze",
        "--no-store",
        "--format",
        "jsonl",
        log.to_str().unwrap(),
    ]);
    assert!(output.status.code() == Some(0) || output.status.code() == Some(1));
    let (_, summary) = alerts_and_summary(&output);
    let input = &summary["inputs"][0];
    assert_eq!(input["format"], "squid");
    assert!(
        input["events"].as_u64().unwrap() >= 3,
        "the three good lines: {input}"
    );
    assert!(
        input["rejected"].as_u64().unwrap() >= 2,
        "garbage and the long line: {input}"
    );
    let first = &input["rejection_samples"][0];
    assert!(
        first["location"]
            .as_str()
            .unwrap()
            .ends_with("access.log:2"),
        "{first}"
    );
    assert!(!first["reason"].as_str().unwrap().is_empty());
}

#[test]
fn truncated_gzip_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut plain = String::new();
    for i in 0..2_000 {
        plain.push_str(&squid_line(
            1_344_941_160 + i,
            "10.0.0.1",
            &format!("http://a.example/{i}"),
        ));
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(plain.as_bytes()).unwrap();
    let compressed = encoder.finish().unwrap();
    let cut = &compressed[..compressed.len() * 2 / 3];
    let path = dir.path().join("access.log.gz");
    std::fs::write(&path, cut).unwrap();

    let output = run(&[
        "analyze",
        "--no-store",
        "--format",
        "jsonl",
        path.to_str().unwrap(),
    ]);
    let (_, summary) = alerts_and_summary(&output);
    let input = &summary["inputs"][0];
    let events = input["events"].as_u64().unwrap();
    assert!(
        events > 100 && events < 2_000,
        "a prefix of the lines: {input}"
    );
    assert!(
        input["rejected"].as_u64().unwrap() >= 1,
        "the cut is reported: {input}"
    );
}

#[test]
fn missing_intel_file_is_an_error() {
    let tmg = fixture("tmg-webproxy-30col.tsv");
    let output = run(&[
        "analyze",
        "--no-store",
        "--intel",
        "/nonexistent/intel.txt",
        tmg.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/intel.txt"), "{stderr}");
}

#[test]
fn unreadable_input_does_not_stop_the_run() {
    let tmg = fixture("tmg-webproxy-30col.tsv");
    let output = run(&[
        "analyze",
        "--no-store",
        "--format",
        "jsonl",
        "/nonexistent/a.log",
        tmg.to_str().unwrap(),
    ]);
    let (alerts, summary) = alerts_and_summary(&output);
    assert!(!alerts.is_empty());
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unreadable input makes the run an error"
    );
    assert!(
        summary["inputs"][0]["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/a.log")
    );
    assert_eq!(summary["inputs"][1]["format"], "tmg");
}

#[test]
fn closed_pipe_ends_quietly() {
    let tmg = fixture("tmg-webproxy-30col.tsv");
    let mut child = picket()
        .args([
            "analyze",
            "--no-store",
            "--format",
            "jsonl",
            tmg.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("error"), "{stderr}");
    assert_ne!(output.status.code(), Some(2));
}

#[test]
fn standard_input_is_read() {
    let mut child = picket()
        .args([
            "analyze",
            "--no-store",
            "--format",
            "jsonl",
            "--input-format",
            "squid",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(squid_line(1_344_941_160, "10.0.0.1", "http://a.example/").as_bytes())
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();

    let (_, summary) = alerts_and_summary(&output);
    assert_eq!(summary["inputs"][0]["path"], "-");
    assert_eq!(summary["inputs"][0]["events"], 1);
}

#[test]
fn wikipedia_capture_matches_intel_in_dns_and_http() {
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("intel.txt");
    std::fs::write(&intel, "upload.wikimedia.org\n").unwrap();

    let output = run(&[
        "analyze",
        "--no-store",
        "--format",
        "jsonl",
        "--intel",
        intel.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    let (alerts, _) = alerts_and_summary(&output);
    let hits: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["detector"] == "intel.match")
        .collect();
    let field = |name: &str| {
        hits.iter()
            .filter(|a| {
                a["indicators"][0]["field"] == name
                    && a["indicators"][0]["value"] == "upload.wikimedia.org"
            })
            .count()
    };
    assert_eq!(field("dns.question.name"), 8);
    assert_eq!(field("url.domain"), 12);
}

#[test]
fn zeek_intel_whitelist_suppresses_meta() {
    let case = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting");
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let output = run(&[
        "analyze",
        "--no-store",
        "--format",
        "jsonl",
        "--intel",
        case.join("intel.dat").to_str().unwrap(),
        "--intel",
        case.join("whitelist.dat").to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    let (alerts, _) = alerts_and_summary(&output);
    let hits: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["detector"] == "intel.match")
        .collect();
    let upload = hits
        .iter()
        .filter(|a| a["indicators"][0]["indicator"] == "upload.wikimedia.org")
        .count();
    let meta = hits
        .iter()
        .filter(|a| a["indicators"][0]["indicator"] == "meta.wikimedia.org")
        .count();
    assert_eq!(upload, 20, "8 DNS queries and 12 HTTP Host headers");
    assert_eq!(meta, 0, "meta.wikimedia.org is whitelisted");
    let source = &hits[0]["indicators"][0]["sources"][0];
    assert_eq!(source["feed"], "source1");
    assert_eq!(source["description"], "somehow bad");
}

#[test]
fn user_agent_inventory_persists_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.sqlite");
    let tmg = fixture("tmg-webproxy-30col.tsv");
    let output = run(&[
        "analyze",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "jsonl",
        tmg.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));

    let conn = rusqlite::Connection::open(&store).unwrap();
    let pairs: i64 = conn
        .query_row(
            "SELECT count(*) FROM user_agents WHERE client = '10.20.52.16'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(pairs >= 2, "the browser and the Java agent: {pairs}");
}

#[test]
fn live_hits_are_recorded_as_sightings() {
    let case = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting");
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.sqlite");
    let output = run(&[
        "analyze",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "jsonl",
        "--intel",
        case.join("intel.dat").to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));

    let conn = rusqlite::Connection::open(&store).unwrap();
    let hits: i64 = conn
        .query_row(
            "SELECT hits FROM intel_hits WHERE kind = 'domain' AND value = 'upload.wikimedia.org'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hits, 20);
}

#[test]
fn output_over_an_input_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("in.log");
    std::fs::copy(fixture("tmg-webproxy-30col.tsv"), &log).unwrap();
    let before = std::fs::metadata(&log).unwrap().len();

    let output = run(&[
        "analyze",
        "--no-store",
        "--output",
        log.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is one of the inputs"));
    assert_eq!(
        std::fs::metadata(&log).unwrap().len(),
        before,
        "the input is untouched"
    );

    let store = dir.path().join("store.sqlite");
    let first = run(&[
        "analyze",
        "--store",
        store.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(first.status.code(), Some(1));
    let output = run(&[
        "analyze",
        "--store",
        store.to_str().unwrap(),
        "--output",
        store.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        std::fs::metadata(&store).unwrap().len() > 0,
        "the store is untouched"
    );

    let intel = dir.path().join("intel.txt");
    std::fs::write(&intel, "10.20.52.16\n").unwrap();
    let output = run(&[
        "analyze",
        "--no-store",
        "--intel",
        intel.to_str().unwrap(),
        "--output",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is an intel file"));
    assert_eq!(
        std::fs::metadata(&intel).unwrap().len(),
        12,
        "the intel file is untouched"
    );
}

#[test]
fn hunt_on_a_missing_store_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("typo.sqlite");
    let output = run(&[
        "hunt",
        "--store",
        store.to_str().unwrap(),
        "--indicator",
        "10.20.52.16",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not found"));
    assert!(!store.exists(), "no empty store is created");
}

/// Hunts the Zeek whitelisting case through a stored capture: the same 20
/// hits `analyze` raises live, written as lines the scanning threads
/// rendered, then recorded once and known on the next hunt.
#[test]
fn hunt_finds_stored_hits_once() {
    let case = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting");
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.sqlite");
    let stored = run(&[
        "analyze",
        "--store",
        store.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(stored.status.code(), Some(0), "no intel, no alert");

    let out = dir.path().join("hunt.jsonl");
    let (intel, whitelist) = (case.join("intel.dat"), case.join("whitelist.dat"));
    let hunt = |record: bool| {
        let mut args = vec![
            "hunt",
            "--store",
            store.to_str().unwrap(),
            "--intel",
            intel.to_str().unwrap(),
            "--whitelist",
            whitelist.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--threads",
            "2",
        ];
        if !record {
            args.push("--no-record");
        }
        let output = run(&args);
        let lines = std::io::BufReader::new(std::fs::File::open(&out).unwrap());
        let alerts: Vec<Value> = std::io::BufRead::lines(lines)
            .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
            .collect();
        (output, alerts)
    };

    let (output, alerts) = hunt(false);
    assert_eq!(output.status.code(), Some(1), "new alerts mean exit 1");
    assert_eq!(alerts.len(), 20);
    let in_field = |field: &str| {
        alerts
            .iter()
            .filter(|a| a["indicators"][0]["field"] == field)
            .count()
    };
    assert_eq!(
        (in_field("dns.question.name"), in_field("url.domain")),
        (8, 12)
    );
    assert!(
        alerts.iter().all(|a| a["retrospective"] == true
            && a["indicators"][0]["indicator"] == "upload.wikimedia.org")
    );
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        summary.contains("20 hits, 20 new alerts, 0 already stored"),
        "{summary}"
    );

    let (output, alerts) = hunt(true);
    assert_eq!((output.status.code(), alerts.len()), (Some(1), 20));
    let (output, alerts) = hunt(true);
    assert_eq!((output.status.code(), alerts.len()), (Some(0), 0));
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        summary.contains("20 hits, 0 new alerts, 20 already stored"),
        "{summary}"
    );
}

/// Events read from standard input are committed while the run goes on,
/// so a followed log whose run ends with a signal keeps what was matched
/// before its last quiet second.
#[test]
fn standard_input_committed_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "c2.example.net\n").unwrap();
    let mut child = picket()
        .args(["analyze", "--format", "jsonl", "--input-format", "squid"])
        .arg("--store")
        .arg(&store)
        .arg("--intel")
        .arg(&feed)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut alerts = BufReader::new(child.stdout.take().unwrap()).lines();
    // The first line of each send hits the intel file, so its alert shows
    // that the send reached matching.
    let mut send_batch = |first: u64| {
        let mut lines = squid_line(first, "10.0.0.1", "http://c2.example.net/");
        for i in 1..1024 {
            lines.push_str(&squid_line(first + i, "10.0.0.2", "http://a.example/"));
        }
        stdin.write_all(lines.as_bytes()).unwrap();
        stdin.flush().unwrap();
    };

    send_batch(1_344_941_160);
    assert!(alerts.next().unwrap().unwrap().contains("c2.example.net"));
    // Longer than the commit interval of standard input, 1 second.
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    send_batch(1_344_943_000);
    assert!(alerts.next().unwrap().unwrap().contains("c2.example.net"));
    // Quiet for longer than the interval: what was matched is committed
    // without waiting for more input.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    child.kill().unwrap();
    child.wait().unwrap();

    let conn = rusqlite::Connection::open(&store).unwrap();
    let events: i64 = conn
        .query_row("SELECT coalesce(sum(events), 0) FROM days", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(events, 2 * 1024, "{events} events stored");
    let stored_alerts: i64 = conn
        .query_row("SELECT count(*) FROM alerts", [], |r| r.get(0))
        .unwrap();
    assert!(stored_alerts >= 2, "{stored_alerts} alerts stored");
}

/// `--reload-intel` leaves a batch run's alerts as they are. A zero
/// interval, or nothing to watch, is rejected before anything is read.
#[test]
fn reload_intel_keeps_batch_results() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "10.20.52.16\n").unwrap();
    let tmg = fixture("tmg-webproxy-30col.tsv");
    let analyze = |extra: &[&str]| {
        let mut args = vec![
            "analyze",
            "--no-store",
            "--format",
            "jsonl",
            "--intel",
            feed.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push(tmg.to_str().unwrap());
        run(&args)
    };

    let plain = analyze(&[]);
    let reloading = analyze(&["--reload-intel", "1"]);
    assert_eq!(plain.status.code(), Some(1));
    assert_eq!(reloading.status.code(), Some(1));
    let (plain_alerts, _) = alerts_and_summary(&plain);
    let (reloading_alerts, _) = alerts_and_summary(&reloading);
    assert_eq!(plain_alerts, reloading_alerts);

    let zero = analyze(&["--reload-intel", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    let message = String::from_utf8_lossy(&zero.stderr);
    assert!(message.contains("at least 1 second"), "{message}");

    let unwatched = run(&[
        "analyze",
        "--no-store",
        "--reload-intel",
        "60",
        tmg.to_str().unwrap(),
    ]);
    assert_eq!(unwatched.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unwatched.stderr);
    assert!(message.contains("nothing to watch"), "{message}");
}

#[test]
fn lossy_utf8_keeps_latin1_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("latin1.log");
    let mut bytes = squid_line(1_344_941_160, "10.0.0.1", "http://a.example/").into_bytes();
    bytes.extend(b"1344941162.000 10 10.0.0.3 TCP_MISS/200 5 GET http://b.example/caf\xe9 - HIER_DIRECT/- text/html\n");
    std::fs::write(&log, &bytes).unwrap();

    let strict = run(&[
        "analyze",
        "--no-store",
        "--format",
        "jsonl",
        log.to_str().unwrap(),
    ]);
    let (_, summary) = alerts_and_summary(&strict);
    assert_eq!(summary["inputs"][0]["events"], 1);
    assert_eq!(summary["inputs"][0]["rejected"], 1);

    let lossy = run(&[
        "analyze",
        "--no-store",
        "--lossy-utf8",
        "--format",
        "jsonl",
        log.to_str().unwrap(),
    ]);
    let (_, summary) = alerts_and_summary(&lossy);
    assert_eq!(summary["inputs"][0]["events"], 2);
    assert_eq!(summary["inputs"][0]["rejected"], 0);
}

#[test]
fn w3c_agentless_layout_not_empty_agent() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("proxy.w3c.log");
    let mut text =
        String::from("#Fields: date time c-ip cs(User-Agent) cs-host cs-uri-path sc-status\n");
    text.push_str("2024-03-01 10:00:00 10.0.0.1 \"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\" a.example /x 200\n");
    text.push_str("2024-03-01 10:00:01 10.0.0.2 - a.example /y 200\n");
    text.push_str("#Fields: date time c-ip cs-host cs-uri-path sc-status\n");
    for second in 2..12 {
        text.push_str(&format!(
            "2024-03-01 10:00:{second:02} 10.0.0.3 b.example /z 200\n"
        ));
    }
    std::fs::write(&log, text).unwrap();

    let output = run(&[
        "analyze",
        "--no-store",
        "--format",
        "jsonl",
        log.to_str().unwrap(),
    ]);
    let (alerts, summary) = alerts_and_summary(&output);
    assert_eq!(summary["inputs"][0]["events"], 12);

    let empty_agent: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["detector"] == "http.suspicious_user_agent")
        .collect();
    assert_eq!(empty_agent.len(), 1, "{empty_agent:#?}");
    assert_eq!(
        empty_agent[0]["host"], "10.0.0.2",
        "only the request sent without an agent"
    );
}

/// Returns the path of the packet capture bundled in `samples/`.
fn sample_capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/inputs/mixed.pcap")
}

/// Counts the `intel.match` alerts on a body hash in `--format jsonl` output.
fn body_hash_alerts(output: &Output) -> usize {
    let (alerts, _) = alerts_and_summary(output);
    alerts
        .iter()
        .filter(|a| a["detector"] == "intel.match")
        .filter(|a| a["indicators"][0]["field"] == "http.response.body.hash")
        .count()
}

#[test]
fn config_turns_body_hashes_off() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("hashes.txt");
    std::fs::write(&intel, "b1bcfc952a1f3222e82a46324d7a45d1\n").unwrap();
    let config = dir.path().join("picket.yaml");
    std::fs::write(&config, "capture:\n  max_body_hash_bytes: 0\n").unwrap();
    let pcap = sample_capture();
    let args = [
        "analyze",
        "--no-store",
        "--format",
        "jsonl",
        "--intel",
        intel.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ];

    let hashed = run(&args);
    assert_eq!(body_hash_alerts(&hashed), 1);

    let mut unhashed_args = args.to_vec();
    unhashed_args.extend(["--config", config.to_str().unwrap()]);
    let unhashed = run(&unhashed_args);
    assert_eq!(body_hash_alerts(&unhashed), 0);
}

#[test]
fn unknown_capture_key_fails() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("picket.yaml");
    std::fs::write(&config, "capture:\n  max_flow: 10\n").unwrap();
    let pcap = sample_capture();
    let output = run(&[
        "analyze",
        "--no-store",
        "--config",
        config.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_flow"), "{stderr}");
}
