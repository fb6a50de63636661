//! Packet capture decoding: pcap and pcapng files into DNS, HTTP and TLS events.
#![deny(missing_docs)]

pub mod dns;
