//! Alert and event sinks: JSON Lines and the run summary.
#![deny(missing_docs)]
