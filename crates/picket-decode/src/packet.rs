//! Link and network layers: from a captured frame to a TCP or UDP segment,
//! reassembling IP fragments on the way.

use std::net::IpAddr;

use etherparse::{
    EtherType, IpNumber, Ipv4Slice, NetSlice, SlicedPacket, TcpSlice, TransportSlice, UdpSlice,
};
use picket_event::Timestamp;

use crate::DecodeError;
use crate::frag::{Defragmenter, Fragment, FragmentKey};

/// Link types picket decodes (see tcpdump.org's LINKTYPE list).
pub mod linktype {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    pub const NULL: i32 = 0;
    /// Ethernet II, with 802.1Q and 802.1ad (QinQ) tags.
    pub const ETHERNET: i32 = 1;
    /// Raw IP on some BSDs (DLT_RAW's historic numbers).
    pub const RAW_BSD: [i32; 2] = [12, 14];
    /// Raw IPv4 or IPv6, no link header.
    pub const RAW: i32 = 101;
    /// OpenBSD loopback: like NULL but in network byte order.
    pub const LOOP: i32 = 108;
    /// Linux cooked capture v1 (SLL).
    pub const LINUX_SLL: i32 = 113;
    /// Raw IPv4.
    pub const IPV4: i32 = 228;
    /// Raw IPv6.
    pub const IPV6: i32 = 229;
    /// Linux cooked capture v2 (SLL2).
    pub const LINUX_SLL2: i32 = 276;
}

/// The transport part of a decoded packet.
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp(TcpSegment<'a>),
    /// A UDP datagram's ports and payload.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// The payload.
        payload: &'a [u8],
    },
}

/// The fields of a TCP segment that reassembly needs.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (valid when `ack` is set).
    pub ack_number: u32,
    /// SYN flag.
    pub syn: bool,
    /// ACK flag.
    pub ack: bool,
    /// FIN flag.
    pub fin: bool,
    /// RST flag.
    pub rst: bool,
    /// The segment's data.
    pub payload: &'a [u8],
}

impl<'a> TcpSegment<'a> {
    fn from_slice(tcp: &TcpSlice<'a>) -> Self {
        TcpSegment {
            src_port: tcp.source_port(),
            dst_port: tcp.destination_port(),
            seq: tcp.sequence_number(),
            ack_number: tcp.acknowledgment_number(),
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            payload: tcp.payload(),
        }
    }
}

/// A packet decoded down to its transport layer.
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The TCP or UDP part.
    pub transport: Transport<'a>,
}

/// Result of decoding one frame.
#[derive(Debug)]
pub enum Outcome<'a> {
    /// A TCP or UDP packet, borrowed from the frame.
    Packet(Decoded<'a>),
    /// The last fragment of a datagram arrived: the whole datagram, to be
    /// decoded with [`decode_reassembled`].
    Reassembled(Reassembled),
    /// Not IP, not TCP or UDP, or a fragment still waiting for the rest.
    Skipped,
}

/// A reassembled datagram: addresses, protocol and the whole payload.
#[derive(Debug)]
pub struct Reassembled {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    payload: Vec<u8>,
}

/// Decodes a frame's link and IP layers; fragments go to `defrag`.
pub fn decode<'a>(
    linktype: i32,
    data: &'a [u8],
    defrag: &mut Defragmenter,
    now: Timestamp,
) -> Result<Outcome<'a>, DecodeError> {
    if linktype == linktype::ETHERNET
        && let Some(decoded) = decode_ethernet_ipv4(data)
    {
        return Ok(Outcome::Packet(decoded));
    }
    decode_general(linktype, data, defrag, now)
}

/// Decodes like [`decode`], for every link type and layer stack etherparse supports.
fn decode_general<'a>(
    linktype: i32,
    data: &'a [u8],
    defrag: &mut Defragmenter,
    now: Timestamp,
) -> Result<Outcome<'a>, DecodeError> {
    let sliced = slice_link(linktype, data)?;
    let Some(sliced) = sliced else {
        return Ok(Outcome::Skipped);
    };

    let (src, dst) = match &sliced.net {
        Some(NetSlice::Ipv4(ip)) => {
            let header = ip.header();
            (
                IpAddr::V4(header.source_addr()),
                IpAddr::V4(header.destination_addr()),
            )
        }
        Some(NetSlice::Ipv6(ip)) => {
            let header = ip.header();
            (
                IpAddr::V6(header.source_addr()),
                IpAddr::V6(header.destination_addr()),
            )
        }
        _ => return Ok(Outcome::Skipped),
    };

    match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => {
            return Ok(Outcome::Packet(Decoded {
                src,
                dst,
                transport: Transport::Tcp(TcpSegment::from_slice(tcp)),
            }));
        }
        Some(TransportSlice::Udp(udp)) => {
            return Ok(Outcome::Packet(Decoded {
                src,
                dst,
                transport: udp_transport(udp, net_payload(&sliced.net)),
            }));
        }
        Some(_) => return Ok(Outcome::Skipped),
        None => {}
    }

    // No transport header: a fragment, or a protocol etherparse leaves alone.
    let (key, fragment) = match &sliced.net {
        Some(NetSlice::Ipv4(ip)) if ip.is_payload_fragmented() => {
            let header = ip.header();
            let payload = ip.payload();
            let key = FragmentKey {
                src,
                dst,
                id: u32::from(header.identification()),
                protocol: payload.ip_number.0,
            };
            let fragment = Fragment {
                offset: usize::from(header.fragments_offset().byte_offset()),
                more: header.more_fragments(),
                data: payload.payload,
            };
            (key, fragment)
        }
        Some(NetSlice::Ipv6(ip)) if ip.is_payload_fragmented() => {
            let header = ip
                .extensions()
                .clone()
                .into_iter()
                .find_map(|ext| match ext {
                    etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f.to_header()),
                    _ => None,
                });
            let Some(header) = header else {
                return Ok(Outcome::Skipped);
            };
            let payload = ip.payload();
            let key = FragmentKey {
                src,
                dst,
                id: header.identification,
                protocol: payload.ip_number.0,
            };
            let fragment = Fragment {
                offset: usize::from(header.fragment_offset.byte_offset()),
                more: header.more_fragments,
                data: payload.payload,
            };
            (key, fragment)
        }
        _ => return Ok(Outcome::Skipped),
    };
    if key.protocol != IpNumber::TCP.0 && key.protocol != IpNumber::UDP.0 {
        return Ok(Outcome::Skipped);
    }
    match defrag.add(key, fragment, now) {
        Some(payload) => Ok(Outcome::Reassembled(Reassembled {
            src,
            dst,
            protocol: key.protocol,
            payload,
        })),
        None => Ok(Outcome::Skipped),
    }
}

/// Slices the most common frame, Ethernet II carrying unfragmented IPv4 with
/// TCP or UDP, one layer at a time, which skips the generic slicer's VLAN
/// loop and its large result. Every other frame, and any frame a layer
/// rejects, gives `None` and takes the general path, which reports errors.
fn decode_ethernet_ipv4(data: &[u8]) -> Option<Decoded<'_>> {
    if data.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = Ipv4Slice::from_slice(data.get(14..)?).ok()?;
    if ip.is_payload_fragmented() {
        return None;
    }

    let header = ip.header();
    let src = IpAddr::V4(header.source_addr());
    let dst = IpAddr::V4(header.destination_addr());
    let ip_payload = ip.payload().payload;

    let transport = match ip.payload().ip_number {
        IpNumber::UDP => udp_transport(&UdpSlice::from_slice(ip_payload).ok()?, Some(ip_payload)),
        IpNumber::TCP => Transport::Tcp(TcpSegment::from_slice(
            &TcpSlice::from_slice(ip_payload).ok()?,
        )),
        _ => return None,
    };
    Some(Decoded {
        src,
        dst,
        transport,
    })
}

/// Returns a UDP datagram's ports and payload. A UDP length shorter than the IP
/// payload hides bytes from a receiver that trusts it; crafted DNS attacks
/// do this (tcpdump's dns-zlip captures). The payload runs to the IP
/// length, as tcpdump reads it, so the hidden message is seen and its
/// anomalies flagged.
fn udp_transport<'a>(udp: &UdpSlice<'a>, ip_payload: Option<&'a [u8]>) -> Transport<'a> {
    let mut payload = udp.payload();
    if let Some(ip_payload) = ip_payload
        && ip_payload.len() > 8 + payload.len()
    {
        payload = &ip_payload[8..];
    }
    Transport::Udp {
        src_port: udp.source_port(),
        dst_port: udp.destination_port(),
        payload,
    }
}

/// Decodes the transport header of a reassembled datagram.
pub fn decode_reassembled(datagram: &Reassembled) -> Result<Option<Decoded<'_>>, DecodeError> {
    let transport = if datagram.protocol == IpNumber::TCP.0 {
        let tcp = TcpSlice::from_slice(&datagram.payload).map_err(malformed)?;
        Transport::Tcp(TcpSegment::from_slice(&tcp))
    } else if datagram.protocol == IpNumber::UDP.0 {
        let udp = UdpSlice::from_slice(&datagram.payload)
            .or_else(|_| UdpSlice::from_slice_lax(&datagram.payload))
            .map_err(malformed)?;
        Transport::Udp {
            src_port: udp.source_port(),
            dst_port: udp.destination_port(),
            payload: udp.payload(),
        }
    } else {
        return Ok(None);
    };
    Ok(Some(Decoded {
        src: datagram.src,
        dst: datagram.dst,
        transport,
    }))
}

/// Strips the link header and slices the rest; `None` for frames that carry
/// no IP (ARP, LLDP, ...).
fn slice_link(linktype: i32, data: &[u8]) -> Result<Option<SlicedPacket<'_>>, DecodeError> {
    let sliced = match linktype {
        linktype::ETHERNET => SlicedPacket::from_ethernet(data),
        linktype::LINUX_SLL => SlicedPacket::from_linux_sll(data),
        linktype::LINUX_SLL2 => {
            // SLL2 header (20 bytes): protocol type (2), reserved (2),
            // interface index (4), ARPHRD type (2), packet type (1),
            // address length (1), address (8).
            let (Some(proto), Some(rest)) = (data.get(..2), data.get(20..)) else {
                return Err(truncated_link("SLL2"));
            };
            let ether_type = EtherType(u16::from_be_bytes([proto[0], proto[1]]));
            SlicedPacket::from_ether_type(ether_type, rest)
        }
        linktype::RAW | linktype::IPV4 | linktype::IPV6 => SlicedPacket::from_ip(data),
        l if linktype::RAW_BSD.contains(&l) => SlicedPacket::from_ip(data),
        linktype::NULL | linktype::LOOP => {
            // The 4-byte address family is in either byte order; the IP
            // version nibble that follows tells v4 from v6.
            let Some(rest) = data.get(4..) else {
                return Err(truncated_link("loopback"));
            };
            SlicedPacket::from_ip(rest)
        }
        other => return Err(DecodeError::UnsupportedLinkType { linktype: other }),
    };
    match sliced {
        Ok(s) if s.net.is_some() => Ok(Some(s)),
        Ok(_) => Ok(None),
        Err(e) => Err(malformed(e)),
    }
}

fn truncated_link(name: &str) -> DecodeError {
    DecodeError::MalformedPacket {
        reason: format!("{name} header cut short"),
    }
}

fn malformed(error: impl std::fmt::Display) -> DecodeError {
    DecodeError::MalformedPacket {
        reason: error.to_string(),
    }
}

/// The IP payload of a sliced packet (the transport header included).
fn net_payload<'a>(net: &Option<NetSlice<'a>>) -> Option<&'a [u8]> {
    match net {
        Some(NetSlice::Ipv4(ip)) => Some(ip.payload().payload),
        Some(NetSlice::Ipv6(ip)) => Some(ip.payload().payload),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use etherparse::PacketBuilder;

    use super::*;

    fn ethernet() -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
        PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
    }

    fn udp_frame(payload: &[u8]) -> Vec<u8> {
        let builder = ethernet()
            .ipv4([192, 0, 2, 1], [198, 51, 100, 2], 64)
            .udp(53000, 53);
        let mut frame = Vec::new();
        builder.write(&mut frame, payload).unwrap();
        frame
    }

    fn tcp_frame(payload: &[u8]) -> Vec<u8> {
        let builder = ethernet()
            .ipv4([192, 0, 2, 1], [198, 51, 100, 2], 64)
            .tcp(40000, 80, 1000, 65535)
            .ack(7);
        let mut frame = Vec::new();
        builder.write(&mut frame, payload).unwrap();
        frame
    }

    fn defragmenter() -> Defragmenter {
        Defragmenter::new(1 << 20, 64, std::time::Duration::from_secs(30))
    }

    /// The fast path must give exactly what the general path gives.
    fn assert_paths_agree(frame: &[u8]) -> bool {
        let fast = decode_ethernet_ipv4(frame);
        let general = decode_general(
            linktype::ETHERNET,
            frame,
            &mut defragmenter(),
            Timestamp::from_nanos(0),
        );
        match (fast, general) {
            (Some(fast), Ok(Outcome::Packet(general))) => {
                assert_eq!(format!("{fast:?}"), format!("{general:?}"));
                true
            }
            (Some(fast), other) => panic!("fast path gave {fast:?}, general path {other:?}"),
            (None, _) => false,
        }
    }

    #[test]
    fn fast_path_matches_general_path() {
        assert!(assert_paths_agree(&udp_frame(b"dns message")));
        assert!(assert_paths_agree(&tcp_frame(b"GET / HTTP/1.1\r\n\r\n")));

        // Ethernet padding after the IP datagram is not payload.
        let mut padded = udp_frame(b"x");
        padded.extend_from_slice(&[0; 20]);
        assert!(assert_paths_agree(&padded));

        // A UDP length shorter than the IP payload: both read to the IP length.
        let mut short_udp = udp_frame(b"hidden bytes");
        short_udp[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&10u16.to_be_bytes());
        assert!(assert_paths_agree(&short_udp));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Damaged Ethernet IPv4 frames decode the same through `decode` as
        /// through the general path alone, errors included: bytes of the
        /// Ethernet, IPv4 (options too) and TCP or UDP headers overwritten,
        /// the frame cut short or padded.
        #[test]
        fn damaged_frames_decode_as_general_path(
            tcp in proptest::bool::ANY,
            options in 0usize..11,
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            edits in proptest::collection::vec((0usize..120, proptest::num::u8::ANY), 0..4),
            end in proptest::num::i8::ANY,
        ) {
            let mut frame = if tcp { tcp_frame(&payload) } else { udp_frame(&payload) };
            if options > 0 {
                // Grow the IPv4 header by `options` words of no-operation
                // options, keeping its lengths valid.
                let words = vec![1u8; options * 4];
                frame.splice(34..34, words);
                frame[14] = 0x45 + options as u8;
                let total = u16::from_be_bytes([frame[16], frame[17]]) + options as u16 * 4;
                frame[16..18].copy_from_slice(&total.to_be_bytes());
            }
            for (at, value) in edits {
                if let Some(byte) = frame.get_mut(at) {
                    *byte = value;
                }
            }
            let length = frame.len().saturating_add_signed(isize::from(end));
            frame.resize(length, 0);

            let now = Timestamp::from_nanos(0);
            let fast = decode(linktype::ETHERNET, &frame, &mut defragmenter(), now);
            let general = decode_general(linktype::ETHERNET, &frame, &mut defragmenter(), now);
            proptest::prop_assert_eq!(format!("{fast:?}"), format!("{general:?}"));
        }
    }

    #[test]
    fn fast_path_skips_other_frames() {
        // IP total length past the frame's end: an error, on the general path.
        let mut cut = udp_frame(b"payload");
        cut.truncate(cut.len() - 3);
        assert!(decode_ethernet_ipv4(&cut).is_none());
        assert!(
            decode(
                linktype::ETHERNET,
                &cut,
                &mut defragmenter(),
                Timestamp::from_nanos(0)
            )
            .is_err()
        );

        // A first fragment (more-fragments flag set).
        let mut fragment = udp_frame(b"payload");
        fragment[14 + 6] |= 0x20;
        assert!(decode_ethernet_ipv4(&fragment).is_none());

        // An IPv6 frame.
        let mut v6 = Vec::new();
        ethernet()
            .ipv6([1; 16], [2; 16], 64)
            .udp(1, 53)
            .write(&mut v6, b"x")
            .unwrap();
        assert!(decode_ethernet_ipv4(&v6).is_none());
        assert!(matches!(
            decode(
                linktype::ETHERNET,
                &v6,
                &mut defragmenter(),
                Timestamp::from_nanos(0)
            ),
            Ok(Outcome::Packet(_))
        ));
    }
}
