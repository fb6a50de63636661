//! DNS detectors.

use picket_event::Detector;
use serde::Deserialize;

/// Settings of the DNS detectors.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {}

/// Builds the enabled DNS detectors.
pub fn detectors(_config: &DnsConfig) -> Vec<Box<dyn Detector>> {
    Vec::new()
}
