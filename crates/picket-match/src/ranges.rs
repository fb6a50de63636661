//! Networks and address ranges: every indicator containing an address,
//! most specific first.
//!
//! The address space is cut at every network's first address and at the
//! address after its last, into segments that no network boundary crosses.
//! Each segment keeps the list of networks that cover it, sorted by size
//! (smallest first, whitelist entries first among equals). A lookup finds
//! the segment by a directory over the top address bits and a short binary
//! search, then reads the list: one or two cache misses whatever the number
//! of networks, and longest-prefix order for free.
//!
//! Cost: per network its item (16 bytes for IPv4, 48 for IPv6), up to two
//! segment starts with their list offsets, and one pool slot per segment it
//! covers. Nested CIDR networks cover at most 33 (IPv4) or 129 (IPv6)
//! distinct prefixes per point. Overlapping ranges can cover many more, so
//! the pool is capped by [`crate::MatcherSettings::max_range_pool`].

use crate::keys::FixedKey;
use crate::strset::{bucket, directory, directory_bits};
use crate::tag::{self, Tag};

/// An address type: IPv4 as `u32`, IPv6 as `u128`.
pub(crate) trait Addr: FixedKey + std::fmt::Debug {
    /// The lowest address.
    const ZERO: Self;
    /// Returns the next address, or `None` after the highest.
    fn next(self) -> Option<Self>;
    /// `last - first`, as a size measure for ordering.
    fn span(first: Self, last: Self) -> u128;
}

impl Addr for u32 {
    const ZERO: Self = 0;
    fn next(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn span(first: Self, last: Self) -> u128 {
        u128::from(last.saturating_sub(first))
    }
}

impl Addr for u128 {
    const ZERO: Self = 0;
    fn next(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn span(first: Self, last: Self) -> u128 {
        last.saturating_sub(first)
    }
}

/// One network or range indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RangeItem<A> {
    /// First address covered.
    pub first: A,
    /// Last address covered, inclusive.
    pub last: A,
    /// Source list and flags.
    pub tag: Tag,
    /// Prefix length of a CIDR network, or [`RANGE`] for a `first-last` range.
    pub prefix: u8,
}

/// [`RangeItem::prefix`] of an indicator given as a range.
pub(crate) const RANGE: u8 = u8::MAX;

/// The immutable table.
#[derive(Debug)]
pub(crate) struct Ranges<A> {
    bits: u32,
    dir: Vec<u32>,
    starts: Vec<A>,
    seg: Vec<u32>,
    pool: Vec<u32>,
    items: Vec<RangeItem<A>>,
    dropped: usize,
}

impl<A> Default for Ranges<A> {
    fn default() -> Self {
        Ranges {
            bits: 0,
            dir: Vec::new(),
            starts: Vec::new(),
            seg: Vec::new(),
            pool: Vec::new(),
            items: Vec::new(),
            dropped: 0,
        }
    }
}

impl<A: Addr> Ranges<A> {
    /// Lays out the table. Items with equal extent, kind and whitelist flag
    /// are merged with `merge(old, new)`. When the segment lists would need
    /// more than `max_pool` slots, the widest items are left out and counted
    /// in [`Ranges::dropped`].
    pub(crate) fn build(
        mut items: Vec<RangeItem<A>>,
        max_pool: usize,
        mut merge: impl FnMut(Tag, Tag) -> Tag,
    ) -> Self {
        items.retain(|it| it.first <= it.last);
        items.sort_unstable_by(|a, b| {
            A::span(a.first, a.last)
                .cmp(&A::span(b.first, b.last))
                .then_with(|| tag::is_allow(b.tag).cmp(&tag::is_allow(a.tag)))
                .then_with(|| a.first.cmp(&b.first))
                .then_with(|| a.prefix.cmp(&b.prefix))
        });
        let mut merged: Vec<RangeItem<A>> = Vec::with_capacity(items.len());
        for it in items {
            if let Some(prev) = merged.last_mut()
                && prev.first == it.first
                && prev.last == it.last
                && prev.prefix == it.prefix
                && tag::is_allow(prev.tag) == tag::is_allow(it.tag)
            {
                prev.tag = merge(prev.tag, it.tag);
                continue;
            }
            merged.push(it);
        }
        let mut items = merged;

        let mut starts = boundaries(&items);
        let mut spans: Vec<(usize, usize)> =
            items.iter().map(|it| segment_span(&starts, it)).collect();

        let mut total = 0usize;
        let mut keep = items.len();
        for (i, (s, e)) in spans.iter().enumerate() {
            total += e - s;
            if total > max_pool {
                keep = i;
                break;
            }
        }
        let dropped = items.len() - keep;
        if dropped > 0 {
            items.truncate(keep);
            starts = boundaries(&items);
            spans = items.iter().map(|it| segment_span(&starts, it)).collect();
        }

        let mut counts = vec![0i64; starts.len() + 1];
        for &(s, e) in &spans {
            counts[s] += 1;
            counts[e] -= 1;
        }
        let mut seg = Vec::with_capacity(starts.len() + 1);
        let mut running = 0i64;
        let mut offset = 0u32;
        for c in counts.iter().take(starts.len()) {
            seg.push(offset);
            running += c;
            offset = offset.saturating_add(u32::try_from(running).unwrap_or(u32::MAX));
        }
        seg.push(offset);

        let mut cursor: Vec<u32> = seg[..starts.len()].to_vec();
        let mut pool = vec![0u32; offset as usize];
        for (id, &(s, e)) in spans.iter().enumerate() {
            for c in &mut cursor[s..e] {
                pool[*c as usize] = id as u32;
                *c += 1;
            }
        }

        let bits = directory_bits(starts.len());
        let dir = directory(starts.iter().map(FixedKey::top), starts.len(), bits);
        items.shrink_to_fit();
        Ranges {
            bits,
            dir,
            starts,
            seg,
            pool,
            items,
            dropped,
        }
    }

    /// Calls `found` for every indicator containing `addr`, most specific
    /// first, stopping before the first whitelist entry met.
    #[inline]
    pub(crate) fn find(&self, addr: A, mut found: impl FnMut(&RangeItem<A>)) {
        if self.items.is_empty() {
            return;
        }
        let b = bucket(addr.top(), self.bits);
        let (lo, hi) = (self.dir[b] as usize, self.dir[b + 1] as usize);
        let i = lo + self.starts[lo..hi].partition_point(|s| *s <= addr);
        let segment = i.saturating_sub(1);
        let (from, to) = (self.seg[segment] as usize, self.seg[segment + 1] as usize);
        for &id in &self.pool[from..to] {
            let item = &self.items[id as usize];
            if tag::is_allow(item.tag) {
                return;
            }
            found(item);
        }
    }

    /// Number of distinct indicators kept.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Returns every kept indicator.
    pub(crate) fn items(&self) -> &[RangeItem<A>] {
        &self.items
    }

    /// Indicators left out because of the pool limit.
    pub(crate) fn dropped(&self) -> usize {
        self.dropped
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.dir.capacity() * 4
            + self.starts.capacity() * std::mem::size_of::<A>()
            + self.seg.capacity() * 4
            + self.pool.capacity() * 4
            + self.items.capacity() * std::mem::size_of::<RangeItem<A>>()
    }
}

/// Sorted distinct segment starts: zero, every first address and every
/// address after a last one.
fn boundaries<A: Addr>(items: &[RangeItem<A>]) -> Vec<A> {
    let mut starts: Vec<A> = Vec::with_capacity(items.len() * 2 + 1);
    starts.push(A::ZERO);
    for it in items {
        starts.push(it.first);
        if let Some(next) = it.last.next() {
            starts.push(next);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts.shrink_to_fit();
    starts
}

/// Returns the segments `[s, e)` an item covers.
fn segment_span<A: Addr>(starts: &[A], it: &RangeItem<A>) -> (usize, usize) {
    let s = starts.partition_point(|x| *x < it.first);
    let e = match it.last.next() {
        Some(next) => starts.partition_point(|x| *x < next),
        None => starts.len(),
    };
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(first: u32, bits: u8, tag: Tag) -> RangeItem<u32> {
        let size = 1u64 << (32 - u32::from(bits));
        RangeItem {
            first,
            last: (u64::from(first) + size - 1) as u32,
            tag,
            prefix: bits,
        }
    }

    fn found(r: &Ranges<u32>, addr: u32) -> Vec<Tag> {
        let mut v = Vec::new();
        r.find(addr, |it| v.push(it.tag));
        v
    }

    #[test]
    fn nested_networks_most_specific_first() {
        let items = vec![
            net(0x0a00_0000, 8, 1),
            net(0x0a01_0000, 16, 2),
            net(0x0a01_0200, 24, 3),
            net(0, 0, 4),
        ];
        let r = Ranges::build(items, usize::MAX, |a, _| a);
        assert_eq!(found(&r, 0x0a01_0203), vec![3, 2, 1, 4]);
        assert_eq!(found(&r, 0x0a01_0303), vec![2, 1, 4]);
        assert_eq!(found(&r, 0x0b00_0000), vec![4]);
        assert_eq!(found(&r, u32::MAX), vec![4]);
    }

    #[test]
    fn whitelist_stops_less_specific() {
        let items = vec![
            net(0x0a00_0000, 8, 1),
            net(0x0a01_0000, 16, 2 | tag::ALLOW),
            net(0x0a01_0200, 24, 3),
        ];
        let r = Ranges::build(items, usize::MAX, |a, _| a);
        assert_eq!(found(&r, 0x0a01_0203), vec![3]);
        assert_eq!(found(&r, 0x0a01_0303), Vec::<Tag>::new());
        assert_eq!(found(&r, 0x0a02_0000), vec![1]);
    }

    #[test]
    fn pool_limit_drops_the_widest() {
        let items = vec![net(0x0a00_0000, 8, 1), net(0x0a01_0000, 16, 2)];
        let r = Ranges::build(items, 1, |a, _| a);
        assert_eq!(r.dropped(), 1);
        assert_eq!(found(&r, 0x0a01_0000), vec![2]);
        assert_eq!(found(&r, 0x0a02_0000), Vec::<Tag>::new());
    }
}
