//! The progress bar on stderr, drawn only on a terminal unless asked.

use indicatif::{ProgressBar, ProgressStyle};

/// A byte-based progress bar for one input, or nothing when disabled.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts a bar for an input of `total` bytes (unknown for standard
    /// input and compressed files: a spinner then).
    pub fn start(enabled: bool, label: &str, total: Option<u64>) -> Self {
        if !enabled {
            return Progress { bar: None };
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(label.to_owned());
        Progress { bar: Some(bar) }
    }

    /// Moves the bar to `bytes` read.
    pub fn set_position(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
        }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
