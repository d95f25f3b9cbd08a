//! `exec -- CMD ARGS…`: run a framework's own migrator (alembic, Django,
//! Prisma, Rails) under the same lock, policy, backup, timing, audit row
//! and summary as `up`. The command gets DATABASE_URL; its outcome is
//! recorded in the events table whether it succeeds or not.

use std::time::Instant;

use serde_json::json;
use shipgate_core::actions::Summary;
use shipgate_core::exit::{self, Error, ExitCode, Result};

use crate::policy::{self, Operation};
use crate::{OverrideArgs, Session};

pub async fn run(
    session: &Session,
    command: &[String],
    overrides: &OverrideArgs,
    backup_path: Option<&std::path::Path>,
    dry_run: bool,
) -> Result<ExitCode> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Error::usage("exec needs a command after `--`, e.g. `exec -- alembic upgrade head`"))?;
    let shown = command.join(" ");
    let decision = policy::decide(session, Operation::Apply, overrides).await?;
    if dry_run {
        session.ui.print(&format!(
            "would run `{shown}` under the migration lock; policy ({}): {} — {}\n",
            decision.rule,
            if decision.allowed { "allowed" } else { "REFUSED" },
            decision.reason
        ))?;
        return exit::verdict(decision.allowed);
    }
    policy::enforce(session, &decision)?;
    let backup_file = if decision.backup_required {
        Some(crate::backup::take(session, backup_path).await?)
    } else {
        None
    };
    let lock = session.lock().await?;
    let mut connection = session.connect().await?;
    connection.ensure_ledger(&session.ledger).await?;
    policy::record_override(session, &mut connection, &decision, "exec").await?;
    let url = match &session.url {
        crate::database::DatabaseUrl::Postgres(url) => url.full.expose().to_string(),
        crate::database::DatabaseUrl::Sqlite(url) => url.given.clone(),
    };
    let started = Instant::now();
    let mut child = tokio::process::Command::new(program);
    child.args(args).env("DATABASE_URL", url);
    let status = child
        .status()
        .await
        .map_err(|error| Error::usage_with(format!("cannot run `{program}`"), error));
    let elapsed_ms = started.elapsed().as_millis() as i64;
    let outcome = match &status {
        Ok(status) if status.success() => "succeeded".to_string(),
        Ok(status) => format!("failed ({status})"),
        Err(error) => format!("did not start ({error})"),
    };
    let detail = format!("`{shown}` {outcome} in {elapsed_ms} ms");
    connection
        .execute_ledger(&session.ledger.event_sql(&session.actor, "exec", None, &detail))
        .await?;
    lock.release().await;
    if let Some(file) = &backup_file {
        session.runtime.set_output("backup-file", &file.display().to_string())?;
    }
    if session.runtime.in_actions() {
        let mut summary = Summary::new();
        summary.heading(
            3,
            &format!(
                "Migrations by `{shown}` on {} ({})",
                session.url.shown(),
                session.environment
            ),
        );
        summary.paragraph(&detail);
        session.runtime.append_summary(summary.as_markdown())?;
    }
    let status = status?;
    if session.ui.json {
        session.ui.print_json(&json!({
            "wrapped_command": command,
            "success": status.success(),
            "exit_code": status.code(),
            "execution_ms": elapsed_ms,
            "backup_file": backup_file.map(|file| file.display().to_string()),
        }))?;
    } else {
        session.ui.info(&detail);
    }
    if status.success() {
        Ok(ExitCode::Ok)
    } else {
        Err(Error::check(format!("`{shown}` {outcome}")))
    }
}
