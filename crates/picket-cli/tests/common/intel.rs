//! Running `picket intel` against a store at a fixed time, for the intel
//! CLI tests.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// Runs `picket intel --store STORE --now NOW ARGS...`.
pub fn picket(store: &Path, now: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_picket"))
        .arg("intel")
        .arg("--store")
        .arg(store)
        .arg("--now")
        .arg(now)
        .args(args)
        .output()
        .unwrap()
}

/// Returns a command's standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
