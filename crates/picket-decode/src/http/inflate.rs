//! Streaming decoders for the gzip (RFC 1952), zlib (RFC 1950) and raw
//! deflate (RFC 1951) content codings.
//!
//! zlib-rs decodes the deflate data into an output buffer, and each
//! call hands the new bytes to the caller's sink straight from that buffer.
//! The gzip header and trailer are read here, so that a trailer that does
//! not match leaves the body unfinished instead of failing it. A gzip body
//! may hold several members (RFC 1952 section 2.2), and the output is their
//! decoded data in order, as `gzip -d` writes it.

use zlib_rs::{Inflate, InflateFlush, Status};

/// Size of each body's output buffer. Any size is correct, because a call
/// that fills the buffer is followed by another. 8 KiB decoded the mixed
/// benchmark capture as fast as 32 KiB and adds little to zlib-rs's window.
const OUTPUT: usize = 8 * 1024;

/// Base-two logarithm of the largest deflate window, as zlib counts it.
const WINDOW_BITS: u8 = 15;

/// Maximum length of a gzip header's file name or comment, without its NUL.
/// RFC 1952 sets no limit, so a field that never ends is rejected at the
/// limit that flate2 1.1's gzip decoder also applies.
const MAX_GZIP_FIELD: usize = 65_535;

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
    /// The stream ended and its trailer, if any, matched.
    Done,
    /// The gzip trailer's CRC-32 or size did not match the output.
    Mismatched,
}

/// A streaming decoder for one compressed body.
pub(super) struct Inflater {
    format: Format,
    stage: Stage,
    state: Inflate,
    output: Box<[u8]>,
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
            state: Inflate::new(format == Format::Zlib, WINDOW_BITS),
            output: vec![0; OUTPUT].into_boxed_slice(),
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
                Stage::Header => self.header(input)?,
                Stage::Data => self.data(input, sink)?,
                Stage::Trailer => self.trailer(input)?,
                Stage::Done if self.format == Format::Gzip => {
                    self.next_member();
                    input
                }
                Stage::Done | Stage::Mismatched => return Err(InflateError::Corrupt),
            };
        }
        Ok(())
    }

    /// Reports whether the stream ended, its checksum and size matching. For
    /// gzip this means the last member received so far ended. A gzip trailer
    /// that does not match is not a [`write`](Self::write) error but only
    /// makes this false, because the caller judges it at the body's end,
    /// where it does not flag a mismatch that a gap in the capture caused.
    pub(super) fn finished(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Starts the next gzip member after one whose trailer matched.
    fn next_member(&mut self) {
        self.state.reset(false);
        self.stage = Stage::Header;
        self.pending.clear();
        self.crc = crc32fast::Hasher::new();
        self.size = 0;
    }

    /// Collects the gzip header and returns the bytes after it. The caller's
    /// loop decodes them, so that a body of many members does not nest a
    /// call per member.
    fn header<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], InflateError> {
        let collected = self.pending.len();
        self.pending.extend_from_slice(input);
        let Some(length) = gzip_header_length(&self.pending)? else {
            return Ok(&[]);
        };

        // The bytes collected before this call did not hold the whole
        // header, so it ends inside `input`.
        let used = length - collected;
        self.pending.clear();
        self.stage = Stage::Data;
        Ok(&input[used..])
    }

    /// Inflates `input` until it is used up or the stream ends; returns the
    /// bytes after the stream's end. A full output buffer is drained even
    /// when no input is left, because the last input bytes can decode to
    /// more than the buffer has room for.
    fn data<'a>(
        &mut self,
        mut input: &'a [u8],
        sink: &mut impl FnMut(&[u8]) -> bool,
    ) -> Result<&'a [u8], InflateError> {
        loop {
            let (read_before, written_before) = (self.state.total_in(), self.state.total_out());
            let status = self
                .state
                .decompress(input, &mut self.output, InflateFlush::NoFlush)
                .map_err(|_| InflateError::Corrupt)?;
            let read = (self.state.total_in() - read_before) as usize;
            let written = (self.state.total_out() - written_before) as usize;
            input = &input[read..];

            let output = &self.output[..written];
            if self.format == Format::Gzip {
                self.crc.update(output);
                self.size = self.size.wrapping_add(written as u32);
            }
            if !output.is_empty() && !sink(output) {
                return Err(InflateError::Refused);
            }

            if status == Status::StreamEnd {
                self.stage = if self.format == Format::Gzip {
                    Stage::Trailer
                } else {
                    Stage::Done
                };
                return Ok(input);
            }
            if written < OUTPUT && input.is_empty() {
                return Ok(input);
            }
            // A call that made no progress with input and room left would
            // make none the next time either.
            if read == 0 && written == 0 {
                return Err(InflateError::Corrupt);
            }
        }
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
        self.stage = if crc == self.crc.clone().finalize() && size == self.size {
            Stage::Done
        } else {
            Stage::Mismatched
        };
        Ok(&input[take..])
    }
}

/// Returns the length of the gzip header at the start of `bytes`, or `None`
/// when more bytes are needed to find its end. Bytes that do not start a
/// gzip header (RFC 1952 section 2.3: magic, deflate method, no reserved
/// flags), a name or comment longer than [`MAX_GZIP_FIELD`] and a header
/// CRC that does not match are errors, as they were for flate2.
fn gzip_header_length(bytes: &[u8]) -> Result<Option<usize>, InflateError> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    const RESERVED: u8 = 0xe0;

    // Fixed part: ID1, ID2, CM, FLG, MTIME (4), XFL, OS.
    let Some(fixed) = bytes.first_chunk::<10>() else {
        return Ok(None);
    };
    if fixed[..3] != [0x1f, 0x8b, 0x08] || fixed[3] & RESERVED != 0 {
        return Err(InflateError::Corrupt);
    }
    let flags = fixed[3];
    let mut length = 10;

    // FEXTRA: a 2-byte length, then that many bytes.
    if flags & FEXTRA != 0 {
        let Some(extra) = bytes.get(length..length + 2) else {
            return Ok(None);
        };
        length += 2 + usize::from(u16::from_le_bytes([extra[0], extra[1]]));
    }

    // FNAME, then FCOMMENT: each ends with a NUL.
    for flag in [FNAME, FCOMMENT] {
        if flags & flag == 0 {
            continue;
        }
        let Some(rest) = bytes.get(length..) else {
            return Ok(None);
        };
        let field = &rest[..rest.len().min(MAX_GZIP_FIELD + 1)];
        match memchr::memchr(0, field) {
            Some(end) => length += end + 1,
            None if field.len() > MAX_GZIP_FIELD => return Err(InflateError::Corrupt),
            None => return Ok(None),
        }
    }

    // FHCRC: the low 16 bits of the CRC-32 of every header byte before it.
    if flags & FHCRC != 0 {
        let Some(stored) = bytes.get(length..length + 2) else {
            return Ok(None);
        };
        if u16::from_le_bytes([stored[0], stored[1]]) != crc32fast::hash(&bytes[..length]) as u16 {
            return Err(InflateError::Corrupt);
        }
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

    /// Text with long repeats, so matches reach back past the start of each output buffer.
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
    fn gzip_trailer_mismatch_leaves_stream_unfinished() {
        let data = sample();
        for at in [8, 4] {
            let mut stream = compress(Format::Gzip, &data);
            let field = stream.len() - at;
            stream[field] ^= 1;

            let (output, error, finished) = inflate(Format::Gzip, &stream, 512);
            assert_eq!(error, None, "trailer byte {at} from the end");
            assert!(!finished, "trailer byte {at} from the end");
            assert!(output == data, "trailer byte {at} from the end");

            stream.push(0);
            let (_, error, _) = inflate(Format::Gzip, &stream, 512);
            assert_eq!(error, Some(InflateError::Corrupt), "byte after the trailer");
        }
    }

    /// A raw deflate stream has no trailer, so its last input bytes may
    /// decode to more output than the buffer has room for.
    #[test]
    fn raw_stream_ending_past_buffer_end_finishes() {
        for length in [
            OUTPUT,
            OUTPUT + 1,
            OUTPUT + 7,
            2 * OUTPUT + 4,
            3 * OUTPUT + 6,
        ] {
            let data = vec![0; length];
            let stream = compress(Format::Raw, &data);
            for piece in [1, stream.len()] {
                let (output, error, finished) = inflate(Format::Raw, &stream, piece);
                assert_eq!(error, None, "{length} bytes in pieces of {piece}");
                assert!(finished, "{length} bytes in pieces of {piece}");
                assert_eq!(output.len(), length, "{length} bytes in pieces of {piece}");
            }
        }
    }

    /// Builds a gzip member whose header has the given flags and fields,
    /// with a correct header CRC when FHCRC is set.
    fn gzip_with_header(flags: u8, extra: &[u8], name: &[u8], data: &[u8]) -> Vec<u8> {
        let mut stream = vec![0x1f, 0x8b, 0x08, flags, 0, 0, 0, 0, 0, 0xff];
        if flags & 0x04 != 0 {
            stream.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            stream.extend_from_slice(extra);
        }
        if flags & 0x08 != 0 {
            stream.extend_from_slice(name);
            stream.push(0);
        }
        if flags & 0x02 != 0 {
            let crc = crc32fast::hash(&stream) as u16;
            stream.extend_from_slice(&crc.to_le_bytes());
        }
        stream.extend_from_slice(&compress(Format::Raw, data));
        stream.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
        stream.extend_from_slice(&(data.len() as u32).to_le_bytes());
        stream
    }

    #[test]
    fn gzip_header_crc_is_checked() {
        let data = b"body".repeat(100);
        let mut stream = gzip_with_header(0x02 | 0x08, &[], b"page.html", &data);
        for piece in [1, stream.len()] {
            let (output, error, finished) = inflate(Format::Gzip, &stream, piece);
            assert_eq!(error, None, "pieces of {piece}");
            assert!(finished, "pieces of {piece}");
            assert_eq!(output, data, "pieces of {piece}");
        }

        let crc_at = 10 + b"page.html\0".len();
        stream[crc_at] ^= 1;
        for piece in [1, stream.len()] {
            let (output, error, _) = inflate(Format::Gzip, &stream, piece);
            assert_eq!(error, Some(InflateError::Corrupt), "pieces of {piece}");
            assert!(output.is_empty(), "pieces of {piece}");
        }
    }

    #[test]
    fn gzip_header_field_limits() {
        let data = b"body".repeat(100);

        // The largest extra field and a long name, arriving in TCP-sized pieces.
        let extra = vec![b'e'; usize::from(u16::MAX)];
        let name = vec![b'n'; MAX_GZIP_FIELD];
        let stream = gzip_with_header(0x04 | 0x08 | 0x02, &extra, &name, &data);
        let (output, error, finished) = inflate(Format::Gzip, &stream, 1400);
        assert_eq!(error, None);
        assert!(finished);
        assert_eq!(output, data);

        // One name byte over the limit, whole or in pieces.
        let name = vec![b'n'; MAX_GZIP_FIELD + 1];
        let stream = gzip_with_header(0x08, &[], &name, &data);
        for piece in [1400, stream.len()] {
            let (_, error, _) = inflate(Format::Gzip, &stream, piece);
            assert_eq!(error, Some(InflateError::Corrupt), "pieces of {piece}");
        }
    }

    /// Fewer than the ten bytes of a gzip header's fixed part are not judged
    /// yet: the body may have been cut, which its end decides.
    #[test]
    fn short_body_is_unfinished_not_corrupt() {
        let (output, error, finished) = inflate(Format::Gzip, b"<html>", 3);
        assert_eq!(error, None);
        assert!(!finished);
        assert!(output.is_empty());
    }

    #[test]
    fn cut_stream_is_not_finished() {
        let stream = compress(Format::Gzip, &sample());
        let (_, error, finished) = inflate(Format::Gzip, &stream[..stream.len() / 2], 1000);
        assert_eq!(error, None);
        assert!(!finished);
    }

    #[test]
    fn gzip_members_decode_in_order() {
        let mut stream = compress(Format::Gzip, b"first member, ");
        stream.extend_from_slice(&compress(Format::Gzip, b""));
        stream.extend_from_slice(&compress(Format::Gzip, &sample()));
        let mut expected = b"first member, ".to_vec();
        expected.extend_from_slice(&sample());

        for piece in [1, 7, 1400, stream.len()] {
            let (output, error, finished) = inflate(Format::Gzip, &stream, piece);
            assert_eq!(error, None, "pieces of {piece}");
            assert!(finished, "pieces of {piece}");
            assert!(output == expected, "pieces of {piece}");
        }

        let (_, error, finished) = inflate(Format::Gzip, &stream[..stream.len() - 3], 1400);
        assert_eq!(error, None, "last member cut");
        assert!(!finished, "last member cut");

        let mut junk = compress(Format::Gzip, b"member");
        junk.extend_from_slice(b"<html>");
        junk.extend_from_slice(&[0; 10]);
        let (output, error, _) = inflate(Format::Gzip, &junk, 1400);
        assert_eq!(error, Some(InflateError::Corrupt), "junk after a member");
        assert_eq!(output, b"member", "junk after a member");
    }

    /// Each member is decoded in the caller's loop, so thousands of empty
    /// members in one piece do not grow the stack.
    #[test]
    fn many_empty_gzip_members_in_one_piece() {
        let member = compress(Format::Gzip, b"");
        let stream = member.repeat(50_000);

        let (output, error, finished) = inflate(Format::Gzip, &stream, stream.len());
        assert_eq!(error, None);
        assert!(finished);
        assert!(output.is_empty());
    }

    /// HTTP has no way to agree on a zlib preset dictionary (FDICT, RFC 1950
    /// section 2.2), and CINFO above 7 declares a window over 32 KiB.
    #[test]
    fn zlib_dictionary_or_wide_window_corrupt() {
        let deflate = compress(Format::Raw, b"body");
        let cases: [(&str, &[u8]); 3] = [
            ("FDICT", &[0x78, 0xbb, 0x12, 0x34, 0x56, 0x78]),
            ("64 KiB window", &[0x88, 0x1c]),
            ("check bits wrong", &[0x78, 0x9d]),
        ];
        for (case, header) in cases {
            let stream = [header, &deflate].concat();
            for piece in [1, stream.len()] {
                let (output, error, finished) = inflate(Format::Zlib, &stream, piece);
                assert_eq!(
                    error,
                    Some(InflateError::Corrupt),
                    "{case} in pieces of {piece}"
                );
                assert!(!finished, "{case} in pieces of {piece}");
                assert!(output.is_empty(), "{case} in pieces of {piece}");
            }
        }
    }

    #[test]
    fn empty_stored_blocks_finish() {
        // Stored blocks (RFC 1951 section 3.2.4) with LEN 0 and NLEN 0xffff.
        // Only the last one has BFINAL set.
        let mut raw = [0u8, 0, 0, 0xff, 0xff].repeat(10_000);
        raw.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
        let zlib = [&[0x78, 0x9c][..], &raw, &[0, 0, 0, 1]].concat();

        for (format, stream) in [(Format::Raw, &raw), (Format::Zlib, &zlib)] {
            for piece in [1, 7, stream.len()] {
                let (output, error, finished) = inflate(format, stream, piece);
                assert_eq!(error, None, "{format:?} in pieces of {piece}");
                assert!(finished, "{format:?} in pieces of {piece}");
                assert!(output.is_empty(), "{format:?} in pieces of {piece}");
            }
        }
    }

    #[test]
    fn raw_stream_with_trailing_bytes_is_corrupt() {
        let mut stream = compress(Format::Raw, &sample());
        stream.extend_from_slice(b"junk");
        for piece in [1, stream.len()] {
            let (output, error, _) = inflate(Format::Raw, &stream, piece);
            assert_eq!(error, Some(InflateError::Corrupt), "pieces of {piece}");
            assert!(output == sample(), "pieces of {piece}");
        }
    }

    #[test]
    fn gzip_header_alone_is_unfinished() {
        let header = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
        let (output, error, finished) = inflate(Format::Gzip, &header, 3);
        assert_eq!(error, None);
        assert!(!finished);
        assert!(output.is_empty());
    }

    /// About 64 KiB of zlib data that decodes to 64 MiB stops one output
    /// buffer past the point where the sink refuses.
    #[test]
    fn bomb_stops_at_refusing_sink() {
        let stream = compress(Format::Zlib, &vec![0; 64 << 20]);
        assert!(stream.len() < 128 << 10, "{} bytes", stream.len());

        let limit = 1 << 20;
        let mut inflater = Inflater::new(Format::Zlib);
        let mut seen = 0;
        let mut sink = |bytes: &[u8]| {
            seen += bytes.len();
            seen <= limit
        };
        let error = stream
            .chunks(1400)
            .find_map(|part| inflater.write(part, &mut sink).err());
        assert_eq!(error, Some(InflateError::Refused));
        assert!(seen <= limit + OUTPUT, "{seen} bytes");
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
