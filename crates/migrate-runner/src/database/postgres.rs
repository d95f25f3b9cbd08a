//! PostgreSQL through tokio-postgres. Whole files go through
//! `batch_execute`, the simple-query protocol, so multi-statement files,
//! dollar quotes and psql-style scripts work as they do in psql.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use shipgate_core::actions::Secret;
use shipgate_core::exit::{Error, Result};
use shipgate_core::url_redaction;

use super::tls::{self, TlsMode};
use super::{Applied, DbFailure, LedgerChange, PgUrl};
use crate::ledger::{Ledger, LedgerRow, PG_ELAPSED_MS};

pub(super) fn parse_url(text: &str) -> Result<PgUrl> {
    // The password (and only it) is masked before any parsing error could
    // echo the URL, so host, port and database stay readable in errors.
    url_redaction::mask_str(text);
    let (base, query) = text.split_once('?').unwrap_or((text, ""));
    let mut tls_mode = TlsMode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => tls_mode = TlsMode::parse(value)?,
            "sslrootcert" => {
                root_cert = Some(std::path::PathBuf::from(
                    percent_encoding::percent_decode_str(value)
                        .decode_utf8_lossy()
                        .into_owned(),
                ))
            }
            _ => kept.push(pair),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config = tokio_postgres::Config::from_str(&rebuilt).map_err(|error| {
        Error::usage(format!(
            "invalid PostgreSQL URL: {}",
            shipgate_core::actions::redact(&error.to_string())
        ))
    })?;
    config.ssl_mode(tls_mode.ssl_mode());
    if config.get_application_name().is_none() {
        config.application_name("shipgate migrate-runner");
    }
    Ok(PgUrl {
        config,
        tls: tls_mode,
        root_cert,
        shown: url_redaction::redact_str(text),
        full: Secret::with_masked_parts(text),
    })
}

pub struct PgConnection {
    client: tokio_postgres::Client,
    _driver: tokio::task::JoinHandle<()>,
    /// Inside the one transaction of `up --single-transaction`
    /// ([`PgConnection::begin_group`]): migrations run in it, unwrapped.
    grouped: bool,
}

/// The dedicated connection that holds the advisory lock; closing it
/// (or the process dying) releases the lock, so it can never go stale.
pub struct PgLockConnection {
    pub(crate) client: tokio_postgres::Client,
    _driver: tokio::task::JoinHandle<()>,
}

async fn connect(url: &PgUrl, timeout: Duration) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>)> {
    let mut config = url.config.clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(timeout);
    }
    let shown = url.shown.clone();
    let fail = |error: tokio_postgres::Error| {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        let message = format!("cannot connect to {shown}: {message}");
        if error.code().is_some() {
            // The server answered (bad password, unknown database): retrying will not help.
            Error::usage(message)
        } else {
            Error::external(message)
        }
    };
    let (client, driver) = match url.tls {
        TlsMode::Disable => {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(fail)?;
            (client, tokio::spawn(async move { drop(connection.await) }))
        }
        mode => {
            let connector = tls::connector(mode, url.root_cert.as_deref())?;
            let (client, connection) = config.connect(connector).await.map_err(fail)?;
            (client, tokio::spawn(async move { drop(connection.await) }))
        }
    };
    Ok((client, driver))
}

fn failure(error: tokio_postgres::Error) -> DbFailure {
    match error.as_db_error() {
        Some(db) => {
            let position = match db.position() {
                Some(tokio_postgres::error::ErrorPosition::Original(at)) => Some(*at as usize),
                _ => None,
            };
            let mut message = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                message.push_str(&format!("; {detail}"));
            }
            let code = db.code().code();
            DbFailure {
                message,
                position,
                connection_lost: code.starts_with("08") || code.starts_with("57P"),
                unique_violation: code == "23505",
            }
        }
        None => DbFailure {
            message: error.to_string(),
            position: None,
            connection_lost: true,
            unique_violation: false,
        },
    }
}

/// `position` is a 1-based character index into `sent`; the byte offset
/// relative to `skip` bytes of prefix.
fn relative_position(sent: &str, position: Option<usize>, skip: usize) -> Option<usize> {
    let char_index = position?.checked_sub(1)?;
    let byte = sent.char_indices().nth(char_index).map_or(sent.len(), |(at, _)| at);
    byte.checked_sub(skip)
}

impl PgConnection {
    pub(super) async fn open(url: &PgUrl, timeout: Duration) -> Result<PgConnection> {
        let (client, driver) = connect(url, timeout).await?;
        Ok(PgConnection {
            client,
            _driver: driver,
            grouped: false,
        })
    }

    pub(super) async fn batch(&mut self, sql: &str) -> Result<(), DbFailure> {
        self.client.batch_execute(sql).await.map_err(failure)
    }

    pub(super) async fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbFailure> {
        let messages = self.client.simple_query(sql).await.map_err(failure)?;
        Ok(messages
            .iter()
            .filter_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some((0..row.len()).map(|index| row.get(index).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect())
    }

    pub(super) async fn read_ledger(&mut self, ledger: &Ledger) -> Result<Vec<LedgerRow>> {
        let exists = self
            .client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&ledger.quoted()])
            .await
            .map_err(|error| failure(error).into_error("reading the ledger", None))?;
        if !exists.get::<_, bool>(0) {
            return Ok(Vec::new());
        }
        let rows = self
            .client
            .query(&ledger.select_sql(), &[])
            .await
            .map_err(|error| failure(error).into_error("reading the ledger", None))?;
        Ok(rows
            .iter()
            .map(|row| LedgerRow {
                version: row.get(0),
                name: row.get(1),
                checksum: row.get(2),
                applied_at: row.get(3),
                execution_ms: row.get(4),
                applied_by: row.get(5),
                run_url: row.get(6),
                success: row.get(7),
                statements_done: row.get(8),
                note: row.get(9),
            })
            .collect())
    }

    /// Starts the one transaction every migration of a group runs in.
    pub(super) async fn begin_group(&mut self) -> Result<()> {
        self.client
            .batch_execute("BEGIN")
            .await
            .map_err(|error| failure(error).into_error("starting a transaction", None))?;
        self.grouped = true;
        Ok(())
    }

    /// Commits the group.
    pub(super) async fn commit_group(&mut self) -> Result<()> {
        self.grouped = false;
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(|error| failure(error).into_error("committing", None))
    }

    /// Undoes every migration of the group.
    pub(super) async fn rollback_group(&mut self) {
        self.grouped = false;
        let _ = self.client.batch_execute("ROLLBACK").await;
    }

    pub(super) async fn apply_in_transaction(
        &mut self,
        ledger: &Ledger,
        script: &str,
        (path, first_line): (&Path, usize),
        change: &LedgerChange,
    ) -> Result<Applied> {
        let bookkeeping = match change {
            LedgerChange::Insert(row) => ledger.insert_sql(row, PG_ELAPSED_MS),
            LedgerChange::Replace(row) => {
                format!(
                    "{};\n{}",
                    ledger.delete_sql(&row.version),
                    ledger.insert_sql(row, PG_ELAPSED_MS)
                )
            }
            LedgerChange::Delete { version } => ledger.delete_sql(version),
        };
        // One message, one round trip: the migration and its ledger row
        // commit together or not at all. The trailing newline before `;`
        // ends a last line that is a `--` comment.
        // In a group the transaction is already open and the caller commits.
        let (prefix, suffix) = if self.grouped {
            ("", "")
        } else {
            ("BEGIN;\n", "\nCOMMIT;")
        };
        let batch = format!("{prefix}{script}\n;\n{bookkeeping};{suffix}");
        let started = Instant::now();
        match self.client.batch_execute(&batch).await {
            Ok(()) => {}
            Err(error) => {
                let failed = failure(error);
                if !self.grouped {
                    let _ = self.client.batch_execute("ROLLBACK").await;
                }
                if failed.unique_violation && !self.grouped && matches!(change, LedgerChange::Insert(_)) {
                    // The ledger's primary key caught a concurrent run (only
                    // possible with --lock=none); its work was rolled back.
                    return Ok(Applied::AlreadyDone);
                }
                let position = relative_position(&batch, failed.position, prefix.len());
                let failed = DbFailure { position, ..failed };
                return Err(failed.into_error("migration", Some((path, first_line, script))));
            }
        }
        let execution_ms = match change {
            // In a group a round trip per migration to read back the server's
            // duration would cost more than the client's own clock is off.
            _ if self.grouped => started.elapsed().as_millis() as i64,
            LedgerChange::Delete { .. } => started.elapsed().as_millis() as i64,
            LedgerChange::Insert(row) | LedgerChange::Replace(row) => self
                .client
                .query_opt(
                    &format!("SELECT execution_ms FROM {} WHERE version = $1", ledger.quoted()),
                    &[&row.version],
                )
                .await
                .ok()
                .flatten()
                .map_or(0, |found| found.get(0)),
        };
        Ok(Applied::Ran { execution_ms })
    }

    pub(super) async fn apply_statement(
        &mut self,
        ledger: &Ledger,
        version: &str,
        index: i64,
        statement: &str,
        (path, line): (&Path, usize),
    ) -> Result<Applied> {
        // Outside a transaction by definition: the statement, then the
        // progress. A kill in between re-runs only this statement.
        if let Err(error) = self.client.batch_execute(statement).await {
            let failed = failure(error);
            let position = relative_position(statement, failed.position, 0);
            return Err(DbFailure { position, ..failed }.into_error("statement", Some((path, line, statement))));
        }
        self.client
            .batch_execute(&ledger.progress_sql(version, index + 1))
            .await
            .map_err(|error| failure(error).into_error("recording progress in the ledger", None))?;
        Ok(Applied::Ran { execution_ms: 0 })
    }
}

impl PgLockConnection {
    pub async fn open(url: &PgUrl, timeout: Duration) -> Result<PgLockConnection> {
        let (client, driver) = connect(url, timeout).await?;
        Ok(PgLockConnection {
            client,
            _driver: driver,
        })
    }

    /// `current_database()` and `current_schema()`, for the lock key.
    pub async fn identity(&self) -> Result<(String, String)> {
        let row = self
            .client
            .query_one(
                "SELECT current_database()::text, coalesce(current_schema()::text, '')",
                &[],
            )
            .await
            .map_err(|error| failure(error).into_error("reading the database identity", None))?;
        Ok((row.get(0), row.get(1)))
    }

    /// One non-blocking attempt at the session advisory lock.
    pub async fn try_lock(&self, key: i64) -> Result<bool> {
        let row = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .map_err(|error| failure(error).into_error("taking the advisory lock", None))?;
        Ok(row.get(0))
    }

    pub async fn unlock(&self, key: i64) {
        let _ = self.client.query_one("SELECT pg_advisory_unlock($1)", &[&key]).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_password_and_keeps_other_parameters() {
        let url =
            parse_url("postgres://app:s3cr%40t@db.example:6543/app_prod?sslmode=require&application_name=x").unwrap();
        assert_eq!(
            url.shown,
            "postgres://app:***@db.example:6543/app_prod?sslmode=***&application_name=***"
        );
        assert_eq!(url.config.get_dbname(), Some("app_prod"));
        assert_eq!(url.config.get_password(), Some(&b"s3cr@t"[..]));
        assert_eq!(url.tls, TlsMode::Require);
        assert_eq!(
            shipgate_core::actions::redact("pw s3cr@t and s3cr%40t"),
            "pw *** and ***"
        );
    }

    #[test]
    fn rejects_unknown_ssl_modes() {
        let error = parse_url("postgres://u@h/db?sslmode=maybe").unwrap_err();
        assert!(error.to_string().contains("sslmode"), "{error}");
    }
}
