//! The configuration file of `picket analyze --config`: detector settings
//! under `detect:` and capture decoding limits under `capture:`.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use picket_decode::DecodeConfig;
use picket_detect::DetectConfig;
use serde::de::{self, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The configuration file: every section optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "a map of sections such as `detect:` and `capture:`"
)]
struct ConfigFile {
    detect: DetectConfig,
    capture: CaptureSettings,
}

/// Limits of capture decoding that the file may change. A key left out
/// keeps the default that [`DecodeConfig`] documents. Sizes are in bytes and
/// times in seconds of packet time.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "a map of capture decoding limits"
)]
struct CaptureSettings {
    /// Out-of-order TCP bytes buffered per direction of a flow (1 MiB).
    max_flow_reassembly_bytes: Option<usize>,
    /// Out-of-order TCP bytes buffered over all flows (256 MiB).
    max_total_reassembly_bytes: Option<usize>,
    /// TCP flows tracked at once (262,144). Zero is rejected, because the
    /// decoder would still track one flow and close it whenever another
    /// starts, and a reader may take zero to mean no limit.
    max_flows: Option<NonZeroUsize>,
    /// Seconds without a packet before a TCP flow is closed (600).
    flow_idle_timeout_secs: Option<u64>,
    /// IP fragment bytes kept over all datagrams (64 MiB).
    max_fragment_bytes: Option<usize>,
    /// Datagrams reassembled from fragments at once (65,536).
    max_fragment_datagrams: Option<usize>,
    /// Seconds a fragmented datagram may take to complete (30).
    fragment_timeout_secs: Option<u64>,
    /// Bytes of each HTTP body hashed and sniffed (64 MiB). 0 turns off
    /// the MD5, SHA-1 and SHA-256 of bodies and the sniffed file type.
    max_body_hash_bytes: Option<u64>,
    /// Bytes a gzip or deflate body may decompress to (64 MiB).
    max_decompressed_bytes: Option<u64>,
    /// Bytes of one HTTP message head (64 KiB), at most
    /// [`DecodeConfig::HTTP_HEAD_BYTES_LIMIT`].
    #[serde(deserialize_with = "http_head_bytes")]
    max_http_head_bytes: Option<usize>,
    /// Requests waiting for their responses on one connection (64).
    max_pending_requests: Option<usize>,
    /// Bytes of a TLS ClientHello kept while it arrives (16 KiB).
    max_client_hello_bytes: Option<usize>,
    /// Bytes of one DNS-over-TCP message kept while it arrives (65,535).
    max_dns_tcp_message_bytes: Option<usize>,
}

impl CaptureSettings {
    /// Returns the default decoding limits with the keys the file sets.
    fn decode_config(&self) -> DecodeConfig {
        let mut config = DecodeConfig::default();
        let seconds = |secs: Option<u64>| secs.map(Duration::from_secs);

        set(
            self.max_flow_reassembly_bytes,
            &mut config.max_flow_reassembly_bytes,
        );
        set(
            self.max_total_reassembly_bytes,
            &mut config.max_total_reassembly_bytes,
        );
        set(self.max_flows.map(NonZeroUsize::get), &mut config.max_flows);
        set(
            seconds(self.flow_idle_timeout_secs),
            &mut config.flow_idle_timeout,
        );
        set(self.max_fragment_bytes, &mut config.max_fragment_bytes);
        set(
            self.max_fragment_datagrams,
            &mut config.max_fragment_datagrams,
        );
        set(
            seconds(self.fragment_timeout_secs),
            &mut config.fragment_timeout,
        );
        set(self.max_body_hash_bytes, &mut config.max_body_hash_bytes);
        set(
            self.max_decompressed_bytes,
            &mut config.max_decompressed_bytes,
        );
        set(self.max_http_head_bytes, &mut config.max_http_head_bytes);
        set(self.max_pending_requests, &mut config.max_pending_requests);
        set(
            self.max_client_hello_bytes,
            &mut config.max_client_hello_bytes,
        );
        set(
            self.max_dns_tcp_message_bytes,
            &mut config.max_dns_tcp_message_bytes,
        );
        config
    }
}

/// Reads `max_http_head_bytes` and rejects a value above
/// [`DecodeConfig::HTTP_HEAD_BYTES_LIMIT`]. The check runs inside the
/// value's visit, so the error names the key and its line.
fn http_head_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    deserializer
        .deserialize_u64(AtMost(DecodeConfig::HTTP_HEAD_BYTES_LIMIT))
        .map(Some)
}

/// Accepts an integer from 0 to the limit it contains.
struct AtMost(usize);

impl Visitor<'_> for AtMost {
    type Value = usize;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "an integer from 0 to {}", self.0)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<usize, E> {
        match usize::try_from(value) {
            Ok(accepted) if accepted <= self.0 => Ok(accepted),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(value), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<usize, E> {
        match u64::try_from(value) {
            Ok(value) => self.visit_u64(value),
            Err(_) => Err(E::invalid_value(de::Unexpected::Signed(value), &self)),
        }
    }
}

/// Replaces `field` with `value` when the file gave one.
fn set<T>(value: Option<T>, field: &mut T) {
    if let Some(value) = value {
        *field = value;
    }
}

/// Settings read from the configuration file, or the defaults without one.
#[derive(Debug)]
pub struct Settings {
    /// Detector settings (`detect:`).
    pub detect: DetectConfig,
    /// Capture decoding limits (`capture:`).
    pub decode: DecodeConfig,
}

/// Reads the configuration file at `path`, or returns the defaults when no
/// file is named.
pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
    let Some(path) = path else {
        return Ok(Settings::from(ConfigFile::default()));
    };

    let text = std::fs::read(path)
        .with_context(|| format!("cannot open the configuration file {}", path.display()))?;
    parse(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

/// Parses configuration text (YAML, UTF-8). A key left out keeps its
/// default, and an empty text gives the defaults. The error names the first
/// invalid key by its path (`capture.max_flows`) with its line and column.
pub fn parse(yaml: &[u8]) -> Result<Settings, serde_yaml_ng::Error> {
    let mut documents = serde_yaml_ng::Deserializer::from_slice(yaml);
    let file = match documents.next() {
        Some(document) => ConfigFile::deserialize(document)?,
        None => ConfigFile::default(),
    };

    // serde_yaml_ng's own check for a second document reports no line, so
    // the second document is read here into a type that rejects any content
    // and so reports the line where it starts.
    if let Some(second) = documents.next() {
        let error = match SecondDocument::deserialize(second) {
            Ok(never) => match never {},
            Err(error) => error,
        };
        return Err(error);
    }
    Ok(Settings::from(file))
}

/// A YAML document after the first, which is always an error.
enum SecondDocument {}

/// The message for [`SecondDocument`]. The deserializer adds the line.
const SECOND_DOCUMENT: &str = "a second YAML document starts here, but a configuration file \
    is one document: merge the two or remove the second";

impl<'de> Deserialize<'de> for SecondDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecondDocumentVisitor)
    }
}

/// Rejects every value with [`SECOND_DOCUMENT`].
struct SecondDocumentVisitor;

/// Implements the named visitor methods as rejections with [`SECOND_DOCUMENT`].
macro_rules! reject_values {
    ($($method:ident($value:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, _: $value) -> Result<Self::Value, E> {
                Err(E::custom(SECOND_DOCUMENT))
            }
        )*
    };
}

impl<'de> Visitor<'de> for SecondDocumentVisitor {
    type Value = SecondDocument;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(SECOND_DOCUMENT)
    }

    reject_values!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_i128(i128),
        visit_u128(u128),
        visit_f64(f64),
        visit_str(&str),
    );

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(E::custom(SECOND_DOCUMENT))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(SECOND_DOCUMENT))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(SECOND_DOCUMENT))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(SECOND_DOCUMENT))
    }
}

impl From<ConfigFile> for Settings {
    fn from(file: ConfigFile) -> Self {
        Settings {
            decode: file.capture.decode_config(),
            detect: file.detect,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(yaml: &str) -> Result<Settings, serde_yaml_ng::Error> {
        parse(yaml.as_bytes())
    }

    #[test]
    fn capture_keys_override_defaults() {
        let settings = parse_text(
            "capture:\n  max_body_hash_bytes: 0\n  max_flows: 1000\n  flow_idle_timeout_secs: 60\n",
        )
        .unwrap();
        let config = settings.decode;

        assert_eq!(config.max_body_hash_bytes, 0);
        assert_eq!(config.max_flows, 1000);
        assert_eq!(config.flow_idle_timeout, Duration::from_secs(60));
        assert_eq!(
            config.max_total_reassembly_bytes,
            DecodeConfig::default().max_total_reassembly_bytes
        );
    }

    #[test]
    fn empty_file_keeps_defaults() {
        let settings = parse_text("{}").unwrap();
        assert_eq!(settings.decode, DecodeConfig::default());
    }

    #[test]
    fn zero_max_flows_rejected() {
        let error = parse_text("capture:\n  max_flows: 0\n").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("capture.max_flows"), "{message}");
        assert!(message.contains("nonzero"), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn huge_beacon_table_rejected() {
        let text = "detect:\n  http:\n    beacon:\n      max_single_pairs: 1000000000000000\n";
        let message = parse_text(text).unwrap_err().to_string();
        assert!(
            message.contains("detect.http.beacon.max_single_pairs"),
            "{message}"
        );
        assert!(message.contains("from 0 to 16777216"), "{message}");
        assert!(message.contains("line 4"), "{message}");
    }

    #[test]
    fn out_of_range_scores_rejected() {
        for (key, value) in [
            ("dns:\n    tunnel:\n      min_score", ".nan"),
            ("dns:\n    dga:\n      min_lexical_score", "1.5"),
            ("http:\n    beacon:\n      min_score", "-0.1"),
            ("http:\n    suspicious_user_agent:\n      min_score", ".inf"),
        ] {
            let text = format!("detect:\n  {key}: {value}\n");
            let message = parse_text(&text).unwrap_err().to_string();
            assert!(message.contains("a number from 0 to 1"), "{message}");
            assert!(message.contains("line 4"), "{message}");
        }

        let settings = parse_text("detect:\n  dns:\n    tunnel:\n      min_score: 1\n").unwrap();
        assert!((settings.detect.dns.tunnel.min_score - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn zero_beacon_ceiling_rejected() {
        for value in ["0", "-30", ".nan", ".inf"] {
            let text =
                format!("detect:\n  http:\n    beacon:\n      timing_mad_ceiling_secs: {value}\n");
            let message = parse_text(&text).unwrap_err().to_string();
            assert!(
                message.contains("a finite number above 0"),
                "{value}: {message}"
            );
        }
        assert!(
            parse_text("detect:\n  http:\n    beacon:\n      size_mad_ceiling_bytes: 0.5\n")
                .is_ok()
        );
    }

    #[test]
    fn huge_http_head_limit_rejected() {
        let message = parse_text("capture:\n  max_http_head_bytes: 18446744073709551615\n")
            .unwrap_err()
            .to_string();
        assert!(message.contains("capture.max_http_head_bytes"), "{message}");
        assert!(message.contains("from 0 to 16777216"), "{message}");
        assert!(message.contains("line 2"), "{message}");

        let settings = parse_text("capture:\n  max_http_head_bytes: 16777216\n").unwrap();
        assert_eq!(settings.decode.max_http_head_bytes, 16 << 20);
        let negative = parse_text("capture:\n  max_http_head_bytes: -1\n").unwrap_err();
        assert!(negative.to_string().contains("integer `-1`"), "{negative}");
    }

    #[test]
    fn huge_dga_shape_count_rejected() {
        let text = "detect:\n  dns:\n    dga:\n      min_shape_names: 18446744073709551615\n";
        let message = parse_text(text).unwrap_err().to_string();
        assert!(
            message.contains("detect.dns.dga.min_shape_names"),
            "{message}"
        );
        assert!(message.contains("from 0 to 1000000"), "{message}");
        assert!(message.contains("line 4"), "{message}");
    }

    #[test]
    fn list_in_place_of_map_names_sections() {
        let error = parse_text("- detect\n- capture\n").unwrap_err();
        assert!(error.to_string().contains("a map of sections"), "{error}");
    }

    #[test]
    fn empty_text_keeps_defaults() {
        for text in ["", "# only a comment\n", "---\n"] {
            let settings = parse_text(text).unwrap();
            assert_eq!(settings.decode, DecodeConfig::default(), "{text:?}");
        }
    }

    #[test]
    fn second_document_rejected_with_line() {
        let cases = [
            "capture:\n  max_flows: 10\n---\ndetect: {}\n",
            "capture: {}\n...\n- a\n",
            "capture: {}\n---\nplain\n",
            "capture: {}\n---\n: [\n",
            // Found by the analyze_config fuzz target: libyaml reads a
            // second document here although no `---` line starts one.
            "!!!t_!!!!!!!!! !!!t_flux:\nttpdetect:\n67 fdetect: {!!!!!!!!!!!! !!!t_!!!!!!!!! \
             !!!t_flux:\nttpdetect:\n67 flux:\nttpdetect!!67  httpo",
        ];
        for text in cases {
            let error = parse_text(text).unwrap_err();
            assert!(error.location().is_some(), "{text:?}: {error}");
            assert!(error.to_string().contains("line "), "{text:?}: {error}");
        }

        let error = parse_text(cases[0]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("second YAML document"), "{message}");
        assert!(message.contains("line 4"), "{message}");
    }

    #[test]
    fn unknown_capture_key_rejected() {
        let error = parse_text("capture:\n  max_flow: 10\n").unwrap_err();
        assert!(error.to_string().contains("max_flow"), "{error}");
    }
}
