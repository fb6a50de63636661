//! Limits and switches of capture decoding, each with a documented default.

use std::time::Duration;

use crate::dns::{DnsLimits, PairerConfig};

/// Every resource bound the capture decoder keeps.
///
/// Times are packet time (the capture's timestamps), not wall-clock time, so a
/// capture decodes the same way however fast it is read. Defaults suit a
/// capture of a busy office link on a machine with a few GiB to spare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeConfig {
    /// Bytes of out-of-order TCP data buffered per direction of a flow before
    /// the oldest hole is declared a gap. Default 1 MiB.
    pub max_flow_reassembly_bytes: usize,
    /// Bytes of out-of-order TCP data buffered over all flows; a segment that
    /// would pass it is dropped and counted. Default 256 MiB.
    pub max_total_reassembly_bytes: usize,
    /// TCP flows tracked at once; the least recently active flow is closed
    /// when a new one would pass it. Default 262,144.
    pub max_flows: usize,
    /// A TCP flow with no packet for this long (packet time) is closed and its
    /// pending transactions are emitted. Default 10 minutes.
    pub flow_idle_timeout: Duration,
    /// Bytes of IP fragments held over all datagrams being reassembled.
    /// Default 64 MiB.
    pub max_fragment_bytes: usize,
    /// Datagrams being reassembled from fragments at once. Default 65,536.
    pub max_fragment_datagrams: usize,
    /// A fragmented datagram not complete within this time (packet time) is
    /// dropped and counted. Default 30 seconds (RFC 791 suggests 15, Linux 30).
    pub fragment_timeout: Duration,
    /// Bytes of each HTTP body that are hashed and sniffed; the size keeps
    /// counting past it and `BodyInfo::truncated` is set. Default 64 MiB.
    pub max_body_hash_bytes: u64,
    /// Bytes a gzip or deflate body may decompress to before decoding stops
    /// (decompression-bomb guard). Default 64 MiB.
    pub max_decompressed_bytes: u64,
    /// Bytes of one HTTP message head (start line and headers) kept while
    /// waiting for its end. Default 64 KiB, at most
    /// [`DecodeConfig::HTTP_HEAD_BYTES_LIMIT`].
    pub max_http_head_bytes: usize,
    /// HTTP requests waiting for their responses on one connection; older
    /// ones are emitted unanswered past it. Default 64.
    pub max_pending_requests: usize,
    /// Bytes of a TLS ClientHello kept while it arrives over several
    /// segments. Default 16 KiB.
    pub max_client_hello_bytes: usize,
    /// Bytes of one DNS-over-TCP message kept while it arrives over several
    /// segments (the length prefix allows at most 65,535). Default 65,535.
    pub max_dns_tcp_message_bytes: usize,
    /// Bounds of DNS message decoding; defaults in [`DnsLimits`].
    pub dns: DnsLimits,
    /// Bounds of DNS query and response pairing; defaults in [`PairerConfig`].
    pub dns_pairing: PairerConfig,
}

impl DecodeConfig {
    /// The largest `max_http_head_bytes` a configuration may set: 16 MiB,
    /// 256 times the default, held per direction of each HTTP connection.
    pub const HTTP_HEAD_BYTES_LIMIT: usize = 16 << 20;
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            max_flow_reassembly_bytes: 1 << 20,
            max_total_reassembly_bytes: 256 << 20,
            max_flows: 262_144,
            flow_idle_timeout: Duration::from_secs(600),
            max_fragment_bytes: 64 << 20,
            max_fragment_datagrams: 65_536,
            fragment_timeout: Duration::from_secs(30),
            max_body_hash_bytes: 64 << 20,
            max_decompressed_bytes: 64 << 20,
            max_http_head_bytes: 64 << 10,
            max_pending_requests: 64,
            max_client_hello_bytes: 16 << 10,
            max_dns_tcp_message_bytes: 65_535,
            dns: DnsLimits::default(),
            dns_pairing: PairerConfig::default(),
        }
    }
}
