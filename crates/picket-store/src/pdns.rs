//! Passive DNS: every answer seen, aggregated into (rrname, rrtype, rdata)
//! with first and last sighting, a count and the clients and resolvers that
//! saw it; failing lookups (NXDOMAIN, SERVFAIL, REFUSED ...) per name too.
//!
//! # Tables
//!
//! - `pdns_rr`: one row per (rrname, rrtype, rdata). `rrname_rev` holds the
//!   name with its labels reversed (`com.example.www`) so that a left wildcard
//!   (`*.example.com`) is an index range; `rdata_ip` holds A/AAAA data as 16
//!   bytes (IPv4 mapped into IPv6) so that a CIDR is an index range too.
//! - `pdns_rr_seen`: the set of clients (role 0) and resolvers (role 1) per row.
//! - `pdns_failures`: one row per (rrname, qtype, rcode) of failing lookups,
//!   with `pdns_failure_clients` for the clients that got them.
//! - `pdns_domains`: first and last sighting per registered domain, which
//!   `dns.new_domain` reads through [`PdnsHistory`].
//!
//! Times are nanoseconds since the Unix epoch. Output follows the CIRCL
//! Passive DNS Common Output Format (draft-dulaunoy-dnsop-passive-dns-cof),
//! with times in whole seconds.

use std::collections::HashMap;

use foldhash::HashMap as FoldMap;
use std::net::IpAddr;

use ipnet::IpNet;
use picket_detect::dns::DomainHistory;
use picket_detect::dns::name::split_name;
use picket_event::dns::ResponseCode;
use picket_event::{DnsEvent, RecordType, Timestamp};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::Serialize;

mod newest;

/// Creates the passive-DNS tables and indexes if they do not exist.
pub fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS pdns_rr (
             id          INTEGER PRIMARY KEY,
             rrname      TEXT NOT NULL,
             rrname_rev  TEXT NOT NULL,
             rrtype      INTEGER NOT NULL,
             rdata       TEXT NOT NULL,
             rdata_ip    BLOB,
             first_seen  INTEGER NOT NULL,
             last_seen   INTEGER NOT NULL,
             count       INTEGER NOT NULL,
             UNIQUE (rrname, rrtype, rdata)
         );
         CREATE INDEX IF NOT EXISTS pdns_rr_by_rdata ON pdns_rr (rdata) WHERE rdata_ip IS NULL;
         CREATE INDEX IF NOT EXISTS pdns_rr_by_ip ON pdns_rr (rdata_ip) WHERE rdata_ip IS NOT NULL;
         CREATE TABLE IF NOT EXISTS pdns_rr_seen (
             rr_id  INTEGER NOT NULL,
             role   INTEGER NOT NULL,
             addr   TEXT NOT NULL,
             PRIMARY KEY (rr_id, role, addr)
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS pdns_failures (
             rrname      TEXT NOT NULL,
             rrname_rev  TEXT NOT NULL,
             qtype       INTEGER NOT NULL,
             rcode       INTEGER NOT NULL,
             first_seen  INTEGER NOT NULL,
             last_seen   INTEGER NOT NULL,
             count       INTEGER NOT NULL,
             PRIMARY KEY (rrname, qtype, rcode)
         ) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS pdns_failures_by_rev ON pdns_failures (rrname_rev);
         CREATE TABLE IF NOT EXISTS pdns_failure_clients (
             rrname  TEXT NOT NULL,
             rcode   INTEGER NOT NULL,
             client  TEXT NOT NULL,
             PRIMARY KEY (rrname, rcode, client)
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS pdns_domains (
             registered  TEXT PRIMARY KEY,
             first_seen  INTEGER NOT NULL,
             last_seen   INTEGER NOT NULL
         ) WITHOUT ROWID;",
    )?;
    create_name_index(conn)
}

/// Creates `pdns_rr_by_name`, the index that name queries read instead of
/// the table, and drops the narrower `pdns_rr_by_rev` it replaces in stores
/// written before it.
///
/// The index contains every column a query returns, so that the records of one
/// name come from neighbouring index pages rather than one table page each.
/// The records of a name are inserted over months, so their table rows are
/// spread over the whole table. `last_seen` follows the name so that an exact name is
/// read newest first and a `LIMIT` stops the read early. The price is that
/// every update of a record's times or count rewrites its index entry.
/// Address queries keep a narrow index: covering them as well made updates
/// several times slower, because a batch written in name order reaches that
/// index in random order (measured in BENCHMARKS.md).
///
/// Building the index reads the whole table once: on a store written before
/// it, the first writer to open the store spends that time (minutes for
/// 100 million records).
fn create_name_index(conn: &Connection) -> rusqlite::Result<()> {
    let exists = |name: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
    };

    if !exists("pdns_rr_by_name")? {
        // Rows are never deleted, so the largest id is the row count.
        let records: i64 =
            conn.query_row("SELECT coalesce(max(id), 0) FROM pdns_rr", [], |r| r.get(0))?;
        if records > 0 {
            tracing::info!(
                records,
                "building the passive-DNS name index; this reads every record once"
            );
        }
        conn.execute_batch(
            "CREATE INDEX pdns_rr_by_name
                 ON pdns_rr (rrname_rev, last_seen, rrtype, rdata, first_seen, count)",
        )?;
    }
    if exists("pdns_rr_by_rev")? {
        conn.execute_batch("DROP INDEX pdns_rr_by_rev")?;
    }
    Ok(())
}

/// Reverses the labels of a name: `www.example.com` becomes
/// `com.example.www`.
pub fn reverse_name(name: &str) -> String {
    let mut labels: Vec<&str> = name.split('.').collect();
    labels.reverse();
    labels.join(".")
}

/// Encodes an address as 16 sortable bytes (IPv4 mapped into IPv6).
fn ip_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Tells whether [`ingest`] would record anything of an event: an answer, or
/// a failing response code. Callers filter on it before copying events into
/// a batch.
pub fn records_anything(event: &DnsEvent) -> bool {
    !event.answers.is_empty() || is_failure(event)
}

fn is_failure(event: &DnsEvent) -> bool {
    event
        .rcode
        .is_some_and(|code| code != ResponseCode::NOERROR)
}

/// Counts of one [`ingest`] call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Answer records aggregated.
    pub answers: u64,
    /// Failing lookups recorded.
    pub failures: u64,
    /// Events without answers or a failing code, skipped.
    pub skipped: u64,
}

/// Sightings of one key within a batch: times and the addresses that saw it.
#[derive(Default)]
struct Sighting {
    first: i64,
    last: i64,
    count: i64,
    clients: Vec<IpAddr>,
    resolvers: Vec<IpAddr>,
}

impl Sighting {
    fn add(&mut self, time: i64, client: Option<IpAddr>, resolver: Option<IpAddr>) {
        if self.count == 0 || time < self.first {
            self.first = time;
        }
        if self.count == 0 || time > self.last {
            self.last = time;
        }
        self.count += 1;
        if let Some(ip) = client
            && !self.clients.contains(&ip)
        {
            self.clients.push(ip);
        }
        if let Some(ip) = resolver
            && !self.resolvers.contains(&ip)
        {
            self.resolvers.push(ip);
        }
    }
}

/// Aggregates a batch of DNS events in one transaction: every answer record
/// into `pdns_rr` (with its client and resolver), every failing response code
/// into `pdns_failures`, every resolved registered domain into `pdns_domains`.
///
/// The batch is first summed in memory per key, so a record repeated within
/// the batch costs one row update. Takes a shared connection (as
/// [`Store::connection`](crate::Store::connection) gives) and opens the
/// transaction itself, so the caller must not be inside one.
pub fn ingest(conn: &Connection, events: &[DnsEvent]) -> rusqlite::Result<IngestCounts> {
    let mut counts = IngestCounts::default();
    // A batch holds up to 100,000 events from `picket analyze`, so the
    // keys are hashed with foldhash rather than the standard SipHash.
    let mut answers: FoldMap<(&str, u16, &str), Sighting> = FoldMap::default();
    let mut failing: FoldMap<(&str, u16, u16), Sighting> = FoldMap::default();
    let mut domains: FoldMap<&str, (i64, i64)> = FoldMap::default();

    for event in events {
        let time = event.timestamp.as_nanos();
        if is_failure(event) {
            let key = (
                event.query_name.as_str(),
                event.query_type.map_or(0, |t| t.0),
                event.rcode.map_or(0, |c| c.0),
            );
            failing
                .entry(key)
                .or_default()
                .add(time, event.client_ip, None);
            counts.failures += 1;
            continue;
        }
        if event.answers.is_empty() {
            counts.skipped += 1;
            continue;
        }
        for rr in &event.answers {
            let key = (rr.name.as_str(), rr.rtype.0, rr.data.as_str());
            answers
                .entry(key)
                .or_default()
                .add(time, event.client_ip, event.server_ip);
            counts.answers += 1;
        }
        if let Some(parts) = split_name(&event.query_name) {
            let span = domains.entry(parts.registered).or_insert((time, time));
            span.0 = span.0.min(time);
            span.1 = span.1.max(time);
        }
    }

    let tx = conn.unchecked_transaction()?;
    {
        // A lookup, then an update or an insert. An upsert with `RETURNING
        // id` would do this in one statement, but SQLite runs such a
        // statement under a statement journal, a copy of every page it
        // changes. Analysing 241,628 Zeek DNS lines into a store ran 20 %
        // fewer instructions this way (14.9 G against 18.6 G).
        let mut find_rr = tx.prepare_cached(
            "SELECT id FROM pdns_rr WHERE rrname = ?1 AND rrtype = ?2 AND rdata = ?3",
        )?;
        let mut update_rr = tx.prepare_cached(
            "UPDATE pdns_rr SET
                 first_seen = min(first_seen, ?2),
                 last_seen = max(last_seen, ?3),
                 count = count + ?4
             WHERE id = ?1",
        )?;
        let mut insert_rr = tx.prepare_cached(
            "INSERT INTO pdns_rr (rrname, rrname_rev, rrtype, rdata, rdata_ip, first_seen, last_seen, count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut seen = tx.prepare_cached(
            "INSERT OR IGNORE INTO pdns_rr_seen (rr_id, role, addr) VALUES (?1, ?2, ?3)",
        )?;
        // Written in key order, so that neighbouring writes land on the same
        // pages of the (rrname, rrtype, rdata) index instead of scattering.
        let mut answers: Vec<_> = answers.into_iter().collect();
        answers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for ((name, rtype, data), sighting) in &answers {
            let stored: Option<i64> = find_rr
                .query_row(params![name, rtype, data], |row| row.get(0))
                .optional()?;
            let id = match stored {
                Some(id) => {
                    update_rr.execute(params![
                        id,
                        sighting.first,
                        sighting.last,
                        sighting.count
                    ])?;
                    id
                }
                None => {
                    let is_address = matches!(RecordType(*rtype), RecordType::A | RecordType::AAAA);
                    let ip = is_address
                        .then(|| data.parse::<IpAddr>().ok())
                        .flatten()
                        .map(|ip| ip_key(ip).to_vec());
                    insert_rr.execute(params![
                        name,
                        reverse_name(name),
                        rtype,
                        data,
                        ip,
                        sighting.first,
                        sighting.last,
                        sighting.count
                    ])?;
                    tx.last_insert_rowid()
                }
            };
            for client in &sighting.clients {
                seen.execute(params![id, 0, client.to_string()])?;
            }
            for resolver in &sighting.resolvers {
                seen.execute(params![id, 1, resolver.to_string()])?;
            }
        }

        let mut upsert_failure = tx.prepare_cached(
            "INSERT INTO pdns_failures (rrname, rrname_rev, qtype, rcode, first_seen, last_seen, count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (rrname, qtype, rcode) DO UPDATE SET
                 first_seen = min(first_seen, excluded.first_seen),
                 last_seen = max(last_seen, excluded.last_seen),
                 count = count + excluded.count",
        )?;
        let mut failure_client =
            tx.prepare_cached("INSERT OR IGNORE INTO pdns_failure_clients (rrname, rcode, client) VALUES (?1, ?2, ?3)")?;
        let mut failing: Vec<_> = failing.into_iter().collect();
        failing.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for ((name, qtype, rcode), sighting) in &failing {
            upsert_failure.execute(params![
                name,
                reverse_name(name),
                qtype,
                rcode,
                sighting.first,
                sighting.last,
                sighting.count
            ])?;
            for client in &sighting.clients {
                failure_client.execute(params![name, rcode, client.to_string()])?;
            }
        }

        let mut upsert_domain = tx.prepare_cached(
            "INSERT INTO pdns_domains (registered, first_seen, last_seen) VALUES (?1, ?2, ?3)
             ON CONFLICT (registered) DO UPDATE SET
                 first_seen = min(first_seen, excluded.first_seen),
                 last_seen = max(last_seen, excluded.last_seen)",
        )?;
        let mut domains: Vec<_> = domains.into_iter().collect();
        domains.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (registered, (first, last)) in &domains {
            upsert_domain.execute(params![registered, first, last])?;
        }
    }
    tx.commit()?;
    Ok(counts)
}

/// A match on record data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RdataQuery {
    /// An exact address.
    Ip(IpAddr),
    /// Any address inside a network.
    Cidr(IpNet),
    /// A name or other data, exactly (lower case, no trailing dot).
    Text(String),
}

impl RdataQuery {
    /// Parses an address, a network, or else takes the text as a name.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if let Ok(ip) = text.parse::<IpAddr>() {
            RdataQuery::Ip(ip)
        } else if let Ok(net) = text.parse::<IpNet>() {
            RdataQuery::Cidr(net)
        } else {
            RdataQuery::Text(picket_event::dns::normalize_name(text))
        }
    }
}

/// A passive-DNS query; every set field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PdnsQuery {
    /// Owner name: exact, `*.example.com` (strictly below), or `www.example.*`
    /// (anything after the prefix).
    pub name: Option<String>,
    /// Record data.
    pub rdata: Option<RdataQuery>,
    /// Record type.
    pub rrtype: Option<RecordType>,
    /// First seen at or after.
    pub first_seen_after: Option<Timestamp>,
    /// First seen at or before.
    pub first_seen_before: Option<Timestamp>,
    /// Last seen at or after.
    pub last_seen_after: Option<Timestamp>,
    /// Last seen at or before.
    pub last_seen_before: Option<Timestamp>,
    /// Most records returned; 0 means 10,000.
    pub limit: usize,
    /// Also read the clients and resolvers of each returned record
    /// ([`PdnsRecord::clients`], [`PdnsRecord::resolvers`]). They are kept
    /// apart from the records, so this costs about one more page read per
    /// record on a store larger than memory.
    pub with_clients: bool,
}

/// One aggregated record, serializable as a COF line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PdnsRecord {
    /// Owner name.
    pub rrname: String,
    /// Record type mnemonic.
    pub rrtype: String,
    /// Record data in presentation form.
    pub rdata: String,
    /// First sighting, seconds since the epoch.
    pub time_first: i64,
    /// Last sighting, seconds since the epoch.
    pub time_last: i64,
    /// Sightings.
    pub count: i64,
    /// Clients that got this answer (a picket extension of COF), in address
    /// text order, at most [`MAX_ADDRESSES`]; empty unless the query asked
    /// for them ([`PdnsQuery::with_clients`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
    /// Resolvers that gave it (a picket extension of COF), like `clients`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<String>,
}

/// Maximum number of clients, and of resolvers, listed per record.
pub const MAX_ADDRESSES: usize = 1000;

/// One failing lookup aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureRecord {
    /// Query name.
    pub rrname: String,
    /// Query type mnemonic.
    pub rrtype: String,
    /// Response code mnemonic, such as `NXDOMAIN`.
    pub rcode: String,
    /// First sighting, seconds since the epoch.
    pub time_first: i64,
    /// Last sighting, seconds since the epoch.
    pub time_last: i64,
    /// Sightings.
    pub count: i64,
    /// Clients that got it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
}

/// A name pattern of [`PdnsQuery::name`], normalised.
enum NamePattern {
    /// One name, reversed (`com.example.www`).
    Exact(String),
    /// Names strictly below a domain: the reversed domain and a dot
    /// (`com.example.`).
    Below(String),
    /// Names that start with a prefix ending in a dot (`www.example.`).
    Starting(String),
}

impl NamePattern {
    fn parse(pattern: &str) -> Self {
        let pattern = picket_event::dns::normalize_name(pattern);
        if let Some(below) = pattern.strip_prefix("*.") {
            NamePattern::Below(format!("{}.", reverse_name(below)))
        } else if let Some(head) = pattern.strip_suffix(".*") {
            NamePattern::Starting(format!("{head}."))
        } else {
            NamePattern::Exact(reverse_name(&pattern))
        }
    }
}

/// Adds the SQL condition and parameters of a name pattern over a table's
/// `rrname` and `rrname_rev` columns.
fn name_condition(
    pattern: &str,
    conditions: &mut Vec<String>,
    values: &mut Vec<rusqlite::types::Value>,
) {
    match NamePattern::parse(pattern) {
        NamePattern::Below(prefix) => {
            conditions.push("rrname_rev >= ? AND rrname_rev < ?".into());
            let end = prefix_end(&prefix);
            values.push(prefix.into());
            values.push(end.into());
        }
        NamePattern::Starting(prefix) => {
            conditions.push("rrname >= ? AND rrname < ?".into());
            let end = prefix_end(&prefix);
            values.push(prefix.into());
            values.push(end.into());
        }
        NamePattern::Exact(reversed) => {
            // By the reversed name, because `pdns_rr_by_name` (which contains
            // every column a query returns) is keyed by it.
            conditions.push("rrname_rev = ?".into());
            values.push(reversed.into());
        }
    }
}

/// Returns the smallest string greater than every string starting with `prefix`
/// (its last byte is a dot, so adding one gives `/`).
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    if end.pop() == Some('.') {
        end.push('/');
    } else {
        end.push(char::MAX);
    }
    end
}

fn time_conditions(
    query: &PdnsQuery,
    conditions: &mut Vec<String>,
    values: &mut Vec<rusqlite::types::Value>,
) {
    let fences = [
        ("first_seen >= ?", query.first_seen_after),
        ("first_seen <= ?", query.first_seen_before),
        ("last_seen >= ?", query.last_seen_after),
        ("last_seen <= ?", query.last_seen_before),
    ];
    for (sql, value) in fences {
        if let Some(at) = value {
            conditions.push(sql.into());
            values.push(at.as_nanos().into());
        }
    }
}

/// Records a query returns at most: its limit, or 10,000 when it sets none.
fn query_limit(query: &PdnsQuery) -> usize {
    if query.limit == 0 {
        10_000
    } else {
        query.limit
    }
}

fn type_name(number: i64) -> String {
    u16::try_from(number).map_or_else(|_| number.to_string(), |n| RecordType(n).to_string())
}

/// Builds the statement of [`query`] and its parameters.
fn answer_statement(query: &PdnsQuery) -> (String, Vec<rusqlite::types::Value>) {
    let mut conditions = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(name) = &query.name {
        name_condition(name, &mut conditions, &mut values);
    }
    match &query.rdata {
        Some(RdataQuery::Ip(ip)) => {
            conditions.push("rdata_ip = ?".into());
            values.push(ip_key(*ip).to_vec().into());
        }
        Some(RdataQuery::Cidr(net)) => {
            let low = ip_key(net.network());
            let high = ip_key(net.broadcast());
            conditions.push("rdata_ip >= ? AND rdata_ip <= ?".into());
            values.push(low.to_vec().into());
            values.push(high.to_vec().into());
        }
        Some(RdataQuery::Text(text)) => {
            conditions.push("rdata = ? AND rdata_ip IS NULL".into());
            values.push(text.clone().into());
        }
        None => {}
    }
    if let Some(rrtype) = query.rrtype {
        conditions.push("rrtype = ?".into());
        values.push(i64::from(rrtype.0).into());
    }
    time_conditions(query, &mut conditions, &mut values);
    let limit = query_limit(query);

    // The name is read reversed, as `pdns_rr_by_name` contains it, so that a
    // name query reads that index alone.
    let sql = format!(
        "SELECT id, rrname_rev, rrtype, rdata, first_seen, last_seen, count FROM pdns_rr {} ORDER BY last_seen DESC LIMIT {limit}",
        where_clause(&conditions)
    );
    (sql, values)
}

/// Runs a query over the aggregated answers, newest last sighting first.
///
/// With a limit, the records returned are the newest by last sighting. When
/// several records were seen last at the same time, which of them fill the
/// last places is unspecified.
pub fn query(conn: &Connection, query: &PdnsQuery) -> rusqlite::Result<Vec<PdnsRecord>> {
    // Outside a transaction, every statement takes the file's read lock and
    // checks for changes on its own, and a name query runs one statement per
    // name. Inside one transaction, they also read the same snapshot.
    let _snapshot = if conn.is_autocommit() {
        Some(conn.unchecked_transaction()?)
    } else {
        None
    };

    let names = match (&query.name, &query.rdata) {
        (Some(pattern), None) => newest::matching_names(conn, &NamePattern::parse(pattern))?,
        _ => None,
    };
    let (ids, mut records) = match names {
        Some(names) => newest_by_name(conn, &names, query)?,
        None => by_statement(conn, query)?,
    };

    if query.with_clients {
        add_addresses(conn, &ids, &mut records)?;
    }
    Ok(records)
}

/// Runs a name query by merging the newest records of each matching name
/// (reversed in `names`), and returns the row ids and the records.
fn newest_by_name(
    conn: &Connection,
    names: &[String],
    query: &PdnsQuery,
) -> rusqlite::Result<(Vec<i64>, Vec<PdnsRecord>)> {
    let found = newest::newest_records(conn, names, query, query_limit(query))?;

    let mut forward: Vec<Option<String>> = vec![None; names.len()];
    let mut types = TypeNames::default();
    let mut ids = Vec::with_capacity(found.len());
    let mut records = Vec::with_capacity(found.len());
    for record in found {
        let rrname = forward[record.name].get_or_insert_with(|| reverse_name(&names[record.name]));
        ids.push(record.id);
        records.push(PdnsRecord {
            rrname: rrname.clone(),
            rrtype: types.name(record.rrtype),
            rdata: record.rdata,
            time_first: Timestamp::from_nanos(record.first_seen).as_secs(),
            time_last: Timestamp::from_nanos(record.last_seen).as_secs(),
            count: record.count,
            clients: Vec::new(),
            resolvers: Vec::new(),
        });
    }
    Ok((ids, records))
}

/// Runs a query as one SQL statement that SQLite sorts. Queries by record
/// data take this path, and so do wildcards over more names than a merge
/// takes.
fn by_statement(
    conn: &Connection,
    query: &PdnsQuery,
) -> rusqlite::Result<(Vec<i64>, Vec<PdnsRecord>)> {
    let (sql, values) = answer_statement(query);
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(params_from_iter(values))?;

    // Records of one name often follow each other, so the last name is
    // reversed once for all of them.
    let mut last_name = (String::new(), String::new());
    let mut types = TypeNames::default();
    let mut ids = Vec::new();
    let mut records = Vec::new();
    while let Some(row) = rows.next()? {
        let reversed = row.get_ref(1)?.as_str()?;
        if last_name.0 != reversed || records.is_empty() {
            last_name = (reversed.to_owned(), reverse_name(reversed));
        }
        ids.push(row.get(0)?);
        records.push(PdnsRecord {
            rrname: last_name.1.clone(),
            rrtype: types.name(row.get(2)?),
            rdata: row.get(3)?,
            time_first: Timestamp::from_nanos(row.get(4)?).as_secs(),
            time_last: Timestamp::from_nanos(row.get(5)?).as_secs(),
            count: row.get(6)?,
            clients: Vec::new(),
            resolvers: Vec::new(),
        });
    }
    Ok((ids, records))
}

/// Record type mnemonics already made during one query, so that each type is
/// formatted once.
#[derive(Default)]
struct TypeNames(Vec<(i64, String)>);

impl TypeNames {
    fn name(&mut self, number: i64) -> String {
        if let Some((_, name)) = self.0.iter().find(|(known, _)| *known == number) {
            return name.clone();
        }
        let name = type_name(number);
        self.0.push((number, name.clone()));
        name
    }
}

/// Fills the clients and resolvers of `records`, whose row ids are `ids`
/// (in the same order), with one statement for all of them.
///
/// The ids are looked up in ascending order, so records written in the same
/// batch, whose ids are close, share the pages of `pdns_rr_seen`.
fn add_addresses(
    conn: &Connection,
    ids: &[i64],
    records: &mut [PdnsRecord],
) -> rusqlite::Result<()> {
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(at, id)| (*id, at)).collect();
    // The ids travel as one JSON array, which SQLite's built-in `json_each`
    // reads as a table.
    let id_list = format!(
        "[{}]",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    );

    let mut statement = conn.prepare_cached(
        "SELECT rr_id, role, addr FROM pdns_rr_seen
         WHERE rr_id IN (SELECT value FROM json_each(?1))
         ORDER BY rr_id, role, addr",
    )?;
    let mut rows = statement.query(params![id_list])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let role: i64 = row.get(1)?;
        let Some(record) = position.get(&id).map(|at| &mut records[*at]) else {
            continue;
        };
        let list = if role == 0 {
            &mut record.clients
        } else {
            &mut record.resolvers
        };
        if list.len() < MAX_ADDRESSES {
            list.push(row.get(2)?);
        }
    }
    Ok(())
}

/// Failing lookups whose name matches `pattern` (same wildcards as
/// [`PdnsQuery::name`]), time-fenced like [`query`].
pub fn failures(
    conn: &Connection,
    pattern: &str,
    fences: &PdnsQuery,
) -> rusqlite::Result<Vec<FailureRecord>> {
    let mut conditions = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    name_condition(pattern, &mut conditions, &mut values);
    time_conditions(fences, &mut conditions, &mut values);
    let limit = if fences.limit == 0 {
        10_000
    } else {
        fences.limit
    };
    let sql = format!(
        "SELECT rrname, qtype, rcode, first_seen, last_seen, count FROM pdns_failures {} ORDER BY last_seen DESC LIMIT {limit}",
        where_clause(&conditions)
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(values), |row| {
        Ok(FailureRecord {
            rrname: row.get(0)?,
            rrtype: type_name(row.get(1)?),
            rcode: u16::try_from(row.get::<_, i64>(2)?)
                .map_or_else(|_| "?".into(), |c| ResponseCode(c).to_string()),
            time_first: Timestamp::from_nanos(row.get(3)?).as_secs(),
            time_last: Timestamp::from_nanos(row.get(4)?).as_secs(),
            count: row.get(5)?,
            clients: Vec::new(),
        })
    })?;
    let mut out = Vec::new();
    let mut clients = conn.prepare_cached(
        "SELECT client FROM pdns_failure_clients WHERE rrname = ?1 AND rcode = ?2 ORDER BY client LIMIT 1000",
    )?;
    for row in rows {
        let mut record = row?;
        let rcode = ResponseCode::from_name(&record.rcode).map_or(0, |c| c.0);
        for client in clients.query_map(params![record.rrname, rcode], |r| r.get::<_, String>(0))? {
            record.clients.push(client?);
        }
        out.push(record);
    }
    Ok(out)
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// The organisation's resolution history for `dns.new_domain`, read from the
/// `pdns_domains` table through its own connection.
pub struct PdnsHistory {
    conn: Connection,
    since: Option<Timestamp>,
}

impl PdnsHistory {
    /// Wraps a connection (a read-only one beside the writer is typical).
    pub fn new(conn: Connection) -> rusqlite::Result<Self> {
        create_schema(&conn).or_else(|e| match e {
            // A read-only connection cannot create tables; the writer did.
            rusqlite::Error::SqliteFailure(..) => Ok(()),
            other => Err(other),
        })?;
        let since = conn
            .query_row("SELECT min(first_seen) FROM pdns_domains", [], |row| {
                row.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten()
            .map(Timestamp::from_nanos);
        Ok(PdnsHistory { conn, since })
    }
}

impl DomainHistory for PdnsHistory {
    fn first_seen(&self, registered_domain: &str) -> Option<Timestamp> {
        let result = self
            .conn
            .prepare_cached("SELECT first_seen FROM pdns_domains WHERE registered = ?1")
            .and_then(|mut s| {
                s.query_row(params![registered_domain], |row| row.get::<_, i64>(0))
                    .optional()
            });
        match result {
            Ok(found) => found.map(Timestamp::from_nanos),
            Err(error) => {
                tracing::warn!(%error, "passive DNS history lookup failed");
                None
            }
        }
    }

    fn recorded_since(&self) -> Option<Timestamp> {
        self.since
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_event::ResourceRecord;

    fn event(
        secs: i64,
        client: &str,
        name: &str,
        rcode: ResponseCode,
        answers: &[(RecordType, &str)],
    ) -> DnsEvent {
        DnsEvent {
            timestamp: Timestamp::from_nanos(secs * 1_000_000_000),
            client_ip: Some(client.parse().unwrap()),
            server_ip: Some("192.0.2.53".parse().unwrap()),
            query_name: name.into(),
            query_type: Some(RecordType::A),
            rcode: Some(rcode),
            answers: answers
                .iter()
                .map(|(t, d)| ResourceRecord {
                    name: name.into(),
                    rtype: *t,
                    class: 1,
                    ttl: 60,
                    data: (*d).into(),
                })
                .collect(),
            ..DnsEvent::default()
        }
    }

    fn store() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        create_schema(&conn).unwrap();
        let events = vec![
            event(
                100,
                "10.0.0.1",
                "www.example.com",
                ResponseCode::NOERROR,
                &[(RecordType::A, "198.51.100.7")],
            ),
            event(
                200,
                "10.0.0.2",
                "www.example.com",
                ResponseCode::NOERROR,
                &[(RecordType::A, "198.51.100.7")],
            ),
            event(
                150,
                "10.0.0.2",
                "mail.example.com",
                ResponseCode::NOERROR,
                &[
                    (RecordType::CNAME, "mx.example.net"),
                    (RecordType::A, "203.0.113.9"),
                ],
            ),
            event(
                300,
                "10.0.0.3",
                "www.example.org",
                ResponseCode::NOERROR,
                &[(RecordType::AAAA, "2001:db8::1")],
            ),
            event(400, "10.0.0.9", "qxkzjv.com", ResponseCode::NXDOMAIN, &[]),
            event(410, "10.0.0.9", "qxkzjv.com", ResponseCode::NXDOMAIN, &[]),
        ];
        let counts = ingest(&conn, &events).unwrap();
        assert_eq!(
            counts,
            IngestCounts {
                answers: 5,
                failures: 2,
                skipped: 0
            }
        );
        conn
    }

    #[test]
    fn aggregates_and_queries_by_name() {
        let conn = store();
        let exact = query(
            &conn,
            &PdnsQuery {
                name: Some("www.example.com".into()),
                with_clients: true,
                ..PdnsQuery::default()
            },
        )
        .unwrap();
        assert_eq!(exact.len(), 1);
        assert_eq!(exact[0].count, 2);
        assert_eq!((exact[0].time_first, exact[0].time_last), (100, 200));
        assert_eq!(exact[0].clients, vec!["10.0.0.1", "10.0.0.2"]);
        assert_eq!(exact[0].resolvers, vec!["192.0.2.53"]);

        let left = query(
            &conn,
            &PdnsQuery {
                name: Some("*.example.com".into()),
                ..PdnsQuery::default()
            },
        )
        .unwrap();
        assert_eq!(left.len(), 3);
        let right = query(
            &conn,
            &PdnsQuery {
                name: Some("www.example.*".into()),
                ..PdnsQuery::default()
            },
        )
        .unwrap();
        assert_eq!(right.len(), 2);
    }

    #[test]
    fn queries_by_rdata_and_time() {
        let conn = store();
        let by_ip = query(
            &conn,
            &PdnsQuery {
                rdata: Some(RdataQuery::parse("198.51.100.7")),
                ..PdnsQuery::default()
            },
        )
        .unwrap();
        assert_eq!(by_ip.len(), 1);
        let by_net = query(
            &conn,
            &PdnsQuery {
                rdata: Some(RdataQuery::parse("203.0.113.0/24")),
                ..PdnsQuery::default()
            },
        )
        .unwrap();
        assert_eq!(by_net[0].rrname, "mail.example.com");
        let by_v6 = query(
            &conn,
            &PdnsQuery {
                rdata: Some(RdataQuery::parse("2001:db8::/32")),
                ..PdnsQuery::default()
            },
        )
        .unwrap();
        assert_eq!(by_v6.len(), 1);
        let by_name = query(
            &conn,
            &PdnsQuery {
                rdata: Some(RdataQuery::parse("MX.example.net.")),
                ..PdnsQuery::default()
            },
        )
        .unwrap();
        assert_eq!(by_name[0].rrtype, "CNAME");

        let fenced = PdnsQuery {
            name: Some("*.example.com".into()),
            first_seen_after: Some(Timestamp::from_nanos(120 * 1_000_000_000)),
            ..PdnsQuery::default()
        };
        assert_eq!(query(&conn, &fenced).unwrap().len(), 2);
    }

    #[test]
    fn records_failures_per_name() {
        let conn = store();
        let nx = failures(&conn, "qxkzjv.com", &PdnsQuery::default()).unwrap();
        assert_eq!(nx.len(), 1);
        assert_eq!(nx[0].rcode, "NXDOMAIN");
        assert_eq!(nx[0].count, 2);
        assert_eq!(nx[0].clients, vec!["10.0.0.9"]);
    }

    #[test]
    fn history_answers_first_seen_per_registered_domain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pdns.db");
        let conn = Connection::open(&path).unwrap();
        create_schema(&conn).unwrap();
        ingest(
            &conn,
            &[event(
                100,
                "10.0.0.1",
                "www.example.com",
                ResponseCode::NOERROR,
                &[(RecordType::A, "198.51.100.7")],
            )],
        )
        .unwrap();
        let history = PdnsHistory::new(Connection::open(&path).unwrap()).unwrap();
        assert_eq!(
            history.first_seen("example.com"),
            Some(Timestamp::from_nanos(100 * 1_000_000_000))
        );
        assert_eq!(history.first_seen("example.org"), None);
        assert_eq!(
            history.recorded_since(),
            Some(Timestamp::from_nanos(100 * 1_000_000_000))
        );
    }

    #[test]
    fn clients_only_when_asked() {
        let conn = store();
        let plain = query(
            &conn,
            &PdnsQuery {
                name: Some("www.example.com".into()),
                ..PdnsQuery::default()
            },
        )
        .unwrap();
        assert!(plain[0].clients.is_empty());
        assert!(plain[0].resolvers.is_empty());
        let json = serde_json::to_value(&plain[0]).unwrap();
        assert!(json.get("clients").is_none());
        assert!(json.get("resolvers").is_none());
    }

    /// Three batches of 40 names, each batch giving every name a new address
    /// seen by two clients of its own, so that the records of one name have
    /// ids far apart and every record has different clients.
    fn interleaved_store() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        for round in 0..3 {
            let mut events = Vec::new();
            for n in 0..40 {
                for host in 1..=2 {
                    let address = format!("198.51.{round}.{n}");
                    let client = format!("10.{round}.{n}.{host}");
                    let mut sighting = event(
                        round * 100 + n,
                        &client,
                        &format!("h{n}.example.com"),
                        ResponseCode::NOERROR,
                        &[(RecordType::A, &address)],
                    );
                    sighting.server_ip = Some(format!("192.0.2.{}", n % 2 + 1).parse().unwrap());
                    events.push(sighting);
                }
            }
            ingest(&conn, &events).unwrap();
        }
        conn
    }

    #[test]
    fn batched_addresses_belong_to_their_record() {
        let conn = interleaved_store();
        let wildcard = PdnsQuery {
            name: Some("*.example.com".into()),
            with_clients: true,
            ..PdnsQuery::default()
        };
        let limited = PdnsQuery {
            limit: 7,
            ..wildcard.clone()
        };

        for (records, expected_len) in [
            (query(&conn, &wildcard).unwrap(), 120),
            (query(&conn, &limited).unwrap(), 7),
        ] {
            assert_eq!(records.len(), expected_len);
            for record in &records {
                // The address 198.51.ROUND.N was seen by 10.ROUND.N.1 and .2.
                let octets: Vec<&str> = record.rdata.split('.').collect();
                let (round, n) = (octets[2], octets[3]);
                assert_eq!(record.rrname, format!("h{n}.example.com"));
                assert_eq!(
                    record.clients,
                    vec![format!("10.{round}.{n}.1"), format!("10.{round}.{n}.2")],
                    "{}",
                    record.rdata
                );
                let resolver = format!("192.0.2.{}", n.parse::<u32>().unwrap() % 2 + 1);
                assert_eq!(record.resolvers, vec![resolver], "{}", record.rdata);
            }
        }
    }

    #[test]
    fn addresses_capped_per_record() {
        let conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        let events: Vec<DnsEvent> = (0..=MAX_ADDRESSES)
            .map(|n| {
                let client = format!("10.0.{}.{}", n / 256, n % 256);
                event(
                    100,
                    &client,
                    "www.example.com",
                    ResponseCode::NOERROR,
                    &[(RecordType::A, "198.51.100.7")],
                )
            })
            .collect();
        ingest(&conn, &events).unwrap();

        let records = query(
            &conn,
            &PdnsQuery {
                name: Some("www.example.com".into()),
                with_clients: true,
                ..PdnsQuery::default()
            },
        )
        .unwrap();
        assert_eq!(records[0].count, MAX_ADDRESSES as i64 + 1);
        assert_eq!(records[0].clients.len(), MAX_ADDRESSES);
        assert_eq!(records[0].resolvers, vec!["192.0.2.53"]);
    }

    /// Returns the query plan of [`query`], one line per step.
    fn plan(conn: &Connection, query: &PdnsQuery) -> String {
        let (sql, values) = answer_statement(query);
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let steps = statement
            .query_map(params_from_iter(values), |row| row.get::<_, String>(3))
            .unwrap();
        steps
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
            .join("\n")
    }

    #[test]
    fn name_queries_read_only_the_name_index() {
        let conn = store();
        let by_name = |pattern: &str| PdnsQuery {
            name: Some(pattern.into()),
            ..PdnsQuery::default()
        };
        for pattern in ["www.example.com", "*.example.com"] {
            let steps = plan(&conn, &by_name(pattern));
            assert!(
                steps.contains("USING COVERING INDEX pdns_rr_by_name"),
                "{pattern}: {steps}"
            );
        }

        // An exact name is read newest first, without a sort.
        let steps = plan(&conn, &by_name("www.example.com"));
        assert!(!steps.contains("TEMP B-TREE"), "{steps}");
    }

    #[test]
    fn store_upgrade_replaces_the_old_name_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        let index_names = |conn: &Connection| -> Vec<String> {
            let mut statement =
                conn.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'pdns_rr' ORDER BY name").unwrap();
            statement
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let exact = PdnsQuery {
            name: Some("www.example.com".into()),
            with_clients: true,
            ..PdnsQuery::default()
        };
        let wildcard = PdnsQuery {
            name: Some("*.example.com".into()),
            ..PdnsQuery::default()
        };
        let network = PdnsQuery {
            rdata: Some(RdataQuery::parse("203.0.113.0/24")),
            ..PdnsQuery::default()
        };
        let run = |conn: &Connection| {
            [
                query(conn, &exact).unwrap(),
                query(conn, &wildcard).unwrap(),
                query(conn, &network).unwrap(),
            ]
        };

        // A store in the layout of builds before `pdns_rr_by_name`.
        {
            let store = crate::Store::open(&path).unwrap();
            let conn = store.connection();
            conn.execute_batch(
                "DROP INDEX pdns_rr_by_name;
                 CREATE INDEX pdns_rr_by_rev ON pdns_rr (rrname_rev);",
            )
            .unwrap();
            ingest(
                conn,
                &[
                    event(
                        100,
                        "10.0.0.1",
                        "www.example.com",
                        ResponseCode::NOERROR,
                        &[(RecordType::A, "198.51.100.7")],
                    ),
                    event(
                        200,
                        "10.0.0.2",
                        "mail.example.com",
                        ResponseCode::NOERROR,
                        &[(RecordType::A, "203.0.113.9")],
                    ),
                ],
            )
            .unwrap();
        }

        // A reader cannot upgrade, but still queries the old layout.
        let reader = crate::Store::open_read_only(&path).unwrap();
        assert!(index_names(reader.connection()).contains(&"pdns_rr_by_rev".to_owned()));
        let before = run(reader.connection());
        assert_eq!(before[0][0].clients, vec!["10.0.0.1"]);
        assert_eq!(before[1].len(), 2);
        assert_eq!(before[2][0].rrname, "mail.example.com");
        drop(reader);

        let store = crate::Store::open(&path).unwrap();
        let indexes = index_names(store.connection());
        assert!(
            indexes.contains(&"pdns_rr_by_name".to_owned()),
            "{indexes:?}"
        );
        assert!(
            !indexes.contains(&"pdns_rr_by_rev".to_owned()),
            "{indexes:?}"
        );
        assert!(indexes.contains(&"pdns_rr_by_ip".to_owned()), "{indexes:?}");
        assert_eq!(run(store.connection()), before);
    }

    #[test]
    fn cof_lines() {
        let conn = store();
        let record = &query(
            &conn,
            &PdnsQuery {
                name: Some("www.example.org".into()),
                ..PdnsQuery::default()
            },
        )
        .unwrap()[0];
        let json = serde_json::to_value(record).unwrap();
        assert_eq!(json["rrtype"], "AAAA");
        assert_eq!(json["time_first"], 300);
        assert_eq!(json["rdata"], "2001:db8::1");
    }
}
