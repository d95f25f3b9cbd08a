//! SQLite through rusqlite. Concurrency is serialised by `BEGIN IMMEDIATE`
//! (the write lock is taken up front) with a busy timeout, and every
//! transaction re-reads the ledger, so two runs never apply one migration twice.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, TransactionBehavior};
use shipgate_core::exit::{Error, Result};

use super::{Applied, DbFailure, LedgerChange};
use crate::ledger::{Ledger, LedgerRow};

pub struct SqliteConnection {
    connection: rusqlite::Connection,
    /// The database file, for errors about the file itself.
    path: PathBuf,
    /// Whether this connection switched its rollback journal to TRUNCATE
    /// (see [`SqliteConnection::journal_for_writes`]) and must switch back.
    truncating_journal: Option<bool>,
    /// Inside the one transaction of `up --single-transaction`
    /// ([`SqliteConnection::begin_group`]): migrations run in it, unwrapped.
    grouped: bool,
}

fn failure(error: rusqlite::Error, path: &Path) -> DbFailure {
    let busy = matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    let unique = matches!(&error, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY);
    // SQLite opens lazily, so a damaged or foreign file shows up at the
    // first statement, as "file is not a database" with no file name.
    let message = match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => format!(
            "{}: {error}: the file is not an SQLite database or is damaged; restore it from a backup",
            path.display()
        ),
        _ => error.to_string(),
    };
    DbFailure {
        message,
        position: None,
        connection_lost: busy || matches!(error.sqlite_error_code(), Some(rusqlite::ErrorCode::CannotOpen)),
        unique_violation: unique,
    }
}

impl SqliteConnection {
    pub(super) fn open(path: &Path, timeout: Duration) -> Result<SqliteConnection> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty())
            && !parent.is_dir()
        {
            return Err(Error::usage(format!(
                "cannot open SQLite database {}: directory {} does not exist",
                path.display(),
                parent.display()
            )));
        }
        let connection = rusqlite::Connection::open(path)
            .map_err(|error| Error::external_with(format!("cannot open SQLite database {}", path.display()), error))?;
        connection
            .busy_timeout(timeout)
            .map_err(|error| Error::external_with(format!("configuring {}", path.display()), error))?;
        Ok(SqliteConnection {
            connection,
            path: path.to_path_buf(),
            truncating_journal: None,
            grouped: false,
        })
    }

    /// Before the first write: a database in the default DELETE journal mode
    /// is written with TRUNCATE instead, which keeps the same fsyncs per
    /// commit but not the journal's create and unlink, about a third of each
    /// migration's time. Rollback journal modes belong to the connection, not
    /// to the file, so nothing about the database changes; WAL, which would,
    /// is never switched to.
    fn journal_for_writes(&mut self) {
        if self.truncating_journal.is_some() {
            return;
        }
        let current: Option<String> = self
            .connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .ok();
        let switched = current.as_deref() == Some("delete")
            && self
                .connection
                .query_row("PRAGMA journal_mode = TRUNCATE", [], |row| row.get::<_, String>(0))
                .is_ok_and(|mode| mode == "truncate");
        self.truncating_journal = Some(switched);
    }

    pub(super) fn batch(&mut self, sql: &str) -> Result<(), DbFailure> {
        self.connection
            .execute_batch(sql)
            .map_err(|error| failure(error, &self.path))
    }

    pub(super) fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbFailure> {
        let mut statement = self
            .connection
            .prepare(sql)
            .map_err(|error| failure(error, &self.path))?;
        let columns = statement.column_count();
        let rows = statement
            .query_map([], |row| {
                (0..columns)
                    .map(|index| {
                        Ok(match row.get_ref(index)? {
                            rusqlite::types::ValueRef::Null => None,
                            rusqlite::types::ValueRef::Integer(value) => Some(value.to_string()),
                            rusqlite::types::ValueRef::Real(value) => Some(value.to_string()),
                            rusqlite::types::ValueRef::Text(text) | rusqlite::types::ValueRef::Blob(text) => {
                                Some(String::from_utf8_lossy(text).into_owned())
                            }
                        })
                    })
                    .collect()
            })
            .map_err(|error| failure(error, &self.path))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|error| failure(error, &self.path))
    }

    fn ledger_exists(&self, ledger: &Ledger) -> Result<bool, DbFailure> {
        let (_, table) = ledger.parts();
        self.connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |row| row.get::<_, i64>(0),
            )
            .map(|count| count > 0)
            .map_err(|error| failure(error, &self.path))
    }

    pub(super) fn read_ledger(&mut self, ledger: &Ledger) -> Result<Vec<LedgerRow>> {
        let read = || -> Result<Vec<LedgerRow>, DbFailure> {
            if !self.ledger_exists(ledger)? {
                return Ok(Vec::new());
            }
            let mut statement = self
                .connection
                .prepare(&ledger.select_sql())
                .map_err(|error| failure(error, &self.path))?;
            let rows = statement
                .query_map([], |row| {
                    Ok(LedgerRow {
                        version: row.get(0)?,
                        name: row.get(1)?,
                        checksum: row.get(2)?,
                        applied_at: row.get(3)?,
                        execution_ms: row.get(4)?,
                        applied_by: row.get(5)?,
                        run_url: row.get(6)?,
                        success: row.get(7)?,
                        statements_done: row.get(8)?,
                        note: row.get(9)?,
                    })
                })
                .map_err(|error| failure(error, &self.path))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|error| failure(error, &self.path))
        };
        read().map_err(|error| error.into_error("reading the ledger", None))
    }

    fn row_state(
        transaction: &rusqlite::Connection,
        path: &Path,
        ledger: &Ledger,
        version: &str,
    ) -> Result<Option<(bool, i64)>, DbFailure> {
        transaction
            .query_row(
                &format!(
                    "SELECT success, statements_done FROM {} WHERE version = ?1",
                    ledger.quoted()
                ),
                [version],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|error| failure(error, path))
    }

    /// Starts the one transaction every migration of a group runs in.
    pub(super) fn begin_group(&mut self) -> Result<()> {
        self.journal_for_writes();
        self.connection
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|error| failure(error, &self.path).into_error("starting a transaction", None))?;
        self.grouped = true;
        Ok(())
    }

    /// Commits the group: one commit, with the same fsyncs as one migration's.
    pub(super) fn commit_group(&mut self) -> Result<()> {
        self.grouped = false;
        self.connection
            .execute_batch("COMMIT")
            .map_err(|error| failure(error, &self.path).into_error("committing", None))
    }

    /// Undoes every migration of the group.
    pub(super) fn rollback_group(&mut self) {
        self.grouped = false;
        let _ = self.connection.execute_batch("ROLLBACK");
    }

    pub(super) fn apply_in_transaction(
        &mut self,
        ledger: &Ledger,
        script: &str,
        origin: (&Path, usize),
        change: &LedgerChange,
    ) -> Result<Applied> {
        if self.grouped {
            return Self::apply_script(&self.connection, &self.path, ledger, script, origin, change);
        }
        self.journal_for_writes();
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|error| failure(error, &self.path).into_error("starting a transaction", None))?;
        let applied = Self::apply_script(&transaction, &self.path, ledger, script, origin, change)?;
        if let Applied::Ran { .. } = applied {
            transaction
                .commit()
                .map_err(|error| failure(error, &self.path).into_error("committing", None))?;
        }
        Ok(applied)
    }

    /// The script and its ledger change, in the transaction `connection` has open.
    fn apply_script(
        connection: &rusqlite::Connection,
        db_path: &Path,
        ledger: &Ledger,
        script: &str,
        (path, first_line): (&Path, usize),
        change: &LedgerChange,
    ) -> Result<Applied> {
        let version = match change {
            LedgerChange::Insert(row) | LedgerChange::Replace(row) => &row.version,
            LedgerChange::Delete { version } => version,
        };
        let state = Self::row_state(connection, db_path, ledger, version)
            .map_err(|error| error.into_error("the ledger", None))?;
        let already = match change {
            LedgerChange::Insert(_) => state.is_some(),
            LedgerChange::Replace(row) => {
                state.is_some() && {
                    let checksum: Option<String> = connection
                        .query_row(
                            &format!("SELECT checksum FROM {} WHERE version = ?1", ledger.quoted()),
                            [&row.version],
                            |found| found.get(0),
                        )
                        .optional()
                        .map_err(|error| failure(error, db_path).into_error("the ledger", None))?;
                    checksum.as_deref() == Some(&row.checksum)
                }
            }
            LedgerChange::Delete { .. } => state.is_none(),
        };
        if already {
            return Ok(Applied::AlreadyDone);
        }
        let started = Instant::now();
        connection
            .execute_batch(script)
            .map_err(|error| failure(error, db_path).into_error("migration", Some((path, first_line, script))))?;
        let execution_ms = started.elapsed().as_millis() as i64;
        let bookkeeping = match change {
            LedgerChange::Insert(row) => ledger.insert_sql(row, &execution_ms.to_string()),
            LedgerChange::Replace(row) => format!(
                "{};\n{}",
                ledger.delete_sql(&row.version),
                ledger.insert_sql(row, &execution_ms.to_string())
            ),
            LedgerChange::Delete { version } => ledger.delete_sql(version),
        };
        connection
            .execute_batch(&bookkeeping)
            .map_err(|error| failure(error, db_path).into_error("the ledger", None))?;
        Ok(Applied::Ran { execution_ms })
    }

    pub(super) fn apply_statement(
        &mut self,
        ledger: &Ledger,
        version: &str,
        index: i64,
        statement: &str,
        (path, line): (&Path, usize),
    ) -> Result<Applied> {
        self.journal_for_writes();
        // SQLite can run these statements in a transaction, so statement and
        // progress commit together and a concurrent run sees exact progress.
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|error| failure(error, &self.path).into_error("starting a transaction", None))?;
        let state = Self::row_state(&transaction, &self.path, ledger, version)
            .map_err(|error| error.into_error("the ledger", None))?;
        if state.is_none_or(|(success, done)| success || done != index) {
            return Ok(Applied::AlreadyDone);
        }
        transaction
            .execute_batch(statement)
            .map_err(|error| failure(error, &self.path).into_error("statement", Some((path, line, statement))))?;
        transaction
            .execute_batch(&ledger.progress_sql(version, index + 1))
            .map_err(|error| failure(error, &self.path).into_error("the ledger", None))?;
        transaction
            .commit()
            .map_err(|error| failure(error, &self.path).into_error("committing", None))?;
        Ok(Applied::Ran { execution_ms: 0 })
    }

    /// `VACUUM INTO`: a consistent copy of the live database.
    pub(crate) fn vacuum_into(&mut self, output: &Path) -> Result<()> {
        self.connection
            .execute("VACUUM INTO ?1", [output.to_string_lossy()])
            .map(drop)
            .map_err(|error| Error::external_with(format!("VACUUM INTO {}", output.display()), error))
    }
}

impl Drop for SqliteConnection {
    /// Back to DELETE, which also removes the empty journal file TRUNCATE
    /// leaves next to the database.
    fn drop(&mut self) {
        if self.truncating_journal == Some(true) {
            let _ = self
                .connection
                .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get::<_, String>(0));
        }
    }
}
