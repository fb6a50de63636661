//! HTTP detectors.

use picket_event::Detector;
use serde::Deserialize;

/// Settings of the HTTP detectors.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {}

/// Builds the enabled HTTP detectors.
pub fn detectors(_config: &HttpConfig) -> Vec<Box<dyn Detector>> {
    Vec::new()
}
