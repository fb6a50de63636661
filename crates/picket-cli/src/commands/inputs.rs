//! Opening logs and captures by path, for every command that reads them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use picket_decode::DecodeConfig;
use picket_event::EventReader;
use picket_sources::{Format, InputKind, OpenOptions, Utf8Policy};

/// Command-line arguments that choose how inputs are read.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Force the input format instead of detecting it (for example squid,
    /// w3c, tmg, tmg16, zeek-tsv, zeek-json, suricata-eve, passivedns,
    /// circl-pdns, pcap).
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<String>,

    /// Time zone of log formats that write local time (TMG): an IANA name
    /// such as Europe/Berlin, or a fixed offset such as +02:00.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub timezone: String,

    /// Parse log lines that are not valid UTF-8, replacing the invalid bytes
    /// with U+FFFD, instead of rejecting them. For logs that hold Latin-1
    /// user names or URLs. Without it, each such line is rejected with its
    /// location, and its request is hidden from matching and the detectors.
    #[arg(long)]
    pub lossy_utf8: bool,
}

/// Input settings from the command line.
#[derive(Clone, Debug)]
pub struct InputOptions {
    format: Option<Format>,
    force_capture: bool,
    sources: OpenOptions,
    decode: DecodeConfig,
}

impl InputOptions {
    /// Reads `--input-format`, `--timezone` and `--lossy-utf8`. Captures are
    /// decoded with the limits in `decode`.
    pub fn from_args(args: &InputArgs, decode: DecodeConfig) -> anyhow::Result<InputOptions> {
        let (format, force_capture) = match args.input_format.as_deref() {
            None => (None, false),
            Some("pcap" | "pcapng") => (None, true),
            Some(name) => {
                let format: Format = name.parse().with_context(|| {
                    format!("unknown --input-format {name:?}; run with --help for the list")
                })?;
                (Some(format), false)
            }
        };
        let mut sources = OpenOptions {
            format,
            ..OpenOptions::default()
        };
        sources.config.timezone = args
            .timezone
            .parse()
            .with_context(|| format!("invalid --timezone {:?}", args.timezone))?;
        if args.lossy_utf8 {
            sources.config.utf8 = Utf8Policy::Lossy;
        }
        Ok(InputOptions {
            format,
            force_capture,
            sources,
            decode,
        })
    }
}

/// Expands directories into the files below them, in sorted order.
pub fn expand(inputs: &[PathBuf]) -> Vec<PathBuf> {
    picket_sources::expand_inputs(inputs)
}

/// Opens a log or capture reader, by content or by `--input-format`.
pub fn open_reader(path: &Path, options: &InputOptions) -> anyhow::Result<Box<dyn EventReader>> {
    let is_stdin = path == Path::new("-");
    let kind = if options.force_capture {
        InputKind::Capture
    } else if options.format.is_some() || is_stdin {
        InputKind::Log(options.format.unwrap_or(Format::Squid))
    } else {
        picket_sources::sniff(path)?
    };

    match kind {
        InputKind::Capture => {
            // Through the sources' decompression, so `x.pcap.gz` reads like `x.pcap`.
            let read = picket_sources::open_decompressed(path)?;
            let name = path.display().to_string();
            let reader =
                picket_decode::CaptureReader::from_reader(read, &name, options.decode.clone())
                    .with_context(|| format!("cannot read the capture {name}"))?;
            Ok(Box::new(reader))
        }
        InputKind::Log(_) => {
            let reader = picket_sources::open(path, &options.sources)
                .with_context(|| format!("cannot read the log {}", path.display()))?;
            Ok(reader)
        }
        InputKind::Unknown => anyhow::bail!(
            "{}: format not recognised; name it with --input-format",
            path.display()
        ),
    }
}
