//! HTTP requests and responses, from proxy logs, Zeek and Suricata logs and captures.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{Anomaly, SourceLocation, Timestamp};

/// One HTTP transaction: a request and, where the source has it, its response.
///
/// Every field a source does not carry is `None` or empty; the JSON form omits
/// it. Proxy logs give the proxy's view (`client` is the browser, `server` the
/// origin or the next proxy); captures give the wire view.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpEvent {
    /// When the request was made (proxy logs: when it was logged).
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// Source location of this event.
    #[serde(flatten)]
    pub location: SourceLocation,

    /// Address of the requesting host.
    #[serde(rename = "client.ip", default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<IpAddr>,
    /// Source port of the requesting host.
    #[serde(
        rename = "client.port",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_port: Option<u16>,
    /// Address of the server that answered (origin, or the parent proxy when
    /// the log says so).
    #[serde(rename = "server.ip", default, skip_serializing_if = "Option::is_none")]
    pub server_ip: Option<IpAddr>,
    /// Port of the server that answered.
    #[serde(
        rename = "server.port",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_port: Option<u16>,
    /// Authenticated user name, as the proxy logged it.
    #[serde(rename = "user.name", default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,

    /// Request method (`GET`, `POST`, `CONNECT`, ...), as sent.
    #[serde(
        rename = "http.request.method",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub method: Option<String>,
    /// The request target as logged, before any normalisation.
    #[serde(
        rename = "url.original",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub url: String,
    /// URL scheme in lower case (`http`, `https`, `ftp`).
    #[serde(
        rename = "url.scheme",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub scheme: Option<String>,
    /// Server host name in lower case, without a trailing dot: the URL's host,
    /// else the `Host` header, else the `CONNECT` target.
    #[serde(
        rename = "url.domain",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub host: Option<String>,
    /// Port from the URL, `Host` header or `CONNECT` target, when explicit.
    #[serde(rename = "url.port", default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// URL path, starting with `/`, percent-encoding kept as sent.
    #[serde(rename = "url.path", default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// URL query without the leading `?`.
    #[serde(rename = "url.query", default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// HTTP version of the request (`1.1`), when known.
    #[serde(
        rename = "http.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,

    /// `User-Agent` header. `Some("")` when the source records agents and
    /// the request had none; `None` when the source does not record them.
    #[serde(
        rename = "user_agent.original",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub user_agent: Option<String>,
    /// `Referer` header.
    #[serde(
        rename = "http.request.referrer",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub referrer: Option<String>,
    /// `X-Forwarded-For` header as sent (a comma-separated address list).
    #[serde(
        rename = "http.request.x_forwarded_for",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub forwarded_for: Option<String>,
    /// `X-Real-IP` header.
    #[serde(
        rename = "http.request.x_real_ip",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub real_ip: Option<String>,
    /// Bytes sent by the client (request line, headers and body), as logged.
    #[serde(
        rename = "http.request.bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bytes_from_client: Option<u64>,
    /// Request body length in bytes, after transfer decoding.
    #[serde(
        rename = "http.request.body.bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_body_len: Option<u64>,

    /// Response status code.
    #[serde(
        rename = "http.response.status_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<u16>,
    /// Declared `Content-Type` of the response, parameters removed, lower case.
    #[serde(
        rename = "http.response.mime_type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub content_type: Option<String>,
    /// Bytes sent to the client (headers and body), as logged.
    #[serde(
        rename = "http.response.bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bytes_to_client: Option<u64>,
    /// Response body length in bytes, after transfer decoding.
    #[serde(
        rename = "http.response.body.bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_body_len: Option<u64>,
    /// `Location` header of a redirect.
    #[serde(
        rename = "http.response.location",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub location_header: Option<String>,
    /// `Server` header.
    #[serde(
        rename = "http.response.server",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_header: Option<String>,
    /// File name from `Content-Disposition`, or the one a log recorded.
    #[serde(rename = "file.name", default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Digest and sniffed type of the response body, when the source saw it.
    #[serde(
        rename = "http.response.body",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub body: Option<BodyInfo>,

    /// Proxy result or action (`TCP_MISS`, `TCP_DENIED`, `OBSERVED`, `Allowed`).
    #[serde(
        rename = "proxy.action",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub proxy_action: Option<String>,
    /// Proxy hierarchy or peer code (`HIER_DIRECT`), where the log has one.
    #[serde(
        rename = "proxy.hierarchy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub proxy_hierarchy: Option<String>,
    /// Proxy or gateway result that is not an HTTP status, such as TMG's
    /// Winsock codes (`10060`) or a W3C `s-action`.
    #[serde(
        rename = "proxy.result_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub proxy_result_code: Option<u32>,

    /// Anomalies the decoder saw.
    #[serde(
        rename = "event.anomalies",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub anomalies: Vec<Anomaly>,
}

/// Facts about a response body that a capture (not a log) can give.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyInfo {
    /// MD5 of the decoded body, lower-case hex.
    pub md5: String,
    /// SHA-1 of the decoded body, lower-case hex.
    pub sha1: String,
    /// SHA-256 of the decoded body, lower-case hex.
    pub sha256: String,
    /// Length of the decoded body in bytes (the part hashed).
    pub size: u64,
    /// File type sniffed from the first bytes (`pe`, `zip`, `pdf`, `swf`,
    /// `cab`, `elf`, `html`, ...), independent of the declared content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sniffed_type: Option<String>,
    /// True when the body was cut at the size limit, so the hashes cover a prefix.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl HttpEvent {
    /// The addresses in `X-Forwarded-For` and `X-Real-IP` that parse as IPs.
    pub fn forwarded_addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let xff = self.forwarded_for.as_deref().unwrap_or("").split(',');
        let real = self.real_ip.as_deref().into_iter();
        xff.chain(real).filter_map(|s| s.trim().parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_skip_junk() {
        let event = HttpEvent {
            forwarded_for: Some("10.0.0.1, unknown, 2001:db8::1".into()),
            real_ip: Some("192.0.2.7".into()),
            ..HttpEvent::default()
        };
        let addrs: Vec<IpAddr> = event.forwarded_addresses().collect();
        assert_eq!(addrs.len(), 3);
        assert_eq!(addrs[2].to_string(), "192.0.2.7");
    }
}
