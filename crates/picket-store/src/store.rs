//! Opening the store file and keeping its schema current.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use tracing::warn;

use crate::StoreError;

/// Schema version this build writes, kept in SQLite's `user_version`.
/// Version 2 finds indicators by a key digest (`intel::key_hash`) and
/// numbers their sources. A writer upgrades a version 1 store when it opens
/// it, and older builds reject a version 2 store.
const SCHEMA_VERSION: i64 = 2;

/// How long a connection waits for another writer's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Page size of a store file this build creates, in bytes. SQLite fixes
/// it when it writes the file's first page, so a store created with
/// another size keeps that size. On an import of 100,000 indicators,
/// 16 KiB pages saved the writing thread 3.3 % of its instructions against
/// SQLite's default of 4 KiB, because B-trees split fewer pages and the
/// file is read and written in fewer calls. BENCHMARKS.md has the figures.
const PAGE_SIZE: u32 = 16_384;

/// An open store: one SQLite file in WAL mode.
///
/// A `Store` opened with [`Store::open`] is the single writer; any number of
/// [`Store::open_read_only`] handles may read at the same time.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// The writer lock file, held open (and locked) while this writer lives;
    /// `None` for readers.
    _writer_lock: Option<File>,
}

impl Store {
    /// Opens the store at `path` for writing, creating the file and the
    /// schema when missing.
    ///
    /// Only one writer may use a store at a time: a second `open` of the same
    /// file waits until the first writer is dropped, so that two runs never
    /// read the same input into the store twice. The lock is an advisory
    /// lock on `PATH.lock` beside the store file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let writer_lock = lock_writer(path)?;
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Set before the journal mode, because switching a new file to WAL
        // writes its first page and so fixes the page size.
        conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}"))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -262144;",
        )?;

        let store = Store {
            conn,
            path: path.to_owned(),
            _writer_lock: Some(writer_lock),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store for reading only, beside a running writer.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;

        let store = Store {
            conn,
            path: path.to_owned(),
            _writer_lock: None,
        };
        store.check_version()?;
        Ok(store)
    }

    /// Returns the store file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the underlying connection. The store modules of other stages
    /// (indicators, passive DNS) keep their own tables in this file.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn check_version(&self) -> Result<i64, StoreError> {
        let found: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(found)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        self.check_version()?;

        // Every statement is idempotent, so opening an up-to-date store is cheap
        // and a store from an older build gains the tables added since.
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS days (
                 day INTEGER PRIMARY KEY,
                 events INTEGER NOT NULL DEFAULT 0
             );
             CREATE TABLE IF NOT EXISTS ingests (
                 id INTEGER PRIMARY KEY,
                 path TEXT NOT NULL,
                 head_sha256 TEXT NOT NULL,
                 length INTEGER NOT NULL,
                 format TEXT,
                 started_ns INTEGER NOT NULL,
                 finished INTEGER NOT NULL DEFAULT 0,
                 end_offset INTEGER NOT NULL DEFAULT 0,
                 events INTEGER NOT NULL DEFAULT 0
             );
             CREATE INDEX IF NOT EXISTS ingests_identity ON ingests (head_sha256);
             CREATE TABLE IF NOT EXISTS alerts (
                 id INTEGER PRIMARY KEY,
                 ts INTEGER NOT NULL,
                 detector TEXT NOT NULL,
                 severity TEXT NOT NULL,
                 score REAL NOT NULL,
                 host TEXT,
                 retrospective INTEGER NOT NULL,
                 dedupe_key TEXT NOT NULL UNIQUE,
                 body TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts);
             CREATE INDEX IF NOT EXISTS alerts_host ON alerts (host);",
        )?;

        // The tables other stages keep in this file.
        crate::intel::create_schema(&self.conn)?;
        crate::pdns::create_schema(&self.conn)?;
        crate::useragents::create_schema(&self.conn)?;

        self.conn
            .execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        Ok(())
    }
}

/// Takes the store's writer lock, waiting while another writer holds it.
fn lock_writer(path: &Path) -> Result<File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let io_error = |source| StoreError::Lock {
        path: lock_path.clone(),
        source,
    };

    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            // At warn level, so that the default log level shows why the
            // command does nothing until the other writer ends.
            warn!(store = %path.display(), lock = %lock_path.display(), "the store is locked by another writer, such as a running `picket analyze`; waiting until it ends");
            file.lock().map_err(io_error)?;
        }
        Err(TryLockError::Error(source)) => return Err(io_error(source)),
    }
    Ok(file)
}
