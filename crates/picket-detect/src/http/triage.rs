//! List scoring for proxy-log triage: each line is scored by the weighted
//! lists it hits and sorted into five bands, from explicit white to explicit
//! black; extraction rules copy matching lines into files of their own.
//!
//! [`TriageConfig`] is what the user writes (YAML in `picket triage`);
//! [`Triage::build`] loads the list files it names into an immutable engine
//! that any number of threads share.
//!
//! ```yaml
//! checks:
//!   - field: domain
//!     list: lists/trusted-domains.txt
//!     match: suffix
//!     labels: 3
//!     weight: 400
//!   - field: client_ip
//!     list: lists/quarantine-nets.txt
//!     match: cidr
//!     weight: -500
//! bands:
//!   explicit_white_above: 300
//!   explicit_black_below: -300
//! extract:
//!   - field: url
//!     rules: lists/extract.txt   # lines: `regex ## output-file`
//! ```
//!
//! List files hold one entry per line; blank lines and lines starting with
//! `#` are ignored, as is anything after ` #` on a line of a list (not of
//! a rules file).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use hashbrown::{HashMap, HashSet};
use ipnet::IpNet;
use picket_event::HttpEvent;
use regex::RegexSet;
use serde::Deserialize;

/// A field of a proxy-log line that checks and extraction rules look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The server host name (`url.domain`).
    Domain,
    /// The client address.
    ClientIp,
    /// The server address.
    ServerIp,
    /// The server port: the URL's port, else the logged server port.
    Port,
    /// The URL as logged.
    Url,
    /// The response content type.
    ContentType,
    /// The user agent.
    UserAgent,
    /// The authenticated user name.
    UserName,
    /// The whole line as written in the log (extraction rules only).
    Line,
}

impl Field {
    /// The field's value on an event as text; `None` when absent. The whole
    /// line is not part of the event and is passed in by the caller.
    pub fn value<'a>(
        self,
        event: &'a HttpEvent,
        line: &'a str,
        buffer: &'a mut String,
    ) -> Option<&'a str> {
        use std::fmt::Write;
        let text = match self {
            Field::Domain => event.host.as_deref()?,
            Field::ClientIp | Field::ServerIp | Field::Port => {
                buffer.clear();
                match self {
                    Field::ClientIp => write!(buffer, "{}", event.client_ip?),
                    Field::ServerIp => write!(buffer, "{}", event.server_ip?),
                    _ => write!(buffer, "{}", event.port.or(event.server_port)?),
                }
                .ok()?;
                buffer.as_str()
            }
            Field::Url => event.url.as_str(),
            Field::ContentType => event.content_type.as_deref()?,
            Field::UserAgent => event.user_agent.as_deref()?,
            Field::UserName => event.user_name.as_deref()?,
            Field::Line => line,
        };
        (!text.is_empty() && text != "-").then_some(text)
    }
}

/// The comparison a check makes between a field and its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The whole value equals an entry (case-insensitive for domains, user
    /// agents, content types and user names).
    Exact,
    /// The domain or one of its parent domains of at most `labels` labels
    /// equals an entry (`labels` unset: any parent).
    Suffix,
    /// The address falls in a listed network (`10.0.0.0/8`, `2001:db8::/32`,
    /// or a bare address).
    Cidr,
    /// A listed regular expression (Rust `regex` syntax) matches the value.
    Regex,
}

/// One weighted list check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// The field checked.
    pub field: Field,
    /// The list file, relative to the configuration file.
    pub list: PathBuf,
    /// The comparison of entries with the field.
    #[serde(rename = "match")]
    pub kind: MatchKind,
    /// For `suffix`: the most labels of a parent domain compared.
    #[serde(default)]
    pub labels: Option<usize>,
    /// Added to the line's score on a hit: positive for trust, negative for
    /// suspicion.
    pub weight: i64,
    /// A name for the summary; defaults to the list file name.
    #[serde(default)]
    pub name: Option<String>,
}

/// Score bands. A line scoring above `explicit_white_above` is explicit
/// white, 1 up to it white, 0 grey, below 0 down to `explicit_black_below`
/// black, and below that explicit black.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bands {
    /// Scores above this are explicit white. Default 300.
    pub explicit_white_above: i64,
    /// Scores below this are explicit black. Default -300.
    pub explicit_black_below: i64,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            explicit_white_above: 300,
            explicit_black_below: -300,
        }
    }
}

/// The five outputs a line can go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Band {
    /// Score above the explicit-white bound.
    ExplicitWhite,
    /// Score from 1 to the explicit-white bound.
    White,
    /// Score 0: no list had an opinion, or opinions cancelled.
    Grey,
    /// Score from -1 down to the explicit-black bound.
    Black,
    /// Score below the explicit-black bound.
    ExplicitBlack,
}

impl Band {
    /// Every band, from most trusted to least.
    pub const ALL: [Band; 5] = [
        Band::ExplicitWhite,
        Band::White,
        Band::Grey,
        Band::Black,
        Band::ExplicitBlack,
    ];

    /// The band's name, also its output file stem.
    pub fn name(self) -> &'static str {
        match self {
            Band::ExplicitWhite => "explicit-white",
            Band::White => "white",
            Band::Grey => "grey",
            Band::Black => "black",
            Band::ExplicitBlack => "explicit-black",
        }
    }

    /// Position in [`Band::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Bands {
    /// Returns the band of a score.
    pub fn of(&self, score: i64) -> Band {
        if score > self.explicit_white_above {
            Band::ExplicitWhite
        } else if score > 0 {
            Band::White
        } else if score == 0 {
            Band::Grey
        } else if score >= self.explicit_black_below {
            Band::Black
        } else {
            Band::ExplicitBlack
        }
    }
}

/// One group of extraction rules over a field.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractConfig {
    /// The field the rules' expressions are matched against. Default: the whole line.
    #[serde(default = "line_field")]
    pub field: Field,
    /// A file of rules, one `regex ## output-file` per line, relative to the
    /// configuration file.
    #[serde(default)]
    pub rules_file: Option<PathBuf>,
    /// Rules written inline, `regex ## output-file` each.
    #[serde(default)]
    pub rules: Vec<String>,
}

fn line_field() -> Field {
    Field::Line
}

/// The triage configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageConfig {
    /// Weighted list checks.
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
    /// Score bands.
    #[serde(default)]
    pub bands: Bands,
    /// Extraction rules.
    #[serde(default)]
    pub extract: Vec<ExtractConfig>,
}

/// A problem in the configuration or a file it names.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// A list or rules file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A list entry does not fit the check's match kind.
    #[error("{path}:{line}: invalid {kind} entry {entry:?}: {reason}")]
    Entry {
        /// The list file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// The match kind.
        kind: &'static str,
        /// The entry.
        entry: String,
        /// Why it is invalid.
        reason: String,
    },
    /// An extraction rule is not `regex ## output-file`.
    #[error(
        "{origin}: extraction rule {rule:?} is invalid: {reason}; write `regex ## output-file`"
    )]
    Rule {
        /// Where the rule was written (file and line, or `inline rule N`).
        origin: String,
        /// The rule.
        rule: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A check is set up in a way that cannot work.
    #[error("check {index} ({field:?}): {reason}")]
    Check {
        /// Position of the check in the configuration, from 1.
        index: usize,
        /// The field it checks.
        field: Field,
        /// What is wrong.
        reason: String,
    },
}

/// The compiled matcher of one check.
#[derive(Debug)]
enum Matcher {
    Exact {
        entries: HashSet<String>,
        fold_case: bool,
    },
    Suffix {
        entries: HashSet<String>,
        labels: Option<usize>,
    },
    Cidr {
        by_prefix: Vec<(u8, HashSet<IpAddr>)>,
    },
    Regex(RegexSet),
}

impl Matcher {
    fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact { entries, fold_case } => {
                if *fold_case && value.bytes().any(|b| b.is_ascii_uppercase()) {
                    entries.contains(value.to_ascii_lowercase().as_str())
                } else {
                    entries.contains(value)
                }
            }
            Matcher::Suffix { entries, labels } => {
                let lower;
                let host = if value.bytes().any(|b| b.is_ascii_uppercase()) {
                    lower = value.to_ascii_lowercase();
                    lower.as_str()
                } else {
                    value
                };
                let host = host.trim_end_matches('.');
                // Walk parents from the right: "c", "b.c", "a.b.c".
                let mut count = 0usize;
                let mut end = host.len();
                loop {
                    let start = host[..end].rfind('.').map_or(0, |i| i + 1);
                    count += 1;
                    if labels.is_some_and(|max| count > max) {
                        return false;
                    }
                    if entries.contains(&host[start..]) {
                        return true;
                    }
                    if start == 0 {
                        return false;
                    }
                    end = start - 1;
                }
            }
            Matcher::Cidr { by_prefix } => {
                let Ok(ip) = value
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                else {
                    return false;
                };
                by_prefix.iter().any(|(prefix, set)| {
                    let masked = match (ip, IpNet::new(ip, *prefix)) {
                        (_, Ok(net)) => net.network(),
                        (ip, Err(_)) => ip,
                    };
                    set.contains(&masked)
                })
            }
            Matcher::Regex(set) => set.is_match(value),
        }
    }
}

/// A compiled check.
#[derive(Debug)]
struct Check {
    field: Field,
    weight: i64,
    name: String,
    matcher: Matcher,
}

/// A compiled extraction group.
#[derive(Debug)]
struct Extraction {
    field: Field,
    set: RegexSet,
    /// Output index of each expression in `set`.
    outputs: Vec<usize>,
}

/// The score of one line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineScore {
    /// Sum of the weights of the checks hit.
    pub score: i64,
    /// Indexes of the checks hit, in configuration order.
    pub hits: Vec<usize>,
    /// Indexes (into [`Triage::extraction_outputs`]) of the extraction
    /// files the line goes to.
    pub extractions: Vec<usize>,
}

/// The immutable triage engine.
#[derive(Debug)]
pub struct Triage {
    checks: Vec<Check>,
    extractions: Vec<Extraction>,
    extraction_outputs: Vec<String>,
    bands: Bands,
}

/// Largest list or rules file read, in bytes.
pub const MAX_LIST_BYTES: u64 = 512 << 20;

/// Reads a list file into (line number, entry) pairs; `trailing_comments`
/// cuts each line at ` #` (not for rule files, whose separator is `##`).
fn read_list(path: &Path, trailing_comments: bool) -> Result<Vec<(usize, String)>, TriageError> {
    let read_error = |source| TriageError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let text = std::io::read_to_string(std::io::Read::take(file, MAX_LIST_BYTES + 1))
        .map_err(read_error)?;
    if text.len() as u64 > MAX_LIST_BYTES {
        return Err(read_error(std::io::Error::other(format!(
            "file is larger than the {MAX_LIST_BYTES}-byte limit for lists"
        ))));
    }
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = if trailing_comments {
                line.split(" #").next().unwrap_or(line)
            } else {
                line
            };
            let line = line.trim();
            (!line.is_empty() && !line.starts_with('#')).then(|| (i + 1, line.to_owned()))
        })
        .collect())
}

/// Splits a `regex ## output-file` rule.
fn split_rule(rule: &str) -> Option<(&str, &str)> {
    let (pattern, output) = rule.rsplit_once("##")?;
    let (pattern, output) = (pattern.trim(), output.trim());
    (!pattern.is_empty() && !output.is_empty()).then_some((pattern, output))
}

impl Triage {
    /// Compiles a configuration, reading list and rule files relative to `base`.
    pub fn build(config: &TriageConfig, base: &Path) -> Result<Triage, TriageError> {
        let mut checks = Vec::new();
        for (index, check) in config.checks.iter().enumerate() {
            let path = base.join(&check.list);
            let entries = read_list(&path, true)?;
            let matcher = build_matcher(check, index + 1, &path, entries)?;
            let name = check.name.clone().unwrap_or_else(|| {
                check.list.file_name().map_or_else(
                    || check.list.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            });
            checks.push(Check {
                field: check.field,
                weight: check.weight,
                name,
                matcher,
            });
        }

        let mut extraction_outputs: Vec<String> = Vec::new();
        let mut output_index: HashMap<String, usize> = HashMap::new();
        let mut extractions = Vec::new();
        for group in &config.extract {
            let mut rules: Vec<(String, String)> = group
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("inline rule {}", i + 1), r.clone()))
                .collect();
            if let Some(file) = &group.rules_file {
                let path = base.join(file);
                rules.extend(
                    read_list(&path, false)?
                        .into_iter()
                        .map(|(line, r)| (format!("{}:{line}", path.display()), r)),
                );
            }
            let mut patterns = Vec::new();
            let mut outputs = Vec::new();
            for (origin, rule) in rules {
                let Some((pattern, output)) = split_rule(&rule) else {
                    return Err(TriageError::Rule {
                        origin,
                        rule,
                        reason: "missing `##` or an empty side".into(),
                    });
                };
                if let Err(error) = regex::Regex::new(pattern) {
                    return Err(TriageError::Rule {
                        origin,
                        rule: rule.clone(),
                        reason: error.to_string(),
                    });
                }
                if output.contains("..") || Path::new(output).is_absolute() {
                    return Err(TriageError::Rule {
                        origin,
                        rule: rule.clone(),
                        reason: "the output file must be a relative path inside the output folder"
                            .into(),
                    });
                }
                let next = extraction_outputs.len();
                let index = *output_index.entry(output.to_owned()).or_insert_with(|| {
                    extraction_outputs.push(output.to_owned());
                    next
                });
                patterns.push(pattern.to_owned());
                outputs.push(index);
            }
            if patterns.is_empty() {
                continue;
            }
            let set = RegexSet::new(&patterns).map_err(|error| TriageError::Rule {
                origin: "extraction group".into(),
                rule: patterns.join(" | "),
                reason: error.to_string(),
            })?;
            extractions.push(Extraction {
                field: group.field,
                set,
                outputs,
            });
        }

        Ok(Triage {
            checks,
            extractions,
            extraction_outputs,
            bands: config.bands,
        })
    }

    /// Scores one line: its event and the text as written in the log.
    pub fn score(&self, event: &HttpEvent, line: &str) -> LineScore {
        let mut result = LineScore::default();
        let mut buffer = String::new();
        for (index, check) in self.checks.iter().enumerate() {
            let Some(value) = check.field.value(event, line, &mut buffer) else {
                continue;
            };
            if check.matcher.matches(value) {
                result.score = result.score.saturating_add(check.weight);
                result.hits.push(index);
            }
        }
        for extraction in &self.extractions {
            let Some(value) = extraction.field.value(event, line, &mut buffer) else {
                continue;
            };
            for matched in extraction.set.matches(value).iter() {
                let output = extraction.outputs[matched];
                if !result.extractions.contains(&output) {
                    result.extractions.push(output);
                }
            }
        }
        result
    }

    /// Returns the band of a score.
    pub fn band(&self, score: i64) -> Band {
        self.bands.of(score)
    }

    /// The extraction output files, relative to the output folder.
    pub fn extraction_outputs(&self) -> &[String] {
        &self.extraction_outputs
    }

    /// The name of check `index`, for summaries.
    pub fn check_name(&self, index: usize) -> &str {
        self.checks.get(index).map_or("", |c| c.name.as_str())
    }

    /// Number of checks.
    pub fn check_count(&self) -> usize {
        self.checks.len()
    }
}

fn build_matcher(
    check: &CheckConfig,
    index: usize,
    path: &Path,
    entries: Vec<(usize, String)>,
) -> Result<Matcher, TriageError> {
    let entry_error =
        |line: usize, kind: &'static str, entry: &str, reason: String| TriageError::Entry {
            path: path.to_owned(),
            line,
            kind,
            entry: entry.to_owned(),
            reason,
        };
    match check.kind {
        MatchKind::Exact => {
            let fold_case = !matches!(check.field, Field::Url | Field::Line);
            let entries = entries
                .into_iter()
                .map(|(_, e)| if fold_case { e.to_ascii_lowercase() } else { e })
                .collect();
            Ok(Matcher::Exact { entries, fold_case })
        }
        MatchKind::Suffix => {
            if check.labels == Some(0) {
                return Err(TriageError::Check {
                    index,
                    field: check.field,
                    reason: "labels must be at least 1".into(),
                });
            }
            let entries = entries
                .into_iter()
                .map(|(_, e)| {
                    e.trim_start_matches("*.")
                        .trim_start_matches('.')
                        .trim_end_matches('.')
                        .to_ascii_lowercase()
                })
                .collect();
            Ok(Matcher::Suffix {
                entries,
                labels: check.labels,
            })
        }
        MatchKind::Cidr => {
            let mut by_prefix: Vec<(u8, HashSet<IpAddr>)> = Vec::new();
            for (line, entry) in entries {
                let net: IpNet = match entry.parse::<IpNet>() {
                    Ok(net) => net,
                    Err(_) => match entry.parse::<IpAddr>() {
                        Ok(ip) => IpNet::from(ip),
                        Err(e) => return Err(entry_error(line, "cidr", &entry, e.to_string())),
                    },
                };
                let prefix = net.prefix_len();
                let network = net.network();
                // IPv4 and IPv6 share a prefix-length slot; the address family keeps them apart.
                match by_prefix.iter_mut().find(|(p, _)| *p == prefix) {
                    Some((_, set)) => {
                        set.insert(network);
                    }
                    None => by_prefix.push((prefix, HashSet::from_iter([network]))),
                }
            }
            by_prefix.sort_by_key(|(p, _)| std::cmp::Reverse(*p));
            Ok(Matcher::Cidr { by_prefix })
        }
        MatchKind::Regex => {
            for (line, entry) in &entries {
                if let Err(e) = regex::Regex::new(entry) {
                    return Err(entry_error(*line, "regex", entry, e.to_string()));
                }
            }
            let set = RegexSet::new(entries.iter().map(|(_, e)| e.as_str())).map_err(|e| {
                TriageError::Check {
                    index,
                    field: check.field,
                    reason: e.to_string(),
                }
            })?;
            Ok(Matcher::Regex(set))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn event() -> HttpEvent {
        HttpEvent {
            client_ip: Some("10.1.2.3".parse().unwrap()),
            server_ip: Some("203.0.113.9".parse().unwrap()),
            host: Some("cdn.Trusted.example".to_ascii_lowercase()),
            url: "http://cdn.trusted.example/0123456789abcdef0123456789abcdef/q.php?id=1".into(),
            user_agent: Some("Mozilla/5.0".into()),
            content_type: Some("text/html".into()),
            ..HttpEvent::default()
        }
    }

    /// Creates a directory that is removed when the returned guard drops.
    fn temp_dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("picket-triage-{name}-"))
            .tempdir()
            .unwrap()
    }

    #[test]
    fn weights_add_up_and_band() {
        let guard = temp_dir("weights");
        let dir = guard.path();
        write(dir, "trusted.txt", "# trusted sites\ntrusted.example\n");
        write(dir, "bad-nets.txt", "10.1.0.0/16 # lab\n");
        write(dir, "ua.txt", "mozilla/5.0\n");
        let yaml = serde_json::json!({
            "checks": [
                {"field": "domain", "list": "trusted.txt", "match": "suffix", "labels": 2, "weight": 200},
                {"field": "client_ip", "list": "bad-nets.txt", "match": "cidr", "weight": -250},
                {"field": "user_agent", "list": "ua.txt", "match": "exact", "weight": 10},
            ]
        });
        let config: TriageConfig = serde_json::from_value(yaml).unwrap();
        let triage = Triage::build(&config, dir).unwrap();
        let scored = triage.score(&event(), "");
        assert_eq!(scored.score, -40);
        assert_eq!(scored.hits, vec![0, 1, 2]);
        assert_eq!(triage.band(scored.score), Band::Black);
        assert_eq!(triage.band(301), Band::ExplicitWhite);
        assert_eq!(triage.band(300), Band::White);
        assert_eq!(triage.band(0), Band::Grey);
        assert_eq!(triage.band(-300), Band::Black);
        assert_eq!(triage.band(-301), Band::ExplicitBlack);
    }

    #[test]
    fn suffix_respects_label_limit() {
        let guard = temp_dir("suffix");
        let dir = guard.path();
        write(dir, "list.txt", "cdn.trusted.example\n");
        let mut config: TriageConfig = serde_json::from_value(serde_json::json!({
            "checks": [{"field": "domain", "list": "list.txt", "match": "suffix", "labels": 2, "weight": 1}]
        }))
        .unwrap();
        assert_eq!(
            Triage::build(&config, dir)
                .unwrap()
                .score(&event(), "")
                .score,
            0
        );
        config.checks[0].labels = Some(3);
        assert_eq!(
            Triage::build(&config, dir)
                .unwrap()
                .score(&event(), "")
                .score,
            1
        );
    }

    #[test]
    fn extraction_rules_route_lines() {
        let guard = temp_dir("extract");
        let dir = guard.path();
        let config: TriageConfig = serde_json::from_value(serde_json::json!({
            "extract": [
                {"field": "url", "rules": ["/[0-9a-f]{32}/q\\.php\\? ## ek-gates.log", "nomatch ## other.log"]},
                {"rules": ["^10\\.1\\.2\\.3 ## client-10.1.2.3.log"]},
            ]
        }))
        .unwrap();
        let triage = Triage::build(&config, dir).unwrap();
        let scored = triage.score(&event(), "10.1.2.3 GET http://x/");
        assert_eq!(scored.extractions, vec![0, 2]);
        assert_eq!(triage.extraction_outputs()[2], "client-10.1.2.3.log");
    }

    #[test]
    fn bad_entries_are_reported_with_location() {
        let guard = temp_dir("bad");
        let dir = guard.path();
        write(dir, "nets.txt", "10.0.0.0/8\nnot-a-net\n");
        let config: TriageConfig = serde_json::from_value(serde_json::json!({
            "checks": [{"field": "server_ip", "list": "nets.txt", "match": "cidr", "weight": -1}]
        }))
        .unwrap();
        let error = Triage::build(&config, dir).unwrap_err().to_string();
        assert!(error.contains("nets.txt:2"), "{error}");
        assert!(error.contains("not-a-net"), "{error}");

        let bad_rule: TriageConfig =
            serde_json::from_value(serde_json::json!({"extract": [{"rules": ["no separator"]}]}))
                .unwrap();
        assert!(Triage::build(&bad_rule, dir).is_err());
        let escaping: TriageConfig = serde_json::from_value(
            serde_json::json!({"extract": [{"rules": ["x ## ../../etc/passwd"]}]}),
        )
        .unwrap();
        assert!(Triage::build(&escaping, dir).is_err());
    }

    #[test]
    fn unknown_config_fields_are_rejected() {
        let bad = serde_json::json!({"checks": [{"field": "domain", "list": "x", "match": "exact", "weight": 1, "wieght": 2}]});
        assert!(serde_json::from_value::<TriageConfig>(bad).is_err());
    }
}
