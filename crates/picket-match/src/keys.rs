//! An immutable exact-match table of fixed-size keys: addresses and digests.
//!
//! Keys are kept sorted in one array with a parallel array of tags and a
//! directory over the keys' top bits, so a lookup is one directory read and
//! a short binary search. Cost: the key's size plus four bytes per entry.

use crate::strset::{bucket, directory, directory_bits};
use crate::tag::Tag;

/// A key that sorts and exposes its top 64 bits for the directory.
pub(crate) trait FixedKey: Copy + Ord {
    /// Returns the key's most significant 64 bits, in big-endian order.
    fn top(&self) -> u64;
}

impl FixedKey for u32 {
    fn top(&self) -> u64 {
        u64::from(*self) << 32
    }
}

impl FixedKey for u128 {
    fn top(&self) -> u64 {
        (*self >> 64) as u64
    }
}

impl<const N: usize> FixedKey for [u8; N] {
    fn top(&self) -> u64 {
        let mut word = [0u8; 8];
        let n = N.min(8);
        word[..n].copy_from_slice(&self[..n]);
        u64::from_be_bytes(word)
    }
}

/// The immutable table.
#[derive(Debug)]
pub(crate) struct SortedKeys<K> {
    bits: u32,
    dir: Vec<u32>,
    keys: Vec<K>,
    tags: Vec<Tag>,
}

impl<K> Default for SortedKeys<K> {
    fn default() -> Self {
        SortedKeys {
            bits: 0,
            dir: Vec::new(),
            keys: Vec::new(),
            tags: Vec::new(),
        }
    }
}

impl<K: FixedKey> SortedKeys<K> {
    /// Sorts `items`, merges repeated keys with `merge(old, new)` and lays out
    /// the table.
    pub(crate) fn build(mut items: Vec<(K, Tag)>, mut merge: impl FnMut(Tag, Tag) -> Tag) -> Self {
        items.sort_unstable_by_key(|a| a.0);
        let mut keys: Vec<K> = Vec::with_capacity(items.len());
        let mut tags: Vec<Tag> = Vec::with_capacity(items.len());
        for (k, t) in items {
            if keys.last() == Some(&k) {
                if let Some(last) = tags.last_mut() {
                    *last = merge(*last, t);
                }
                continue;
            }
            keys.push(k);
            tags.push(t);
        }
        keys.shrink_to_fit();
        tags.shrink_to_fit();
        let bits = directory_bits(keys.len());
        let dir = directory(keys.iter().map(FixedKey::top), keys.len(), bits);
        SortedKeys {
            bits,
            dir,
            keys,
            tags,
        }
    }

    /// Returns the tag of `key`, if present.
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<Tag> {
        if self.keys.is_empty() {
            return None;
        }
        let b = bucket(key.top(), self.bits);
        let (lo, hi) = (self.dir[b] as usize, self.dir[b + 1] as usize);
        let i = lo + self.keys[lo..hi].partition_point(|k| k < key);
        (i < hi && self.keys[i] == *key).then(|| self.tags[i])
    }

    /// Number of distinct keys.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Iterates over every (key, tag), sorted by key.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, Tag)> {
        self.keys.iter().zip(self.tags.iter().copied())
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.dir.capacity() * 4
            + self.keys.capacity() * std::mem::size_of::<K>()
            + self.tags.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_lookup_and_merge() {
        let items: Vec<(u32, Tag)> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761), i))
            .chain([(0, 99)])
            .collect();
        let table = SortedKeys::build(items, |a, b| a.min(b));
        assert_eq!(table.len(), 5000);
        assert_eq!(table.get(&0), Some(0));
        assert_eq!(table.get(&2_654_435_761), Some(1));
        assert_eq!(table.get(&1), None);

        let digests = SortedKeys::build(vec![([0xffu8; 20], 1), ([0u8; 20], 2)], |a, _| a);
        assert_eq!(digests.get(&[0xff; 20]), Some(1));
        assert_eq!(digests.get(&[1; 20]), None);
    }
}
