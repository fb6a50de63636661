//! Loading `--intel` files into a matcher.

use std::path::{Path, PathBuf};

use anyhow::Context;
use picket_event::Timestamp;
use picket_intel::{Indicator, Whitelist};
use picket_match::{Matcher, MatcherBuilder};
use picket_output::RunSummary;
use picket_store::Store;
use picket_store::intel::{self as store_intel, Filter};
use tracing::{info, warn};

/// Most rejected indicator lines printed per file; the rest are counted.
const REJECTIONS_SHOWN: usize = 5;

/// Reads every intel file, adds the store's active indicators and its
/// whitelist, and compiles the matcher. A file that cannot be read stops the
/// run: analysing without the intelligence the user named would silently
/// miss hits.
pub fn build_matcher(
    paths: &[PathBuf],
    store: Option<&Store>,
    summary: &mut RunSummary,
) -> anyhow::Result<Matcher> {
    let mut builder = MatcherBuilder::new();
    let mut whitelist = match store {
        Some(store) => store_intel::load_whitelist(store.connection())
            .context("cannot read the whitelist from the store")?,
        None => Whitelist::new(),
    };

    for path in paths {
        let report = picket_intel::load_file(path)
            .with_context(|| format!("cannot load the intel file {}", path.display()))?;
        log_rejections(path, &report.rejections);
        info!(
            file = %path.display(),
            indicators = report.indicators.len(),
            allow = report.allow.len(),
            rejected = report.rejections.len(),
            "intel file loaded"
        );

        whitelist.add_indicators(&report.allow);
        summary.indicators += add_all(&mut builder, &report.indicators, path);
    }

    if let Some(store) = store {
        let now = Timestamp::from_jiff(jiff::Timestamp::now());
        let (stored, whitelisted) =
            store_intel::active(store.connection(), &Filter::default(), &whitelist, now)
                .context("cannot read the active indicators from the store")?;
        info!(
            indicators = stored.len(),
            whitelisted, "store indicators loaded"
        );
        summary.indicators += add_all(&mut builder, &stored, store.path());
    }

    // The matcher applies allow entries whatever the order they are added
    // in. Adding them last logs the count of usable entries once.
    let allow = whitelist.allow_entries();
    let mut allowed = 0;
    for entry in &allow {
        match builder.allow(entry) {
            Ok(_) => allowed += 1,
            Err(error) => warn!(%error, "whitelist entry not usable for matching"),
        }
    }
    info!(entries = allowed, "whitelist loaded");
    Ok(builder.build())
}

/// Adds indicators to the matcher and returns how many were usable.
fn add_all(builder: &mut MatcherBuilder, indicators: &[Indicator], origin: &Path) -> u64 {
    let mut added = 0;
    for indicator in indicators {
        match builder.add(indicator) {
            Ok(_) => added += 1,
            Err(error) => {
                warn!(origin = %origin.display(), %error, "indicator not usable for matching")
            }
        }
    }
    added
}

fn log_rejections(path: &Path, rejections: &[picket_event::Rejection]) {
    for rejection in rejections.iter().take(REJECTIONS_SHOWN) {
        warn!(%rejection, "indicator rejected");
    }
    if rejections.len() > REJECTIONS_SHOWN {
        warn!(
            file = %path.display(),
            more = rejections.len() - REJECTIONS_SHOWN,
            "more indicators rejected"
        );
    }
}
