//! The ledger: one row per applied migration, plus an events table for
//! everything that is not a migration (rollbacks, repairs, baselines,
//! policy overrides), so the audit trail survives a rollback.
//!
//! All SQL here is portable between PostgreSQL and SQLite, and values are
//! inlined as literals so a migration and its ledger row travel to
//! PostgreSQL in one simple-query round trip.

use std::cmp::Ordering;

use serde::Serialize;

use crate::sql::{literal, quote_table};
use crate::version::Version;

/// One row of the ledger table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerRow {
    pub version: String,
    pub name: String,
    pub checksum: String,
    /// RFC 3339, UTC.
    pub applied_at: String,
    pub execution_ms: i64,
    /// `GITHUB_ACTOR`, else the OS user.
    pub applied_by: String,
    pub run_url: Option<String>,
    /// False while a non-transactional migration is part-way through.
    pub success: bool,
    /// Statements of a non-transactional migration already run.
    pub statements_done: i64,
    /// Why the row was written unusually: a policy override, a repair, a baseline.
    pub note: Option<String>,
}

/// Versions order numerically when both parse, else as text.
pub fn version_order(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Who is running this, for `applied_by` and the events table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub run_url: Option<String>,
}

impl Actor {
    pub fn detect(runtime: &shipgate_core::actions::Runtime) -> Actor {
        let context = runtime.context();
        let name = context
            .actor
            .clone()
            .or_else(|| runtime.var("USER").map(str::to_string))
            .or_else(|| runtime.var("LOGNAME").map(str::to_string))
            .unwrap_or_else(|| "unknown".to_string());
        Actor {
            name,
            run_url: context.run_url(),
        }
    }
}

/// The ledger's table names.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// As configured: `table` or `schema.table`.
    pub table: String,
}

/// The PostgreSQL expression for "milliseconds since this query message
/// arrived", so the duration is measured by the server in the same round trip.
pub const PG_ELAPSED_MS: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp() - statement_timestamp()) * 1000 AS BIGINT)";

impl Ledger {
    pub fn new(table: &str) -> Ledger {
        Ledger {
            table: table.to_string(),
        }
    }

    pub fn quoted(&self) -> String {
        quote_table(&self.table)
    }

    pub fn events_table(&self) -> String {
        format!("{}_events", self.table)
    }

    /// `(schema, table)`; the schema is `None` when unqualified.
    pub fn parts(&self) -> (Option<&str>, &str) {
        match self.table.split_once('.') {
            Some((schema, table)) => (Some(schema), table),
            None => (None, &self.table),
        }
    }

    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  version TEXT PRIMARY KEY,\n  name TEXT NOT NULL,\n  checksum TEXT NOT NULL,\n  applied_at TEXT NOT NULL,\n  execution_ms BIGINT NOT NULL DEFAULT 0,\n  applied_by TEXT NOT NULL,\n  run_url TEXT,\n  success BOOLEAN NOT NULL,\n  statements_done BIGINT NOT NULL DEFAULT 0,\n  note TEXT\n);\nCREATE TABLE IF NOT EXISTS {} (\n  at TEXT NOT NULL,\n  actor TEXT NOT NULL,\n  run_url TEXT,\n  command TEXT NOT NULL,\n  version TEXT,\n  detail TEXT NOT NULL\n);",
            self.quoted(),
            quote_table(&self.events_table())
        )
    }

    pub fn select_sql(&self) -> String {
        format!(
            "SELECT version, name, checksum, applied_at, execution_ms, applied_by, run_url, success, statements_done, note FROM {}",
            self.quoted()
        )
    }

    /// INSERT for `row`; `execution_ms` is a SQL expression so PostgreSQL
    /// can measure the migration it shares a round trip with.
    pub fn insert_sql(&self, row: &LedgerRow, execution_ms: &str) -> String {
        format!(
            "INSERT INTO {} (version, name, checksum, applied_at, execution_ms, applied_by, run_url, success, statements_done, note) VALUES ({}, {}, {}, {}, {execution_ms}, {}, {}, {}, {}, {})",
            self.quoted(),
            literal(&row.version),
            literal(&row.name),
            literal(&row.checksum),
            literal(&row.applied_at),
            literal(&row.applied_by),
            optional(row.run_url.as_deref()),
            if row.success { "TRUE" } else { "FALSE" },
            row.statements_done,
            optional(row.note.as_deref()),
        )
    }

    pub fn delete_sql(&self, version: &str) -> String {
        format!("DELETE FROM {} WHERE version = {}", self.quoted(), literal(version))
    }

    pub fn progress_sql(&self, version: &str, statements_done: i64) -> String {
        format!(
            "UPDATE {} SET statements_done = {statements_done} WHERE version = {}",
            self.quoted(),
            literal(version)
        )
    }

    pub fn complete_sql(&self, version: &str, applied_at: &str, execution_ms: i64) -> String {
        format!(
            "UPDATE {} SET success = TRUE, applied_at = {}, execution_ms = {execution_ms} WHERE version = {}",
            self.quoted(),
            literal(applied_at),
            literal(version)
        )
    }

    pub fn set_checksum_sql(&self, version: &str, checksum: &str, note: &str) -> String {
        format!(
            "UPDATE {} SET checksum = {}, note = {} WHERE version = {}",
            self.quoted(),
            literal(checksum),
            literal(note),
            literal(version)
        )
    }

    /// An audit event: who did `command` to `version` and why.
    pub fn event_sql(&self, actor: &Actor, command: &str, version: Option<&str>, detail: &str) -> String {
        format!(
            "INSERT INTO {} (at, actor, run_url, command, version, detail) VALUES ({}, {}, {}, {}, {}, {})",
            quote_table(&self.events_table()),
            literal(&now()),
            literal(&actor.name),
            optional(actor.run_url.as_deref()),
            literal(command),
            optional(version),
            literal(detail)
        )
    }
}

fn optional(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_string(), literal)
}

/// Now, as the ledger writes it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_quotes_every_value() {
        let ledger = Ledger::new("ops.shipgate_migrations");
        let row = LedgerRow {
            version: "1".into(),
            name: "o'brien".into(),
            checksum: "abc".into(),
            applied_at: "2024-01-01T00:00:00.000Z".into(),
            execution_ms: 0,
            applied_by: "ci".into(),
            run_url: None,
            success: true,
            statements_done: 2,
            note: None,
        };
        let sql = ledger.insert_sql(&row, "7");
        assert!(sql.starts_with("INSERT INTO \"ops\".\"shipgate_migrations\""), "{sql}");
        assert!(
            sql.contains("'o''brien'") && sql.contains(", 7, 'ci', NULL, TRUE, 2, NULL)"),
            "{sql}"
        );
        assert_eq!(ledger.parts(), (Some("ops"), "shipgate_migrations"));
        assert!(ledger.create_sql().contains("\"ops\".\"shipgate_migrations_events\""));
    }

    #[test]
    fn orders_versions_numerically() {
        let mut versions = vec!["10", "9", "R__view", "0002"];
        versions.sort_by(|a, b| version_order(a, b));
        assert_eq!(versions, ["0002", "9", "10", "R__view"]);
    }
}
