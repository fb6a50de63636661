//! The per-client user-agent inventory: which agents each client has sent,
//! and since when, so that an agent new to a client is noticed across runs.
//!
//! One row per (client, agent) pair. The client is its address, or
//! `user:<name>` where the log has no address. [`SqliteUserAgentHistory`]
//! lets `http.suspicious_user_agent` read and extend the inventory.

use picket_detect::http::{HistoryError, UserAgentHistory, UserAgentSighting};
use picket_event::Timestamp;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// Creates the inventory table and its index if they do not exist.
pub fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS user_agents (
             client      TEXT NOT NULL,
             user_agent  TEXT NOT NULL,
             first_seen  INTEGER NOT NULL,
             last_seen   INTEGER NOT NULL,
             sightings   INTEGER NOT NULL DEFAULT 1,
             PRIMARY KEY (client, user_agent)
         ) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS user_agents_by_client_time
             ON user_agents (client, first_seen);",
    )
}

/// Inserts one sighting or folds it into the known pair.
const UPSERT: &str = "INSERT INTO user_agents (client, user_agent, first_seen, last_seen, sightings)
     VALUES (?1, ?2, ?3, ?3, 1)
     ON CONFLICT (client, user_agent) DO UPDATE SET
         first_seen = min(first_seen, excluded.first_seen),
         last_seen = max(last_seen, excluded.last_seen),
         sightings = sightings + 1";

/// Records sightings in one transaction: a new pair is inserted, a known one
/// keeps its first-seen time (the earlier of the two) and gets the later
/// last-seen time and one more sighting. Times are nanoseconds since the epoch.
pub fn record(conn: &mut Connection, sightings: &[UserAgentSighting]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut upsert = tx.prepare_cached(UPSERT)?;
        for s in sightings {
            upsert.execute(params![s.client, s.user_agent, s.seen.as_nanos()])?;
        }
    }
    tx.commit()
}

/// When `user_agent` was first seen on `client`, if ever.
pub fn agent_first_seen(
    conn: &Connection,
    client: &str,
    user_agent: &str,
) -> rusqlite::Result<Option<Timestamp>> {
    conn.prepare_cached("SELECT first_seen FROM user_agents WHERE client = ?1 AND user_agent = ?2")?
        .query_row(params![client, user_agent], |row| row.get::<_, i64>(0))
        .optional()
        .map(|t| t.map(Timestamp::from_nanos))
}

/// When any agent was first seen on `client`, if ever.
pub fn client_first_seen(conn: &Connection, client: &str) -> rusqlite::Result<Option<Timestamp>> {
    conn.prepare_cached("SELECT min(first_seen) FROM user_agents WHERE client = ?1")?
        .query_row(params![client], |row| row.get::<_, Option<i64>>(0))
        .map(|t| t.map(Timestamp::from_nanos))
}

/// One row of the inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAgentRecord {
    /// The agent string.
    pub user_agent: String,
    /// First sighting.
    pub first_seen: Timestamp,
    /// Last sighting.
    pub last_seen: Timestamp,
    /// Sightings recorded (one per batch in which the pair appeared).
    pub sightings: u64,
}

/// Lists the agents of `client`, oldest first, at most `limit`.
pub fn agents_of(
    conn: &Connection,
    client: &str,
    limit: usize,
) -> rusqlite::Result<Vec<UserAgentRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_agent, first_seen, last_seen, sightings FROM user_agents
         WHERE client = ?1 ORDER BY first_seen, user_agent LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![client, limit], |row| {
        Ok(UserAgentRecord {
            user_agent: row.get(0)?,
            first_seen: Timestamp::from_nanos(row.get(1)?),
            last_seen: Timestamp::from_nanos(row.get(2)?),
            sightings: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
        })
    })?;
    rows.collect()
}

/// The inventory behind `http.suspicious_user_agent`, on its own connection
/// to the store file (SQLite allows one writer per file at a time, so give
/// it a connection of its own with a busy timeout).
pub struct SqliteUserAgentHistory {
    conn: Connection,
}

impl SqliteUserAgentHistory {
    /// Wraps a connection, creating the table if needed.
    pub fn new(conn: Connection) -> rusqlite::Result<Self> {
        create_schema(&conn)?;
        Ok(SqliteUserAgentHistory { conn })
    }

    /// Gives the connection back.
    pub fn into_inner(self) -> Connection {
        self.conn
    }
}

/// The inventory for a run that also writes events: lookups go through a
/// read-only connection of its own, and new sightings wait in memory until
/// [`PendingUserAgents::write`] stores them after the event writer is done.
///
/// Writing from a second connection while the event writer holds its batch
/// transaction would wait on SQLite's single write lock, so writes are
/// deferred. Memory grows with the distinct (client, agent) pairs new to
/// the store, since the detector records only those.
pub struct DeferredUserAgentHistory {
    conn: Connection,
    pending: Arc<Mutex<Vec<UserAgentSighting>>>,
}

/// Sightings a [`DeferredUserAgentHistory`] has not stored yet.
pub struct PendingUserAgents {
    pending: Arc<Mutex<Vec<UserAgentSighting>>>,
}

impl DeferredUserAgentHistory {
    /// Opens a read connection to the store file at `path`, whose schema
    /// [`Store::open`](crate::Store::open) has already created.
    pub fn open(path: &Path) -> rusqlite::Result<(Self, PendingUserAgents)> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        let pending = Arc::new(Mutex::new(Vec::new()));
        let history = DeferredUserAgentHistory {
            conn,
            pending: Arc::clone(&pending),
        };
        Ok((history, PendingUserAgents { pending }))
    }
}

impl UserAgentHistory for DeferredUserAgentHistory {
    fn agent_first_seen(
        &mut self,
        client: &str,
        user_agent: &str,
    ) -> Result<Option<Timestamp>, HistoryError> {
        agent_first_seen(&self.conn, client, user_agent).map_err(|e| history_error("lookup", e))
    }

    fn client_first_seen(&mut self, client: &str) -> Result<Option<Timestamp>, HistoryError> {
        client_first_seen(&self.conn, client).map_err(|e| history_error("lookup", e))
    }

    fn record(&mut self, sightings: &[UserAgentSighting]) -> Result<(), HistoryError> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.extend_from_slice(sightings);
        Ok(())
    }
}

impl PendingUserAgents {
    /// Stores the waiting sightings through the store's own connection and
    /// returns how many there were. Call it after the event writer finished.
    pub fn write(self, store: &crate::Store) -> rusqlite::Result<usize> {
        let sightings = std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let conn = store.connection();
        let tx = conn.unchecked_transaction()?;
        {
            let mut upsert = tx.prepare_cached(UPSERT)?;
            for s in &sightings {
                upsert.execute(params![s.client, s.user_agent, s.seen.as_nanos()])?;
            }
        }
        tx.commit()?;
        Ok(sightings.len())
    }
}

fn history_error(operation: &'static str, error: rusqlite::Error) -> HistoryError {
    HistoryError {
        operation,
        source: Box::new(error),
    }
}

impl UserAgentHistory for SqliteUserAgentHistory {
    fn agent_first_seen(
        &mut self,
        client: &str,
        user_agent: &str,
    ) -> Result<Option<Timestamp>, HistoryError> {
        agent_first_seen(&self.conn, client, user_agent).map_err(|e| history_error("lookup", e))
    }

    fn client_first_seen(&mut self, client: &str) -> Result<Option<Timestamp>, HistoryError> {
        client_first_seen(&self.conn, client).map_err(|e| history_error("lookup", e))
    }

    fn record(&mut self, sightings: &[UserAgentSighting]) -> Result<(), HistoryError> {
        record(&mut self.conn, sightings).map_err(|e| history_error("record", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sighting(client: &str, agent: &str, secs: i64) -> UserAgentSighting {
        UserAgentSighting {
            client: client.into(),
            user_agent: agent.into(),
            seen: Timestamp::from_nanos(secs * 1_000_000_000),
        }
    }

    #[test]
    fn record_keeps_first_and_last_seen() {
        let mut conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        record(&mut conn, &[sighting("10.0.0.1", "Firefox", 100)]).unwrap();
        record(
            &mut conn,
            &[
                sighting("10.0.0.1", "Firefox", 50),
                sighting("10.0.0.1", "curl/8", 200),
            ],
        )
        .unwrap();

        let first = agent_first_seen(&conn, "10.0.0.1", "Firefox")
            .unwrap()
            .unwrap();
        assert_eq!(first.as_secs(), 50);
        assert_eq!(
            client_first_seen(&conn, "10.0.0.1")
                .unwrap()
                .unwrap()
                .as_secs(),
            50
        );
        assert!(
            agent_first_seen(&conn, "10.0.0.2", "Firefox")
                .unwrap()
                .is_none()
        );
        assert!(client_first_seen(&conn, "10.0.0.2").unwrap().is_none());

        let agents = agents_of(&conn, "10.0.0.1", 10).unwrap();
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].user_agent, "Firefox");
        assert_eq!(agents[0].last_seen.as_secs(), 100);
        assert_eq!(agents[0].sightings, 2);
    }

    #[test]
    fn schema_creation_is_idempotent() {
        let conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        create_schema(&conn).unwrap();
    }

    #[test]
    fn history_serves_the_detector() {
        let conn = Connection::open_in_memory().unwrap();
        let mut history = SqliteUserAgentHistory::new(conn).unwrap();
        history
            .record(&[sighting("user:alice", "Edge", 10)])
            .unwrap();
        assert!(
            history
                .agent_first_seen("user:alice", "Edge")
                .unwrap()
                .is_some()
        );
        assert!(
            history
                .agent_first_seen("user:alice", "Chrome")
                .unwrap()
                .is_none()
        );
        assert_eq!(
            history
                .client_first_seen("user:alice")
                .unwrap()
                .unwrap()
                .as_secs(),
            10
        );
    }
}
