//! `train-dga`: rebuilds the lexical DGA model, `crates/picket-detect/data/dga-model.txt`.
//!
//! Benign side: the registered labels of the popular-domain and dynamic-DNS
//! lists in `crates/picket-detect/data/dga/`. Malicious side: the DGA family
//! lists of the corpus (`--dga`), read from outside the repository because
//! of their GPL licence. Names this task generates itself (uniform letters,
//! letters and digits, hex, base32, consonant-vowel alternation) are added
//! to keep the model general for families it never saw. Labels of the held-out split
//! ([`model::held_out`], three in ten by a hash of the label) are never
//! trained on, on either side: `picket eval dns` measures on them.
//!
//! The model is a logistic regression over the dense features of
//! [`model::FEATURE_NAMES`] (the benign trigram model's likelihood and
//! character statistics) and the hashed features of
//! [`model::for_each_hashed`]. FTRL-proximal fits it, with per-coordinate
//! learning rates and L1 on the hashed weights so that the file stays small.
//! The trigram counts come from every benign training label; benign dense
//! features are computed leave-one-out (each label's own trigrams removed
//! first), so they look like those of an unseen popular name.
//!
//! The cut: the training split is cut into `--folds` parts by a hash of the
//! label; each part is scored by a model trained on the others, and the cut
//! is the logit that `--fpr` of these out-of-fold popular-name scores
//! exceed. The shipped weights are the mean of the fold models' weights, so
//! that the cut fits their scale.
//!
//! `--family-holdout N` instead measures generalisation to unseen families:
//! the families are dealt into N groups; for each group a model (and its cut)
//! is trained without any of the group's names, then scored on all of them
//! and on the held-out popular names. Nothing is written.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use crate::rng::Rng;
use anyhow::Context;
use picket_detect::dns::eval::{family_of, is_dictionary_family, read_names, roc_auc};
use picket_detect::dns::model::{self, FEATURES, Regression, TrigramCounts};
use picket_detect::dns::name::split_name;

/// Arguments of `train-dga`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder with the benign lists, one name per line, `#` comments.
    #[arg(long, default_value = "crates/picket-detect/data/dga")]
    benign: PathBuf,
    /// Folder with the DGA family lists (`<family>_..._domains.txt`).
    #[arg(long, default_value = "../shared/corpus/dga/baderj")]
    dga: PathBuf,
    /// Model file to write.
    #[arg(long, default_value = "crates/picket-detect/data/dga-model.txt")]
    out: PathBuf,
    /// Out-of-fold false-positive rate on popular training names at which a
    /// score of 0.5 sits.
    #[arg(long, default_value_t = 0.0025)]
    fpr: f64,
    /// Folds of the cross-validation that places the cut.
    #[arg(long, default_value_t = 5)]
    folds: u64,
    /// Generated random names per benign training label.
    #[arg(long, default_value_t = 0.3)]
    random_per_benign: f64,
    /// Weight of a benign example against a malicious one.
    #[arg(long, default_value_t = 2.0)]
    benign_weight: f64,
    /// log2 of the hashed feature table's size.
    #[arg(long, default_value_t = 16)]
    bits: u32,
    /// Passes over the training examples.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// FTRL learning rate alpha.
    #[arg(long, default_value_t = 0.3)]
    alpha: f64,
    /// FTRL L1 strength on the hashed weights (sparsity of the file).
    #[arg(long, default_value_t = 1.0)]
    l1: f64,
    /// FTRL L2 strength.
    #[arg(long, default_value_t = 1.0)]
    l2: f64,
    /// Seed of the random-name generator and the shuffles.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Measure generalisation to unseen families over this many family
    /// groups instead of writing the model.
    #[arg(long)]
    family_holdout: Option<usize>,
}

/// The list of dynamic-DNS zones: benign, but not "popular", so not used to
/// place the cut.
const DYNAMIC_DNS_LIST: &str = "dynamic-dns.txt";

/// Reads the benign registered domains of every `.txt` list in `dir`, sorted
/// and without duplicates. The flag is true when the name is on a popular
/// list (every list but the dynamic-DNS zones).
pub fn benign_domains(dir: &Path) -> anyhow::Result<BTreeMap<String, bool>> {
    let mut names = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    for file in files {
        let popular = file.file_name().is_none_or(|n| n != DYNAMIC_DNS_LIST);
        let text = read_list(&file)?;
        for line in text.lines() {
            let line = line.trim().trim_start_matches('.').to_ascii_lowercase();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(parts) = split_name(&line) {
                *names.entry(parts.registered.to_owned()).or_insert(false) |= popular;
            }
        }
    }
    Ok(names)
}

/// Largest benign list read, in bytes.
const MAX_LIST_BYTES: u64 = 64 * 1024 * 1024;

/// Reads one benign list of at most [`MAX_LIST_BYTES`].
fn read_list(path: &Path) -> anyhow::Result<String> {
    use std::io::Read as _;

    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut text = String::new();
    // The read is bounded by `take` just before it.
    #[allow(clippy::disallowed_methods)]
    file.take(MAX_LIST_BYTES)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(text)
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

/// Suffixes given to generated names.
const RANDOM_SUFFIXES: &[&str] = &["com", "net", "org", "info", "biz", "ru", "top", "xyz"];

/// The kind of name an example is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// On a popular list: the false positives that count.
    Popular,
    /// A dynamic-DNS zone.
    Benign,
    /// A generated random name.
    Random,
    /// A name of the family with this index.
    Family(usize),
}

/// One training or test example.
struct Example {
    label: String,
    suffix: String,
    kind: Kind,
    /// The dense features, raw.
    dense: [f64; FEATURES],
}

impl Example {
    fn positive(&self) -> bool {
        matches!(self.kind, Kind::Random | Kind::Family(_))
    }

    /// Returns the cross-validation fold of the example, by a hash of its
    /// label independent of the held-out split's.
    fn fold(&self, folds: u64) -> u64 {
        let mut hash: u64 = 0x8422_2325_cbf2_9ce4;
        for &byte in self.label.as_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        (hash >> 24) % folds.max(1)
    }
}

/// Index of the bias in the weight vector; the dense features follow, then
/// the hashed buckets.
const BIAS: usize = 0;

/// Builds the sparse feature vector of an example: bias, standardized dense
/// features, hashed buckets (duplicates summed).
fn vector(
    example: &Example,
    mean: &[f64; FEATURES],
    scale: &[f64; FEATURES],
    bits: u32,
) -> Vec<(u32, f32)> {
    let mut out = Vec::with_capacity(FEATURES + 80);
    out.push((BIAS as u32, 1.0));
    for i in 0..FEATURES {
        out.push((
            (1 + i) as u32,
            ((example.dense[i] - mean[i]) / scale[i]) as f32,
        ));
    }
    let mut hashed: Vec<(u32, f32)> = Vec::with_capacity(80);
    model::for_each_hashed(&example.label, &example.suffix, &example.dense, |h| {
        hashed.push(((1 + FEATURES + model::bucket(h.key, bits)) as u32, h.value));
    });
    hashed.sort_by_key(|(i, _)| *i);
    for (index, value) in hashed {
        match out.last_mut() {
            Some(last) if last.0 == index => last.1 += value,
            _ => out.push((index, value)),
        }
    }
    out
}

/// Settings of one FTRL fit.
struct Fit {
    bits: u32,
    epochs: usize,
    alpha: f64,
    beta: f64,
    l1: f64,
    l2: f64,
    benign_weight: f64,
    seed: u64,
}

/// Fits FTRL-proximal logistic regression on the chosen examples; returns
/// the weight vector (bias, dense, hashed).
fn fit(vectors: &[Vec<(u32, f32)>], examples: &[Example], chosen: &[usize], fit: &Fit) -> Vec<f64> {
    let size = 1 + FEATURES + (1usize << fit.bits);
    let mut z = vec![0f64; size];
    let mut n = vec![0f64; size];
    let mut order = chosen.to_vec();
    let mut rng = Rng::seeded(fit.seed);

    let weight_of = |z: f64, n: f64, l1: f64, fit: &Fit| -> f64 {
        if z.abs() <= l1 {
            0.0
        } else {
            -(z - z.signum() * l1) / ((fit.beta + n.sqrt()) / fit.alpha + fit.l2)
        }
    };
    let l1_of = |index: usize| if index <= FEATURES { 0.0 } else { fit.l1 };

    for _ in 0..fit.epochs {
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        for &e in &order {
            let x = &vectors[e];
            let mut logit = 0.0;
            for &(index, value) in x {
                let index = index as usize;
                logit += weight_of(z[index], n[index], l1_of(index), fit) * f64::from(value);
            }
            let p = 1.0 / (1.0 + (-logit.clamp(-35.0, 35.0)).exp());
            let positive = examples[e].positive();
            let weight = if positive { 1.0 } else { fit.benign_weight };
            let gradient = (p - f64::from(u8::from(positive))) * weight;
            for &(index, value) in x {
                let index = index as usize;
                let g = gradient * f64::from(value);
                let w = weight_of(z[index], n[index], l1_of(index), fit);
                let sigma = ((n[index] + g * g).sqrt() - n[index].sqrt()) / fit.alpha;
                z[index] += g - sigma * w;
                n[index] += g * g;
            }
        }
    }
    (0..size)
        .map(|index| weight_of(z[index], n[index], l1_of(index), fit))
        .collect()
}

fn logit(weights: &[f64], x: &[(u32, f32)]) -> f64 {
    x.iter()
        .map(|&(index, value)| weights[index as usize] * f64::from(value))
        .sum()
}

/// Fits one model per fold of `chosen` (on the other folds), places the cut
/// on the out-of-fold scores of the popular names and returns (the folds'
/// mean weights, cut).
fn fit_with_cut(
    vectors: &[Vec<(u32, f32)>],
    examples: &[Example],
    families: &[String],
    chosen: &[usize],
    settings: &Fit,
    folds: u64,
    fpr: f64,
) -> (Vec<f64>, f64) {
    let mut out_of_fold = Vec::new();
    let mut positives = Vec::new();
    let mut fold_weights = Vec::new();
    for fold in 0..folds {
        let train: Vec<usize> = chosen
            .iter()
            .copied()
            .filter(|&e| examples[e].fold(folds) != fold)
            .collect();
        let weights = fit(vectors, examples, &train, settings);
        out_of_fold.extend(
            chosen
                .iter()
                .filter(|&&e| examples[e].fold(folds) == fold && examples[e].kind == Kind::Popular)
                .map(|&e| logit(&weights, &vectors[e])),
        );
        positives.extend(
            chosen
                .iter()
                .filter(|&&e| {
                    examples[e].fold(folds) == fold && matches!(examples[e].kind, Kind::Family(_))
                })
                .map(|&e| (examples[e].kind, logit(&weights, &vectors[e]))),
        );
        fold_weights.push(weights);
    }

    // The cut: the score that only `fpr` of the out-of-fold popular names
    // reach.
    out_of_fold.sort_by(f64::total_cmp);
    let rank = ((1.0 - fpr) * out_of_fold.len() as f64).floor() as usize;
    let cut = out_of_fold
        .get(rank.min(out_of_fold.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0);

    let hits = positives.iter().filter(|&&(_, l)| l >= cut).count();
    let mut per_family: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for &(kind, l) in &positives {
        if let Kind::Family(f) = kind {
            let slot = per_family.entry(f).or_default();
            slot.0 += 1;
            slot.1 += usize::from(l >= cut);
        }
    }
    let weak: Vec<String> = per_family
        .iter()
        .filter(|(_, (n, h))| *h * 100 < *n * 97)
        .map(|(f, (n, h))| format!("{}:{h}/{n}", families[*f]))
        .collect();

    note(&format!(
        "out-of-fold families under 97%: {}",
        weak.join(" ")
    ));
    report_out_of_fold_auc(&positives, &out_of_fold, families);
    note(&format!(
        "out-of-fold: DGA recall {:.4} ({hits}/{}) at {:.2}% popular FPR",
        hits as f64 / positives.len().max(1) as f64,
        positives.len(),
        fpr * 100.0
    ));
    // The shipped weights are the folds' mean, so that the cut placed on
    // their out-of-fold scores fits the model's scale.
    let mut mean = vec![0f64; 1 + FEATURES + (1usize << settings.bits)];
    for weights in &fold_weights {
        for (m, w) in mean.iter_mut().zip(weights) {
            *m += w / fold_weights.len().max(1) as f64;
        }
    }
    (mean, cut)
}

/// Prints the ROC AUC of the out-of-fold DGA scores against the
/// out-of-fold popular scores, over all character-based families and for
/// each family under 0.995. Both come from the training split only, so
/// features and settings can be chosen on them without the held-out split.
fn report_out_of_fold_auc(positives: &[(Kind, f64)], popular: &[f64], families: &[String]) {
    let mut per_family: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for &(kind, logit) in positives {
        if let Kind::Family(family) = kind {
            per_family.entry(family).or_default().push(logit);
        }
    }

    let character: Vec<f64> = per_family
        .iter()
        .filter(|(family, _)| !is_dictionary_family(&families[**family]))
        .flat_map(|(_, logits)| logits.iter().copied())
        .collect();
    let weak: Vec<String> = per_family
        .iter()
        .filter_map(|(family, logits)| {
            let auc = roc_auc(logits, popular)?;
            (auc < 0.995).then(|| format!("{}:{auc:.4}", families[*family]))
        })
        .collect();

    note(&format!(
        "out-of-fold AUC: character-based {}; families under 0.995: {}",
        roc_auc(&character, popular).map_or("-".to_owned(), |auc| format!("{auc:.4}")),
        weak.join(" ")
    ));
}

/// Prints one line of training progress.
#[allow(clippy::print_stdout)]
fn note(text: &str) {
    println!("{text}");
}

/// A DGA name: label, suffix, family index.
type FamilyName = (String, String, usize);

/// Reads the DGA family lists: (family names, their names).
fn family_names(dir: &Path) -> anyhow::Result<(Vec<String>, Vec<FamilyName>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {} (the DGA family lists)", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut families = Vec::new();
    let mut names = Vec::new();
    let mut seen = HashSet::new();
    for file in files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let index = families.len();
        families.push(family_of(stem));
        for name in read_names(&file)? {
            if let Some(parts) = split_name(&name)
                && seen.insert(parts.registered.to_owned())
            {
                names.push((parts.label.to_owned(), parts.suffix.to_owned(), index));
            }
        }
    }
    anyhow::ensure!(
        !families.is_empty(),
        "no family lists under {}",
        dir.display()
    );
    Ok((families, names))
}

/// Runs the task.
#[allow(clippy::print_stdout)]
pub fn run(args: Args) -> anyhow::Result<()> {
    let domains = benign_domains(&args.benign)?;
    let (families, dga) = family_names(&args.dga)?;
    note(&format!("{} family lists", families.len()));
    let mut rng = Rng::from_state(args.seed);

    // Benign training labels feed the trigram counts.
    let mut examples: Vec<Example> = Vec::new();
    let mut benign_labels = BTreeSet::new();
    for (domain, popular) in &domains {
        let Some(parts) = split_name(domain) else {
            continue;
        };
        examples.push(Example {
            label: parts.label.to_owned(),
            suffix: parts.suffix.to_owned(),
            kind: if *popular {
                Kind::Popular
            } else {
                Kind::Benign
            },
            dense: [0.0; FEATURES],
        });
        if !model::held_out(parts.label) {
            benign_labels.insert(parts.label.to_owned());
        }
    }
    anyhow::ensure!(
        !benign_labels.is_empty(),
        "no benign names under {}",
        args.benign.display()
    );
    let mut counts = TrigramCounts::default();
    for label in &benign_labels {
        counts.add_label(label);
    }

    for (label, suffix, family) in dga {
        examples.push(Example {
            label,
            suffix,
            kind: Kind::Family(family),
            dense: [0.0; FEATURES],
        });
    }
    let randoms = (benign_labels.len() as f64 * args.random_per_benign) as usize;
    for _ in 0..randoms {
        let label = random_label(&mut rng);
        let suffix = (*rng.pick(RANDOM_SUFFIXES)).to_owned();
        examples.push(Example {
            label,
            suffix,
            kind: Kind::Random,
            dense: [0.0; FEATURES],
        });
    }

    // Dense features: leave-one-out for benign training labels.
    let mut loo = counts.clone();
    for example in &mut examples {
        let own = !example.positive() && benign_labels.contains(&example.label);
        if own {
            loo.remove_label(&example.label);
            example.dense = loo.features(&example.label);
            loo.add_label(&example.label);
        } else {
            example.dense = counts.features(&example.label);
        }
    }

    let training: Vec<usize> = (0..examples.len())
        .filter(|&e| examples[e].kind == Kind::Random || !model::held_out(&examples[e].label))
        .collect();
    let (mean, scale) = standardize(&examples, &training);
    let vectors: Vec<Vec<(u32, f32)>> = examples
        .iter()
        .map(|e| vector(e, &mean, &scale, args.bits))
        .collect();
    let settings = Fit {
        bits: args.bits,
        epochs: args.epochs,
        alpha: args.alpha,
        beta: 1.0,
        l1: args.l1,
        l2: args.l2,
        benign_weight: args.benign_weight,
        seed: args.seed,
    };

    if let Some(groups) = args.family_holdout {
        family_holdout(
            &examples, &vectors, &training, &families, groups, &settings, &args,
        );
        return Ok(());
    }

    let (weights, cut) = fit_with_cut(
        &vectors, &examples, &families, &training, &settings, args.folds, args.fpr,
    );
    report_training(&examples, &vectors, &training, &families, &weights, cut);

    let regression = Regression {
        mean,
        scale,
        bias: weights[BIAS],
        weights: std::array::from_fn(|i| weights[1 + i]),
        cut,
        bits: args.bits,
        hashed: weights[1 + FEATURES..].iter().map(|&w| w as f32).collect(),
    };
    let nonzero = regression
        .hashed
        .iter()
        .filter(|w| w.abs() >= 0.0005)
        .count();
    let popular = training
        .iter()
        .filter(|&&e| examples[e].kind == Kind::Popular)
        .count();
    let benign = training
        .iter()
        .filter(|&&e| !examples[e].positive())
        .count();
    let malicious = training
        .iter()
        .filter(|&&e| matches!(examples[e].kind, Kind::Family(_)))
        .count();
    let header = format!(
        "picket lexical DGA model, written by `cargo run -p xtask -- train-dga`.\n\
         training split (held-out three in ten excluded): {benign} benign labels ({popular} popular), \
         {malicious} DGA names of {} family lists, {randoms} generated random labels\n\
         cut: score 0.5 at {:.2}% false positives on popular training names, {}-fold out-of-fold\n\
         hashed table: 2^{} buckets, {nonzero} non-zero",
        families.len(),
        args.fpr * 100.0,
        args.folds,
        args.bits,
    );
    let text = model::write_model(&counts, &regression, 0.0005, &header);
    std::fs::write(&args.out, &text).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} ({} bytes, {nonzero} hashed weights, cut {cut:.3})",
        args.out.display(),
        text.len()
    );
    Ok(())
}

/// Means and standard deviations of the dense features over `chosen`.
fn standardize(examples: &[Example], chosen: &[usize]) -> ([f64; FEATURES], [f64; FEATURES]) {
    let n = chosen.len().max(1) as f64;
    let mut mean = [0.0; FEATURES];
    let mut scale = [0.0; FEATURES];
    for &e in chosen {
        for (m, x) in mean.iter_mut().zip(&examples[e].dense) {
            *m += x / n;
        }
    }
    for &e in chosen {
        for ((s, m), x) in scale.iter_mut().zip(&mean).zip(&examples[e].dense) {
            *s += (x - m).powi(2) / n;
        }
    }
    for s in &mut scale {
        *s = if *s > 0.0 { s.sqrt() } else { 1.0 };
    }
    (mean, scale)
}

/// Prints the training-split figures at the cut (in-sample: optimistic).
#[allow(clippy::print_stdout)]
fn report_training(
    examples: &[Example],
    vectors: &[Vec<(u32, f32)>],
    training: &[usize],
    families: &[String],
    weights: &[f64],
    cut: f64,
) {
    let mut flagged = vec![(0usize, 0usize); families.len()];
    let mut popular = (0usize, 0usize);
    for &e in training {
        let hit = logit(weights, &vectors[e]) >= cut;
        match examples[e].kind {
            Kind::Family(f) => {
                flagged[f].0 += 1;
                flagged[f].1 += usize::from(hit);
            }
            Kind::Popular => {
                popular.0 += 1;
                popular.1 += usize::from(hit);
            }
            _ => {}
        }
    }
    let (total, hits) = flagged.iter().fold((0, 0), |a, f| (a.0 + f.0, a.1 + f.1));
    println!(
        "training split, in-sample: DGA recall {:.4} ({hits}/{total}), popular FPR {:.4} ({}/{})",
        hits as f64 / total.max(1) as f64,
        popular.1 as f64 / popular.0.max(1) as f64,
        popular.1,
        popular.0
    );
}

/// Trains without each group of families in turn and prints how the unseen
/// families score.
#[allow(clippy::print_stdout)]
fn family_holdout(
    examples: &[Example],
    vectors: &[Vec<(u32, f32)>],
    training: &[usize],
    families: &[String],
    groups: usize,
    settings: &Fit,
    args: &Args,
) {
    // Variants of one family (`murofet_v1`, `murofet_v2`) go to one group.
    let base = |f: usize| families[f].split('_').next().unwrap_or_default().to_owned();
    let bases: BTreeSet<String> = (0..families.len()).map(base).collect();
    let group_of = |f: usize| bases.iter().position(|b| *b == base(f)).unwrap_or(0) % groups.max(1);
    let held_popular: Vec<usize> = (0..examples.len())
        .filter(|&e| examples[e].kind == Kind::Popular && model::held_out(&examples[e].label))
        .collect();

    println!("family-held-out: {groups} groups; families scored on all their names");
    println!(
        "{:<28} {:>6} {:>8} {:>8}",
        "family", "names", "recall", "AUC"
    );
    let (mut all_total, mut all_hits) = ([0usize; 2], [0usize; 2]);
    for group in 0..groups {
        let chosen: Vec<usize> = training
            .iter()
            .copied()
            .filter(|&e| !matches!(examples[e].kind, Kind::Family(f) if group_of(f) == group))
            .collect();
        let (weights, cut) = fit_with_cut(
            vectors, examples, families, &chosen, settings, args.folds, args.fpr,
        );
        let benign: Vec<f64> = held_popular
            .iter()
            .map(|&e| logit(&weights, &vectors[e]))
            .collect();
        let fp = benign.iter().filter(|&&l| l >= cut).count();
        for f in (0..families.len()).filter(|&f| group_of(f) == group) {
            let scores: Vec<f64> = (0..examples.len())
                .filter(|&e| examples[e].kind == Kind::Family(f))
                .map(|e| logit(&weights, &vectors[e]))
                .collect();
            let hits = scores.iter().filter(|&&l| l >= cut).count();
            let dictionary = usize::from(is_dictionary_family(&families[f]));
            all_total[dictionary] += scores.len();
            all_hits[dictionary] += hits;
            println!(
                "{:<28} {:>6} {:>8.4} {:>8}",
                families[f],
                scores.len(),
                hits as f64 / scores.len().max(1) as f64,
                roc_auc(&scores, &benign).map_or("-".to_owned(), |a| format!("{a:.4}"))
            );
        }
        println!(
            "group {group}: held-out popular FPR {:.4} ({fp}/{})",
            fp as f64 / benign.len().max(1) as f64,
            benign.len()
        );
    }
    for (i, label) in ["character-based", "dictionary"].iter().enumerate() {
        println!(
            "unseen {label} families: recall {:.4} ({}/{})",
            all_hits[i] as f64 / all_total[i].max(1) as f64,
            all_hits[i],
            all_total[i]
        );
    }
}
