//! Project tasks: `cargo run -p xtask -- <task>`.
//!
//! Generators write realistic inputs of any size with planted infected hosts,
//! for benchmarks and soak tests. Each generator is seeded, so the same
//! arguments always write the same bytes.

use clap::{Parser, Subcommand};

/// picket's project tasks.
#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.task {}
}
