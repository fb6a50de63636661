//! The `picket` command: wires the library crates into subcommands.
//!
//! Exit codes: 0 when the run finished and raised no alert (or the command has
//! no notion of alerts), 1 when it finished and raised at least one alert,
//! 2 on a usage error or a failure that stopped the run.

mod commands;

/// mimalloc instead of the system allocator: events are many small strings
/// allocated and freed at line rate, which glibc's malloc spends most of a
/// run on (measured with perf on a 200,000-line Squid log).
///
/// Its options stay at their defaults for every command. Setting one here
/// needs `unsafe` (`mi_option_set`), which the workspace forbids. The
/// crate's compile-time `no_thp` feature would take transparent huge pages
/// from every command, which helps some and slows others. Without them,
/// `picket analyze` used 11 % less CPU time with no store and 8 % more
/// with one, and an intelligence import gained nothing measurable
/// (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Network-defence toolkit: find infected hosts in proxy logs, DNS logs and captures.
#[derive(Debug, Parser)]
#[command(name = "picket", version, max_term_width = 100)]
struct Cli {
    /// Log verbosity for diagnostics on stderr: error, warn, info, debug or trace.
    #[arg(long, global = true, env = "PICKET_LOG", default_value = "warn")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read logs and captures, match them against intelligence, run the
    /// detectors, store what was seen and report alerts.
    Analyze(commands::analyze::Args),
    /// Match stored event history against indicators and report what was
    /// not alerted on before, as retrospective alerts; or match logs and
    /// captures given as inputs, without a store.
    Hunt(commands::hunt::Args),
    /// Score proxy-log lines against weighted lists and sort them into
    /// white, grey and black files; extract lines matching rules.
    Triage(commands::triage::Args),
    /// Run detectors over labelled data and print hits and misses per detector.
    Eval(commands::eval::Args),
    /// Query passive DNS: stored answers and failing lookups by name, data or time.
    Pdns(commands::pdns::Args),
    /// Pull feeds, import, export, query and expire threat intelligence.
    Intel(commands::intel::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    commands::init_logging(&cli.log);

    let result = match cli.command {
        Command::Analyze(args) => commands::analyze::run(args),
        Command::Hunt(args) => commands::hunt::run(args),
        Command::Triage(args) => commands::triage::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Pdns(args) => commands::pdns::run(args),
        Command::Intel(args) => commands::intel::run(args),
    };

    match result {
        Ok(code) => code,
        Err(error) => {
            commands::report_error(&error);
            ExitCode::from(2)
        }
    }
}
