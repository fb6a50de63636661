//! DNS over TCP (RFC 1035 section 4.2.2, RFC 7766): each message follows a
//! two-byte length; several may share a segment and one may span several.

/// Splits one direction of a DNS-over-TCP stream into messages.
#[derive(Debug, Default)]
pub struct DnsTcpFramer {
    /// A message (or its length prefix) carried over from earlier segments.
    partial: Vec<u8>,
    /// After a gap the framing is lost; the rest of the stream is skipped.
    lost: bool,
}

impl DnsTcpFramer {
    /// Feeds stream bytes; calls `message` for every complete message,
    /// without its length prefix. Messages longer than `max` are skipped.
    pub fn data(&mut self, mut data: &[u8], max: usize, message: &mut impl FnMut(&[u8])) {
        if self.lost {
            return;
        }

        // Finish the message carried over, if any: first its prefix, then
        // its body.
        if !self.partial.is_empty() {
            if self.partial.len() < 2 {
                let take = (2 - self.partial.len()).min(data.len());
                self.partial.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.partial.len() < 2 {
                    return;
                }
            }
            let len = usize::from(u16::from_be_bytes([self.partial[0], self.partial[1]]));
            let need = (2 + len).saturating_sub(self.partial.len());
            let take = need.min(data.len());
            self.partial.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.partial.len() < 2 + len {
                return;
            }
            if len > 0 && len <= max {
                message(&self.partial[2..]);
            }
            self.partial.clear();
        }

        // Whole messages straight from the segment.
        while data.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
            if data.len() < 2 + len {
                break;
            }
            if len > 0 && len <= max {
                message(&data[2..2 + len]);
            }
            data = &data[2 + len..];
        }
        self.partial.extend_from_slice(data);
    }

    /// Bytes went missing: message boundaries cannot be found any more.
    pub fn gap(&mut self) {
        self.lost = true;
        self.partial = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(pieces: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut framer = DnsTcpFramer::default();
        let mut out = Vec::new();
        for p in pieces {
            framer.data(p, 65_535, &mut |m| out.push(m.to_vec()));
        }
        out
    }

    #[test]
    fn several_per_segment_and_split() {
        let stream: &[u8] = b"\x00\x03abc\x00\x02de\x00\x04fghi";
        let want = vec![b"abc".to_vec(), b"de".to_vec(), b"fghi".to_vec()];
        assert_eq!(collect(&[stream]), want);
        for cut in 0..stream.len() {
            assert_eq!(
                collect(&[&stream[..cut], &stream[cut..]]),
                want,
                "cut {cut}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(collect(&bytes), want);
    }
}
