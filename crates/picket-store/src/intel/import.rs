//! Importing indicators: the bulk path for values the store does not
//! contain yet, the merge path for stored ones and repeats, and the counts
//! of new, updated and unchanged sightings.

use fnv::{FnvHashMap, FnvHashSet};
use picket_event::Timestamp;
use picket_intel::normalize::{ip_bounds, parse_net};
use picket_intel::{Indicator, IndicatorKind, Lifetimes, Sighting};
use rusqlite::{Connection, OptionalExtension, params};

use super::bulk::{BULK_ROWS, BlockInserts, Cell};
use super::columns::{Columns, Span};
use super::{
    DEFERRED_INDEXES, DROP_DEFERRED_INDEXES, UpsertCounts, be, join_tags, key_hash, severity_text,
    sightings_of,
};

/// The maximum number of values [`Import::add_prepared`] defers to the
/// merge path before it merges them: two chunks of a feed.
const MERGES_DEFERRED: usize = 131_072;

/// The maximum memory the deferred values may take, by [`heap_bytes`]. A
/// count alone bounds nothing when each record carries a long URL or
/// description. Values of a generated feed, about 400 bytes each, reach
/// [`MERGES_DEFERRED`] first.
const MERGE_BYTES_DEFERRED: usize = 48 << 20;

/// Prepared statements an importing connection keeps: more than an
/// import uses, so that none is parsed again per value.
const STATEMENT_CACHE: usize = 64;

/// Columns of `intel_indicators` written for a new indicator. The id is
/// left to SQLite, which gives each new row the highest id plus one: the
/// id the import handed out, as [`insert_fresh`] checks. Naming the id
/// would have SQLite check that each is an unused integer, and a statement
/// that may stop on such a check keeps a statement journal (a copy of each
/// page it changes). Together that cost 8 % of the writing thread's
/// instructions.
const INDICATOR_INSERT: &str = "intel_indicators
    (key_hash, kind, value, include_subdomains, match_substring, prefix_len, ip_lo, ip_hi, first_seen, last_seen, expires_at)";
const INDICATOR_COLUMNS_WRITTEN: usize = 11;

/// Columns of `intel_sightings` written for a new sighting.
const SIGHTING_INSERT: &str = "intel_sightings
    (indicator_id, source_id, confidence, severity, tlp, tags, assessment, description, reference,
     first_seen, last_seen, reported_at, valid_until, expires_at)";
pub(super) const SIGHTING_COLUMNS_WRITTEN: usize = 14;

/// Returns the tags column text, without copying a single tag.
pub(super) fn tags_text(tags: &[String]) -> std::borrow::Cow<'_, str> {
    match tags {
        [] => std::borrow::Cow::Borrowed(""),
        [one] if !one.contains('\n') => std::borrow::Cow::Borrowed(one.as_str()),
        many => std::borrow::Cow::Owned(join_tags(many)),
    }
}

/// The columns of an indicator row derived from its value and sightings.
#[derive(Debug)]
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
/// or refreshes the sightings of these sources. `now` is used for
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
/// `picket_intel::load_file_chunked`). Run it inside one transaction, call
/// [`Import::finish`] before committing it, and roll it back after any
/// error.
///
/// Values the store does not contain yet take the bulk path. Ids are handed
/// out within each chunk in the order [`Preparer`] gives (by digest, and
/// by kind and tags first into a store without indicators), and rows go in with
/// multi-row `INSERT`s, so the row and sighting B-trees grow at their ends
/// and a kept digest index takes each chunk page by page.
/// Values already stored (and repeats) are merged one by one, in batches
/// ordered by row id (see [`Import::add_prepared`]). [`Keys`] separates
/// the two.
///
/// An import into a store without indicators drops the digest index
/// ([`DEFERRED_INDEXES`]) and builds it again in [`Import::finish`]:
/// building an index from the finished table sorts it once, where keeping
/// it current costs a B-tree descent per row into pages all over the
/// index. The other secondary indexes are kept current, because they take
/// new rows at their ends or take few: rebuilding them cost the writing
/// thread about 6 % more instructions on a list of 100,000 values. A
/// non-empty store keeps every index. Into a store that contains as many
/// indicators as the import adds, keeping the digest index is cheaper too:
/// 2.5 s of CPU against 2.9 s in the `sqlite3` shell on 1 M indicators.
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
    keys: Keys,
    sources: Sources,
    /// Indicators older than the import and sources it created, for each
    /// sighting the import wrote of such a pair (see [`Import::merge_one`]).
    joined: FnvHashSet<(i64, i64)>,
    bulk: BulkStatements<'c>,
    merge: MergeStatements<'c>,
    /// Values [`Import::add_prepared`] left to the merge path, with their
    /// digests.
    pending: Vec<(i64, Indicator)>,
    /// The [`heap_bytes`] of `pending`.
    pending_bytes: usize,
    /// Values merged since [`Import::take_merged`] was last called.
    merged: Vec<Indicator>,
    /// The ids and row positions of a chunk's new values, kept from chunk
    /// to chunk so that its memory is not fresh each time.
    fresh: Vec<(i64, usize)>,
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
                source_id INTEGER NOT NULL,
                created INTEGER NOT NULL,
                confidence INTEGER, severity TEXT, tlp TEXT, tags TEXT, assessment TEXT,
                description TEXT, reference TEXT, valid_until INTEGER,
                PRIMARY KEY (indicator_id, source_id)
            ) WITHOUT ROWID;
            DELETE FROM temp.intel_import_before;",
        )?;
        // The merge path alone keeps six statements, the bulk path one per
        // block length; re-preparing them per value once cost a fifth of a
        // re-import.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let next_id = next_free_id(conn)?;
        let keys = if next_id == 1 {
            conn.execute_batch(DROP_DEFERRED_INDEXES)?;
            Keys::Unindexed(CreatedIds::default())
        } else {
            // Ids are never reused, so the highest bounds the row count.
            Keys::Indexed(StoredKeys::new(u64::try_from(next_id - 1).unwrap_or(0)))
        };
        Ok(Import {
            conn,
            lifetimes: lifetimes.clone(),
            now,
            first_new_id: next_id,
            next_id,
            new: 0,
            keys,
            sources: Sources::default(),
            joined: FnvHashSet::default(),
            bulk: BulkStatements::new(),
            merge: MergeStatements::prepare(conn)?,
            pending: Vec::new(),
            pending_bytes: 0,
            merged: Vec::new(),
            fresh: Vec::new(),
        })
    }

    /// Tells the import about how many values its input holds, as an
    /// estimate. Into a store of fewer than ten times as many rows, the
    /// import then reads every stored digest at once instead of first
    /// looking values up one by one. On a CSV feed of 1 M values into a
    /// store of 1 M, those 100,000 lookups took about 0.08 s.
    pub fn expect_values(&mut self, count: u64) {
        if let Keys::Indexed(stored) = &mut self.keys {
            stored.expected = count;
        }
    }

    /// Returns what prepares chunks for this import on another thread.
    pub fn preparer(&self) -> Preparer {
        Preparer {
            lifetimes: self.lifetimes.clone(),
            now: self.now,
            by_kind: matches!(self.keys, Keys::Unindexed(_)),
            digests: Vec::new(),
            order: Vec::new(),
            staged: Vec::new(),
            staged_columns: Columns::default(),
            spare_rows: Vec::new(),
            spare_columns: Columns::default(),
        }
    }

    /// Stores one chunk of indicators, stored values and repeats included.
    pub fn add(&mut self, indicators: &[Indicator]) -> rusqlite::Result<()> {
        let (rows, columns) = self.preparer().rows(indicators);
        let chunk = ChunkRows {
            indicators,
            rows: &rows,
            columns: &columns,
        };
        let known = self.add_fresh(&chunk)?.rows;
        self.pending.extend(
            known
                .into_iter()
                .map(|(hash, index)| (hash, indicators[index].clone())),
        );
        self.merge_pending()
    }

    /// Stores one chunk prepared by [`Import::preparer`]. Its new values
    /// are written at once. Its stored values and repeats are moved out of
    /// the chunk and merged later in id order (see [`MERGES_DEFERRED`]), at
    /// the latest by [`Import::fold_repeats`] or [`Import::finish`]. A
    /// chunk with a value only the merge path can write is merged at once.
    pub fn add_prepared(&mut self, chunk: &mut PreparedChunk) -> rusqlite::Result<()> {
        let Known {
            rows: known,
            may_create,
        } = self.add_fresh(&ChunkRows {
            indicators: &chunk.indicators,
            rows: &chunk.rows,
            columns: &chunk.columns,
        })?;

        // Taken from the highest position down, so each `swap_remove` moves
        // an indicator that stays into the gap.
        let mut removal_order: Vec<usize> = (0..known.len()).collect();
        removal_order.sort_unstable_by_key(|&k| std::cmp::Reverse(known[k].1));
        let mut removed: Vec<Option<Indicator>> = Vec::new();
        removed.resize_with(known.len(), || None);
        for k in removal_order {
            removed[k] = Some(chunk.indicators.swap_remove(known[k].1));
        }
        chunk.rows.clear();

        // The values join `pending` in the order `known` lists them, the
        // order `add` merges them in. Two indicators of one value, one with
        // the subdomain flag and one without, update one sighting, so the
        // order decides whose details stay.
        for (&(hash, _), indicator) in known.iter().zip(removed) {
            if let Some(indicator) = indicator {
                self.pending_bytes += heap_bytes(&indicator);
                self.pending.push((hash, indicator));
            }
        }

        // A row the merge path creates must exist before the next chunk is
        // written. Otherwise an indicator of the same value there, one that
        // differs in its subdomain flag, takes the bulk path, and this
        // chunk's older details are merged over it.
        if may_create
            || self.pending.len() >= MERGES_DEFERRED
            || self.pending_bytes >= MERGE_BYTES_DEFERRED
        {
            self.merge_pending()?;
        }
        Ok(())
    }

    /// Returns the values [`Import::add_prepared`] took from its chunks and
    /// has merged since, so that the thread that allocated them can free
    /// them.
    pub fn take_merged(&mut self) -> Vec<Indicator> {
        std::mem::take(&mut self.merged)
    }

    /// Writes the values of a chunk the store does not contain, and returns
    /// the others: stored values, repeats and values only the merge path
    /// can write.
    fn add_fresh(&mut self, chunk: &ChunkRows<'_>) -> rusqlite::Result<Known> {
        let rows = chunk.rows;
        let conn = self.conn;
        let ids_left = i64::MAX.saturating_sub(self.next_id);
        let mut fresh = std::mem::take(&mut self.fresh);
        fresh.clear();
        let mut known = Known::default();
        let mut previous: Option<(IndicatorKind, &str)> = None;
        for (at, row) in rows.iter().enumerate() {
            let hash = row.hash;
            let key = (row.kind, chunk.value(row));
            let repeat = previous == Some(key);
            previous = Some(key);
            let merge_only = ids_left < rows.len() as i64 || row.repeated_source;
            if repeat || merge_only || self.keys.may_hold(conn, hash)? {
                known.rows.push((hash, row.index));
                known.may_create |= merge_only;
                continue;
            }

            // Ordered by tags first, equal values need not sit side by
            // side, so a row's digest is noted before the next row is
            // tested. The merge path then finds the row written below.
            if let Keys::Unindexed(created) = &mut self.keys {
                created.add(hash, self.next_id);
            }
            fresh.push((self.next_id, at));
            self.next_id += 1;
        }

        // New values first: a repeat in `known` merges into its row.
        let bulk = (&mut self.bulk, &mut self.sources);
        self.new += insert_fresh(conn, bulk, chunk, &fresh)?;
        if let Keys::Indexed(stored) = &mut self.keys {
            for &(_, at) in &fresh {
                stored.add(rows[at].hash);
            }
        }
        self.fresh = fresh;
        Ok(known)
    }

    /// Merges the deferred values into the store in the order of their
    /// rows' ids, those not found last in the order they came.
    ///
    /// A feed's stored values lie all over the indicator and sighting
    /// tables. Merged chunk by chunk in digest order, each value dirtied a
    /// page that the page cache might already have written out, so a later
    /// value on that page read it back. In id order each page is read once.
    /// The values are looked up in digest order first, in the digest index
    /// alone, so that the lookups walk the index and not the table. On a
    /// CSV feed of 1 M values of which 42,000 were in a store of 1 M, the
    /// import made 48,000 page writes and 13,000 page reads instead of
    /// 67,000 and 38,000. It took 2.46 to 2.54 s instead of 2.67 to 2.70.
    fn merge_pending(&mut self) -> rusqlite::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;

        // In digest order the lookups walk the digest index page by page.
        // In the order the values came, each lookup could read a page.
        pending.sort_by_key(|&(hash, _)| hash);
        let mut order: Vec<(Option<Candidate>, usize)> = Vec::with_capacity(pending.len());
        for (position, (hash, indicator)) in pending.iter().enumerate() {
            let candidate =
                self.keys
                    .candidate(&mut self.merge, *hash, indicator.kind, &indicator.value)?;
            order.push((candidate, position));
        }
        order.sort_unstable_by_key(|&(candidate, position)| {
            (candidate.is_none(), candidate.map(Candidate::id), position)
        });

        let mut joining: Vec<NewSighting<'_>> = Vec::new();
        for (candidate, position) in order {
            let (hash, indicator) = &pending[position];
            let found = match candidate {
                Some(Candidate::Found(id)) => Some(id),
                Some(Candidate::Unconfirmed(id)) => self.keys.confirm(
                    &mut self.merge,
                    id,
                    *hash,
                    indicator.kind,
                    &indicator.value,
                )?,
                None => None,
            };
            let (created, id) = self.merge_one(*hash, indicator, found, Some(&mut joining))?;
            self.new += created;
            self.keys.add(*hash, id);
        }
        self.flush_joining(&mut joining)?;
        self.merged
            .extend(pending.into_iter().map(|(_, indicator)| indicator));

        // Ids handed out stay above every stored id, also after the merge
        // path created rows of its own.
        let top = next_free_id(self.conn)?;
        self.next_id = self.next_id.max(top);
        Ok(())
    }

    /// Folds late repeats of values stored earlier in this import (see
    /// `picket_intel::Chunk::Repeats`): each sighting is merged into the
    /// stored one of the same source as `Sighting::merge` does. A value or
    /// source not stored yet is added as by [`Import::add`].
    pub fn fold_repeats(&mut self, repeats: &[Indicator]) -> rusqlite::Result<()> {
        self.merge_pending()?;
        let conn = self.conn;
        let mut write = conn.prepare_cached(
            "UPDATE OR FAIL intel_sightings SET
                confidence = ?3, severity = ?4, tlp = ?5, tags = ?6, assessment = ?7, description = ?8,
                reference = ?9, first_seen = ?10, last_seen = ?11, reported_at = ?12, valid_until = ?13,
                expires_at = ?14
             WHERE indicator_id = ?1 AND source_id = ?2",
        )?;
        for repeat in repeats {
            let hash = key_hash(repeat.kind, &repeat.value);
            let id = self
                .keys
                .find(&mut self.merge, hash, repeat.kind, &repeat.value)?;
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
                let source = self.sources.find_or_create(
                    conn,
                    &merged.source.provider,
                    &merged.source.feed,
                )?;
                // A sighting older than the import is counted as updated or
                // unchanged, as `merge_one` notes it; one noted before stays.
                let (source, older) = (source.id, id < self.first_new_id && !source.created);
                if older {
                    self.merge.note_before.execute(params![id, source])?;
                }
                write.execute(params![
                    id,
                    source,
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
                let widened = Indicator {
                    sightings: vec![merged],
                    ..repeat.clone()
                };
                widen_with(
                    &mut self.merge.widen,
                    id,
                    &widened,
                    &IndicatorFacts::of(&widened, &self.lifetimes, self.now),
                )?;
            }
            if !rest.is_empty() {
                let indicator = Indicator {
                    sightings: rest,
                    ..repeat.clone()
                };
                let (created, id) = self.merge_one(hash, &indicator, id, None)?;
                self.new += created;
                self.keys.add(hash, id);
            }
        }
        Ok(())
    }

    /// Merges one indicator (`hash` is its [`key_hash`]) into the store: its
    /// row is widened or created, and each sighting is updated or added. A
    /// sighting of an indicator and a source both older than the import
    /// (`id < first_new_id`) is noted in `intel_import_before` the first
    /// time it is touched: with its details before the import, or as
    /// created. Returns how many sightings were created, and the
    /// indicator's id.
    ///
    /// A stored value with a stored sighting, the whole of a re-import, costs
    /// four statements: find, widen, note, update.
    ///
    /// A sighting of an indicator older than the import by a source the
    /// import created exists only if the import wrote it, and `joined`
    /// records those. A new one goes to `joining` for the bulk path's block
    /// inserts, or is inserted at once when `joining` is `None`. Skipping an
    /// update that finds nothing and an insert of its own cut the writing
    /// thread's instructions by 2.6 % on a CSV feed of which the store
    /// contained 4 %.
    fn merge_one<'i>(
        &mut self,
        hash: i64,
        indicator: &'i Indicator,
        found: Option<i64>,
        mut joining: Option<&mut Vec<NewSighting<'i>>>,
    ) -> rusqlite::Result<(u64, i64)> {
        let (conn, st, sources) = (self.conn, &mut self.merge, &mut self.sources);
        let (lifetimes, now, first_new_id) = (&self.lifetimes, self.now, self.first_new_id);
        let mut created = 0;
        let facts = IndicatorFacts::of(indicator, lifetimes, now);
        // A value not found before may have been created since, by an
        // earlier value of the same merge.
        let found = match found {
            Some(id) => Some(id),
            None => self.keys.find(st, hash, indicator.kind, &indicator.value)?,
        };
        let id = match found {
            Some(id) => {
                widen_with(&mut st.widen, id, indicator, &facts)?;
                id
            }
            None => {
                st.create.execute(params![
                    hash,
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
                ])?;
                conn.last_insert_rowid()
            }
        };

        let older = id < first_new_id;
        for s in &indicator.sightings {
            let source = sources.find_or_create(conn, &s.source.provider, &s.source.feed)?;
            // Only a sighting older than the import needs its details noted,
            // and a source this import created has none.
            let note = older && !source.created;
            let joins = older && source.created;
            let source = source.id;
            if joins {
                if self.joined.insert((id, source)) {
                    created += 1;
                    if let Some(joining) = joining.as_deref_mut() {
                        joining.push((id, source, indicator.kind, s));
                        if joining.len() == BULK_ROWS {
                            insert_sightings(conn, &mut self.bulk, joining, lifetimes, now)?;
                            joining.clear();
                        }
                        continue;
                    }
                    execute_sighting(
                        &mut st.insert,
                        id,
                        source,
                        indicator.kind,
                        s,
                        lifetimes,
                        now,
                    )?;
                    continue;
                }
                // The sighting exists, perhaps still waiting in `joining`.
                if let Some(joining) = joining.as_deref_mut()
                    && !joining.is_empty()
                {
                    insert_sightings(conn, &mut self.bulk, joining, lifetimes, now)?;
                    joining.clear();
                }
            }
            let noted = note && st.note_before.execute(params![id, source])? == 1;
            let kind = indicator.kind;
            // A sighting just noted exists; another may not.
            if execute_sighting(&mut st.update, id, source, kind, s, lifetimes, now)? == 1 {
                continue;
            }
            debug_assert!(!noted, "a noted sighting exists");
            execute_sighting(&mut st.insert, id, source, kind, s, lifetimes, now)?;
            created += 1;
            if note {
                st.note_created.execute(params![id, source])?;
            }
        }
        Ok((created, id))
    }

    /// Writes the sightings [`Import::merge_one`] left in `joining`.
    fn flush_joining(&mut self, joining: &mut Vec<NewSighting<'_>>) -> rusqlite::Result<()> {
        if !joining.is_empty() {
            insert_sightings(
                self.conn,
                &mut self.bulk,
                joining,
                &self.lifetimes,
                self.now,
            )?;
            joining.clear();
        }
        Ok(())
    }

    /// Ends the import and returns its counts.
    pub fn finish(mut self) -> rusqlite::Result<UpsertCounts> {
        self.merge_pending()?;
        if matches!(self.keys, Keys::Unindexed(_)) {
            self.conn.execute_batch(DEFERRED_INDEXES)?;
        }

        // The temporary table is the outer loop: the planner, without
        // statistics, would otherwise scan every stored sighting, which cost
        // 7 % of the CPU time of importing 1 M indicators into a store of 1 M.
        let (updated, unchanged): (i64, i64) = self.conn.query_row(
            &format!(
                "SELECT coalesce(sum(changed), 0), coalesce(sum(NOT changed), 0) FROM (
                    SELECT {SIGHTING_CHANGED} AS changed
                    FROM temp.intel_import_before b
                    CROSS JOIN intel_sightings s USING (indicator_id, source_id)
                    WHERE NOT b.created)"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;

        // A changed sighting took its new expiry, which may be earlier than
        // the old one (a shorter or past `valid_until`), while the merge only
        // ever extends its indicator's. The indicators of changed sightings
        // therefore take the latest expiry of their sightings again.
        // NOTE: sightings this import created are not noted. When the file
        // repeats a new value after its chunk was stored, a shorter validity
        // in the repeat reaches the sighting, not the indicator, until
        // `intel expire` runs.
        if updated > 0 {
            self.conn.execute(
                &format!(
                    "UPDATE intel_indicators SET expires_at =
                        (SELECT max(s.expires_at) FROM intel_sightings s
                         WHERE s.indicator_id = intel_indicators.id)
                     WHERE id IN (
                        SELECT b.indicator_id FROM temp.intel_import_before b
                        CROSS JOIN intel_sightings s USING (indicator_id, source_id)
                        WHERE NOT b.created AND {SIGHTING_CHANGED})"
                ),
                [],
            )?;
        }
        self.conn
            .execute_batch("DELETE FROM temp.intel_import_before")?;
        Ok(UpsertCounts {
            new: self.new,
            updated: updated as u64,
            unchanged: unchanged as u64,
        })
    }
}

/// The means by which an import separates new values from stored ones and
/// finds the rows of stored ones.
enum Keys {
    /// The store's indexes are kept current row by row.
    Indexed(StoredKeys),
    /// The import began on a store without indicators and dropped the
    /// digest index, so every row stored is one it created.
    Unindexed(CreatedIds),
}

impl Keys {
    /// False when no stored value has this digest, so a value with it is
    /// new; true when one may have it.
    fn may_hold(&mut self, conn: &Connection, hash: i64) -> rusqlite::Result<bool> {
        match self {
            Keys::Indexed(stored) => stored.may_hold(conn, hash),
            Keys::Unindexed(created) => Ok(created.first.contains_key(&hash)),
        }
    }

    /// Notes the row `id` stored with digest `hash`.
    fn add(&mut self, hash: i64, id: i64) {
        match self {
            Keys::Indexed(stored) => stored.add(hash),
            Keys::Unindexed(created) => created.add(hash, id),
        }
    }

    /// Returns the row a value with this digest may have: its only row
    /// with the digest, read from the digest index alone, or the row found
    /// by kind and value among several. None when no row has the digest.
    fn candidate(
        &self,
        st: &mut MergeStatements<'_>,
        hash: i64,
        kind: IndicatorKind,
        value: &str,
    ) -> rusqlite::Result<Option<Candidate>> {
        let mut ids = [None; 2];
        match self {
            Keys::Indexed(_) => {
                let mut rows = st.ids_of.query([hash])?;
                for slot in &mut ids {
                    match rows.next()? {
                        Some(row) => *slot = Some(row.get(0)?),
                        None => break,
                    }
                }
            }
            Keys::Unindexed(created) => {
                for (slot, id) in ids.iter_mut().zip(created.ids(hash)) {
                    *slot = Some(id);
                }
            }
        }
        Ok(match ids {
            [None, _] => None,
            [Some(id), None] => Some(Candidate::Unconfirmed(id)),
            [Some(_), Some(_)] => self.find(st, hash, kind, value)?.map(Candidate::Found),
        })
    }

    /// Returns `id` when its row contains this kind and value, and otherwise
    /// the row found by [`Keys::find`], if any.
    fn confirm(
        &self,
        st: &mut MergeStatements<'_>,
        id: i64,
        hash: i64,
        kind: IndicatorKind,
        value: &str,
    ) -> rusqlite::Result<Option<i64>> {
        let same = {
            let mut rows = st.read_key.query([id])?;
            match rows.next()? {
                Some(row) => {
                    row.get_ref(0)?.as_str()? == kind.as_str() && row.get_ref(1)?.as_str()? == value
                }
                None => false,
            }
        };
        if same {
            return Ok(Some(id));
        }
        self.find(st, hash, kind, value)
    }

    /// Returns the id of the indicator with this kind and value (and `hash`,
    /// its [`key_hash`]), if stored.
    fn find(
        &self,
        st: &mut MergeStatements<'_>,
        hash: i64,
        kind: IndicatorKind,
        value: &str,
    ) -> rusqlite::Result<Option<i64>> {
        let Keys::Unindexed(created) = self else {
            return find_with(&mut st.find, hash, kind, value);
        };
        for id in created.ids(hash) {
            let mut rows = st.read_key.query([id])?;
            if let Some(row) = rows.next()?
                && row.get_ref(0)?.as_str()? == kind.as_str()
                && row.get_ref(1)?.as_str()? == value
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

/// Returns an estimate of the memory an indicator takes, in bytes: its
/// struct, its value, and each sighting with its texts.
fn heap_bytes(indicator: &Indicator) -> usize {
    let text = |t: &Option<String>| t.as_ref().map_or(0, String::len);
    let sightings: usize = indicator
        .sightings
        .iter()
        .map(|s| {
            let tags: usize = s
                .source
                .tags
                .iter()
                .map(|t| t.len() + std::mem::size_of::<String>())
                .sum();
            std::mem::size_of::<Sighting>()
                + s.source.provider.len()
                + s.source.feed.len()
                + tags
                + text(&s.source.tlp)
                + text(&s.source.description)
                + text(&s.source.reference)
                + text(&s.assessment)
        })
        .sum();
    std::mem::size_of::<Indicator>() + indicator.value.len() + sightings
}

/// The row a value's digest points to, before the value is merged.
#[derive(Clone, Copy, Debug)]
enum Candidate {
    /// The row of the value.
    Found(i64),
    /// The only row with the value's digest, whose kind and value are still
    /// to be compared: reading them then costs no page that merging the
    /// value does not read anyway.
    Unconfirmed(i64),
}

impl Candidate {
    fn id(self) -> i64 {
        match self {
            Candidate::Found(id) | Candidate::Unconfirmed(id) => id,
        }
    }
}

/// The values of a chunk that [`Import::add_fresh`] left to the merge path.
#[derive(Default)]
struct Known {
    /// Digest and position in the chunk of each value, in the order of the
    /// chunk's rows.
    rows: Vec<(i64, usize)>,
    /// True when a value may be missing from the store, so that merging
    /// it creates its row.
    may_create: bool,
}

/// The ids of the rows an import created, by [`key_hash`]: how it finds
/// them while the digest index is dropped. 18 to 36 bytes a row.
#[derive(Default)]
struct CreatedIds {
    /// The id of the first row created with each digest.
    first: FnvHashMap<i64, i64>,
    /// Later rows of a value whose digest an earlier value had.
    collided: Vec<(i64, i64)>,
}

impl CreatedIds {
    fn add(&mut self, hash: i64, id: i64) {
        let first = *self.first.entry(hash).or_insert(id);
        if first != id && !self.collided.contains(&(hash, id)) {
            self.collided.push((hash, id));
        }
    }

    /// Returns the ids of the rows with this digest, oldest first.
    fn ids(&self, hash: i64) -> impl Iterator<Item = i64> + '_ {
        let later = self
            .collided
            .iter()
            .filter(move |&&(h, _)| h == hash)
            .map(|&(_, id)| id);
        self.first.get(&hash).copied().into_iter().chain(later)
    }
}

/// Prepares chunks of indicators for one [`Import`] on any thread: each
/// value's digest and row facts are computed and ordered, so that the
/// thread writing the store only writes.
#[derive(Debug)]
pub struct Preparer {
    lifetimes: Lifetimes,
    now: Timestamp,
    /// Orders rows by kind before digest, for an import that builds the
    /// digest index when it finishes.
    by_kind: bool,
    /// Buffers of the last chunk, kept for the next, so that their memory
    /// is not fresh each time: the digests, the sort order, the rows in
    /// the order the values came, and their columns.
    digests: Vec<i64>,
    order: Vec<(IndicatorKind, u32, i64, usize)>,
    staged: Vec<Option<PreparedRow>>,
    staged_columns: Columns,
    /// The rows and columns of a stored chunk given back
    /// ([`Preparer::recycle`]), for the next chunk's.
    spare_rows: Vec<PreparedRow>,
    spare_columns: Columns,
}

impl Preparer {
    /// Takes back a chunk [`Import::add_prepared`] has stored: its
    /// indicators are freed, and its rows and columns keep their memory
    /// for the next chunk. A chunk of 65,536 generated values makes about
    /// 20 MB of them (an estimate), and fresh pages cost the parse thread
    /// time, which bounds a plain list's import.
    pub fn recycle(&mut self, chunk: PreparedChunk) {
        let PreparedChunk {
            indicators,
            mut rows,
            columns,
        } = chunk;
        drop(indicators);
        rows.clear();
        self.spare_rows = rows;
        self.spare_columns = columns;
    }

    /// Prepares a chunk for [`Import::add_prepared`].
    pub fn prepare(&mut self, indicators: Vec<Indicator>) -> PreparedChunk {
        let (rows, columns) = self.rows(&indicators);
        PreparedChunk {
            indicators,
            rows,
            columns,
        }
    }

    /// Returns the rows of `indicators` in digest order, or by kind, then
    /// tags, then digest when `by_kind` is set. In digest order, equal
    /// values sit side by side.
    ///
    /// Into a store that keeps its digest index current, digest order lets
    /// the index take each chunk page by page in one pass. An import that
    /// builds the index when it finishes orders by kind first instead.
    /// Most blocks of the bulk path then share their kind and the columns
    /// that follow from it, which saved 6 % of the writing thread's
    /// instructions on a plain list. Ordered by kind, a kept index took a
    /// pass per kind, and a CSV feed into a store of 1 M took 5 to 8 % more
    /// CPU time. Within a kind, rows with the same tags then share the tags
    /// column of their sightings' blocks as well.
    ///
    /// Records of one value (with and without the subdomain flag) sit side
    /// by side in the order they came, whichever order is used, so that the
    /// later record's details win as they do across chunks.
    ///
    /// It also copies the rows' columns into [`Columns`], for the reason
    /// given there.
    fn rows(&mut self, indicators: &[Indicator]) -> (Vec<PreparedRow>, Columns) {
        let Preparer {
            lifetimes,
            now,
            by_kind,
            digests,
            order,
            staged,
            staged_columns: columns,
            spare_rows,
            spare_columns,
        } = self;
        let (by_kind, now) = (*by_kind, *now);
        digests.clear();
        digests.extend(indicators.iter().map(|i| key_hash(i.kind, &i.value)));
        let groups = if by_kind {
            tag_groups(indicators, digests)
        } else {
            Vec::new()
        };

        // Kinds, tag groups, digests and positions alone are sorted, and the
        // values are read only where two digests are equal.
        order.clear();
        order.extend(indicators.iter().zip(digests.iter()).enumerate().map(
            |(index, (i, &digest))| {
                let group = groups.get(index).copied().unwrap_or(0);
                (i.kind, group, digest, index)
            },
        ));
        order.sort_unstable_by(|&(k, g, a, i), &(l, h, b, j)| {
            let first = if by_kind {
                k.cmp(&l).then(g.cmp(&h))
            } else {
                std::cmp::Ordering::Equal
            };
            first
                .then(a.cmp(&b))
                .then_with(|| (k, &indicators[i].value).cmp(&(l, &indicators[j].value)))
                .then(i.cmp(&j))
        });
        // The columns are copied in the order the indicators came, in
        // which their heap blocks lie one after another, and then the rows
        // are put in order.
        columns.clear();
        staged.clear();
        staged.extend(indicators.iter().zip(digests.iter()).enumerate().map(
            |(index, (indicator, &hash))| {
                Some(PreparedRow {
                    hash,
                    index,
                    kind: indicator.kind,
                    include_subdomains: indicator.include_subdomains,
                    match_substring: indicator.match_substring,
                    repeated_source: has_repeated_source(indicator),
                    value: columns.add_value(&indicator.value),
                    sightings: columns.add_sightings(indicator, lifetimes, now),
                    facts: IndicatorFacts::of(indicator, lifetimes, now),
                })
            },
        ));
        let mut rows = std::mem::take(spare_rows);
        rows.clear();
        rows.extend(
            order
                .iter()
                .filter_map(|&(_, _, _, index)| staged[index].take()),
        );
        let mut ordered = std::mem::take(spare_columns);
        columns.copy_in_order(
            rows.iter_mut()
                .map(|row| (&mut row.value, &mut row.sightings)),
            &mut ordered,
        );
        (rows, ordered)
    }
}

/// Numbers the tag sets of the indicators' first sightings in order of
/// first appearance, and returns each indicator's number. An indicator
/// takes the number of the first one with its digest (`digests` lists
/// them), so that the records of one value are not parted by their tags.
fn tag_groups(indicators: &[Indicator], digests: &[i64]) -> Vec<u32> {
    let mut numbers: FnvHashMap<&[String], u32> = FnvHashMap::default();
    let mut by_digest: FnvHashMap<i64, u32> = FnvHashMap::default();
    indicators
        .iter()
        .zip(digests)
        .map(|(indicator, &digest)| {
            let tags = indicator
                .sightings
                .first()
                .map_or(&[][..], |s| &s.source.tags[..]);
            let next = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
            let group = *numbers.entry(tags).or_insert(next);
            *by_digest.entry(digest).or_insert(group)
        })
        .collect()
}

/// A chunk's indicators with the rows and columns a [`Preparer`] made of
/// them.
struct ChunkRows<'a> {
    indicators: &'a [Indicator],
    rows: &'a [PreparedRow],
    columns: &'a Columns,
}

impl ChunkRows<'_> {
    /// Returns the value of `row`: its copy, or the indicator's own value
    /// when that was too long to copy.
    fn value(&self, row: &PreparedRow) -> &str {
        match row.value {
            Some(span) => self.columns.text(span),
            None => &self.indicators[row.index].value,
        }
    }
}

/// A chunk of indicators prepared by a [`Preparer`].
#[derive(Debug)]
pub struct PreparedChunk {
    indicators: Vec<Indicator>,
    rows: Vec<PreparedRow>,
    columns: Columns,
}

impl PreparedChunk {
    /// Adds indicators to free with the chunk, such as those
    /// [`Import::take_merged`] returns, so that the thread that allocated
    /// them frees them ([`Preparer::recycle`]).
    pub fn free_with(&mut self, mut indicators: Vec<Indicator>) {
        self.indicators.append(&mut indicators);
    }
}

/// One indicator of a [`PreparedChunk`].
#[derive(Debug)]
struct PreparedRow {
    hash: i64,
    /// Position in the chunk's indicators.
    index: usize,
    kind: IndicatorKind,
    include_subdomains: bool,
    match_substring: bool,
    /// Whether two sightings name one source ([`has_repeated_source`]).
    repeated_source: bool,
    /// The value's copy, or `None` for a value too long to copy
    /// ([`Columns::add_value`]).
    value: Option<Span>,
    /// The sightings' positions in the chunk's [`Columns`].
    sightings: std::ops::Range<usize>,
    facts: IndicatorFacts,
}

/// A lookup of one digest in the index costs about as much as reading
/// this many digests into memory. This is an estimate from the `sqlite3`
/// shell on 1 M rows: about 0.5 µs a lookup, 0.05 µs a digest read.
const DIGESTS_READ_PER_LOOKUP: u64 = 10;

/// The set of [`key_hash`] digests the store contains, which separates new
/// values from stored ones without a lookup each. Values are looked up in the
/// index until the import has made a tenth as many lookups as the store
/// has rows. Then every digest is read into memory at once, which costs
/// about as much as the lookups made so far. A small import into a large
/// store thus never reads it whole, and a large one pays at most twice
/// the cheaper way. An import that expects enough values
/// ([`Import::expect_values`]) reads every digest before its first lookup.
struct StoredKeys {
    /// Every digest stored once read, and those added since.
    digests: Option<SortedDigests>,
    /// The maximum number of rows the store contained when the import began.
    rows: u64,
    lookups: u64,
    /// The number of values the import expects ([`Import::expect_values`]).
    expected: u64,
}

impl StoredKeys {
    fn new(rows: u64) -> Self {
        StoredKeys {
            digests: None,
            rows,
            lookups: 0,
            expected: 0,
        }
    }

    /// False when no stored value has this digest, so a value with it is
    /// new; true when one may have it.
    fn may_hold(&mut self, conn: &Connection, hash: i64) -> rusqlite::Result<bool> {
        if self.digests.is_none()
            && self
                .lookups
                .max(self.expected)
                .saturating_mul(DIGESTS_READ_PER_LOOKUP)
                >= self.rows
        {
            self.digests = Some(SortedDigests::read(conn, self.rows, self.expected)?);
        }
        if let Some(digests) = &mut self.digests {
            return Ok(digests.contains(hash));
        }
        self.lookups += 1;
        conn.prepare_cached("SELECT 1 FROM intel_indicators WHERE key_hash = ?1 LIMIT 1")?
            .exists([hash])
    }

    /// Notes a digest now stored.
    fn add(&mut self, hash: i64) {
        if let Some(digests) = &mut self.digests {
            digests.add(hash);
        }
    }
}

/// Digests added to a [`SortedDigests`] before they are merged into its
/// sorted run, unless a quarter of the run is more. Each merge costs about
/// a pass over the run.
const UNMERGED_DIGESTS: usize = 65_536;

/// A set of digests kept as one sorted run plus the digests added since
/// the last merge. The store's digest index gives the run in order, so
/// reading it costs no hashing, and the rows of a chunk are tested in
/// digest order, so each test searches forward from where the last one
/// ended.
///
/// A hash set of the same digests took about a tenth of the writing
/// thread's time in `perf` samples of a CSV feed imported into a store of
/// 1 M indicators. Most of it was spent waiting on memory, because the set
/// was larger than the processor's caches. The sorted run takes about 2 %
/// for about as many instructions.
struct SortedDigests {
    run: Vec<i64>,
    /// Position in `run` where the last search ended.
    cursor: usize,
    added: FnvHashSet<i64>,
}

impl SortedDigests {
    /// Reads every digest in the store. `rows` sizes the run, with room for
    /// `expected` more, up to as many again as `rows`: the expectation is
    /// an estimate from the input's size, and a larger run grows as usual.
    fn read(conn: &Connection, rows: u64, expected: u64) -> rusqlite::Result<Self> {
        let room = rows.saturating_add(expected.min(rows));
        let mut run = Vec::with_capacity(usize::try_from(room).unwrap_or(0));
        let mut stmt = conn.prepare("SELECT key_hash FROM intel_indicators ORDER BY key_hash")?;
        let mut found = stmt.query([])?;
        while let Some(row) = found.next()? {
            run.push(row.get::<_, i64>(0)?);
        }
        let unmerged = UNMERGED_DIGESTS.max(run.len() / 4);
        Ok(SortedDigests {
            run,
            cursor: 0,
            added: FnvHashSet::with_capacity_and_hasher(unmerged, Default::default()),
        })
    }

    fn contains(&mut self, hash: i64) -> bool {
        self.seek(hash);
        self.run.get(self.cursor) == Some(&hash) || self.added.contains(&hash)
    }

    /// Moves the cursor to the first digest of the run not below `hash`:
    /// forward in growing steps from its position, or from the start when
    /// `hash` lies before it.
    fn seek(&mut self, hash: i64) {
        let run = &self.run;
        let mut low = if self.cursor > 0 && run[self.cursor - 1] >= hash {
            0
        } else {
            self.cursor
        };
        let mut step = 1;
        let mut high = low;
        while high < run.len() && run[high] < hash {
            low = high + 1;
            high = high.saturating_add(step);
            step *= 2;
        }
        let high = high.min(run.len());
        self.cursor = low + run[low..high].partition_point(|&h| h < hash);
    }

    fn add(&mut self, hash: i64) {
        self.added.insert(hash);
        if self.added.len() >= UNMERGED_DIGESTS.max(self.run.len() / 4) {
            self.merge();
        }
    }

    /// Merges the added digests into the run, from the back, so that no
    /// digest moves twice. Sorting the joined run would take a scratch
    /// buffer of half its length, fresh memory on each merge.
    fn merge(&mut self) {
        let mut added: Vec<i64> = self.added.drain().collect();
        added.sort_unstable();
        let old = self.run.len();
        self.run.resize(old + added.len(), 0);

        let (mut from, mut to) = (old, self.run.len());
        while let Some(&last) = added.last() {
            to -= 1;
            if from > 0 && self.run[from - 1] > last {
                from -= 1;
                self.run[to] = self.run[from];
            } else {
                self.run[to] = last;
                added.pop();
            }
        }
        self.cursor = 0;
    }
}

/// Source ids by provider and feed, created when first named. An import
/// names few sources, most often one, so a short list is searched.
#[derive(Default)]
struct Sources {
    known: Vec<Source>,
}

/// A source an import named.
struct Source {
    provider: String,
    feed: String,
    id: i64,
    /// True when this import created the source, so that no sighting of
    /// it is older than the import.
    created: bool,
}

impl Sources {
    /// Returns the id of a source, creating it when the store has none yet.
    fn id(&mut self, conn: &Connection, provider: &str, feed: &str) -> rusqlite::Result<i64> {
        self.find_or_create(conn, provider, feed).map(|s| s.id)
    }

    /// Returns a source, creating it when the store has none yet.
    fn find_or_create(
        &mut self,
        conn: &Connection,
        provider: &str,
        feed: &str,
    ) -> rusqlite::Result<&Source> {
        if let Some(at) = self
            .known
            .iter()
            .position(|s| s.provider == provider && s.feed == feed)
        {
            return Ok(&self.known[at]);
        }
        let created = conn
            .prepare_cached("INSERT OR IGNORE INTO intel_sources (provider, feed) VALUES (?1, ?2)")?
            .execute(params![provider, feed])?
            == 1;
        let id = find_source(conn, provider, feed)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        self.known.push(Source {
            provider: provider.to_owned(),
            feed: feed.to_owned(),
            id,
            created,
        });
        Ok(&self.known[self.known.len() - 1])
    }
}

/// Returns the id of a source, if it reported anything.
pub(super) fn find_source(
    conn: &Connection,
    provider: &str,
    feed: &str,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM intel_sources WHERE provider = ?1 AND feed = ?2")?
        .query_row(params![provider, feed], |r| r.get(0))
        .optional()
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

/// Returns the id after the highest indicator id, 1 for an empty table.
/// Ids are never reused, so a store whose highest id is `i64::MAX` has
/// none left to hand out, and an import into it fails with that reason.
fn next_free_id(conn: &Connection) -> rusqlite::Result<i64> {
    let top: Option<i64> =
        conn.query_row("SELECT max(id) FROM intel_indicators", [], |r| r.get(0))?;
    top.unwrap_or(0).checked_add(1).ok_or_else(|| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some(format!(
                "no indicator id is left (the highest stored id is {}): export the \
                 indicators and import them into a new store",
                i64::MAX
            )),
        )
    })
}

/// The bulk path's statements.
struct BulkStatements<'c> {
    indicators: BlockInserts<'c>,
    sightings: BlockInserts<'c>,
}

impl BulkStatements<'_> {
    fn new() -> Self {
        BulkStatements {
            indicators: BlockInserts::new(INDICATOR_INSERT),
            sightings: BlockInserts::new(SIGHTING_INSERT),
        }
    }
}

/// Inserts the new indicators `fresh` lists, each id with its row's
/// position in the chunk's rows, and their sightings, `BULK_ROWS` rows per
/// statement. No value may be stored already. Returns how many sightings
/// were created.
fn insert_fresh<'c>(
    conn: &'c Connection,
    (bulk, sources): (&mut BulkStatements<'c>, &mut Sources),
    chunk: &ChunkRows<'_>,
    fresh: &[(i64, usize)],
) -> rusqlite::Result<u64> {
    let (rows, columns) = (chunk.rows, chunk.columns);
    let mut created = 0;
    let mut source_ids: Vec<Option<i64>> = vec![None; columns.source_count()];
    let mut sightings: Vec<[Cell<'_>; SIGHTING_COLUMNS_WRITTEN]> = Vec::with_capacity(BULK_ROWS);
    let mut cells: Vec<[Cell<'_>; INDICATOR_COLUMNS_WRITTEN]> = Vec::with_capacity(BULK_ROWS);
    for block in fresh.chunks(BULK_ROWS) {
        cells.clear();
        for &(_, at) in block {
            let row = &rows[at];
            let facts = &row.facts;
            let bounds = facts.bounds.as_ref();
            cells.push([
                Cell::Integer(row.hash),
                Cell::Text(row.kind.as_str()),
                Cell::Text(chunk.value(row)),
                Cell::Integer(i64::from(row.include_subdomains)),
                Cell::Integer(i64::from(row.match_substring)),
                Cell::integer(facts.prefix),
                bounds.map_or(Cell::Null, |b| Cell::Blob(&b.0)),
                bounds.map_or(Cell::Null, |b| Cell::Blob(&b.1)),
                Cell::integer(facts.first),
                Cell::integer(facts.last),
                Cell::Integer(facts.expires),
            ]);
        }
        bulk.indicators.insert(conn, &cells)?;

        // The sightings below name the ids handed out, so SQLite must have
        // given the rows the same ones.
        let last = block.last().map_or(0, |&(id, _)| id);
        if conn.last_insert_rowid() != last {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERNAL),
                Some(format!(
                    "new indicators were stored up to id {} where {last} was expected",
                    conn.last_insert_rowid()
                )),
            ));
        }

        for &(id, at) in block {
            let row = &rows[at];
            let sightings_of_row = columns.sightings(row.sightings.clone());
            for (k, s) in sightings_of_row.iter().enumerate() {
                // Only a sighting with text left uncopied reads the
                // indicator, which lies far from the copied columns.
                let original = if s.uncopied_text {
                    chunk.indicators[row.index].sightings.get(k)
                } else {
                    None
                };
                let source = match source_ids[s.source] {
                    Some(source) => source,
                    None => {
                        let (provider, feed) = columns.source(s.source);
                        let source = sources.id(conn, provider, feed)?;
                        source_ids[s.source] = Some(source);
                        source
                    }
                };
                sightings.push(columns.cells(id, source, s, original));
                if sightings.len() == BULK_ROWS {
                    bulk.sightings.insert(conn, &sightings)?;
                    created += sightings.len() as u64;
                    sightings.clear();
                }
            }
        }
    }
    if !sightings.is_empty() {
        bulk.sightings.insert(conn, &sightings)?;
        created += sightings.len() as u64;
    }
    Ok(created)
}

/// A sighting to insert: indicator id, source id, the indicator's kind,
/// and the sighting.
type NewSighting<'a> = (i64, i64, IndicatorKind, &'a Sighting);

/// Executes the merge path's `update` or `insert` statement with the
/// columns of one sighting, and returns the number of changed rows.
fn execute_sighting(
    statement: &mut rusqlite::Statement<'_>,
    id: i64,
    source: i64,
    kind: IndicatorKind,
    s: &Sighting,
    lifetimes: &Lifetimes,
    now: Timestamp,
) -> rusqlite::Result<usize> {
    let tags = tags_text(&s.source.tags);
    statement.execute(params![
        id,
        source,
        s.source.confidence,
        s.severity.map(severity_text),
        s.source.tlp,
        tags.as_ref(),
        s.assessment,
        s.source.description,
        s.source.reference,
        s.first_seen.map(Timestamp::as_nanos),
        s.last_seen.map(Timestamp::as_nanos),
        s.reported_at.unwrap_or(now).as_nanos(),
        s.valid_until.map(Timestamp::as_nanos),
        lifetimes.expires_at(kind, s, now).as_nanos(),
    ])
}

/// Inserts new sightings with one statement.
fn insert_sightings<'c>(
    conn: &'c Connection,
    bulk: &mut BulkStatements<'c>,
    sightings: &[NewSighting<'_>],
    lifetimes: &Lifetimes,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let tags: Vec<std::borrow::Cow<'_, str>> = sightings
        .iter()
        .map(|&(_, _, _, s)| tags_text(&s.source.tags))
        .collect();
    let rows: Vec<[Cell<'_>; SIGHTING_COLUMNS_WRITTEN]> = sightings
        .iter()
        .zip(&tags)
        .map(|(&(id, source, kind, s), tags)| {
            [
                Cell::Integer(id),
                Cell::Integer(source),
                Cell::Integer(i64::from(s.source.confidence)),
                Cell::text(s.severity.map(severity_text)),
                Cell::text(s.source.tlp.as_deref()),
                Cell::Text(tags),
                Cell::text(s.assessment.as_deref()),
                Cell::text(s.source.description.as_deref()),
                Cell::text(s.source.reference.as_deref()),
                Cell::integer(s.first_seen.map(Timestamp::as_nanos)),
                Cell::integer(s.last_seen.map(Timestamp::as_nanos)),
                Cell::Integer(s.reported_at.unwrap_or(now).as_nanos()),
                Cell::integer(s.valid_until.map(Timestamp::as_nanos)),
                Cell::Integer(lifetimes.expires_at(kind, s, now).as_nanos()),
            ]
        })
        .collect();

    bulk.sightings.insert(conn, &rows)
}

/// SQL condition, true for a sighting `s` whose details differ from those
/// noted in `temp.intel_import_before` as `b` before the import.
const SIGHTING_CHANGED: &str = "(s.confidence IS NOT b.confidence OR s.severity IS NOT b.severity
        OR s.tlp IS NOT b.tlp OR s.tags IS NOT b.tags OR s.assessment IS NOT b.assessment
        OR s.description IS NOT b.description OR s.reference IS NOT b.reference
        OR s.valid_until IS NOT b.valid_until)";

/// Finds an indicator's row by [`key_hash`]; kind and value are compared
/// on the rows of the digest. Comparing them in SQL instead, a bound
/// `kind = ?` lets SQLite weigh the partial index on ranges against each
/// value bound, which has it parse the statement again on every run.
const FIND_INDICATOR: &str = "SELECT id, kind, value FROM intel_indicators WHERE key_hash = ?1";

/// Widens a stored row by the times and flags of a report of it.
const WIDEN_INDICATOR: &str = "UPDATE OR FAIL intel_indicators SET
            include_subdomains = max(include_subdomains, ?2),
            match_substring = max(match_substring, ?3),
            first_seen = min(coalesce(first_seen, ?4), coalesce(?4, first_seen)),
            last_seen = max(coalesce(last_seen, ?5), coalesce(?5, last_seen)),
            expires_at = max(expires_at, ?6)
         WHERE id = ?1";

/// The merge path's statements, prepared once per import: taking each
/// from rusqlite's statement cache hashes its text twice per run, a tenth
/// of the time of a re-import. Those that write use `OR FAIL`, for the
/// reason given at [`BlockInserts`].
struct MergeStatements<'c> {
    /// [`FIND_INDICATOR`]; SQLite plans it as a table scan while the
    /// digest index is dropped, when `read_key` is used instead.
    find: rusqlite::Statement<'c>,
    /// Reads the kind and value of the row with an id.
    read_key: rusqlite::Statement<'c>,
    /// Lists the ids with a digest from the digest index alone.
    ids_of: rusqlite::Statement<'c>,
    widen: rusqlite::Statement<'c>,
    create: rusqlite::Statement<'c>,
    /// Keeps a stored sighting's details as they were before the import.
    note_before: rusqlite::Statement<'c>,
    /// Notes a sighting the import created for an older indicator.
    note_created: rusqlite::Statement<'c>,
    /// Replaces a sighting's details and widens its times. Its expiry is
    /// replaced when a detail (validity among them) changed, and only
    /// extended otherwise.
    update: rusqlite::Statement<'c>,
    insert: rusqlite::Statement<'c>,
}

impl<'c> MergeStatements<'c> {
    /// Prepares the statements; `temp.intel_import_before` must exist.
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(MergeStatements {
            find: conn.prepare(FIND_INDICATOR)?,
            read_key: conn.prepare("SELECT kind, value FROM intel_indicators WHERE id = ?1")?,
            ids_of: conn.prepare("SELECT id FROM intel_indicators WHERE key_hash = ?1")?,
            widen: conn.prepare(WIDEN_INDICATOR)?,
            create: conn.prepare(
                "INSERT OR FAIL INTO intel_indicators
                    (key_hash, kind, value, include_subdomains, match_substring, prefix_len, ip_lo, ip_hi,
                     first_seen, last_seen, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?,
            note_before: conn.prepare(
                "INSERT OR IGNORE INTO temp.intel_import_before
                    (indicator_id, source_id, created, confidence, severity, tlp, tags, assessment, description,
                     reference, valid_until)
                 SELECT indicator_id, source_id, 0, confidence, severity, tlp, tags, assessment, description,
                        reference, valid_until
                 FROM intel_sightings WHERE indicator_id = ?1 AND source_id = ?2",
            )?,
            note_created: conn.prepare(
                "INSERT OR IGNORE INTO temp.intel_import_before (indicator_id, source_id, created) VALUES (?1, ?2, 1)",
            )?,
            update: conn.prepare(
                "UPDATE OR FAIL intel_sightings SET
                    expires_at = CASE WHEN confidence IS NOT ?3 OR severity IS NOT ?4 OR tlp IS NOT ?5
                                           OR tags IS NOT ?6 OR assessment IS NOT ?7 OR description IS NOT ?8
                                           OR reference IS NOT ?9 OR valid_until IS NOT ?13
                                      THEN ?14 ELSE max(expires_at, ?14) END,
                    confidence = ?3, severity = ?4, tlp = ?5, tags = ?6, assessment = ?7, description = ?8,
                    reference = ?9,
                    first_seen = min(coalesce(first_seen, ?10), coalesce(?10, first_seen)),
                    last_seen = max(coalesce(last_seen, ?11), coalesce(?11, last_seen)),
                    reported_at = ?12, valid_until = ?13
                 WHERE indicator_id = ?1 AND source_id = ?2",
            )?,
            insert: conn.prepare(
                "INSERT OR FAIL INTO intel_sightings
                    (indicator_id, source_id, confidence, severity, tlp, tags, assessment, description, reference,
                     first_seen, last_seen, reported_at, valid_until, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?,
        })
    }
}

/// Returns the id of the indicator with this kind and value (and `hash`,
/// its [`key_hash`]), if stored. `find` is [`FIND_INDICATOR`] prepared.
fn find_with(
    find: &mut rusqlite::Statement<'_>,
    hash: i64,
    kind: IndicatorKind,
    value: &str,
) -> rusqlite::Result<Option<i64>> {
    let mut rows = find.query([hash])?;
    while let Some(row) = rows.next()? {
        if row.get_ref(1)?.as_str()? == kind.as_str() && row.get_ref(2)?.as_str()? == value {
            return row.get(0).map(Some);
        }
    }
    Ok(None)
}

/// Widens the stored row `id` by the times and flags of `indicator`
/// (`facts` are its facts); `widen` is [`WIDEN_INDICATOR`] prepared.
fn widen_with(
    widen: &mut rusqlite::Statement<'_>,
    id: i64,
    indicator: &Indicator,
    facts: &IndicatorFacts,
) -> rusqlite::Result<()> {
    let flags = (indicator.include_subdomains, indicator.match_substring);
    widen.execute(params![
        id,
        flags.0,
        flags.1,
        facts.first,
        facts.last,
        facts.expires
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_intel::{LoadOptions, load_bytes};

    /// Returns the rows a query selects, each as its cells joined by `|`.
    fn rows_as_text(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let cells: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            out.push(cells.join("|"));
        }
        out
    }

    /// Returns every indicator and sighting row of a store, as text.
    fn dump(conn: &Connection) -> Vec<String> {
        ["intel_indicators", "intel_sightings"]
            .iter()
            .flat_map(|table| rows_as_text(conn, &format!("SELECT * FROM {table} ORDER BY 1, 2")))
            .collect()
    }

    /// The header of picket's CSV export, which names every column.
    const CSV_HEADER: &str = "kind,value,include_subdomains,provider,feed,confidence,tlp,tags,assessment,\
                              first_seen,last_seen,valid_until,description,reference\n";

    /// Reads rows in the columns of [`CSV_HEADER`], reported at 5 ns.
    fn load_csv(rows: &str) -> Vec<Indicator> {
        let options = LoadOptions {
            reported_at: Some(Timestamp::from_nanos(5)),
            ..LoadOptions::default()
        };
        load_bytes("t.csv", format!("{CSV_HEADER}{rows}").as_bytes(), &options)
            .unwrap()
            .indicators
    }

    /// Returns a store in memory with the intelligence tables.
    fn memory_store() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        super::super::create_schema(&conn).unwrap();
        conn
    }

    /// Stores each list as one prepared chunk of one import at 7 ns, and
    /// returns the import's counts.
    fn import_chunks(conn: &Connection, chunks: Vec<Vec<Indicator>>) -> UpsertCounts {
        let lifetimes = Lifetimes::default();
        let mut import = Import::begin(conn, &lifetimes, Timestamp::from_nanos(7)).unwrap();
        for indicators in chunks {
            let mut chunk = import.preparer().prepare(indicators);
            import.add_prepared(&mut chunk).unwrap();
        }
        import.finish().unwrap()
    }

    /// Asserts that both stores contain the same rows, and that the
    /// sighting of `value` kept the details of the record with confidence
    /// 90 and tag `second`.
    fn assert_second_record_won(stores: &[Connection], value: &str) {
        assert_eq!(dump(&stores[0]), dump(&stores[1]));
        let (confidence, tags) = sighting_details(&stores[1], value);
        assert_eq!(confidence, 90);
        assert_eq!(tags, "second");
    }

    /// Returns the confidence and tags of the first sighting of a value.
    fn sighting_details(conn: &Connection, value: &str) -> (i64, String) {
        conn.query_row(
            "SELECT s.confidence, s.tags FROM intel_sightings s
             JOIN intel_indicators i ON i.id = s.indicator_id WHERE i.value = ?1",
            [value],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    /// Returns every sighting with its indicator's columns and its source's
    /// names, as text, without row ids.
    fn dump_by_value(conn: &Connection) -> Vec<String> {
        rows_as_text(
            conn,
            "SELECT i.key_hash, i.kind, i.value, i.include_subdomains, i.match_substring,
                    i.first_seen, i.last_seen, i.expires_at, p.provider, p.feed, s.confidence,
                    s.tags, s.first_seen, s.last_seen, s.reported_at, s.expires_at
             FROM intel_indicators i
             LEFT JOIN intel_sightings s ON s.indicator_id = i.id
             LEFT JOIN intel_sources p ON p.id = s.source_id
             ORDER BY i.kind, i.value, p.provider, p.feed",
        )
    }

    #[test]
    fn prepared_chunk_stores_like_add() {
        let options = LoadOptions {
            reported_at: Some(Timestamp::from_nanos(5)),
            ..LoadOptions::default()
        };
        let text = "192.0.2.1 a\n10.0.0.0/8\nevil.example\nhttp://x.example/a\n192.0.2.1 b\n";
        let indicators = load_bytes("t.txt", text.as_bytes(), &options)
            .unwrap()
            .indicators;
        let lifetimes = Lifetimes::default();
        let now = Timestamp::from_nanos(7);

        let stores = [memory_store(), memory_store()];
        let mut by_add = Import::begin(&stores[0], &lifetimes, now).unwrap();
        by_add.add(&indicators).unwrap();
        by_add.finish().unwrap();
        let mut by_prepared = Import::begin(&stores[1], &lifetimes, now).unwrap();
        let mut chunk = by_prepared.preparer().prepare(indicators.clone());
        by_prepared.add_prepared(&mut chunk).unwrap();
        by_prepared.finish().unwrap();

        let stored = dump(&stores[0]);
        assert_eq!(stored.len(), 8);
        assert_eq!(stored, dump(&stores[1]));
    }

    /// The columns of one stored sighting, with its indicator's value and
    /// its source's names in place of row ids.
    #[derive(Debug, PartialEq)]
    struct StoredSighting {
        kind: String,
        value: String,
        provider: String,
        feed: String,
        confidence: i64,
        severity: Option<String>,
        tlp: Option<String>,
        tags: String,
        assessment: Option<String>,
        description: Option<String>,
        reference: Option<String>,
        first_seen: Option<i64>,
        last_seen: Option<i64>,
        reported_at: i64,
        valid_until: Option<i64>,
        expires_at: i64,
    }

    impl StoredSighting {
        /// Returns the columns [`stored_sightings`] orders by.
        fn key(&self) -> (&str, &str, &str, &str) {
            (&self.kind, &self.value, &self.provider, &self.feed)
        }
    }

    /// Returns the sightings of a store, ordered by kind, value, provider
    /// and feed.
    fn stored_sightings(conn: &Connection) -> Vec<StoredSighting> {
        let mut stmt = conn
            .prepare(
                "SELECT i.kind, i.value, p.provider, p.feed, s.confidence, s.severity, s.tlp,
                        s.tags, s.assessment, s.description, s.reference, s.first_seen,
                        s.last_seen, s.reported_at, s.valid_until, s.expires_at
                 FROM intel_sightings s
                 JOIN intel_indicators i ON i.id = s.indicator_id
                 JOIN intel_sources p ON p.id = s.source_id
                 ORDER BY i.kind, i.value, p.provider, p.feed",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(StoredSighting {
                kind: r.get(0)?,
                value: r.get(1)?,
                provider: r.get(2)?,
                feed: r.get(3)?,
                confidence: r.get(4)?,
                severity: r.get(5)?,
                tlp: r.get(6)?,
                tags: r.get(7)?,
                assessment: r.get(8)?,
                description: r.get(9)?,
                reference: r.get(10)?,
                first_seen: r.get(11)?,
                last_seen: r.get(12)?,
                reported_at: r.get(13)?,
                valid_until: r.get(14)?,
                expires_at: r.get(15)?,
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// Returns the sightings that storing `indicators` at `now` should
    /// write, read from the indicators themselves, in the order of
    /// [`stored_sightings`].
    fn expected_sightings(
        indicators: &[Indicator],
        lifetimes: &Lifetimes,
        now: Timestamp,
    ) -> Vec<StoredSighting> {
        let mut expected: Vec<StoredSighting> = indicators
            .iter()
            .flat_map(|indicator| {
                indicator.sightings.iter().map(move |s| StoredSighting {
                    kind: indicator.kind.as_str().to_owned(),
                    value: indicator.value.clone(),
                    provider: s.source.provider.clone(),
                    feed: s.source.feed.clone(),
                    confidence: i64::from(s.source.confidence),
                    severity: s.severity.map(|level| severity_text(level).to_owned()),
                    tlp: s.source.tlp.clone(),
                    tags: join_tags(&s.source.tags),
                    assessment: s.assessment.clone(),
                    description: s.source.description.clone(),
                    reference: s.source.reference.clone(),
                    first_seen: s.first_seen.map(Timestamp::as_nanos),
                    last_seen: s.last_seen.map(Timestamp::as_nanos),
                    reported_at: s.reported_at.unwrap_or(now).as_nanos(),
                    valid_until: s.valid_until.map(Timestamp::as_nanos),
                    expires_at: lifetimes.expires_at(indicator.kind, s, now).as_nanos(),
                })
            })
            .collect();
        expected.sort_by(|a, b| a.key().cmp(&b.key()));
        expected
    }

    /// New values seen by several sources keep each sighting's own source
    /// and columns through the bulk path. The sightings carry several tags,
    /// and optional columns are set on some of them only. The store's
    /// source ids differ from the sources' numbers within each chunk, two
    /// sources differ in their feed alone, and the first chunk's rows fill
    /// more than one block of `BULK_ROWS`.
    /// Returns the expiry of a value's indicator and the latest of its
    /// sightings', in ns.
    fn expiries(conn: &Connection, value: &str) -> (i64, i64) {
        conn.query_row(
            "SELECT i.expires_at, max(s.expires_at) FROM intel_indicators i
             JOIN intel_sightings s ON s.indicator_id = i.id WHERE i.value = ?1",
            [value],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    #[test]
    fn shortened_validity_shortens_expiry() {
        let conn = memory_store();
        let long = "2027-06-01T00:00:00Z";
        let short = "2026-12-02T00:00:00Z";
        let rows = |p: &str, q: &str| {
            format!(
                "domain,a.example,false,p,f,50,,,,,,{p},,\ndomain,b.example,false,p,f,50,,,,,,{p},,\n\
                 domain,b.example,false,q,f,50,,,,,,{q},,\n"
            )
        };
        import_chunks(&conn, vec![load_csv(&rows(long, long))]);
        let (before, _) = expiries(&conn, "a.example");

        let counts = import_chunks(&conn, vec![load_csv(&rows(short, long))]);

        assert_eq!(counts.updated, 2);
        let (after, latest) = expiries(&conn, "a.example");
        assert!(after < before, "{after} !< {before}");
        assert_eq!(after, latest);
        // Source q still keeps b.example active until the later date.
        assert_eq!(expiries(&conn, "b.example"), (before, before));
    }

    #[test]
    fn exhausted_ids_fail_with_reason() {
        let conn = memory_store();
        conn.execute(
            "INSERT INTO intel_indicators (id, key_hash, kind, value, expires_at)
             VALUES (?1, 1, 'domain', 'last.example', 0)",
            [i64::MAX],
        )
        .unwrap();
        let new_value = load_csv("domain,new.example,false,p,f,50,,,,,,,,\n");

        let result = upsert(
            &conn,
            &new_value,
            &Lifetimes::default(),
            Timestamp::from_nanos(7),
        );

        let error = result
            .expect_err("no id is left for the new value")
            .to_string();
        assert!(error.contains("no indicator id is left"), "{error}");
    }

    #[test]
    fn long_values_and_descriptions_store_whole() {
        let long_url = format!(
            "http://long.example/{}",
            "p".repeat(super::super::columns::COPIED_VALUE_MAX)
        );
        let long_text = "d".repeat(5_000);
        let feed = format!(
            "url,{long_url},false,p,f,50,,,,,,,{long_text},https://ref.example/{long_text}\n\
             url,http://short.example/,false,p,f,50,,,,,,,short,\n"
        );
        let conn = memory_store();
        import_chunks(&conn, vec![load_csv(&feed)]);

        let mut query = conn
            .prepare(
                "SELECT i.value, s.description, s.reference FROM intel_indicators i
                 JOIN intel_sightings s ON s.indicator_id = i.id ORDER BY i.value",
            )
            .unwrap();
        let stored: Vec<(String, String, Option<String>)> = query
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let long_reference = format!("https://ref.example/{long_text}");
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[0], (long_url, long_text, Some(long_reference)));
        assert_eq!(stored[1].0, "http://short.example/");
        assert_eq!(stored[1].1, "short");
        assert_eq!(stored[1].2, None);
    }

    #[test]
    fn bulk_path_keeps_each_sightings_source() {
        let mut first_chunk = String::from(
            "domain,a.example,true,p,f,80,amber,one|two,c2,2025-01-02T00:00:00Z,2025-01-03T00:00:00Z,,about a,https://p.example/a\n\
             domain,a.example,true,q,g,20,,,scanner,,,2025-03-01T00:00:00Z,,\n\
             ipv4,192.0.2.7,false,q,g,60,red,x|y|z,,,,,\"described, with a comma\",\n\
             ipv4,192.0.2.7,false,p,f,40,clear,solo,,,,,,\n\
             url,http://b.example/x,false,p,f,50,,,,,,,,\n",
        );
        for n in 0..BULK_ROWS + 10 {
            let (one, other) = if n % 2 == 0 {
                ("p,f", "q,g")
            } else {
                ("q,g", "p,f")
            };
            first_chunk.push_str(&format!(
                "domain,d{n}.example,false,{one},{},,t{n}|shared,,,,,,\n\
                 domain,d{n}.example,false,{other},{},green,,,,,,,\n",
                n % 101,
                100 - n % 101
            ));
        }
        let mut first = load_csv(&first_chunk);
        let mut second = load_csv(
            "ipv4,198.51.100.9,false,q,g,10,green,late|tags,,,,,,\n\
             ipv4,198.51.100.9,false,p,f,90,,,botnet,,,,,\n\
             domain,c.example,false,q,g,30,,only,,,,,,\n\
             domain,c.example,false,p,h,35,,,,,,,,\n",
        );

        // Fields no CSV column sets: severity, a missing report time (the
        // import's time then), tags with a line break and an empty tag.
        let a = &mut first[0].sightings;
        assert_eq!(a.len(), 2);
        a[0].severity = Some(picket_event::Severity::High);
        a[0].source.tags.push("with\nbreak".into());
        a[1].reported_at = None;
        first[1].sightings[0].source.tags.push(String::new());
        first[2].sightings[0].reported_at = None;
        assert_eq!(second[1].value, "c.example");
        second[1].sightings[0].source.tags = vec!["one\nline".into()];

        let lifetimes = Lifetimes::default();
        let now = Timestamp::from_nanos(7);
        let whole: Vec<Indicator> = first.iter().chain(&second).cloned().collect();
        assert_eq!(whole.len(), BULK_ROWS + 15);

        // Both stores have a source no chunk names, so the sources the
        // chunks name get ids from 2 on, whatever their numbers within a
        // chunk.
        let stores: Vec<Connection> = (0..2)
            .map(|_| {
                let conn = memory_store();
                let earlier = load_csv("domain,earlier.example,false,r,k,50,,,,,,,,\n");
                upsert(&conn, &earlier, &lifetimes, now).unwrap();
                conn
            })
            .collect();
        let by_upsert = upsert(&stores[0], &whole, &lifetimes, now).unwrap();
        let by_prepared = import_chunks(&stores[1], vec![first, second]);

        assert_eq!(by_upsert, by_prepared);
        assert_eq!(by_upsert.new, 2 * (BULK_ROWS as u64 + 14) + 1);
        assert_eq!(dump_by_value(&stores[0]), dump_by_value(&stores[1]));

        let mut expected = expected_sightings(&whole, &lifetimes, now);
        let earlier = stored_sightings(&stores[0])
            .into_iter()
            .find(|s| s.value == "earlier.example")
            .unwrap();
        let at = expected.partition_point(|s| s.key() < earlier.key());
        expected.insert(at, earlier);
        for (number, store) in stores.iter().enumerate() {
            let stored = stored_sightings(store);
            assert_eq!(stored.len(), expected.len(), "store {number}");
            for (stored, expected) in stored.iter().zip(&expected) {
                assert_eq!(stored, expected, "store {number}");
            }
        }

        // The joined tags as the store keeps them.
        let stored = stored_sightings(&stores[1]);
        let tags_of = |value: &str, provider: &str| {
            stored
                .iter()
                .find(|s| s.value == value && s.provider == provider)
                .map(|s| s.tags.clone())
        };
        assert_eq!(
            tags_of("a.example", "p").as_deref(),
            Some("one\ntwo\nwith break")
        );
        assert_eq!(tags_of("a.example", "q").as_deref(), Some(""));
        assert_eq!(tags_of("192.0.2.7", "q").as_deref(), Some("x\ny\nz\n"));
        assert_eq!(tags_of("c.example", "q").as_deref(), Some("one line"));
    }

    /// A chunk can hold two indicators of one stored value, one with the
    /// subdomain flag and one without. They update the same sighting, and
    /// the later record's details win through the deferred merge path as
    /// they do through `add`.
    #[test]
    fn deferred_merges_keep_record_order() {
        let earlier = "domain,dup.example,true,p,f,50,,base,,,,,,\n";
        let feed = "domain,dup.example,true,p,f,10,,first,,,,,,\n\
                    domain,dup.example,false,p,f,90,,second,,,,,,\n";
        let lifetimes = Lifetimes::default();
        let now = Timestamp::from_nanos(7);
        let stores: Vec<Connection> = (0..2)
            .map(|_| {
                let conn = memory_store();
                upsert(&conn, &load_csv(earlier), &lifetimes, now).unwrap();
                conn
            })
            .collect();
        let indicators = load_csv(feed);
        assert_eq!(indicators.len(), 2);

        let by_add = upsert(&stores[0], &indicators, &lifetimes, now).unwrap();
        let by_prepared = import_chunks(&stores[1], vec![indicators]);

        assert_eq!(by_add, by_prepared);
        assert_second_record_won(&stores, "dup.example");
    }

    /// A chunk has two records of one value, with and without the subdomain
    /// flag and with different tags. The later record's details win in an
    /// empty store, whose rows are ordered by tags first, and in one that
    /// contains other values.
    #[test]
    fn record_order_wins_in_empty_and_filled_stores() {
        let feed = "domain,y.example,false,p,f,50,,b,,,,,,\n\
                    domain,x.example,true,p,f,10,,a,,,,,,\n\
                    domain,x.example,false,p,f,90,,b,,,,,,\n";
        let lifetimes = Lifetimes::default();
        let now = Timestamp::from_nanos(7);

        for filled in [false, true] {
            let conn = memory_store();
            if filled {
                let other = load_csv("domain,z.example,false,p,f,50,,c,,,,,,\n");
                upsert(&conn, &other, &lifetimes, now).unwrap();
            }
            import_chunks(&conn, vec![load_csv(feed)]);

            let (confidence, tags) = sighting_details(&conn, "x.example");
            assert_eq!(confidence, 90, "store filled: {filled}");
            assert_eq!(tags, "b", "store filled: {filled}");
        }
    }

    /// An indicator that names one source twice takes the merge path even
    /// when its value is new. A later chunk's indicator of the same value
    /// (without the subdomain flag) then merges into its row, as through
    /// `add`, and the later chunk's details win.
    #[test]
    fn merge_only_values_merge_before_next_chunk() {
        let mut first = load_csv("domain,x.example,true,p,f,10,,first,,,,,,\n");
        let mut again = first[0].sightings[0].clone();
        again.source.confidence = 20;
        again.source.tags = vec!["again".into()];
        first[0].sightings.push(again);
        let second = load_csv("domain,x.example,false,p,f,90,,second,,,,,,\n");
        let lifetimes = Lifetimes::default();
        let now = Timestamp::from_nanos(7);
        let stores = [memory_store(), memory_store()];

        let whole: Vec<Indicator> = first.iter().chain(&second).cloned().collect();
        let by_add = upsert(&stores[0], &whole, &lifetimes, now).unwrap();
        let by_chunks = import_chunks(&stores[1], vec![first, second]);

        assert_eq!(by_add, by_chunks);
        assert_second_record_won(&stores, "x.example");
    }

    /// A feed split into chunks, whose stored values wait for the merge
    /// path, ends as the same rows as the feed stored whole. The values
    /// are stored first in the reverse of the feed's order, so that id
    /// order and feed order differ.
    #[test]
    fn deferred_merges_store_like_add() {
        let options = |provider: &str| LoadOptions {
            reported_at: Some(Timestamp::from_nanos(5)),
            defaults: picket_intel::Defaults {
                provider: Some(provider.into()),
                ..Default::default()
            },
            ..LoadOptions::default()
        };
        let earlier = "evil.example old\n192.0.2.1 old\nhttp://x.example/a old\n10.0.0.0/8 old\n";
        let chunks = [
            "192.0.2.1 a\n10.0.0.0/8 a\n198.51.100.7 a\n",
            "evil.example b\nnew.example b\n",
        ];
        let repeats = "192.0.2.1 c\nnew.example c\n";
        let load = |text: &str, provider: &str| {
            load_bytes("t.txt", text.as_bytes(), &options(provider))
                .unwrap()
                .indicators
        };
        let lifetimes = Lifetimes::default();
        let now = Timestamp::from_nanos(7);

        let stores: Vec<Connection> = (0..2)
            .map(|_| {
                let conn = memory_store();
                upsert(&conn, &load(earlier, "old"), &lifetimes, now).unwrap();
                conn
            })
            .collect();
        let whole = load(&format!("{}{}{repeats}", chunks[0], chunks[1]), "feed");
        let by_add = upsert(&stores[0], &whole, &lifetimes, now).unwrap();

        let mut by_chunks = Import::begin(&stores[1], &lifetimes, now).unwrap();
        for text in chunks {
            let mut chunk = by_chunks.preparer().prepare(load(text, "feed"));
            by_chunks.add_prepared(&mut chunk).unwrap();
        }
        by_chunks.fold_repeats(&load(repeats, "feed")).unwrap();
        let by_chunks = by_chunks.finish().unwrap();

        assert_eq!(by_add, by_chunks);
        assert_eq!(by_add.new, 5);
        assert_eq!(dump(&stores[0]), dump(&stores[1]));
    }

    /// A stored row under a value's digest is the value's row only when its
    /// kind and value match, whether it is the digest's only row or one of
    /// several.
    #[test]
    fn merge_compares_the_value_behind_a_shared_digest() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::create_schema(&conn).unwrap();
        conn.execute(
            "INSERT INTO intel_indicators (key_hash, kind, value, expires_at) VALUES (?1, 'domain', 'decoy.example', 0)",
            [key_hash(IndicatorKind::Domain, "a.example")],
        )
        .unwrap();
        let options = LoadOptions {
            reported_at: Some(Timestamp::from_nanos(5)),
            ..LoadOptions::default()
        };
        let lifetimes = Lifetimes::default();
        let now = Timestamp::from_nanos(7);
        let import_once = || {
            let indicators = load_bytes("t.txt", b"a.example\n", &options)
                .unwrap()
                .indicators;
            let mut import = Import::begin(&conn, &lifetimes, now).unwrap();
            let mut chunk = import.preparer().prepare(indicators);
            import.add_prepared(&mut chunk).unwrap();
            import.finish().unwrap()
        };
        let sightings_of = |value: &str| -> i64 {
            conn.query_row(
                "SELECT count(*) FROM intel_sightings s JOIN intel_indicators i ON i.id = s.indicator_id
                 WHERE i.value = ?1",
                [value],
                |r| r.get(0),
            )
            .unwrap()
        };

        assert_eq!(import_once().new, 1);
        assert_eq!(import_once().unchanged, 1);

        let rows: i64 = conn
            .query_row("SELECT count(*) FROM intel_indicators", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2);
        assert_eq!(sightings_of("a.example"), 1);
        assert_eq!(sightings_of("decoy.example"), 0);
    }

    /// Generated feeds of a few values repeat them with other tags,
    /// confidences and providers. Read in chunks of three values with their
    /// late repeats, each feed ends as the same rows and counts as the feed
    /// stored whole, into an empty store and into one that contains some
    /// values. Row ids may differ, because chunks number new rows in their
    /// own order.
    ///
    /// NOTE: this leaves out a value listed with and without the subdomain
    /// flag and repeated after its chunk. Stored whole, the last record
    /// replaces the sighting. Read in chunks, the late repeat is folded into
    /// it and the tags are united.
    #[test]
    fn chunked_feeds_store_like_whole_feeds() {
        let options = LoadOptions {
            reported_at: Some(Timestamp::from_nanos(5)),
            ..LoadOptions::default()
        };
        let lifetimes = Lifetimes::default();
        let now = Timestamp::from_nanos(7);

        // A linear congruential generator: the same feeds on every run.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |below: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % below
        };

        for feed_number in 0..300 {
            let mut feed = String::from(CSV_HEADER);
            let mut earlier = String::new();
            for _ in 0..1 + next(12) {
                let value = next(6);
                let row = format!(
                    "domain,d{value}.example,{},p{},f,{},,t{},,,,,,\n",
                    value % 2 == 1,
                    next(2),
                    next(100),
                    next(3)
                );
                if next(3) == 0 {
                    earlier.push_str(&row);
                }
                feed.push_str(&row);
            }

            let stores: Vec<Connection> = (0..2)
                .map(|_| {
                    let conn = memory_store();
                    if feed_number % 2 == 1 {
                        upsert(&conn, &load_csv(&earlier), &lifetimes, now).unwrap();
                    }
                    conn
                })
                .collect();

            let whole = load_bytes("t.csv", feed.as_bytes(), &options).unwrap();
            let by_whole = upsert(&stores[0], &whole.indicators, &lifetimes, now).unwrap();

            let mut import = Import::begin(&stores[1], &lifetimes, now).unwrap();
            let mut stored: rusqlite::Result<()> = Ok(());
            let mut sink = |chunk: picket_intel::Chunk| {
                if stored.is_ok() {
                    stored = match chunk {
                        picket_intel::Chunk::Fresh(indicators) => {
                            let mut prepared = import.preparer().prepare(indicators);
                            import.add_prepared(&mut prepared)
                        }
                        picket_intel::Chunk::Repeats(indicators) => {
                            import.fold_repeats(&indicators)
                        }
                    };
                }
                true
            };
            picket_intel::load_bytes_chunked("t.csv", feed.as_bytes(), &options, 3, &mut sink)
                .unwrap();
            stored.unwrap();
            let by_chunks = import.finish().unwrap();

            assert_eq!(by_whole, by_chunks, "feed {feed_number}:\n{feed}");
            assert_eq!(
                dump_by_value(&stores[0]),
                dump_by_value(&stores[1]),
                "feed {feed_number}:\n{feed}"
            );
        }
    }

    #[test]
    fn created_ids_keep_every_row_of_a_digest() {
        let mut created = CreatedIds::default();
        created.add(7, 1);
        created.add(7, 1);
        created.add(7, 3);
        created.add(9, 2);
        assert_eq!(created.ids(7).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(created.ids(9).collect::<Vec<_>>(), [2]);
        assert_eq!(created.ids(8).count(), 0);
    }

    #[test]
    fn unindexed_find_compares_kind_and_value() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::create_schema(&conn).unwrap();
        let options = LoadOptions {
            reported_at: Some(Timestamp::from_nanos(0)),
            ..LoadOptions::default()
        };
        let indicators = load_bytes("t.txt", b"a.example\nb.example\n", &options)
            .unwrap()
            .indicators;
        let mut import =
            Import::begin(&conn, &Lifetimes::default(), Timestamp::from_nanos(0)).unwrap();
        assert!(matches!(import.keys, Keys::Unindexed(_)));
        import.add(&indicators).unwrap();

        // b.example's row noted under a.example's digest, as a digest
        // collision would have it: each value still finds its own row.
        let hash_a = key_hash(IndicatorKind::Domain, "a.example");
        let id_of = |value: &str| -> i64 {
            conn.query_row(
                "SELECT id FROM intel_indicators WHERE value = ?1",
                [value],
                |r| r.get(0),
            )
            .unwrap()
        };
        let (a, b) = (id_of("a.example"), id_of("b.example"));
        import.keys.add(hash_a, b);
        let mut find = |value: &str| {
            import
                .keys
                .find(&mut import.merge, hash_a, IndicatorKind::Domain, value)
                .unwrap()
        };
        assert_eq!(find("a.example"), Some(a));
        assert_eq!(find("b.example"), Some(b));
        assert_eq!(find("c.example"), None);
    }

    #[test]
    fn sorted_digests_match_a_set() {
        let conn = Connection::open_in_memory().unwrap();
        crate::intel::create_schema(&conn).unwrap();
        // Digests of a few thousand values, spread over the signed range.
        let digest = |n: i64| key_hash(IndicatorKind::Domain, &format!("d{n}.example"));
        for n in 0..3_000 {
            conn.execute(
                "INSERT INTO intel_indicators (key_hash, kind, value, expires_at) VALUES (?1, 'domain', ?2, 0)",
                params![digest(n), format!("d{n}.example")],
            )
            .unwrap();
        }
        let mut digests = SortedDigests::read(&conn, 3_000, 0).unwrap();
        let mut model: FnvHashSet<i64> = (0..3_000).map(digest).collect();

        // Questions in digest order, in reverse and in no order, each
        // followed by additions, past the point where a merge happens.
        let mut tested: Vec<i64> = (0..200_000).map(|n| digest(n * 7_919 % 120_000)).collect();
        tested[..50_000].sort_unstable();
        tested[50_000..100_000].sort_unstable_by(|a, b| b.cmp(a));
        for (i, &hash) in tested.iter().enumerate() {
            assert_eq!(
                digests.contains(hash),
                model.contains(&hash),
                "question {i}"
            );
            if i % 3 != 2 {
                digests.add(hash);
                model.insert(hash);
            }
        }
        assert!(digests.run.len() > 3_000, "no merge happened");
        for &hash in &tested {
            assert_eq!(digests.contains(hash), model.contains(&hash));
        }
        assert!(!digests.contains(i64::MIN) || model.contains(&i64::MIN));
        assert!(!digests.contains(i64::MAX) || model.contains(&i64::MAX));
    }

    #[test]
    fn expected_values_read_digests_first() {
        let rows: String = (0..100)
            .map(|n| format!("domain,d{n}.example,false,p,f,50,,,,,,,,\n"))
            .collect();
        let conn = memory_store();
        upsert(
            &conn,
            &load_csv(&rows),
            &Lifetimes::default(),
            Timestamp::from_nanos(7),
        )
        .unwrap();
        let one_new = load_csv("domain,new.example,false,p,f,50,,,,,,,,\n");

        // Ten values expected into 100 rows: every digest is read at once.
        // Nine are too few: the value is looked up in the index.
        for (expected, read, lookups) in [(10, true, 0), (9, false, 1)] {
            let mut import =
                Import::begin(&conn, &Lifetimes::default(), Timestamp::from_nanos(7)).unwrap();
            import.expect_values(expected);
            import.add(&one_new).unwrap();
            let Keys::Indexed(keys) = &import.keys else {
                panic!("a store with rows keeps its digest index");
            };
            assert_eq!(keys.digests.is_some(), read, "{expected} expected");
            assert_eq!(keys.lookups, lookups, "{expected} expected");
        }
    }
}
