//! The interface every output implements.

use crate::{Alert, Event};

/// A destination for alerts and, optionally, events: a JSON Lines file, the
/// store, a message bus. Outputs are sinks, never special cases.
pub trait Sink {
    /// The sink's name for messages, such as `jsonl` or `store`.
    fn name(&self) -> &str;

    /// Writes one alert.
    fn write_alert(&mut self, alert: &Alert) -> Result<(), SinkError>;

    /// Writes one event; sinks that keep only alerts ignore it.
    fn write_event(&mut self, _event: &Event) -> Result<(), SinkError> {
        Ok(())
    }

    /// Flushes and commits what was written.
    fn finish(&mut self) -> Result<(), SinkError>;
}

/// A sink that failed to write.
#[derive(Debug, thiserror::Error)]
#[error("output {sink} failed: {source}")]
pub struct SinkError {
    /// The sink's name.
    pub sink: String,
    /// What went wrong underneath.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl SinkError {
    /// Wraps an underlying error with the sink's name.
    pub fn new(sink: &str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        SinkError {
            sink: sink.to_owned(),
            source: source.into(),
        }
    }
}
