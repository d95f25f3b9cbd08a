//! `import --from TOOL`: adopt a database another migration tool manages
//! by reading that tool's own ledger table, so nothing is applied twice.
//! Only versions with a file here are recorded; the rest are reported.

use std::collections::BTreeSet;

use serde_json::json;
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::Session;
use crate::status::{self, State};
use crate::version::Version;

/// The tools whose ledgers `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    Dbmate,
    Sqlx,
    GolangMigrate,
    Flyway,
    Diesel,
    Goose,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Dbmate => "dbmate",
            Source::Sqlx => "sqlx",
            Source::GolangMigrate => "golang-migrate",
            Source::Flyway => "flyway",
            Source::Diesel => "diesel",
            Source::Goose => "goose",
        }
    }

    /// Each tool's default ledger table.
    pub fn default_table(self) -> &'static str {
        match self {
            Source::Dbmate | Source::GolangMigrate => "schema_migrations",
            Source::Sqlx => "_sqlx_migrations",
            Source::Flyway => "flyway_schema_history",
            Source::Diesel => "__diesel_schema_migrations",
            Source::Goose => "goose_db_version",
        }
    }

    /// The query listing applied versions (golang-migrate keeps only the
    /// newest version, so it lists one and everything below counts).
    fn query(self, table: &str) -> String {
        let table = crate::sql::quote_table(table);
        match self {
            Source::Dbmate | Source::Diesel => format!("SELECT version FROM {table}"),
            Source::Sqlx => format!("SELECT version FROM {table} WHERE success"),
            Source::GolangMigrate => format!("SELECT version, dirty FROM {table}"),
            Source::Flyway => format!("SELECT version FROM {table} WHERE success AND version IS NOT NULL"),
            // goose appends a row per up and down: the last one per version wins.
            Source::Goose => format!("SELECT version_id, is_applied FROM {table} WHERE version_id > 0 ORDER BY id"),
        }
    }
}

fn truthy(cell: Option<&str>) -> bool {
    matches!(cell, Some("t" | "true" | "1" | "TRUE"))
}

pub async fn run(session: &Session, source: Source, table: Option<&str>, dry_run: bool) -> Result<ExitCode> {
    let table = table.unwrap_or(source.default_table());
    let set = session.load_migrations()?;
    let lock = session.lock().await?;
    let mut connection = session.connect().await?;
    if !connection.table_exists(table).await? {
        return Err(Error::usage(format!(
            "{} has no `{table}` table: is this database managed by {}? (--source-table names another)",
            session.url.shown(),
            source.as_str()
        )));
    }
    let rows = connection.query_text(&source.query(table)).await?;
    let version_of = |text: &str| Version::parse(&text.replace('-', ""));
    let mut applied: BTreeSet<Version> = BTreeSet::new();
    let mut unreadable = Vec::new();
    match source {
        Source::GolangMigrate => {
            let Some(row) = rows.first() else {
                return Err(Error::usage(format!(
                    "`{table}` is empty: golang-migrate applied nothing"
                )));
            };
            if truthy(row.get(1).and_then(|cell| cell.as_deref())) {
                return Err(Error::check(format!(
                    "golang-migrate marked version {} dirty: fix the database and golang-migrate's ledger first",
                    row[0].as_deref().unwrap_or("?")
                )));
            }
            let newest = row[0]
                .as_deref()
                .and_then(version_of)
                .ok_or_else(|| Error::usage("unreadable version"))?;
            applied.extend(
                set.migrations
                    .iter()
                    .filter(|m| !m.repeatable && m.version <= newest)
                    .map(|m| m.version.clone()),
            );
        }
        Source::Goose => {
            for row in &rows {
                if let Some(version) = row[0].as_deref().and_then(version_of) {
                    if truthy(row.get(1).and_then(|cell| cell.as_deref())) {
                        applied.insert(version);
                    } else {
                        applied.remove(&version);
                    }
                }
            }
        }
        _ => {
            for row in &rows {
                match row[0].as_deref().and_then(version_of) {
                    Some(version) => {
                        applied.insert(version);
                    }
                    None => unreadable.push(row[0].clone().unwrap_or_default()),
                }
            }
        }
    }
    let ours = connection.read_ledger(&session.ledger).await?;
    let report = status::compute(&set, &ours);
    let adopted: Vec<&crate::formats::Migration> = report
        .entries
        .iter()
        .filter(|entry| matches!(entry.state, State::Pending | State::OutOfOrder))
        .filter_map(|entry| entry.migration.map(|index| &set.migrations[index]))
        .filter(|migration| !migration.repeatable && applied.contains(&migration.version))
        .collect();
    let without_file: Vec<String> = applied
        .iter()
        .filter(|version| !set.migrations.iter().any(|m| !m.repeatable && m.version == **version))
        .map(|version| version.to_string())
        .collect();
    let note = format!("imported from {} `{table}` by {}", source.as_str(), session.actor.name);
    if !dry_run && !adopted.is_empty() {
        crate::baseline::record(session, &mut connection, &adopted, &note, "import").await?;
    }
    lock.release().await;
    for version in &without_file {
        session.ui.warn(&format!(
            "{} applied {version}, which has no file in {}",
            source.as_str(),
            set.dir.display()
        ));
    }
    let versions: Vec<String> = adopted.iter().map(|migration| migration.version.to_string()).collect();
    if session.ui.json {
        session.ui.print_json(&json!({
            "from": source.as_str(),
            "table": table,
            "recorded": versions,
            "without_file": without_file,
            "unreadable": unreadable,
            "dry_run": dry_run,
        }))?;
    } else {
        let verb = if dry_run { "would record" } else { "recorded" };
        session.ui.print(&format!(
            "{verb} {} migration(s) applied by {} as applied\n",
            versions.len(),
            source.as_str()
        ))?;
    }
    Ok(ExitCode::Ok)
}
