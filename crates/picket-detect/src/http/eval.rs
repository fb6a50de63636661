//! Evaluation of the HTTP detectors on labelled fixture logs.
//!
//! A manifest lists, one case per line, a fixture file, a detector id (or
//! `*` for every HTTP detector) and the expected number of alerts, exact
//! (`=1`) or a floor (`>=1`):
//!
//! ```text
//! # file                    detector             expected
//! drive-by-full.w3c.log     http.drive_by_chain  =1
//! clean-browsing.w3c.log    *                    =0
//! ```
//!
//! Reading the fixtures is the caller's part (the readers live in another
//! crate), so [`evaluate`] takes a function from a path to its events.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use picket_event::{Alert, Event};

use super::{HttpConfig, detectors};

/// How many alerts a case expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Exactly this many.
    Exactly(usize),
    /// At least this many.
    AtLeast(usize),
}

impl Expected {
    fn accepts(self, count: usize) -> bool {
        match self {
            Expected::Exactly(n) => count == n,
            Expected::AtLeast(n) => count >= n,
        }
    }

    /// True when the case expects alerts (a positive case).
    pub fn is_positive(self) -> bool {
        match self {
            Expected::Exactly(n) | Expected::AtLeast(n) => n > 0,
        }
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Exactly(n) => write!(f, "={n}"),
            Expected::AtLeast(n) => write!(f, ">={n}"),
        }
    }
}

/// One labelled case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The fixture, relative to the manifest.
    pub file: PathBuf,
    /// The detector id, or `*` for every HTTP detector.
    pub detector: String,
    /// The expected alert count.
    pub expected: Expected,
    /// Line of the manifest, for messages.
    pub line: usize,
}

/// A manifest line that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("manifest line {line}: {reason}: {text:?}")]
pub struct ManifestError {
    /// Line number, from 1.
    pub line: usize,
    /// The line.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Parses a manifest; `#` starts a comment.
pub fn parse_manifest(text: &str) -> Result<Vec<Case>, ManifestError> {
    let mut cases = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let error = |reason| ManifestError {
            line: index + 1,
            text: raw.to_owned(),
            reason,
        };
        let columns: Vec<&str> = line.split_whitespace().collect();
        let [file, detector, expected] = columns[..] else {
            return Err(error("expected three columns: file, detector, count"));
        };
        let expected = if let Some(n) = expected.strip_prefix(">=") {
            Expected::AtLeast(n.parse().map_err(|_| error("invalid count"))?)
        } else if let Some(n) = expected.strip_prefix('=') {
            Expected::Exactly(n.parse().map_err(|_| error("invalid count"))?)
        } else {
            return Err(error("the count must start with = or >="));
        };
        cases.push(Case {
            file: PathBuf::from(file),
            detector: detector.to_owned(),
            expected,
            line: index + 1,
        });
    }
    Ok(cases)
}

/// The outcome of one case for one detector.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The case.
    pub case: Case,
    /// The detector checked (the case's, or each one for `*`).
    pub detector: String,
    /// Alerts it raised on the fixture.
    pub alerts: usize,
    /// True when the count is as expected.
    pub passed: bool,
}

/// Hits and misses of one detector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Positive cases that alerted as expected.
    pub hits: usize,
    /// Positive cases that did not.
    pub misses: usize,
    /// Negative cases that stayed silent.
    pub true_negatives: usize,
    /// Negative cases that alerted.
    pub false_alarms: usize,
}

/// Runs every HTTP detector (default settings) over a fixture's events.
pub fn run_detectors(events: &[Event]) -> Vec<Alert> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| e.timestamp());
    let mut all = detectors(&HttpConfig::default());
    let mut alerts = Vec::new();
    for event in sorted {
        for detector in &mut all {
            detector.observe(event, &[], &mut alerts);
        }
    }
    for detector in &mut all {
        detector.finish(&mut alerts);
    }
    alerts
}

/// Evaluates the cases; `read` returns a fixture's events.
pub fn evaluate<E>(
    cases: &[Case],
    base: &Path,
    mut read: impl FnMut(&Path) -> Result<Vec<Event>, E>,
) -> Result<(Vec<Outcome>, BTreeMap<String, Tally>), E> {
    let ids: Vec<&'static str> = detectors(&HttpConfig::default())
        .iter()
        .map(|d| d.id())
        .collect();
    let mut cache: BTreeMap<PathBuf, Vec<Alert>> = BTreeMap::new();
    let mut outcomes = Vec::new();
    let mut tallies: BTreeMap<String, Tally> = ids
        .iter()
        .map(|id| ((*id).to_owned(), Tally::default()))
        .collect();

    for case in cases {
        if !cache.contains_key(&case.file) {
            let events = read(&base.join(&case.file))?;
            cache.insert(case.file.clone(), run_detectors(&events));
        }
        let alerts = &cache[&case.file];
        let targets: Vec<&str> = if case.detector == "*" {
            ids.clone()
        } else {
            vec![case.detector.as_str()]
        };
        for detector in targets {
            let count = alerts.iter().filter(|a| a.detector == detector).count();
            let passed = case.expected.accepts(count);
            let tally = tallies.entry(detector.to_owned()).or_default();
            match (case.expected.is_positive(), passed) {
                (true, true) => tally.hits += 1,
                (true, false) => tally.misses += 1,
                (false, true) => tally.true_negatives += 1,
                (false, false) => tally.false_alarms += 1,
            }
            outcomes.push(Outcome {
                case: case.clone(),
                detector: detector.to_owned(),
                alerts: count,
                passed,
            });
        }
    }
    Ok((outcomes, tallies))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_counts() {
        let cases =
            parse_manifest("# comment\na.log http.beacon =1\n\nb.log * >=0 # trailing\n").unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].expected, Expected::Exactly(1));
        assert_eq!(cases[1].expected, Expected::AtLeast(0));
        assert_eq!(cases[1].line, 4);
    }

    #[test]
    fn manifest_rejects_bad_lines() {
        assert!(parse_manifest("a.log http.beacon\n").is_err());
        assert!(parse_manifest("a.log http.beacon 1\n").is_err());
        assert!(parse_manifest("a.log http.beacon =x\n").is_err());
    }
}
