//! The supported formats and their detection from the first bytes of content.

use std::fmt;
use std::str::FromStr;

/// A log format this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Squid native `access.log`.
    Squid,
    /// Squid or Apache `combined` log format.
    SquidCombined,
    /// W3C extended log format with `#Fields:` headers (BlueCoat, IIS, TMG W3C).
    W3c,
    /// Microsoft ISA/TMG WebProxyLog, 30-column tab-separated SQL export.
    Tmg,
    /// Microsoft TMG reduced 16-column tab-separated export.
    Tmg16,
    /// Zeek `http.log` or `dns.log`, tab-separated with `#` headers.
    ZeekTsv,
    /// Zeek `http.log` or `dns.log`, one JSON object per line.
    ZeekJson,
    /// Suricata `eve.json`, `http` and `dns` records.
    SuricataEve,
    /// gamelinux passivedns `||`-separated lines.
    PassiveDns,
    /// CIRCL Passive DNS Common Output Format, one JSON object per line.
    CirclPdns,
}

impl Format {
    /// Every format, in the order detection prefers them.
    pub const ALL: [Format; 10] = [
        Format::Squid,
        Format::SquidCombined,
        Format::W3c,
        Format::Tmg,
        Format::Tmg16,
        Format::ZeekTsv,
        Format::ZeekJson,
        Format::SuricataEve,
        Format::PassiveDns,
        Format::CirclPdns,
    ];

    /// The name used on the command line and in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Squid => "squid",
            Format::SquidCombined => "squid-combined",
            Format::W3c => "w3c",
            Format::Tmg => "tmg",
            Format::Tmg16 => "tmg16",
            Format::ZeekTsv => "zeek-tsv",
            Format::ZeekJson => "zeek-json",
            Format::SuricataEve => "suricata-eve",
            Format::PassiveDns => "passivedns",
            Format::CirclPdns => "circl-pdns",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`Format::as_str`]'s.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unknown input format {0:?}; known: squid, squid-combined, w3c, tmg, tmg16, zeek-tsv, zeek-json, suricata-eve, passivedns, circl-pdns"
)]
pub struct UnknownFormatName(pub String);

impl FromStr for Format {
    type Err = UnknownFormatName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let lower = name.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "combined" => "squid-combined",
            "eve" | "suricata" => "suricata-eve",
            "tmg30" => "tmg",
            "pdns" | "cof" => "circl-pdns",
            "zeek" | "bro" => "zeek-tsv",
            other => other,
        };
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == alias)
            .ok_or_else(|| UnknownFormatName(name.to_owned()))
    }
}

/// How many non-blank lines detection looks at.
const DETECT_LINES: usize = 20;

/// Recognises a log format from the first bytes of decompressed content.
///
/// Header lines decide at once (`#fields` and `#separator` for Zeek,
/// `#Software:`/`#Fields:` for W3C); otherwise the first data line that
/// matches a format's shape decides. Returns `None` when no line does.
pub fn detect(head: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(head);
    let mut seen = 0;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        seen += 1;
        if seen > DETECT_LINES {
            break;
        }
        if let Some(format) = classify_line(line) {
            return Some(format);
        }
    }
    None
}

fn classify_line(line: &str) -> Option<Format> {
    if let Some(rest) = line.strip_prefix('#') {
        const ZEEK: [&str; 4] = ["separator ", "fields\t", "path\t", "set_separator"];
        const W3C: [&str; 6] = [
            "Software:",
            "Version:",
            "Fields:",
            "Date:",
            "Start-Date:",
            "Remark:",
        ];
        if ZEEK.iter().any(|p| rest.starts_with(p)) {
            return Some(Format::ZeekTsv);
        }
        if W3C.iter().any(|p| rest.starts_with(p)) {
            return Some(Format::W3c);
        }
        return None;
    }
    if line.trim_start().starts_with('{') {
        return classify_json(line);
    }
    if line.contains("||") {
        let parts: Vec<&str> = line.split("||").collect();
        if parts.len() >= 8 && crate::fields::parse_epoch(parts[0]).is_some() {
            return Some(Format::PassiveDns);
        }
        return None;
    }
    if line.contains('\t') {
        let columns = line.split('\t').count();
        let first = line.split('\t').next().unwrap_or("");
        return match columns {
            30 => Some(Format::Tmg),
            16 => Some(Format::Tmg16),
            _ if first.eq_ignore_ascii_case("ClientIP") => Some(Format::Tmg),
            _ => None,
        };
    }
    let mut tokens = line.split_ascii_whitespace();
    let first = tokens.next()?;
    if crate::fields::parse_epoch(first).is_some() && first.contains('.') {
        let rest: Vec<&str> = tokens.collect();
        if rest.len() >= 8 && rest[2].contains('/') {
            return Some(Format::Squid);
        }
    }
    if line.contains(" [") && line.contains("] \"") {
        return Some(Format::SquidCombined);
    }
    None
}

fn classify_json(line: &str) -> Option<Format> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let object = value.as_object()?;
    if object.contains_key("event_type") {
        return Some(Format::SuricataEve);
    }
    if object.contains_key("rrname")
        && (object.contains_key("time_first") || object.contains_key("rdata"))
    {
        return Some(Format::CirclPdns);
    }
    if object.contains_key("ts")
        && (object.contains_key("uid")
            || object.contains_key("id.orig_h")
            || object.contains_key("_path"))
    {
        return Some(Format::ZeekJson);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert!("nope".parse::<Format>().is_err());
    }

    #[test]
    fn detects_each_format() {
        let cases: &[(&str, Format)] = &[
            (
                "1677971735.123    567 192.168.1.100 TCP_MISS/200 5432 GET http://example.com/ - HIER_DIRECT/93.184.216.34 text/html\n",
                Format::Squid,
            ),
            (
                "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET http://a/ HTTP/1.1\" 200 2326 \"-\" \"curl\" TCP_MISS:HIER_DIRECT\n",
                Format::SquidCombined,
            ),
            (
                "#Software: SGOS\r\n#Fields: date time c-ip\r\n",
                Format::W3c,
            ),
            ("### BTest\n#separator \\x09\n", Format::ZeekTsv),
            (
                "{\"ts\":1.5,\"uid\":\"C1\",\"id.orig_h\":\"10.0.0.1\"}\n",
                Format::ZeekJson,
            ),
            (
                "{\"timestamp\":\"2017-06-08T15:45:58.520996+0000\",\"event_type\":\"dns\"}\n",
                Format::SuricataEve,
            ),
            (
                "{\"rrname\":\"a.example\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1}\n",
                Format::CirclPdns,
            ),
            (
                "1322849924.408856||10.1.1.1||8.8.8.8||IN||a.example.||A||1.2.3.4||46587||5\n",
                Format::PassiveDns,
            ),
        ];
        for (text, format) in cases {
            assert_eq!(detect(text.as_bytes()), Some(*format), "{text}");
        }
        let tmg = vec!["x"; 30].join("\t");
        assert_eq!(detect(tmg.as_bytes()), Some(Format::Tmg));
        let tmg16 = vec!["x"; 16].join("\t");
        assert_eq!(detect(tmg16.as_bytes()), Some(Format::Tmg16));
        assert_eq!(detect(b"\x00\x01binary"), None);
    }
}
