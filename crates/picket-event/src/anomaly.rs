//! Protocol anomalies: malformed traffic recorded as a finding, not a crash.

use serde::{Deserialize, Serialize};

/// Something wrong or unusual that a decoder saw while building an event.
///
/// Decoders record anomalies on the event and carry on where it is safe, so
/// detectors can use them and the output shows them. The serialized names are
/// part of the stable output schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Anomaly {
    // DNS message structure (RFC 1035 section 4).
    /// The 12-byte header was cut short.
    DnsTruncatedHeader,
    /// A label length byte used the reserved 0b01 or 0b10 prefix.
    DnsBadLabelType,
    /// A compression pointer led back into a name already being read.
    DnsCompressionLoop,
    /// A compression pointer pointed forward, past the name being read.
    DnsForwardPointer,
    /// Compression pointers were nested deeper than the configured limit.
    DnsCompressionTooDeep,
    /// A name was longer than 255 bytes in wire form.
    DnsNameTooLong,
    /// A record or question ran past the end of the message.
    DnsTruncatedRecord,
    /// Record data was shorter or longer than its type allows.
    DnsBadRdata,
    /// Bytes were left over after the last record the header announced.
    DnsTrailingBytes,
    /// The header's reserved Z bit was set.
    DnsZBitSet,
    /// The header announced more records than the message holds.
    DnsCountMismatch,
    /// A section held more records than the configured limit; the rest were skipped.
    DnsTooManyRecords,
    /// A response arrived with no matching query.
    DnsUnsolicitedResponse,
    /// A query got no response before the pairing timeout or the input's end.
    DnsNoResponse,

    // TCP stream reassembly.
    /// Bytes were missing from a stream (a gap that never filled).
    TcpGap,
    /// Retransmitted bytes disagreed with the bytes first seen.
    TcpOverlapMismatch,
    /// The per-flow or total reassembly memory limit dropped data.
    TcpReassemblyLimit,

    // HTTP/1.x.
    /// The request line had no HTTP version (HTTP/0.9 or malformed).
    HttpMissingVersion,
    /// A header name or value contained non-printable bytes.
    HttpNonPrintableHeader,
    /// The request or status line could not be parsed.
    HttpMalformedStartLine,
    /// A header line could not be parsed.
    HttpMalformedHeader,
    /// The body was cut at the configured size limit.
    HttpBodyTruncated,
    /// Decompressing the body stopped at the configured output limit.
    HttpDecompressionLimit,
    /// The declared content encoding failed to decode.
    HttpBadContentEncoding,
    /// A chunked body had a malformed chunk size line.
    HttpBadChunk,
    /// A response arrived with no request to pair it with.
    HttpUnpairedResponse,
    /// The body ended before Content-Length bytes arrived.
    HttpIncompleteBody,

    // TLS.
    /// A ClientHello could not be parsed far enough to find the SNI.
    TlsMalformedClientHello,
}
