//! `dns.dga`: hosts resolving names made by a domain generation algorithm.
//!
//! Two kinds of evidence:
//!
//! - lexical: the registered label scores at or above `min_lexical_score`
//!   under the shipped [`DgaModel`] (one alert per client and registered
//!   domain per `dedupe_secs`);
//! - behaviour: one client gets NXDOMAIN for at least `min_shape_names`
//!   distinct registered domains of one [`NameShape`] (same suffix, length
//!   bucket and character classes) within `window_secs`. Every further name
//!   of that shape in the window is reported in batches of the same size and
//!   at the window's end.
//!
//! A client's single-name NXDOMAIN alerts stop at `max_nx_alerts_per_window`
//! per window. Random-looking names past that are held and reported together
//! in one alert when the window closes or the input ends.
//!
//! State, keyed by client: per client up to `max_shapes_per_client` shapes,
//! each holding up to `max_evidence` events and a set of 8-byte name hashes
//! (at most `max_shape_names_tracked`); `max_clients` clients. Plus a
//! de-duplication table of `max_alerted_names` 16-byte keys, and per client
//! up to `max_shape_names_tracked` held names (text and hash) with
//! `max_evidence` events. At the defaults the worst case is about 50,000 x
//! 64 x (16 events + 4 KiB of hashes) for the shapes. Held names add 50,000
//! x (16 events + 512 names of up to 253 bytes). In practice a client holds
//! only the shapes of its failing lookups.

use std::net::IpAddr;

use picket_event::dns::ResponseCode;
use picket_event::{Alert, DnsEvent, Event, IntelHit, Timestamp};
use serde::Deserialize;

use crate::dns::allowlist::Allowlist;
use crate::dns::model::DgaModel;
use crate::dns::name::{NameParts, NameShape, split_name};
use crate::dns::table::BoundedTable;
use crate::dns::{client_key, dns_event, name_hash, round3 as round};

/// The detector id.
pub const ID: &str = "dns.dga";

/// The largest accepted `min_shape_names`.
const MAX_SHAPE_NAMES: usize = 1_000_000;

/// Settings of `dns.dga`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DgaConfig {
    /// Run the detector. Default: true.
    pub enabled: bool,
    /// Lexical score at or above which a single name is reported. 0.5 is the
    /// model's calibrated cut, placed at 0.25 % false positives on popular
    /// names by cross-validation at training time. Default: 0.5.
    #[serde(deserialize_with = "crate::bounds::fraction")]
    pub min_lexical_score: f64,
    /// Report random-looking names that resolved, not only NXDOMAINs. A
    /// DGA's live C2 name is the one that resolves. Default: true.
    pub alert_resolved: bool,
    /// Length of the behaviour window, seconds. Default: 600.
    pub window_secs: u64,
    /// Distinct NXDOMAIN registered domains of one shape from one client in
    /// one window that make a behaviour alert. Default: 8. At most
    /// 1,000,000, because the detector computes 4 times this count.
    #[serde(deserialize_with = "crate::bounds::usize_in::<_, 0, MAX_SHAPE_NAMES>")]
    pub min_shape_names: usize,
    /// Clients tracked at once. Default: 50,000.
    pub max_clients: usize,
    /// Shapes tracked per client. Default: 64.
    pub max_shapes_per_client: usize,
    /// Distinct names counted per shape and window (counting saturates there).
    /// Default: 512.
    pub max_shape_names_tracked: usize,
    /// Evidence events kept per alert. Default: 16.
    pub max_evidence: usize,
    /// (client, registered domain) pairs remembered to report a name once.
    /// Default: 200,000.
    pub max_alerted_names: usize,
    /// How long a reported pair stays quiet after its alert, in seconds. A
    /// pair still seen afterwards is reported again. Default: 86,400.
    pub dedupe_secs: u64,
    /// Lexical scores remembered per registered domain (the cache is emptied
    /// when full). Default: 100,000 (about 2 MiB).
    pub max_cached_scores: usize,
    /// Single-name alerts for NXDOMAINs per client and behaviour window.
    /// A DGA host fails hundreds of names, so past this many its
    /// random-looking names are held and listed in one alert at the window's
    /// end, and one host does not flood the output. Random-looking names
    /// that resolve are always reported. Default: 3.
    pub max_nx_alerts_per_window: u32,
    /// Parts of the lexical logit (n-grams, suffix, features) named in a
    /// lexical alert's `top_contributions`, largest first. Default: 5.
    pub explain_top: usize,
}

impl Default for DgaConfig {
    fn default() -> Self {
        DgaConfig {
            enabled: true,
            min_lexical_score: 0.5,
            alert_resolved: true,
            window_secs: 600,
            min_shape_names: 8,
            max_clients: 50_000,
            max_shapes_per_client: 64,
            max_shape_names_tracked: 512,
            max_evidence: 16,
            max_alerted_names: 200_000,
            dedupe_secs: 86_400,
            max_cached_scores: 100_000,
            max_nx_alerts_per_window: 3,
            explain_top: 5,
        }
    }
}

/// Names of one shape that failed for one client in the current window.
#[derive(Debug)]
struct ShapeWindow {
    start: Timestamp,
    names: hashbrown::HashSet<u64>,
    /// Evidence not yet reported.
    pending: Vec<Event>,
    pending_names: Vec<String>,
    lexical_sum: f64,
    alerted: bool,
}

/// One client's single-name NXDOMAIN alerts in the current window, and the
/// random-looking names held back once they reached the limit.
#[derive(Debug)]
struct NxWindow {
    /// Start of the window, nanoseconds since the epoch.
    start: i64,
    alerts: u32,
    /// Held names, up to `max_shape_names_tracked`.
    held: Vec<String>,
    /// Hashes of the held names. A name comes back when the de-duplication
    /// table evicts its pair, and is listed once.
    held_hashes: hashbrown::HashSet<u64>,
    /// Held names past that limit, counted only (repeats included).
    held_uncounted: u64,
    /// Evidence for the held names, up to `max_evidence` events.
    held_events: Vec<Event>,
    held_max_lexical: f64,
}

impl NxWindow {
    fn new(start: i64) -> Self {
        NxWindow {
            start,
            alerts: 0,
            held: Vec::new(),
            held_hashes: hashbrown::HashSet::new(),
            held_uncounted: 0,
            held_events: Vec::new(),
            held_max_lexical: 0.0,
        }
    }
}

#[derive(Debug)]
struct ClientState {
    shapes: BoundedTable<NameShape, ShapeWindow>,
}

/// The `dns.dga` detector.
pub struct DgaDetector {
    config: DgaConfig,
    model: &'static DgaModel,
    allowlist: std::sync::Arc<Allowlist>,
    clients: BoundedTable<IpAddr, ClientState>,
    reported: BoundedTable<(IpAddr, u64), Timestamp>,
    /// Per client: the NXDOMAIN name alerts of the current window.
    nx_alerts: BoundedTable<IpAddr, NxWindow>,
    scores: hashbrown::HashMap<u64, f64>,
}

impl DgaDetector {
    /// Builds a detector that scores names with the shipped model.
    pub fn new(config: DgaConfig, allowlist: std::sync::Arc<Allowlist>) -> Self {
        DgaDetector {
            clients: BoundedTable::new(config.max_clients, config.window_secs.saturating_mul(2)),
            reported: BoundedTable::new(config.max_alerted_names, config.dedupe_secs),
            nx_alerts: BoundedTable::new(config.max_clients, config.window_secs),
            model: DgaModel::shipped(),
            scores: hashbrown::HashMap::new(),
            allowlist,
            config,
        }
    }

    fn lexical_alert(
        &mut self,
        event: &Event,
        dns: &DnsEvent,
        parts: &NameParts<'_>,
        lexical: f64,
        nx: bool,
        alerts: &mut Vec<Alert>,
    ) {
        if lexical < self.config.min_lexical_score || (!nx && !self.config.alert_resolved) {
            return;
        }
        let client = client_key(dns);
        let key = (client, name_hash(parts.registered));
        if self.reported.reported_recently(key, dns.timestamp) {
            return;
        }
        if nx && !self.nx_alert_allowed(client, dns.timestamp, alerts) {
            self.hold(client, event, parts.registered, lexical);
            return;
        }

        // Lexical evidence alone stays below "high"; a failing lookup adds.
        let mut score = 0.35 + 0.3 * ((lexical - 0.5) / 0.5).clamp(0.0, 1.0);
        if nx {
            score += 0.1;
        }
        let outcome = if nx { "got NXDOMAIN for" } else { "resolved" };
        // Computed only for the alerts raised, so its cost stays off the
        // per-name path.
        let contributions: Vec<String> = self
            .model
            .explain(parts.label, parts.suffix, self.config.explain_top)
            .into_iter()
            .map(|c| format!("{} {:+.2}", c.name, c.logit))
            .collect();
        alerts.push(
            Alert::new(
                ID,
                score,
                format!(
                    "{} {outcome} the random-looking domain {}",
                    display_client(dns),
                    parts.registered
                ),
                vec![event.clone()],
            )
            .with_detail("kind", "lexical")
            .with_detail("registered_domain", parts.registered)
            .with_detail("lexical_score", round(lexical))
            .with_detail("min_lexical_score", self.config.min_lexical_score)
            .with_detail("nxdomain", nx)
            .with_detail("top_contributions", contributions),
        );
    }

    /// Counts one NXDOMAIN name alert for a client and returns whether it
    /// stays within the per-window limit. A window that has closed is
    /// reset, and its held names are reported first.
    fn nx_alert_allowed(
        &mut self,
        client: IpAddr,
        now: picket_event::Timestamp,
        alerts: &mut Vec<Alert>,
    ) -> bool {
        let window = i64::try_from(self.config.window_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        let limit = self.config.max_nx_alerts_per_window;
        let config = &self.config;
        let state = self.nx_alerts.entry_evicting(
            client,
            now,
            || NxWindow::new(now.as_nanos()),
            |evicted, mut state| {
                if let Some(alert) = held_alert(evicted, &mut state, config, "client evicted") {
                    alerts.push(alert);
                }
            },
        );

        if now.as_nanos().saturating_sub(state.start) >= window {
            if let Some(alert) = held_alert(client, state, &self.config, "window closed") {
                alerts.push(alert);
            }
            *state = NxWindow::new(now.as_nanos());
        }

        state.alerts += 1;
        state.alerts <= limit
    }

    /// Holds a random-looking NXDOMAIN name past the client's alert limit,
    /// to be listed in the alert that closes the window.
    /// A client evicted from the table to make room has its held names
    /// reported then.
    ///
    /// NOTE: a window closes only on the client's next limited lookup, its
    /// eviction or the end of the input. In a live stream a client that
    /// falls silent keeps its held names until one of those.
    fn hold(&mut self, client: IpAddr, event: &Event, registered: &str, lexical: f64) {
        let now = event.timestamp();
        let state = self
            .nx_alerts
            .entry(client, now, || NxWindow::new(now.as_nanos()));

        let hash = name_hash(registered);
        if state.held_hashes.contains(&hash) {
            return;
        }
        if state.held.len() < self.config.max_shape_names_tracked {
            state.held_hashes.insert(hash);
            state.held.push(registered.to_owned());
        } else {
            state.held_uncounted += 1;
        }
        if state.held_events.len() < self.config.max_evidence {
            state.held_events.push(event.clone());
        }
        state.held_max_lexical = state.held_max_lexical.max(lexical);
    }

    /// Returns the lexical score of a registered domain, from the cache when
    /// it was scored before.
    fn lexical(&mut self, parts: &NameParts<'_>) -> f64 {
        let key = name_hash(parts.registered);
        if let Some(&score) = self.scores.get(&key) {
            return score;
        }
        if self.scores.len() >= self.config.max_cached_scores {
            self.scores.clear();
        }
        let score = self.model.score(parts.label, parts.suffix).score;
        self.scores.insert(key, score);
        score
    }

    /// Counts a failing name under its exact shape, then under the same
    /// shape with any suffix (DGAs that spread over many TLDs); a name is
    /// reported under the second only when the first has not reported it.
    fn behaviour(
        &mut self,
        event: &Event,
        dns: &DnsEvent,
        parts: &NameParts<'_>,
        lexical: f64,
        alerts: &mut Vec<Alert>,
    ) {
        let now = dns.timestamp;
        let config = &self.config;
        let client = client_key(dns);
        let state = self.clients.entry_evicting(
            client,
            now,
            || ClientState {
                shapes: BoundedTable::new(config.max_shapes_per_client, config.window_secs),
            },
            |_, mut evicted| {
                evicted.shapes.drain(|shape, mut slot| {
                    report_pending(&mut slot, &shape, config, "client evicted", alerts);
                });
            },
        );
        let exact = NameShape::of(parts);
        let mut any_suffix = exact.clone();
        any_suffix.suffix = String::from(ANY_SUFFIX);

        let reported = count_in_shape(
            state,
            exact,
            event,
            parts.registered,
            lexical,
            config,
            config.min_shape_names,
            false,
            alerts,
        );
        count_in_shape(
            state,
            any_suffix,
            event,
            parts.registered,
            lexical,
            config,
            config.min_shape_names * 2,
            reported,
            alerts,
        );
    }
}

/// The suffix of the shape that ignores suffixes.
const ANY_SUFFIX: &str = "*";

/// Adds a name to one shape window; returns true when the shape has alerted
/// (so the name is reported through it). `silent` counts the name without
/// reporting it again.
#[allow(clippy::too_many_arguments)]
fn count_in_shape(
    state: &mut ClientState,
    shape: NameShape,
    event: &Event,
    registered: &str,
    lexical: f64,
    config: &DgaConfig,
    threshold: usize,
    silent: bool,
    alerts: &mut Vec<Alert>,
) -> bool {
    let now = event.timestamp();
    let window =
        i64::try_from(config.window_secs.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX);
    let fresh = || ShapeWindow {
        start: now,
        names: hashbrown::HashSet::new(),
        pending: Vec::new(),
        pending_names: Vec::new(),
        lexical_sum: 0.0,
        alerted: false,
    };
    let slot =
        state
            .shapes
            .entry_evicting(shape.clone(), now, fresh, |evicted_shape, mut evicted| {
                report_pending(
                    &mut evicted,
                    &evicted_shape,
                    config,
                    "shape evicted",
                    alerts,
                );
            });

    if now.nanos_since(slot.start) > window {
        report_pending(slot, &shape, config, "window closed", alerts);
        *slot = fresh();
    }

    // Past the tracking limit, names can no longer be distinguished, so an
    // alerted shape reports every further name.
    let hash = name_hash(registered);
    if slot.names.len() >= config.max_shape_names_tracked {
        if !slot.alerted {
            return false;
        }
    } else if !slot.names.insert(hash) {
        return slot.alerted;
    }
    slot.lexical_sum += lexical;
    if silent {
        return slot.alerted;
    }
    if slot.pending.len() < config.max_evidence {
        slot.pending.push(event.clone());
    }
    slot.pending_names.push(registered.to_owned());

    if slot.pending_names.len() >= threshold {
        let reason = if slot.alerted {
            "more names"
        } else {
            "threshold"
        };
        alerts.push(shape_alert(slot, &shape, config, reason));
        slot.alerted = true;
    }
    slot.alerted
}

/// Raises the shape alert for the names an alerted window collected since
/// its last alert, when there are any.
fn report_pending(
    slot: &mut ShapeWindow,
    shape: &NameShape,
    config: &DgaConfig,
    reason: &str,
    alerts: &mut Vec<Alert>,
) {
    if slot.alerted && !slot.pending_names.is_empty() {
        alerts.push(shape_alert(slot, shape, config, reason));
    }
}

fn shape_alert(
    slot: &mut ShapeWindow,
    shape: &NameShape,
    config: &DgaConfig,
    reason: &str,
) -> Alert {
    let names = std::mem::take(&mut slot.pending_names);
    let events = std::mem::take(&mut slot.pending);
    let distinct = slot.names.len();
    let mean_lexical = slot.lexical_sum / distinct.max(1) as f64;
    let score = 0.7
        + 0.15 * mean_lexical.clamp(0.0, 1.0)
        + 0.15 * (distinct as f64 / (4 * config.min_shape_names) as f64).min(1.0);
    let client = events
        .last()
        .and_then(|e| e.client().ip)
        .map_or_else(|| "a client".to_owned(), |ip| ip.to_string());
    Alert::new(
        ID,
        score,
        format!(
            "{client} got NXDOMAIN for {distinct} distinct {} domains of one shape in {} s",
            if shape.suffix == ANY_SUFFIX {
                "any-suffix".to_owned()
            } else {
                format!(".{}", shape.suffix)
            },
            config.window_secs
        ),
        events,
    )
    .with_detail("kind", "nxdomain_shape")
    .with_detail("reason", reason)
    .with_detail("suffix", shape.suffix.clone())
    .with_detail(
        "label_length_bucket",
        format!(
            "{}-{}",
            u32::from(shape.length_bucket) * 4,
            u32::from(shape.length_bucket) * 4 + 3
        ),
    )
    .with_detail("character_classes", classes_text(shape.classes))
    .with_detail("distinct_names", distinct)
    .with_detail("min_shape_names", config.min_shape_names)
    .with_detail("mean_lexical_score", round(mean_lexical))
    .with_detail("names", names)
}

/// Drops from a client's held names those that its shape alerts in
/// `new_alerts` list, so that no name is listed twice.
///
/// NOTE: a shape alert raised after the held names were reported (its shape
/// window closes later) still lists them again.
fn unhold_listed(state: &mut NxWindow, client: IpAddr, new_alerts: &[Alert]) {
    let listed = new_alerts
        .iter()
        .filter(|alert| alert.host.is_none_or(|host| host == client))
        .filter(|alert| {
            alert
                .details
                .get("kind")
                .is_some_and(|k| k == "nxdomain_shape")
        })
        .filter_map(|alert| alert.details.get("names")?.as_array())
        .flatten()
        .filter_map(|name| name.as_str());
    for name in listed {
        if state.held_hashes.remove(&name_hash(name)) {
            state.held.retain(|held| held != name);
        }
    }
}

/// Builds the alert that lists the names `client` held, or `None` when no
/// name was held.
fn held_alert(
    client: IpAddr,
    state: &mut NxWindow,
    config: &DgaConfig,
    reason: &str,
) -> Option<Alert> {
    if state.held.is_empty() && state.held_uncounted == 0 {
        return None;
    }
    let names = std::mem::take(&mut state.held);
    let events = std::mem::take(&mut state.held_events);
    let count = names.len() as u64 + std::mem::take(&mut state.held_uncounted);

    // Scored like the single-name NXDOMAIN alert for the most random name.
    // The host is the table's key, since `max_evidence` may keep no event.
    // The unspecified address is the key of events without a client.
    let score = 0.45 + 0.3 * ((state.held_max_lexical - 0.5) / 0.5).clamp(0.0, 1.0);
    let host = (!client.is_unspecified()).then_some(client);
    let client_text = host.map_or_else(|| "A client".to_owned(), |ip| ip.to_string());
    let mut alert = Alert::new(
        ID,
        score,
        format!(
            "{client_text} got NXDOMAIN for {count} more random-looking domains in {} s",
            config.window_secs
        ),
        events,
    );
    alert.host = host;
    Some(
        alert
            .with_detail("kind", "lexical_held")
            .with_detail("reason", reason)
            .with_detail("held_names", count)
            .with_detail("max_nx_alerts_per_window", config.max_nx_alerts_per_window)
            .with_detail("min_lexical_score", config.min_lexical_score)
            .with_detail("max_lexical_score", round(state.held_max_lexical))
            .with_detail("names", names),
    )
}

fn classes_text(classes: u8) -> String {
    let mut parts = Vec::new();
    if classes & 1 != 0 {
        parts.push("letters");
    }
    if classes & 2 != 0 {
        parts.push("digits");
    }
    if classes & 4 != 0 {
        parts.push("hyphen");
    }
    parts.join("+")
}

fn display_client(dns: &DnsEvent) -> String {
    dns.client_ip
        .map_or_else(|| "A client".to_owned(), |ip| ip.to_string())
}

impl picket_event::Detector for DgaDetector {
    fn id(&self) -> &'static str {
        ID
    }

    fn observe(&mut self, event: &Event, _hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(dns) = dns_event(event) else { return };
        let Some(parts) = split_name(&dns.query_name) else {
            return;
        };
        if self.allowlist.allows(parts.name, dns.timestamp) {
            return;
        }
        let nx = dns.rcode == Some(ResponseCode::NXDOMAIN);
        let resolved = dns.rcode == Some(ResponseCode::NOERROR) && !dns.answers.is_empty();
        if !nx && !resolved {
            return;
        }

        let lexical = self.lexical(&parts);
        self.lexical_alert(event, dns, &parts, lexical, nx, alerts);
        if nx {
            let first_shape_alert = alerts.len();
            self.behaviour(event, dns, &parts, lexical, alerts);
            let client = client_key(dns);
            if self
                .nx_alerts
                .get(&client)
                .is_some_and(|s| !s.held.is_empty())
            {
                let state = self
                    .nx_alerts
                    .entry(client, dns.timestamp, || NxWindow::new(0));
                unhold_listed(state, client, &alerts[first_shape_alert..]);
            }
        }
    }

    fn finish(&mut self, alerts: &mut Vec<Alert>) {
        let config = self.config.clone();

        // Shape alerts first, so that the held names they list are dropped.
        let nx_alerts = &mut self.nx_alerts;
        self.clients.drain(|client, mut state| {
            let first_shape_alert = alerts.len();
            state.shapes.drain(|shape, mut slot| {
                report_pending(&mut slot, &shape, &config, "end of input", alerts);
            });
            if nx_alerts.get(&client).is_some_and(|s| !s.held.is_empty()) {
                // The key is present, so the entry neither evicts nor creates.
                let held = nx_alerts.entry(client, Timestamp::UNIX_EPOCH, || NxWindow::new(0));
                unhold_listed(held, client, &alerts[first_shape_alert..]);
            }
        });

        self.nx_alerts.drain(|client, mut state| {
            if let Some(alert) = held_alert(client, &mut state, &config, "end of input") {
                alerts.push(alert);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use picket_event::Detector;

    use super::*;

    /// Names the shipped model scores as random-looking.
    const RANDOM: [&str; 3] = [
        "xjq7vkz9wqpl3hd.com",
        "qz8vwx4kjp2mtr.net",
        "vk3qzx9wjp7rlt.org",
    ];

    fn nxdomain(secs: i64, name: &str) -> Event {
        Event::Dns(DnsEvent {
            timestamp: Timestamp::from_nanos(1_700_000_000_000_000_000 + secs * 1_000_000_000),
            client_ip: Some("10.9.9.12".parse().unwrap()),
            query_name: name.into(),
            rcode: Some(ResponseCode::NXDOMAIN),
            ..DnsEvent::default()
        })
    }

    /// Runs a detector with no single-name NXDOMAIN alerts and returns its
    /// `lexical_held` alerts.
    fn held_alerts(config: DgaConfig, events: &[Event]) -> Vec<Alert> {
        let allowlist = std::sync::Arc::new(Allowlist::new(false, &[]));
        let mut detector = DgaDetector::new(
            DgaConfig {
                max_nx_alerts_per_window: 0,
                min_shape_names: 100,
                ..config
            },
            allowlist,
        );
        let mut alerts = Vec::new();
        for event in events {
            detector.observe(event, &[], &mut alerts);
        }
        detector.finish(&mut alerts);
        alerts
            .into_iter()
            .filter(|a| a.details["kind"] == "lexical_held")
            .collect()
    }

    #[test]
    fn min_shape_names_bounded() {
        let read = |value: u64| {
            serde_json::from_value::<DgaConfig>(serde_json::json!({ "min_shape_names": value }))
        };

        assert_eq!(read(1_000_000).unwrap().min_shape_names, 1_000_000);
        let error = read(u64::MAX).unwrap_err().to_string();
        assert!(error.contains("18446744073709551615"), "{error}");
        assert!(error.contains("from 0 to 1000000"), "{error}");
    }

    #[test]
    fn held_name_listed_once_after_dedupe_eviction() {
        // A two-pair de-duplication table evicts each name before it comes
        // back, so every repeat reaches the held list.
        let config = DgaConfig {
            max_alerted_names: 2,
            ..DgaConfig::default()
        };
        let events: Vec<Event> = (0..9)
            .map(|i| nxdomain(i, RANDOM[i as usize % 3]))
            .collect();

        let alerts = held_alerts(config, &events);

        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].details["held_names"], 3);
        assert_eq!(alerts[0].details["names"], serde_json::json!(RANDOM));
    }

    #[test]
    fn evicted_client_reports_its_held_names() {
        // Two clients fit in the table: the third evicts the least recently
        // seen half (here both), whose held names are reported then rather
        // than lost.
        let config = DgaConfig {
            max_clients: 2,
            ..DgaConfig::default()
        };
        let from = |client: &str, secs: i64, name: &str| {
            let mut event = nxdomain(secs, name);
            if let Event::Dns(dns) = &mut event {
                dns.client_ip = Some(client.parse().unwrap());
            }
            event
        };
        let events = [
            from("10.0.0.1", 0, RANDOM[0]),
            from("10.0.0.2", 1, RANDOM[1]),
            from("10.0.0.3", 2, RANDOM[2]),
        ];

        let alerts = held_alerts(config, &events);

        let evicted: Vec<&Alert> = alerts
            .iter()
            .filter(|a| a.details["reason"] == "client evicted")
            .collect();
        assert_eq!(evicted.len(), 2, "{alerts:?}");
        let mut hosts: Vec<_> = evicted.iter().filter_map(|a| a.host).collect();
        hosts.sort();
        assert_eq!(
            hosts,
            ["10.0.0.1", "10.0.0.2"].map(|h| h.parse::<IpAddr>().unwrap())
        );
        let mut names: Vec<&str> = alerts
            .iter()
            .flat_map(|a| a.details["names"].as_array().unwrap())
            .filter_map(|name| name.as_str())
            .collect();
        names.sort();
        let mut expected = RANDOM;
        expected.sort();
        assert_eq!(names, expected, "every held name is reported once");
    }

    #[test]
    fn evicted_client_reports_pending_shape_names() {
        let allowlist = std::sync::Arc::new(Allowlist::new(false, &[]));
        let mut detector = DgaDetector::new(
            DgaConfig {
                max_clients: 2,
                min_shape_names: 3,
                ..DgaConfig::default()
            },
            allowlist,
        );
        let from = |client: &str, secs: i64, name: String| {
            let mut event = nxdomain(secs, &name);
            if let Event::Dns(dns) = &mut event {
                dns.client_ip = Some(client.parse().unwrap());
            }
            event
        };
        // Four names of one shape: three raise the shape alert, the fourth
        // waits for the next one. Two other clients then evict this one.
        let mut events: Vec<Event> = (0..4)
            .map(|i| from("10.0.0.1", i, format!("kq{:06}zx.com", i * 7919)))
            .collect();
        events.push(from("10.0.0.2", 10, "plain-name.com".into()));
        events.push(from("10.0.0.3", 11, "other-name.com".into()));

        let mut alerts = Vec::new();
        for event in &events {
            detector.observe(event, &[], &mut alerts);
        }

        let evicted: Vec<&Alert> = alerts
            .iter()
            .filter(|a| {
                a.details["kind"] == "nxdomain_shape" && a.details["reason"] == "client evicted"
            })
            .collect();
        assert_eq!(evicted.len(), 1, "{alerts:?}");
        assert_eq!(evicted[0].host, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(
            evicted[0].details["names"],
            serde_json::json!([format!("kq{:06}zx.com", 3 * 7919)])
        );
    }

    #[test]
    fn held_alert_names_host_without_evidence() {
        let config = DgaConfig {
            max_evidence: 0,
            ..DgaConfig::default()
        };
        let events = [nxdomain(0, RANDOM[0])];

        let alerts = held_alerts(config, &events);

        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0].events.is_empty());
        assert_eq!(alerts[0].host, Some("10.9.9.12".parse().unwrap()));
        assert!(
            alerts[0].summary.starts_with("10.9.9.12 "),
            "{}",
            alerts[0].summary
        );
    }

    #[test]
    fn held_names_skip_shape_alert_names() {
        // Forty failures of one shape: the shape alerts list every name, so
        // none of them is held as well.
        let mut seed: u64 = 12_345;
        let events: Vec<Event> = (0..40)
            .map(|i| {
                let label: String = (0..12)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        char::from(b'a' + ((seed >> 33) % 26) as u8)
                    })
                    .collect();
                nxdomain(i, &format!("{label}.com"))
            })
            .collect();
        let allowlist = std::sync::Arc::new(Allowlist::new(false, &[]));
        let mut detector = DgaDetector::new(DgaConfig::default(), allowlist);
        let mut alerts = Vec::new();
        for event in &events {
            detector.observe(event, &[], &mut alerts);
        }
        detector.finish(&mut alerts);

        let names_of = |kind: &str| -> Vec<String> {
            alerts
                .iter()
                .filter(|a| a.details["kind"] == kind)
                .flat_map(|a| a.details["names"].as_array().unwrap().clone())
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let shape = names_of("nxdomain_shape");
        let held = names_of("lexical_held");
        assert_eq!(shape.len(), 40, "{alerts:?}");
        assert!(held.iter().all(|n| !shape.contains(n)), "{held:?}");
    }
}
