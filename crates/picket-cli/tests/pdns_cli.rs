//! `picket pdns query` end to end: a store filled through the passive-DNS
//! ingest, then queried by the binary as a user would.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use picket_event::dns::ResponseCode;
use picket_event::{DnsEvent, RecordType, ResourceRecord, Timestamp};
use picket_store::Store;
use picket_store::pdns;

fn answer(secs: i64, client: &str, name: &str, rtype: RecordType, data: &str) -> DnsEvent {
    DnsEvent {
        timestamp: Timestamp::from_nanos(secs * 1_000_000_000),
        client_ip: Some(client.parse().unwrap()),
        server_ip: Some("192.0.2.53".parse().unwrap()),
        query_name: name.into(),
        query_type: Some(rtype),
        rcode: Some(ResponseCode::NOERROR),
        answers: vec![ResourceRecord {
            name: name.into(),
            rtype,
            class: 1,
            ttl: 60,
            data: data.into(),
        }],
        ..DnsEvent::default()
    }
}

fn picket(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn query_by_wildcard_rdata_and_bulk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    {
        let store = Store::open(&path).unwrap();
        pdns::create_schema(store.connection()).unwrap();
        let events = [
            answer(
                1_700_000_000,
                "10.0.0.1",
                "www.example.com",
                RecordType::A,
                "198.51.100.7",
            ),
            answer(
                1_700_000_100,
                "10.0.0.2",
                "www.example.com",
                RecordType::A,
                "198.51.100.7",
            ),
            answer(
                1_700_000_200,
                "10.0.0.2",
                "mail.example.com",
                RecordType::A,
                "203.0.113.9",
            ),
            answer(
                1_700_000_300,
                "10.0.0.3",
                "www.example.org",
                RecordType::AAAA,
                "2001:db8::1",
            ),
        ];
        pdns::ingest(store.connection(), &events).unwrap();
    }
    let store = path.to_str().unwrap();

    let (code, out, err) = picket(&["pdns", "query", "*.example.com", "--store", store]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let www = lines
        .iter()
        .find(|l| l["rrname"] == "www.example.com")
        .unwrap();
    assert_eq!(www["count"], 2);
    assert_eq!(www["time_first"], 1_700_000_000);
    assert_eq!(www["rrtype"], "A");

    // Clients and resolvers only when asked for.
    assert!(www.get("clients").is_none(), "{www}");
    let (code, out, err) = picket(&[
        "pdns",
        "query",
        "www.example.com",
        "--clients",
        "--store",
        store,
    ]);
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["clients"], serde_json::json!(["10.0.0.1", "10.0.0.2"]));
    assert_eq!(line["resolvers"], serde_json::json!(["192.0.2.53"]));

    let (code, out, _) = picket(&[
        "pdns",
        "query",
        "--rdata",
        "203.0.113.0/24",
        "--store",
        store,
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("mail.example.com"));

    let (_, out, _) = picket(&[
        "pdns",
        "query",
        "www.example.*",
        "--format",
        "table",
        "--store",
        store,
    ]);
    assert!(out.starts_with("rrname"));
    assert_eq!(out.lines().count(), 3);

    let bulk = dir.path().join("bulk.txt");
    std::fs::write(
        &bulk,
        "# names and addresses\nwww.example.org\n198.51.100.7\n",
    )
    .unwrap();
    let (_, out, _) = picket(&[
        "pdns",
        "query",
        "--bulk",
        bulk.to_str().unwrap(),
        "--store",
        store,
    ]);
    assert_eq!(out.lines().count(), 2);

    let (code, _, err) = picket(&["pdns", "query", "--store", store]);
    assert_eq!(code, 2);
    assert!(err.contains("NAME"), "{err}");
}
