//! Opening each input (log or capture) and feeding its events through the pipeline.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use picket_match::PREFETCH_DISTANCE;
use picket_output::InputSummary;
use picket_store::{FileIdentity, Store};
use tracing::{info, warn};

use super::pipeline::Pipeline;
use super::progress::Progress;
use super::readahead::read_ahead;
use crate::commands::inputs::{InputOptions, open_reader};

/// Time after which events read from standard input are committed to the
/// store: after a batch matched this long after the last commit, or once
/// no batch came for this long. A log followed on standard input usually
/// ends with a signal, which loses the open transaction, and the store's
/// own batch of 50,000 events can take hours to fill on a live log. A
/// signal then loses the line being read and what was matched within this
/// time before it.
const STDIN_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// Reads one input through the pipeline and returns its counts. Problems
/// with this input are recorded in the summary, not raised, so the other
/// inputs are still read; only a store failure stops the run. With
/// `reread`, an input the store records as read is read again.
pub fn analyze_one(
    path: &Path,
    options: &InputOptions,
    reread: bool,
    store: Option<&Store>,
    pipeline: &mut Pipeline<'_>,
    show_progress: bool,
) -> anyhow::Result<InputSummary> {
    let mut summary = InputSummary {
        path: path.display().to_string(),
        ..InputSummary::default()
    };

    let reader = match open_reader(path, options) {
        Ok(reader) => reader,
        Err(error) => {
            warn!(input = %path.display(), error = %format!("{error:#}"), "input skipped");
            summary.error = Some(format!("{error:#}"));
            return Ok(summary);
        }
    };
    summary.format = reader.format_name().to_owned();

    let prior = prior_ingest(path, store, reader.format_name())?;
    if let Some(prior) = &prior
        && prior.complete
        && !reread
    {
        info!(input = %path.display(), "already in the store; skipped");
        summary.already_stored = prior.events;
        return Ok(summary);
    }
    let skip_before = prior.as_ref().map_or(0, |p| p.end_offset);
    pipeline.set_ingest(prior.as_ref().map(|p| p.ingest_id))?;

    let total = std::fs::metadata(path).ok().map(|m| m.len());
    let progress = Progress::start(show_progress, &summary.path, total);
    let mut end_offset = skip_before;
    let is_stdin = path == Path::new("-");
    let mut last_commit = Instant::now();
    let mut uncommitted = false;

    let idle_after = is_stdin.then_some(STDIN_COMMIT_INTERVAL);
    let stats = read_ahead(reader, idle_after, |batch| {
        let Some(batch) = batch else {
            // A quiet followed log: commit what was matched since the last
            // commit.
            if uncommitted {
                pipeline.commit()?;
                last_commit = Instant::now();
                uncommitted = false;
            }
            return Ok(());
        };

        // By reference: an event is several hundred bytes, and moving it
        // out of the batch would copy it once more.
        for (i, record) in batch.records.iter().enumerate() {
            // The matcher's cache misses for an event a few places ahead
            // then overlap with this event's work.
            if let Some(Ok(ahead)) = batch.records.get(i + PREFETCH_DISTANCE) {
                pipeline.prefetch(ahead);
            }

            let event = match record {
                Ok(event) => event,
                Err(rejection) => {
                    summary.record_rejection(rejection);
                    continue;
                }
            };

            let offset = event.location().offset.unwrap_or(0);
            let stored_before = offset < skip_before;
            if stored_before {
                summary.already_stored += 1;
                if !reread {
                    continue;
                }
            }
            end_offset = end_offset.max(offset + 1);
            pipeline.process(event, !stored_before)?;
        }
        uncommitted = true;
        if is_stdin && last_commit.elapsed() >= STDIN_COMMIT_INTERVAL {
            pipeline.commit()?;
            last_commit = Instant::now();
            uncommitted = false;
        }
        progress.set_position(batch.bytes_read);
        Ok(())
    })?;
    progress.finish();

    summary.records = stats.records;
    summary.events = stats.events;
    summary.skipped = stats.skipped;
    summary.bytes = stats.bytes;
    summary.rejected = summary.rejected.max(stats.rejected);

    pipeline.commit()?;
    if let (Some(store), Some(prior)) = (store, prior)
        && !prior.complete
    {
        let events = prior.events_before + stats.events.saturating_sub(summary.already_stored);
        store
            .finish_ingest(prior.ingest_id, true, end_offset, events)
            .context("cannot record the input in the store")?;
    }
    Ok(summary)
}

/// The store's record of an input from earlier runs.
struct PriorIngest {
    ingest_id: i64,
    complete: bool,
    end_offset: u64,
    events: u64,
    events_before: u64,
}

/// Looks the input up by content and opens a new ingest record for this
/// read. Standard input and runs without a store have no record.
fn prior_ingest(
    path: &Path,
    store: Option<&Store>,
    format: &str,
) -> anyhow::Result<Option<PriorIngest>> {
    let Some(store) = store else { return Ok(None) };
    if path == Path::new("-") {
        return Ok(None);
    }

    let identity = FileIdentity::of_file(path)?;
    let earlier = store.find_ingest(&identity)?;
    let complete = earlier
        .as_ref()
        .is_some_and(|e| e.finished && e.length == identity.length);
    if complete {
        // A reread goes through every event again but stores none of them:
        // each lies before the end offset of the complete read.
        let (events, end_offset) = earlier
            .as_ref()
            .map_or((0, 0), |e| (e.events, e.end_offset));
        return Ok(Some(PriorIngest {
            ingest_id: 0,
            complete: true,
            end_offset,
            events,
            events_before: events,
        }));
    }

    let started = jiff::Timestamp::now().as_nanosecond();
    let started = i64::try_from(started).unwrap_or(i64::MAX);
    let ingest_id = store.begin_ingest(&path.display().to_string(), &identity, format, started)?;
    Ok(Some(PriorIngest {
        ingest_id,
        complete: false,
        end_offset: earlier.as_ref().map_or(0, |e| e.end_offset),
        events: 0,
        events_before: earlier.as_ref().map_or(0, |e| e.events),
    }))
}
