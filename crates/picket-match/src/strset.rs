//! A compact, immutable string table keyed by a caller-computed 64-bit hash.
//!
//! Layout: every string once in one byte arena (a two-byte length prefix,
//! then the bytes); a sorted array of 32-bit fingerprints (the hash's top
//! bits); a parallel array of (arena offset, tag); and a directory of the
//! first index per top-`bits` hash bucket. A lookup reads one directory
//! slot, searches a bucket of a few fingerprints in one cache line, and
//! compares strings only on a fingerprint match. Cost: 12 bytes per entry
//! plus the string and two bytes, with no load-factor slack.
//!
//! The caller hashes, so that a domain walk can hash each parent suffix and
//! a URL walk each path prefix without building substrings.

use crate::filter::Bloom;
use crate::tag::{self, Tag};

/// Maximum length of a stored string, in bytes.
pub(crate) const MAX_LEN: usize = u16::MAX as usize;

/// Collects entries; [`StrSetBuilder::build`] sorts and merges them.
#[derive(Debug, Default)]
pub(crate) struct StrSetBuilder {
    arena: Vec<u8>,
    items: Vec<Item>,
}

#[derive(Clone, Copy, Debug)]
struct Item {
    hash: u64,
    off: u32,
    len: u16,
    tag: Tag,
}

impl StrSetBuilder {
    /// Adds `key` with `tag`; `false` when the key is too long or the arena
    /// is full (4 GiB).
    pub(crate) fn push(&mut self, hash: u64, key: &[u8], tag: Tag) -> bool {
        let Ok(len) = u16::try_from(key.len()) else {
            return false;
        };
        let Ok(off) = u32::try_from(self.arena.len()) else {
            return false;
        };
        if self.arena.len() + key.len() > u32::MAX as usize {
            return false;
        }
        self.arena.extend_from_slice(key);
        self.items.push(Item {
            hash,
            off,
            len,
            tag,
        });
        true
    }

    /// Number of entries pushed so far, repeats included.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Sorts, merges repeated keys with `merge(old_tag, new_tag)` and lays
    /// out the immutable table. Keys are equal when their bytes and their
    /// [`tag::KEY_FLAGS`] are equal.
    pub(crate) fn build(mut self, mut merge: impl FnMut(Tag, Tag) -> Tag) -> StrSet {
        let arena = &self.arena;
        let bytes = |it: &Item| &arena[it.off as usize..it.off as usize + usize::from(it.len)];
        self.items.sort_unstable_by(|a, b| {
            a.hash
                .cmp(&b.hash)
                .then_with(|| bytes(a).cmp(bytes(b)))
                .then_with(|| (a.tag & tag::KEY_FLAGS).cmp(&(b.tag & tag::KEY_FLAGS)))
                // Equal keys merge in source-list order. Without this
                // tie-break the unstable sort leaves them in an order that
                // depends on the seed, and each order adds other
                // intermediate source lists to the table.
                .then_with(|| a.tag.cmp(&b.tag))
        });

        let mut out = StrSet {
            bloom: Bloom::default(),
            bits: 0,
            dir: Vec::new(),
            fps: Vec::with_capacity(self.items.len()),
            entries: Vec::with_capacity(self.items.len()),
            arena: Vec::new(),
        };
        let mut kept: Vec<Item> = Vec::with_capacity(self.items.len());
        for it in &self.items {
            if let Some(prev) = kept.last_mut()
                && prev.hash == it.hash
                && prev.tag & tag::KEY_FLAGS == it.tag & tag::KEY_FLAGS
                && bytes(prev) == bytes(it)
            {
                prev.tag = merge(prev.tag, it.tag);
                continue;
            }
            kept.push(*it);
        }

        let total: usize = kept.iter().map(|it| usize::from(it.len) + 2).sum();
        out.arena.reserve_exact(total);
        for it in &kept {
            let off = out.arena.len() as u32;
            out.arena.extend_from_slice(&it.len.to_le_bytes());
            out.arena.extend_from_slice(bytes(it));
            out.fps.push((it.hash >> 32) as u32);
            out.entries.push((off, it.tag));
        }

        out.bloom = Bloom::new(kept.iter().map(|it| it.hash), kept.len());
        out.bits = directory_bits(kept.len());
        out.dir = directory(kept.iter().map(|it| it.hash), kept.len(), out.bits);
        out.fps.shrink_to_fit();
        out.entries.shrink_to_fit();
        out
    }
}

/// Directory size for `n` entries: about four entries per bucket, at most
/// 2^16 buckets.
pub(crate) fn directory_bits(n: usize) -> u32 {
    let quarter = (n / 4).max(1);
    (usize::BITS - 1 - quarter.leading_zeros()).min(16)
}

/// `dir[b]` = index of the first key whose top `bits` bits are `>= b`, for
/// every bucket `b`, plus a final `n`. `keys` must be sorted.
pub(crate) fn directory(keys: impl Iterator<Item = u64>, n: usize, bits: u32) -> Vec<u32> {
    let buckets = 1usize << bits;
    let mut dir = vec![0u32; buckets + 1];
    let mut counts = vec![0u32; buckets];
    for k in keys {
        counts[bucket(k, bits)] += 1;
    }
    let mut acc = 0u32;
    for (b, c) in counts.iter().enumerate() {
        dir[b] = acc;
        acc += c;
    }
    dir[buckets] = u32::try_from(n).unwrap_or(u32::MAX);
    dir
}

/// Returns the bucket of a 64-bit key: its top `bits` bits.
#[inline]
pub(crate) fn bucket(key: u64, bits: u32) -> usize {
    key.checked_shr(64 - bits).unwrap_or(0) as usize
}

/// The immutable table.
#[derive(Debug, Default)]
pub(crate) struct StrSet {
    bloom: Bloom,
    bits: u32,
    dir: Vec<u32>,
    fps: Vec<u32>,
    entries: Vec<(u32, Tag)>,
    arena: Vec<u8>,
}

impl StrSet {
    /// Calls `found(tag)` for every entry whose string is `key` (there is at
    /// most one per combination of key flags). `hash` must come from the
    /// same function the entries were pushed with.
    #[inline]
    pub(crate) fn find(&self, hash: u64, key: &[u8], mut found: impl FnMut(Tag)) {
        if !self.bloom.may_contain(hash) {
            return;
        }
        let b = bucket(hash, self.bits);
        let (lo, hi) = (self.dir[b] as usize, self.dir[b + 1] as usize);
        let fp = (hash >> 32) as u32;
        let bucket_fps = &self.fps[lo..hi];
        let mut i = lo + bucket_fps.partition_point(|&f| f < fp);
        while i < hi && self.fps[i] == fp {
            let (off, tag) = self.entries[i];
            if self.string_at(off) == key {
                found(tag);
            }
            i += 1;
        }
    }

    /// False when no entry has hash `hash`: the filter alone, one memory
    /// read, for a caller that tests several hashes before any lookup.
    #[inline]
    pub(crate) fn may_contain(&self, hash: u64) -> bool {
        self.bloom.may_contain(hash)
    }

    /// Starts loading the filter word that `may_contain(hash)` reads into
    /// the cache and returns at once.
    #[inline]
    pub(crate) fn prefetch(&self, hash: u64) {
        self.bloom.prefetch(hash);
    }

    /// Returns the stored string at arena offset `off`.
    #[inline]
    pub(crate) fn string_at(&self, off: u32) -> &[u8] {
        let off = off as usize;
        let Some(prefix) = self.arena.get(off..off + 2) else {
            return &[];
        };
        let len = usize::from(u16::from_le_bytes([prefix[0], prefix[1]]));
        self.arena.get(off + 2..off + 2 + len).unwrap_or(&[])
    }

    /// Number of distinct entries.
    pub(crate) fn len(&self) -> usize {
        self.fps.len()
    }

    /// True when the table has no entry, so a walk can be skipped.
    #[inline]
    pub(crate) fn is_empty_set(&self) -> bool {
        self.fps.is_empty()
    }

    /// Returns every entry as (arena offset, tag), in table order.
    pub(crate) fn entries(&self) -> &[(u32, Tag)] {
        &self.entries
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bloom.heap_bytes()
            + self.dir.capacity() * 4
            + self.fps.capacity() * 4
            + self.entries.capacity() * 8
            + self.arena.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::hash;

    #[test]
    fn finds_and_merges() {
        let mut b = StrSetBuilder::default();
        for (i, word) in ["alpha", "beta", "gamma", "alpha"].iter().enumerate() {
            assert!(b.push(hash(7, word.as_bytes()), word.as_bytes(), i as u32));
        }
        b.push(hash(7, b"beta"), b"beta", 9 | tag::SUFFIX);
        let set = b.build(|old, new| old.max(new));
        assert_eq!(set.len(), 4);

        let mut seen = Vec::new();
        set.find(hash(7, b"alpha"), b"alpha", |t| seen.push(t));
        assert_eq!(seen, vec![3]);
        seen.clear();
        set.find(hash(7, b"beta"), b"beta", |t| seen.push(t));
        seen.sort();
        assert_eq!(seen, vec![1, 9 | tag::SUFFIX]);
        seen.clear();
        set.find(hash(7, b"delta"), b"delta", |t| seen.push(t));
        assert!(seen.is_empty());
    }

    #[test]
    fn repeated_keys_merge_in_tag_order() {
        for filler in [0u32, 1000] {
            for order in [[3u32, 1, 2], [2, 3, 1], [1, 2, 3]] {
                let mut b = StrSetBuilder::default();
                for i in 0..filler {
                    let key = format!("host{i}.example");
                    b.push(hash(5, key.as_bytes()), key.as_bytes(), 100 + i);
                }
                for t in order {
                    b.push(hash(5, b"alpha"), b"alpha", t);
                }
                let mut merges = Vec::new();
                b.build(|old, new| {
                    merges.push((old, new));
                    old
                });
                assert_eq!(merges, vec![(1, 2), (1, 3)], "{filler} {order:?}");
            }
        }
    }

    #[test]
    fn many_entries_use_the_directory() {
        let mut b = StrSetBuilder::default();
        for i in 0..10_000u32 {
            let key = format!("host{i}.example");
            b.push(hash(1, key.as_bytes()), key.as_bytes(), i);
        }
        let set = b.build(|a, _| a);
        assert!(set.bits > 8);
        for i in (0..10_000u32).step_by(97) {
            let key = format!("host{i}.example");
            let mut got = None;
            set.find(hash(1, key.as_bytes()), key.as_bytes(), |t| got = Some(t));
            assert_eq!(got, Some(i));
        }
    }
}
