//! Indicators in the store: one row per value, one row per source's
//! report of it (a sighting), feed state for conditional downloads and
//! grace periods, allow rules and warninglists, and the hits the matcher
//! saw in traffic.
//!
//! Every function works on a `rusqlite::Connection` (a `Transaction`
//! dereferences to one), so the store's writer and the CLI share them.
//! Times are nanoseconds since the Unix epoch. IP ranges carry their
//! first and last address as 16-byte big-endian blobs (IPv4 mapped into
//! `::ffff:0:0/96`) so that the ranges containing an address are found
//! with an indexed lookup. Containing networks are found by exact value,
//! one lookup per prefix length stored. (Stores written by earlier builds
//! also hold the bounds of addresses and networks; nothing reads them.)
//!
//! Tables: `intel_indicators`, `intel_sightings`, `intel_feeds`,
//! `intel_allow`, `intel_warninglists`, `intel_hits`.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use picket_event::{IntelSource, Severity, Timestamp};
use picket_intel::normalize::{UrlHost, ip_bounds, ip_to_u128, parent_domains, parse_net};
use picket_intel::{
    AllowReason, Indicator, IndicatorKind, Lifetimes, Observable, Sighting, Tlp, Whitelist,
};
use rusqlite::{Connection, OptionalExtension, params};

/// Creates the intelligence tables and indexes when they are missing.
pub fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS intel_indicators (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            include_subdomains INTEGER NOT NULL DEFAULT 0,
            match_substring INTEGER NOT NULL DEFAULT 0,
            prefix_len INTEGER,
            ip_lo BLOB,
            ip_hi BLOB,
            first_seen INTEGER,
            last_seen INTEGER,
            expires_at INTEGER NOT NULL,
            UNIQUE (kind, value)
        );
        CREATE INDEX IF NOT EXISTS intel_indicators_range
            ON intel_indicators (ip_lo) WHERE kind = 'ip_range';
        CREATE INDEX IF NOT EXISTS intel_indicators_prefix
            ON intel_indicators (prefix_len) WHERE prefix_len IS NOT NULL;
        CREATE TABLE IF NOT EXISTS intel_sightings (
            indicator_id INTEGER NOT NULL REFERENCES intel_indicators (id),
            provider TEXT NOT NULL,
            feed TEXT NOT NULL,
            confidence INTEGER NOT NULL,
            severity TEXT,
            tlp TEXT,
            tags TEXT NOT NULL DEFAULT '',
            assessment TEXT,
            description TEXT,
            reference TEXT,
            first_seen INTEGER,
            last_seen INTEGER,
            reported_at INTEGER,
            valid_until INTEGER,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (indicator_id, provider, feed)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS intel_sightings_feed ON intel_sightings (provider, feed);
        CREATE TABLE IF NOT EXISTS intel_feeds (
            provider TEXT NOT NULL,
            feed TEXT NOT NULL,
            remote TEXT NOT NULL DEFAULT '',
            etag TEXT,
            last_modified TEXT,
            last_attempt INTEGER,
            last_success INTEGER,
            last_error TEXT,
            grace_until INTEGER,
            PRIMARY KEY (provider, feed)
        );
        CREATE TABLE IF NOT EXISTS intel_allow (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            include_subdomains INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL,
            note TEXT,
            PRIMARY KEY (kind, value)
        );
        CREATE TABLE IF NOT EXISTS intel_warninglists (
            name TEXT PRIMARY KEY,
            body TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS intel_hits (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            hits INTEGER NOT NULL,
            first_hit INTEGER NOT NULL,
            last_hit INTEGER NOT NULL,
            PRIMARY KEY (kind, value)
        ) WITHOUT ROWID;",
    )
}

/// What an upsert did to one feed's reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    /// Values this source had not reported before.
    pub new: u64,
    /// Values it reported before with different details (tags,
    /// confidence, TLP, description, assessment, validity).
    pub updated: u64,
    /// Values it reported before with the same details. Only their times
    /// were refreshed.
    pub unchanged: u64,
}

fn severity_text(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

fn severity_from(text: &str) -> Option<Severity> {
    Some(match text {
        "info" => Severity::Info,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => return None,
    })
}

/// Tags are stored joined by newlines (no tag holds one).
fn join_tags(tags: &[String]) -> String {
    let mut out = String::new();
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&tag.replace('\n', " "));
    }
    out
}

fn split_tags(text: &str) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split('\n').map(str::to_owned).collect()
    }
}

fn be(n: u128) -> [u8; 16] {
    n.to_be_bytes()
}

fn ts(n: Option<i64>) -> Option<Timestamp> {
    n.map(Timestamp::from_nanos)
}

/// Rows per multi-row `INSERT` of new indicators and sightings: the cost of
/// running a statement is paid once for this many rows. 64 rows of 15
/// columns stay far below SQLite's limit of 32,766 parameters.
const BULK_ROWS: usize = 64;

/// Columns of `intel_indicators` written for a new indicator.
const INDICATOR_INSERT: &str = "intel_indicators
    (id, kind, value, include_subdomains, match_substring, prefix_len, ip_lo, ip_hi, first_seen, last_seen, expires_at)";
const INDICATOR_COLUMNS_WRITTEN: usize = 11;

/// Columns of `intel_sightings` written for a new sighting.
const SIGHTING_INSERT: &str = "intel_sightings
    (indicator_id, provider, feed, confidence, severity, tlp, tags, assessment, description, reference,
     first_seen, last_seen, reported_at, valid_until, expires_at)";
const SIGHTING_COLUMNS_WRITTEN: usize = 15;

/// `INSERT INTO {target} VALUES (?, ...), ...` for `rows` rows of `columns`.
fn multi_row_insert(target: &str, columns: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(","));
    format!("INSERT INTO {target} VALUES {}", vec![row; rows].join(","))
}

/// Returns the tags column text, without copying a single tag.
fn tags_text(tags: &[String]) -> std::borrow::Cow<'_, str> {
    match tags {
        [] => std::borrow::Cow::Borrowed(""),
        [one] if !one.contains('\n') => std::borrow::Cow::Borrowed(one.as_str()),
        many => std::borrow::Cow::Owned(join_tags(many)),
    }
}

/// The columns of an indicator row derived from its value and sightings.
struct IndicatorFacts {
    prefix: Option<i64>,
    bounds: Option<([u8; 16], [u8; 16])>,
    first: Option<i64>,
    last: Option<i64>,
    expires: i64,
}

impl IndicatorFacts {
    fn of(indicator: &Indicator, lifetimes: &Lifetimes, now: Timestamp) -> Self {
        // Only ranges are looked up by their bounds. Addresses and networks
        // are found by exact value, networks through their prefix length.
        let (prefix, bounds) = match indicator.kind {
            IndicatorKind::Cidr => (
                parse_net(&indicator.value).map(|net| i64::from(net.prefix_len())),
                None,
            ),
            IndicatorKind::IpRange => (None, ip_bounds(IndicatorKind::IpRange, &indicator.value)),
            _ => (None, None),
        };
        IndicatorFacts {
            prefix,
            bounds: bounds.map(|(lo, hi)| (be(lo), be(hi))),
            first: indicator
                .sightings
                .iter()
                .filter_map(|s| s.first_seen.or(s.seen()))
                .min()
                .map(Timestamp::as_nanos),
            last: indicator
                .sightings
                .iter()
                .filter_map(Sighting::seen)
                .max()
                .map(Timestamp::as_nanos),
            expires: indicator
                .sightings
                .iter()
                .map(|s| lifetimes.expires_at(indicator.kind, s, now).as_nanos())
                .max()
                .unwrap_or_else(|| now.as_nanos()),
        }
    }
}

/// Stores indicators with their sightings. A value already stored gains
/// or refreshes the sightings of these sources. `now` stands in for
/// sightings without any time. Run inside a transaction for speed.
///
/// This is [`Import`] with a single chunk.
pub fn upsert(
    conn: &Connection,
    indicators: &[Indicator],
    lifetimes: &Lifetimes,
    now: Timestamp,
) -> rusqlite::Result<UpsertCounts> {
    let mut import = Import::begin(conn, lifetimes, now)?;
    import.add(indicators)?;
    import.finish()
}

/// One import into the store, fed in chunks as a feed is parsed (see
/// `picket_intel::load_file_chunked`). Run it inside one transaction.
///
/// Values the store does not hold yet take the bulk path: ids are handed
/// out in `(kind, value)` order within each chunk and rows go in with
/// multi-row `INSERT`s, so every B-tree is filled in key order. Values
/// already stored (and repeats) are merged one by one.
///
/// Counts: a sighting this import creates is new, however often the
/// input repeats it. A sighting that existed before is compared once, at
/// [`Import::finish`], with what it was before the import: updated when its
/// details differ, unchanged otherwise (only its times were refreshed).
/// Those earlier details are kept in a temporary table meanwhile.
pub struct Import<'c> {
    conn: &'c Connection,
    lifetimes: Lifetimes,
    now: Timestamp,
    /// Indicators with this id or above were created by this import.
    first_new_id: i64,
    next_id: i64,
    new: u64,
}

impl<'c> Import<'c> {
    /// Starts an import at `now` with these per-kind lifetimes.
    pub fn begin(
        conn: &'c Connection,
        lifetimes: &Lifetimes,
        now: Timestamp,
    ) -> rusqlite::Result<Self> {
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS intel_import_before (
                indicator_id INTEGER NOT NULL,
                provider TEXT NOT NULL,
                feed TEXT NOT NULL,
                created INTEGER NOT NULL,
                confidence INTEGER, severity TEXT, tlp TEXT, tags TEXT, assessment TEXT,
                description TEXT, reference TEXT, valid_until INTEGER,
                PRIMARY KEY (indicator_id, provider, feed)
            ) WITHOUT ROWID;
            DELETE FROM temp.intel_import_before;",
        )?;
        let next_id: i64 = conn.query_row(
            "SELECT coalesce(max(id), 0) + 1 FROM intel_indicators",
            [],
            |r| r.get(0),
        )?;
        Ok(Import {
            conn,
            lifetimes: lifetimes.clone(),
            now,
            first_new_id: next_id,
            next_id,
            new: 0,
        })
    }

    /// Stores one chunk of indicators.
    pub fn add(&mut self, indicators: &[Indicator]) -> rusqlite::Result<()> {
        let conn = self.conn;

        // In the order of the (kind, value) index, so that the B-tree inserts
        // land on neighbouring pages: several times faster for large feeds.
        let mut ordered: Vec<&Indicator> = indicators.iter().collect();
        ordered
            .sort_unstable_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));

        let ids_left = i64::MAX.saturating_sub(self.next_id);
        let mut fresh: Vec<(i64, &Indicator)> = Vec::with_capacity(ordered.len());
        let mut known: Vec<&Indicator> = Vec::new();
        let mut previous: Option<(IndicatorKind, &str)> = None;
        for indicator in ordered {
            let key = (indicator.kind, indicator.value.as_str());
            let repeat = previous == Some(key);
            previous = Some(key);
            if repeat || ids_left < indicators.len() as i64 || has_repeated_source(indicator) {
                known.push(indicator);
            } else {
                fresh.push((self.next_id, indicator));
                self.next_id += 1;
            }
        }

        // Values already stored are left out by the bulk insert and merged.
        let (created, stored) = insert_fresh(conn, &fresh, &self.lifetimes, self.now)?;
        self.new += created;
        known.extend(stored);
        known
            .sort_unstable_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
        for indicator in known {
            self.new += merge_one(
                conn,
                indicator,
                &self.lifetimes,
                self.now,
                self.first_new_id,
            )?;
        }
        // Ids handed out stay above every stored id, also after the merge
        // path created rows of its own.
        let top: i64 = conn.query_row(
            "SELECT coalesce(max(id), 0) + 1 FROM intel_indicators",
            [],
            |r| r.get(0),
        )?;
        self.next_id = self.next_id.max(top);
        Ok(())
    }

    /// Folds late repeats of values stored earlier in this import (see
    /// `picket_intel::Chunk::Repeats`): each sighting is merged into the
    /// stored one of the same source as `Sighting::merge` does. A value or
    /// source not stored yet is added as by [`Import::add`].
    pub fn fold_repeats(&mut self, repeats: &[Indicator]) -> rusqlite::Result<()> {
        let conn = self.conn;
        let mut find =
            conn.prepare_cached("SELECT id FROM intel_indicators WHERE kind = ?1 AND value = ?2")?;
        let mut write = conn.prepare_cached(
            "UPDATE intel_sightings SET
                confidence = ?4, severity = ?5, tlp = ?6, tags = ?7, assessment = ?8, description = ?9,
                reference = ?10, first_seen = ?11, last_seen = ?12, reported_at = ?13, valid_until = ?14,
                expires_at = ?15
             WHERE indicator_id = ?1 AND provider = ?2 AND feed = ?3",
        )?;
        for repeat in repeats {
            let id: Option<i64> = find
                .query_row(params![repeat.kind.as_str(), repeat.value], |r| r.get(0))
                .optional()?;
            let stored = match id {
                Some(id) => sightings_of(conn, &[id], 0, false)?
                    .remove(&id)
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            let mut rest = Vec::new();
            for s in &repeat.sightings {
                let same = stored.iter().find(|t| {
                    t.source.provider == s.source.provider && t.source.feed == s.source.feed
                });
                let (Some(id), Some(same)) = (id, same) else {
                    rest.push(s.clone());
                    continue;
                };
                let mut merged = same.clone();
                merged.merge(s);
                let tags = join_tags(&merged.source.tags);
                write.execute(params![
                    id,
                    merged.source.provider,
                    merged.source.feed,
                    merged.source.confidence,
                    merged.severity.map(severity_text),
                    merged.source.tlp,
                    tags,
                    merged.assessment,
                    merged.source.description,
                    merged.source.reference,
                    merged.first_seen.map(Timestamp::as_nanos),
                    merged.last_seen.map(Timestamp::as_nanos),
                    merged.reported_at.unwrap_or(self.now).as_nanos(),
                    merged.valid_until.map(Timestamp::as_nanos),
                    self.lifetimes
                        .expires_at(repeat.kind, &merged, self.now)
                        .as_nanos(),
                ])?;
                widen_indicator(
                    conn,
                    &Indicator {
                        sightings: vec![merged],
                        ..repeat.clone()
                    },
                    &self.lifetimes,
                    self.now,
                )?;
            }
            if !rest.is_empty() {
                let indicator = Indicator {
                    sightings: rest,
                    ..repeat.clone()
                };
                self.new += merge_one(
                    conn,
                    &indicator,
                    &self.lifetimes,
                    self.now,
                    self.first_new_id,
                )?;
            }
        }
        Ok(())
    }

    /// Ends the import and returns its counts.
    pub fn finish(self) -> rusqlite::Result<UpsertCounts> {
        let (updated, unchanged): (i64, i64) = self.conn.query_row(
            "SELECT coalesce(sum(changed), 0), coalesce(sum(NOT changed), 0) FROM (
                SELECT (s.confidence IS NOT b.confidence OR s.severity IS NOT b.severity OR s.tlp IS NOT b.tlp
                        OR s.tags IS NOT b.tags OR s.assessment IS NOT b.assessment
                        OR s.description IS NOT b.description OR s.reference IS NOT b.reference
                        OR s.valid_until IS NOT b.valid_until) AS changed
                FROM temp.intel_import_before b
                JOIN intel_sightings s USING (indicator_id, provider, feed)
                WHERE NOT b.created)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        self.conn
            .execute_batch("DELETE FROM temp.intel_import_before")?;
        Ok(UpsertCounts {
            new: self.new,
            updated: updated as u64,
            unchanged: unchanged as u64,
        })
    }
}

/// True when two sightings of `indicator` name the same provider and feed:
/// the second then updates the first, which the bulk path cannot do.
fn has_repeated_source(indicator: &Indicator) -> bool {
    let s = &indicator.sightings;
    s.len() > 1
        && s.iter().enumerate().any(|(i, a)| {
            s[..i]
                .iter()
                .any(|b| a.source.provider == b.source.provider && a.source.feed == b.source.feed)
        })
}

/// Inserts indicators with the ids given, and their sightings,
/// `BULK_ROWS` rows per statement. An indicator whose value is stored
/// already is left out and returned, to be merged. Returns how many
/// sightings were created, and the indicators left out.
fn insert_fresh<'i>(
    conn: &Connection,
    fresh: &[(i64, &'i Indicator)],
    lifetimes: &Lifetimes,
    now: Timestamp,
) -> rusqlite::Result<(u64, Vec<&'i Indicator>)> {
    let mut created = 0;
    let mut stored = Vec::new();
    let mut present: BTreeSet<i64> = BTreeSet::new();
    let mut sightings: Vec<(i64, IndicatorKind, &Sighting)> = Vec::with_capacity(BULK_ROWS);
    for block in fresh.chunks(BULK_ROWS) {
        let sql = multi_row_insert(INDICATOR_INSERT, INDICATOR_COLUMNS_WRITTEN, block.len())
            .replacen("INSERT", "INSERT OR IGNORE", 1);
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut at = 1;
        for &(id, indicator) in block {
            let facts = IndicatorFacts::of(indicator, lifetimes, now);
            stmt.raw_bind_parameter(at, id)?;
            stmt.raw_bind_parameter(at + 1, indicator.kind.as_str())?;
            stmt.raw_bind_parameter(at + 2, indicator.value.as_str())?;
            stmt.raw_bind_parameter(at + 3, indicator.include_subdomains)?;
            stmt.raw_bind_parameter(at + 4, indicator.match_substring)?;
            stmt.raw_bind_parameter(at + 5, facts.prefix)?;
            stmt.raw_bind_parameter(at + 6, facts.bounds.as_ref().map(|b| &b.0[..]))?;
            stmt.raw_bind_parameter(at + 7, facts.bounds.as_ref().map(|b| &b.1[..]))?;
            stmt.raw_bind_parameter(at + 8, facts.first)?;
            stmt.raw_bind_parameter(at + 9, facts.last)?;
            stmt.raw_bind_parameter(at + 10, facts.expires)?;
            at += INDICATOR_COLUMNS_WRITTEN;
        }
        let inserted = stmt.raw_execute()?;

        // Every row went in (the usual case), or find which did by id.
        let all = inserted == block.len();
        if !all {
            present.clear();
            let (first, last) = (block[0].0, block[block.len() - 1].0);
            let mut ids =
                conn.prepare_cached("SELECT id FROM intel_indicators WHERE id BETWEEN ?1 AND ?2")?;
            for id in ids.query_map([first, last], |r| r.get::<_, i64>(0))? {
                present.insert(id?);
            }
        }
        for &(id, indicator) in block {
            if !all && !present.contains(&id) {
                stored.push(indicator);
                continue;
            }
            for s in &indicator.sightings {
                sightings.push((id, indicator.kind, s));
                if sightings.len() == BULK_ROWS {
                    insert_sightings(conn, &sightings, lifetimes, now)?;
                    created += sightings.len() as u64;
                    sightings.clear();
                }
            }
        }
    }
    if !sightings.is_empty() {
        insert_sightings(conn, &sightings, lifetimes, now)?;
        created += sightings.len() as u64;
    }
    Ok((created, stored))
}

/// Inserts new sightings with one statement.
fn insert_sightings(
    conn: &Connection,
    rows: &[(i64, IndicatorKind, &Sighting)],
    lifetimes: &Lifetimes,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(&multi_row_insert(
        SIGHTING_INSERT,
        SIGHTING_COLUMNS_WRITTEN,
        rows.len(),
    ))?;
    let mut at = 1;
    for &(id, kind, s) in rows {
        stmt.raw_bind_parameter(at, id)?;
        stmt.raw_bind_parameter(at + 1, s.source.provider.as_str())?;
        stmt.raw_bind_parameter(at + 2, s.source.feed.as_str())?;
        stmt.raw_bind_parameter(at + 3, s.source.confidence)?;
        stmt.raw_bind_parameter(at + 4, s.severity.map(severity_text))?;
        stmt.raw_bind_parameter(at + 5, s.source.tlp.as_deref())?;
        stmt.raw_bind_parameter(at + 6, tags_text(&s.source.tags).as_ref())?;
        stmt.raw_bind_parameter(at + 7, s.assessment.as_deref())?;
        stmt.raw_bind_parameter(at + 8, s.source.description.as_deref())?;
        stmt.raw_bind_parameter(at + 9, s.source.reference.as_deref())?;
        stmt.raw_bind_parameter(at + 10, s.first_seen.map(Timestamp::as_nanos))?;
        stmt.raw_bind_parameter(at + 11, s.last_seen.map(Timestamp::as_nanos))?;
        stmt.raw_bind_parameter(at + 12, s.reported_at.unwrap_or(now).as_nanos())?;
        stmt.raw_bind_parameter(at + 13, s.valid_until.map(Timestamp::as_nanos))?;
        stmt.raw_bind_parameter(at + 14, lifetimes.expires_at(kind, s, now).as_nanos())?;
        at += SIGHTING_COLUMNS_WRITTEN;
    }
    stmt.raw_execute()?;
    Ok(())
}

/// Merges one indicator into the store: its row is created or widened,
/// and each sighting is added, updated (details changed) or refreshed
/// (only its times). A sighting of an indicator older than the import
/// (`id < first_new_id`) is noted in `intel_import_before` the first time
/// it is touched: as created, or with its details before the import.
/// Returns how many sightings were created.
fn merge_one(
    conn: &Connection,
    indicator: &Indicator,
    lifetimes: &Lifetimes,
    now: Timestamp,
    first_new_id: i64,
) -> rusqlite::Result<u64> {
    let mut created = 0;
    let mut note_created = conn.prepare_cached(
        "INSERT OR IGNORE INTO temp.intel_import_before (indicator_id, provider, feed, created) VALUES (?1, ?2, ?3, 1)",
    )?;
    let mut note_before = conn.prepare_cached(
        "INSERT OR IGNORE INTO temp.intel_import_before
            (indicator_id, provider, feed, created, confidence, severity, tlp, tags, assessment, description, reference, valid_until)
         SELECT indicator_id, provider, feed, 0, confidence, severity, tlp, tags, assessment, description, reference, valid_until
         FROM intel_sightings WHERE indicator_id = ?1 AND provider = ?2 AND feed = ?3",
    )?;
    let mut upsert_indicator = conn.prepare_cached(
        "INSERT INTO intel_indicators
            (kind, value, include_subdomains, match_substring, prefix_len, ip_lo, ip_hi, first_seen, last_seen, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (kind, value) DO UPDATE SET
            include_subdomains = max(include_subdomains, excluded.include_subdomains),
            match_substring = max(match_substring, excluded.match_substring),
            first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
            last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
            expires_at = max(expires_at, excluded.expires_at)
         RETURNING id",
    )?;
    let mut insert_sighting = conn.prepare_cached(
        "INSERT OR IGNORE INTO intel_sightings
            (indicator_id, provider, feed, confidence, severity, tlp, tags, assessment, description, reference,
             first_seen, last_seen, reported_at, valid_until, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    let mut update_details = conn.prepare_cached(
        "UPDATE intel_sightings SET
            confidence = ?4, severity = ?5, tlp = ?6, tags = ?7, assessment = ?8, description = ?9, reference = ?10,
            first_seen = min(coalesce(first_seen, ?11), coalesce(?11, first_seen)),
            last_seen = max(coalesce(last_seen, ?12), coalesce(?12, last_seen)),
            reported_at = ?13, valid_until = ?14, expires_at = ?15
         WHERE indicator_id = ?1 AND provider = ?2 AND feed = ?3
           AND (confidence IS NOT ?4 OR severity IS NOT ?5 OR tlp IS NOT ?6 OR tags IS NOT ?7
                OR assessment IS NOT ?8 OR description IS NOT ?9 OR reference IS NOT ?10 OR valid_until IS NOT ?14)",
    )?;
    let mut refresh_times = conn.prepare_cached(
        "UPDATE intel_sightings SET
            first_seen = min(coalesce(first_seen, ?4), coalesce(?4, first_seen)),
            last_seen = max(coalesce(last_seen, ?5), coalesce(?5, last_seen)),
            reported_at = ?6, expires_at = max(expires_at, ?7)
         WHERE indicator_id = ?1 AND provider = ?2 AND feed = ?3",
    )?;

    let facts = IndicatorFacts::of(indicator, lifetimes, now);
    let id: i64 = upsert_indicator.query_row(
        params![
            indicator.kind.as_str(),
            indicator.value,
            indicator.include_subdomains,
            indicator.match_substring,
            facts.prefix,
            facts.bounds.as_ref().map(|b| &b.0[..]),
            facts.bounds.as_ref().map(|b| &b.1[..]),
            facts.first,
            facts.last,
            facts.expires,
        ],
        |row| row.get(0),
    )?;

    for s in &indicator.sightings {
        let tags = tags_text(&s.source.tags);
        let expires = lifetimes.expires_at(indicator.kind, s, now).as_nanos();
        let reported = s.reported_at.unwrap_or(now).as_nanos();
        let detail = params![
            id,
            s.source.provider,
            s.source.feed,
            s.source.confidence,
            s.severity.map(severity_text),
            s.source.tlp,
            tags.as_ref(),
            s.assessment,
            s.source.description,
            s.source.reference,
            s.first_seen.map(Timestamp::as_nanos),
            s.last_seen.map(Timestamp::as_nanos),
            reported,
            s.valid_until.map(Timestamp::as_nanos),
            expires,
        ];
        let older = id < first_new_id;
        if insert_sighting.execute(detail)? == 1 {
            created += 1;
            if older {
                note_created.execute(params![id, s.source.provider, s.source.feed])?;
            }
            continue;
        }
        if older {
            note_before.execute(params![id, s.source.provider, s.source.feed])?;
        }
        if update_details.execute(detail)? == 0 {
            refresh_times.execute(params![
                id,
                s.source.provider,
                s.source.feed,
                s.first_seen.map(Timestamp::as_nanos),
                s.last_seen.map(Timestamp::as_nanos),
                reported,
                expires,
            ])?;
        }
    }
    Ok(created)
}

/// Widens an indicator row by the times and flags of `indicator`.
fn widen_indicator(
    conn: &Connection,
    indicator: &Indicator,
    lifetimes: &Lifetimes,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let facts = IndicatorFacts::of(indicator, lifetimes, now);
    conn.prepare_cached(
        "UPDATE intel_indicators SET
            include_subdomains = max(include_subdomains, ?3),
            match_substring = max(match_substring, ?4),
            first_seen = min(coalesce(first_seen, ?5), coalesce(?5, first_seen)),
            last_seen = max(coalesce(last_seen, ?6), coalesce(?6, last_seen)),
            expires_at = max(expires_at, ?7)
         WHERE kind = ?1 AND value = ?2",
    )?
    .execute(params![
        indicator.kind.as_str(),
        indicator.value,
        indicator.include_subdomains,
        indicator.match_substring,
        facts.first,
        facts.last,
        facts.expires,
    ])?;
    Ok(())
}

/// Ends the reports of one feed that were not renewed by its latest
/// successful download (`reported_at` before `pulled_at`): the provider
/// delisted them. Returns how many sightings expired.
pub fn expire_delisted(
    conn: &Connection,
    provider: &str,
    feed: &str,
    pulled_at: Timestamp,
) -> rusqlite::Result<u64> {
    let n = conn.execute(
        "UPDATE intel_sightings SET expires_at = ?3
         WHERE provider = ?1 AND feed = ?2 AND reported_at < ?3 AND expires_at > ?3",
        params![provider, feed, pulled_at.as_nanos()],
    )?;
    refresh_indicator_expiry(conn, Some((provider, feed)))?;
    Ok(n as u64)
}

/// Confirms an unchanged feed (the server answered 304): every report of
/// it still valid at `now` counts as seen again, so its expiry moves to
/// `now` plus its kind's lifetime (explicit `valid_until` is kept).
/// Returns how many sightings were confirmed.
pub fn touch_feed(
    conn: &Connection,
    provider: &str,
    feed: &str,
    now: Timestamp,
    lifetimes: &Lifetimes,
) -> rusqlite::Result<u64> {
    let mut total = 0;
    let mut stmt = conn.prepare_cached(
        "UPDATE intel_sightings SET reported_at = ?3, last_seen = ?3,
            expires_at = CASE WHEN valid_until IS NULL THEN max(expires_at, ?3 + ?5) ELSE expires_at END
         WHERE provider = ?1 AND feed = ?2 AND expires_at > ?3
           AND indicator_id IN (SELECT id FROM intel_indicators WHERE kind = ?4)",
    )?;
    for kind in IndicatorKind::ALL {
        let life = picket_intel::expiry::days_to_nanos(lifetimes.days(kind));
        total += stmt.execute(params![provider, feed, now.as_nanos(), kind.as_str(), life])? as u64;
    }
    refresh_indicator_expiry(conn, Some((provider, feed)))?;
    Ok(total)
}

/// Keeps a failing feed's last good reports alive until `until` (its
/// grace period): sightings that were valid at the last successful pull
/// are extended. Returns how many sightings were extended.
pub fn extend_feed(
    conn: &Connection,
    provider: &str,
    feed: &str,
    last_success: Timestamp,
    until: Timestamp,
) -> rusqlite::Result<u64> {
    let n = conn.execute(
        "UPDATE intel_sightings SET expires_at = ?4
         WHERE provider = ?1 AND feed = ?2 AND expires_at > ?3 AND expires_at < ?4",
        params![provider, feed, last_success.as_nanos(), until.as_nanos()],
    )?;
    refresh_indicator_expiry(conn, Some((provider, feed)))?;
    Ok(n as u64)
}

/// Recomputes each indicator's expiry as the latest of its sightings'.
fn refresh_indicator_expiry(conn: &Connection, feed: Option<(&str, &str)>) -> rusqlite::Result<()> {
    let sql = "UPDATE intel_indicators SET expires_at =
                 (SELECT max(s.expires_at) FROM intel_sightings s WHERE s.indicator_id = intel_indicators.id)";
    match feed {
        Some((provider, feed)) => conn.execute(
            &format!("{sql} WHERE id IN (SELECT indicator_id FROM intel_sightings WHERE provider = ?1 AND feed = ?2)"),
            params![provider, feed],
        )?,
        None => conn.execute(sql, [])?,
    };
    Ok(())
}

/// Counts of an expiry run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpireCounts {
    /// Indicators whose every sighting has expired at `now`.
    pub expired_indicators: u64,
    /// Indicators still active.
    pub active_indicators: u64,
    /// Sightings expired at `now`.
    pub expired_sightings: u64,
}

/// Recomputes indicator expiry from the sightings and counts what is
/// expired at `now`. Nothing is deleted: expired indicators stay for
/// retro-search.
pub fn expire(conn: &Connection, now: Timestamp) -> rusqlite::Result<ExpireCounts> {
    refresh_indicator_expiry(conn, None)?;
    let now = now.as_nanos();
    let count = |sql: &str| {
        conn.query_row(sql, [now], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    };
    Ok(ExpireCounts {
        expired_indicators: count("SELECT count(*) FROM intel_indicators WHERE expires_at <= ?1")?,
        active_indicators: count("SELECT count(*) FROM intel_indicators WHERE expires_at > ?1")?,
        expired_sightings: count("SELECT count(*) FROM intel_sightings WHERE expires_at <= ?1")?,
    })
}

/// Feed state kept between pulls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedState {
    /// Provider name.
    pub provider: String,
    /// Feed name.
    pub feed: String,
    /// URL or path.
    pub remote: String,
    /// `ETag` of the last successful download.
    pub etag: Option<String>,
    /// `Last-Modified` of the last successful download.
    pub last_modified: Option<String>,
    /// Last attempt.
    pub last_attempt: Option<Timestamp>,
    /// Last successful pull.
    pub last_success: Option<Timestamp>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// End of the grace period of a failing feed.
    pub grace_until: Option<Timestamp>,
}

/// Reads one feed's state.
pub fn feed_state(
    conn: &Connection,
    provider: &str,
    feed: &str,
) -> rusqlite::Result<Option<FeedState>> {
    conn.query_row(
        "SELECT provider, feed, remote, etag, last_modified, last_attempt, last_success, last_error, grace_until
         FROM intel_feeds WHERE provider = ?1 AND feed = ?2",
        params![provider, feed],
        feed_row,
    )
    .optional()
}

/// Every feed's state.
pub fn feeds(conn: &Connection) -> rusqlite::Result<Vec<FeedState>> {
    let mut stmt = conn.prepare(
        "SELECT provider, feed, remote, etag, last_modified, last_attempt, last_success, last_error, grace_until
         FROM intel_feeds ORDER BY provider, feed",
    )?;
    let rows = stmt.query_map([], feed_row)?;
    rows.collect()
}

fn feed_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<FeedState> {
    Ok(FeedState {
        provider: row.get(0)?,
        feed: row.get(1)?,
        remote: row.get(2)?,
        etag: row.get(3)?,
        last_modified: row.get(4)?,
        last_attempt: ts(row.get(5)?),
        last_success: ts(row.get(6)?),
        last_error: row.get(7)?,
        grace_until: ts(row.get(8)?),
    })
}

/// Writes one feed's state.
pub fn save_feed_state(conn: &Connection, state: &FeedState) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO intel_feeds (provider, feed, remote, etag, last_modified, last_attempt, last_success, last_error, grace_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (provider, feed) DO UPDATE SET remote = ?3, etag = ?4, last_modified = ?5,
            last_attempt = ?6, last_success = ?7, last_error = ?8, grace_until = ?9",
        params![
            state.provider,
            state.feed,
            state.remote,
            state.etag,
            state.last_modified,
            state.last_attempt.map(Timestamp::as_nanos),
            state.last_success.map(Timestamp::as_nanos),
            state.last_error,
            state.grace_until.map(Timestamp::as_nanos),
        ],
    )?;
    Ok(())
}

/// Stores a local allow rule.
pub fn add_allow(
    conn: &Connection,
    observable: &Observable,
    source: &str,
    note: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO intel_allow (kind, value, include_subdomains, source, note) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (kind, value) DO UPDATE SET include_subdomains = ?3, source = ?4, note = ?5",
        params![observable.kind.as_str(), observable.value, observable.include_subdomains, source, note],
    )?;
    Ok(())
}

/// Stores a MISP warninglist (its JSON text) under its name, replacing an
/// older version.
pub fn add_warninglist(conn: &Connection, name: &str, body: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO intel_warninglists (name, body) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET body = ?2",
        params![name, body],
    )?;
    Ok(())
}

/// Builds the whitelist in force: stored warninglists and allow rules. A
/// stored list that no longer parses is skipped with a warning.
pub fn load_whitelist(conn: &Connection) -> rusqlite::Result<Whitelist> {
    let mut whitelist = Whitelist::new();
    let mut stmt = conn.prepare("SELECT name, body FROM intel_warninglists ORDER BY name")?;
    let lists = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for list in lists {
        let (name, body) = list?;
        match serde_json::from_str::<picket_intel::Warninglist>(&body) {
            Ok(list) => {
                if let Err(reason) = whitelist.add_warninglist(&list) {
                    tracing::warn!(list = %name, %reason, "stored warninglist skipped");
                }
            }
            Err(e) => tracing::warn!(list = %name, error = %e, "stored warninglist skipped"),
        }
    }
    let mut stmt =
        conn.prepare("SELECT kind, value, include_subdomains, source, note FROM intel_allow")?;
    let rules = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    for rule in rules {
        let (kind, value, include_subdomains, source, note) = rule?;
        if let Ok(kind) = kind.parse::<IndicatorKind>() {
            whitelist.add_local(
                Observable {
                    kind,
                    value,
                    include_subdomains,
                },
                &source,
                note,
            );
        }
    }
    Ok(whitelist)
}

/// One stored indicator with its state.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredIndicator {
    /// The indicator and every sighting, expired ones included.
    pub indicator: Indicator,
    /// When the last sighting expires (or expired).
    pub expires_at: Timestamp,
    /// True while some sighting has not expired.
    pub active: bool,
    /// Why the value (or the queried value it covers) is whitelisted, when
    /// it is. A whitelisted indicator is never active.
    pub whitelisted: Option<AllowReason>,
    /// How often the matcher saw it in traffic, and when last.
    pub hits: Option<(u64, Timestamp)>,
}

/// Which indicators an export or a listing takes.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only these kinds. All when empty.
    pub kinds: Vec<IndicatorKind>,
    /// Only sightings with at least this confidence.
    pub min_confidence: u8,
    /// Only sightings marked at most this TLP (unmarked counts as clear).
    pub max_tlp: Option<Tlp>,
    /// Only sightings carrying one of these tags (or assessments). All when empty.
    pub tags: Vec<String>,
    /// Only sightings last seen at or after this time.
    pub seen_since: Option<Timestamp>,
    /// Include expired indicators (for retro-search).
    pub include_expired: bool,
}

impl Filter {
    fn keeps(&self, s: &Sighting) -> bool {
        if s.source.confidence < self.min_confidence {
            return false;
        }
        if let Some(max) = self.max_tlp {
            let level = s
                .source
                .tlp
                .as_deref()
                .and_then(Tlp::parse)
                .unwrap_or(Tlp::Clear);
            if level > max {
                return false;
            }
        }
        if !self.tags.is_empty() {
            let has = self.tags.iter().any(|t| {
                s.source.tags.iter().any(|x| x.eq_ignore_ascii_case(t))
                    || s.assessment
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(t))
            });
            if !has {
                return false;
            }
        }
        if let Some(since) = self.seen_since
            && s.seen().is_none_or(|seen| seen < since)
        {
            return false;
        }
        true
    }
}

const INDICATOR_COLUMNS: &str =
    "i.id, i.kind, i.value, i.include_subdomains, i.match_substring, i.expires_at";

/// Reads the sightings of the given indicator ids.
fn sightings_of(
    conn: &Connection,
    ids: &[i64],
    now: i64,
    only_active: bool,
) -> rusqlite::Result<HashMap<i64, Vec<Sighting>>> {
    let mut out: HashMap<i64, Vec<Sighting>> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT provider, feed, confidence, severity, tlp, tags, assessment, description, reference,
                first_seen, last_seen, reported_at, valid_until, expires_at
         FROM intel_sightings WHERE indicator_id = ?1 ORDER BY provider, feed",
    )?;
    for &id in ids {
        let rows = stmt.query_map([id], |r| {
            let expires: i64 = r.get(13)?;
            Ok((
                expires,
                Sighting {
                    source: IntelSource {
                        provider: r.get(0)?,
                        feed: r.get(1)?,
                        confidence: r.get(2)?,
                        tlp: r.get(4)?,
                        tags: split_tags(&r.get::<_, String>(5)?),
                        description: r.get(7)?,
                        reference: r.get(8)?,
                    },
                    severity: r
                        .get::<_, Option<String>>(3)?
                        .as_deref()
                        .and_then(severity_from),
                    assessment: r.get(6)?,
                    first_seen: ts(r.get(9)?),
                    last_seen: ts(r.get(10)?),
                    reported_at: ts(r.get(11)?),
                    valid_until: ts(r.get(12)?),
                },
            ))
        })?;
        for row in rows {
            let (expires, sighting) = row?;
            if !only_active || expires > now {
                out.entry(id).or_default().push(sighting);
            }
        }
    }
    Ok(out)
}

fn hits_of(
    conn: &Connection,
    kind: IndicatorKind,
    value: &str,
) -> rusqlite::Result<Option<(u64, Timestamp)>> {
    conn.prepare_cached("SELECT hits, last_hit FROM intel_hits WHERE kind = ?1 AND value = ?2")?
        .query_row(params![kind.as_str(), value], |r| {
            Ok((r.get::<_, i64>(0)? as u64, Timestamp::from_nanos(r.get(1)?)))
        })
        .optional()
}

type Row = (i64, IndicatorKind, String, bool, bool, i64);

fn indicator_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Row>> {
    let kind: String = r.get(1)?;
    Ok(kind.parse::<IndicatorKind>().ok().map(|k| -> Row {
        (
            r.get(0).unwrap_or_default(),
            k,
            r.get(2).unwrap_or_default(),
            r.get(3).unwrap_or_default(),
            r.get(4).unwrap_or_default(),
            r.get(5).unwrap_or_default(),
        )
    }))
}

/// The indicators that cover one value: the value itself, networks and
/// ranges that contain an address or network, parent domains that cover
/// their subdomains, and for a URL its host. Expired and whitelisted
/// indicators are included and marked, for retro-search and for showing
/// the reason. Returns nothing for a value that is no indicator at all.
pub fn query(
    conn: &Connection,
    value: &str,
    whitelist: &Whitelist,
    now: Timestamp,
) -> rusqlite::Result<Vec<StoredIndicator>> {
    let Some(observable) = picket_intel::classify_observable(value) else {
        return Ok(Vec::new());
    };
    let prefixes = prefix_lengths(conn)?;
    query_observable(conn, &observable, &prefixes, whitelist, now)
}

/// Answers many values; `prefix_lengths` is read once. Results are in the
/// order of `values`.
pub fn query_bulk(
    conn: &Connection,
    values: &[String],
    whitelist: &Whitelist,
    now: Timestamp,
) -> rusqlite::Result<Vec<(String, Vec<StoredIndicator>)>> {
    let prefixes = prefix_lengths(conn)?;
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        out.push((
            value.clone(),
            query_with(conn, value, &prefixes, whitelist, now)?,
        ));
    }
    Ok(out)
}

/// Answers one value with the prefix lengths read beforehand by
/// [`prefix_lengths`], for callers that time or stream queries one by one.
pub fn query_with(
    conn: &Connection,
    value: &str,
    prefixes: &BTreeSet<u8>,
    whitelist: &Whitelist,
    now: Timestamp,
) -> rusqlite::Result<Vec<StoredIndicator>> {
    match picket_intel::classify_observable(value) {
        Some(observable) => query_observable(conn, &observable, prefixes, whitelist, now),
        None => Ok(Vec::new()),
    }
}

/// Distinct prefix lengths of stored networks, so that a lookup tries only
/// those.
pub fn prefix_lengths(conn: &Connection) -> rusqlite::Result<BTreeSet<u8>> {
    let mut stmt = conn
        .prepare("SELECT DISTINCT prefix_len FROM intel_indicators WHERE prefix_len IS NOT NULL")?;
    let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
    let mut out = BTreeSet::new();
    for row in rows {
        if let Ok(p) = u8::try_from(row?) {
            out.insert(p);
        }
    }
    Ok(out)
}

fn query_observable(
    conn: &Connection,
    observable: &Observable,
    prefixes: &BTreeSet<u8>,
    whitelist: &Whitelist,
    now: Timestamp,
) -> rusqlite::Result<Vec<StoredIndicator>> {
    let mut keys: Vec<(IndicatorKind, String)> = vec![(observable.kind, observable.value.clone())];
    let mut parents: Vec<String> = Vec::new();
    let mut addresses: Vec<(IpAddr, IpAddr)> = Vec::new();

    match observable.kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
            if let Ok(ip) = observable.value.parse::<IpAddr>() {
                addresses.push((ip, ip));
            }
        }
        IndicatorKind::Cidr => {
            if let Some(net) = parse_net(&observable.value) {
                addresses.push((net.network(), net.broadcast()));
            }
        }
        IndicatorKind::Domain => parents.push(observable.value.clone()),
        IndicatorKind::Url => match picket_intel::normalize::url_host(&observable.value) {
            Some(UrlHost::Domain(d)) => parents.push(d),
            Some(UrlHost::Ip(ip)) => addresses.push((ip, ip)),
            None => {}
        },
        IndicatorKind::Email => {
            if let Some((_, host)) = observable.value.rsplit_once('@') {
                parents.push(host.to_owned());
            }
        }
        _ => {}
    }

    let mut domain_keys: Vec<(String, bool)> = Vec::new();
    for host in &parents {
        domain_keys.push((host.clone(), false));
        for parent in parent_domains(host) {
            domain_keys.push((parent.to_owned(), true));
        }
    }
    for &(first, last) in &addresses {
        let single = IndicatorKind::from_ip(first);
        if first == last {
            keys.push((single, first.to_string()));
        }
        let max = if first.is_ipv4() { 32 } else { 128 };
        for &p in prefixes.iter().filter(|&&p| p <= max) {
            if let Ok(net) = ipnet::IpNet::new(first, p) {
                let net = net.trunc();
                if net.contains(&last) {
                    keys.push((IndicatorKind::Cidr, net.to_string()));
                }
            }
        }
    }

    let mut rows: Vec<Row> = Vec::new();
    let mut seen_ids = BTreeSet::new();
    {
        let mut exact = conn.prepare_cached(&format!(
            "SELECT {INDICATOR_COLUMNS} FROM intel_indicators i WHERE kind = ?1 AND value = ?2"
        ))?;
        for (kind, value) in &keys {
            if let Some(row) = exact
                .query_row(params![kind.as_str(), value], indicator_row)
                .optional()?
                .flatten()
                && seen_ids.insert(row.0)
            {
                rows.push(row);
            }
        }
        for (name, must_cover_subdomains) in &domain_keys {
            if let Some(row) = exact
                .query_row(params!["domain", name], indicator_row)
                .optional()?
                .flatten()
                && (!must_cover_subdomains || row.3)
                && seen_ids.insert(row.0)
            {
                rows.push(row);
            }
        }
        let mut ranges = conn.prepare_cached(&format!(
            "SELECT {INDICATOR_COLUMNS} FROM intel_indicators i WHERE kind = 'ip_range' AND ip_lo <= ?1 AND ip_hi >= ?2"
        ))?;
        for &(first, last) in &addresses {
            let found = ranges.query_map(
                params![be(ip_to_u128(first)), be(ip_to_u128(last))],
                indicator_row,
            )?;
            for row in found {
                if let Some(row) = row?
                    && seen_ids.insert(row.0)
                {
                    rows.push(row);
                }
            }
        }
    }
    let mut found = materialize(conn, rows, whitelist, now, false)?;

    // A whitelisted query value is not blocked by any broader indicator:
    // the more specific allow entry wins.
    if let Some(reason) = whitelist.check(observable.kind, &observable.value) {
        for f in &mut found {
            f.active = false;
            f.whitelisted.get_or_insert_with(|| reason.clone());
        }
    }
    Ok(found)
}

fn materialize(
    conn: &Connection,
    rows: Vec<Row>,
    whitelist: &Whitelist,
    now: Timestamp,
    only_active: bool,
) -> rusqlite::Result<Vec<StoredIndicator>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut sightings = sightings_of(conn, &ids, now.as_nanos(), only_active)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, kind, value, include_subdomains, match_substring, expires) in rows {
        let whitelisted = whitelist.check(kind, &value);
        let hits = hits_of(conn, kind, &value)?;
        let active = expires > now.as_nanos() && whitelisted.is_none();
        out.push(StoredIndicator {
            indicator: Indicator {
                kind,
                value,
                include_subdomains,
                match_substring,
                sightings: sightings.remove(&id).unwrap_or_default(),
            },
            expires_at: Timestamp::from_nanos(expires),
            active,
            whitelisted,
            hits,
        });
    }
    Ok(out)
}

/// The active set at `now`: indicators with an unexpired sighting that
/// passes the filter, not whitelisted, each with only its unexpired and
/// kept sightings. This is what the matcher and every export take.
/// Whitelisted values are counted in the second element.
pub fn active(
    conn: &Connection,
    filter: &Filter,
    whitelist: &Whitelist,
    now: Timestamp,
) -> rusqlite::Result<(Vec<Indicator>, u64)> {
    let now_ns = now.as_nanos();
    let mut stmt = conn.prepare(&format!(
        "SELECT {INDICATOR_COLUMNS} FROM intel_indicators i WHERE ?1 OR i.expires_at > ?2 ORDER BY i.kind, i.value"
    ))?;
    let rows: Vec<Row> = stmt
        .query_map(params![filter.include_expired, now_ns], indicator_row)?
        .filter_map(|r| r.transpose())
        .collect::<rusqlite::Result<_>>()?;
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| filter.kinds.is_empty() || filter.kinds.contains(&r.1))
        .collect();

    let mut whitelisted = 0;
    let mut out = Vec::new();
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut sightings = sightings_of(conn, &ids, now_ns, !filter.include_expired)?;
    for (id, kind, value, include_subdomains, match_substring, _) in rows {
        let kept: Vec<Sighting> = sightings
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .filter(|s| filter.keeps(s))
            .collect();
        if kept.is_empty() {
            continue;
        }
        if whitelist.check(kind, &value).is_some() {
            whitelisted += 1;
            continue;
        }
        out.push(Indicator {
            kind,
            value,
            include_subdomains,
            match_substring,
            sightings: kept,
        });
    }
    Ok((out, whitelisted))
}

/// Records that the matcher saw an indicator in traffic at `at`.
pub fn record_sighting(
    conn: &Connection,
    kind: IndicatorKind,
    value: &str,
    at: Timestamp,
) -> rusqlite::Result<()> {
    record_sightings(conn, &[(kind, value, at)])
}

/// Records many hits at once. Repeated values are folded before writing,
/// so a batch costs one statement per distinct value. Call inside the
/// writer's transaction.
pub fn record_sightings(
    conn: &Connection,
    hits: &[(IndicatorKind, &str, Timestamp)],
) -> rusqlite::Result<()> {
    let mut folded: HashMap<(IndicatorKind, &str), (i64, i64, i64)> = HashMap::new();
    for &(kind, value, at) in hits {
        let at = at.as_nanos();
        let entry = folded.entry((kind, value)).or_insert((0, at, at));
        entry.0 += 1;
        entry.1 = entry.1.min(at);
        entry.2 = entry.2.max(at);
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO intel_hits (kind, value, hits, first_hit, last_hit) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (kind, value) DO UPDATE SET hits = hits + ?3,
            first_hit = min(first_hit, ?4), last_hit = max(last_hit, ?5)",
    )?;
    for ((kind, value), (count, first, last)) in folded {
        stmt.execute(params![kind.as_str(), value, count, first, last])?;
    }
    Ok(())
}

/// Counts for `picket intel stats`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// (kind, active, expired) per kind.
    pub by_kind: Vec<(String, u64, u64)>,
    /// (provider, feed, sightings, active sightings) per feed.
    pub by_feed: Vec<(String, String, u64, u64)>,
    /// Every feed's pull state.
    pub feeds: Vec<FeedState>,
    /// Stored allow rules.
    pub allow_rules: u64,
    /// Stored warninglists.
    pub warninglists: u64,
    /// Indicators seen in traffic, and the total hit count.
    pub hits: (u64, u64),
}

/// Gathers the store's intelligence counts at `now`.
pub fn stats(conn: &Connection, now: Timestamp) -> rusqlite::Result<Stats> {
    let now = now.as_nanos();
    let mut out = Stats::default();
    let mut stmt = conn.prepare(
        "SELECT kind, sum(expires_at > ?1), sum(expires_at <= ?1) FROM intel_indicators GROUP BY kind ORDER BY kind",
    )?;
    out.by_kind = stmt
        .query_map([now], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(
        "SELECT provider, feed, count(*), sum(expires_at > ?1) FROM intel_sightings GROUP BY provider, feed ORDER BY provider, feed",
    )?;
    out.by_feed = stmt
        .query_map([now], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    out.feeds = feeds(conn)?;
    out.allow_rules = conn.query_row("SELECT count(*) FROM intel_allow", [], |r| {
        r.get::<_, i64>(0)
    })? as u64;
    out.warninglists = conn.query_row("SELECT count(*) FROM intel_warninglists", [], |r| {
        r.get::<_, i64>(0)
    })? as u64;
    out.hits = conn.query_row(
        "SELECT count(*), coalesce(sum(hits), 0) FROM intel_hits",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_intel::{LoadOptions, load_bytes};

    const DAY: i64 = 86_400 * 1_000_000_000;

    fn store() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        create_schema(&conn).unwrap();
        conn
    }

    fn load(text: &str, provider: &str, at: i64) -> Vec<Indicator> {
        let options = LoadOptions {
            defaults: picket_intel::Defaults {
                provider: Some(provider.into()),
                feed: Some("f".into()),
                ..Default::default()
            },
            reported_at: Some(Timestamp::from_nanos(at)),
            ..LoadOptions::default()
        };
        load_bytes("t.txt", text.as_bytes(), &options)
            .unwrap()
            .indicators
    }

    #[test]
    fn upsert_counts_new_updated_unchanged_and_merges_sources() {
        let conn = store();
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);
        let a = load("192.0.2.1\nevil.example c2\n10.0.0.0/8\n", "p1", 100 * DAY);
        assert_eq!(
            upsert(&conn, &a, &l, now).unwrap(),
            UpsertCounts {
                new: 3,
                updated: 0,
                unchanged: 0
            }
        );
        let b = load("192.0.2.1\nevil.example c2,botnet\n", "p1", 101 * DAY);
        assert_eq!(
            upsert(&conn, &b, &l, now).unwrap(),
            UpsertCounts {
                new: 0,
                updated: 1,
                unchanged: 1
            }
        );
        let c = load("192.0.2.1\n", "p2", 101 * DAY);
        assert_eq!(upsert(&conn, &c, &l, now).unwrap().new, 1);

        let w = Whitelist::new();
        let found = query(&conn, "192.0.2.1", &w, now).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].indicator.sightings.len(), 2);
        let found = query(&conn, "10.9.8.7", &w, now).unwrap();
        assert_eq!(found[0].indicator.value, "10.0.0.0/8");
        let found = query(&conn, "http://a.b.evil.example/x", &w, now).unwrap();
        assert_eq!(found[0].indicator.value, "evil.example");
        assert_eq!(
            found[0].indicator.sightings[0].source.tags,
            ["c2", "botnet"]
        );
        assert!(query(&conn, "other.example", &w, now).unwrap().is_empty());
    }

    #[test]
    fn bulk_and_merge_paths_agree() {
        let conn = store();
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);
        upsert(
            &conn,
            &load("192.0.2.1\nold.example\n", "p1", 100 * DAY),
            &l,
            now,
        )
        .unwrap();

        // One call with values already stored, new values, the same value
        // twice (once covering subdomains, once not) and one indicator
        // naming the same source twice.
        let mut batch = load("192.0.2.1 c2\nnew.example\n198.51.100.7\n", "p1", 101 * DAY);
        let mut twin = batch[1].clone();
        twin.include_subdomains = false;
        twin.sightings[0].source.tags = vec!["twin".into()];
        batch.push(twin);
        let mut doubled = load("203.0.113.9 a\n", "p2", 101 * DAY).remove(0);
        let mut again = doubled.sightings[0].clone();
        again.source.tags = vec!["b".into()];
        doubled.sightings.push(again);
        batch.push(doubled);
        let counts = upsert(&conn, &batch, &l, now).unwrap();
        assert_eq!(
            counts,
            UpsertCounts {
                new: 3,
                updated: 1,
                unchanged: 0
            }
        );

        let w = Whitelist::new();
        let found = query(&conn, "a.new.example", &w, now).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].indicator.include_subdomains, "the wider twin wins");
        assert_eq!(found[0].indicator.sightings[0].source.tags, ["twin"]);
        let found = query(&conn, "203.0.113.9", &w, now).unwrap();
        assert_eq!(found[0].indicator.sightings.len(), 1);
        assert_eq!(found[0].indicator.sightings[0].source.tags, ["b"]);
        let found = query(&conn, "198.51.100.7", &w, now).unwrap();
        assert_eq!(found[0].expires_at.as_nanos(), 131 * DAY);
        let count: i64 = conn
            .query_row("SELECT count(*) FROM intel_indicators", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 5);
    }

    #[test]
    fn chunked_import_with_late_repeats_counts_like_a_whole_file() {
        let conn = store();
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);
        upsert(
            &conn,
            &load("192.0.2.1 a\n192.0.2.9 q\n", "p1", 100 * DAY),
            &l,
            now,
        )
        .unwrap();

        // The feed again: .1 repeated late with another tag (updated, as
        // a whole file would count it), .9 the same (unchanged), .2 new
        // and repeated late (still one new sighting).
        let mut import = Import::begin(&conn, &l, now).unwrap();
        import
            .add(&load("192.0.2.1 a\n192.0.2.2 x\n", "p1", 101 * DAY))
            .unwrap();
        import.add(&load("192.0.2.9 q\n", "p1", 101 * DAY)).unwrap();
        import
            .fold_repeats(&load("192.0.2.1 b\n192.0.2.2 y\n", "p1", 101 * DAY))
            .unwrap();
        assert_eq!(
            import.finish().unwrap(),
            UpsertCounts {
                new: 1,
                updated: 1,
                unchanged: 1
            }
        );

        let w = Whitelist::new();
        let found = query(&conn, "192.0.2.1", &w, now).unwrap();
        assert_eq!(found[0].indicator.sightings[0].source.tags, ["a", "b"]);
        let found = query(&conn, "192.0.2.2", &w, now).unwrap();
        assert_eq!(found[0].indicator.sightings[0].source.tags, ["x", "y"]);
        assert_eq!(
            found[0].indicator.sightings[0].reported_at,
            Some(Timestamp::from_nanos(101 * DAY))
        );
    }

    #[test]
    fn expiry_delisting_grace_and_whitelist() {
        let conn = store();
        let l = Lifetimes::default();
        let t0 = Timestamp::from_nanos(100 * DAY);
        upsert(
            &conn,
            &load("192.0.2.1\n192.0.2.2\n", "p", 100 * DAY),
            &l,
            t0,
        )
        .unwrap();

        // The next pull no longer lists .2: it is delisted, .1 stays.
        let t1 = Timestamp::from_nanos(101 * DAY);
        upsert(&conn, &load("192.0.2.1\n", "p", 101 * DAY), &l, t1).unwrap();
        assert_eq!(expire_delisted(&conn, "p", "f", t1).unwrap(), 1);
        let w = Whitelist::new();
        let (set, _) = active(&conn, &Filter::default(), &w, t1).unwrap();
        assert_eq!(set.len(), 1);
        let old = query(&conn, "192.0.2.2", &w, t1).unwrap();
        assert!(!old[0].active, "expired but kept for retro-search");

        // After 30 days the address would expire. A failing feed keeps it
        // until its grace period ends.
        let t31 = Timestamp::from_nanos(131 * DAY);
        assert!(
            active(&conn, &Filter::default(), &w, t31)
                .unwrap()
                .0
                .is_empty()
        );
        extend_feed(&conn, "p", "f", t1, Timestamp::from_nanos(140 * DAY)).unwrap();
        assert_eq!(
            active(&conn, &Filter::default(), &w, t31).unwrap().0.len(),
            1
        );
        let counts = expire(&conn, Timestamp::from_nanos(141 * DAY)).unwrap();
        assert_eq!(counts.active_indicators, 0);
        assert_eq!(counts.expired_indicators, 2);

        // A whitelisted value never becomes active, and the reason is shown.
        add_allow(
            &conn,
            &picket_intel::normalize_observable(IndicatorKind::Cidr, "192.0.2.0/24").unwrap(),
            "local",
            Some("lab"),
        )
        .unwrap();
        let w = load_whitelist(&conn).unwrap();
        let (set, whitelisted) = active(&conn, &Filter::default(), &w, t1).unwrap();
        assert!(set.is_empty());
        assert_eq!(whitelisted, 1);
        let found = query(&conn, "192.0.2.1", &w, t1).unwrap();
        assert!(!found[0].active);
        assert!(
            found[0]
                .whitelisted
                .as_ref()
                .unwrap()
                .to_string()
                .contains("lab")
        );
    }

    #[test]
    fn record_sightings_folds_batches() {
        let conn = store();
        let t = |n| Timestamp::from_nanos(n);
        record_sightings(
            &conn,
            &[
                (IndicatorKind::Domain, "evil.example", t(5)),
                (IndicatorKind::Domain, "evil.example", t(3)),
            ],
        )
        .unwrap();
        record_sighting(&conn, IndicatorKind::Domain, "evil.example", t(9)).unwrap();
        let (hits, first, last): (i64, i64, i64) = conn
            .query_row(
                "SELECT hits, first_hit, last_hit FROM intel_hits",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((hits, first, last), (3, 3, 9));
        let s = stats(&conn, t(0)).unwrap();
        assert_eq!(s.hits, (1, 3));
    }

    #[test]
    fn filter_by_confidence_tlp_tag_and_age() {
        let conn = store();
        let now = Timestamp::from_nanos(100 * DAY);
        let mut a = load("192.0.2.1 c2\n198.51.100.1 scan\n", "p", 100 * DAY);
        a[0].sightings[0].source.tlp = Some("red".into());
        a[1].sightings[0].source.confidence = 90;
        upsert(&conn, &a, &Lifetimes::default(), now).unwrap();
        let w = Whitelist::new();
        let get = |f: Filter| {
            active(&conn, &f, &w, now)
                .unwrap()
                .0
                .into_iter()
                .map(|i| i.value)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            get(Filter {
                min_confidence: 80,
                ..Filter::default()
            }),
            ["198.51.100.1"]
        );
        assert_eq!(
            get(Filter {
                max_tlp: Some(Tlp::Amber),
                ..Filter::default()
            }),
            ["198.51.100.1"]
        );
        assert_eq!(
            get(Filter {
                tags: vec!["c2".into()],
                ..Filter::default()
            }),
            ["192.0.2.1"]
        );
        assert!(
            get(Filter {
                seen_since: Some(Timestamp::from_nanos(101 * DAY)),
                ..Filter::default()
            })
            .is_empty()
        );
        assert!(
            get(Filter {
                kinds: vec![IndicatorKind::Domain],
                ..Filter::default()
            })
            .is_empty()
        );
    }
}
