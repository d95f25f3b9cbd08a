//! `backup`: pg_dump in its custom format for PostgreSQL (restorable with
//! pg_restore), `VACUUM INTO` for SQLite (a consistent, compacted copy).
//! `up` calls [`take`] when the environment's policy requires a
//! pre-migration backup (seed 003 production "pre_migration_backup").

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::Session;
use crate::database::{Connection, DatabaseUrl};

/// `shipgate-backup-<db>-<UTC time>.dump` (or `.db` for SQLite).
pub fn default_path(url: &DatabaseUrl) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let extension = match url {
        DatabaseUrl::Postgres(_) => "dump",
        DatabaseUrl::Sqlite(_) => "db",
    };
    PathBuf::from(format!("shipgate-backup-{}-{stamp}.{extension}", url.database_name()))
}

/// pg_dump from PATH, else the newest Debian PostgreSQL install.
fn pg_dump() -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("pg_dump"))
            .find(|candidate| candidate.is_file())
    });
    if let Some(found) = on_path {
        return Ok(found);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let binary = entry.path().join("bin").join("pg_dump");
            binary.is_file().then_some((version, binary))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, binary)| binary).ok_or_else(|| {
        Error::usage("pg_dump not found: install the PostgreSQL client (`apt-get install -y postgresql-client`)")
    })
}

/// Takes a backup to `output` (or the default name) and returns its path.
pub async fn take(session: &Session, output: Option<&Path>) -> Result<PathBuf> {
    let output = output.map_or_else(|| default_path(&session.url), Path::to_path_buf);
    if output.exists() {
        return Err(Error::usage(format!("backup file {} already exists", output.display())));
    }
    if let Some(parent) = output.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|error| Error::usage_with(format!("cannot create {}", parent.display()), error))?;
    }
    match &session.url {
        DatabaseUrl::Postgres(url) => {
            // The password travels in PGPASSWORD, never on the command line.
            let mut command = Command::new(pg_dump()?);
            let without_password = shipgate_core::url_redaction::without_password(url.full.expose());
            command
                .arg("--format=custom")
                .arg("--file")
                .arg(&output)
                .arg("--dbname")
                .arg(&without_password);
            if let Some(password) = url.config.get_password() {
                command.env("PGPASSWORD", String::from_utf8_lossy(password).into_owned());
            }
            let result = tokio::task::spawn_blocking(move || command.output())
                .await
                .map_err(|error| Error::external_with("pg_dump did not finish", error))?
                .map_err(|error| Error::external_with("cannot run pg_dump", error))?;
            if !result.status.success() {
                let _ = std::fs::remove_file(&output);
                return Err(Error::external(format!(
                    "pg_dump failed ({}): {}",
                    result.status,
                    String::from_utf8_lossy(&result.stderr).trim()
                )));
            }
        }
        DatabaseUrl::Sqlite(_) => {
            let mut connection = session.connect().await?;
            if let Connection::Sqlite(db) = &mut connection {
                db.vacuum_into(&output)?;
            }
        }
    }
    session.ui.info(&format!("backup written to {}", output.display()));
    Ok(output)
}

pub async fn run(session: &Session, output: Option<&Path>, dry_run: bool) -> Result<ExitCode> {
    let file = if dry_run {
        let file = output.map_or_else(|| default_path(&session.url), Path::to_path_buf);
        session.ui.info(&format!("would write a backup to {}", file.display()));
        file
    } else {
        take(session, output).await?
    };
    session.runtime.set_output("backup-file", &file.display().to_string())?;
    if session.ui.json {
        session.ui.print_json(&json!({
            "database": session.url.shown(),
            "backup_file": file.display().to_string(),
            "dry_run": dry_run,
        }))?;
    }
    Ok(ExitCode::Ok)
}
