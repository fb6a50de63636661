//! Feed rules: one YAML file per provider, in the spirit of CIF's rules.
//!
//! ```yaml
//! provider: abuse.ch
//! defaults:                 # for every feed of the file
//!   confidence: 85
//!   tlp: clear
//! lifetimes:                # days from last seen, for every feed of the file
//!   ip: 14
//! feeds:
//!   feodo:
//!     remote: https://feodotracker.abuse.ch/downloads/ipblocklist.csv
//!     parser: feodo-csv
//!     refresh: 1h
//!     grace: 3d
//!     defaults:
//!       assessment: c2
//!       altid: https://feodotracker.abuse.ch/browse/host/{value}/
//!     lifetimes:            # over the file's
//!       ip: 7
//! ```
//!
//! Unknown keys are errors. Every problem of a file is reported at once,
//! each naming the feed and field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::IntelError;
use crate::formats::{Columns, DatasetType};
use crate::load::{Defaults, Format, LoadOptions};
use crate::expiry::{LifetimeOverrides, Lifetimes};
use crate::IndicatorKind;

/// Largest rule file read, in bytes (1 MiB): rules are short.
pub const MAX_RULE_BYTES: u64 = 1 << 20;

/// A provider's rule file.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The provider every feed belongs to.
    pub provider: String,
    /// The feeds, by name.
    pub feeds: Vec<FeedRule>,
}

/// One feed of a provider.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FeedRule {
    /// The feed's name (the key under `feeds:`).
    #[serde(skip)]
    pub name: String,
    /// An `http://` or `https://` URL, or a local path (relative paths are
    /// relative to the rule file).
    pub remote: String,
    /// The parser (a format name such as `plain`, `delimited`, `stix2`).
    pub parser: String,
    /// Overrides of the file's defaults.
    #[serde(default)]
    pub defaults: Defaults,
    /// Per-kind lifetimes in days from last seen for this feed's
    /// indicators (`ip`, `network`, `domain`, `url`, `email`, `hash`,
    /// `user-agent`, `file-name`). Once the file is read, this contains the
    /// file's `lifetimes:` overridden by the feed's own. Kinds named in
    /// neither keep the built-in defaults of [`Lifetimes`].
    #[serde(default)]
    pub lifetimes: LifetimeOverrides,
    /// Lines to skip at the start.
    #[serde(default)]
    pub skip_lines: usize,
    /// How often to download; `pull` skips a feed pulled more recently
    /// unless forced. Default 1 hour.
    #[serde(default = "default_refresh", deserialize_with = "duration")]
    pub refresh: Duration,
    /// How long a feed that fails to download keeps its last indicators
    /// alive after its last success. Default 7 days.
    #[serde(default = "default_grace", deserialize_with = "duration")]
    pub grace: Duration,
    /// Whole-download timeout. Default 60 seconds.
    #[serde(default = "default_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    /// Extra attempts after a failed download. Default 2.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Largest download accepted, in bytes. Default 256 MiB.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Column map for `delimited`.
    #[serde(default)]
    pub columns: Option<Columns>,
    /// Delimiter for `delimited`: one character, or `tab`. Default `,`.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Pattern with named groups for `regex`.
    #[serde(default)]
    pub regex: Option<String>,
    /// Reads every value as this kind instead of guessing.
    #[serde(default)]
    pub kind: Option<String>,
    /// Content type of a `suricata-dataset` feed.
    #[serde(default)]
    pub dataset_type: Option<DatasetType>,
    /// Whether a domain also covers its subdomains. Default true.
    #[serde(default = "yes")]
    pub include_subdomains: bool,
}

fn default_refresh() -> Duration {
    Duration::from_secs(3600)
}
fn default_grace() -> Duration {
    Duration::from_secs(7 * 86_400)
}
fn default_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_retries() -> u32 {
    2
}
fn default_max_bytes() -> u64 {
    256 << 20
}
fn yes() -> bool {
    true
}

/// Reads `90`, `90s`, `15m`, `1h`, `7d` or `2w` as a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(seconds).map(Duration::from_secs)
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Seconds(s) => Ok(Duration::from_secs(s)),
        Raw::Text(t) => parse_duration(&t)
            .ok_or_else(|| serde::de::Error::custom(format!("{t:?} is not a duration such as 90s, 15m, 1h, 7d"))),
    }
}

/// The top level of a rule file, before the feeds are read one by one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    provider: String,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    lifetimes: LifetimeOverrides,
    feeds: BTreeMap<String, serde_yaml_ng::Value>,
}

impl RuleFile {
    /// Reads and checks a rule file, reporting every problem at once.
    pub fn load(path: &Path) -> Result<RuleFile, IntelError> {
        let bytes = crate::load::read_capped(path, MAX_RULE_BYTES)?;
        let text = String::from_utf8(bytes).map_err(|e| IntelError::Rule {
            path: path.to_owned(),
            problems: vec![format!("not UTF-8: {e}")],
        })?;
        RuleFile::parse(path, &text)
    }

    /// Checks a rule file's text; `path` is used in messages and to resolve
    /// relative local remotes.
    pub fn parse(path: &Path, text: &str) -> Result<RuleFile, IntelError> {
        let fail = |problems: Vec<String>| IntelError::Rule { path: path.to_owned(), problems };
        let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| fail(vec![e.to_string()]))?;
        let mut problems = Vec::new();
        if raw.provider.trim().is_empty() {
            problems.push("provider: must not be empty".into());
        }
        if raw.feeds.is_empty() {
            problems.push("feeds: no feed is defined".into());
        }
        let mut feeds = Vec::new();
        for (name, value) in raw.feeds {
            let mut feed: FeedRule = match serde_yaml_ng::from_value(value) {
                Ok(feed) => feed,
                Err(e) => {
                    problems.push(format!("feeds.{name}: {e}"));
                    continue;
                }
            };
            feed.name = name.clone();
            feed.defaults = merge_defaults(&raw.defaults, &feed.defaults);
            feed.lifetimes = raw.lifetimes.then(&feed.lifetimes);
            if feed.defaults.provider.is_none() {
                feed.defaults.provider = Some(raw.provider.clone());
            }
            if feed.defaults.feed.is_none() {
                feed.defaults.feed = Some(name.clone());
            }
            for problem in feed.check() {
                problems.push(format!("feeds.{name}.{problem}"));
            }
            if !feed.remote.contains("://") && Path::new(&feed.remote).is_relative()
                && let Some(dir) = path.parent() {
                    feed.remote = dir.join(&feed.remote).display().to_string();
                }
            feeds.push(feed);
        }
        if !problems.is_empty() {
            return Err(fail(problems));
        }
        Ok(RuleFile { path: path.to_owned(), provider: raw.provider, feeds })
    }
}

/// The feed's defaults over the file's.
fn merge_defaults(file: &Defaults, feed: &Defaults) -> Defaults {
    Defaults {
        provider: feed.provider.clone().or_else(|| file.provider.clone()),
        feed: feed.feed.clone().or_else(|| file.feed.clone()),
        confidence: feed.confidence.or(file.confidence),
        tlp: feed.tlp.or(file.tlp),
        tags: file.tags.iter().chain(&feed.tags).cloned().collect(),
        assessment: feed.assessment.clone().or_else(|| file.assessment.clone()),
        severity: feed.severity.or(file.severity),
        description: feed.description.clone().or_else(|| file.description.clone()),
        altid: feed.altid.clone().or_else(|| file.altid.clone()),
    }
}

impl FeedRule {
    /// The parser as a [`Format`].
    pub fn format(&self) -> Option<Format> {
        Format::parse(&self.parser)
    }

    /// Every problem of this feed, each starting with the field name.
    fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.format() {
            None => {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
                problems.push(format!("parser: {:?} is not one of {}", self.parser, names.join(", ")));
            }
            Some(Format::Delimited) if self.columns.is_none() => {
                problems.push("columns: the delimited parser needs a column map (value: 1)".into());
            }
            Some(Format::Regex) => match &self.regex {
                None => problems.push("regex: the regex parser needs a pattern with a (?P<value>...) group".into()),
                Some(pattern) => match regex::Regex::new(pattern) {
                    Ok(re) if re.capture_names().flatten().any(|n| n == "value") => {}
                    Ok(_) => problems.push("regex: the pattern has no (?P<value>...) group".into()),
                    Err(e) => problems.push(format!("regex: does not compile: {e}")),
                },
            },
            _ => {}
        }
        if let Some(remote) = self.remote.split_once("://").map(|(scheme, _)| scheme) {
            if remote != "http" && remote != "https" {
                problems.push(format!("remote: scheme {remote:?} is not http or https"));
            }
        } else if self.remote.trim().is_empty() {
            problems.push("remote: must be a URL or a path".into());
        }
        if let Some(kind) = &self.kind
            && let Err(e) = kind.parse::<IndicatorKind>() {
                problems.push(format!("kind: {e}"));
            }
        if let Some(delimiter) = &self.delimiter
            && self.delimiter_byte().is_none() {
                problems.push(format!("delimiter: {delimiter:?} is not one ASCII character or `tab`"));
            }
        if self.defaults.confidence.is_some_and(|c| c > 100) {
            problems.push("defaults.confidence: must be 0 to 100".into());
        }
        if self.max_bytes == 0 {
            problems.push("max-bytes: must be above 0".into());
        }
        problems
    }

    fn delimiter_byte(&self) -> Option<u8> {
        match self.delimiter.as_deref() {
            None => Some(b','),
            Some("tab" | "\\t" | "\t") => Some(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() => d.bytes().next(),
            Some(_) => None,
        }
    }

    /// How to read a download of this feed.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            defaults: self.defaults.clone(),
            format: self.format(),
            kind: self.kind.as_deref().and_then(|k| k.parse().ok()),
            domain_subdomains: self.include_subdomains,
            skip_lines: self.skip_lines,
            max_bytes: self.max_bytes,
            columns: self.columns.clone(),
            delimiter: self.delimiter_byte().unwrap_or(b','),
            regex: self.regex.clone(),
            dataset_type: self.dataset_type.unwrap_or_default(),
            ..LoadOptions::default()
        }
    }

    /// Returns the lifetimes of this feed's indicators: the built-in defaults with
    /// the rule's `lifetimes:` over them, and `overrides` (the command
    /// line's) over both.
    pub fn lifetimes(&self, overrides: &LifetimeOverrides) -> Lifetimes {
        self.lifetimes.then(overrides).over(&Lifetimes::default())
    }

    /// The provider (always set once the file is read).
    pub fn provider(&self) -> &str {
        self.defaults.provider.as_deref().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_rule_file_with_merged_defaults() {
        let text = "provider: abuse.ch\n\
                    defaults:\n  confidence: 85\n  tags: [botnet]\n\
                    feeds:\n  feodo:\n    remote: https://example.invalid/ipblocklist.csv\n    parser: feodo-csv\n    refresh: 2h\n    defaults:\n      tags: [c2]\n      tlp: clear\n\
                    \n  local:\n    remote: lists/bad.txt\n    parser: delimited\n    delimiter: tab\n    columns:\n      value: [6, 7]\n      description: 3\n";
        let file = RuleFile::parse(Path::new("/etc/picket/abusech.yaml"), text).unwrap();
        assert_eq!(file.feeds.len(), 2);
        let feodo = file.feeds.iter().find(|f| f.name == "feodo").unwrap();
        assert_eq!(feodo.refresh, Duration::from_secs(7200));
        assert_eq!(feodo.defaults.tags, ["botnet", "c2"]);
        assert_eq!(feodo.defaults.confidence, Some(85));
        assert_eq!(feodo.provider(), "abuse.ch");
        let local = file.feeds.iter().find(|f| f.name == "local").unwrap();
        assert_eq!(local.remote, "/etc/picket/lists/bad.txt");
        assert_eq!(feodo.lifetimes(&LifetimeOverrides::default()).ip, 30);
        assert_eq!(local.load_options().delimiter, b'\t');
    }

    #[test]
    fn reports_every_problem_with_feed_and_field() {
        let text = "provider: p\nfeeds:\n  a:\n    remote: ftp://x\n    parser: nope\n  b:\n    remote: x\n    parser: plain\n    colour: red\n  c:\n    remote: x\n    parser: regex\n    regex: '(unclosed'\n  d:\n    remote: x\n    parser: plain\n    refresh: soon\n";
        let err = RuleFile::parse(Path::new("p.yaml"), text).unwrap_err();
        let IntelError::Rule { problems, .. } = &err else { panic!("{err}") };
        let all = problems.join("\n");
        assert!(all.contains("feeds.a.parser"), "{all}");
        assert!(all.contains("feeds.a.remote"), "{all}");
        assert!(all.contains("feeds.b: unknown field `colour`"), "{all}");
        assert!(all.contains("feeds.c.regex"), "{all}");
        assert!(all.contains("feeds.d:") && all.contains("not a duration"), "{all}");
        assert!(err.to_string().contains("p.yaml"));
    }

    #[test]
    fn lifetimes_layer_file_feed_and_flags() {
        let text = "provider: p\nlifetimes:\n  ip: 14\n  domain: 60\nfeeds:\n  a:\n    remote: a.txt\n    parser: plain\n    lifetimes:\n      ip: 3\n  b:\n    remote: b.txt\n    parser: plain\n  c:\n    remote: c.txt\n    parser: plain\n    lifetimes:\n      ips: 3\n";
        let err = RuleFile::parse(Path::new("p.yaml"), text).unwrap_err();
        assert!(err.to_string().contains("feeds.c"), "{err}");
        assert!(err.to_string().contains("ips"), "{err}");

        let file = RuleFile::parse(Path::new("p.yaml"), &text.replace("ips: 3", "hash: 9")).unwrap();
        let get = |name: &str| file.feeds.iter().find(|f| f.name == name).unwrap();
        let none = LifetimeOverrides::default();
        let a = get("a").lifetimes(&none);
        assert_eq!((a.ip, a.domain, a.url), (3, 60, 90));
        assert_eq!(get("b").lifetimes(&none).ip, 14);
        assert_eq!(get("c").lifetimes(&none).hash, 9);
        let mut flags = LifetimeOverrides::default();
        flags.set("ip", 1);
        assert_eq!(get("a").lifetimes(&flags).ip, 1);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1y"), None);
        assert_eq!(parse_duration(""), None);
    }
}
