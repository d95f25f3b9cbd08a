//! `status`: where the database stands against the migration files.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use shipgate_core::actions::Summary;
use shipgate_core::exit::{ExitCode, Result};

use crate::Session;
use crate::formats::{Migration, MigrationSet};
use crate::ledger::LedgerRow;
use crate::version::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Applied, and the file still has the checksum it was applied with.
    Applied,
    /// Not applied yet (or a repeatable migration whose file changed).
    Pending,
    /// Not applied, but older than the newest applied migration.
    OutOfOrder,
    /// Applied, but the file changed since.
    Drifted,
    /// Applied, but its file is gone.
    Missing,
    /// A non-transactional migration that stopped part-way; `up` resumes it.
    Partial,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::OutOfOrder => "out-of-order",
            State::Drifted => "drifted",
            State::Missing => "missing",
            State::Partial => "partial",
        }
    }
}

/// One line of the status report.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub version: String,
    pub name: String,
    pub state: State,
    /// Checksum of the file (absent when missing).
    pub checksum: Option<String>,
    /// Checksum recorded when applied.
    pub applied_checksum: Option<String>,
    pub applied_at: Option<String>,
    pub applied_by: Option<String>,
    pub execution_ms: Option<i64>,
    pub statements_done: Option<i64>,
    pub file: Option<String>,
    /// Index into the migration set, when there is a file.
    #[serde(skip)]
    pub migration: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub entries: Vec<Entry>,
    /// The newest applied version.
    pub current_version: Option<String>,
}

impl Report {
    pub fn count(&self, state: State) -> usize {
        self.entries.iter().filter(|entry| entry.state == state).count()
    }

    pub fn counts_json(&self) -> serde_json::Value {
        let mut counts = serde_json::Map::new();
        for state in [
            State::Applied,
            State::Pending,
            State::OutOfOrder,
            State::Drifted,
            State::Missing,
            State::Partial,
        ] {
            counts.insert(state.as_str().to_string(), json!(self.count(state)));
        }
        serde_json::Value::Object(counts)
    }
}

/// The ledger version a migration is recorded under.
pub fn ledger_version(migration: &Migration) -> String {
    if migration.repeatable {
        format!("R__{}", migration.name)
    } else {
        migration.version.to_string()
    }
}

/// Compares files and ledger.
pub fn compute(set: &MigrationSet, rows: &[LedgerRow]) -> Report {
    let mut by_version: HashMap<Version, &LedgerRow> = HashMap::new();
    let mut by_key: HashMap<&str, &LedgerRow> = HashMap::new();
    for row in rows {
        match Version::parse(&row.version) {
            Some(version) => {
                by_version.insert(version, row);
            }
            None => {
                by_key.insert(row.version.as_str(), row);
            }
        }
    }
    let newest_applied = by_version.keys().max().cloned();
    let mut matched: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut entries = Vec::new();
    for (index, migration) in set.migrations.iter().enumerate() {
        let row = if migration.repeatable {
            by_key.get(ledger_version(migration).as_str()).copied()
        } else {
            by_version.get(&migration.version).copied()
        };
        if let Some(row) = row {
            matched.insert(row.version.as_str());
        }
        let state = match row {
            None if !migration.repeatable
                && newest_applied
                    .as_ref()
                    .is_some_and(|newest| migration.version < *newest) =>
            {
                State::OutOfOrder
            }
            None => State::Pending,
            Some(row) if !row.success => State::Partial,
            Some(row) if row.checksum != migration.checksum => {
                if migration.repeatable {
                    State::Pending
                } else {
                    State::Drifted
                }
            }
            Some(_) => State::Applied,
        };
        entries.push(Entry {
            version: ledger_version(migration),
            name: migration.name.clone(),
            state,
            checksum: Some(migration.checksum.clone()),
            applied_checksum: row.map(|row| row.checksum.clone()),
            applied_at: row.map(|row| row.applied_at.clone()),
            applied_by: row.map(|row| row.applied_by.clone()),
            execution_ms: row.map(|row| row.execution_ms),
            statements_done: row.map(|row| row.statements_done),
            file: Some(migration.up.path.display().to_string()),
            migration: Some(index),
        });
    }
    for row in rows {
        if !matched.contains(row.version.as_str()) {
            entries.push(Entry {
                version: row.version.clone(),
                name: row.name.clone(),
                state: State::Missing,
                checksum: None,
                applied_checksum: Some(row.checksum.clone()),
                applied_at: Some(row.applied_at.clone()),
                applied_by: Some(row.applied_by.clone()),
                execution_ms: Some(row.execution_ms),
                statements_done: Some(row.statements_done),
                file: None,
                migration: None,
            });
        }
    }
    entries.sort_by(|a, b| crate::ledger::version_order(&a.version, &b.version));
    let current_version = rows
        .iter()
        .filter(|row| row.success && Version::parse(&row.version).is_some())
        .max_by(|a, b| crate::ledger::version_order(&a.version, &b.version))
        .map(|row| row.version.clone());
    Report {
        entries,
        current_version,
    }
}

fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .entries
        .iter()
        .map(|entry| entry.version.len())
        .max()
        .unwrap_or(7)
        .max(7);
    out.push_str(&format!(
        "{:<width$}  {:<12}  {:<24}  NAME\n",
        "VERSION", "STATE", "APPLIED AT"
    ));
    for entry in &report.entries {
        out.push_str(&format!(
            "{:<width$}  {:<12}  {:<24}  {}\n",
            entry.version,
            entry.state.as_str(),
            entry.applied_at.as_deref().unwrap_or("-"),
            entry.name
        ));
    }
    out.push_str(&format!(
        "\n{} applied, {} pending, {} out-of-order, {} drifted, {} missing, {} partial; current version: {}\n",
        report.count(State::Applied),
        report.count(State::Pending),
        report.count(State::OutOfOrder),
        report.count(State::Drifted),
        report.count(State::Missing),
        report.count(State::Partial),
        report.current_version.as_deref().unwrap_or("none")
    ));
    out
}

/// The status document `--json` prints (also used by `plan`).
pub fn report_json(session: &Session, set: &MigrationSet, report: &Report) -> serde_json::Value {
    json!({
        "database": session.url.shown(),
        "environment": session.environment,
        "format": set.format.as_str(),
        "dir": set.dir.display().to_string(),
        "ledger_table": session.ledger.table,
        "current_version": report.current_version,
        "counts": report.counts_json(),
        "migrations": report.entries,
    })
}

pub async fn run(session: &Session) -> Result<ExitCode> {
    let set = session.load_migrations()?;
    let mut connection = session.connect().await?;
    let rows = connection.read_ledger(&session.ledger).await?;
    let report = compute(&set, &rows);
    let runtime = &session.runtime;
    runtime.set_output("current-version", report.current_version.as_deref().unwrap_or(""))?;
    runtime.set_output(
        "pending",
        &(report.count(State::Pending) + report.count(State::OutOfOrder) + report.count(State::Partial)).to_string(),
    )?;
    if runtime.in_actions() {
        let rows: Vec<Vec<String>> = report
            .entries
            .iter()
            .filter(|entry| entry.state != State::Applied)
            .map(|entry| {
                vec![
                    entry.version.clone(),
                    entry.name.clone(),
                    entry.state.as_str().to_string(),
                ]
            })
            .collect();
        let mut summary = Summary::new();
        summary.heading(
            3,
            &format!("Migrations on {} ({})", session.url.shown(), session.environment),
        );
        summary.paragraph(&format!(
            "{} applied, {} pending, {} drifted, {} missing; current version `{}`",
            report.count(State::Applied),
            report.count(State::Pending) + report.count(State::OutOfOrder),
            report.count(State::Drifted),
            report.count(State::Missing),
            report.current_version.as_deref().unwrap_or("none")
        ));
        if !rows.is_empty() {
            summary.table(&["version", "name", "state"], &rows);
        }
        runtime.append_summary(summary.as_markdown())?;
    }
    if session.ui.json {
        session.ui.print_json(&report_json(session, &set, &report))?;
    } else {
        session.ui.print(&render_text(&report))?;
    }
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats;

    fn row(version: &str, checksum: &str, success: bool) -> LedgerRow {
        LedgerRow {
            version: version.into(),
            name: "x".into(),
            checksum: checksum.into(),
            applied_at: "2024-01-01T00:00:00.000Z".into(),
            execution_ms: 1,
            applied_by: "ci".into(),
            run_url: None,
            success,
            statements_done: 0,
            note: None,
        }
    }

    #[test]
    fn classifies_every_state() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("1_a.sql", "SELECT 1;"),
            ("2_b.sql", "SELECT 2;"),
            ("3_c.sql", "SELECT 3;"),
            ("4_d.sql", "SELECT 4;"),
            ("5_e.sql", "SELECT 5;"),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let set = formats::load(dir.path(), None).unwrap();
        let sum = |index: usize| set.migrations[index].checksum.clone();
        let rows = vec![
            row("1", &sum(0), true),
            row("3", "changed", true),
            row("4", &sum(3), false),
            row("9", "gone", true),
        ];
        let report = compute(&set, &rows);
        let states: Vec<(&str, State)> = report
            .entries
            .iter()
            .map(|entry| (entry.version.as_str(), entry.state))
            .collect();
        assert_eq!(
            states,
            [
                ("1", State::Applied),
                ("2", State::OutOfOrder),
                ("3", State::Drifted),
                ("4", State::Partial),
                ("5", State::OutOfOrder),
                ("9", State::Missing),
            ]
        );
        assert_eq!(report.current_version.as_deref(), Some("9"));
        assert!(render_text(&report).contains("1 applied, 0 pending, 2 out-of-order, 1 drifted, 1 missing, 1 partial"));
    }
}
