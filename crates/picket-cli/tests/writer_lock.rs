//! The store's writer lock as a second writer meets it: `picket intel
//! import` while another writer has the store open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};

/// An import into a store that another writer has open (a running
/// `analyze` following a log) logs at the default log level that it waits,
/// and imports once that writer ends.
#[test]
fn import_waits_for_writer_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("picket.sqlite");
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "192.0.2.7\n").unwrap();
    let writer = picket_store::Store::open(&store).unwrap();

    let mut import = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .env_remove("PICKET_LOG")
        .args(["intel", "--store", store.to_str().unwrap(), "import"])
        .arg(&feed)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut messages = BufReader::new(import.stderr.take().unwrap());
    let mut first = String::new();
    messages.read_line(&mut first).unwrap();
    assert!(first.contains("waiting until it ends"), "{first}");

    drop(writer);
    let done = import.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("new 1"),
        "{}",
        String::from_utf8_lossy(&done.stdout)
    );
}
