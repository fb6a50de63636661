//! Streaming decoders for the gzip (RFC 1952), zlib (RFC 1950) and raw
//! deflate (RFC 1951) content codings.
//!
//! The deflate decoder writes into a 32 KiB ring that is also its history
//! window, and each call hands the new bytes to the caller's sink straight
//! from that ring. A body's output is therefore never copied.

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_COMPUTE_ADLER32, TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_PARSE_ZLIB_HEADER,
};
use miniz_oxide::inflate::core::{DecompressorOxide, decompress};

/// Size of the output ring: the largest distance a deflate match may reach
/// back (RFC 1951 section 3.2.5), and a power of two as the ring needs.
const WINDOW: usize = 32 * 1024;

/// Maximum length of a gzip header. The optional name, comment and extra field
/// have no length limit in RFC 1952, so a stream that never ends its header
/// is cut off here.
const MAX_GZIP_HEADER: usize = 64 * 1024;

/// Length of the gzip trailer: CRC-32 and input size, little-endian.
const GZIP_TRAILER: usize = 8;

/// The wrapper around the deflate data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// gzip: header, deflate data, CRC-32 and size.
    Gzip,
    /// zlib: two header bytes, deflate data, Adler-32.
    Zlib,
    /// Deflate data alone.
    Raw,
}

/// The reason decoding stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum InflateError {
    /// The data is not a valid stream of its format, or bytes follow its end.
    Corrupt,
    /// The sink refused output (the decompressed size cap).
    Refused,
}

/// How far the stream has been read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Header,
    Data,
    Trailer,
    Done,
}

/// A streaming decoder for one compressed body.
pub(super) struct Inflater {
    format: Format,
    stage: Stage,
    state: Box<DecompressorOxide>,
    ring: Box<[u8]>,
    /// Offset in `ring` of the next output byte.
    pos: usize,
    /// Header or trailer bytes collected so far (gzip only).
    pending: Vec<u8>,
    crc: crc32fast::Hasher,
    /// Output length modulo 2^32, as the gzip trailer records it.
    size: u32,
}

impl Inflater {
    /// Creates a decoder for a stream in `format`.
    pub(super) fn new(format: Format) -> Self {
        Inflater {
            format,
            stage: if format == Format::Gzip {
                Stage::Header
            } else {
                Stage::Data
            },
            state: Box::default(),
            ring: vec![0; WINDOW].into_boxed_slice(),
            pos: 0,
            pending: Vec::new(),
            crc: crc32fast::Hasher::new(),
            size: 0,
        }
    }

    /// Decodes the next part of the stream and passes the output to `sink`,
    /// which returns `false` to refuse it. After an error the decoder must
    /// not be fed again.
    pub(super) fn write(
        &mut self,
        mut input: &[u8],
        sink: &mut impl FnMut(&[u8]) -> bool,
    ) -> Result<(), InflateError> {
        while !input.is_empty() {
            input = match self.stage {
                Stage::Header => return self.header(input, sink),
                Stage::Data => self.data(input, sink)?,
                Stage::Trailer => self.trailer(input)?,
                Stage::Done => return Err(InflateError::Corrupt),
            };
        }
        Ok(())
    }

    /// Reports whether the stream ended, its checksum and size matching.
    pub(super) fn finished(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Collects the gzip header, then decodes what follows it.
    fn header(
        &mut self,
        input: &[u8],
        sink: &mut impl FnMut(&[u8]) -> bool,
    ) -> Result<(), InflateError> {
        self.pending.extend_from_slice(input);
        let Some(length) = gzip_header_length(&self.pending)? else {
            if self.pending.len() > MAX_GZIP_HEADER {
                return Err(InflateError::Corrupt);
            }
            return Ok(());
        };

        let rest = self.pending.split_off(length);
        self.pending.clear();
        self.stage = Stage::Data;
        self.write(&rest, sink)
    }

    /// Inflates as much of `input` as one call takes; returns the rest.
    fn data<'a>(
        &mut self,
        input: &'a [u8],
        sink: &mut impl FnMut(&[u8]) -> bool,
    ) -> Result<&'a [u8], InflateError> {
        let flags = match self.format {
            Format::Zlib => {
                TINFL_FLAG_HAS_MORE_INPUT
                    | TINFL_FLAG_PARSE_ZLIB_HEADER
                    | TINFL_FLAG_COMPUTE_ADLER32
            }
            Format::Gzip | Format::Raw => TINFL_FLAG_HAS_MORE_INPUT,
        };
        let (status, read, written) =
            decompress(&mut self.state, input, &mut self.ring, self.pos, flags);

        let output = &self.ring[self.pos..self.pos + written];
        if self.format == Format::Gzip {
            self.crc.update(output);
            self.size = self.size.wrapping_add(written as u32);
        }
        if !output.is_empty() && !sink(output) {
            return Err(InflateError::Refused);
        }
        self.pos = (self.pos + written) & (WINDOW - 1);

        match status {
            TINFLStatus::Done => {
                self.stage = if self.format == Format::Gzip {
                    Stage::Trailer
                } else {
                    Stage::Done
                };
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput if read > 0 || written > 0 => {
            }
            _ => return Err(InflateError::Corrupt),
        }
        Ok(&input[read..])
    }

    /// Collects the gzip trailer and checks it; returns the bytes after it.
    fn trailer<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], InflateError> {
        let take = (GZIP_TRAILER - self.pending.len()).min(input.len());
        self.pending.extend_from_slice(&input[..take]);
        let Some(trailer) = self.pending.first_chunk::<GZIP_TRAILER>() else {
            return Ok(&input[take..]);
        };

        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        if crc != self.crc.clone().finalize() || size != self.size {
            return Err(InflateError::Corrupt);
        }
        self.stage = Stage::Done;
        Ok(&input[take..])
    }
}

/// Returns the length of the gzip header at the start of `bytes`, or `None`
/// when more bytes are needed to find its end. Bytes that do not start a
/// gzip header (RFC 1952 section 2.3: magic, deflate method, no reserved
/// flags) are an error.
fn gzip_header_length(bytes: &[u8]) -> Result<Option<usize>, InflateError> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    const RESERVED: u8 = 0xe0;

    let Some(fixed) = bytes.first_chunk::<10>() else {
        let magic = [0x1f, 0x8b, 0x08];
        let known = bytes.len().min(magic.len());
        if bytes[..known] != magic[..known] {
            return Err(InflateError::Corrupt);
        }
        return Ok(None);
    };
    if fixed[..3] != [0x1f, 0x8b, 0x08] || fixed[3] & RESERVED != 0 {
        return Err(InflateError::Corrupt);
    }
    let flags = fixed[3];

    let mut length = 10;
    if flags & FEXTRA != 0 {
        let Some(extra) = bytes.get(length..length + 2) else {
            return Ok(None);
        };
        length += 2 + usize::from(u16::from_le_bytes([extra[0], extra[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let Some(end) = bytes.get(length..).and_then(|rest| memchr::memchr(0, rest)) else {
                return Ok(None);
            };
            length += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        length += 2;
    }
    Ok((bytes.len() >= length).then_some(length))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

    use super::*;

    /// Text with long repeats, so matches reach back across the ring's end.
    fn sample() -> Vec<u8> {
        (0..200_000u32)
            .map(|i| b"picket reads gzip bodies "[(i % 25) as usize] ^ ((i / 5_000) as u8 & 1))
            .collect()
    }

    fn compress(format: Format, data: &[u8]) -> Vec<u8> {
        match format {
            Format::Gzip => {
                let mut e = GzEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Format::Zlib => {
                let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Format::Raw => {
                let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
        }
    }

    /// Feeds `stream` in pieces of `piece` bytes; returns the output, the
    /// first error and whether the stream ended cleanly.
    fn inflate(
        format: Format,
        stream: &[u8],
        piece: usize,
    ) -> (Vec<u8>, Option<InflateError>, bool) {
        let mut inflater = Inflater::new(format);
        let mut output = Vec::new();
        let mut sink = |bytes: &[u8]| {
            output.extend_from_slice(bytes);
            true
        };
        let error = stream
            .chunks(piece)
            .find_map(|part| inflater.write(part, &mut sink).err());
        let finished = inflater.finished();
        (output, error, finished)
    }

    #[test]
    fn every_format_in_any_pieces() {
        let data = sample();
        for format in [Format::Gzip, Format::Zlib, Format::Raw] {
            let stream = compress(format, &data);
            for piece in [1, 7, 4096, stream.len()] {
                let (output, error, finished) = inflate(format, &stream, piece);
                assert_eq!(error, None, "{format:?} in pieces of {piece}");
                assert!(finished, "{format:?} in pieces of {piece}");
                assert!(output == data, "{format:?} in pieces of {piece}");
            }
        }
    }

    #[test]
    fn gzip_header_fields_are_skipped() {
        let data = b"body".repeat(100);
        let mut encoder = flate2::GzBuilder::new()
            .filename("page.html")
            .comment("made for a test")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::default());
        encoder.write_all(&data).unwrap();
        let stream = encoder.finish().unwrap();

        let (output, error, finished) = inflate(Format::Gzip, &stream, 3);
        assert_eq!(error, None);
        assert!(finished);
        assert_eq!(output, data);
    }

    #[test]
    fn damaged_streams_are_corrupt() {
        let data = sample();

        let mut bad_crc = compress(Format::Gzip, &data);
        let crc_at = bad_crc.len() - 8;
        bad_crc[crc_at] ^= 1;
        assert_eq!(
            inflate(Format::Gzip, &bad_crc, 512).1,
            Some(InflateError::Corrupt)
        );

        let mut trailing = compress(Format::Zlib, &data);
        trailing.extend_from_slice(b"junk");
        assert_eq!(
            inflate(Format::Zlib, &trailing, 512).1,
            Some(InflateError::Corrupt)
        );

        let not_gzip = b"<html>plain text sent as gzip</html>";
        assert_eq!(
            inflate(Format::Gzip, not_gzip, 4).1,
            Some(InflateError::Corrupt)
        );

        let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert_eq!(
            inflate(Format::Raw, &garbage, 100).1,
            Some(InflateError::Corrupt)
        );
    }

    #[test]
    fn cut_stream_is_not_finished() {
        let stream = compress(Format::Gzip, &sample());
        let (_, error, finished) = inflate(Format::Gzip, &stream[..stream.len() / 2], 1000);
        assert_eq!(error, None);
        assert!(!finished);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        #[test]
        fn split_points_do_not_change_output(
            data in proptest::collection::vec(0u8..4, 0..100_000),
            piece in 1usize..70_000,
        ) {
            for format in [Format::Gzip, Format::Zlib, Format::Raw] {
                let stream = compress(format, &data);
                let (output, error, finished) = inflate(format, &stream, piece);
                proptest::prop_assert_eq!(error, None);
                proptest::prop_assert!(finished);
                proptest::prop_assert!(output == data);
            }
        }

        #[test]
        fn garbage_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096),
            piece in 1usize..600,
        ) {
            for format in [Format::Gzip, Format::Zlib, Format::Raw] {
                let _ = inflate(format, &bytes, piece);
            }
        }
    }

    #[test]
    fn refusing_sink_stops_decoding() {
        let stream = compress(Format::Zlib, &sample());
        let mut inflater = Inflater::new(Format::Zlib);
        let mut seen = 0;
        let mut sink = |bytes: &[u8]| {
            seen += bytes.len();
            seen <= 10_000
        };
        assert_eq!(
            inflater.write(&stream, &mut sink),
            Err(InflateError::Refused)
        );
    }
}
