//! Interned source lists: each distinct list of [`IntelSource`]s is stored
//! once and indicators refer to it by a 32-bit id.
//!
//! A feed of a million addresses usually gives every entry the same
//! provider, feed, confidence, TLP and tags, so a million indicators share
//! one list and cost four bytes each for their metadata.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use picket_event::IntelSource;
use picket_intel::Sighting;

/// Largest number of distinct source lists; ids use the low 30 bits of a tag.
pub(crate) const MAX_LISTS: usize = 1 << 30;

/// Every distinct source and every distinct list of them.
///
/// Sources are stored once each and lists as sorted id lists, so that the
/// many combinations repeated values from several feeds create cost a few
/// bytes each.
#[derive(Debug, Default)]
pub(crate) struct SourceTable {
    sources: Vec<IntelSource>,
    source_ids: HashMap<u64, Vec<u32>>,
    lists: Vec<Box<[u32]>>,
    list_ids: HashMap<Box<[u32]>, u32>,
    last: Option<u32>,
}

impl SourceTable {
    /// Returns the id of one source, adding it when new.
    fn source_id(&mut self, source: &IntelSource) -> u32 {
        let key = source_hash(source);
        if let Some(ids) = self.source_ids.get(&key)
            && let Some(&id) = ids.iter().find(|&&id| self.sources[id as usize] == *source)
        {
            return id;
        }
        let id = self.sources.len() as u32;
        self.sources.push(source.clone());
        self.source_ids.entry(key).or_default().push(id);
        id
    }

    /// Returns the id of a list of source ids, adding it when new, or
    /// `None` once [`MAX_LISTS`] lists exist.
    fn list_id(&mut self, mut ids: Vec<u32>) -> Option<u32> {
        ids.sort_unstable();
        ids.dedup();
        if let Some(&id) = self.list_ids.get(ids.as_slice()) {
            self.last = Some(id);
            return Some(id);
        }
        if self.lists.len() >= MAX_LISTS {
            return None;
        }
        let id = u32::try_from(self.lists.len()).ok()?;
        let ids: Box<[u32]> = ids.into_boxed_slice();
        self.lists.push(ids.clone());
        self.list_ids.insert(ids, id);
        self.last = Some(id);
        Some(id)
    }

    /// Returns the id of `sources`, adding the list when it is new, or `None` once
    /// [`MAX_LISTS`] lists exist.
    #[cfg(test)]
    pub(crate) fn intern(&mut self, sources: &[IntelSource]) -> Option<u32> {
        let ids = sources.iter().map(|s| self.source_id(s)).collect();
        self.list_id(ids)
    }

    /// Returns the id of the sources of `sightings`; the common case, the
    /// same sources as the previous indicator, allocates nothing.
    pub(crate) fn intern_sightings(&mut self, sightings: &[Sighting]) -> Option<u32> {
        if let Some(last) = self.last {
            let list = &self.lists[last as usize];
            let same = list.len() == sightings.len()
                && sightings
                    .iter()
                    .all(|s| list.iter().any(|&id| self.sources[id as usize] == s.source))
                && list.iter().all(|&id| {
                    sightings
                        .iter()
                        .any(|s| self.sources[id as usize] == s.source)
                });
            if same {
                return Some(last);
            }
        }
        let ids = sightings
            .iter()
            .map(|s| self.source_id(&s.source))
            .collect();
        self.list_id(ids)
    }

    /// Returns the id of the union of two lists.
    pub(crate) fn merge(&mut self, a: u32, b: u32) -> Option<u32> {
        if a == b {
            return Some(a);
        }
        let mut ids = self.lists[a as usize].to_vec();
        ids.extend_from_slice(&self.lists[b as usize]);
        self.list_id(ids)
    }

    /// Drops the build-time indexes and flattens the lists.
    pub(crate) fn freeze(self) -> FrozenSources {
        let mut offsets = Vec::with_capacity(self.lists.len() + 1);
        let mut items = Vec::new();
        let mut confidence = Vec::with_capacity(self.lists.len());
        for list in &self.lists {
            offsets.push(items.len() as u32);
            items.extend_from_slice(list);
            let best = list
                .iter()
                .map(|&id| self.sources[id as usize].confidence)
                .max()
                .unwrap_or(0);
            confidence.push(best);
        }
        offsets.push(items.len() as u32);
        let mut sources = self.sources;
        sources.shrink_to_fit();
        FrozenSources {
            sources,
            offsets,
            items,
            confidence,
        }
    }
}

/// The source lists of a built matcher.
#[derive(Debug, Default)]
pub(crate) struct FrozenSources {
    sources: Vec<IntelSource>,
    offsets: Vec<u32>,
    items: Vec<u32>,
    confidence: Vec<u8>,
}

impl FrozenSources {
    /// Returns clones of the sources of list `id`, for a hit.
    pub(crate) fn list(&self, id: u32) -> Vec<IntelSource> {
        let id = id as usize;
        let (Some(&from), Some(&to)) = (self.offsets.get(id), self.offsets.get(id + 1)) else {
            return Vec::new();
        };
        self.items[from as usize..to as usize]
            .iter()
            .filter_map(|&s| self.sources.get(s as usize).cloned())
            .collect()
    }

    /// Returns the highest confidence in list `id`.
    pub(crate) fn confidence(&self, id: u32) -> u8 {
        self.confidence.get(id as usize).copied().unwrap_or(0)
    }

    /// Number of distinct lists.
    pub(crate) fn len(&self) -> usize {
        self.confidence.len()
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        let mut total = self.sources.capacity() * std::mem::size_of::<IntelSource>()
            + self.offsets.capacity() * 4
            + self.items.capacity() * 4
            + self.confidence.capacity();
        for s in &self.sources {
            total += s.provider.capacity() + s.feed.capacity();
            total += s.tlp.as_ref().map_or(0, String::capacity);
            total += s.tags.iter().map(|t| t.capacity() + 24).sum::<usize>();
            total += s.description.as_ref().map_or(0, String::capacity);
            total += s.reference.as_ref().map_or(0, String::capacity);
        }
        total
    }
}

fn source_hash(s: &IntelSource) -> u64 {
    let mut h = DefaultHasher::new();
    s.provider.hash(&mut h);
    s.feed.hash(&mut h);
    s.confidence.hash(&mut h);
    s.tlp.hash(&mut h);
    s.tags.hash(&mut h);
    s.description.hash(&mut h);
    s.reference.hash(&mut h);
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
