//! Lifetimes set in a feed rule file: an indicator of the feed expires
//! that many days after it was last seen, the file's `lifetimes:` apply
//! to every feed, a feed's own win over them, and `--lifetime` wins over
//! both.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[path = "common/intel.rs"]
mod common;
use common::{picket, stdout};

/// Reports whether `value` is covered by an active indicator at `now` (`query`
/// exits 1 then, 0 when every covering indicator has expired).
fn active(store: &Path, now: &str, value: &str) -> bool {
    let out = picket(store, now, &["query", value]);
    match out.status.code() {
        Some(1) => true,
        Some(0) => {
            assert!(stdout(&out).contains("expired"), "{}", stdout(&out));
            false
        }
        other => panic!("query exited {other:?}: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

#[test]
fn feed_rule_lifetimes_count_from_last_seen() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.csv"),
        "value,last_seen\n192.0.2.10,2025-01-01T00:00:00Z\nevil.example,2025-01-01T00:00:00Z\n",
    )
    .unwrap();
    let rules = dir.path().join("lab.yaml");
    std::fs::write(
        &rules,
        "provider: lab\n\
         lifetimes:\n  ip: 20\n  domain: 10\n\
         feeds:\n  list:\n    remote: bad.csv\n    parser: delimited\n    columns:\n      value: 1\n      last-seen: 2\n      header: true\n    \
         lifetimes:\n      ip: 3\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    let store = dir.path().join("s.sqlite");

    let pull = picket(&store, "2025-01-02T00:00:00Z", &["pull", "--force", rules]);
    assert!(pull.status.success(), "{}", String::from_utf8_lossy(&pull.stderr));
    assert!(stdout(&pull).contains("new 2"), "{}", stdout(&pull));

    // The feed sets ip: 3 over the file's 20 and the built-in 30: last
    // seen on 1 January, so active until 4 January.
    assert!(active(&store, "2025-01-03T23:00:00Z", "192.0.2.10"));
    assert!(!active(&store, "2025-01-04T01:00:00Z", "192.0.2.10"));
    let shown = stdout(&picket(&store, "2025-01-04T01:00:00Z", &["query", "192.0.2.10"]));
    assert!(shown.contains("expired 2025-01-04T00:00:00Z"), "{shown}");

    // Domains take the file's 10 days.
    assert!(active(&store, "2025-01-10T23:00:00Z", "a.evil.example"));
    assert!(!active(&store, "2025-01-11T01:00:00Z", "a.evil.example"));

    // The command line wins over the rule file. The file is unchanged,
    // so this pull confirms the listing: last seen becomes 01:00 on
    // 2 January, and the address expires 7 days later.
    let again = picket(&store, "2025-01-02T01:00:00Z", &["pull", "--force", "--lifetime", "ip=7", rules]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(stdout(&again).contains("not modified"), "{}", stdout(&again));
    assert!(active(&store, "2025-01-09T00:00:00Z", "192.0.2.10"));
    assert!(!active(&store, "2025-01-09T02:00:00Z", "192.0.2.10"));
}

#[test]
fn unknown_lifetime_kind_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("lab.yaml");
    std::fs::write(&rules, "provider: lab\nlifetimes:\n  ips: 3\nfeeds:\n  list:\n    remote: x.txt\n    parser: plain\n").unwrap();
    let out = picket(&dir.path().join("s.sqlite"), "2025-01-02T00:00:00Z", &["pull", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ips"), "{err}");
}
