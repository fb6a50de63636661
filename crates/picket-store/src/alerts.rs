//! Alerts: stored once each, whichever run raised them.

use std::fmt::Write;

use picket_event::{Alert, Timestamp};
use rusqlite::{Connection, params};

use crate::{Store, StoreError};

/// An alert read back from the store, with its row id.
#[derive(Clone, Debug)]
pub struct StoredAlert {
    /// Row id in the `alerts` table.
    pub id: i64,
    /// The alert as written.
    pub alert: Alert,
}

/// The key that identifies an alert across runs: the detector, every
/// evidence event's location and every indicator with the field it matched.
///
/// Two runs over the same input, or a live run and a later `picket hunt`,
/// produce the same key for the same finding, so it is stored once.
pub fn dedupe_key(alert: &Alert) -> String {
    let mut key = alert.detector.clone();
    for event in &alert.events {
        let location = event.location();
        let _ = write!(
            key,
            "|{}:{}:{}:{}",
            location.file,
            location.line.unwrap_or(0),
            location.packet.unwrap_or(0),
            location.offset.unwrap_or(0)
        );
    }
    for hit in &alert.indicators {
        // The field's JSON text, quotes included, as stored keys have it.
        let _ = write!(
            key,
            "|{}={}@\"{}\"",
            hit.kind,
            hit.indicator,
            hit.field.as_str()
        );
    }
    key
}

pub(crate) fn insert(conn: &Connection, alert: &Alert, dedupe_key: &str) -> Result<bool, StoreError> {
    let body = serde_json::to_string(alert).map_err(|e| {
        StoreError::Sqlite(rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    })?;
    let severity = serde_json::to_value(alert.severity)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut statement = conn.prepare_cached(
        "INSERT OR IGNORE INTO alerts
             (ts, detector, severity, score, host, retrospective, dedupe_key, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let changed = statement.execute(params![
        alert.timestamp.as_nanos(),
        alert.detector,
        severity,
        alert.score,
        alert.host.map(|ip| ip.to_string()),
        alert.retrospective,
        dedupe_key,
        body
    ])?;
    Ok(changed == 1)
}

impl Store {
    /// Writes one alert outside a batch unless its dedupe key is stored;
    /// returns whether it was written.
    pub fn insert_alert(&self, alert: &Alert, dedupe_key: &str) -> Result<bool, StoreError> {
        insert(&self.conn, alert, dedupe_key)
    }

    /// True when an alert with this dedupe key is stored.
    pub fn has_alert(&self, dedupe_key: &str) -> Result<bool, StoreError> {
        // Cached, because a hunt runs this query once per hit.
        let found = self
            .conn
            .prepare_cached("SELECT count(*) > 0 FROM alerts WHERE dedupe_key = ?1")?
            .query_row([dedupe_key], |row| row.get(0))?;
        Ok(found)
    }

    /// Number of stored alerts.
    pub fn alert_count(&self) -> Result<u64, StoreError> {
        let count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM alerts", [], |row| row.get(0))?;
        Ok(count.unsigned_abs())
    }

    /// Alerts whose time is in `[since, until)`, oldest first, optionally of
    /// one detector.
    pub fn alerts_between(
        &self,
        since: Timestamp,
        until: Timestamp,
        detector: Option<&str>,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT id, body FROM alerts
             WHERE ts >= ?1 AND ts < ?2 AND (?3 IS NULL OR detector = ?3)
             ORDER BY ts, id",
        )?;
        let rows = statement.query_map(
            params![since.as_nanos(), until.as_nanos(), detector],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
        )?;

        let mut alerts = Vec::new();
        for row in rows {
            let (id, body) = row?;
            let alert: Alert = serde_json::from_str(&body).map_err(|e| {
                StoreError::Sqlite(rusqlite::Error::FromSqlConversionFailure(
                    7,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                ))
            })?;
            alerts.push(StoredAlert { id, alert });
        }
        Ok(alerts)
    }
}
