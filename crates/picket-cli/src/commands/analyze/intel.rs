//! Loading `--intel` files into a matcher, and the detector configuration.

use std::path::{Path, PathBuf};

use anyhow::Context;
use picket_detect::DetectConfig;
use picket_match::{Matcher, MatcherBuilder};
use picket_output::RunSummary;
use serde::Deserialize;
use tracing::{info, warn};

/// Most rejected indicator lines printed per file; the rest are counted.
const REJECTIONS_SHOWN: usize = 5;

/// Reads every intel file and compiles the matcher. A file that cannot be
/// read stops the run: analysing without the intelligence the user named
/// would silently miss hits.
pub fn build_matcher(paths: &[PathBuf], summary: &mut RunSummary) -> anyhow::Result<Matcher> {
    let mut builder = MatcherBuilder::new();
    for path in paths {
        let report = picket_intel::load_file(path)
            .with_context(|| format!("cannot load the intel file {}", path.display()))?;

        for rejection in report.rejections.iter().take(REJECTIONS_SHOWN) {
            warn!(%rejection, "indicator rejected");
        }
        if report.rejections.len() > REJECTIONS_SHOWN {
            warn!(
                file = %path.display(),
                more = report.rejections.len() - REJECTIONS_SHOWN,
                "more indicators rejected"
            );
        }
        info!(
            file = %path.display(),
            indicators = report.indicators.len(),
            rejected = report.rejections.len(),
            "intel file loaded"
        );

        let mut added = 0;
        for indicator in &report.indicators {
            match builder.add(indicator) {
                Ok(_) => added += 1,
                Err(error) => warn!(file = %path.display(), %error, "indicator not usable for matching"),
            }
        }
        summary.indicators += added;
    }
    Ok(builder.build())
}

/// The configuration file: every section optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ConfigFile {
    detect: DetectConfig,
}

/// Reads detector settings from a YAML file, or the defaults without one.
pub fn load_detect_config(path: Option<&Path>) -> anyhow::Result<DetectConfig> {
    let Some(path) = path else {
        return Ok(DetectConfig::default());
    };
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the configuration file {}", path.display()))?;
    let config: ConfigFile = serde_yaml_ng::from_reader(file)
        .with_context(|| format!("invalid configuration file {}", path.display()))?;
    Ok(config.detect)
}
