//! The driver layer: one [`Connection`] type over PostgreSQL
//! (tokio-postgres, simple-query protocol for whole files) and SQLite
//! (rusqlite with a bundled SQLite, `execute_batch` for whole files).

mod postgres;
mod sqlite;
mod tls;

use std::path::{Path, PathBuf};
use std::time::Duration;

use shipgate_core::actions::Secret;
use shipgate_core::exit::{Error, Result};

use crate::ledger::{Ledger, LedgerRow};
use crate::sql::SqlDialect;

pub use postgres::PgLockConnection;
pub use tls::TlsMode;

/// Where the database is, parsed from `--database-url`/`DATABASE_URL`.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    Postgres(Box<PgUrl>),
    Sqlite(SqliteUrl),
}

#[derive(Debug, Clone)]
pub struct PgUrl {
    pub config: tokio_postgres::Config,
    pub tls: TlsMode,
    pub root_cert: Option<PathBuf>,
    /// The URL as shown: password and query values replaced by `***`.
    pub shown: String,
    /// The URL as given (with its password), for pg_dump.
    pub full: Secret,
}

#[derive(Debug, Clone)]
pub struct SqliteUrl {
    pub path: PathBuf,
    pub shown: String,
    /// The URL as given, for programs `exec` runs.
    pub given: String,
}

impl DatabaseUrl {
    /// Parses a `postgres://`/`postgresql://` or `sqlite:` URL. A password
    /// in it is registered as a secret at once, before anything can print it.
    pub fn parse(text: &str) -> Result<DatabaseUrl> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("sqlite:").or_else(|| text.strip_prefix("sqlite3:")) {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(Error::usage(
                    "the SQLite URL names no file (expected `sqlite:path/to.db`)",
                ));
            }
            return Ok(DatabaseUrl::Sqlite(SqliteUrl {
                path: PathBuf::from(path),
                shown: shipgate_core::url_redaction::redact_str(text),
                given: text.to_string(),
            }));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return postgres::parse_url(text).map(|url| DatabaseUrl::Postgres(Box::new(url)));
        }
        let scheme = text.split(':').next().unwrap_or_default();
        Err(Error::usage(format!(
            "unsupported database URL scheme `{}` (expected postgres://, postgresql:// or sqlite:)",
            shipgate_core::actions::redact(scheme)
        )))
    }

    /// The URL as shown: password and query values replaced by `***`.
    pub fn shown(&self) -> &str {
        match self {
            DatabaseUrl::Postgres(url) => &url.shown,
            DatabaseUrl::Sqlite(url) => &url.shown,
        }
    }

    /// The database's name: what an operator types to confirm a production run.
    pub fn database_name(&self) -> String {
        match self {
            DatabaseUrl::Postgres(url) => url.config.get_dbname().unwrap_or("postgres").to_string(),
            DatabaseUrl::Sqlite(url) => url
                .path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_default()
                .to_string(),
        }
    }

    pub fn dialect(&self) -> SqlDialect {
        match self {
            DatabaseUrl::Postgres(_) => SqlDialect::Postgres,
            DatabaseUrl::Sqlite(_) => SqlDialect::Sqlite,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            DatabaseUrl::Postgres(_) => "postgres",
            DatabaseUrl::Sqlite(_) => "sqlite",
        }
    }
}

/// What applying one script against the ledger did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It ran; the server-side (PostgreSQL) or measured (SQLite) duration.
    Ran { execution_ms: i64 },
    /// Another process got there first (seen inside the transaction).
    AlreadyDone,
}

/// The ledger change that commits together with a script.
#[derive(Debug, Clone)]
pub enum LedgerChange {
    /// Record an applied migration.
    Insert(LedgerRow),
    /// Replace the row of a re-applied repeatable migration.
    Replace(LedgerRow),
    /// Forget a rolled-back migration.
    Delete { version: String },
}

/// An open database connection.
pub enum Connection {
    Postgres(postgres::PgConnection),
    Sqlite(sqlite::SqliteConnection),
}

impl Connection {
    /// Connects, waiting at most `timeout` per attempt.
    pub async fn open(url: &DatabaseUrl, timeout: Duration) -> Result<Connection> {
        Ok(match url {
            DatabaseUrl::Postgres(url) => Connection::Postgres(postgres::PgConnection::open(url, timeout).await?),
            DatabaseUrl::Sqlite(url) => Connection::Sqlite(sqlite::SqliteConnection::open(&url.path, timeout)?),
        })
    }

    /// Creates the ledger and events tables when missing.
    pub async fn ensure_ledger(&mut self, ledger: &Ledger) -> Result<()> {
        let sql = ledger.create_sql();
        self.execute_ledger(&sql).await
    }

    /// Every ledger row, in version order; no table means no rows.
    pub async fn read_ledger(&mut self, ledger: &Ledger) -> Result<Vec<LedgerRow>> {
        let mut rows = match self {
            Connection::Postgres(db) => db.read_ledger(ledger).await?,
            Connection::Sqlite(db) => db.read_ledger(ledger)?,
        };
        rows.sort_by(|a, b| crate::ledger::version_order(&a.version, &b.version));
        Ok(rows)
    }

    /// Runs ledger bookkeeping SQL (no migration content).
    pub async fn execute_ledger(&mut self, sql: &str) -> Result<()> {
        match self {
            Connection::Postgres(db) => db
                .batch(sql)
                .await
                .map_err(|error| error.into_error("the ledger", None)),
            Connection::Sqlite(db) => db.batch(sql).map_err(|error| error.into_error("the ledger", None)),
        }
    }

    /// Opens one transaction that the following [`Connection::apply_in_transaction`]
    /// calls run in, until [`Connection::commit_group`] or
    /// [`Connection::rollback_group`] (`up --single-transaction`).
    pub async fn begin_group(&mut self) -> Result<()> {
        match self {
            Connection::Postgres(db) => db.begin_group().await,
            Connection::Sqlite(db) => db.begin_group(),
        }
    }

    /// Commits every migration applied since [`Connection::begin_group`] at once.
    pub async fn commit_group(&mut self) -> Result<()> {
        match self {
            Connection::Postgres(db) => db.commit_group().await,
            Connection::Sqlite(db) => db.commit_group(),
        }
    }

    /// Undoes every migration applied since [`Connection::begin_group`].
    pub async fn rollback_group(&mut self) {
        match self {
            Connection::Postgres(db) => db.rollback_group().await,
            Connection::Sqlite(db) => db.rollback_group(),
        }
    }

    /// Runs `script` and `change` in one transaction (or in the open group's).
    pub async fn apply_in_transaction(
        &mut self,
        ledger: &Ledger,
        script: &str,
        script_origin: (&Path, usize),
        change: &LedgerChange,
    ) -> Result<Applied> {
        match self {
            Connection::Postgres(db) => db.apply_in_transaction(ledger, script, script_origin, change).await,
            Connection::Sqlite(db) => db.apply_in_transaction(ledger, script, script_origin, change),
        }
    }

    /// Runs statement number `index` of a non-transactional script and
    /// records `statements_done = index + 1` for `version`.
    pub async fn apply_statement(
        &mut self,
        ledger: &Ledger,
        version: &str,
        index: i64,
        statement: &str,
        origin: (&Path, usize),
    ) -> Result<Applied> {
        match self {
            Connection::Postgres(db) => db.apply_statement(ledger, version, index, statement, origin).await,
            Connection::Sqlite(db) => db.apply_statement(ledger, version, index, statement, origin),
        }
    }

    /// Runs one statement of a migration on its own (autocommit).
    pub async fn run_statement(&mut self, statement: &str, (path, line): (&Path, usize)) -> Result<()> {
        let result = match self {
            Connection::Postgres(db) => db.batch(statement).await,
            Connection::Sqlite(db) => db.batch(statement),
        };
        result.map_err(|error| error.into_error("statement", Some((path, line, statement))))
    }

    /// Every row of `sql` as text (NULL as `None`), for reading other tools' ledgers.
    pub async fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        match self {
            Connection::Postgres(db) => db.query_text(sql).await,
            Connection::Sqlite(db) => db.query_text(sql),
        }
        .map_err(|error| error.into_error("reading", None))
    }

    /// Whether a table exists (`schema.table` or `table`).
    pub async fn table_exists(&mut self, table: &str) -> Result<bool> {
        let sql = match self {
            Connection::Postgres(_) => {
                format!("SELECT (to_regclass({}) IS NOT NULL)::text", crate::sql::literal(table))
            }
            Connection::Sqlite(_) => format!(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = {}",
                crate::sql::literal(table.rsplit('.').next().unwrap_or(table))
            ),
        };
        let rows = self.query_text(&sql).await?;
        Ok(matches!(
            rows.first()
                .and_then(|row| row.first())
                .and_then(|cell| cell.as_deref()),
            Some("true" | "1")
        ))
    }

    /// A cheap round trip, for `wait`.
    pub async fn ping(&mut self) -> Result<()> {
        self.execute_ledger("SELECT 1").await
    }
}

/// A database error with what we know about where it happened.
#[derive(Debug)]
pub(crate) struct DbFailure {
    pub message: String,
    /// Byte offset into the SQL that was sent, when the server said.
    pub position: Option<usize>,
    /// The connection itself failed (exit 3) rather than the SQL (exit 2).
    pub connection_lost: bool,
    /// A primary key said the row is already there.
    pub unique_violation: bool,
}

impl DbFailure {
    /// Turns the failure into a shipgate error naming `what` and, when the
    /// server gave a position, the file line it points at.
    pub fn into_error(self, what: &str, origin: Option<(&Path, usize, &str)>) -> Error {
        let place = match (origin, self.position) {
            (Some((path, first_line, sent)), Some(position)) => {
                let position = position.min(sent.len());
                let line = first_line + sent[..position].matches('\n').count();
                format!("{}:{line}", path.display())
            }
            (Some((path, first_line, _)), None) => format!("{}:{first_line}", path.display()),
            (None, _) => what.to_string(),
        };
        let message = format!("{place}: {}", self.message);
        if self.connection_lost {
            Error::external(message)
        } else {
            Error::usage(message)
        }
    }
}
