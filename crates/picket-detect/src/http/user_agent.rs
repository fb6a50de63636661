//! `http.suspicious_user_agent`: empty agents, agents carrying header text,
//! Java, scripting and downloader agents fetching binaries, known-bad
//! agents, and agents never seen before on a client.
//!
//! The per-client agent inventory lives in memory, bounded by
//! [`UserAgentConfig::max_clients`] and [`UserAgentConfig::max_agents_per_client`],
//! and optionally in a [`UserAgentHistory`] that outlives the run (the store
//! implements it), so that "never seen before" means before this log too.

use picket_event::{Alert, Detector, Event, HttpEvent, IntelHit, Timestamp};
use serde::Deserialize;

use super::classify;
use super::table::BoundedMap;
use super::{
    ClientKey, SubstringList, Suppressor, as_http, client_label, digest, digest2, round3,
    secs_to_nanos,
};

/// Settings of `http.suspicious_user_agent`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserAgentConfig {
    /// Runs the detector. Default true.
    pub enabled: bool,
    /// Substrings (any case) of agents known to belong to malware. Default:
    /// `TeslaBrowser` (Agent Tesla), `Indy Library` (Delphi's default agent,
    /// common in bots), `WinHttpRequest`, `AutoIt`.
    pub known_bad: Vec<String>,
    /// Substrings (any case) of agents of Java, scripting languages and
    /// command-line downloaders, which a person's browser never sends.
    /// Default: `Java/`, `Python-urllib`, `python-requests`, `curl/`,
    /// `Wget/`, `WindowsPowerShell`, `libwww-perl`, `Go-http-client`,
    /// `CertUtil`, `Microsoft BITS`, `WinHttp`, `NSIS`.
    pub tool_agents: Vec<String>,
    /// Alerts on requests without a user agent, in inputs whose other
    /// events carry one. Default true.
    pub alert_empty: bool,
    /// Alerts on an agent never seen before on a client, once the client's
    /// inventory is older than [`Self::inventory_warmup_secs`]. Default true.
    pub alert_new_agent: bool,
    /// Seconds a client must have been watched (in this run or in the
    /// history) before a new agent on it is news. Default 86,400 (one day).
    pub inventory_warmup_secs: u64,
    /// Clients whose agent inventory is kept in memory; the least recently
    /// seen are dropped first. Each costs about 40 bytes plus 16 per agent.
    /// Default 100,000.
    pub max_clients: usize,
    /// Agents remembered per client; further agents are checked against the
    /// history but not kept in memory. Default 32.
    pub max_agents_per_client: usize,
    /// Minimum score to alert, in [0, 1]. Default 0.3.
    #[serde(deserialize_with = "crate::bounds::fraction")]
    pub min_score: f64,
    /// Seconds during which the same client, agent and reason raise one
    /// alert. Default 86,400.
    pub repeat_suppression_secs: u64,
    /// Entries of the repeat-suppression table. Default 100,000.
    pub max_tracked: usize,
    /// Sightings buffered before they are written to the history. Default 1,000.
    pub history_batch: usize,
}

impl Default for UserAgentConfig {
    fn default() -> Self {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        UserAgentConfig {
            enabled: true,
            known_bad: strings(&["TeslaBrowser", "Indy Library", "WinHttpRequest", "AutoIt"]),
            tool_agents: strings(&[
                "Java/",
                "Python-urllib",
                "python-requests",
                "curl/",
                "Wget/",
                "WindowsPowerShell",
                "libwww-perl",
                "Go-http-client",
                "CertUtil",
                "Microsoft BITS",
                "WinHttp",
                "NSIS",
            ]),
            alert_empty: true,
            alert_new_agent: true,
            inventory_warmup_secs: 86_400,
            max_clients: 100_000,
            max_agents_per_client: 32,
            min_score: 0.3,
            repeat_suppression_secs: 86_400,
            max_tracked: 100_000,
            history_batch: 1_000,
        }
    }
}

/// One user agent seen on one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAgentSighting {
    /// The client: its address, or `user:<name>` when the log has no address.
    pub client: String,
    /// The agent string as sent.
    pub user_agent: String,
    /// When it was seen.
    pub seen: Timestamp,
}

/// A failure of a [`UserAgentHistory`] back end.
#[derive(Debug, thiserror::Error)]
#[error("user-agent history failed during {operation}: {source}")]
pub struct HistoryError {
    /// The operation that failed (`lookup`, `record`).
    pub operation: &'static str,
    /// The back end's error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// A persistent per-client user-agent inventory.
///
/// The detector queries it once per (client, agent) pair missing from memory
/// and hands it new sightings in batches, so a slow back end costs little.
/// After the first error the detector logs it once and carries on with
/// memory only.
pub trait UserAgentHistory: Send {
    /// When `user_agent` was first seen on `client`, if ever.
    fn agent_first_seen(
        &mut self,
        client: &str,
        user_agent: &str,
    ) -> Result<Option<Timestamp>, HistoryError>;

    /// When any agent was first seen on `client`, if ever.
    fn client_first_seen(&mut self, client: &str) -> Result<Option<Timestamp>, HistoryError>;

    /// Records sightings; a pair already known keeps its first-seen time
    /// and gets the later last-seen time.
    fn record(&mut self, sightings: &[UserAgentSighting]) -> Result<(), HistoryError>;
}

/// What the detector keeps per client.
#[derive(Debug)]
struct ClientAgents {
    /// First time the client was seen (in the history or this run).
    first_seen: i64,
    /// Digests of the agents seen on the client.
    agents: Vec<u64>,
}

/// Finds what is wrong with an agent string itself, regardless of the client.
pub fn agent_string_problem(agent: &str) -> Option<(&'static str, f64)> {
    let trimmed = agent.trim();
    if trimmed.is_empty() || trimmed == "-" {
        return Some(("empty user agent", 0.3));
    }
    if trimmed
        .as_bytes()
        .get(..11)
        .is_some_and(|head| head.eq_ignore_ascii_case(b"user-agent:"))
    {
        return Some(("user agent begins with a User-Agent: header name", 0.7));
    }
    if trimmed.contains(['\r', '\n']) {
        return Some(("user agent contains a line break", 0.7));
    }
    if HEADER_TEXT.find(trimmed).is_some() {
        return Some(("user agent contains other header text", 0.6));
    }
    None
}

/// Header names that have no business inside a user agent.
static HEADER_TEXT: std::sync::LazyLock<SubstringList> = std::sync::LazyLock::new(|| {
    let names = [
        "accept:",
        "host:",
        "content-type:",
        "connection:",
        "referer:",
        "cookie:",
    ];
    SubstringList::new(&names.map(String::from))
});

/// The `http.suspicious_user_agent` detector.
pub struct UserAgentDetector {
    config: UserAgentConfig,
    known_bad: SubstringList,
    tools: SubstringList,
    clients: BoundedMap<ClientKey, ClientAgents>,
    history: Option<Box<dyn UserAgentHistory>>,
    pending: Vec<UserAgentSighting>,
    suppressor: Suppressor,
    /// What the string checks found on each recently seen agent, by digest:
    /// agents repeat on nearly every line, the checks need not.
    verdicts: BoundedMap<u64, AgentVerdict>,
}

/// Agents whose string-check results are cached.
const MAX_VERDICTS: usize = 8192;

/// The string checks' findings on one agent.
#[derive(Clone, Copy, Debug)]
struct AgentVerdict {
    problem: Option<(&'static str, f64)>,
    known_bad: Option<usize>,
    tool: Option<usize>,
}

impl std::fmt::Debug for UserAgentDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgentDetector")
            .field("clients", &self.clients.len())
            .field("history", &self.history.is_some())
            .finish()
    }
}

impl UserAgentDetector {
    /// Creates a detector with the given settings and optional persistent history.
    pub fn new(config: UserAgentConfig, history: Option<Box<dyn UserAgentHistory>>) -> Self {
        UserAgentDetector {
            known_bad: SubstringList::new(&config.known_bad),
            tools: SubstringList::new(&config.tool_agents),
            clients: BoundedMap::new(config.max_clients),
            history,
            pending: Vec::new(),
            suppressor: Suppressor::new(config.max_tracked, config.repeat_suppression_secs),
            verdicts: BoundedMap::new(MAX_VERDICTS),
            config,
        }
    }

    /// Stops using the history after its first error.
    fn history_failed(&mut self, error: &HistoryError) {
        tracing::warn!(%error, "user-agent history disabled for the rest of the run");
        self.history = None;
    }

    /// Updates the client's inventory and returns whether the agent is new to
    /// a client watched long enough for that to be news.
    fn note_agent(&mut self, http: &HttpEvent, agent: &str, agent_digest: u64, now: i64) -> bool {
        let key = ClientKey::of(http);

        if let Some(known) = self.clients.get_mut(&key, now)
            && known.agents.contains(&agent_digest)
        {
            return false;
        }

        // Not in memory: ask the history about the client and the pair.
        let client = history_client(http);
        let mut first_seen = now;
        let mut pair_known = false;
        let fresh_client = self.clients.get(&key).is_none();
        if let Some(history) = self.history.as_mut() {
            let lookup = history.agent_first_seen(&client, agent).and_then(|pair| {
                let client_first = if fresh_client {
                    history.client_first_seen(&client)?
                } else {
                    None
                };
                Ok((pair, client_first))
            });
            match lookup {
                Ok((pair, client_first)) => {
                    pair_known = pair.is_some();
                    if let Some(t) = client_first {
                        first_seen = first_seen.min(t.as_nanos());
                    }
                }
                Err(error) => self.history_failed(&error),
            }
        }

        let max_agents = self.config.max_agents_per_client;
        let entry = self
            .clients
            .entry_or_insert_with(&key, now, || ClientAgents {
                first_seen,
                agents: Vec::new(),
            });
        entry.first_seen = entry.first_seen.min(first_seen);
        let watched_long_enough = now.saturating_sub(entry.first_seen)
            >= secs_to_nanos(self.config.inventory_warmup_secs);
        if entry.agents.len() < max_agents {
            entry.agents.push(agent_digest);
        }

        if !pair_known && self.history.is_some() {
            self.pending.push(UserAgentSighting {
                client,
                user_agent: agent.to_owned(),
                seen: http.timestamp,
            });
            if self.pending.len() >= self.config.history_batch.max(1) {
                self.flush();
            }
        }
        !pair_known && watched_long_enough
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        if let Some(history) = self.history.as_mut()
            && let Err(error) = history.record(&batch)
        {
            self.history_failed(&error);
        }
    }
}

/// The client name used in the history: its address, else `user:<name>`,
/// else `agent-digest:<hex>`.
fn history_client(http: &HttpEvent) -> String {
    match (http.client_ip, http.user_name.as_deref()) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(user)) if !user.is_empty() && user != "-" => format!("user:{user}"),
        (None, _) => format!(
            "agent-digest:{:016x}",
            digest(http.user_agent.as_deref().unwrap_or(""))
        ),
    }
}

impl Detector for UserAgentDetector {
    fn id(&self) -> &'static str {
        "http.suspicious_user_agent"
    }

    fn observe(&mut self, event: &Event, hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(http) = as_http(event) else {
            return;
        };
        if is_tunnel(http) {
            // Proxies log tunnels with the agent of the CONNECT only, if any,
            // and connections they did not decrypt with no HTTP at all.
            return;
        }
        // `None`: the source does not record agents, so there is nothing to
        // judge; an empty string is a request sent without one.
        let Some(agent) = http.user_agent.as_deref() else {
            return;
        };
        let now = http.timestamp.as_nanos();
        let binary = classify::delivered(http)
            && classify::delivered_kind(http)
                .is_some_and(|k| k.is_payload() || k.is_exploit_carrier());

        let is_empty = agent.trim().is_empty() || agent.trim() == "-";

        let agent_digest = digest(agent);
        let (known_bad, tools) = (&self.known_bad, &self.tools);
        let verdict = *self
            .verdicts
            .entry_or_insert_with(&agent_digest, now, || AgentVerdict {
                problem: agent_string_problem(agent),
                known_bad: known_bad.find_index(agent),
                tool: tools.find_index(agent),
            });

        let mut score: f64 = 0.0;
        let mut reasons: Vec<String> = Vec::new();
        if let Some((reason, weight)) = verdict.problem
            && (!is_empty || self.config.alert_empty)
        {
            score = score.max(weight);
            reasons.push(reason.to_owned());
        }
        if let Some(bad) = verdict.known_bad.and_then(|i| self.known_bad.needle(i)) {
            score = score.max(0.8);
            reasons.push(format!("known-bad agent ({bad})"));
        }
        if binary && let Some(tool) = verdict.tool.and_then(|i| self.tools.needle(i)) {
            score = score.max(0.55);
            reasons.push(format!("{tool} agent fetched a binary"));
        }
        if !is_empty
            && self.note_agent(http, agent, agent_digest, now)
            && self.config.alert_new_agent
        {
            let weight = if binary { 0.5 } else { 0.3 };
            score = score.max(weight) + if score > 0.0 { 0.1 } else { 0.0 };
            reasons.push(if binary {
                "agent never seen before on this client fetched a binary".to_owned()
            } else {
                "agent never seen before on this client".to_owned()
            });
        }
        let score = score.min(1.0);
        if reasons.is_empty() || score < self.config.min_score {
            return;
        }

        let client = client_label(http);
        let key = digest2(&client, agent) ^ digest(&reasons[0]);
        if !self.suppressor.allow(key, now) {
            return;
        }
        let summary = format!(
            "{client} sent a suspicious user agent {agent:?}: {}",
            reasons.join("; ")
        );
        let mut alert = Alert::new(self.id(), score, summary, vec![event.clone()])
            .with_detail("user_agent", agent)
            .with_detail("reasons", reasons)
            .with_detail("binary_fetched", binary)
            .with_detail("score", round3(score));
        alert.indicators = hits.to_vec();
        alerts.push(alert);
    }

    fn finish(&mut self, _alerts: &mut Vec<Alert>) {
        self.flush();
        tracing::debug!(
            clients = self.clients.len(),
            clients_evicted = self.clients.evicted(),
            suppressed = self.suppressor.suppressed(),
            "http.suspicious_user_agent finished"
        );
    }
}

/// Tells whether a record is a tunnel rather than an HTTP request: a
/// `CONNECT`, or a connection a proxy passed without decrypting, which
/// BlueCoat logs with the scheme `ssl` or `tcp` and the method `unknown`.
fn is_tunnel(http: &HttpEvent) -> bool {
    let method = http.method.as_deref().unwrap_or("");
    let scheme = http.scheme.as_deref().unwrap_or("");
    method.eq_ignore_ascii_case("CONNECT")
        || method.eq_ignore_ascii_case("unknown")
        || scheme.eq_ignore_ascii_case("ssl")
        || scheme.eq_ignore_ascii_case("tcp")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;

    fn request(secs: i64, agent: &str, content_type: &str) -> Event {
        Event::from(HttpEvent {
            timestamp: Timestamp::from_nanos(secs * super::super::NANOS),
            client_ip: Some("10.0.0.7".parse().unwrap()),
            method: Some("GET".into()),
            host: Some("example.org".into()),
            url: "http://example.org/x".into(),
            path: Some("/x".into()),
            status: Some(200),
            user_agent: Some(agent.into()),
            content_type: Some(content_type.into()),
            ..HttpEvent::default()
        })
    }

    fn run(detector: &mut UserAgentDetector, events: &[Event]) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for event in events {
            detector.observe(event, &[], &mut alerts);
        }
        detector.finish(&mut alerts);
        alerts
    }

    #[test]
    fn header_text_in_agent_alerts() {
        let mut detector = UserAgentDetector::new(UserAgentConfig::default(), None);
        let alerts = run(
            &mut detector,
            &[request(0, "User-Agent: Mozilla/4.0", "text/html")],
        );
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].score >= 0.7);
    }

    #[test]
    fn empty_agent_needs_a_source_that_logs_agents() {
        let mut unrecorded = request(1, "", "text/html");
        if let Event::Http(http) = &mut unrecorded {
            http.user_agent = None;
        }
        let mut detector = UserAgentDetector::new(UserAgentConfig::default(), None);
        let alerts = run(
            &mut detector,
            &[request(0, "Firefox/120.0", "text/html"), unrecorded],
        );
        assert!(
            alerts.is_empty(),
            "a log without agents has no empty agents"
        );

        let mut detector = UserAgentDetector::new(UserAgentConfig::default(), None);
        let alerts = run(&mut detector, &[request(0, "", "text/html")]);
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].summary.contains("empty user agent"));
    }

    #[test]
    fn undecrypted_tunnels_have_no_agent_to_judge() {
        let mut tunnel = request(0, "", "text/html");
        if let Event::Http(http) = &mut tunnel {
            http.method = Some("unknown".into());
            http.scheme = Some("ssl".into());
        }
        let mut detector = UserAgentDetector::new(UserAgentConfig::default(), None);
        assert!(run(&mut detector, &[tunnel]).is_empty());
    }

    #[test]
    fn known_bad_agent_alerts() {
        let mut detector = UserAgentDetector::new(UserAgentConfig::default(), None);
        let alerts = run(
            &mut detector,
            &[request(0, "TeslaBrowser/5.5", "text/plain")],
        );
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].score >= 0.8);
    }

    #[test]
    fn java_agent_fetching_binary_alerts_but_not_page() {
        let mut detector = UserAgentDetector::new(UserAgentConfig::default(), None);
        let alerts = run(
            &mut detector,
            &[
                request(0, "Java/1.7.0_17", "text/html"),
                request(1, "Java/1.7.0_17", "application/octet-stream"),
            ],
        );
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].details["binary_fetched"], true);
    }

    #[test]
    fn new_agent_needs_warm_inventory() {
        let mut detector = UserAgentDetector::new(UserAgentConfig::default(), None);
        let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/120.0";
        let alerts = run(
            &mut detector,
            &[
                request(0, browser, "text/html"),
                request(60, "Updater 1.0", "text/html"),
                request(90_000, browser, "text/html"),
                request(90_100, "Downloader 2.0", "text/html"),
            ],
        );
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].summary.contains("Downloader 2.0"));
    }

    #[derive(Default, Clone)]
    struct MemoryHistory {
        pairs: Arc<Mutex<HashMap<(String, String), Timestamp>>>,
    }

    impl UserAgentHistory for MemoryHistory {
        fn agent_first_seen(
            &mut self,
            client: &str,
            user_agent: &str,
        ) -> Result<Option<Timestamp>, HistoryError> {
            let pairs = self.pairs.lock().unwrap();
            Ok(pairs
                .get(&(client.to_owned(), user_agent.to_owned()))
                .copied())
        }

        fn client_first_seen(&mut self, client: &str) -> Result<Option<Timestamp>, HistoryError> {
            let pairs = self.pairs.lock().unwrap();
            Ok(pairs
                .iter()
                .filter(|((c, _), _)| c == client)
                .map(|(_, t)| *t)
                .min())
        }

        fn record(&mut self, sightings: &[UserAgentSighting]) -> Result<(), HistoryError> {
            let mut pairs = self.pairs.lock().unwrap();
            for s in sightings {
                pairs
                    .entry((s.client.clone(), s.user_agent.clone()))
                    .or_insert(s.seen);
            }
            Ok(())
        }
    }

    #[test]
    fn history_carries_inventory_across_runs() {
        let history = MemoryHistory::default();
        let browser = "Mozilla/5.0 Firefox/120.0";

        // First run, a day long: the browser becomes known.
        let mut first =
            UserAgentDetector::new(UserAgentConfig::default(), Some(Box::new(history.clone())));
        run(&mut first, &[request(0, browser, "text/html")]);
        assert_eq!(history.pairs.lock().unwrap().len(), 1);

        // Second run, two days later: the browser is old news, a new agent is not.
        let mut second =
            UserAgentDetector::new(UserAgentConfig::default(), Some(Box::new(history.clone())));
        let alerts = run(
            &mut second,
            &[
                request(200_000, browser, "text/html"),
                request(200_010, "EvilTool", "text/html"),
            ],
        );
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].summary.contains("EvilTool"));
    }
}
