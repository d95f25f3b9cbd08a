//! `repair --accept-checksum V`: accept an applied migration's changed
//! file as the new truth, recording who and why in the ledger.

use serde_json::json;
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::Session;
use crate::status::{self, State};

pub async fn run(session: &Session, version: &str, reason: &str, dry_run: bool) -> Result<ExitCode> {
    if reason.trim().is_empty() {
        return Err(Error::usage(
            "repair needs --reason: the ledger records why a checksum was accepted",
        ));
    }
    let set = session.load_migrations()?;
    let mut connection = session.connect().await?;
    let rows = connection.read_ledger(&session.ledger).await?;
    let report = status::compute(&set, &rows);
    let entry = report
        .entries
        .iter()
        .find(|entry| entry.version == version || crate::ledger::version_order(&entry.version, version).is_eq())
        .ok_or_else(|| Error::usage(format!("no migration {version} in the ledger or the directory")))?;
    let (Some(new), Some(old)) = (&entry.checksum, &entry.applied_checksum) else {
        return Err(Error::usage(format!(
            "migration {version} is {}: only an applied migration with a file can be repaired",
            entry.state.as_str()
        )));
    };
    if entry.state != State::Drifted {
        session.ui.info(&format!(
            "migration {version} already matches its file; nothing to repair"
        ));
        return Ok(ExitCode::Ok);
    }
    let note = format!("checksum accepted by {}: {reason} (was {old})", session.actor.name);
    if !dry_run {
        let ledger = &session.ledger;
        let sql = format!(
            "{};\n{}",
            ledger.set_checksum_sql(&entry.version, new, &note),
            ledger.event_sql(&session.actor, "repair", Some(&entry.version), &note)
        );
        connection.execute_ledger(&format!("BEGIN;\n{sql};\nCOMMIT;")).await?;
    }
    if session.ui.json {
        session.ui.print_json(&json!({
            "version": entry.version,
            "old_checksum": old,
            "new_checksum": new,
            "note": note,
            "dry_run": dry_run,
        }))?;
    } else {
        let verb = if dry_run { "would accept" } else { "accepted" };
        session.ui.print(&format!(
            "{verb} the new checksum of {} {}: {reason}\n",
            entry.version, entry.name
        ))?;
    }
    Ok(ExitCode::Ok)
}
