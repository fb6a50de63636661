//! Resource bounds of DNS message decoding and pairing.

use std::time::Duration;

/// Bounds that keep the decoding of one DNS message cheap on hostile input.
///
/// A message that passes a bound is still decoded as far as the bound allows
/// and carries the anomaly named on the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsLimits {
    /// Compression pointers followed while reading one name. Legitimate names
    /// use one or two; every pointer adds at least one label, so a name of at
    /// most 127 labels never needs more than 127. Passing it records
    /// `DnsCompressionTooDeep`. Default 16.
    pub max_pointer_jumps: usize,
    /// Records decoded per section (question, answer, authority, additional).
    /// Records past it are skipped and `DnsTooManyRecords` is recorded.
    /// Default 512: a 65,535-byte message holds at most about 6,000 minimal
    /// records, real responses rarely more than a few dozen.
    pub max_records_per_section: usize,
    /// Bytes of record data rendered in presentation form per record; longer
    /// data (large TXT, NULL or DNSKEY payloads) is cut and ends in `...`.
    /// Default 4,096.
    pub max_rdata_text_bytes: usize,
}

impl Default for DnsLimits {
    fn default() -> Self {
        DnsLimits {
            max_pointer_jumps: 16,
            max_records_per_section: 512,
            max_rdata_text_bytes: 4096,
        }
    }
}

/// Bounds of [`DnsPairer`](super::DnsPairer), the query and response pairing table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairerConfig {
    /// Queries waiting for their response at once. When a new query would
    /// pass it, the oldest waiting query is emitted as query-only and counted
    /// in [`PairerStats::evicted`](super::PairerStats::evicted). Default
    /// 65,536 (a few MiB of pending queries).
    pub max_pending_queries: usize,
    /// Estimated heap bytes of the waiting queries (names and record data
    /// in presentation form plus a fixed cost per record). When a new query
    /// would pass it, the oldest waiting queries are emitted as query-only
    /// and counted as evicted. A query carrying large sections can weigh
    /// hundreds of KiB, so this bounds memory where the count alone would
    /// not. Default 64 MiB.
    pub max_pending_bytes: usize,
    /// Packet time after which a query with no response is emitted as
    /// query-only with `DnsNoResponse`. Default 10 seconds, Zeek's
    /// `dns_session_timeout`: stub resolvers retry or give up well within it.
    pub query_timeout: Duration,
}

impl Default for PairerConfig {
    fn default() -> Self {
        PairerConfig {
            max_pending_queries: 65_536,
            max_pending_bytes: 64 << 20,
            query_timeout: Duration::from_secs(10),
        }
    }
}
