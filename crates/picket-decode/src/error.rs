//! Errors of capture decoding.

use std::path::PathBuf;

/// A capture that cannot be read at all, or a record that cannot be decoded.
///
/// Errors that concern one record reach the caller as a
/// [`picket_event::Rejection`] carrying this type and the record's location.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The capture file could not be opened or read.
    #[error("cannot read capture {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The input is empty.
    #[error("the capture is empty")]
    Empty,
    /// The first bytes are neither a pcap nor a pcapng header.
    #[error("not a pcap or pcapng capture (first bytes {magic:02x?})")]
    UnknownFormat {
        /// Up to the first 4 bytes of the input.
        magic: Vec<u8>,
    },
    /// A capture record or block could not be parsed; reading stops here.
    #[error("malformed {format} record at byte {offset}: {reason}")]
    MalformedRecord {
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// Offset of the record in the decompressed input.
        offset: u64,
        /// The parser's error message.
        reason: String,
    },
    /// The input ended in the middle of a record.
    #[error("capture cut short in a record at byte {offset}")]
    Truncated {
        /// Offset of the incomplete record.
        offset: u64,
    },
    /// A record is larger than the largest block the reader accepts.
    #[error("record at byte {offset} is larger than {limit} bytes")]
    RecordTooLarge {
        /// Offset of the record.
        offset: u64,
        /// The reader's buffer limit.
        limit: usize,
    },
    /// Reading failed in the middle of the input (I/O or gzip error).
    #[error("read error at byte {offset}")]
    Read {
        /// Offset where reading stopped.
        offset: u64,
    },
    /// A packet refers to a pcapng interface that no block described.
    #[error("packet names pcapng interface {interface}, which was never described")]
    UnknownInterface {
        /// The interface id.
        interface: u32,
    },
    /// The packet's link type is not one picket decodes.
    #[error("link type {linktype} is not supported")]
    UnsupportedLinkType {
        /// The link type number (LINKTYPE_*).
        linktype: i32,
    },
    /// The link, IP or transport header could not be decoded.
    #[error("undecodable packet: {reason}")]
    MalformedPacket {
        /// The defect found.
        reason: String,
    },
}
