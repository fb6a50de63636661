//! The event enum and the pieces its variants share.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{DnsEvent, HttpEvent, SourceLocation, Timestamp, TlsEvent};

/// One network endpoint: an address and a port, either of which a source may lack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// IPv4 or IPv6 address.
    pub ip: Option<IpAddr>,
    /// TCP or UDP port.
    pub port: Option<u16>,
}

impl Endpoint {
    /// An endpoint with both address and port.
    pub fn new(ip: IpAddr, port: u16) -> Self {
        Endpoint {
            ip: Some(ip),
            port: Some(port),
        }
    }
}

/// Any event a source can produce.
///
/// JSON carries the variant in the ECS field `"event.dataset"` (`"http"`,
/// `"dns"` or `"tls"`).
// The HTTP variant is boxed because an HTTP event is 2.5 times the size of
// a DNS event. Every event moves through several queues on its way out of a
// decoder, and an unboxed enum copied 768 bytes per DNS event at each step.
// Readers that reuse one event (`EventReader::next_into`) keep the box.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event.dataset", rename_all = "lowercase")]
pub enum Event {
    /// An HTTP request and its response, from a proxy log, a Zeek or Suricata
    /// log, or a capture.
    Http(Box<HttpEvent>),
    /// A DNS query, its response, or both.
    Dns(DnsEvent),
    /// A TLS ClientHello's server name.
    Tls(TlsEvent),
}

impl Event {
    /// When the event happened.
    pub fn timestamp(&self) -> Timestamp {
        match self {
            Event::Http(e) => e.timestamp,
            Event::Dns(e) => e.timestamp,
            Event::Tls(e) => e.timestamp,
        }
    }

    /// Where the event came from.
    pub fn location(&self) -> &SourceLocation {
        match self {
            Event::Http(e) => &e.location,
            Event::Dns(e) => &e.location,
            Event::Tls(e) => &e.location,
        }
    }

    /// The client side: the host that made the request or query, which is the
    /// host an alert points at.
    pub fn client(&self) -> Endpoint {
        match self {
            Event::Http(e) => Endpoint {
                ip: e.client_ip,
                port: e.client_port,
            },
            Event::Dns(e) => Endpoint {
                ip: e.client_ip,
                port: e.client_port,
            },
            Event::Tls(e) => Endpoint {
                ip: e.client_ip,
                port: e.client_port,
            },
        }
    }

    /// The server side.
    pub fn server(&self) -> Endpoint {
        match self {
            Event::Http(e) => Endpoint {
                ip: e.server_ip,
                port: e.server_port,
            },
            Event::Dns(e) => Endpoint {
                ip: e.server_ip,
                port: e.server_port,
            },
            Event::Tls(e) => Endpoint {
                ip: e.server_ip,
                port: e.server_port,
            },
        }
    }

    /// The dataset name used in JSON and in the store: `http`, `dns` or `tls`.
    pub fn dataset(&self) -> &'static str {
        match self {
            Event::Http(_) => "http",
            Event::Dns(_) => "dns",
            Event::Tls(_) => "tls",
        }
    }
}

impl From<HttpEvent> for Event {
    fn from(event: HttpEvent) -> Self {
        Event::Http(Box::new(event))
    }
}

impl From<DnsEvent> for Event {
    fn from(event: DnsEvent) -> Self {
        Event::Dns(event)
    }
}

impl From<TlsEvent> for Event {
    fn from(event: TlsEvent) -> Self {
        Event::Tls(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{RecordType, ResourceRecord};

    fn sample_dns() -> Event {
        Event::Dns(DnsEvent {
            timestamp: Timestamp::from_millis(1_344_941_160_097).unwrap(),
            location: SourceLocation::packet("trace.pcap".into(), 7, 1234),
            client_ip: Some("10.0.0.5".parse().unwrap()),
            query_name: "evil.example".into(),
            query_type: Some(RecordType::A),
            answers: vec![ResourceRecord {
                name: "evil.example".into(),
                rtype: RecordType::A,
                class: 1,
                ttl: 60,
                data: "192.0.2.1".into(),
            }],
            ..DnsEvent::default()
        })
    }

    #[test]
    fn json_uses_dotted_ecs_names() {
        let json = serde_json::to_value(sample_dns()).unwrap();
        assert_eq!(json["event.dataset"], "dns");
        assert_eq!(json["client.ip"], "10.0.0.5");
        assert_eq!(json["dns.question.type"], "A");
        assert_eq!(json["log.packet"], 7);
        assert_eq!(json["dns.answers"][0]["data"], "192.0.2.1");
    }

    #[test]
    fn json_round_trip() {
        let event = sample_dns();
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
    }

    #[test]
    fn binary_round_trip() {
        let event = sample_dns();
        let packed = crate::codec::encode(&event).unwrap();
        assert_eq!(crate::codec::decode::<Event>(&packed).unwrap(), event);
    }
}
