//! The data model every picket stage shares.
//!
//! Sources turn outside input into [`Event`]s, the matcher and detectors turn
//! events into [`Alert`]s, and sinks ([`Sink`]) write both somewhere. Nothing in
//! this crate reads files or the network.
//!
//! # Field names
//!
//! Every event serializes with [Elastic Common Schema] (ECS) field names written
//! as flat dotted keys (`"client.ip"`, `"url.domain"`, `"dns.question.name"`),
//! the shape Filebeat and Elasticsearch accept as-is. Fields that ECS lacks use
//! the same dotted form under the nearest ECS group (`"dns.question.original"`,
//! `"proxy.action"`). Names are part of the stable output schema: renaming one
//! is a schema version change ([`alert::SCHEMA_VERSION`]).
//!
//! [Elastic Common Schema]: https://www.elastic.co/guide/en/ecs/current/index.html
#![deny(missing_docs)]

pub mod alert;
pub mod anomaly;
pub mod codec;
pub mod detector;
pub mod dns;
pub mod event;
pub mod host;
pub mod http;
pub mod location;
pub mod reader;
pub mod sink;
pub mod time;
pub mod tls;
pub mod view;

pub use alert::{Alert, IntelHit, IntelSource, MatchedField, Severity};
pub use anomaly::Anomaly;
pub use detector::Detector;
pub use dns::{DnsEvent, DnsExchange, DnsFlags, RecordType, ResourceRecord};
pub use event::{Endpoint, Event};
pub use http::{BodyInfo, HttpEvent};
pub use location::SourceLocation;
pub use reader::{EventReader, RecordVisitor, Rejection, SourceStats};
pub use sink::{Sink, SinkError};
pub use time::Timestamp;
pub use tls::TlsEvent;
pub use view::{AnswerValue, EventKind, EventView, decode_view};
