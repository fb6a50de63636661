//! `picket intel import` of a feed longer than one chunk: the parse
//! thread and the store thread agree on every value and count.

#![allow(clippy::unwrap_used, clippy::expect_used)]


#[path = "common/intel.rs"]
mod common;
use common::{picket, stdout};

/// A feed longer than one import chunk, whose first values come again at
/// the end with another tag: the late repeats are merged into the values
/// stored from the first chunk, and a re-import counts each value once.
#[test]
fn import_merges_repeats_across_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.txt");
    let mut text = String::new();
    for i in 0..70_000u32 {
        text.push_str(&format!("10.{}.{}.{} first\n", i >> 16, (i >> 8) & 255, i & 255));
    }
    let write = |late_tag: &str| {
        let mut all = text.clone();
        for i in 0..10u32 {
            all.push_str(&format!("10.0.0.{i} {late_tag}\n"));
        }
        std::fs::write(&path, all).unwrap();
    };
    let store = dir.path().join("s.sqlite");
    let import = |now: &str| {
        let out = picket(&store, now, &["import", "--provider", "p", "--feed", "big", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        stdout(&out)
    };

    write("late");
    let first = import("2025-01-01T00:00:00Z");
    assert!(first.contains("new 70000, updated 0, unchanged 0"), "{first}");
    let query_output = stdout(&picket(&store, "2025-01-01T00:00:00Z", &["query", "10.0.0.3"]));
    assert!(query_output.contains("tags first,late"), "{query_output}");

    let again = import("2025-01-02T00:00:00Z");
    assert!(again.contains("new 0, updated 0, unchanged 70000"), "{again}");

    write("later");
    let changed = import("2025-01-03T00:00:00Z");
    assert!(changed.contains("new 0, updated 10, unchanged 69990"), "{changed}");
    let query_output = stdout(&picket(&store, "2025-01-03T00:00:00Z", &["query", "10.0.0.3"]));
    assert!(query_output.contains("tags first,later"), "{query_output}");
}
