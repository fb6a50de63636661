//! Agreement with Zeek's http.log on the HTTP traces of Zeek's test suite.
//!
//! For every baseline http.log in the corpus, the capture it was made from
//! is decoded and each transaction is compared with Zeek's row for the same
//! connection and depth (position on the connection), field by field: method,
//! host, uri, referrer, user agent, version, status, request and response
//! body lengths, and the response MIME type where both name one.
//!
//! Where picket and Zeek disagree on purpose, the difference is listed in
//! [`EXPECTED`] with the reason and the side that is right. Any other
//! difference fails the test, and so does an entry of the table that no
//! longer matches a difference (so the table cannot go stale).

// Test helpers may unwrap (a failure there is the test's failure) and read
// whole corpus files (all small).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use picket_decode::{CaptureReader, DecodeConfig};
use picket_event::{Event, HttpEvent};

/// Which baseline was made from which trace.
const CASES: &[(&str, &str)] = &[
    ("opt.basic", "wikipedia.pcap"),
    ("core.tcp.reassembly-known-ports", "http/get.pcap"),
    (
        "scripts.base.protocols.http.100-continue",
        "http/100-continue.pcap",
    ),
    (
        "scripts.base.protocols.http.curl-http-09",
        "http/curl_http_09.pcap",
    ),
    (
        "scripts.base.protocols.http.http-basic-auth-colon",
        "http/basic-auth-with-colon.pcap",
    ),
    (
        "scripts.base.protocols.http.http-connect",
        "http/connect-with-smtp.pcap",
    ),
    (
        "scripts.base.protocols.http.http-connect-with-header",
        "http/connect-with-header.pcap",
    ),
    (
        "scripts.base.protocols.http.http-filename",
        "http/http-filename.pcap",
    ),
    (
        "scripts.base.protocols.http.http-methods",
        "http/methods.pcap",
    ),
    (
        "scripts.base.protocols.http.http-pipelining",
        "http/pipelined-requests.pcap",
    ),
    (
        "scripts.base.protocols.http.multipart-body-length",
        "http/multipart-form-data.pcap",
    ),
    ("scripts.base.protocols.http.no-uri", "http/no-uri.pcap"),
    (
        "scripts.base.protocols.http.no-version",
        "http/no-version.pcap",
    ),
    (
        "scripts.base.protocols.http.percent-end-of-line",
        "http/percent-end-of-line.pcap",
    ),
    (
        "scripts.base.protocols.http.version-mismatch",
        "http/version-mismatch.pcap",
    ),
    ("scripts.base.protocols.http.x-gzip", "http/x-gzip.pcap"),
    (
        "scripts.base.protocols.http.ctu-agent-tesla",
        "http/ctu-62604-80.pcap",
    ),
];

/// Which side of a known difference is right.
#[derive(Debug, Clone, Copy)]
enum Right {
    Picket,
    /// Both readings are defensible; the fields mean different things.
    Neither,
}

/// A known difference: baseline, rows (`orig_port/depth`, several separated
/// by spaces, or `*` for every row), field, Zeek's value when only that value is meant, the reason and
/// who is right.
struct Expected {
    case: &'static str,
    row: &'static str,
    field: &'static str,
    zeek: Option<&'static str>,
    right: Right,
    why: &'static str,
}

const VERSION_WHY: &str = "Zeek's version column ends up holding the response's \
    version (or nothing when the response had no status line); picket's http.version is \
    the request's, as its contract says";

/// Rows of http-methods whose request line has no version but is followed
/// by headers ("GET /HTTP/1.1", "HEAD /HTTP/1.1", ...).
const VERSIONLESS_WITH_HEADERS: &str =
    "46568/1 46578/1 46583/1 46588/1 46593/1 46598/1 46603/1 46608/1";

const VERSIONLESS_WHY: &str = "after a request line without a version but with headers, \
    Zeek reads the response as a bare HTTP/0.9 body (status 0, the status line and \
    headers counted as body, sniffed as text); the server did send a status line, which \
    picket reads";

const EXPECTED: &[Expected] = &[
    Expected {
        case: "opt.basic",
        row: "35634/1",
        field: "row",
        zeek: None,
        right: Right::Picket,
        why: "the capture starts in the middle of this connection (Zeek's conn.log says \
              OTH) and Zeek does not attach its HTTP analyser then; the request and its \
              304 response are whole on the wire",
    },
    Expected {
        case: "scripts.base.protocols.http.http-connect",
        row: "3378/1",
        field: "host",
        zeek: Some(""),
        right: Right::Picket,
        why: "the CONNECT target names the host; Zeek's host column reads only the Host header",
    },
    Expected {
        case: "scripts.base.protocols.http.http-filename",
        row: "63526/1",
        field: "uri",
        zeek: None,
        right: Right::Picket,
        why: "url.original keeps the target as sent; Zeek logs it percent-decoded",
    },
    Expected {
        case: "scripts.base.protocols.http.http-methods",
        row: "*",
        field: "host",
        zeek: Some(""),
        right: Right::Picket,
        why: "when the request line does not parse (\"OPTIONSHTTP/1.1\", \"GET/ HTTP/1.1\"), \
              Zeek drops the whole head; picket keeps the Host header that follows so \
              that host indicators still match, and flags http_malformed_start_line",
    },
    Expected {
        case: "scripts.base.protocols.http.http-methods",
        row: "46565/1",
        field: "method",
        zeek: None,
        right: Right::Picket,
        why: "\"OPTIONS\" alone on the request line is a method without target or version",
    },
    Expected {
        case: "scripts.base.protocols.http.http-methods",
        row: VERSIONLESS_WITH_HEADERS,
        field: "status_code",
        zeek: Some("0"),
        right: Right::Picket,
        why: VERSIONLESS_WHY,
    },
    Expected {
        case: "scripts.base.protocols.http.http-methods",
        row: VERSIONLESS_WITH_HEADERS,
        field: "response_body_len",
        zeek: None,
        right: Right::Picket,
        why: VERSIONLESS_WHY,
    },
    Expected {
        case: "scripts.base.protocols.http.http-methods",
        row: VERSIONLESS_WITH_HEADERS,
        field: "resp_mime_types",
        zeek: Some("text/plain"),
        right: Right::Picket,
        why: VERSIONLESS_WHY,
    },
    Expected {
        case: "scripts.base.protocols.http.no-version",
        row: "1035/1",
        field: "status_code",
        zeek: Some("0"),
        right: Right::Picket,
        why: "an HTTP/0.9 response has no status line; Zeek writes 0, picket leaves the \
              status unset",
    },
    Expected {
        case: "scripts.base.protocols.http.no-version",
        row: "1035/2",
        field: "row",
        zeek: None,
        right: Right::Picket,
        why: "Zeek logs the empty line after the HTTP/0.9 request as a second, empty \
              request; RFC 9112 section 2.2 says to ignore empty lines before a request",
    },
    Expected {
        case: "opt.basic",
        row: "*",
        field: "version",
        zeek: None,
        right: Right::Neither,
        why: VERSION_WHY,
    },
    Expected {
        case: "scripts.base.protocols.http.curl-http-09",
        row: "*",
        field: "version",
        zeek: None,
        right: Right::Neither,
        why: VERSION_WHY,
    },
    Expected {
        case: "scripts.base.protocols.http.http-basic-auth-colon",
        row: "*",
        field: "version",
        zeek: None,
        right: Right::Neither,
        why: VERSION_WHY,
    },
    Expected {
        case: "scripts.base.protocols.http.http-connect-with-header",
        row: "*",
        field: "version",
        zeek: None,
        right: Right::Neither,
        why: VERSION_WHY,
    },
    Expected {
        case: "scripts.base.protocols.http.http-methods",
        row: "*",
        field: "version",
        zeek: None,
        right: Right::Neither,
        why: VERSION_WHY,
    },
    Expected {
        case: "scripts.base.protocols.http.multipart-body-length",
        row: "*",
        field: "version",
        zeek: None,
        right: Right::Neither,
        why: VERSION_WHY,
    },
    Expected {
        case: "scripts.base.protocols.http.version-mismatch",
        row: "*",
        field: "version",
        zeek: None,
        right: Right::Neither,
        why: VERSION_WHY,
    },
];

/// One field of one row where the two sides differ.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Difference {
    case: String,
    row: String,
    field: String,
    zeek: String,
    picket: String,
}

/// Reads a Zeek TSV log (with `#fields`, or a `.cut` file whose first line
/// names the fields) into maps of field name to value.
fn read_zeek_log(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut fields: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(names) = line.strip_prefix("#fields\t") {
            fields = names.split('\t').map(str::to_owned).collect();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if fields.is_empty() {
            fields = line.split('\t').map(str::to_owned).collect();
            continue;
        }
        let row = fields
            .iter()
            .cloned()
            .zip(line.split('\t').map(|v| match v {
                "-" => String::new(),
                "(empty)" => String::new(),
                other => other.to_owned(),
            }))
            .collect();
        rows.push(row);
    }
    rows
}

fn http_events(path: &Path) -> Vec<HttpEvent> {
    CaptureReader::open(path, DecodeConfig::default())
        .unwrap()
        .filter_map(|item| match item {
            Ok(Event::Http(e)) => Some(*e),
            _ => None,
        })
        .collect()
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// Picket's values under Zeek's field names.
fn picket_fields(e: &HttpEvent) -> BTreeMap<&'static str, String> {
    let host = match (&e.host, e.port) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.clone(),
        _ => String::new(),
    };
    let mime = e
        .body
        .as_ref()
        .and_then(|b| b.sniffed_type.as_deref())
        .map(|t| match t {
            "html" => "text/html",
            "gif" => "image/gif",
            "png" => "image/png",
            "jpeg" => "image/jpeg",
            "pdf" => "application/pdf",
            "zip" => "application/zip",
            "pe" => "application/x-dosexec",
            "elf" => "application/x-executable",
            "swf" => "application/x-shockwave-flash",
            "cab" => "application/vnd.ms-cab-compressed",
            "gzip" => "application/x-gzip",
            other => other,
        })
        .map(str::to_owned)
        .unwrap_or_default();
    BTreeMap::from([
        ("method", opt(&e.method)),
        ("host", host),
        ("uri", e.url.clone()),
        ("referrer", opt(&e.referrer)),
        ("version", opt(&e.version)),
        ("user_agent", opt(&e.user_agent)),
        (
            "request_body_len",
            e.request_body_len.unwrap_or(0).to_string(),
        ),
        (
            "response_body_len",
            e.response_body_len.unwrap_or(0).to_string(),
        ),
        ("status_code", opt(&e.status)),
        ("resp_mime_types", mime),
    ])
}

fn compare(case: &str, trace: &Path, baseline: &Path) -> (usize, Vec<Difference>) {
    let zeek = read_zeek_log(baseline);
    let ours = http_events(trace);

    // Number picket's transactions per connection in order, as trans_depth does.
    let mut depth: HashMap<(String, u16), u32> = HashMap::new();
    let mut by_row: BTreeMap<String, &HttpEvent> = BTreeMap::new();
    for e in &ours {
        let conn = (opt(&e.client_ip), e.client_port.unwrap_or(0));
        let d = depth.entry(conn.clone()).or_default();
        *d += 1;
        by_row.insert(format!("{}/{}", conn.1, d), e);
    }

    let mut differences = Vec::new();
    let mut seen = Vec::new();
    for row in &zeek {
        let key = format!("{}/{}", row["id.orig_p"], row["trans_depth"]);
        seen.push(key.clone());
        let Some(event) = by_row.get(&key) else {
            differences.push(Difference {
                case: case.into(),
                row: key,
                field: "row".into(),
                zeek: "present".into(),
                picket: "missing".into(),
            });
            continue;
        };
        for (field, value) in picket_fields(event) {
            let mut zeek_value = row.get(field).cloned().unwrap_or_default();
            if field == "host" {
                zeek_value = zeek_value.to_ascii_lowercase();
            }
            if field == "resp_mime_types" && (value.is_empty() || zeek_value.is_empty()) {
                // Comparable only where both sides name a type.
                continue;
            }
            if zeek_value != value {
                differences.push(Difference {
                    case: case.into(),
                    row: key.clone(),
                    field: field.into(),
                    zeek: zeek_value,
                    picket: value,
                });
            }
        }
    }
    for key in by_row.keys() {
        if !seen.contains(key) {
            differences.push(Difference {
                case: case.into(),
                row: key.clone(),
                field: "row".into(),
                zeek: "missing".into(),
                picket: "present".into(),
            });
        }
    }
    (zeek.len(), differences)
}

#[test]
fn http_agrees_with_zeek() {
    let root = picket_corpus::require_corpus!("zeek");
    let mut unexpected = Vec::new();
    let mut used = vec![false; EXPECTED.len()];
    let mut rows = 0;

    for (case, trace) in CASES {
        let dir = root.join("baselines").join(case);
        let baseline = ["http.log", "http.log.cut"]
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no http.log for {case}"));
        let (n, differences) = compare(case, &root.join("traces").join(trace), &baseline);
        rows += n;
        for d in differences {
            let known = EXPECTED.iter().position(|x| {
                x.case == d.case
                    && (x.row == "*" || x.row.split(' ').any(|r| r == d.row))
                    && x.field == d.field
                    && x.zeek.is_none_or(|z| z == d.zeek)
            });
            match known {
                Some(i) => used[i] = true,
                None => unexpected.push(d),
            }
        }
    }

    let stale: Vec<String> = EXPECTED
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(x, _)| {
            format!(
                "{} {} {} ({:?}: {})",
                x.case, x.row, x.field, x.right, x.why
            )
        })
        .collect();
    assert!(rows > 50, "only {rows} baseline rows read");
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "unexpected differences:\n{}\nstale table entries:\n{}",
        unexpected
            .iter()
            .map(|d| format!("{d:?}"))
            .collect::<Vec<_>>()
            .join("\n"),
        stale.join("\n"),
    );
}
