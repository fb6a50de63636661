//! The lexical model behind `dns.dga`: how much a registered label looks like
//! the names people choose.
//!
//! Two parts, both in one text file (`data/dga-model.txt`):
//!
//! - a character trigram model counted over popular registered labels, smoothed
//!   by fixed-weight interpolation with the bigram, unigram and uniform models;
//! - a logistic regression over [`FEATURE_NAMES`] (the trigram log-likelihood,
//!   entropy, consonant runs, digit mix, length and more), trained against
//!   generated random names, with the cut shifted so that a score of 0.5 sits at
//!   the false-positive rate chosen at training time.
//!
//! `cargo run -p xtask -- train-dga` rebuilds the file from the benign lists in
//! `data/dga/`. The file format, line by line:
//!
//! ```text
//! # comment lines
//! version 1
//! mean <f64 per feature>
//! scale <f64 per feature>
//! weights <bias> <f64 per feature>
//! cut <f64>
//! trigram <three symbols> <count>     (one line per trigram seen)
//! ```
//!
//! Symbols are `a-z`, `0-9`, `-`, `^` for the label boundary and `_` for
//! any other byte.

use std::fmt::Write as _;

use crate::dns::name::CharStats;

/// Symbols of the trigram alphabet: boundary, 26 letters, 10 digits, hyphen,
/// other.
pub const SYMBOLS: usize = 39;
const BOUNDARY: u8 = 0;
const OTHER: u8 = 38;
const TABLE: usize = SYMBOLS * SYMBOLS * SYMBOLS;

/// Interpolation weights of the trigram, bigram, unigram and uniform models.
const LAMBDA: [f64; 4] = [0.55, 0.30, 0.12, 0.03];

/// Probability under which a transition counts as rare (feature `rare`).
const RARE: f64 = 0.002;

/// Names of the model's features, in order.
pub const FEATURE_NAMES: [&str; 14] = [
    "ngram_mean_log2",
    "ngram_llr_vs_uniform",
    "rare_transitions",
    "length",
    "ln_length",
    "entropy",
    "max_consonant_run",
    "digit_ratio",
    "vowel_ratio",
    "digit_letter_switches",
    "long_hex",
    "hyphens",
    "unseen_bigrams",
    "all_digits",
];

/// Number of features.
pub const FEATURES: usize = FEATURE_NAMES.len();

/// An error in a model file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A line the format does not allow.
    #[error("model line {line}: {reason}: {text:?}")]
    BadLine {
        /// Line number, from 1.
        line: usize,
        /// The problem found.
        reason: &'static str,
        /// The line, cut to 80 characters.
        text: String,
    },
    /// A required line is absent.
    #[error("model file lacks its {0:?} line")]
    Missing(&'static str),
}

/// Maps a byte to its trigram symbol.
pub fn symbol(byte: u8) -> u8 {
    match byte {
        b'a'..=b'z' => byte - b'a' + 1,
        b'A'..=b'Z' => byte - b'A' + 1,
        b'0'..=b'9' => byte - b'0' + 27,
        b'-' => 37,
        _ => OTHER,
    }
}

fn symbol_char(symbol: u8) -> char {
    match symbol {
        BOUNDARY => '^',
        1..=26 => char::from(b'a' + symbol - 1),
        27..=36 => char::from(b'0' + symbol - 27),
        37 => '-',
        _ => '_',
    }
}

fn char_symbol(c: char) -> Option<u8> {
    match c {
        '^' => Some(BOUNDARY),
        '_' => Some(OTHER),
        'a'..='z' | '0'..='9' | '-' => u8::try_from(u32::from(c)).ok().map(symbol),
        _ => None,
    }
}

fn index(a: u8, b: u8, c: u8) -> usize {
    (usize::from(a) * SYMBOLS + usize::from(b)) * SYMBOLS + usize::from(c)
}

/// Calls `visit(a, b, c)` for every trigram of `label` padded with two
/// boundary symbols in front and one behind.
pub fn for_each_trigram(label: &str, mut visit: impl FnMut(u8, u8, u8)) {
    let (mut a, mut b) = (BOUNDARY, BOUNDARY);
    for &byte in label.as_bytes() {
        let c = symbol(byte);
        visit(a, b, c);
        a = b;
        b = c;
    }
    visit(a, b, BOUNDARY);
}

/// Trigram counts, from which smoothed probabilities are computed.
#[derive(Clone, Debug)]
pub struct TrigramCounts {
    trigram: Vec<u32>,
    /// Counts of (a, b, any).
    context2: Vec<u32>,
    /// Counts of (b, c) over every a.
    bigram: Vec<u32>,
    /// Counts of (b, any).
    context1: Vec<u32>,
    unigram: Vec<u32>,
    total: u64,
}

impl Default for TrigramCounts {
    fn default() -> Self {
        TrigramCounts {
            trigram: vec![0; TABLE],
            context2: vec![0; SYMBOLS * SYMBOLS],
            bigram: vec![0; SYMBOLS * SYMBOLS],
            context1: vec![0; SYMBOLS],
            unigram: vec![0; SYMBOLS],
            total: 0,
        }
    }
}

impl TrigramCounts {
    /// Adds one trigram `times` times.
    pub fn add(&mut self, a: u8, b: u8, c: u8, times: u32) {
        let (ia, ib, ic) = (usize::from(a), usize::from(b), usize::from(c));
        self.trigram[index(a, b, c)] += times;
        self.context2[ia * SYMBOLS + ib] += times;
        self.bigram[ib * SYMBOLS + ic] += times;
        self.context1[ib] += times;
        self.unigram[ic] += times;
        self.total += u64::from(times);
    }

    /// Adds every trigram of a label.
    pub fn add_label(&mut self, label: &str) {
        for_each_trigram(label, |a, b, c| self.add(a, b, c, 1));
    }

    /// Removes every trigram of a label that was added before (for
    /// leave-one-out features at training time).
    pub fn remove_label(&mut self, label: &str) {
        for_each_trigram(label, |a, b, c| {
            let (ia, ib, ic) = (usize::from(a), usize::from(b), usize::from(c));
            let i = index(a, b, c);
            if self.trigram[i] == 0 {
                return;
            }
            self.trigram[i] -= 1;
            self.context2[ia * SYMBOLS + ib] -= 1;
            self.bigram[ib * SYMBOLS + ic] -= 1;
            self.context1[ib] -= 1;
            self.unigram[ic] -= 1;
            self.total -= 1;
        });
    }

    /// Smoothed probability of `c` after `a b`.
    pub fn probability(&self, a: u8, b: u8, c: u8) -> f64 {
        let (ia, ib, ic) = (usize::from(a), usize::from(b), usize::from(c));
        let p3 = share(
            self.trigram[index(a, b, c)],
            self.context2[ia * SYMBOLS + ib],
        );
        let p2 = share(self.bigram[ib * SYMBOLS + ic], self.context1[ib]);
        let p1 = if self.total == 0 {
            0.0
        } else {
            f64::from(self.unigram[ic]) / self.total as f64
        };
        LAMBDA[0] * p3 + LAMBDA[1] * p2 + LAMBDA[2] * p1 + LAMBDA[3] / SYMBOLS as f64
    }

    /// True when the bigram `b c` was never seen.
    pub fn bigram_unseen(&self, b: u8, c: u8) -> bool {
        self.bigram[usize::from(b) * SYMBOLS + usize::from(c)] == 0
    }

    /// Computes the features of a label under these counts.
    pub fn features(&self, label: &str) -> [f64; FEATURES] {
        features(
            label,
            |a, b, c| self.probability(a, b, c).log2(),
            |b, c| self.bigram_unseen(b, c),
        )
    }

    /// Writes the trigram lines of the model file.
    pub fn write_lines(&self, out: &mut String) {
        for a in 0..SYMBOLS as u8 {
            for b in 0..SYMBOLS as u8 {
                for c in 0..SYMBOLS as u8 {
                    let count = self.trigram[index(a, b, c)];
                    if count > 0 {
                        let _ = writeln!(
                            out,
                            "trigram {}{}{} {count}",
                            symbol_char(a),
                            symbol_char(b),
                            symbol_char(c)
                        );
                    }
                }
            }
        }
    }
}

fn share(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        f64::from(part) / f64::from(whole)
    }
}

/// Computes the features of `label` given a log2-probability function and an
/// unseen-bigram test; shared by training and scoring so both agree.
fn features(
    label: &str,
    log2p: impl Fn(u8, u8, u8) -> f64,
    unseen: impl Fn(u8, u8) -> bool,
) -> [f64; FEATURES] {
    let mut sum = 0.0;
    let mut transitions = 0usize;
    let mut rare = 0usize;
    let mut unseen_bigrams = 0usize;
    let rare_log2 = RARE.log2();
    for_each_trigram(label, |a, b, c| {
        let lp = log2p(a, b, c);
        sum += lp;
        transitions += 1;
        if lp < rare_log2 {
            rare += 1;
        }
        if b != BOUNDARY && c != BOUNDARY && unseen(b, c) {
            unseen_bigrams += 1;
        }
    });

    let stats = CharStats::of(label);
    let n = transitions.max(1) as f64;
    let len = stats.len as f64;
    let uniform_log2 = (1.0 / 37.0f64).log2();
    [
        sum / n,
        sum - n * uniform_log2,
        rare as f64 / n,
        len,
        (len + 1.0).ln(),
        stats.entropy,
        stats.max_consonant_run as f64,
        stats.digit_ratio(),
        stats.vowel_ratio(),
        stats.digit_letter_switches as f64,
        f64::from(u8::from(stats.hex_only && stats.len >= 8)),
        stats.hyphens as f64,
        unseen_bigrams as f64 / (stats.len.saturating_sub(1).max(1)) as f64,
        f64::from(u8::from(stats.len > 0 && stats.digits == stats.len)),
    ]
}

/// True for registered domains of the held-out evaluation split: one in five,
/// chosen by a hash of the name so that training and evaluation agree without
/// a stored list. `train-dga` never trains on these; `picket eval dns`
/// measures false positives on them only.
pub fn held_out(registered: &str) -> bool {
    // FNV-1a, 64 bit: stable across platforms and releases.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in registered.as_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash.is_multiple_of(5)
}

/// The trained lexical model, immutable and cheap to share.
#[derive(Clone, Debug)]
pub struct DgaModel {
    log2p: Vec<f32>,
    unseen: Vec<bool>,
    mean: [f64; FEATURES],
    scale: [f64; FEATURES],
    weights: [f64; FEATURES],
    bias: f64,
    cut: f64,
}

/// One lexical verdict, with what it rests on.
#[derive(Clone, Debug, PartialEq)]
pub struct LexicalScore {
    /// Score in [0, 1]; 0.5 is the model's calibrated cut.
    pub score: f64,
    /// The raw features, in [`FEATURE_NAMES`] order.
    pub features: [f64; FEATURES],
}

/// The model shipped with picket.
const SHIPPED: &str = include_str!("../../data/dga-model.txt");

impl DgaModel {
    /// Returns the model shipped in `data/dga-model.txt`, parsed once.
    pub fn shipped() -> &'static DgaModel {
        static MODEL: std::sync::OnceLock<DgaModel> = std::sync::OnceLock::new();
        MODEL.get_or_init(|| match DgaModel::parse(SHIPPED) {
            Ok(model) => model,
            // The shipped file is checked by the `shipped_model_parses` test;
            // an empty model scores every name 0.5 - cut, never panics.
            Err(error) => {
                tracing::error!(%error, "the shipped DGA model does not parse");
                DgaModel::from_parts(
                    &TrigramCounts::default(),
                    [0.0; FEATURES],
                    [1.0; FEATURES],
                    0.0,
                    [0.0; FEATURES],
                    f64::INFINITY,
                )
            }
        })
    }

    /// Builds a model from counts and regression parameters.
    pub fn from_parts(
        counts: &TrigramCounts,
        mean: [f64; FEATURES],
        scale: [f64; FEATURES],
        bias: f64,
        weights: [f64; FEATURES],
        cut: f64,
    ) -> Self {
        let mut log2p = vec![0f32; TABLE];
        for a in 0..SYMBOLS as u8 {
            for b in 0..SYMBOLS as u8 {
                for c in 0..SYMBOLS as u8 {
                    log2p[index(a, b, c)] = counts.probability(a, b, c).log2() as f32;
                }
            }
        }
        let mut unseen = vec![false; SYMBOLS * SYMBOLS];
        for b in 0..SYMBOLS as u8 {
            for c in 0..SYMBOLS as u8 {
                unseen[usize::from(b) * SYMBOLS + usize::from(c)] = counts.bigram_unseen(b, c);
            }
        }
        DgaModel {
            log2p,
            unseen,
            mean,
            scale,
            weights,
            bias,
            cut,
        }
    }

    /// Parses a model file.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let mut counts = TrigramCounts::default();
        let mut mean = None;
        let mut scale = None;
        let mut weights = None;
        let mut cut = None;
        let mut version = false;

        for (number, line) in text.lines().enumerate() {
            let line_no = number + 1;
            let bad = |reason| ModelError::BadLine {
                line: line_no,
                reason,
                text: line.chars().take(80).collect(),
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_ascii_whitespace();
            let key = words.next().unwrap_or_default();
            match key {
                "version" => {
                    if words.next() != Some("1") {
                        return Err(bad("unsupported version"));
                    }
                    version = true;
                }
                "mean" => {
                    mean = Some(
                        parse_array(words).ok_or_else(|| bad("expected one number per feature"))?,
                    )
                }
                "scale" => {
                    scale = Some(
                        parse_array(words).ok_or_else(|| bad("expected one number per feature"))?,
                    )
                }
                "weights" => {
                    let values: Vec<f64> = words
                        .map(str::parse)
                        .collect::<Result<_, _>>()
                        .map_err(|_| bad("not a number"))?;
                    if values.len() != FEATURES + 1 {
                        return Err(bad("expected a bias and one weight per feature"));
                    }
                    let mut w = [0.0; FEATURES];
                    w.copy_from_slice(&values[1..]);
                    weights = Some((values[0], w));
                }
                "cut" => {
                    cut = Some(
                        words
                            .next()
                            .and_then(|v| v.parse::<f64>().ok())
                            .ok_or_else(|| bad("expected a number"))?,
                    );
                }
                "trigram" => {
                    let gram = words.next().ok_or_else(|| bad("expected three symbols"))?;
                    let symbols: Vec<u8> = gram.chars().filter_map(char_symbol).collect();
                    if symbols.len() != 3 || gram.chars().count() != 3 {
                        return Err(bad("expected three symbols"));
                    }
                    let count: u32 = words
                        .next()
                        .and_then(|v| v.parse().ok())
                        .ok_or_else(|| bad("expected a count"))?;
                    counts.add(symbols[0], symbols[1], symbols[2], count);
                }
                _ => return Err(bad("unknown key")),
            }
        }

        if !version {
            return Err(ModelError::Missing("version"));
        }
        let mean = mean.ok_or(ModelError::Missing("mean"))?;
        let scale = scale.ok_or(ModelError::Missing("scale"))?;
        let (bias, weights) = weights.ok_or(ModelError::Missing("weights"))?;
        let cut = cut.ok_or(ModelError::Missing("cut"))?;
        Ok(DgaModel::from_parts(
            &counts, mean, scale, bias, weights, cut,
        ))
    }

    /// Computes the features of a registered label.
    pub fn features(&self, label: &str) -> [f64; FEATURES] {
        features(
            label,
            |a, b, c| f64::from(self.log2p[index(a, b, c)]),
            |b, c| self.unseen[usize::from(b) * SYMBOLS + usize::from(c)],
        )
    }

    /// Computes the regression's logit for given features, before the cut.
    pub fn logit(&self, features: &[f64; FEATURES]) -> f64 {
        let mut z = self.bias;
        for (i, value) in features.iter().enumerate() {
            let scale = if self.scale[i] > 0.0 {
                self.scale[i]
            } else {
                1.0
            };
            z += self.weights[i] * (value - self.mean[i]) / scale;
        }
        z
    }

    /// Scores a registered label (the label under the public suffix, lower
    /// case): 0.5 at the calibrated cut, towards 1 for random-looking labels.
    pub fn score(&self, label: &str) -> LexicalScore {
        let features = self.features(label);
        let z = self.logit(&features) - self.cut;
        LexicalScore {
            score: 1.0 / (1.0 + (-z).exp()),
            features,
        }
    }
}

fn parse_array<'a>(words: impl Iterator<Item = &'a str>) -> Option<[f64; FEATURES]> {
    let values: Vec<f64> = words.map(str::parse).collect::<Result<_, _>>().ok()?;
    let mut out = [0.0; FEATURES];
    if values.len() != FEATURES {
        return None;
    }
    out.copy_from_slice(&values);
    Some(out)
}

/// Writes a whole model file.
pub fn write_model(
    counts: &TrigramCounts,
    mean: &[f64; FEATURES],
    scale: &[f64; FEATURES],
    bias: f64,
    weights: &[f64; FEATURES],
    cut: f64,
    header: &str,
) -> String {
    let join = |values: &[f64]| {
        values
            .iter()
            .map(|v| format!("{v:.6}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    let _ = writeln!(out, "# features: {}", FEATURE_NAMES.join(" "));
    let _ = writeln!(out, "version 1");
    let _ = writeln!(out, "mean {}", join(mean));
    let _ = writeln!(out, "scale {}", join(scale));
    let _ = writeln!(out, "weights {bias:.6} {}", join(weights));
    let _ = writeln!(out, "cut {cut:.6}");
    counts.write_lines(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_model_parses() {
        DgaModel::parse(SHIPPED).unwrap();
    }

    #[test]
    fn written_model_reads_back() {
        let mut counts = TrigramCounts::default();
        counts.add_label("google");
        counts.add_label("wikipedia");
        let text = write_model(
            &counts,
            &[0.5; FEATURES],
            &[2.0; FEATURES],
            0.1,
            &[1.0; FEATURES],
            0.3,
            "test",
        );
        let model = DgaModel::parse(&text).unwrap();
        let direct = DgaModel::from_parts(
            &counts,
            [0.5; FEATURES],
            [2.0; FEATURES],
            0.1,
            [1.0; FEATURES],
            0.3,
        );
        let a = model.score("googlepedia");
        let b = direct.score("googlepedia");
        assert!((a.score - b.score).abs() < 1e-4);
    }

    #[test]
    fn leave_one_out_removes_a_label() {
        let mut counts = TrigramCounts::default();
        counts.add_label("abc");
        let before = counts.probability(0, 0, 1);
        counts.add_label("xyz");
        counts.remove_label("xyz");
        assert!((counts.probability(0, 0, 1) - before).abs() < 1e-12);
    }

    #[test]
    fn bad_model_lines_are_reported() {
        let err = DgaModel::parse("version 1\ntrigram ab 3\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(matches!(
            DgaModel::parse("mean 1\n"),
            Err(ModelError::BadLine { .. })
        ));
        assert!(matches!(
            DgaModel::parse("version 1\n"),
            Err(ModelError::Missing("mean"))
        ));
    }
}
