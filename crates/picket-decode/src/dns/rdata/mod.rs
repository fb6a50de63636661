//! Record data (RDATA) to presentation form, one function per record type.
//!
//! Each renderer reads the record data through [`Rdata`], which never reads
//! past the record's RDLENGTH, and returns `None` when the data does not fit
//! its type's layout; the caller then prints the RFC 3597 generic form and
//! records `DnsBadRdata`.

mod basic;
mod dnssec;
mod edns;

use picket_event::{Anomaly, RecordType};

use super::anomalies::AnomalySet;
use super::limits::DnsLimits;
use super::name::read_name;
use super::text::{push_decimal, push_generic};

/// Appends the presentation form of the record data at
/// `message[start..start + len]` of type `rtype` to `out`.
///
/// Names inside the data may be compressed against the whole message.
/// Data that does not match its type's layout is printed in the RFC 3597
/// generic form and records `DnsBadRdata`; unknown types always use the
/// generic form. The text is cut at [`DnsLimits::max_rdata_text_bytes`].
pub(crate) fn render_rdata(
    message: &[u8],
    start: usize,
    len: usize,
    rtype: RecordType,
    limits: &DnsLimits,
    out: &mut String,
    anomalies: &mut AnomalySet,
) {
    let out_start = out.len();
    let mut rdata = Rdata {
        message,
        pos: start,
        end: start + len,
        limits,
        anomalies,
    };

    let rendered = match rtype {
        RecordType::A => basic::a(&mut rdata, out),
        RecordType::AAAA => basic::aaaa(&mut rdata, out),
        RecordType::NS | RecordType::CNAME | RecordType::PTR | RecordType::DNAME => {
            basic::single_name(&mut rdata, out)
        }
        RecordType::MX => basic::mx(&mut rdata, out),
        RecordType::TXT => basic::txt(&mut rdata, "TXT", out),
        RecordType::SOA => basic::soa(&mut rdata, out),
        RecordType::SRV => basic::srv(&mut rdata, out),
        RecordType::NAPTR => basic::naptr(&mut rdata, out),
        RecordType::CAA => basic::caa(&mut rdata, out),
        RecordType::OPT => edns::opt(&mut rdata, out),
        RecordType::DS => dnssec::ds(&mut rdata, out),
        RecordType::DNSKEY => dnssec::dnskey(&mut rdata, out),
        RecordType::RRSIG => dnssec::rrsig(&mut rdata, out),
        RecordType::NSEC => dnssec::nsec(&mut rdata, out),
        RecordType::TKEY => dnssec::tkey(&mut rdata, out),
        RecordType(250) => dnssec::tsig(&mut rdata, out),
        RecordType(44) => dnssec::fingerprint(&mut rdata, 2, out),
        RecordType(52) => dnssec::fingerprint(&mut rdata, 3, out),
        RecordType(13) => basic::hinfo(&mut rdata, out),
        RecordType(99) => basic::txt(&mut rdata, "SPF", out),
        RecordType(256) => basic::uri(&mut rdata, out),
        // NULL (RFC 1035 section 3.3.10) has no presentation form of its own.
        _ => {
            push_generic(out, rdata.rest());
            Some(())
        }
    };

    let bytes = &message[start..start + len];
    if rendered.is_none() {
        rdata.anomalies.insert(Anomaly::DnsBadRdata);
        out.truncate(out_start);
        push_generic(out, bytes);
    }

    if out.len() - out_start > limits.max_rdata_text_bytes {
        // Every character pushed is ASCII, so any byte index is a boundary.
        out.truncate(out_start + limits.max_rdata_text_bytes);
        out.push_str("...");
    }
}

/// A cursor over one record's data that never reads past its end.
pub(crate) struct Rdata<'a, 'b> {
    message: &'a [u8],
    pos: usize,
    end: usize,
    limits: &'b DnsLimits,
    anomalies: &'b mut AnomalySet,
}

impl<'a> Rdata<'a, '_> {
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self, count: usize) -> Option<&'a [u8]> {
        let stop = self
            .pos
            .checked_add(count)
            .filter(|stop| *stop <= self.end)?;
        let bytes = &self.message[self.pos..stop];
        self.pos = stop;
        Some(bytes)
    }

    /// Every byte not read yet.
    fn rest(&mut self) -> &'a [u8] {
        let bytes = &self.message[self.pos..self.end];
        self.pos = self.end;
        bytes
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// `Some(())` when every byte was read: fixed layouts reject extra bytes.
    fn finish(&self) -> Option<()> {
        self.is_empty().then_some(())
    }

    /// A character-string: one length byte and that many bytes (RFC 1035 section 3.3).
    fn char_string(&mut self) -> Option<&'a [u8]> {
        let len = self.u8()?;
        self.bytes(usize::from(len))
    }

    /// A domain name, appended lower-cased to `out`; the name must be whole
    /// and its inline part must lie inside the record data.
    fn name(&mut self, out: &mut String) -> Option<()> {
        let from = out.len();
        let end = read_name(self.message, self.pos, self.limits, out, self.anomalies);
        let next = end.next.filter(|next| *next <= self.end)?;
        if !end.complete {
            return None;
        }
        out[from..].make_ascii_lowercase();
        self.pos = next;
        Some(())
    }
}

/// Appends a number and a space.
fn push_number(out: &mut String, number: impl Into<u32>) {
    push_decimal(out, number.into());
    out.push(' ');
}
