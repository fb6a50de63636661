//! Reading one intelligence file or buffer: format detection, defaults for
//! every sighting, de-duplication, and the report of what was kept and what
//! was rejected.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use picket_event::{Rejection, Severity, SourceLocation, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{IntelError, RecordError};
use crate::formats::{self, Columns, DatasetType};
use crate::indicator::Tlp;
use crate::normalize::Observable;
use crate::{Indicator, IndicatorKind, Sighting};

/// The import formats picket reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// One value a line, `#` or `;` comments, optional trailing tags.
    Plain,
    /// CSV or another delimiter with a column map ([`LoadOptions::columns`]).
    Delimited,
    /// A regular expression with named groups ([`LoadOptions::regex`]).
    Regex,
    /// Spamhaus DROP, EDROP and DROPv6 text (`cidr ; SBL-id`).
    SpamhausDrop,
    /// Spamhaus DROP NDJSON (`{"cidr":..,"sblid":..}` and a metadata trailer).
    SpamhausJson,
    /// abuse.ch Feodo Tracker IP block list CSV.
    FeodoCsv,
    /// The CSV that `picket intel export --format csv` writes: one row per
    /// sighting, with a header.
    PicketCsv,
    /// Bambenek Consulting C2 and DGA feeds (`value,description,date,manual`).
    Bambenek,
    /// DShield recommended block list (tab-separated start, end, prefix).
    Dshield,
    /// A STIX 2.1 bundle or a single STIX object.
    Stix2,
    /// An OpenIOC 1.0 or 1.1 document.
    Openioc,
    /// A MISP event, a list of events or a MISP feed export.
    Misp,
    /// A Zeek Intel framework file.
    ZeekIntel,
    /// An Arkime (Moloch) WISE tagger file.
    ArkimeTagger,
    /// A Suricata dataset file ([`LoadOptions::dataset_type`]).
    SuricataDataset,
}

impl Format {
    /// Every format, for help texts.
    pub const ALL: [Format; 15] = [
        Format::Plain,
        Format::Delimited,
        Format::Regex,
        Format::SpamhausDrop,
        Format::SpamhausJson,
        Format::FeodoCsv,
        Format::PicketCsv,
        Format::Bambenek,
        Format::Dshield,
        Format::Stix2,
        Format::Openioc,
        Format::Misp,
        Format::ZeekIntel,
        Format::ArkimeTagger,
        Format::SuricataDataset,
    ];

    /// The kebab-case name used in feed rules and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Delimited => "delimited",
            Format::Regex => "regex",
            Format::SpamhausDrop => "spamhaus-drop",
            Format::SpamhausJson => "spamhaus-json",
            Format::FeodoCsv => "feodo-csv",
            Format::PicketCsv => "picket-csv",
            Format::Bambenek => "bambenek",
            Format::Dshield => "dshield",
            Format::Stix2 => "stix2",
            Format::Openioc => "openioc",
            Format::Misp => "misp",
            Format::ZeekIntel => "zeek-intel",
            Format::ArkimeTagger => "arkime-tagger",
            Format::SuricataDataset => "suricata-dataset",
        }
    }

    /// Reads a name of [`Format::as_str`].
    pub fn parse(text: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every sighting read from one feed carries unless the record says
/// otherwise. Feed rules write this block as `defaults:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Defaults {
    /// Who publishes the feed. The file path when absent.
    #[serde(default)]
    pub provider: Option<String>,
    /// Feed name within the provider. The file stem when absent.
    #[serde(default)]
    pub feed: Option<String>,
    /// Confidence 0 to 100; 50 when absent.
    #[serde(default)]
    pub confidence: Option<u8>,
    /// TLP marking.
    #[serde(default)]
    pub tlp: Option<Tlp>,
    /// Tags added to every sighting.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Assessment (`botnet`, `c2`, `phishing`, `scanner`...).
    #[serde(default)]
    pub assessment: Option<String>,
    /// Severity the feed implies.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Description for records that carry none.
    #[serde(default)]
    pub description: Option<String>,
    /// Template of a URL back to the source; `{value}` (or CIF's
    /// `<observable>`) is replaced by the normalised value.
    #[serde(default)]
    pub altid: Option<String>,
}

/// Confidence given when neither the record nor the defaults say.
pub const DEFAULT_CONFIDENCE: u8 = 50;

/// How to read one input.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Provider, confidence, TLP, tags and so on for every sighting.
    pub defaults: Defaults,
    /// The format. Detected from the content and extension when `None`.
    pub format: Option<Format>,
    /// Reads every value of a plain list as this kind instead of guessing.
    pub kind: Option<IndicatorKind>,
    /// A domain from a plain list, CSV or block list also covers its
    /// subdomains. Default `true`: block lists name registered domains.
    pub domain_subdomains: bool,
    /// Lines to skip at the start of a line-oriented input. Default 0.
    pub skip_lines: usize,
    /// Largest input read, in bytes. Default 1 GiB.
    pub max_bytes: u64,
    /// Longest line accepted, in bytes. Longer lines are rejected. Default 64 KiB.
    pub max_line_bytes: usize,
    /// When the feed was read. The file's modification time when `None`.
    pub reported_at: Option<Timestamp>,
    /// Column map for [`Format::Delimited`].
    pub columns: Option<Columns>,
    /// Field delimiter for [`Format::Delimited`]. Default `,`.
    pub delimiter: u8,
    /// Pattern with named groups (`value`, optional `kind`, `tags`,
    /// `first_seen`, `last_seen`, `description`) for [`Format::Regex`].
    pub regex: Option<String>,
    /// Content type of a [`Format::SuricataDataset`] file. Default string.
    pub dataset_type: DatasetType,
    /// Largest nesting depth of a JSON or XML document. Default 64.
    pub max_depth: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            defaults: Defaults::default(),
            format: None,
            kind: None,
            domain_subdomains: true,
            skip_lines: 0,
            max_bytes: 1 << 30,
            max_line_bytes: 64 << 10,
            reported_at: None,
            columns: None,
            delimiter: b',',
            regex: None,
            dataset_type: DatasetType::String,
            max_depth: 64,
        }
    }
}

/// What one input yielded.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The format that was read.
    pub format: Option<Format>,
    /// Indicators, one per distinct value, in order of first appearance.
    pub indicators: Vec<Indicator>,
    /// Values the input marks as whitelisted (every sighting has the
    /// `whitelist` assessment, as Zeek's `meta.whitelist` rows): feed them
    /// to `MatcherBuilder::allow`, never to `add`.
    pub allow: Vec<Indicator>,
    /// Records that were not used, each with location and reason.
    pub rejections: Vec<Rejection>,
    /// Data records read (lines, CSV rows, STIX objects, attributes,
    /// OpenIOC items), comments excluded.
    pub records: u64,
    /// Records whose value repeated an earlier one (folded into it).
    pub duplicates: u64,
    /// OpenIOC terms about hosts (registry, processes, services...) that do
    /// not become network indicators but are kept as context and counted.
    pub context_terms: u64,
    /// The entry count the file states about itself (Feodo's `# END n
    /// entries`, Spamhaus's JSON `records`), to check against.
    pub declared_entries: Option<u64>,
    /// Everything not an indicator or a rejection that a reader wants to
    /// report, such as a STIX bundle id or an OpenIOC description.
    pub notes: Vec<String>,
}

impl LoadReport {
    /// The number of rejected records.
    pub fn rejected(&self) -> usize {
        self.rejections.len()
    }
}

/// Reads an intelligence file, detecting its format from the content and
/// extension, with default options.
///
/// This is what `picket analyze --intel PATH` calls. Plain lists (one IP,
/// CIDR, range, domain or URL a line, `#` or `;` comments, optional
/// trailing tags) work as they are. A domain also covers its subdomains.
pub fn load_file(path: &Path) -> Result<LoadReport, IntelError> {
    load_file_with(path, &LoadOptions::default())
}

/// Reads an intelligence file with the given options.
pub fn load_file_with(path: &Path, options: &LoadOptions) -> Result<LoadReport, IntelError> {
    let (name, bytes, options) = open_input(path, options)?;
    load_bytes(&name, &bytes, &options)
}

/// Reads an intelligence file and hands its indicators to `sink` in
/// chunks of at most `chunk_size` distinct values as they are read, so
/// that a large feed is stored while it is still being parsed and never
/// held whole. The first chunks are smaller, from 4,096 values doubling up
/// to `chunk_size`, so that the sink starts early. A value repeated after
/// its chunk was handed over comes once more, folded with its other late
/// repeats, in a final [`Chunk::Repeats`]. When `sink` returns false, the
/// rest is parsed but no longer handed over.
///
/// The report returned contains everything but the indicators: allow
/// entries, rejections and counts.
pub fn load_file_chunked(
    path: &Path,
    options: &LoadOptions,
    chunk_size: usize,
    sink: &mut dyn FnMut(Chunk) -> bool,
) -> Result<LoadReport, IntelError> {
    let (name, bytes, options) = open_input(path, options)?;
    load_bytes_chunked(&name, &bytes, &options, chunk_size, sink)
}

/// Reads an intelligence document held in memory in chunks, as
/// [`load_file_chunked`] does for a file. `name` is used in locations and
/// as the provider when the defaults name none.
pub fn load_bytes_chunked(
    name: &str,
    bytes: &[u8],
    options: &LoadOptions,
    chunk_size: usize,
    sink: &mut dyn FnMut(Chunk) -> bool,
) -> Result<LoadReport, IntelError> {
    let format = match options.format {
        Some(format) => format,
        None => {
            detect(name, bytes).ok_or_else(|| IntelError::UnknownFormat { path: name.into() })?
        }
    };
    let mut batch = Batch::new(name, options);
    batch.report.format = Some(format);
    batch.chunks = Some(Chunking::new(chunk_size, sink));
    formats::read(format, bytes, &mut batch)?;
    Ok(batch.finish())
}

/// One delivery of [`load_file_chunked`].
#[derive(Debug)]
pub enum Chunk {
    /// Values not handed over before, one indicator each, in order of
    /// first appearance.
    Fresh(Vec<Indicator>),
    /// Later records of values handed over in an earlier chunk, folded per
    /// value. The receiver merges each sighting into the one it keeps for
    /// the same value and source ([`Sighting::merge`]), as a whole-file
    /// load would have.
    Repeats(Vec<Indicator>),
}

/// Reads a file for loading: its name, bytes, and the options with the
/// report time (the file's modification time) and feed name (the file
/// stem) filled in when they are absent.
fn open_input(
    path: &Path,
    options: &LoadOptions,
) -> Result<(String, Vec<u8>, LoadOptions), IntelError> {
    let io = |source| IntelError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let bytes = read_capped(path, options.max_bytes)?;

    let mut options = options.clone();
    if options.reported_at.is_none() {
        options.reported_at = meta
            .modified()
            .ok()
            .and_then(|t| jiff::Timestamp::try_from(t).ok())
            .map(Timestamp::from_jiff);
    }
    if options.defaults.feed.is_none() {
        options.defaults.feed = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    }
    Ok((path.display().to_string(), bytes, options))
}

/// Reads a whole file of at most `limit` bytes. A larger file is an
/// error, not a truncated read.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, IntelError> {
    let io = |source| IntelError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // Sized from the file's length, so that a large feed is read without
    // copying it into ever larger buffers. `take` below still bounds it.
    let expected = file.metadata().map_or(0, |m| m.len()).min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).saturating_add(1));
    // Bounded: `take` stops one byte past the limit, which is then rejected.
    #[allow(clippy::disallowed_methods)]
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(IntelError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Reads an intelligence document held in memory. `name` is used in
/// locations and as the provider when the defaults name none.
pub fn load_bytes(
    name: &str,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<LoadReport, IntelError> {
    let format = match options.format {
        Some(format) => format,
        None => {
            detect(name, bytes).ok_or_else(|| IntelError::UnknownFormat { path: name.into() })?
        }
    };
    let mut batch = Batch::new(name, options);
    batch.report.format = Some(format);
    formats::read(format, bytes, &mut batch)?;
    Ok(batch.finish())
}

/// Guesses the format of `bytes`; `name` (a file name or URL) breaks ties
/// by its extension.
pub fn detect(name: &str, bytes: &[u8]) -> Option<Format> {
    let head = &bytes[..bytes.len().min(64 << 10)];
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let lower_name = name.to_ascii_lowercase();

    let xml_start = trimmed
        .strip_prefix('<')
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_alphabetic() || c == '?' || c == '!');
    if xml_start {
        return Some(Format::Openioc);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let first_line = trimmed.lines().next().unwrap_or("");
        if first_line.contains("\"cidr\"") && first_line.contains("\"sblid\"") {
            return Some(Format::SpamhausJson);
        }
        let misp_keys = [
            "\"Event\"",
            "\"Attribute\"",
            "\"response\"",
            "\"to_ids\"",
            "\"Galaxy",
            "\"Object\"",
        ];
        if misp_keys.iter().any(|k| trimmed.contains(k)) {
            return Some(Format::Misp);
        }
        if trimmed.contains("\"type\"") {
            return Some(Format::Stix2);
        }
        return None;
    }
    if trimmed.starts_with("#fields\tindicator\tindicator_type")
        || trimmed
            .lines()
            .any(|l| l.starts_with("#fields") && l.contains("indicator_type"))
    {
        return Some(Format::ZeekIntel);
    }
    if trimmed.starts_with("; Spamhaus") || text.contains("spamhaus.org/drop/") {
        return Some(Format::SpamhausDrop);
    }
    if text.contains("\"first_seen_utc\",\"dst_ip\"") || text.contains("Feodo Tracker") {
        return Some(Format::FeodoCsv);
    }
    if crate::formats::is_picket_csv(trimmed) {
        return Some(Format::PicketCsv);
    }
    if text.contains("Bambenek") {
        return Some(Format::Bambenek);
    }
    if text.contains("DShield.org") || text.contains("dshield.org/block.txt") {
        return Some(Format::Dshield);
    }
    if trimmed.starts_with("#field:") {
        return Some(Format::ArkimeTagger);
    }
    if lower_name.ends_with(".ioc") || lower_name.ends_with(".xml") {
        return Some(Format::Openioc);
    }
    if lower_name.ends_with(".json") {
        return Some(Format::Stix2);
    }
    Some(Format::Plain)
}

/// A report under construction: shared by every format reader.
#[derive(Debug)]
pub struct Batch<'o> {
    /// The input name, for locations.
    pub(crate) file: Arc<str>,
    /// How to read.
    pub(crate) options: &'o LoadOptions,
    /// The sighting every record starts from: the feed defaults.
    template: Sighting,
    /// Digests of the values in [`LoadReport::indicators`], each with its
    /// position there. A value is found by its digest and compared with
    /// the indicator at that position, so the table keeps no copy of it.
    index: HashTable<(u64, usize)>,
    /// Seeds the value digests of `index` and of [`Chunking`].
    hasher: RandomState,
    pub(crate) report: LoadReport,
    /// Set for a chunked load: where indicators go as they are read.
    chunks: Option<Chunking<'o>>,
}

/// Maximum values in the first chunk of a chunked load. Each next chunk
/// may contain twice as many, up to the requested size, so the receiver
/// starts early. With 65,536 values in the first chunk, the writing thread
/// of `picket intel import` waited about 0.1 s for it with nothing to do.
const FIRST_CHUNK: usize = 4_096;

/// The state of a chunked load.
struct Chunking<'o> {
    /// Maximum values in a chunk.
    size: usize,
    /// Maximum values in the chunk being read. It starts at
    /// [`FIRST_CHUNK`] and doubles up to `size`.
    limit: usize,
    sink: &'o mut dyn FnMut(Chunk) -> bool,
    /// Whether the sink still takes chunks.
    open: bool,
    /// Digests of the values handed over, and of those that were allow
    /// entries. A digest shared by two values only sends the second down
    /// the repeat path, which stores it all the same.
    handed: HashTable<u64>,
    /// Digests of the allow entries with their positions in the report's
    /// allow list, where each value is compared: a value wrongly taken
    /// for an allow entry would be dropped, not stored.
    allowed: HashTable<(u64, usize)>,
    repeats: Vec<Indicator>,
    /// Digests of the values in `repeats`, with their positions there.
    repeat_index: HashTable<(u64, usize)>,
}

impl std::fmt::Debug for Chunking<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunking")
            .field("size", &self.size)
            .field("handed", &self.handed.len())
            .finish_non_exhaustive()
    }
}

impl<'o> Chunking<'o> {
    fn new(size: usize, sink: &'o mut dyn FnMut(Chunk) -> bool) -> Self {
        Chunking {
            size: size.max(1),
            limit: size.clamp(1, FIRST_CHUNK),
            sink,
            open: true,
            handed: HashTable::new(),
            allowed: HashTable::new(),
            repeats: Vec::new(),
            repeat_index: HashTable::new(),
        }
    }

    fn send(&mut self, chunk: Chunk) {
        if self.open {
            self.open = (self.sink)(chunk);
        }
    }

    /// Folds a later record of a value handed over before into its
    /// repeats, for the final [`Chunk::Repeats`].
    fn add_repeat(&mut self, hash: u64, observable: Observable, sighting: Sighting) {
        let repeats = &self.repeats;
        if let Some(&(_, position)) = self.repeat_index.find(hash, |&(h, i)| {
            h == hash && is_same_value(&repeats[i], &observable)
        }) {
            self.repeats[position].add_sighting(sighting);
            return;
        }
        self.repeat_index
            .insert_unique(hash, (hash, self.repeats.len()), |&(h, _)| h);
        self.repeats.push(Indicator::new(observable, sighting));
    }
}

/// Tells whether `indicator` is the indicator of `observable`: the same
/// kind, value and subdomain flag.
fn is_same_value(indicator: &Indicator, observable: &Observable) -> bool {
    indicator.kind == observable.kind
        && indicator.include_subdomains == observable.include_subdomains
        && indicator.value == observable.value
}

/// Builds the sighting of a record that gives only its value, from the
/// feed defaults of `options`. The input `name` is the provider when the
/// defaults name none.
fn default_sighting(name: &str, options: &LoadOptions) -> Sighting {
    let d = &options.defaults;
    let source = picket_event::IntelSource {
        provider: d.provider.clone().unwrap_or_else(|| name.to_owned()),
        feed: d.feed.clone().unwrap_or_default(),
        confidence: d.confidence.unwrap_or(DEFAULT_CONFIDENCE).min(100),
        tlp: d.tlp.map(|t| t.as_str().to_owned()),
        tags: d.tags.clone(),
        description: d.description.clone(),
        reference: None,
    };
    Sighting {
        source,
        severity: d.severity,
        reported_at: options.reported_at,
        assessment: d.assessment.clone(),
        ..Sighting::default()
    }
}

impl<'o> Batch<'o> {
    /// Starts an empty report for `name`.
    pub(crate) fn new(name: &str, options: &'o LoadOptions) -> Self {
        Batch {
            file: Arc::from(name),
            options,
            template: default_sighting(name, options),
            index: HashTable::new(),
            hasher: RandomState::default(),
            report: LoadReport::default(),
            chunks: None,
        }
    }

    /// Hands the indicators read so far to the sink of a chunked load,
    /// keeping allow entries in the report.
    fn hand_over(&mut self) {
        let Some(chunks) = self.chunks.as_mut() else {
            return;
        };
        // The next chunk is allocated at its limit: growing it by doubling
        // copied each indicator about twice more.
        chunks.limit = chunks.limit.saturating_mul(2).min(chunks.size);
        let mut block = std::mem::replace(
            &mut self.report.indicators,
            Vec::with_capacity(chunks.limit),
        );
        let mut allow = 0;
        for &(hash, position) in &self.index {
            if block[position].is_whitelist() {
                allow += 1;
            } else {
                chunks.handed.insert_unique(hash, hash, |&h| h);
            }
        }
        self.index.clear();
        if allow > 0 {
            let first = self.report.allow.len();
            self.report
                .allow
                .extend(block.extract_if(.., |i| i.is_whitelist()));
            for (at, entry) in self.report.allow.iter().enumerate().skip(first) {
                let hash = self.hasher.hash_one((
                    entry.kind,
                    entry.include_subdomains,
                    entry.value.as_str(),
                ));
                chunks.allowed.insert_unique(hash, (hash, at), |&(h, _)| h);
            }
        }
        if !block.is_empty() {
            chunks.send(Chunk::Fresh(block));
        }
    }

    /// A sighting with the feed defaults, for the normalised `value`.
    pub(crate) fn sighting(&self, value: &str) -> Sighting {
        let mut sighting = self.template.clone();
        if let Some(template) = &self.options.defaults.altid {
            sighting.source.reference = Some(
                template
                    .replace("{value}", value)
                    .replace("<observable>", value),
            );
        }
        sighting
    }

    /// Counts one data record.
    pub(crate) fn record(&mut self) {
        self.report.records += 1;
    }

    /// Adds an observable with a sighting, folding repeats into the first.
    pub(crate) fn add(&mut self, observable: Observable, sighting: Sighting) {
        let hash = self.hasher.hash_one((
            observable.kind,
            observable.include_subdomains,
            observable.value.as_str(),
        ));
        let indicators = &self.report.indicators;
        if let Some(&(_, position)) = self.index.find(hash, |&(h, i)| {
            h == hash && is_same_value(&indicators[i], &observable)
        }) {
            self.report.duplicates += 1;
            self.report.indicators[position].add_sighting(sighting);
            return;
        }

        if let Some(chunks) = self.chunks.as_mut() {
            let allow = &self.report.allow;
            if chunks
                .allowed
                .find(hash, |&(h, at)| {
                    h == hash && is_same_value(&allow[at], &observable)
                })
                .is_some()
            {
                // Folded into an allow entry: it stays an allow entry.
                self.report.duplicates += 1;
                return;
            }
            if chunks.handed.find(hash, |&h| h == hash).is_some() {
                self.report.duplicates += 1;
                chunks.add_repeat(hash, observable, sighting);
                return;
            }
            // Handing over before adding keeps the newest indicator in the
            // report, where a reader may still adjust it.
            if self.report.indicators.len() >= chunks.limit {
                self.hand_over();
            }
        }

        let position = self.report.indicators.len();
        self.index
            .insert_unique(hash, (hash, position), |&(h, _)| h);
        self.report
            .indicators
            .push(Indicator::new(observable, sighting));
    }

    /// Adds a value with the default sighting (plus `tags`).
    pub(crate) fn add_default(&mut self, observable: Observable, tags: &[String]) {
        let mut sighting = self.sighting(&observable.value);
        for tag in tags {
            if !sighting.source.tags.contains(tag) {
                sighting.source.tags.push(tag.clone());
            }
        }
        self.add(observable, sighting);
    }

    /// Rejects the record at a line (1-based) and byte offset.
    pub(crate) fn reject_line(&mut self, line: u64, offset: u64, reason: RecordError) {
        tracing::debug!(file = %self.file, line, %reason, "rejected intelligence record");
        self.report.rejections.push(Rejection::new(
            SourceLocation::line(self.file.clone(), line, offset),
            reason,
        ));
    }

    /// Rejects a record whose place is inside the reason (a JSON or XML path).
    pub(crate) fn reject(&mut self, reason: RecordError) {
        tracing::debug!(file = %self.file, %reason, "rejected intelligence record");
        self.report.rejections.push(Rejection::new(
            SourceLocation::file(self.file.clone()),
            reason,
        ));
    }

    /// Closes the report, moving whitelist entries to [`LoadReport::allow`].
    pub(crate) fn finish(mut self) -> LoadReport {
        if self.chunks.is_some() {
            self.hand_over();
            // Frees the room `hand_over` reserved for a next chunk.
            self.report.indicators = Vec::new();
            if let Some(mut chunks) = self.chunks.take()
                && !chunks.repeats.is_empty()
            {
                let repeats = std::mem::take(&mut chunks.repeats);
                chunks.send(Chunk::Repeats(repeats));
            }
            return self.report;
        }
        let (allow, block): (Vec<Indicator>, Vec<Indicator>) =
            std::mem::take(&mut self.report.indicators)
                .into_iter()
                .partition(Indicator::is_whitelist);
        self.report.indicators = block;
        self.report.allow = allow;
        self.report
    }
}

/// Splits text into lines with their 1-based number and byte offset,
/// without the line terminator. A UTF-8 byte-order mark is dropped. Lines
/// end at `\n` (with an optional `\r` before it), or at `\r` in a text
/// with no `\n` at all, as classic Mac OS wrote them.
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = (u64, u64, &[u8])> {
    let start = if bytes.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let body = &bytes[start..];
    let mut offset = start as u64;
    let terminator = if memchr::memchr(b'\n', body).is_none() {
        b'\r'
    } else {
        b'\n'
    };
    split_lines(body, terminator)
        .enumerate()
        .map(move |(i, line)| {
            let here = offset;
            offset += line.len() as u64 + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (i as u64 + 1, here, line)
        })
        .filter(|(_, _, l)| !l.is_empty())
}

/// Splits bytes at each `terminator` as `<[u8]>::split` does, with
/// `memchr` finding the ends, where `split` tests byte by byte.
fn split_lines(bytes: &[u8], terminator: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let text = rest?;
        match memchr::memchr(terminator, text) {
            Some(end) => {
                rest = text.get(end + 1..);
                text.get(..end)
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn split_lines_matches_split(bytes in proptest::collection::vec(proptest::sample::select(vec![b'a', b'\n', b'\r']), 0..24)) {
            let want: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
            let got: Vec<&[u8]> = split_lines(&bytes, b'\n').collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn lines_end_at_lone_carriage_returns() {
        let found: Vec<_> = lines(b"evil.example\r192.0.2.1\r\r198.51.100.7\r").collect();
        assert_eq!(
            found,
            [
                (1, 0, &b"evil.example"[..]),
                (2, 13, &b"192.0.2.1"[..]),
                (4, 24, &b"198.51.100.7"[..]),
            ]
        );

        let report = load_bytes(
            "mac.txt",
            b"evil.example\r192.0.2.1\r",
            &LoadOptions::default(),
        )
        .unwrap();
        let values: Vec<_> = report.indicators.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, ["evil.example", "192.0.2.1"]);
        assert_eq!(report.records, 2);
    }

    #[test]
    fn lines_keep_carriage_return_inside_a_line() {
        let found: Vec<_> = lines(b"a\rb\r\nc\n").collect();
        assert_eq!(found, [(1, 0, &b"a\rb"[..]), (2, 5, &b"c"[..])]);
    }

    #[test]
    fn index_keeps_subdomain_flags_apart() {
        let options = LoadOptions {
            domain_subdomains: false,
            ..LoadOptions::default()
        };
        let report = load_bytes(
            "t",
            b"evil.example a\n*.evil.example b\nevil.example c\n",
            &options,
        )
        .unwrap();
        let found: Vec<_> = report
            .indicators
            .iter()
            .map(|i| (i.value.as_str(), i.include_subdomains))
            .collect();
        assert_eq!(found, [("evil.example", false), ("evil.example", true)]);
        assert_eq!(report.indicators[0].sightings[0].source.tags, ["a", "c"]);
        assert_eq!(report.duplicates, 1);
    }

    #[test]
    fn chunked_load_folds_late_repeats() {
        let text = "192.0.2.1 a\n192.0.2.2\n192.0.2.3\nevil.example x\n192.0.2.1 b\nnot a value\n\
                    192.0.2.4\nevil.example y\n192.0.2.1 c\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.txt");
        std::fs::write(&path, text).unwrap();
        let options = LoadOptions::default();
        let whole = load_file_with(&path, &options).unwrap();

        let mut fresh: Vec<Indicator> = Vec::new();
        let mut repeats: Vec<Indicator> = Vec::new();
        let mut chunks = 0;
        let mut sink = |chunk: Chunk| {
            match chunk {
                Chunk::Fresh(v) => {
                    chunks += 1;
                    assert!(v.len() <= 2);
                    fresh.extend(v);
                }
                Chunk::Repeats(v) => repeats.extend(v),
            }
            true
        };
        let report = load_file_chunked(&path, &options, 2, &mut sink).unwrap();
        assert_eq!(chunks, 3);
        assert!(report.indicators.is_empty());
        assert_eq!(repeats.len(), 2);

        // Folding the repeats as the store does gives the whole-file result.
        for r in repeats {
            let first = fresh
                .iter_mut()
                .find(|f| f.kind == r.kind && f.value == r.value)
                .unwrap();
            for s in r.sightings {
                first.add_sighting(s);
            }
        }
        assert_eq!(fresh, whole.indicators);
        assert_eq!(fresh[0].sightings[0].source.tags, ["a", "b", "c"]);
        assert_eq!(
            (report.records, report.duplicates),
            (whole.records, whole.duplicates)
        );
        assert_eq!(report.rejections.len(), 1);
        assert_eq!(report.rejections[0].location.line, Some(6));
    }

    /// Loads `text` in chunks of `size` and folds the late repeats into
    /// the values they repeat, as the store does.
    fn chunked(text: &str, options: &LoadOptions, size: usize) -> (Vec<Indicator>, LoadReport) {
        let mut fresh: Vec<Indicator> = Vec::new();
        let mut repeats: Vec<Indicator> = Vec::new();
        let mut sink = |chunk: Chunk| {
            match chunk {
                Chunk::Fresh(v) => fresh.extend(v),
                Chunk::Repeats(v) => repeats.extend(v),
            }
            true
        };
        let report = load_bytes_chunked("t", text.as_bytes(), options, size, &mut sink).unwrap();
        for r in repeats {
            let first = fresh
                .iter_mut()
                .find(|f| {
                    f.kind == r.kind
                        && f.include_subdomains == r.include_subdomains
                        && f.value == r.value
                })
                .unwrap();
            for s in r.sightings {
                first.add_sighting(s);
            }
        }
        (fresh, report)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn chunked_load_matches_whole_load(
            lines in proptest::collection::vec((0..13usize, 0..4usize), 0..60),
            size in 1..5usize,
        ) {
            const VALUES: [&str; 13] = [
                "192.0.2.1", "192.0.2.2", "10.0.0.0/8", "evil.example", "a.evil.example", "http://x.example/a",
                "not a value!", "d41d8cd98f00b204e9800998ecf8427e", "# comment", "2001:db8::1", "Evil.Example.",
                "192.0.2.1,x", "",
            ];
            const TAGS: [&str; 4] = ["", " a", " b,c", " a,a"];
            let text: String = lines.iter().map(|&(v, t)| format!("{}{}\n", VALUES[v], TAGS[t])).collect();
            let options = LoadOptions::default();
            let whole = load_bytes("t", text.as_bytes(), &options).unwrap();
            let (folded, report) = chunked(&text, &options, size);
            proptest::prop_assert_eq!(&folded, &whole.indicators);
            proptest::prop_assert_eq!(report.records, whole.records);
            proptest::prop_assert_eq!(report.duplicates, whole.duplicates);
            proptest::prop_assert_eq!(report.rejections.len(), whole.rejections.len());
        }

        #[test]
        fn chunked_load_of_garbage_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), size in 1..4usize) {
            let mut sink = |_chunk: Chunk| true;
            for format in Format::ALL {
                let options = LoadOptions { format: Some(format), ..LoadOptions::default() };
                let _ = load_bytes_chunked("g", &bytes, &options, size, &mut sink);
            }
        }
    }

    #[test]
    fn chunked_load_keeps_allow_entries_in_report() {
        let text = "192.0.2.1\n192.0.2.2\n192.0.2.3\n192.0.2.1 a\nok.example\n";
        let options = LoadOptions {
            defaults: Defaults {
                assessment: Some("whitelist".into()),
                ..Defaults::default()
            },
            ..LoadOptions::default()
        };
        let whole = load_bytes("t", text.as_bytes(), &options).unwrap();
        let mut handed = 0;
        let mut sink = |_chunk: Chunk| {
            handed += 1;
            true
        };
        let report = load_bytes_chunked("t", text.as_bytes(), &options, 2, &mut sink).unwrap();
        assert_eq!(handed, 0);
        assert_eq!(report.allow.len(), 4);
        let values = |list: &[Indicator]| list.iter().map(|i| i.value.clone()).collect::<Vec<_>>();
        assert_eq!(values(&report.allow), values(&whole.allow));
        assert!(report.indicators.is_empty());
    }

    #[test]
    fn chunked_load_stops_on_refusing_sink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.txt");
        std::fs::write(&path, "192.0.2.1\n192.0.2.2\n192.0.2.3\n192.0.2.1\n").unwrap();
        let mut calls = 0;
        let mut sink = |_chunk: Chunk| {
            calls += 1;
            false
        };
        let report = load_file_chunked(&path, &LoadOptions::default(), 1, &mut sink).unwrap();
        assert_eq!(calls, 1);
        assert_eq!(report.records, 4);
    }
}
