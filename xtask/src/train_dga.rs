//! `train-dga`: rebuilds the lexical DGA model, `crates/picket-detect/data/dga-model.txt`.
//!
//! Benign side: the registered labels of the popular-domain lists in
//! `crates/picket-detect/data/dga/`, minus the held-out fifth that `picket
//! eval dns` measures false positives on. Random side: names this task
//! generates itself (uniform letters, letters and digits, hex, base32,
//! consonant-vowel alternation), so that no malware family's names are
//! trained on and the families in the corpus stay an unseen test.
//!
//! The trigram counts come from every benign training label; the regression's
//! benign features are computed leave-one-out (each label's own trigrams
//! removed first), so they look like those of an unseen popular name. The cut
//! is the logit that `--fpr` of the benign training labels exceed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use picket_detect::dns::model::{self, DgaModel, FEATURES, TrigramCounts};
use picket_detect::dns::name::split_name;
use crate::rng::Rng;

/// Arguments of `train-dga`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder with the benign lists, one name per line, `#` comments.
    #[arg(long, default_value = "crates/picket-detect/data/dga")]
    benign: PathBuf,
    /// Model file to write.
    #[arg(long, default_value = "crates/picket-detect/data/dga-model.txt")]
    out: PathBuf,
    /// False-positive rate on benign training labels at which a score of 0.5 sits.
    #[arg(long, default_value_t = 0.003)]
    fpr: f64,
    /// Generated random names per benign training label.
    #[arg(long, default_value_t = 2)]
    random_per_benign: usize,
    /// Seed of the random-name generator.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// Reads the benign registered domains of every `.txt` list in `dir`, sorted
/// and without duplicates.
pub fn benign_domains(dir: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        for line in text.lines() {
            let line = line.trim().trim_start_matches('.').to_ascii_lowercase();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(parts) = split_name(&line) {
                names.insert(parts.registered.to_owned());
            }
        }
    }
    Ok(names)
}

/// One generated random label, from a mix of generator styles.
fn random_label(rng: &mut Rng) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const HEX: &[u8] = b"0123456789abcdef";
    const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    const VOWELS: &[u8] = b"aeiouy";
    const CONSONANTS: &[u8] = b"bcdfghjklmnpqrstvwxz";

    let style = rng.below(100);
    let (alphabet, low, high) = match style {
        0..=29 => (LETTERS, 6, 24),
        30..=49 => (ALNUM, 6, 26),
        50..=59 => (HEX, 8, 32),
        60..=69 => (BASE32, 8, 26),
        70..=84 => (LETTERS, 5, 8),
        _ => {
            let len = rng.range(6, 14);
            let start_vowel = rng.below(2) == 0;
            return (0..len)
                .map(|i| {
                    if (i % 2 == 0) == start_vowel {
                        char::from(*rng.pick(VOWELS))
                    } else {
                        char::from(*rng.pick(CONSONANTS))
                    }
                })
                .collect();
        }
    };
    let len = rng.range(low, high);
    (0..len).map(|_| char::from(*rng.pick(alphabet))).collect()
}

/// Fits a class-weighted logistic regression by full-batch gradient descent
/// on standardized features; returns (bias, weights).
fn fit(rows: &[[f64; FEATURES]], labels: &[bool]) -> (f64, [f64; FEATURES]) {
    let positives = labels.iter().filter(|&&l| l).count().max(1) as f64;
    let negatives = labels.iter().filter(|&&l| !l).count().max(1) as f64;
    let mut bias = 0.0;
    let mut weights = [0.0; FEATURES];
    let (rate, l2) = (0.5, 1e-4);

    for _ in 0..3000 {
        let mut grad_bias = 0.0;
        let mut grad = [0.0; FEATURES];
        for (row, &label) in rows.iter().zip(labels) {
            let z = bias + row.iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            let weight = if label { 0.5 / positives } else { 0.5 / negatives };
            let error = (p - f64::from(u8::from(label))) * weight;
            grad_bias += error;
            for (g, x) in grad.iter_mut().zip(row) {
                *g += error * x;
            }
        }
        bias -= rate * grad_bias;
        for (w, g) in weights.iter_mut().zip(grad) {
            *w -= rate * (g + l2 * *w);
        }
    }
    (bias, weights)
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let domains = benign_domains(&args.benign)?;
    let training: Vec<String> = domains
        .iter()
        .filter(|d| !model::held_out(d))
        .filter_map(|d| split_name(d).map(|p| p.label.to_owned()))
        .collect();
    anyhow::ensure!(!training.is_empty(), "no benign names under {}", args.benign.display());

    let mut counts = TrigramCounts::default();
    for label in &training {
        counts.add_label(label);
    }

    let mut rows = Vec::new();
    let mut labels = Vec::new();
    let mut loo = counts.clone();
    for label in &training {
        loo.remove_label(label);
        rows.push(loo.features(label));
        loo.add_label(label);
        labels.push(false);
    }
    let mut rng = Rng::from_state(args.seed);
    for _ in 0..training.len() * args.random_per_benign {
        rows.push(counts.features(&random_label(&mut rng)));
        labels.push(true);
    }

    let n = rows.len() as f64;
    let mut mean = [0.0; FEATURES];
    let mut scale = [0.0; FEATURES];
    for row in &rows {
        for i in 0..FEATURES {
            mean[i] += row[i] / n;
        }
    }
    for row in &rows {
        for i in 0..FEATURES {
            scale[i] += (row[i] - mean[i]).powi(2) / n;
        }
    }
    for s in &mut scale {
        *s = if *s > 0.0 { s.sqrt() } else { 1.0 };
    }
    let standardized: Vec<[f64; FEATURES]> = rows
        .iter()
        .map(|row| std::array::from_fn(|i| (row[i] - mean[i]) / scale[i]))
        .collect();

    let (bias, weights) = fit(&standardized, &labels);
    let unshifted = DgaModel::from_parts(&counts, mean, scale, bias, weights, 0.0);
    let mut benign_logits: Vec<f64> = rows
        .iter()
        .zip(&labels)
        .filter(|(_, l)| !**l)
        .map(|(row, _)| unshifted.logit(row))
        .collect();
    benign_logits.sort_by(f64::total_cmp);
    let rank = ((1.0 - args.fpr) * benign_logits.len() as f64).floor() as usize;
    let cut = benign_logits[rank.min(benign_logits.len() - 1)];

    let header = format!(
        "picket lexical DGA model, written by `cargo run -p xtask -- train-dga`.\n\
         benign training labels: {} (held-out fifth excluded); generated random labels: {}\n\
         cut: score 0.5 at {:.2}% false positives on the benign training labels (leave-one-out)",
        training.len(),
        training.len() * args.random_per_benign,
        args.fpr * 100.0
    );
    let text = model::write_model(&counts, &mean, &scale, bias, &weights, cut, &header);
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} ({} benign training labels, cut {cut:.3})",
        args.out.display(),
        training.len()
    );
    Ok(())
}
