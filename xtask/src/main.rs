//! Project tasks: `cargo run -p xtask -- <task>`.
//!
//! Generators write realistic inputs of any size with planted infected hosts,
//! for benchmarks and soak tests. Each generator is seeded, so the same
//! arguments always write the same bytes.

use clap::{Parser, Subcommand};

mod gen_http;
mod gen_intel;
mod gen_logs;
mod gen_pcap;
mod pdns_load;
mod rng;
mod train_dga;

/// picket's project tasks.
#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Rebuild the lexical DGA model shipped in crates/picket-detect/data/.
    TrainDga(train_dga::Args),
    /// Fill a passive-DNS store with generated answers and time inserts and queries.
    PdnsLoad(pdns_load::Args),
    /// Write realistic proxy or DNS logs with planted infected hosts.
    GenLogs(gen_logs::Args),
    /// Write a W3C proxy log with planted drive-by chains and beacons for the HTTP benchmark.
    GenHttp(gen_http::Args),
    /// Write a capture of mixed DNS, HTTP and TLS traffic for decoding benchmarks.
    GenPcap(gen_pcap::Args),
    /// Write plain and CSV indicator feeds and a query file for the intel benchmark.
    GenIntel(gen_intel::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::TrainDga(args) => train_dga::run(args),
        Task::PdnsLoad(args) => pdns_load::run(args),
        Task::GenLogs(args) => gen_logs::run(args),
        Task::GenHttp(args) => gen_http::run(args),
        Task::GenPcap(args) => gen_pcap::run(args),
        Task::GenIntel(args) => gen_intel::run(args),
    }
}
