//! Packet capture decoding: pcap and pcapng files into DNS, HTTP and TLS events.
//!
//! [`CaptureReader`] is the entry point: it reads a capture (pcap or pcapng,
//! plain or gzip, detected from the first bytes), decodes Ethernet, Linux
//! cooked, raw IP and loopback frames, reassembles IP fragments and TCP
//! streams, and yields the [`picket_event::Event`]s found in them:
//!
//! - DNS over UDP and TCP on ports 53, 5353 (mDNS) and 5355 (LLMNR), decoded
//!   and paired by [`dns`];
//! - HTTP/1.x transactions on any port, recognised from their first bytes,
//!   with body digests and sniffed file types;
//! - the server name of every TLS ClientHello, on any port and inside
//!   `CONNECT` tunnels.
//!
//! Every resource bound is a field of [`DecodeConfig`]. Malformed traffic
//! becomes anomaly flags on the events; a frame that does not decode is a
//! [`picket_event::Rejection`], and decoding goes on.
#![deny(missing_docs)]

pub mod capture;
mod config;
mod context;
mod decoder;
pub mod dns;
mod dns_tcp;
mod error;
mod flow;
pub mod frag;
pub mod http;
pub mod packet;
mod reader;
pub mod tcp;
pub mod tls;

pub use capture::CaptureFormat;
pub use config::DecodeConfig;
pub use decoder::{CaptureStats, PacketDecoder};
pub use error::DecodeError;
pub use flow::TcpStats;
pub use frag::FragmentStats;
pub use reader::CaptureReader;
