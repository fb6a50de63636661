//! The embedded store: one SQLite file holding events in day partitions,
//! alerts, ingest records, indicators and passive DNS.
//!
//! # Layout
//!
//! Each UTC day with events has its own table, `events_d<N>` where `N` is
//! [`Timestamp::day_number`](picket_event::Timestamp::day_number), so that a
//! day can be scanned alone (by its own reader connection, in parallel with
//! other days) and dropped whole. Events are stored in picket's compact
//! binary form ([`picket_event::codec`]) beside the columns queries filter on.
//!
//! # Concurrency
//!
//! The file runs in WAL mode: one writer ([`Store::open`]) and any number of
//! readers ([`Store::open_read_only`]) at once, in this or other processes.
#![deny(missing_docs)]

mod alerts;
mod error;
mod events;
mod ingest;
pub mod intel;
pub mod pdns;
mod store;
pub mod useragents;

pub use alerts::StoredAlert;
pub use error::StoreError;
pub use events::{BlockInfo, EventRef, RecordScan, RecordVisitor, StoreWriter, WriterConfig};
pub use ingest::{FileIdentity, IngestRecord};
pub use store::Store;
pub use alerts::dedupe_key;
