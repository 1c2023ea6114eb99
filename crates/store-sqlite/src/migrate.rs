//! Runs the embedded migrations ([`crate::MIGRATOR`]) on a rusqlite connection, keeping sqlx's
//! `_sqlx_migrations` table and checksums: a database migrated by an earlier version (through
//! sqlx) continues where it stopped, and one migrated here can be read by sqlx's tools.

use crate::codec::db_err;
use crate::db::query;
use mailroom_store::{StoreError, StoreResult};
use rusqlite::Connection;
use std::collections::HashMap;

/// Applies every migration the database does not have yet, each in its own `BEGIN IMMEDIATE`
/// transaction (so two processes opening a new file at once apply each migration once).
pub(crate) fn run(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            success BOOLEAN NOT NULL,
            checksum BLOB NOT NULL,
            execution_time BIGINT NOT NULL
        );",
    )
    .map_err(db_err)?;
    for m in crate::MIGRATOR.iter() {
        if m.migration_type.is_down_migration() {
            continue;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_err)?;
        let applied = applied(&tx)?;
        match applied.get(&m.version) {
            Some((true, checksum)) if checksum.as_slice() == m.checksum.as_ref() => continue,
            Some((true, _)) => {
                return Err(StoreError::Database(format!("migration {} was applied but has been modified since", m.version).into()));
            }
            Some((false, _)) => {
                return Err(StoreError::Database(format!("migration {} is partially applied; fix it by hand", m.version).into()));
            }
            None => {}
        }
        let started = std::time::Instant::now();
        tx.execute_batch(&m.sql)
            .map_err(|e| StoreError::Database(format!("migration {} ({}) failed: {e}", m.version, m.description).into()))?;
        query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (?, ?, TRUE, ?, ?)")
            .bind(m.version)
            .bind(m.description.as_ref())
            .bind(m.checksum.as_ref())
            .bind(i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX))
            .execute(&tx)
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

/// Returns the applied migrations: version → (succeeded, checksum).
fn applied(conn: &Connection) -> StoreResult<HashMap<i64, (bool, Vec<u8>)>> {
    let rows = query("SELECT version, success, checksum FROM _sqlx_migrations").fetch_all(conn).map_err(db_err)?;
    let mut out = HashMap::new();
    for row in rows {
        let version: i64 = row.try_get("version").map_err(StoreError::Corrupt)?;
        let success: bool = row.try_get("success").map_err(StoreError::Corrupt)?;
        let checksum: Vec<u8> = row.try_get("checksum").map_err(StoreError::Corrupt)?;
        out.insert(version, (success, checksum));
    }
    Ok(out)
}
