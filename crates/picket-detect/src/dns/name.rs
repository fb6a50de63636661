//! Splitting DNS names at the public suffix, and the character statistics the
//! detectors share.

use crate::dns::recent::Recent;

/// A query name cut at its registered domain.
///
/// `www.a.example.co.uk` has the registered domain `example.co.uk`, the
/// suffix `co.uk`, the registered label `example` and the subdomain `www.a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameParts<'a> {
    /// The whole name, as given.
    pub name: &'a str,
    /// The registered (registrable) domain: one label under the public suffix.
    pub registered: &'a str,
    /// The public suffix, from the ICANN or private section of the list.
    pub suffix: &'a str,
    /// The label of the registered domain that sits under the suffix.
    pub label: &'a str,
    /// Everything left of the registered domain, without the joining dot;
    /// empty when the name is the registered domain.
    pub subdomain: &'a str,
}

/// Cuts `name` (lower case, no trailing dot) at its public suffix.
///
/// Returns `None` for names the detectors leave alone: names without a dot,
/// names whose suffix is not in the public suffix list (`.local`, `.lan`,
/// `.internal` and other private zones), reverse-lookup names under `.arpa`,
/// and names with empty labels.
///
/// Every DNS detector splits the same query name in turn, and resolver
/// traffic repeats names, so each thread keeps the recent splits in a
/// [`Recent`] cache.
pub fn split_name(name: &str) -> Option<NameParts<'_>> {
    /// Lengths of the registered domain, the suffix and the label.
    type Cuts = Option<(usize, usize, usize)>;
    thread_local! {
        static SPLITS: std::cell::RefCell<Recent<Cuts>> = std::cell::RefCell::new(Recent::new());
    }

    let lens = SPLITS.with_borrow_mut(|splits| {
        splits.get_or_insert(0, name, || {
            split_name_uncached(name).map(|p| (p.registered.len(), p.suffix.len(), p.label.len()))
        })
    });
    let (registered_len, suffix_len, label_len) = lens?;
    let registered = name.get(name.len() - registered_len..)?;
    Some(NameParts {
        name,
        registered,
        suffix: name.get(name.len() - suffix_len..)?,
        label: registered.get(..label_len)?,
        subdomain: if name.len() > registered_len {
            name.get(..name.len() - registered_len - 1)?
        } else {
            ""
        },
    })
}

fn split_name_uncached(name: &str) -> Option<NameParts<'_>> {
    if name.is_empty() || !name.contains('.') || name.ends_with(".arpa") {
        return None;
    }
    if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        return None;
    }

    let domain = psl::domain(name.as_bytes())?;
    if !domain.suffix().is_known() {
        return None;
    }
    let registered_len = domain.as_bytes().len();
    let suffix_len = domain.suffix().as_bytes().len();
    let registered = name.get(name.len() - registered_len..)?;
    let suffix = name.get(name.len() - suffix_len..)?;
    let label = registered.get(..registered_len.checked_sub(suffix_len + 1)?)?;
    let subdomain = if name.len() > registered_len {
        name.get(..name.len() - registered_len - 1)?
    } else {
        ""
    };

    let parts = NameParts {
        name,
        registered,
        suffix,
        label,
        subdomain,
    };
    if !subdomain.is_empty() && dynamic_dns_zones().contains(registered) {
        return Some(under_dynamic_zone(parts));
    }
    Some(parts)
}

/// Moves the cut one label left: under a dynamic-DNS zone each customer's
/// host name is what a registered domain is elsewhere.
fn under_dynamic_zone(parts: NameParts<'_>) -> NameParts<'_> {
    let (rest, label) = match parts.subdomain.rfind('.') {
        Some(dot) => (&parts.subdomain[..dot], &parts.subdomain[dot + 1..]),
        None => ("", parts.subdomain),
    };
    let start = parts.name.len() - parts.registered.len() - 1 - label.len();
    NameParts {
        name: parts.name,
        registered: &parts.name[start..],
        suffix: parts.registered,
        label,
        subdomain: rest,
    }
}

/// Dynamic-DNS zones that both the public suffix list and the MISP list
/// lack (free host names of afraid.org and ChangeIP).
const EXTRA_DYNAMIC_ZONES: &[&str] = &["yi.org", "dynserv.com"];

/// Returns the dynamic-DNS zones of the MISP warninglist (CC0) shipped in
/// `data/dga/dynamic-dns.txt`, which the public suffix list lacks in part
/// (`dyndns.org`), plus [`EXTRA_DYNAMIC_ZONES`]: names under them are split
/// one label further.
pub fn dynamic_dns_zones() -> &'static hashbrown::HashSet<&'static str> {
    static ZONES: std::sync::OnceLock<hashbrown::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    ZONES.get_or_init(|| {
        include_str!("../../data/dga/dynamic-dns.txt")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .chain(EXTRA_DYNAMIC_ZONES.iter().copied())
            .collect()
    })
}

/// Character statistics of one string (a label or a run of labels).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CharStats {
    /// Length in bytes.
    pub len: usize,
    /// ASCII digits.
    pub digits: usize,
    /// ASCII letters.
    pub letters: usize,
    /// Upper-case ASCII letters.
    pub upper: usize,
    /// Vowels `aeiouy` of either case.
    pub vowels: usize,
    /// Hyphens.
    pub hyphens: usize,
    /// Bytes outside `[A-Za-z0-9-]` and the dot (underscore, `+`, `/`, `=`,
    /// bytes above ASCII).
    pub other: usize,
    /// Length of the longest run of consonant letters.
    pub max_consonant_run: usize,
    /// Changes between a digit and a letter, in either direction.
    pub digit_letter_switches: usize,
    /// Shannon entropy of the byte distribution, in bits per byte.
    pub entropy: f64,
    /// True when every letter is in `a-f` (the string could be hex).
    pub hex_only: bool,
    /// True when every byte is in the base32 alphabet `a-z2-7` of RFC 4648
    /// (case-insensitive).
    pub base32_only: bool,
}

impl CharStats {
    /// Computes the statistics of `text`, skipping dots.
    pub fn of(text: &str) -> Self {
        let mut counts = [0u16; 256];
        let mut stats = CharStats {
            hex_only: true,
            base32_only: true,
            ..CharStats::default()
        };
        let mut run = 0usize;
        let mut previous_digit: Option<bool> = None;

        for &byte in text.as_bytes() {
            if byte == b'.' {
                run = 0;
                previous_digit = None;
                continue;
            }
            stats.len += 1;
            counts[usize::from(byte)] = counts[usize::from(byte)].saturating_add(1);
            let lower = byte.to_ascii_lowercase();

            let is_digit = byte.is_ascii_digit();
            let is_letter = byte.is_ascii_alphabetic();
            if is_digit {
                stats.digits += 1;
                if !(b'2'..=b'7').contains(&byte) {
                    stats.base32_only = false;
                }
            } else if is_letter {
                stats.letters += 1;
                if byte.is_ascii_uppercase() {
                    stats.upper += 1;
                }
                if lower > b'f' {
                    stats.hex_only = false;
                }
            } else {
                stats.base32_only = false;
                stats.hex_only = false;
                if byte == b'-' {
                    stats.hyphens += 1;
                } else {
                    stats.other += 1;
                }
            }

            if is_letter && !matches!(lower, b'a' | b'e' | b'i' | b'o' | b'u' | b'y') {
                run += 1;
                stats.max_consonant_run = stats.max_consonant_run.max(run);
            } else {
                run = 0;
                if is_letter {
                    stats.vowels += 1;
                }
            }

            if is_digit || is_letter {
                if previous_digit.is_some_and(|was| was != is_digit) {
                    stats.digit_letter_switches += 1;
                }
                previous_digit = Some(is_digit);
            }
        }

        stats.entropy = entropy(&counts, stats.len);
        if stats.len == 0 {
            stats.hex_only = false;
            stats.base32_only = false;
        }
        stats
    }

    /// Share of digits among the bytes, 0 for an empty string.
    pub fn digit_ratio(&self) -> f64 {
        ratio(self.digits, self.len)
    }

    /// Share of vowels among the letters, 0 when there are no letters.
    pub fn vowel_ratio(&self) -> f64 {
        ratio(self.vowels, self.letters)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn entropy(counts: &[u16; 256], len: usize) -> f64 {
    if len == 0 {
        return 0.0;
    }
    let total = len as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / total;
            -p * p.log2()
        })
        .sum()
}

/// The shape of a name as a DGA produces it: its suffix, its registered label's
/// length and the character classes it uses. Names one DGA produces in one
/// run share a shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NameShape {
    /// The public suffix.
    pub suffix: String,
    /// Length of the registered label, in buckets of 4 bytes (0 = 1..=3, 1 =
    /// 4..=7 and so on) so that variable-length generators still group.
    pub length_bucket: u8,
    /// Character classes: bit 0 letters, bit 1 digits, bit 2 hyphen.
    pub classes: u8,
}

impl NameShape {
    /// Computes the shape of a split name.
    pub fn of(parts: &NameParts<'_>) -> Self {
        let stats = CharStats::of(parts.label);
        let mut classes = 0u8;
        if stats.letters > 0 {
            classes |= 1;
        }
        if stats.digits > 0 {
            classes |= 2;
        }
        if stats.hyphens > 0 {
            classes |= 4;
        }
        NameShape {
            suffix: parts.suffix.to_owned(),
            length_bucket: u8::try_from(parts.label.len() / 4).unwrap_or(u8::MAX),
            classes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_public_suffix() {
        let parts = split_name("www.a.example.co.uk").unwrap();
        assert_eq!(parts.registered, "example.co.uk");
        assert_eq!(parts.suffix, "co.uk");
        assert_eq!(parts.label, "example");
        assert_eq!(parts.subdomain, "www.a");

        let parts = split_name("example.com").unwrap();
        assert_eq!(parts.subdomain, "");
        assert_eq!(parts.label, "example");
    }

    #[test]
    fn private_suffixes_count() {
        let parts = split_name("ibbwnhgh.mooo.com").unwrap();
        assert_eq!(parts.registered, "ibbwnhgh.mooo.com");
        assert_eq!(parts.label, "ibbwnhgh");
    }

    #[test]
    fn dynamic_dns_zones_split_one_label_further() {
        // marginreport.com is in the warninglist, not in the public suffix list.
        let parts = split_name("www.smhburg.marginreport.com").unwrap();
        assert_eq!(parts.registered, "smhburg.marginreport.com");
        assert_eq!(parts.suffix, "marginreport.com");
        assert_eq!(parts.label, "smhburg");
        assert_eq!(parts.subdomain, "www");
        assert_eq!(
            split_name("marginreport.com").unwrap().registered,
            "marginreport.com"
        );
    }

    #[test]
    fn leaves_local_and_reverse_names_alone() {
        for name in [
            "printer.local",
            "host.lan",
            "1.0.0.10.in-addr.arpa",
            "localhost",
            "",
            "a..b.com",
            ".com",
        ] {
            assert_eq!(split_name(name), None, "{name}");
        }
        assert_eq!(split_name("com"), None);
    }

    #[test]
    fn character_statistics() {
        let stats = CharStats::of("xkcdq7.mz");
        assert_eq!(stats.len, 8);
        assert_eq!(stats.digits, 1);
        assert_eq!(stats.max_consonant_run, 5);
        assert_eq!(stats.digit_letter_switches, 1, "a dot ends a run");
        assert!(!stats.hex_only);

        assert!(CharStats::of("deadbeef00").hex_only);
        assert!(CharStats::of("mfrgg2lt").base32_only);
        assert!(!CharStats::of("mfrgg2lt9").base32_only);
        assert!((CharStats::of("abcd").entropy - 2.0).abs() < 1e-9);
        assert_eq!(CharStats::of("").entropy, 0.0);
    }

    #[test]
    fn shapes_group_one_generator() {
        let a = NameShape::of(&split_name("qwhxkzpd.net").unwrap());
        let b = NameShape::of(&split_name("ploqmzta.net").unwrap());
        let c = NameShape::of(&split_name("ploqmzta.com").unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
