//! One module per subcommand, plus what they share.

pub mod analyze;
pub mod eval;
pub mod hunt;
pub mod inputs;
pub mod intel;
pub mod pdns;
pub mod triage;

use std::path::Path;
use std::process::ExitCode;

use picket_event::{Alert, Event, IntelHit};

/// Exit code of a run that finished without raising an alert.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code of a run that finished and raised at least one alert.
pub const EXIT_ALERTS: u8 = 1;

/// Sends `tracing` diagnostics to stderr at the given level or filter.
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// Prints a failure and its causes on stderr.
#[allow(clippy::print_stderr)]
pub fn report_error(error: &anyhow::Error) {
    eprintln!("picket: error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// Suffixes of the files SQLite and the store's writer lock keep beside a
/// store: its write-ahead log, shared-memory index, rollback journal and
/// lock file.
const STORE_SIDE_FILES: [&str; 4] = ["-wal", "-shm", "-journal", ".lock"];

/// Rejects an output path (given with `flag`) that names a file the run
/// reads, because creating the output would empty that file. Each file read
/// comes with the words that name it in the error ("the store"). The files
/// beside a store count as the store: emptying its write-ahead log loses
/// transactions already committed.
pub fn reject_output_over(flag: &str, output: &Path, read: &[(&Path, &str)]) -> anyhow::Result<()> {
    let Ok(output_path) = output.canonicalize() else {
        // A file that does not exist yet cannot be one of the files read.
        return Ok(());
    };
    for (path, what) in read {
        if path.canonicalize().is_ok_and(|p| p == output_path) {
            anyhow::bail!(
                "{flag} {} is {what}; writing alerts there would erase it",
                output.display()
            );
        }
        for suffix in STORE_SIDE_FILES {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            if Path::new(&side)
                .canonicalize()
                .is_ok_and(|p| p == output_path)
            {
                anyhow::bail!(
                    "{flag} {} is a file kept beside {what}; writing alerts there would damage it",
                    output.display()
                );
            }
        }
    }
    Ok(())
}

/// Maps an alert count to the documented exit code.
pub fn exit_for_alerts(alerts: u64) -> ExitCode {
    ExitCode::from(if alerts > 0 { EXIT_ALERTS } else { EXIT_CLEAN })
}

/// Detector id of alerts raised by an indicator match.
pub const INTEL_MATCH: &str = "intel.match";

/// Turns one indicator hit into an `intel.match` alert. `analyze` and `hunt`
/// both raise it this way, so a live and a retrospective alert for the same
/// hit share one dedupe key. The score is the indicator's confidence as a
/// fraction.
pub fn intel_alert(event: Event, hit: &IntelHit) -> Alert {
    let providers: Vec<&str> = hit.sources.iter().map(|s| s.provider.as_str()).collect();
    let summary = format!(
        "{} {} matched {} indicator {} from {}",
        hit.field.as_str(),
        hit.value,
        hit.kind,
        hit.indicator,
        providers.join(", ")
    );

    let mut alert = Alert::new(
        INTEL_MATCH,
        f64::from(hit.confidence) / 100.0,
        summary,
        vec![event],
    );
    alert.indicators.push(hit.clone());
    alert
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_over_store_side_files_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("picket.sqlite");
        let read = [(store.as_path(), "the store")];
        for name in ["picket.sqlite", "picket.sqlite-wal", "picket.sqlite.lock"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }

        for name in ["picket.sqlite", "picket.sqlite-wal", "picket.sqlite.lock"] {
            let output = dir.path().join(name);
            let error = reject_output_over("--output", &output, &read).unwrap_err();
            assert!(error.to_string().contains("the store"), "{error}");
        }
        let other = dir.path().join("alerts.jsonl");
        std::fs::write(&other, b"").unwrap();
        assert!(reject_output_over("--output", &other, &read).is_ok());
    }
}
