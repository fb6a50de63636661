//! Outputs: alerts as JSON Lines or readable text, and the run summary.
//!
//! Every output is a [`picket_event::Sink`]; the store is another sink, in
//! `picket-store`. Results go to the writer a sink is given (stdout or a
//! file); problems are the caller's to print on stderr.
#![deny(missing_docs)]

mod jsonl;
mod summary;
mod text;

pub use jsonl::{JsonlSink, alert_line};
pub use summary::{InputSummary, RejectionSample, RunSummary};
pub use text::TextSink;
