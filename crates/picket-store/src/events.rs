//! Events in day partitions: writing in batches, scanning a day.

use std::collections::HashSet;

use picket_event::{Alert, Event, Sink, SinkError, codec};
use rusqlite::{Connection, params};

use crate::{Store, StoreError, alerts};

/// A stored event's address: its day partition and row id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventRef {
    /// Day number (days since the Unix epoch, UTC).
    pub day: i64,
    /// Row id inside the day's table.
    pub row: i64,
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

fn dataset_code(event: &Event) -> &'static str {
    event.dataset()
}

/// Settings of a [`StoreWriter`].
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Events and alerts per transaction. Larger batches write faster; a crash
    /// loses at most one batch, which a re-run of `analyze` writes again.
    /// Default 20,000.
    pub batch_size: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig { batch_size: 20_000 }
    }
}

/// Writes events and alerts into the store in batched transactions.
///
/// Implements [`Sink`], so `analyze` treats the store like any other output.
/// Call [`Sink::finish`] to commit the last batch; dropping the writer without
/// it rolls the open batch back.
pub struct StoreWriter<'a> {
    conn: &'a Connection,
    config: WriterConfig,
    ingest: Option<i64>,
    pending: usize,
    in_transaction: bool,
    known_days: HashSet<i64>,
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
        let exists: bool = self.conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [&table],
            |row| row.get(0),
        )?;
        if !exists {
            return Ok(0);
        }

        let mut statement = self
            .conn
            .prepare(&format!("SELECT row, body FROM {table} ORDER BY row"))?;
        let mut rows = statement.query([])?;
        let mut visited = 0;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let body = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            let event: Event = codec::decode(body).map_err(|source| StoreError::Codec {
                table: table.clone(),
                row: id,
                source,
            })?;
            visit(EventRef { day, row: id }, event);
            visited += 1;
        }
        Ok(visited)
    }

    /// Drops one day's events whole.
    pub fn drop_day(&self, day: i64) -> Result<(), StoreError> {
        let table = day_table(day);
        self.conn.execute_batch(&format!("DROP TABLE IF EXISTS {table}"))?;
        self.conn.execute("DELETE FROM days WHERE day = ?1", [day])?;
        Ok(())
    }
}

impl StoreWriter<'_> {
    /// Tags the events written from now on with an ingest record id.
    pub fn set_ingest(&mut self, ingest: Option<i64>) {
        self.ingest = ingest;
    }

    /// Events written so far.
    pub fn events_written(&self) -> u64 {
        self.events_written
    }

    /// Alerts written so far, and alerts skipped as already stored.
    pub fn alerts_written(&self) -> (u64, u64) {
        (self.alerts_written, self.alerts_duplicate)
    }

    /// Writes one event and returns where it went.
    pub fn insert_event(&mut self, event: &Event) -> Result<EventRef, StoreError> {
        self.begin_if_needed()?;

        let day = event.timestamp().day_number();
        let table = day_table(day);
        if self.known_days.insert(day) {
            self.conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                     row INTEGER PRIMARY KEY,
                     ts INTEGER NOT NULL,
                     dataset TEXT NOT NULL,
                     client TEXT,
                     ingest INTEGER,
                     body BLOB NOT NULL
                 )"
            ))?;
            self.conn
                .execute("INSERT OR IGNORE INTO days (day) VALUES (?1)", [day])?;
        }

        let body = codec::encode(event).map_err(|source| StoreError::Codec {
            table: table.clone(),
            row: 0,
            source,
        })?;
        let client = event.client().ip.map(|ip| ip.to_string());
        let mut insert = self.conn.prepare_cached(&format!(
            "INSERT INTO {table} (ts, dataset, client, ingest, body) VALUES (?1, ?2, ?3, ?4, ?5)"
        ))?;
        insert.execute(params![
            event.timestamp().as_nanos(),
            dataset_code(event),
            client,
            self.ingest,
            body
        ])?;
        let row = self.conn.last_insert_rowid();
        let mut count = self
            .conn
            .prepare_cached("UPDATE days SET events = events + 1 WHERE day = ?1")?;
        count.execute([day])?;

        self.events_written += 1;
        self.after_write()?;
        Ok(EventRef { day, row })
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

    /// Commits the open batch.
    pub fn commit(&mut self) -> Result<(), StoreError> {
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
            .map(|_| ())
            .map_err(|e| SinkError::new("store", e))
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.commit().map_err(|e| SinkError::new("store", e))
    }
}
