//! `picket hunt`: match stored event history against indicators.
//!
//! Every day partition in the time range is scanned by its own worker with
//! its own read-only connection, all sharing one compiled matcher. Hits
//! become `intel.match` alerts marked retrospective. An alert whose dedupe
//! key (detector, event location, indicator and field) is already stored,
//! because `analyze` or an earlier hunt raised it, is counted and not
//! reported again.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use picket_event::{Alert, Event, IntelHit, Sink, Timestamp};
use picket_intel::{Indicator, IndicatorKind, Sighting};
use picket_match::{Matcher, MatcherBuilder};
use picket_output::JsonlSink;
use picket_store::{Store, WriterConfig, dedupe_key};
use serde::Serialize;
use tracing::{info, warn};

use super::exit_for_alerts;

/// Detector id of alerts raised by an indicator match.
#[cfg(test)]
use super::INTEL_MATCH;

/// Alerts buffered between the scanning workers and the writer; bounds
/// memory when an indicator matches a large part of the history.
const ALERT_QUEUE: usize = 4096;

/// Options of `picket hunt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Store file to scan.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "picket.sqlite",
        env = "PICKET_STORE"
    )]
    pub store: PathBuf,

    /// First instant to scan: a date (`2024-03-01`, start of that UTC day)
    /// or an RFC 3339 instant. Default: the oldest stored day.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// End of the scan: a date (inclusive: up to the end of that UTC day) or
    /// an RFC 3339 instant (exclusive). Default: the newest stored day.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,

    /// Indicator file to hunt for (any format `analyze --intel` reads).
    /// Repeatable.
    #[arg(long, value_name = "PATH")]
    pub intel: Vec<PathBuf>,

    /// One indicator value to hunt for: an address, network, range, domain
    /// (with the names below it, as in a plain intel list), URL or digest.
    /// Repeatable.
    #[arg(long, value_name = "VALUE")]
    pub indicator: Vec<String>,

    /// Whitelist file: values it covers are never hit. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub whitelist: Vec<PathBuf>,

    /// Write the new alerts as JSON Lines to this file instead of stdout;
    /// the summary then goes to stdout as text.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Scanning threads; default: one per core.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Do not write alerts into the store (it is opened read-only); alerts
    /// already stored are still left out of the report.
    #[arg(long)]
    pub no_record: bool,
}

/// Scan range and settings of a hunt.
#[derive(Clone, Debug, Default)]
pub struct HuntOptions {
    /// Events before this instant are skipped.
    pub since: Option<Timestamp>,
    /// Events at or after this instant are skipped.
    pub until: Option<Timestamp>,
    /// Scanning threads; 0 means one per core.
    pub threads: usize,
    /// Write new alerts into the store (needs a store opened for writing).
    pub record: bool,
}

/// Counts and timing of a hunt, printed as its summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HuntSummary {
    /// Always `"hunt_summary"`.
    #[serde(rename = "type")]
    pub record_type: &'static str,
    /// Indicators hunted for (whitelist entries not counted).
    pub indicators: usize,
    /// Day partitions scanned.
    pub days: usize,
    /// Events read from those partitions.
    pub events_scanned: u64,
    /// Events inside the time range, matched.
    pub events_matched: u64,
    /// Indicator hits.
    pub hits: u64,
    /// Alerts not raised before, reported now.
    pub alerts_new: u64,
    /// Alerts already in the store, not reported again.
    pub alerts_known: u64,
    /// Day partitions that could not be read (each also logged).
    pub days_failed: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Events scanned per second.
    pub events_per_second: f64,
    /// Hits per indicator, most hit first: what the sightings update.
    pub sightings: Vec<SightingCount>,
}

/// How often and when last one indicator was seen in the hunted history.
#[derive(Clone, Debug, Serialize)]
pub struct SightingCount {
    /// Indicator kind.
    pub kind: String,
    /// Indicator value.
    pub indicator: String,
    /// Hits.
    pub count: u64,
    /// Time of the newest event hit.
    pub last_seen: Timestamp,
}

/// Runs `picket hunt`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let matcher = build_matcher(&args.intel, &args.indicator, &args.whitelist)?;
    if matcher.is_empty() {
        anyhow::bail!("no indicator to hunt for: give --intel PATH or --indicator VALUE");
    }

    // Opening for writing would create a missing file, and a mistyped path
    // would then report "no hits" instead of an error.
    if !args.store.is_file() {
        anyhow::bail!(
            "store {} not found: give the --store that `picket analyze` wrote",
            args.store.display()
        );
    }
    let store = if args.no_record {
        Store::open_read_only(&args.store)
    } else {
        Store::open(&args.store)
    }
    .with_context(|| format!("cannot open the store {}", args.store.display()))?;

    let options = HuntOptions {
        since: args
            .since
            .as_deref()
            .map(|d| parse_bound(d, false))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|d| parse_bound(d, true))
            .transpose()?,
        threads: args.threads.unwrap_or(0),
        record: !args.no_record,
    };

    let (name, writer): (String, Box<dyn Write>) = match &args.output {
        Some(path) => (
            path.display().to_string(),
            Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            )),
        ),
        None => (
            "stdout".into(),
            Box::new(BufWriter::new(io::stdout().lock())),
        ),
    };
    let mut sink = JsonlSink::new(name, writer);
    let mut sink_error = None;
    let summary = hunt(&store, &matcher, &options, &mut |alert| {
        if sink_error.is_none()
            && let Err(e) = sink.write_alert(alert)
        {
            sink_error = Some(e);
        }
    })?;
    if let Some(e) = sink_error {
        return Err(e).context("cannot write alerts");
    }

    sink.finish().context("cannot write alerts")?;
    drop(sink);

    let mut out = io::stdout().lock();
    if args.output.is_some() {
        writeln!(out, "{}", summary_text(&summary))?;
    } else {
        serde_json::to_writer(&mut out, &summary)?;
        writeln!(out)?;
    }
    Ok(exit_for_alerts(summary.alerts_new))
}

/// Compiles `--intel` files, `--indicator` values and `--whitelist` files.
pub fn build_matcher(
    intel: &[PathBuf],
    values: &[String],
    whitelist: &[PathBuf],
) -> anyhow::Result<Matcher> {
    let mut builder = MatcherBuilder::new();
    for path in intel {
        let (indicators, allow) = load(path)?;
        for indicator in &indicators {
            if let Err(error) = builder.add(indicator) {
                warn!(file = %path.display(), %error, "indicator not usable for matching");
            }
        }
        for indicator in &allow {
            if let Err(error) = builder.allow(indicator) {
                warn!(file = %path.display(), %error, "whitelist entry not usable for matching");
            }
        }
    }
    for value in values {
        let mut observable = picket_intel::classify_observable(value).with_context(|| {
            format!(
                "--indicator {value:?} is not an address, network, range, domain, URL or digest"
            )
        })?;
        // As in a plain intel list, a domain covers the names below it.
        if observable.kind == IndicatorKind::Domain {
            observable.include_subdomains = true;
        }
        let sighting = Sighting {
            source: picket_event::IntelSource {
                provider: "command line".into(),
                confidence: 100,
                ..Default::default()
            },
            ..Default::default()
        };
        builder
            .add(&Indicator::new(observable, sighting))
            .with_context(|| format!("--indicator {value:?}"))?;
    }
    for path in whitelist {
        let (indicators, allow) = load(path)?;
        for indicator in indicators.iter().chain(&allow) {
            if let Err(error) = builder.allow(indicator) {
                warn!(file = %path.display(), %error, "whitelist entry not usable for matching");
            }
        }
    }
    Ok(builder.build())
}

/// Reads an intel file into its indicators and the entries it marks as
/// whitelisted.
fn load(path: &Path) -> anyhow::Result<(Vec<Indicator>, Vec<Indicator>)> {
    let report = picket_intel::load_file(path)
        .with_context(|| format!("cannot load the intel file {}", path.display()))?;
    if !report.rejections.is_empty() {
        warn!(file = %path.display(), rejected = report.rejections.len(), first = %report.rejections[0], "indicators rejected");
    }
    Ok((report.indicators, report.allow))
}

/// Hunts for `indicators` over the newest `lookback` of stored history
/// (measured back from the newest stored day, since time comes from the
/// events), recording new alerts in `store` and passing each to `on_alert`.
///
/// `picket intel pull` calls this with the indicators a pull added.
#[allow(dead_code, reason = "called by `picket intel pull` and tests")]
pub fn hunt_new_indicators(
    store: &Store,
    indicators: &[Indicator],
    lookback: Duration,
    on_alert: &mut dyn FnMut(&Alert),
) -> anyhow::Result<HuntSummary> {
    let mut builder = MatcherBuilder::new();
    for indicator in indicators {
        if let Err(error) = builder.add(indicator) {
            warn!(%error, "indicator not usable for matching");
        }
    }
    let matcher = builder.build();
    if matcher.is_empty() {
        return Ok(HuntSummary {
            record_type: "hunt_summary",
            ..HuntSummary::default()
        });
    }
    let newest = store.days()?.last().copied();
    let since = newest.map(|day| {
        let end = (day + 1).saturating_mul(86_400_000_000_000);
        let back = i64::try_from(lookback.as_nanos()).unwrap_or(i64::MAX);
        Timestamp::from_nanos(end.saturating_sub(back))
    });
    let options = HuntOptions {
        since,
        until: None,
        threads: 0,
        record: true,
    };
    hunt(store, &matcher, &options, on_alert)
}

/// Scans every stored day in the range with `matcher`, in parallel, and
/// passes each alert not stored before to `on_alert` (recording it in the
/// store when `options.record`).
pub fn hunt(
    store: &Store,
    matcher: &Matcher,
    options: &HuntOptions,
    on_alert: &mut dyn FnMut(&Alert),
) -> anyhow::Result<HuntSummary> {
    let started = Instant::now();
    let first_day = options.since.map(Timestamp::day_number);
    let last_day = options
        .until
        .map(|t| Timestamp::from_nanos(t.as_nanos().saturating_sub(1)).day_number());
    let days: Vec<i64> = store
        .days()?
        .into_iter()
        .filter(|d| first_day.is_none_or(|f| *d >= f) && last_day.is_none_or(|l| *d <= l))
        .collect();
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(days.len().max(1));
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
    let mut sightings: HashMap<(String, String), (u64, Timestamp)> = HashMap::new();
    let next = AtomicUsize::new(0);
    let path = store.path().to_owned();
    let (tx, rx) = mpsc::sync_channel::<Message>(ALERT_QUEUE);

    let mut record_error = None;
    let mut writer = options
        .record
        .then(|| store.writer(WriterConfig::default()));
    let mut new_sightings: Vec<(IndicatorKind, String, Timestamp)> = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (days, next, path) = (&days, &next, &path);
            scope.spawn(move || scan_worker(path, days, next, matcher, options, &tx));
        }
        drop(tx);

        for message in rx {
            match message {
                Message::Alert(alert) => {
                    summary.hits += 1;
                    if let Some(hit) = alert.indicators.first() {
                        let entry = sightings
                            .entry((hit.kind.clone(), hit.indicator.clone()))
                            .or_insert((0, alert.timestamp));
                        entry.0 += 1;
                        entry.1 = entry.1.max(alert.timestamp);
                    }
                    if record_error.is_some() {
                        continue;
                    }
                    let key = dedupe_key(&alert);
                    let fresh = match writer.as_mut() {
                        Some(writer) => writer.insert_alert(&alert, &key),
                        None => store.has_alert(&key).map(|known| !known),
                    };
                    match fresh {
                        Ok(true) => {
                            summary.alerts_new += 1;
                            let hit = alert.indicators.first();
                            let kind = hit.and_then(|h| {
                                IndicatorKind::ALL
                                    .into_iter()
                                    .find(|k| k.as_str() == h.kind)
                            });
                            if let (Some(hit), Some(kind)) = (hit, kind) {
                                new_sightings.push((kind, hit.indicator.clone(), alert.timestamp));
                            }
                            on_alert(&alert);
                        }
                        Ok(false) => summary.alerts_known += 1,
                        Err(e) => record_error = Some(e),
                    }
                }
                Message::DayDone { scanned, matched } => {
                    summary.events_scanned += scanned;
                    summary.events_matched += matched;
                }
                Message::DayFailed { day, error } => {
                    warn!(day, %error, "a day partition could not be scanned");
                    summary.days_failed += 1;
                }
            }
        }
    });
    if let Some(e) = record_error {
        return Err(e).context("cannot record alerts in the store");
    }
    if let Some(mut writer) = writer {
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
        writer
            .commit()
            .context("cannot record alerts in the store")?;
    }

    let mut counts: Vec<SightingCount> = sightings
        .into_iter()
        .map(|((kind, indicator), (count, last_seen))| SightingCount {
            kind,
            indicator,
            count,
            last_seen,
        })
        .collect();
    counts.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.indicator.cmp(&b.indicator))
    });
    summary.sightings = counts;
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

enum Message {
    Alert(Box<Alert>),
    DayDone { scanned: u64, matched: u64 },
    DayFailed { day: i64, error: String },
}

/// Takes days off the shared list until none is left, scanning each with a
/// read-only connection of its own.
fn scan_worker(
    path: &Path,
    days: &[i64],
    next: &AtomicUsize,
    matcher: &Matcher,
    options: &HuntOptions,
    tx: &mpsc::SyncSender<Message>,
) {
    let reader = match Store::open_read_only(path) {
        Ok(reader) => reader,
        Err(error) => {
            while let Some(&day) = days.get(next.fetch_add(1, Ordering::Relaxed)) {
                let _ = tx.send(Message::DayFailed {
                    day,
                    error: error.to_string(),
                });
            }
            return;
        }
    };
    let mut hits: Vec<IntelHit> = Vec::new();
    while let Some(&day) = days.get(next.fetch_add(1, Ordering::Relaxed)) {
        let mut matched = 0u64;
        let mut receiver_gone = false;
        let result = reader.scan_day(day, &mut |_, event: Event| {
            let ts = event.timestamp();
            if options.since.is_some_and(|s| ts < s) || options.until.is_some_and(|u| ts >= u) {
                return;
            }
            matched += 1;
            hits.clear();
            matcher.match_event(&event, &mut hits);
            if hits.is_empty() || receiver_gone {
                return;
            }
            let last = hits.len() - 1;
            let mut event = Some(event);
            for (i, hit) in hits.iter().enumerate() {
                let evidence = if i == last {
                    event.take()
                } else {
                    event.clone()
                };
                let Some(evidence) = evidence else { break };
                if tx
                    .send(Message::Alert(Box::new(intel_alert(evidence, hit))))
                    .is_err()
                {
                    receiver_gone = true;
                    return;
                }
            }
        });
        let message = match result {
            Ok(scanned) => Message::DayDone { scanned, matched },
            Err(error) => Message::DayFailed {
                day,
                error: error.to_string(),
            },
        };
        if tx.send(message).is_err() {
            return;
        }
    }
}

/// Builds a retrospective `intel.match` alert from one indicator hit, the
/// same alert `analyze` raises apart from the flag, so both share one dedupe
/// key.
pub fn intel_alert(event: Event, hit: &IntelHit) -> Alert {
    let mut alert = super::intel_alert(event, hit);
    alert.retrospective = true;
    alert
}

/// Reads `--since`/`--until`: a date (`2024-03-01`) or an RFC 3339
/// instant. A date as the end bound means the end of that day.
fn parse_bound(text: &str, end: bool) -> anyhow::Result<Timestamp> {
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        let date = if end {
            date.tomorrow()
                .with_context(|| format!("{text} is the last representable day"))?
        } else {
            date
        };
        let ts = date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .with_context(|| format!("{text} is out of range"))?
            .timestamp();
        return Ok(Timestamp::from_jiff(ts));
    }
    Timestamp::parse_rfc3339(text)
        .with_context(|| format!("{text:?} is neither a date (2024-03-01) nor an RFC 3339 instant"))
}

fn summary_text(s: &HuntSummary) -> String {
    let mut text = format!(
        "hunt: {} indicators over {} days: {} events scanned ({} in range) in {:.2} s ({:.0} events/s); {} hits, {} new alerts, {} already stored",
        s.indicators,
        s.days,
        s.events_scanned,
        s.events_matched,
        s.seconds,
        s.events_per_second,
        s.hits,
        s.alerts_new,
        s.alerts_known
    );
    if s.days_failed > 0 {
        text.push_str(&format!("; {} days could not be read", s.days_failed));
    }
    for c in s.sightings.iter().take(20) {
        text.push_str(&format!(
            "\n  {} {}: {} hits, last {}",
            c.kind, c.indicator, c.count, c.last_seen
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_event::{DnsEvent, HttpEvent, SourceLocation};

    const DAY: i64 = 86_400_000_000_000;

    fn events() -> Vec<Event> {
        let at = |day: i64, secs: i64| Timestamp::from_nanos(day * DAY + secs * 1_000_000_000);
        vec![
            Event::Dns(DnsEvent {
                timestamp: at(19_000, 10),
                location: SourceLocation::line("dns.log".into(), 1, 0),
                client_ip: Some("10.0.0.5".parse().unwrap()),
                query_name: "c2.evil.example".into(),
                ..DnsEvent::default()
            }),
            Event::Http(HttpEvent {
                timestamp: at(19_001, 20),
                location: SourceLocation::line("proxy.log".into(), 7, 300),
                client_ip: Some("10.0.0.6".parse().unwrap()),
                host: Some("www.evil.example".into()),
                url: "http://www.evil.example/x".into(),
                ..HttpEvent::default()
            }),
            Event::Http(HttpEvent {
                timestamp: at(19_001, 30),
                location: SourceLocation::line("proxy.log".into(), 8, 400),
                client_ip: Some("10.0.0.6".parse().unwrap()),
                host: Some("good.example".into()),
                ..HttpEvent::default()
            }),
        ]
    }

    /// Creates a store with the events, and the alert `analyze` raised live
    /// for the first one.
    fn store(dir: &Path, matcher: &Matcher) -> Store {
        let store = Store::open(&dir.join("store.sqlite")).unwrap();
        let mut writer = store.writer(WriterConfig::default());
        let events = events();
        for event in &events {
            writer.insert_event(event).unwrap();
        }
        let mut hits = Vec::new();
        matcher.match_event(&events[0], &mut hits);
        let mut live = intel_alert(events[0].clone(), &hits[0]);
        live.retrospective = false;
        writer.insert_alert(&live, &dedupe_key(&live)).unwrap();
        writer.commit().unwrap();
        drop(writer);
        store
    }

    fn run_hunt(
        store: &Store,
        matcher: &Matcher,
        options: &HuntOptions,
    ) -> (HuntSummary, Vec<Alert>) {
        let mut alerts = Vec::new();
        let summary = hunt(store, matcher, options, &mut |a| alerts.push(a.clone())).unwrap();
        (summary, alerts)
    }

    #[test]
    fn reports_only_alerts_not_raised_before() {
        let dir = tempfile::tempdir().unwrap();
        let matcher = build_matcher(&[], &["*.evil.example".into()], &[]).unwrap();
        let store = store(dir.path(), &matcher);
        let options = HuntOptions {
            record: true,
            threads: 2,
            ..HuntOptions::default()
        };

        let (summary, alerts) = run_hunt(&store, &matcher, &options);
        assert_eq!(summary.days, 2);
        assert_eq!(summary.events_scanned, 3);
        assert_eq!(summary.hits, 2);
        assert_eq!(summary.alerts_known, 1);
        assert_eq!(summary.alerts_new, 1);
        assert_eq!(alerts.len(), 1);
        let alert = &alerts[0];
        assert!(alert.retrospective);
        assert_eq!(alert.detector, INTEL_MATCH);
        assert_eq!(alert.indicators[0].indicator, "evil.example");
        assert_eq!(alert.indicators[0].value, "www.evil.example");
        assert_eq!(summary.sightings.len(), 1);
        assert_eq!(summary.sightings[0].count, 2);

        let recorded: i64 = store
            .connection()
            .query_row(
                "SELECT hits FROM intel_hits WHERE value = 'evil.example'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(recorded, 1, "only the new hit is a new sighting");

        let (again, alerts) = run_hunt(&store, &matcher, &options);
        assert_eq!((again.alerts_new, again.alerts_known), (0, 2));
        assert!(alerts.is_empty());
    }

    #[test]
    fn time_range_limits_days_and_events() {
        let dir = tempfile::tempdir().unwrap();
        let matcher = build_matcher(&[], &["*.evil.example".into()], &[]).unwrap();
        let store = store(dir.path(), &matcher);
        let day2 = parse_bound("2022-01-08", false).unwrap();
        assert_eq!(day2.day_number(), 19_000);
        let options = HuntOptions {
            since: Some(parse_bound("2022-01-09", false).unwrap()),
            until: Some(parse_bound("2022-01-09", true).unwrap()),
            record: false,
            threads: 1,
        };
        let (summary, alerts) = run_hunt(&store, &matcher, &options);
        assert_eq!(summary.days, 1);
        assert_eq!(summary.events_scanned, 2);
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            store.alert_count().unwrap(),
            1,
            "a read-only hunt records nothing"
        );

        let narrow = HuntOptions {
            since: Some(parse_bound("2022-01-09T00:00:25Z", false).unwrap()),
            ..options
        };
        let (summary, alerts) = run_hunt(&store, &matcher, &narrow);
        assert_eq!(summary.events_matched, 1);
        assert!(alerts.is_empty());
        assert!(parse_bound("yesterday", false).is_err());
    }

    #[test]
    fn new_indicators_hunted_over_lookback() {
        let dir = tempfile::tempdir().unwrap();
        let matcher = build_matcher(&[], &["*.evil.example".into()], &[]).unwrap();
        let store = store(dir.path(), &matcher);
        let fresh = picket_intel::Indicator::new(
            picket_intel::classify_observable("good.example").unwrap(),
            Sighting::default(),
        );
        let mut alerts = Vec::new();
        let summary =
            hunt_new_indicators(&store, &[fresh], Duration::from_secs(86_400), &mut |a| {
                alerts.push(a.clone())
            })
            .unwrap();
        assert_eq!(summary.days, 1);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].indicators[0].indicator, "good.example");
    }
}
