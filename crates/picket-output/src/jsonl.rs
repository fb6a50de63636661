//! Alerts as JSON Lines: one alert object a line, schema in `docs/schema.md`.

use std::io::Write;

use picket_event::{Alert, Sink, SinkError};

/// Largest line buffer kept between alerts, in bytes, so that a rare alert
/// with many large events does not hold its memory afterwards.
const MAX_KEPT_LINE: usize = 1 << 20;

/// Writes each alert as one line of JSON.
pub struct JsonlSink<W: Write> {
    name: String,
    writer: W,
    /// The line being built. serde_json writes a value in many small pieces,
    /// and each piece costs a call through `W` (often a `Box<dyn Write>`),
    /// so an alert is built here and written in one call.
    line: Vec<u8>,
    written: u64,
}

impl<W: Write> JsonlSink<W> {
    /// A sink writing to `writer`; `name` appears in error messages
    /// (a file path, or `stdout`).
    pub fn new(name: impl Into<String>, writer: W) -> Self {
        JsonlSink {
            name: name.into(),
            writer,
            line: Vec::new(),
            written: 0,
        }
    }

    /// Alerts written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes one line that [`alert_line`] rendered, newline included, and
    /// counts it as an alert. Threads that render lines in parallel hand
    /// them to one sink this way.
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), SinkError> {
        self.writer
            .write_all(line)
            .map_err(|e| SinkError::new(&self.name, e))?;
        self.written += 1;
        Ok(())
    }
}

/// Appends `alert` to `line` as one line of JSON, newline included: the
/// line [`JsonlSink`] writes.
pub fn alert_line(alert: &Alert, line: &mut Vec<u8>) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *line, alert)?;
    line.push(b'\n');
    Ok(())
}

impl<W: Write> Sink for JsonlSink<W> {
    fn name(&self) -> &str {
        &self.name
    }

    fn write_alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.line.clear();
        alert_line(alert, &mut self.line).map_err(|e| SinkError::new(&self.name, e))?;
        self.writer
            .write_all(&self.line)
            .map_err(|e| SinkError::new(&self.name, e))?;
        if self.line.capacity() > MAX_KEPT_LINE {
            self.line = Vec::new();
        }
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.writer
            .flush()
            .map_err(|e| SinkError::new(&self.name, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_event::{Event, HttpEvent, SourceLocation};

    #[test]
    fn one_alert_per_line() {
        let event = Event::from(HttpEvent {
            location: SourceLocation::line("a.log".into(), 3, 200),
            ..HttpEvent::default()
        });
        let alert = Alert::new("http.test", 0.8, "found".into(), vec![event]);
        let mut sink = JsonlSink::new("memory", Vec::new());
        sink.write_alert(&alert).unwrap();
        sink.write_alert(&alert).unwrap();
        sink.finish().unwrap();

        let text = String::from_utf8(sink.writer).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let value: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(value["type"], "alert");
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["detector"], "http.test");
        assert_eq!(value["severity"], "high");
        assert_eq!(value["events"][0]["log.line"], 3);
    }

    /// A writer that takes the first `room` bytes and fails every later
    /// write, as a full disk does.
    struct FullDisk {
        accepted: Vec<u8>,
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let take = buf.len().min(self.room - self.accepted.len());
            if take == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            self.accepted.extend_from_slice(&buf[..take]);
            Ok(take)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn alert_with_url(url: &str) -> Alert {
        let event = Event::from(HttpEvent {
            location: SourceLocation::line("a.log".into(), 3, 200),
            url: url.into(),
            ..HttpEvent::default()
        });
        Alert::new("http.test", 0.8, "found".into(), vec![event])
    }

    #[test]
    fn rendered_lines_match_alerts() {
        let alerts = [
            alert_with_url("http://a.example/\u{e9}\"q\""),
            alert_with_url(""),
        ];
        let mut direct = JsonlSink::new("direct", Vec::new());
        let mut rendered = JsonlSink::new("rendered", Vec::new());
        for alert in &alerts {
            direct.write_alert(alert).unwrap();
            let mut line = Vec::new();
            alert_line(alert, &mut line).unwrap();
            rendered.write_line(&line).unwrap();
        }

        assert_eq!(direct.writer, rendered.writer);
        assert_eq!(rendered.written(), 2);
    }

    #[test]
    fn write_error_is_reported() {
        let alert = alert_with_url("http://a.example/");
        let line_length = serde_json::to_vec(&alert).unwrap().len() + 1;
        let writer = FullDisk {
            accepted: Vec::new(),
            room: line_length + 10,
        };
        let mut sink = JsonlSink::new("full", writer);

        assert!(sink.write_alert(&alert).is_ok());
        let error = sink.write_alert(&alert).unwrap_err();
        assert!(error.to_string().contains("full"), "{error}");
        assert_eq!(sink.written(), 1);
        let first_line = &sink.writer.accepted[..line_length];
        assert_eq!(first_line.last(), Some(&b'\n'));
        let first: serde_json::Value = serde_json::from_slice(first_line).unwrap();
        assert_eq!(first, serde_json::to_value(&alert).unwrap());
    }

    /// A line past the kept buffer size frees the buffer, and the next
    /// alert is still written whole.
    #[test]
    fn long_line_then_short_line() {
        let long = alert_with_url(&format!("http://a.example/{}", "x".repeat(MAX_KEPT_LINE)));
        let short = alert_with_url("http://b.example/");
        let mut sink = JsonlSink::new("memory", Vec::new());
        sink.write_alert(&long).unwrap();
        sink.write_alert(&short).unwrap();
        sink.finish().unwrap();

        assert_eq!(sink.written(), 2);

        let text = String::from_utf8(sink.writer).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(first, serde_json::to_value(&long).unwrap());
        assert_eq!(second, serde_json::to_value(&short).unwrap());
    }
}
