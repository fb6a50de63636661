//! Threat intelligence: the indicator model, normalisation, import and
//! export formats, feed rules and pulling, whitelists and expiry.
//!
//! The entry point for one file is [`load_file`]: it detects the format
//! and returns every indicator with its sightings, plus every rejected
//! record with its location and reason.
#![deny(missing_docs)]

pub mod error;
pub mod expiry;
pub mod export;
pub mod fetch;
mod formats;
pub mod indicator;
pub mod load;
pub mod normalize;
pub mod rules;
pub mod whitelist;

pub use error::{IntelError, RecordError, ValueError};
pub use formats::{Column, ColumnList, Columns, DatasetType};
pub use indicator::{Indicator, IndicatorKind, Sighting, Tlp};
pub use load::{detect, load_bytes, load_bytes_chunked, load_file, load_file_chunked, load_file_with, Chunk, Defaults, Format, LoadOptions, LoadReport};
pub use expiry::{LifetimeOverrides, Lifetimes};
pub use fetch::{fetch, FetchOptions, Fetched, Validators};
pub use rules::{FeedRule, RuleFile};
pub use export::{export, export_from, ExportCounts, ExportFormat, ExportOptions, IndicatorSource, Visit};
pub use normalize::{classify, classify_observable, normalize, normalize_observable, Observable};
pub use whitelist::{AllowReason, Warninglist, Whitelist};
