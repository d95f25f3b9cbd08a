//! `down`: roll back applied migrations, newest first, under the
//! environment's rollback policy. Each down script commits together with
//! the removal of its ledger row; the rollback itself is kept in the events table.

use serde::Serialize;
use serde_json::json;
use shipgate_core::actions::Summary;
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::database::{Applied, Connection, LedgerChange};
use crate::formats::MigrationSet;
use crate::policy::{self, Operation};
use crate::status::{self, Report, State};
use crate::version::Version;
use crate::{DownArgs, OverrideArgs, Session};

/// One migration `down` will roll back.
#[derive(Debug, Clone, Serialize)]
pub struct DownStep {
    pub version: String,
    pub name: String,
    pub file: String,
    pub transactional: bool,
    pub sql: String,
    #[serde(skip)]
    pub index: usize,
}

/// Picks the migrations to roll back, newest first; every one must have a
/// down script, or nothing runs.
pub fn select(set: &MigrationSet, report: &Report, args: &DownArgs) -> Result<Vec<DownStep>> {
    let applied: Vec<_> = report
        .entries
        .iter()
        .filter(|entry| {
            matches!(
                entry.state,
                State::Applied | State::Drifted | State::Missing | State::Partial
            )
        })
        .filter(|entry| Version::parse(&entry.version).is_some())
        .rev()
        .collect();
    let chosen: Vec<_> = match &args.to {
        Some(text) => {
            let target = Version::parse(text).ok_or_else(|| Error::usage(format!("--to `{text}` is not a version")))?;
            applied
                .into_iter()
                .filter(|entry| Version::parse(&entry.version).is_some_and(|version| version > target))
                .collect()
        }
        None => applied.into_iter().take(args.steps.unwrap_or(1)).collect(),
    };
    let mut steps = Vec::new();
    for entry in chosen {
        let Some(index) = entry.migration else {
            return Err(Error::usage(format!(
                "cannot roll back {} {}: its migration file is missing",
                entry.version, entry.name
            )));
        };
        let migration = &set.migrations[index];
        let down = migration.down.as_ref().ok_or_else(|| {
            Error::usage(format!(
                "cannot roll back {} {}: {} has no down migration",
                entry.version,
                entry.name,
                migration.up.path.display()
            ))
        })?;
        steps.push(DownStep {
            version: entry.version.clone(),
            name: migration.name.clone(),
            file: down.path.display().to_string(),
            transactional: down.transactional(),
            sql: down.sql.clone(),
            index,
        });
    }
    Ok(steps)
}

pub async fn run(session: &Session, args: &DownArgs, overrides: &OverrideArgs) -> Result<ExitCode> {
    let set = session.load_migrations()?;
    let mut connection = session.connect().await?;
    let rows = connection.read_ledger(&session.ledger).await?;
    let steps = select(&set, &status::compute(&set, &rows), args)?;
    if steps.is_empty() {
        session.ui.info("nothing to roll back");
        return Ok(ExitCode::Ok);
    }
    let decision = policy::decide(session, Operation::Rollback, overrides).await?;
    policy::enforce(session, &decision)?;
    let lock = session.lock().await?;
    let mut rolled_back = Vec::new();
    let outcome = async {
        connection.ensure_ledger(&session.ledger).await?;
        policy::record_override(session, &mut connection, &decision, "down").await?;
        let rows = connection.read_ledger(&session.ledger).await?;
        let steps = select(&set, &status::compute(&set, &rows), args)?;
        for step in &steps {
            let done = roll_back_one(session, &mut connection, &set, step).await?;
            if let Some(execution_ms) = done {
                let detail = match &decision.overridden {
                    Some(reason) => format!("rolled back {} (policy override: {reason})", step.name),
                    None => format!("rolled back {} ({})", step.name, decision.reason),
                };
                connection
                    .execute_ledger(
                        &session
                            .ledger
                            .event_sql(&session.actor, "down", Some(&step.version), &detail),
                    )
                    .await?;
                session.ui.info(&format!(
                    "rolled back {} {} ({execution_ms} ms)",
                    step.version, step.name
                ));
                rolled_back.push(json!({"version": step.version, "name": step.name, "execution_ms": execution_ms}));
            }
        }
        Ok::<_, Error>(())
    }
    .await;
    lock.release().await;
    let rows = connection.read_ledger(&session.ledger).await.unwrap_or_default();
    let after = status::compute(&set, &rows);
    let runtime = &session.runtime;
    runtime.set_output("current-version", after.current_version.as_deref().unwrap_or(""))?;
    runtime.set_output(
        "pending",
        &(after.count(State::Pending) + after.count(State::OutOfOrder)).to_string(),
    )?;
    if runtime.in_actions() {
        let rows: Vec<Vec<String>> = rolled_back
            .iter()
            .map(|step| {
                vec![
                    step["version"].as_str().unwrap_or_default().to_string(),
                    step["name"].as_str().unwrap_or_default().to_string(),
                    format!("{} ms", step["execution_ms"]),
                ]
            })
            .collect();
        let mut summary = Summary::new();
        summary.heading(
            3,
            &format!(
                "Migrations rolled back on {} ({})",
                session.url.shown(),
                session.environment
            ),
        );
        summary.table(&["version", "name", "duration"], &rows);
        runtime.append_summary(summary.as_markdown())?;
    }
    outcome?;
    if session.ui.json {
        session.ui.print_json(&json!({
            "database": session.url.shown(),
            "environment": session.environment,
            "rolled_back": rolled_back,
            "current_version": after.current_version,
            "policy": decision,
        }))?;
    }
    Ok(ExitCode::Ok)
}

async fn roll_back_one(
    session: &Session,
    connection: &mut Connection,
    set: &MigrationSet,
    step: &DownStep,
) -> Result<Option<i64>> {
    let migration = &set.migrations[step.index];
    let Some(down) = &migration.down else {
        return Ok(None);
    };
    let change = LedgerChange::Delete {
        version: step.version.clone(),
    };
    if down.transactional() {
        let applied = connection
            .apply_in_transaction(&session.ledger, &down.sql, (&down.path, down.first_line), &change)
            .await?;
        return Ok(match applied {
            Applied::Ran { execution_ms } => Some(execution_ms),
            Applied::AlreadyDone => None,
        });
    }
    // Outside a transaction: run each statement, then forget the row. A
    // failure leaves the row (the migration still counts as applied).
    let started = std::time::Instant::now();
    for statement in down.statements(session.url.dialect())? {
        connection
            .run_statement(&statement.sql, (&down.path, statement.line))
            .await?;
    }
    connection
        .execute_ledger(&session.ledger.delete_sql(&step.version))
        .await?;
    Ok(Some(started.elapsed().as_millis() as i64))
}
