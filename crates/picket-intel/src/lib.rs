//! Threat intelligence: the indicator model, feed rules, import and export
//! formats and whitelists.
#![deny(missing_docs)]

pub mod indicator;

pub use indicator::{Indicator, IndicatorKind, Sighting};
