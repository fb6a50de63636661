//! DNS wire-format decoding (RFC 1035 section 4) and query/response pairing.
//!
//! Two steps turn DNS payloads into [`picket_event::DnsEvent`]s:
//!
//! 1. [`parse_message`] decodes one message: a UDP payload, or one
//!    DNS-over-TCP message with its two-byte length prefix removed. It never
//!    fails: a malformed message comes back decoded as far as possible with
//!    its [`Anomaly`](picket_event::Anomaly) flags.
//! 2. A [`DnsPairer`] takes each message with its [`PacketMeta`] and emits an
//!    event when an exchange completes, times out or is evicted; call
//!    [`DnsPairer::flush`] at the end of the input for the queries still
//!    waiting.
//!
//! ```
//! use std::sync::Arc;
//! use picket_decode::dns::{DnsLimits, DnsPairer, PacketMeta, PairerConfig, parse_message};
//! use picket_event::dns::{DnsProtocol, Transport};
//! use picket_event::{SourceLocation, Timestamp};
//!
//! let limits = DnsLimits::default();
//! let mut pairer = DnsPairer::new(PairerConfig::default());
//! let mut events = Vec::new();
//!
//! // A query for example.com/A from 10.0.0.1:40000 to 10.0.0.53:53.
//! let payload = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
//!                 \x07example\x03com\x00\x00\x01\x00\x01";
//! let meta = PacketMeta {
//!     timestamp: Timestamp::from_nanos(0),
//!     src_ip: "10.0.0.1".parse().unwrap(),
//!     src_port: 40000,
//!     dst_ip: "10.0.0.53".parse().unwrap(),
//!     dst_port: 53,
//!     transport: Transport::Udp,
//!     protocol: DnsProtocol::Dns,
//!     location: SourceLocation::packet(Arc::from("capture.pcap"), 1, 24),
//! };
//! pairer.push(parse_message(payload, &limits), meta, &mut events);
//! pairer.flush(&mut events);
//!
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].query_name, "example.com");
//! ```
//!
//! Every bound (pointer jumps per name, records per section, pending
//! queries, the pairing timeout) is a field of [`DnsLimits`] or
//! [`PairerConfig`] with its default documented there.

mod anomalies;
mod limits;
mod message;
mod name;
mod pair;
mod rdata;
mod text;

pub use limits::{DnsLimits, PairerConfig};
pub use message::{DnsHeader, DnsMessage, Edns, HEADER_LEN, Question, parse_message};
pub use pair::{DnsPairer, DnsSink, PacketMeta, PairerStats};
