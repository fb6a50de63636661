//! The domain walk: a name and each parent that a suffix entry could
//! cover, looked up from the name itself up.
//!
//! The levels are hashed and tested against the domain filter a batch at a
//! time before any table is read, so that the filter's memory reads, the
//! walk's main cost, overlap instead of queueing.

use std::borrow::Cow;

use picket_event::{IntelHit, MatchedField};
use picket_intel::IndicatorKind;

use crate::matcher::Matcher;
use crate::normalize::{self, NameScan, SuffixHashes, hash};

/// Levels of a walk hashed and tested together: a name and three parents
/// cover nearly every name, and a larger batch costs copying on every one.
const BATCH: usize = 4;

/// A normalised name with the first batch of its walk's levels hashed.
pub(crate) struct NameKey<'a> {
    norm: Cow<'a, str>,
    first: Levels,
}

/// Up to [`BATCH`] levels of a walk: where each suffix starts and its hash.
struct Levels {
    at: [usize; BATCH],
    hash: [u64; BATCH],
    len: usize,
    /// Suffix start and label count at which the walk resumes after these
    /// levels, or `None` when they reach the last label.
    next: Option<(usize, usize)>,
}

impl NameKey<'_> {
    /// Returns the hash of the whole normalised name.
    #[inline]
    pub(crate) fn hash(&self) -> u64 {
        self.first.hash[0]
    }

    /// Starts loading the domain filter's word of every level in the first
    /// batch, as `Matcher::warm` describes.
    #[inline]
    pub(crate) fn warm(&self, matcher: &Matcher) {
        for &h in &self.first.hash[..self.first.len] {
            matcher.domains.prefetch(h);
        }
    }
}

impl Matcher {
    /// Normalises `name` as [`normalize::domain`] does and hashes the
    /// levels of its walk. An already normal name, the common case, is
    /// checked, hashed and its labels found in one pass.
    pub(crate) fn name_key<'a>(&self, name: &'a str) -> Option<NameKey<'a>> {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if trimmed.is_empty() {
            return None;
        }
        match normalize::scan_normal_name::<false>(self.seed, trimmed.as_bytes()) {
            Some(scan) => Some(self.scanned_name_key(trimmed, &scan)),
            None => self.other_name_key(name),
        }
    }

    /// Builds the key of `name`, already trimmed of its trailing dot and
    /// found in normal form by `scan`.
    #[inline]
    pub(crate) fn scanned_name_key<'a>(&self, name: &'a str, scan: &NameScan) -> NameKey<'a> {
        // The whole name's filter word starts loading now, so that its
        // cache miss overlaps with hashing the parents.
        self.domains.prefetch(scan.hash);
        let first = match scan.dots {
            Some(dots) => self.levels_at_dots(name.as_bytes(), scan, dots),
            None => self.levels(
                name.as_bytes(),
                &scan.suffixes,
                scan.hash,
                0,
                scan.dot_count + 1,
            ),
        };
        NameKey {
            norm: Cow::Borrowed(name),
            first,
        }
    }

    /// Builds the key of a name that is not in normal form (upper case or
    /// an internationalised name), or returns `None` for one that IDNA
    /// rejects.
    pub(crate) fn other_name_key<'a>(&self, name: &'a str) -> Option<NameKey<'a>> {
        let norm = normalize::domain(name)?;
        let full = hash(self.seed, norm.as_bytes());
        let dots = norm.bytes().filter(|&b| b == b'.').count();
        let suffixes = normalize::suffix_hashes(self.seed, norm.as_bytes());
        self.domains.prefetch(full);
        let first = self.levels(norm.as_bytes(), &suffixes, full, 0, dots + 1);
        Some(NameKey { norm, first })
    }

    /// Hashes the first batch of levels of a name of at most 64 bytes
    /// whose dots are the bits of `dots`, as [`Matcher::levels`] does from
    /// the start.
    #[inline]
    fn levels_at_dots(&self, bytes: &[u8], scan: &NameScan, mut dots: u64) -> Levels {
        let mut out = Levels {
            at: [0; BATCH],
            hash: [scan.hash; BATCH],
            len: 1,
            next: None,
        };
        let mut labels = scan.dot_count + 1;
        while dots != 0 {
            let pos = dots.trailing_zeros() as usize + 1;
            dots &= dots - 1;
            labels -= 1;
            if self.domain_suffix_labels & (1u64 << labels.min(63)) == 0 {
                continue;
            }
            if out.len == BATCH {
                out.next = Some((pos, labels));
                return out;
            }
            out.at[out.len] = pos;
            out.hash[out.len] = scan.suffixes.suffix(bytes, pos);
            out.len += 1;
        }
        out
    }

    /// Hashes the next batch of levels of `bytes` from the suffix at `pos`,
    /// which has `labels` labels. The whole name (`pos` 0) always counts,
    /// with hash `full`; a parent only when some suffix entry has as many
    /// labels.
    fn levels(
        &self,
        bytes: &[u8],
        suffixes: &SuffixHashes,
        full: u64,
        mut pos: usize,
        mut labels: usize,
    ) -> Levels {
        let mut out = Levels {
            at: [0; BATCH],
            hash: [0; BATCH],
            len: 0,
            next: None,
        };
        loop {
            if out.len == BATCH {
                out.next = Some((pos, labels));
                return out;
            }
            if pos == 0 {
                out.hash[0] = full;
                out.len = 1;
            } else if self.domain_suffix_labels & (1u64 << labels.min(63)) != 0 {
                out.at[out.len] = pos;
                out.hash[out.len] = suffixes.suffix(bytes, pos);
                out.len += 1;
            }
            match memchr_dot(&bytes[pos..]) {
                Some(i) => {
                    pos += i + 1;
                    labels -= 1;
                }
                None => return out,
            }
        }
    }

    /// Appends a hit for every domain entry covering the name of `key`:
    /// the name itself first, then parents with subdomains included, up to
    /// the first whitelist entry that covers the name. `name` is the value
    /// as the event gave it.
    pub(crate) fn walk(
        &self,
        key: &NameKey<'_>,
        name: &str,
        field: MatchedField,
        hits: &mut Vec<IntelHit>,
        start: usize,
    ) {
        if self.domains.is_empty_set() {
            return;
        }
        let bytes = key.norm.as_bytes();
        let mut next;
        let mut batch = &key.first;
        loop {
            let mut maybe = 0u32;
            for (i, &h) in batch.hash[..batch.len].iter().enumerate() {
                maybe |= u32::from(self.domains.may_contain(h)) << i;
            }

            while maybe != 0 {
                let i = maybe.trailing_zeros() as usize;
                maybe &= maybe - 1;
                let at = batch.at[i];
                let whitelisted = self.probe_level(
                    &self.domains,
                    batch.hash[i],
                    &bytes[at..],
                    at == 0,
                    IndicatorKind::Domain,
                    field,
                    name,
                    hits,
                    start,
                );
                if whitelisted {
                    return;
                }
            }

            match batch.next {
                Some((pos, labels)) => {
                    let suffixes = normalize::suffix_hashes(self.seed, bytes);
                    next = self.levels(bytes, &suffixes, 0, pos, labels);
                    batch = &next;
                }
                None => return,
            }
        }
    }
}

#[inline]
fn memchr_dot(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'.')
}
