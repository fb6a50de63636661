//! Domains the DNS detectors leave alone: the built-in list in
//! `data/dns-allowlist.txt` (anti-virus clouds, DNS blocklists, CDNs,
//! telemetry, each group with its reason in the file) plus user entries that
//! may expire.

use hashbrown::HashMap;
use picket_event::Timestamp;
use serde::Deserialize;

use crate::dns::recent::Recent;

const BUILTIN: &str = include_str!("../../data/dns-allowlist.txt");

/// One user allowlist entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// Domain suffix: `example.com` allows `example.com` and every name under it.
    pub suffix: String,
    /// Event time after which the entry no longer applies; `None` keeps it forever.
    #[serde(default)]
    pub expires: Option<Timestamp>,
    /// The reason for the entry, for the next analyst.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A set of allowed domain suffixes, each with an optional expiry.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    suffixes: HashMap<String, Option<Timestamp>>,
    /// A number unique to this list in the process, naming it in the
    /// per-thread cache of [`Allowlist::allows`].
    id: usize,
}

impl Allowlist {
    /// Builds the list from the built-in entries (when `builtin`) and the user's. A user entry
    /// for a built-in suffix replaces it, expiry included.
    pub fn new(builtin: bool, user: &[AllowEntry]) -> Self {
        let mut suffixes = HashMap::new();
        if builtin {
            for line in BUILTIN.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some(suffix) = line.split_ascii_whitespace().next() {
                    suffixes.insert(suffix.to_ascii_lowercase(), None);
                }
            }
        }
        for entry in user {
            let suffix = entry.suffix.trim().trim_matches('.').to_ascii_lowercase();
            if !suffix.is_empty() {
                suffixes.insert(suffix, entry.expires);
            }
        }
        static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        Allowlist {
            suffixes,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// True when `name` (lower case) equals an allowed suffix or sits under
    /// one whose expiry has not passed at `now`.
    ///
    /// Several detectors ask about the same name in turn, and resolver
    /// traffic repeats names, so each thread keeps the recent results (the
    /// expiry of the matching suffix) in a [`Recent`] cache.
    pub fn allows(&self, name: &str, now: Timestamp) -> bool {
        thread_local! {
            static FOUND: std::cell::RefCell<Recent<Option<Option<Timestamp>>>> =
                std::cell::RefCell::new(Recent::new());
        }

        if self.suffixes.is_empty() {
            return false;
        }
        let found = FOUND.with_borrow_mut(|found| {
            found.get_or_insert(self.id as u64, name, || self.matching_expiry(name))
        });
        found.is_some_and(|expires| expires.is_none_or(|at| now <= at))
    }

    /// Returns the expiry of the longest allowed suffix of `name` that is
    /// still in force at some time: `None` when no suffix matches.
    fn matching_expiry(&self, name: &str) -> Option<Option<Timestamp>> {
        let mut best: Option<Option<Timestamp>> = None;
        let mut tail = name;
        loop {
            if let Some(&expires) = self.suffixes.get(tail) {
                // A suffix without expiry wins over expiring ones.
                best = match (best, expires) {
                    (_, None) | (Some(None), _) => return Some(None),
                    (Some(Some(a)), Some(b)) => Some(Some(a.max(b))),
                    (None, Some(b)) => Some(Some(b)),
                };
            }
            match tail.find('.') {
                Some(dot) => tail = &tail[dot + 1..],
                None => return best,
            }
        }
    }

    /// Number of suffixes held.
    pub fn len(&self) -> usize {
        self.suffixes.len()
    }

    /// True when no suffix is held.
    pub fn is_empty(&self) -> bool {
        self.suffixes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_groups_are_allowed() {
        let list = Allowlist::new(true, &[]);
        let now = Timestamp::from_nanos(0);
        assert!(list.allows("2.0.0.127.zen.spamhaus.org", now));
        assert!(list.allows("d1x4.cloudfront.net", now));
        assert!(!list.allows("cloudfront.net.evil.example", now));
        assert!(!list.allows("notcloudfront.net", now));
    }

    #[test]
    fn user_entries_expire() {
        let entry = AllowEntry {
            suffix: "Tunnel.Example.".into(),
            expires: Some(Timestamp::from_nanos(1_000)),
            reason: Some("vendor test".into()),
        };
        let list = Allowlist::new(false, &[entry]);
        assert!(list.allows("a.tunnel.example", Timestamp::from_nanos(999)));
        assert!(!list.allows("a.tunnel.example", Timestamp::from_nanos(1_001)));
    }
}
