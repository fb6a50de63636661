//! The indicator matcher: compiled, immutable, shared lookup of every event
//! field against active indicators.
//!
//! A [`MatcherBuilder`] collects indicators and whitelist entries and
//! compiles them into a [`Matcher`]. The matcher is immutable and
//! `Send + Sync`: every worker thread shares one through an `Arc`, and a
//! reload builds a new one and swaps it in with [`SharedMatcher`] without
//! pausing the threads that are matching.
//!
//! ```
//! use picket_event::{Event, DnsEvent, MatchedField};
//! use picket_intel::{Indicator, IndicatorKind};
//! use picket_match::MatcherBuilder;
//!
//! let evil = Indicator {
//!     kind: IndicatorKind::Domain,
//!     value: "evil.example".into(),
//!     include_subdomains: true,
//!     match_substring: false,
//!     sightings: Vec::new(),
//! };
//! let mut builder = MatcherBuilder::new();
//! builder.add(&evil)?;
//! let matcher = builder.build();
//!
//! let event = Event::Dns(DnsEvent { query_name: "c2.evil.example".into(), ..DnsEvent::default() });
//! let mut hits = Vec::new();
//! matcher.match_event(&event, &mut hits);
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].field, MatchedField::DnsQuery);
//! assert_eq!(hits[0].indicator, "evil.example");
//! # Ok::<(), picket_match::BuildError>(())
//! ```
//!
//! # What matches what
//!
//! - Addresses: exact IPv4 and IPv6, CIDR networks and `first-last` ranges.
//!   Every indicator containing the address is reported, the exact address
//!   first and then networks from the most specific.
//! - Domains: exact, or with subdomains on label boundaries (`evil.example`
//!   covers `a.b.evil.example`, never `notevil.example`), ignoring case and
//!   a trailing dot, internationalised names in their ASCII form.
//! - URLs: exact after normalisation ([`normalize::url_key`]), or
//!   host-and-path prefixes cut at `/` and `?`.
//! - MD5, SHA-1 and SHA-256 digests of HTTP bodies, e-mail addresses, user
//!   agents (exact, or as a case-insensitive substring) and file names.
//!
//! Whitelist entries ([`MatcherBuilder::allow`]) win over every indicator
//! that is less specific than or as specific as the entry.
//!
//! # Memory
//!
//! Values live in sorted arrays with small directories (no hash-table
//! slack); each value's metadata is a 30-bit id of a shared source list.
//! [`Matcher::stats`] reports the heap in use.
#![deny(missing_docs)]

mod builder;
mod filter;
mod keys;
mod matcher;
pub mod normalize;
mod ranges;
mod shared;
mod sources;
mod strset;
mod tag;
mod walk;

pub use builder::MatcherBuilder;
pub use matcher::{Matcher, MatcherStats};
pub use shared::SharedMatcher;

/// How many events ahead of the one being matched a caller passes to
/// [`Matcher::prefetch`]. A read from memory takes roughly 0.1 µs and
/// matching an event about 0.5 µs, so one event ahead is already enough.
/// On the Squid benchmark in BENCHMARKS.md, distances 1, 2, 4 and 8 each
/// cut 4 to 6 % of the time per line. Four leaves room for events that
/// match faster than those.
pub const PREFETCH_DISTANCE: usize = 4;

/// Limits of a matcher. Every field has a documented default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatcherSettings {
    /// Maximum hits one event can produce; further hits are dropped. Bounds the
    /// work a hostile event (a DNS response with hundreds of answers) can
    /// cause. Default 256.
    pub max_hits_per_event: usize,
    /// Maximum list slots the network table may use (4 bytes each). Nested
    /// networks need at most 33 (IPv4) or 129 (IPv6) slots per segment, but
    /// overlapping ranges can need many more. Past the limit the widest
    /// networks are left out and counted in
    /// [`MatcherStats::networks_dropped`]. Default 2^26 (256 MiB).
    pub max_range_pool: usize,
}

impl Default for MatcherSettings {
    fn default() -> Self {
        MatcherSettings {
            max_hits_per_event: 256,
            max_range_pool: 1 << 26,
        }
    }
}

/// Error adding an indicator to a [`MatcherBuilder`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The value does not parse as its kind.
    #[error("{kind} indicator {value:?} is invalid: {reason}")]
    InvalidValue {
        /// Indicator kind (`ipv4`, `domain`, ...).
        kind: &'static str,
        /// The value, cut to 256 characters.
        value: String,
        /// The problem with the value.
        reason: &'static str,
    },
    /// The value is longer than the matcher stores.
    #[error("{kind} indicator of {len} bytes is longer than the {max}-byte limit")]
    TooLong {
        /// Indicator kind.
        kind: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than 2^30 distinct source lists.
    #[error("more than 2^30 distinct source lists")]
    TooManySourceLists,
}
