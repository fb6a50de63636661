//! `EventReader::visit_batch` on every line format: in any batch size it
//! passes on the events and rejections of `next_into`, in order, with the
//! same counts. Formats without views read each line in full, and a
//! parser that keeps events back for pairing (Suricata EVE v1 DNS) must
//! still flush them after the last line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use picket_event::{Event, EventView, HttpEvent, RecordVisitor, Rejection};
use picket_sources::{OpenOptions, open};

/// An event or a rejection (location with offset, and reason).
#[derive(Debug, PartialEq)]
enum Record {
    Event(Box<Event>),
    Rejected(String),
}

fn rejected(rejection: &Rejection) -> Record {
    Record::Rejected(format!("{:?} {}", rejection.location, rejection.reason))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_into(path: &Path) -> (Vec<Record>, picket_event::SourceStats) {
    let mut reader = open(path, &OpenOptions::default()).unwrap();
    let mut slot = Event::from(HttpEvent::default());
    let mut records = Vec::new();
    while let Some(item) = reader.next_into(&mut slot) {
        records.push(match item {
            Ok(()) => Record::Event(Box::new(slot.clone())),
            Err(rejection) => rejected(&rejection),
        });
    }
    (records, reader.stats())
}

/// Collects what `visit_batch` passes on, keeping every record or none.
#[derive(Default)]
struct Collector {
    decision: bool,
    distance: usize,
    /// `Debug` texts of the views `keep` received.
    views: Vec<String>,
    records: Vec<Record>,
}

impl RecordVisitor for Collector {
    fn ahead_distance(&self) -> usize {
        self.distance
    }

    fn keep(&mut self, view: &EventView<'_>) -> bool {
        self.views.push(format!("{view:?}"));
        self.decision
    }

    fn event(&mut self, event: &Event) {
        self.records.push(Record::Event(Box::new(event.clone())));
    }

    fn rejected(&mut self, rejection: Rejection) {
        self.records.push(rejected(&rejection));
    }
}

fn check_batches_agree(path: &Path) {
    let name = path.display();
    let (reference, stats) = read_into(path);
    assert!(!reference.is_empty(), "{name} gave no records");
    let views: Vec<String> = reference
        .iter()
        .filter_map(|r| match r {
            Record::Event(event) => Some(format!("{:?}", event.view())),
            Record::Rejected(_) => None,
        })
        .collect();

    for max in [1, 2, 3, 1024, usize::MAX] {
        for decision in [true, false] {
            let mut reader = open(path, &OpenOptions::default()).unwrap();
            let mut collector = Collector {
                decision,
                ..Collector::default()
            };
            while reader.visit_batch(max, &mut collector) {}
            let case = format!("{name} in batches of {max}, keep {decision}");
            let want: Vec<&Record> = reference
                .iter()
                .filter(|r| decision || matches!(r, Record::Rejected(_)))
                .collect();
            let got: Vec<&Record> = collector.records.iter().collect();
            assert_eq!(got, want, "{case}");
            assert_eq!(collector.views, views, "{case}");
            assert_eq!(reader.stats(), stats, "{case}");
        }
    }
}

#[test]
fn eve_v1_dns_batches_flush_held_queries() {
    // Two queries that no answer follows: the parser keeps them until the
    // input ends. The last line has no newline, so the reader meets the
    // end of input while that line is still to be parsed.
    let text = concat!(
        r#"{"timestamp":"2017-06-08T15:45:58.000000+0000","event_type":"dns","src_ip":"10.0.0.1","src_port":1000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"lost.example","rrtype":"A","tx_id":0}}"#,
        "\n",
        r#"{"timestamp":"2017-06-08T15:46:58.000000+0000","event_type":"dns","src_ip":"10.0.0.1","src_port":1001,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"type":"query","id":2,"rrname":"later.example","rrtype":"TXT","tx_id":0}}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    std::fs::write(&path, text).unwrap();
    check_batches_agree(&path);
}

#[test]
fn every_fixture_batches_agree() {
    for name in [
        "eve-dns-v1.json",
        "eve-dns-v2.json",
        "eve-dns-v3.json",
        "eve-http.json",
        "tmg-webproxy-16col.tsv",
        "tmg-webproxy-30col.tsv",
    ] {
        check_batches_agree(&fixture(name));
    }
}

#[test]
fn corpus_logs_batches_agree() {
    let dir = picket_corpus::require_corpus!("proxy-logs");
    let dir = dir.parent().expect("the corpus folder");
    let mut logs = Vec::new();
    for group in [
        "proxy-logs/squid",
        "proxy-logs/w3c-elff-bluecoat",
        "zeek/baselines",
    ] {
        collect_logs(&dir.join(group), &mut logs);
    }
    logs.sort();

    let mut read = 0;
    for path in &logs {
        if open(path, &OpenOptions::default()).is_err() {
            continue;
        }
        let (records, _) = read_into(path);
        if records.is_empty() {
            continue;
        }
        check_batches_agree(path);
        read += 1;
    }
    assert!(read >= 10, "only {read} corpus logs read");
}

/// Adds the logs under `dir`, in subfolders too, to `logs`.
fn collect_logs(dir: &Path, logs: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_logs(&path, logs);
        } else if path.to_string_lossy().ends_with(".log")
            || path.to_string_lossy().ends_with(".log.derived")
        {
            logs.push(path);
        }
    }
}

#[test]
fn any_ahead_distance_is_accepted() {
    let line = "1700000000.018 1 10.0.0.1 TCP_MISS/200 5 GET http://a.example/ - HIER_NONE/- -\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(&path, line.repeat(5)).unwrap();

    for distance in [1, 4, 5, usize::MAX] {
        let mut reader = open(&path, &OpenOptions::default()).unwrap();
        let mut collector = Collector {
            decision: true,
            distance,
            ..Collector::default()
        };
        while reader.visit_batch(usize::MAX, &mut collector) {}
        assert_eq!(collector.records.len(), 5, "ahead {distance}");
    }
}
