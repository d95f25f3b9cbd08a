//! `verify`: checksums only. A changed file of an applied migration fails
//! (exit 1); a missing file is reported as a warning.

use serde_json::json;
use shipgate_core::actions::Annotation;
use shipgate_core::exit::{self, ExitCode, Result};

use crate::Session;
use crate::status::{self, State};

pub async fn run(session: &Session) -> Result<ExitCode> {
    let set = session.load_migrations()?;
    let mut connection = session.connect().await?;
    let rows = connection.read_ledger(&session.ledger).await?;
    let report = status::compute(&set, &rows);
    let drifted: Vec<_> = report
        .entries
        .iter()
        .filter(|entry| entry.state == State::Drifted)
        .collect();
    let missing: Vec<_> = report
        .entries
        .iter()
        .filter(|entry| entry.state == State::Missing)
        .collect();
    for entry in &drifted {
        let mut annotation = Annotation::new(format!(
            "migration {} {} changed after it was applied (checksum {} was {})",
            entry.version,
            entry.name,
            entry.checksum.as_deref().unwrap_or_default(),
            entry.applied_checksum.as_deref().unwrap_or_default()
        ))
        .title("migration checksum drift");
        if let Some(file) = &entry.file {
            annotation = annotation.file(file.clone());
        }
        session.runtime.error(&annotation);
    }
    for entry in &missing {
        session.ui.warn(&format!(
            "applied migration {} {} has no file",
            entry.version, entry.name
        ));
    }
    let verified = report.count(State::Applied);
    if session.ui.json {
        session.ui.print_json(&json!({
            "ok": drifted.is_empty(),
            "verified": verified,
            "drifted": drifted,
            "missing": missing,
        }))?;
    } else if drifted.is_empty() {
        session
            .ui
            .print(&format!("{verified} applied migration(s) match their files\n"))?;
    } else {
        session.ui.print(&format!(
            "{} of {} applied migration(s) changed since they were applied\n",
            drifted.len(),
            verified + drifted.len()
        ))?;
    }
    exit::verdict(drifted.is_empty())
}
