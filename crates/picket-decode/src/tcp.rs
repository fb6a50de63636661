//! TCP stream reassembly for one direction of a connection (RFC 9293
//! section 3.4 sequence numbers): in-order delivery, out-of-order buffering
//! within limits, retransmission and overlap checks, gaps.

use std::collections::BTreeMap;

/// A piece of the reassembled stream handed to the application parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// The next bytes of the stream.
    Data(&'a [u8]),
    /// This many bytes are missing and will never arrive.
    Gap(u64),
}

/// Problems seen while reassembling, to flag on the flow's next event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamFlags {
    /// Bytes were skipped (a hole that never filled).
    pub gap: bool,
    /// A retransmission or overlap carried bytes different from the first copy.
    pub overlap_mismatch: bool,
    /// A memory limit dropped data or forced a gap.
    pub limit: bool,
}

impl StreamFlags {
    fn merge(&mut self, other: StreamFlags) {
        self.gap |= other.gap;
        self.overlap_mismatch |= other.overlap_mismatch;
        self.limit |= other.limit;
    }
}

/// Memory shared by all streams: the bytes buffered out of order right now.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Bytes held over all streams.
    pub held: usize,
    /// The limit over all streams.
    pub max_total: usize,
    /// The limit per stream.
    pub max_stream: usize,
}

/// Bytes of recently delivered data kept per stream to compare
/// retransmissions against; one full-size segment and then some.
pub const RECENT_WINDOW: usize = 4096;

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Stream {
    /// Whether the initial sequence number is known.
    started: bool,
    /// Sequence number of the next byte to deliver.
    next_seq: u32,
    /// Stream position of the next byte to deliver (bytes delivered or
    /// skipped so far).
    delivered: u64,
    /// Segments ahead of `delivered`, by stream position.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// Ring of the last delivered bytes, indexed by position modulo its size;
    /// allocated on first delivery.
    recent: Vec<u8>,
    /// First position whose byte is still in `recent`.
    recent_from: u64,
    /// Stream position of the FIN, once seen.
    fin_at: Option<u64>,
}

impl Stream {
    /// Reports whether all data up to the FIN was delivered.
    pub fn finished(&self) -> bool {
        self.fin_at.is_some_and(|fin| self.delivered >= fin)
    }

    /// Bytes delivered or skipped so far.
    pub fn position(&self) -> u64 {
        self.delivered
    }

    /// Bytes buffered out of order.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Records a SYN: the stream starts after its sequence number.
    pub fn syn(&mut self, seq: u32) {
        if !self.started {
            self.started = true;
            self.next_seq = seq.wrapping_add(1);
        }
    }

    /// Signed distance from the next expected byte to `seq`.
    fn distance(&self, seq: u32) -> i64 {
        i64::from(seq.wrapping_sub(self.next_seq) as i32)
    }

    /// Adds a segment and delivers whatever became contiguous.
    pub fn segment(
        &mut self,
        seq: u32,
        data: &[u8],
        fin: bool,
        budget: &mut Budget,
        sink: &mut impl FnMut(Chunk<'_>),
    ) -> StreamFlags {
        let mut flags = StreamFlags::default();
        if !self.started {
            // Picked up mid-stream: start at the first byte seen.
            self.started = true;
            self.next_seq = seq;
        }

        let distance = self.distance(seq);
        if fin {
            let end = self.delivered as i64 + distance + data.len() as i64;
            if end >= 0 && self.fin_at.is_none() {
                self.fin_at = Some(end as u64);
            }
        }
        if data.is_empty() {
            return flags;
        }

        // Part or all of the segment was already delivered: compare it with
        // what was, then keep only the new part.
        let mut data = data;
        let mut distance = distance;
        if distance < 0 {
            let old = (-distance) as usize;
            let overlap = old.min(data.len());
            // Bytes from before the stream's start cannot be compared.
            let start = self.delivered.checked_sub(old as u64);
            if start.is_some_and(|start| !self.matches_recent(start, &data[..overlap])) {
                flags.overlap_mismatch = true;
            }
            if old >= data.len() {
                return flags;
            }
            data = &data[old..];
            distance = 0;
        }

        if distance == 0 {
            self.deliver(data, sink);
            flags.merge(self.drain(budget, sink));
            return flags;
        }

        // Ahead of the next expected byte: buffer it.
        let position = self.delivered + distance as u64;
        flags.merge(self.buffer(position, data, budget, sink));
        flags
    }

    /// Notes the peer's acknowledgement: data it acknowledged that was never
    /// seen will not be retransmitted, so holes before it are gaps.
    pub fn acked(
        &mut self,
        ack: u32,
        budget: &mut Budget,
        sink: &mut impl FnMut(Chunk<'_>),
    ) -> StreamFlags {
        let mut flags = StreamFlags::default();
        if !self.started || self.pending.is_empty() {
            return flags;
        }
        let distance = self.distance(ack);
        if distance <= 0 {
            return flags;
        }
        let acked_to = self.delivered + distance as u64;
        if let Some((&first, _)) = self.pending.first_key_value()
            && first < acked_to
            && first > self.delivered
        {
            self.skip_to(first, sink);
            flags.gap = true;
            flags.merge(self.drain(budget, sink));
        }
        flags
    }

    /// Delivers everything buffered, skipping the holes; used when the
    /// connection closes or the input ends.
    pub fn flush(&mut self, budget: &mut Budget, sink: &mut impl FnMut(Chunk<'_>)) -> StreamFlags {
        let mut flags = StreamFlags::default();
        while let Some((&first, _)) = self.pending.first_key_value() {
            if first > self.delivered {
                self.skip_to(first, sink);
                flags.gap = true;
            }
            flags.merge(self.drain(budget, sink));
        }
        flags
    }

    /// Releases the buffered bytes from the shared budget; for a stream
    /// that is being dropped.
    pub fn release(&mut self, budget: &mut Budget) {
        budget.held -= self.pending_bytes;
        self.pending_bytes = 0;
        self.pending.clear();
    }

    fn buffer(
        &mut self,
        position: u64,
        data: &[u8],
        budget: &mut Budget,
        sink: &mut impl FnMut(Chunk<'_>),
    ) -> StreamFlags {
        let mut flags = StreamFlags::default();
        if let Some(existing) = self.pending.get(&position) {
            // A retransmission of a buffered segment: compare and keep the longer.
            let common = existing.len().min(data.len());
            if existing[..common] != data[..common] {
                flags.overlap_mismatch = true;
            }
            if existing.len() >= data.len() {
                return flags;
            }
        }

        // Over the per-stream limit: give up on the oldest hole.
        while self.pending_bytes + data.len() > budget.max_stream {
            let Some((&first, _)) = self.pending.first_key_value() else {
                break;
            };
            flags.limit = true;
            flags.gap = true;
            self.skip_to(first, sink);
            flags.merge(self.drain(budget, sink));
        }
        if position <= self.delivered {
            // The forced gap reached this segment's start or moved past it.
            let skip = (self.delivered - position) as usize;
            if skip < data.len() {
                self.deliver(&data[skip..], sink);
                flags.merge(self.drain(budget, sink));
            }
            return flags;
        }
        if data.len() > budget.max_stream || budget.held + data.len() > budget.max_total {
            flags.limit = true;
            return flags;
        }

        let previous = self.pending.insert(position, data.to_vec());
        let freed = previous.map_or(0, |p| p.len());
        self.pending_bytes = self.pending_bytes + data.len() - freed;
        budget.held = budget.held + data.len() - freed;
        flags
    }

    /// Delivers buffered segments that became contiguous.
    fn drain(&mut self, budget: &mut Budget, sink: &mut impl FnMut(Chunk<'_>)) -> StreamFlags {
        let mut flags = StreamFlags::default();
        while let Some(entry) = self.pending.first_entry() {
            let position = *entry.key();
            if position > self.delivered {
                break;
            }
            let data = entry.remove();
            self.pending_bytes -= data.len();
            budget.held -= data.len();

            let old = (self.delivered - position) as usize;
            let overlap = old.min(data.len());
            if !self.matches_recent(position, &data[..overlap]) {
                flags.overlap_mismatch = true;
            }
            if old < data.len() {
                self.deliver(&data[old..], sink);
            }
        }
        flags
    }

    fn deliver(&mut self, data: &[u8], sink: &mut impl FnMut(Chunk<'_>)) {
        sink(Chunk::Data(data));
        self.remember(data);
        self.delivered += data.len() as u64;
        self.next_seq = self.next_seq.wrapping_add(data.len() as u32);
    }

    fn skip_to(&mut self, position: u64, sink: &mut impl FnMut(Chunk<'_>)) {
        let missing = position - self.delivered;
        sink(Chunk::Gap(missing));
        self.delivered = position;
        self.next_seq = self.next_seq.wrapping_add(missing as u32);
        self.recent_from = position;
    }

    /// Copies delivered bytes into the ring of recent data.
    fn remember(&mut self, data: &[u8]) {
        if self.recent.is_empty() {
            self.recent = vec![0; RECENT_WINDOW];
        }
        let tail = &data[data.len().saturating_sub(RECENT_WINDOW)..];
        let start = self.delivered + (data.len() - tail.len()) as u64;
        let at = (start % RECENT_WINDOW as u64) as usize;
        let first = tail.len().min(RECENT_WINDOW - at);
        self.recent[at..at + first].copy_from_slice(&tail[..first]);
        self.recent[..tail.len() - first].copy_from_slice(&tail[first..]);
        let end = self.delivered + data.len() as u64;
        self.recent_from = self
            .recent_from
            .max(end.saturating_sub(RECENT_WINDOW as u64));
    }

    /// Reports whether `data` equals the bytes delivered at stream position
    /// `start`. Bytes no longer in the ring count as equal.
    fn matches_recent(&self, start: u64, data: &[u8]) -> bool {
        if self.recent.is_empty() {
            return true;
        }
        let from = start.max(self.recent_from);
        let skip = (from - start.min(from)) as usize;
        if skip >= data.len() {
            return true;
        }
        data[skip..].iter().enumerate().all(|(i, &byte)| {
            let at = ((from + i as u64) % RECENT_WINDOW as u64) as usize;
            self.recent[at] == byte
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            held: 0,
            max_total: 1 << 20,
            max_stream: 1 << 16,
        }
    }

    /// Feeds segments and returns the stream as text, gaps as `_`.
    fn run(segments: &[(u32, &[u8])], flush: bool) -> (String, StreamFlags) {
        let mut s = Stream::default();
        let mut b = budget();
        let mut out = String::new();
        let mut sink = |c: Chunk<'_>| match c {
            Chunk::Data(d) => out.push_str(std::str::from_utf8(d).unwrap()),
            Chunk::Gap(n) => out.push_str(&"_".repeat(n as usize)),
        };
        s.syn(999);
        let mut flags = StreamFlags::default();
        for (seq, data) in segments {
            flags.merge(s.segment(*seq, data, false, &mut b, &mut sink));
        }
        if flush {
            flags.merge(s.flush(&mut b, &mut sink));
        }
        assert_eq!(b.held, s.pending_bytes);
        (out, flags)
    }

    #[test]
    fn in_order_and_out_of_order() {
        let (text, flags) = run(&[(1000, b"abc"), (1006, b"ghi"), (1003, b"def")], false);
        assert_eq!(text, "abcdefghi");
        assert_eq!(flags, StreamFlags::default());
    }

    #[test]
    fn identical_retransmission_is_silent() {
        let (text, flags) = run(&[(1000, b"abcdef"), (1002, b"cdefgh")], false);
        assert_eq!(text, "abcdefgh");
        assert!(!flags.overlap_mismatch);
    }

    #[test]
    fn differing_retransmission_is_flagged() {
        let (text, flags) = run(&[(1000, b"abcdef"), (1002, b"XXefgh")], false);
        assert_eq!(text, "abcdefgh");
        assert!(flags.overlap_mismatch);
    }

    #[test]
    fn hole_becomes_gap_on_flush() {
        let (text, flags) = run(&[(1000, b"abc"), (1006, b"ghi")], true);
        assert_eq!(text, "abc___ghi");
        assert!(flags.gap);
    }

    #[test]
    fn sequence_wraps() {
        let mut s = Stream::default();
        let mut b = budget();
        let mut out = Vec::new();
        let mut sink = |c: Chunk<'_>| {
            if let Chunk::Data(d) = c {
                out.extend_from_slice(d)
            }
        };
        s.syn(u32::MAX - 2);
        s.segment(u32::MAX - 1, b"ab", false, &mut b, &mut sink);
        s.segment(1, b"d", false, &mut b, &mut sink);
        s.segment(0, b"c", false, &mut b, &mut sink);
        assert_eq!(out, b"abcd");
    }

    #[test]
    fn per_stream_limit_forces_gap() {
        let mut s = Stream::default();
        let mut b = Budget {
            held: 0,
            max_total: 1 << 20,
            max_stream: 8,
        };
        let mut text = String::new();
        let mut sink = |c: Chunk<'_>| match c {
            Chunk::Data(d) => text.push_str(std::str::from_utf8(d).unwrap()),
            Chunk::Gap(n) => text.push_str(&"_".repeat(n as usize)),
        };
        s.syn(0);
        s.segment(1, b"a", false, &mut b, &mut sink);
        s.segment(3, b"cdefg", false, &mut b, &mut sink);
        let flags = s.segment(8, b"hijkl", false, &mut b, &mut sink);
        assert!(flags.limit);
        assert!(flags.gap);
        assert_eq!(text, "a_cdefghijkl");
        assert_eq!(b.held, 0);
    }

    #[test]
    fn ack_past_a_hole_declares_gap() {
        let mut s = Stream::default();
        let mut b = budget();
        let mut text = String::new();
        let mut sink = |c: Chunk<'_>| match c {
            Chunk::Data(d) => text.push_str(std::str::from_utf8(d).unwrap()),
            Chunk::Gap(n) => text.push_str(&"_".repeat(n as usize)),
        };
        s.syn(0);
        s.segment(1, b"ab", false, &mut b, &mut sink);
        s.segment(5, b"ef", false, &mut b, &mut sink);
        let flags = s.acked(7, &mut b, &mut sink);
        assert!(flags.gap);
        assert_eq!(text, "ab__ef");
    }
}
