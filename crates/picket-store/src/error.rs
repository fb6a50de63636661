//! Store errors.

use std::path::PathBuf;

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or created.
    #[error("cannot open store {path}: {source}")]
    Open {
        /// The store file.
        path: PathBuf,
        /// What SQLite reported.
        #[source]
        source: rusqlite::Error,
    },
    /// The writer lock beside the store could not be taken.
    #[error("cannot lock the store for writing ({path}): {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The file was written by a newer picket with a schema this one does not know.
    #[error(
        "store {path} has schema version {found}, newer than this picket's {supported}; upgrade picket"
    )]
    SchemaTooNew {
        /// The store file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Newest version this build reads.
        supported: i64,
    },
    /// A query or statement failed.
    #[error("store query failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored record could not be encoded or decoded.
    #[error("stored record in {table} row {row} is unreadable: {source}")]
    Codec {
        /// Table holding the record.
        table: String,
        /// Its row id.
        row: i64,
        /// The decoding failure.
        #[source]
        source: picket_event::codec::CodecError,
    },
    /// A stored block of events is damaged.
    #[error("stored block {block} in {table} is damaged: {reason}")]
    CorruptBlock {
        /// Table holding the block.
        table: String,
        /// Its row id.
        block: i64,
        /// What is wrong with it.
        reason: String,
    },
    /// A block of events could not be compressed for writing.
    #[error("cannot compress a block of events: {reason}")]
    Compression {
        /// What failed.
        reason: String,
    },
    /// An input file could not be read to compute its identity.
    #[error("cannot read {path} to identify it: {source}")]
    Identity {
        /// The input file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
}
