//! Record data of the DNSSEC types (RFC 4034: DS, DNSKEY, RRSIG, NSEC), the
//! key fingerprints SSHFP (RFC 4255) and TLSA (RFC 6698), and the transaction
//! records TKEY (RFC 2930) and TSIG (RFC 8945), in presentation form.

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

/// SSHFP (RFC 4255 section 3.2): `algorithm fp-type FINGERPRINT-HEX`, and
/// TLSA (RFC 6698 section 2.2): `usage selector matching-type DATA-HEX`.
/// `fields` is the number of one-byte fields before the hex data.
pub(super) fn fingerprint(rdata: &mut Rdata, fields: usize, out: &mut String) -> Option<()> {
    for _ in 0..fields {
        push_number(out, rdata.u8()?);
    }
    let data = rdata.rest();
    if data.is_empty() {
        return None;
    }
    push_hex(out, data);
    Some(())
}

/// TSIG (RFC 8945 section 4.2): `algorithm time-signed fudge MAC-BASE64
/// original-id error OTHER-BASE64`, the time in seconds since the epoch and
/// an empty MAC or other data printed as `-`.
pub(super) fn tsig(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    rdata.name(out)?;
    let time = rdata.bytes(6)?;
    let seconds = time
        .iter()
        .fold(0u64, |acc, byte| acc << 8 | u64::from(*byte));
    let _ = write!(out, " {seconds} {}", rdata.u16()?);
    let mac_size = rdata.u16()?;
    push_base64_or_dash(out, rdata.bytes(usize::from(mac_size))?);
    let _ = write!(out, " {} {}", rdata.u16()?, rdata.u16()?);
    let other_size = rdata.u16()?;
    push_base64_or_dash(out, rdata.bytes(usize::from(other_size))?);
    rdata.finish()
}

/// Appends a space and the bytes in base64, or `-` when there are none.
fn push_base64_or_dash(out: &mut String, bytes: &[u8]) {
    out.push(' ');
    if bytes.is_empty() {
        out.push('-');
    } else {
        push_base64(out, bytes);
    }
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
        push_base64_or_dash(out, rdata.bytes(usize::from(size))?);
    }
    rdata.finish()
}
