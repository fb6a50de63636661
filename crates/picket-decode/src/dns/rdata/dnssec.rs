//! Record data of the DNSSEC types (RFC 4034: DS, DNSKEY, RRSIG, NSEC) and
//! TKEY (RFC 2930), in their zone-file presentation forms.

use std::fmt::Write;

use picket_event::RecordType;

use super::{Rdata, push_number};
use crate::dns::text::{push_base64, push_dnssec_time, push_hex};

/// DS (RFC 4034 section 5.3): `key-tag algorithm digest-type DIGEST-HEX`.
pub(super) fn ds(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    push_number(out, rdata.u16()?);
    push_number(out, rdata.u8()?);
    push_number(out, rdata.u8()?);
    let digest = rdata.rest();
    if digest.is_empty() {
        return None;
    }
    push_hex(out, digest);
    Some(())
}

/// DNSKEY (RFC 4034 section 2.2): `flags protocol algorithm KEY-BASE64`.
pub(super) fn dnskey(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    push_number(out, rdata.u16()?);
    push_number(out, rdata.u8()?);
    push_number(out, rdata.u8()?);
    let key = rdata.rest();
    if key.is_empty() {
        return None;
    }
    push_base64(out, key);
    Some(())
}

/// RRSIG (RFC 4034 section 3.2): `type-covered algorithm labels
/// original-ttl expiration inception key-tag signer SIGNATURE-BASE64`,
/// with the two times as `YYYYMMDDHHmmSS`.
pub(super) fn rrsig(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    let _ = write!(out, "{} ", RecordType(rdata.u16()?));
    push_number(out, rdata.u8()?);
    push_number(out, rdata.u8()?);
    push_number(out, rdata.u32()?);
    push_dnssec_time(out, rdata.u32()?);
    out.push(' ');
    push_dnssec_time(out, rdata.u32()?);
    out.push(' ');
    push_number(out, rdata.u16()?);
    rdata.name(out)?;
    out.push(' ');
    push_base64(out, rdata.rest());
    Some(())
}

/// NSEC (RFC 4034 section 4.2): `next-name TYPE ...` with the types read
/// from the window bitmaps.
pub(super) fn nsec(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    rdata.name(out)?;
    let mut previous_window = None;
    while !rdata.is_empty() {
        let window = rdata.u8()?;
        let length = rdata.u8()?;
        // Windows are in increasing order, each 1 to 32 bytes long.
        if previous_window.is_some_and(|previous| window <= previous) || !(1..=32).contains(&length)
        {
            return None;
        }
        previous_window = Some(window);

        let bitmap = rdata.bytes(usize::from(length))?;
        for (index, byte) in bitmap.iter().enumerate() {
            for bit in 0..8u16 {
                if byte & (0x80 >> bit) != 0 {
                    let number = u16::from(window) << 8 | (index as u16) << 3 | bit;
                    let _ = write!(out, " {}", RecordType(number));
                }
            }
        }
    }
    Some(())
}

/// TKEY (RFC 2930 section 2): `algorithm inception expiration mode error
/// KEY-BASE64 OTHER-BASE64`, an empty key or other data printed as `-`.
pub(super) fn tkey(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    rdata.name(out)?;
    out.push(' ');
    push_dnssec_time(out, rdata.u32()?);
    out.push(' ');
    push_dnssec_time(out, rdata.u32()?);
    let _ = write!(out, " {} {}", rdata.u16()?, rdata.u16()?);
    for _ in 0..2 {
        let size = rdata.u16()?;
        let data = rdata.bytes(usize::from(size))?;
        out.push(' ');
        if data.is_empty() {
            out.push('-');
        } else {
            push_base64(out, data);
        }
    }
    rdata.finish()
}
