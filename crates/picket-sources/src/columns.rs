//! Splitting a line into columns separated by runs of spaces and tabs, as
//! Squid's native log writes them.
//!
//! The line is read one 64-bit word of eight bytes at a time: each word
//! becomes a mask with the top bit of every byte below `!` set, and the
//! columns are cut at the bits that mark a space or a tab. A Squid line has ten columns in
//! about 150 bytes. Searching for each separator in turn (`memchr2`) costs
//! a call and a vector setup per column, while the mask costs about a
//! dozen integer instructions per word.

/// Bytes tested at a time.
pub(crate) const WORD: usize = 8;

/// Splits `line` at runs of spaces and tabs and returns the number of
/// columns, counting those past the end of `cols`. The first `cols.len()`
/// columns are stored in `cols`, in order. Leading, trailing and repeated
/// separators make no empty columns.
pub(crate) fn split_columns<'a>(line: &'a str, cols: &mut [&'a str]) -> usize {
    let bytes = line.as_bytes();
    let mut found = 0;
    let mut start = 0;
    let mut cut = |end: usize, start: &mut usize| {
        if end > *start {
            if let Some(slot) = cols.get_mut(found) {
                // Both ends sit on ASCII separators or the line's ends,
                // so they are character boundaries.
                *slot = &line[*start..end];
            }
            found += 1;
        }
        *start = end + 1;
    };

    let mut base = 0;
    let mut words = bytes.chunks_exact(WORD);
    for word in &mut words {
        let mut mask = low_byte_mask(u64::from_le_bytes(word.try_into().unwrap_or([0; WORD])));
        while mask != 0 {
            let at = base + mask.trailing_zeros() as usize / 8;
            // The mask flags every byte below `!`; only two of them separate.
            if matches!(bytes[at], b' ' | b'\t') {
                cut(at, &mut start);
            }
            mask &= mask - 1;
        }
        base += WORD;
    }

    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b' ' || b == b'\t' {
            cut(base + i, &mut start);
        }
    }
    cut(bytes.len(), &mut start);
    found
}

/// Returns `word` (little-endian) with the top bit set in each byte below
/// `!` (0x21): space, tab and the other control bytes. Every other bit is
/// clear. Exact, because adding 0x5f to the low seven bits of a byte
/// cannot carry into the next byte, and it sets the top bit exactly when
/// those bits are 0x21 or more.
#[inline]
pub(crate) fn low_byte_mask(word: u64) -> u64 {
    let low = repeat(0x7f);
    !(((word & low) + repeat(0x80 - 0x21)) | word | low)
}

/// Returns `word` (little-endian) with the top bit set in each byte equal
/// to `byte` and every other bit clear. Exact for the reason
/// [`low_byte_mask`] is: a byte of `word ^ byte` is zero exactly when
/// adding 0x7f to its low seven bits leaves its top bit clear and its own
/// top bit is clear.
#[inline]
pub(crate) fn byte_mask(word: u64, byte: u8) -> u64 {
    let low = repeat(0x7f);
    let x = word ^ repeat(byte);
    !(((x & low) + low) | x | low)
}

/// Returns a word with `byte` in each of its eight bytes.
#[inline]
const fn repeat(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits by the plain definition: the non-empty pieces between spaces
    /// and tabs.
    fn reference(line: &str) -> Vec<&str> {
        line.split([' ', '\t']).filter(|c| !c.is_empty()).collect()
    }

    fn split(line: &str, keep: usize) -> (Vec<&str>, usize) {
        let mut cols = vec![""; keep];
        let found = split_columns(line, &mut cols);
        cols.truncate(found.min(keep));
        (cols, found)
    }

    #[test]
    fn agrees_with_the_plain_definition() {
        let lines = [
            "",
            " ",
            "a",
            "\t\ta  b\t",
            "1700000000.018   1461 10.0.1.71 TCP_MISS/200 54436 CONNECT static.example.biz:443 - HIER_DIRECT/218.5.185.69 text/html",
            // Separators on both sides of a word boundary.
            &format!("{} {}", "x".repeat(31), "y".repeat(40)),
            &format!("{}  {}", "x".repeat(31), "y".repeat(33)),
            &format!("{}\t{}", "x".repeat(63), "é".repeat(20)),
            &" ".repeat(70),
        ];
        for line in lines {
            let want = reference(line);
            let (got, found) = split(line, 64);
            assert_eq!(got, want, "{line:?}");
            assert_eq!(found, want.len(), "{line:?}");
        }
    }

    #[test]
    fn low_byte_mask_is_exact() {
        // Every byte value at every position, beside neighbours that would
        // show a carry or borrow between bytes.
        for fill in [b'x', 0x00, 0x20, 0x21, 0x7f, 0x80, 0xff] {
            for byte in 0..=255u8 {
                for position in 0..WORD {
                    let mut bytes = [fill; WORD];
                    bytes[position] = byte;
                    let want = bytes
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| **b < b'!')
                        .fold(0u64, |m, (i, _)| m | 0x80 << (8 * i));
                    let mask = low_byte_mask(u64::from_le_bytes(bytes));
                    assert_eq!(mask, want, "byte {byte:#04x} at {position} in {fill:#04x}");
                }
            }
        }
    }

    #[test]
    fn byte_mask_is_exact() {
        for fill in [b'x', 0x00, 0x2f, 0x7f, 0x80, 0xff] {
            for byte in 0..=255u8 {
                for position in 0..WORD {
                    let mut bytes = [fill; WORD];
                    bytes[position] = byte;
                    for target in [b'/', b'?', 0x00, 0x80, 0xff] {
                        let want = bytes
                            .iter()
                            .enumerate()
                            .filter(|(_, b)| **b == target)
                            .fold(0u64, |m, (i, _)| m | 0x80 << (8 * i));
                        let mask = byte_mask(u64::from_le_bytes(bytes), target);
                        assert_eq!(
                            mask, want,
                            "{byte:#04x} at {position} in {fill:#04x}, {target:#04x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn counts_columns_past_the_slots() {
        let (got, found) = split("a b c d e", 2);
        assert_eq!(got, ["a", "b"]);
        assert_eq!(found, 5);
    }

    #[test]
    fn random_lines_agree() {
        // A fixed linear congruential sequence: spaces, tabs, letters and a
        // two-byte character, in lines of up to 240 bytes.
        let alphabet = [
            " ", "\t", "a", "b", "é", "  ", "/", "\r", "\x01", "!", "\x7f", "\u{a0}",
        ];
        let mut state = 7u64;
        for _ in 0..2000 {
            let mut line = String::new();
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            let len = (state >> 33) % 120;
            for _ in 0..len {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                line.push_str(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            let want = reference(&line);
            let (got, found) = split(&line, 16);
            assert_eq!(found, want.len(), "{line:?}");
            assert_eq!(got, want[..want.len().min(16)], "{line:?}");
        }
    }
}
