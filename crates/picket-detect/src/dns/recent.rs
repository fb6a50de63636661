//! A small direct-mapped cache of per-name results, for the work every DNS
//! detector repeats on the same query names (the public-suffix split, the
//! allowlist look-up).
//!
//! Resolver traffic repeats its popular names, so most look-ups are expected
//! to find their slot filled. A slot stores the whole name and is compared
//! with it, so a hit is always the result computed for that exact name. A
//! name that collides with another only evicts it.

use std::hash::BuildHasher;

/// The number of slots of a [`Recent`] cache, a power of two.
pub const SLOTS: usize = 512;

/// A direct-mapped cache from names (and a 64-bit tag, such as the id of the
/// list asked) to small `Copy` values, with [`SLOTS`] slots.
pub struct Recent<V> {
    slots: Vec<Option<(u64, String, V)>>,
}

impl<V: Copy> Recent<V> {
    /// Creates an empty cache.
    pub fn new() -> Self {
        Recent {
            slots: (0..SLOTS).map(|_| None).collect(),
        }
    }

    /// Returns the value stored for `(tag, name)`, computing and storing it
    /// with `compute` when the slot contains another key.
    pub fn get_or_insert(&mut self, tag: u64, name: &str, compute: impl FnOnce() -> V) -> V {
        let index = (HASHER.hash_one((tag, name)) as usize) & (SLOTS - 1);
        let slot = &mut self.slots[index];
        if let Some((held_tag, held, value)) = slot
            && *held_tag == tag
            && held == name
        {
            return *value;
        }

        let value = compute();
        match slot {
            // The slot's string is reused, so a miss allocates only when the
            // new name is longer than every name the slot held before.
            Some((held_tag, held, held_value)) => {
                *held_tag = tag;
                held.clear();
                held.push_str(name);
                *held_value = value;
            }
            None => *slot = Some((tag, name.to_owned(), value)),
        }
        value
    }
}

impl<V: Copy> Default for Recent<V> {
    fn default() -> Self {
        Recent::new()
    }
}

/// Fixed-seeded, so that slot positions repeat between runs.
const HASHER: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x7265_6365_6e74);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_per_name_and_tag() {
        let mut cache = Recent::new();
        let mut calls = 0;
        for _ in 0..3 {
            let value = cache.get_or_insert(1, "www.example.com", || {
                calls += 1;
                7
            });
            assert_eq!(value, 7);
        }
        assert_eq!(calls, 1);
        assert_eq!(
            cache.get_or_insert(2, "www.example.com", || 9),
            9,
            "another tag"
        );
    }

    #[test]
    fn colliding_names_keep_their_own_values() {
        let mut cache = Recent::new();
        // More names than slots: every one must still read back its own value.
        for round in 0..2 {
            for i in 0..(SLOTS * 3) {
                let name = format!("host{i}.example.com");
                assert_eq!(cache.get_or_insert(0, &name, || i), i, "round {round}");
            }
        }
    }
}
