//! Behavioural detectors: what no indicator list knows.
//!
//! Each detector has a stable id, consumes events in time order, keeps bounded
//! per-key state and explains every alert. [`all_detectors`] builds the set
//! that `picket analyze` runs.
#![deny(missing_docs)]

mod bounds;
pub mod dns;
pub mod http;

use picket_event::Detector;
use serde::Deserialize;

/// Settings of every detector, read from the `detect:` section of the
/// configuration file; every field has a documented default.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// DNS detector settings.
    pub dns: dns::DnsConfig,
    /// HTTP detector settings.
    pub http: http::HttpConfig,
}

/// Builds every enabled detector.
pub fn all_detectors(config: &DetectConfig) -> Vec<Box<dyn Detector>> {
    let mut detectors = dns::detectors(&config.dns);
    detectors.extend(http::detectors(&config.http));
    detectors
}

/// Builds every enabled detector, giving `http.suspicious_user_agent` a
/// persistent per-client user-agent inventory (the store implements
/// [`http::UserAgentHistory`]) so that "an agent never seen before on this
/// client" holds across runs.
pub fn all_detectors_with_history(
    config: &DetectConfig,
    user_agents: Option<Box<dyn http::UserAgentHistory>>,
) -> Vec<Box<dyn Detector>> {
    let mut detectors = dns::detectors(&config.dns);
    detectors.extend(http::detectors_with_history(&config.http, user_agents));
    detectors
}
