//! A keyed state table with a size bound and eviction by event time.

use std::hash::Hash;

use hashbrown::HashMap;
use picket_event::Timestamp;

/// Per-key state with a capacity and an idle timeout, both on event time.
///
/// When an insert would pass the capacity, entries idle for longer than the
/// timeout go first; if that frees less than an eighth of the capacity, the
/// least recently seen half goes too. Eviction is amortised: a sweep costs
/// O(len) and frees at least `capacity / 8` slots.
#[derive(Debug)]
pub struct BoundedTable<K, V> {
    map: HashMap<K, Slot<V>>,
    capacity: usize,
    idle_nanos: i64,
    evicted: u64,
}

#[derive(Debug)]
struct Slot<V> {
    last_seen: Timestamp,
    value: V,
}

impl<K: Hash + Eq, V> BoundedTable<K, V> {
    /// Creates an empty table holding at most `capacity` keys (at least 2), evicting
    /// keys idle for more than `idle_secs` seconds first.
    pub fn new(capacity: usize, idle_secs: u64) -> Self {
        BoundedTable {
            map: HashMap::new(),
            capacity: capacity.max(2),
            idle_nanos: i64::try_from(idle_secs.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX),
            evicted: 0,
        }
    }

    /// Returns the state of `key`, created by `create` when absent, and
    /// marks the key seen at `now`.
    pub fn entry(&mut self, key: K, now: Timestamp, create: impl FnOnce() -> V) -> &mut V {
        self.entry_evicting(key, now, create, |_, _| {})
    }

    /// Returns the state of `key` like [`entry`](Self::entry), and passes
    /// each key evicted to make room, with its state, to `evicted`.
    pub fn entry_evicting(
        &mut self,
        key: K,
        now: Timestamp,
        create: impl FnOnce() -> V,
        evicted: impl FnMut(K, V),
    ) -> &mut V {
        // Only a full table needs the extra look-up.
        if self.map.len() >= self.capacity && !self.map.contains_key(&key) {
            self.evict(now, evicted);
        }
        let slot = self.map.entry(key).or_insert_with(|| Slot {
            last_seen: now,
            value: create(),
        });
        if now > slot.last_seen {
            slot.last_seen = now;
        }
        &mut slot.value
    }

    /// Returns the state of `key`, when present, without marking it seen.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|slot| &slot.value)
    }

    /// Removes every entry, passing each value to `drain`.
    pub fn drain(&mut self, mut drain: impl FnMut(K, V)) {
        for (key, slot) in self.map.drain() {
            drain(key, slot.value);
        }
    }

    /// Keys currently held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keys evicted so far to respect the capacity.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    fn evict(&mut self, now: Timestamp, mut evicted: impl FnMut(K, V)) {
        let before = self.map.len();
        let idle = self.idle_nanos;
        for (key, slot) in self
            .map
            .extract_if(|_, slot| now.nanos_since(slot.last_seen) > idle)
        {
            evicted(key, slot.value);
        }

        if before - self.map.len() < (self.capacity / 8).max(1) {
            let mut seen: Vec<Timestamp> = self.map.values().map(|slot| slot.last_seen).collect();
            let middle = seen.len() / 2;
            let (_, median, _) = seen.select_nth_unstable(middle);
            let median = *median;
            for (key, slot) in self.map.extract_if(|_, slot| slot.last_seen <= median) {
                evicted(key, slot.value);
            }
        }
        self.evicted += (before - self.map.len()) as u64;
    }
}

impl<K: Hash + Eq> BoundedTable<K, Timestamp> {
    /// Tells whether an alert for `key` at `now` repeats one reported less
    /// than the idle timeout before, and so stays quiet. Otherwise records
    /// `now` as the key's report time: a pair seen for days is reported
    /// again once per timeout, not once for as long as it stays in the
    /// table.
    pub fn reported_recently(&mut self, key: K, now: Timestamp) -> bool {
        let idle = self.idle_nanos;
        let mut new_key = false;
        let reported_at = self.entry(key, now, || {
            new_key = true;
            now
        });
        if !new_key && now.nanos_since(*reported_at) <= idle {
            return true;
        }
        *reported_at = now;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_nanos(secs * 1_000_000_000)
    }

    #[test]
    fn never_exceeds_capacity() {
        let mut table = BoundedTable::new(100, 3600);
        for i in 0..10_000u32 {
            *table.entry(i, at(i64::from(i)), || 0u32) += 1;
            assert!(table.len() <= 100);
        }
        assert!(table.evicted() >= 9_900);
        assert!(table.get(&9_999).is_some(), "the newest key survives");
    }

    #[test]
    fn idle_keys_go_first() {
        let mut table = BoundedTable::new(4, 10);
        table.entry("old", at(0), || 1);
        table.entry("a", at(100), || 1);
        table.entry("b", at(100), || 1);
        table.entry("c", at(100), || 1);
        table.entry("d", at(101), || 1);
        assert!(table.get(&"old").is_none());
        assert!(table.get(&"a").is_some());
    }

    #[test]
    fn report_repeats_once_per_timeout() {
        let mut table = BoundedTable::new(16, 100);
        assert!(!table.reported_recently("pair", at(0)));
        assert!(table.reported_recently("pair", at(50)));
        assert!(table.reported_recently("pair", at(100)));
        // Sightings in between do not extend the quiet time.
        assert!(!table.reported_recently("pair", at(101)));
        assert!(table.reported_recently("pair", at(150)));
        assert!(!table.reported_recently("other", at(150)));
    }

    #[test]
    fn evicted_state_is_handed_over() {
        let mut table = BoundedTable::new(4, 10);
        let mut handed = Vec::new();
        for (i, key) in ["old", "a", "b", "c"].into_iter().enumerate() {
            table.entry(key, at(if i == 0 { 0 } else { 100 }), || i);
        }
        table.entry_evicting("d", at(101), || 4, |key, value| handed.push((key, value)));
        assert_eq!(handed, vec![("old", 0)]);
        assert_eq!(table.len(), 4);
    }
}
