//! Where an event came from, so that every alert can point back at its evidence.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The place in an input that produced an event or a rejection.
///
/// Line numbers start at 1; byte offsets start at 0 and count bytes of the
/// decompressed stream. Captures give the packet number (from 1) and the byte
/// offset of that packet's record in the capture file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceLocation {
    /// Input path as given on the command line, or `-` for standard input.
    #[serde(rename = "log.file.path")]
    pub file: Arc<str>,
    /// Line number, for line-oriented logs.
    #[serde(rename = "log.line", default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Byte offset of the record's first byte.
    #[serde(
        rename = "log.offset",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub offset: Option<u64>,
    /// Packet number, for captures (of the packet that completed the event).
    #[serde(
        rename = "log.packet",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub packet: Option<u64>,
}

impl SourceLocation {
    /// A location at a line and byte offset of a text file.
    pub fn line(file: Arc<str>, line: u64, offset: u64) -> Self {
        SourceLocation {
            file,
            line: Some(line),
            offset: Some(offset),
            packet: None,
        }
    }

    /// A location at a packet of a capture file.
    pub fn packet(file: Arc<str>, packet: u64, offset: u64) -> Self {
        SourceLocation {
            file,
            line: None,
            offset: Some(offset),
            packet: Some(packet),
        }
    }

    /// A location naming only the file, for problems that concern it whole.
    pub fn file(file: Arc<str>) -> Self {
        SourceLocation {
            file,
            line: None,
            offset: None,
            packet: None,
        }
    }
}

impl fmt::Display for SourceLocation {
    /// Formats as `path:line`, `path#packet` or `path@offset`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")
        } else if let Some(packet) = self.packet {
            write!(f, "#{packet}")
        } else if let Some(offset) = self.offset {
            write!(f, "@{offset}")
        } else {
            Ok(())
        }
    }
}
