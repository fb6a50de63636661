//! Measuring the DNS detectors on labelled names: the numbers `picket eval
//! dns` prints and the corpus tests assert.
//!
//! Two ways a name counts as flagged:
//!
//! - by its score alone (lexical DGA score, subdomain encoding score), at the
//!   detector's default cut; ROC AUC comes from these scores;
//! - by replaying the names as DNS events through the detector, so that the
//!   windowed behaviour counts too. A replayed name is flagged when an alert
//!   names it (`dns.dga`) or when its (client, registered domain) key raised
//!   an alert (`dns.tunnel`).

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use picket_event::dns::ResponseCode;
use picket_event::{Alert, Detector, DnsEvent, Event, RecordType, ResourceRecord, Timestamp};
use serde::Serialize;

use crate::dns::allowlist::Allowlist;
use crate::dns::model::{DgaModel, held_out};
use crate::dns::name::split_name;
use crate::dns::{DgaConfig, DgaDetector, TunnelConfig, TunnelDetector, tunnel};

/// An error reading an evaluation input.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A folder contains none of the expected files.
    #[error("no evaluation files found in {0}")]
    Empty(String),
}

/// One line of an evaluation: a detector on one corpus.
#[derive(Clone, Debug, Serialize)]
pub struct EvalRow {
    /// Detector id.
    pub detector: String,
    /// Corpus or family name.
    pub corpus: String,
    /// The judging method: `score` (the name alone) or `replay` (as events
    /// through the detector's windows).
    pub method: String,
    /// Positive (malicious) names.
    pub positives: usize,
    /// Negative (benign) names.
    pub negatives: usize,
    /// Positives flagged.
    pub true_positives: usize,
    /// Negatives flagged.
    pub false_positives: usize,
    /// ROC AUC of the score, when the method has one and both classes exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
    /// Number of input names left out of both classes, because no DNS
    /// message can carry them ([`is_dns_name`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub invalid: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl EvalRow {
    /// True positives over positives.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.positives)
    }

    /// False positives over negatives.
    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.false_positives, self.negatives)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// ROC AUC of positive against negative scores (the Mann-Whitney statistic,
/// ties counted half); `None` when a class is empty.
pub fn roc_auc(positives: &[f64], negatives: &[f64]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mid_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += mid_rank * all[i..j].iter().filter(|(_, p)| *p).count() as f64;
        i = j;
    }
    let (p, n) = (positives.len() as f64, negatives.len() as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// DGA families whose names are built from dictionary words (or a word
/// stem), measured apart from the character-random ones.
pub const DICTIONARY_FAMILIES: &[&str] = &[
    "suppobox", "banjori", "fosniw", "matsnu", "gozi", "nymaim2", "pizd", "rovnix",
];

/// Returns the family name of a baderj file: the file stem without the
/// `_example_domains` / `_domains` tail.
pub fn family_of(file_stem: &str) -> String {
    file_stem
        .replace("_example_domains", "")
        .replace("_domains", "")
}

/// True when the family builds names from words.
pub fn is_dictionary_family(family: &str) -> bool {
    DICTIONARY_FAMILIES.iter().any(|d| family.starts_with(d))
}

/// Largest evaluation file read, in bytes.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a whole text file of at most [`MAX_FILE_BYTES`].
fn read_text(path: &Path) -> Result<String, EvalError> {
    use std::io::Read as _;

    let error = |source| EvalError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(error)?;
    let mut text = String::new();
    // The read is bounded by `take` just before it.
    #[allow(clippy::disallowed_methods)]
    file.take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(error)?;
    Ok(text)
}

/// Reads a list of names, one per line, skipping blanks and `#` comments;
/// lower-cased, trailing dot removed.
pub fn read_names(path: &Path) -> Result<Vec<String>, EvalError> {
    Ok(read_text(path)?
        .lines()
        .map(|l| l.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect())
}

/// Reads the held-out benign registered domains: the part of the popular
/// lists in `dir` (MISP warninglist JSON files or text lists) whose labels
/// training never saw (see [`held_out`]).
pub fn held_out_benign(dir: &Path, files: &[&str]) -> Result<Vec<String>, EvalError> {
    let mut set = std::collections::BTreeSet::new();
    for file in files {
        let path = dir.join(file);
        let text = read_text(&path)?;
        let names: Vec<String> = if file.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("list").and_then(|l| l.as_array()).cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        } else {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_owned)
                .collect()
        };
        for name in names {
            let name = name.trim().trim_start_matches('.').to_ascii_lowercase();
            if let Some(parts) = split_name(&name)
                && held_out(parts.label)
            {
                set.insert(parts.registered.to_owned());
            }
        }
    }
    Ok(set.into_iter().collect())
}

/// Popular-domain lists of the MISP warninglists used as benign names.
pub const BENIGN_LISTS: &[&str] = &[
    "tranco10k.json",
    "alexa.json",
    "cisco_top1000.json",
    "moz-top500.json",
];

fn lexical_scores(model: &DgaModel, names: &[String]) -> Vec<f64> {
    names
        .iter()
        .map(|name| {
            split_name(name).map_or(0.0, |parts| model.score(parts.label, parts.suffix).score)
        })
        .collect()
}

fn at(nanos: i64) -> Timestamp {
    Timestamp::from_nanos(1_600_000_000_000_000_000 + nanos)
}

fn dns(time: Timestamp, client: IpAddr, name: &str, rcode: ResponseCode) -> Event {
    let answers = if rcode == ResponseCode::NOERROR {
        vec![ResourceRecord {
            name: name.to_owned(),
            rtype: RecordType::A,
            class: 1,
            ttl: 3600,
            data: "192.0.2.80".to_owned(),
        }]
    } else {
        Vec::new()
    };
    Event::Dns(DnsEvent {
        timestamp: time,
        client_ip: Some(client),
        query_name: name.to_owned(),
        query_type: Some(RecordType::A),
        rcode: Some(rcode),
        answers,
        ..DnsEvent::default()
    })
}

/// Registered domains an alert names.
fn alerted_domains(alert: &Alert, into: &mut HashSet<String>) {
    if let Some(name) = alert
        .details
        .get("registered_domain")
        .and_then(|v| v.as_str())
    {
        into.insert(name.to_owned());
    }
    if let Some(names) = alert.details.get("names").and_then(|v| v.as_array()) {
        into.extend(names.iter().filter_map(|v| v.as_str().map(str::to_owned)));
    }
}

/// Replays names through `dns.dga` from one client, one query every
/// `spacing_ms`, with the given response code; returns the registered
/// domains it alerted on.
pub fn replay_dga(
    names: &[String],
    rcode: ResponseCode,
    client: IpAddr,
    spacing_ms: i64,
) -> HashSet<String> {
    let mut detector = DgaDetector::new(DgaConfig::default(), Arc::new(Allowlist::new(true, &[])));
    let mut alerts = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let event = dns(at(i as i64 * spacing_ms * 1_000_000), client, name, rcode);
        detector.observe(&event, &[], &mut alerts);
    }
    detector.finish(&mut alerts);
    let mut flagged = HashSet::new();
    for alert in &alerts {
        alerted_domains(alert, &mut flagged);
    }
    flagged
}

/// Returns whether a DNS message can carry `name`, written without its
/// trailing dot: 1 to 253 bytes in labels of 1 to 63 bytes, the limits of
/// RFC 1035 (255 bytes in wire form). A name with an empty label, such as
/// `exaor..com.bn`, cannot be queried.
pub fn is_dns_name(name: &str) -> bool {
    (1..=253).contains(&name.len()) && name.split('.').all(|l| (1..=63).contains(&l.len()))
}

/// Reads the names of one family file whose registered label is in the
/// held-out split (see [`held_out`]), and counts the names of the file
/// that no DNS message can carry ([`is_dns_name`]), which are left out: a
/// detector can never see them. Valid names that do not split under the
/// public suffix list are kept, so they count as missed.
pub fn held_out_names(path: &Path) -> Result<(Vec<String>, usize), EvalError> {
    let (names, invalid): (Vec<String>, Vec<String>) = read_names(path)?
        .into_iter()
        .partition(|name| is_dns_name(name));
    let held_names = names
        .into_iter()
        .filter(|name| split_name(name).is_none_or(|parts| held_out(parts.label)))
        .collect();
    Ok((held_names, invalid.len()))
}

/// Evaluates `dns.dga` on the held-out names of every family file of
/// `dga_dir` against the held-out benign names of `benign_dir`.
pub fn evaluate_dga(dga_dir: &Path, benign_dir: &Path) -> Result<Vec<EvalRow>, EvalError> {
    let model = DgaModel::shipped();
    let benign = held_out_benign(benign_dir, BENIGN_LISTS)?;
    let benign_scores = lexical_scores(model, &benign);
    let benign_fp = benign_scores
        .iter()
        .filter(|&&s| s >= DgaConfig::default().min_lexical_score)
        .count();

    // Benign names replayed as resolved lookups from one client.
    let client: IpAddr = IpAddr::from([10, 0, 0, 20]);
    let benign_replayed = replay_dga(&benign, ResponseCode::NOERROR, client, 1000);
    let benign_replay_fp = benign
        .iter()
        .filter(|n| split_name(n).is_some_and(|p| benign_replayed.contains(p.registered)))
        .count();

    let mut files: Vec<_> = std::fs::read_dir(dga_dir)
        .map_err(|source| EvalError::Read {
            path: dga_dir.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(EvalError::Empty(dga_dir.display().to_string()));
    }

    let mut rows = Vec::new();
    let mut groups: [(Vec<f64>, usize, usize, usize, usize); 2] = Default::default();
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let family = family_of(stem);
        let (names, invalid) = held_out_names(&path)?;
        if names.is_empty() {
            continue;
        }
        let scores = lexical_scores(model, &names);
        let flagged = scores
            .iter()
            .filter(|&&s| s >= DgaConfig::default().min_lexical_score)
            .count();

        let replayed = replay_dga(
            &names,
            ResponseCode::NXDOMAIN,
            IpAddr::from([10, 0, 0, 66]),
            500,
        );
        let replay_flagged = names
            .iter()
            .filter(|n| split_name(n).is_some_and(|p| replayed.contains(p.registered)))
            .count();

        let group = &mut groups[usize::from(is_dictionary_family(&family))];
        group.0.extend(&scores);
        group.1 += names.len();
        group.2 += flagged;
        group.3 += replay_flagged;
        group.4 += invalid;

        rows.push(row(
            "dns.dga",
            &family,
            "score",
            names.len(),
            benign.len(),
            flagged,
            benign_fp,
            roc_auc(&scores, &benign_scores),
            invalid,
        ));
        rows.push(row(
            "dns.dga",
            &family,
            "replay",
            names.len(),
            benign.len(),
            replay_flagged,
            benign_replay_fp,
            None,
            invalid,
        ));
    }
    for (index, label) in ["all character-based families", "all dictionary families"]
        .into_iter()
        .enumerate()
    {
        let (scores, total, flagged, replayed, invalid) = &groups[index];
        rows.push(row(
            "dns.dga",
            label,
            "score",
            *total,
            benign.len(),
            *flagged,
            benign_fp,
            roc_auc(scores, &benign_scores),
            *invalid,
        ));
        rows.push(row(
            "dns.dga",
            label,
            "replay",
            *total,
            benign.len(),
            *replayed,
            benign_replay_fp,
            None,
            *invalid,
        ));
    }
    Ok(rows)
}

#[allow(clippy::too_many_arguments)]
fn row(
    detector: &str,
    corpus: &str,
    method: &str,
    positives: usize,
    negatives: usize,
    tp: usize,
    fp: usize,
    auc: Option<f64>,
    invalid: usize,
) -> EvalRow {
    EvalRow {
        detector: detector.to_owned(),
        corpus: corpus.to_owned(),
        method: method.to_owned(),
        positives,
        negatives,
        true_positives: tp,
        false_positives: fp,
        auc,
        invalid,
    }
}

/// One labelled query name of the netrack-learn CSV files.
#[derive(Clone, Debug)]
pub struct LabelledName {
    /// 1 for tunnel traffic, 0 for ordinary DNS.
    pub tunnel: bool,
    /// The name as written (case kept, trailing dot removed).
    pub original: String,
}

/// Reads a `label,qname` CSV file; lines that do not parse are skipped and
/// counted in the second value.
pub fn read_labelled(path: &Path) -> Result<(Vec<LabelledName>, usize), EvalError> {
    let text = read_text(path)?;
    let mut names = Vec::new();
    let mut skipped = 0;
    for line in text.lines().skip(1) {
        match line.split_once(',') {
            Some(("1", name)) | Some(("0", name)) if !name.trim().is_empty() => {
                names.push(LabelledName {
                    tunnel: line.starts_with('1'),
                    original: collapse_empty_labels(name.trim().trim_end_matches('.')),
                })
            }
            _ => skipped += 1,
        }
    }
    Ok((names, skipped))
}

/// Joins runs of dots into one. The iodine file writes about 2,500 names
/// with an empty label before the tunnel domain (`...FFFF..hidemyself.org`),
/// which no wire-format name can hold; a decoder would have given the name
/// without it.
fn collapse_empty_labels(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if !(c == '.' && out.ends_with('.')) {
            out.push(c);
        }
    }
    out
}

/// Evaluates `dns.tunnel` on the netrack-learn CSV files in `dir`: each tool's
/// file replayed from its own client at 20 queries per second, the plain
/// names from another client at one per second.
pub fn evaluate_tunnel_names(dir: &Path) -> Result<Vec<EvalRow>, EvalError> {
    let plain = read_labelled(&dir.join("plain-names.csv"))?.0;
    let plain_scores: Vec<f64> = plain
        .iter()
        .map(|n| name_tunnel_score(&n.original))
        .collect();
    let plain_replay = replay_tunnel(&plain, IpAddr::from([10, 0, 0, 30]), 1000);
    let plain_fp = plain_replay.iter().filter(|&&f| f).count();
    let plain_score_fp = plain_scores
        .iter()
        .filter(|&&s| s >= TunnelConfig::default().encoded_score)
        .count();

    let mut rows = Vec::new();
    for (index, tool) in ["iodine", "dns2tcp"].into_iter().enumerate() {
        let names: Vec<LabelledName> = read_labelled(&dir.join(format!("{tool}-names.csv")))?
            .0
            .into_iter()
            .filter(|n| n.tunnel)
            .collect();
        let scores: Vec<f64> = names
            .iter()
            .map(|n| name_tunnel_score(&n.original))
            .collect();
        let score_flagged = scores
            .iter()
            .filter(|&&s| s >= TunnelConfig::default().encoded_score)
            .count();
        let client = IpAddr::from([10, 0, 1, u8::try_from(index).unwrap_or(0) + 1]);
        let replay = replay_tunnel(&names, client, 50);
        let replay_flagged = replay.iter().filter(|&&f| f).count();
        let corpus = format!("netrack-learn {tool}");
        rows.push(row(
            tunnel::ID,
            &corpus,
            "score",
            names.len(),
            plain.len(),
            score_flagged,
            plain_score_fp,
            roc_auc(&scores, &plain_scores),
            0,
        ));
        rows.push(row(
            tunnel::ID,
            &corpus,
            "replay",
            names.len(),
            plain.len(),
            replay_flagged,
            plain_fp,
            None,
            0,
        ));
    }
    Ok(rows)
}

/// Computes the encoding score of a whole query name's subdomain.
pub fn name_tunnel_score(original: &str) -> f64 {
    let lower = original.to_ascii_lowercase();
    match split_name(&lower) {
        Some(parts) => {
            let original = (original != lower).then_some(original);
            tunnel::subdomain_score(parts.subdomain, original)
        }
        None => 0.0,
    }
}

/// Replays names through `dns.tunnel` as TXT-less A queries; returns, per
/// name, whether its (client, registered domain) key raised an alert.
pub fn replay_tunnel(names: &[LabelledName], client: IpAddr, spacing_ms: i64) -> Vec<bool> {
    let mut detector =
        TunnelDetector::new(TunnelConfig::default(), Arc::new(Allowlist::new(true, &[])));
    let mut alerts = Vec::new();
    let mut registered = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let lower = name.original.to_ascii_lowercase();
        registered.push(split_name(&lower).map(|p| p.registered.to_owned()));
        let mut event = dns(
            at(i as i64 * spacing_ms * 1_000_000),
            client,
            &lower,
            ResponseCode::NOERROR,
        );
        if let Event::Dns(dns) = &mut event
            && name.original != lower
        {
            dns.query_name_original = Some(name.original.clone());
        }
        detector.observe(&event, &[], &mut alerts);
    }
    detector.finish(&mut alerts);
    let flagged: HashSet<String> = alerts
        .iter()
        .filter_map(|a| {
            a.details
                .get("registered_domain")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .collect();
    registered
        .iter()
        .map(|r| r.as_ref().is_some_and(|r| flagged.contains(r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_separated_and_tied_scores() {
        assert_eq!(roc_auc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(roc_auc(&[0.5], &[0.5]), Some(0.5));
        assert_eq!(roc_auc(&[], &[0.5]), None);
    }

    #[test]
    fn names_no_message_can_carry() {
        for name in ["exaor.com.bn", "a.b", &"x".repeat(63)] {
            assert!(is_dns_name(name), "{name}");
        }
        let long_label = format!("{}.com", "x".repeat(64));
        let long_name = ["abcdefghi"; 26].join(".");
        for name in ["", "exaor..com.bn", ".com", "com.", &long_label, &long_name] {
            assert!(!is_dns_name(name), "{name}");
        }
        assert_eq!(long_name.len(), 259);
    }

    #[test]
    fn held_out_names_leave_out_invalid_ones() {
        let dir = std::env::temp_dir().join(format!("picket-eval-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("family_domains.txt");
        // The hash of each valid label decides its split. The two invalid
        // names are counted whatever their labels.
        let valid: Vec<String> = (0..40).map(|i| format!("q{i}x.com")).collect();
        let text = format!("{}\nexaor..com.bn\n.bad.org\n", valid.join("\n"));
        std::fs::write(&path, text).unwrap();

        let (held, invalid) = held_out_names(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        assert_eq!(invalid, 2);
        let expected: Vec<&String> = valid
            .iter()
            .filter(|n| split_name(n).is_some_and(|p| held_out(p.label)))
            .collect();
        assert!(!expected.is_empty());
        assert!(expected.len() < valid.len());
        assert_eq!(held.iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn family_names() {
        assert_eq!(family_of("banjori_example_domains"), "banjori");
        assert_eq!(family_of("dmsniff_domains_al"), "dmsniff_al");
        assert!(is_dictionary_family("suppobox1"));
    }
}
