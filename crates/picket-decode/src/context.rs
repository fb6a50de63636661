//! Context of the protocol parsers while they handle one packet: limits,
//! the packet's time and place, and the event output.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use picket_event::dns::{DnsProtocol, Transport};
use picket_event::{DnsEvent, Event, Rejection, SourceLocation, Timestamp};

use crate::dns::{DnsPairer, DnsSink, PacketMeta, parse_message};
use crate::{CaptureStats, DecodeConfig};

/// One side of a connection.
pub type Endpoint = (IpAddr, u16);

/// The packet being handled and the outputs of decoding.
pub struct Ctx<'a> {
    /// Limits.
    pub config: &'a DecodeConfig,
    /// The capture's name, for event locations.
    pub file: &'a Arc<str>,
    /// Time of the packet being handled.
    pub timestamp: Timestamp,
    /// Its packet number.
    pub packet: u64,
    /// Its record's byte offset.
    pub offset: u64,
    /// Events and rejections, in order.
    pub out: &'a mut VecDeque<Result<Event, Rejection>>,
    /// DNS query and response pairing.
    pub dns: &'a mut DnsPairer,
    /// Counters.
    pub stats: &'a mut CaptureStats,
}

impl Ctx<'_> {
    /// Returns the location of the current packet.
    pub fn location(&self) -> SourceLocation {
        SourceLocation::packet(self.file.clone(), self.packet, self.offset)
    }

    /// Adds an event to the output.
    pub fn emit(&mut self, event: Event) {
        self.out.push_back(Ok(event));
    }

    /// Hands one DNS message (without a TCP length prefix) to the pairer.
    pub fn dns_message(
        &mut self,
        message: &[u8],
        src: Endpoint,
        dst: Endpoint,
        transport: Transport,
        protocol: DnsProtocol,
    ) {
        self.stats.dns_messages += 1;
        let parsed = parse_message(message, &self.config.dns);
        let meta = PacketMeta {
            timestamp: self.timestamp,
            src_ip: src.0,
            src_port: src.1,
            dst_ip: dst.0,
            dst_port: dst.1,
            transport,
            protocol,
            location: self.location(),
        };
        self.dns.push(parsed, meta, self.out);
    }
}

/// The pairer's events go straight to the output queue, in order with the
/// other events.
impl DnsSink for VecDeque<Result<Event, Rejection>> {
    fn emit(&mut self, event: DnsEvent) {
        self.push_back(Ok(Event::Dns(event)));
    }
}

/// Returns the DNS dialect of a port, if it is one of the DNS ports.
pub fn dns_protocol(port: u16) -> Option<DnsProtocol> {
    match port {
        53 => Some(DnsProtocol::Dns),
        5353 => Some(DnsProtocol::Mdns),
        5355 => Some(DnsProtocol::Llmnr),
        _ => None,
    }
}
