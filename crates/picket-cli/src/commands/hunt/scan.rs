//! The parallel scan behind `picket hunt`.
//!
//! The day partitions in the time range are cut into runs of blocks, which
//! worker threads take in turn, each with its own read-only connection and
//! all sharing one compiled matcher. A worker reads each stored record into
//! a borrowed view of the fields matching reads and decodes the whole event
//! only for a hit. For each hit it builds the alert and checks its dedupe
//! key against the alerts stored when its chunk was read. When the output
//! takes JSON lines, it also renders the line, so the one thread that writes
//! alerts does little per alert.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context;
use picket_event::{Alert, Event, IntelHit, Sink, Timestamp, codec, decode_view};
use picket_intel::IndicatorKind;
use picket_match::Matcher;
use picket_output::{JsonlSink, alert_line};
use picket_store::{
    BlockInfo, RecordScan, Store, StoreError, StoreWriter, WriterConfig, dedupe_key,
};
use tracing::{info, warn};

use super::{HuntOptions, HuntSummary, SightingCount};

/// Batches of alerts buffered between the scanning workers and the
/// writer: with [`ALERT_BATCH`], at most 4,096 alerts wait, which bounds
/// memory when an indicator matches a large part of the history.
pub(super) const ALERT_QUEUE: usize = 16;

/// Alerts a worker sends at once. Sending each alert alone woke the writer
/// thread once per hit, a context switch per alert.
pub(super) const ALERT_BATCH: usize = 256;

/// Alerts recorded per store transaction. Before each commit the output is
/// flushed, so the store never marks as known an alert that the output did
/// not accept.
const RECORD_BATCH: usize = 50_000;

/// Blocks per unit of work: 64 blocks of 512 events, about 33,000 events,
/// small enough that one day keeps every thread busy and large enough that
/// the per-unit query costs nothing measurable.
const CHUNK_BLOCKS: i64 = 64;

/// Destination of the alerts a hunt did not find stored.
pub enum AlertOutput<'a> {
    /// Each alert is passed to the function, on the thread that called
    /// [`hunt`].
    Each(&'a mut dyn FnMut(&Alert)),
    /// Each alert is written to the sink as one JSON line. The scanning
    /// threads render the lines, so a hunt with millions of hits does not
    /// wait on one thread to serialise them. [`hunt`] flushes the sink
    /// before it returns a summary.
    Lines(&'a mut JsonlSink<Box<dyn Write>>),
}

/// Scans every stored day in the range with `matcher`, in parallel, and
/// sends each alert not stored before to `output` (recording it in the
/// store when `options.record`).
pub fn hunt(
    store: &Store,
    matcher: &Matcher,
    options: &HuntOptions,
    output: &mut AlertOutput<'_>,
) -> anyhow::Result<HuntSummary> {
    let started = Instant::now();
    let (days, chunks) = plan(store, options)?;
    let threads = options.thread_count(chunks.len());
    info!(
        days = days.len(),
        threads,
        indicators = matcher.len(),
        "hunting over stored history"
    );

    let mut summary = HuntSummary {
        record_type: "hunt_summary",
        indicators: matcher.len(),
        days: days.len(),
        ..HuntSummary::default()
    };
    let work = Work {
        path: store.path(),
        chunks: &chunks,
        next: AtomicUsize::new(0),
        matcher,
        options,
        render: matches!(output, AlertOutput::Lines(_)),
        keep_alert: options.record || matches!(output, AlertOutput::Each(_)),
    };
    // With no batch limit, the writer commits only when `commit` is called,
    // which happens after the output is flushed.
    let mut writer = options.record.then(|| {
        store.writer(WriterConfig {
            batch_size: usize::MAX,
            ..WriterConfig::default()
        })
    });
    let mut uncommitted = 0usize;
    let mut sightings = Sightings::new();
    let mut new_sightings: Vec<(IndicatorKind, String, Timestamp)> = Vec::new();
    let mut failed_days = HashSet::new();
    let mut failure: Option<anyhow::Error> = None;
    let (tx, rx) = mpsc::sync_channel::<Message>(ALERT_QUEUE);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let work = &work;
            scope.spawn(move || scan_worker(work, &tx));
        }
        drop(tx);

        // Leaving the loop drops the receiver, which stops the workers at
        // their next send.
        for message in rx {
            match message {
                Message::Found(batch) => {
                    for found in batch {
                        let fresh = match (writer.as_mut(), found.alert.as_ref()) {
                            (Some(writer), Some(alert)) => writer.insert_alert(alert, &found.key),
                            _ => Ok(true),
                        };
                        match fresh {
                            Ok(true) => {}
                            Ok(false) => {
                                summary.alerts_known += 1;
                                continue;
                            }
                            Err(e) => {
                                failure = Some(
                                    anyhow::Error::new(e)
                                        .context("cannot record alerts in the store"),
                                );
                                break;
                            }
                        }

                        summary.alerts_new += 1;
                        if options.record {
                            uncommitted += 1;
                            if let Some(sighting) = found.alert.as_ref().and_then(new_sighting) {
                                new_sightings.push(sighting);
                            }
                        }
                        if let Err(e) = deliver(output, found) {
                            failure = Some(anyhow::Error::new(e).context("cannot write alerts"));
                            break;
                        }
                    }
                    if failure.is_none()
                        && uncommitted >= RECORD_BATCH
                        && let Some(writer) = writer.as_mut()
                    {
                        failure = commit(store, writer, output, &mut new_sightings).err();
                        uncommitted = 0;
                    }
                    if failure.is_some() {
                        break;
                    }
                }
                Message::ChunkDone(counts) => summary.add(&counts),
                Message::ChunkFailed { day, error, counts } => {
                    summary.add(&counts);
                    warn!(day, %error, "a day partition could not be scanned");
                    if failed_days.insert(day) {
                        summary.days_failed += 1;
                    }
                }
                Message::Sightings(counted) => sightings.merge(counted),
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }

    match writer.as_mut() {
        Some(writer) => commit(store, writer, output, &mut new_sightings)?,
        None => flush(output)?,
    }

    summary.sightings = sightings.into_counts();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.events_per_second = if summary.seconds > 0.0 {
        summary.events_scanned as f64 / summary.seconds
    } else {
        0.0
    };
    info!(
        events = summary.events_scanned,
        hits = summary.hits,
        new = summary.alerts_new,
        known = summary.alerts_known,
        seconds = summary.seconds,
        "hunt finished"
    );
    Ok(summary)
}

/// Lists the stored days in the range and cuts them into chunks.
fn plan(store: &Store, options: &HuntOptions) -> anyhow::Result<(Vec<i64>, Vec<Chunk>)> {
    let first_day = options.since.map(Timestamp::day_number);
    let last_day = options
        .until
        .map(|t| Timestamp::from_nanos(t.as_nanos().saturating_sub(1)).day_number());
    let days: Vec<i64> = store
        .days()?
        .into_iter()
        .filter(|d| first_day.is_none_or(|f| *d >= f) && last_day.is_none_or(|l| *d <= l))
        .collect();

    let mut chunks = Vec::new();
    for &day in &days {
        let Some((first, last)) = store.day_blocks(day)? else {
            continue;
        };
        let mut start = first;
        while start <= last {
            let end = start.saturating_add(CHUNK_BLOCKS - 1).min(last);
            chunks.push(Chunk {
                day,
                first: start,
                last: end,
            });
            start = end.saturating_add(1);
            if end == i64::MAX {
                break;
            }
        }
    }
    Ok((days, chunks))
}

/// Flushes the output, then records the sightings of the alerts recorded
/// since the last commit and commits the store transaction. An alert the
/// output did not accept is therefore never committed, and a later hunt
/// reports it again.
fn commit(
    store: &Store,
    writer: &mut StoreWriter<'_>,
    output: &mut AlertOutput<'_>,
    new_sightings: &mut Vec<(IndicatorKind, String, Timestamp)>,
) -> anyhow::Result<()> {
    flush(output)?;

    // Only hits not alerted before count as new sightings: `analyze`
    // already counted the others.
    let batch: Vec<(IndicatorKind, &str, Timestamp)> = new_sightings
        .iter()
        .map(|(k, v, t)| (*k, v.as_str(), *t))
        .collect();
    if !batch.is_empty() {
        picket_store::intel::create_schema(store.connection())
            .and_then(|()| picket_store::intel::record_sightings(store.connection(), &batch))
            .context("cannot record indicator sightings in the store")?;
    }
    new_sightings.clear();

    writer.commit().context("cannot record alerts in the store")
}

/// Writes out what the output buffers.
fn flush(output: &mut AlertOutput<'_>) -> anyhow::Result<()> {
    match output {
        AlertOutput::Each(_) => Ok(()),
        AlertOutput::Lines(sink) => sink.finish().context("cannot write alerts"),
    }
}

/// Hands one new alert to the output.
fn deliver(output: &mut AlertOutput<'_>, found: Found) -> Result<(), picket_event::SinkError> {
    match output {
        AlertOutput::Each(on_alert) => {
            if let Some(alert) = &found.alert {
                on_alert(alert);
            }
            Ok(())
        }
        AlertOutput::Lines(sink) => match &found.alert {
            // A line the worker could not render is rendered again here, so
            // that the sink reports the error with its name.
            Some(alert) if found.line.is_empty() => sink.write_alert(alert),
            _ => sink.write_line(&found.line),
        },
    }
}

/// Returns the sighting a new alert adds to its indicator's record.
fn new_sighting(alert: &Alert) -> Option<(IndicatorKind, String, Timestamp)> {
    let hit = alert.indicators.first()?;
    let kind = IndicatorKind::ALL
        .into_iter()
        .find(|k| k.as_str() == hit.kind)?;
    Some((kind, hit.indicator.clone(), alert.timestamp))
}

/// State shared by the workers.
struct Work<'a> {
    path: &'a Path,
    chunks: &'a [Chunk],
    /// Index of the next chunk to take.
    next: AtomicUsize,
    matcher: &'a Matcher,
    options: &'a HuntOptions,
    /// True when workers render each alert as a JSON line.
    render: bool,
    /// True when workers send the alert itself, because the writer records
    /// it or passes it on.
    keep_alert: bool,
}

/// A run of blocks of one day partition: the unit of work of a scan.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    day: i64,
    first: i64,
    last: i64,
}

enum Message {
    /// Alerts not found stored, at most [`ALERT_BATCH`].
    Found(Vec<Found>),
    ChunkDone(ChunkCounts),
    /// A chunk that could not be read to its end, with the counts of what
    /// was read of it.
    ChunkFailed {
        day: i64,
        error: String,
        counts: ChunkCounts,
    },
    /// Hits per indicator counted by one worker, sent when it stops.
    Sightings(Sightings),
}

/// Counts of one scanned chunk, or of the part of it read before a
/// failure.
#[derive(Clone, Copy, Debug, Default)]
struct ChunkCounts {
    /// Events read.
    scanned: u64,
    /// Events inside the time range, matched.
    matched: u64,
    /// Indicator hits.
    hits: u64,
    /// Hits whose alert was already stored.
    known: u64,
}

impl HuntSummary {
    /// Adds the counts of one chunk.
    fn add(&mut self, counts: &ChunkCounts) {
        self.events_scanned += counts.scanned;
        self.events_matched += counts.matched;
        self.hits += counts.hits;
        self.alerts_known += counts.known;
    }
}

/// One hit whose alert was not stored when its chunk was read.
struct Found {
    /// The alert, when the writer records it or passes it on, or when its
    /// line could not be rendered.
    alert: Option<Alert>,
    /// The alert's dedupe key.
    key: String,
    /// The alert as one JSON line; empty unless the output takes lines.
    line: Vec<u8>,
}

/// Hits and newest hit time per indicator, by kind and value.
#[derive(Debug, Default)]
pub(super) struct Sightings(HashMap<String, HashMap<String, (u64, Timestamp)>>);

impl Sightings {
    fn new() -> Self {
        Self::default()
    }

    /// Counts one hit at `time`. Looking up before inserting keeps the
    /// common case, an indicator hit before, free of allocation.
    pub(super) fn add(&mut self, hit: &IntelHit, time: Timestamp) {
        let by_value = match self.0.get_mut(hit.kind.as_str()) {
            Some(by_value) => by_value,
            None => self.0.entry(hit.kind.clone()).or_default(),
        };
        match by_value.get_mut(hit.indicator.as_str()) {
            Some((count, last)) => {
                *count += 1;
                *last = (*last).max(time);
            }
            None => {
                by_value.insert(hit.indicator.clone(), (1, time));
            }
        }
    }

    pub(super) fn merge(&mut self, other: Sightings) {
        for (kind, values) in other.0 {
            let by_value = self.0.entry(kind).or_default();
            for (value, (count, last)) in values {
                let entry = by_value.entry(value).or_insert((0, last));
                entry.0 += count;
                entry.1 = entry.1.max(last);
            }
        }
    }

    /// Returns the counts, most hit first, then by value.
    pub(super) fn into_counts(self) -> Vec<SightingCount> {
        let mut counts: Vec<SightingCount> = self
            .0
            .into_iter()
            .flat_map(|(kind, values)| {
                values
                    .into_iter()
                    .map(move |(indicator, (count, last_seen))| SightingCount {
                        kind: kind.clone(),
                        indicator,
                        count,
                        last_seen,
                    })
            })
            .collect();
        counts.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.indicator.cmp(&b.indicator))
        });
        counts
    }
}

/// Takes chunks off the shared list until none is left, scanning each with
/// a read-only connection of its own, then sends its sighting counts.
fn scan_worker(work: &Work<'_>, tx: &mpsc::SyncSender<Message>) {
    let reader = match Store::open_read_only(work.path) {
        Ok(reader) => reader,
        Err(error) => {
            while let Some(chunk) = work.chunks.get(work.next.fetch_add(1, Ordering::Relaxed)) {
                let _ = tx.send(Message::ChunkFailed {
                    day: chunk.day,
                    error: error.to_string(),
                    counts: ChunkCounts::default(),
                });
            }
            return;
        }
    };

    let mut sightings = Sightings::new();
    while let Some(chunk) = work.chunks.get(work.next.fetch_add(1, Ordering::Relaxed)) {
        if !scan_chunk(work, &reader, chunk, &mut sightings, tx) {
            return;
        }
    }
    let _ = tx.send(Message::Sightings(sightings));
}

/// Scans one chunk and reports it. Returns false when the writer has
/// stopped.
fn scan_chunk(
    work: &Work<'_>,
    reader: &Store,
    chunk: &Chunk,
    sightings: &mut Sightings,
    tx: &mpsc::SyncSender<Message>,
) -> bool {
    let scan = RecordScan {
        blocks: Some((chunk.first, chunk.last)),
        since: work.options.since,
        until: work.options.until,
    };
    let mut counts = ChunkCounts::default();
    let mut receiver_gone = false;
    let mut hits: Vec<IntelHit> = Vec::new();
    let mut batch = Vec::new();

    let result = reader.scan_records(chunk.day, &scan, &mut |block, _, record| {
        if receiver_gone {
            return Ok(());
        }
        let outcome = match_record(block, record, work.matcher, work.options, &mut hits)?;
        counts.scanned += 1;
        let event = match outcome {
            Outcome::OutOfRange => return Ok(()),
            Outcome::Miss => {
                counts.matched += 1;
                return Ok(());
            }
            Outcome::Hit(event) => {
                counts.matched += 1;
                *event
            }
        };

        let last = hits.len() - 1;
        let mut event = Some(event);
        for (i, hit) in hits.iter().enumerate() {
            let evidence = if i == last {
                event.take()
            } else {
                event.clone()
            };
            let Some(evidence) = evidence else { break };
            let alert = intel_alert(evidence, hit);
            counts.hits += 1;
            sightings.add(hit, alert.timestamp);

            // The reader's snapshot contains every alert stored before the
            // hunt. The alerts this hunt records have keys of their own.
            let key = dedupe_key(&alert);
            if reader.has_alert(&key)? {
                counts.known += 1;
                continue;
            }
            batch.push(found(work, alert, key));
        }
        if batch.len() >= ALERT_BATCH {
            let full = std::mem::take(&mut batch);
            receiver_gone = tx.send(Message::Found(full)).is_err();
        }
        Ok(())
    });

    if !batch.is_empty() && tx.send(Message::Found(batch)).is_err() {
        return false;
    }
    let message = match result {
        Ok(_) => Message::ChunkDone(counts),
        Err(error) => Message::ChunkFailed {
            day: chunk.day,
            error: error.to_string(),
            counts,
        },
    };
    tx.send(message).is_ok() && !receiver_gone
}

/// Prepares a new alert for the writer: its line rendered when the output
/// takes lines, the alert kept when the writer needs it.
fn found(work: &Work<'_>, alert: Alert, key: String) -> Found {
    let mut line = Vec::new();
    if work.render && alert_line(&alert, &mut line).is_err() {
        line.clear();
    }
    let keep = work.keep_alert || line.is_empty();
    Found {
        alert: keep.then_some(alert),
        key,
        line,
    }
}

/// The result of matching one stored record.
enum Outcome {
    /// The event lies outside the time range.
    OutOfRange,
    /// No indicator hit.
    Miss,
    /// The decoded event, for the hits left in the hit list.
    Hit(Box<Event>),
}

/// Matches one stored record, filling `hits`.
///
/// The record is read into a borrowed view first and decoded whole only for
/// a hit. A record the view cannot read, or whose time it cannot read when
/// the block straddles the range, is decoded whole at once, so that the
/// full decoder reports it as before.
fn match_record(
    block: &BlockInfo,
    record: &[u8],
    matcher: &Matcher,
    options: &HuntOptions,
    hits: &mut Vec<IntelHit>,
) -> Result<Outcome, StoreError> {
    let decode = || {
        codec::decode::<Event>(record).map_err(|source| StoreError::Codec {
            table: block.table(),
            row: block.block,
            source,
        })
    };
    let in_range = |ts: Timestamp| {
        !(options.since.is_some_and(|s| ts < s) || options.until.is_some_and(|u| ts >= u))
    };

    hits.clear();
    // The view is matched where it lies: moving it costs more than reading
    // a small record.
    if let Ok(view) = &decode_view(record) {
        let time = if block.within { None } else { view.timestamp() };
        if block.within || time.is_some() {
            if time.is_some_and(|t| !in_range(t)) {
                return Ok(Outcome::OutOfRange);
            }
            matcher.match_view(view, hits);
            if hits.is_empty() {
                return Ok(Outcome::Miss);
            }
            return Ok(Outcome::Hit(Box::new(decode()?)));
        }
    }

    let event = decode()?;
    if !in_range(event.timestamp()) {
        return Ok(Outcome::OutOfRange);
    }
    matcher.match_event(&event, hits);
    if hits.is_empty() {
        return Ok(Outcome::Miss);
    }
    Ok(Outcome::Hit(Box::new(event)))
}

/// Builds a retrospective `intel.match` alert from one indicator hit, the
/// same alert `analyze` raises apart from the flag, so both share one dedupe
/// key.
pub fn intel_alert(event: Event, hit: &IntelHit) -> Alert {
    let mut alert = crate::commands::intel_alert(event, hit);
    alert.retrospective = true;
    alert
}
