//! The lexical model behind `dns.dga`: how much a registered label looks like
//! the names people choose.
//!
//! Two parts, both in one text file (`data/dga-model.txt`):
//!
//! - a character trigram model counted over popular registered labels, smoothed
//!   by fixed-weight interpolation with the bigram, unigram and uniform models;
//! - a logistic regression over [`FEATURE_NAMES`] (the trigram log-likelihood,
//!   entropy, consonant runs, digit mix, length and more) plus the hashed
//!   features of [`for_each_hashed`] (character 1- to 5-grams of `^label$`,
//!   the public suffix, the suffix with the label's length, the label's
//!   shape, and its length with its digit and run counts, its trigram
//!   log-likelihood and its share of rare transitions). It is trained on
//!   popular names against DGA names and generated random names. The cut is
//!   shifted so that a score of 0.5 sits at the false-positive rate chosen at
//!   training time.
//!
//! `cargo run -p xtask -- train-dga` rebuilds the file from the benign lists in
//! `data/dga/` and the DGA family lists of the corpus. The file format, line
//! by line:
//!
//! ```text
//! # comment lines
//! version 3
//! mean <f64 per feature>
//! scale <f64 per feature>
//! weights <bias> <f64 per feature>
//! cut <f64>
//! bits <log2 of the hashed table's size, 1 to 24>
//! h <bucket, hex> <weight>            (one line per non-zero bucket)
//! trigram <three symbols> <count>     (one line per trigram seen)
//! ```
//!
//! Trigram symbols are `a-z`, `0-9`, `-`, `^` for the label boundary and `_`
//! for any other byte.

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

/// Index of `ngram_mean_log2` in [`FEATURE_NAMES`].
const NGRAM_MEAN_LOG2: usize = 0;

/// Index of `rare_transitions` in [`FEATURE_NAMES`].
const RARE_TRANSITIONS: usize = 2;

/// Version of the model file that [`DgaModel::parse`] reads. It names the
/// feature set, because a file trained on other hashed features would score
/// wrong, so [`DgaModel::parse`] rejects any other version.
const FILE_VERSION: &str = "3";

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

/// Share of labels in the held-out evaluation split, in tenths.
const HELD_OUT_TENTHS: u64 = 3;

/// Tells whether a label belongs to the held-out evaluation split: three in
/// ten, chosen by a hash of the registered label (the name under the public
/// suffix). Training and evaluation so agree without a stored list, and one
/// label under several suffixes (`google.com`, `google.de`) falls on one
/// side. `train-dga` never trains on these, popular or DGA; `picket eval
/// dns` measures on them only.
pub fn held_out(label: &str) -> bool {
    fnv1a(label.as_bytes()) % 10 < HELD_OUT_TENTHS
}

/// FNV-1a, 64 bit: stable across platforms and releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Maximum n-gram length of the hashed features, in bytes (boundary marks
/// included).
pub const MAX_NGRAM: usize = 5;

/// Maximum label length the n-gram features read. Longer labels, which
/// exceed DNS's 63-byte limit, are cut there.
const MAX_LABEL: usize = 64;

/// Kinds of hashed feature, mixed into the hash so they never share a key.
const KIND_NGRAM: u64 = 1;
const KIND_SUFFIX: u64 = 2;
const KIND_SUFFIX_LENGTH: u64 = 3;
const KIND_SHAPE: u64 = 4;
const KIND_LENGTH_DIGITS: u64 = 5;
const KIND_LENGTH_LIKELIHOOD: u64 = 6;
const KIND_LENGTH_RARE: u64 = 7;

/// Maximum run length, in bytes of one character class, that a label's
/// shape distinguishes. Longer runs count as this long.
const MAX_SHAPE_RUN: usize = 4;

/// A hashed feature of a label, before it is reduced to a table bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hashed {
    /// The 64-bit key; [`bucket`] maps it into a table of `2^bits`.
    pub key: u64,
    /// The feature's value.
    pub value: f32,
    /// The part of the label the feature describes.
    pub part: Part,
}

/// The part of a label a hashed feature describes. Spans are (start,
/// length) in the marked label `^label$`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// A character n-gram.
    Ngram(u8, u8),
    /// The suffix, or the suffix with the label's length.
    Suffix,
    /// The label's shape: its runs of letters, digits and other bytes.
    Shape,
    /// The label's length with one of its statistics, by name.
    Profile(&'static str),
}

/// Maps a hashed key into a table of `2^bits` buckets.
pub fn bucket(key: u64, bits: u32) -> usize {
    // Multiplicative mixing, then the top bits: FNV's low bits are weak.
    let mixed = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    usize::try_from(mixed >> (64 - bits.clamp(1, 32))).unwrap_or(0)
}

/// Writes `^label$` (lower case, cut to [`MAX_LABEL`] bytes) into `buffer`
/// and returns its length.
fn marked(label: &str, buffer: &mut [u8; MAX_LABEL + 2]) -> usize {
    let bytes = label.as_bytes();
    let len = bytes.len().min(MAX_LABEL);
    buffer[0] = b'^';
    for (slot, byte) in buffer[1..=len].iter_mut().zip(bytes) {
        *slot = byte.to_ascii_lowercase();
    }
    buffer[len + 1] = b'$';
    len + 2
}

/// Calls `visit` for every hashed feature of a registered label under its
/// public suffix. Training and scoring share it, so both agree.
///
/// - each character n-gram of `^label$` of 1 to [`MAX_NGRAM`] bytes (the
///   marks alone excluded), valued `1/sqrt(n-grams)` so that long and short
///   labels weigh alike;
/// - the label's shape, and its length with its digit and run counts and
///   with two of its dense features `dense` (in [`FEATURE_NAMES`] order),
///   from `for_each_profile`;
/// - the suffix, and the suffix with the label's length (up to 12).
pub fn for_each_hashed(
    label: &str,
    suffix: &str,
    dense: &[f64; FEATURES],
    mut visit: impl FnMut(Hashed),
) {
    let mut buffer = [0u8; MAX_LABEL + 2];
    let len = marked(label, &mut buffer);
    let text = &buffer[..len];

    let mut grams = 0usize;
    for start in 0..len {
        grams += (len - start).min(MAX_NGRAM);
    }
    // "^" and "$" alone carry nothing.
    grams = grams.saturating_sub(2).max(1);
    let value = (1.0 / (grams as f64).sqrt()) as f32;

    for start in 0..len {
        let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ KIND_NGRAM;
        let window = &text[start..len.min(start + MAX_NGRAM)];
        for (offset, &byte) in window.iter().enumerate() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
            if offset == 0 && (start == 0 || start == len - 1) {
                continue;
            }
            visit(Hashed {
                key: hash,
                value,
                // Both fit: len <= 66, n-grams <= 5.
                part: Part::Ngram(start as u8, (offset + 1) as u8),
            });
        }
    }

    for_each_profile(&text[1..len - 1], dense, &mut visit);

    let suffix_key = fnv1a(suffix.as_bytes()) ^ KIND_SUFFIX.wrapping_mul(0x1000_0000_01b3);
    visit(Hashed {
        key: suffix_key,
        value: 1.0,
        part: Part::Suffix,
    });
    let length = (len - 2).min(12) as u64;
    visit(Hashed {
        key: suffix_key ^ (KIND_SUFFIX_LENGTH << 56) ^ (length << 48),
        value: 1.0,
        part: Part::Suffix,
    });
}

/// Returns the character class of a byte in a label's shape: `a` for letters, `0`
/// for digits, `-` for the hyphen, `_` for anything else.
fn shape_class(byte: u8) -> u8 {
    match byte {
        b'a'..=b'z' | b'A'..=b'Z' => b'a',
        b'0'..=b'9' => b'0',
        b'-' => b'-',
        _ => b'_',
    }
}

/// Iterates over a label's runs of one [`shape_class`], as the class and
/// the run's length in bytes (at most [`MAX_SHAPE_RUN`]).
fn shape_runs(label: &[u8]) -> impl Iterator<Item = (u8, usize)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        let class = shape_class(*label.get(start)?);
        let run = label[start..]
            .iter()
            .take_while(|&&b| shape_class(b) == class)
            .count();
        start += run;
        Some((class, run.min(MAX_SHAPE_RUN)))
    })
}

/// Writes a label's shape: each run of one [`shape_class`], repeated up to
/// [`MAX_SHAPE_RUN`] times (`t2q2r` is `a0a0a`, `google` is `aaaa`).
fn shape_text(label: &[u8]) -> String {
    let mut out = String::new();
    for (class, run) in shape_runs(label) {
        out.extend(std::iter::repeat_n(char::from(class), run));
    }
    out
}

/// Mixes a 64-bit value into an FNV-1a hash.
fn mix(hash: u64, value: u64) -> u64 {
    (hash ^ value).wrapping_mul(0x0100_0000_01b3)
}

/// Calls `visit` for the features that tie a label's length to its make-up,
/// each valued 1:
///
/// - its shape ([`shape_text`]), which sets short labels that mix letters
///   and digits at random places apart from names like `4chan` or `web3`;
/// - its length (up to 24) with its digit count (up to 8) and run count
///   (up to 8);
/// - its length (up to 20) with `ngram_mean_log2` in steps of 1/4 bit, and
///   with `rare_transitions` in steps of 0.1. How unlikely a label is under
///   the popular names' trigrams means more the longer it is, and a linear
///   weight on the raw value cannot express that.
///
/// `label` is cut to [`MAX_LABEL`] bytes and lower-cased, as [`marked`]
/// writes it.
fn for_each_profile(label: &[u8], dense: &[f64; FEATURES], visit: &mut impl FnMut(Hashed)) {
    let mut shape = 0xcbf2_9ce4_8422_2325u64 ^ KIND_SHAPE;
    let mut runs = 0u64;
    for (class, run) in shape_runs(label) {
        shape = mix(mix(shape, u64::from(class)), run as u64);
        runs += 1;
    }
    visit(Hashed {
        key: shape,
        value: 1.0,
        part: Part::Shape,
    });

    let len = label.len() as u64;
    let digits = label.iter().filter(|b| b.is_ascii_digit()).count() as u64;
    let key = mix(
        mix(mix(KIND_LENGTH_DIGITS, len.min(24)), digits.min(8)),
        runs.min(8),
    );
    visit(Hashed {
        key: key ^ (KIND_LENGTH_DIGITS << 56),
        value: 1.0,
        part: Part::Profile("length_digits_runs"),
    });

    // `clamp` bounds both bins, and a NaN feature casts to bin 0.
    let likelihood = (dense[NGRAM_MEAN_LOG2] * 4.0).clamp(-48.0, 0.0) as i64;
    let key = mix(
        mix(KIND_LENGTH_LIKELIHOOD, len.min(20)),
        likelihood.unsigned_abs(),
    );
    visit(Hashed {
        key: key ^ (KIND_LENGTH_LIKELIHOOD << 56),
        value: 1.0,
        part: Part::Profile("length_ngram_mean_log2"),
    });
    let rare = (dense[RARE_TRANSITIONS] * 10.0).clamp(0.0, 10.0) as u64;
    let key = mix(mix(KIND_LENGTH_RARE, len.min(20)), rare);
    visit(Hashed {
        key: key ^ (KIND_LENGTH_RARE << 56),
        value: 1.0,
        part: Part::Profile("length_rare_transitions"),
    });
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
    bits: u32,
    /// Weight per hashed bucket, `2^bits` entries.
    hashed: Vec<f32>,
}

/// One lexical verdict, with what it rests on.
#[derive(Clone, Debug, PartialEq)]
pub struct LexicalScore {
    /// Score in [0, 1]; 0.5 is the model's calibrated cut.
    pub score: f64,
    /// The raw features, in [`FEATURE_NAMES`] order.
    pub features: [f64; FEATURES],
}

/// One part of a score's logit: a feature or an n-gram and what it added.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// The feature's name, `ngram:<text>` (`^` and `$` mark the label's
    /// ends), `suffix:<suffix>`, `shape:<shape>` (`a` a letter, `0` a digit),
    /// `length_...` for the length with a statistic, or a dense feature's
    /// name.
    pub name: String,
    /// Its contribution to the logit, positive towards "random".
    pub logit: f64,
}

/// The regression parameters of a model: everything but the trigram
/// counts.
#[derive(Clone, Debug)]
pub struct Regression {
    /// Feature means used to standardize.
    pub mean: [f64; FEATURES],
    /// Feature standard deviations used to standardize.
    pub scale: [f64; FEATURES],
    /// Intercept.
    pub bias: f64,
    /// Weights of the standardized features.
    pub weights: [f64; FEATURES],
    /// Logit that maps to a score of 0.5.
    pub cut: f64,
    /// log2 of the hashed table's size.
    pub bits: u32,
    /// Weight per hashed bucket (`2^bits` entries, or empty for none).
    pub hashed: Vec<f32>,
}

/// Largest hashed table a model file may ask for, as log2.
const MAX_BITS: u32 = 24;

/// The model shipped with picket.
const SHIPPED: &str = include_str!("../../data/dga-model.txt");

impl DgaModel {
    /// Returns the model shipped in `data/dga-model.txt`, parsed once.
    pub fn shipped() -> &'static DgaModel {
        static MODEL: std::sync::OnceLock<DgaModel> = std::sync::OnceLock::new();
        MODEL.get_or_init(|| match DgaModel::parse(SHIPPED) {
            Ok(model) => model,
            // The shipped file is checked by the `shipped_model_parses` test;
            // an empty model scores every name below the cut, never panics.
            Err(error) => {
                tracing::error!(%error, "the shipped DGA model does not parse");
                DgaModel::from_parts(
                    &TrigramCounts::default(),
                    Regression {
                        mean: [0.0; FEATURES],
                        scale: [1.0; FEATURES],
                        bias: 0.0,
                        weights: [0.0; FEATURES],
                        cut: f64::INFINITY,
                        bits: 1,
                        hashed: Vec::new(),
                    },
                )
            }
        })
    }

    /// Builds a model from counts and regression parameters. A hashed table
    /// of the wrong size is replaced by zeros.
    pub fn from_parts(counts: &TrigramCounts, regression: Regression) -> Self {
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
        let bits = regression.bits.clamp(1, MAX_BITS);
        let mut hashed = regression.hashed;
        if hashed.len() != 1 << bits {
            hashed = vec![0.0; 1 << bits];
        }
        DgaModel {
            log2p,
            unseen,
            mean: regression.mean,
            scale: regression.scale,
            weights: regression.weights,
            bias: regression.bias,
            cut: regression.cut,
            bits,
            hashed,
        }
    }

    /// Parses a model file.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let mut counts = TrigramCounts::default();
        let mut mean = None;
        let mut scale = None;
        let mut weights = None;
        let mut cut = None;
        let mut bits: Option<u32> = None;
        let mut hashed: Vec<f32> = Vec::new();
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
                    if words.next() != Some(FILE_VERSION) {
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
                "bits" => {
                    let value = words
                        .next()
                        .and_then(|v| v.parse::<u32>().ok())
                        .filter(|b| (1..=MAX_BITS).contains(b))
                        .ok_or_else(|| bad("expected a table size of 1 to 24 bits"))?;
                    bits = Some(value);
                    hashed = vec![0.0; 1 << value];
                }
                "h" => {
                    let slot = words
                        .next()
                        .and_then(|v| usize::from_str_radix(v, 16).ok())
                        .ok_or_else(|| bad("expected a hex bucket"))?;
                    let weight = words
                        .next()
                        .and_then(|v| v.parse::<f32>().ok())
                        .filter(|w| w.is_finite())
                        .ok_or_else(|| bad("expected a weight"))?;
                    if bits.is_none() {
                        return Err(bad("hashed weight before the bits line"));
                    }
                    *hashed
                        .get_mut(slot)
                        .ok_or_else(|| bad("bucket outside the table"))? = weight;
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
        let bits = bits.ok_or(ModelError::Missing("bits"))?;
        Ok(DgaModel::from_parts(
            &counts,
            Regression {
                mean,
                scale,
                bias,
                weights,
                cut,
                bits,
                hashed,
            },
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

    fn standardized(&self, i: usize, value: f64) -> f64 {
        let scale = if self.scale[i] > 0.0 {
            self.scale[i]
        } else {
            1.0
        };
        (value - self.mean[i]) / scale
    }

    /// Computes the regression's logit for given features and a label under
    /// its suffix, before the cut.
    pub fn logit(&self, features: &[f64; FEATURES], label: &str, suffix: &str) -> f64 {
        let mut z = self.bias;
        for (i, value) in features.iter().enumerate() {
            z += self.weights[i] * self.standardized(i, *value);
        }
        let mut hashed = 0f32;
        for_each_hashed(label, suffix, features, |h| {
            hashed += self.hashed[bucket(h.key, self.bits)] * h.value;
        });
        z + f64::from(hashed)
    }

    /// Scores a registered label (the label under the public suffix, lower
    /// case) with its suffix: 0.5 at the calibrated cut, towards 1 for
    /// random-looking labels.
    pub fn score(&self, label: &str, suffix: &str) -> LexicalScore {
        let features = self.features(label);
        let z = self.logit(&features, label, suffix) - self.cut;
        LexicalScore {
            score: 1.0 / (1.0 + (-z).exp()),
            features,
        }
    }

    /// Returns the `count` largest positive parts of a label's logit
    /// (n-grams, suffix and the features the label has), largest first:
    /// what made it look random.
    pub fn explain(&self, label: &str, suffix: &str, count: usize) -> Vec<Contribution> {
        let mut buffer = [0u8; MAX_LABEL + 2];
        let len = marked(label, &mut buffer);
        let features = self.features(label);

        // A feature the label lacks (no digits, no hyphens) explains
        // nothing, whatever its standardized value adds.
        let mut parts: Vec<(Explained<'_>, f64)> = FEATURE_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| features[*i] != 0.0)
            .map(|(i, name)| {
                let logit = self.weights[i] * self.standardized(i, features[i]);
                (Explained::Feature(name), logit)
            })
            .collect();

        // Parts are keyed by their text, so an n-gram seen twice adds up.
        // Names are written only for the parts kept.
        for_each_hashed(label, suffix, &features, |h| {
            let logit = f64::from(self.hashed[bucket(h.key, self.bits)] * h.value);
            let key = match h.part {
                Part::Ngram(start, n) => {
                    let (start, end) = (usize::from(start), usize::from(start) + usize::from(n));
                    let bytes = buffer.get(start..end.min(len)).unwrap_or_default();
                    Explained::Ngram(String::from_utf8_lossy(bytes))
                }
                Part::Suffix => Explained::Suffix,
                Part::Shape => Explained::Shape,
                Part::Profile(name) => Explained::Feature(name),
            };
            match parts.iter_mut().find(|(part, _)| *part == key) {
                Some((_, sum)) => *sum += logit,
                None => parts.push((key, logit)),
            }
        });

        parts.retain(|(_, logit)| *logit > 0.0);
        parts.sort_by(|a, b| b.1.total_cmp(&a.1));
        parts.truncate(count);
        parts
            .into_iter()
            .map(|(part, logit)| Contribution {
                name: match part {
                    Explained::Feature(name) => name.to_owned(),
                    Explained::Ngram(text) => format!("ngram:{text}"),
                    Explained::Suffix => format!("suffix:{suffix}"),
                    Explained::Shape => {
                        format!("shape:{}", shape_text(&buffer[1..len - 1]))
                    }
                },
                logit,
            })
            .collect()
    }
}

/// The kind of one part of an explained logit, before its name is written.
#[derive(PartialEq)]
enum Explained<'a> {
    /// A dense feature, by name.
    Feature(&'static str),
    /// A character n-gram of the marked label.
    Ngram(std::borrow::Cow<'a, str>),
    /// The suffix, alone or with the label's length.
    Suffix,
    /// The label's shape.
    Shape,
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

/// Writes a whole model file; hashed weights under `min_weight` in absolute
/// value are left out.
pub fn write_model(
    counts: &TrigramCounts,
    regression: &Regression,
    min_weight: f32,
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
    let _ = writeln!(out, "version {FILE_VERSION}");
    let _ = writeln!(out, "mean {}", join(&regression.mean));
    let _ = writeln!(out, "scale {}", join(&regression.scale));
    let _ = writeln!(
        out,
        "weights {:.6} {}",
        regression.bias,
        join(&regression.weights)
    );
    let _ = writeln!(out, "cut {:.6}", regression.cut);
    let _ = writeln!(out, "bits {}", regression.bits);
    for (slot, weight) in regression.hashed.iter().enumerate() {
        if weight.abs() >= min_weight && *weight != 0.0 {
            let _ = writeln!(out, "h {slot:x} {weight:.3}");
        }
    }
    counts.write_lines(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regression(bits: u32) -> Regression {
        Regression {
            mean: [0.5; FEATURES],
            scale: [2.0; FEATURES],
            bias: 0.1,
            weights: [1.0; FEATURES],
            cut: 0.3,
            bits,
            hashed: (0..1u32 << bits)
                .map(|i| (i % 7) as f32 * 0.25 - 0.5)
                .collect(),
        }
    }

    #[test]
    fn shipped_model_parses() {
        DgaModel::parse(SHIPPED).unwrap();
    }

    #[test]
    fn written_model_reads_back() {
        let mut counts = TrigramCounts::default();
        counts.add_label("google");
        counts.add_label("wikipedia");
        let text = write_model(&counts, &regression(8), 0.0, "test");
        let model = DgaModel::parse(&text).unwrap();
        let direct = DgaModel::from_parts(&counts, regression(8));
        let a = model.score("googlepedia", "com");
        let b = direct.score("googlepedia", "com");
        assert!((a.score - b.score).abs() < 1e-4, "{a:?} {b:?}");
        assert_ne!(
            direct.score("googlepedia", "com").score,
            direct.score("googlepedia", "ru").score
        );
    }

    #[test]
    fn explanation_names_ngrams_and_sums_to_at_most_the_logit() {
        let mut counts = TrigramCounts::default();
        counts.add_label("google");
        let model = DgaModel::from_parts(&counts, regression(8));
        let parts = model.explain("xkqz", "com", 5);
        assert!(parts.len() <= 5);
        assert!(parts.windows(2).all(|w| w[0].logit >= w[1].logit));
        assert!(parts.iter().all(|p| p.logit > 0.0));
        let hashed = ["ngram:", "suffix:", "shape:", "length_"];
        assert!(
            parts
                .iter()
                .any(|p| hashed.iter().any(|prefix| p.name.starts_with(prefix))),
            "{parts:?}"
        );
    }

    #[test]
    fn hashed_features_cover_every_ngram() {
        let mut parts = Vec::new();
        for_each_hashed("abc", "com", &[0.0; FEATURES], |h| parts.push(h.part));
        // "^abc$": 5 bytes; n-grams of 1..=5 bytes = 5+4+3+2+1, minus the
        // two lone marks; two suffix features; one shape; three profiles.
        let count = |f: fn(&Part) -> bool| parts.iter().filter(|p| f(p)).count();
        assert_eq!(count(|p| matches!(p, Part::Ngram(..))), 13);
        assert_eq!(count(|p| matches!(p, Part::Suffix)), 2);
        assert_eq!(count(|p| matches!(p, Part::Shape)), 1);
        assert_eq!(count(|p| matches!(p, Part::Profile(_))), 3);
        // Labels past the DNS limit are cut, never read out of bounds.
        let long = "a".repeat(500);
        let mut n = 0;
        for_each_hashed(&long, "com", &[f64::NAN; FEATURES], |_| n += 1);
        assert!(n > 0);
    }

    fn shape_key(label: &str) -> u64 {
        let mut key = None;
        for_each_hashed(label, "com", &[0.0; FEATURES], |h| {
            if h.part == Part::Shape {
                key = Some(h.key);
            }
        });
        key.unwrap()
    }

    #[test]
    fn shape_follows_class_runs() {
        assert_eq!(shape_text(b"t2q2r"), "a0a0a");
        assert_eq!(shape_text(b"google"), "aaaa");
        assert_eq!(shape_text(b"4chan"), "0aaaa");
        assert_eq!(shape_text(b"a--b_c"), "a--a_a");
        assert_eq!(shape_text(b""), "");

        assert_eq!(shape_key("t2q2r"), shape_key("x9z1k"));
        assert_ne!(shape_key("t2q2r"), shape_key("4chan"));
        // Runs past four bytes share a shape.
        assert_eq!(shape_key("google"), shape_key("youtube"));
        assert_ne!(shape_key("bbc"), shape_key("google"));
    }

    #[test]
    fn explanation_names_the_shape() {
        let counts = TrigramCounts::default();
        let mut model = regression(8);
        model.weights = [0.0; FEATURES];
        model.hashed = vec![0.0; 1 << 8];
        let slot = bucket(shape_key("t2q2r"), 8);
        model.hashed[slot] = 3.0;
        let model = DgaModel::from_parts(&counts, model);
        let parts = model.explain("t2q2r", "com", 30);
        assert!(parts.iter().any(|p| p.name == "shape:a0a0a"), "{parts:?}");
    }

    #[test]
    fn old_model_versions_are_rejected() {
        let text = SHIPPED.replacen("version 3", "version 2", 1);
        assert!(matches!(
            DgaModel::parse(&text),
            Err(ModelError::BadLine {
                reason: "unsupported version",
                ..
            })
        ));
    }

    #[test]
    fn odd_labels_score_finite() {
        let model = DgaModel::shipped();
        let long = "x".repeat(300);
        for label in ["", "a", "ünïcödé", "\u{0}\u{ff}", long.as_str(), "-_-"] {
            let score = model.score(label, "com").score;
            assert!(score.is_finite(), "{label:?}");
            assert!((0.0..=1.0).contains(&score), "{label:?}");
            let parts = model.explain(label, "", 5);
            assert!(parts.len() <= 5, "{label:?}");
        }
    }

    #[test]
    fn held_out_split_is_about_three_in_ten() {
        let held = (0..10_000)
            .filter(|i| held_out(&format!("name{i}")))
            .count();
        assert!((2_700..3_300).contains(&held), "{held}");
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
        let err = DgaModel::parse("version 3\ntrigram ab 3\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(matches!(
            DgaModel::parse("mean 1\n"),
            Err(ModelError::BadLine { .. })
        ));
        assert!(matches!(
            DgaModel::parse("version 3\n"),
            Err(ModelError::Missing("mean"))
        ));
        for bad in ["bits 40", "bits 4\nh 10 1.0", "h 1 1.0", "bits 4\nh 1 nan"] {
            let text = format!("version 3\n{bad}\n");
            assert!(
                matches!(DgaModel::parse(&text), Err(ModelError::BadLine { .. })),
                "{bad}"
            );
        }
    }
}
