//! `plan`: what `up` (or `down`) would run, as exact SQL, and what the
//! environment's policy says. Reads the ledger, writes nothing, takes no lock.
//! The policy verdict comes from [`policy::decide`], the same call `up` and
//! `down` make, so the plan's "allowed" or "REFUSED" is what they would do.

use serde_json::json;
use shipgate_core::exit::{self, ExitCode, Result};

use crate::policy::{self, Operation};
use crate::refusal::Refusal;
use crate::status;
use crate::{DownArgs, OverrideArgs, Session, UpArgs};

pub async fn run(
    session: &Session,
    up_args: &UpArgs,
    down: bool,
    down_args: &DownArgs,
    overrides: &OverrideArgs,
) -> Result<ExitCode> {
    let set = session.load_migrations()?;
    let mut connection = session.connect().await?;
    let rows = connection.read_ledger(&session.ledger).await?;
    let report = status::compute(&set, &rows);
    // Migrations `up` would lint before applying (see [`policy::lint_gate`]).
    let mut to_apply = Vec::new();
    let (operation, steps, text_steps) = if down {
        let steps = crate::down::select(&set, &report, down_args)?;
        let text: Vec<String> = steps
            .iter()
            .map(|step| {
                render_step(
                    &step.version,
                    &step.name,
                    &step.file,
                    step.transactional,
                    None,
                    0,
                    &step.sql,
                )
            })
            .collect();
        (
            Operation::Rollback,
            serde_json::to_value(&steps).unwrap_or_default(),
            text,
        )
    } else {
        let steps = crate::up::select(&set, &report, up_args)?;
        to_apply.extend(steps.iter().map(|step| &set.migrations[step.index]));
        let text: Vec<String> = steps
            .iter()
            .map(|step| {
                render_step(
                    &step.version,
                    &step.name,
                    &step.file,
                    step.transactional,
                    step.no_transaction.as_deref(),
                    step.resume_from,
                    &step.sql,
                )
            })
            .collect();
        (Operation::Apply, serde_json::to_value(&steps).unwrap_or_default(), text)
    };
    let mut decision = policy::decide(session, operation, overrides).await?;
    // `up` refuses a migration lint failure after the policy said yes; so
    // does the plan.
    if decision.allowed
        && !to_apply.is_empty()
        && let Err(error) = policy::lint_gate(session, to_apply, &decision)
    {
        let Some(refusal) = error.find::<Refusal>() else {
            return Err(error);
        };
        decision.allowed = false;
        decision.reason = refusal.to_string();
    }
    let nothing = text_steps.is_empty();
    let document = json!({
        "operation": if down { "down" } else { "up" },
        "database": session.url.shown(),
        "environment": session.environment,
        "format": set.format.as_str(),
        "ledger_table": session.ledger.table,
        "lock": match (&session.url, session.lock_mode) {
            (crate::database::DatabaseUrl::Sqlite(_), _) => "sqlite-immediate-transactions",
            (_, crate::lock::LockMode::Advisory) => "pg-advisory-lock",
            (_, crate::lock::LockMode::None) => "none",
        },
        "current_version": report.current_version,
        "steps": steps,
        "policy": decision,
    });
    session.runtime.set_output("plan", &document.to_string())?;
    if session.ui.json {
        session.ui.print_json(&document)?;
    } else {
        let mut out = String::new();
        if nothing {
            out.push_str(&format!("-- nothing to {}\n", if down { "roll back" } else { "apply" }));
        }
        for step in &text_steps {
            out.push_str(step);
        }
        out.push_str(&format!(
            "-- policy ({}, {}): {} — {}{}\n",
            decision.environment,
            decision.rule,
            if decision.allowed { "allowed" } else { "REFUSED" },
            decision.reason,
            if decision.backup_required && !down && !nothing {
                "; a backup is taken first"
            } else {
                ""
            }
        ));
        session.ui.print(&out)?;
    }
    exit::verdict(decision.allowed || nothing)
}

fn render_step(
    version: &str,
    name: &str,
    file: &str,
    transactional: bool,
    no_transaction: Option<&str>,
    resume_from: i64,
    sql: &str,
) -> String {
    let mode = match (transactional, no_transaction) {
        (true, _) => "in one transaction with its ledger row".to_string(),
        (false, Some(reason)) => format!("statement by statement, no transaction: {reason}"),
        (false, None) => "statement by statement, no transaction".to_string(),
    };
    let resume = if resume_from > 0 {
        format!("; resuming after statement {resume_from}")
    } else {
        String::new()
    };
    format!("-- {version} {name} ({file}); {mode}{resume}\n{}\n\n", sql.trim_end())
}
