//! Interned source lists: each distinct list of [`IntelSource`]s is stored
//! once and indicators refer to it by a 32-bit id.
//!
//! A feed of a million addresses usually gives every entry the same
//! provider, feed, confidence, TLP and tags, so a million indicators share
//! one list and cost four bytes each for their metadata.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use picket_event::IntelSource;

/// Largest number of distinct source lists; ids use the low 30 bits of a tag.
pub(crate) const MAX_LISTS: usize = 1 << 30;

/// Every distinct source list, with its highest confidence.
#[derive(Debug, Default)]
pub(crate) struct SourceTable {
    lists: Vec<Arc<[IntelSource]>>,
    confidence: Vec<u8>,
    by_hash: HashMap<u64, Vec<u32>>,
    last: Option<u32>,
}

impl SourceTable {
    /// Returns the id of `sources`, adding the list when it is new, or `None` once
    /// [`MAX_LISTS`] lists exist.
    pub(crate) fn intern(&mut self, sources: &[IntelSource]) -> Option<u32> {
        if let Some(last) = self.last
            && *self.lists[last as usize] == *sources {
                return Some(last);
            }

        let key = list_hash(sources);
        if let Some(ids) = self.by_hash.get(&key)
            && let Some(&id) = ids.iter().find(|&&id| *self.lists[id as usize] == *sources) {
                self.last = Some(id);
                return Some(id);
            }

        if self.lists.len() >= MAX_LISTS {
            return None;
        }
        let id = u32::try_from(self.lists.len()).ok()?;
        let confidence = sources.iter().map(|s| s.confidence).max().unwrap_or(0);
        self.lists.push(sources.into());
        self.confidence.push(confidence);
        self.by_hash.entry(key).or_default().push(id);
        self.last = Some(id);
        Some(id)
    }

    /// Returns the id of the union of two lists, in order, without repeats.
    pub(crate) fn merge(&mut self, a: u32, b: u32) -> Option<u32> {
        if a == b {
            return Some(a);
        }
        let mut merged: Vec<IntelSource> = self.lists[a as usize].to_vec();
        for source in self.lists[b as usize].iter() {
            if !merged.contains(source) {
                merged.push(source.clone());
            }
        }
        self.intern(&merged)
    }

    /// Drops the build-time index, keeping only what lookups read.
    pub(crate) fn freeze(self) -> FrozenSources {
        FrozenSources {
            lists: self.lists,
            confidence: self.confidence,
        }
    }
}

/// The source lists of a built matcher.
#[derive(Debug, Default)]
pub(crate) struct FrozenSources {
    lists: Vec<Arc<[IntelSource]>>,
    confidence: Vec<u8>,
}

impl FrozenSources {
    /// Returns the list with id `id`.
    pub(crate) fn list(&self, id: u32) -> &[IntelSource] {
        self.lists.get(id as usize).map(|l| &l[..]).unwrap_or(&[])
    }

    /// Returns the highest confidence in list `id`.
    pub(crate) fn confidence(&self, id: u32) -> u8 {
        self.confidence.get(id as usize).copied().unwrap_or(0)
    }

    /// Number of distinct lists.
    pub(crate) fn len(&self) -> usize {
        self.lists.len()
    }

    /// Approximate heap bytes held, counting shared strings once.
    pub(crate) fn heap_bytes(&self) -> usize {
        let mut total = self.lists.capacity() * std::mem::size_of::<Arc<[IntelSource]>>() + self.confidence.capacity();
        for list in &self.lists {
            total += list.len() * std::mem::size_of::<IntelSource>();
            for s in list.iter() {
                total += s.provider.capacity() + s.feed.capacity();
                total += s.tlp.as_ref().map_or(0, String::capacity);
                total += s.tags.iter().map(String::capacity).sum::<usize>();
                total += s.description.as_ref().map_or(0, String::capacity);
                total += s.reference.as_ref().map_or(0, String::capacity);
            }
        }
        total
    }
}

fn list_hash(sources: &[IntelSource]) -> u64 {
    let mut h = DefaultHasher::new();
    sources.len().hash(&mut h);
    for s in sources {
        s.provider.hash(&mut h);
        s.feed.hash(&mut h);
        s.confidence.hash(&mut h);
        s.tlp.hash(&mut h);
        s.tags.hash(&mut h);
        s.description.hash(&mut h);
        s.reference.hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(provider: &str, confidence: u8) -> IntelSource {
        IntelSource {
            provider: provider.into(),
            confidence,
            ..IntelSource::default()
        }
    }

    #[test]
    fn equal_lists_share_an_id() {
        let mut table = SourceTable::default();
        let a = table.intern(&[source("a", 50)]).unwrap();
        let b = table.intern(&[source("b", 70)]).unwrap();
        assert_ne!(a, b);
        assert_eq!(table.intern(&[source("a", 50)]), Some(a));
        let ab = table.merge(a, b).unwrap();
        assert_eq!(table.merge(ab, a), Some(ab));
        let frozen = table.freeze();
        assert_eq!(frozen.list(ab).len(), 2);
        assert_eq!(frozen.confidence(ab), 70);
        assert_eq!(frozen.len(), 3);
    }
}
