//! DNS messages (RFC 1035 section 4): header, question and the three record
//! sections, decoded as far as the bytes allow.

use picket_event::dns::{DnsFlags, ResponseCode};
use picket_event::{Anomaly, RecordType, ResourceRecord};
use smallvec::SmallVec;

use super::anomalies::AnomalySet;
use super::limits::DnsLimits;
use super::name::{read_name, skip_name};
use super::rdata::render_rdata;

/// Length of the fixed header (RFC 1035 section 4.1.1).
pub const HEADER_LEN: usize = 12;

/// Bytes reserved for a record's data in presentation form: exact for
/// addresses, a guess from the wire length for the rest (text grows where
/// the guess is short).
fn data_capacity(rtype: RecordType, rdlength: usize) -> usize {
    match rtype {
        RecordType::A => 15,
        RecordType::AAAA => 39,
        _ => (rdlength * 2).clamp(48, 256),
    }
}

/// The fixed header of a DNS message (RFC 1035 section 4.1.1).
///
/// ```text
///   0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
/// |                      ID                       |
/// |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
/// |                    QDCOUNT                    |
/// |                    ANCOUNT                    |
/// |                    NSCOUNT                    |
/// |                    ARCOUNT                    |
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsHeader {
    /// Transaction id, copied from query to response.
    pub id: u16,
    /// The flag bits QR, AA, TC, RD, RA, Z, AD and CD.
    pub flags: DnsFlags,
    /// Operation code (0 QUERY, 4 NOTIFY, 5 UPDATE).
    pub opcode: u8,
    /// The low four bits of the response code; see [`DnsMessage::rcode`]
    /// for the code extended by EDNS.
    pub rcode: u8,
    /// Entries announced in the question section.
    pub qdcount: u16,
    /// Records announced in the answer section.
    pub ancount: u16,
    /// Records announced in the authority section.
    pub nscount: u16,
    /// Records announced in the additional section.
    pub arcount: u16,
}

impl DnsHeader {
    /// Decodes the 12 header bytes.
    fn parse(bytes: &[u8; HEADER_LEN]) -> Self {
        let word = |index: usize| u16::from_be_bytes([bytes[index], bytes[index + 1]]);
        let flags_word = word(2);

        DnsHeader {
            id: word(0),
            flags: DnsFlags::from_header_word(flags_word),
            opcode: ((flags_word >> 11) & 0x0f) as u8,
            rcode: (flags_word & 0x0f) as u8,
            qdcount: word(4),
            ancount: word(6),
            nscount: word(8),
            arcount: word(10),
        }
    }
}

/// One entry of the question section (RFC 1035 section 4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The name as it was on the wire, with its case kept and labels joined
    /// by `.`. Other bytes use zone-file escapes (`\.`, `\\`, `\DDD`). There
    /// is no trailing dot, and the root is the empty string.
    pub name: String,
    /// Query type.
    pub qtype: RecordType,
    /// Query class, all 16 bits (in mDNS the top bit asks for a unicast response).
    pub qclass: u16,
}

/// The EDNS pseudo-record's header fields (RFC 6891 section 6.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    /// The sender's UDP payload size.
    pub udp_payload_size: u16,
    /// The upper eight bits of the 12-bit response code.
    pub extended_rcode: u8,
    /// EDNS version (0 today).
    pub version: u8,
    /// The DO bit: the sender accepts DNSSEC records (RFC 3225).
    pub dnssec_ok: bool,
}

/// A decoded DNS message, complete or as far as it could be read.
///
/// Records carry their data in presentation form (see
/// [`ResourceRecord::data`]); owner names are normalised (lower case, no
/// trailing dot). The OPT pseudo-record, when present, is in
/// `additionals` like any record and its header fields are also in `edns`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DnsMessage {
    /// The header, or `None` when the message is shorter than 12 bytes
    /// (`DnsTruncatedHeader`).
    pub header: Option<DnsHeader>,
    /// The question section. Nearly every message has one question, which is
    /// kept inline without an allocation.
    pub questions: SmallVec<[Question; 1]>,
    /// The answer section.
    pub answers: Vec<ResourceRecord>,
    /// The authority section.
    pub authorities: Vec<ResourceRecord>,
    /// The additional section.
    pub additionals: Vec<ResourceRecord>,
    /// The EDNS header fields, when the message has an OPT record.
    pub edns: Option<Edns>,
    /// Anomalies found in the message, each listed once.
    pub anomalies: Vec<Anomaly>,
    /// Length of the message in bytes (without a TCP length prefix).
    pub size: usize,
}

impl DnsMessage {
    /// Whether the QR bit marks this message as a response.
    pub fn is_response(&self) -> bool {
        self.header.is_some_and(|header| header.flags.qr)
    }

    /// The response code, extended by EDNS's upper eight bits when the
    /// message has an OPT record (RFC 6891 section 6.1.3).
    pub fn rcode(&self) -> Option<ResponseCode> {
        let header = self.header?;
        let high = self.edns.map_or(0, |edns| u16::from(edns.extended_rcode));
        Some(ResponseCode(high << 4 | u16::from(header.rcode)))
    }
}

/// Decodes one DNS message: the UDP payload, or one TCP message without its
/// two-byte length prefix.
///
/// Never fails and never panics: whatever could be decoded is returned and
/// every problem is listed in [`DnsMessage::anomalies`]. A bad name or a
/// record cut short stops decoding, because the records after it cannot be
/// located; bad record data only replaces that record's data with the
/// RFC 3597 generic form.
pub fn parse_message(bytes: &[u8], limits: &DnsLimits) -> DnsMessage {
    let mut message = DnsMessage {
        size: bytes.len(),
        ..DnsMessage::default()
    };
    let mut anomalies = AnomalySet::default();

    // Header.
    let Some(header_bytes) = bytes.first_chunk::<HEADER_LEN>() else {
        anomalies.insert(Anomaly::DnsTruncatedHeader);
        message.anomalies = anomalies.to_vec();
        return message;
    };
    let header = DnsHeader::parse(header_bytes);
    if header.flags.z {
        anomalies.insert(Anomaly::DnsZBitSet);
    }
    message.header = Some(header);

    // Sections.
    let mut decoder = Decoder {
        bytes,
        pos: HEADER_LEN,
        limits,
        anomalies: &mut anomalies,
    };
    let complete = decoder
        .questions(header.qdcount, &mut message.questions)
        .is_ok()
        && decoder
            .records(header.ancount, &mut message.answers)
            .is_ok()
        && decoder
            .records(header.nscount, &mut message.authorities)
            .is_ok()
        && decoder
            .records(header.arcount, &mut message.additionals)
            .is_ok();
    if complete && decoder.pos < bytes.len() {
        decoder.anomalies.insert(Anomaly::DnsTrailingBytes);
    }

    message.edns = message
        .additionals
        .iter()
        .find(|record| record.rtype == RecordType::OPT)
        .map(|opt| Edns {
            udp_payload_size: opt.class,
            extended_rcode: (opt.ttl >> 24) as u8,
            version: (opt.ttl >> 16) as u8,
            dnssec_ok: opt.ttl & 0x8000 != 0,
        });
    message.anomalies = anomalies.to_vec();
    message
}

/// Decoding stopped because the rest of the message cannot be located.
struct Stop;

/// The position in the message and what has been recorded so far.
struct Decoder<'a, 'b> {
    bytes: &'a [u8],
    pos: usize,
    limits: &'b DnsLimits,
    anomalies: &'b mut AnomalySet,
}

impl Decoder<'_, '_> {
    /// The question section (RFC 1035 section 4.1.2).
    fn questions(&mut self, count: u16, out: &mut SmallVec<[Question; 1]>) -> Result<(), Stop> {
        // One question sits inline; more (mDNS may ask several) move to the heap.
        out.reserve(
            usize::from(count)
                .min(self.limits.max_records_per_section)
                .min(8),
        );
        for index in 0..usize::from(count) {
            self.section_entry_start()?;
            let keep = self.within_record_limit(index);

            // QNAME; entries past the limit are only stepped over.
            if !keep {
                self.pos = skip_name(self.bytes, self.pos, self.anomalies).ok_or(Stop)?;
                self.fixed::<4>()?;
                continue;
            }
            let mut name = String::new();
            let end = read_name(self.bytes, self.pos, self.limits, &mut name, self.anomalies);
            self.pos = end.next.ok_or(Stop)?;

            // QTYPE, QCLASS
            let fixed = self.fixed::<4>()?;
            out.push(Question {
                name,
                qtype: RecordType(u16::from_be_bytes([fixed[0], fixed[1]])),
                qclass: u16::from_be_bytes([fixed[2], fixed[3]]),
            });
        }
        Ok(())
    }

    /// An answer, authority or additional section (RFC 1035 section 4.1.3).
    fn records(&mut self, count: u16, out: &mut Vec<ResourceRecord>) -> Result<(), Stop> {
        // Reserved up to a typical response's size: the count is outside data.
        let expected = usize::from(count)
            .min(self.limits.max_records_per_section)
            .min(16);
        if out.capacity() == 0 {
            // Allocating afresh skips the growth path a reserve on an empty vector takes.
            *out = Vec::with_capacity(expected);
        } else {
            out.reserve(expected);
        }
        for index in 0..usize::from(count) {
            self.section_entry_start()?;
            let keep = self.within_record_limit(index);

            // NAME; records past the limit are only stepped over.
            let mut name = String::new();
            if keep {
                let end = read_name(self.bytes, self.pos, self.limits, &mut name, self.anomalies);
                self.pos = end.next.ok_or(Stop)?;
            } else {
                self.pos = skip_name(self.bytes, self.pos, self.anomalies).ok_or(Stop)?;
            }

            // TYPE, CLASS, TTL, RDLENGTH
            let fixed = self.fixed::<10>()?;
            let rtype = RecordType(u16::from_be_bytes([fixed[0], fixed[1]]));
            let class = u16::from_be_bytes([fixed[2], fixed[3]]);
            let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
            let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));

            // RDATA
            let rdata_start = self.pos;
            if rdata_start + rdlength > self.bytes.len() {
                self.anomalies.insert(Anomaly::DnsTruncatedRecord);
                return Err(Stop);
            }
            self.pos += rdlength;

            if keep {
                name.make_ascii_lowercase();
                let mut data = String::with_capacity(data_capacity(rtype, rdlength));
                // Empty data is legal in UPDATE deletions and prerequisites
                // (RFC 2136 section 2.4) and is kept as the empty string.
                if rdlength > 0 {
                    render_rdata(
                        self.bytes,
                        rdata_start,
                        rdlength,
                        rtype,
                        self.limits,
                        &mut data,
                        self.anomalies,
                    );
                }
                out.push(ResourceRecord {
                    name,
                    rtype,
                    class,
                    ttl,
                    data,
                });
            }
        }
        Ok(())
    }

    /// Checks that another entry starts here: a message that ends cleanly
    /// before the header's counts are reached is a count mismatch.
    fn section_entry_start(&mut self) -> Result<(), Stop> {
        if self.pos >= self.bytes.len() {
            self.anomalies.insert(Anomaly::DnsCountMismatch);
            return Err(Stop);
        }
        Ok(())
    }

    /// Whether the entry at `index` of a section is kept, recording
    /// `DnsTooManyRecords` for the first one past the limit.
    fn within_record_limit(&mut self, index: usize) -> bool {
        if index < self.limits.max_records_per_section {
            return true;
        }
        self.anomalies.insert(Anomaly::DnsTooManyRecords);
        false
    }

    /// The next `N` bytes of fixed fields, or a truncated record.
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Stop> {
        let Some(fixed) = self
            .bytes
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<N>())
        else {
            self.anomalies.insert(Anomaly::DnsTruncatedRecord);
            return Err(Stop);
        };
        self.pos += N;
        Ok(*fixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a header with the given flags word and counts.
    fn header(flags: u16, counts: [u16; 4]) -> Vec<u8> {
        let mut bytes = vec![0x12, 0x34];
        bytes.extend_from_slice(&flags.to_be_bytes());
        for count in counts {
            bytes.extend_from_slice(&count.to_be_bytes());
        }
        bytes
    }

    /// `example.com` A IN as a question.
    const QUESTION: &[u8] = b"\x07example\x03com\x00\x00\x01\x00\x01";

    /// An A record for the question's name (pointer to offset 12).
    const ANSWER_A: &[u8] = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x01";

    fn parse(bytes: &[u8]) -> DnsMessage {
        parse_message(bytes, &DnsLimits::default())
    }

    #[test]
    fn response_with_answer() {
        let mut bytes = header(0x8180, [1, 1, 0, 0]);
        bytes.extend_from_slice(QUESTION);
        bytes.extend_from_slice(ANSWER_A);
        let message = parse(&bytes);

        assert!(message.anomalies.is_empty());
        assert!(message.is_response());
        assert_eq!(message.questions[0].name, "example.com");
        assert_eq!(message.answers[0].name, "example.com");
        assert_eq!(message.answers[0].ttl, 3600);
        assert_eq!(message.answers[0].data, "192.0.2.1");
        assert_eq!(message.rcode(), Some(ResponseCode::NOERROR));
    }

    #[test]
    fn short_header() {
        let message = parse(b"\x12\x34\x01");
        assert_eq!(message.header, None);
        assert_eq!(message.anomalies, vec![Anomaly::DnsTruncatedHeader]);
        assert_eq!(message.size, 3);
    }

    #[test]
    fn count_larger_than_message() {
        let mut bytes = header(0x8180, [1, 3, 0, 0]);
        bytes.extend_from_slice(QUESTION);
        bytes.extend_from_slice(ANSWER_A);
        let message = parse(&bytes);
        assert_eq!(message.answers.len(), 1);
        assert_eq!(message.anomalies, vec![Anomaly::DnsCountMismatch]);
    }

    #[test]
    fn record_cut_short() {
        let mut bytes = header(0x8180, [1, 1, 0, 0]);
        bytes.extend_from_slice(QUESTION);
        bytes.extend_from_slice(&ANSWER_A[..14]);
        let message = parse(&bytes);
        assert!(message.answers.is_empty());
        assert_eq!(message.questions.len(), 1);
        assert_eq!(message.anomalies, vec![Anomaly::DnsTruncatedRecord]);
    }

    #[test]
    fn bytes_after_last_record() {
        let mut bytes = header(0x0100, [1, 0, 0, 0]);
        bytes.extend_from_slice(QUESTION);
        bytes.extend_from_slice(b"junk");
        assert_eq!(parse(&bytes).anomalies, vec![Anomaly::DnsTrailingBytes]);
    }

    #[test]
    fn z_bit() {
        let mut bytes = header(0x0140, [1, 0, 0, 0]);
        bytes.extend_from_slice(QUESTION);
        let message = parse(&bytes);
        assert!(message.header.unwrap().flags.z);
        assert_eq!(message.anomalies, vec![Anomaly::DnsZBitSet]);
    }

    #[test]
    fn bad_rdata_keeps_generic_form() {
        let mut bytes = header(0x8180, [1, 1, 0, 0]);
        bytes.extend_from_slice(QUESTION);
        // An A record with three bytes of data.
        bytes.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x03\x01\x02\x03");
        let message = parse(&bytes);
        assert_eq!(message.answers[0].data, "\\# 3 010203");
        assert_eq!(message.anomalies, vec![Anomaly::DnsBadRdata]);
    }

    #[test]
    fn opt_extends_rcode() {
        let mut bytes = header(0x8180, [1, 0, 0, 1]);
        bytes.extend_from_slice(QUESTION);
        // OPT: root owner, payload 1232, extended rcode 1, version 0, DO,
        // one COOKIE option of 8 bytes.
        bytes.extend_from_slice(b"\x00\x00\x29\x04\xd0\x01\x00\x80\x00\x00\x0c\x00\x0a\x00\x08");
        bytes.extend_from_slice(b"\x01\x02\x03\x04\x05\x06\x07\x08");
        let message = parse(&bytes);

        assert!(message.anomalies.is_empty(), "{:?}", message.anomalies);
        let edns = message.edns.unwrap();
        assert_eq!(edns.udp_payload_size, 1232);
        assert!(edns.dnssec_ok);
        assert_eq!(message.rcode(), Some(ResponseCode(16)));
        assert_eq!(message.additionals[0].data, "COOKIE=0102030405060708");
    }

    #[test]
    fn records_past_limit_are_skipped() {
        let mut bytes = header(0x8180, [1, 5, 0, 0]);
        bytes.extend_from_slice(QUESTION);
        for _ in 0..5 {
            bytes.extend_from_slice(ANSWER_A);
        }
        let limits = DnsLimits {
            max_records_per_section: 2,
            ..DnsLimits::default()
        };
        let message = parse_message(&bytes, &limits);
        assert_eq!(message.answers.len(), 2);
        assert_eq!(message.anomalies, vec![Anomaly::DnsTooManyRecords]);
    }

    #[test]
    fn record_data_forms() {
        let cases: &[(u16, &[u8], &str)] = &[
            (15, b"\x00\x0a\xc0\x0c", "10 example.com"),
            (16, b"\x05hello\x02hi", "TXT 5 hello TXT 2 hi"),
            (
                33,
                b"\x00\x01\x00\x02\x13\xc4\xc0\x0c",
                "1 2 5060 example.com",
            ),
            (257, b"\x00\x05issueca.local", "0 issue \"ca.local\""),
            (43, b"\x30\x39\x08\x02\xab\xcd", "12345 8 2 ABCD"),
            (48, b"\x01\x01\x03\x08\x66\x6f\x6f", "257 3 8 Zm9v"),
            (
                47,
                b"\xc0\x0c\x00\x06\x40\x01\x00\x00\x00\x03",
                "example.com A MX RRSIG NSEC",
            ),
            (44, b"\x01\x02\xab\xcd", "1 2 ABCD"),
            (52, b"\x03\x01\x01\x12\x34", "3 1 1 1234"),
            (
                250,
                b"\x08hmac-md5\x00\x00\x00\x63\xf4\x14\x7c\x01\x2c\x00\x02\x66\x6f\x12\x34\x00\x00\x00\x00",
                "hmac-md5 1676940412 300 Zm8= 4660 0 -",
            ),
            (65280, b"\xde\xad", "\\# 2 DEAD"),
            (10, b"\x00\x01", "\\# 2 0001"),
        ];
        for (rtype, rdata, expected) in cases {
            let mut bytes = header(0x8180, [1, 1, 0, 0]);
            bytes.extend_from_slice(QUESTION);
            bytes.extend_from_slice(b"\xc0\x0c");
            bytes.extend_from_slice(&rtype.to_be_bytes());
            bytes.extend_from_slice(b"\x00\x01\x00\x00\x00\x3c");
            bytes.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            bytes.extend_from_slice(rdata);
            let message = parse(&bytes);
            assert!(
                message.anomalies.is_empty(),
                "type {rtype}: {:?}",
                message.anomalies
            );
            assert_eq!(message.answers[0].data, *expected, "type {rtype}");
        }
    }
}
