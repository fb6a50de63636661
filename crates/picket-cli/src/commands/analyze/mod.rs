//! `picket analyze`: read inputs, match, detect, store and report.

mod inputs;
mod intel;
mod pipeline;
mod progress;
mod readahead;
mod reload;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use picket_cli::analyze_config;
use picket_detect::DetectConfig;
use picket_event::Detector;
use picket_event::Sink;
use picket_match::SharedMatcher;
use picket_output::{JsonlSink, RunSummary, TextSink};
use picket_store::pdns::PdnsHistory;
use picket_store::useragents::{DeferredUserAgentHistory, PendingUserAgents};
use picket_store::{Store, WriterConfig};
use rusqlite::{Connection, OpenFlags};
use tracing::warn;

use self::pipeline::{Indicators, Pipeline};
use super::inputs::{InputArgs, InputOptions};

/// Output format of results on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One readable line per alert, then the summary.
    Text,
    /// One JSON document holding every alert and the summary.
    Json,
    /// One alert per line as JSON, then the summary as a last JSON line.
    Jsonl,
}

/// When to draw a progress bar on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// Only when stderr is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options of `picket analyze`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Logs, captures or directories (read recursively) to analyse; `-` reads
    /// standard input. Formats are detected from content; compressed files
    /// (gzip, bzip2, zstd) are read as they are.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Indicator file to match against (plain list, CSV, STIX 2.1, MISP,
    /// OpenIOC, Zeek intel and more; detected from content). Repeatable.
    #[arg(long, value_name = "PATH")]
    pub intel: Vec<PathBuf>,

    /// Embedded store file for events, alerts and ingest records; created
    /// when missing.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "picket.sqlite",
        env = "PICKET_STORE"
    )]
    pub store: PathBuf,

    /// Do not write a store; only report.
    #[arg(long, conflicts_with = "store")]
    pub no_store: bool,

    /// Also write every alert as JSON Lines to this file.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// How to print results on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub input: InputArgs,

    /// YAML configuration of detector thresholds (the `detect:` settings).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Read inputs again even when the store records that they were read before.
    /// Events and alerts already stored are still not duplicated.
    #[arg(long)]
    pub reread: bool,

    /// Progress bar on stderr.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressMode,

    /// Check the intelligence every SECS seconds while the run goes on (the
    /// `--intel` files and the store's indicators and whitelist) and swap in
    /// a rebuilt matcher when it changed, for a log followed on standard
    /// input. Each check reads the store's intelligence tables whole, so on
    /// a store of millions of indicators keep it at a minute or more.
    #[arg(long, value_name = "SECS", value_parser = parse_reload_interval)]
    pub reload_intel: Option<u64>,
}

/// Parses `--reload-intel`: whole seconds, at least one.
fn parse_reload_interval(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("the interval must be at least 1 second".to_owned()),
        Ok(secs) => Ok(secs),
        Err(_) => Err(format!("{text:?} is not a whole number of seconds")),
    }
}

/// Runs the analysis and returns 1 when it raised alerts, 0 when not.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut summary = RunSummary::new();

    let settings = analyze_config::load(args.config.as_deref())?;
    let store = if args.no_store {
        None
    } else {
        let store = Store::open(&args.store)
            .with_context(|| format!("cannot open the store {}", args.store.display()))?;
        summary.store = Some(args.store.display().to_string());
        Some(store)
    };
    let matcher = intel::build_matcher(&args.intel, store.as_ref(), &mut summary)?;
    let (indicators, reloader) = match args.reload_intel {
        None => (Indicators::Fixed(Box::new(matcher)), None),
        Some(_) if args.no_store && args.intel.is_empty() => {
            anyhow::bail!("--reload-intel has nothing to watch: give --intel files or use a store");
        }
        Some(secs) => {
            let shared = Arc::new(SharedMatcher::new(matcher));
            let reloader = reload::Reloader::start(
                Arc::clone(&shared),
                args.intel.clone(),
                (!args.no_store).then(|| args.store.clone()),
                Duration::from_secs(secs),
            )?;
            (Indicators::Reloaded(shared), Some(reloader))
        }
    };
    let (detectors, pending_agents) = build_detectors(&settings.detect, store.as_ref())?;

    let stdout = io::stdout();
    let mut sinks: Vec<Box<dyn Sink + '_>> = Vec::new();
    match args.format {
        OutputFormat::Text => sinks.push(Box::new(TextSink::new("stdout", stdout.lock()))),
        OutputFormat::Jsonl => sinks.push(Box::new(JsonlSink::new("stdout", stdout.lock()))),
        OutputFormat::Json => {}
    }
    let paths = super::inputs::expand(&args.inputs);
    if let Some(output) = &args.output {
        let mut read: Vec<(&Path, &str)> = paths
            .iter()
            .map(|path| (path.as_path(), "one of the inputs"))
            .collect();
        if !args.no_store {
            read.push((args.store.as_path(), "the store"));
        }
        for path in &args.intel {
            read.push((path.as_path(), "an intel file"));
        }
        super::reject_output_over("--output", output, &read)?;
    }
    if let Some(path) = &args.output {
        let file = File::create(path)
            .with_context(|| format!("cannot create the output file {}", path.display()))?;
        sinks.push(Box::new(JsonlSink::new(
            path.display().to_string(),
            BufWriter::new(file),
        )));
    }

    let show_progress = match args.progress {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => io::stderr().is_terminal(),
    };
    let writer = store
        .as_ref()
        .map(|s| (s, s.writer(WriterConfig::default())));
    let mut pipeline = Pipeline::new(
        indicators,
        detectors,
        writer,
        sinks,
        args.format == OutputFormat::Json,
    );

    let options = InputOptions::from_args(&args.input, settings.decode)?;
    for path in &paths {
        let input = inputs::analyze_one(
            path,
            &options,
            args.reread,
            store.as_ref(),
            &mut pipeline,
            show_progress,
        )?;
        summary.inputs.push(input);
    }
    let collected = pipeline.finish(&mut summary)?;
    drop(reloader);
    warn_skipped_with_new_intel(&summary, !args.intel.is_empty());
    if let (Some(store), Some(pending)) = (&store, pending_agents) {
        pending
            .write(store)
            .context("cannot write the user-agent inventory to the store")?;
    }

    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    summary.rank_hosts();
    print_summary(&summary, args.format, &collected)?;
    // As grep does: an input that could not be read makes the exit code 2,
    // even when alerts were raised from the other inputs.
    if summary.inputs.iter().any(|input| input.error.is_some()) {
        return Ok(ExitCode::from(2));
    }
    Ok(super::exit_for_alerts(summary.alert_total()))
}

/// Warns when inputs were skipped as already stored although new
/// intelligence was given: their events are not matched again by analyze.
fn warn_skipped_with_new_intel(summary: &RunSummary, intel_given: bool) {
    let skipped = summary
        .inputs
        .iter()
        .filter(|input| input.events == 0 && input.already_stored > 0)
        .count();
    if intel_given && skipped > 0 {
        warn!(
            inputs = skipped,
            "inputs already in the store were not matched again; run `picket hunt --intel PATH` \
             to match new intelligence against stored events, or `picket analyze --reread`"
        );
    }
}

/// The detectors, and the user-agent sightings they leave for the store.
type DetectorSet = (Vec<Box<dyn Detector>>, Option<PendingUserAgents>);

/// Builds every detector, with the store's history of domains and user
/// agents when there is a store. The returned handle holds the user-agent
/// sightings to write once the event writer is done.
fn build_detectors(config: &DetectConfig, store: Option<&Store>) -> anyhow::Result<DetectorSet> {
    let Some(store) = store else {
        return Ok((picket_detect::all_detectors(config), None));
    };

    let read_only = Connection::open_with_flags(store.path(), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .context("cannot open the store for the passive-DNS history")?;
    let domains = PdnsHistory::new(read_only).context("cannot read the passive-DNS history")?;
    let (agents, pending) = DeferredUserAgentHistory::open(store.path())
        .context("cannot read the user-agent inventory from the store")?;

    let mut detectors =
        picket_detect::dns::detectors_with_history(&config.dns, Some(Box::new(domains)));
    detectors.extend(picket_detect::http::detectors_with_history(
        &config.http,
        Some(Box::new(agents)),
    ));
    Ok((detectors, Some(pending)))
}

/// Prints the summary: text on stdout for `text`, a last JSON line for
/// `jsonl`, the whole document for `json`.
fn print_summary(
    summary: &RunSummary,
    format: OutputFormat,
    alerts: &[picket_event::Alert],
) -> anyhow::Result<()> {
    let text = match format {
        OutputFormat::Text => format!("\n{}\n", summary.to_text()),
        OutputFormat::Jsonl => format!("{}\n", serde_json::to_string(summary)?),
        OutputFormat::Json => {
            let document = serde_json::json!({ "alerts": alerts, "summary": summary });
            format!("{}\n", serde_json::to_string_pretty(&document)?)
        }
    };

    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
