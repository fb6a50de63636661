//! A keyed table with a hard entry limit, the per-key state of every HTTP
//! detector.

use std::hash::Hash;

use hashbrown::HashMap;

/// A map that never holds more than `capacity` entries.
///
/// Each entry remembers the event time it was last touched. When an insert
/// would exceed the capacity, one sweep removes the least recently touched
/// eighth of the entries (ties broken arbitrarily), so the cost of eviction
/// is amortised to a constant per insert. Memory is `capacity` times the
/// size of a key, a value and 8 bytes of bookkeeping.
#[derive(Debug)]
pub struct BoundedMap<K, V> {
    entries: HashMap<K, (V, i64)>,
    capacity: usize,
    evicted: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    /// An empty table holding at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        BoundedMap {
            entries: HashMap::new(),
            capacity: capacity.max(1),
            evicted: 0,
        }
    }

    /// The entry for `key`, inserted with `make` if absent, touched at `now`
    /// (nanoseconds of event time).
    pub fn entry_or_insert_with(&mut self, key: &K, now: i64, make: impl FnOnce() -> V) -> &mut V {
        if !self.entries.contains_key(key) && self.entries.len() >= self.capacity {
            self.evict_oldest();
        }
        let slot = self
            .entries
            .entry(key.clone())
            .or_insert_with(|| (make(), now));
        slot.1 = slot.1.max(now);
        &mut slot.0
    }

    /// The entry for `key`, without touching it.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(v, _)| v)
    }

    /// The entry for `key`, touched at `now`.
    pub fn get_mut(&mut self, key: &K, now: i64) -> Option<&mut V> {
        self.entries.get_mut(key).map(|slot| {
            slot.1 = slot.1.max(now);
            &mut slot.0
        })
    }

    /// Removes and returns the entry for `key`.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.entries.remove(key).map(|(v, _)| v)
    }

    /// Removes every entry last touched before `cutoff` and hands each to
    /// `expired`.
    pub fn expire_before(&mut self, cutoff: i64, mut expired: impl FnMut(K, V)) {
        let stale: Vec<K> = self
            .entries
            .iter()
            .filter(|(_, (_, touched))| *touched < cutoff)
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            if let Some((value, _)) = self.entries.remove(&key) {
                expired(key, value);
            }
        }
    }

    /// Removes every entry and hands each to `drained`.
    pub fn drain(&mut self, mut drained: impl FnMut(K, V)) {
        for (key, (value, _)) in self.entries.drain() {
            drained(key, value);
        }
    }

    /// Visits every entry mutably, in no particular order.
    pub fn for_each_mut(&mut self, mut visit: impl FnMut(&K, &mut V)) {
        for (key, (value, _)) in self.entries.iter_mut() {
            visit(key, value);
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries removed so far to stay within the capacity.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Iterates over the entries in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, (v, _))| (k, v))
    }

    fn evict_oldest(&mut self) {
        let drop_count = (self.capacity / 8).max(1);
        let mut times: Vec<i64> = self.entries.values().map(|(_, t)| *t).collect();
        let index = drop_count.min(times.len()) - 1;
        let (_, cutoff, _) = times.select_nth_unstable(index);
        let cutoff = *cutoff;

        let mut removed = 0usize;
        self.entries.retain(|_, (_, touched)| {
            if removed < drop_count && *touched <= cutoff {
                removed += 1;
                false
            } else {
                true
            }
        });
        self.evicted += removed as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_never_exceeded() {
        let mut map = BoundedMap::new(16);
        for i in 0..1000i64 {
            *map.entry_or_insert_with(&i, i, || 0) += 1;
            assert!(map.len() <= 16);
        }
        assert!(map.evicted() >= 1000 - 16);
    }

    #[test]
    fn eviction_keeps_recent_entries() {
        let mut map = BoundedMap::new(8);
        for i in 0..8i64 {
            map.entry_or_insert_with(&i, i * 10, || i);
        }
        // Touch key 0 so that it is the most recent.
        map.get_mut(&0, 1000);
        map.entry_or_insert_with(&100, 1001, || 100);
        assert!(map.get(&0).is_some());
        assert!(map.get(&1).is_none());
        assert!(map.get(&100).is_some());
    }

    #[test]
    fn expiry_hands_back_stale_entries() {
        let mut map = BoundedMap::new(8);
        map.entry_or_insert_with(&1, 10, || "old");
        map.entry_or_insert_with(&2, 50, || "new");
        let mut expired = Vec::new();
        map.expire_before(20, |k, v| expired.push((k, v)));
        assert_eq!(expired, vec![(1, "old")]);
        assert_eq!(map.len(), 1);
    }
}
