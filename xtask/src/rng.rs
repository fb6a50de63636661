//! The seeded generator every xtask generator draws from.

/// xorshift64*: small, fast, and enough for synthetic traffic. Not for
/// anything that needs unpredictable numbers.
pub struct Rng(u64);

impl Rng {
    /// Spreads a user seed over the state, so that seeds 1, 2, 3 start far
    /// apart; the same seed always gives the same sequence.
    pub fn seeded(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// Starts from a raw state, which must not be zero.
    pub fn from_state(state: u64) -> Self {
        Rng(state.max(1))
    }

    /// Returns the next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Returns a number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Returns a number in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// Returns one of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
