//! `picket analyze`: the main job.

use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `picket analyze`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Logs, captures or directories to read; `-` reads standard input.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

/// Runs the analysis.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("picket analyze is being wired")
}
