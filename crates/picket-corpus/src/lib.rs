//! Test support: finds the public test corpus beside the repository.
//!
//! The corpus lives in `../shared/corpus` next to the workspace root on
//! developer machines and in CI. A user's own clone has none, so tests that
//! read it call [`corpus_dir`] or [`require_corpus!`] and report that they
//! were skipped instead of failing. `PICKET_CORPUS` overrides the location.
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

/// The corpus folder, or `None` when it is not present.
pub fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PICKET_CORPUS") {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = workspace.join("../shared/corpus");
    dir.is_dir().then(|| dir.canonicalize().unwrap_or(dir))
}

/// A file or folder inside the corpus, or `None` when the corpus is absent.
pub fn corpus_path(relative: &str) -> Option<PathBuf> {
    corpus_dir().map(|dir| dir.join(relative))
}

/// Returns the path of `$relative` inside the corpus, or prints a plain
/// "skipped" line and returns from the calling test when the corpus is absent.
///
/// In CI (`CI=true`) a missing corpus is a failure instead, so that a broken
/// checkout cannot pass silently.
#[macro_export]
macro_rules! require_corpus {
    ($relative:expr) => {
        match $crate::corpus_path($relative) {
            Some(path) => path,
            None => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("the public corpus (../shared/corpus) is missing in CI");
                }
                #[allow(clippy::print_stderr)]
                {
                    eprintln!(
                        "skipped: {} needs the public corpus at ../shared/corpus (or PICKET_CORPUS)",
                        module_path!()
                    );
                }
                return;
            }
        }
    };
}
