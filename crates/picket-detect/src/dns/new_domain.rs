//! `dns.new_domain`: the first time the organisation resolves a registered
//! domain.
//!
//! A domain is new when the stored history ([`DomainHistory`]) has never seen
//! it and neither has this run. Alerts start after a warm-up of `warmup_secs`,
//! counted from the start of the stored history or, without history, from the
//! first event of the input; before that, domains are only learnt. The score
//! grows with the lexical DGA score of the label (random-looking names are
//! the interesting new ones) and with a failing lookup; only scores of at least
//! `min_score` are reported, so at the default a plain new name is learnt
//! quietly and a new random-looking one is reported.
//!
//! Keyed by registered domain. State: a set of 8-byte hashes of the domains
//! seen in this run, at most `max_domains` (about 16 bytes each with the
//! table overhead, 16 MiB at the default); past that the set is cleared and
//! warm-up starts again, so a flood cannot turn every later name "new".

use std::sync::Arc;

use picket_event::dns::ResponseCode;
use picket_event::{Alert, Event, IntelHit, Timestamp};
use serde::Deserialize;

use crate::dns::allowlist::Allowlist;
use crate::dns::model::DgaModel;
use crate::dns::name::split_name;
use crate::dns::{DomainHistory, dns_event, name_hash, round3};

/// The detector id.
pub const ID: &str = "dns.new_domain";

/// Settings of `dns.new_domain`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NewDomainConfig {
    /// Run the detector. Default: true.
    pub enabled: bool,
    /// Learning time before the first alert, seconds. Default: 86,400.
    pub warmup_secs: u64,
    /// Lowest score reported. Default: 0.4 (a new domain with a lexical DGA
    /// score of about 0.5 or more).
    #[serde(deserialize_with = "crate::bounds::fraction")]
    pub min_score: f64,
    /// Registered domains remembered from this run. Default: 1,000,000.
    pub max_domains: usize,
}

impl Default for NewDomainConfig {
    fn default() -> Self {
        NewDomainConfig {
            enabled: true,
            warmup_secs: 86_400,
            min_score: 0.4,
            max_domains: 1_000_000,
        }
    }
}

/// The `dns.new_domain` detector.
pub struct NewDomainDetector {
    config: NewDomainConfig,
    allowlist: Arc<Allowlist>,
    history: Option<Box<dyn DomainHistory>>,
    model: &'static DgaModel,
    seen: hashbrown::HashSet<u64>,
    warmup_from: Option<Timestamp>,
}

impl NewDomainDetector {
    /// Builds a detector over an optional stored history.
    pub fn new(
        config: NewDomainConfig,
        allowlist: Arc<Allowlist>,
        history: Option<Box<dyn DomainHistory>>,
    ) -> Self {
        let warmup_from = history.as_ref().and_then(|h| h.recorded_since());
        NewDomainDetector {
            config,
            allowlist,
            history,
            model: DgaModel::shipped(),
            seen: hashbrown::HashSet::new(),
            warmup_from,
        }
    }
}

impl picket_event::Detector for NewDomainDetector {
    fn id(&self) -> &'static str {
        ID
    }

    fn observe(&mut self, event: &Event, _hits: &[IntelHit], alerts: &mut Vec<Alert>) {
        let Some(dns) = dns_event(event) else { return };
        let Some(parts) = split_name(&dns.query_name) else {
            return;
        };
        let now = dns.timestamp;
        let warmup_from = *self.warmup_from.get_or_insert(now);

        // Only a lookup that returned addresses or records counts as
        // resolving: an NXDOMAIN name was never reached, and a burst of them
        // is dns.dga's evidence, not a new domain.
        let resolved = dns.rcode == Some(ResponseCode::NOERROR) && !dns.answers.is_empty();
        if !resolved {
            return;
        }
        if !self.seen.insert(name_hash(parts.registered)) {
            return;
        }
        if self.seen.len() > self.config.max_domains {
            tracing::warn!(
                max = self.config.max_domains,
                "dns.new_domain forgot its domains and warms up again"
            );
            self.seen.clear();
            self.warmup_from = Some(now);
            return;
        }
        let warm_nanos = i64::try_from(self.config.warmup_secs.saturating_mul(1_000_000_000))
            .unwrap_or(i64::MAX);
        if now.nanos_since(warmup_from) < warm_nanos {
            return;
        }
        let first_seen = self
            .history
            .as_ref()
            .and_then(|h| h.first_seen(parts.registered));
        if first_seen.is_some_and(|at| at < now) {
            return;
        }
        if self.allowlist.allows(parts.name, now) {
            return;
        }

        let lexical = self.model.score(parts.label, parts.suffix).score;
        let score = 0.15 + 0.5 * lexical;
        if score < self.config.min_score {
            return;
        }
        let who = dns
            .client_ip
            .map_or_else(|| "A client".to_owned(), |ip| ip.to_string());
        alerts.push(
            Alert::new(
                ID,
                score,
                format!(
                    "{who} is the first in the organisation to resolve {}",
                    parts.registered
                ),
                vec![event.clone()],
            )
            .with_detail("registered_domain", parts.registered)
            .with_detail("lexical_score", round3(lexical))
            .with_detail("history", self.history.is_some())
            .with_detail("warmup_secs", self.config.warmup_secs),
        );
    }

    fn finish(&mut self, _alerts: &mut Vec<Alert>) {}
}
