//! Store behaviour: day partitions, scanning, alert de-duplication, ingest records.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test stops at the first unexpected value

use picket_event::{
    Alert, DnsEvent, Event, HttpEvent, IntelHit, MatchedField, Sink, SourceLocation, Timestamp,
};
use picket_store::{FileIdentity, RecordScan, Store, WriterConfig, dedupe_key};

fn http_at(secs: i64, line: u64) -> Event {
    Event::from(HttpEvent {
        timestamp: Timestamp::from_secs_nanos(secs, 0).unwrap(),
        location: SourceLocation::line("access.log".into(), line, line * 100),
        client_ip: Some("10.1.2.3".parse().unwrap()),
        host: Some("example.org".into()),
        url: "http://example.org/".into(),
        ..HttpEvent::default()
    })
}

#[test]
fn events_land_in_their_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let mut writer = store.writer(WriterConfig {
        batch_size: 2,
        ..WriterConfig::default()
    });
    for (i, secs) in [86_400 * 3 + 5, 86_400 * 3 + 7, 86_400 * 4 + 1]
        .iter()
        .enumerate()
    {
        writer.write_event(&http_at(*secs, i as u64 + 1)).unwrap();
    }
    writer.finish().unwrap();
    drop(writer);

    assert_eq!(store.days().unwrap(), vec![3, 4]);
    assert_eq!(store.day_event_count(3).unwrap(), 2);

    let mut lines = Vec::new();
    let visited = store
        .scan_day(3, &mut |_, event| {
            lines.push(event.location().line.unwrap())
        })
        .unwrap();
    assert_eq!(visited, 2);
    assert_eq!(lines, vec![1, 2]);
}

#[test]
fn scan_returns_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let event = Event::Dns(DnsEvent {
        timestamp: Timestamp::from_secs_nanos(1_000_000, 5).unwrap(),
        location: SourceLocation::packet("c.pcap".into(), 9, 900),
        query_name: "evil.example".into(),
        ..DnsEvent::default()
    });
    let mut writer = store.writer(WriterConfig::default());
    writer.write_event(&event).unwrap();
    writer.finish().unwrap();
    drop(writer);

    let day = event.timestamp().day_number();
    let mut read = Vec::new();
    store.scan_day(day, &mut |_, e| read.push(e)).unwrap();
    assert_eq!(read, vec![event]);
}

#[test]
fn unfinished_batch_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    {
        let mut writer = store.writer(WriterConfig::default());
        writer.write_event(&http_at(100, 1)).unwrap();
    }
    assert_eq!(store.day_event_count(0).unwrap(), 0);
}

/// Stored alerts keep their keys across releases, so the key's text must
/// not change: a changed key would store a finding a second time.
#[test]
fn dedupe_key_text_is_stable() {
    let mut alert = Alert::new("intel.match", 0.5, "test".into(), vec![http_at(100, 7)]);
    alert.indicators.push(IntelHit {
        indicator: "evil.example".into(),
        kind: "domain".into(),
        field: MatchedField::HttpHost,
        value: "a.evil.example".into(),
        confidence: 50,
        sources: Vec::new(),
    });
    assert_eq!(
        dedupe_key(&alert),
        "intel.match|access.log:7:0:700|domain=evil.example@\"url.domain\""
    );
}

#[test]
fn same_alert_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let alert = Alert::new("http.test", 0.5, "test".into(), vec![http_at(100, 1)]);
    let mut retro = alert.clone();
    retro.retrospective = true;
    assert_eq!(dedupe_key(&alert), dedupe_key(&retro));

    assert!(store.insert_alert(&alert, &dedupe_key(&alert)).unwrap());
    assert!(!store.insert_alert(&retro, &dedupe_key(&retro)).unwrap());
    assert_eq!(store.alert_count().unwrap(), 1);

    let stored = store
        .alerts_between(Timestamp::UNIX_EPOCH, Timestamp::from_nanos(i64::MAX), None)
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].alert.detector, "http.test");
}

#[test]
fn ingest_records_find_a_file_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, b"line one\nline two\n").unwrap();
    let identity = FileIdentity::of_file(&log).unwrap();

    assert!(store.find_ingest(&identity).unwrap().is_none());
    let id = store.begin_ingest("a.log", &identity, "squid", 0).unwrap();
    store.finish_ingest(id, true, 18, 2).unwrap();

    let copy = dir.path().join("renamed.log");
    std::fs::copy(&log, &copy).unwrap();
    let found = store
        .find_ingest(&FileIdentity::of_file(&copy).unwrap())
        .unwrap()
        .unwrap();
    assert!(found.finished);
    assert_eq!(found.end_offset, 18);
    assert_eq!(found.events, 2);
}

#[test]
fn reader_sees_writer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path).unwrap();
    let mut writer = store.writer(WriterConfig::default());
    writer.write_event(&http_at(100, 1)).unwrap();
    writer.finish().unwrap();

    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(reader.days().unwrap(), vec![0]);
}

#[test]
fn dropping_a_day_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let mut writer = store.writer(WriterConfig::default());
    writer.write_event(&http_at(86_400 * 2, 1)).unwrap();
    writer.finish().unwrap();
    drop(writer);

    store.drop_day(2).unwrap();
    assert!(store.days().unwrap().is_empty());
    assert_eq!(store.scan_day(2, &mut |_, _| {}).unwrap(), 0);
}

#[test]
fn blocks_split_and_scan_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let mut writer = store.writer(WriterConfig {
        batch_size: 7,
        block_events: 3,
    });
    for line in 1..=10 {
        writer
            .write_event(&http_at(100 + line as i64, line))
            .unwrap();
    }
    writer.finish().unwrap();
    drop(writer);

    let mut seen = Vec::new();
    store
        .scan_day(0, &mut |at, event| {
            seen.push((at.index, event.location().line.unwrap()))
        })
        .unwrap();
    let lines: Vec<u64> = seen.iter().map(|(_, line)| *line).collect();
    assert_eq!(lines, (1..=10).collect::<Vec<u64>>());
    assert_eq!(seen[3].0, 0, "the fourth event starts the second block");
    assert_eq!(store.day_event_count(0).unwrap(), 10);
}

/// Writes events at seconds 101..=110 in blocks of three, numbered 1 to 4.
fn ten_events_in_blocks(store: &Store) {
    let mut writer = store.writer(WriterConfig {
        batch_size: 100,
        block_events: 3,
    });
    for line in 1..=10 {
        writer
            .write_event(&http_at(100 + line as i64, line))
            .unwrap();
    }
    writer.finish().unwrap();
}

fn scanned_lines(store: &Store, scan: &RecordScan) -> Vec<(i64, bool, u64)> {
    let mut seen = Vec::new();
    store
        .scan_records(0, scan, &mut |block, index, record| {
            let event: Event = picket_event::codec::decode(record).unwrap();
            assert_eq!(block.event_ref(index).block, block.block);
            seen.push((block.block, block.within, event.location().line.unwrap()));
            Ok(())
        })
        .unwrap();
    seen
}

#[test]
fn record_scan_selects_blocks_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    ten_events_in_blocks(&store);
    assert_eq!(store.day_blocks(0).unwrap(), Some((1, 4)));
    assert_eq!(store.day_blocks(5).unwrap(), None);

    let all = scanned_lines(&store, &RecordScan::default());
    assert_eq!(all.len(), 10);
    assert!(all.iter().all(|(_, within, _)| *within));

    let middle = RecordScan {
        blocks: Some((2, 3)),
        ..RecordScan::default()
    };
    let lines: Vec<u64> = scanned_lines(&store, &middle).iter().map(|s| s.2).collect();
    assert_eq!(lines, vec![4, 5, 6, 7, 8, 9]);

    // 105 falls inside block 2 (104..=106), 109 inside block 3 (107..=109).
    let span = RecordScan {
        since: Timestamp::from_secs_nanos(105, 0),
        until: Timestamp::from_secs_nanos(109, 0),
        ..RecordScan::default()
    };
    let seen = scanned_lines(&store, &span);
    let blocks: Vec<(i64, bool)> = seen.iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(
        blocks,
        vec![
            (2, false),
            (2, false),
            (2, false),
            (3, false),
            (3, false),
            (3, false)
        ]
    );

    let exact = RecordScan {
        since: Timestamp::from_secs_nanos(104, 0),
        until: Timestamp::from_secs_nanos(107, 0),
        ..RecordScan::default()
    };
    let seen = scanned_lines(&store, &exact);
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.0 == 2 && s.1), "{seen:?}");
}

#[test]
fn block_without_stated_size_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    ten_events_in_blocks(&store);
    let body: Vec<u8> = store
        .connection()
        .query_row("SELECT body FROM events_d0 WHERE block = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let records = zstd::bulk::decompress(&body, 1 << 20).unwrap();
    let mut streamed = Vec::new();
    let mut encoder = zstd::stream::write::Encoder::new(&mut streamed, 3).unwrap();
    encoder.include_contentsize(false).unwrap();
    std::io::Write::write_all(&mut encoder, &records).unwrap();
    encoder.finish().unwrap();
    assert!(matches!(
        zstd::zstd_safe::get_frame_content_size(&streamed),
        Ok(None)
    ));
    store
        .connection()
        .execute(
            "UPDATE events_d0 SET body = ?1 WHERE block = 1",
            [&streamed],
        )
        .unwrap();

    let lines: Vec<u64> = scanned_lines(&store, &RecordScan::default())
        .iter()
        .map(|s| s.2)
        .collect();
    assert_eq!(lines, (1..=10).collect::<Vec<u64>>());
}

#[test]
fn damaged_block_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path).unwrap();
    let mut writer = store.writer(WriterConfig::default());
    writer.write_event(&http_at(100, 1)).unwrap();
    writer.finish().unwrap();
    drop(writer);

    store
        .connection()
        .execute("UPDATE events_d0 SET body = x'28b52ffd0000'", [])
        .unwrap();
    let error = store.scan_day(0, &mut |_, _| {}).unwrap_err();
    assert!(error.to_string().contains("events_d0"), "{error}");
}

#[test]
fn second_writer_waits_for_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let first = Store::open(&path).unwrap();

    let (sender, receiver) = std::sync::mpsc::channel();
    let waiting = std::thread::spawn({
        let path = path.clone();
        move || {
            let _second = Store::open(&path).unwrap();
            sender.send(()).unwrap();
        }
    });
    assert!(
        receiver
            .recv_timeout(std::time::Duration::from_millis(300))
            .is_err(),
        "the second writer must wait while the first is open"
    );

    drop(first);
    receiver.recv().unwrap();
    waiting.join().unwrap();
    let _reader = Store::open_read_only(&path).unwrap();
}

fn page_size(store: &Store) -> i64 {
    store
        .connection()
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn new_store_has_16_kib_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path).unwrap();
    assert_eq!(page_size(&store), 16_384);
    drop(store);

    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(page_size(&reader), 16_384);
}

#[test]
fn existing_store_keeps_its_page_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let older = rusqlite::Connection::open(&path).unwrap();
    older
        .execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (a); PRAGMA journal_mode = WAL;")
        .unwrap();
    drop(older);

    let store = Store::open(&path).unwrap();
    assert_eq!(page_size(&store), 4096);
    assert_eq!(store.days().unwrap(), Vec::<i64>::new());
}

#[test]
fn blocks_in_flight_keep_order_and_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let mut writer = store.writer(WriterConfig {
        batch_size: 1_000,
        block_events: 2,
    });

    // Days 0 and 1 alternate, so their blocks fill in turns. The ingest
    // changes half way, which closes the open blocks of both days.
    for line in 1..=400u64 {
        if line == 201 {
            writer.set_ingest(Some(7)).unwrap();
        }
        let day = (line % 2) as i64;
        writer
            .write_event(&http_at(day * 86_400 + line as i64, line))
            .unwrap();
    }
    writer.finish().unwrap();
    drop(writer);

    for day in [0, 1] {
        let mut lines = Vec::new();
        store
            .scan_day(day, &mut |_, event| {
                lines.push(event.location().line.unwrap())
            })
            .unwrap();
        let expected: Vec<u64> = (1..=400).filter(|line| (line % 2) as i64 == day).collect();
        assert_eq!(lines, expected, "day {day}");
        assert_eq!(store.day_event_count(day).unwrap(), 200);
    }
    let tagged: i64 = store
        .connection()
        .query_row(
            "SELECT sum(events) FROM events_d1 WHERE ingest = 7",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tagged, 100, "the events of day 1 written after the change");
}

#[test]
fn dropped_writer_keeps_only_committed_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let config = WriterConfig {
        batch_size: 10,
        block_events: 2,
    };

    // Lines 1 to 10 make one committed batch. Lines 11 to 19 fill four
    // more blocks, which are out for compression or stored in the open
    // batch when the writer is dropped without finish.
    {
        let mut writer = store.writer(config.clone());
        for line in 1..=19u64 {
            let day = (line % 2) as i64;
            writer
                .write_event(&http_at(day * 86_400 + line as i64, line))
                .unwrap();
        }
    }

    let mut lines = Vec::new();
    for day in store.days().unwrap() {
        store
            .scan_day(day, &mut |_, event| {
                lines.push(event.location().line.unwrap())
            })
            .unwrap();
    }
    lines.sort_unstable();
    assert_eq!(lines, (1..=10).collect::<Vec<u64>>());
    assert_eq!(store.day_event_count(0).unwrap(), 5);
    assert_eq!(store.day_event_count(1).unwrap(), 5);

    // The store takes the next writer's events after the rollback.
    let mut writer = store.writer(config);
    writer.write_event(&http_at(86_400 + 21, 21)).unwrap();
    writer.finish().unwrap();
    drop(writer);
    assert_eq!(store.day_event_count(1).unwrap(), 6);
}
