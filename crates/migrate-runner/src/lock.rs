//! Serialising concurrent runs.
//!
//! PostgreSQL: a session advisory lock taken with `pg_try_advisory_lock`
//! on a dedicated connection, polled with backoff until `--lock-timeout`.
//! Never the blocking `pg_advisory_lock`: a waiting session would hold a
//! snapshot that `CREATE INDEX CONCURRENTLY` in the lock holder waits on,
//! a deadlock. The lock lives exactly as long as the connection, so a
//! killed run releases it: there is no lock row to expire.
//!
//! SQLite: each migration runs in a `BEGIN IMMEDIATE` transaction that
//! re-reads the ledger (see `database::sqlite`), so no run-wide lock is needed.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use shipgate_core::exit::{Error, Result};

use crate::database::{DatabaseUrl, PgLockConnection};
use crate::ledger::Ledger;

/// `--lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LockMode {
    /// PostgreSQL advisory lock; SQLite immediate transactions.
    #[default]
    Advisory,
    /// No run-wide lock, for PgBouncer transaction pooling where session
    /// locks do not stick to one server connection. Concurrent runs are then
    /// only kept apart by the ledger's primary key.
    None,
}

/// A held lock; released when dropped (the connection closes).
pub struct MigrationLock {
    held: Option<(PgLockConnection, i64)>,
}

impl MigrationLock {
    pub fn none() -> MigrationLock {
        MigrationLock { held: None }
    }

    pub async fn release(mut self) {
        if let Some((connection, key)) = self.held.take() {
            connection.unlock(key).await;
        }
    }

    pub fn key(&self) -> Option<i64> {
        self.held.as_ref().map(|(_, key)| *key)
    }
}

/// The advisory lock key: the first 8 bytes of SHA-256 over database,
/// schema and ledger table, so two projects sharing a server do not block
/// each other but every run against one ledger does.
pub fn lock_key(database: &str, schema: &str, table: &str) -> i64 {
    let digest = Sha256::digest(format!("shipgate-migrate\0{database}\0{schema}\0{table}"));
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Waits for the lock with exponential backoff (50 ms doubling to 1 s, with
/// jitter so waiting runs do not poll in step).
pub async fn acquire(
    url: &DatabaseUrl,
    ledger: &Ledger,
    mode: LockMode,
    timeout: Duration,
    connect_timeout: Duration,
    on_wait: impl Fn(),
) -> Result<MigrationLock> {
    let DatabaseUrl::Postgres(pg) = url else {
        return Ok(MigrationLock::none());
    };
    if mode == LockMode::None {
        return Ok(MigrationLock::none());
    }
    let connection = PgLockConnection::open(pg, connect_timeout).await?;
    let (database, current_schema) = connection.identity().await?;
    let (schema, table) = ledger.parts();
    let key = lock_key(&database, schema.unwrap_or(&current_schema), table);
    let started = Instant::now();
    let mut wait = Duration::from_millis(50);
    let mut warned = false;
    loop {
        if connection.try_lock(key).await? {
            return Ok(MigrationLock {
                held: Some((connection, key)),
            });
        }
        if !warned {
            on_wait();
            warned = true;
        }
        if started.elapsed() >= timeout {
            return Err(Error::external(format!(
                "another migration run holds the lock on {database}.{} (advisory lock {key}); gave up after {}s (--lock-timeout)",
                ledger.table,
                timeout.as_secs()
            )));
        }
        let jitter = Duration::from_millis(
            u64::from(std::process::id() % 7) * 5 + (started.elapsed().subsec_nanos() % 20) as u64,
        );
        tokio::time::sleep((wait + jitter).min(timeout.saturating_sub(started.elapsed()) + Duration::from_millis(1)))
            .await;
        wait = (wait * 2).min(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_depends_on_database_schema_and_table() {
        let base = lock_key("app", "public", "shipgate_migrations");
        assert_eq!(base, lock_key("app", "public", "shipgate_migrations"));
        assert_ne!(base, lock_key("other", "public", "shipgate_migrations"));
        assert_ne!(base, lock_key("app", "ops", "shipgate_migrations"));
        assert_ne!(base, lock_key("app", "public", "migrations"));
    }
}
