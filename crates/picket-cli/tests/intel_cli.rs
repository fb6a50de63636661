//! `picket intel` end to end: pull from an HTTP server on 127.0.0.1 that
//! the test starts (conditional GET, delisting, a feed that goes down and
//! its grace period), import, query, allow rules and exports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

/// What the test server answers on `/feed.txt`.
#[derive(Clone)]
enum Mode {
    /// 200 with this body and ETag, 304 when the ETag matches.
    Serve(&'static str, &'static str),
    /// 503 always.
    Down,
}

fn serve(mode: Arc<Mutex<Mode>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut if_none_match = None;
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("if-none-match")
                {
                    if_none_match = Some(value.trim().to_owned());
                }
            }
            let current = mode.lock().unwrap().clone();
            let (status, extra, body) = match current {
                Mode::Serve(_, etag) if if_none_match.as_deref() == Some(etag) => {
                    ("304 Not Modified", String::new(), "")
                }
                Mode::Serve(body, etag) => ("200 OK", format!("ETag: {etag}\r\n"), body),
                Mode::Down => ("503 Service Unavailable", String::new(), ""),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    base
}

#[path = "common/intel.rs"]
mod common;
use common::{picket, stdout};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn pull_delists_survives_an_outage_and_expires_after_grace() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    let mode = Arc::new(Mutex::new(Mode::Serve(
        "192.0.2.1\n192.0.2.2 c2\nnot-a-value!\n",
        "\"v1\"",
    )));
    let base = serve(mode.clone());
    let rules = dir.path().join("test.yaml");
    std::fs::write(
        &rules,
        format!(
            "provider: testlab\ndefaults:\n  confidence: 80\n  tlp: green\nfeeds:\n  ips:\n    remote: {base}/feed.txt\n    parser: plain\n    grace: 10d\n    retries: 0\n"
        ),
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    let pull = |now: &str| {
        picket(
            &store,
            now,
            &["pull", "--force", "--lifetime", "ip=1", rules],
        )
    };

    let first = pull("2025-01-01T00:00:00Z");
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first)
            .contains("testlab/ips: new 2, updated 0, unchanged 0, rejected 1, expired 0"),
        "{}",
        stdout(&first)
    );
    assert!(
        stderr(&first).contains(":3: "),
        "the rejection names its line: {}",
        stderr(&first)
    );

    // Not forced and fresh: skipped.
    let skipped = picket(&store, "2025-01-01T00:10:00Z", &["pull", rules]);
    assert!(stdout(&skipped).contains("fresh"), "{}", stdout(&skipped));

    *mode.lock().unwrap() = Mode::Serve("192.0.2.1\n", "\"v2\"");
    let second = pull("2025-01-01T12:00:00Z");
    assert!(
        stdout(&second).contains("new 0, updated 0, unchanged 1, rejected 0, expired 1"),
        "{}",
        stdout(&second)
    );
    let gone = picket(&store, "2025-01-01T12:00:00Z", &["query", "192.0.2.2"]);
    assert_eq!(
        gone.status.code(),
        Some(0),
        "delisted is not active: {}",
        stdout(&gone)
    );
    assert!(
        stdout(&gone).contains("expired"),
        "kept for retro-search: {}",
        stdout(&gone)
    );

    let third = pull("2025-01-02T00:00:00Z");
    assert!(
        stdout(&third).contains("not modified; unchanged 1"),
        "{}",
        stdout(&third)
    );

    // The feed goes down two days later: a one-day lifetime would end the
    // indicator, the ten-day grace keeps it.
    *mode.lock().unwrap() = Mode::Down;
    let down = pull("2025-01-04T00:00:00Z");
    assert_eq!(down.status.code(), Some(2));
    assert!(
        stdout(&down).contains("FAILED") && stdout(&down).contains("2025-01-12T00:00:00Z"),
        "{}",
        stdout(&down)
    );
    assert!(stderr(&down).contains("FEED DOWN"), "{}", stderr(&down));
    let alive = picket(&store, "2025-01-04T00:00:00Z", &["query", "192.0.2.1"]);
    assert_eq!(alive.status.code(), Some(1), "{}", stdout(&alive));
    let stats = picket(&store, "2025-01-04T00:00:00Z", &["stats"]);
    assert!(stdout(&stats).contains("FAILING"), "{}", stdout(&stats));

    let late = pull("2025-01-13T00:00:00Z");
    assert!(
        stdout(&late).contains("grace period ended"),
        "{}",
        stdout(&late)
    );
    let dead = picket(&store, "2025-01-13T00:00:00Z", &["query", "192.0.2.1"]);
    assert_eq!(dead.status.code(), Some(0), "{}", stdout(&dead));
}

#[test]
fn import_counts_repeated_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    let feed = dir.path().join("feed.csv");
    std::fs::write(
        &feed,
        "value,confidence\nevil.example,10\n192.0.2.1,20\nevil.example,50\nbad..example,30\n",
    )
    .unwrap();
    let now = "2025-03-01T00:00:00Z";

    let imported = picket(
        &store,
        now,
        &[
            "import",
            "--format",
            "delimited",
            "--header",
            "--column",
            "value=value",
            "--column",
            "confidence=confidence",
            feed.to_str().unwrap(),
        ],
    );

    assert!(imported.status.success(), "{}", stderr(&imported));
    let text = stdout(&imported);
    assert!(
        text.contains("new 2, updated 0, unchanged 0, rejected 1, expired 0, repeated 1 "),
        "{text}"
    );
}

#[test]
fn import_query_allow_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    let feed = dir.path().join("bad.txt");
    std::fs::write(&feed, "# bad things\n198.51.100.0/24 scanner\nevil.example malware\nwww.good.example\nhttp://evil.example/x.exe\n").unwrap();
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "good.example\n198.51.100.7\n").unwrap();
    let now = "2025-03-01T00:00:00Z";

    let imported = picket(
        &store,
        now,
        &[
            "import",
            "--provider",
            "local",
            "--confidence",
            "70",
            feed.to_str().unwrap(),
        ],
    );
    assert!(stdout(&imported).contains("new 4"), "{}", stdout(&imported));
    let allowed = picket(&store, now, &["import", "--allow", allow.to_str().unwrap()]);
    assert!(allowed.status.success(), "{}", stderr(&allowed));
    assert!(stdout(&allowed).contains("new 2,"), "{}", stdout(&allowed));
    let again = picket(&store, now, &["import", "--allow", allow.to_str().unwrap()]);
    assert!(
        stdout(&again).contains("new 0, updated 0, unchanged 2,"),
        "{}",
        stdout(&again)
    );

    let q = picket(
        &store,
        now,
        &[
            "query",
            "a.b.evil.example",
            "198.51.100.9",
            "198.51.100.7",
            "www.good.example",
            "nothing.example",
        ],
    );
    assert_eq!(q.status.code(), Some(1));
    let text = stdout(&q);
    assert!(
        text.contains("a.b.evil.example: domain evil.example (and subdomains), active"),
        "{text}"
    );
    assert!(
        text.contains("198.51.100.9: cidr 198.51.100.0/24, active"),
        "{text}"
    );
    assert!(
        text.contains("198.51.100.7: cidr 198.51.100.0/24, not active: whitelisted"),
        "{text}"
    );
    assert!(
        text.contains(
            "www.good.example: domain www.good.example (and subdomains), not active: whitelisted"
        ),
        "{text}"
    );
    assert!(text.contains("nothing.example: not found"), "{text}");

    let jsonl = picket(&store, now, &["query", "--format", "jsonl", "evil.example"]);
    let record: serde_json::Value =
        serde_json::from_str(stdout(&jsonl).lines().next().unwrap()).unwrap();
    assert_eq!(record["type"], "intel_query");
    assert_eq!(record["sightings"][0]["confidence"], 70);

    let squid = picket(&store, now, &["export", "--format", "squid-dstdomain"]);
    assert_eq!(stdout(&squid), ".evil.example\n");
    assert!(
        stderr(&squid).contains("left out 1 whitelisted"),
        "{}",
        stderr(&squid)
    );
    let csv = picket(&store, now, &["export", "--format", "csv", "--type", "url"]);
    assert_eq!(stdout(&csv).lines().count(), 2);

    // The whitelisted domain counts as whitelisted, not active.
    let stats = picket(&store, now, &["stats", "--format", "json"]);
    let stats: serde_json::Value = serde_json::from_str(&stdout(&stats)).unwrap();
    let domain = stats["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "domain")
        .unwrap();
    assert_eq!(domain["active"], 1, "{domain}");
    assert_eq!(domain["whitelisted"], 1, "{domain}");
    let aged = picket(
        &store,
        "2026-03-01T00:00:00Z",
        &["export", "--format", "plain"],
    );
    assert_eq!(stdout(&aged), "", "a year later everything has expired");
    let expire = picket(&store, "2026-03-01T00:00:00Z", &["expire"]);
    assert!(
        stdout(&expire).contains("active 0, expired 4"),
        "{}",
        stdout(&expire)
    );
}

/// `pull --hunt` hunts only what each pull added, through a stored capture:
/// the Zeek whitelisting case's 20 hits for `upload.wikimedia.org` (8 DNS
/// queries, 12 HTTP hosts), then only the value a later pull adds.
#[test]
fn pull_hunts_added_values() {
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    let analyzed = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args([
            "analyze",
            "--store",
            store.to_str().unwrap(),
            pcap.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(analyzed.status.code(), Some(0), "{}", stderr(&analyzed));

    let feed = dir.path().join("feed.txt");
    let rules = local_rules(dir.path(), &feed, "names", "");
    let alerts_file = dir.path().join("hunt.jsonl");
    let pull = |now: &str| {
        picket(
            &store,
            now,
            &[
                "pull",
                "--force",
                "--hunt",
                "3650d",
                "--hunt-output",
                alerts_file.to_str().unwrap(),
                rules.to_str().unwrap(),
            ],
        )
    };
    let alerts = || -> Vec<serde_json::Value> {
        let text = BufReader::new(std::fs::File::open(&alerts_file).unwrap());
        text.lines()
            .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
            .collect()
    };

    std::fs::write(&feed, "upload.wikimedia.org\n").unwrap();
    let first = pull("2025-01-01T00:00:00Z");
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("hunt: values added by the pull: 1;"),
        "{}",
        stdout(&first)
    );
    let found = alerts();
    assert_eq!(found.len(), 20);
    let dns = found
        .iter()
        .filter(|a| a["indicators"][0]["field"] == "dns.question.name")
        .count();
    assert_eq!(dns, 8);
    assert!(found.iter().all(|a| a["retrospective"] == true));
    assert!(
        found
            .iter()
            .all(|a| a["indicators"][0]["sources"][0]["provider"] == "lab")
    );

    std::fs::write(&feed, "upload.wikimedia.org\nmeta.wikimedia.org\n").unwrap();
    let second = pull("2025-01-02T00:00:00Z");
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let found = alerts();
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|a| a["indicators"][0]["indicator"] == "meta.wikimedia.org"),
        "only the added value is hunted"
    );

    let over_store = picket(
        &store,
        "2025-01-02T12:00:00Z",
        &[
            "pull",
            "--hunt",
            "1d",
            "--hunt-output",
            store.to_str().unwrap(),
            rules.to_str().unwrap(),
        ],
    );
    assert_eq!(over_store.status.code(), Some(2));
    assert!(stderr(&over_store).contains("would erase it"));

    let third = pull("2025-01-03T00:00:00Z");
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    assert!(
        stdout(&third).contains("nothing to hunt"),
        "{}",
        stdout(&third)
    );
}

/// A download whose every record is rejected (an error page served with
/// status 200) is a failed pull: the feed's values stay active through its
/// grace period instead of being delisted.
#[test]
fn pull_of_unusable_download_keeps_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    let feed = dir.path().join("feed.txt");
    let rules = local_rules(dir.path(), &feed, "ips", "    grace: 3d\n");
    let rules = rules.to_str().unwrap();

    std::fs::write(&feed, "192.0.2.1\n192.0.2.2\n").unwrap();
    let first = picket(&store, "2025-01-01T00:00:00Z", &["pull", "--force", rules]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));

    std::fs::write(&feed, "<html><body>Service unavailable</body></html>\n").unwrap();
    let garbage = picket(&store, "2025-01-01T01:00:00Z", &["pull", "--force", rules]);
    assert_eq!(garbage.status.code(), Some(2), "{}", stdout(&garbage));
    assert!(
        stdout(&garbage).contains("no usable record"),
        "{}",
        stdout(&garbage)
    );
    assert!(
        stderr(&garbage).contains("<html><body>Service"),
        "the rejection is shown: {}",
        stderr(&garbage)
    );
    let alive = picket(&store, "2025-01-01T01:00:00Z", &["query", "192.0.2.2"]);
    assert_eq!(alive.status.code(), Some(1), "{}", stdout(&alive));
}

/// `--hunt-output` is created before the pull: a path that cannot be
/// written stops the run before the pull stores values that a later pull
/// would not count as added, and a run that hunts nothing empties it.
#[test]
fn pull_hunt_output_created_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    analyze_squid(&store, &dir.path().join("access.log"), C2_REQUEST);

    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "c2.example.net\n").unwrap();
    let rules = local_rules(dir.path(), &feed, "names", "");
    let pull = |output: &Path| {
        picket(
            &store,
            "2025-01-01T00:00:00Z",
            &[
                "pull",
                "--force",
                "--hunt",
                "30d",
                "--hunt-output",
                output.to_str().unwrap(),
                rules.to_str().unwrap(),
            ],
        )
    };

    let into_directory = pull(dir.path());
    assert_eq!(into_directory.status.code(), Some(2));
    assert!(
        stdout(&into_directory).is_empty(),
        "nothing pulled: {}",
        stdout(&into_directory)
    );

    let alerts = dir.path().join("hunt.jsonl");
    let hunted = pull(&alerts);
    assert_eq!(hunted.status.code(), Some(1), "{}", stderr(&hunted));
    let lines = read_lines(&alerts);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("c2.example.net"), "{lines:?}");

    let again = pull(&alerts);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("nothing to hunt"),
        "{}",
        stdout(&again)
    );
    assert!(
        read_lines(&alerts).is_empty(),
        "the last run's alerts are gone"
    );

    let over_feed = pull(&feed);
    assert_eq!(over_feed.status.code(), Some(2));
    assert!(
        stderr(&over_feed).contains("a feed's local file"),
        "{}",
        stderr(&over_feed)
    );
    assert_eq!(read_lines(&feed), ["c2.example.net"]);

    let wal = dir.path().join("picket.sqlite-wal");
    std::fs::write(&wal, b"").unwrap();
    let over_wal = pull(&wal);
    assert_eq!(over_wal.status.code(), Some(2));
    assert!(
        stderr(&over_wal).contains("kept beside the store"),
        "{}",
        stderr(&over_wal)
    );
}

/// Writes a rule file of provider `lab` with one `plain` feed named `name`
/// that reads the local file `feed`. The lines in `extra` are added to the
/// feed's rule.
fn local_rules(dir: &Path, feed: &Path, name: &str, extra: &str) -> PathBuf {
    let rules = dir.join("lab.yaml");
    let text = format!(
        "provider: lab\nfeeds:\n  {name}:\n    remote: {}\n    parser: plain\n{extra}",
        feed.display()
    );
    std::fs::write(&rules, text).unwrap();
    rules
}

fn read_lines(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    BufReader::new(file).lines().map(Result::unwrap).collect()
}

/// A stored day that cannot be read during `pull --hunt` is reported and
/// makes the exit code 2, as `picket hunt` does, because its events were
/// not hunted.
#[test]
fn pull_hunt_reports_unreadable_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    analyze_squid(&store, &dir.path().join("access.log"), C2_REQUEST);

    // 1709251232 is in day 19783 since the Unix epoch.
    let damaged = rusqlite::Connection::open(&store)
        .unwrap()
        .execute("UPDATE events_d19783 SET body = x'00'", [])
        .unwrap();
    assert_eq!(damaged, 1);

    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "c2.example.net\n").unwrap();
    let rules = local_rules(dir.path(), &feed, "names", "");
    let pulled = picket(
        &store,
        "2025-01-01T00:00:00Z",
        &["pull", "--hunt", "30d", rules.to_str().unwrap()],
    );
    assert_eq!(pulled.status.code(), Some(2), "{}", stdout(&pulled));
    assert!(
        stdout(&pulled).contains("days that could not be read: 1"),
        "{}",
        stdout(&pulled)
    );
}

/// A Squid log line of a request to `c2.example.net` on 2024-03-01, day
/// 19783 since the Unix epoch.
const C2_REQUEST: &str = "1709251232.277     63 10.1.77.7 TCP_MISS/200 43 GET http://c2.example.net/p.gif - HIER_DIRECT/198.51.100.23 image/gif\n";

/// Writes `lines` as a Squid log at `log` and analyzes it into `store`.
fn analyze_squid(store: &Path, log: &Path, lines: &str) {
    std::fs::write(log, lines).unwrap();
    let analyzed = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["analyze", "--input-format", "squid", "--store"])
        .arg(store)
        .arg(log)
        .output()
        .unwrap();
    assert_eq!(analyzed.status.code(), Some(0), "{}", stderr(&analyzed));
}

/// A value a feed lists again after it delisted it is hunted again: events
/// stored while it was delisted were matched by no live indicator.
#[test]
fn pull_hunts_relisted_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    analyze_squid(&store, &dir.path().join("first.log"), C2_REQUEST);
    let feed = dir.path().join("feed.txt");
    let rules = local_rules(dir.path(), &feed, "names", "");
    let pull = |now: &str| {
        picket(
            &store,
            now,
            &["pull", "--force", "--hunt", "30d", rules.to_str().unwrap()],
        )
    };

    std::fs::write(&feed, "c2.example.net\n").unwrap();
    let listed = pull("2025-01-01T00:00:00Z");
    assert_eq!(listed.status.code(), Some(1), "{}", stdout(&listed));

    std::fs::write(&feed, "other.example.org\n").unwrap();
    let delisted = pull("2025-01-02T00:00:00Z");
    assert!(
        stdout(&delisted).contains("expired 1"),
        "{}",
        stdout(&delisted)
    );
    let later = C2_REQUEST.replace("1709251232.277", "1709251300.000");
    analyze_squid(&store, &dir.path().join("second.log"), &later);

    std::fs::write(&feed, "other.example.org\nc2.example.net\n").unwrap();
    let relisted = pull("2025-01-03T00:00:00Z");
    assert_eq!(relisted.status.code(), Some(1), "{}", stdout(&relisted));
    assert!(
        stdout(&relisted).contains("values added by the pull: 1;"),
        "{}",
        stdout(&relisted)
    );
    assert!(
        stdout(&relisted).contains("new alerts recorded: 1; already stored: 1"),
        "{}",
        stdout(&relisted)
    );
}
