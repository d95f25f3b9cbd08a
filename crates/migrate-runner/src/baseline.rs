//! `baseline V`: adopt a database whose schema already matches the
//! migrations up to V (created by hand or by another tool without a ledger
//! we can read): they are recorded as applied without running.

use serde_json::json;
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::Session;
use crate::ledger::{LedgerRow, now};
use crate::status::{self, State, ledger_version};
use crate::version::Version;

/// Records `versions` as applied, untouched, with `note`. Shared with `import`.
pub async fn record(
    session: &Session,
    connection: &mut crate::database::Connection,
    migrations: &[&crate::formats::Migration],
    note: &str,
    command: &str,
) -> Result<()> {
    let ledger = &session.ledger;
    let mut sql = String::from("BEGIN;\n");
    for migration in migrations {
        let row = LedgerRow {
            version: ledger_version(migration),
            name: migration.name.clone(),
            checksum: migration.checksum.clone(),
            applied_at: now(),
            execution_ms: 0,
            applied_by: session.actor.name.clone(),
            run_url: session.actor.run_url.clone(),
            success: true,
            statements_done: 0,
            note: Some(note.to_string()),
        };
        sql.push_str(&ledger.insert_sql(&row, "0"));
        sql.push_str(";\n");
    }
    sql.push_str(&ledger.event_sql(&session.actor, command, None, note));
    sql.push_str(";\nCOMMIT;");
    connection.ensure_ledger(ledger).await?;
    connection.execute_ledger(&sql).await
}

pub async fn run(session: &Session, version: &str, dry_run: bool) -> Result<ExitCode> {
    let target = Version::parse(version).ok_or_else(|| Error::usage(format!("`{version}` is not a version")))?;
    let set = session.load_migrations()?;
    if !set
        .migrations
        .iter()
        .any(|migration| !migration.repeatable && migration.version == target)
    {
        return Err(Error::usage(format!(
            "baseline {version}: no migration has that version"
        )));
    }
    let lock = session.lock().await?;
    let mut connection = session.connect().await?;
    let rows = connection.read_ledger(&session.ledger).await?;
    let report = status::compute(&set, &rows);
    let adopted: Vec<&crate::formats::Migration> = report
        .entries
        .iter()
        .filter(|entry| matches!(entry.state, State::Pending | State::OutOfOrder))
        .filter_map(|entry| entry.migration.map(|index| &set.migrations[index]))
        .filter(|migration| !migration.repeatable && migration.version <= target)
        .collect();
    let note = format!("baseline {version} by {}", session.actor.name);
    if !dry_run && !adopted.is_empty() {
        record(session, &mut connection, &adopted, &note, "baseline").await?;
    }
    lock.release().await;
    let versions: Vec<String> = adopted.iter().map(|migration| migration.version.to_string()).collect();
    if session.ui.json {
        session
            .ui
            .print_json(&json!({"baseline": version, "recorded": versions, "dry_run": dry_run}))?;
    } else {
        let verb = if dry_run { "would record" } else { "recorded" };
        session.ui.print(&format!(
            "{verb} {} migration(s) up to {version} as applied without running them\n",
            versions.len()
        ))?;
    }
    Ok(ExitCode::Ok)
}
