//! The embedded store: day-partitioned events, alerts, passive DNS, indicators and ingest records in one SQLite file.
#![deny(missing_docs)]
