//! The per-event path: match, detect, store, report.

use std::io;
use std::sync::Arc;

use anyhow::Context;
use picket_event::{Alert, Detector, Event, IntelHit, Sink, SinkError, Timestamp};
use picket_intel::IndicatorKind;
use picket_match::{Matcher, SharedMatcher};
use picket_output::RunSummary;
use picket_store::intel as store_intel;
use picket_store::{Store, StoreWriter, pdns};
use rusqlite::Connection;
use tracing::warn;

mod pdns_batch;

use pdns_batch::PdnsBatch;

/// The indicators events are matched against.
pub enum Indicators {
    /// Built once before the run.
    Fixed(Box<Matcher>),
    /// Rebuilt while the run goes on, each event matched by the matcher in
    /// force when it arrives.
    Reloaded(Arc<SharedMatcher>),
}

impl Indicators {
    fn match_event(&self, event: &Event, hits: &mut Vec<IntelHit>) {
        match self {
            Indicators::Fixed(matcher) => matcher.match_event(event, hits),
            Indicators::Reloaded(shared) => shared.match_event(event, hits),
        }
    }

    fn prefetch(&self, event: &Event) {
        match self {
            Indicators::Fixed(matcher) => matcher.prefetch(event),
            Indicators::Reloaded(shared) => shared.prefetch(event),
        }
    }
}

/// Everything an event passes through after it was read.
pub struct Pipeline<'a> {
    matcher: Indicators,
    detectors: Vec<Box<dyn Detector>>,
    store: Option<StoreWriter<'a>>,
    passive_dns: Option<&'a Connection>,
    pdns_batch: PdnsBatch,
    sightings: Vec<(IndicatorKind, String, Timestamp)>,
    sinks: Vec<Box<dyn Sink + 'a>>,
    collected: Option<Vec<Alert>>,
    /// Hits of the current event.
    hits: Vec<IntelHit>,
    alerts: Vec<Alert>,
    summary: RunSummary,
}

impl<'a> Pipeline<'a> {
    /// Builds the pipeline. With `collect`, alerts are also kept in memory
    /// for a single JSON document at the end.
    pub fn new(
        matcher: Indicators,
        detectors: Vec<Box<dyn Detector>>,
        store: Option<(&'a Store, StoreWriter<'a>)>,
        sinks: Vec<Box<dyn Sink + 'a>>,
        collect: bool,
    ) -> Self {
        let passive_dns = store.as_ref().map(|(store, _)| store.connection());
        Pipeline {
            matcher,
            detectors,
            store: store.map(|(_, writer)| writer),
            passive_dns,
            pdns_batch: PdnsBatch::default(),
            sightings: Vec::new(),
            sinks,
            collected: collect.then(Vec::new),
            hits: Vec::new(),
            alerts: Vec::new(),
            summary: RunSummary::new(),
        }
    }

    /// Tags the events stored from now on with an ingest record id.
    pub fn set_ingest(&mut self, ingest: Option<i64>) -> anyhow::Result<()> {
        if let Some(store) = &mut self.store {
            store
                .set_ingest(ingest)
                .context("cannot write events to the store")?;
        }
        Ok(())
    }

    /// Starts loading the indicator filter words that matching `event`
    /// reads into the cache, for an event that [`Pipeline::process`] gets
    /// [`picket_match::PREFETCH_DISTANCE`] events later. A hint only: see
    /// [`Matcher::prefetch`].
    pub fn prefetch(&self, event: &Event) {
        self.matcher.prefetch(event);
    }

    /// Runs one event through matching and every detector, stores it when
    /// `store_event` is set, and reports the alerts it completes.
    ///
    /// The event goes through every detector before the next event, so its
    /// strings are read from cache by all of them. Letting each detector
    /// take a whole batch in turn was slower (BENCHMARKS.md).
    pub fn process(&mut self, event: &Event, store_event: bool) -> anyhow::Result<()> {
        self.hits.clear();
        self.matcher.match_event(event, &mut self.hits);
        for hit in &self.hits {
            self.alerts
                .push(super::super::intel_alert(event.clone(), hit));
            if self.passive_dns.is_some()
                && store_event
                && let Ok(kind) = hit.kind.parse::<IndicatorKind>()
            {
                self.sightings
                    .push((kind, hit.indicator.clone(), event.timestamp()));
            }
        }

        for detector in &mut self.detectors {
            detector.observe(event, &self.hits, &mut self.alerts);
        }

        if store_event {
            self.store_event(event)?;
        }
        self.emit_alerts()
    }

    fn store_event(&mut self, event: &Event) -> anyhow::Result<()> {
        if let Some(store) = &mut self.store {
            store
                .insert_event(event)
                .context("cannot write an event to the store")?;
        }
        if let (Some(_), Event::Dns(dns)) = (self.passive_dns, event)
            && pdns::records_anything(dns)
        {
            let full = self.pdns_batch.push(dns);
            if full {
                self.commit()?;
            }
        }
        Ok(())
    }

    /// Commits the store and folds the gathered DNS events into passive
    /// DNS; called after each input, so a later failure keeps it.
    pub fn commit(&mut self) -> anyhow::Result<()> {
        if let Some(store) = &mut self.store {
            store.commit().context("cannot commit to the store")?;
        }

        // Passive DNS and sightings run their own transactions on the same
        // connection, so only between the writer's batches.
        let Some(conn) = self.passive_dns else {
            return Ok(());
        };
        if !self.pdns_batch.events().is_empty() {
            pdns::ingest(conn, self.pdns_batch.events())
                .context("cannot write passive DNS to the store")?;
            self.pdns_batch.clear();
        }
        if !self.sightings.is_empty() {
            record_sightings(conn, &self.sightings)
                .context("cannot record indicator sightings in the store")?;
            self.sightings.clear();
        }
        Ok(())
    }

    /// Closes the detectors' windows, flushes every sink and returns the
    /// alerts kept for a JSON document (empty unless collecting).
    pub fn finish(mut self, summary: &mut RunSummary) -> anyhow::Result<Vec<Alert>> {
        for detector in &mut self.detectors {
            let first = self.alerts.len();
            detector.finish(&mut self.alerts);

            // Detectors drain their tables at the end of input in hash
            // order, which changes from run to run. Sorted, one input always
            // gives the same output.
            self.alerts[first..].sort_by_cached_key(end_of_input_order);
        }
        self.emit_alerts()?;
        self.commit()?;
        for sink in &mut self.sinks {
            finish_sink(sink.as_mut())?;
        }

        summary.add_alert_counts(&self.summary);
        Ok(self.collected.take().unwrap_or_default())
    }

    fn emit_alerts(&mut self) -> anyhow::Result<()> {
        for alert in self.alerts.drain(..) {
            self.summary.record_alert(&alert);

            if let Some(store) = &mut self.store {
                let key = picket_store::dedupe_key(&alert);
                store
                    .insert_alert(&alert, &key)
                    .context("cannot write an alert to the store")?;
            }
            self.sinks
                .retain_mut(|sink| write_or_drop(sink.as_mut(), &alert));
            if let Some(collected) = &mut self.collected {
                collected.push(alert);
            }
        }
        Ok(())
    }
}

/// Counts live hits on their indicators ("last sighted" and the hit count
/// that `picket intel query` shows), in one transaction.
fn record_sightings(
    conn: &Connection,
    sightings: &[(IndicatorKind, String, Timestamp)],
) -> rusqlite::Result<()> {
    let borrowed: Vec<(IndicatorKind, &str, Timestamp)> = sightings
        .iter()
        .map(|(kind, value, at)| (*kind, value.as_str(), *at))
        .collect();
    let transaction = conn.unchecked_transaction()?;
    store_intel::record_sightings(&transaction, &borrowed)?;
    transaction.commit()
}

/// Writes an alert; returns false to drop a sink whose reader went away
/// (a closed pipe), which ends that output quietly.
fn write_or_drop(sink: &mut dyn Sink, alert: &Alert) -> bool {
    match sink.write_alert(alert) {
        Ok(()) => true,
        Err(error) if is_broken_pipe(&error) => false,
        Err(error) => {
            warn!(sink = sink.name(), %error, "output failed; later alerts are not written to it");
            false
        }
    }
}

fn finish_sink(sink: &mut dyn Sink) -> anyhow::Result<()> {
    match sink.finish() {
        Err(error) if is_broken_pipe(&error) => Ok(()),
        other => other.with_context(|| format!("cannot finish the output {}", sink.name())),
    }
}

fn is_broken_pipe(error: &SinkError) -> bool {
    let kind = match error.source.downcast_ref::<io::Error>() {
        Some(io_error) => Some(io_error.kind()),
        None => error
            .source
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind),
    };
    kind == Some(io::ErrorKind::BrokenPipe)
}

/// Returns the sort key of an alert a detector raises at the end of
/// input: time, then host, then the whole alert as JSON, so that two
/// alerts tie only when they are written the same.
fn end_of_input_order(alert: &Alert) -> (Timestamp, Option<std::net::IpAddr>, String) {
    let text = serde_json::to_string(alert).unwrap_or_default();
    (alert.timestamp, alert.host, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_input_order_is_total() {
        let alert = |host: &str, secs: i64, shape: &str| {
            let mut alert = Alert::new("dns.dga", 0.9, "names of one shape".to_owned(), Vec::new());
            alert.timestamp = Timestamp::from_nanos(secs * 1_000_000_000);
            alert.host = host.parse().ok();
            alert.details.insert("suffix".to_owned(), shape.into());
            alert
        };
        let alerts = vec![
            alert("10.0.0.2", 5, "*"),
            alert("10.0.0.1", 5, "info"),
            alert("10.0.0.1", 5, "*"),
            alert("10.0.0.1", 4, "com"),
        ];

        let mut sorted = Vec::new();
        for rotation in 0..alerts.len() {
            let mut order = alerts.clone();
            order.rotate_left(rotation);
            order.reverse();
            order.sort_by_cached_key(end_of_input_order);
            let text: Vec<String> = order
                .iter()
                .map(|a| serde_json::to_string(a).unwrap())
                .collect();
            sorted.push(text);
        }
        assert!(sorted.windows(2).all(|pair| pair[0] == pair[1]));
        assert!(sorted[0][0].contains("\"com\""), "earliest alert first");
        assert!(sorted[0][3].contains("10.0.0.2"), "later host last");
    }
}
