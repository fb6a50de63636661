//! Ingest records: which inputs were read, so a second run adds nothing twice.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::{Store, StoreError};

/// Bytes at the start of a file that identify it. A log that grows keeps its
/// identity, so a re-run reads on from where the last one stopped.
const IDENTITY_HEAD: u64 = 64 * 1024;

/// The identity of an input file, independent of its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileIdentity {
    /// SHA-256 of the first 64 KiB (of the whole file when shorter), hex.
    pub head_sha256: String,
    /// File length in bytes when identified.
    pub length: u64,
}

impl FileIdentity {
    /// Reads the head of `path` and hashes it.
    pub fn of_file(path: &Path) -> Result<FileIdentity, StoreError> {
        let io_error = |source| StoreError::Identity {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let length = file.metadata().map_err(io_error)?.len();

        let mut head = Vec::with_capacity(IDENTITY_HEAD as usize);
        // Bounded by take() to the identifying head.
        #[allow(clippy::disallowed_methods)]
        file.take(IDENTITY_HEAD)
            .read_to_end(&mut head)
            .map_err(io_error)?;

        let digest = Sha256::digest(&head);
        let head_sha256 = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(FileIdentity {
            head_sha256,
            length,
        })
    }
}

/// One earlier read of an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestRecord {
    /// Row id.
    pub id: i64,
    /// Path as given when it was read.
    pub path: String,
    /// Length of the file when it was read.
    pub length: u64,
    /// True when the read reached the end of the input.
    pub finished: bool,
    /// One past the largest event byte offset stored from it (offsets in
    /// the decompressed stream); events before it are already stored.
    pub end_offset: u64,
    /// Events stored from it.
    pub events: u64,
}

impl Store {
    /// The earlier read of a file with this identity that got furthest, if any.
    pub fn find_ingest(&self, identity: &FileIdentity) -> Result<Option<IngestRecord>, StoreError> {
        let record = self
            .conn
            .query_row(
                "SELECT id, path, length, finished, end_offset, events FROM ingests
                 WHERE head_sha256 = ?1
                 ORDER BY finished DESC, end_offset DESC, id DESC LIMIT 1",
                [&identity.head_sha256],
                |row| {
                    Ok(IngestRecord {
                        id: row.get(0)?,
                        path: row.get(1)?,
                        length: row.get::<_, i64>(2)?.unsigned_abs(),
                        finished: row.get(3)?,
                        end_offset: row.get::<_, i64>(4)?.unsigned_abs(),
                        events: row.get::<_, i64>(5)?.unsigned_abs(),
                    })
                },
            )
            .optional()?;
        Ok(record)
    }

    /// Records the start of a read and returns its id.
    pub fn begin_ingest(
        &self,
        path: &str,
        identity: &FileIdentity,
        format: &str,
        started_ns: i64,
    ) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO ingests (path, head_sha256, length, format, started_ns)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                path,
                identity.head_sha256,
                i64::try_from(identity.length).unwrap_or(i64::MAX),
                format,
                started_ns
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records how far a read got.
    pub fn finish_ingest(
        &self,
        id: i64,
        finished: bool,
        end_offset: u64,
        events: u64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE ingests SET finished = ?2, end_offset = ?3, events = ?4 WHERE id = ?1",
            params![
                id,
                finished,
                i64::try_from(end_offset).unwrap_or(i64::MAX),
                i64::try_from(events).unwrap_or(i64::MAX)
            ],
        )?;
        Ok(())
    }
}
