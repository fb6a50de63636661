//! One module per subcommand, plus what they share.

pub mod analyze;
pub mod eval;
pub mod hunt;
pub mod intel;
pub mod pdns;
pub mod triage;

use std::process::ExitCode;

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

/// Maps an alert count to the documented exit code.
pub fn exit_for_alerts(alerts: u64) -> ExitCode {
    ExitCode::from(if alerts > 0 { EXIT_ALERTS } else { EXIT_CLEAN })
}
