//! Record data of the RFC 1035 types and their common successors: A, AAAA,
//! the single-name types, MX, TXT and SPF, SOA, SRV, NAPTR, CAA, HINFO and URI.

use std::fmt::Write;
use std::net::Ipv6Addr;

use super::{Rdata, push_number};
use crate::dns::text::{push_decimal, push_ipv4, push_quoted, push_text};

/// A (RFC 1035 section 3.4.1): a 32-bit IPv4 address.
pub(super) fn a(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    let bytes: [u8; 4] = rdata.bytes(4)?.try_into().ok()?;
    rdata.finish()?;
    push_ipv4(out, bytes);
    Some(())
}

/// AAAA (RFC 3596 section 2.2): a 128-bit IPv6 address, printed in the
/// RFC 5952 compressed form.
pub(super) fn aaaa(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    let bytes: [u8; 16] = rdata.bytes(16)?.try_into().ok()?;
    rdata.finish()?;
    let _ = write!(out, "{}", Ipv6Addr::from(bytes));
    Some(())
}

/// NS, CNAME, PTR (RFC 1035 section 3.3) and DNAME (RFC 6672): one name.
pub(super) fn single_name(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    rdata.name(out)?;
    rdata.finish()
}

/// MX (RFC 1035 section 3.3.9): `preference exchange`.
pub(super) fn mx(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    let preference = rdata.u16()?;
    push_number(out, preference);
    rdata.name(out)?;
    rdata.finish()
}

/// TXT (RFC 1035 section 3.3.14) and SPF (RFC 4408 section 3.1.1): one or
/// more character-strings, printed the way Zeek's `dns.log` prints them,
/// `TXT <length> <text>` per string joined by spaces, so the two compare
/// directly. `kind` is `TXT` or `SPF`.
pub(super) fn txt(rdata: &mut Rdata, kind: &str, out: &mut String) -> Option<()> {
    if rdata.is_empty() {
        return None;
    }
    let mut first = true;
    while !rdata.is_empty() {
        let text = rdata.char_string()?;
        if !first {
            out.push(' ');
        }
        first = false;
        let _ = write!(out, "{kind} {} ", text.len());
        push_text(out, text);
    }
    Some(())
}

/// SOA (RFC 1035 section 3.3.13):
/// `mname rname serial refresh retry expire minimum`.
pub(super) fn soa(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    rdata.name(out)?;
    out.push(' ');
    rdata.name(out)?;
    for _ in 0..5 {
        out.push(' ');
        push_decimal(out, rdata.u32()?);
    }
    rdata.finish()
}

/// SRV (RFC 2782): `priority weight port target`.
pub(super) fn srv(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    for _ in 0..3 {
        push_number(out, rdata.u16()?);
    }
    rdata.name(out)?;
    rdata.finish()
}

/// NAPTR (RFC 3403 section 4.1):
/// `order preference "flags" "services" "regexp" replacement`.
pub(super) fn naptr(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    push_number(out, rdata.u16()?);
    push_number(out, rdata.u16()?);
    for _ in 0..3 {
        push_quoted(out, rdata.char_string()?);
        out.push(' ');
    }
    rdata.name(out)?;
    rdata.finish()
}

/// CAA (RFC 8659 section 4.1): `flags tag "value"`.
pub(super) fn caa(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    push_number(out, rdata.u8()?);
    let tag = rdata.char_string()?;
    if tag.is_empty() || !tag.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    push_text(out, tag);
    out.push(' ');
    push_quoted(out, rdata.rest());
    Some(())
}

/// HINFO (RFC 1035 section 3.3.2): `"cpu" "os"`.
pub(super) fn hinfo(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    push_quoted(out, rdata.char_string()?);
    out.push(' ');
    push_quoted(out, rdata.char_string()?);
    rdata.finish()
}

/// URI (RFC 7553 section 4.5): `priority weight "target"`.
pub(super) fn uri(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    push_number(out, rdata.u16()?);
    push_number(out, rdata.u16()?);
    push_quoted(out, rdata.rest());
    Some(())
}
