//! Capture files: pcap and pcapng, plain or gzip-compressed, read as a stream
//! of link-layer frames with their time, link type, number and offset.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};
use picket_event::Timestamp;

use crate::DecodeError;

/// Bytes the reader's buffer starts with; it grows for larger records.
const INITIAL_BUFFER: usize = 1 << 20;

/// Largest record the reader accepts: pcapng blocks carrying jumbo frames
/// or reassembled segments stay far below it.
const MAX_BUFFER: usize = 64 << 20;

/// Bytes read before choosing the format; enough for any ordinary pcapng
/// section header with its options.
const PREFIX: usize = 64 << 10;

/// The container format of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// libpcap format, either byte order, micro- or nanosecond timestamps.
    Pcap,
    /// pcapng, any number of sections and interfaces.
    PcapNg,
}

impl CaptureFormat {
    /// `pcap` or `pcapng`.
    pub fn name(self) -> &'static str {
        match self {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::PcapNg => "pcapng",
        }
    }
}

/// One captured frame, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Link type of the frame (LINKTYPE_* number).
    pub linktype: i32,
    /// Capture time.
    pub timestamp: Timestamp,
    /// Packet number, from 1.
    pub number: u64,
    /// Offset of the frame's record in the decompressed capture.
    pub offset: u64,
    /// The captured bytes (at most the snapshot length).
    pub data: &'a [u8],
}

/// One pcapng interface: what its packets' link type and clock are.
#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: i32,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset_secs: i64,
}

/// Reads frames from a capture, one at a time.
pub struct CaptureSource {
    reader: Box<dyn PcapReaderIterator + Send>,
    format: CaptureFormat,
    /// Bytes of the current record, consumed before the next one is read.
    pending: usize,
    legacy_linktype: i32,
    legacy_nanos: bool,
    interfaces: Vec<Interface>,
    frames: u64,
    done: bool,
}

impl std::fmt::Debug for CaptureSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSource")
            .field("format", &self.format)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl CaptureSource {
    /// Opens a capture from any reader, detecting gzip, pcap and pcapng from
    /// the first bytes.
    pub fn new(input: impl Read + Send + 'static) -> Result<Self, DecodeError> {
        let mut buffered = BufReader::with_capacity(1 << 16, input);
        let head = buffered
            .fill_buf()
            .map_err(|_| DecodeError::Read { offset: 0 })?;
        if head.starts_with(&[0x1f, 0x8b]) {
            let gz = MultiGzDecoder::new(buffered);
            return Self::detect(gz);
        }
        Self::detect(buffered)
    }

    fn detect(mut input: impl Read + Send + 'static) -> Result<Self, DecodeError> {
        let prefix = read_prefix(&mut input)?;
        if prefix.is_empty() {
            return Err(DecodeError::Empty);
        }
        let magic = prefix.get(..4).unwrap_or(&prefix).to_vec();
        let format = match magic.as_slice() {
            [0x0a, 0x0d, 0x0d, 0x0a] => CaptureFormat::PcapNg,
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d] => CaptureFormat::Pcap,
            _ => return Err(DecodeError::UnknownFormat { magic }),
        };

        let chained = io::Cursor::new(prefix).chain(input);
        let malformed = |e: PcapError<&[u8]>| DecodeError::MalformedRecord {
            format: format.name(),
            offset: 0,
            reason: describe(&e),
        };
        let reader: Box<dyn PcapReaderIterator + Send> = match format {
            CaptureFormat::PcapNg => {
                Box::new(PcapNGReader::new(INITIAL_BUFFER, chained).map_err(malformed)?)
            }
            CaptureFormat::Pcap => {
                Box::new(LegacyPcapReader::new(INITIAL_BUFFER, chained).map_err(malformed)?)
            }
        };
        Ok(CaptureSource {
            reader,
            format,
            pending: 0,
            legacy_linktype: 1,
            legacy_nanos: false,
            interfaces: Vec::new(),
            frames: 0,
            done: false,
        })
    }

    /// Returns the container format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Bytes of the decompressed capture consumed so far.
    pub fn bytes(&self) -> u64 {
        (self.reader.consumed() + self.pending) as u64
    }

    /// Reads the next frame and hands it to `f`.
    ///
    /// Returns `None` at the end, `Some(Err)` once when reading had to stop
    /// early (after which it returns `None`), and `Some(Err)` for a packet that
    /// names an undescribed pcapng interface (reading goes on).
    pub fn next_frame<R>(
        &mut self,
        f: impl FnOnce(Frame<'_>) -> R,
    ) -> Option<Result<R, (DecodeError, u64)>> {
        loop {
            if self.done {
                return None;
            }
            if self.pending > 0 {
                // Without the shift: `refill` moves the unread tail to the
                // front once the buffer runs dry, where `consume` would move
                // up to half the buffer every time the read position passed
                // its middle.
                self.reader.consume_noshift(self.pending);
                self.pending = 0;
            }
            let offset = self.reader.consumed() as u64;

            let failure = match self.reader.next() {
                Ok((len, block)) => {
                    self.pending = len;
                    match block {
                        PcapBlockOwned::LegacyHeader(header) => {
                            self.legacy_linktype = header.network.0;
                            self.legacy_nanos = header.is_nanosecond_precision();
                            continue;
                        }
                        PcapBlockOwned::Legacy(record) => {
                            self.frames += 1;
                            let nanos = if self.legacy_nanos {
                                record.ts_usec
                            } else {
                                record.ts_usec.saturating_mul(1000)
                            };
                            let timestamp =
                                Timestamp::from_secs_nanos(i64::from(record.ts_sec), nanos)
                                    .unwrap_or_default();
                            return Some(Ok(f(Frame {
                                linktype: self.legacy_linktype,
                                timestamp,
                                number: self.frames,
                                offset,
                                data: record.data,
                            })));
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                            self.interfaces.clear();
                            continue;
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            self.interfaces.push(Interface {
                                linktype: idb.linktype.0,
                                resolution: idb.ts_resolution().unwrap_or(1_000_000),
                                offset_secs: idb.ts_offset(),
                            });
                            continue;
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            self.frames += 1;
                            let Some(iface) = self.interfaces.get(epb.if_id as usize).copied()
                            else {
                                return Some(Err((
                                    DecodeError::UnknownInterface {
                                        interface: epb.if_id,
                                    },
                                    offset,
                                )));
                            };
                            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let timestamp = ng_timestamp(units, iface);
                            return Some(Ok(f(Frame {
                                linktype: iface.linktype,
                                timestamp,
                                number: self.frames,
                                offset,
                                data: epb.packet_data(),
                            })));
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            self.frames += 1;
                            let Some(iface) = self.interfaces.first().copied() else {
                                return Some(Err((
                                    DecodeError::UnknownInterface { interface: 0 },
                                    offset,
                                )));
                            };
                            return Some(Ok(f(Frame {
                                linktype: iface.linktype,
                                timestamp: Timestamp::UNIX_EPOCH,
                                number: self.frames,
                                offset,
                                data: spb.packet_data(),
                            })));
                        }
                        PcapBlockOwned::NG(_) => continue,
                    }
                }
                Err(PcapError::Eof) => {
                    self.done = true;
                    return None;
                }
                Err(PcapError::Incomplete(_)) => None,
                Err(PcapError::BufferTooSmall) => Some(BufferState::TooSmall),
                Err(PcapError::UnexpectedEof) => {
                    Some(BufferState::Fatal(DecodeError::Truncated { offset }))
                }
                Err(PcapError::ReadError) => Some(BufferState::Fatal(DecodeError::Read { offset })),
                Err(e) => Some(BufferState::Fatal(DecodeError::MalformedRecord {
                    format: self.format.name(),
                    offset,
                    reason: describe(&e),
                })),
            };

            match failure {
                None => {
                    if self.reader.refill().is_err() {
                        return self.stop(DecodeError::Read { offset }, offset);
                    }
                }
                Some(BufferState::TooSmall) => {
                    let capacity = self.reader.data().len().max(INITIAL_BUFFER) * 2;
                    if capacity > MAX_BUFFER || !self.reader.grow(capacity) {
                        return self.stop(
                            DecodeError::RecordTooLarge {
                                offset,
                                limit: MAX_BUFFER,
                            },
                            offset,
                        );
                    }
                    if self.reader.refill().is_err() {
                        return self.stop(DecodeError::Read { offset }, offset);
                    }
                }
                Some(BufferState::Fatal(error)) => return self.stop(error, offset),
            }
        }
    }

    fn stop<R>(
        &mut self,
        error: DecodeError,
        offset: u64,
    ) -> Option<Result<R, (DecodeError, u64)>> {
        self.done = true;
        self.pending = 0;
        Some(Err((error, offset)))
    }
}

/// Reason the reader could not return a block.
enum BufferState {
    TooSmall,
    Fatal(DecodeError),
}

/// Converts a pcapng timestamp in interface units to a `Timestamp`.
fn ng_timestamp(units: u64, iface: Interface) -> Timestamp {
    let resolution = iface.resolution.max(1);
    let secs = (units / resolution) as i64;
    let frac = units % resolution;
    let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(resolution)) as u32;
    Timestamp::from_secs_nanos(secs.saturating_add(iface.offset_secs), nanos).unwrap_or_default()
}

/// Reads up to `PREFIX` bytes, fewer only at the end of the input.
// The read is bounded by `take(PREFIX)`; the lint cannot see through it.
#[allow(clippy::disallowed_methods)]
fn read_prefix(input: &mut impl Read) -> Result<Vec<u8>, DecodeError> {
    let mut prefix = Vec::with_capacity(PREFIX);
    input
        .take(PREFIX as u64)
        .read_to_end(&mut prefix)
        .map_err(|_| DecodeError::Read { offset: 0 })?;
    Ok(prefix)
}

fn describe(error: &PcapError<&[u8]>) -> String {
    match error {
        PcapError::NomError(_, kind) => format!("parse error ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("parse error ({kind:?})"),
        PcapError::HeaderNotRecognized => "header not recognized".to_owned(),
        other => format!("{other:?}"),
    }
}
