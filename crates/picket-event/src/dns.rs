//! DNS queries and responses, from captures, Zeek and Suricata logs and passive DNS.

use std::fmt;
use std::net::IpAddr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Anomaly, SourceLocation, Timestamp};

/// One DNS exchange: a query, its response, or both paired.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DnsEvent {
    /// When the query was sent, or the response seen when there was no query.
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// Source location of this event.
    #[serde(flatten)]
    pub location: SourceLocation,

    /// Address of the host that asked.
    #[serde(rename = "client.ip", default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<IpAddr>,
    /// Source port of the host that asked.
    #[serde(
        rename = "client.port",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_port: Option<u16>,
    /// Address of the resolver or server that was asked.
    #[serde(rename = "server.ip", default, skip_serializing_if = "Option::is_none")]
    pub server_ip: Option<IpAddr>,
    /// Port of the resolver or server.
    #[serde(
        rename = "server.port",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_port: Option<u16>,
    /// Transport: `udp` or `tcp`.
    #[serde(
        rename = "network.transport",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transport: Option<Transport>,
    /// Application protocol: `dns`, `mdns` or `llmnr`.
    #[serde(rename = "network.protocol", default)]
    pub protocol: DnsProtocol,
    /// The halves of the exchange the source saw.
    #[serde(rename = "dns.exchange", default)]
    pub exchange: DnsExchange,

    /// Transaction id.
    #[serde(rename = "dns.id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    /// Query name normalised: lower case, no trailing dot, IDNA `xn--` labels
    /// kept as they are. The root is the empty string.
    #[serde(rename = "dns.question.name", default)]
    pub query_name: String,
    /// Query name exactly as seen, when it differs from `query_name`.
    #[serde(
        rename = "dns.question.original",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_name_original: Option<String>,
    /// Query type.
    #[serde(
        rename = "dns.question.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_type: Option<RecordType>,
    /// Query class (1 is IN).
    #[serde(
        rename = "dns.question.class",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_class: Option<u16>,
    /// Operation code (0 is QUERY).
    #[serde(
        rename = "dns.op_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub opcode: Option<u8>,
    /// Response code, from the response.
    #[serde(
        rename = "dns.response_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rcode: Option<ResponseCode>,
    /// Header flags of the response, or of the query when there is no response.
    #[serde(
        rename = "dns.header_flags",
        default,
        skip_serializing_if = "DnsFlags::is_empty"
    )]
    pub flags: DnsFlags,

    /// Answer section.
    #[serde(rename = "dns.answers", default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<ResourceRecord>,
    /// Authority section.
    #[serde(
        rename = "dns.authorities",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub authorities: Vec<ResourceRecord>,
    /// Additional section (the OPT pseudo-record included, as type OPT).
    #[serde(
        rename = "dns.additionals",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub additionals: Vec<ResourceRecord>,
    /// Size of the response message in bytes, when known.
    #[serde(
        rename = "dns.response.bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_size: Option<u32>,
    /// Seconds between query and response, when both were seen.
    #[serde(rename = "dns.rtt", default, skip_serializing_if = "Option::is_none")]
    pub rtt: Option<f64>,

    /// Anomalies the decoder saw.
    #[serde(
        rename = "event.anomalies",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub anomalies: Vec<Anomaly>,
}

/// The halves of a DNS exchange that an event contains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsExchange {
    /// A query and its response, paired.
    #[default]
    Complete,
    /// A query that got no response.
    QueryOnly,
    /// A response whose query was not seen (passive DNS, unsolicited answers).
    ResponseOnly,
}

/// The transport a DNS message travelled over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP, with the two-byte length prefix of RFC 1035 section 4.2.2.
    Tcp,
}

/// The DNS dialect: unicast DNS, multicast DNS (RFC 6762) or LLMNR (RFC 4795).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsProtocol {
    /// Unicast DNS.
    #[default]
    Dns,
    /// Multicast DNS, usually UDP port 5353.
    Mdns,
    /// Link-Local Multicast Name Resolution, usually UDP port 5355.
    Llmnr,
}

/// One resource record, with its data in presentation form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// Owner name, normalised like [`DnsEvent::query_name`].
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub rtype: RecordType,
    /// Class (1 is IN; OPT records carry the UDP payload size here).
    #[serde(default = "class_in")]
    pub class: u16,
    /// Time to live in seconds (OPT records carry the extended flags here).
    pub ttl: u32,
    /// Record data in presentation form: an address for A and AAAA, a
    /// normalised name for CNAME, NS, PTR and DNAME, the zone-file text for
    /// the others (Zeek's style), and `\# len hex` (RFC 3597) for unknown types.
    pub data: String,
}

fn class_in() -> u16 {
    1
}

impl ResourceRecord {
    /// Returns the address in an A or AAAA record's data.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.rtype {
            RecordType::A | RecordType::AAAA => self.data.parse().ok(),
            _ => None,
        }
    }

    /// Returns the target name of a CNAME, DNAME, NS, PTR or MX record (MX without
    /// its preference), or of SRV (without priority, weight and port).
    pub fn target_name(&self) -> Option<&str> {
        match self.rtype {
            RecordType::CNAME | RecordType::DNAME | RecordType::NS | RecordType::PTR => {
                Some(self.data.as_str())
            }
            RecordType::MX => self.data.split_whitespace().nth(1),
            RecordType::SRV => self.data.split_whitespace().nth(3),
            _ => None,
        }
    }
}

/// Normalises a DNS name: lower case ASCII, no trailing dot.
///
/// IDNA `xn--` labels stay in their ASCII form; bytes outside ASCII are kept
/// as they are (decoders escape them before they reach a `String`).
pub fn normalize_name(name: &str) -> String {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    trimmed.to_ascii_lowercase()
}

/// A DNS record type (RFC 1035 section 3.2.2 and later registrations).
///
/// Serializes as its mnemonic (`"A"`, `"TXT"`) or, for types without one
/// here, as `"TYPE65534"` in the RFC 3597 form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordType(pub u16);

/// Record types with a mnemonic, as (number, mnemonic); the single table both
/// directions of conversion read.
const RECORD_TYPES: &[(u16, &str)] = &[
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (10, "NULL"),
    (11, "WKS"),
    (12, "PTR"),
    (13, "HINFO"),
    (15, "MX"),
    (16, "TXT"),
    (17, "RP"),
    (18, "AFSDB"),
    (24, "SIG"),
    (25, "KEY"),
    (28, "AAAA"),
    (29, "LOC"),
    (33, "SRV"),
    (35, "NAPTR"),
    (36, "KX"),
    (37, "CERT"),
    (39, "DNAME"),
    (41, "OPT"),
    (42, "APL"),
    (43, "DS"),
    (44, "SSHFP"),
    (45, "IPSECKEY"),
    (46, "RRSIG"),
    (47, "NSEC"),
    (48, "DNSKEY"),
    (49, "DHCID"),
    (50, "NSEC3"),
    (51, "NSEC3PARAM"),
    (52, "TLSA"),
    (53, "SMIMEA"),
    (55, "HIP"),
    (59, "CDS"),
    (60, "CDNSKEY"),
    (61, "OPENPGPKEY"),
    (62, "CSYNC"),
    (63, "ZONEMD"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (99, "SPF"),
    (249, "TKEY"),
    (250, "TSIG"),
    (251, "IXFR"),
    (252, "AXFR"),
    (255, "ANY"),
    (256, "URI"),
    (257, "CAA"),
];

#[allow(missing_docs)]
impl RecordType {
    pub const A: RecordType = RecordType(1);
    pub const NS: RecordType = RecordType(2);
    pub const CNAME: RecordType = RecordType(5);
    pub const SOA: RecordType = RecordType(6);
    pub const NULL: RecordType = RecordType(10);
    pub const PTR: RecordType = RecordType(12);
    pub const MX: RecordType = RecordType(15);
    pub const TXT: RecordType = RecordType(16);
    pub const AAAA: RecordType = RecordType(28);
    pub const SRV: RecordType = RecordType(33);
    pub const NAPTR: RecordType = RecordType(35);
    pub const DNAME: RecordType = RecordType(39);
    pub const OPT: RecordType = RecordType(41);
    pub const DS: RecordType = RecordType(43);
    pub const RRSIG: RecordType = RecordType(46);
    pub const NSEC: RecordType = RecordType(47);
    pub const DNSKEY: RecordType = RecordType(48);
    pub const TKEY: RecordType = RecordType(249);
    pub const ANY: RecordType = RecordType(255);
    pub const CAA: RecordType = RecordType(257);
}

impl RecordType {
    /// Returns the mnemonic, when this type has one in picket's table.
    pub fn mnemonic(self) -> Option<&'static str> {
        RECORD_TYPES
            .iter()
            .find(|(number, _)| *number == self.0)
            .map(|(_, name)| *name)
    }

    /// Parses a mnemonic (any case) or the `TYPEnnn` form.
    pub fn from_name(name: &str) -> Option<Self> {
        if let Some(number) = name
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("TYPE"))
            .and_then(|_| name[4..].parse().ok())
        {
            return Some(RecordType(number));
        }
        RECORD_TYPES
            .iter()
            .find(|(_, mnemonic)| mnemonic.eq_ignore_ascii_case(name))
            .map(|(number, _)| RecordType(*number))
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(name) => f.write_str(name),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

impl fmt::Debug for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordType({self})")
    }
}

impl Serialize for RecordType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CodeVisitor {
            what: "a DNS record type mnemonic, TYPEnnn or a number",
            from_name: RecordType::from_name,
            from_number: RecordType,
        })
    }
}

/// A DNS response code (RFC 1035 section 4.1.1, RFC 6895 section 2.3).
///
/// Serializes as its mnemonic (`"NOERROR"`, `"NXDOMAIN"`) or `"RCODE23"`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseCode(pub u16);

/// Response codes with a mnemonic, as (number, mnemonic).
const RESPONSE_CODES: &[(u16, &str)] = &[
    (0, "NOERROR"),
    (1, "FORMERR"),
    (2, "SERVFAIL"),
    (3, "NXDOMAIN"),
    (4, "NOTIMP"),
    (5, "REFUSED"),
    (6, "YXDOMAIN"),
    (7, "YXRRSET"),
    (8, "NXRRSET"),
    (9, "NOTAUTH"),
    (10, "NOTZONE"),
    (16, "BADVERS"),
    (17, "BADKEY"),
    (18, "BADTIME"),
    (19, "BADMODE"),
    (20, "BADNAME"),
    (21, "BADALG"),
    (22, "BADTRUNC"),
    (23, "BADCOOKIE"),
];

#[allow(missing_docs)]
impl ResponseCode {
    pub const NOERROR: ResponseCode = ResponseCode(0);
    pub const FORMERR: ResponseCode = ResponseCode(1);
    pub const SERVFAIL: ResponseCode = ResponseCode(2);
    pub const NXDOMAIN: ResponseCode = ResponseCode(3);
    pub const REFUSED: ResponseCode = ResponseCode(5);
}

impl ResponseCode {
    /// Returns the mnemonic, when this code has one.
    pub fn mnemonic(self) -> Option<&'static str> {
        RESPONSE_CODES
            .iter()
            .find(|(number, _)| *number == self.0)
            .map(|(_, name)| *name)
    }

    /// Parses a mnemonic (any case) or the `RCODEnnn` form.
    pub fn from_name(name: &str) -> Option<Self> {
        if let Some(number) = name
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("RCODE"))
            .and_then(|_| name[5..].parse().ok())
        {
            return Some(ResponseCode(number));
        }
        RESPONSE_CODES
            .iter()
            .find(|(_, mnemonic)| mnemonic.eq_ignore_ascii_case(name))
            .map(|(number, _)| ResponseCode(*number))
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(name) => f.write_str(name),
            None => write!(f, "RCODE{}", self.0),
        }
    }
}

impl fmt::Debug for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseCode({self})")
    }
}

impl Serialize for ResponseCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResponseCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CodeVisitor {
            what: "a DNS response code mnemonic, RCODEnnn or a number",
            from_name: ResponseCode::from_name,
            from_number: ResponseCode,
        })
    }
}

/// Accepts a registry code as its name or its number.
struct CodeVisitor<T> {
    what: &'static str,
    from_name: fn(&str) -> Option<T>,
    from_number: fn(u16) -> T,
}

impl<T> Visitor<'_> for CodeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        u16::try_from(v)
            .map(self.from_number)
            .map_err(|_| E::custom(format!("code {v} does not fit in 16 bits")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        u16::try_from(v)
            .map(self.from_number)
            .map_err(|_| E::custom(format!("code {v} does not fit in 16 bits")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.from_name)(v).ok_or_else(|| E::custom(format!("unknown code {v:?}")))
    }
}

/// DNS header flags (RFC 1035 section 4.1.1, RFC 4035 section 3.2).
///
/// Serializes as the ECS list of set flags, for example `["QR", "RD", "RA"]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DnsFlags {
    /// The message is a response.
    pub qr: bool,
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// The reserved Z bit.
    pub z: bool,
    /// Authentic data (DNSSEC).
    pub ad: bool,
    /// Checking disabled (DNSSEC).
    pub cd: bool,
}

impl DnsFlags {
    /// Decodes the flag bits of the header's second 16-bit word.
    pub fn from_header_word(word: u16) -> Self {
        DnsFlags {
            qr: word & 0x8000 != 0,
            aa: word & 0x0400 != 0,
            tc: word & 0x0200 != 0,
            rd: word & 0x0100 != 0,
            ra: word & 0x0080 != 0,
            z: word & 0x0040 != 0,
            ad: word & 0x0020 != 0,
            cd: word & 0x0010 != 0,
        }
    }

    /// True when no flag is set.
    pub fn is_empty(&self) -> bool {
        *self == DnsFlags::default()
    }

    fn named(&self) -> [(&'static str, bool); 8] {
        [
            ("QR", self.qr),
            ("AA", self.aa),
            ("TC", self.tc),
            ("RD", self.rd),
            ("RA", self.ra),
            ("Z", self.z),
            ("AD", self.ad),
            ("CD", self.cd),
        ]
    }
}

impl Serialize for DnsFlags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let set = self
            .named()
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| name);
        serializer.collect_seq(set)
    }
}

impl<'de> Deserialize<'de> for DnsFlags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names: Vec<String> = Vec::deserialize(deserializer)?;
        let mut flags = DnsFlags::default();
        for name in names {
            let slot = match name.to_ascii_uppercase().as_str() {
                "QR" => &mut flags.qr,
                "AA" => &mut flags.aa,
                "TC" => &mut flags.tc,
                "RD" => &mut flags.rd,
                "RA" => &mut flags.ra,
                "Z" => &mut flags.z,
                "AD" => &mut flags.ad,
                "CD" => &mut flags.cd,
                other => return Err(de::Error::custom(format!("unknown DNS flag {other:?}"))),
            };
            *slot = true;
        }
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_type_names() {
        assert_eq!(RecordType::from_name("txt"), Some(RecordType::TXT));
        assert_eq!(RecordType::from_name("TYPE65534"), Some(RecordType(65534)));
        assert_eq!(RecordType(65534).to_string(), "TYPE65534");
        assert_eq!(RecordType::from_name("BOGUS"), None);
    }

    #[test]
    fn response_code_names() {
        assert_eq!(
            ResponseCode::from_name("nxdomain"),
            Some(ResponseCode::NXDOMAIN)
        );
        assert_eq!(ResponseCode(12).to_string(), "RCODE12");
    }

    #[test]
    fn flags_from_header() {
        let flags = DnsFlags::from_header_word(0x8180);
        assert!(flags.qr);
        assert!(flags.rd);
        assert!(flags.ra);
        assert!(!flags.aa);
        assert!(!flags.tc);
        assert_eq!(
            serde_json::to_string(&flags).unwrap(),
            r#"["QR","RD","RA"]"#
        );
    }

    #[test]
    fn record_targets() {
        let mx = ResourceRecord {
            name: "example.com".into(),
            rtype: RecordType::MX,
            class: 1,
            ttl: 300,
            data: "10 mail.example.com".into(),
        };
        assert_eq!(mx.target_name(), Some("mail.example.com"));
        assert_eq!(mx.ip(), None);
    }

    #[test]
    fn name_normalisation() {
        assert_eq!(normalize_name("WWW.Example.COM."), "www.example.com");
        assert_eq!(normalize_name("."), "");
    }
}
