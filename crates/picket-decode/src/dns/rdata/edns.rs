//! OPT record data (RFC 6891 section 6.1.2): EDNS options.
//!
//! Each option prints as `NAME=value`, separated by spaces: `NSID=HEX`,
//! `ECS=address/source/scope` (RFC 7871), `COOKIE=HEX` (RFC 7873),
//! `KEEPALIVE=timeout` (RFC 7828, in units of 100 ms), `PADDING=length`
//! (RFC 7830), `EDE=code "text"` (RFC 8914) and `OPT<code>=HEX` for the rest.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::Rdata;
use crate::dns::text::{push_hex, push_quoted};

/// Renders the options of an OPT record.
pub(super) fn opt(rdata: &mut Rdata, out: &mut String) -> Option<()> {
    let mut first = true;
    while !rdata.is_empty() {
        let code = rdata.u16()?;
        let length = rdata.u16()?;
        let value = rdata.bytes(usize::from(length))?;
        if !first {
            out.push(' ');
        }
        first = false;
        option(code, value, out);
    }
    Some(())
}

fn option(code: u16, value: &[u8], out: &mut String) {
    match code {
        3 => {
            out.push_str("NSID=");
            push_hex(out, value);
        }
        8 if client_subnet(value, out) => {}
        10 => {
            out.push_str("COOKIE=");
            push_hex(out, value);
        }
        11 if value.len() == 2 => {
            let _ = write!(
                out,
                "KEEPALIVE={}",
                u16::from_be_bytes([value[0], value[1]])
            );
        }
        11 if value.is_empty() => out.push_str("KEEPALIVE"),
        12 => {
            let _ = write!(out, "PADDING={}", value.len());
        }
        15 if value.len() >= 2 => {
            let _ = write!(out, "EDE={} ", u16::from_be_bytes([value[0], value[1]]));
            push_quoted(out, &value[2..]);
        }
        _ => {
            let _ = write!(out, "OPT{code}=");
            push_hex(out, value);
        }
    }
}

/// EDNS Client Subnet (RFC 7871 section 6): family, source and scope prefix
/// lengths, then the address cut to the source prefix. Returns `false` when
/// the value does not fit that layout, so the caller prints it as hex.
fn client_subnet(value: &[u8], out: &mut String) -> bool {
    let [family_high, family_low, source, scope, address @ ..] = value else {
        return false;
    };
    let family = u16::from_be_bytes([*family_high, *family_low]);

    match family {
        1 if address.len() <= 4 => {
            let mut octets = [0u8; 4];
            octets[..address.len()].copy_from_slice(address);
            let _ = write!(out, "ECS={}/{source}/{scope}", Ipv4Addr::from(octets));
            true
        }
        2 if address.len() <= 16 => {
            let mut octets = [0u8; 16];
            octets[..address.len()].copy_from_slice(address);
            let _ = write!(out, "ECS={}/{source}/{scope}", Ipv6Addr::from(octets));
            true
        }
        _ => false,
    }
}
