//! Whitelists: MISP warninglists (`string`, `substring`, `hostname`,
//! `cidr` and `regex` lists) and local allow rules.
//!
//! A whitelisted value never becomes an active indicator: the store's
//! active set, queries and every export ask [`Whitelist::check`], and the
//! matcher receives [`Whitelist::allow_entries`] so that a more specific
//! allow entry beats a blocked parent. [`AllowReason`] says which list and
//! entry matched, for people.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::IntelError;
use crate::normalize::{normalize_observable, parent_domains, parse_net, parse_range, Observable};
use crate::{Indicator, IndicatorKind, Sighting};

/// Largest regex program accepted from a warninglist, in bytes of the
/// compiled form (the `regex` crate's size limit). Default 1 MiB.
pub const MAX_REGEX_SIZE: usize = 1 << 20;

/// Largest warninglist file read, in bytes (256 MiB).
pub const MAX_WARNINGLIST_BYTES: u64 = 256 << 20;

/// How a warninglist compares values (the list's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListType {
    /// The value equals an entry (case-insensitive except hashes).
    String,
    /// The value contains an entry.
    Substring,
    /// The value's host is an entry or below one.
    Hostname,
    /// The address or network lies inside an entry.
    Cidr,
    /// The value matches an entry's regular expression.
    Regex,
}

/// A MISP warninglist file as published.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Warninglist {
    /// Display name.
    pub name: String,
    /// Comparison type.
    #[serde(rename = "type")]
    pub list_type: ListType,
    /// Entries.
    pub list: Vec<String>,
    /// MISP attribute types the list applies to. Empty means all.
    #[serde(default)]
    pub matching_attributes: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The list's version.
    #[serde(default)]
    pub version: serde_json::Value,
}

/// Why a value is whitelisted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowReason {
    /// The list or allow-rule source (`Top 10K websites from Tranco`, `local`).
    pub list: String,
    /// The entry that matched (`example.com`, `10.0.0.0/8`).
    pub entry: String,
    /// Free text from the allow rule, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl std::fmt::Display for AllowReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "whitelisted by {} entry {}", self.list, self.entry)?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

/// Which indicator kinds a list applies to, from MISP attribute types.
fn kinds_for(attributes: &[String]) -> Vec<IndicatorKind> {
    use IndicatorKind::*;
    if attributes.is_empty() {
        return IndicatorKind::ALL.to_vec();
    }
    let mut kinds = Vec::new();
    for attribute in attributes {
        let add: &[IndicatorKind] = match attribute.as_str() {
            "hostname" | "domain" => &[Domain],
            "domain|ip" => &[Domain, Ipv4, Ipv6, Cidr],
            "url" | "uri" | "link" => &[Url],
            "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => &[Ipv4, Ipv6, Cidr, IpRange],
            "md5" | "filename|md5" => &[Md5],
            "sha1" | "filename|sha1" => &[Sha1],
            "sha256" | "filename|sha256" => &[Sha256],
            "filename" => &[FileName],
            "email" | "email-src" | "email-dst" => &[Email],
            "user-agent" => &[UserAgent],
            _ => &[],
        };
        for kind in add {
            if !kinds.contains(kind) {
                kinds.push(*kind);
            }
        }
    }
    kinds
}

/// One compiled list.
#[derive(Debug)]
struct List {
    name: String,
    kinds: Vec<IndicatorKind>,
    exact: HashMap<String, String>,
    hostnames: HashMap<String, String>,
    cidrs: Vec<IpNet>,
    substrings: Vec<String>,
    regexes: Vec<regex::Regex>,
}

/// Every whitelist in force: warninglists plus local allow rules.
#[derive(Debug, Default)]
pub struct Whitelist {
    lists: Vec<List>,
    local: HashMap<(IndicatorKind, String), (bool, String, Option<String>)>,
}

impl Whitelist {
    /// An empty whitelist.
    pub fn new() -> Self {
        Whitelist::default()
    }

    /// True when no list and no allow rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty() && self.local.is_empty()
    }

    /// Reads a warninglist file (`list.json`) or every `*.json` /
    /// `*/list.json` under a folder. Returns the number of lists added.
    pub fn load_path(&mut self, path: &Path) -> Result<usize, IntelError> {
        if path.is_dir() {
            let mut files = Vec::new();
            let entries = std::fs::read_dir(path).map_err(|source| IntelError::Io { path: path.to_owned(), source })?;
            for entry in entries.flatten() {
                let p = entry.path();
                if p.is_dir() && p.join("list.json").is_file() {
                    files.push(p.join("list.json"));
                } else if p.extension().is_some_and(|e| e == "json") {
                    files.push(p);
                }
            }
            files.sort();
            for file in &files {
                self.load_path(file)?;
            }
            return Ok(files.len());
        }
        let text = crate::load::read_capped(path, MAX_WARNINGLIST_BYTES)?;
        let list: Warninglist = serde_json::from_slice(&text).map_err(|e| IntelError::Warninglist {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        self.add_warninglist(&list).map_err(|reason| IntelError::Warninglist { path: path.to_owned(), reason })?;
        Ok(1)
    }

    /// Adds a parsed warninglist. Fails on a regex that does not compile
    /// or a CIDR entry that is not a network.
    pub fn add_warninglist(&mut self, list: &Warninglist) -> Result<(), String> {
        let mut compiled = List {
            name: list.name.clone(),
            kinds: kinds_for(&list.matching_attributes),
            exact: HashMap::new(),
            hostnames: HashMap::new(),
            cidrs: Vec::new(),
            substrings: Vec::new(),
            regexes: Vec::new(),
        };
        for entry in &list.list {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            match list.list_type {
                ListType::String => {
                    compiled.exact.insert(entry.to_lowercase(), entry.to_owned());
                }
                ListType::Substring => compiled.substrings.push(entry.to_lowercase()),
                ListType::Hostname => {
                    let host = entry.trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.').to_lowercase();
                    compiled.hostnames.insert(host, entry.to_owned());
                }
                ListType::Cidr => {
                    let net = parse_net(entry).ok_or_else(|| format!("entry {entry:?} is not an address or network"))?;
                    compiled.cidrs.push(net);
                }
                ListType::Regex => {
                    let pattern = strip_regex_delimiters(entry);
                    let regex = regex::RegexBuilder::new(pattern)
                        .case_insensitive(true)
                        .size_limit(MAX_REGEX_SIZE)
                        .build()
                        .map_err(|e| format!("entry {entry:?} is not a regex picket can run: {e}"))?;
                    compiled.regexes.push(regex);
                }
            }
        }
        self.lists.push(compiled);
        Ok(())
    }

    /// Adds a local allow rule. A domain with `include_subdomains` also
    /// allows every name below it.
    pub fn add_local(&mut self, observable: Observable, source: &str, note: Option<String>) {
        self.local.insert(
            (observable.kind, observable.value),
            (observable.include_subdomains, source.to_owned(), note),
        );
    }

    /// Adds every indicator of an input that marked them whitelisted
    /// (`LoadReport::allow`).
    pub fn add_indicators(&mut self, indicators: &[Indicator]) {
        for indicator in indicators {
            let source = indicator.sightings.first().map_or("local", |s| s.source.provider.as_str()).to_owned();
            let note = indicator.sightings.first().and_then(|s| s.source.description.clone());
            self.add_local(
                Observable {
                    kind: indicator.kind,
                    value: indicator.value.clone(),
                    include_subdomains: indicator.include_subdomains,
                },
                &source,
                note,
            );
        }
    }

    /// Why the normalised `value` of `kind` is whitelisted, or `None`.
    pub fn check(&self, kind: IndicatorKind, value: &str) -> Option<AllowReason> {
        if let Some(reason) = self.check_local(kind, value) {
            return Some(reason);
        }
        let lower = value.to_lowercase();
        let host = host_of(kind, value);
        let net = net_of(kind, value);
        for list in &self.lists {
            if !list.kinds.contains(&kind) {
                continue;
            }
            let found = |entry: &str| Some(AllowReason { list: list.name.clone(), entry: entry.to_owned(), note: None });
            if let Some(entry) = list.exact.get(&lower) {
                return found(entry);
            }
            if let Some(host) = &host {
                if let Some(entry) = list.exact.get(host.as_str())
                    && kind == IndicatorKind::Domain {
                        return found(entry);
                    }
                let mut names = std::iter::once(host.as_str()).chain(parent_domains(host));
                if let Some(entry) = names.find_map(|n| list.hostnames.get(n)) {
                    return found(entry);
                }
                // A one-label entry (a TLD such as `com`) is not covered by
                // parent_domains, which stops at two labels.
                if let Some(tld) = host.rsplit('.').next()
                    && let Some(entry) = list.hostnames.get(tld).filter(|_| host.contains('.')) {
                        return found(entry);
                    }
            }
            if let Some((first, last)) = net
                && let Some(entry) = list.cidrs.iter().find(|c| c.contains(&first) && c.contains(&last)) {
                    return found(&entry.to_string());
                }
            if let Some(entry) = list.substrings.iter().find(|s| lower.contains(s.as_str())) {
                return found(entry);
            }
            if let Some(regex) = list.regexes.iter().find(|r| r.is_match(value)) {
                return found(regex.as_str());
            }
        }
        None
    }

    fn check_local(&self, kind: IndicatorKind, value: &str) -> Option<AllowReason> {
        let reason = |entry: &str, (_, source, note): &(bool, String, Option<String>)| AllowReason {
            list: source.clone(),
            entry: entry.to_owned(),
            note: note.clone(),
        };
        if let Some(rule) = self.local.get(&(kind, value.to_owned())) {
            return Some(reason(value, rule));
        }
        if let Some(host) = host_of(kind, value) {
            if kind == IndicatorKind::Url
                && let Some(rule) = self.local.get(&(IndicatorKind::Domain, host.clone())) {
                    return Some(reason(&host, rule));
                }
            for parent in parent_domains(&host) {
                if let Some(rule) = self.local.get(&(IndicatorKind::Domain, parent.to_owned())).filter(|r| r.0) {
                    return Some(reason(parent, rule));
                }
            }
        }
        if let Some((first, last)) = net_of(kind, value) {
            for ((rule_kind, rule_value), rule) in &self.local {
                if !rule_kind.is_ip() {
                    continue;
                }
                let covered = match *rule_kind {
                    IndicatorKind::IpRange => parse_range(rule_value).is_ok_and(|(a, b)| a <= first && last <= b),
                    _ => parse_net(rule_value).is_some_and(|n| n.contains(&first) && n.contains(&last)),
                };
                if covered {
                    return Some(reason(rule_value, rule));
                }
            }
        }
        None
    }

    /// The entries the matcher can enforce, as indicators for
    /// `MatcherBuilder::allow`: local rules, hostname lists (with their
    /// subdomains), CIDR lists and string lists that contain addresses or
    /// names. Substring and regex lists cannot be compiled into the
    /// matcher. They filter the store, queries and exports.
    pub fn allow_entries(&self) -> Vec<Indicator> {
        let mut out = Vec::new();
        let mut push = |observable: Observable, list: &str| {
            let sighting = Sighting {
                source: picket_event::IntelSource {
                    provider: list.to_owned(),
                    confidence: 100,
                    ..picket_event::IntelSource::default()
                },
                assessment: Some("whitelist".into()),
                ..Sighting::default()
            };
            out.push(Indicator::new(observable, sighting));
        };
        for ((kind, value), (include_subdomains, source, _)) in &self.local {
            push(
                Observable { kind: *kind, value: value.clone(), include_subdomains: *include_subdomains },
                source,
            );
        }
        for list in &self.lists {
            for host in list.hostnames.keys() {
                if let Ok(mut o) = normalize_observable(IndicatorKind::Domain, host) {
                    o.include_subdomains = true;
                    push(o, &list.name);
                }
            }
            for net in &list.cidrs {
                push(Observable { kind: IndicatorKind::Cidr, value: net.to_string(), include_subdomains: false }, &list.name);
            }
            for value in list.exact.keys() {
                if let Some(o) = crate::normalize::classify_observable(value).filter(|o| list.kinds.contains(&o.kind)) {
                    let o = Observable { include_subdomains: false, ..o };
                    push(o, &list.name);
                }
            }
        }
        out
    }

    /// Names of the loaded lists, with their entry counts.
    pub fn lists(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = self
            .lists
            .iter()
            .map(|l| {
                let n = l.exact.len() + l.hostnames.len() + l.cidrs.len() + l.substrings.len() + l.regexes.len();
                (l.name.clone(), n)
            })
            .collect();
        if !self.local.is_empty() {
            out.push(("local allow rules".into(), self.local.len()));
        }
        out
    }
}

/// The host of a domain or URL indicator, lower-case.
fn host_of(kind: IndicatorKind, value: &str) -> Option<String> {
    match kind {
        IndicatorKind::Domain => Some(value.to_lowercase()),
        IndicatorKind::Url => url::Url::parse(value).ok()?.host_str().map(str::to_lowercase),
        IndicatorKind::Email => value.rsplit_once('@').map(|(_, h)| h.to_lowercase()),
        _ => None,
    }
}

/// First and last address of an address, network or range indicator.
fn net_of(kind: IndicatorKind, value: &str) -> Option<(IpAddr, IpAddr)> {
    match kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => value.parse().ok().map(|ip| (ip, ip)),
        IndicatorKind::Cidr => parse_net(value).map(|n| (n.network(), n.broadcast())),
        IndicatorKind::IpRange => parse_range(value).ok(),
        _ => None,
    }
}

/// MISP writes PCRE with delimiters (`/^foo$/i`). The `regex` crate takes
/// the bare pattern.
fn strip_regex_delimiters(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('/')
        && let Some(end) = rest.rfind('/') {
            return &rest[..end];
        }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(list_type: ListType, entries: &[&str], attributes: &[&str]) -> Warninglist {
        Warninglist {
            name: format!("{list_type:?} list"),
            list_type,
            list: entries.iter().map(|s| (*s).to_owned()).collect(),
            matching_attributes: attributes.iter().map(|s| (*s).to_owned()).collect(),
            description: String::new(),
            version: serde_json::Value::Null,
        }
    }

    #[test]
    fn each_list_type_matches_as_misp_does() {
        let mut w = Whitelist::new();
        w.add_warninglist(&list(ListType::Hostname, &["example.com", ".dyn.example"], &["domain", "url"])).unwrap();
        w.add_warninglist(&list(ListType::String, &["exact.example", "D41D8CD98F00B204E9800998ECF8427E"], &[])).unwrap();
        w.add_warninglist(&list(ListType::Cidr, &["10.0.0.0/8"], &["ip-dst"])).unwrap();
        w.add_warninglist(&list(ListType::Substring, &["googleusercontent"], &["domain"])).unwrap();
        w.add_warninglist(&list(ListType::Regex, &["/^cdn[0-9]+\\.example\\.net$/i"], &["domain"])).unwrap();
        use IndicatorKind::*;
        assert!(w.check(Domain, "www.example.com").is_some());
        assert!(w.check(Domain, "example.com").is_some());
        assert!(w.check(Domain, "notexample.com").is_none());
        assert!(w.check(Url, "http://a.example.com/x").is_some());
        assert!(w.check(Domain, "a.dyn.example").is_some());
        assert!(w.check(Domain, "exact.example").is_some());
        assert!(w.check(Domain, "sub.exact.example").is_none());
        assert!(w.check(Md5, "d41d8cd98f00b204e9800998ecf8427e").is_some());
        assert!(w.check(Ipv4, "10.1.2.3").is_some());
        assert!(w.check(Cidr, "10.1.0.0/16").is_some());
        assert!(w.check(Cidr, "0.0.0.0/0").is_none());
        assert!(w.check(Domain, "x.googleusercontent.com").is_some());
        assert!(w.check(Domain, "CDN12.example.net").is_some());
        let reason = w.check(Ipv4, "10.9.9.9").unwrap();
        assert_eq!(reason.entry, "10.0.0.0/8");
        assert!(reason.to_string().contains("Cidr list"));
    }

    #[test]
    fn local_rules_cover_subdomains_and_networks() {
        let mut w = Whitelist::new();
        let mut o = normalize_observable(IndicatorKind::Domain, "corp.example").unwrap();
        o.include_subdomains = true;
        w.add_local(o, "local", Some("our own".into()));
        w.add_local(normalize_observable(IndicatorKind::Cidr, "192.0.2.0/24").unwrap(), "local", None);
        assert!(w.check(IndicatorKind::Domain, "mail.corp.example").is_some());
        assert!(w.check(IndicatorKind::Url, "https://corp.example/login").is_some());
        assert!(w.check(IndicatorKind::Ipv4, "192.0.2.55").is_some());
        assert!(w.check(IndicatorKind::Ipv4, "192.0.3.1").is_none());
        assert_eq!(w.allow_entries().len(), 2);
    }

    #[test]
    fn bad_entries_are_errors() {
        let mut w = Whitelist::new();
        assert!(w.add_warninglist(&list(ListType::Cidr, &["not a net"], &[])).is_err());
        assert!(w.add_warninglist(&list(ListType::Regex, &["(unclosed"], &[])).is_err());
    }
}
