//! `picket triage`: scores every line of proxy logs against weighted lists
//! and sorts the original lines into five files by score band, copying the
//! lines that extraction rules match into files of their own.
//!
//! The input is cut into chunks of whole lines; worker threads (one per
//! core) parse and score chunks in parallel and the results are written in
//! input order, so memory stays at a few chunks whatever the input size.
//! Each output file receives the original bytes of its lines, and for W3C
//! logs also the `#` header lines, so that every output is itself a valid log.
//!
//! Exit code 1 means at least one line landed in a black band.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use picket_detect::http::triage::{Band, Triage, TriageConfig};
use picket_event::Event;
use picket_sources::input::{LineSource, RawLine};
use picket_sources::{Format, InputKind, ReaderConfig};

/// Options of `picket triage`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Proxy logs to score (Squid, W3C/BlueCoat, TMG); `-` reads standard
    /// input and then needs --format.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,

    /// YAML file of checks, bands and extraction rules; list files are
    /// relative to it.
    #[arg(long, short)]
    pub config: PathBuf,

    /// Folder for the five band files and the extraction files; created if missing.
    #[arg(long, short, default_value = "triage-out")]
    pub out_dir: PathBuf,

    /// Log format, when detection from the first lines should not be used
    /// (squid, squid-combined, w3c, tmg, tmg16).
    #[arg(long)]
    pub format: Option<Format>,

    /// Lines per chunk handed to a worker thread.
    #[arg(long, default_value_t = 20_000)]
    pub chunk_lines: usize,

    /// Worker threads; 0 uses one per core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,

    /// Summary format on stdout: text or json.
    #[arg(long, default_value = "text")]
    pub summary: SummaryFormat,
}

/// The summary format.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SummaryFormat {
    /// Aligned lines for people.
    Text,
    /// One JSON object.
    Json,
}

/// Maximum line length read, in bytes; longer lines are rejected.
const MAX_LINE_LEN: usize = 1 << 20;

/// Rejections printed on stderr per run before the rest are only counted.
const MAX_REJECTIONS_SHOWN: u64 = 20;

/// One chunk of whole lines, ready to parse.
struct Chunk {
    /// Bytes handed to the parser: an optional header line, then the lines.
    text: Vec<u8>,
    /// Number of the chunk's first line in the input.
    first_line: u64,
    /// Start and end of each line of the input inside `text`.
    lines: Vec<(usize, usize)>,
    /// Lines of `text` before the input's lines (a W3C `#Fields:` header).
    prepended: u64,
}

/// The outcome of one input line.
enum Outcome {
    /// A comment or header line, copied to every band file.
    Header,
    /// A blank line or one the parser skipped.
    Skipped,
    /// A scored line.
    Scored {
        band: Band,
        extractions: Vec<usize>,
        hits: Vec<usize>,
    },
    /// A line the parser rejected.
    Rejected(String),
}

/// Counts for the summary.
#[derive(Default)]
struct Totals {
    lines: u64,
    bands: [u64; 5],
    extractions: Vec<u64>,
    check_hits: Vec<u64>,
    rejected: u64,
}

/// The open output files.
struct Outputs {
    dir: PathBuf,
    bands: Vec<BufWriter<File>>,
    extractions: HashMap<usize, BufWriter<File>>,
}

impl Outputs {
    fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut bands = Vec::new();
        for band in Band::ALL {
            let path = dir.join(format!("{}.log", band.name()));
            let file =
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            bands.push(BufWriter::with_capacity(1 << 16, file));
        }
        Ok(Outputs {
            dir: dir.to_owned(),
            bands,
            extractions: HashMap::new(),
        })
    }

    fn extraction(&mut self, index: usize, name: &str) -> anyhow::Result<&mut BufWriter<File>> {
        if !self.extractions.contains_key(&index) {
            let path = self.dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let file =
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            self.extractions.insert(index, BufWriter::new(file));
        }
        self.extractions
            .get_mut(&index)
            .context("extraction output missing")
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        for writer in self.bands.iter_mut().chain(self.extractions.values_mut()) {
            writer.flush().context("cannot write an output file")?;
        }
        Ok(())
    }
}

/// Runs the triage.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config_text = read_text_capped(&args.config).with_context(|| {
        format!(
            "cannot read the triage configuration {}",
            args.config.display()
        )
    })?;
    let config: TriageConfig = serde_yaml_ng::from_str(&config_text)
        .with_context(|| format!("invalid triage configuration {}", args.config.display()))?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let triage = Triage::build(&config, base)?;

    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    let mut outputs = Outputs::create(&args.out_dir)?;
    let mut totals = Totals {
        extractions: vec![0; triage.extraction_outputs().len()],
        check_hits: vec![0; triage.check_count()],
        ..Totals::default()
    };

    for input in picket_sources::expand_inputs(&args.inputs) {
        triage_input(&input, &args, threads, &triage, &mut outputs, &mut totals)?;
    }
    outputs.flush()?;
    print_summary(&args, &triage, &totals)?;

    let black = totals.bands[Band::Black.index()] + totals.bands[Band::ExplicitBlack.index()];
    Ok(super::exit_for_alerts(black))
}

fn triage_input(
    input: &Path,
    args: &Args,
    threads: usize,
    triage: &Triage,
    outputs: &mut Outputs,
    totals: &mut Totals,
) -> anyhow::Result<()> {
    let format = match args.format {
        Some(format) => format,
        None if input.as_os_str() == "-" => bail!("standard input needs --format"),
        None => match picket_sources::sniff(input)? {
            InputKind::Log(format) => format,
            InputKind::Capture => bail!(
                "{} is a packet capture; triage reads proxy logs",
                input.display()
            ),
            InputKind::Unknown => bail!(
                "{}: log format not recognised; name it with --format",
                input.display()
            ),
        },
    };
    if !matches!(
        format,
        Format::Squid | Format::SquidCombined | Format::W3c | Format::Tmg | Format::Tmg16
    ) {
        bail!(
            "{}: triage reads proxy logs (squid, w3c, tmg), not {}",
            input.display(),
            format.as_str()
        );
    }
    tracing::info!(input = %input.display(), format = format.as_str(), threads, "triage started");

    let read = picket_sources::open_decompressed(input)?;
    let mut source = LineSource::new(read, MAX_LINE_LEN);
    let reader_config = ReaderConfig::default();
    let name = input.display().to_string();
    let mut fields_header: Option<Vec<u8>> = None;
    let mut finished = false;

    while !finished {
        // Cut up to two chunks of whole lines per thread.
        let mut chunks = Vec::with_capacity(threads);
        while chunks.len() < threads.max(1) * 2 && !finished {
            let mut chunk = Chunk {
                text: Vec::new(),
                first_line: 0,
                lines: Vec::new(),
                prepended: 0,
            };
            if format == Format::W3c
                && let Some(header) = &fields_header
            {
                chunk.text.extend_from_slice(header);
                chunk.text.push(b'\n');
                chunk.prepended = 1;
            }
            while chunk.lines.len() < args.chunk_lines.max(1) {
                match source.next_line() {
                    None => {
                        finished = true;
                        break;
                    }
                    Some(RawLine::Line { bytes, line, .. }) => {
                        if chunk.lines.is_empty() {
                            chunk.first_line = line;
                        }
                        if bytes.starts_with(b"#Fields:") {
                            fields_header = Some(bytes.to_vec());
                        }
                        let start = chunk.text.len();
                        chunk.text.extend_from_slice(bytes);
                        chunk.lines.push((start, chunk.text.len()));
                        chunk.text.push(b'\n');
                    }
                    Some(RawLine::TooLong { line, len, .. }) => {
                        report_rejection(
                            totals,
                            &name,
                            line,
                            &format!("line of {len} bytes exceeds {MAX_LINE_LEN}"),
                        );
                    }
                    Some(RawLine::Error { line, error, .. }) => {
                        report_rejection(
                            totals,
                            &name,
                            line,
                            &format!("input ends early: {error}"),
                        );
                        finished = true;
                        break;
                    }
                }
            }
            if !chunk.lines.is_empty() {
                chunks.push(chunk);
            }
        }

        // Parse and score the chunks in parallel, then write them in order.
        let results: Vec<Vec<Outcome>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| scope.spawn(|| process_chunk(chunk, format, &reader_config, triage)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for (chunk, outcomes) in chunks.iter().zip(results) {
            write_chunk(chunk, &outcomes, &name, triage, outputs, totals)?;
        }
    }
    Ok(())
}

/// Parses a chunk and scores each line; outcomes are in line order.
fn process_chunk(
    chunk: &Chunk,
    format: Format,
    config: &ReaderConfig,
    triage: &Triage,
) -> Vec<Outcome> {
    let (events, rejections, _) = picket_sources::read_all(&chunk.text, format, config);
    let mut outcomes: Vec<Outcome> = chunk
        .lines
        .iter()
        .map(|&(start, end)| {
            if chunk.text[start..end].starts_with(b"#") {
                Outcome::Header
            } else {
                Outcome::Skipped
            }
        })
        .collect();
    let index_of = |line: Option<u64>| {
        let line = line?.checked_sub(1 + chunk.prepended)?;
        usize::try_from(line)
            .ok()
            .filter(|&i| i < chunk.lines.len())
    };

    for event in &events {
        let Event::Http(http) = event else {
            continue;
        };
        let Some(index) = index_of(http.location.line) else {
            continue;
        };
        if matches!(outcomes[index], Outcome::Scored { .. }) {
            continue;
        }
        let (start, end) = chunk.lines[index];
        let line = String::from_utf8_lossy(&chunk.text[start..end]);
        let scored = triage.score(http, &line);
        outcomes[index] = Outcome::Scored {
            band: triage.band(scored.score),
            extractions: scored.extractions,
            hits: scored.hits,
        };
    }
    for rejection in rejections {
        if let Some(index) = index_of(rejection.location.line) {
            outcomes[index] = Outcome::Rejected(rejection.reason.to_string());
        }
    }
    outcomes
}

fn write_chunk(
    chunk: &Chunk,
    outcomes: &[Outcome],
    name: &str,
    triage: &Triage,
    outputs: &mut Outputs,
    totals: &mut Totals,
) -> anyhow::Result<()> {
    for (offset, (outcome, &(start, end))) in outcomes.iter().zip(&chunk.lines).enumerate() {
        let bytes = &chunk.text[start..end + 1];
        match outcome {
            Outcome::Header => {
                for writer in &mut outputs.bands {
                    writer
                        .write_all(bytes)
                        .context("cannot write a band file")?;
                }
            }
            Outcome::Skipped => {}
            Outcome::Scored {
                band,
                extractions,
                hits,
            } => {
                totals.lines += 1;
                totals.bands[band.index()] += 1;
                for &hit in hits {
                    totals.check_hits[hit] += 1;
                }
                outputs.bands[band.index()]
                    .write_all(bytes)
                    .context("cannot write a band file")?;
                for &index in extractions {
                    totals.extractions[index] += 1;
                    let file = &triage.extraction_outputs()[index];
                    outputs
                        .extraction(index, file)?
                        .write_all(bytes)
                        .context("cannot write an extraction file")?;
                }
            }
            Outcome::Rejected(reason) => {
                report_rejection(totals, name, chunk.first_line + offset as u64, reason);
            }
        }
    }
    Ok(())
}

#[allow(clippy::print_stderr)]
fn report_rejection(totals: &mut Totals, name: &str, line: u64, reason: &str) {
    totals.rejected += 1;
    if totals.rejected <= MAX_REJECTIONS_SHOWN {
        eprintln!("picket: {name}:{line}: line rejected: {reason}");
    } else if totals.rejected == MAX_REJECTIONS_SHOWN + 1 {
        eprintln!("picket: further rejected lines are only counted");
    }
}

#[allow(clippy::print_stdout)]
fn print_summary(args: &Args, triage: &Triage, totals: &Totals) -> anyhow::Result<()> {
    match args.summary {
        SummaryFormat::Json => {
            let bands: serde_json::Map<String, serde_json::Value> = Band::ALL
                .iter()
                .map(|b| (b.name().to_owned(), totals.bands[b.index()].into()))
                .collect();
            let extractions: serde_json::Map<String, serde_json::Value> = triage
                .extraction_outputs()
                .iter()
                .zip(&totals.extractions)
                .map(|(name, count)| (name.clone(), (*count).into()))
                .collect();
            let checks: Vec<serde_json::Value> = (0..triage.check_count())
                .map(|i| serde_json::json!({"check": triage.check_name(i), "hits": totals.check_hits[i]}))
                .collect();
            let summary = serde_json::json!({
                "type": "triage_summary",
                "schema_version": 1,
                "lines": totals.lines,
                "rejected": totals.rejected,
                "bands": bands,
                "extractions": extractions,
                "checks": checks,
                "out_dir": args.out_dir.display().to_string(),
            });
            println!("{summary}");
        }
        SummaryFormat::Text => {
            println!("lines scored   {}", totals.lines);
            println!("lines rejected {}", totals.rejected);
            for band in Band::ALL {
                println!("  {:<15} {}", band.name(), totals.bands[band.index()]);
            }
            for i in 0..triage.check_count() {
                println!(
                    "check {:<24} {} hits",
                    triage.check_name(i),
                    totals.check_hits[i]
                );
            }
            for (name, count) in triage.extraction_outputs().iter().zip(&totals.extractions) {
                println!("extract {name:<22} {count} lines");
            }
            println!("written to {}", args.out_dir.display());
        }
    }
    Ok(())
}

/// Largest configuration or manifest file read, in bytes.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Reads a small text file (a configuration or a manifest), refusing files
/// over [`MAX_CONFIG_BYTES`].
pub(crate) fn read_text_capped(path: &Path) -> std::io::Result<String> {
    let file = File::open(path)?;
    let text = std::io::read_to_string(std::io::Read::take(file, MAX_CONFIG_BYTES + 1))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::other(format!(
            "file is larger than {MAX_CONFIG_BYTES} bytes"
        )));
    }
    Ok(text)
}
