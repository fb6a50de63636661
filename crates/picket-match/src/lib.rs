//! The indicator matcher: compiled, immutable, shared lookup of every event field against active indicators.
#![deny(missing_docs)]
