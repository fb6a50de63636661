//! `picket hunt`: match stored event history, or logs and captures given
//! as inputs, against indicators.
//!
//! Hits become `intel.match` alerts marked retrospective. In the store, an
//! alert whose dedupe key (detector, event location, indicator and field)
//! is already stored, because `analyze` or an earlier hunt raised it, is
//! counted and not reported again. [`scan`] runs the scan of the store;
//! [`raw`] reads inputs without opening a store.

mod raw;
mod scan;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use picket_decode::DecodeConfig;
use picket_event::Timestamp;
use picket_intel::{Indicator, IndicatorKind, Sighting};
use picket_match::{Matcher, MatcherBuilder};
use picket_output::JsonlSink;
use picket_store::Store;
use serde::Serialize;
use tracing::warn;

#[cfg(test)]
use scan::intel_alert;
pub use scan::{AlertOutput, hunt};

use super::exit_for_alerts;
use super::inputs::{InputArgs, InputOptions};

/// Detector id of alerts raised by an indicator match.
#[cfg(test)]
use super::INTEL_MATCH;

/// Bytes of alert lines gathered per write: a hunt can write gigabytes of
/// lines of about 900 bytes, and the default 8 KiB cost one system call
/// per nine alerts.
const OUTPUT_BUFFER: usize = 256 * 1024;

/// Store file hunted when neither `--store` nor `PICKET_STORE` names one.
const DEFAULT_STORE: &str = "picket.sqlite";

/// Options of `picket hunt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Logs, captures or directories (read recursively) to hunt through
    /// instead of the store; `-` reads standard input. Inputs are read as
    /// `picket analyze` reads them, and no store is opened.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Store file to scan. Default: picket.sqlite. Not used with inputs.
    #[arg(long, value_name = "PATH", env = "PICKET_STORE")]
    pub store: Option<PathBuf>,

    /// First instant to scan: a date (`2024-03-01`, start of that UTC day)
    /// or an RFC 3339 instant. Default: the oldest stored day, or every
    /// event of the inputs.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// End of the scan: a date (inclusive: up to the end of that UTC day) or
    /// an RFC 3339 instant (exclusive). Default: the newest stored day, or
    /// every event of the inputs.
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

    /// Scanning threads; default: one per core. Inputs are read one per
    /// thread.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Do not write alerts into the store (it is opened read-only); alerts
    /// already stored are still left out of the report.
    #[arg(long, conflicts_with = "inputs")]
    pub no_record: bool,

    #[command(flatten)]
    pub input: InputArgs,
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

impl HuntOptions {
    /// Returns the scanning threads for `units` units of work: the
    /// requested number, or one per core when 0, but no more than the
    /// units and at least one.
    pub fn thread_count(&self, units: usize) -> usize {
        let requested = match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        requested.min(units).max(1)
    }
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
    let options = hunt_options(&args)?;
    if !args.inputs.is_empty() {
        reject_store_with_inputs(args.store.as_deref())?;
        return run_inputs(&args, &matcher, &options);
    }
    let store_path = args
        .store
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STORE));

    // Opening for writing would create a missing file, and a mistyped path
    // would then report "no hits" instead of an error.
    if !store_path.is_file() {
        anyhow::bail!(
            "store {} not found: give the --store that `picket analyze` wrote",
            store_path.display()
        );
    }
    if let Some(output) = &args.output {
        let mut read = vec![(store_path.as_path(), "the store")];
        for path in args.intel.iter().chain(&args.whitelist) {
            read.push((path.as_path(), "an intel or whitelist file"));
        }
        super::reject_output_over("--output", output, &read)?;
    }
    let store = if args.no_record {
        Store::open_read_only(&store_path)
    } else {
        Store::open(&store_path)
    }
    .with_context(|| format!("cannot open the store {}", store_path.display()))?;

    let mut sink = alert_sink(args.output.as_deref())?;
    let result = hunt(
        &store,
        &matcher,
        &options,
        &mut AlertOutput::Lines(&mut sink),
    );
    drop(sink);
    let summary = match result {
        Ok(summary) => summary,
        // The reader stopped early, as `picket hunt | head` does. Only new
        // alerts are written, so there was at least one, and the alerts
        // not yet committed were rolled back for the next hunt to report.
        Err(error) if is_broken_pipe(&error) => return Ok(exit_for_alerts(1)),
        Err(error) => return Err(error),
    };

    let text = if args.output.is_some() {
        format!("{}\n", summary_text(&summary))
    } else {
        format!("{}\n", serde_json::to_string(&summary)?)
    };
    print_summary(&text)?;
    // As analyze does with an input it cannot read: a day that could not be
    // scanned makes the exit code 2, even when other days raised alerts.
    if summary.days_failed > 0 {
        return Ok(ExitCode::from(2));
    }
    Ok(exit_for_alerts(summary.alerts_new))
}

/// Runs `picket hunt INPUT...`: the inputs are read and matched, and the
/// store is never opened.
fn run_inputs(args: &Args, matcher: &Matcher, options: &HuntOptions) -> anyhow::Result<ExitCode> {
    let input = InputOptions::from_args(&args.input, DecodeConfig::default())?;
    let paths = super::inputs::expand(&args.inputs);
    if let Some(output) = &args.output {
        let mut read: Vec<(&Path, &str)> = paths
            .iter()
            .map(|path| (path.as_path(), "one of the inputs"))
            .collect();
        for path in args.intel.iter().chain(&args.whitelist) {
            read.push((path.as_path(), "an intel or whitelist file"));
        }
        super::reject_output_over("--output", output, &read)?;
    }

    let mut sink = alert_sink(args.output.as_deref())?;
    let result = raw::hunt_inputs(&paths, &input, matcher, options, &mut sink);
    drop(sink);
    let summary = match result {
        Ok(summary) => summary,
        // The reader stopped early, as `picket hunt | head` does, after at
        // least one alert.
        Err(error) if is_broken_pipe(&error) => return Ok(exit_for_alerts(1)),
        Err(error) => return Err(error),
    };

    let text = if args.output.is_some() {
        format!("{}\n", raw::summary_text(&summary))
    } else {
        format!("{}\n", serde_json::to_string(&summary)?)
    };
    print_summary(&text)?;
    // As analyze does: an input that could not be read makes the exit code
    // 2, even when the other inputs raised alerts.
    if summary.inputs_failed > 0 {
        return Ok(ExitCode::from(2));
    }
    Ok(exit_for_alerts(summary.alerts))
}

/// Rejects a `--store` given on the command line beside inputs, which are
/// hunted without a store. A store named only by `PICKET_STORE` is left
/// unused, so that an exported variable does not stop a hunt through inputs.
fn reject_store_with_inputs(store: Option<&Path>) -> anyhow::Result<()> {
    let Some(store) = store else {
        return Ok(());
    };
    let from_env = std::env::var_os("PICKET_STORE").is_some_and(|env| env == store.as_os_str());
    if !from_env {
        anyhow::bail!(
            "--store {} cannot be used with inputs, which are hunted without a store: \
             drop --store, or drop the inputs to hunt through the store",
            store.display()
        );
    }
    Ok(())
}

/// Reads the time range and the settings the store and input scans share.
fn hunt_options(args: &Args) -> anyhow::Result<HuntOptions> {
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
        record: !args.no_record && args.inputs.is_empty(),
    };
    if let (Some(since), Some(until)) = (options.since, options.until)
        && since >= until
    {
        anyhow::bail!(
            "--since {} is not before --until {}: the range contains no event",
            args.since.as_deref().unwrap_or_default(),
            args.until.as_deref().unwrap_or_default()
        );
    }
    Ok(options)
}

/// Opens the JSON Lines sink of the alerts: `output`, or stdout.
fn alert_sink(output: Option<&Path>) -> anyhow::Result<JsonlSink<Box<dyn Write>>> {
    let (name, writer): (String, Box<dyn Write>) = match output {
        Some(path) => (
            path.display().to_string(),
            Box::new(BufWriter::with_capacity(
                OUTPUT_BUFFER,
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            )),
        ),
        None => (
            "stdout".into(),
            Box::new(BufWriter::with_capacity(OUTPUT_BUFFER, io::stdout().lock())),
        ),
    };
    Ok(JsonlSink::new(name, writer))
}

/// Writes the summary to stdout. A reader that closed the pipe is not an
/// error.
fn print_summary(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// Returns true when `error` comes from writing to a pipe that its reader
/// closed.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
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
/// events), recording new alerts in `store` and sending each to `output`.
/// `allow` contains whitelist entries, which win over the indicators they
/// cover as they do in `analyze`.
///
/// `picket intel pull --hunt` calls this with the indicators a pull added.
pub fn hunt_new_indicators(
    store: &Store,
    indicators: &[Indicator],
    allow: &[Indicator],
    lookback: Duration,
    output: &mut AlertOutput<'_>,
) -> anyhow::Result<HuntSummary> {
    let mut builder = MatcherBuilder::new();
    for indicator in indicators {
        if let Err(error) = builder.add(indicator) {
            warn!(%error, "indicator not usable for matching");
        }
    }
    for entry in allow {
        if let Err(error) = builder.allow(entry) {
            warn!(%error, "whitelist entry not usable for matching");
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
    hunt(store, &matcher, &options, output)
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
        let days = if s.days_failed == 1 { "day" } else { "days" };
        text.push_str(&format!("; {} {days} could not be read", s.days_failed));
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
    use std::collections::{HashMap, HashSet};

    use super::*;
    use picket_event::{Alert, Event};
    use picket_event::{DnsEvent, HttpEvent, SourceLocation};
    use picket_store::{WriterConfig, dedupe_key};

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
            Event::from(HttpEvent {
                timestamp: at(19_001, 20),
                location: SourceLocation::line("proxy.log".into(), 7, 300),
                client_ip: Some("10.0.0.6".parse().unwrap()),
                host: Some("www.evil.example".into()),
                url: "http://www.evil.example/x".into(),
                ..HttpEvent::default()
            }),
            Event::from(HttpEvent {
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
        let mut on_alert = |a: &Alert| alerts.push(a.clone());
        let summary = hunt(
            store,
            matcher,
            options,
            &mut AlertOutput::Each(&mut on_alert),
        )
        .unwrap();
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
        let mut on_alert = |a: &Alert| alerts.push(a.clone());
        let summary = hunt_new_indicators(
            &store,
            &[fresh],
            &[],
            Duration::from_secs(86_400),
            &mut AlertOutput::Each(&mut on_alert),
        )
        .unwrap();
        assert_eq!(summary.days, 1);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].indicators[0].indicator, "good.example");
    }

    /// Creates a store of every event kind with every matchable field, in blocks of
    /// three events so that blocks straddle time bounds and days span
    /// several work chunks.
    fn varied_store(dir: &Path) -> (Store, Vec<Event>) {
        use picket_event::{BodyInfo, RecordType, ResourceRecord, TlsEvent};

        let rr = |rtype: RecordType, data: String| ResourceRecord {
            name: "q.example".into(),
            rtype,
            class: 1,
            ttl: 60,
            data,
        };
        let mut events = Vec::new();
        for n in 0..900i64 {
            let day = 19_000 + n / 450;
            let ts = Timestamp::from_nanos(day * DAY + (n % 450) * 60_000_000_000);
            let location = SourceLocation::line("mixed.log".into(), n as u64, n as u64 * 100);
            let client = Some(format!("10.0.{}.{}", n % 3, n % 250).parse().unwrap());
            let server = Some(format!("192.0.2.{}", n % 199).parse().unwrap());
            let pick = |m: i64| n % m == 0;
            events.push(match n % 5 {
                0 | 1 => Event::from(HttpEvent {
                    timestamp: ts,
                    location,
                    client_ip: client,
                    server_ip: server,
                    user_name: Some(if pick(7) { "Boss@Corp.example" } else { "ann" }.into()),
                    url: if pick(11) {
                        String::new()
                    } else {
                        format!("http://h{}.evil.example/dl/f{n}.exe?x={n}", n % 4)
                    },
                    host: Some(if pick(13) {
                        "bad.example".into()
                    } else {
                        format!("h{}.ok.example", n % 9)
                    }),
                    path: Some(format!(
                        "/dl/{}",
                        if pick(17) { "payload.exe" } else { "a.js" }
                    )),
                    query: Some(format!("x={n}")),
                    user_agent: Some(
                        if pick(19) {
                            "EvilBot/1.0 (x)"
                        } else {
                            "Mozilla/5.0"
                        }
                        .into(),
                    ),
                    referrer: Some(format!("http://r{}.example/p", n % 6)),
                    forwarded_for: Some(format!("198.51.100.{}, unknown", n % 40)),
                    real_ip: pick(23).then(|| "203.0.113.77".into()),
                    file_name: pick(29).then(|| "Invoice.PDF".into()),
                    body: pick(3).then(|| BodyInfo {
                        md5: format!("{:032x}", n % 10),
                        sha1: String::new(),
                        sha256: format!("{:064x}", n % 8),
                        size: 10,
                        sniffed_type: None,
                        truncated: false,
                    }),
                    status: Some(200),
                    ..HttpEvent::default()
                }),
                2 | 3 => Event::Dns(DnsEvent {
                    timestamp: ts,
                    location,
                    client_ip: client,
                    server_ip: Some("10.0.0.53".parse().unwrap()),
                    query_name: format!("q{}.example", n % 31),
                    answers: vec![
                        rr(RecordType::CNAME, format!("c{}.cdn.example", n % 7)),
                        rr(RecordType::A, format!("192.0.2.{}", n % 250)),
                        rr(RecordType::AAAA, format!("2001:db8::{:x}", n % 5)),
                        rr(RecordType::MX, format!("10 mx{}.mail.example", n % 4)),
                        rr(RecordType::SRV, format!("1 2 443 s{}.srv.example", n % 3)),
                        rr(RecordType::TXT, "v=spf1 -all".into()),
                    ],
                    ..DnsEvent::default()
                }),
                _ => Event::Tls(TlsEvent {
                    timestamp: ts,
                    location,
                    client_ip: client,
                    server_ip: server,
                    server_name: Some(format!("sni{}.tls.example", n % 7)),
                    ..TlsEvent::default()
                }),
            });
        }

        let store = Store::open(&dir.join("varied.sqlite")).unwrap();
        let mut writer = store.writer(WriterConfig {
            batch_size: 1000,
            block_events: 3,
        });
        for event in &events {
            writer.insert_event(event).unwrap();
        }
        writer.commit().unwrap();
        drop(writer);
        (store, events)
    }

    fn varied_matcher() -> Matcher {
        use picket_intel::normalize_observable;

        let mut builder = MatcherBuilder::new();
        let entries = [
            (IndicatorKind::Ipv4, "192.0.2.7"),
            (IndicatorKind::Cidr, "198.51.100.0/28"),
            (IndicatorKind::Ipv4, "203.0.113.77"),
            (IndicatorKind::Ipv4, "10.0.1.9"),
            (IndicatorKind::Domain, "*.evil.example"),
            (IndicatorKind::Domain, "bad.example"),
            (IndicatorKind::Domain, "r4.example"),
            (IndicatorKind::Domain, "q5.example"),
            (IndicatorKind::Domain, "*.cdn.example"),
            (IndicatorKind::Domain, "mx2.mail.example"),
            (IndicatorKind::Domain, "s1.srv.example"),
            (IndicatorKind::Domain, "sni3.tls.example"),
            (IndicatorKind::Cidr, "2001:db8::2/127"),
            (IndicatorKind::Url, "http://h1.evil.example/dl/f5.exe?x=5"),
            (IndicatorKind::Url, "http://r2.example/p"),
            (IndicatorKind::Md5, "00000000000000000000000000000004"),
            (
                IndicatorKind::Sha256,
                "0000000000000000000000000000000000000000000000000000000000000006",
            ),
            (IndicatorKind::UserAgent, "EvilBot/1.0 (x)"),
            (IndicatorKind::Email, "boss@corp.example"),
            (IndicatorKind::FileName, "payload.exe"),
            (IndicatorKind::FileName, "invoice.pdf"),
        ];
        for (kind, value) in entries {
            let observable = normalize_observable(kind, value).unwrap();
            builder
                .add(&Indicator::new(observable, Sighting::default()))
                .unwrap();
        }
        builder.build()
    }

    /// Returns the dedupe keys of the alerts a scan decoding every event
    /// whole raises.
    fn full_decode_alerts(store: &Store, matcher: &Matcher, options: &HuntOptions) -> Vec<String> {
        let mut keys = Vec::new();
        let mut hits = Vec::new();
        for day in store.days().unwrap() {
            store
                .scan_day(day, &mut |_, event| {
                    let ts = event.timestamp();
                    if options.since.is_some_and(|s| ts < s)
                        || options.until.is_some_and(|u| ts >= u)
                    {
                        return;
                    }
                    hits.clear();
                    matcher.match_event(&event, &mut hits);
                    for hit in &hits {
                        keys.push(dedupe_key(&intel_alert(event.clone(), hit)));
                    }
                })
                .unwrap();
        }
        keys.sort();
        keys
    }

    #[test]
    fn fast_path_equals_full_decode() {
        let dir = tempfile::tempdir().unwrap();
        let (store, events) = varied_store(dir.path());
        let matcher = varied_matcher();
        let bounds = [
            (None, None),
            (
                Some(Timestamp::from_nanos(
                    19_000 * DAY + 100 * 60_000_000_000 + 1,
                )),
                None,
            ),
            (
                Some(Timestamp::from_nanos(19_000 * DAY + 200 * 60_000_000_000)),
                Some(Timestamp::from_nanos(19_001 * DAY + 7 * 60_000_000_000 + 1)),
            ),
        ];
        for (threads, (since, until)) in [1, 2, 2].into_iter().zip(bounds) {
            let options = HuntOptions {
                since,
                until,
                threads,
                record: false,
            };
            let expected = full_decode_alerts(&store, &matcher, &options);
            let (summary, alerts) = run_hunt(&store, &matcher, &options);
            let mut keys: Vec<String> = alerts.iter().map(dedupe_key).collect();
            keys.sort();
            assert_eq!(keys, expected, "since {since:?} until {until:?}");
            assert_eq!(summary.hits, expected.len() as u64);
            assert!(alerts.iter().all(|a| a.retrospective));

            let stored: HashMap<String, &Event> = events
                .iter()
                .map(|e| (e.location().line.unwrap().to_string(), e))
                .collect();
            for alert in &alerts {
                let event = &alert.events[0];
                let line = event.location().line.unwrap().to_string();
                assert_eq!(stored[&line], event, "evidence is the whole stored event");
            }
        }

        let all = full_decode_alerts(&store, &matcher, &HuntOptions::default());
        let fields: HashSet<&str> = all.iter().filter_map(|k| k.rsplit('@').next()).collect();
        assert!(
            fields.len() >= 13,
            "every field kind is exercised: {fields:?}"
        );
        assert!(all.len() > 300, "{} hits", all.len());
    }

    #[test]
    fn time_bounds_skip_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = varied_store(dir.path());
        let matcher = varied_matcher();
        let options = HuntOptions {
            since: Some(Timestamp::from_nanos(19_001 * DAY + 300 * 60_000_000_000)),
            threads: 2,
            ..HuntOptions::default()
        };
        let (summary, _) = run_hunt(&store, &matcher, &options);
        assert_eq!(summary.days, 1);
        assert_eq!(summary.events_matched, 150);
        assert_eq!(
            summary.events_scanned, 150,
            "blocks before the bound are not read"
        );
    }

    #[test]
    fn failed_chunk_counts_events_read() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = varied_store(dir.path());
        let matcher = varied_matcher();
        let options = HuntOptions {
            threads: 2,
            ..HuntOptions::default()
        };
        // Blocks hold three events and chunks 64 blocks, so damaging the
        // eleventh block of the first day loses the rest of its chunk, the
        // day's events 30 to 191.
        let lost = |alert: &Alert| (30..192).contains(&alert.events[0].location().line.unwrap());
        let (_, intact) = run_hunt(&store, &matcher, &options);
        let mut expected: Vec<String> =
            intact.iter().filter(|a| !lost(a)).map(dedupe_key).collect();
        expected.sort();
        let first: i64 = store
            .connection()
            .query_row("SELECT min(block) FROM events_d19000", [], |r| r.get(0))
            .unwrap();
        store
            .connection()
            .execute(
                "UPDATE events_d19000 SET body = x'00' WHERE block = ?1",
                [first + 10],
            )
            .unwrap();

        let (summary, alerts) = run_hunt(&store, &matcher, &options);
        assert_eq!(summary.days_failed, 1);
        assert_eq!(summary.events_scanned, 900 - 162);
        assert_eq!(summary.events_matched, summary.events_scanned);
        assert_eq!(summary.hits, alerts.len() as u64);
        let mut keys: Vec<String> = alerts.iter().map(dedupe_key).collect();
        keys.sort();
        assert_eq!(
            keys, expected,
            "every event read before the damage is hunted"
        );
    }

    /// A file system with no space left: every write fails.
    struct FullDisk;

    impl Write for FullDisk {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::StorageFull.into())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn unwritten_alerts_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let matcher = build_matcher(&[], &["*.evil.example".into()], &[]).unwrap();
        let store = store(dir.path(), &matcher);
        let options = HuntOptions {
            record: true,
            threads: 1,
            ..HuntOptions::default()
        };
        // Buffered as `run` buffers it, so that the failure shows only when
        // the buffer is flushed.
        let full: Box<dyn Write> = Box::new(BufWriter::new(FullDisk));
        let mut sink = JsonlSink::new("full disk", full);

        let error = hunt(
            &store,
            &matcher,
            &options,
            &mut AlertOutput::Lines(&mut sink),
        )
        .unwrap_err();
        assert!(format!("{error:#}").contains("full disk"), "{error:#}");
        assert_eq!(store.alert_count().unwrap(), 1, "only the live alert");

        let (summary, alerts) = run_hunt(&store, &matcher, &options);
        assert_eq!((summary.alerts_new, alerts.len()), (1, 1));
        let recorded: i64 = store
            .connection()
            .query_row(
                "SELECT hits FROM intel_hits WHERE value = 'evil.example'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(recorded, 1, "the failed hunt recorded no sighting");
    }
}
