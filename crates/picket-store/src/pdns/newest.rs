//! Name queries read newest first from `pdns_rr_by_name`, without a sort.
//!
//! That index keeps the records of each name in order of last sighting, so
//! the newest N records of a few names are a merge of one newest-first read
//! per name, which stops once N records are known. SQLite's plan for
//! `ORDER BY last_seen DESC LIMIT N` over a wildcard reads every record of
//! every matching name and sorts them all. On a domain with 50,000 records
//! that sort was most of the query's time (BENCHMARKS.md, passive DNS).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rusqlite::{CachedStatement, Connection, OptionalExtension, Rows, params};

use super::{NamePattern, PdnsQuery, prefix_end};

/// Maximum number of names merged, one prepared statement each. Listing a
/// name and opening its read cost a few microseconds, more than reading and
/// sorting a few records, so a wildcard over more names is left to one SQL
/// statement that reads its range in one pass. Each way's statement stays in
/// the connection's statement cache, which keeps 16 by default in rusqlite,
/// so the ways take at most half of it.
const MERGE_WAYS: usize = 8;

/// Reads the records of one name, newest first, inside the query's fences.
/// The bounds are always bound (the widest values when a fence is unset), so
/// that one prepared statement per way serves every query.
///
/// The name is bound through `CAST` because, bound bare, it made the bundled
/// SQLite prepare the statement again each time it came back from rusqlite's
/// statement cache (which clears the bindings), about 10 us per query.
const RECORDS_OF_NAME: &str = "SELECT id, last_seen, rrtype, rdata, first_seen, count FROM pdns_rr
     WHERE rrname_rev = CAST(?1 AS TEXT) AND last_seen > ?2 AND last_seen <= ?3
       AND first_seen >= ?4 AND first_seen <= ?5 AND rrtype >= ?6 AND rrtype <= ?7
     ORDER BY last_seen DESC";

/// One record read from the name index.
pub(super) struct Candidate {
    /// Position of the record's name in the list of matching names.
    pub name: usize,
    pub id: i64,
    pub last_seen: i64,
    pub rrtype: i64,
    pub rdata: String,
    pub first_seen: i64,
    pub count: i64,
}

/// Lists the reversed names that `pattern` matches, or `None` when they are
/// more than [`MERGE_WAYS`].
///
/// Each name costs one seek in an index that starts with the name: the next
/// name is the first one after the smallest string greater than the current
/// one, so the records in between are never read.
pub(super) fn matching_names(
    conn: &Connection,
    pattern: &NamePattern,
) -> rusqlite::Result<Option<Vec<String>>> {
    let (sql, prefix, reversed) = match pattern {
        NamePattern::Exact(name) => return Ok(Some(vec![name.clone()])),
        NamePattern::Below(prefix) => (
            "SELECT rrname_rev FROM pdns_rr WHERE rrname_rev >= ?1 AND rrname_rev < ?2
             ORDER BY rrname_rev LIMIT 1",
            prefix,
            false,
        ),
        NamePattern::Starting(prefix) => (
            "SELECT rrname FROM pdns_rr WHERE rrname >= ?1 AND rrname < ?2
             ORDER BY rrname LIMIT 1",
            prefix,
            true,
        ),
    };
    let end = prefix_end(prefix);

    let mut first_after = conn.prepare_cached(sql)?;
    let mut names = Vec::new();
    let mut from = prefix.clone();
    while let Some(name) = first_after
        .query_row(params![from, end], |row| row.get::<_, String>(0))
        .optional()?
    {
        if names.len() == MERGE_WAYS {
            return Ok(None);
        }
        // No name lies between `name` and `name` followed by NUL.
        from = format!("{name}\0");
        names.push(name);
    }

    if reversed {
        for name in &mut names {
            *name = super::reverse_name(name);
        }
    }
    Ok(Some(names))
}

/// Selects the newest `limit` records of the reversed `names`, at most
/// [`MERGE_WAYS`] of them, that pass the query's time and type fences,
/// newest first.
pub(super) fn newest_records(
    conn: &Connection,
    names: &[String],
    query: &PdnsQuery,
    limit: usize,
) -> rusqlite::Result<Vec<Candidate>> {
    debug_assert!(names.len() <= MERGE_WAYS);
    let fences = Fences::of(query);
    let mut statements = Vec::with_capacity(names.len());
    // One statement text per way, because the cache keeps one statement per
    // text and preparing one costs more than a small query.
    for way in 0..names.len() {
        statements.push(conn.prepare_cached(&format!("/* way {way} */ {RECORDS_OF_NAME}"))?);
    }

    let mut newest = Vec::new();
    merge(&mut statements, names, &fences, |record| {
        newest.push(record);
        newest.len() < limit
    })?;
    Ok(newest)
}

/// The bounds of a query that every name's read applies, as bound to
/// [`RECORDS_OF_NAME`].
struct Fences {
    /// Records seen last strictly after this are read.
    after: i64,
    last_seen_before: i64,
    first_seen_after: i64,
    first_seen_before: i64,
    type_low: i64,
    type_high: i64,
}

impl Fences {
    fn of(query: &PdnsQuery) -> Self {
        let nanos =
            |at: Option<picket_event::Timestamp>, unset: i64| at.map_or(unset, |t| t.as_nanos());
        let rrtype = query.rrtype.map(|t| i64::from(t.0));
        Fences {
            after: nanos(query.last_seen_after, i64::MIN).saturating_sub(1),
            last_seen_before: nanos(query.last_seen_before, i64::MAX),
            first_seen_after: nanos(query.first_seen_after, i64::MIN),
            first_seen_before: nanos(query.first_seen_before, i64::MAX),
            type_low: rrtype.unwrap_or(i64::MIN),
            type_high: rrtype.unwrap_or(i64::MAX),
        }
    }
}

/// Merges the records of `names`, newest first, handing each to `keep`
/// until it returns false.
fn merge(
    statements: &mut [CachedStatement<'_>],
    names: &[String],
    fences: &Fences,
    mut keep: impl FnMut(Candidate) -> bool,
) -> rusqlite::Result<()> {
    let mut cursors = Vec::with_capacity(names.len());
    for (statement, name) in statements.iter_mut().zip(names) {
        cursors.push(statement.query(params![
            name,
            fences.after,
            fences.last_seen_before,
            fences.first_seen_after,
            fences.first_seen_before,
            fences.type_low,
            fences.type_high,
        ])?);
    }

    // Each cursor's next record, and a max-heap of their last sightings
    // (the lower way first among equal times).
    let mut heads: Vec<Option<Candidate>> = Vec::with_capacity(cursors.len());
    let mut order = BinaryHeap::with_capacity(cursors.len());
    for (way, cursor) in cursors.iter_mut().enumerate() {
        let head = read_next(cursor, way)?;
        if let Some(record) = &head {
            order.push((record.last_seen, Reverse(way)));
        }
        heads.push(head);
    }

    while let Some((_, Reverse(way))) = order.pop() {
        let Some(record) = heads[way].take() else {
            continue;
        };
        if !keep(record) {
            break;
        }
        if let Some(next) = read_next(&mut cursors[way], way)? {
            order.push((next.last_seen, Reverse(way)));
            heads[way] = Some(next);
        }
    }
    Ok(())
}

/// Reads the next row of a [`RECORDS_OF_NAME`] cursor.
fn read_next(cursor: &mut Rows<'_>, name: usize) -> rusqlite::Result<Option<Candidate>> {
    let Some(row) = cursor.next()? else {
        return Ok(None);
    };
    Ok(Some(Candidate {
        name,
        id: row.get(0)?,
        last_seen: row.get(1)?,
        rrtype: row.get(2)?,
        rdata: row.get(3)?,
        first_seen: row.get(4)?,
        count: row.get(5)?,
    }))
}

#[cfg(test)]
mod tests {
    use picket_event::dns::ResponseCode;
    use picket_event::{DnsEvent, RecordType, ResourceRecord, Timestamp};

    use super::super::{by_statement, create_schema, ingest, query};
    use super::*;

    /// An A or CNAME answer for `name` seen at `secs` seconds.
    fn answer(secs: i64, name: &str, rtype: RecordType, data: &str) -> DnsEvent {
        DnsEvent {
            timestamp: Timestamp::from_nanos(secs * 1_000_000_000),
            client_ip: Some("10.0.0.1".parse().unwrap()),
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

    /// `names` hosts under example.com (and one under example.net), each
    /// with records of its own addresses at distinct, interleaved times, some
    /// seen twice so that first and last sightings differ, and a CNAME every
    /// seventh record.
    fn store(names: usize, records_per_name: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        let mut events = Vec::new();
        for record in 0..records_per_name {
            for host in 0..names {
                // A permutation of the times, so that no name's records are
                // all newer than another's.
                let slot = (record * names + host) as i64;
                let secs = 1_000 + (slot * 7919) % (names * records_per_name) as i64;
                let name = format!("h{host}.example.com");
                let (rtype, data) = if record % 7 == 3 {
                    (RecordType::CNAME, format!("c{record}.example.net"))
                } else {
                    (
                        RecordType::A,
                        format!("198.51.{}.{}", record / 250, record % 250),
                    )
                };
                events.push(answer(secs, &name, rtype, &data));
                if record % 5 == 0 {
                    events.push(answer(secs - 500, &name, rtype, &data));
                }
            }
        }
        events.push(answer(5, "www.example.net", RecordType::A, "203.0.113.1"));
        ingest(&conn, &events).unwrap();
        conn
    }

    /// Runs `query` and the sorted SQL statement on the same store and checks
    /// that they return the same records in the same order.
    fn assert_same_as_statement(conn: &Connection, request: &PdnsQuery) {
        let merged = query(conn, request).unwrap();
        let (_, sorted) = by_statement(conn, request).unwrap();
        assert_eq!(merged.len(), sorted.len(), "{request:?}");
        assert_eq!(merged, sorted, "{request:?}");
        assert!(merged.windows(2).all(|w| w[0].time_last >= w[1].time_last));
    }

    #[test]
    fn merge_matches_sorted_statement() {
        let conn = store(MERGE_WAYS, 40);
        let at = |secs: i64| Some(Timestamp::from_nanos(secs * 1_000_000_000));
        for name in [
            "*.example.com",
            "h3.example.com",
            "h1.example.*",
            "*.com",
            "nothing.example.com",
        ] {
            for limit in [0, 1, 7, 40, 41, 500, 5_000] {
                let base = PdnsQuery {
                    name: Some(name.into()),
                    limit,
                    ..PdnsQuery::default()
                };
                assert_same_as_statement(&conn, &base);
                assert_same_as_statement(
                    &conn,
                    &PdnsQuery {
                        last_seen_after: at(1_400),
                        last_seen_before: at(2_100),
                        ..base.clone()
                    },
                );
                assert_same_as_statement(
                    &conn,
                    &PdnsQuery {
                        first_seen_after: at(900),
                        first_seen_before: at(1_800),
                        rrtype: Some(RecordType::CNAME),
                        ..base.clone()
                    },
                );
            }
        }
    }

    #[test]
    fn merge_returns_newest_with_clients() {
        let conn = store(MERGE_WAYS - 1, 10);
        let request = PdnsQuery {
            name: Some("*.example.com".into()),
            limit: 25,
            with_clients: true,
            ..PdnsQuery::default()
        };
        let records = query(&conn, &request).unwrap();
        assert_eq!(records.len(), 25);
        let newest = (1_000 + (MERGE_WAYS as i64 - 1) * 10) - 1;
        assert_eq!(records[0].time_last, newest);
        assert!(records.iter().all(|r| r.clients == ["10.0.0.1"]));
        assert!(records.iter().all(|r| r.resolvers == ["192.0.2.53"]));
    }

    #[test]
    fn names_listed_by_seeks() {
        let conn = store(3, 4);
        let listed = |pattern: &str| matching_names(&conn, &NamePattern::parse(pattern)).unwrap();
        assert_eq!(
            listed("*.example.com"),
            Some(vec![
                "com.example.h0".into(),
                "com.example.h1".into(),
                "com.example.h2".into()
            ])
        );
        assert_eq!(
            listed("www.example.*"),
            Some(vec!["net.example.www".into()])
        );
        assert_eq!(listed("*.example.org"), Some(vec![]));
        assert_eq!(
            listed("h1.example.com"),
            Some(vec!["com.example.h1".into()])
        );
    }

    #[test]
    fn wide_wildcard_left_to_statement() {
        let conn = store(MERGE_WAYS + 1, 3);
        assert_eq!(
            matching_names(&conn, &NamePattern::parse("*.example.com")).unwrap(),
            None
        );
        let wide = PdnsQuery {
            name: Some("*.example.com".into()),
            limit: 100,
            ..PdnsQuery::default()
        };
        assert_same_as_statement(&conn, &wide);
    }

    #[test]
    fn name_reads_use_covering_indexes() {
        let conn = store(2, 2);
        let plan = |sql: &str, values: &[&dyn rusqlite::ToSql]| -> String {
            let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let steps = statement
                .query_map(values, |row| row.get::<_, String>(3))
                .unwrap();
            steps
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap()
                .join("\n")
        };

        let steps = plan(
            RECORDS_OF_NAME,
            &[
                &"com.example.h0",
                &0,
                &i64::MAX,
                &0,
                &i64::MAX,
                &0,
                &i64::MAX,
            ],
        );
        assert!(
            steps.contains("USING COVERING INDEX pdns_rr_by_name"),
            "{steps}"
        );
        assert!(!steps.contains("TEMP B-TREE"), "{steps}");

        let below = "SELECT rrname_rev FROM pdns_rr WHERE rrname_rev >= ?1 AND rrname_rev < ?2 ORDER BY rrname_rev LIMIT 1";
        let steps = plan(below, &[&"com.example.", &"com.example/"]);
        assert!(
            steps.contains("USING COVERING INDEX pdns_rr_by_name"),
            "{steps}"
        );
        let starting =
            "SELECT rrname FROM pdns_rr WHERE rrname >= ?1 AND rrname < ?2 ORDER BY rrname LIMIT 1";
        let steps = plan(starting, &[&"h0.", &"h0/"]);
        assert!(steps.contains("USING COVERING INDEX"), "{steps}");
        assert!(!steps.contains("TEMP B-TREE"), "{steps}");
    }
}
