//! [`Matcher`]: the compiled, immutable indicator set and the walk over an
//! event's fields.

use std::net::{IpAddr, Ipv6Addr};

use aho_corasick::AhoCorasick;
use picket_event::{AnswerValue, Event, EventKind, EventView, IntelHit, MatchedField};
use picket_intel::IndicatorKind;

use crate::MatcherSettings;
use crate::builder::canonical_ip;
use crate::filter::{BlockBitmap, Bloom};
use crate::keys::{FixedKey, SortedKeys};
use crate::normalize::{self, hash};
use crate::ranges::{Addr, RANGE, RangeItem, Ranges};
use crate::sources::FrozenSources;
use crate::strset::StrSet;
use crate::tag::{self, Tag};
use crate::walk::NameKey;

/// The compiled indicator set. Immutable, `Send + Sync`: share it behind an
/// `Arc` (or a [`crate::SharedMatcher`]) across every worker thread.
///
/// Made by [`crate::MatcherBuilder::build`].
#[derive(Debug)]
pub struct Matcher {
    pub(crate) settings: MatcherSettings,
    pub(crate) seed: u64,
    pub(crate) sources: FrozenSources,
    /// IPv4 /24 blocks any address indicator touches.
    pub(crate) v4_blocks: BlockBitmap,
    pub(crate) v4: SortedKeys<u32>,
    pub(crate) v6: SortedKeys<u128>,
    pub(crate) r4: Ranges<u32>,
    pub(crate) r6: Ranges<u128>,
    pub(crate) domains: StrSet,
    /// Bit `n` is set when some suffix (include-subdomains) domain entry has
    /// `n` labels (63 stands for 63 or more), so that a walk skips parents
    /// that cannot match.
    pub(crate) domain_suffix_labels: u64,
    pub(crate) urls: StrSet,
    /// Hashes of the hosts of every URL entry: a URL on any other host is
    /// turned away with one probe instead of one per path prefix.
    pub(crate) url_hosts: Bloom,
    pub(crate) url_prefixes: bool,
    pub(crate) emails: StrSet,
    pub(crate) user_agents: StrSet,
    pub(crate) ua_substrings: Option<Substrings>,
    pub(crate) file_names: StrSet,
    pub(crate) md5: SortedKeys<[u8; 16]>,
    pub(crate) sha1: SortedKeys<[u8; 20]>,
    pub(crate) sha256: SortedKeys<[u8; 32]>,
}

/// User-agent substrings and their automaton.
#[derive(Debug)]
pub(crate) struct Substrings {
    pub(crate) automaton: AhoCorasick,
    pub(crate) patterns: Vec<(Box<str>, Tag)>,
}

/// Sizes of a built matcher, for logs and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatcherStats {
    /// Exact IPv4 and IPv6 addresses.
    pub addresses: usize,
    /// CIDR networks and address ranges.
    pub networks: usize,
    /// Networks and ranges left out by [`MatcherSettings::max_range_pool`].
    pub networks_dropped: usize,
    /// Domain names, exact and with subdomains.
    pub domains: usize,
    /// URLs, exact and host-and-path prefixes.
    pub urls: usize,
    /// E-mail addresses.
    pub emails: usize,
    /// User agents, exact and substrings.
    pub user_agents: usize,
    /// File names.
    pub file_names: usize,
    /// MD5, SHA-1 and SHA-256 digests.
    pub digests: usize,
    /// Distinct source lists (shared metadata).
    pub source_lists: usize,
    /// Heap bytes held by the tables and source lists.
    pub heap_bytes: usize,
}

/// An HTTP host or DNS query name read for matching.
enum HostKey<'a> {
    /// An address.
    Ip(IpAddr),
    /// A name, normalised and hashed, and whether the host is known to be
    /// one that URL splitting keeps whole ([`normalize::names_host`]).
    Name(NameKey<'a>, bool),
    /// No host, or a name IDNA rejects.
    Neither,
}

/// Location of a found indicator in the tables, for formatting the hit.
enum Found<'a> {
    V4(u32),
    V6(u128),
    R4(&'a RangeItem<u32>),
    R6(&'a RangeItem<u128>),
    Text(IndicatorKind, &'a [u8]),
    Digest(IndicatorKind, &'a [u8]),
}

impl Matcher {
    /// Number of indicators that can hit (whitelist entries not counted).
    pub fn len(&self) -> usize {
        fn blocking<'a>(tags: impl Iterator<Item = Tag> + 'a) -> usize {
            tags.filter(|t| !tag::is_allow(*t)).count()
        }
        blocking(self.v4.iter().map(|(_, t)| t))
            + blocking(self.v6.iter().map(|(_, t)| t))
            + blocking(self.r4.items().iter().map(|i| i.tag))
            + blocking(self.r6.items().iter().map(|i| i.tag))
            + blocking(self.domains.entries().iter().map(|e| e.1))
            + blocking(self.urls.entries().iter().map(|e| e.1))
            + blocking(self.emails.entries().iter().map(|e| e.1))
            + blocking(self.user_agents.entries().iter().map(|e| e.1))
            + blocking(
                self.ua_substrings
                    .iter()
                    .flat_map(|s| s.patterns.iter().map(|p| p.1)),
            )
            + blocking(self.file_names.entries().iter().map(|e| e.1))
            + blocking(self.md5.iter().map(|(_, t)| t))
            + blocking(self.sha1.iter().map(|(_, t)| t))
            + blocking(self.sha256.iter().map(|(_, t)| t))
    }

    /// True when no indicator can hit.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Table sizes and memory.
    pub fn stats(&self) -> MatcherStats {
        let ua = self.ua_substrings.as_ref();
        MatcherStats {
            addresses: self.v4.len() + self.v6.len(),
            networks: self.r4.len() + self.r6.len(),
            networks_dropped: self.r4.dropped() + self.r6.dropped(),
            domains: self.domains.len(),
            urls: self.urls.len(),
            emails: self.emails.len(),
            user_agents: self.user_agents.len() + ua.map_or(0, |s| s.patterns.len()),
            file_names: self.file_names.len(),
            digests: self.md5.len() + self.sha1.len() + self.sha256.len(),
            source_lists: self.sources.len(),
            heap_bytes: self.v4_blocks.heap_bytes()
                + self.v4.heap_bytes()
                + self.v6.heap_bytes()
                + self.r4.heap_bytes()
                + self.r6.heap_bytes()
                + self.domains.heap_bytes()
                + self.urls.heap_bytes()
                + self.url_hosts.heap_bytes()
                + self.emails.heap_bytes()
                + self.user_agents.heap_bytes()
                + self.file_names.heap_bytes()
                + self.md5.heap_bytes()
                + self.sha1.heap_bytes()
                + self.sha256.heap_bytes()
                + ua.map_or(0, |s| {
                    s.automaton.memory_usage()
                        + s.patterns.iter().map(|p| p.0.len() + 24).sum::<usize>()
                })
                + self.sources.heap_bytes(),
        }
    }

    /// Appends a hit for every indicator that matches any field of `event`.
    ///
    /// Every event has its client and server address checked. HTTP events
    /// add the `X-Forwarded-For` and `X-Real-IP` addresses, host, URL,
    /// referrer (URL and host), user agent, e-mail user name, file name
    /// (declared and last URL path segment) and body digests. DNS events add
    /// the query name and every answer's address or target name, and TLS
    /// events the server name. An indicator is reported once per place of
    /// an event, with the first value it matched there: two DNS records
    /// under one listed domain make one hit. One event and indicator then
    /// give one alert, which is how the store's dedupe key counts them. At
    /// most [`MatcherSettings::max_hits_per_event`] hits are added per event.
    pub fn match_event(&self, event: &Event, hits: &mut Vec<IntelHit>) {
        self.match_view(&event.view(), hits);
    }

    /// Appends a hit for every indicator that matches a field of `view`,
    /// exactly as [`Matcher::match_event`] does for the event it was taken
    /// from. A retro-hunt reads stored records into views and decodes the
    /// full event only when this finds a hit.
    pub fn match_view(&self, view: &EventView<'_>, hits: &mut Vec<IntelHit>) {
        let start = hits.len();
        // The HTTP host, or the DNS query name, which is always a name.
        let host = match (view.kind, view.host) {
            (EventKind::Http, Some(host)) => self.host_key(host),
            (EventKind::Dns, _) if !view.query_name.is_empty() && !self.domains.is_empty_set() => {
                self.name_key(view.query_name)
                    .map_or(HostKey::Neither, |key| HostKey::Name(key, false))
            }
            _ => HostKey::Neither,
        };
        let url = view.kind == EventKind::Http;
        self.warm(view.client_ip, view.server_ip, &host, url);

        // Here, before the call to `ip`, the /24 bitmap rejects an IPv4
        // address in a block that no indicator touches.
        if let Some(ip) = view.client_ip
            && self.ip_may_hit(ip)
        {
            self.ip(ip, MatchedField::ClientIp, hits, start);
        }
        if let Some(ip) = view.server_ip
            && self.ip_may_hit(ip)
        {
            self.ip(ip, MatchedField::ServerIp, hits, start);
        }
        match view.kind {
            EventKind::Http => self.http(view, &host, hits, start),
            EventKind::Dns => self.dns(view, &host, hits, start),
            EventKind::Tls => self.tls(view, hits, start),
        }
    }

    /// Starts loading the filter words that matching `event` tests first
    /// into the cache, and returns without waiting for them.
    ///
    /// A caller that matches a run of events calls this for the event
    /// [`crate::PREFETCH_DISTANCE`] places ahead before it matches the
    /// current one. The next events' cache misses then overlap with the
    /// current event's work instead of stalling their own. The words are the
    /// /24 bitmap's for the client and server address, and the domain and
    /// URL-host filters' for the host (HTTP), query name (DNS) or server name
    /// (TLS) hashed as written. This is a hint: hits never depend on it, and
    /// a name that normalisation changes only makes the hint miss. It reads
    /// the event's fields directly, because building an [`EventView`] for
    /// it cost as much as the hint saved.
    pub fn prefetch(&self, event: &Event) {
        let name = match event {
            Event::Http(http) => http.host.as_deref(),
            Event::Dns(dns) => Some(dns.query_name.as_str()),
            Event::Tls(tls) => tls.server_name.as_deref(),
        };
        let http = matches!(event, Event::Http(_));
        self.prefetch_fields(event.client().ip, event.server().ip, name, http);
    }

    /// Starts loading the filter words that matching `view` tests first,
    /// as [`Matcher::prefetch`] does for an event.
    pub fn prefetch_view(&self, view: &EventView<'_>) {
        let name = match view.kind {
            EventKind::Http => view.host,
            EventKind::Dns => Some(view.query_name),
            EventKind::Tls => view.server_name,
        };
        let http = view.kind == EventKind::Http;
        self.prefetch_fields(view.client_ip, view.server_ip, name, http);
    }

    #[inline]
    fn prefetch_fields(
        &self,
        client: Option<IpAddr>,
        server: Option<IpAddr>,
        name: Option<&str>,
        http: bool,
    ) {
        // Two plain tests, because a loop over the pair as an array of
        // options cost a quarter of this hint's instructions (callgrind).
        if let Some(IpAddr::V4(a)) = client.map(canonical_ip) {
            self.v4_blocks.prefetch(u32::from(a));
        }
        if let Some(IpAddr::V4(a)) = server.map(canonical_ip) {
            self.v4_blocks.prefetch(u32::from(a));
        }

        let Some(name) = name.map(|n| n.strip_suffix('.').unwrap_or(n)) else {
            return;
        };
        if name.is_empty() || (self.domains.is_empty_set() && self.urls.is_empty_set()) {
            return;
        }
        let h = hash(self.seed, name.as_bytes());
        self.domains.prefetch(h);
        if http {
            self.url_hosts.prefetch(h);
        }
    }

    /// Appends a hit for every address indicator containing `ip`: the exact
    /// address first, then networks and ranges from the most specific.
    pub fn match_ip(&self, ip: IpAddr, field: MatchedField, hits: &mut Vec<IntelHit>) {
        self.ip(ip, field, hits, hits.len());
    }

    /// Appends a hit for every domain indicator covering `name`: the name
    /// itself first, then parents with subdomains included, up to the first
    /// whitelist entry that covers the name.
    pub fn match_domain(&self, name: &str, field: MatchedField, hits: &mut Vec<IntelHit>) {
        self.domain(name, field, hits, hits.len());
    }

    /// Appends a hit for every URL indicator matching `url` (absolute, or
    /// origin-form with `default_host`): exact, then host-and-path prefixes
    /// from the longest.
    pub fn match_url(
        &self,
        url: &str,
        default_host: Option<&str>,
        field: MatchedField,
        hits: &mut Vec<IntelHit>,
    ) {
        if let Some(key) = normalize::url_key(url, default_host) {
            self.url_key(&key, url, field, hits, hits.len());
        }
    }

    /// Appends hits for a user agent, exact and substring indicators.
    pub fn match_user_agent(&self, user_agent: &str, hits: &mut Vec<IntelHit>) {
        self.user_agent(user_agent, hits, hits.len());
    }

    /// Appends a hit for a file name indicator equal to `name`'s last path
    /// component, ignoring case.
    pub fn match_file_name(&self, name: &str, hits: &mut Vec<IntelHit>) {
        self.file_name(name, hits, hits.len());
    }

    /// Appends a hit for an e-mail address indicator equal to `address`,
    /// ignoring case.
    pub fn match_email(&self, address: &str, hits: &mut Vec<IntelHit>) {
        self.email(address, hits, hits.len());
    }

    /// Appends a hit for a digest indicator equal to the hex digest `hex`
    /// (32, 40 or 64 digits).
    pub fn match_digest(&self, hex: &str, field: MatchedField, hits: &mut Vec<IntelHit>) {
        self.digest(hex, field, hits, hits.len());
    }

    fn http(&self, e: &EventView<'_>, host: &HostKey<'_>, hits: &mut Vec<IntelHit>, start: usize) {
        if e.forwarded_for.is_some() || e.real_ip.is_some() {
            for ip in e.forwarded_addresses() {
                self.ip(ip, MatchedField::ForwardedFor, hits, start);
            }
        }

        // The hash of the host as a normalised name, kept to test the URL's
        // authority when the URL names the same host.
        let mut host_hash = None;
        let mut known_plain = false;
        match (e.host, host) {
            (Some(_), &HostKey::Ip(ip)) => self.ip(ip, MatchedField::HttpHost, hits, start),
            (Some(name), HostKey::Name(key, plain)) => {
                host_hash = Some(key.hash());
                known_plain = *plain;
                self.walk(key, name, MatchedField::HttpHost, hits, start);
            }
            _ => {}
        }

        let mut path_for_name: Option<&str> = e.path;
        // Most URLs are on hosts without URL indicators. When the URL
        // plainly names the event's host, the host's hash rules it out
        // before the URL is even cut into parts. Without a path given, the
        // file name would come from the URL's path, so only a URL with no
        // path (`CONNECT host:443`) is ruled out then.
        let ruled_out_early = host_hash.is_some_and(|h| !self.url_host_may_match(h))
            && e.host
                .and_then(|host| {
                    if known_plain {
                        normalize::after_host(e.url, host)
                    } else {
                        normalize::names_host(e.url, host)
                    }
                })
                .is_some_and(|rest| path_for_name.is_some() || !rest.starts_with('/'));
        if !ruled_out_early && (!self.urls.is_empty_set() || !self.file_names.is_empty_set()) {
            let raw: std::borrow::Cow<'_, str> = if !e.url.is_empty() {
                e.url.into()
            } else {
                match (e.path, e.query) {
                    (Some(p), Some(q)) => format!("{p}?{q}").into(),
                    (Some(p), None) => p.into(),
                    _ => "".into(),
                }
            };
            let split = if raw.is_empty() {
                None
            } else {
                normalize::split_url(&raw, e.host)
            };
            // Most URLs are on hosts without URL indicators: the authority
            // alone rules them out before the path is normalised. When the
            // authority is the event's host as written, its normalised form
            // and hash are the host's, already computed.
            // A host with a `/`, such as a Host header `evil.example/dl`,
            // starts a key whose host part ends at that `/`, so its hash is
            // not the host's.
            let same_host = split.as_ref().is_some_and(|u| {
                u.port.is_none()
                    && !u.host.contains(':')
                    && e.host == Some(u.host)
                    && !u.host.contains('/')
            });
            // An address host has no name hash, and its URL's authority
            // is tested by `may_have_urls` instead.
            let ruled_out = path_for_name.is_some()
                && same_host
                && host_hash.is_some_and(|h| !self.url_host_may_match(h));
            if !ruled_out && let Some(parts) = split.and_then(normalize::RawUrl::normalize) {
                let key =
                    (path_for_name.is_none() || self.may_have_urls(&parts)).then(|| parts.key());
                if let Some(key) = &key {
                    self.url_key(key, &raw, MatchedField::Url, hits, start);
                }
                if path_for_name.is_none() {
                    let name = key.as_deref().and_then(|key| {
                        key.find('/')
                            .and_then(|i| normalize::last_path_segment(&key[i..]))
                    });
                    if let Some(name) = name {
                        self.file_name(name, hits, start);
                    }
                }
            }
        }

        if let Some(referrer) = e.referrer
            && let Some(parts) = normalize::url_parts(referrer, None)
        {
            if self.may_have_urls(&parts) {
                self.url_key(&parts.key(), referrer, MatchedField::Referrer, hits, start);
            }
            self.host(
                strip_port(&parts.authority),
                MatchedField::Referrer,
                hits,
                start,
            );
        }

        if let Some(ua) = e.user_agent {
            self.user_agent(ua, hits, start);
        }

        if let Some(user) = e.user_name
            && user.contains('@')
        {
            self.email(user, hits, start);
        }

        if let Some(name) = e.file_name {
            self.file_name(name, hits, start);
        }
        if let Some(path) = path_for_name.take()
            && !self.file_names.is_empty_set()
            && let Some((segment, base)) = normalize::path_file_name(path)
        {
            self.file_name_base(segment, base, hits, start);
        }

        for hex in e.body_digests {
            if !hex.is_empty() {
                self.digest(hex, MatchedField::BodyHash, hits, start);
            }
        }
    }

    fn dns(&self, e: &EventView<'_>, name: &HostKey<'_>, hits: &mut Vec<IntelHit>, start: usize) {
        if let HostKey::Name(key, _) = name {
            self.walk(key, e.query_name, MatchedField::DnsQuery, hits, start);
        }
        for answer in e.answer_values() {
            match answer {
                AnswerValue::Ip(ip) => self.ip(ip, MatchedField::DnsAnswer, hits, start),
                AnswerValue::Name(target) => {
                    self.domain(target, MatchedField::DnsAnswer, hits, start)
                }
            }
        }
    }

    fn tls(&self, e: &EventView<'_>, hits: &mut Vec<IntelHit>, start: usize) {
        if let Some(name) = e.server_name {
            self.host(name, MatchedField::TlsSni, hits, start);
        }
    }

    /// Starts loading the filter words that the event's addresses and host
    /// name will test (with `url`, the URL-host filter's too) all at once.
    /// Their cache misses, nearly every event's main cost with a large
    /// indicator set, then overlap instead of queueing. Prefetches, unlike
    /// loads, let the work before the first test go on while they land.
    #[inline]
    fn warm(&self, client: Option<IpAddr>, server: Option<IpAddr>, host: &HostKey<'_>, url: bool) {
        if let Some(IpAddr::V4(a)) = client {
            self.v4_blocks.prefetch(u32::from(a));
        }
        if let Some(IpAddr::V4(a)) = server {
            self.v4_blocks.prefetch(u32::from(a));
        }
        if let HostKey::Name(key, _) = host {
            key.warm(self);
            if url {
                self.url_hosts.prefetch(key.hash());
            }
        }
    }

    /// Reads a host as an address (in any browser spelling) or a name.
    fn host_key<'a>(&self, host: &'a str) -> HostKey<'a> {
        let trimmed = host.strip_suffix('.').unwrap_or(host);
        if !trimmed.is_empty()
            && let Some(scan) = normalize::scan_normal_name::<true>(self.seed, trimmed.as_bytes())
            && !scan.may_be_address(trimmed.as_bytes())
        {
            // Nearly every host takes this path. It is a name in normal form
            // that URL splitting keeps whole, with no `:` or `[` of an IPv6
            // literal and no last label that may make it an IPv4 address.
            return HostKey::Name(self.scanned_name_key(trimmed, &scan), true);
        }

        // Browsers read `3405803842` or `0xcb.0.0x71.0x42` as an address.
        match picket_event::host::parse_ip(host) {
            Some(ip) => HostKey::Ip(ip),
            None => self
                .name_key(host)
                .map_or(HostKey::Neither, |key| HostKey::Name(key, false)),
        }
    }

    /// Matches a host that may be an address literal or a name.
    fn host(&self, host: &str, field: MatchedField, hits: &mut Vec<IntelHit>, start: usize) {
        // Browsers read `3405803842` or `0xcb.0.0x71.0x42` as an address.
        match picket_event::host::parse_ip(host) {
            Some(ip) => self.ip(ip, field, hits, start),
            None => self.domain(host, field, hits, start),
        }
    }

    /// Checks whether any indicator may contain `ip`. It is false only for
    /// an IPv4 address in a /24 block that no indicator touches.
    #[inline]
    fn ip_may_hit(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4_blocks.may_contain(u32::from(a)),
            IpAddr::V6(_) => true,
        }
    }

    fn ip(&self, ip: IpAddr, field: MatchedField, hits: &mut Vec<IntelHit>, start: usize) {
        match canonical_ip(ip) {
            IpAddr::V4(a) => {
                let key = u32::from(a);
                if !self.v4_blocks.may_contain(key) {
                    return;
                }
                if let Some(t) = self.v4.get(&key) {
                    if tag::is_allow(t) {
                        return;
                    }
                    self.push(hits, start, Found::V4(key), field, Value::Ip(ip), t);
                }
                self.r4.find(key, |item| {
                    self.push(hits, start, Found::R4(item), field, Value::Ip(ip), item.tag)
                });
            }
            IpAddr::V6(a) => {
                let key = u128::from(a);
                if let Some(t) = self.v6.get(&key) {
                    if tag::is_allow(t) {
                        return;
                    }
                    self.push(hits, start, Found::V6(key), field, Value::Ip(ip), t);
                }
                self.r6.find(key, |item| {
                    self.push(hits, start, Found::R6(item), field, Value::Ip(ip), item.tag)
                });
            }
        }
    }

    fn domain(&self, name: &str, field: MatchedField, hits: &mut Vec<IntelHit>, start: usize) {
        if self.domains.is_empty_set() {
            return;
        }
        if let Some(key) = self.name_key(name) {
            self.walk(&key, name, field, hits, start);
        }
    }

    /// Looks one level of a walk up in `set`: at the first level every
    /// entry applies, above it only those covering what lies below. Pushes
    /// the blocking entries found; returns true (and pushes nothing) when a
    /// whitelist entry applies, which ends the walk.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn probe_level(
        &self,
        set: &StrSet,
        h: u64,
        key: &[u8],
        first_level: bool,
        kind: IndicatorKind,
        field: MatchedField,
        value: &str,
        hits: &mut Vec<IntelHit>,
        start: usize,
    ) -> bool {
        let mut found: [Tag; 4] = [0; 4];
        let mut n = 0;
        let mut allowed = false;
        set.find(h, key, |t| {
            if !first_level && !tag::is_suffix(t) {
                return;
            }
            if tag::is_allow(t) {
                allowed = true;
            } else if n < found.len() {
                found[n] = t;
                n += 1;
            }
        });
        if allowed {
            return true;
        }
        for &t in &found[..n] {
            self.push(
                hits,
                start,
                Found::Text(kind, key),
                field,
                Value::Text(value),
                t,
            );
        }
        false
    }

    /// Checks whether any URL indicator may be on this URL's authority, up
    /// to a `/` in it where [`Matcher::url_key`] ends the key's host.
    fn may_have_urls(&self, parts: &normalize::UrlParts<'_>) -> bool {
        let authority = parts.authority.as_bytes();
        let host_end = memchr::memchr(b'/', authority).unwrap_or(authority.len());
        self.url_host_may_match(hash(self.seed, &authority[..host_end]))
    }

    /// Tells whether any URL indicator may be on the authority hashed to `h`.
    #[inline]
    fn url_host_may_match(&self, h: u64) -> bool {
        !self.urls.is_empty_set() && self.url_hosts.may_contain(h)
    }

    fn url_key(
        &self,
        key: &str,
        original: &str,
        field: MatchedField,
        hits: &mut Vec<IntelHit>,
        start: usize,
    ) {
        if self.urls.is_empty_set() {
            return;
        }
        let bytes = key.as_bytes();
        let host_end = bytes.iter().position(|&b| b == b'/').unwrap_or(bytes.len());
        if !self
            .url_hosts
            .may_contain(hash(self.seed, &bytes[..host_end]))
        {
            return;
        }
        let value = if original.is_empty() { key } else { original };
        let h = hash(self.seed, bytes);
        if self.probe_level(
            &self.urls,
            h,
            bytes,
            true,
            IndicatorKind::Url,
            field,
            value,
            hits,
            start,
        ) || !self.url_prefixes
        {
            return;
        }

        let probe_prefix = |cut: &[u8], hits: &mut Vec<IntelHit>| {
            self.probe_level(
                &self.urls,
                hash(self.seed, cut),
                cut,
                false,
                IndicatorKind::Url,
                field,
                value,
                hits,
                start,
            )
        };
        let query = bytes.iter().position(|&b| b == b'?').unwrap_or(bytes.len());
        let mut i = bytes.len();
        while i > host_end {
            i -= 1;
            let b = bytes[i];
            if b == b'?' || (b == b'/' && i < query) {
                // Both the prefix with its slash and the one without are keys.
                if b == b'/' && i + 1 < bytes.len() && probe_prefix(&bytes[..=i], hits) {
                    return;
                }
                if i > 0 && probe_prefix(&bytes[..i], hits) {
                    return;
                }
            }
        }
    }

    fn user_agent(&self, ua: &str, hits: &mut Vec<IntelHit>, start: usize) {
        let field = MatchedField::UserAgent;
        let mark = hits.len();
        if !self.user_agents.is_empty_set() {
            let h = hash(self.seed, ua.as_bytes());
            if self.probe_level(
                &self.user_agents,
                h,
                ua.as_bytes(),
                true,
                IndicatorKind::UserAgent,
                field,
                ua,
                hits,
                start,
            ) {
                return;
            }
        }
        let Some(subs) = &self.ua_substrings else {
            return;
        };
        let mut seen: Vec<usize> = Vec::new();
        for m in subs.automaton.find_overlapping_iter(ua) {
            let id = m.pattern().as_usize();
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let Some((pattern, t)) = subs.patterns.get(id) else {
                continue;
            };
            if tag::is_allow(*t) {
                hits.truncate(mark);
                return;
            }
            self.push(
                hits,
                start,
                Found::Text(IndicatorKind::UserAgent, pattern.as_bytes()),
                field,
                Value::Text(ua),
                *t,
            );
        }
    }

    fn file_name(&self, name: &str, hits: &mut Vec<IntelHit>, start: usize) {
        if self.file_names.is_empty_set() {
            return;
        }
        let base = match name.bytes().rposition(|b| b == b'/' || b == b'\\') {
            Some(i) => &name[i + 1..],
            None => name,
        };
        self.file_name_base(name, base, hits, start);
    }

    /// Matches the file name `base`, the part of `name` after its last
    /// `/` or `\`, trimmed and lower-cased here.
    fn file_name_base(&self, name: &str, base: &str, hits: &mut Vec<IntelHit>, start: usize) {
        // Trimming changes nothing when both ends are ASCII above the
        // space, because white space is ASCII up to the space or not ASCII.
        let plain_end = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b.is_ascii());
        let bytes = base.as_bytes();
        let base = if plain_end(bytes.first()) && plain_end(bytes.last()) {
            base
        } else {
            base.trim()
        };
        let lower;
        let key = if normalize::has_upper_or_wide(base) {
            lower = base.to_lowercase();
            lower.as_str()
        } else {
            base
        };
        let h = hash(self.seed, key.as_bytes());
        if !self.file_names.may_contain(h) {
            return;
        }
        self.probe_level(
            &self.file_names,
            h,
            key.as_bytes(),
            true,
            IndicatorKind::FileName,
            MatchedField::FileName,
            name,
            hits,
            start,
        );
    }

    fn email(&self, address: &str, hits: &mut Vec<IntelHit>, start: usize) {
        if self.emails.is_empty_set() {
            return;
        }
        let key = address.trim().to_lowercase();
        let h = hash(self.seed, key.as_bytes());
        self.probe_level(
            &self.emails,
            h,
            key.as_bytes(),
            true,
            IndicatorKind::Email,
            MatchedField::Email,
            address,
            hits,
            start,
        );
    }

    fn digest(&self, hex: &str, field: MatchedField, hits: &mut Vec<IntelHit>, start: usize) {
        match hex.trim().len() {
            32 => self.digest_in(&self.md5, IndicatorKind::Md5, hex, field, hits, start),
            40 => self.digest_in(&self.sha1, IndicatorKind::Sha1, hex, field, hits, start),
            64 => self.digest_in(&self.sha256, IndicatorKind::Sha256, hex, field, hits, start),
            _ => {}
        }
    }

    fn digest_in<const N: usize>(
        &self,
        table: &SortedKeys<[u8; N]>,
        kind: IndicatorKind,
        hex: &str,
        field: MatchedField,
        hits: &mut Vec<IntelHit>,
        start: usize,
    ) where
        [u8; N]: FixedKey,
    {
        if table.len() == 0 {
            return;
        }
        let Some(key) = normalize::hex_digest::<N>(hex) else {
            return;
        };
        if let Some(t) = table.get(&key)
            && !tag::is_allow(t)
        {
            self.push(
                hits,
                start,
                Found::Digest(kind, &key),
                field,
                Value::Text(hex),
                t,
            );
        }
    }

    /// Appends one hit unless the same indicator already hit at the same
    /// place in this event, or the per-event limit is reached.
    fn push(
        &self,
        hits: &mut Vec<IntelHit>,
        start: usize,
        found: Found<'_>,
        field: MatchedField,
        value: Value<'_>,
        t: Tag,
    ) {
        if hits.len().saturating_sub(start) >= self.settings.max_hits_per_event {
            return;
        }
        let (kind, indicator) = match found {
            Found::V4(a) => {
                let mut text = String::with_capacity(15);
                push_v4(&mut text, a);
                (IndicatorKind::Ipv4, text)
            }
            Found::V6(a) => (IndicatorKind::Ipv6, Ipv6Addr::from(a).to_string()),
            Found::R4(item) => range_text(item, push_v4),
            Found::R6(item) => range_text(item, |text, a| {
                text.push_str(&Ipv6Addr::from(a).to_string());
            }),
            Found::Text(kind, bytes) => (kind, String::from_utf8_lossy(bytes).into_owned()),
            Found::Digest(kind, bytes) => (kind, normalize::to_hex(bytes)),
        };
        let kind = kind.as_str();
        let repeated = hits[start.min(hits.len())..]
            .iter()
            .any(|h| h.field == field && h.kind == kind && h.indicator == indicator);
        if repeated {
            return;
        }
        let value = match value {
            Value::Text(text) => text.to_owned(),
            Value::Ip(IpAddr::V4(a)) => {
                let mut text = String::with_capacity(15);
                push_v4(&mut text, u32::from(a));
                text
            }
            Value::Ip(ip) => ip.to_string(),
        };
        let id = tag::id(t);
        hits.push(IntelHit {
            indicator,
            kind: kind.to_owned(),
            field,
            value,
            confidence: self.sources.confidence(id),
            sources: self.sources.list(id),
        });
    }
}

/// The event's value that matched, written into the hit only when one is
/// pushed.
#[derive(Clone, Copy)]
enum Value<'a> {
    Text(&'a str),
    Ip(IpAddr),
}

/// Writes a network or range as its indicator text, `first/prefix` or
/// `first-last`, with `fmt` writing one address.
fn range_text<A: Addr>(
    item: &RangeItem<A>,
    fmt: impl Fn(&mut String, A),
) -> (IndicatorKind, String) {
    let mut text = String::with_capacity(24);
    fmt(&mut text, item.first);
    if item.prefix == RANGE {
        text.push('-');
        fmt(&mut text, item.last);
        (IndicatorKind::IpRange, text)
    } else {
        text.push('/');
        push_decimal(&mut text, u32::from(item.prefix));
        (IndicatorKind::Cidr, text)
    }
}

/// Appends an IPv4 address as a dotted quad, as `Ipv4Addr`'s `Display`
/// writes it. The formatting machinery took more than half of building a
/// hit on an address (callgrind).
fn push_v4(text: &mut String, a: u32) {
    for (i, octet) in a.to_be_bytes().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        push_decimal(text, u32::from(octet));
    }
}

/// Appends a number below 1,000 in decimal, without leading zeros.
fn push_decimal(text: &mut String, n: u32) {
    if n >= 100 {
        text.push(char::from(b'0' + (n / 100 % 10) as u8));
    }
    if n >= 10 {
        text.push(char::from(b'0' + (n / 10 % 10) as u8));
    }
    text.push(char::from(b'0' + (n % 10) as u8));
}

/// Drops a `:port` from a host taken out of a URL key.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let samples = (0..=255u32)
            .map(|i| i * 0x0101_0101)
            .chain([
                0,
                1,
                10,
                99,
                100,
                0x0a00_0001,
                0xc0a8_6401,
                0xcb00_7142,
                u32::MAX,
            ])
            .chain((0..2000u32).map(|i| i.wrapping_mul(0x9E37_79B9)));
        for a in samples {
            let mut text = String::new();
            push_v4(&mut text, a);
            assert_eq!(text, Ipv4Addr::from(a).to_string());
        }
    }

    #[test]
    fn networks_and_ranges_are_written_as_indicators() {
        let item = |first: u32, last: u32, prefix: u8| RangeItem {
            first,
            last,
            prefix,
            tag: 0,
        };
        let v4 = |text: &mut String, a: u32| push_v4(text, a);
        assert_eq!(
            range_text(&item(0x0a00_0000, 0x0aff_ffff, 8), v4),
            (IndicatorKind::Cidr, "10.0.0.0/8".to_owned())
        );
        assert_eq!(
            range_text(&item(0x0a00_0001, 0x0a00_0001, 32), v4),
            (IndicatorKind::Cidr, "10.0.0.1/32".to_owned())
        );
        assert_eq!(
            range_text(&item(0x0a00_0005, 0x0a00_0109, RANGE), v4),
            (IndicatorKind::IpRange, "10.0.0.5-10.0.1.9".to_owned())
        );
    }
}
