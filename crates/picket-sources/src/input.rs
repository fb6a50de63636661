//! Byte input: transparent decompression and a line splitter with a length cap.
//!
//! Compression is recognised by magic bytes, not by file name: gzip
//! (`1f 8b`, every member of a multi-member file), bzip2 (`BZh`, every
//! stream) and zstd (`28 b5 2f fd`, every frame). A stream that ends in the
//! middle of a member surfaces as a read error, which the line splitter turns
//! into a final [`RawLine::Error`] after every complete line before it.

use std::io::{self, Read};
use std::ops::Range;

/// How many decompressed bytes [`peek_head`] reads for format detection.
pub const HEAD_LEN: usize = 64 * 1024;

/// The compression of a byte stream, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (RFC 1952), possibly several members.
    Gzip,
    /// bzip2, possibly several streams.
    Bzip2,
    /// Zstandard, possibly several frames.
    Zstd,
}

impl Compression {
    /// Recognises a compression format by its magic bytes.
    pub fn from_magic(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|d| (b'1'..=b'9').contains(d))
        {
            Compression::Bzip2
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Wraps `raw` in the decompressor its first bytes call for.
pub fn decompress(raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let (magic, rest) = peek_head(raw, 4)?;
    let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(magic.clone()).chain(rest));
    Ok(match Compression::from_magic(&magic) {
        Compression::None => chained,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(chained)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(chained)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(chained)?),
    })
}

/// Reads up to `len` bytes from the start of `read`, returning them and the
/// rest of the stream (the bytes read are not in it).
///
/// A read error after some bytes were read ends the head early; the error
/// is then met again by whoever reads the rest.
pub fn peek_head(
    mut read: Box<dyn Read + Send>,
    len: usize,
) -> io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = vec![0; len];
    let mut filled = 0;
    while filled < len {
        match read.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if filled == 0 => return Err(e),
            Err(_) => break,
        }
    }
    head.truncate(filled);
    Ok((head, read))
}

/// Puts a peeked head back in front of the rest of its stream.
pub fn unpeek(head: Vec<u8>, rest: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    Box::new(io::Cursor::new(head).chain(rest))
}

/// One line, or a problem that replaced one, from [`LineSource`].
#[derive(Debug)]
pub enum RawLine<'a> {
    /// A complete line without its `\n` (or `\r\n`).
    Line {
        /// The bytes of the line.
        bytes: &'a [u8],
        /// Line number, from 1.
        line: u64,
        /// Byte offset of the line's first byte.
        offset: u64,
    },
    /// A line longer than the cap; its bytes were dropped unread.
    TooLong {
        /// Line number.
        line: u64,
        /// Byte offset of the line's first byte.
        offset: u64,
        /// Length of the line.
        len: u64,
    },
    /// Reading failed; nothing more comes after this.
    Error {
        /// Line number where reading stopped.
        line: u64,
        /// Byte offset where the unfinished line began.
        offset: u64,
        /// The read error.
        error: io::Error,
    },
}

/// Splits a byte stream into lines, reading in large blocks.
///
/// Lines longer than `max_line_len` are dropped as they stream past and
/// reported as [`RawLine::TooLong`]: memory stays at about two blocks plus
/// the cap whatever the input holds.
pub struct LineSource {
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Offset in the stream of `buf[start]`.
    offset: u64,
    /// Number of the next line.
    line: u64,
    max_line_len: usize,
    /// Index just past the last newline in `buf[..end]`, or 0: lines
    /// starting before it are complete.
    complete_until: usize,
    /// Range in `buf` of the line [`LineSource::next_line`] returned last.
    last_line: Range<usize>,
    eof: bool,
    failed: bool,
}

/// Size of one read.
const BLOCK: usize = 1 << 20;

impl LineSource {
    /// Starts splitting `inner` into lines of at most `max_line_len` bytes.
    pub fn new(inner: Box<dyn Read + Send>, max_line_len: usize) -> Self {
        let max_line_len = max_line_len.max(1);
        LineSource {
            inner,
            buf: vec![0; BLOCK + max_line_len.min(BLOCK * 64)],
            start: 0,
            end: 0,
            offset: 0,
            line: 1,
            max_line_len,
            complete_until: 0,
            last_line: 0..0,
            eof: false,
            failed: false,
        }
    }

    /// Tells whether [`LineSource::next_line`] can return without reading:
    /// a whole line is buffered, or the input has ended or failed.
    pub fn has_complete_line(&self) -> bool {
        self.eof || self.failed || self.complete_until > self.start
    }

    /// Returns where in the buffer the line that [`LineSource::next_line`]
    /// returned last lies, for [`LineSource::buffered`].
    pub fn last_line_range(&self) -> Range<usize> {
        self.last_line.clone()
    }

    /// Returns the bytes of a range from [`LineSource::last_line_range`].
    ///
    /// A range stays valid while no call reads more input, so while
    /// [`LineSource::has_complete_line`] is true before each call of
    /// [`LineSource::next_line`]. Reading moves the buffer's contents.
    pub fn buffered(&self, range: Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or_default()
    }

    /// Bytes consumed so far (complete lines and dropped long lines).
    pub fn bytes_consumed(&self) -> u64 {
        self.offset
    }

    /// The next line, or `None` at the end of input.
    pub fn next_line(&mut self) -> Option<RawLine<'_>> {
        if self.failed {
            return None;
        }
        let mut searched = 0;
        loop {
            let window = &self.buf[self.start + searched..self.end];
            if let Some(pos) = memchr::memchr(b'\n', window) {
                let line_end = self.start + searched + pos;
                let len = line_end - self.start;
                if len > self.max_line_len {
                    return Some(self.consume_too_long(line_end + 1, len as u64));
                }
                return Some(self.consume_line(line_end, line_end + 1));
            }
            searched = self.end - self.start;

            if searched > self.max_line_len {
                return Some(self.skip_long_line());
            }
            if self.eof {
                if self.start == self.end {
                    return None;
                }
                let end = self.end;
                return Some(self.consume_line(end, end));
            }
            if let Err(error) = self.fill() {
                return Some(self.fail(error));
            }
        }
    }

    fn consume_line(&mut self, line_end: usize, next: usize) -> RawLine<'_> {
        let start = self.start;
        let mut bytes = &self.buf[start..line_end];
        if let [rest @ .., b'\r'] = bytes {
            bytes = rest;
        }
        self.last_line = start..start + bytes.len();
        let (line, offset) = (self.line, self.offset);
        self.line += 1;
        self.offset += (next - start) as u64;
        self.start = next;
        RawLine::Line {
            bytes,
            line,
            offset,
        }
    }

    fn consume_too_long(&mut self, next: usize, len: u64) -> RawLine<'static> {
        let (line, offset) = (self.line, self.offset);
        self.line += 1;
        self.offset += (next - self.start) as u64;
        self.start = next;
        RawLine::TooLong { line, offset, len }
    }

    /// Drops the current over-long line up to and including its newline,
    /// reading block by block without keeping it.
    fn skip_long_line(&mut self) -> RawLine<'static> {
        let (line, offset) = (self.line, self.offset);
        let mut len = 0u64;
        loop {
            let window = &self.buf[self.start..self.end];
            if let Some(pos) = memchr::memchr(b'\n', window) {
                len += pos as u64;
                self.offset += len + 1;
                self.start += pos + 1;
                self.line += 1;
                return RawLine::TooLong { line, offset, len };
            }
            len += window.len() as u64;
            self.start = 0;
            self.end = 0;
            self.complete_until = 0;
            if self.eof {
                self.offset += len;
                self.line += 1;
                return RawLine::TooLong { line, offset, len };
            }
            if let Err(error) = self.fill() {
                self.offset += len;
                self.failed = true;
                return RawLine::Error {
                    line,
                    offset,
                    error,
                };
            }
        }
    }

    fn fail(&mut self, error: io::Error) -> RawLine<'static> {
        self.failed = true;
        RawLine::Error {
            line: self.line,
            offset: self.offset,
            error,
        }
    }

    /// Moves the unfinished line to the front and reads one more block.
    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.complete_until = self.complete_until.saturating_sub(self.start);
            self.start = 0;
        }
        if self.buf.len() - self.end < BLOCK / 2 {
            let grown = self.buf.len() + BLOCK;
            self.buf.resize(grown, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    let read = &self.buf[self.end..self.end + n];
                    if let Some(i) = memchr::memrchr(b'\n', read) {
                        self.complete_until = self.end + i + 1;
                    }
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(data: &[u8], cap: usize) -> Vec<String> {
        let mut src = LineSource::new(Box::new(io::Cursor::new(data.to_vec())), cap);
        let mut out = Vec::new();
        while let Some(line) = src.next_line() {
            out.push(match line {
                RawLine::Line {
                    bytes,
                    line,
                    offset,
                } => {
                    format!("{line}@{offset}:{}", String::from_utf8_lossy(bytes))
                }
                RawLine::TooLong { line, offset, len } => format!("{line}@{offset}:long {len}"),
                RawLine::Error { line, .. } => format!("{line}:error"),
            });
        }
        out
    }

    #[test]
    fn complete_line_known_before_reading() {
        let chunks = [b"a\nb\nc".to_vec(), b"d\ne".to_vec()];
        let chained = io::Cursor::new(chunks[0].clone()).chain(io::Cursor::new(chunks[1].clone()));
        let mut src = LineSource::new(Box::new(chained), 64);
        assert!(!src.has_complete_line());

        let mut lines = Vec::new();
        while let Some(RawLine::Line { bytes, .. }) = src.next_line() {
            lines.push(String::from_utf8_lossy(bytes).into_owned());
            if lines.len() == 2 {
                // `c` has no newline yet: the next line needs a read.
                assert!(!src.has_complete_line());
            }
        }

        assert_eq!(lines, ["a", "b", "cd", "e"]);
        assert!(src.has_complete_line());
    }

    #[test]
    fn lines_with_crlf_and_no_final_newline() {
        assert_eq!(
            collect(b"a\r\nbb\n\nccc", 100),
            ["1@0:a", "2@3:bb", "3@6:", "4@7:ccc"]
        );
    }

    #[test]
    fn long_line_is_dropped_and_reading_resumes() {
        let mut data = b"ok\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 5 * BLOCK));
        data.extend(b"\nafter\n");
        let lines = collect(&data, 1000);
        assert_eq!(
            lines,
            [
                "1@0:ok".to_string(),
                format!("2@3:long {}", 5 * BLOCK),
                format!("3@{}:after", 5 * BLOCK + 4)
            ]
        );
    }

    #[test]
    fn long_line_inside_one_block() {
        assert_eq!(collect(b"abcdef\nab\n", 3), ["1@0:long 6", "2@7:ab"]);
    }

    #[test]
    fn truncated_gzip_gives_lines_then_error() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..1000 {
            writeln!(enc, "line {i}").unwrap();
        }
        let full = enc.finish().unwrap();
        let cut = full[..full.len() - 10].to_vec();
        let read = decompress(Box::new(io::Cursor::new(cut))).unwrap();
        let mut src = LineSource::new(read, 1000);
        let mut good = 0;
        let mut error = false;
        while let Some(line) = src.next_line() {
            match line {
                RawLine::Line { .. } => good += 1,
                RawLine::Error { .. } => error = true,
                RawLine::TooLong { .. } => unreachable!(),
            }
        }
        assert!(error);
        assert!(good >= 990, "{good} lines before the cut");
    }
}
