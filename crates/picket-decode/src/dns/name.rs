//! Domain names in wire form (RFC 1035 sections 3.1 and 4.1.4), with
//! compression pointers followed under loop and depth protection.

use picket_event::Anomaly;

use super::anomalies::AnomalySet;
use super::limits::DnsLimits;
use super::text::push_label_byte;

/// Maximum length of a name in wire form, length bytes and the root label
/// included (RFC 1035 section 3.1).
pub(crate) const MAX_NAME_WIRE_BYTES: usize = 255;

/// Pointer positions remembered without allocating; longer chains spill to
/// the heap.
const INLINE_POINTERS: usize = 16;

/// The end of a name and whether it was read whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NameEnd {
    /// Offset of the first byte after the name where it was written, after
    /// its terminating zero or its first pointer. `None` when the name was
    /// cut off before that point, so nothing after it can be located.
    pub(crate) next: Option<usize>,
    /// Whether every label was read. It is `false` after a loop, a bad label
    /// type, too many pointers, a name too long or a pointer past the end.
    pub(crate) complete: bool,
}

/// Reads the name that starts at `start` in `message` and appends its
/// presentation form to `out`: labels joined by `.`, escaped like a zone
/// file, case kept, without the trailing dot (the root is the empty string).
///
/// Compression pointers may point anywhere in `message`. A pointer that
/// points forward is followed and recorded as `DnsForwardPointer`. Coming
/// back to a pointer already followed stops the name with
/// `DnsCompressionLoop`, and passing [`DnsLimits::max_pointer_jumps`] stops
/// it with `DnsCompressionTooDeep`. A name past 255 wire bytes keeps its first
/// labels and records `DnsNameTooLong`. Every problem is added to `anomalies`.
pub(crate) fn read_name(
    message: &[u8],
    start: usize,
    limits: &DnsLimits,
    out: &mut String,
    anomalies: &mut AnomalySet,
) -> NameEnd {
    let mut text = NameText::new();
    let end = walk_name(message, start, limits, &mut text, anomalies);
    if out.capacity() == 0 {
        // A fresh allocation of the exact size skips the growth path.
        *out = String::from(text.as_str());
    } else {
        out.push_str(text.as_str());
    }
    end
}

/// Follows the name at `start` label by label, writing each label into
/// `text`; see [`read_name`].
fn walk_name(
    message: &[u8],
    start: usize,
    limits: &DnsLimits,
    text: &mut NameText,
    anomalies: &mut AnomalySet,
) -> NameEnd {
    let mut pos = start;
    let mut next = None;
    let mut jumps = 0usize;
    let mut wire_len = 1usize;
    let mut too_long = false;
    let mut first_label = true;
    let mut pointers = PointerTrail::default();

    loop {
        let Some(&length_byte) = message.get(pos) else {
            // Running off the end of the inline part means the record was
            // cut. Running off after a jump was already flagged as a pointer
            // past the end.
            if next.is_none() {
                anomalies.insert(Anomaly::DnsTruncatedRecord);
            }
            return NameEnd {
                next,
                complete: false,
            };
        };

        match length_byte >> 6 {
            // A label, or the root label that ends the name.
            0b00 => {
                if length_byte == 0 {
                    let next = next.or(Some(pos + 1));
                    return NameEnd {
                        next,
                        complete: !too_long,
                    };
                }

                let length = usize::from(length_byte);
                let Some(label) = message.get(pos + 1..pos + 1 + length) else {
                    if next.is_none() {
                        anomalies.insert(Anomaly::DnsTruncatedRecord);
                    }
                    return NameEnd {
                        next,
                        complete: false,
                    };
                };

                wire_len += 1 + length;
                if wire_len > MAX_NAME_WIRE_BYTES && !too_long {
                    too_long = true;
                    anomalies.insert(Anomaly::DnsNameTooLong);
                }
                // Past a jump the end is already known, so a name too long
                // stops here instead of walking on through the message.
                if too_long && next.is_some() {
                    return NameEnd {
                        next,
                        complete: false,
                    };
                }
                if !too_long {
                    if !first_label {
                        text.push_dot();
                    }
                    first_label = false;
                    text.push_label(label);
                }
                pos += 1 + length;
            }

            // A compression pointer: 14 bits of offset from the message start.
            0b11 => {
                let Some(&low) = message.get(pos + 1) else {
                    if next.is_none() {
                        anomalies.insert(Anomaly::DnsTruncatedRecord);
                    }
                    return NameEnd {
                        next,
                        complete: false,
                    };
                };
                let target = (usize::from(length_byte & 0x3f) << 8) | usize::from(low);
                if next.is_none() {
                    next = Some(pos + 2);
                }

                // The end is known now, so a name already too long stops here.
                if too_long {
                    return NameEnd {
                        next,
                        complete: false,
                    };
                }
                if pointers.contains(pos) {
                    anomalies.insert(Anomaly::DnsCompressionLoop);
                    return NameEnd {
                        next,
                        complete: false,
                    };
                }
                jumps += 1;
                if jumps > limits.max_pointer_jumps {
                    anomalies.insert(Anomaly::DnsCompressionTooDeep);
                    return NameEnd {
                        next,
                        complete: false,
                    };
                }
                pointers.push(pos);

                if target > pos {
                    anomalies.insert(Anomaly::DnsForwardPointer);
                    if target >= message.len() {
                        return NameEnd {
                            next,
                            complete: false,
                        };
                    }
                }
                pos = target;
            }

            // 0b01 (extended label types, RFC 6891 section 5) and 0b10 are
            // not usable on the wire.
            _ => {
                anomalies.insert(Anomaly::DnsBadLabelType);
                return NameEnd {
                    next,
                    complete: false,
                };
            }
        }
    }
}

/// Finds the end of the name that starts at `start` without decoding it:
/// inline labels are stepped over and the first pointer ends the walk, so
/// the cost is that of the bytes the name occupies where it is written.
/// Records `DnsTruncatedRecord` or `DnsBadLabelType` and returns `None` when
/// the end cannot be found.
pub(crate) fn skip_name(message: &[u8], start: usize, anomalies: &mut AnomalySet) -> Option<usize> {
    let mut pos = start;
    loop {
        let Some(&length_byte) = message.get(pos) else {
            anomalies.insert(Anomaly::DnsTruncatedRecord);
            return None;
        };
        match length_byte >> 6 {
            0b00 if length_byte == 0 => return Some(pos + 1),
            0b00 => pos += 1 + usize::from(length_byte),
            0b11 if pos + 1 < message.len() => return Some(pos + 2),
            0b11 => {
                anomalies.insert(Anomaly::DnsTruncatedRecord);
                return None;
            }
            _ => {
                anomalies.insert(Anomaly::DnsBadLabelType);
                return None;
            }
        }
    }
}

/// Maximum length of a name's text without escapes: 253 label bytes and
/// dots fit in 255 wire bytes.
const PLAIN_NAME_TEXT: usize = 256;

/// A name's presentation form, built on the stack and copied into its
/// string once, so that a name without escapes costs one allocation. A
/// label that needs escaping moves the text to the heap, since `\DDD`
/// escapes can make it four times as long.
struct NameText {
    bytes: [u8; PLAIN_NAME_TEXT],
    len: usize,
    escaped: Option<String>,
}

impl NameText {
    fn new() -> Self {
        NameText {
            bytes: [0; PLAIN_NAME_TEXT],
            len: 0,
            escaped: None,
        }
    }

    /// Appends the dot between two labels.
    fn push_dot(&mut self) {
        match (&mut self.escaped, self.bytes.get_mut(self.len)) {
            (None, Some(slot)) => {
                *slot = b'.';
                self.len += 1;
            }
            _ => self.spill().push('.'),
        }
    }

    /// Appends one label in zone-file form (RFC 1035 section 5.1):
    /// printable ASCII as is, `.` and `\` escaped with a backslash, every
    /// other byte as `\DDD` in decimal, as tcpdump and BIND print them.
    fn push_label(&mut self, label: &[u8]) {
        let plain = label
            .iter()
            .all(|&byte| matches!(byte, 0x21..=0x7e) && byte != b'.' && byte != b'\\');
        if plain {
            self.push_plain(label);
            return;
        }
        let text = self.spill();
        label.iter().for_each(|&byte| push_label_byte(text, byte));
    }

    /// Appends bytes known to be printable ASCII.
    fn push_plain(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        match (&mut self.escaped, self.bytes.get_mut(self.len..end)) {
            (None, Some(slot)) => {
                slot.copy_from_slice(bytes);
                self.len = end;
            }
            _ => self
                .spill()
                .extend(bytes.iter().map(|&byte| char::from(byte))),
        }
    }

    /// Moves the text to the heap, where it can grow past the buffer.
    fn spill(&mut self) -> &mut String {
        let inline = &self.bytes[..self.len];
        self.escaped
            .get_or_insert_with(|| inline.iter().map(|&byte| char::from(byte)).collect())
    }

    /// Returns the text, which is ASCII because every other byte was escaped.
    fn as_str(&self) -> &str {
        match &self.escaped {
            Some(text) => text,
            None => std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default(),
        }
    }
}

/// Offsets of the pointers followed so far, to tell a loop from a long chain.
#[derive(Default)]
struct PointerTrail {
    inline: [usize; INLINE_POINTERS],
    len: usize,
    spilled: Vec<usize>,
}

impl PointerTrail {
    fn contains(&self, pos: usize) -> bool {
        self.inline[..self.len].contains(&pos) || self.spilled.contains(&pos)
    }

    fn push(&mut self, pos: usize) {
        if self.len < INLINE_POINTERS {
            self.inline[self.len] = pos;
            self.len += 1;
        } else {
            self.spilled.push(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(message: &[u8], start: usize) -> (String, NameEnd, Vec<Anomaly>) {
        let mut out = String::new();
        let mut anomalies = AnomalySet::default();
        let end = read_name(
            message,
            start,
            &DnsLimits::default(),
            &mut out,
            &mut anomalies,
        );
        (out, end, anomalies.to_vec())
    }

    #[test]
    fn plain_name() {
        let (name, end, anomalies) = read(b"\x03www\x07Example\x03com\x00rest", 0);
        assert_eq!(name, "www.Example.com");
        assert_eq!(
            end,
            NameEnd {
                next: Some(17),
                complete: true
            }
        );
        assert!(anomalies.is_empty());
    }

    #[test]
    fn escaped_label_between_plain_ones() {
        // "a.b" as one label, a label with a space and a non-ASCII byte, a
        // plain label after them.
        let (name, end, _) = read(b"\x03a.b\x03x \xff\x03com\x00", 0);
        assert_eq!(name, "a\\.b.x\\032\\255.com");
        assert!(end.complete);
    }

    #[test]
    fn longest_plain_name_stays_whole() {
        // 127 one-byte labels: 254 wire bytes with the root, 253 characters.
        let mut wire = b"\x01a".repeat(127);
        wire.push(0);
        let (name, end, anomalies) = read(&wire, 0);
        assert_eq!(name.len(), 253);
        assert!(end.complete);
        assert!(anomalies.is_empty());
    }

    #[test]
    fn root_name() {
        let (name, end, _) = read(b"\x00", 0);
        assert_eq!(name, "");
        assert_eq!(end.next, Some(1));
    }

    #[test]
    fn backward_pointer() {
        let message = b"\x07example\x03com\x00\x03www\xc0\x00";
        let (name, end, anomalies) = read(message, 13);
        assert_eq!(name, "www.example.com");
        assert_eq!(
            end,
            NameEnd {
                next: Some(19),
                complete: true
            }
        );
        assert!(anomalies.is_empty());
    }

    #[test]
    fn pointer_to_itself_is_loop() {
        let (_, end, anomalies) = read(b"\xc0\x00", 0);
        assert_eq!(
            end,
            NameEnd {
                next: Some(2),
                complete: false
            }
        );
        assert_eq!(anomalies, vec![Anomaly::DnsCompressionLoop]);
    }

    #[test]
    fn forward_then_back_is_loop() {
        let (_, _, anomalies) = read(b"\xc0\x02\xc0\x00", 0);
        assert_eq!(
            anomalies,
            vec![Anomaly::DnsCompressionLoop, Anomaly::DnsForwardPointer]
        );
    }

    #[test]
    fn forward_pointer_is_followed() {
        let (name, end, anomalies) = read(b"\xc0\x02\x01a\x00", 0);
        assert_eq!(name, "a");
        assert_eq!(
            end,
            NameEnd {
                next: Some(2),
                complete: true
            }
        );
        assert_eq!(anomalies, vec![Anomaly::DnsForwardPointer]);
    }

    #[test]
    fn pointer_past_end() {
        let (_, end, anomalies) = read(b"\xc0\x09", 0);
        assert_eq!(
            end,
            NameEnd {
                next: Some(2),
                complete: false
            }
        );
        assert_eq!(anomalies, vec![Anomaly::DnsForwardPointer]);
    }

    #[test]
    fn bad_label_type() {
        let (name, end, anomalies) = read(b"\x01a\x41\x00", 0);
        assert_eq!(name, "a");
        assert_eq!(end.next, None);
        assert_eq!(anomalies, vec![Anomaly::DnsBadLabelType]);
    }

    #[test]
    fn truncated_label() {
        let (_, end, anomalies) = read(b"\x05ab", 0);
        assert_eq!(end.next, None);
        assert_eq!(anomalies, vec![Anomaly::DnsTruncatedRecord]);
    }

    #[test]
    fn chain_too_deep() {
        // Each pointer at 2k points to 2k-2, so a name starting at the last
        // one follows a long backward chain ending at the root at 0.
        let mut message = vec![0u8, 0];
        for k in 1..40u8 {
            message.extend_from_slice(&[0xc0, 2 * (k - 1)]);
        }
        let start = message.len() - 2;
        let (_, end, anomalies) = read(&message, start);
        assert_eq!(
            end,
            NameEnd {
                next: Some(start + 2),
                complete: false
            }
        );
        assert_eq!(anomalies, vec![Anomaly::DnsCompressionTooDeep]);
    }

    #[test]
    fn name_too_long_finds_end() {
        let mut message = Vec::new();
        for _ in 0..5 {
            message.push(63);
            message.extend_from_slice(&[b'x'; 63]);
        }
        message.push(0);
        message.push(0xff);
        let (name, end, anomalies) = read(&message, 0);
        assert_eq!(name.len(), 63 * 3 + 2);
        assert_eq!(
            end,
            NameEnd {
                next: Some(5 * 64 + 1),
                complete: false
            }
        );
        assert_eq!(anomalies, vec![Anomaly::DnsNameTooLong]);
    }

    #[test]
    fn skip_finds_end() {
        let mut anomalies = AnomalySet::default();
        assert_eq!(skip_name(b"\x01a\x01b\x00", 0, &mut anomalies), Some(5));
        assert_eq!(skip_name(b"\x01a\xc0\x00", 0, &mut anomalies), Some(4));
        assert!(anomalies.to_vec().is_empty());
        assert_eq!(skip_name(b"\x01a\x05ab", 0, &mut anomalies), None);
        assert_eq!(anomalies.to_vec(), vec![Anomaly::DnsTruncatedRecord]);
    }

    #[test]
    fn escaped_label_bytes() {
        let (name, _, _) = read(b"\x03a.b\x02\x00\xff\x00", 0);
        assert_eq!(name, "a\\.b.\\000\\255");
    }
}
