//! Golden tests on the public corpus: BlueCoat and IIS W3C logs against the
//! expected records published beside them, Zeek's own http.log and dns.log
//! baselines, and the Squid sample with its edge cases.
// Test helpers may panic on bad fixtures, and the corpus files are small and trusted.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::path::Path;

use picket_event::dns::{DnsExchange, DnsProtocol, RecordType};
use picket_event::{Event, HttpEvent};
use picket_sources::{Format, OpenOptions, open, open_reader};
use serde_json::Value;

/// Every event and rejection of a file, opened with format detection.
fn read_path(path: &Path) -> (String, Vec<Event>, Vec<String>) {
    let mut reader = open(path, &OpenOptions::default()).unwrap();
    let mut events = Vec::new();
    let mut rejects = Vec::new();
    for item in reader.by_ref() {
        match item {
            Ok(e) => events.push(e),
            Err(r) => rejects.push(r.to_string()),
        }
    }
    (reader.format_name().to_owned(), events, rejects)
}

fn as_http(e: &Event) -> &HttpEvent {
    match e {
        Event::Http(h) => h,
        other => panic!("not HTTP: {other:?}"),
    }
}

/// The expected value of one field, as the text the log holds.
fn expected_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        Value::Array(parts) => {
            let nums: Vec<i64> = parts.iter().filter_map(Value::as_i64).collect();
            Some(match nums.len() {
                3 if nums[0] > 31 => format!("{:04}-{:02}-{:02}", nums[0], nums[1], nums[2]),
                2 => format!("{:02}:{:02}:00", nums[0], nums[1]),
                3 => format!("{:02}:{:02}:{:02}", nums[0], nums[1], nums[2]),
                _ => panic!("unexpected array {parts:?}"),
            })
        }
        other => panic!("unexpected value {other}"),
    }
}

#[test]
fn w3c_bluecoat_and_iis_logs_match_their_expected_records() {
    let dir = picket_corpus::require_corpus!("proxy-logs/w3c-elff-bluecoat");
    let mut checked_files = 0;
    let mut checked_records = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for log in names
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".log.derived"))
    {
        let json_path = log.to_string_lossy().replace(".log.derived", ".json");
        let golden: Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        // The reference parser writes an empty record for a blank line; picket skips those.
        let expected: Vec<&serde_json::Map<String, Value>> = golden["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["fieldData"].as_object().unwrap())
            .filter(|r| !r.is_empty())
            .collect();

        let (format, events, rejects) = read_path(log);
        assert_eq!(format, "w3c", "{}", log.display());
        assert!(rejects.is_empty(), "{}: {rejects:?}", log.display());
        assert_eq!(events.len(), expected.len(), "{}", log.display());

        // Tokenizer: every column of every line against the expected value.
        let text = std::fs::read_to_string(log).unwrap();
        let mut fields: Vec<String> = Vec::new();
        let mut header_date = String::new();
        let mut data_lines = Vec::new();
        for line in text.lines().map(|l| l.trim_end_matches('\r')) {
            if let Some(names) = line.strip_prefix("#Fields:") {
                fields = names.split_whitespace().map(str::to_owned).collect();
            } else if let Some(date) = line.strip_prefix("#Date:") {
                header_date = date.split_whitespace().next().unwrap_or("").to_owned();
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                data_lines.push(line);
            }
        }
        for ((line, want), event) in data_lines.iter().zip(&expected).zip(&events) {
            let values = picket_sources::w3c::split_fields(line);
            let got: BTreeMap<&str, &str> = fields
                .iter()
                .map(String::as_str)
                .zip(values.iter().copied())
                .collect();
            for (name, value) in want.iter() {
                let want_text = expected_text(value);
                let got_text = got
                    .get(name.as_str())
                    .copied()
                    .filter(|v| *v != "-" && !v.is_empty());
                match name.as_str() {
                    // The reference parser drops ":00" seconds and trailing dots; compare parsed.
                    "time" => assert!(got_text.unwrap().starts_with(&want_text.unwrap()[..5])),
                    "ip2" => {}
                    _ => assert_eq!(
                        got_text.map(str::to_owned),
                        want_text,
                        "{} column {name}",
                        log.display()
                    ),
                }
            }

            // Mapping onto the event.
            let h = as_http(event);
            let s = |name: &str| want.get(name).and_then(expected_text);
            assert_eq!(
                h.client_ip.map(|ip| ip.to_string()),
                s("c-ip"),
                "{}",
                log.display()
            );
            assert_eq!(h.host, s("cs-host").map(|v| v.to_ascii_lowercase()));
            assert_eq!(h.method, s("cs-method"));
            assert_eq!(h.user_name, s("cs-username"));
            // A log with an agent column records an unsent agent as "".
            let agent_column = fields
                .iter()
                .any(|f| f.eq_ignore_ascii_case("cs(User-Agent)"));
            let want_agent = s("cs(User-Agent)").or_else(|| agent_column.then(String::new));
            assert_eq!(h.user_agent, want_agent);
            assert_eq!(h.referrer, s("cs(Referer)").or(s("cs(Referrer)")));
            assert_eq!(h.proxy_action, s("s-action"));
            assert_eq!(h.path, s("cs-uri-path").or(s("cs-uri-stem")));
            assert_eq!(
                h.query,
                s("cs-uri-query")
                    .map(|q| q.trim_start_matches('?').to_owned())
                    .filter(|q| !q.is_empty())
            );
            assert_eq!(h.bytes_to_client.map(|b| b.to_string()), s("sc-bytes"));
            assert_eq!(h.bytes_from_client.map(|b| b.to_string()), s("cs-bytes"));
            assert_eq!(
                h.status.map(|b| b.to_string()),
                s("sc-status").filter(|v| v != "0")
            );
            assert_eq!(
                h.content_type,
                s("rs(Content-Type)").map(|c| c.split(';').next().unwrap().to_ascii_lowercase())
            );
            let date = s("date").unwrap_or_else(|| header_date.clone());
            assert!(
                h.timestamp
                    .to_string()
                    .starts_with(&format!("{date}T{}", &s("time").unwrap()[..5])),
                "{} {}",
                h.timestamp,
                log.display()
            );
            checked_records += 1;
        }
        checked_files += 1;
    }
    assert_eq!(checked_files, 12);
    assert!(checked_records > 200, "{checked_records}");
}

/// A Zeek baseline with its masked timestamps (`XXXXXXXXXX.XXXXXX`) given a value.
fn read_baseline(relative: &str) -> Option<(usize, Vec<Event>, Vec<String>)> {
    let path = picket_corpus::corpus_path(relative)?;
    let text = std::fs::read_to_string(path)
        .ok()?
        .replace("XXXXXXXXXX.XXXXXX", "1300000000.250000");
    let data_lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();
    let mut reader = open_reader(
        Box::new(std::io::Cursor::new(text.into_bytes())),
        relative,
        &OpenOptions::default(),
    )
    .unwrap();
    assert_eq!(reader.format_name(), "zeek-tsv");
    let mut events = Vec::new();
    let mut rejects = Vec::new();
    for item in reader.by_ref() {
        match item {
            Ok(e) => events.push(e),
            Err(r) => rejects.push(r.to_string()),
        }
    }
    Some((data_lines, events, rejects))
}

#[test]
fn zeek_baselines_parse_completely() {
    let dir = picket_corpus::require_corpus!("zeek/baselines");
    let mut logs = Vec::new();
    for case in std::fs::read_dir(&dir).unwrap() {
        let case = case.unwrap().path();
        for name in ["http.log", "dns.log"] {
            if case.join(name).exists() {
                logs.push(format!(
                    "zeek/baselines/{}/{name}",
                    case.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    logs.sort();
    assert_eq!(logs.len(), 29);
    for log in &logs {
        let (lines, events, rejects) = read_baseline(log).unwrap();
        assert!(rejects.is_empty(), "{log}: {rejects:?}");
        assert_eq!(events.len(), lines, "{log}");
        for e in &events {
            assert_eq!(e.timestamp().to_string(), "2011-03-13T07:06:40.25Z");
            assert_eq!(
                e.dataset(),
                if log.ends_with("dns.log") {
                    "dns"
                } else {
                    "http"
                },
                "{log}"
            );
        }
    }
}

#[test]
fn zeek_baseline_field_values() {
    let Some((_, events, _)) =
        read_baseline("zeek/baselines/scripts.base.protocols.dns.multiple-txt-strings/dns.log")
    else {
        return;
    };
    let Event::Dns(txt) = &events[0] else {
        panic!()
    };
    assert_eq!(txt.query_name, "flkr._domainkey.flickr.com");
    assert_eq!(txt.answers.len(), 3);
    assert_eq!(
        (
            txt.answers[0].rtype,
            txt.answers[0].data.as_str(),
            txt.answers[0].ttl
        ),
        (RecordType::CNAME, "fa14._domainkey.flickr.com", 900)
    );
    assert_eq!(
        (txt.answers[2].rtype, txt.answers[2].ttl),
        (RecordType::TXT, 7200)
    );
    assert!(txt.answers[2].data.starts_with("TXT 127 k=rsa; p=MIGfMA0G"));
    assert!(txt.flags.aa && !txt.flags.rd);
    assert_eq!(
        (txt.client_ip.unwrap().to_string(), txt.client_port),
        ("192.150.187.50".to_string(), Some(51946))
    );

    let (_, events, _) =
        read_baseline("zeek/baselines/scripts.policy.protocols.dns.original_case/dns.log").unwrap();
    let Event::Dns(case) = &events[0] else {
        panic!()
    };
    assert_eq!(case.query_name, "us.v27.distributed.net");
    assert_eq!(
        case.query_name_original.as_deref(),
        Some("Us.V27.DiStRiBuTeD.NET")
    );
    assert_eq!(case.exchange, DnsExchange::QueryOnly);
    assert!(case.flags.z);

    let (_, events, _) =
        read_baseline("zeek/baselines/scripts.base.protocols.dns.mdns-no-assoc/dns.log").unwrap();
    let Event::Dns(mdns) = &events[2] else {
        panic!()
    };
    assert_eq!(mdns.protocol, DnsProtocol::Mdns);
    assert_eq!(
        (mdns.exchange, mdns.answers[0].ip().unwrap().to_string()),
        (DnsExchange::ResponseOnly, "192.168.0.2".to_string())
    );
    assert_eq!(mdns.answers[0].ttl, 120);

    let (_, events, _) =
        read_baseline("zeek/baselines/scripts.base.protocols.http.http-connect/http.log").unwrap();
    let connect = as_http(&events[0]);
    assert_eq!(
        (
            connect.method.as_deref(),
            connect.host.as_deref(),
            connect.port
        ),
        (Some("CONNECT"), Some("mailin03.sul.t-online.de"), Some(25))
    );

    let (_, events, _) =
        read_baseline("zeek/baselines/scripts.base.protocols.http.http-filename/http.log").unwrap();
    let file = as_http(&events[0]);
    assert_eq!(file.file_name.as_deref(), Some("test.json"));
    assert_eq!(file.content_type.as_deref(), Some("text/json"));
    assert_eq!(file.host.as_deref(), Some("httpbin.org"));
    assert_eq!(file.path.as_deref(), Some("/response-headers"));
    assert_eq!(file.response_body_len, Some(191));

    let (_, events, _) =
        read_baseline("zeek/baselines/scripts.base.protocols.http.http-basic-auth-colon/http.log")
            .unwrap();
    let auth = as_http(&events[0]);
    assert_eq!(
        (auth.host.as_deref(), auth.port, auth.user_name.as_deref()),
        (Some("172.24.133.205"), Some(8000), Some("test"))
    );

    let (lines, events, _) = read_baseline("zeek/baselines/opt.basic/http.log").unwrap();
    assert_eq!(events.len(), lines);
    let css = as_http(&events[0]);
    assert_eq!(
        (css.host.as_deref(), css.status, css.referrer.as_deref()),
        (
            Some("bits.wikimedia.org"),
            Some(304),
            Some("http://www.wikipedia.org/")
        )
    );
}

#[test]
fn squid_sample_edge_cases() {
    let path = picket_corpus::require_corpus!("proxy-logs/squid/plaso_squid_access.log");
    let (format, events, rejects) = read_path(&path);
    assert_eq!(format, Format::Squid.as_str());
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(events.len(), 8);
    let h: Vec<&HttpEvent> = events.iter().map(as_http).collect();

    assert_eq!(h[0].timestamp.to_string(), "2023-03-04T23:15:34.079Z");
    assert_eq!(
        (h[0].method.as_deref(), h[0].host.as_deref(), h[0].port),
        (Some("CONNECT"), Some("domain.xyz"), Some(443))
    );
    assert_eq!(
        (h[0].proxy_action.as_deref(), h[0].status),
        (Some("TCP_TUNNEL"), Some(200))
    );
    // Two spaces before the last column.
    assert_eq!(
        (
            h[1].content_type.as_deref(),
            h[1].server_ip.unwrap().to_string()
        ),
        (None, "1.2.3.4".to_string())
    );
    assert_eq!(h[2].user_name.as_deref(), Some("user1"));
    assert_eq!(h[2].content_type.as_deref(), Some("text/html"));
    assert_eq!(
        (h[3].status, h[3].proxy_hierarchy.as_deref(), h[3].server_ip),
        (Some(304), Some("NONE"), None)
    );
    assert_eq!(h[4].client_ip.unwrap().to_string(), "2001:db8::1");
    assert_eq!(
        (
            h[5].proxy_action.as_deref(),
            h[5].status,
            h[5].method.as_deref()
        ),
        (Some("TCP_DENIED"), Some(403), Some("POST"))
    );
    assert_eq!(h[6].bytes_to_client, Some(8192));
    assert_eq!(h[7].user_name.as_deref(), Some("user@domain.com"));
    assert_eq!(h[7].location.line, Some(8));
}
