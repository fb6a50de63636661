//! The scan of logs and captures behind `picket hunt INPUT...`.
//!
//! Worker threads take the inputs in turn, one input per thread at a time,
//! and read each with [`picket_event::EventReader::visit_batch`]. Every
//! record is matched as a view borrowed from the reader, and the reader
//! builds the event only for a record that hits. The matcher starts
//! loading the filter words of a view a few records before it matches it. The worker turns each hit into a retrospective
//! `intel.match` alert and renders its JSON line; the calling thread only
//! writes the lines. No store is opened: the alerts are not deduplicated
//! against earlier runs, and no sighting is recorded.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use picket_event::{Alert, Event, EventView, IntelHit, RecordVisitor, Rejection, Sink};
use picket_event::{SinkError, Timestamp};
use picket_match::{Matcher, PREFETCH_DISTANCE};
use picket_output::{InputSummary, JsonlSink, alert_line};
use serde::Serialize;
use tracing::{info, warn};

use super::scan::{ALERT_BATCH, ALERT_QUEUE, Sightings, intel_alert};
use super::{HuntOptions, SightingCount};
use crate::commands::inputs::{InputOptions, open_reader};

/// Rejected records logged one by one, over all inputs. The rest are only
/// counted, and each input's summary keeps the first few with their
/// locations.
const LOGGED_REJECTIONS: u64 = 5;

/// Counts and timing of a hunt through inputs, printed as its summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InputHuntSummary {
    /// Always `"input_hunt_summary"`.
    #[serde(rename = "type")]
    pub record_type: &'static str,
    /// Indicators hunted for (whitelist entries not counted).
    pub indicators: usize,
    /// Per-input counts, in the order the inputs were given (directories
    /// expanded), each with its first rejected records and, for an input
    /// that could not be read, the error.
    pub inputs: Vec<InputSummary>,
    /// Inputs that could not be opened or read (each also logged).
    pub inputs_failed: usize,
    /// Events read from the inputs.
    pub events_scanned: u64,
    /// Events inside the time range, matched.
    pub events_matched: u64,
    /// Records the readers rejected, over all inputs.
    pub records_rejected: u64,
    /// Indicator hits.
    pub hits: u64,
    /// Alerts written, one per hit.
    pub alerts: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Events scanned per second.
    pub events_per_second: f64,
    /// Hits per indicator, most hit first.
    pub sightings: Vec<SightingCount>,
}

/// Hunts through the logs and captures at `paths` with `matcher`, writing
/// one alert line per hit to `sink`. `options.since` and `options.until`
/// bound the events' own timestamps, and `options.threads` sets how many
/// inputs are read at once. Nothing is stored, so `options.record` is not
/// read.
///
/// An input that cannot be read is reported in its summary and the others
/// are still read. Returns an error only when the sink fails.
pub fn hunt_inputs(
    paths: &[PathBuf],
    input: &InputOptions,
    matcher: &Matcher,
    options: &HuntOptions,
    sink: &mut JsonlSink<Box<dyn Write>>,
) -> anyhow::Result<InputHuntSummary> {
    let started = Instant::now();
    let threads = options.thread_count(paths.len());
    info!(
        inputs = paths.len(),
        threads,
        indicators = matcher.len(),
        "hunting through inputs"
    );

    let work = Work {
        paths,
        next: AtomicUsize::new(0),
        input,
        matcher,
        since: options.since,
        until: options.until,
        rejections: AtomicU64::new(0),
    };
    let mut inputs: Vec<Option<InputSummary>> = vec![None; paths.len()];
    let mut summary = InputHuntSummary {
        record_type: "input_hunt_summary",
        indicators: matcher.len(),
        ..InputHuntSummary::default()
    };
    let mut sightings = Sightings::default();
    let mut outside = 0u64;
    let mut failure: Option<SinkError> = None;
    let (tx, rx) = mpsc::sync_channel::<Message>(ALERT_QUEUE);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let work = &work;
            scope.spawn(move || scan_worker(work, &tx));
        }
        drop(tx);

        // Dropping the receiver after the loop stops the workers at their
        // next send.
        let mut unflushed = false;
        loop {
            let message = match rx.try_recv() {
                Ok(message) => message,
                Err(mpsc::TryRecvError::Disconnected) => break,
                // A followed log on standard input shows its alerts as they
                // are found: the output is flushed whenever no more wait.
                Err(mpsc::TryRecvError::Empty) => {
                    if unflushed && let Err(error) = sink.finish() {
                        failure = Some(error);
                        break;
                    }
                    unflushed = false;
                    match rx.recv() {
                        Ok(message) => message,
                        Err(_) => break,
                    }
                }
            };

            match message {
                Message::Found(batch) => {
                    unflushed = true;
                    if let Err(error) = write_batch(sink, batch) {
                        failure = Some(error);
                        break;
                    }
                }
                Message::InputDone {
                    index,
                    input,
                    hits,
                    out_of_range,
                } => {
                    summary.hits += hits;
                    outside += out_of_range;
                    inputs[index] = Some(*input);
                }
                Message::Sightings(counted) => sightings.merge(counted),
            }
        }
        drop(rx);
    });
    if let Some(error) = failure {
        return Err(anyhow::Error::new(error).context("cannot write alerts"));
    }
    sink.finish()
        .map_err(|e| anyhow::Error::new(e).context("cannot write alerts"))?;

    for (input, path) in inputs.into_iter().zip(paths) {
        // A worker that stopped early leaves its input unreported. That
        // happens only when the sink failed, and the failure was returned above.
        let input = input.unwrap_or_else(|| InputSummary {
            path: path.display().to_string(),
            error: Some("not read".to_owned()),
            ..InputSummary::default()
        });
        summary.events_scanned += input.events;
        summary.records_rejected += input.rejected;
        if input.error.is_some() {
            summary.inputs_failed += 1;
        }
        summary.inputs.push(input);
    }
    summary.alerts = sink.written();
    summary.events_matched = summary.events_scanned.saturating_sub(outside);
    summary.sightings = sightings.into_counts();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.events_per_second = if summary.seconds > 0.0 {
        summary.events_scanned as f64 / summary.seconds
    } else {
        0.0
    };
    if summary.records_rejected > LOGGED_REJECTIONS {
        warn!(
            rejected = summary.records_rejected,
            logged = LOGGED_REJECTIONS,
            "records rejected; the summary lists the first of each input"
        );
    }
    info!(
        events = summary.events_scanned,
        hits = summary.hits,
        inputs_failed = summary.inputs_failed,
        seconds = summary.seconds,
        "hunt finished"
    );
    Ok(summary)
}

/// Writes one batch of alerts in the order the worker found them.
fn write_batch(sink: &mut JsonlSink<Box<dyn Write>>, batch: Vec<Found>) -> Result<(), SinkError> {
    for found in batch {
        match found {
            Found::Line(line) => sink.write_line(&line)?,
            // Rendered again here, so that the sink reports the error with
            // its name.
            Found::Alert(alert) => sink.write_alert(&alert)?,
        }
    }
    Ok(())
}

/// State shared by the workers.
struct Work<'a> {
    paths: &'a [PathBuf],
    /// Index of the next input to take.
    next: AtomicUsize,
    input: &'a InputOptions,
    matcher: &'a Matcher,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    /// Records rejected so far over all inputs, for logging the first few.
    rejections: AtomicU64,
}

impl Work<'_> {
    /// Tells whether an event at `time` lies inside the scanned range.
    fn in_range(&self, time: Timestamp) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }

    /// Logs a rejected record while few have been logged.
    fn log_rejection(&self, rejection: &Rejection) {
        if self.rejections.fetch_add(1, Ordering::Relaxed) < LOGGED_REJECTIONS {
            warn!(%rejection, "record rejected");
        }
    }
}

enum Message {
    /// Alerts of one input, at most [`ALERT_BATCH`], in input order.
    Found(Vec<Found>),
    /// The counts of the input at `index` of the list, sent after its last
    /// alert.
    InputDone {
        index: usize,
        input: Box<InputSummary>,
        hits: u64,
        /// Events outside the time range.
        out_of_range: u64,
    },
    /// Hits per indicator counted by one worker, sent when it stops.
    Sightings(Sightings),
}

/// One alert, as the writer takes it.
enum Found {
    /// Rendered as a JSON line, newline included.
    Line(Vec<u8>),
    /// An alert whose line could not be rendered.
    Alert(Box<Alert>),
}

/// Takes inputs off the shared list until none is left, then sends its
/// sighting counts.
fn scan_worker(work: &Work<'_>, tx: &mpsc::SyncSender<Message>) {
    let mut sightings = Sightings::default();
    loop {
        let index = work.next.fetch_add(1, Ordering::Relaxed);
        let Some(path) = work.paths.get(index) else {
            break;
        };
        if !scan_input(work, index, path, &mut sightings, tx) {
            return;
        }
    }
    let _ = tx.send(Message::Sightings(sightings));
}

/// Hunts through one input and reports it. Returns false when the writer
/// has stopped.
fn scan_input(
    work: &Work<'_>,
    index: usize,
    path: &Path,
    sightings: &mut Sightings,
    tx: &mpsc::SyncSender<Message>,
) -> bool {
    let mut input = InputSummary {
        path: path.display().to_string(),
        ..InputSummary::default()
    };
    let mut reader = match open_reader(path, work.input) {
        Ok(reader) => reader,
        Err(error) => {
            warn!(input = %path.display(), error = %format!("{error:#}"), "input skipped");
            input.error = Some(format!("{error:#}"));
            return tx.send(done(index, input, 0, 0)).is_ok();
        }
    };
    input.format = reader.format_name().to_owned();

    let mut visitor = InputVisitor {
        work,
        tx,
        sightings,
        input: &mut input,
        hits: Vec::new(),
        batch: Vec::new(),
        hit_count: 0,
        out_of_range: 0,
        stopped: false,
    };
    loop {
        let more = reader.visit_batch(READ_BATCH, &mut visitor);

        // What is left goes out when the reader would wait for more input,
        // so that a followed log's alerts are not held back.
        if !more || !reader.has_buffered_record() {
            visitor.send_batch();
        }
        if visitor.stopped {
            return false;
        }
        if !more {
            break;
        }
    }
    let (hit_count, out_of_range) = (visitor.hit_count, visitor.out_of_range);

    let stats = reader.stats();
    input.records = stats.records;
    input.events = stats.events;
    input.skipped = stats.skipped;
    input.bytes = stats.bytes;
    input.rejected = input.rejected.max(stats.rejected);
    tx.send(done(index, input, hit_count, out_of_range)).is_ok()
}

/// Records read per [`EventReader::visit_batch`] call: the lines one read
/// of the Squid reader's buffer holds, about 150 KB.
const READ_BATCH: usize = 1024;

/// Matches each record of one input as the reader passes it, and turns the
/// hits of each kept event into alert lines.
struct InputVisitor<'a, 'w> {
    work: &'a Work<'w>,
    tx: &'a mpsc::SyncSender<Message>,
    sightings: &'a mut Sightings,
    input: &'a mut InputSummary,
    /// Hits of the view `keep` accepted last, which the next kept event is
    /// built from.
    hits: Vec<IntelHit>,
    /// Alert lines not sent yet.
    batch: Vec<Found>,
    hit_count: u64,
    /// Events outside the time range.
    out_of_range: u64,
    /// Set when the writer has stopped: alerts are then dropped.
    stopped: bool,
}

impl InputVisitor<'_, '_> {
    /// Sends the alert lines not sent yet, unless the writer has stopped.
    fn send_batch(&mut self) {
        if self.batch.is_empty() || self.stopped {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        if self.tx.send(Message::Found(batch)).is_err() {
            self.stopped = true;
        }
    }
}

impl RecordVisitor for InputVisitor<'_, '_> {
    fn ahead_distance(&self) -> usize {
        PREFETCH_DISTANCE
    }

    fn ahead(&mut self, view: &EventView<'_>) {
        self.work.matcher.prefetch_view(view);
    }

    fn keep(&mut self, view: &EventView<'_>) -> bool {
        // A view without a readable time is matched, and its event's time
        // is checked once the event is built.
        if view.timestamp().is_some_and(|t| !self.work.in_range(t)) {
            self.out_of_range += 1;
            return false;
        }
        self.hits.clear();
        self.work.matcher.match_view(view, &mut self.hits);
        !self.hits.is_empty()
    }

    fn event(&mut self, event: &Event) {
        if !self.work.in_range(event.timestamp()) {
            self.out_of_range += 1;
            return;
        }
        for hit in &self.hits {
            let alert = intel_alert(event.clone(), hit);
            self.sightings.add(hit, alert.timestamp);
            self.batch.push(render(alert));
        }
        self.hit_count += self.hits.len() as u64;
        if self.batch.len() >= ALERT_BATCH {
            self.send_batch();
        }
    }

    fn rejected(&mut self, rejection: Rejection) {
        self.work.log_rejection(&rejection);
        self.input.record_rejection(&rejection);
    }
}

/// Builds the message that reports a finished input.
fn done(index: usize, input: InputSummary, hits: u64, out_of_range: u64) -> Message {
    Message::InputDone {
        index,
        input: Box::new(input),
        hits,
        out_of_range,
    }
}

/// Renders a new alert's line, keeping the alert only when that fails.
fn render(alert: Alert) -> Found {
    let mut line = Vec::new();
    match alert_line(&alert, &mut line) {
        Ok(()) => Found::Line(line),
        Err(_) => Found::Alert(Box::new(alert)),
    }
}

/// Renders the summary as text, for a run whose alerts go to a file.
pub fn summary_text(s: &InputHuntSummary) -> String {
    let mut text = format!(
        "hunt: {} indicators over {} inputs: {} events scanned ({} in range), {} records rejected, in {:.2} s ({:.0} events/s); {} hits, {} alerts",
        s.indicators,
        s.inputs.len(),
        s.events_scanned,
        s.events_matched,
        s.records_rejected,
        s.seconds,
        s.events_per_second,
        s.hits,
        s.alerts
    );
    if s.inputs_failed > 0 {
        let inputs = if s.inputs_failed == 1 {
            "input"
        } else {
            "inputs"
        };
        text.push_str(&format!("; {} {inputs} could not be read", s.inputs_failed));
    }
    for input in &s.inputs {
        if let Some(error) = &input.error {
            text.push_str(&format!("\n  not read: {error}"));
        }
        for sample in &input.rejection_samples {
            text.push_str(&format!(
                "\n  rejected {}: {}",
                sample.location, sample.reason
            ));
        }
        let unlisted = input
            .rejected
            .saturating_sub(input.rejection_samples.len() as u64);
        if unlisted > 0 {
            text.push_str(&format!(
                "\n  and {unlisted} more rejected in {}",
                input.path
            ));
        }
    }
    for c in s.sightings.iter().take(20) {
        text.push_str(&format!(
            "\n  {} {}: {} hits, last {}",
            c.kind, c.indicator, c.count, c.last_seen
        ));
    }
    text
}
