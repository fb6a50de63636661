//! [`CaptureReader`]: a capture file as a stream of events.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use picket_event::{Event, EventReader, Rejection, SourceLocation, SourceStats};

use crate::capture::{CaptureFormat, CaptureSource};
use crate::decoder::{CaptureStats, PacketDecoder};
use crate::{DecodeConfig, DecodeError};

/// Reads a pcap or pcapng capture (plain or gzip) and yields the DNS, HTTP
/// and TLS events in it.
///
/// Events come in the order they complete: a DNS exchange when its response
/// arrives, an HTTP transaction when its response ends, and whatever is
/// still open when the input ends. A packet that does not decode is a
/// [`Rejection`] naming its packet number and offset; reading goes on. An
/// error that stops reading (a truncated record, a gzip error) is a final
/// rejection, after which the open connections are still flushed.
///
/// ```no_run
/// use picket_decode::{CaptureReader, DecodeConfig};
/// use picket_event::Event;
///
/// let reader = CaptureReader::open("trace.pcap".as_ref(), DecodeConfig::default())?;
/// for item in reader {
///     match item {
///         Ok(Event::Dns(dns)) => println!("{}", dns.query_name),
///         Ok(other) => println!("{}", other.dataset()),
///         Err(rejection) => eprintln!("{rejection}"),
///     }
/// }
/// # Ok::<(), picket_decode::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct CaptureReader {
    source: CaptureSource,
    decoder: PacketDecoder,
    finished: bool,
    events: u64,
    rejected: u64,
}

impl CaptureReader {
    /// Opens a capture file; the format comes from its first bytes.
    pub fn open(path: &Path, config: DecodeConfig) -> Result<Self, DecodeError> {
        let file = File::open(path).map_err(|source| DecodeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_reader(file, &path.display().to_string(), config)
    }

    /// Reads a capture from any reader, such as standard input; `name` is
    /// the source name events carry (`-` for standard input).
    pub fn from_reader(
        input: impl Read + Send + 'static,
        name: &str,
        config: DecodeConfig,
    ) -> Result<Self, DecodeError> {
        let source = CaptureSource::new(input)?;
        Ok(CaptureReader {
            source,
            decoder: PacketDecoder::new(config, Arc::from(name)),
            finished: false,
            events: 0,
            rejected: 0,
        })
    }

    /// Returns the container format.
    pub fn format(&self) -> CaptureFormat {
        self.source.format()
    }

    /// Detailed counts: reassembly, fragments, DNS pairing, protocols.
    pub fn capture_stats(&self) -> CaptureStats {
        self.decoder.stats()
    }
}

impl Iterator for CaptureReader {
    type Item = Result<Event, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.decoder.pop() {
                match item {
                    Ok(_) => self.events += 1,
                    Err(_) => self.rejected += 1,
                }
                return Some(item);
            }
            if self.finished {
                return None;
            }
            let decoder = &mut self.decoder;
            match self.source.next_frame(|frame| decoder.frame(frame)) {
                Some(Ok(())) => {}
                Some(Err((error, offset))) => {
                    let mut location = SourceLocation::file(decoder.file().clone());
                    location.offset = Some(offset);
                    decoder.reject(Rejection::new(location, error));
                }
                None => {
                    self.finished = true;
                    self.decoder.finish();
                }
            }
        }
    }
}

impl EventReader for CaptureReader {
    fn stats(&self) -> SourceStats {
        let stats = self.decoder.stats();
        SourceStats {
            records: stats.packets,
            events: self.events,
            rejected: self.rejected,
            skipped: stats.skipped,
            bytes: self.source.bytes(),
        }
    }

    fn format_name(&self) -> &'static str {
        self.source.format().name()
    }
}
