//! `http.beacon`: regular check-ins from one client to one server host over
//! the analysed period, scored the way RITA scores beacons.
//!
//! For each (client, server host) pair the detector keeps the connection
//! times and the request and response sizes. At the end of the input it
//! scores:
//!
//! - **timing**: the Bowley skewness of the gaps between connections
//!   (`1 - |skew|`: a symmetric gap distribution scores 1) and their median
//!   absolute deviation (`1 - MAD / timing_mad_ceiling_secs`, floored at 0),
//!   averaged;
//! - **size**: the same two measures over request and response sizes
//!   (ceiling `size_mad_ceiling_bytes`), plus a smallness score
//!   `1 - mode / 65,535` because check-ins are small, averaged;
//! - **duration**: how much of the analysed period the pair spans
//!   (persistence), how many of the hours it spans had a connection
//!   (consistency), and on how many hours of the day it was active
//!   (`distinct hours / min(24, hours spanned)`), averaged.
//!
//! The combined score weighs timing 0.4, size 0.3 and duration 0.3; a pair
//! whose source logged no sizes is scored on timing (0.55) and duration
//! (0.45). Every sub-score is shown in the alert.

use picket_event::{Alert, Detector, Event, HttpEvent, IntelHit};
use serde::Deserialize;

use super::table::BoundedMap;
use super::{CachedSuffixList, ClientKey, as_http, client_label, digest, round3};

/// The largest accepted `max_single_pairs`.
const MAX_SINGLE_PAIRS: usize = 1 << 24;

/// Settings of `http.beacon`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconConfig {
    /// Runs the detector. Default true.
    pub enabled: bool,
    /// Distinct connection seconds a pair needs before it is scored. Default 20.
    pub min_connections: usize,
    /// Minimum combined score to alert, in [0, 1]. Default 0.7.
    #[serde(deserialize_with = "crate::bounds::fraction")]
    pub min_score: f64,
    /// Gap deviation, in seconds, at which the timing MAD score reaches 0.
    /// Default 30.
    #[serde(deserialize_with = "crate::bounds::positive")]
    pub timing_mad_ceiling_secs: f64,
    /// Size deviation, in bytes, at which the size MAD score reaches 0.
    /// Default 32.
    #[serde(deserialize_with = "crate::bounds::positive")]
    pub size_mad_ceiling_bytes: f64,
    /// Server hosts (and their subdomains) whose regular traffic is expected:
    /// update, telemetry, certificate-status and time services. Default: the
    /// Windows Update, Microsoft telemetry, OCSP/CRL hosts of the large
    /// certificate authorities, and Google's and Mozilla's update services.
    pub allowed_hosts: Vec<String>,
    /// Pairs with two or more distinct connection seconds tracked at once;
    /// the least recently seen are dropped first. A pair costs about 160
    /// bytes plus 12 per stored sample. Default 200,000.
    pub max_pairs: usize,
    /// Slots for pairs seen in one second so far, 32 bytes each (rounded up
    /// to a power of two, at least 4). Most (client, host) pairs in a proxy
    /// log never come back, so they wait here without a sample series.
    /// When a hash bucket's slots are full, its oldest sighting is dropped.
    /// Default 524,288 (16 MiB, touched as used). At most 16,777,216
    /// (512 MiB), because the table is allocated whole when the detector is
    /// built.
    #[serde(deserialize_with = "crate::bounds::usize_in::<_, 0, MAX_SINGLE_PAIRS>")]
    pub max_single_pairs: usize,
    /// Samples stored per pair. Beyond it every second sample is dropped and
    /// from then on only every second connection is stored, which keeps the
    /// shape of a regular series. Default 1,024.
    pub max_samples: usize,
}

impl Default for BeaconConfig {
    fn default() -> Self {
        BeaconConfig {
            enabled: true,
            min_connections: 20,
            min_score: 0.7,
            timing_mad_ceiling_secs: 30.0,
            size_mad_ceiling_bytes: 32.0,
            allowed_hosts: [
                "windowsupdate.com",
                "update.microsoft.com",
                "events.data.microsoft.com",
                "vortex.data.microsoft.com",
                "settings-win.data.microsoft.com",
                "time.windows.com",
                "ocsp.digicert.com",
                "ocsp.pki.goog",
                "ocsp.sectigo.com",
                "ocsp.usertrust.com",
                "ocsp.globalsign.com",
                "r3.o.lencr.org",
                "crl.microsoft.com",
                "update.googleapis.com",
                "clients2.google.com",
                "aus5.mozilla.org",
                "detectportal.firefox.com",
                "connectivitycheck.gstatic.com",
                "msftconnecttest.com",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            max_pairs: 200_000,
            max_single_pairs: 524_288,
            max_samples: 1_024,
        }
    }
}

/// One stored connection: seconds after the pair's first connection, and
/// the request and response sizes in bytes (`u32::MAX`: unknown).
#[derive(Clone, Copy, Debug)]
struct Sample {
    offset: u32,
    request: u32,
    response: u32,
}

/// The samples of one (client, server host) pair.
#[derive(Debug)]
struct Series {
    /// An event of the pair, kept as evidence. It is taken at the third
    /// distinct second, the fewest a pair needs to be scored, so that the
    /// many pairs seen once or twice cost no copy.
    evidence: Option<Box<Event>>,
    /// Whole seconds of the first connection; samples are offsets from it.
    base_secs: i64,
    /// One sample per stored distinct second, in time order.
    samples: Vec<Sample>,
    /// Store one connection in this many.
    stride: u32,
    /// Connections seen, stored or not.
    connections: u64,
    /// Distinct seconds with a connection, stored or not.
    distinct_seconds: u64,
    /// Offset of the last distinct second seen.
    last_offset: Option<u32>,
    /// Seconds of the last connection.
    last_secs: i64,
    /// Hours of the day (UTC) with a connection, one bit each.
    hours_of_day: u32,
    /// Distinct hour buckets (since the epoch) with a connection.
    active_hours: u32,
    /// The last hour bucket counted in `active_hours`.
    last_hour: i64,
}

impl Series {
    fn new(secs: i64) -> Self {
        Series {
            evidence: None,
            base_secs: secs,
            samples: Vec::new(),
            stride: 1,
            connections: 0,
            distinct_seconds: 0,
            last_offset: None,
            last_secs: secs,
            hours_of_day: 0,
            active_hours: 0,
            last_hour: i64::MIN,
        }
    }

    /// Creates a series whose first second is a pair's single sighting.
    fn from_single(single: &Single) -> Self {
        let mut series = Series::new(single.secs);
        series.connections = single.connections;
        series.last_secs = single.secs;
        let hour = single.secs.div_euclid(3600);
        series.active_hours = 1;
        series.last_hour = hour;
        series.hours_of_day = 1 << hour.rem_euclid(24);
        series.last_offset = Some(0);
        series.distinct_seconds = 1;
        series.samples.push(Sample {
            offset: 0,
            request: single.request,
            response: single.response,
        });
        series
    }

    fn add(&mut self, event: &Event, http: &HttpEvent, secs: i64, max_samples: usize) {
        self.connections += 1;
        self.last_secs = self.last_secs.max(secs);
        let hour = secs.div_euclid(3600);
        if hour != self.last_hour {
            self.active_hours += 1;
            self.last_hour = hour;
        }
        self.hours_of_day |= 1 << hour.rem_euclid(24);

        // One sample per distinct second: browsers fetch many resources in
        // the same second, which is not a rhythm.
        let offset = u32::try_from(secs.saturating_sub(self.base_secs).max(0)).unwrap_or(u32::MAX);
        if self.last_offset == Some(offset) {
            return;
        }
        self.last_offset = Some(offset);
        self.distinct_seconds += 1;
        if self.distinct_seconds == 3 {
            self.evidence = Some(Box::new(event.clone()));
        }
        if !(self.distinct_seconds - 1).is_multiple_of(u64::from(self.stride)) {
            return;
        }
        if self.samples.len() >= max_samples.max(2) {
            self.thin();
        }
        let (request, response) = sizes(http);
        self.samples.push(Sample {
            offset,
            request,
            response,
        });
    }

    /// Drops every second sample and halves the sampling rate from now on.
    fn thin(&mut self) {
        let mut index = 0;
        self.samples.retain(|_| {
            index += 1;
            index % 2 == 1
        });
        self.stride = self.stride.saturating_mul(2);
    }
}

/// Request and response sizes of an event in bytes, `u32::MAX` when the
/// source logged none.
fn sizes(http: &HttpEvent) -> (u32, u32) {
    let size = |v: Option<u64>| v.map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX - 1));
    (
        size(http.bytes_from_client.or(http.request_body_len)),
        size(http.bytes_to_client.or(http.response_body_len)),
    )
}

/// A pair seen in one distinct second so far.
#[derive(Clone, Copy, Debug)]
struct Single {
    /// Digest of the pair's key; 0 marks a free slot.
    key: u64,
    /// Whole seconds of the sighting.
    secs: i64,
    /// Connections in that second.
    connections: u64,
    request: u32,
    response: u32,
}

/// Slots for pairs seen in one second so far, in buckets of four: a
/// lookup reads one cache line, and a full bucket drops its oldest entry.
///
/// A slot is stored as four words (key, seconds, connections, sizes) so
/// that the table is allocated zeroed: the operating system then maps its
/// pages only as they are first written, and a short input touches little
/// of it.
#[derive(Debug)]
struct Singles {
    slots: Vec<[u64; 4]>,
    bucket_mask: usize,
}

impl Single {
    fn from_slot(slot: &[u64; 4]) -> Self {
        Single {
            key: slot[0],
            secs: slot[1] as i64,
            connections: slot[2],
            request: (slot[3] >> 32) as u32,
            response: slot[3] as u32,
        }
    }

    fn to_slot(self) -> [u64; 4] {
        [
            self.key,
            self.secs as u64,
            self.connections,
            (u64::from(self.request) << 32) | u64::from(self.response),
        ]
    }
}

impl Singles {
    const WAYS: usize = 4;

    fn new(capacity: usize) -> Self {
        let buckets = (capacity / Self::WAYS).max(1).next_power_of_two();
        Singles {
            slots: vec![[0u64; 4]; buckets * Self::WAYS],
            bucket_mask: buckets - 1,
        }
    }

    /// Records a sighting of `key` at `secs` and returns the pair's state.
    ///
    /// A pair that returns in another second is marked as having a series.
    /// Later sightings then read that state from one cache line here,
    /// instead of from the series table. A marker dropped from a full bucket
    /// makes the pair look new again: the series then misses that one
    /// sample.
    fn see(&mut self, key: u64, secs: i64, (request, response): (u32, u32)) -> Sighting {
        // The high bits pick the bucket: hashbrown already spreads the low ones.
        let start = ((key >> 32) as usize & self.bucket_mask) * Self::WAYS;
        let bucket = &mut self.slots[start..start + Self::WAYS];

        if let Some(slot) = bucket.iter_mut().find(|s| s[0] == key) {
            if slot[2] == HAS_SERIES {
                slot[1] = secs as u64;
                return Sighting::HasSeries;
            }
            if slot[1] as i64 == secs {
                slot[2] += 1;
                return Sighting::Single;
            }
            let earlier = Single::from_slot(slot);
            *slot = [key, secs as u64, HAS_SERIES, 0];
            return Sighting::Returned(earlier);
        }
        let oldest = bucket
            .iter_mut()
            .min_by_key(|s| if s[0] == 0 { i64::MIN } else { s[1] as i64 });
        if let Some(slot) = oldest {
            *slot = Single {
                key,
                secs,
                connections: 1,
                request,
                response,
            }
            .to_slot();
        }
        Sighting::Single
    }
}

/// The connection count that marks a slot whose pair has a series.
const HAS_SERIES: u64 = u64::MAX;

/// The state of a pair, as [`Singles::see`] returns it.
#[derive(Debug)]
enum Sighting {
    /// Seen in one second only, so far.
    Single,
    /// Back in another second: this was its first sighting.
    Returned(Single),
    /// The pair has a series.
    HasSeries,
}

/// The sub-scores and their combination for one pair.
#[derive(Clone, Debug, PartialEq)]
pub struct BeaconScore {
    /// Combined score in [0, 1].
    pub score: f64,
    /// `1 - |Bowley skewness|` of the gaps.
    pub timing_skew: f64,
    /// `1 - MAD / ceiling` of the gaps.
    pub timing_mad: f64,
    /// Median gap in seconds.
    pub median_gap_secs: f64,
    /// Median absolute deviation of the gaps, in seconds.
    pub gap_mad_secs: f64,
    /// Size score (skew, MAD, smallness of request and response sizes), if
    /// the source logged sizes.
    pub size: Option<f64>,
    /// Fraction of the analysed period the pair spans.
    pub persistence: f64,
    /// Fraction of the hours the pair spans that had a connection.
    pub consistency: f64,
    /// Distinct hours of the day active, over `min(24, hours spanned)`.
    pub hours_of_day: f64,
}

/// Median of sorted values.
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Bowley skewness score `1 - |skew|` and median absolute deviation of values.
fn skew_and_mad(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let q1 = values[n / 4];
    let q2 = median(values);
    let q3 = values[(3 * n) / 4];
    let skew = if q3 - q1 > 0.0 && q2 != q1 && q2 != q3 {
        (q3 + q1 - 2.0 * q2) / (q3 - q1)
    } else {
        0.0
    };
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - q2).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    (1.0 - skew.abs(), median(&deviations), q2)
}

/// Size score of one size series, or `None` when the source logged none.
fn size_score(sizes: impl ExactSizeIterator<Item = u32>, mad_ceiling: f64) -> Option<f64> {
    let total = sizes.len();
    let mut known: Vec<f64> = sizes.filter(|&s| s != u32::MAX).map(f64::from).collect();
    if known.len() < total / 2 || known.len() < 3 {
        return None;
    }
    let (skew, mad, _) = skew_and_mad(&mut known);
    let mad_score = (1.0 - mad / mad_ceiling.max(1.0)).max(0.0);

    // Mode of the sizes: the most common value in the sorted list.
    let mut mode = known[0];
    let (mut best, mut run) = (0usize, 0usize);
    for i in 0..known.len() {
        run = if i > 0 && known[i] == known[i - 1] {
            run + 1
        } else {
            1
        };
        if run > best {
            best = run;
            mode = known[i];
        }
    }
    let smallness = (1.0 - mode / 65_535.0).max(0.0);
    Some((skew + mad_score + smallness) / 3.0)
}

fn score_series(series: &Series, period_secs: f64, config: &BeaconConfig) -> Option<BeaconScore> {
    let enough =
        usize::try_from(series.distinct_seconds).unwrap_or(usize::MAX) >= config.min_connections;
    if !enough || series.samples.len() < 3 {
        return None;
    }
    let stride = f64::from(series.stride);
    let mut gaps: Vec<f64> = series
        .samples
        .windows(2)
        .map(|w| f64::from(w[1].offset.saturating_sub(w[0].offset)) / stride)
        .collect();
    let (timing_skew, gap_mad, median_gap) = skew_and_mad(&mut gaps);
    let timing_mad = (1.0 - gap_mad / config.timing_mad_ceiling_secs.max(0.001)).max(0.0);
    let timing = (timing_skew + timing_mad) / 2.0;

    let size = match (
        size_score(
            series.samples.iter().map(|s| s.request),
            config.size_mad_ceiling_bytes,
        ),
        size_score(
            series.samples.iter().map(|s| s.response),
            config.size_mad_ceiling_bytes,
        ),
    ) {
        (Some(a), Some(b)) => Some((a + b) / 2.0),
        (a, b) => a.or(b),
    };

    let span = (series.last_secs - series.base_secs).max(0) as f64;
    let persistence = if period_secs > 0.0 {
        (span / period_secs).min(1.0)
    } else {
        0.0
    };
    let hours_spanned = (span / 3600.0).floor() + 1.0;
    let consistency = (f64::from(series.active_hours) / hours_spanned).min(1.0);
    let hours_of_day =
        (f64::from(series.hours_of_day.count_ones()) / hours_spanned.min(24.0)).min(1.0);
    let duration = (persistence + consistency + hours_of_day) / 3.0;

    let score = match size {
        Some(size) => 0.4 * timing + 0.3 * size + 0.3 * duration,
        None => 0.55 * timing + 0.45 * duration,
    };
    Some(BeaconScore {
        score: score.clamp(0.0, 1.0),
        timing_skew,
        timing_mad,
        median_gap_secs: median_gap,
        gap_mad_secs: gap_mad,
        size,
        persistence,
        consistency,
        hours_of_day,
    })
}

/// The `http.beacon` detector.
#[derive(Debug)]
pub struct BeaconDetector {
    config: BeaconConfig,
    allowed: CachedSuffixList,
    /// Boxed so that the table's slots stay small: most pairs are seen once
    /// and a slot is moved on every growth of the table.
    pairs: BoundedMap<(ClientKey, u64), Box<Series>>,
    singles: Singles,
    first_secs: Option<i64>,
    last_secs: i64,
}

impl BeaconDetector {
    /// Creates a detector with the given settings.
    pub fn new(config: BeaconConfig) -> Self {
        BeaconDetector {
            allowed: CachedSuffixList::new(&config.allowed_hosts),
            pairs: BoundedMap::new(config.max_pairs),
            singles: Singles::new(config.max_single_pairs),
            first_secs: None,
            last_secs: i64::MIN,
            config,
        }
    }
}

impl Detector for BeaconDetector {
    fn id(&self) -> &'static str {
        "http.beacon"
    }

    fn observe(&mut self, event: &Event, _hits: &[IntelHit], _alerts: &mut Vec<Alert>) {
        let Some(http) = as_http(event) else {
            return;
        };
        let secs = http.timestamp.as_secs();
        self.first_secs = Some(self.first_secs.map_or(secs, |f| f.min(secs)));
        self.last_secs = self.last_secs.max(secs);

        let server = match (http.host.as_deref(), http.server_ip) {
            (Some(host), _) if !host.is_empty() => {
                let host_digest = digest(host);
                if self
                    .allowed
                    .contains(host, host_digest, http.timestamp.as_nanos())
                {
                    return;
                }
                host_digest
            }
            (_, Some(ip)) => digest(&ip.to_string()),
            _ => return,
        };
        let key = (ClientKey::of(http), server);
        let now = http.timestamp.as_nanos();
        let max_samples = self.config.max_samples;

        // A pair earns a series when it comes back in another second.
        let single_key = super::digest_key(&key).max(1);
        let series = match self.singles.see(single_key, secs, sizes(http)) {
            Sighting::Single => return,
            Sighting::Returned(first) => self
                .pairs
                .entry_or_insert_with(&key, now, || Box::new(Series::from_single(&first))),
            // The series may have been dropped from a full table: start over.
            Sighting::HasSeries => self
                .pairs
                .entry_or_insert_with(&key, now, || Box::new(Series::new(secs))),
        };
        series.add(event, http, secs, max_samples);
    }

    fn finish(&mut self, alerts: &mut Vec<Alert>) {
        let period = match self.first_secs {
            Some(first) => (self.last_secs - first).max(0) as f64,
            None => return,
        };
        let mut found = Vec::new();
        let config = self.config.clone();
        let evicted = self.pairs.evicted();
        self.pairs.drain(|_, series| {
            if let Some(score) = score_series(&series, period, &config)
                && score.score >= config.min_score
            {
                found.push((score, series));
            }
        });
        found.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
        tracing::debug!(
            beacons = found.len(),
            pairs_evicted = evicted,
            "http.beacon finished"
        );

        for (score, series) in found {
            let Some(evidence) = series.evidence else {
                continue;
            };
            let Some(http) = as_http(&evidence) else {
                continue;
            };
            let client = client_label(http);
            let server = http
                .host
                .clone()
                .or_else(|| http.server_ip.map(|ip| ip.to_string()))
                .unwrap_or_default();
            let summary = format!(
                "{client} contacted {server} {} times about every {:.0} s (deviation {:.1} s)",
                series.connections, score.median_gap_secs, score.gap_mad_secs
            );
            let mut alert = Alert::new(self.id(), score.score, summary, vec![(*evidence).clone()])
                .with_detail("server", server)
                .with_detail("connections", series.connections)
                .with_detail("samples", series.samples.len() as u64)
                .with_detail("median_gap_secs", round3(score.median_gap_secs))
                .with_detail("gap_mad_secs", round3(score.gap_mad_secs))
                .with_detail("timing_skew_score", round3(score.timing_skew))
                .with_detail("timing_mad_score", round3(score.timing_mad))
                .with_detail("size_score", score.size.map(round3))
                .with_detail("persistence_score", round3(score.persistence))
                .with_detail("consistency_score", round3(score.consistency))
                .with_detail("hours_of_day_score", round3(score.hours_of_day))
                .with_detail("first_seen_secs", series.base_secs)
                .with_detail("last_seen_secs", series.last_secs)
                .with_detail("score", round3(score.score));
            if let Some(ts) = picket_event::Timestamp::from_secs_nanos(series.last_secs, 0) {
                alert.timestamp = ts;
            }
            alerts.push(alert);
        }
    }
}

#[cfg(test)]
mod tests {
    use picket_event::Timestamp;

    use super::*;

    fn request(secs: i64, client: &str, host: &str, response_bytes: u64) -> Event {
        Event::from(HttpEvent {
            timestamp: Timestamp::from_nanos(secs * super::super::NANOS),
            client_ip: Some(client.parse().unwrap()),
            host: Some(host.into()),
            url: format!("http://{host}/gate.php"),
            bytes_from_client: Some(310),
            bytes_to_client: Some(response_bytes),
            ..HttpEvent::default()
        })
    }

    /// A deterministic pseudo-random sequence in [0, 1), for jitter.
    fn lcg(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    fn run(events: &[Event], config: BeaconConfig) -> Vec<Alert> {
        let mut detector = BeaconDetector::new(config);
        let mut sorted = events.to_vec();
        sorted.sort_by_key(Event::timestamp);
        let mut alerts = Vec::new();
        for event in &sorted {
            detector.observe(event, &[], &mut alerts);
        }
        detector.finish(&mut alerts);
        alerts
    }

    #[test]
    fn jittered_beacon_is_found() {
        let mut rng = 7u64;
        let mut events = Vec::new();
        let mut t = 0i64;
        while t < 6 * 3600 {
            events.push(request(
                t,
                "10.0.0.3",
                "c2.example",
                250 + (lcg(&mut rng) * 10.0) as u64,
            ));
            t += 300 + (lcg(&mut rng) * 60.0 - 30.0) as i64;
        }
        // Browsing noise from another client to another host.
        let mut s = 0i64;
        while s < 6 * 3600 {
            events.push(request(
                s,
                "10.0.0.4",
                "news.example",
                20_000 + (lcg(&mut rng) * 50_000.0) as u64,
            ));
            s += 1 + (lcg(&mut rng) * lcg(&mut rng) * 3000.0) as i64;
        }
        let alerts = run(&events, BeaconConfig::default());
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert!(alerts[0].summary.contains("c2.example"));
        assert!(alerts[0].details["timing_mad_score"].as_f64().unwrap() > 0.3);
    }

    #[test]
    fn first_second_counts_once_the_pair_returns() {
        // Three requests in the first second, then one a minute: the
        // series starts from the single sighting with all three counted.
        let mut events = vec![
            request(0, "10.0.0.3", "c2.example", 250),
            request(0, "10.0.0.3", "c2.example", 250),
            request(0, "10.0.0.3", "c2.example", 250),
        ];
        events.extend((1..40).map(|i| request(i * 60, "10.0.0.3", "c2.example", 250)));
        let alerts = run(&events, BeaconConfig::default());
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].details["connections"], 42);
        assert_eq!(alerts[0].details["samples"], 40);
        assert_eq!(alerts[0].details["first_seen_secs"], 0);
    }

    #[test]
    fn full_bucket_drops_its_oldest_single_sighting() {
        let mut singles = Singles::new(4);
        let sizes = (1, 2);
        for (key, secs) in [(1u64, 10), (2, 5), (3, 20), (4, 30)] {
            assert!(matches!(singles.see(key, secs, sizes), Sighting::Single));
        }
        // The fifth pair pushes out the oldest, pair 2.
        assert!(matches!(singles.see(5, 40, sizes), Sighting::Single));
        assert!(
            matches!(singles.see(2, 50, sizes), Sighting::Single),
            "pair 2 starts over"
        );
        // Pair 3 is still there and comes back in another second.
        let Sighting::Returned(first) = singles.see(3, 60, sizes) else {
            panic!("pair 3 returns");
        };
        assert_eq!((first.secs, first.connections), (20, 1));
        assert!(matches!(singles.see(3, 70, sizes), Sighting::HasSeries));
    }

    #[test]
    fn irregular_traffic_is_not_a_beacon() {
        let mut rng = 3u64;
        let mut events = Vec::new();
        let mut t = 0i64;
        while t < 6 * 3600 {
            events.push(request(
                t,
                "10.0.0.4",
                "news.example",
                1000 + (lcg(&mut rng) * 90_000.0) as u64,
            ));
            t += 1 + (lcg(&mut rng).powi(3) * 4000.0) as i64;
        }
        assert!(run(&events, BeaconConfig::default()).is_empty());
    }

    #[test]
    fn allowed_hosts_are_skipped() {
        let events: Vec<Event> = (0..100)
            .map(|i| request(i * 60, "10.0.0.3", "ctldl.windowsupdate.com", 300))
            .collect();
        assert!(run(&events, BeaconConfig::default()).is_empty());
    }

    #[test]
    fn thinning_keeps_a_regular_series_regular() {
        let config = BeaconConfig {
            max_samples: 16,
            ..BeaconConfig::default()
        };
        let events: Vec<Event> = (0..500)
            .map(|i| request(i * 60, "10.0.0.3", "c2.example", 300))
            .collect();
        let alerts = run(&events, config);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].details["median_gap_secs"], 60.0);
        assert_eq!(alerts[0].details["connections"], 500);
    }

    #[test]
    fn max_single_pairs_bounded() {
        let read = |value: u64| {
            serde_json::from_value::<BeaconConfig>(serde_json::json!({ "max_single_pairs": value }))
        };

        assert_eq!(read(1 << 24).unwrap().max_single_pairs, 1 << 24);
        assert_eq!(read(0).unwrap().max_single_pairs, 0);
        let error = read(1_000_000_000_000_000).unwrap_err().to_string();
        assert!(error.contains("1000000000000000"), "{error}");
        assert!(error.contains("from 0 to 16777216"), "{error}");
    }

    #[test]
    fn skew_and_mad_of_constant_series() {
        let mut values = vec![60.0; 10];
        let (skew, mad, med) = skew_and_mad(&mut values);
        assert_eq!((skew, mad, med), (1.0, 0.0, 60.0));
    }
}
