//! Test support: a small capture reader that feeds DNS payloads from the
//! corpus captures to the DNS decoder and pairer.
//!
//! It reads legacy pcap files (Ethernet, null/loopback, raw IP and Linux
//! cooked link types), reassembles IP fragments with etherparse, takes UDP
//! payloads up to the IP length and splits in-order TCP streams into
//! length-prefixed messages. It ignores the UDP length field because the
//! hostile `dns-zlip-*` captures carry a UDP length of 8 with the message
//! behind it inside the IP length.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fs::File;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use etherparse::{IpNumber, LaxNetSlice, LaxSlicedPacket, SlicedPacket, defrag::IpDefragPool};
use pcap_parser::{Linktype, PcapBlockOwned, PcapError, create_reader};
use picket_decode::dns::{
    DnsLimits, DnsMessage, DnsPairer, PacketMeta, PairerConfig, parse_message,
};
use picket_event::dns::{DnsProtocol, Transport};
use picket_event::{DnsEvent, SourceLocation, Timestamp};

/// One DNS message found in a capture, with where it was seen.
pub struct Found {
    pub message: DnsMessage,
    pub meta: PacketMeta,
    pub payload: Vec<u8>,
}

/// Reads every DNS message of a capture: UDP or TCP with port 53, 5353,
/// 5355 or one of `extra_ports` on either side.
pub fn read_messages(path: &Path, extra_ports: &[u16]) -> Vec<Found> {
    let limits = DnsLimits::default();
    let file_name: Arc<str> = Arc::from(path.display().to_string());
    let file = File::open(path).expect("capture opens");
    let mut reader = create_reader(1 << 20, file).expect("capture has a pcap header");
    let mut linktype = Linktype::ETHERNET;
    let mut nanosecond = false;
    let mut packet_number = 0u64;
    let mut offset = 0u64;
    let mut defrag: IpDefragPool<(), ()> = IpDefragPool::new();
    let mut streams: HashMap<(IpAddr, u16, IpAddr, u16), Vec<u8>> = HashMap::new();
    let mut found = Vec::new();

    loop {
        match reader.next() {
            Ok((consumed, block)) => {
                let record_offset = offset;
                offset += consumed as u64;
                match block {
                    PcapBlockOwned::LegacyHeader(header) => {
                        linktype = header.network;
                        nanosecond = header.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(record) => {
                        packet_number += 1;
                        let fraction = if nanosecond {
                            record.ts_usec
                        } else {
                            record.ts_usec.saturating_mul(1000)
                        };
                        let timestamp =
                            Timestamp::from_secs_nanos(i64::from(record.ts_sec), fraction)
                                .unwrap_or_default();
                        let location =
                            SourceLocation::packet(file_name.clone(), packet_number, record_offset);
                        let context = Context {
                            timestamp,
                            location,
                            extra_ports,
                            limits: &limits,
                        };
                        handle_frame(
                            record.data,
                            linktype,
                            &context,
                            &mut defrag,
                            &mut streams,
                            &mut found,
                        );
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(consumed);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    found
}

/// Reads a capture and pairs its messages into events, flushed at the end.
pub fn read_events(path: &Path, extra_ports: &[u16]) -> Vec<DnsEvent> {
    let mut pairer = DnsPairer::new(PairerConfig::default());
    let mut events = Vec::new();
    for found in read_messages(path, extra_ports) {
        pairer.push(found.message, found.meta, &mut events);
    }
    pairer.flush(&mut events);
    events
}

struct Context<'a> {
    timestamp: Timestamp,
    location: SourceLocation,
    extra_ports: &'a [u16],
    limits: &'a DnsLimits,
}

fn handle_frame(
    data: &[u8],
    linktype: Linktype,
    context: &Context,
    defrag: &mut IpDefragPool<(), ()>,
    streams: &mut HashMap<(IpAddr, u16, IpAddr, u16), Vec<u8>>,
    found: &mut Vec<Found>,
) {
    // Link layer down to the first IP header.
    let ip = match linktype {
        Linktype::ETHERNET => data.get(14..).map(|rest| skip_vlans(data, rest)),
        Linktype::NULL | Linktype::LOOP => data.get(4..),
        Linktype::RAW => Some(data),
        Linktype::LINUX_SLL => data.get(16..),
        _ => None,
    };
    let Some(ip) = ip else { return };

    // Fragments are collected until the datagram is whole.
    let reassembled;
    let sliced = LaxSlicedPacket::from_ip(ip).ok();
    let Some(sliced) = sliced else { return };
    let Some(net) = &sliced.net else { return };
    let (src_ip, dst_ip) = match net {
        LaxNetSlice::Ipv4(v4) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
        ),
        LaxNetSlice::Ipv6(v6) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
        ),
        _ => return,
    };
    let Some(ip_payload) = sliced.ip_payload() else {
        return;
    };
    let (protocol, payload) = if ip_payload.fragmented {
        let Ok(strict) = SlicedPacket::from_ip(ip) else {
            return;
        };
        match defrag.process_sliced_packet(&strict, (), ()) {
            Ok(Some(whole)) => {
                reassembled = whole;
                (reassembled.ip_number, reassembled.payload.as_slice())
            }
            _ => return,
        }
    } else {
        (ip_payload.ip_number, ip_payload.payload)
    };

    match protocol {
        IpNumber::UDP => {
            let Some(header) = payload.get(..8) else {
                return;
            };
            let src_port = u16::from_be_bytes([header[0], header[1]]);
            let dst_port = u16::from_be_bytes([header[2], header[3]]);
            let Some(dns) = dns_protocol(src_port, dst_port, context.extra_ports) else {
                return;
            };
            let body = &payload[8..];
            found.push(Found {
                message: parse_message(body, context.limits),
                meta: meta(
                    context,
                    src_ip,
                    src_port,
                    dst_ip,
                    dst_port,
                    Transport::Udp,
                    dns,
                ),
                payload: body.to_vec(),
            });
        }
        IpNumber::TCP => {
            let Some(header) = payload.get(..20) else {
                return;
            };
            let src_port = u16::from_be_bytes([header[0], header[1]]);
            let dst_port = u16::from_be_bytes([header[2], header[3]]);
            let Some(dns) = dns_protocol(src_port, dst_port, context.extra_ports) else {
                return;
            };
            let data_offset = usize::from(header[12] >> 4) * 4;
            let Some(body) = payload.get(data_offset..) else {
                return;
            };
            if body.is_empty() {
                return;
            }
            let stream = streams
                .entry((src_ip, src_port, dst_ip, dst_port))
                .or_default();
            stream.extend_from_slice(body);
            while stream.len() >= 2 {
                let length = usize::from(u16::from_be_bytes([stream[0], stream[1]]));
                if stream.len() < 2 + length {
                    break;
                }
                let message: Vec<u8> = stream.drain(..2 + length).skip(2).collect();
                found.push(Found {
                    message: parse_message(&message, context.limits),
                    meta: meta(
                        context,
                        src_ip,
                        src_port,
                        dst_ip,
                        dst_port,
                        Transport::Tcp,
                        dns,
                    ),
                    payload: message,
                });
            }
        }
        _ => {}
    }
}

/// Skips 802.1Q and QinQ tags after the Ethernet addresses.
fn skip_vlans<'a>(frame: &'a [u8], mut rest: &'a [u8]) -> &'a [u8] {
    let mut ether_type = u16::from_be_bytes([frame[12], frame[13]]);
    while matches!(ether_type, 0x8100 | 0x88a8) && rest.len() >= 4 {
        ether_type = u16::from_be_bytes([rest[2], rest[3]]);
        rest = &rest[4..];
    }
    rest
}

fn dns_protocol(src_port: u16, dst_port: u16, extra_ports: &[u16]) -> Option<DnsProtocol> {
    let either = |port: u16| src_port == port || dst_port == port;
    if either(5353) {
        Some(DnsProtocol::Mdns)
    } else if either(5355) {
        Some(DnsProtocol::Llmnr)
    } else if either(53) || extra_ports.iter().any(|port| either(*port)) {
        Some(DnsProtocol::Dns)
    } else {
        None
    }
}

fn meta(
    context: &Context,
    src_ip: IpAddr,
    src_port: u16,
    dst_ip: IpAddr,
    dst_port: u16,
    transport: Transport,
    protocol: DnsProtocol,
) -> PacketMeta {
    PacketMeta {
        timestamp: context.timestamp,
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        transport,
        protocol,
        location: context.location.clone(),
    }
}
