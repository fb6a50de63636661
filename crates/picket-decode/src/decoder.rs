//! The packet decoder: frames in, events out, whatever the capture format.

use std::collections::VecDeque;
use std::sync::Arc;

use picket_event::dns::Transport;
use picket_event::{Event, Rejection, SourceLocation, Timestamp};

use crate::DecodeConfig;
use crate::capture::Frame;
use crate::context::{Ctx, dns_protocol};
use crate::dns::{DnsPairer, PairerStats};
use crate::flow::{FlowTable, TcpStats};
use crate::frag::{Defragmenter, FragmentStats};
use crate::packet::{self, Decoded, Outcome, Transport as Layer4};

/// Counts of a decoding run, beyond the common [`picket_event::SourceStats`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames read.
    pub packets: u64,
    /// Frames whose link or IP layer did not decode.
    pub undecodable: u64,
    /// Frames with nothing to decode (not IP, not TCP or UDP, a fragment
    /// waiting for the rest).
    pub skipped: u64,
    /// TCP segments handled.
    pub tcp_segments: u64,
    /// UDP datagrams handled.
    pub udp_datagrams: u64,
    /// DNS messages handed to the DNS decoder.
    pub dns_messages: u64,
    /// HTTP transactions emitted.
    pub http_transactions: u64,
    /// TLS ClientHellos seen.
    pub tls_client_hellos: u64,
    /// IP fragment reassembly.
    pub fragments: FragmentStats,
    /// TCP reassembly.
    pub tcp: TcpStats,
    /// DNS pairing.
    pub dns: PairerStats,
}

/// Decodes frames into events; [`crate::CaptureReader`] drives it over a
/// capture file, fuzzers and tests drive it frame by frame.
pub struct PacketDecoder {
    config: DecodeConfig,
    file: Arc<str>,
    defrag: Defragmenter,
    flows: FlowTable,
    dns: DnsPairer,
    out: VecDeque<Result<Event, Rejection>>,
    stats: CaptureStats,
    /// Time, number and offset of the last frame, for events emitted at the end.
    last: (Timestamp, u64, u64),
}

impl std::fmt::Debug for PacketDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketDecoder")
            .field("file", &self.file)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Ctx`] from the decoder's fields, leaving `flows` and
/// `defrag` free to borrow.
macro_rules! ctx {
    ($self:ident, $ts:expr, $number:expr, $offset:expr) => {
        Ctx {
            config: &$self.config,
            file: &$self.file,
            timestamp: $ts,
            packet: $number,
            offset: $offset,
            out: &mut $self.out,
            dns: &mut $self.dns,
            stats: &mut $self.stats,
        }
    };
}

impl PacketDecoder {
    /// Creates a decoder whose events name `file` as their source.
    pub fn new(config: DecodeConfig, file: Arc<str>) -> Self {
        PacketDecoder {
            defrag: Defragmenter::new(
                config.max_fragment_bytes,
                config.max_fragment_datagrams,
                config.fragment_timeout,
            ),
            flows: FlowTable::new(
                config.max_total_reassembly_bytes,
                config.max_flow_reassembly_bytes,
            ),
            dns: DnsPairer::new(config.dns_pairing.clone()),
            out: VecDeque::new(),
            stats: CaptureStats::default(),
            last: (Timestamp::UNIX_EPOCH, 0, 0),
            config,
            file,
        }
    }

    /// Decodes one frame.
    pub fn frame(&mut self, frame: Frame<'_>) {
        self.stats.packets += 1;
        self.last = (frame.timestamp, frame.number, frame.offset);
        let decoded = packet::decode(
            frame.linktype,
            frame.data,
            &mut self.defrag,
            frame.timestamp,
        );
        match decoded {
            Err(error) => {
                self.stats.undecodable += 1;
                let location =
                    SourceLocation::packet(self.file.clone(), frame.number, frame.offset);
                self.out.push_back(Err(Rejection::new(location, error)));
            }
            Ok(Outcome::Skipped) => self.stats.skipped += 1,
            Ok(Outcome::Packet(packet)) => self.transport(packet, frame),
            Ok(Outcome::Reassembled(datagram)) => match packet::decode_reassembled(&datagram) {
                Ok(Some(packet)) => self.transport(packet, frame),
                Ok(None) => self.stats.skipped += 1,
                Err(error) => {
                    self.stats.undecodable += 1;
                    let location =
                        SourceLocation::packet(self.file.clone(), frame.number, frame.offset);
                    self.out.push_back(Err(Rejection::new(location, error)));
                }
            },
        }
    }

    fn transport(&mut self, packet: Decoded<'_>, frame: Frame<'_>) {
        let mut ctx = ctx!(self, frame.timestamp, frame.number, frame.offset);
        match packet.transport {
            Layer4::Udp {
                src_port,
                dst_port,
                payload,
            } => {
                ctx.stats.udp_datagrams += 1;
                let protocol = dns_protocol(dst_port).or_else(|| dns_protocol(src_port));
                if let Some(protocol) = protocol {
                    ctx.dns_message(
                        payload,
                        (packet.src, src_port),
                        (packet.dst, dst_port),
                        Transport::Udp,
                        protocol,
                    );
                } else {
                    ctx.stats.skipped += 1;
                }
            }
            Layer4::Tcp(segment) => {
                ctx.stats.tcp_segments += 1;
                self.flows
                    .segment(packet.src, packet.dst, &segment, &mut ctx);
            }
        }
    }

    /// Ends the input: closes every connection and emits every DNS query
    /// still waiting for its response.
    pub fn finish(&mut self) {
        let (ts, number, offset) = self.last;
        let mut ctx = ctx!(self, ts, number, offset);
        self.flows.close_all(&mut ctx);
        ctx.dns.flush(ctx.out);
    }

    /// Returns the next event or rejection ready, in completion order.
    pub fn pop(&mut self) -> Option<Result<Event, Rejection>> {
        self.out.pop_front()
    }

    /// Queues a rejection that concerns the capture rather than a packet.
    pub(crate) fn reject(&mut self, rejection: Rejection) {
        self.out.push_back(Err(rejection));
    }

    /// Returns the source name the events carry.
    pub fn file(&self) -> &Arc<str> {
        &self.file
    }

    /// Counts so far.
    pub fn stats(&self) -> CaptureStats {
        let mut stats = self.stats.clone();
        stats.fragments = self.defrag.stats();
        stats.tcp = self.flows.stats();
        stats.dns = self.dns.stats();
        stats
    }
}
