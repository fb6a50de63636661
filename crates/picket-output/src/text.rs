//! Alerts as readable lines for a terminal.

use std::io::Write;

use picket_event::{Alert, Sink, SinkError};

/// Writes each alert as one readable line:
/// `TIME SEVERITY DETECTOR HOST SUMMARY (LOCATION)`.
pub struct TextSink<W: Write> {
    name: String,
    writer: W,
}

impl<W: Write> TextSink<W> {
    /// A sink writing to `writer`; `name` appears in error messages.
    pub fn new(name: impl Into<String>, writer: W) -> Self {
        TextSink {
            name: name.into(),
            writer,
        }
    }
}

/// Formats one alert as a single line.
pub fn alert_line(alert: &Alert) -> String {
    let host = alert
        .host
        .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    let location = alert
        .events
        .first()
        .map(|e| e.location().to_string())
        .unwrap_or_default();
    let severity = format!("{:?}", alert.severity).to_uppercase();
    let time = alert.timestamp.to_jiff().strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
    format!(
        "{time} {:<8} {:<26} {:<15} {} ({})",
        severity, alert.detector, host, alert.summary, location
    )
}

impl<W: Write> Sink for TextSink<W> {
    fn name(&self) -> &str {
        &self.name
    }

    fn write_alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        writeln!(self.writer, "{}", alert_line(alert)).map_err(|e| SinkError::new(&self.name, e))
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.writer.flush().map_err(|e| SinkError::new(&self.name, e))
    }
}
