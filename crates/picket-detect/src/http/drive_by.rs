//! `http.drive_by_chain`: the trail a drive-by download leaves in a proxy log
//! or a capture, correlated per client.
//!
//! A drive-by goes through up to four stages, each a request from the same
//! client:
//!
//! 1. **landing**: an HTML page (often a compromised site);
//! 2. **exploit**: a Java archive, PDF, Flash movie or Silverlight package,
//!    a request by a Java user agent, or a URL of an exploit kit's shape
//!    (long hex path segments);
//! 3. **payload**: an executable or binary response, by sniffed magic,
//!    content type or file name, or one whose content type contradicts the
//!    URL's extension;
//! 4. **follow-up**: after a payload, a user agent new to the client
//!    fetching binaries, or a POST to a host the client had not contacted.
//!
//! Per client, the detector keeps the last few landing pages and one open
//! chain. A stage joins the chain when it comes within
//! [`DriveByConfig::window_secs`] of the previous stage, in stage order, from
//! a related host: the same host, registrable domain or server address as an
//! earlier stage, a referrer naming one of them, or no referrer at all within
//! [`DriveByConfig::unreferred_gap_secs`] (Java and downloaders send none).
//! When the window closes, a chain with at least
//! [`DriveByConfig::min_stages`] distinct stages raises one alert listing its
//! events in order. Requests to known software updaters never count as stages.

use std::collections::VecDeque;
use std::net::IpAddr;

use picket_event::{Alert, Detector, Event, HttpEvent, IntelHit};
use serde::Deserialize;

use super::classify::{self, FileKind};
use super::table::BoundedMap;
use super::type_mismatch::find_mismatch;
use super::{
    CachedSuffixList, ClientKey, SubstringList, as_http, client_label, digest, round3,
    secs_to_nanos,
};

/// Settings of `http.drive_by_chain`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriveByConfig {
    /// Runs the detector. Default true.
    pub enabled: bool,
    /// Maximum gap, in seconds, between one stage and the next. Default 180.
    pub window_secs: u64,
    /// A stage from an unrelated host without a referrer still joins a chain
    /// when it follows the previous stage within this many seconds. Default 30.
    pub unreferred_gap_secs: u64,
    /// Distinct stages a chain needs to alert. Default 2.
    pub min_stages: usize,
    /// Evidence events kept per chain; later events of a stage already
    /// present are counted but not kept. Default 16.
    pub max_events_per_chain: usize,
    /// Recent landing pages kept per client as possible chain starts.
    /// Default 2.
    pub landing_candidates: usize,
    /// User agents and hosts remembered per client for the follow-up stage.
    /// Default 32 each.
    pub max_recent_per_client: usize,
    /// Clients tracked at once; a client idle for
    /// [`Self::client_idle_secs`] is dropped, and beyond this limit the least
    /// recently seen are. A client costs about 1.5 KiB (two landing pages,
    /// its recent agents and hosts) plus its open chain. Default 50,000.
    pub max_clients: usize,
    /// Seconds after which an idle client's state is dropped. Default 1800.
    pub client_idle_secs: u64,
    /// Hosts (and subdomains) of software updaters whose downloads are not
    /// stages. Default: the Windows, Office, Chrome, Firefox, Adobe Reader,
    /// Flash and Java update hosts.
    pub updater_hosts: Vec<String>,
    /// User-agent substrings (any case) of software updaters. Default:
    /// `Windows-Update-Agent`, `Google Update`, `Mozilla Maintenance`,
    /// `Adobe Update`, `JavaUpdate`, `Java Update`, `Microsoft BITS` (the
    /// Windows transfer service that Windows and Chrome updates use; its
    /// binary fetches still reach `http.suspicious_user_agent`).
    pub updater_agents: Vec<String>,
}

impl Default for DriveByConfig {
    fn default() -> Self {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        DriveByConfig {
            enabled: true,
            window_secs: 180,
            unreferred_gap_secs: 30,
            min_stages: 2,
            max_events_per_chain: 16,
            landing_candidates: 2,
            max_recent_per_client: 32,
            max_clients: 50_000,
            client_idle_secs: 1800,
            updater_hosts: strings(&[
                "windowsupdate.com",
                "update.microsoft.com",
                "officecdn.microsoft.com",
                "dl.google.com",
                "update.googleapis.com",
                "gvt1.com",
                "download.mozilla.org",
                "aus5.mozilla.org",
                "ardownload.adobe.com",
                "armmf.adobe.com",
                "fpdownload.macromedia.com",
                "javadl.oracle.com",
                "javadl-esd-secure.oracle.com",
                "javadl.sun.com",
                "sdlc-esd.oracle.com",
            ]),
            updater_agents: strings(&[
                "Windows-Update-Agent",
                "Google Update",
                "Mozilla Maintenance",
                "Adobe Update",
                "JavaUpdate",
                "Java Update",
                "Microsoft BITS",
            ]),
        }
    }
}

/// A drive-by stage, in the order a drive-by goes through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The HTML page the victim opened.
    Landing,
    /// The exploit delivered to a plug-in or the browser.
    Exploit,
    /// The binary the exploit fetched.
    Payload,
    /// The payload at work: a new agent fetching binaries or a POST to a new host.
    FollowUp,
}

impl Stage {
    /// The lower-case name used in alert details.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Landing => "landing",
            Stage::Exploit => "exploit",
            Stage::Payload => "payload",
            Stage::FollowUp => "follow_up",
        }
    }
}

/// Where a stage event came from, for relating later stages to it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Origin {
    host: u64,
    domain: u64,
    server: Option<IpAddr>,
}

impl Origin {
    fn of(http: &HttpEvent) -> Self {
        let host = http.host.as_deref().unwrap_or("");
        Origin {
            host: digest(host),
            domain: digest(classify::registrable_domain(host)),
            server: http.server_ip,
        }
    }

    fn matches_host(&self, host: &str) -> bool {
        self.host == digest(host) || self.domain == digest(classify::registrable_domain(host))
    }
}

/// One event of a chain.
#[derive(Debug)]
struct Link {
    stage: Stage,
    reason: &'static str,
    time: i64,
    origin: Origin,
    event: Event,
    hits: Vec<IntelHit>,
}

/// A chain being built.
#[derive(Debug, Default)]
struct Chain {
    links: Vec<Link>,
    /// Stage events beyond the evidence limit.
    dropped: u64,
}

impl Chain {
    fn last_time(&self) -> i64 {
        self.links.last().map_or(i64::MIN, |l| l.time)
    }

    fn top_stage(&self) -> Option<Stage> {
        self.links.iter().map(|l| l.stage).max()
    }

    fn distinct_stages(&self) -> usize {
        let mut stages: Vec<Stage> = self.links.iter().map(|l| l.stage).collect();
        stages.dedup();
        stages.len()
    }

    fn related(&self, http: &HttpEvent, now: i64, unreferred_gap: i64) -> bool {
        let host = http.host.as_deref().unwrap_or("");
        let referrer_host = http.referrer.as_deref().and_then(classify::url_host);
        let related_origin = self.links.iter().any(|link| {
            link.origin.matches_host(host)
                || (link.origin.server.is_some() && link.origin.server == http.server_ip)
                || referrer_host
                    .as_deref()
                    .is_some_and(|r| link.origin.matches_host(r))
        });
        related_origin
            || (referrer_host.is_none() && now.saturating_sub(self.last_time()) <= unreferred_gap)
    }
}

/// A landing page kept as a possible chain start.
#[derive(Debug, Default)]
struct Landing {
    event: HttpEvent,
}

/// The state the detector keeps per client.
#[derive(Debug, Default)]
struct ClientState {
    landings: VecDeque<Landing>,
    chain: Option<Chain>,
    agents: VecDeque<u64>,
    hosts: VecDeque<u64>,
}

/// Pushes `value`, known to be absent, onto a bounded recency list.
fn remember(list: &mut VecDeque<u64>, value: u64, max: usize) {
    if list.len() >= max.max(1) {
        list.pop_front();
    }
    list.push_back(value);
}

/// Copies `src` into `dst` field by field, so that strings reuse `dst`'s
/// buffers: landing pages are frequent and kept only briefly.
fn copy_event(dst: &mut HttpEvent, src: &HttpEvent) {
    let HttpEvent {
        timestamp,
        location,
        client_ip,
        client_port,
        server_ip,
        server_port,
        user_name,
        method,
        url,
        scheme,
        host,
        port,
        path,
        query,
        version,
        user_agent,
        referrer,
        forwarded_for,
        real_ip,
        bytes_from_client,
        request_body_len,
        status,
        content_type,
        bytes_to_client,
        response_body_len,
        location_header,
        server_header,
        file_name,
        body,
        proxy_action,
        proxy_hierarchy,
        proxy_result_code,
        anomalies,
    } = src;
    dst.timestamp = *timestamp;
    dst.location.clone_from(location);
    dst.client_ip = *client_ip;
    dst.client_port = *client_port;
    dst.server_ip = *server_ip;
    dst.server_port = *server_port;
    dst.user_name.clone_from(user_name);
    dst.method.clone_from(method);
    dst.url.clone_from(url);
    dst.scheme.clone_from(scheme);
    dst.host.clone_from(host);
    dst.port = *port;
    dst.path.clone_from(path);
    dst.query.clone_from(query);
    dst.version.clone_from(version);
    dst.user_agent.clone_from(user_agent);
    dst.referrer.clone_from(referrer);
    dst.forwarded_for.clone_from(forwarded_for);
    dst.real_ip.clone_from(real_ip);
    dst.bytes_from_client = *bytes_from_client;
    dst.request_body_len = *request_body_len;
    dst.status = *status;
    dst.content_type.clone_from(content_type);
    dst.bytes_to_client = *bytes_to_client;
    dst.response_body_len = *response_body_len;
    dst.location_header.clone_from(location_header);
    dst.server_header.clone_from(server_header);
    dst.file_name.clone_from(file_name);
    dst.body.clone_from(body);
    dst.proxy_action.clone_from(proxy_action);
    dst.proxy_hierarchy.clone_from(proxy_hierarchy);
    dst.proxy_result_code = *proxy_result_code;
    dst.anomalies.clone_from(anomalies);
}

/// Classifies an event by itself into a stage (the follow-up needs the chain).
fn intrinsic_stage(http: &HttpEvent) -> Option<(Stage, &'static str)> {
    if !classify::delivered(http) {
        return None;
    }
    let delivered = classify::delivered_kind(http);
    let sniffed = classify::sniffed_kind(http);

    if sniffed.is_some_and(|k| matches!(k, FileKind::Executable | FileKind::Script)) {
        return Some((Stage::Payload, "executable body magic"));
    }
    if let Some(kind) = delivered.filter(|k| k.is_payload()) {
        return Some((
            Stage::Payload,
            match kind {
                FileKind::Executable => "executable download",
                FileKind::Script => "script download",
                FileKind::Archive => "archive download",
                _ => "binary content type",
            },
        ));
    }
    if find_mismatch(http).is_some() {
        return Some((Stage::Payload, "content type contradicts the URL"));
    }
    if let Some(kind) = delivered.filter(|k| k.is_exploit_carrier()) {
        return Some((
            Stage::Exploit,
            match kind {
                FileKind::JavaArchive => "java archive",
                FileKind::Pdf => "pdf",
                FileKind::Flash => "flash",
                _ => "silverlight",
            },
        ));
    }
    let agent = http.user_agent.as_deref().unwrap_or("");
    if agent.starts_with("Java/") || agent.contains(" Java/1.") {
        return Some((Stage::Exploit, "java user agent"));
    }
    let path = classify::event_path(http);
    let page_or_unknown = delivered.is_none_or(|k| k == FileKind::Html);
    if page_or_unknown
        && path
            .split('/')
            .any(|s| classify::is_long_hex(s.split('.').next().unwrap_or(s)))
    {
        return Some((Stage::Exploit, "exploit-kit URL shape"));
    }
    let get = http
        .method
        .as_deref()
        .is_none_or(|m| m.eq_ignore_ascii_case("GET"));
    if get && delivered == Some(FileKind::Html) {
        return Some((Stage::Landing, "html page"));
    }
    None
}

/// The `http.drive_by_chain` detector.
#[derive(Debug)]
pub struct DriveByDetector {
    config: DriveByConfig,
    updater_hosts: CachedSuffixList,
    updater_agents: SubstringList,
    clients: BoundedMap<ClientKey, ClientState>,
    window: i64,
    unreferred_gap: i64,
    next_sweep: i64,
    /// Whether each recently seen agent (by digest) is an updater's.
    updater_verdicts: BoundedMap<u64, bool>,
}

impl DriveByDetector {
    /// Creates a detector with the given settings.
    pub fn new(config: DriveByConfig) -> Self {
        DriveByDetector {
            updater_hosts: CachedSuffixList::new(&config.updater_hosts),
            updater_agents: SubstringList::new(&config.updater_agents),
            clients: BoundedMap::new(config.max_clients),
            window: secs_to_nanos(config.window_secs),
            unreferred_gap: secs_to_nanos(config.unreferred_gap_secs),
            next_sweep: i64::MIN,
            updater_verdicts: BoundedMap::new(8192),
            config,
        }
    }

    /// Tells whether an event comes from a software updater, by host or by
    /// agent; agent verdicts are cached by digest because agents repeat.
    fn is_updater(
        &mut self,
        http: &HttpEvent,
        agent_digest: u64,
        host_digest: u64,
        now: i64,
    ) -> bool {
        if let Some(host) = http.host.as_deref()
            && self.updater_hosts.contains(host, host_digest, now)
        {
            return true;
        }
        let agents = &self.updater_agents;
        let agent = http.user_agent.as_deref().unwrap_or("");
        *self
            .updater_verdicts
            .entry_or_insert_with(&agent_digest, now, || agents.find(agent).is_some())
    }

    /// Closes chains whose window passed and drops idle clients.
    fn sweep(&mut self, now: i64, alerts: &mut Vec<Alert>) {
        let window = self.window;
        let config = &self.config;
        self.clients.for_each_mut(|_, state| {
            if state
                .chain
                .as_ref()
                .is_some_and(|c| now.saturating_sub(c.last_time()) > window)
                && let Some(chain) = state.chain.take()
            {
                close_chain(chain, config, alerts);
            }
        });
        let idle_cutoff = now.saturating_sub(secs_to_nanos(self.config.client_idle_secs));
        self.clients.expire_before(idle_cutoff, |_, state| {
            if let Some(chain) = state.chain {
                close_chain(chain, config, alerts);
            }
        });
    }
}

/// Raises the alert of a closed chain if it has enough stages.
fn close_chain(chain: Chain, config: &DriveByConfig, alerts: &mut Vec<Alert>) {
    let stages = chain.distinct_stages();
    if stages < config.min_stages.max(2) {
        return;
    }
    let first = chain.links.first().map_or(0, |l| l.time);
    let last = chain.last_time();
    let span_secs = (last.saturating_sub(first)) as f64 / 1e9;

    // Stage count sets the base; tighter timing and corroboration add.
    let base: f64 = match stages {
        2 => 0.5,
        3 => 0.7,
        _ => 0.85,
    };
    let allowed_span = config.window_secs.max(1) as f64 * (stages - 1) as f64;
    let tightness = (1.0 - span_secs / allowed_span).clamp(0.0, 1.0);
    let sniffed = chain
        .links
        .iter()
        .any(|l| l.reason == "executable body magic");
    let mut indicators: Vec<IntelHit> = Vec::new();
    for link in &chain.links {
        for hit in &link.hits {
            if !indicators.contains(hit) {
                indicators.push(hit.clone());
            }
        }
    }
    let score = base
        + 0.1 * tightness
        + if sniffed { 0.05 } else { 0.0 }
        + if indicators.is_empty() { 0.0 } else { 0.05 };

    let Some(client) = chain
        .links
        .first()
        .and_then(|l| as_http(&l.event))
        .map(client_label)
    else {
        return;
    };
    let path: Vec<&str> = {
        let mut names: Vec<&str> = chain.links.iter().map(|l| l.stage.name()).collect();
        names.dedup();
        names
    };
    let details: Vec<serde_json::Value> = chain
        .links
        .iter()
        .map(|link| {
            let http = as_http(&link.event);
            serde_json::json!({
                "stage": link.stage.name(),
                "reason": link.reason,
                "time": link.event.timestamp().to_string(),
                "host": http.and_then(|h| h.host.clone()),
                "url": http.map(|h| h.url.clone()),
                "location": link.event.location().to_string(),
            })
        })
        .collect();
    let summary = format!(
        "{client} went through a drive-by chain ({}) within {span_secs:.0} s",
        path.join(" -> ")
    );
    let events: Vec<Event> = chain.links.into_iter().map(|l| l.event).collect();
    let mut alert = Alert::new("http.drive_by_chain", score, summary, events)
        .with_detail("stages", path)
        .with_detail("stage_count", stages as u64)
        .with_detail("span_secs", round3(span_secs))
        .with_detail("tightness", round3(tightness))
        .with_detail("chain", details)
        .with_detail("events_not_kept", chain.dropped)
        .with_detail("score", round3(score.min(1.0)));
    alert.indicators = indicators;
    alerts.push(alert);
}

impl Detector for DriveByDetector {
    fn id(&self) -> &'static str {
        "http.drive_by_chain"
    }

    fn observe(&mut self, event: &Event, hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(http) = as_http(event) else {
            return;
        };
        let now = http.timestamp.as_nanos();
        if now >= self.next_sweep {
            self.sweep(now, alerts);
            self.next_sweep = now.saturating_add(self.window.max(1));
        }

        let agent = digest(http.user_agent.as_deref().unwrap_or(""));
        let host_name = http.host.as_deref().unwrap_or("");
        let host = digest(host_name);
        let key = ClientKey::of(http);
        let config = &self.config;
        let window = self.window;
        let unreferred_gap = self.unreferred_gap;
        let state = self
            .clients
            .entry_or_insert_with(&key, now, ClientState::default);

        // Close this client's chain if its window has passed.
        if state
            .chain
            .as_ref()
            .is_some_and(|c| now.saturating_sub(c.last_time()) > window)
            && let Some(chain) = state.chain.take()
        {
            close_chain(chain, config, alerts);
        }

        let new_agent = !state.agents.contains(&agent);
        let new_host = !state.hosts.contains(&host);
        if new_agent {
            remember(&mut state.agents, agent, config.max_recent_per_client);
        }
        if new_host {
            remember(&mut state.hosts, host, config.max_recent_per_client);
        }

        // Decide the stage; the follow-up depends on the chain so far.
        let mut stage = intrinsic_stage(http);
        let has_payload = state.chain.as_ref().and_then(Chain::top_stage) >= Some(Stage::Payload);
        if has_payload {
            let binary = matches!(stage, Some((Stage::Payload, _)));
            let post = http
                .method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("POST"));
            if new_agent && binary {
                stage = Some((Stage::FollowUp, "new user agent fetched a binary"));
            } else if post && new_host {
                stage = Some((Stage::FollowUp, "POST to a new host"));
            }
        }
        let Some((stage, reason)) = stage else {
            return;
        };

        // Only a stage event needs the updater check, so the many events
        // that are no stage skip it.
        if self.is_updater(http, agent, host, now) {
            return;
        }
        let config = &self.config;
        let Some(state) = self.clients.get_mut(&key, now) else {
            return;
        };

        if stage == Stage::Landing {
            // Reuse the oldest slot's buffers once the ring is full.
            let mut slot = if state.landings.len() >= config.landing_candidates.max(1) {
                state.landings.pop_front().unwrap_or_default()
            } else {
                Landing::default()
            };
            copy_event(&mut slot.event, http);
            state.landings.push_back(slot);
            return;
        }

        let link = Link {
            stage,
            reason,
            time: now,
            origin: Origin::of(http),
            event: event.clone(),
            hits: hits.to_vec(),
        };

        // Extend the open chain when the stage is in order and related.
        if let Some(chain) = state.chain.as_mut() {
            let in_order = chain.top_stage().is_none_or(|top| stage >= top);
            let related = stage == Stage::FollowUp || chain.related(http, now, unreferred_gap);
            if in_order && related {
                if chain.links.len() < config.max_events_per_chain.max(2) {
                    chain.links.push(link);
                } else {
                    chain.dropped += 1;
                }
                return;
            }
            if chain.distinct_stages() > 1 || stage == Stage::FollowUp {
                return;
            }
        }
        if stage == Stage::FollowUp {
            return;
        }

        // Start a new chain, from the most recent related landing page if any.
        let mut chain = Chain::default();
        let referrer_host = http.referrer.as_deref().and_then(classify::url_host);
        let landing = state.landings.iter().rev().find(|landing| {
            let landing_time = landing.event.timestamp.as_nanos();
            if now.saturating_sub(landing_time) > window || landing_time > now {
                return false;
            }
            let origin = Origin::of(&landing.event);
            let same_site = origin.matches_host(host_name);
            if reason == "pdf" && same_site {
                // A site's own PDF is a document, not an exploit.
                return false;
            }
            same_site
                || referrer_host
                    .as_deref()
                    .is_some_and(|r| origin.matches_host(r))
                || (referrer_host.is_none() && now.saturating_sub(landing_time) <= unreferred_gap)
        });
        if let Some(landing) = landing {
            chain.links.push(Link {
                stage: Stage::Landing,
                reason: "html page",
                time: landing.event.timestamp.as_nanos(),
                origin: Origin::of(&landing.event),
                event: Event::from(landing.event.clone()),
                hits: Vec::new(),
            });
        }
        chain.links.push(link);
        if let Some(old) = state.chain.replace(chain) {
            close_chain(old, config, alerts);
        }
    }

    fn finish(&mut self, alerts: &mut Vec<Alert>) {
        let config = &self.config;
        self.clients.drain(|_, state| {
            if let Some(chain) = state.chain {
                close_chain(chain, config, alerts);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use picket_event::Timestamp;

    use super::*;

    fn http(
        secs: i64,
        host: &str,
        path: &str,
        content_type: &str,
        agent: &str,
        referrer: Option<&str>,
    ) -> Event {
        Event::from(HttpEvent {
            timestamp: Timestamp::from_nanos(secs * super::super::NANOS),
            client_ip: Some("10.0.0.21".parse().unwrap()),
            method: Some("GET".into()),
            host: Some(host.into()),
            url: format!("http://{host}{path}"),
            path: Some(path.into()),
            status: Some(200),
            content_type: Some(content_type.into()),
            user_agent: Some(agent.into()),
            referrer: referrer.map(String::from),
            ..HttpEvent::default()
        })
    }

    const BROWSER: &str = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko";

    fn run(events: &[Event]) -> Vec<Alert> {
        let mut detector = DriveByDetector::new(DriveByConfig::default());
        let mut alerts = Vec::new();
        for event in events {
            detector.observe(event, &[], &mut alerts);
        }
        detector.finish(&mut alerts);
        alerts
    }

    fn full_chain() -> Vec<Event> {
        let mut post = http(
            20,
            "203.0.113.50",
            "/gate.php",
            "text/html",
            "Mozilla/4.0 (compatible)",
            None,
        );
        if let Event::Http(h) = &mut post {
            h.method = Some("POST".into());
        }
        vec![
            http(0, "news.example", "/story.html", "text/html", BROWSER, None),
            http(
                3,
                "ek.example",
                "/0f1e2d3c4b5a69788796a5b4c3d2e1f0/",
                "text/html",
                BROWSER,
                Some("http://news.example/story.html"),
            ),
            http(
                5,
                "ek.example",
                "/applet.jar",
                "application/java-archive",
                "Java/1.7.0_17",
                None,
            ),
            http(
                9,
                "ek.example",
                "/photo.jpg",
                "application/octet-stream",
                "Java/1.7.0_17",
                None,
            ),
            post,
        ]
    }

    #[test]
    fn full_chain_raises_one_alert() {
        let alerts = run(&full_chain());
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(
            alert.details["stages"],
            serde_json::json!(["landing", "exploit", "payload", "follow_up"])
        );
        assert!(alert.score >= 0.9, "{}", alert.score);
        assert_eq!(alert.events.len(), 5);
    }

    #[test]
    fn fewer_stages_score_lower() {
        let two = run(&full_chain()[..3]);
        assert_eq!(two.len(), 1);
        let four = run(&full_chain());
        assert!(two[0].score < four[0].score);
    }

    #[test]
    fn updater_breaks_the_chain() {
        let events = vec![
            http(0, "news.example", "/story.html", "text/html", BROWSER, None),
            http(
                4,
                "javadl.sun.com",
                "/update/jre.jar",
                "application/java-archive",
                "JavaUpdate/7",
                None,
            ),
            http(
                8,
                "javadl.sun.com",
                "/update/jre-setup.exe",
                "application/x-msdownload",
                "JavaUpdate/7",
                None,
            ),
        ];
        assert!(run(&events).is_empty());
    }

    #[test]
    fn stages_outside_the_window_do_not_chain() {
        let events = vec![
            http(0, "news.example", "/story.html", "text/html", BROWSER, None),
            http(
                1000,
                "ek.example",
                "/applet.jar",
                "application/java-archive",
                "Java/1.7.0_17",
                None,
            ),
        ];
        assert!(run(&events).is_empty());
    }

    #[test]
    fn same_site_pdf_is_a_document() {
        let events = vec![
            http(
                0,
                "docs.example",
                "/manual.html",
                "text/html",
                BROWSER,
                None,
            ),
            http(
                2,
                "docs.example",
                "/manual.pdf",
                "application/pdf",
                BROWSER,
                Some("http://docs.example/manual.html"),
            ),
        ];
        assert!(run(&events).is_empty());
    }

    #[test]
    fn unrelated_hosts_do_not_chain() {
        let events = vec![
            http(0, "news.example", "/story.html", "text/html", BROWSER, None),
            http(
                90,
                "other.example",
                "/app.jar",
                "application/java-archive",
                BROWSER,
                Some("http://third.example/"),
            ),
        ];
        assert!(run(&events).is_empty());
    }

    #[test]
    fn chain_closes_when_client_goes_quiet() {
        let mut events = full_chain();
        // Another client keeps the log going past the window.
        let mut later = http(600, "news.example", "/x.html", "text/html", BROWSER, None);
        if let Event::Http(h) = &mut later {
            h.client_ip = Some("10.0.0.99".parse().unwrap());
        }
        events.push(later);
        let mut detector = DriveByDetector::new(DriveByConfig::default());
        let mut alerts = Vec::new();
        for event in &events {
            detector.observe(event, &[], &mut alerts);
        }
        assert_eq!(alerts.len(), 1, "alert raised before finish");
    }
}
