//! Small cache-resident filters that turn most misses away before the big
//! tables are read: lookups of values no indicator has are the common case,
//! and a miss in the tables costs two or three cache misses of its own.

use prefetch_index::prefetch_index;

/// A blocked Bloom filter over 64-bit hashes: two bits in one 64-bit word,
/// about 16 bits per entry (1.4 % false positives), at most 2 MiB.
#[derive(Debug, Default)]
pub(crate) struct Bloom {
    words: Vec<u64>,
}

/// Most words of a [`Bloom`]: 2^18 words, 2 MiB.
const MAX_WORDS: usize = 1 << 18;

impl Bloom {
    /// Builds a filter holding every hash of `hashes` (`n` of them).
    pub(crate) fn new(hashes: impl Iterator<Item = u64>, n: usize) -> Self {
        if n == 0 {
            return Bloom::default();
        }
        let words = (n / 4).next_power_of_two().clamp(1, MAX_WORDS);
        let mut bloom = Bloom {
            words: vec![0; words],
        };
        for h in hashes {
            let (w, bits) = bloom.slot(h);
            bloom.words[w] |= bits;
        }
        bloom
    }

    /// Word index from the low bits, two bit positions from bits 20 to 31;
    /// the top 32 bits are the tables' directory and fingerprint.
    #[inline]
    fn slot(&self, h: u64) -> (usize, u64) {
        let w = (h as usize) & (self.words.len() - 1);
        let bits = (1u64 << ((h >> 20) & 63)) | (1u64 << ((h >> 26) & 63));
        (w, bits)
    }

    /// False when no entry has hash `h`; true when one may have.
    #[inline]
    pub(crate) fn may_contain(&self, h: u64) -> bool {
        if self.words.is_empty() {
            return false;
        }
        let (w, bits) = self.slot(h);
        self.words[w] & bits == bits
    }

    /// Starts loading the word that `may_contain(h)` reads into the cache
    /// and returns at once. A hint only: the result of a later test does not
    /// depend on it.
    #[inline]
    pub(crate) fn prefetch(&self, h: u64) {
        if !self.words.is_empty() {
            prefetch_index(&self.words, self.slot(h).0);
        }
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// One bit per IPv4 /24 block (2 MiB): set when an exact address, network
/// or range touches the block.
#[derive(Debug, Default)]
pub(crate) struct BlockBitmap {
    words: Vec<u64>,
}

/// Below this many IPv4 entries the tables fit in cache and the bitmap
/// would only cost memory.
const BITMAP_MIN_ENTRIES: usize = 4096;

impl BlockBitmap {
    /// Builds the bitmap from exact addresses and inclusive ranges, or an
    /// empty (pass-everything) one for small sets.
    pub(crate) fn new(
        addresses: impl Iterator<Item = u32>,
        ranges: impl Iterator<Item = (u32, u32)>,
        entries: usize,
    ) -> Self {
        if entries < BITMAP_MIN_ENTRIES {
            return BlockBitmap::default();
        }
        let mut words = vec![0u64; 1 << 18];
        let mut set = |block: u32| words[(block >> 6) as usize] |= 1u64 << (block & 63);
        for a in addresses {
            set(a >> 8);
        }
        for (first, last) in ranges {
            for block in (first >> 8)..=(last >> 8) {
                set(block);
            }
        }
        BlockBitmap { words }
    }

    /// False when no indicator can contain `addr`.
    #[inline]
    pub(crate) fn may_contain(&self, addr: u32) -> bool {
        if self.words.is_empty() {
            return true;
        }
        let block = addr >> 8;
        self.words[(block >> 6) as usize] & (1u64 << (block & 63)) != 0
    }

    /// Starts loading the word that `may_contain(addr)` reads into the
    /// cache and returns at once; see [`Bloom::prefetch`].
    #[inline]
    pub(crate) fn prefetch(&self, addr: u32) {
        if !self.words.is_empty() {
            let block = addr >> 8;
            prefetch_index(&self.words, (block >> 6) as usize);
        }
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bloom_has_no_false_negatives() {
        let hashes: Vec<u64> = (0..10_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        let bloom = Bloom::new(hashes.iter().copied(), hashes.len());
        assert!(hashes.iter().all(|&h| bloom.may_contain(h)));
        let false_positives = (10_000..110_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .filter(|&h| bloom.may_contain(h))
            .count();
        assert!(false_positives < 5_000, "{false_positives}");
        assert!(!Bloom::default().may_contain(1));
    }

    #[test]
    fn bitmap_marks_addresses_and_ranges() {
        let addresses = (0..5000u32).map(|i| 0x0a00_0000 + (i << 8));
        let bitmap = BlockBitmap::new(addresses, [(0xc0a8_0000u32, 0xc0a8_ffff)].into_iter(), 5001);
        assert!(bitmap.may_contain(0x0a00_0005));
        assert!(bitmap.may_contain(0xc0a8_1234));
        assert!(!bitmap.may_contain(0x0b00_0000));
        assert!(BlockBitmap::new(std::iter::empty(), std::iter::empty(), 0).may_contain(1));
    }
}
