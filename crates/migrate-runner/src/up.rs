//! `up`: apply pending migrations in version order.
//!
//! Order of work, so nothing is half-done on bad input: load and check the
//! files, read the ledger, refuse drift and out-of-order files, ask the
//! policy, take the backup, then lock, re-read the ledger (another run may
//! have finished meanwhile) and apply. Each transactional file commits
//! together with its ledger row; a non-transactional file runs statement by
//! statement with its progress in the ledger, so a failed or killed run
//! resumes at the statement that did not finish.

use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use shipgate_core::actions::Summary;
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::database::{Applied, Connection, LedgerChange};
use crate::formats::{Migration, MigrationSet};
use crate::ledger::{LedgerRow, now};
use crate::policy::{self, Operation};
use crate::refusal::Refusal;
use crate::status::{self, Report, State, ledger_version};
use crate::version::Version;
use crate::{OverrideArgs, Session, UpArgs, backup};

/// One migration `up` will run.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub version: String,
    pub name: String,
    pub file: String,
    pub transactional: bool,
    /// Why it runs outside a transaction.
    pub no_transaction: Option<String>,
    /// Statements already done by an earlier, interrupted run.
    pub resume_from: i64,
    pub sql: String,
    #[serde(skip)]
    pub index: usize,
}

/// Picks what `up` would run, or says why it must not.
pub fn select(set: &MigrationSet, report: &Report, args: &UpArgs) -> Result<Vec<Step>> {
    let target = match &args.to {
        Some(text) => {
            Some(Version::parse(text).ok_or_else(|| Error::usage(format!("--to `{text}` is not a version")))?)
        }
        None => None,
    };
    if let Some(target) = &target
        && !set
            .migrations
            .iter()
            .any(|migration| !migration.repeatable && migration.version == *target)
    {
        return Err(Error::usage(format!("--to {target}: no migration has that version")));
    }
    let drifted: Vec<&str> = report
        .entries
        .iter()
        .filter(|entry| entry.state == State::Drifted)
        .map(|entry| entry.version.as_str())
        .collect();
    if !drifted.is_empty() && !args.allow_drift {
        return Err(Refusal::Drift {
            versions: drifted.iter().map(|version| version.to_string()).collect(),
        }
        .into());
    }
    let out_of_order: Vec<&str> = report
        .entries
        .iter()
        .filter(|entry| entry.state == State::OutOfOrder)
        .filter(|entry| within(target.as_ref(), &entry.version))
        .map(|entry| entry.version.as_str())
        .collect();
    if !out_of_order.is_empty() && !args.allow_out_of_order {
        return Err(Refusal::OutOfOrder {
            versions: out_of_order.iter().map(|version| version.to_string()).collect(),
            current: report.current_version.as_deref().unwrap_or("?").to_owned(),
        }
        .into());
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut repeatables = Vec::new();
    for entry in &report.entries {
        let Some(index) = entry.migration else { continue };
        let migration = &set.migrations[index];
        let runs = matches!(entry.state, State::Pending | State::OutOfOrder | State::Partial);
        if !runs || !within(target.as_ref(), &entry.version) && !migration.repeatable {
            continue;
        }
        let step = Step {
            version: entry.version.clone(),
            name: migration.name.clone(),
            file: migration.up.path.display().to_string(),
            transactional: migration.up.transactional(),
            no_transaction: migration.up.no_transaction.clone(),
            resume_from: if entry.state == State::Partial {
                entry.statements_done.unwrap_or(0)
            } else {
                0
            },
            sql: migration.up.sql.clone(),
            index,
        };
        if migration.repeatable {
            repeatables.push(step);
        } else {
            steps.push(step);
        }
    }
    // Flyway runs repeatable migrations after all versioned ones.
    steps.extend(repeatables);
    Ok(steps)
}

fn within(target: Option<&Version>, version: &str) -> bool {
    match (target, Version::parse(version)) {
        (Some(target), Some(version)) => version <= *target,
        _ => true,
    }
}

/// What one applied migration took.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedStep {
    pub version: String,
    pub name: String,
    pub execution_ms: i64,
    pub statements: i64,
}

pub async fn run(session: &Session, args: &UpArgs, overrides: &OverrideArgs) -> Result<ExitCode> {
    let set = session.load_migrations()?;
    let mut connection = session.connect().await?;
    let rows = connection.read_ledger(&session.ledger).await?;
    let report = status::compute(&set, &rows);
    let steps = select(&set, &report, args)?;
    let mut backup_file = None;
    let mut decision = None;
    if !steps.is_empty() {
        let decided = policy::decide(session, Operation::Apply, overrides).await?;
        policy::enforce(session, &decided)?;
        policy::lint_gate(session, steps.iter().map(|step| &set.migrations[step.index]), &decided)?;
        if decided.backup_required || args.backup {
            backup_file = Some(backup::take(session, args.backup_path.as_deref()).await?);
        }
        decision = Some(decided);
    }
    let lock = session.lock().await?;
    let mut applied = Vec::new();
    let outcome = async {
        connection.ensure_ledger(&session.ledger).await?;
        if let Some(decision) = &decision {
            policy::record_override(session, &mut connection, decision, "up").await?;
        }
        // Another run may have applied some of these while we waited.
        let rows = connection.read_ledger(&session.ledger).await?;
        let report = status::compute(&set, &rows);
        let steps = select(&set, &report, args)?;
        let note = decision
            .as_ref()
            .and_then(|decision| decision.overridden.as_ref())
            .map(|reason| format!("policy override: {reason}"));
        let single_transaction = args.single_transaction || session.config.config.migrate.single_transaction;
        let progress = session.ui.progress(steps.len() as u64);
        // In one-transaction mode, what the open group applied; reported once it commits.
        let mut grouped: Vec<AppliedStep> = Vec::new();
        let mut in_group = false;
        for step in &steps {
            let migration = &set.migrations[step.index];
            let transactional = migration.up.transactional();
            if single_transaction && in_group && !transactional {
                // A file that must run outside a transaction ends the group.
                connection.commit_group().await?;
                in_group = false;
                applied.append(&mut grouped);
            }
            if single_transaction && !in_group && transactional {
                connection.begin_group().await?;
                in_group = true;
            }
            let done = match apply_one(session, &mut connection, migration, step, note.clone()).await {
                Ok(done) => done,
                Err(error) => {
                    if in_group {
                        connection.rollback_group().await;
                    }
                    return Err(error);
                }
            };
            if let Some(done) = done {
                session.ui.info(&format!(
                    "applied {} {} ({} ms)",
                    done.version, done.name, done.execution_ms
                ));
                if in_group {
                    grouped.push(done);
                } else {
                    applied.push(done);
                }
            }
            progress.inc(1);
        }
        if in_group {
            connection.commit_group().await?;
            applied.append(&mut grouped);
        }
        progress.finish_and_clear();
        Ok::<_, Error>(())
    }
    .await;
    lock.release().await;
    let rows = connection.read_ledger(&session.ledger).await.unwrap_or_default();
    let after = status::compute(&set, &rows);
    report_outcome(
        session,
        &applied,
        &after,
        backup_file.as_deref(),
        outcome.as_ref().err(),
    )?;
    outcome?;
    Ok(ExitCode::Ok)
}

async fn apply_one(
    session: &Session,
    connection: &mut Connection,
    migration: &Migration,
    step: &Step,
    note: Option<String>,
) -> Result<Option<AppliedStep>> {
    let dialect = session.url.dialect();
    let ledger = &session.ledger;
    let mut row = LedgerRow {
        version: ledger_version(migration),
        name: migration.name.clone(),
        checksum: migration.checksum.clone(),
        applied_at: now(),
        execution_ms: 0,
        applied_by: session.actor.name.clone(),
        run_url: session.actor.run_url.clone(),
        success: true,
        statements_done: 0,
        note,
    };
    if migration.up.transactional() {
        row.statements_done = migration.up.statements(dialect).map_or(0, |all| all.len() as i64);
        let change = if migration.repeatable {
            LedgerChange::Replace(row.clone())
        } else {
            LedgerChange::Insert(row.clone())
        };
        let applied = connection
            .apply_in_transaction(
                ledger,
                &migration.up.sql,
                (&migration.up.path, migration.up.first_line),
                &change,
            )
            .await?;
        return Ok(match applied {
            Applied::Ran { execution_ms } => Some(AppliedStep {
                version: row.version,
                name: row.name,
                execution_ms,
                statements: row.statements_done,
            }),
            Applied::AlreadyDone => None,
        });
    }
    let statements = migration.up.statements(dialect)?;
    let started = Instant::now();
    if step.resume_from == 0 {
        row.success = false;
        let insert = ledger.insert_sql(&row, "0");
        connection
            .execute_ledger(&format!("{insert} ON CONFLICT (version) DO NOTHING"))
            .await?;
    } else {
        session.ui.info(&format!(
            "resuming {} {} at statement {} of {}",
            row.version,
            row.name,
            step.resume_from + 1,
            statements.len()
        ));
    }
    loop {
        let current = connection
            .read_ledger(ledger)
            .await?
            .into_iter()
            .find(|found| found.version == row.version);
        let Some(current) = current else {
            return Err(Error::external(format!(
                "the ledger row of {} disappeared mid-run",
                row.version
            )));
        };
        if current.success {
            return Ok(None);
        }
        let done = current.statements_done;
        let Some(statement) = usize::try_from(done).ok().and_then(|at| statements.get(at)) else {
            break;
        };
        connection
            .apply_statement(
                ledger,
                &row.version,
                done,
                &statement.sql,
                (&migration.up.path, statement.line),
            )
            .await?;
    }
    let execution_ms = started.elapsed().as_millis() as i64;
    connection
        .execute_ledger(&ledger.complete_sql(&row.version, &now(), execution_ms))
        .await?;
    Ok(Some(AppliedStep {
        version: row.version,
        name: row.name,
        execution_ms,
        statements: statements.len() as i64,
    }))
}

fn report_outcome(
    session: &Session,
    applied: &[AppliedStep],
    after: &Report,
    backup_file: Option<&std::path::Path>,
    error: Option<&Error>,
) -> Result<()> {
    let runtime = &session.runtime;
    let pending = after.count(State::Pending) + after.count(State::OutOfOrder) + after.count(State::Partial);
    runtime.set_output("applied", &applied.len().to_string())?;
    runtime.set_output("pending", &pending.to_string())?;
    runtime.set_output("current-version", after.current_version.as_deref().unwrap_or(""))?;
    if let Some(file) = backup_file {
        runtime.set_output("backup-file", &file.display().to_string())?;
    }
    if runtime.in_actions() {
        let mut summary = Summary::new();
        summary.heading(
            3,
            &format!(
                "Migrations applied to {} ({})",
                session.url.shown(),
                session.environment
            ),
        );
        if applied.is_empty() {
            summary.paragraph("Nothing to apply.");
        } else {
            let rows: Vec<Vec<String>> = applied
                .iter()
                .map(|step| {
                    vec![
                        step.version.clone(),
                        step.name.clone(),
                        format!("{} ms", step.execution_ms),
                    ]
                })
                .collect();
            summary.table(&["version", "name", "duration"], &rows);
        }
        if let Some(error) = error {
            summary.paragraph(&format!("**Failed:** {error}"));
        }
        summary.paragraph(&format!(
            "Current version `{}`, {pending} pending.",
            after.current_version.as_deref().unwrap_or("none")
        ));
        runtime.append_summary(summary.as_markdown())?;
    }
    if session.ui.json && error.is_none() {
        session.ui.print_json(&json!({
            "database": session.url.shown(),
            "environment": session.environment,
            "applied": applied,
            "pending": pending,
            "current_version": after.current_version,
            "backup_file": backup_file.map(|file| file.display().to_string()),
        }))?;
    } else if error.is_none() {
        session.ui.info(&format!(
            "{} migration(s) applied; current version {}; {pending} pending",
            applied.len(),
            after.current_version.as_deref().unwrap_or("none")
        ));
    }
    Ok(())
}
