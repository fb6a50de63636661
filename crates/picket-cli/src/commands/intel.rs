//! `picket intel`: pull feeds, import files, export, query, stats and expiry
//! over the indicators in the store.
//!
//! Exit codes: 0 when the command worked (for `query`: and no active
//! indicator covers any value), 1 when `query` found an active indicator,
//! 2 on an error, including any feed of `pull` that failed.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use picket_event::Sink;
use picket_event::Timestamp;
use picket_intel::{
    Column, ColumnList, Columns, Defaults, ExportFormat, ExportOptions, FeedRule, Fetched, Format,
    IndicatorKind, IndicatorSource, IntelError, LifetimeOverrides, Lifetimes, LoadOptions,
    LoadReport, RuleFile, Tlp, Validators, Visit, Whitelist,
};
use picket_output::JsonlSink;
use picket_store::Store;
use picket_store::intel::{self as store_intel, FeedState, Filter, StoredIndicator, UpsertCounts};
use serde_json::json;
use tracing::{info, warn};

use super::hunt::{AlertOutput, HuntSummary};

/// Version of the `query` JSON Lines records.
const QUERY_SCHEMA_VERSION: u32 = 1;

/// Options of `picket intel`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// Store file.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "picket.sqlite",
        env = "PICKET_STORE",
        global = true
    )]
    store: PathBuf,
    /// The current time, RFC 3339. The clock when absent. For replaying
    /// and testing expiry.
    #[arg(long, value_name = "TIME", global = true, hide = true)]
    now: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Download the feeds of rule files and store what they list.
    Pull(PullArgs),
    /// Read intelligence files, allow lists or MISP warninglists into the store.
    Import(ImportArgs),
    /// Write the active indicators in a format for a sensor or for exchange.
    Export(ExportArgs),
    /// Show every indicator and sighting covering values (IP, CIDR, domain, URL, hash).
    Query(QueryArgs),
    /// Count indicators per kind and feed, and show each feed's state.
    Stats(StatsArgs),
    /// Recompute expiry and count expired indicators (they stay stored).
    Expire,
}

/// Per-kind lifetimes in days, `KIND=DAYS` (kinds: ip, network, domain,
/// url, email, hash, user-agent, file-name).
#[derive(Debug, Clone, clap::Args)]
struct LifetimeArgs {
    /// Lifetime in days from last seen, such as `ip=14` or `domain=90`;
    /// wins over a feed rule's `lifetimes:`. Repeatable.
    #[arg(long = "lifetime", value_name = "KIND=DAYS")]
    lifetimes: Vec<String>,
}

impl LifetimeArgs {
    /// Returns the lifetimes the flags set.
    fn overrides(&self) -> anyhow::Result<LifetimeOverrides> {
        let mut out = LifetimeOverrides::default();
        for item in &self.lifetimes {
            let (kind, days) = item
                .split_once('=')
                .with_context(|| format!("--lifetime {item:?}: expected KIND=DAYS"))?;
            let days: u32 = days
                .parse()
                .with_context(|| format!("--lifetime {item:?}: DAYS is not a number"))?;
            if !out.set(kind, days) {
                bail!(
                    "--lifetime: unknown kind {kind:?} ({})",
                    picket_intel::expiry::LIFETIME_NAMES.join(", ")
                );
            }
        }
        Ok(out)
    }

    /// Returns the built-in lifetimes with the flags over them.
    fn resolve(&self) -> anyhow::Result<Lifetimes> {
        Ok(self.overrides()?.over(&Lifetimes::default()))
    }
}

#[derive(Debug, clap::Args)]
struct PullArgs {
    /// Feed rule files (YAML, one per provider).
    #[arg(required = true)]
    rules: Vec<PathBuf>,
    /// Download every feed, even one pulled within its refresh interval.
    #[arg(long)]
    force: bool,
    /// Pull only this feed (by name). Repeatable.
    #[arg(long = "feed", value_name = "NAME")]
    feeds: Vec<String>,
    /// Rejected records printed per feed. The rest are counted.
    #[arg(long, default_value_t = 20)]
    show_rejections: usize,
    /// After the pull, hunt the values it added through the events stored
    /// in this window (`30d`, `12h`, `2w`), counted back from the newest
    /// stored day. New alerts are recorded in the store.
    #[arg(long, value_name = "WINDOW", value_parser = parse_window)]
    hunt: Option<std::time::Duration>,
    /// Also write the hunt's new alerts as JSON Lines to this file.
    #[arg(long, value_name = "FILE", requires = "hunt")]
    hunt_output: Option<PathBuf>,
    #[command(flatten)]
    lifetimes: LifetimeArgs,
}

/// Reads the `--hunt` window, which must be longer than zero and name its
/// unit: a bare `7` would be seven seconds where days are more likely meant.
fn parse_window(text: &str) -> Result<std::time::Duration, String> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?} has no unit: give a window such as 12h, 30d or 2w"
        ));
    }
    match picket_intel::rules::parse_duration(text) {
        Some(window) if !window.is_zero() => Ok(window),
        Some(_) => Err(format!(
            "{text:?} is zero: give a window such as 12h, 30d or 2w"
        )),
        None => Err(format!("{text:?} is not a window such as 12h, 30d or 2w")),
    }
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// Files to read.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The format. Detected from the content when absent.
    #[arg(long, value_parser = Format::ALL.map(|f| f.as_str()))]
    format: Option<String>,
    /// Provider of every sighting (default: the file path).
    #[arg(long)]
    provider: Option<String>,
    /// Feed name of every sighting (default: the file stem).
    #[arg(long)]
    feed: Option<String>,
    /// Confidence 0-100 of every sighting.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    confidence: Option<u8>,
    /// TLP of every sighting: clear, green, amber, amber+strict, red.
    #[arg(long)]
    tlp: Option<String>,
    /// Tag added to every sighting. Repeatable.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Read every value as this kind instead of guessing.
    #[arg(long)]
    kind: Option<String>,
    /// Column map of a delimited file, `FIELD=COLUMN` (fields: value,
    /// kind, tags, description, first-seen, last-seen, confidence,
    /// reference. Columns are 1-based numbers or header names).
    #[arg(long = "column", value_name = "FIELD=COLUMN")]
    columns: Vec<String>,
    /// The delimited file starts with a header row.
    #[arg(long)]
    header: bool,
    /// Delimiter of a delimited file: one character or `tab`.
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// Store the values as local allow rules instead of indicators.
    #[arg(long, conflicts_with = "warninglist")]
    allow: bool,
    /// The files are MISP warninglists (list.json files or folders of them).
    #[arg(long)]
    warninglist: bool,
    /// Rejected records printed per file. The rest are counted.
    #[arg(long, default_value_t = 20)]
    show_rejections: usize,
    #[command(flatten)]
    lifetimes: LifetimeArgs,
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// Output format.
    #[arg(long, value_parser = ExportFormat::ALL.map(|f| f.as_str()))]
    format: String,
    /// Only these kinds (ipv4, ipv6, cidr, ip_range, domain, url, email, md5, sha1, sha256, user_agent, file_name). Repeatable.
    #[arg(long = "type", value_name = "KIND")]
    kinds: Vec<String>,
    /// Only sightings with at least this confidence.
    #[arg(long, default_value_t = 0)]
    min_confidence: u8,
    /// Only sightings marked at most this TLP (unmarked counts as clear).
    #[arg(long)]
    max_tlp: Option<String>,
    /// Only sightings with one of these tags or assessments. Repeatable.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Only sightings seen within this age (`30d`, `12h`).
    #[arg(long)]
    max_age: Option<String>,
    /// Write here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Origin of the RPZ zone.
    #[arg(long, default_value = "rpz.picket.")]
    rpz_origin: String,
    /// Base name of the ipset sets.
    #[arg(long, default_value = "picket")]
    ipset_name: String,
}

#[derive(Debug, clap::Args)]
struct QueryArgs {
    /// Values to look up.
    values: Vec<String>,
    /// A file of values, one a line (`#` comments).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Output: `text` or `jsonl`.
    #[arg(long, default_value = "text", value_parser = ["text", "jsonl"])]
    format: String,
    /// Print the query throughput and latency percentiles on stderr.
    #[arg(long)]
    timing: bool,
}

#[derive(Debug, clap::Args)]
struct StatsArgs {
    /// Output: `text` or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

/// Runs `picket intel`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let now = match &args.now {
        Some(text) => Timestamp::parse_rfc3339(text).context("--now")?,
        None => Timestamp::from_jiff(jiff::Timestamp::now()),
    };
    let result = match &args.action {
        Action::Pull(pull) => run_pull(&args.store, pull, now),
        Action::Import(import) => run_import(&args.store, import, now),
        Action::Export(export) => run_export(&args.store, export, now),
        Action::Query(query) => run_query(&args.store, query, now),
        Action::Stats(stats) => run_stats(&args.store, stats, now),
        Action::Expire => run_expire(&args.store, now),
    };
    // A reader that went away (`| head`) ends the output quietly.
    match result {
        Err(error) if is_broken_pipe(&error) => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(cause.downcast_ref::<picket_intel::IntelError>(),
                Some(picket_intel::IntelError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Page cache of an importing connection, in KiB (SQLite's negative
/// `cache_size`). Measured on 2 million indicators: 256 MiB cost the same
/// CPU time as 64 MiB and 200 MB more peak memory, because pages spilled
/// from the cache go straight to the file under a rollback journal.
const IMPORT_CACHE_KIB: i64 = 65_536;

/// The store's journal for the length of `intel import`. A rollback
/// journal writes each page a bulk load adds once, where the write-ahead
/// log writes it twice (log, then checkpoint), and it records only the
/// pages that existed before, so a crash still leaves the store intact.
/// SQLite leaves WAL only when no other connection has the store open;
/// otherwise the import simply runs in WAL. The store returns to WAL when
/// this guard drops.
///
/// Foreign keys are not checked meanwhile: the import writes a sighting
/// only for the indicator row it has just written or found, and a check
/// costs a lookup per sighting in two tables.
struct BulkJournal<'c> {
    conn: &'c rusqlite::Connection,
    switched: bool,
    foreign_keys: bool,
}

impl<'c> BulkJournal<'c> {
    fn begin(conn: &'c rusqlite::Connection) -> Self {
        let foreign_keys = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get::<_, bool>(0))
            .unwrap_or(false);
        if foreign_keys && let Err(error) = conn.execute_batch("PRAGMA foreign_keys = OFF") {
            warn!(%error, "cannot stop foreign key checks for the import");
        }
        let mode: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode = TRUNCATE", [], |r| r.get(0));
        let switched = matches!(mode.as_deref(), Ok("truncate"));
        // NORMAL is safe against power loss in WAL mode only; a rollback
        // journal needs FULL for that, which costs a few syncs per commit.
        if switched && let Err(error) = conn.execute_batch("PRAGMA synchronous = FULL") {
            warn!(%error, "cannot set synchronous = FULL for the import");
        }
        if !switched {
            info!(
                ?mode,
                "the store stays in WAL mode for the import (another connection has it open)"
            );
        }
        BulkJournal {
            conn,
            switched,
            foreign_keys,
        }
    }
}

impl Drop for BulkJournal<'_> {
    fn drop(&mut self) {
        if self.foreign_keys
            && let Err(error) = self.conn.execute_batch("PRAGMA foreign_keys = ON")
        {
            warn!(%error, "cannot restore foreign key checks after the import");
        }
        if self.switched
            && let Err(error) = self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .and_then(|_| self.conn.execute_batch("PRAGMA synchronous = NORMAL"))
        {
            warn!(%error, "cannot put the store back into WAL mode; the next writer does");
        }
    }
}

fn open_writer(path: &Path) -> anyhow::Result<Store> {
    let store =
        Store::open(path).with_context(|| format!("cannot open the store {}", path.display()))?;
    store_intel::create_schema(store.connection())
        .context("cannot create the intelligence tables")?;
    store
        .connection()
        .execute_batch(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))
        .context("cannot size the page cache")?;
    Ok(store)
}

fn open_reader(path: &Path) -> anyhow::Result<Store> {
    anyhow::ensure!(
        path.exists(),
        "the store {} does not exist; run `picket intel import` or `pull` first",
        path.display()
    );
    // An import that was killed leaves its rollback journal. Only a writer
    // can play it back, so a reader cannot open the store until one has.
    let mut journal = path.as_os_str().to_owned();
    journal.push("-journal");
    let interrupted = std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0);
    let store = Store::open_read_only(path).with_context(|| {
        if interrupted {
            format!(
                "cannot open the store {}: an import into it was interrupted; run `picket intel expire` \
                 once to roll the import back",
                path.display()
            )
        } else {
            format!("cannot open the store {}", path.display())
        }
    })?;
    let has_tables: bool = store
        .connection()
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'intel_indicators'",
            [],
            |r| r.get(0),
        )
        .context("cannot read the store")?;
    anyhow::ensure!(
        has_tables,
        "the store {} contains no intelligence yet; run `picket intel import` or `pull`",
        path.display()
    );
    let old_layout =
        store_intel::needs_upgrade(store.connection()).context("cannot read the store")?;
    anyhow::ensure!(
        !old_layout,
        "the store {} was written by an older picket; run `picket intel expire` once to upgrade it",
        path.display()
    );
    Ok(store)
}

/// Prints a report line on stdout and rejections on stderr.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn print_report(name: &str, counts: &UpsertCounts, report: &LoadReport, expired: u64, show: usize) {
    // Values repeated inside the file are named only when there are some,
    // so that the line of an ordinary feed keeps its five counts.
    let repeated = if report.duplicates > 0 {
        format!(
            ", repeated {} (merged into an earlier record)",
            report.duplicates
        )
    } else {
        String::new()
    };
    println!(
        "{name}: new {}, updated {}, unchanged {}, rejected {}, expired {}{repeated}",
        counts.new,
        counts.updated,
        counts.unchanged,
        report.rejections.len(),
        expired
    );
    print_rejections(report, show);
    if let Some(declared) = report.declared_entries
        && declared != report.records
    {
        eprintln!(
            "  warning: the file declares {declared} entries, {} were read",
            report.records
        );
    }
}

/// Prints the first `show` rejected records of a report on stderr and
/// counts the rest.
#[allow(clippy::print_stderr)]
fn print_rejections(report: &LoadReport, show: usize) {
    for rejection in report.rejections.iter().take(show) {
        eprintln!("  rejected {rejection}");
    }
    if report.rejections.len() > show {
        eprintln!("  ... {} more rejected", report.rejections.len() - show);
    }
}

fn run_import(store_path: &Path, args: &ImportArgs, now: Timestamp) -> anyhow::Result<ExitCode> {
    let store = open_writer(store_path)?;
    let conn = store.connection();

    if args.warninglist {
        for path in &args.files {
            let mut files = Vec::new();
            if path.is_dir() {
                for entry in std::fs::read_dir(path)
                    .with_context(|| format!("cannot list {}", path.display()))?
                    .flatten()
                {
                    let p = entry.path();
                    if p.is_dir() && p.join("list.json").is_file() {
                        files.push(p.join("list.json"));
                    } else if p.extension().is_some_and(|e| e == "json") {
                        files.push(p);
                    }
                }
                files.sort();
            } else {
                files.push(path.clone());
            }
            for file in files {
                let body = read_text(&file, picket_intel::whitelist::MAX_WARNINGLIST_BYTES)?;
                let list: picket_intel::Warninglist = serde_json::from_str(&body)
                    .with_context(|| format!("{} is not a MISP warninglist", file.display()))?;
                picket_intel::Whitelist::new()
                    .add_warninglist(&list)
                    .map_err(|reason| anyhow::anyhow!("{}: {reason}", file.display()))?;
                store_intel::add_warninglist(conn, &list.name, &body)?;
                report_line(&format!(
                    "{}: warninglist {:?}, {} entries",
                    file.display(),
                    list.name,
                    list.list.len()
                ));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    let lifetimes = args.lifetimes.resolve()?;
    let base = import_options(args)?;
    let _journal = BulkJournal::begin(conn);
    for path in &args.files {
        let mut options = base.clone();
        options.reported_at = Some(now);
        let started = std::time::Instant::now();
        let tx = conn.unchecked_transaction()?;
        let (counts, report) = if args.allow {
            let report = picket_intel::load_file_with(path, &options)
                .with_context(|| format!("cannot import {}", path.display()))?;
            let mut counts = UpsertCounts::default();
            for indicator in report.indicators.iter().chain(&report.allow) {
                let observable = picket_intel::Observable {
                    kind: indicator.kind,
                    value: indicator.value.clone(),
                    include_subdomains: indicator.include_subdomains,
                };
                let note = indicator
                    .sightings
                    .first()
                    .and_then(|s| s.source.description.as_deref());
                let change =
                    store_intel::add_allow(&tx, &observable, &path.display().to_string(), note)?;
                match change {
                    store_intel::AllowChange::New => counts.new += 1,
                    store_intel::AllowChange::Updated => counts.updated += 1,
                    store_intel::AllowChange::Unchanged => counts.unchanged += 1,
                }
            }
            (counts, report)
        } else {
            let (counts, report) = import_streaming(&tx, path, &options, &lifetimes, now)?;
            for indicator in &report.allow {
                let observable = picket_intel::Observable {
                    kind: indicator.kind,
                    value: indicator.value.clone(),
                    include_subdomains: indicator.include_subdomains,
                };
                store_intel::add_allow(
                    &tx,
                    &observable,
                    &path.display().to_string(),
                    Some("whitelist entry of the file"),
                )?;
            }
            (counts, report)
        };
        tx.commit()?;
        info!(file = %path.display(), new = counts.new, updated = counts.updated, unchanged = counts.unchanged,
            seconds = started.elapsed().as_secs_f64(), "intelligence imported");
        print_report(
            &path.display().to_string(),
            &counts,
            &report,
            0,
            args.show_rejections,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Distinct values a parse thread hands to the store at a time. Bounds
/// the memory of an import to a few chunks (about 400 bytes a value
/// each) and gives the store sorted runs long enough to fill its B-trees
/// page by page.
const IMPORT_CHUNK: usize = 65_536;

/// Chunks parsed ahead of the store. With two, both feeds of the import
/// benchmark (BENCHMARKS.md) took 4.24 to 4.44 s and peaked at 540 to 570
/// MiB. With one, they took 4.06 to 4.43 s and peaked at 480 to 495 MiB,
/// because the parse thread spends time on each page of fresh memory.
const IMPORT_CHUNKS_AHEAD: usize = 1;

/// Input bytes per value, to estimate an input's values from its size for
/// `Import::expect_values`. Lines of a plain list of addresses and domains
/// take about 30, rows of a CSV feed about 60, and URLs more.
const INPUT_BYTES_PER_VALUE: u64 = 64;

/// Imports one file while it is parsed: a thread parses it and hands
/// chunks of indicators over a bounded channel to this thread, which
/// stores them inside `conn`'s open transaction.
fn import_streaming(
    conn: &rusqlite::Connection,
    path: &Path,
    options: &LoadOptions,
    lifetimes: &Lifetimes,
    now: Timestamp,
) -> anyhow::Result<(UpsertCounts, LoadReport)> {
    let parse = |sink: &mut dyn FnMut(picket_intel::Chunk) -> bool| {
        picket_intel::load_file_chunked(path, options, IMPORT_CHUNK, sink)
    };
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let (counts, parsed) = store_while_parsing(conn, parse, size, lifetimes, now)
        .with_context(|| format!("cannot store {}", path.display()))?;
    let report = parsed.with_context(|| format!("cannot import {}", path.display()))?;
    Ok((counts, report))
}

/// A chunk the parse thread hands to the store thread.
enum Handed {
    /// Values not handed over before ([`picket_intel::Chunk::Fresh`]).
    Fresh(store_intel::PreparedChunk),
    /// Later records of values handed over before.
    Repeats(Vec<picket_intel::Indicator>),
}

/// Runs `parse` on a thread of its own and stores the chunks it hands
/// over on this thread, inside `conn`'s open transaction. `size` is the
/// input's length in bytes. The outer error
/// is the store's; a parse error comes back inside, after whatever was
/// stored before it (roll the transaction back to drop that).
fn store_while_parsing<P>(
    conn: &rusqlite::Connection,
    parse: P,
    size: u64,
    lifetimes: &Lifetimes,
    now: Timestamp,
) -> anyhow::Result<(UpsertCounts, Result<LoadReport, picket_intel::IntelError>)>
where
    P: FnOnce(
            &mut dyn FnMut(picket_intel::Chunk) -> bool,
        ) -> Result<LoadReport, picket_intel::IntelError>
        + Send,
{
    let mut import = store_intel::Import::begin(conn, lifetimes, now)?;
    import.expect_values(size / INPUT_BYTES_PER_VALUE);
    let mut preparer = import.preparer();
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Handed>(IMPORT_CHUNKS_AHEAD);
    // Stored chunks go back to the parse thread, which frees their
    // indicators (memory is freed faster by the thread that allocated it,
    // and the store thread is the slower one) and reuses their buffers.
    let (give_back, given_back) =
        std::sync::mpsc::sync_channel::<store_intel::PreparedChunk>(IMPORT_CHUNKS_AHEAD);
    let (parsed, stored) = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut sink = |chunk: picket_intel::Chunk| {
                while let Ok(done) = given_back.try_recv() {
                    preparer.recycle(done);
                }
                // Prepared here, the chunk leaves the store thread only the
                // writing, which is the longer of the two threads' work.
                let handed = match chunk {
                    picket_intel::Chunk::Fresh(indicators) => {
                        Handed::Fresh(preparer.prepare(indicators))
                    }
                    picket_intel::Chunk::Repeats(indicators) => Handed::Repeats(indicators),
                };
                sender.send(handed).is_ok()
            };
            let parsed = parse(&mut sink);

            // Frees the chunks stored last while the store thread finishes.
            drop(sender);
            for done in given_back {
                drop(done);
            }
            parsed
        });
        let mut stored: rusqlite::Result<()> = Ok(());
        for chunk in &receiver {
            stored = match chunk {
                Handed::Fresh(mut prepared) => {
                    let result = import.add_prepared(&mut prepared);
                    prepared.free_with(import.take_merged());
                    // A full or closed channel leaves the chunk to be freed here.
                    let _ = give_back.try_send(prepared);
                    result
                }
                Handed::Repeats(indicators) => import.fold_repeats(&indicators),
            };
            if stored.is_err() {
                break;
            }
        }
        // A failed store closes the channel, so the parser stops handing
        // over; closing the other lets it end.
        drop(receiver);
        drop(give_back);
        let finished = stored.and_then(|()| import.finish());
        let parsed = parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (parsed, finished)
    });
    let counts = stored?;
    Ok((counts, parsed))
}

#[allow(clippy::print_stdout)]
fn report_line(line: &str) {
    println!("{line}");
}

fn import_options(args: &ImportArgs) -> anyhow::Result<LoadOptions> {
    let tlp = match &args.tlp {
        Some(t) => Some(Tlp::parse(t).with_context(|| {
            format!("--tlp {t:?}: expected clear, green, amber, amber+strict or red")
        })?),
        None => None,
    };
    let kind = match &args.kind {
        Some(k) => Some(k.parse::<IndicatorKind>()?),
        None => None,
    };
    let mut columns: Option<Columns> = None;
    for item in &args.columns {
        let (field, column) = item
            .split_once('=')
            .with_context(|| format!("--column {item:?}: expected FIELD=COLUMN"))?;
        let column = match column.parse::<usize>() {
            Ok(n) => Column::Index(n),
            Err(_) => Column::Name(column.to_owned()),
        };
        let map = columns
            .get_or_insert_with(|| Columns::of_value(ColumnList::Many(Vec::new()), args.header));
        match field {
            "value" => {
                if let ColumnList::Many(list) = &mut map.value {
                    list.push(column);
                }
            }
            "kind" => map.kind = Some(column),
            "tags" => map.tags = Some(column),
            "description" => map.description = Some(column),
            "first-seen" => map.first_seen = Some(column),
            "last-seen" => map.last_seen = Some(column),
            "confidence" => map.confidence = Some(column),
            "reference" => map.reference = Some(column),
            other => bail!("--column: unknown field {other:?}"),
        }
    }
    if let Some(map) = &columns {
        anyhow::ensure!(
            !map.value.as_slice().is_empty(),
            "--column: a value=COLUMN is needed"
        );
    }
    let delimiter = match args.delimiter.as_str() {
        "tab" | "\\t" => b'\t',
        d if d.len() == 1 => d.as_bytes()[0],
        d => bail!("--delimiter {d:?}: expected one character or `tab`"),
    };
    let format = match (&args.format, &columns) {
        (Some(f), _) => Format::parse(f),
        (None, Some(_)) => Some(Format::Delimited),
        (None, None) => None,
    };
    Ok(LoadOptions {
        defaults: Defaults {
            provider: args.provider.clone(),
            feed: args.feed.clone(),
            confidence: args.confidence,
            tlp,
            tags: args.tags.clone(),
            ..Defaults::default()
        },
        format,
        kind,
        columns,
        delimiter,
        ..LoadOptions::default()
    })
}

/// Largest file of query values read, in bytes (256 MiB).
const MAX_QUERY_FILE_BYTES: u64 = 256 << 20;

/// Reads a UTF-8 text file of at most `limit` bytes.
fn read_text(path: &Path, limit: u64) -> anyhow::Result<String> {
    let bytes = picket_intel::load::read_capped(path, limit)?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))
}

fn duration_nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn run_pull(store_path: &Path, args: &PullArgs, now: Timestamp) -> anyhow::Result<ExitCode> {
    let flags = args.lifetimes.overrides()?;
    let mut rule_files = Vec::new();
    for path in &args.rules {
        rule_files.push(RuleFile::load(path)?);
    }
    if let Some(output) = &args.hunt_output {
        let mut read = vec![(store_path, "the store")];
        for path in &args.rules {
            read.push((path.as_path(), "a rule file"));
        }
        // Loading a rule file made its local remotes absolute.
        for feed in rule_files.iter().flat_map(|file| &file.feeds) {
            if !feed.remote.contains("://") {
                read.push((Path::new(&feed.remote), "a feed's local file"));
            }
        }
        super::reject_output_over("--hunt-output", output, &read)?;
    }
    // Created before the pull: values a pull adds are not added again by
    // the next one, so an output that fails after the pull would lose
    // their hunt for good. A run that hunts nothing also leaves an empty
    // file in place of the last run's alerts.
    let mut hunt_output = match &args.hunt_output {
        Some(path) => Some(create_hunt_output(path)?),
        None => None,
    };
    let store = open_writer(store_path)?;
    let mut failures = 0;
    let mut added = HashSet::new();
    for file in &rule_files {
        for feed in &file.feeds {
            if !args.feeds.is_empty() && !args.feeds.contains(&feed.name) {
                continue;
            }
            let lifetimes = feed.lifetimes(&flags);
            let before = match args.hunt {
                Some(_) => Some(store_intel::feed_indicator_ids(
                    store.connection(),
                    feed.provider(),
                    &feed.name,
                    now,
                )?),
                None => None,
            };

            if let Err(error) = pull_feed(&store, feed, &lifetimes, now, args) {
                failures += 1;
                warn!(provider = feed.provider(), feed = %feed.name, error = %format!("{error:#}"), "feed pull failed");
                continue;
            }

            if let Some(before) = before {
                let after = store_intel::feed_indicator_ids(
                    store.connection(),
                    feed.provider(),
                    &feed.name,
                    now,
                )?;
                added.extend(after.difference(&before));
            }
        }
    }

    let mut hunted = HuntSummary::default();
    if let Some(window) = args.hunt {
        let mut ids: Vec<i64> = added.into_iter().collect();
        ids.sort_unstable();
        hunted = hunt_added(&store, &ids, window, hunt_output.as_mut(), now)?;
    }
    if let Some(sink) = hunt_output.as_mut() {
        sink.finish().context("cannot write the hunt's alerts")?;
    }
    // As `picket hunt` does: a stored day that could not be scanned makes
    // the exit code 2, because its events were not hunted.
    Ok(if failures > 0 || hunted.days_failed > 0 {
        ExitCode::from(2)
    } else {
        super::exit_for_alerts(hunted.alerts_new)
    })
}

/// The `--hunt-output` file as a JSON Lines sink.
type HuntOutput = JsonlSink<Box<dyn Write>>;

/// Creates (or truncates) the `--hunt-output` file.
fn create_hunt_output(path: &Path) -> anyhow::Result<HuntOutput> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot create the --hunt-output file {}", path.display()))?;
    let writer: Box<dyn Write> = Box::new(BufWriter::new(file));
    Ok(JsonlSink::new(path.display().to_string(), writer))
}

/// Hunts the active indicators among `ids` through the stored events of the
/// last `window`, recording new alerts in the store and writing them to
/// `output` when one is given. Returns the hunt's counts.
fn hunt_added(
    store: &Store,
    ids: &[i64],
    window: std::time::Duration,
    output: Option<&mut HuntOutput>,
    now: Timestamp,
) -> anyhow::Result<HuntSummary> {
    let conn = store.connection();
    let whitelist =
        store_intel::load_whitelist(conn).context("cannot read the whitelist from the store")?;
    let indicators = store_intel::active_by_ids(conn, ids, &whitelist, now)
        .context("cannot read the added indicators")?;
    if indicators.is_empty() {
        report_line("hunt: the pull added no active indicator, nothing to hunt");
        return Ok(HuntSummary::default());
    }

    let mut ignore = |_: &picket_event::Alert| {};
    let mut alerts = match output {
        Some(sink) => AlertOutput::Lines(sink),
        None => AlertOutput::Each(&mut ignore),
    };
    let summary = super::hunt::hunt_new_indicators(
        store,
        &indicators,
        &whitelist.allow_entries(),
        window,
        &mut alerts,
    )?;

    let mut line = format!(
        "hunt: values added by the pull: {}; days of events: {}; events in the window: {}; hits: {}; new alerts recorded: {}; already stored: {}",
        indicators.len(),
        summary.days,
        summary.events_matched,
        summary.hits,
        summary.alerts_new,
        summary.alerts_known
    );
    if summary.days_failed > 0 {
        line.push_str(&format!(
            "; days that could not be read: {}",
            summary.days_failed
        ));
    }
    report_line(&line);
    Ok(summary)
}

/// Pulls one feed. An error means the feed failed (and was reported).
fn pull_feed(
    store: &Store,
    feed: &FeedRule,
    lifetimes: &Lifetimes,
    now: Timestamp,
    args: &PullArgs,
) -> anyhow::Result<()> {
    let conn = store.connection();
    let provider = feed.provider().to_owned();
    let name = format!("{provider}/{}", feed.name);
    let mut state =
        store_intel::feed_state(conn, &provider, &feed.name)?.unwrap_or_else(|| FeedState {
            provider: provider.clone(),
            feed: feed.name.clone(),
            ..FeedState::default()
        });
    state.remote.clone_from(&feed.remote);

    if !args.force
        && let Some(last) = state.last_success
    {
        let due = last.as_nanos().saturating_add(duration_nanos(feed.refresh));
        if now.as_nanos() < due && state.last_error.is_none() {
            report_line(&format!(
                "{name}: fresh (pulled {last}), skipped; --force pulls it anyway"
            ));
            return Ok(());
        }
    }

    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    state.last_attempt = Some(now);
    let fetched = picket_intel::fetch(
        &feed.remote,
        &validators,
        &picket_intel::FetchOptions::from_rule(feed),
    );
    match fetched {
        Ok(Fetched::NotModified) => {
            let tx = conn.unchecked_transaction()?;
            let confirmed = store_intel::touch_feed(&tx, &provider, &feed.name, now, lifetimes)?;
            state.last_success = Some(now);
            state.last_error = None;
            state.grace_until = None;
            store_intel::save_feed_state(&tx, &state)?;
            tx.commit()?;
            report_line(&format!("{name}: not modified; unchanged {confirmed}"));
            Ok(())
        }
        Ok(Fetched::Body { bytes, validators }) => {
            let mut options = feed.load_options();
            options.reported_at = Some(now);
            let tx = conn.unchecked_transaction()?;
            let parse = |sink: &mut dyn FnMut(picket_intel::Chunk) -> bool| {
                picket_intel::load_bytes_chunked(&feed.remote, &bytes, &options, IMPORT_CHUNK, sink)
            };
            let size = bytes.len() as u64;
            let (counts, parsed) = store_while_parsing(&tx, parse, size, lifetimes, now)?;
            let report = match parsed {
                Ok(report) => report,
                Err(error) => {
                    // Nothing of a feed that does not parse is kept.
                    tx.rollback()?;
                    fail_feed(store, &mut state, feed, now, &error.to_string())?;
                    return Err(error.into());
                }
            };
            if counts.new + counts.updated + counts.unchanged == 0
                && report.allow.is_empty()
                && !report.rejections.is_empty()
            {
                // An error page or a changed format served with status 200
                // would otherwise delist every value of the feed.
                tx.rollback()?;
                print_rejections(&report, args.show_rejections);
                let reason = format!(
                    "the download holds no usable record ({} rejected); check the feed's URL and parser",
                    report.rejections.len()
                );
                fail_feed(store, &mut state, feed, now, &reason)?;
                bail!(reason);
            }
            for indicator in &report.allow {
                let observable = picket_intel::Observable {
                    kind: indicator.kind,
                    value: indicator.value.clone(),
                    include_subdomains: indicator.include_subdomains,
                };
                store_intel::add_allow(
                    &tx,
                    &observable,
                    &name,
                    Some("whitelist entry of the feed"),
                )?;
            }
            let expired = store_intel::expire_delisted(&tx, &provider, &feed.name, now)?;
            state.etag = validators.etag;
            state.last_modified = validators.last_modified;
            state.last_success = Some(now);
            state.last_error = None;
            state.grace_until = None;
            store_intel::save_feed_state(&tx, &state)?;
            tx.commit()?;
            print_report(&name, &counts, &report, expired, args.show_rejections);
            Ok(())
        }
        Err(error) => {
            fail_feed(store, &mut state, feed, now, &error.to_string())?;
            Err(error.into())
        }
    }
}

/// Records a failed pull and keeps the feed's last indicators alive until
/// its grace period ends, saying so loudly.
fn fail_feed(
    store: &Store,
    state: &mut FeedState,
    feed: &FeedRule,
    now: Timestamp,
    reason: &str,
) -> anyhow::Result<()> {
    let name = format!("{}/{}", state.provider, state.feed);
    state.last_error = Some(reason.to_owned());
    let tx = store.connection().unchecked_transaction()?;
    match state.last_success {
        Some(last) => {
            let until =
                Timestamp::from_nanos(last.as_nanos().saturating_add(duration_nanos(feed.grace)));
            state.grace_until = Some(until);
            if now < until {
                let kept =
                    store_intel::extend_feed(&tx, &state.provider, &state.feed, last, until)?;
                warn!(feed = %name, %reason, grace_until = %until, kept, "FEED DOWN: keeping its last indicators alive until the grace period ends");
                report_line(&format!(
                    "{name}: FAILED ({reason}); the indicators of its last pull ({last}) stay active until {until} ({kept} had their expiry moved to that date)"
                ));
            } else {
                warn!(feed = %name, %reason, grace_ended = %until, "FEED DOWN past its grace period: its indicators expire");
                report_line(&format!(
                    "{name}: FAILED ({reason}); grace period ended {until}, its indicators expire"
                ));
            }
        }
        None => {
            warn!(feed = %name, %reason, "FEED DOWN: never downloaded, nothing to keep");
            report_line(&format!("{name}: FAILED ({reason}); never downloaded"));
        }
    }
    store_intel::save_feed_state(&tx, state)?;
    tx.commit()?;
    Ok(())
}

fn run_export(store_path: &Path, args: &ExportArgs, now: Timestamp) -> anyhow::Result<ExitCode> {
    let store = open_reader(store_path)?;
    let conn = store.connection();
    let format = ExportFormat::parse(&args.format).context("--format")?;
    let kinds = args
        .kinds
        .iter()
        .map(|k| k.parse::<IndicatorKind>())
        .collect::<Result<Vec<_>, _>>()?;
    let max_tlp = match &args.max_tlp {
        Some(t) => Some(Tlp::parse(t).with_context(|| format!("--max-tlp {t:?}"))?),
        None => None,
    };
    let seen_since = match &args.max_age {
        Some(age) => {
            let d = picket_intel::rules::parse_duration(age)
                .with_context(|| format!("--max-age {age:?}: expected 30d, 12h ..."))?;
            Some(Timestamp::from_nanos(
                now.as_nanos().saturating_sub(duration_nanos(d)),
            ))
        }
        None => None,
    };
    let filter = Filter {
        kinds,
        min_confidence: args.min_confidence,
        max_tlp,
        tags: args.tags.clone(),
        seen_since,
        include_expired: false,
    };
    // The sorter of a large export spills to a temporary file instead of
    // memory, so the export's memory does not grow with the store.
    conn.execute_batch("PRAGMA temp_store = FILE")?;
    // One read transaction gives every walk of the export the same indicators.
    let _snapshot = conn.unchecked_transaction()?;
    let whitelist = store_intel::load_whitelist(conn)?;
    let mut source = ActiveSet {
        conn,
        filter: &filter,
        whitelist: &whitelist,
        now,
        whitelisted: 0,
    };
    let options = ExportOptions {
        now,
        rpz_origin: args.rpz_origin.clone(),
        ipset_name: args.ipset_name.clone(),
        ..ExportOptions::default()
    };
    let counts = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::new(file);
            let counts =
                picket_intel::export_from(format, &mut source, &whitelist, &options, &mut out)?;
            out.flush()?;
            counts
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let counts =
                picket_intel::export_from(format, &mut source, &whitelist, &options, &mut out)?;
            out.flush()?;
            counts
        }
    };
    let whitelisted = source.whitelisted;
    let skipped: Vec<String> = counts
        .unsupported
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    info!(
        written = counts.written,
        whitelisted = whitelisted + counts.whitelisted,
        "export written"
    );
    note(&format!(
        "exported {} indicators as {}; left out {} whitelisted{}",
        counts.written,
        format.as_str(),
        whitelisted + counts.whitelisted,
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; not expressible in this format: {}", skipped.join(", "))
        }
    ));
    Ok(ExitCode::SUCCESS)
}

/// Active set of a store, which an export reads one indicator at a time.
struct ActiveSet<'a> {
    conn: &'a rusqlite::Connection,
    filter: &'a Filter,
    whitelist: &'a Whitelist,
    now: Timestamp,
    /// Number of indicators in the last walk that the store left out as
    /// whitelisted.
    whitelisted: u64,
}

impl IndicatorSource for ActiveSet<'_> {
    fn walk(&mut self, visit: &mut Visit<'_>) -> Result<(), IntelError> {
        let mut failure = None;
        let walked = store_intel::each_active(
            self.conn,
            self.filter,
            self.whitelist,
            self.now,
            &mut |indicator| match visit(&indicator) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            },
        );
        if let Some(e) = failure {
            return Err(e);
        }
        self.whitelisted = walked.map_err(|e| IntelError::Source(Box::new(e)))?;
        Ok(())
    }
}

/// A message for people on stderr (counts beside output on stdout).
#[allow(clippy::print_stderr)]
fn note(line: &str) {
    eprintln!("{line}");
}

/// Page cache of a query connection, in KiB (SQLite's negative
/// `cache_size`).
const QUERY_CACHE_KIB: i64 = 65_536;

fn run_query(store_path: &Path, args: &QueryArgs, now: Timestamp) -> anyhow::Result<ExitCode> {
    let mut values = args.values.clone();
    if let Some(path) = &args.file {
        let text = read_text(path, MAX_QUERY_FILE_BYTES)?;
        values.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    anyhow::ensure!(!values.is_empty(), "give values to look up or --file PATH");
    let store = open_reader(store_path)?;
    let conn = store.connection();
    // One read transaction for every value: on its own, each statement
    // took and released the file's locks, 28 system calls a value that
    // cost 40 % of the time of 100,000 values. A larger page cache keeps
    // the pages of the indexes the values share.
    conn.execute_batch(&format!("PRAGMA cache_size = -{QUERY_CACHE_KIB}"))?;
    let _snapshot = conn.unchecked_transaction()?;
    let whitelist = store_intel::load_whitelist(conn)?;
    let prefixes = store_intel::prefix_lengths(conn)?;

    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut found_active = false;
    let mut latencies = Vec::with_capacity(if args.timing { values.len() } else { 0 });
    let started = std::time::Instant::now();
    for value in &values {
        let asked = std::time::Instant::now();
        let found = store_intel::query_with(conn, value, &prefixes, &whitelist, now)?;
        if args.timing {
            latencies.push(asked.elapsed());
        }
        found_active |= found.iter().any(|f| f.active);
        if args.format == "jsonl" {
            for f in &found {
                writeln!(out, "{}", query_json(value, f))?;
            }
            if found.is_empty() {
                writeln!(
                    out,
                    "{}",
                    json!({"type": "intel_query", "schema_version": QUERY_SCHEMA_VERSION, "query": value, "found": false})
                )?;
            }
        } else {
            write_query_text(&mut out, value, &found)?;
        }
    }
    out.flush()?;
    if args.timing {
        let total = started.elapsed();
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        note(&format!(
            "{} queries in {:.3} s = {:.0}/s; latency p50 {:?}, p99 {:?}, max {:?}",
            values.len(),
            total.as_secs_f64(),
            values.len() as f64 / total.as_secs_f64().max(1e-9),
            at(0.5),
            at(0.99),
            at(1.0)
        ));
    }
    Ok(ExitCode::from(if found_active {
        super::EXIT_ALERTS
    } else {
        super::EXIT_CLEAN
    }))
}

/// One JSON Lines record of `intel query`: `type` `intel_query`, the
/// query, the covering indicator with its state and every sighting.
fn query_json(query: &str, found: &StoredIndicator) -> serde_json::Value {
    json!({
        "type": "intel_query",
        "schema_version": QUERY_SCHEMA_VERSION,
        "query": query,
        "found": true,
        "kind": found.indicator.kind.as_str(),
        "indicator": found.indicator.value,
        "include_subdomains": found.indicator.include_subdomains,
        "active": found.active,
        "expires_at": found.expires_at.to_string(),
        "whitelisted": found.whitelisted.as_ref().map(ToString::to_string),
        "hits": found.hits.map(|(n, last)| json!({"count": n, "last": last.to_string()})),
        "sightings": found.indicator.sightings,
    })
}

fn write_query_text(
    out: &mut dyn Write,
    query: &str,
    found: &[StoredIndicator],
) -> std::io::Result<()> {
    if found.is_empty() {
        return writeln!(out, "{query}: not found");
    }
    for f in found {
        let state = match (&f.whitelisted, f.active) {
            (Some(reason), _) => format!("not active: {reason}"),
            (None, true) => format!("active until {}", f.expires_at),
            (None, false) => format!("expired {}", f.expires_at),
        };
        let subdomains = if f.indicator.include_subdomains {
            " (and subdomains)"
        } else {
            ""
        };
        writeln!(
            out,
            "{query}: {} {}{subdomains}, {state}",
            f.indicator.kind, f.indicator.value
        )?;
        if let Some((n, last)) = f.hits {
            writeln!(out, "  seen in traffic {n} times, last {last}")?;
        }
        for s in &f.indicator.sightings {
            let mut parts = vec![format!("confidence {}", s.source.confidence)];
            if let Some(tlp) = &s.source.tlp {
                parts.push(format!("tlp {tlp}"));
            }
            if !s.source.tags.is_empty() {
                parts.push(format!("tags {}", s.source.tags.join(",")));
            }
            if let Some(a) = &s.assessment {
                parts.push(format!("assessment {a}"));
            }
            if let Some(seen) = s.seen() {
                parts.push(format!("last seen {seen}"));
            }
            if let Some(d) = &s.source.description {
                parts.push(d.clone());
            }
            if let Some(r) = &s.source.reference {
                parts.push(r.clone());
            }
            writeln!(
                out,
                "  {}/{}: {}",
                s.source.provider,
                s.source.feed,
                parts.join("; ")
            )?;
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
fn run_stats(store_path: &Path, args: &StatsArgs, now: Timestamp) -> anyhow::Result<ExitCode> {
    let store = open_reader(store_path)?;
    let stats = store_intel::stats(store.connection(), now)?;
    if args.format == "json" {
        let value = json!({
            "by_kind": stats.by_kind.iter().map(|(k, a, e, w)| json!({"kind": k, "active": a, "expired": e, "whitelisted": w})).collect::<Vec<_>>(),
            "by_feed": stats.by_feed.iter().map(|(p, f, n, a)| json!({"provider": p, "feed": f, "sightings": n, "active": a})).collect::<Vec<_>>(),
            "feeds": stats.feeds.iter().map(|s| json!({
                "provider": s.provider, "feed": s.feed, "remote": s.remote,
                "last_success": s.last_success.map(|t| t.to_string()),
                "last_error": s.last_error, "grace_until": s.grace_until.map(|t| t.to_string()),
            })).collect::<Vec<_>>(),
            "allow_rules": stats.allow_rules,
            "warninglists": stats.warninglists,
            "hits": {"indicators": stats.hits.0, "total": stats.hits.1},
        });
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<12} {:>10} {:>10} {:>11}",
        "kind", "active", "expired", "whitelisted"
    );
    for (kind, active, expired, whitelisted) in &stats.by_kind {
        println!("{kind:<12} {active:>10} {expired:>10} {whitelisted:>11}");
    }
    println!();
    println!(
        "{:<40} {:>10} {:>10}",
        "provider/feed", "sightings", "active"
    );
    for (provider, feed, n, active) in &stats.by_feed {
        println!("{:<40} {n:>10} {active:>10}", format!("{provider}/{feed}"));
    }
    for s in &stats.feeds {
        let health = match (&s.last_error, s.grace_until) {
            (Some(e), Some(until)) => format!("FAILING ({e}); grace until {until}"),
            (Some(e), None) => format!("FAILING ({e})"),
            (None, _) => "ok".into(),
        };
        let last = s
            .last_success
            .map_or_else(|| "never".into(), |t| t.to_string());
        println!(
            "feed {}/{}: last success {last}, {health}",
            s.provider, s.feed
        );
    }
    println!(
        "allow rules {}, warninglists {}, indicators seen in traffic {} ({} hits)",
        stats.allow_rules, stats.warninglists, stats.hits.0, stats.hits.1
    );
    Ok(ExitCode::SUCCESS)
}

fn run_expire(store_path: &Path, now: Timestamp) -> anyhow::Result<ExitCode> {
    let store = open_writer(store_path)?;
    let counts = store_intel::expire(store.connection(), now)?;
    report_line(&format!(
        "active {}, expired {} (kept for retro-search), expired sightings {}, whitelisted {} (not active)",
        counts.active_indicators,
        counts.expired_indicators,
        counts.expired_sightings,
        counts.whitelisted_indicators
    ));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunt_window_needs_unit() {
        assert_eq!(
            parse_window("7d"),
            Ok(std::time::Duration::from_secs(7 * 86_400))
        );
        assert_eq!(
            parse_window("24h"),
            Ok(std::time::Duration::from_secs(86_400))
        );
        assert!(parse_window("7").unwrap_err().contains("no unit"));
        assert!(parse_window("0d").unwrap_err().contains("is zero"));
        assert!(parse_window("").unwrap_err().contains("not a window"));
        assert!(parse_window("-1d").unwrap_err().contains("not a window"));
        assert!(parse_window("junk").unwrap_err().contains("not a window"));
        assert!(
            parse_window("99999999999999999999d")
                .unwrap_err()
                .contains("not a window")
        );
    }
}
