//! The parts of the `picket` command that are parsers of outside input
//! and so need a fuzz target. The fuzz workspace cannot call into a binary,
//! so they live in this library, which the binary uses.
#![deny(missing_docs)]

pub mod analyze_config;
