//! Log readers: Squid, W3C extended, Microsoft TMG, Zeek, Suricata EVE and passive DNS into picket events.
#![deny(missing_docs)]
