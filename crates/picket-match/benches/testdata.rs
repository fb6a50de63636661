//! Seeded generators of realistic indicator sets and lookup values, shared by
//! the criterion benches and the memory and end-to-end examples.
#![allow(dead_code, missing_docs, clippy::disallowed_methods)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use picket_event::IntelSource;
use picket_intel::{Indicator, IndicatorKind, Sighting};

/// SplitMix64: small, seeded, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "net", "sec", "up", "dat", "ra", "zo", "web", "cdn", "pro", "tel", "box",
    "shop", "go", "ex", "in", "tra", "vel", "ban", "kor", "ix", "on", "ser", "vo", "mail", "cloud",
    "ad", "trk",
];
/// A separate vocabulary for benign traffic, so that benign names collide
/// with listed ones only where a test plants them.
const BENIGN_SYLLABLES: &[&str] = &[
    "goo", "fa", "ce", "mic", "ro", "am", "zon", "wi", "ki", "ya", "hoo", "bi", "ng", "nf", "lix",
    "ap", "ple", "twi", "ter", "red", "dit", "lin", "ked", "git", "hub", "so", "ft", "ado", "be",
    "ora",
];

/// Generates a benign-looking domain from the benign vocabulary.
pub fn benign_domain(rng: &mut Rng) -> String {
    let n = 2 + rng.below(3);
    let w: String = (0..n).map(|_| *rng.pick(BENIGN_SYLLABLES)).collect();
    format!("{w}{}.{}", rng.below(100), rng.pick(TLDS))
}

const TLDS: &[&str] = &[
    "com", "net", "org", "ru", "info", "xyz", "top", "de", "co.uk", "io", "biz", "cn",
];
const SUBS: &[&str] = &[
    "www", "mail", "api", "cdn", "static", "img", "login", "update", "m", "ns1",
];

pub fn word(rng: &mut Rng) -> String {
    let n = 2 + rng.below(3);
    (0..n).map(|_| *rng.pick(SYLLABLES)).collect()
}

/// Generates a registrable-looking domain: `word.tld`, sometimes with a number.
pub fn domain(rng: &mut Rng) -> String {
    let mut w = word(rng);
    if rng.below(4) == 0 {
        w.push_str(&rng.below(1000).to_string());
    }
    format!("{w}.{}", rng.pick(TLDS))
}

/// Generates a host name under a domain, with zero to two extra labels.
pub fn host_under(rng: &mut Rng, domain: &str) -> String {
    match rng.below(3) {
        0 => domain.to_owned(),
        1 => format!("{}.{domain}", rng.pick(SUBS)),
        _ => format!("{}.{}.{domain}", word(rng), rng.pick(SUBS)),
    }
}

pub fn public_v4(rng: &mut Rng) -> u32 {
    loop {
        let a = rng.next_u64() as u32;
        let first = a >> 24;
        if !matches!(first, 0 | 10 | 127 | 224..=255) {
            return a;
        }
    }
}

fn hex(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes * 2);
    while s.len() < bytes * 2 {
        s.push_str(&format!("{:016x}", rng.next_u64()));
    }
    s.truncate(bytes * 2);
    s
}

/// Twenty feeds, as real deployments have: metadata shared by many values.
fn feeds() -> Vec<IntelSource> {
    (0..20)
        .map(|i| IntelSource {
            provider: format!("provider{}", i / 4),
            feed: format!("feed{i}"),
            confidence: 40 + (i as u8) * 3,
            tlp: Some(["clear", "green", "amber"][i % 3].into()),
            tags: vec![["botnet", "c2", "phishing", "malware", "scanner"][i % 5].into()],
            description: Some(format!("generated feed {i}")),
            reference: None,
        })
        .collect()
}

fn indicator(kind: IndicatorKind, value: String, wide: bool, source: &IntelSource) -> Indicator {
    Indicator {
        kind,
        value,
        include_subdomains: wide && kind == IndicatorKind::Domain,
        match_substring: wide && kind == IndicatorKind::Url,
        sightings: vec![Sighting {
            source: source.clone(),
            ..Sighting::default()
        }],
    }
}

/// Generates the mix of a large deployment, in shares of `total`. The
/// shares: 28 % IPv4, 3 % IPv6, 12 % networks (/20 to /32), 33 % domains
/// (half with subdomains), 13 % URLs (a quarter prefixes), 10 % digests and
/// 1 % e-mail, user agents and file names.
pub fn indicators(total: usize, seed: u64) -> Vec<Indicator> {
    let mut out = Vec::with_capacity(total);
    each_indicator(total, seed, |i| out.push(i));
    out
}

/// Like [`indicators`], handing each one to `out` instead of keeping them,
/// so that memory can be measured without the input list.
pub fn each_indicator(total: usize, seed: u64, mut out: impl FnMut(Indicator)) {
    let mut rng = Rng::new(seed);
    let feeds = feeds();
    let out = &mut out;
    let share = |pct: usize| total * pct / 100;
    for _ in 0..share(28) {
        let f = rng.pick(&feeds);
        out(indicator(
            IndicatorKind::Ipv4,
            Ipv4Addr::from(public_v4(&mut rng)).to_string(),
            false,
            f,
        ));
    }
    for _ in 0..share(3) {
        let a = (0x2001_0db8u128 << 96)
            | u128::from(rng.next_u64()) << 32
            | u128::from(rng.next_u64() as u32);
        let f = rng.pick(&feeds);
        out(indicator(
            IndicatorKind::Ipv6,
            Ipv6Addr::from(a).to_string(),
            false,
            f,
        ));
    }
    for _ in 0..share(12) {
        let prefix = 20 + rng.below(13) as u32;
        let net = public_v4(&mut rng) & (u32::MAX << (32 - prefix));
        let f = rng.pick(&feeds);
        out(indicator(
            IndicatorKind::Cidr,
            format!("{}/{prefix}", Ipv4Addr::from(net)),
            false,
            f,
        ));
    }
    for i in 0..share(33) {
        let d = domain(&mut rng);
        let f = rng.pick(&feeds);
        out(indicator(IndicatorKind::Domain, d, i % 2 == 0, f));
    }
    for i in 0..share(13) {
        let d = domain(&mut rng);
        let url = format!(
            "http://{}/{}/{}.php?id={}",
            host_under(&mut rng, &d),
            word(&mut rng),
            word(&mut rng),
            rng.below(100_000)
        );
        let f = rng.pick(&feeds);
        out(indicator(IndicatorKind::Url, url, i % 4 == 0, f));
    }
    for i in 0..share(10) {
        let (kind, bytes) = [
            (IndicatorKind::Md5, 16),
            (IndicatorKind::Sha1, 20),
            (IndicatorKind::Sha256, 32),
        ][i % 3];
        let f = rng.pick(&feeds);
        out(indicator(kind, hex(&mut rng, bytes), false, f));
    }
    for i in 0..share(1) {
        let f = rng.pick(&feeds);
        let (kind, value) = match i % 3 {
            0 => (
                IndicatorKind::Email,
                format!("{}@{}", word(&mut rng), domain(&mut rng)),
            ),
            1 => (
                IndicatorKind::UserAgent,
                format!("{}/{}.{}", word(&mut rng), rng.below(10), rng.below(10)),
            ),
            _ => (IndicatorKind::FileName, format!("{}.exe", word(&mut rng))),
        };
        out(indicator(kind, value, false, f));
    }
}

/// Loads the real feeds of the public corpus, when present.
pub fn corpus_indicators() -> Vec<Indicator> {
    let Some(root) = picket_corpus::corpus_dir() else {
        return Vec::new();
    };
    let files = [
        "threat-intel/spamhaus/drop.txt",
        "threat-intel/spamhaus/dropv6.txt",
        "threat-intel/spamhaus/edrop_2023-12.txt",
        "threat-intel/spamhaus/drop_v4.json",
        "threat-intel/abusech/feodotracker_ipblocklist_2024-04-04.csv",
        "threat-intel/bambenek-intelmq/c2-dommasterlist.txt",
        "threat-intel/bambenek-intelmq/c2-ipmasterlist.txt",
        "threat-intel/bambenek-intelmq/dga-feed.txt",
        "threat-intel/plain-lists/dshield_block.txt",
    ];
    let mut out = Vec::new();
    for f in files {
        let path = root.join(f);
        if let Ok(report) = picket_intel::load_file(Path::new(&path)) {
            out.extend(report.indicators);
        }
    }
    out
}

/// Generates host names as a proxy logs them: mostly popular, benign names (Zipf-like
/// reuse), some under listed domains.
pub fn lookup_hosts(n: usize, listed: &[String], seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let popular: Vec<String> = (0..5_000).map(|_| benign_domain(&mut rng)).collect();
    (0..n)
        .map(|_| {
            let r = rng.below(1000);
            if r < 10 && !listed.is_empty() {
                let d = rng.pick(listed).clone();
                host_under(&mut rng, &d)
            } else if r < 700 {
                let i = (rng.below(70) * rng.below(70)) as usize;
                let d = popular[i % popular.len()].clone();
                host_under(&mut rng, &d)
            } else {
                let d = benign_domain(&mut rng);
                host_under(&mut rng, &d)
            }
        })
        .collect()
}

/// Listed domain values of an indicator set.
pub fn listed_domains(indicators: &[Indicator]) -> Vec<String> {
    indicators
        .iter()
        .filter(|i| i.kind == IndicatorKind::Domain)
        .map(|i| i.value.clone())
        .collect()
}

/// Current resident set size of this process, in bytes (Linux).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time this thread has run, in seconds, from the scheduler's
/// nanosecond counter (Linux): rates over it are not skewed by other
/// processes competing for the cores, as wall time is.
pub fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}
