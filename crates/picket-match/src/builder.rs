//! [`MatcherBuilder`]: collects indicators and whitelist entries and
//! compiles them into an immutable [`Matcher`].

use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use picket_intel::{Indicator, IndicatorKind};

use crate::filter::{BlockBitmap, Bloom};
use crate::keys::SortedKeys;
use crate::matcher::{Matcher, Substrings};
use crate::normalize::{self, hash};
use crate::ranges::{RANGE, RangeItem, Ranges};
use crate::sources::SourceTable;
use crate::strset::{MAX_LEN, StrSetBuilder};
use crate::tag::{self, Tag};
use crate::{BuildError, MatcherSettings};

/// Collects indicators, then [`build`](MatcherBuilder::build)s a [`Matcher`].
///
/// Adding is cheap (values are normalised and appended); `build` sorts,
/// merges repeated values (their source lists are joined) and lays out the
/// compact tables. A reload makes a new builder; a built matcher never
/// changes.
#[derive(Debug)]
pub struct MatcherBuilder {
    settings: MatcherSettings,
    seed: u64,
    sources: SourceTable,
    v4: Vec<(u32, Tag)>,
    v6: Vec<(u128, Tag)>,
    r4: Vec<RangeItem<u32>>,
    r6: Vec<RangeItem<u128>>,
    domains: StrSetBuilder,
    domain_suffix_labels: u64,
    urls: StrSetBuilder,
    url_host_hashes: Vec<u64>,
    url_prefixes: bool,
    emails: StrSetBuilder,
    user_agents: StrSetBuilder,
    ua_substrings: Vec<(String, Tag)>,
    file_names: StrSetBuilder,
    md5: Vec<([u8; 16], Tag)>,
    sha1: Vec<([u8; 20], Tag)>,
    sha256: Vec<([u8; 32], Tag)>,
}

impl Default for MatcherBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MatcherBuilder {
    /// Creates an empty builder with default settings.
    pub fn new() -> Self {
        Self::with_settings(MatcherSettings::default())
    }

    /// Creates an empty builder with the given limits.
    pub fn with_settings(settings: MatcherSettings) -> Self {
        MatcherBuilder {
            settings,
            seed: RandomState::new().hash_one(0x7069_636b_6574u64),
            sources: SourceTable::default(),
            v4: Vec::new(),
            v6: Vec::new(),
            r4: Vec::new(),
            r6: Vec::new(),
            domains: StrSetBuilder::default(),
            domain_suffix_labels: 0,
            urls: StrSetBuilder::default(),
            url_host_hashes: Vec::new(),
            url_prefixes: false,
            emails: StrSetBuilder::default(),
            user_agents: StrSetBuilder::default(),
            ua_substrings: Vec::new(),
            file_names: StrSetBuilder::default(),
            md5: Vec::new(),
            sha1: Vec::new(),
            sha256: Vec::new(),
        }
    }

    /// Adds an indicator to match. A value added twice (from two feeds) is
    /// one indicator whose hits carry both source lists.
    ///
    /// Fails, leaving the builder unchanged, when the value does not parse
    /// as its kind.
    pub fn add(&mut self, indicator: &Indicator) -> Result<&mut Self, BuildError> {
        let id = self.intern(indicator)?;
        self.insert(indicator, id)?;
        Ok(self)
    }

    /// Adds a whitelist entry: an event value it covers is never hit by an
    /// indicator less specific than (or equal to) the entry.
    ///
    /// An exact domain, address, URL or digest on the whitelist is never
    /// hit. A whitelisted name under a blacklisted parent domain, or a
    /// whitelisted network inside a blacklisted one, wins for what it
    /// covers. A blacklisted entry more specific than the whitelist entry
    /// still hits.
    pub fn allow(&mut self, indicator: &Indicator) -> Result<&mut Self, BuildError> {
        let id = self.intern(indicator)?;
        self.insert(indicator, id | tag::ALLOW)?;
        Ok(self)
    }

    /// Number of entries added so far, repeats and whitelist entries included.
    pub fn pending(&self) -> usize {
        self.v4.len()
            + self.v6.len()
            + self.r4.len()
            + self.r6.len()
            + self.domains.len()
            + self.urls.len()
            + self.emails.len()
            + self.user_agents.len()
            + self.ua_substrings.len()
            + self.file_names.len()
            + self.md5.len()
            + self.sha1.len()
            + self.sha256.len()
    }

    fn intern(&mut self, indicator: &Indicator) -> Result<Tag, BuildError> {
        self.sources
            .intern_sightings(&indicator.sightings)
            .ok_or(BuildError::TooManySourceLists)
    }

    fn insert(&mut self, indicator: &Indicator, tag: Tag) -> Result<(), BuildError> {
        let kind = indicator.kind;
        let value = indicator.value.trim();
        let invalid = |reason: &'static str| BuildError::InvalidValue {
            kind: kind.as_str(),
            value: value.chars().take(256).collect(),
            reason,
        };
        if value.len() > MAX_LEN {
            return Err(BuildError::TooLong {
                kind: kind.as_str(),
                len: value.len(),
                max: MAX_LEN,
            });
        }

        match kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 if !value.contains('/') => {
                let ip: IpAddr = value.parse().map_err(|_| invalid("not an IP address"))?;
                match canonical_ip(ip) {
                    IpAddr::V4(a) => self.v4.push((u32::from(a), tag)),
                    IpAddr::V6(a) => self.v6.push((u128::from(a), tag)),
                }
            }
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr => {
                let net: ipnet::IpNet = match value.parse() {
                    Ok(net) => net,
                    Err(_) => {
                        let ip: IpAddr =
                            value.parse().map_err(|_| invalid("not a CIDR network"))?;
                        ipnet::IpNet::from(ip)
                    }
                };
                self.push_network(net.trunc(), tag);
            }
            IndicatorKind::IpRange => {
                let (a, b) = value
                    .split_once('-')
                    .ok_or_else(|| invalid("expected first-last"))?;
                let a: IpAddr = a
                    .trim()
                    .parse()
                    .map_err(|_| invalid("first address does not parse"))?;
                let b: IpAddr = b
                    .trim()
                    .parse()
                    .map_err(|_| invalid("last address does not parse"))?;
                match (canonical_ip(a), canonical_ip(b)) {
                    (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => self.r4.push(RangeItem {
                        first: u32::from(a),
                        last: u32::from(b),
                        tag,
                        prefix: RANGE,
                    }),
                    (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => self.r6.push(RangeItem {
                        first: u128::from(a),
                        last: u128::from(b),
                        tag,
                        prefix: RANGE,
                    }),
                    _ => {
                        return Err(invalid(
                            "addresses of different families, or first after last",
                        ));
                    }
                }
            }
            IndicatorKind::Domain => {
                let (name, wildcard) =
                    match value.strip_prefix("*.").or_else(|| value.strip_prefix('.')) {
                        Some(rest) => (rest, true),
                        None => (value, false),
                    };
                if name
                    .bytes()
                    .any(|b| b.is_ascii_whitespace() || b == b'/' || b == b'@')
                {
                    return Err(invalid("not a DNS name"));
                }
                let name = normalize::domain(name).ok_or_else(|| invalid("not a DNS name"))?;
                let suffix = wildcard || indicator.include_subdomains;
                let tag = if suffix { tag | tag::SUFFIX } else { tag };
                if suffix {
                    let labels = name.bytes().filter(|&b| b == b'.').count() + 1;
                    self.domain_suffix_labels |= 1u64 << labels.min(63);
                }
                let bytes = name.as_bytes();
                self.domains.push(hash(self.seed, bytes), bytes, tag);
            }
            IndicatorKind::Url => {
                let key =
                    normalize::url_key(value, None).ok_or_else(|| invalid("URL without a host"))?;
                let tag = if indicator.match_substring {
                    self.url_prefixes = true;
                    tag | tag::SUFFIX
                } else {
                    tag
                };
                if !self
                    .urls
                    .push(hash(self.seed, key.as_bytes()), key.as_bytes(), tag)
                {
                    return Err(BuildError::TooLong {
                        kind: kind.as_str(),
                        len: key.len(),
                        max: MAX_LEN,
                    });
                }
                let host = key.split('/').next().unwrap_or(&key);
                self.url_host_hashes.push(hash(self.seed, host.as_bytes()));
            }
            IndicatorKind::Email => {
                if !value.contains('@') {
                    return Err(invalid("no @ in e-mail address"));
                }
                let key = value.to_lowercase();
                self.emails
                    .push(hash(self.seed, key.as_bytes()), key.as_bytes(), tag);
            }
            IndicatorKind::Md5 => self.md5.push((
                normalize::hex_digest(value).ok_or_else(|| invalid("not 32 hex digits"))?,
                tag,
            )),
            IndicatorKind::Sha1 => self.sha1.push((
                normalize::hex_digest(value).ok_or_else(|| invalid("not 40 hex digits"))?,
                tag,
            )),
            IndicatorKind::Sha256 => {
                self.sha256.push((
                    normalize::hex_digest(value).ok_or_else(|| invalid("not 64 hex digits"))?,
                    tag,
                ));
            }
            IndicatorKind::UserAgent => {
                if value.is_empty() {
                    return Err(invalid("empty user agent"));
                }
                if indicator.match_substring {
                    self.ua_substrings
                        .push((value.to_owned(), tag | tag::SUFFIX));
                } else {
                    self.user_agents
                        .push(hash(self.seed, value.as_bytes()), value.as_bytes(), tag);
                }
            }
            IndicatorKind::FileName => {
                let name = value
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(value)
                    .to_lowercase();
                if name.is_empty() {
                    return Err(invalid("empty file name"));
                }
                self.file_names
                    .push(hash(self.seed, name.as_bytes()), name.as_bytes(), tag);
            }
        }
        Ok(())
    }

    fn push_network(&mut self, net: ipnet::IpNet, tag: Tag) {
        match net {
            ipnet::IpNet::V4(n) => self.r4.push(RangeItem {
                first: u32::from(n.network()),
                last: u32::from(n.broadcast()),
                tag,
                prefix: n.prefix_len(),
            }),
            ipnet::IpNet::V6(n) => {
                let first = u128::from(n.network());
                let last = u128::from(n.broadcast());
                match ipv4_mapped(first, n.prefix_len()) {
                    Some((first4, prefix4)) => self.r4.push(RangeItem {
                        first: first4,
                        last: first4 | u32::MAX.checked_shr(u32::from(prefix4)).unwrap_or(0),
                        tag,
                        prefix: prefix4,
                    }),
                    None => self.r6.push(RangeItem {
                        first,
                        last,
                        tag,
                        prefix: n.prefix_len(),
                    }),
                }
            }
        }
    }

    /// Compiles everything added into an immutable [`Matcher`].
    pub fn build(self) -> Matcher {
        let started = std::time::Instant::now();
        let mut sources = self.sources;
        let mut merge = |old: Tag, new: Tag| -> Tag {
            let flags = old & tag::KEY_FLAGS;
            match sources.merge(tag::id(old), tag::id(new)) {
                Some(id) => id | flags,
                None => old,
            }
        };

        let v4 = SortedKeys::build(self.v4, |a, b| merge_exact(&mut merge, a, b));
        let v6 = SortedKeys::build(self.v6, |a, b| merge_exact(&mut merge, a, b));
        let r4 = Ranges::build(self.r4, self.settings.max_range_pool, &mut merge);
        let r6 = Ranges::build(self.r6, self.settings.max_range_pool, &mut merge);
        let domains = self.domains.build(&mut merge);
        let urls = self.urls.build(&mut merge);
        let emails = self.emails.build(&mut merge);
        let user_agents = self.user_agents.build(&mut merge);
        let file_names = self.file_names.build(&mut merge);
        let md5 = SortedKeys::build(self.md5, |a, b| merge_exact(&mut merge, a, b));
        let sha1 = SortedKeys::build(self.sha1, |a, b| merge_exact(&mut merge, a, b));
        let sha256 = SortedKeys::build(self.sha256, |a, b| merge_exact(&mut merge, a, b));
        let ua_substrings = build_substrings(self.ua_substrings, &mut merge);

        if r4.dropped() + r6.dropped() > 0 {
            tracing::warn!(
                dropped = r4.dropped() + r6.dropped(),
                limit = self.settings.max_range_pool,
                "overlapping address ranges exceed the range pool limit; the widest were left out"
            );
        }
        let v4_blocks = BlockBitmap::new(
            v4.iter().map(|(k, _)| *k),
            r4.items().iter().map(|i| (i.first, i.last)),
            v4.len() + r4.len(),
        );
        let mut url_host_hashes = self.url_host_hashes;
        url_host_hashes.sort_unstable();
        url_host_hashes.dedup();
        let url_hosts = Bloom::new(url_host_hashes.iter().copied(), url_host_hashes.len());
        drop(url_host_hashes);
        let matcher = Matcher {
            url_hosts,
            v4_blocks,
            settings: self.settings,
            seed: self.seed,
            sources: sources.freeze(),
            v4,
            v6,
            r4,
            r6,
            domains,
            domain_suffix_labels: self.domain_suffix_labels,
            urls,
            url_prefixes: self.url_prefixes,
            emails,
            user_agents,
            ua_substrings,
            file_names,
            md5,
            sha1,
            sha256,
        };
        tracing::info!(
            indicators = matcher.len(),
            heap_bytes = matcher.stats().heap_bytes,
            millis = started.elapsed().as_millis() as u64,
            "built the indicator matcher"
        );
        matcher
    }
}

/// Merges two entries of one exact key: a whitelist entry wins.
fn merge_exact(merge: &mut impl FnMut(Tag, Tag) -> Tag, a: Tag, b: Tag) -> Tag {
    match (tag::is_allow(a), tag::is_allow(b)) {
        (true, false) => a,
        (false, true) => b,
        _ => merge(a, b),
    }
}

/// Compiles user-agent substrings into one case-insensitive automaton.
fn build_substrings(
    mut items: Vec<(String, Tag)>,
    merge: &mut impl FnMut(Tag, Tag) -> Tag,
) -> Option<Substrings> {
    if items.is_empty() {
        return None;
    }
    items.sort_by(|a, b| {
        a.0.to_ascii_lowercase()
            .cmp(&b.0.to_ascii_lowercase())
            .then(tag::is_allow(a.1).cmp(&tag::is_allow(b.1)))
    });
    let mut kept: Vec<(String, Tag)> = Vec::with_capacity(items.len());
    for (text, t) in items {
        if let Some(prev) = kept.last_mut()
            && prev.0.eq_ignore_ascii_case(&text)
            && tag::is_allow(prev.1) == tag::is_allow(t)
        {
            prev.1 = merge(prev.1, t);
            continue;
        }
        kept.push((text, t));
    }
    let automaton: AhoCorasick = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(kept.iter().map(|(p, _)| p.as_bytes()))
        .ok()?;
    Some(Substrings {
        automaton,
        patterns: kept
            .into_iter()
            .map(|(p, t)| (p.into_boxed_str(), t))
            .collect(),
    })
}

/// Maps an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) to IPv4.
pub(crate) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Converts an IPv4-mapped IPv6 network (`::ffff:0:0/96` and longer) to an IPv4 network.
fn ipv4_mapped(first: u128, prefix: u8) -> Option<(u32, u8)> {
    (prefix >= 96 && first >> 32 == 0xffff).then(|| (first as u32, prefix - 96))
}
