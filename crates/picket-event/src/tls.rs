//! TLS ClientHello server names, so that domain indicators match HTTPS traffic.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{Anomaly, SourceLocation, Timestamp};

/// The server name a TLS client asked for (RFC 6066 section 3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsEvent {
    /// When the ClientHello was seen.
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// Source location of this event.
    #[serde(flatten)]
    pub location: SourceLocation,
    /// Address of the TLS client.
    #[serde(rename = "client.ip", default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<IpAddr>,
    /// Source port of the TLS client.
    #[serde(
        rename = "client.port",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_port: Option<u16>,
    /// Address of the TLS server.
    #[serde(rename = "server.ip", default, skip_serializing_if = "Option::is_none")]
    pub server_ip: Option<IpAddr>,
    /// Port of the TLS server.
    #[serde(
        rename = "server.port",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_port: Option<u16>,
    /// Server Name Indication, normalised like DNS names (lower case, no
    /// trailing dot); `None` when the ClientHello had none.
    #[serde(
        rename = "tls.client.server_name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_name: Option<String>,
    /// Anomalies the decoder saw.
    #[serde(
        rename = "event.anomalies",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub anomalies: Vec<Anomaly>,
}
