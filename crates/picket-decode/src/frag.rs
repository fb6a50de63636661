//! IPv4 and IPv6 fragment reassembly (RFC 791 section 3.2, RFC 8200
//! section 4.5) with bounded memory and a packet-time timeout.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::IpAddr;

use picket_event::Timestamp;

/// Identity shared by the fragments of one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragmentKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Identification field (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Protocol number of the payload.
    pub protocol: u8,
}

/// One fragment's place in its datagram.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'a> {
    /// Byte offset of the fragment's data in the datagram payload.
    pub offset: usize,
    /// False for the last fragment.
    pub more: bool,
    /// The fragment's data.
    pub data: &'a [u8],
}

/// Counts of fragment handling, for the run summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FragmentStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped when their timeout passed.
    pub timed_out: u64,
    /// Fragments dropped because a memory or datagram limit was reached, or
    /// because they did not fit the datagram (overlapping the end, past
    /// 65,535 bytes).
    pub dropped: u64,
}

/// A datagram being reassembled.
#[derive(Debug)]
struct Partial {
    data: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    ranges: Vec<(usize, usize)>,
    /// Total length, known once the last fragment arrived.
    total: Option<usize>,
    /// Time of the first fragment, for the timeout.
    first_seen: Timestamp,
}

impl Partial {
    fn complete(&self) -> bool {
        match (self.total, self.ranges.as_slice()) {
            (Some(total), [(0, end)]) => *end >= total,
            _ => false,
        }
    }

    fn add_range(&mut self, start: usize, end: usize) {
        self.ranges.push((start, end));
        self.ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.ranges.len());
        for &(s, e) in &self.ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.ranges = merged;
    }
}

/// Largest datagram payload: the IPv4 total length and the IPv6 payload
/// length are 16-bit fields.
const MAX_DATAGRAM: usize = 65_535;

/// Reassembles fragmented datagrams within memory and time limits.
#[derive(Debug)]
pub struct Defragmenter {
    partials: HashMap<FragmentKey, Partial>,
    held_bytes: usize,
    max_bytes: usize,
    max_datagrams: usize,
    timeout_nanos: i64,
    last_sweep: Timestamp,
    stats: FragmentStats,
}

impl Defragmenter {
    /// Creates a defragmenter holding at most `max_bytes` over at most
    /// `max_datagrams` datagrams, each for at most `timeout` packet time.
    pub fn new(max_bytes: usize, max_datagrams: usize, timeout: std::time::Duration) -> Self {
        Defragmenter {
            partials: HashMap::new(),
            held_bytes: 0,
            max_bytes,
            max_datagrams,
            timeout_nanos: i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX),
            last_sweep: Timestamp::UNIX_EPOCH,
            stats: FragmentStats::default(),
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> FragmentStats {
        self.stats
    }

    /// Adds a fragment; returns the whole datagram payload once complete.
    ///
    /// Where fragments overlap, the bytes received first are kept (the
    /// policy of most BSD stacks and of RFC 5722's advice to drop the rest).
    pub fn add(
        &mut self,
        key: FragmentKey,
        fragment: Fragment<'_>,
        now: Timestamp,
    ) -> Option<Vec<u8>> {
        self.stats.fragments += 1;
        self.expire(now);

        let start = fragment.offset;
        let end = start + fragment.data.len();
        if end > MAX_DATAGRAM {
            self.stats.dropped += 1;
            return None;
        }

        let full = self.partials_full();
        let partial = match self.partials.entry(key) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                if full {
                    self.stats.dropped += 1;
                    return None;
                }
                entry.insert(Partial {
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    first_seen: now,
                })
            }
        };

        if !fragment.more {
            partial.total = Some(end);
        }
        if partial.total.is_some_and(|total| end > total) {
            self.stats.dropped += 1;
            return None;
        }
        let grow = end.saturating_sub(partial.data.len());
        if self.held_bytes + grow > self.max_bytes {
            self.stats.dropped += 1;
            return None;
        }
        if grow > 0 {
            partial.data.resize(end, 0);
            self.held_bytes += grow;
        }

        // Copy only the parts of the fragment not already received.
        let mut cursor = start;
        for &(s, e) in partial.ranges.iter().chain(std::iter::once(&(end, end))) {
            if e <= cursor {
                continue;
            }
            if s > cursor {
                let stop = s.min(end);
                partial.data[cursor..stop]
                    .copy_from_slice(&fragment.data[cursor - start..stop - start]);
            }
            cursor = cursor.max(e);
            if cursor >= end {
                break;
            }
        }
        partial.add_range(start, end);

        if !partial.complete() {
            return None;
        }
        let total = partial.total.unwrap_or(end);
        let done = self.partials.remove(&key)?;
        self.held_bytes -= done.data.len();
        self.stats.reassembled += 1;
        let mut data = done.data;
        data.truncate(total);
        Some(data)
    }

    fn partials_full(&self) -> bool {
        self.partials.len() >= self.max_datagrams
    }

    /// Drops datagrams whose first fragment is older than the timeout;
    /// sweeps at most once per second of packet time.
    fn expire(&mut self, now: Timestamp) {
        let second = 1_000_000_000;
        if self.partials.is_empty() || now.as_nanos() - self.last_sweep.as_nanos() < second {
            return;
        }
        self.last_sweep = now;
        let limit = now.as_nanos().saturating_sub(self.timeout_nanos);
        let mut freed = 0;
        let mut timed_out = 0;
        self.partials.retain(|_, p| {
            let keep = p.first_seen.as_nanos() >= limit;
            if !keep {
                freed += p.data.len();
                timed_out += 1;
            }
            keep
        });
        self.held_bytes -= freed;
        self.stats.timed_out += timed_out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key() -> FragmentKey {
        FragmentKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            id: 7,
            protocol: 17,
        }
    }

    fn frag(offset: usize, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment { offset, more, data }
    }

    #[test]
    fn reassembles_out_of_order_with_overlap() {
        let mut d = Defragmenter::new(1 << 20, 16, Duration::from_secs(30));
        let t = Timestamp::from_nanos(0);
        assert!(d.add(key(), frag(16, false, b"QRSTUVWX"), t).is_none());
        assert!(d.add(key(), frag(8, true, b"IJKLMNOPQR"), t).is_none());
        let whole = d.add(key(), frag(0, true, b"ABCDEFGH"), t).unwrap();
        assert_eq!(whole, b"ABCDEFGHIJKLMNOPQRSTUVWX");
        assert_eq!(d.stats().reassembled, 1);
        assert_eq!(d.held_bytes, 0);
    }

    #[test]
    fn first_bytes_win_on_overlap() {
        let mut d = Defragmenter::new(1 << 20, 16, Duration::from_secs(30));
        let t = Timestamp::from_nanos(0);
        d.add(key(), frag(0, true, b"AAAAAAAA"), t);
        let whole = d.add(key(), frag(4, false, b"BBBBBBBB"), t).unwrap();
        assert_eq!(whole, b"AAAAAAAABBBB");
    }

    #[test]
    fn times_out_and_limits_memory() {
        let mut d = Defragmenter::new(16, 16, Duration::from_secs(30));
        let t0 = Timestamp::from_nanos(0);
        d.add(key(), frag(0, true, b"AAAAAAAA"), t0);
        // Passing the memory limit drops the fragment.
        assert!(d.add(key(), frag(8, true, &[0; 16]), t0).is_none());
        assert_eq!(d.stats().dropped, 1);
        let later = Timestamp::from_nanos(31_000_000_000);
        let mut other = key();
        other.id = 8;
        d.add(other, frag(0, true, b"A"), later);
        assert_eq!(d.stats().timed_out, 1);
        assert!(d.add(key(), frag(8, false, b"BBBBBBBB"), later).is_none());
    }
}
