//! Indicators in the store: one row per value, one row per source's
//! report of it (a sighting), feed state for conditional downloads and
//! grace periods, allow rules and warninglists, and the hits the matcher
//! saw in traffic.
//!
//! Every function works on a `rusqlite::Connection` (a `Transaction`
//! dereferences to one), so the store's writer and the CLI share them.
//! Times are nanoseconds since the Unix epoch. An indicator is found by
//! kind and value through the integer index on its [`key_hash`]. On 1 M
//! indicators that index cost a bulk import about half the CPU time of a
//! unique index on the text, and the import keeps values unique itself. IP ranges
//! carry their first and last address as 16-byte big-endian blobs (IPv4
//! mapped into `::ffff:0:0/96`) so that the ranges containing an address
//! are found with an indexed lookup. Containing networks are found by
//! exact value, one lookup per prefix length stored.
//!
//! Tables: `intel_indicators`, `intel_sources`, `intel_sightings`, `intel_feeds`,
//! `intel_allow`, `intel_warninglists`, `intel_hits`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::Hasher;
use std::net::IpAddr;
use std::ops::ControlFlow;

use fnv::FnvHasher;

use picket_event::{IntelSource, Severity, Timestamp};
use picket_intel::normalize::{UrlHost, ip_to_u128, parent_domains, parse_net};
use picket_intel::{
    AllowReason, Indicator, IndicatorKind, Lifetimes, Observable, Sighting, Tlp, Whitelist,
};
use rusqlite::{Connection, OptionalExtension, params};

mod bulk;
mod columns;
mod import;

use import::find_source;
pub use import::{Import, PreparedChunk, Preparer, upsert};

/// Returns the digest that finds an indicator by kind and value: FNV-1a
/// (64 bits) over the kind's name, a zero byte and the value. Every row
/// stores it, so it must be the same in every build and on every platform.
/// FNV-1a's specification fixes it, where the standard library's and
/// foldhash's hashers may change between versions.
pub fn key_hash(kind: IndicatorKind, value: &str) -> i64 {
    text_key_hash(kind.as_str(), value)
}

/// The columns of `intel_indicators`, without its name.
const INDICATOR_TABLE: &str = "(
            id INTEGER PRIMARY KEY,
            key_hash INTEGER NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            include_subdomains INTEGER NOT NULL DEFAULT 0,
            match_substring INTEGER NOT NULL DEFAULT 0,
            prefix_len INTEGER,
            ip_lo BLOB,
            ip_hi BLOB,
            first_seen INTEGER,
            last_seen INTEGER,
            expires_at INTEGER NOT NULL
        )";

/// The columns of `intel_sources`: one row per provider and feed that
/// reported a sighting, so that each sighting names its source by number.
const SOURCE_TABLE: &str = "(
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            feed TEXT NOT NULL,
            UNIQUE (provider, feed)
        )";

/// The columns of `intel_sightings`.
const SIGHTING_TABLE: &str = "(
            indicator_id INTEGER NOT NULL REFERENCES intel_indicators (id),
            source_id INTEGER NOT NULL REFERENCES intel_sources (id),
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
            PRIMARY KEY (indicator_id, source_id)
        ) WITHOUT ROWID";

/// The secondary indexes of the indicator and sighting tables.
const SECONDARY_INDEXES: &str = "
    CREATE INDEX IF NOT EXISTS intel_indicators_key ON intel_indicators (key_hash);
    CREATE INDEX IF NOT EXISTS intel_indicators_range
        ON intel_indicators (ip_lo) WHERE kind = 'ip_range';
    CREATE INDEX IF NOT EXISTS intel_indicators_prefix
        ON intel_indicators (prefix_len) WHERE prefix_len IS NOT NULL;
    CREATE INDEX IF NOT EXISTS intel_sightings_source ON intel_sightings (source_id);";

/// The secondary index an import into a store without indicators drops and
/// builds when it finishes: the digest index, whose entries arrive in no
/// order. The others take new rows at their ends (sightings of one source,
/// in id order) or take few (networks and ranges), so keeping them
/// current costs less than building them.
const DEFERRED_INDEXES: &str =
    "CREATE INDEX IF NOT EXISTS intel_indicators_key ON intel_indicators (key_hash);";

/// Drops [`DEFERRED_INDEXES`].
const DROP_DEFERRED_INDEXES: &str = "DROP INDEX IF EXISTS intel_indicators_key;";

/// Creates the intelligence tables and indexes when they are missing, and
/// upgrades the tables of a store written before [`key_hash`] and
/// `intel_sources` (see `upgrade_indicators` and `upgrade_sightings`).
pub fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    if needs_upgrade(conn)? {
        // Rebuilding a table that others reference needs foreign keys off
        // (SQLite's documented procedure for schema changes). The setting
        // applies outside a transaction only, so inside one the upgrade
        // fails and is rolled back.
        let enforced: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA foreign_keys = OFF")?;
        let upgraded = upgrade_indicators(conn).and_then(|()| upgrade_sightings(conn));
        if enforced {
            conn.execute_batch("PRAGMA foreign_keys = ON")?;
        }
        upgraded?;
    }
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS intel_indicators {INDICATOR_TABLE};
         CREATE TABLE IF NOT EXISTS intel_sources {SOURCE_TABLE};
         CREATE TABLE IF NOT EXISTS intel_sightings {SIGHTING_TABLE};"
    ))?;
    // An import into an empty store drops these and builds them when it
    // finishes; a store left without them gains them here.
    conn.execute_batch(SECONDARY_INDEXES)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS intel_feeds (
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

/// True when `table` exists and has `column`.
fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare("SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2")?;
    stmt.query_row(params![table, column], |r| r.get::<_, i64>(0))
        .map(|n| n > 0)
}

/// True when `table` exists.
fn has_table(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Returns true when the intelligence tables of a store need an upgrade
/// before this build can read them (a store written before [`key_hash`]).
/// Only a writer upgrades ([`create_schema`]), so a reader reports it
/// instead of failing on a missing column.
pub fn needs_upgrade(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(indicators_need_upgrade(conn)? || has_column(conn, "intel_sightings", "provider")?)
}

/// Returns true when `intel_indicators` exists without [`key_hash`].
fn indicators_need_upgrade(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(has_table(conn, "intel_indicators")? && !has_column(conn, "intel_indicators", "key_hash")?)
}

/// Rebuilds the sighting table of a store written before `intel_sources`:
/// each distinct provider and feed becomes a source, and each sighting
/// names it by id. Runs in a savepoint, as [`upgrade_indicators`] does.
fn upgrade_sightings(conn: &Connection) -> rusqlite::Result<()> {
    if !has_column(conn, "intel_sightings", "provider")? {
        return Ok(());
    }
    tracing::info!("upgrading the sighting table to numbered sources");

    let result = conn.execute_batch(&format!(
        "SAVEPOINT intel_upgrade;
         CREATE TABLE IF NOT EXISTS intel_sources {SOURCE_TABLE};
         INSERT OR IGNORE INTO intel_sources (provider, feed)
            SELECT DISTINCT provider, feed FROM intel_sightings ORDER BY provider, feed;
         DROP TABLE IF EXISTS intel_sightings_next;
         CREATE TABLE intel_sightings_next {SIGHTING_TABLE};
         INSERT INTO intel_sightings_next
            SELECT s.indicator_id, src.id, s.confidence, s.severity, s.tlp, s.tags, s.assessment, s.description,
                   s.reference, s.first_seen, s.last_seen, s.reported_at, s.valid_until, s.expires_at
            FROM intel_sightings s JOIN intel_sources src ON src.provider = s.provider AND src.feed = s.feed
            ORDER BY s.indicator_id, src.id;
         DROP TABLE intel_sightings;
         ALTER TABLE intel_sightings_next RENAME TO intel_sightings;
         RELEASE intel_upgrade;"
    ));
    if result.is_err() {
        let _ = conn.execute_batch("ROLLBACK TO intel_upgrade; RELEASE intel_upgrade;");
    }
    result
}

/// Rebuilds the indicator table of a store written before [`key_hash`].
/// The rows keep their ids and gain their digests, the integer index
/// replaces the unique index on the text, and rows other than ranges lose
/// the address bounds that only ranges use. Runs in a savepoint, so an
/// interrupted upgrade leaves the old table as it was. A store already
/// upgraded costs one schema lookup.
fn upgrade_indicators(conn: &Connection) -> rusqlite::Result<()> {
    if !indicators_need_upgrade(conn)? {
        return Ok(());
    }
    tracing::info!("upgrading the indicator table to keyed digests");

    conn.execute_batch(&format!(
        "SAVEPOINT intel_upgrade;
         DROP TABLE IF EXISTS intel_indicators_next;
         CREATE TABLE intel_indicators_next {INDICATOR_TABLE};
         INSERT INTO intel_indicators_next
            (id, key_hash, kind, value, include_subdomains, match_substring, prefix_len, ip_lo, ip_hi,
             first_seen, last_seen, expires_at)
         SELECT id, 0, kind, value, include_subdomains, match_substring, prefix_len,
                CASE WHEN kind = 'ip_range' THEN ip_lo END, CASE WHEN kind = 'ip_range' THEN ip_hi END,
                first_seen, last_seen, expires_at
         FROM intel_indicators ORDER BY id;"
    ))?;

    let result = (|| {
        let mut read = conn.prepare("SELECT id, kind, value FROM intel_indicators_next")?;
        let mut write =
            conn.prepare("UPDATE intel_indicators_next SET key_hash = ?2 WHERE id = ?1")?;
        let rows = read.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (id, kind, value) = row?;
            // A kind this build does not know keeps a digest of its text, so
            // that it stays findable the way it was stored.
            let hash = match kind.parse::<IndicatorKind>() {
                Ok(kind) => key_hash(kind, &value),
                Err(_) => text_key_hash(&kind, &value),
            };
            write.execute(params![id, hash])?;
        }
        conn.execute_batch(
            "DROP TABLE intel_indicators;
             ALTER TABLE intel_indicators_next RENAME TO intel_indicators;
             RELEASE intel_upgrade;",
        )
    })();
    if result.is_err() {
        let _ = conn.execute_batch("ROLLBACK TO intel_upgrade; RELEASE intel_upgrade;");
    }
    result
}

/// [`key_hash`] of a kind given by its stored name.
fn text_key_hash(kind: &str, value: &str) -> i64 {
    let mut hasher = FnvHasher::default();
    hasher.write(kind.as_bytes());
    hasher.write(&[0]);
    hasher.write(value.as_bytes());
    // SQLite integers are signed; the bits are kept as they are.
    hasher.finish() as i64
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

/// Ends the reports of one feed that were not renewed by its latest
/// successful download (`reported_at` before `pulled_at`): the provider
/// delisted them. Returns how many sightings expired.
pub fn expire_delisted(
    conn: &Connection,
    provider: &str,
    feed: &str,
    pulled_at: Timestamp,
) -> rusqlite::Result<u64> {
    let Some(source) = find_source(conn, provider, feed)? else {
        return Ok(0);
    };
    let n = conn.execute(
        "UPDATE intel_sightings SET expires_at = ?2
         WHERE source_id = ?1 AND reported_at < ?2 AND expires_at > ?2",
        params![source, pulled_at.as_nanos()],
    )?;
    refresh_indicator_expiry(conn, Some(source))?;
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
    let Some(source) = find_source(conn, provider, feed)? else {
        return Ok(0);
    };

    // The lifetime of each sighting's kind, NULL for a kind this build does
    // not know (such sightings are left alone). Names and numbers only, so
    // they are written into the statement.
    let mut life = String::from("(SELECT CASE kind");
    for kind in IndicatorKind::ALL {
        let nanos = picket_intel::expiry::days_to_nanos(lifetimes.days(kind));
        life.push_str(&format!(" WHEN '{}' THEN {nanos}", kind.as_str()));
    }
    life.push_str(" END FROM intel_indicators WHERE id = indicator_id)");

    let total = conn.execute(
        &format!(
            "UPDATE intel_sightings SET reported_at = ?2, last_seen = ?2,
                expires_at = CASE WHEN valid_until IS NULL THEN max(expires_at, ?2 + {life}) ELSE expires_at END
             WHERE source_id = ?1 AND expires_at > ?2 AND {life} IS NOT NULL"
        ),
        params![source, now.as_nanos()],
    )? as u64;
    refresh_indicator_expiry(conn, Some(source))?;
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
    let Some(source) = find_source(conn, provider, feed)? else {
        return Ok(0);
    };
    let n = conn.execute(
        "UPDATE intel_sightings SET expires_at = ?3
         WHERE source_id = ?1 AND expires_at > ?2 AND expires_at < ?3",
        params![source, last_success.as_nanos(), until.as_nanos()],
    )?;
    refresh_indicator_expiry(conn, Some(source))?;
    Ok(n as u64)
}

/// Recomputes each indicator's expiry as the latest of its sightings', for
/// the indicators one source reported or for all.
fn refresh_indicator_expiry(conn: &Connection, source: Option<i64>) -> rusqlite::Result<()> {
    let sql = "UPDATE intel_indicators SET expires_at =
                 (SELECT max(s.expires_at) FROM intel_sightings s WHERE s.indicator_id = intel_indicators.id)";
    match source {
        Some(source) => conn.execute(
            &format!(
                "{sql} WHERE id IN (SELECT indicator_id FROM intel_sightings WHERE source_id = ?1)"
            ),
            [source],
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
    /// Indicators still active: not expired and not whitelisted.
    pub active_indicators: u64,
    /// Indicators not expired that the whitelist in force covers, which are
    /// not active.
    pub whitelisted_indicators: u64,
    /// Sightings expired at `now`.
    pub expired_sightings: u64,
}

/// Recomputes indicator expiry from the sightings and counts what is
/// expired at `now`. Nothing is deleted: expired indicators stay for
/// retro-search.
pub fn expire(conn: &Connection, now: Timestamp) -> rusqlite::Result<ExpireCounts> {
    refresh_indicator_expiry(conn, None)?;
    let whitelisted: u64 = whitelisted_by_kind(conn, now)?.values().sum();
    let now = now.as_nanos();
    let count = |sql: &str| {
        conn.query_row(sql, [now], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    };
    Ok(ExpireCounts {
        expired_indicators: count("SELECT count(*) FROM intel_indicators WHERE expires_at <= ?1")?,
        active_indicators: count("SELECT count(*) FROM intel_indicators WHERE expires_at > ?1")?
            - whitelisted,
        whitelisted_indicators: whitelisted,
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

/// The change [`add_allow`] made to the allow rule of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowChange {
    /// The value had no allow rule.
    New,
    /// The value had a rule with another subdomain flag, source or note.
    Updated,
    /// The value had the same rule.
    Unchanged,
}

/// Stores a local allow rule, replacing the value's older rule, and
/// returns whether the rule is new, changed or the same as the stored one.
pub fn add_allow(
    conn: &Connection,
    observable: &Observable,
    source: &str,
    note: Option<&str>,
) -> rusqlite::Result<AllowChange> {
    let kind = observable.kind.as_str();
    let stored: Option<(bool, String, Option<String>)> = conn
        .query_row(
            "SELECT include_subdomains, source, note FROM intel_allow WHERE kind = ?1 AND value = ?2",
            params![kind, observable.value],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let change = match stored {
        None => AllowChange::New,
        Some((subdomains, ref old_source, ref old_note))
            if subdomains == observable.include_subdomains
                && old_source == source
                && old_note.as_deref() == note =>
        {
            return Ok(AllowChange::Unchanged);
        }
        Some(_) => AllowChange::Updated,
    };
    conn.execute(
        "INSERT INTO intel_allow (kind, value, include_subdomains, source, note) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (kind, value) DO UPDATE SET include_subdomains = ?3, source = ?4, note = ?5",
        params![kind, observable.value, observable.include_subdomains, source, note],
    )?;
    Ok(change)
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

/// Query of the sightings of the indicator with id `?1`, joined with their
/// sources.
const SIGHTINGS_OF: &str =
    "SELECT src.provider, src.feed, s.confidence, s.severity, s.tlp, s.tags, s.assessment, s.description,
            s.reference, s.first_seen, s.last_seen, s.reported_at, s.valid_until, s.expires_at
     FROM intel_sightings s JOIN intel_sources src ON src.id = s.source_id
     WHERE s.indicator_id = ?1";

/// Reads the sightings of the given indicator ids.
fn sightings_of(
    conn: &Connection,
    ids: &[i64],
    now: i64,
    only_active: bool,
) -> rusqlite::Result<HashMap<i64, Vec<Sighting>>> {
    let mut out: HashMap<i64, Vec<Sighting>> = HashMap::new();
    let mut stmt = conn.prepare_cached(SIGHTINGS_OF)?;
    for &id in ids {
        let sightings = sightings_of_one(&mut stmt, id, now, only_active)?;
        if !sightings.is_empty() {
            out.insert(id, sightings);
        }
    }
    Ok(out)
}

/// Reads the sightings of indicator `id` with `stmt`, a prepared
/// [`SIGHTINGS_OF`], sorted by provider and feed.
fn sightings_of_one(
    stmt: &mut rusqlite::Statement<'_>,
    id: i64,
    now: i64,
    only_active: bool,
) -> rusqlite::Result<Vec<Sighting>> {
    let mut out = Vec::new();
    {
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
                out.push(sighting);
            }
        }
    }

    // Sorted here rather than by `ORDER BY`, which would have SQLite set
    // up a sorter for the few rows of every indicator.
    out.sort_unstable_by(|a, b| {
        (&a.source.provider, &a.source.feed).cmp(&(&b.source.provider, &b.source.feed))
    });
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
        // Kind and value are compared on the rows of the digest, for the
        // reason given at [`FIND_INDICATOR`].
        let mut exact = conn.prepare_cached(&format!(
            "SELECT {INDICATOR_COLUMNS} FROM intel_indicators i WHERE key_hash = ?1"
        ))?;
        let mut find = |kind: IndicatorKind, value: &str| -> rusqlite::Result<Option<Row>> {
            let found = exact.query_map([key_hash(kind, value)], indicator_row)?;
            for row in found {
                if let Some(row) = row?
                    && row.1 == kind
                    && row.2 == value
                {
                    return Ok(Some(row));
                }
            }
            Ok(None)
        };
        for (kind, value) in &keys {
            if let Some(row) = find(*kind, value)?
                && seen_ids.insert(row.0)
            {
                rows.push(row);
            }
        }
        for (name, must_cover_subdomains) in &domain_keys {
            if let Some(row) = find(IndicatorKind::Domain, name)?
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
        "SELECT {INDICATOR_COLUMNS} FROM intel_indicators i WHERE ?1 OR i.expires_at > ?2"
    ))?;
    let mut rows: Vec<Row> = stmt
        .query_map(params![filter.include_expired, now_ns], indicator_row)?
        .filter_map(|r| r.transpose())
        .filter(|r| match r {
            Ok(row) => filter.kinds.is_empty() || filter.kinds.contains(&row.1),
            Err(_) => true,
        })
        .collect::<rusqlite::Result<_>>()?;
    // Sorted here by kind and value as stored (bytewise), because no index
    // is in that order.
    rows.sort_unstable_by(|a, b| (a.1.as_str(), &a.2).cmp(&(b.1.as_str(), &b.2)));

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

/// Calls `visit` with each indicator of the active set at `now`, the same
/// indicators in the same order as [`active`] returns, without holding the
/// set in memory. Returns the number of whitelisted indicators left out.
///
/// SQLite sorts the rows by kind and value, and the sightings of each
/// indicator are read when its turn comes. With `temp_store = FILE`, the
/// sorter writes its runs to a temporary file once they outgrow the page
/// cache, so memory stays bounded however large the store is. `visit` ends
/// the walk early by returning `ControlFlow::Break`.
///
/// Call inside a read transaction when the walk must see one state of a
/// store that a writer changes meanwhile, or when it is repeated.
pub fn each_active(
    conn: &Connection,
    filter: &Filter,
    whitelist: &Whitelist,
    now: Timestamp,
    visit: &mut dyn FnMut(Indicator) -> ControlFlow<()>,
) -> rusqlite::Result<u64> {
    let now_ns = now.as_nanos();
    // Stored kinds are the names of `IndicatorKind::as_str`, and TEXT
    // compares bytewise as Rust's `str` does, so this is the order in
    // which `active` sorts.
    let mut rows = conn.prepare(&format!(
        "SELECT {INDICATOR_COLUMNS} FROM intel_indicators i
         WHERE (?1 OR i.expires_at > ?2) AND (?3 = '' OR instr(?3, ',' || i.kind || ',') > 0)
         ORDER BY i.kind, i.value"
    ))?;
    let kinds: String = filter
        .kinds
        .iter()
        .map(|k| format!(",{},", k.as_str()))
        .collect();
    let mut sightings = conn.prepare(SIGHTINGS_OF)?;

    let mut whitelisted = 0;
    let mut found = rows.query(params![filter.include_expired, now_ns, kinds])?;
    while let Some(row) = found.next()? {
        let Some((id, kind, value, include_subdomains, match_substring, _)) = indicator_row(row)?
        else {
            continue;
        };
        let mut filtered = sightings_of_one(&mut sightings, id, now_ns, !filter.include_expired)?;
        filtered.retain(|s| filter.keeps(s));
        if filtered.is_empty() {
            continue;
        }
        if whitelist.check(kind, &value).is_some() {
            whitelisted += 1;
            continue;
        }
        let indicator = Indicator {
            kind,
            value,
            include_subdomains,
            match_substring,
            sightings: filtered,
        };
        if visit(indicator).is_break() {
            break;
        }
    }
    Ok(whitelisted)
}

/// Returns the ids of the indicators that a feed has a sighting of active
/// at `now`. Taken before and after a pull, the difference is what the
/// pull added, including values it lists again after they were delisted or
/// expired.
pub fn feed_indicator_ids(
    conn: &Connection,
    provider: &str,
    feed: &str,
    now: Timestamp,
) -> rusqlite::Result<HashSet<i64>> {
    let mut stmt = conn.prepare(
        "SELECT s.indicator_id FROM intel_sightings s JOIN intel_sources src ON src.id = s.source_id
         WHERE src.provider = ?1 AND src.feed = ?2 AND s.expires_at > ?3",
    )?;
    let ids = stmt
        .query_map(params![provider, feed, now.as_nanos()], |r| r.get(0))?
        .collect::<rusqlite::Result<HashSet<i64>>>()?;
    Ok(ids)
}

/// Returns the indicators with the given ids that are active at `now`,
/// each with its unexpired sightings, as [`active`] gives them. Expired
/// and whitelisted ones are left out.
pub fn active_by_ids(
    conn: &Connection,
    ids: &[i64],
    whitelist: &Whitelist,
    now: Timestamp,
) -> rusqlite::Result<Vec<Indicator>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INDICATOR_COLUMNS} FROM intel_indicators i WHERE i.id = ?1"
    ))?;
    let mut rows = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(row) = stmt.query_row([id], indicator_row).optional()?.flatten() {
            rows.push(row);
        }
    }

    let stored = materialize(conn, rows, whitelist, now, true)?;
    Ok(stored
        .into_iter()
        .filter(|s| s.active && !s.indicator.sightings.is_empty())
        .map(|s| s.indicator)
        .collect())
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
    /// (kind, active, expired, whitelisted) per kind. Active indicators are
    /// neither expired nor whitelisted, and whitelisted ones are not expired.
    pub by_kind: Vec<(String, u64, u64, u64)>,
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

/// Counts, per kind name, the indicators not expired at `now` that the
/// whitelist in force covers. Queries, exports and matching treat them as
/// not active, so the counts of active indicators leave them out. Without
/// allow rules or warninglists, nothing is read.
fn whitelisted_by_kind(
    conn: &Connection,
    now: Timestamp,
) -> rusqlite::Result<HashMap<String, u64>> {
    let whitelist = load_whitelist(conn)?;
    let mut counts = HashMap::new();
    if whitelist.is_empty() {
        return Ok(counts);
    }

    let mut stmt =
        conn.prepare("SELECT kind, value FROM intel_indicators WHERE expires_at > ?1")?;
    let mut rows = stmt.query([now.as_nanos()])?;
    while let Some(row) = rows.next()? {
        let name = row.get_ref(0)?.as_str()?;
        let Ok(kind) = name.parse::<IndicatorKind>() else {
            continue;
        };
        if whitelist.check(kind, row.get_ref(1)?.as_str()?).is_some() {
            *counts.entry(name.to_owned()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// Gathers the store's intelligence counts at `now`.
pub fn stats(conn: &Connection, now: Timestamp) -> rusqlite::Result<Stats> {
    let whitelisted = whitelisted_by_kind(conn, now)?;
    let now = now.as_nanos();
    let mut out = Stats::default();
    let mut stmt = conn.prepare(
        "SELECT kind, sum(expires_at > ?1), sum(expires_at <= ?1) FROM intel_indicators GROUP BY kind ORDER BY kind",
    )?;
    out.by_kind = stmt
        .query_map([now], |r| {
            let kind: String = r.get(0)?;
            let covered = whitelisted.get(&kind).copied().unwrap_or(0);
            Ok((
                kind,
                r.get::<_, i64>(1)? as u64 - covered,
                r.get::<_, i64>(2)? as u64,
                covered,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(
        "SELECT src.provider, src.feed, count(*), sum(s.expires_at > ?1)
         FROM intel_sightings s JOIN intel_sources src ON src.id = s.source_id
         GROUP BY s.source_id ORDER BY src.provider, src.feed",
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
    fn new_source_on_stored_values_counts_once() {
        let conn = store();
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);
        upsert(&conn, &load("192.0.2.1\n", "p1", 100 * DAY), &l, now).unwrap();

        // A source this import creates reports a stored value twice: the
        // second report updates the sighting the first created.
        let mut import = Import::begin(&conn, &l, now).unwrap();
        import.add(&load("192.0.2.1 a\n", "p2", 101 * DAY)).unwrap();
        import.add(&load("192.0.2.1 b\n", "p2", 101 * DAY)).unwrap();
        assert_eq!(
            import.finish().unwrap(),
            UpsertCounts {
                new: 1,
                updated: 0,
                unchanged: 0
            }
        );
        let found = query(&conn, "192.0.2.1", &Whitelist::new(), now).unwrap();
        let sightings = &found[0].indicator.sightings;
        assert_eq!(sightings.len(), 2);
        assert_eq!(sightings[1].source.provider, "p2");
        assert_eq!(sightings[1].source.tags, ["b"]);

        // The next import of that source compares with what it stored.
        let again = load("192.0.2.1 b\n", "p2", 102 * DAY);
        assert_eq!(
            upsert(&conn, &again, &l, now).unwrap(),
            UpsertCounts {
                new: 0,
                updated: 0,
                unchanged: 1
            }
        );
    }

    #[test]
    fn new_source_on_many_stored_values() {
        let conn = store();
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);
        let listed: String = (0..150)
            .map(|i| format!("10.0.{}.{}\n", i / 100, i % 100))
            .collect();
        upsert(&conn, &load(&listed, "p1", 100 * DAY), &l, now).unwrap();

        // A new source names more stored values than one block contains. One
        // value has two sightings of that source, one is repeated late, and
        // one is not stored yet.
        let tagged: String = (0..150)
            .map(|i| format!("10.0.{}.{} n\n", i / 100, i % 100))
            .collect();
        let mut chunk = load(&format!("{tagged}192.0.2.1 n\n"), "p2", 101 * DAY);
        let mut again = chunk[7].sightings[0].clone();
        again.source.tags = vec!["m".into()];
        chunk[7].sightings.push(again);
        let mut import = Import::begin(&conn, &l, now).unwrap();
        import.add(&chunk).unwrap();
        import
            .fold_repeats(&load("10.0.1.20 z\n", "p2", 101 * DAY))
            .unwrap();
        assert_eq!(
            import.finish().unwrap(),
            UpsertCounts {
                new: 151,
                updated: 0,
                unchanged: 0
            }
        );

        let count: i64 = conn
            .query_row(
                "SELECT count(*) FROM intel_sightings s JOIN intel_sources src ON src.id = s.source_id
                 WHERE src.provider = 'p2' AND s.tags = 'n'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            count, 149,
            "all but the two sightings changed after their insert"
        );
        let w = Whitelist::new();
        let tags_of = |value: &str| {
            let found = query(&conn, value, &w, now).unwrap();
            let s = &found[0].indicator.sightings;
            assert_eq!(s.len(), 2, "{value}");
            s[1].source.tags.clone()
        };
        assert_eq!(tags_of("10.0.0.7"), ["m"]);
        assert_eq!(tags_of("10.0.1.20"), ["n", "z"]);
        assert_eq!(tags_of("10.0.1.49"), ["n"]);
    }

    #[test]
    fn empty_store_import_merges_twins() {
        let conn = store();
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);

        // Ordered by tags first, the twin of new.example (the same value
        // without subdomains, with other tags) lands among other rows.
        let listed: String = (0..5)
            .map(|i| format!("a{i}.example a\nb{i}.example twin\n"))
            .collect();
        let mut batch = load(&format!("new.example a\n{listed}"), "p1", 100 * DAY);
        let mut twin = batch[0].clone();
        twin.include_subdomains = false;
        twin.sightings[0].source.tags = vec!["twin".into()];
        batch.push(twin);
        let counts = upsert(&conn, &batch, &l, now).unwrap();
        assert_eq!(counts.new, 11);

        let count: i64 = conn
            .query_row(
                "SELECT count(*) FROM intel_indicators WHERE value = 'new.example'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(count, 1);
        let found = query(&conn, "a.new.example", &Whitelist::new(), now).unwrap();
        assert!(found[0].indicator.include_subdomains, "the wider twin wins");
        assert_eq!(found[0].indicator.sightings[0].source.tags, ["twin"]);
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

        // The counts of active indicators leave the whitelisted one out.
        let kinds = stats(&conn, t1).unwrap().by_kind;
        assert_eq!(kinds, [("ipv4".to_owned(), 0, 1, 1)]);
        let counts = expire(&conn, t1).unwrap();
        assert_eq!(counts.active_indicators, 0);
        assert_eq!(counts.whitelisted_indicators, 1);
    }

    #[test]
    fn allow_rule_reports_its_change() {
        let conn = store();
        let value =
            picket_intel::normalize_observable(IndicatorKind::Domain, "evil.example").unwrap();

        let first = add_allow(&conn, &value, "allow.txt", None).unwrap();
        let again = add_allow(&conn, &value, "allow.txt", None).unwrap();
        let noted = add_allow(&conn, &value, "allow.txt", Some("lab")).unwrap();

        assert_eq!(first, AllowChange::New);
        assert_eq!(again, AllowChange::Unchanged);
        assert_eq!(noted, AllowChange::Updated);
        let rules: i64 = conn
            .query_row("SELECT count(*) FROM intel_allow", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rules, 1);
    }

    #[test]
    fn text_keyed_store_upgrades_in_place() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE intel_indicators (
                id INTEGER PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL,
                include_subdomains INTEGER NOT NULL DEFAULT 0, match_substring INTEGER NOT NULL DEFAULT 0,
                prefix_len INTEGER, ip_lo BLOB, ip_hi BLOB, first_seen INTEGER, last_seen INTEGER,
                expires_at INTEGER NOT NULL, UNIQUE (kind, value));
             INSERT INTO intel_indicators (id, kind, value, include_subdomains, prefix_len, ip_lo, expires_at) VALUES
                (7, 'domain', 'evil.example', 1, NULL, NULL, 9),
                (9, 'cidr', '10.0.0.0/8', 0, 8, x'00', 9);
             CREATE TABLE intel_sightings (
                indicator_id INTEGER NOT NULL REFERENCES intel_indicators (id),
                provider TEXT NOT NULL, feed TEXT NOT NULL, confidence INTEGER NOT NULL,
                severity TEXT, tlp TEXT, tags TEXT NOT NULL DEFAULT '', assessment TEXT, description TEXT,
                reference TEXT, first_seen INTEGER, last_seen INTEGER, reported_at INTEGER, valid_until INTEGER,
                expires_at INTEGER NOT NULL, PRIMARY KEY (indicator_id, provider, feed)) WITHOUT ROWID;
             CREATE INDEX intel_sightings_feed ON intel_sightings (provider, feed);
             INSERT INTO intel_sightings (indicator_id, provider, feed, confidence, tags, expires_at) VALUES
                (7, 'old', 'f', 80, 'c2', 9), (9, 'old', 'f', 60, '', 9), (9, 'other', 'g', 70, '', 9);",
        )
        .unwrap();
        assert!(needs_upgrade(&conn).unwrap());

        create_schema(&conn).unwrap();
        assert!(!needs_upgrade(&conn).unwrap());
        let rows: Vec<(i64, i64, Option<Vec<u8>>)> = conn
            .prepare("SELECT id, key_hash, ip_lo FROM intel_indicators ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows[0],
            (7, key_hash(IndicatorKind::Domain, "evil.example"), None)
        );
        assert_eq!(
            rows[1],
            (9, key_hash(IndicatorKind::Cidr, "10.0.0.0/8"), None),
            "bounds of a network are dropped"
        );

        // The ids stay, so sightings still point at their values, and a new
        // import finds the stored ones instead of adding them again.
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);
        let counts = upsert(
            &conn,
            &load("evil.example\n192.0.2.1\n", "p", 100 * DAY),
            &l,
            now,
        )
        .unwrap();
        assert_eq!(counts.new, 2);
        let count: i64 = conn
            .query_row("SELECT count(*) FROM intel_indicators", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 3);
        let found = query(&conn, "a.evil.example", &Whitelist::new(), now).unwrap();
        assert_eq!(found.len(), 1);
        let sightings = &found[0].indicator.sightings;
        let sources: Vec<(&str, u8)> = sightings
            .iter()
            .map(|s| (s.source.provider.as_str(), s.source.confidence))
            .collect();
        assert_eq!(sources, [("old", 80), ("p", 50)]);
        assert_eq!(sightings[0].source.tags, ["c2"]);
        let feeds: Vec<(String, String, u64, u64)> =
            stats(&conn, Timestamp::from_nanos(0)).unwrap().by_feed;
        let counts: Vec<(&str, u64)> = feeds.iter().map(|f| (f.0.as_str(), f.2)).collect();
        assert_eq!(counts, [("old", 2), ("other", 1), ("p", 2)]);
        assert_eq!(
            expire_delisted(&conn, "old", "f", Timestamp::from_nanos(5)).unwrap(),
            0
        );
        assert_eq!(expire_delisted(&conn, "missing", "f", now).unwrap(), 0);
    }

    #[test]
    fn key_hash_is_fixed() {
        // Stored in every row: a change would lose every stored value.
        assert_eq!(
            key_hash(IndicatorKind::Ipv4, "192.0.2.1"),
            text_key_hash("ipv4", "192.0.2.1")
        );
        assert_eq!(text_key_hash("", ""), 0xaf63bd4c8601b7df_u64 as i64);
    }

    /// Names of the secondary indexes the store has.
    fn secondary_indexes(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                 AND tbl_name IN ('intel_indicators', 'intel_sightings') ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    const ALL_SECONDARY: [&str; 4] = [
        "intel_indicators_key",
        "intel_indicators_prefix",
        "intel_indicators_range",
        "intel_sightings_source",
    ];

    #[test]
    fn import_into_empty_store_builds_indexes_at_finish() {
        let conn = store();
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);

        // A repeat in a later chunk and a late repeat both find the row
        // the import created while the digest index is dropped.
        let mut import = Import::begin(&conn, &l, now).unwrap();
        assert_eq!(
            secondary_indexes(&conn),
            [
                "intel_indicators_prefix",
                "intel_indicators_range",
                "intel_sightings_source"
            ]
        );
        import
            .add(&load(
                "192.0.2.1 a\n198.51.100.0/24\nbad.example\n",
                "p1",
                100 * DAY,
            ))
            .unwrap();
        import
            .add(&load("192.0.2.1 b\n192.0.2.1 c\n", "p2", 100 * DAY))
            .unwrap();
        import
            .fold_repeats(&load("bad.example x\n", "p1", 100 * DAY))
            .unwrap();
        assert_eq!(
            import.finish().unwrap(),
            UpsertCounts {
                new: 4,
                updated: 0,
                unchanged: 0
            }
        );
        assert_eq!(secondary_indexes(&conn), ALL_SECONDARY);

        let w = Whitelist::new();
        let found = query(&conn, "192.0.2.1", &w, now).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].indicator.sightings.len(), 2);
        let found = query(&conn, "198.51.100.7", &w, now).unwrap();
        assert_eq!(found[0].indicator.value, "198.51.100.0/24");
        let found = query(&conn, "www.bad.example", &w, now).unwrap();
        assert_eq!(found[0].indicator.sightings[0].source.tags, ["x"]);
        let count: i64 = conn
            .query_row("SELECT count(*) FROM intel_indicators", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 3);

        // The next import keeps the indexes and finds the same rows.
        let counts = upsert(&conn, &load("192.0.2.1 a\n", "p1", 101 * DAY), &l, now).unwrap();
        assert_eq!(
            counts,
            UpsertCounts {
                new: 0,
                updated: 0,
                unchanged: 1
            }
        );
        assert_eq!(secondary_indexes(&conn), ALL_SECONDARY);
    }

    #[test]
    fn rolled_back_import_keeps_indexes() {
        let conn = store();
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);
        let tx = conn.unchecked_transaction().unwrap();
        let mut import = Import::begin(&tx, &l, now).unwrap();
        import.add(&load("192.0.2.1\n", "p", 100 * DAY)).unwrap();
        drop(import);
        tx.rollback().unwrap();
        assert_eq!(secondary_indexes(&conn), ALL_SECONDARY);

        // A store committed without them (an import never finished) gains
        // them when a writer opens it.
        conn.execute_batch(DROP_DEFERRED_INDEXES).unwrap();
        create_schema(&conn).unwrap();
        assert_eq!(secondary_indexes(&conn), ALL_SECONDARY);
    }

    #[test]
    fn large_import_reads_stored_digests() {
        let conn = store();
        let l = Lifetimes::default();
        let now = Timestamp::from_nanos(100 * DAY);
        let first: String = (0..50).map(|i| format!("192.0.2.{i}\n")).collect();
        upsert(&conn, &load(&first, "p", 100 * DAY), &l, now).unwrap();

        // Half stored, half new, in one import that crosses from lookups
        // to digests held in memory.
        let second: String = (25..75).map(|i| format!("192.0.2.{i}\n")).collect();
        let counts = upsert(&conn, &load(&second, "p", 101 * DAY), &l, now).unwrap();
        assert_eq!(
            counts,
            UpsertCounts {
                new: 25,
                updated: 0,
                unchanged: 25
            }
        );
        let count: i64 = conn
            .query_row("SELECT count(*) FROM intel_indicators", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 75);
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
    fn streamed_active_set_matches_active() {
        let conn = store();
        let now = Timestamp::from_nanos(100 * DAY);
        let l = Lifetimes::default();
        let feed = "http://b.example/Z\nhttp://b.example/a\nzz.example c2\n192.0.2.10 c2\n\
                    192.0.2.9 scan\n10.0.0.0/8\n2001:db8::1\nallowed.example\nA.example c2\n\
                    e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n";
        let mut first = load(feed, "p2", 100 * DAY);
        first[3].sightings[0].source.tlp = Some("red".into());
        upsert(&conn, &first, &l, now).unwrap();
        upsert(
            &conn,
            &load("192.0.2.9 c2\nzz.example\n", "p1", 100 * DAY),
            &l,
            now,
        )
        .unwrap();
        let mut whitelist = Whitelist::new();
        whitelist.add_local(
            picket_intel::normalize_observable(IndicatorKind::Domain, "allowed.example").unwrap(),
            "local",
            None,
        );

        let filters = [
            Filter::default(),
            Filter {
                kinds: vec![IndicatorKind::Url, IndicatorKind::Ipv4],
                ..Filter::default()
            },
            Filter {
                tags: vec!["c2".into()],
                max_tlp: Some(Tlp::Amber),
                ..Filter::default()
            },
        ];
        for filter in &filters {
            let mut streamed = Vec::new();
            let whitelisted = each_active(&conn, filter, &whitelist, now, &mut |i| {
                streamed.push(i);
                ControlFlow::Continue(())
            })
            .unwrap();

            let (expected, expected_whitelisted) = active(&conn, filter, &whitelist, now).unwrap();
            assert_eq!(streamed, expected, "indicators of {filter:?}");
            assert_eq!(
                whitelisted, expected_whitelisted,
                "whitelisted of {filter:?}"
            );
        }

        let mut seen = 0;
        each_active(&conn, &Filter::default(), &whitelist, now, &mut |_| {
            seen += 1;
            ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(seen, 1, "a break ends the walk");
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
