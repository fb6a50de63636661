//! Log readers: Squid, W3C extended, Microsoft TMG, Zeek, Suricata EVE and passive DNS into picket events.
//!
//! [`open`] takes a path (or `-` for standard input) and undoes gzip, bzip2 or
//! zstd compression, recognised by magic bytes. It then detects the log
//! format from the first lines ([`detect`]) unless one is given. The result
//! is an [`EventReader`]: an iterator of events and [`Rejection`]s, each with
//! its [`SourceLocation`](picket_event::SourceLocation) (file, line, byte offset).
//!
//! ```no_run
//! use std::path::Path;
//! use picket_sources::{OpenOptions, expand_inputs, open};
//!
//! for path in expand_inputs(&[Path::new("logs/")]) {
//!     let mut reader = open(&path, &OpenOptions::default())?;
//!     for item in reader.by_ref() {
//!         match item {
//!             Ok(event) => { /* match, detect, store */ let _ = event; }
//!             Err(rejection) => eprintln!("{rejection}"),
//!         }
//!     }
//!     eprintln!("{}: {:?}", reader.format_name(), reader.stats());
//! }
//! # Ok::<(), picket_sources::SourceError>(())
//! ```
//!
//! Each format has its own module, whose documentation lists how its columns
//! map onto [`picket_event::HttpEvent`] and [`picket_event::DnsEvent`] fields.
//!
//! # Bad input
//!
//! A bad line is rejected with its location and a [`RecordError`] reason and
//! reading goes on with the next line. Lines that are not UTF-8 are rejected
//! by default ([`Utf8Policy`]); lines longer than
//! [`ReaderConfig::max_line_len`] are skipped without being buffered; a
//! compressed stream cut short ends the input with a final rejection after
//! every line before the cut.
#![deny(missing_docs)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use picket_event::EventReader;
#[cfg(doc)]
use picket_event::Rejection;

mod columns;
mod config;
mod error;
pub mod eve;
pub mod fields;
mod format;
pub mod input;
pub mod pdns;
mod reader;
pub mod squid;
mod strings;
pub mod tmg;
mod tz;
pub mod w3c;
pub mod zeek;

pub use config::{ReaderConfig, Utf8Policy};
pub use error::{RecordError, SourceError};
pub use format::{Format, UnknownFormatName, detect};
pub use tz::{TimeZoneError, TimeZoneSetting};

use input::{LineSource, peek_head, unpeek};
use reader::LogReader;

/// How to open an input.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// The log format; `None` detects it from the content.
    pub format: Option<Format>,
    /// Settings for the reader.
    pub config: ReaderConfig,
}

/// The kind of an input, judged from its first bytes after decompression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A log in a format this crate reads.
    Log(Format),
    /// A pcap or pcapng capture, for `picket-decode`.
    Capture,
    /// Neither.
    Unknown,
}

/// Opens an input and decompresses it, without reading any of it as a log.
///
/// `-` is standard input. Captures go through this too, so that
/// `capture.pcap.gz` reads like `capture.pcap`.
pub fn open_decompressed(path: &Path) -> Result<Box<dyn Read + Send>, SourceError> {
    let io_error = |source| SourceError::Io {
        path: path.to_owned(),
        source,
    };
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(io_error)?)
    };
    input::decompress(raw).map_err(io_error)
}

/// Tells whether an input is a log (and which), a capture, or unknown.
///
/// Reads only the first bytes. Standard input cannot be sniffed and then
/// read again; call [`open`] on it directly.
pub fn sniff(path: &Path) -> Result<InputKind, SourceError> {
    let read = open_decompressed(path)?;
    let (head, _) = peek_head(read, input::HEAD_LEN).map_err(|source| SourceError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(kind_of(&head))
}

fn kind_of(head: &[u8]) -> InputKind {
    const CAPTURE_MAGIC: [[u8; 4]; 5] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x0a, 0x0d, 0x0d, 0x0a],
    ];
    if head.len() >= 4 && CAPTURE_MAGIC.iter().any(|m| head[..4] == *m) {
        return InputKind::Capture;
    }
    detect(head).map_or(InputKind::Unknown, InputKind::Log)
}

/// Opens a log file (or `-` for standard input) as a stream of events.
///
/// The format is `options.format`, or detected from the first lines. Fails
/// when the file cannot be read, when it is a capture, or when no format
/// was given and none is recognised.
pub fn open(path: &Path, options: &OpenOptions) -> Result<Box<dyn EventReader>, SourceError> {
    let read = open_decompressed(path)?;
    let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
    open_stream(read, name, path, options)
}

/// Reads an already opened stream (compressed or not) as a log, naming it
/// `name` in locations. For tests, benchmarks and embedding.
pub fn open_reader(
    read: Box<dyn Read + Send>,
    name: &str,
    options: &OpenOptions,
) -> Result<Box<dyn EventReader>, SourceError> {
    let path = PathBuf::from(name);
    let read = input::decompress(read).map_err(|source| SourceError::Io {
        path: path.clone(),
        source,
    })?;
    open_stream(read, Arc::from(name), &path, options)
}

fn open_stream(
    read: Box<dyn Read + Send>,
    name: Arc<str>,
    path: &Path,
    options: &OpenOptions,
) -> Result<Box<dyn EventReader>, SourceError> {
    // A named format needs no head: reading one would wait for 64 KiB of
    // a log followed on standard input before the first event.
    if let Some(format) = options.format {
        let lines = LineSource::new(read, options.config.max_line_len);
        return Ok(reader_for(format, lines, name, &options.config));
    }

    let (head, rest) = peek_head(read, input::HEAD_LEN).map_err(|source| SourceError::Io {
        path: path.to_owned(),
        source,
    })?;
    let format = match kind_of(&head) {
        InputKind::Log(format) => format,
        InputKind::Capture => {
            return Err(SourceError::Capture {
                path: path.to_owned(),
            });
        }
        InputKind::Unknown => {
            let first_line =
                String::from_utf8_lossy(head.split(|b| *b == b'\n').next().unwrap_or(&[]));
            return Err(SourceError::UnknownFormat {
                path: path.to_owned(),
                first_line: error::excerpt(first_line.trim_end()),
            });
        }
    };
    let lines = LineSource::new(unpeek(head, rest), options.config.max_line_len);
    Ok(reader_for(format, lines, name, &options.config))
}

fn reader_for(
    format: Format,
    lines: LineSource,
    name: Arc<str>,
    config: &ReaderConfig,
) -> Box<dyn EventReader> {
    match format {
        Format::Squid => Box::new(LogReader::new(
            lines,
            squid::SquidParser::default(),
            name,
            config,
        )),
        Format::SquidCombined => {
            Box::new(LogReader::new(lines, squid::CombinedParser, name, config))
        }
        Format::W3c => Box::new(LogReader::new(
            lines,
            w3c::W3cParser::default(),
            name,
            config,
        )),
        Format::Tmg => Box::new(LogReader::new(
            lines,
            tmg::TmgParser::new(tmg::Layout::Full, config),
            name,
            config,
        )),
        Format::Tmg16 => Box::new(LogReader::new(
            lines,
            tmg::TmgParser::new(tmg::Layout::Reduced, config),
            name,
            config,
        )),
        Format::ZeekTsv => Box::new(LogReader::new(
            lines,
            zeek::ZeekTsvParser::default(),
            name,
            config,
        )),
        Format::ZeekJson => Box::new(LogReader::new(lines, zeek::ZeekJsonParser, name, config)),
        Format::SuricataEve => Box::new(LogReader::new(
            lines,
            eve::EveParser::new(config),
            name,
            config,
        )),
        Format::PassiveDns => Box::new(LogReader::new(lines, pdns::PassiveDnsParser, name, config)),
        Format::CirclPdns => Box::new(LogReader::new(lines, pdns::CirclParser, name, config)),
    }
}

/// Expands directories into the files under them, recursively, in sorted
/// order; files and `-` are kept as given, in the order given.
///
/// A directory that cannot be listed is returned as it is, so that opening
/// it reports the error with its path rather than the error being lost.
/// Symbolic links to directories are followed only when named directly,
/// which rules out link loops.
pub fn expand_inputs<P: AsRef<Path>>(paths: &[P]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        let path = path.as_ref();
        if path.is_dir() {
            walk(path, &mut out);
        } else {
            out.push(path.to_owned());
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push(dir.to_owned());
        return;
    };
    let mut children: Vec<(PathBuf, bool)> = entries
        .filter_map(Result::ok)
        .map(|entry| {
            let is_real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            (entry.path(), is_real_dir)
        })
        .collect();
    children.sort();
    for (child, is_dir) in children {
        if is_dir {
            walk(&child, out);
        } else {
            out.push(child);
        }
    }
}

/// Reads a whole in-memory input with a given format, for fuzzing and
/// property tests: every event and rejection, then the stats.
pub fn read_all(
    bytes: &[u8],
    format: Format,
    config: &ReaderConfig,
) -> (
    Vec<picket_event::Event>,
    Vec<picket_event::Rejection>,
    picket_event::SourceStats,
) {
    let options = OpenOptions {
        format: Some(format),
        config: config.clone(),
    };
    let reader = open_reader(
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        "input",
        &options,
    );
    let mut reader = match reader {
        Ok(reader) => reader,
        Err(_) => return (Vec::new(), Vec::new(), picket_event::SourceStats::default()),
    };
    let mut events = Vec::new();
    let mut rejections = Vec::new();
    for item in reader.by_ref() {
        match item {
            Ok(event) => events.push(event),
            Err(rejection) => rejections.push(rejection),
        }
    }
    let stats = reader.stats();
    (events, rejections, stats)
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Parses `bytes` as `format` with default settings.
    pub fn parse_all(
        format: Format,
        bytes: &[u8],
    ) -> (
        Vec<picket_event::Event>,
        Vec<picket_event::Rejection>,
        picket_event::SourceStats,
    ) {
        read_all(bytes, format, &ReaderConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_kinds() {
        assert_eq!(kind_of(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), InputKind::Capture);
        assert_eq!(kind_of(&[0x0a, 0x0d, 0x0d, 0x0a]), InputKind::Capture);
        assert_eq!(
            kind_of(b"#Fields: date time\n"),
            InputKind::Log(Format::W3c)
        );
        assert_eq!(kind_of(b"hello\n"), InputKind::Unknown);
    }

    #[test]
    fn expand_sorts_and_recurses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/2.log"), "x").unwrap();
        std::fs::write(dir.path().join("a.log"), "x").unwrap();
        std::fs::write(dir.path().join("c.log"), "x").unwrap();
        let got = expand_inputs(&[dir.path().to_owned(), PathBuf::from("-")]);
        let names: Vec<String> = got
            .iter()
            .map(|p| {
                p.strip_prefix(dir.path())
                    .map_or("-".into(), |r| r.to_string_lossy().into_owned())
            })
            .collect();
        assert_eq!(names, ["a.log", "b/2.log", "c.log", "-"]);
    }
}
