//! `picket hunt` end to end when its output cannot be written as asked: a
//! store filled by `analyze`, then hunted by the binary as a user would.
#![allow(clippy::unwrap_used)] // a test stops at the first unexpected value

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

/// Stores the capture of the Zeek whitelisting case and returns the hunt
/// arguments that find its 20 hits.
fn wikipedia_hunt(dir: &Path, case: &Path, pcap: &Path) -> Vec<String> {
    let store = dir.join("store.sqlite");
    let stored = picket()
        .args(["analyze", "--store"])
        .arg(&store)
        .arg(pcap)
        .output()
        .unwrap();
    assert_eq!(stored.status.code(), Some(0), "no intel, no alert");
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    vec![
        "hunt".into(),
        "--store".into(),
        path(&store),
        "--intel".into(),
        path(&case.join("intel.dat")),
        "--whitelist".into(),
        path(&case.join("whitelist.dat")),
    ]
}

#[test]
fn full_disk_records_nothing() {
    let case = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting");
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let full = Path::new("/dev/full");
    if !full.exists() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: needs /dev/full, a device that is always full");
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = wikipedia_hunt(dir.path(), &case, &pcap);

    let failed = picket()
        .args(&args)
        .arg("--output")
        .arg(full)
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("cannot write alerts"), "{stderr}");
    assert!(stderr.contains("/dev/full"), "{stderr}");

    let again = picket().args(&args).arg("--no-record").output().unwrap();
    let text = String::from_utf8(again.stdout).unwrap();
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["type"], "hunt_summary");
    assert_eq!(summary["alerts_new"], 20, "no alert was recorded unwritten");
}

#[test]
fn closed_pipe_ends_quietly() {
    let case = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting");
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let dir = tempfile::tempdir().unwrap();
    let args = wikipedia_hunt(dir.path(), &case, &pcap);
    // The reader is gone before the hunt starts, so its first write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = picket().args(&args).stdout(writer).output().unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(output.status.code(), Some(1), "new alerts were found");
    let again = picket().args(&args).output().unwrap();
    assert_eq!(
        again.status.code(),
        Some(1),
        "the unread alerts are still new"
    );
}

#[test]
fn output_over_a_read_file_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "10.20.52.16\n").unwrap();
    let store = dir.path().join("store.sqlite");
    let log = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../picket-sources/tests/fixtures/tmg-webproxy-30col.tsv");
    let stored = picket()
        .args(["analyze", "--store"])
        .arg(&store)
        .arg(&log)
        .output()
        .unwrap();
    assert_ne!(stored.status.code(), Some(2));
    let store_size = std::fs::metadata(&store).unwrap().len();
    let hunt = |output: &Path| {
        picket()
            .args(["hunt", "--store"])
            .arg(&store)
            .arg("--intel")
            .arg(&feed)
            .arg("--output")
            .arg(output)
            .output()
            .unwrap()
    };

    let over_store = hunt(&store);
    assert_eq!(over_store.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&over_store.stderr);
    assert!(stderr.contains("is the store"), "{stderr}");
    assert_eq!(std::fs::metadata(&store).unwrap().len(), store_size);

    let over_feed = hunt(&feed);
    assert_eq!(over_feed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&over_feed.stderr);
    assert!(stderr.contains("is an intel or whitelist file"), "{stderr}");
    assert_eq!(
        std::fs::metadata(&feed).unwrap().len(),
        12,
        "the feed is intact"
    );

    let found = hunt(&dir.path().join("alerts.jsonl"));
    assert_eq!(
        found.status.code(),
        Some(1),
        "the store still holds the hits"
    );
}

/// A day that cannot be read makes the exit code 2, as an unreadable input
/// does for analyze, and a range that ends before it starts is rejected.
#[test]
fn damaged_day_and_empty_range_exit_2() {
    let case = picket_corpus::require_corpus!("ioc-matching/zeek-intel/whitelisting");
    let pcap = picket_corpus::require_corpus!("zeek/traces/wikipedia.pcap");
    let dir = tempfile::tempdir().unwrap();
    let args = wikipedia_hunt(dir.path(), &case, &pcap);

    let reversed = picket()
        .args(&args)
        .args([
            "--no-record",
            "--since",
            "2024-03-02",
            "--until",
            "2024-03-01",
        ])
        .output()
        .unwrap();
    assert_eq!(reversed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&reversed.stderr);
    assert!(stderr.contains("is not before --until"), "{stderr}");

    let conn = rusqlite::Connection::open(dir.path().join("store.sqlite")).unwrap();
    let table: String = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE name LIKE 'events_d%' AND type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(&format!("UPDATE {table} SET body = x'00'"), [])
        .unwrap();
    drop(conn);

    let damaged = picket()
        .args(&args)
        .arg("--no-record")
        .arg("--output")
        .arg(dir.path().join("alerts.jsonl"))
        .output()
        .unwrap();
    assert_eq!(damaged.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&damaged.stdout);
    assert!(stdout.contains("1 day could not be read"), "{stdout}");
}
