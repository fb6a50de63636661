//! HTTP/1.1 message bodies (RFC 9112 section 6): framing by Content-Length,
//! chunked transfer coding or connection close; gzip and deflate content
//! coding decoded within a cap; digests, size and sniffed type.

use std::io::Write;

use md5::Md5;
use picket_event::{Anomaly, BodyInfo};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::inflate::{Format, Inflater};

/// Framing of a body: the rule that finds its end.
#[derive(Debug)]
pub enum Framing {
    /// No body.
    None,
    /// Exactly this many bytes remain.
    Length(u64),
    /// Chunked transfer coding.
    Chunked(ChunkState),
    /// The body runs until the connection closes.
    Close,
}

/// State of a chunked body's parser (RFC 9112 section 7.1).
#[derive(Debug)]
pub enum ChunkState {
    /// Reading a chunk-size line; the bytes seen so far.
    Size(Vec<u8>),
    /// Inside a chunk's data; bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data; CR already seen or not.
    DataEnd(bool),
    /// Reading trailer lines; bytes other than CR in the current line so far.
    Trailer(usize),
}

/// Maximum length of a chunk-size line (size, extensions and CRLF).
const MAX_CHUNK_LINE: usize = 1024;

/// Bytes of the decoded body kept for sniffing.
const SNIFF_BYTES: usize = 64;

/// Progress of a body after a feed.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// All input used, body not finished.
    NeedMore,
    /// Body finished after this many bytes of the input.
    Done(usize),
}

/// A body being read: framing, decoding and what was learnt.
pub struct BodyReader {
    framing: Framing,
    /// Bytes of body after transfer decoding (chunking removed).
    transfer_len: u64,
    /// Bytes on the wire, framing included.
    wire_len: u64,
    decoder: Decoder,
    gap: bool,
    anomalies: Vec<Anomaly>,
}

impl std::fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyReader")
            .field("framing", &self.framing)
            .field("transfer_len", &self.transfer_len)
            .finish_non_exhaustive()
    }
}

/// Limits a body reader works within.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    /// Bytes hashed and sniffed.
    pub max_hash: u64,
    /// Bytes a compressed body may decode to.
    pub max_decompressed: u64,
}

/// Content coding of a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// No coding or one picket does not decode.
    Identity,
    /// gzip or x-gzip.
    Gzip,
    /// deflate: zlib-wrapped as RFC 9110 specifies, or raw as some servers send.
    Deflate,
}

impl Coding {
    /// Returns the coding named by a Content-Encoding value (the last one applied).
    pub fn from_header(value: &str) -> Coding {
        let last = value.rsplit(',').next().unwrap_or("").trim();
        if last.eq_ignore_ascii_case("gzip") || last.eq_ignore_ascii_case("x-gzip") {
            Coding::Gzip
        } else if last.eq_ignore_ascii_case("deflate") {
            Coding::Deflate
        } else {
            Coding::Identity
        }
    }
}

/// The decoded-body end: counts, hashes and keeps the first bytes.
#[derive(Default)]
struct Digests {
    size: u64,
    hashed: u64,
    max_hash: u64,
    /// Decoded bytes allowed; past it writes fail (decompression cap).
    max_output: u64,
    capped: bool,
    /// Whether to hash at all (responses only).
    hashing: bool,
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
    head: Vec<u8>,
}

impl Write for Digests {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.max_output.saturating_sub(self.size);
        if room == 0 && !buf.is_empty() {
            self.capped = true;
            return Err(std::io::Error::other("decompressed size limit"));
        }
        let take = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let part = &buf[..take];
        self.size += take as u64;
        if self.hashing {
            if self.head.len() < SNIFF_BYTES {
                let want = (SNIFF_BYTES - self.head.len()).min(part.len());
                self.head.extend_from_slice(&part[..want]);
            }
            let hash_room = self.max_hash.saturating_sub(self.hashed);
            let hash_take = part
                .len()
                .min(usize::try_from(hash_room).unwrap_or(usize::MAX));
            if hash_take > 0 {
                let h = &part[..hash_take];
                self.md5.update(h);
                self.sha1.update(h);
                self.sha256.update(h);
                self.hashed += hash_take as u64;
            }
        }
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The content decoder in front of the digests.
enum Decoder {
    Identity(Digests),
    /// Waiting for the first bytes to tell zlib from raw deflate.
    DeflateUnknown(Digests),
    /// A gzip or deflate body: the decoder and the digests of its output.
    Inflating(Inflater, Digests),
    /// Decoding failed or hit its cap; the rest is counted, not decoded.
    Failed(Digests),
    /// Temporarily empty while switching.
    Empty,
}

impl Decoder {
    fn digests(&self) -> Option<&Digests> {
        match self {
            Decoder::Identity(d)
            | Decoder::DeflateUnknown(d)
            | Decoder::Failed(d)
            | Decoder::Inflating(_, d) => Some(d),
            Decoder::Empty => None,
        }
    }
}

/// Summary of a finished body, for the event.
#[derive(Debug, Default)]
pub struct BodySummary {
    /// Body length after transfer decoding.
    pub transfer_len: u64,
    /// Body length after content decoding (equal to `transfer_len` when
    /// there was no coding or it failed).
    pub decoded_len: u64,
    /// Bytes on the wire, framing included.
    pub wire_len: u64,
    /// Digests and sniffed type, for hashed bodies that were not empty and
    /// had no gap.
    pub info: Option<BodyInfo>,
    /// Anomalies seen in the body.
    pub anomalies: Vec<Anomaly>,
}

impl BodyReader {
    /// Creates a reader for a body with the given framing and coding.
    /// `hashing` turns on digests and sniffing.
    pub fn new(framing: Framing, coding: Coding, hashing: bool, limits: BodyLimits) -> Self {
        let digests = Digests {
            size: 0,
            hashed: 0,
            max_hash: limits.max_hash,
            max_output: if coding == Coding::Identity {
                u64::MAX
            } else {
                limits.max_decompressed
            },
            capped: false,
            hashing,
            md5: Md5::new(),
            sha1: Sha1::new(),
            sha256: Sha256::new(),
            head: Vec::new(),
        };
        let decoder = match coding {
            Coding::Identity => Decoder::Identity(digests),
            Coding::Gzip => Decoder::Inflating(Inflater::new(Format::Gzip), digests),
            Coding::Deflate => Decoder::DeflateUnknown(digests),
        };
        BodyReader {
            framing,
            transfer_len: 0,
            wire_len: 0,
            decoder,
            gap: false,
            anomalies: Vec::new(),
        }
    }

    /// Reports whether the body ends only when the connection closes.
    pub fn close_delimited(&self) -> bool {
        matches!(self.framing, Framing::Close)
    }

    /// Reports whether the framing makes the body empty.
    pub fn is_empty_framing(&self) -> bool {
        matches!(self.framing, Framing::None | Framing::Length(0))
    }

    /// Feeds wire bytes; returns how far the body reached.
    pub fn feed(&mut self, data: &[u8]) -> Progress {
        match &mut self.framing {
            Framing::None => Progress::Done(0),
            Framing::Length(remaining) => {
                let take = data
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                *remaining -= take as u64;
                let done = *remaining == 0;
                self.wire_len += take as u64;
                self.content(&data[..take]);
                if done {
                    Progress::Done(take)
                } else {
                    Progress::NeedMore
                }
            }
            Framing::Close => {
                self.wire_len += data.len() as u64;
                self.content(data);
                Progress::NeedMore
            }
            Framing::Chunked(_) => self.feed_chunked(data),
        }
    }

    fn feed_chunked(&mut self, data: &[u8]) -> Progress {
        let mut at = 0;
        while at < data.len() {
            let Framing::Chunked(state) = &mut self.framing else {
                return Progress::Done(at);
            };
            match state {
                ChunkState::Size(line) => {
                    let rest = &data[at..];
                    let Some(nl) = memchr::memchr(b'\n', rest) else {
                        line.extend_from_slice(rest);
                        at = data.len();
                        if line.len() > MAX_CHUNK_LINE {
                            return self.bad_chunk(at);
                        }
                        continue;
                    };
                    line.extend_from_slice(&rest[..nl]);
                    at += nl + 1;
                    match parse_chunk_size(line) {
                        Some(0) => *state = ChunkState::Trailer(0),
                        Some(size) => *state = ChunkState::Data(size),
                        None => return self.bad_chunk(at),
                    }
                }
                ChunkState::Data(remaining) => {
                    let rest = &data[at..];
                    let take = rest
                        .len()
                        .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        *state = ChunkState::DataEnd(false);
                    }
                    at += take;
                    self.content(&rest[..take]);
                }
                ChunkState::DataEnd(seen_cr) => {
                    match data[at] {
                        b'\r' if !*seen_cr => *seen_cr = true,
                        b'\n' => *state = ChunkState::Size(Vec::new()),
                        _ => {
                            // Tolerate a missing CRLF: the byte starts the size line.
                            self.anomalies.push(Anomaly::HttpBadChunk);
                            *state = ChunkState::Size(Vec::new());
                            continue;
                        }
                    }
                    at += 1;
                }
                ChunkState::Trailer(len) => {
                    let rest = &data[at..];
                    let nl = memchr::memchr(b'\n', rest);
                    let line = &rest[..nl.unwrap_or(rest.len())];
                    *len += line.iter().filter(|&&b| b != b'\r').count();
                    let Some(nl) = nl else {
                        at = data.len();
                        continue;
                    };
                    at += nl + 1;
                    if *len == 0 {
                        self.wire_len += at as u64;
                        return Progress::Done(at);
                    }
                    *len = 0;
                }
            }
        }
        self.wire_len += at as u64;
        Progress::NeedMore
    }

    fn bad_chunk(&mut self, at: usize) -> Progress {
        self.anomalies.push(Anomaly::HttpBadChunk);
        self.wire_len += at as u64;
        Progress::Done(at)
    }

    /// Records `n` missing bytes; returns how many bytes of the gap fall
    /// past the end of this body (`None` when that cannot be known).
    pub fn gap(&mut self, n: u64) -> Option<u64> {
        self.gap = true;
        self.transfer_len += n;
        self.wire_len += n;
        match &mut self.framing {
            Framing::Length(remaining) => {
                let inside = n.min(*remaining);
                *remaining -= inside;
                Some(n - inside)
            }
            Framing::Close => Some(0),
            Framing::None => Some(n),
            Framing::Chunked(_) => None,
        }
    }

    /// Reports whether a Content-Length body has received all its bytes.
    pub fn length_done(&self) -> bool {
        matches!(self.framing, Framing::Length(0))
    }

    /// Passes transfer-decoded bytes to the content decoder.
    fn content(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.transfer_len += data.len() as u64;

        if let Decoder::DeflateUnknown(_) = self.decoder {
            let Decoder::DeflateUnknown(digests) =
                std::mem::replace(&mut self.decoder, Decoder::Empty)
            else {
                return;
            };
            let format = if looks_like_zlib(data) {
                Format::Zlib
            } else {
                Format::Raw
            };
            self.decoder = Decoder::Inflating(Inflater::new(format), digests);
        }

        let decoded = match &mut self.decoder {
            Decoder::Identity(d) | Decoder::Failed(d) => d.write_all(data).is_ok(),
            Decoder::Inflating(inflater, d) => inflater
                .write(data, &mut |output| d.write_all(output).is_ok())
                .is_ok(),
            Decoder::DeflateUnknown(_) | Decoder::Empty => true,
        };
        if !decoded {
            self.fail_decoding();
        }
    }

    /// Stops content decoding after an error or the output cap.
    fn fail_decoding(&mut self) {
        let decoder = std::mem::replace(&mut self.decoder, Decoder::Empty);
        let digests = match decoder {
            Decoder::Identity(d)
            | Decoder::DeflateUnknown(d)
            | Decoder::Failed(d)
            | Decoder::Inflating(_, d) => d,
            Decoder::Empty => return,
        };
        self.anomalies.push(if digests.capped {
            Anomaly::HttpDecompressionLimit
        } else {
            Anomaly::HttpBadContentEncoding
        });
        self.decoder = Decoder::Failed(digests);
    }

    /// Ends the body. `complete` is false when the connection ended before
    /// the end the framing defines.
    pub fn finish(mut self, complete: bool) -> BodySummary {
        if !complete {
            self.anomalies.push(Anomaly::HttpIncompleteBody);
        }
        let decoder = std::mem::replace(&mut self.decoder, Decoder::Empty);
        let (digests, decoded_ok) = match decoder {
            Decoder::Identity(d) | Decoder::DeflateUnknown(d) => (Some(d), true),
            Decoder::Failed(d) => (Some(d), false),
            Decoder::Inflating(inflater, d) => (Some(d), inflater.finished()),
            Decoder::Empty => (None, false),
        };
        let failed_now = !decoded_ok
            && !self.anomalies.iter().any(|a| {
                matches!(
                    a,
                    Anomaly::HttpDecompressionLimit | Anomaly::HttpBadContentEncoding
                )
            });
        if failed_now && complete && !self.gap {
            let capped = digests.as_ref().is_some_and(|d| d.capped);
            self.anomalies.push(if capped {
                Anomaly::HttpDecompressionLimit
            } else {
                Anomaly::HttpBadContentEncoding
            });
        }

        let mut summary = BodySummary {
            transfer_len: self.transfer_len,
            decoded_len: self.transfer_len,
            wire_len: self.wire_len,
            info: None,
            anomalies: self.anomalies,
        };
        let Some(d) = digests else {
            return summary;
        };
        if decoded_ok || d.capped {
            summary.decoded_len = d.size;
        }
        if d.hashing && d.size > 0 && !self.gap {
            summary.info = Some(BodyInfo {
                md5: hex(&d.md5.finalize()),
                sha1: hex(&d.sha1.finalize()),
                sha256: hex(&d.sha256.finalize()),
                size: d.hashed,
                sniffed_type: sniff(&d.head).map(str::to_owned),
                truncated: d.hashed < d.size || d.capped,
            });
        }
        summary
    }

    /// Bytes decoded so far, for a body cut by a gap or close.
    pub fn decoded_so_far(&self) -> u64 {
        self.decoder.digests().map_or(self.transfer_len, |d| d.size)
    }
}

/// Parses a chunk-size line: hex digits, then optional `;` extensions.
fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at(digits_end);
    let rest = rest.trim_ascii();
    if digits.is_empty() || digits.len() > 15 || !(rest.is_empty() || rest.starts_with(b";")) {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    u64::from_str_radix(text, 16).ok()
}

/// Reports whether the bytes start a zlib stream (RFC 1950 section 2.2):
/// CMF names deflate and the check bits are valid.
fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// Names the file type from a body's first bytes.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"MZ", "pe"),
        (b"PK\x03\x04", "zip"),
        (b"%PDF-", "pdf"),
        (b"FWS", "swf"),
        (b"CWS", "swf"),
        (b"ZWS", "swf"),
        (b"MSCF", "cab"),
        (b"\x7fELF", "elf"),
        (b"\x1f\x8b", "gzip"),
        (b"Rar!\x1a\x07", "rar"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"\xca\xfe\xba\xbe", "java-class"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"GIF87a", "gif"),
        (b"GIF89a", "gif"),
        (b"\xff\xd8\xff", "jpeg"),
    ];
    if let Some((_, name)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(name);
    }

    // HTML: optional byte-order mark and white space, then a telling tag.
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let text = text.trim_ascii_start();
    const TAGS: &[&[u8]] = &[
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<script",
        b"<iframe",
        b"<title",
    ];
    let is_html = TAGS
        .iter()
        .any(|tag| text.len() >= tag.len() && text[..tag.len()].eq_ignore_ascii_case(tag));
    is_html.then_some("html")
}

/// Lower-case hex of a digest.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BodyLimits = BodyLimits {
        max_hash: 1 << 20,
        max_decompressed: 1 << 20,
    };

    fn feed_all(reader: &mut BodyReader, pieces: &[&[u8]]) -> Option<usize> {
        for (i, p) in pieces.iter().enumerate() {
            if let Progress::Done(n) = reader.feed(p) {
                return Some(i * 1000 + n);
            }
        }
        None
    }

    #[test]
    fn chunked_across_pieces() {
        let mut r = BodyReader::new(
            Framing::Chunked(ChunkState::Size(Vec::new())),
            Coding::Identity,
            true,
            LIMITS,
        );
        let done = feed_all(
            &mut r,
            &[b"5\r\nhel", b"lo\r\n0;ext=1\r", b"\nX-T: 1\r\n\r\nNEXT"],
        );
        assert_eq!(done, Some(2000 + 11));
        let s = r.finish(true);
        assert_eq!(s.transfer_len, 5);
        let info = s.info.unwrap();
        assert_eq!(info.md5, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(info.sha1, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
        assert_eq!(
            info.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn bad_chunk_size_is_flagged() {
        let mut r = BodyReader::new(
            Framing::Chunked(ChunkState::Size(Vec::new())),
            Coding::Identity,
            true,
            LIMITS,
        );
        assert!(matches!(r.feed(b"zz\r\nabc"), Progress::Done(4)));
        assert!(r.finish(true).anomalies.contains(&Anomaly::HttpBadChunk));
    }

    #[test]
    fn gzip_is_decoded_and_capped() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&[b'a'; 10_000]).unwrap();
        let packed = gz.finish().unwrap();

        let mut r = BodyReader::new(
            Framing::Length(packed.len() as u64),
            Coding::Gzip,
            true,
            LIMITS,
        );
        assert!(matches!(r.feed(&packed), Progress::Done(_)));
        let s = r.finish(true);
        assert_eq!(s.decoded_len, 10_000);
        assert_eq!(s.transfer_len, packed.len() as u64);

        let small = BodyLimits {
            max_hash: 1 << 20,
            max_decompressed: 1000,
        };
        let mut r = BodyReader::new(
            Framing::Length(packed.len() as u64),
            Coding::Gzip,
            true,
            small,
        );
        r.feed(&packed);
        let s = r.finish(true);
        assert!(s.anomalies.contains(&Anomaly::HttpDecompressionLimit));
        assert_eq!(s.decoded_len, 1000);
        assert!(s.info.unwrap().truncated);
    }

    /// A gap breaks the gzip checksum. The gap is flagged and the checksum
    /// mismatch is not, as with flate2's decoder.
    #[test]
    fn gzip_with_gap_is_not_bad_encoding() {
        // Three stored deflate blocks (RFC 1951 section 3.2.4), so that the
        // stream without its middle block still decodes to its end.
        let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let mut packed = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
        let mut middle = 0..0;
        for (i, block) in data.chunks(1000).enumerate() {
            let start = packed.len();
            packed.push(u8::from(i == 2));
            packed.extend_from_slice(&1000u16.to_le_bytes());
            packed.extend_from_slice(&(!1000u16).to_le_bytes());
            packed.extend_from_slice(block);
            if i == 1 {
                middle = start..packed.len();
            }
        }
        packed.extend_from_slice(&crc32fast::hash(&data).to_le_bytes());
        packed.extend_from_slice(&(data.len() as u32).to_le_bytes());

        let mut r = BodyReader::new(
            Framing::Length(packed.len() as u64),
            Coding::Gzip,
            true,
            LIMITS,
        );
        r.feed(&packed[..middle.start]);
        r.gap(middle.len() as u64);
        assert!(matches!(r.feed(&packed[middle.end..]), Progress::Done(_)));
        let s = r.finish(true);
        assert_eq!(s.anomalies, Vec::new());
        assert!(s.info.is_none());
    }

    /// Raw deflate data whose last bytes decode to more than one output
    /// buffer of the inflater.
    #[test]
    fn raw_deflate_ending_past_buffer_is_decoded() {
        let data = vec![0u8; 32 * 1024 + 5];
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflate.write_all(&data).unwrap();
        let packed = deflate.finish().unwrap();

        let mut r = BodyReader::new(
            Framing::Length(packed.len() as u64),
            Coding::Deflate,
            true,
            LIMITS,
        );
        assert!(matches!(r.feed(&packed), Progress::Done(_)));
        let s = r.finish(true);
        assert_eq!(s.anomalies, Vec::new());
        assert_eq!(s.decoded_len, data.len() as u64);
        assert_eq!(s.info.unwrap().size, data.len() as u64);
    }

    #[test]
    fn sniffs_magic() {
        assert_eq!(sniff(b"MZ\x90\x00"), Some("pe"));
        assert_eq!(sniff(b"PK\x03\x04rest"), Some("zip"));
        assert_eq!(sniff(b"CWS\x09"), Some("swf"));
        assert_eq!(sniff(b"\xef\xbb\xbf  <!DOCTYPE HTML>"), Some("html"));
        assert_eq!(sniff(b"plain text"), None);
    }
}
