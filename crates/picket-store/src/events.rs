//! Events in day partitions: writing in batches, scanning a day.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use picket_event::{Alert, Event, Sink, SinkError, Timestamp, codec};
use rusqlite::{Connection, params};

use crate::{Store, StoreError, alerts};

mod compress;

use compress::{BLOCKS_IN_FLIGHT, Block, BlockCompressor, Compressed};

/// A stored event's address: its day partition, block and place in the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventRef {
    /// Day number (days since the Unix epoch, UTC).
    pub day: i64,
    /// Row id of the block inside the day's table.
    pub block: i64,
    /// Position of the event inside its block, from 0.
    pub index: u32,
}

/// The blocks and time span of a day that [`Store::scan_records`] reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordScan {
    /// First and last block number to read, inclusive; `None` reads all.
    pub blocks: Option<(i64, i64)>,
    /// Blocks holding only events before this instant are skipped.
    pub since: Option<Timestamp>,
    /// Blocks holding only events at or after this instant are skipped.
    pub until: Option<Timestamp>,
}

/// The stored block a record passed to [`Store::scan_records`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Day number (days since the Unix epoch, UTC).
    pub day: i64,
    /// Row id of the block inside the day's table.
    pub block: i64,
    /// Time of the block's oldest event.
    pub ts_min: Timestamp,
    /// Time of the block's newest event.
    pub ts_max: Timestamp,
    /// True when every event of the block lies inside the scan's time span,
    /// so that the caller can skip reading each event's time.
    pub within: bool,
}

impl BlockInfo {
    /// Returns the name of the day table holding this block, as errors
    /// name it.
    pub fn table(&self) -> String {
        day_table(self.day)
    }

    /// Returns the address of the record at `index` in this block.
    pub fn event_ref(&self, index: u32) -> EventRef {
        EventRef {
            day: self.day,
            block: self.block,
            index,
        }
    }
}

/// The callback of [`Store::scan_records`]: a record's block, its position
/// in the block, and its bytes.
pub type RecordVisitor<'v> = dyn FnMut(&BlockInfo, u32, &[u8]) -> Result<(), StoreError> + 'v;

/// Decompresses blocks into one reused buffer with one reused context.
struct BlockDecompressor<'t> {
    table: &'t str,
    context: zstd::bulk::Decompressor<'static>,
    buffer: Vec<u8>,
}

impl<'t> BlockDecompressor<'t> {
    fn new(table: &'t str) -> Result<Self, StoreError> {
        let context = zstd::bulk::Decompressor::new().map_err(|e| StoreError::CorruptBlock {
            table: table.to_owned(),
            block: 0,
            reason: format!("cannot create a decompression context: {e}"),
        })?;
        Ok(BlockDecompressor {
            table,
            context,
            buffer: Vec::new(),
        })
    }

    /// Returns the decompressed records of one block body.
    fn decompress(&mut self, block: i64, body: &[u8]) -> Result<&[u8], StoreError> {
        let corrupt = |reason: String| StoreError::CorruptBlock {
            table: self.table.to_owned(),
            block,
            reason,
        };
        self.buffer.clear();
        match zstd::zstd_safe::get_frame_content_size(body) {
            Ok(Some(size)) if size <= MAX_BLOCK_BYTES as u64 => {
                // The writer's frames state their size: one call, no copies.
                self.buffer.reserve(size as usize);
                self.context
                    .decompress_to_buffer(body, &mut self.buffer)
                    .map_err(|e| corrupt(e.to_string()))?;
            }
            Ok(Some(_)) => return Err(corrupt("block larger than the scan limit".into())),
            Ok(None) | Err(_) => {
                // Bounded: take() stops one byte past the limit checked below.
                #[allow(clippy::disallowed_methods)]
                zstd::stream::read::Decoder::new(body)
                    .map_err(|e| corrupt(e.to_string()))?
                    .take(MAX_BLOCK_BYTES as u64 + 1)
                    .read_to_end(&mut self.buffer)
                    .map_err(|e| corrupt(e.to_string()))?;
                if self.buffer.len() > MAX_BLOCK_BYTES {
                    return Err(corrupt("block larger than the scan limit".into()));
                }
            }
        }
        Ok(&self.buffer)
    }
}

/// Name of the table holding one day's events. Days before 1970 (negative
/// numbers) get an `m` for minus, since `-` is not allowed in a bare name.
pub(crate) fn day_table(day: i64) -> String {
    if day < 0 {
        format!("events_m{}", day.unsigned_abs())
    } else {
        format!("events_d{day}")
    }
}

/// Largest decompressed block a scan accepts, so that a damaged store file
/// cannot make a scan allocate without bound.
const MAX_BLOCK_BYTES: usize = 256 * 1024 * 1024;

/// zstd level for event blocks: level 3 compresses picket's records about
/// eight-fold at several hundred MB/s.
const BLOCK_COMPRESSION_LEVEL: i32 = 3;

/// Settings of a [`StoreWriter`].
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Events and alerts per transaction. Larger batches write faster; a crash
    /// loses at most one batch, which a re-run of `analyze` writes again.
    /// Default 50,000.
    pub batch_size: usize,
    /// Events per compressed block. Larger blocks compress better; a scan
    /// decompresses a whole block at a time. Default 512.
    pub block_events: u32,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            batch_size: 50_000,
            block_events: 512,
        }
    }
}

/// Events of one day waiting to be compressed into a block.
#[derive(Default)]
struct PendingBlock {
    records: Vec<u8>,
    events: u32,
    ts_min: i64,
    ts_max: i64,
}

/// Writes events and alerts into the store in batched transactions.
///
/// Events are grouped per day into blocks of [`WriterConfig::block_events`]
/// records, each a little-endian `u32` length and the record's compact binary
/// form, compressed with zstd. Implements [`Sink`], so `analyze` treats the
/// store like any other output. Call [`Sink::finish`] to write the last
/// blocks and commit; dropping the writer without it rolls the open batch back.
pub struct StoreWriter<'a> {
    conn: &'a Connection,
    config: WriterConfig,
    ingest: Option<i64>,
    pending: usize,
    in_transaction: bool,
    known_days: HashSet<i64>,
    blocks: HashMap<i64, PendingBlock>,
    /// Compresses full blocks on a thread of its own, started with the
    /// first block. On the writing thread, which also matches and detects,
    /// compression took 15 % of a Squid analysis of 1 M lines (`perf`).
    compressor: Option<BlockCompressor>,
    /// Record buffers of stored blocks, kept for the next blocks.
    spare: Vec<Vec<u8>>,
    events_written: u64,
    alerts_written: u64,
    alerts_duplicate: u64,
}

impl Store {
    /// Starts a batched writer.
    pub fn writer(&self, config: WriterConfig) -> StoreWriter<'_> {
        StoreWriter {
            conn: &self.conn,
            config,
            ingest: None,
            pending: 0,
            in_transaction: false,
            known_days: HashSet::new(),
            blocks: HashMap::new(),
            compressor: None,
            spare: Vec::new(),
            events_written: 0,
            alerts_written: 0,
            alerts_duplicate: 0,
        }
    }

    /// Day numbers that hold events, oldest first.
    pub fn days(&self) -> Result<Vec<i64>, StoreError> {
        let mut statement = self.conn.prepare("SELECT day FROM days ORDER BY day")?;
        let days = statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(days)
    }

    /// Number of events stored for one day.
    pub fn day_event_count(&self, day: i64) -> Result<u64, StoreError> {
        let count: Option<i64> = self
            .conn
            .query_row("SELECT events FROM days WHERE day = ?1", [day], |row| {
                row.get(0)
            })
            .ok();
        Ok(count.unwrap_or(0).max(0).unsigned_abs())
    }

    /// Calls `visit` with every event of one day, in insertion order, and
    /// returns how many were visited. A record that cannot be decoded stops
    /// the scan with [`StoreError::Codec`].
    pub fn scan_day(
        &self,
        day: i64,
        visit: &mut dyn FnMut(EventRef, Event),
    ) -> Result<u64, StoreError> {
        let table = day_table(day);
        self.scan_records(day, &RecordScan::default(), &mut |block, index, record| {
            let event: Event = codec::decode(record).map_err(|source| StoreError::Codec {
                table: table.clone(),
                row: block.block,
                source,
            })?;
            visit(block.event_ref(index), event);
            Ok(())
        })
    }

    /// Returns the first and last block number of one day, `None` when the
    /// day holds no block. A scan can be split into block ranges with them.
    pub fn day_blocks(&self, day: i64) -> Result<Option<(i64, i64)>, StoreError> {
        if !self.day_table_exists(day)? {
            return Ok(None);
        }
        let range: (Option<i64>, Option<i64>) = self.conn.query_row(
            &format!("SELECT min(block), max(block) FROM {}", day_table(day)),
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(range.0.zip(range.1))
    }

    /// Calls `visit` with the undecoded record of every event of one day in
    /// the blocks and time span of `scan`, in insertion order, and returns
    /// how many records were visited. An error from `visit` stops the scan.
    ///
    /// Records are in the compact binary form of [`codec`]. Blocks whose
    /// time span lies wholly outside the scan's are skipped without being
    /// decompressed, but a block that overlaps it is visited whole, so the
    /// caller still checks each event's time when [`BlockInfo::within`] is
    /// false.
    pub fn scan_records(
        &self,
        day: i64,
        scan: &RecordScan,
        visit: &mut RecordVisitor<'_>,
    ) -> Result<u64, StoreError> {
        if !self.day_table_exists(day)? {
            return Ok(0);
        }

        let table = day_table(day);
        let (first, last) = scan.blocks.unwrap_or((i64::MIN, i64::MAX));
        let since = scan.since.map_or(i64::MIN, Timestamp::as_nanos);
        let until = scan.until.map_or(i64::MAX, Timestamp::as_nanos);
        let mut statement = self.conn.prepare(&format!(
            "SELECT block, ts_min, ts_max, body FROM {table}
             WHERE block BETWEEN ?1 AND ?2 AND ts_max >= ?3 AND ts_min < ?4
             ORDER BY block"
        ))?;
        let mut rows = statement.query(params![first, last, since, until])?;
        let mut decompressor = BlockDecompressor::new(&table)?;
        let mut visited = 0;
        while let Some(row) = rows.next()? {
            let (ts_min, ts_max): (i64, i64) = (row.get(1)?, row.get(2)?);
            let block = BlockInfo {
                day,
                block: row.get(0)?,
                ts_min: Timestamp::from_nanos(ts_min),
                ts_max: Timestamp::from_nanos(ts_max),
                within: ts_min >= since && ts_max < until,
            };
            let body = row.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?;
            let records = decompressor.decompress(block.block, body)?;

            let mut rest = records;
            let mut index = 0u32;
            while !rest.is_empty() {
                let corrupt = |reason: &str| StoreError::CorruptBlock {
                    table: table.clone(),
                    block: block.block,
                    reason: reason.to_owned(),
                };
                let (length, tail) = rest
                    .split_first_chunk::<4>()
                    .ok_or_else(|| corrupt("record length cut short"))?;
                let length = u32::from_le_bytes(*length) as usize;
                if tail.len() < length {
                    return Err(corrupt("record cut short"));
                }
                let (record, tail) = tail.split_at(length);
                visit(&block, index, record)?;
                visited += 1;
                index += 1;
                rest = tail;
            }
        }
        Ok(visited)
    }

    fn day_table_exists(&self, day: i64) -> Result<bool, StoreError> {
        let exists = self.conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [day_table(day)],
            |row| row.get(0),
        )?;
        Ok(exists)
    }

    /// Drops one day's events whole.
    pub fn drop_day(&self, day: i64) -> Result<(), StoreError> {
        let table = day_table(day);
        self.conn
            .execute_batch(&format!("DROP TABLE IF EXISTS {table}"))?;
        self.conn
            .execute("DELETE FROM days WHERE day = ?1", [day])?;
        Ok(())
    }
}

impl StoreWriter<'_> {
    /// Tags the events written from now on with an ingest record id.
    pub fn set_ingest(&mut self, ingest: Option<i64>) -> Result<(), StoreError> {
        if ingest != self.ingest {
            // A block belongs to one ingest record, so close the open ones.
            self.write_blocks()?;
            self.ingest = ingest;
        }
        Ok(())
    }

    /// Events written so far.
    pub fn events_written(&self) -> u64 {
        self.events_written
    }

    /// Alerts written so far, and alerts skipped as already stored.
    pub fn alerts_written(&self) -> (u64, u64) {
        (self.alerts_written, self.alerts_duplicate)
    }

    /// Queues one event into its day's block; full blocks are written at once.
    pub fn insert_event(&mut self, event: &Event) -> Result<(), StoreError> {
        let day = event.timestamp().day_number();
        let spare = &mut self.spare;
        let block = self.blocks.entry(day).or_insert_with(|| PendingBlock {
            records: spare.pop().unwrap_or_default(),
            ..PendingBlock::default()
        });

        // The record is encoded in place after room for its length, which
        // is filled in once known. A record that fails to encode is removed.
        let start = block.records.len();
        block.records.extend_from_slice(&[0; 4]);
        if let Err(source) = codec::encode_into(event, &mut block.records) {
            block.records.truncate(start);
            return Err(StoreError::Codec {
                table: day_table(day),
                row: 0,
                source,
            });
        }
        let length = block.records.len() - start - 4;
        let length = u32::try_from(length).unwrap_or(u32::MAX);
        block.records[start..start + 4].copy_from_slice(&length.to_le_bytes());

        let ts = event.timestamp().as_nanos();
        if block.events == 0 {
            block.ts_min = ts;
            block.ts_max = ts;
        }
        block.ts_min = block.ts_min.min(ts);
        block.ts_max = block.ts_max.max(ts);
        block.events += 1;

        if block.events >= self.config.block_events {
            self.write_block(day)?;
        }
        self.events_written += 1;
        self.after_write()
    }

    /// Hands one day's pending block to the compression thread and stores
    /// the blocks it has finished.
    fn write_block(&mut self, day: i64) -> Result<(), StoreError> {
        let Some(pending) = self.blocks.remove(&day) else {
            return Ok(());
        };
        if pending.events == 0 {
            return Ok(());
        }
        self.begin_if_needed()?;

        let block = Block {
            day,
            ingest: self.ingest,
            events: pending.events,
            ts_min: pending.ts_min,
            ts_max: pending.ts_max,
            records: pending.records,
        };
        if self.compressor.is_none() {
            let started = BlockCompressor::start(BLOCK_COMPRESSION_LEVEL).map_err(|e| {
                StoreError::Compression {
                    reason: format!("cannot start the compression thread: {e}"),
                }
            })?;
            self.compressor = Some(started);
        }
        if let Some(compressor) = &mut self.compressor {
            compressor
                .submit(block)
                .map_err(|_| compression_stopped())?;
        }
        self.store_compressed(BLOCKS_IN_FLIGHT)
    }

    /// Stores the blocks the compression thread has finished, in the order
    /// they were handed over, waiting for more while over `in_flight` are
    /// out.
    fn store_compressed(&mut self, in_flight: usize) -> Result<(), StoreError> {
        while let Some(compressor) = &mut self.compressor {
            let done = if compressor.in_flight() > in_flight {
                compressor.wait().ok_or_else(compression_stopped)?
            } else {
                match compressor.ready() {
                    Some(done) => done,
                    None => break,
                }
            };
            self.store_block(done)?;
        }
        Ok(())
    }

    /// Stores one compressed block in its day's table.
    fn store_block(&mut self, done: Compressed) -> Result<(), StoreError> {
        let Compressed { mut block, body } = done;
        let table = day_table(block.day);
        let body = body.map_err(|reason| StoreError::Compression { reason })?;

        if self.known_days.insert(block.day) {
            self.conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                     block INTEGER PRIMARY KEY,
                     ts_min INTEGER NOT NULL,
                     ts_max INTEGER NOT NULL,
                     events INTEGER NOT NULL,
                     ingest INTEGER,
                     body BLOB NOT NULL
                 )"
            ))?;
            self.conn
                .execute("INSERT OR IGNORE INTO days (day) VALUES (?1)", [block.day])?;
        }
        let mut insert = self.conn.prepare_cached(&format!(
            "INSERT INTO {table} (ts_min, ts_max, events, ingest, body) VALUES (?1, ?2, ?3, ?4, ?5)"
        ))?;
        insert.execute(params![
            block.ts_min,
            block.ts_max,
            block.events,
            block.ingest,
            body
        ])?;
        let mut count = self
            .conn
            .prepare_cached("UPDATE days SET events = events + ?2 WHERE day = ?1")?;
        count.execute(params![block.day, block.events])?;

        block.records.clear();
        self.spare.push(block.records);
        Ok(())
    }

    /// Writes every pending block.
    fn write_blocks(&mut self) -> Result<(), StoreError> {
        let days: Vec<i64> = self.blocks.keys().copied().collect();
        for day in days {
            self.write_block(day)?;
        }
        Ok(())
    }

    /// Writes one alert unless an alert with the same dedupe key is stored;
    /// returns whether it was written.
    pub fn insert_alert(&mut self, alert: &Alert, dedupe_key: &str) -> Result<bool, StoreError> {
        self.begin_if_needed()?;
        let written = alerts::insert(self.conn, alert, dedupe_key)?;
        if written {
            self.alerts_written += 1;
        } else {
            self.alerts_duplicate += 1;
        }
        self.after_write()?;
        Ok(written)
    }

    /// Writes the pending blocks and commits the open batch.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        self.write_blocks()?;
        self.store_compressed(0)?;
        if self.in_transaction {
            self.conn.execute_batch("COMMIT")?;
            self.in_transaction = false;
            self.pending = 0;
        }
        Ok(())
    }

    fn begin_if_needed(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction {
            self.conn.execute_batch("BEGIN")?;
            self.in_transaction = true;
        }
        Ok(())
    }

    fn after_write(&mut self) -> Result<(), StoreError> {
        self.pending += 1;
        if self.pending >= self.config.batch_size {
            self.commit()?;
        }
        Ok(())
    }
}

/// Returns the error of a writer whose compression thread has stopped.
fn compression_stopped() -> StoreError {
    StoreError::Compression {
        reason: "the compression thread stopped".to_owned(),
    }
}

impl Drop for StoreWriter<'_> {
    fn drop(&mut self) {
        if self.in_transaction {
            // Not committed through finish(): leave the file as it was before
            // this batch. A failure here has no caller to report to.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Sink for StoreWriter<'_> {
    fn name(&self) -> &str {
        "store"
    }

    fn write_alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        let key = alerts::dedupe_key(alert);
        self.insert_alert(alert, &key)
            .map(|_| ())
            .map_err(|e| SinkError::new("store", e))
    }

    fn write_event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.insert_event(event)
            .map_err(|e| SinkError::new("store", e))
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.commit().map_err(|e| SinkError::new("store", e))
    }
}
