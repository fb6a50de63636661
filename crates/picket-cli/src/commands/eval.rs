//! `picket eval`: runs the detectors over labelled data and prints, per
//! detector, what they found and what they missed.
//!
//! One sub-subcommand per detector family.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use picket_event::Event;

/// Options of `picket eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The detector family to evaluate.
    #[command(subcommand)]
    pub target: Target,
}

/// The detector families `picket eval` evaluates.
#[derive(Debug, clap::Subcommand)]
pub enum Target {
    /// HTTP detectors on labelled proxy-log fixtures (a manifest of cases).
    Http(HttpArgs),
    /// DNS detectors on the labelled names of the public corpus: DGA families
    /// against held-out popular domains, tunnel names against plain names.
    Dns(DnsArgs),
}

/// Options of `picket eval dns`.
#[derive(Debug, clap::Args)]
pub struct DnsArgs {
    /// The corpus folder (holding `dga/`, `dns-tunnel/` and
    /// `benign-and-warninglists/`).
    #[arg(long, default_value = "../shared/corpus", env = "PICKET_CORPUS")]
    pub corpus: PathBuf,
    /// Output: `table` or `jsonl` (one row object per line).
    #[arg(long, default_value = "table", value_parser = ["table", "jsonl"])]
    pub format: String,
}

/// Options of `picket eval http`.
#[derive(Debug, clap::Args)]
pub struct HttpArgs {
    /// Manifest of labelled cases: `file detector expected` per line, files
    /// relative to the manifest.
    #[arg(default_value = "crates/picket-detect/tests/fixtures/http/cases.tsv")]
    pub manifest: PathBuf,
}

/// Runs the evaluation; exit code 1 when a case is missed.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.target {
        Target::Http(http) => run_http(&http),
        Target::Dns(dns) => run_dns(&dns),
    }
}

/// Reads every event of a log; a rejected line fails the fixture.
fn read_fixture(path: &Path) -> anyhow::Result<Vec<Event>> {
    let mut reader = picket_sources::open(path, &picket_sources::OpenOptions::default())
        .with_context(|| format!("cannot open fixture {}", path.display()))?;
    let mut events = Vec::new();
    for item in reader.by_ref() {
        events
            .push(item.with_context(|| format!("fixture {} has a rejected line", path.display()))?);
    }
    Ok(events)
}

#[allow(clippy::print_stdout)]
fn run_http(args: &HttpArgs) -> anyhow::Result<ExitCode> {
    use picket_detect::http::eval::{evaluate, parse_manifest};

    let text = super::triage::read_text_capped(&args.manifest)
        .with_context(|| format!("cannot read manifest {}", args.manifest.display()))?;
    let cases = parse_manifest(&text)
        .with_context(|| format!("invalid manifest {}", args.manifest.display()))?;
    let base = args.manifest.parent().unwrap_or(Path::new("."));
    let (outcomes, tallies) = evaluate(&cases, base, read_fixture)?;

    for outcome in &outcomes {
        println!(
            "{:<4} {:<30} {:<28} expected {:<4} got {}",
            if outcome.passed { "ok" } else { "MISS" },
            outcome.case.file.display(),
            outcome.detector,
            outcome.case.expected.to_string(),
            outcome.alerts
        );
    }
    println!();
    println!(
        "{:<28} {:>5} {:>7} {:>15} {:>13}",
        "detector", "hits", "misses", "true negatives", "false alarms"
    );
    let mut failed = 0;
    for (detector, tally) in &tallies {
        println!(
            "{detector:<28} {:>5} {:>7} {:>15} {:>13}",
            tally.hits, tally.misses, tally.true_negatives, tally.false_alarms
        );
        failed += tally.misses + tally.false_alarms;
    }
    Ok(super::exit_for_alerts(failed as u64))
}

/// Prints the DNS evaluation; exit code 0 (the rows are the result).
#[allow(clippy::print_stdout)]
fn run_dns(args: &DnsArgs) -> anyhow::Result<ExitCode> {
    use picket_detect::dns::eval::{evaluate_dga, evaluate_tunnel_names};

    let mut rows = evaluate_dga(
        &args.corpus.join("dga/baderj"),
        &args
            .corpus
            .join("benign-and-warninglists/misp-warninglists"),
    )
    .context("DGA evaluation failed")?;
    rows.extend(
        evaluate_tunnel_names(&args.corpus.join("dns-tunnel/netrack-learn"))
            .context("tunnel evaluation failed")?,
    );

    if args.format == "jsonl" {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
        return Ok(ExitCode::from(super::EXIT_CLEAN));
    }
    println!(
        "{:<12} {:<32} {:<7} {:>6} {:>6} {:>7} {:>6} {:>5} {:>7} {:>7}",
        "detector", "corpus", "method", "pos", "TP", "recall", "neg", "FP", "FPR", "AUC"
    );
    for r in &rows {
        println!(
            "{:<12} {:<32} {:<7} {:>6} {:>6} {:>7.4} {:>6} {:>5} {:>7.4} {:>7}",
            r.detector,
            r.corpus,
            r.method,
            r.positives,
            r.true_positives,
            r.recall(),
            r.negatives,
            r.false_positives,
            r.false_positive_rate(),
            r.auc.map_or_else(|| "-".to_owned(), |a| format!("{a:.4}"))
        );
    }
    for row in rows
        .iter()
        .filter(|row| row.invalid > 0 && row.method == "score")
    {
        println!(
            "{}: {} names left out, which no DNS message can carry (an empty label or one over 63 bytes, or a name over 253)",
            row.corpus, row.invalid
        );
    }
    Ok(ExitCode::from(super::EXIT_CLEAN))
}
