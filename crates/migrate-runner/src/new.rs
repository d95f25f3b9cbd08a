//! `new NAME`: the next migration file(s), in the directory's own format
//! and numbering (sequential when the directory numbers 1, 2, 3…,
//! timestamps otherwise).

use std::path::{Path, PathBuf};

use serde_json::json;
use shipgate_core::cli::Ui;
use shipgate_core::config::LoadedConfig;
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::formats::{self, Format, MigrationSet};

/// Turns "Add users email" into `add_users_email`.
pub fn slug(name: &str) -> Result<String> {
    let slug: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let slug = slug
        .split('_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if slug.is_empty() {
        return Err(Error::usage(format!(
            "`{name}` has no letters or digits to name a migration with"
        )));
    }
    Ok(slug)
}

/// The next version: max + 1 (same zero padding) for sequential sets,
/// else a UTC timestamp later than every existing version.
pub fn next_version(set: Option<&MigrationSet>, format: Format, now: chrono::DateTime<chrono::Utc>) -> String {
    let versions: Vec<&crate::version::Version> = set
        .map(|set| {
            set.migrations
                .iter()
                .filter(|m| !m.repeatable)
                .map(|m| &m.version)
                .collect()
        })
        .unwrap_or_default();
    let timestamp = now.format("%Y%m%d%H%M%S").to_string();
    let max = versions.iter().max();
    let sequential = match max {
        Some(max) => max.as_str().len() < 10 && !max.as_str().contains(['.', '_']),
        None => format == Format::Flyway,
    };
    if sequential {
        let (number, width) = max.map_or((0u128, 1), |max| {
            (max.as_str().parse().unwrap_or(0), max.as_str().len())
        });
        return format!("{:0width$}", number + 1);
    }
    match max.and_then(|max| max.as_str().parse::<u128>().ok()) {
        Some(max) if timestamp.parse::<u128>().unwrap_or(0) <= max => (max + 1).to_string(),
        _ => timestamp,
    }
}

pub fn run(
    ui: &Ui,
    config: &LoadedConfig,
    dir: Option<&Path>,
    format: Option<Format>,
    name: &str,
    dry_run: bool,
) -> Result<ExitCode> {
    let dir = dir.map_or_else(|| config.repo_root.join(&config.config.migrate.dir), Path::to_path_buf);
    let slug = slug(name)?;
    let existing = if dir.is_dir() {
        Some(formats::load(&dir, format)?)
    } else {
        None
    };
    let format = format
        .or(existing.as_ref().map(|set| set.format))
        .unwrap_or(Format::Native);
    let now = chrono::Utc::now();
    let version = next_version(existing.as_ref(), format, now);
    let simple_native = existing.as_ref().is_some_and(|set| {
        !set.migrations.is_empty() && set.migrations.iter().all(|migration| migration.down.is_none())
    });
    let files: Vec<(PathBuf, String)> = match format {
        Format::Native if simple_native => vec![(dir.join(format!("{version}_{slug}.sql")), String::new())],
        Format::Native | Format::GolangMigrate => vec![
            (dir.join(format!("{version}_{slug}.up.sql")), String::new()),
            (dir.join(format!("{version}_{slug}.down.sql")), String::new()),
        ],
        Format::Dbmate => vec![(
            dir.join(format!("{version}_{slug}.sql")),
            "-- migrate:up\n\n\n-- migrate:down\n\n".to_string(),
        )],
        Format::Goose => vec![(
            dir.join(format!("{version}_{slug}.sql")),
            "-- +goose Up\n\n\n-- +goose Down\n\n".to_string(),
        )],
        Format::Flyway => vec![
            (dir.join(format!("V{version}__{slug}.sql")), String::new()),
            (dir.join(format!("U{version}__{slug}.sql")), String::new()),
        ],
        Format::Diesel => {
            let folder = dir.join(format!("{}_{slug}", now.format("%Y-%m-%d-%H%M%S")));
            vec![
                (folder.join("up.sql"), String::new()),
                (folder.join("down.sql"), String::new()),
            ]
        }
    };
    if let Some((path, _)) = files.iter().find(|(path, _)| path.exists()) {
        return Err(Error::usage(format!("{} already exists", path.display())));
    }
    if !dry_run {
        for (path, text) in &files {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|error| Error::usage_with(format!("cannot create {}", parent.display()), error))?;
            }
            std::fs::write(path, text)
                .map_err(|error| Error::usage_with(format!("cannot write {}", path.display()), error))?;
        }
    }
    let shown: Vec<String> = files.iter().map(|(path, _)| path.display().to_string()).collect();
    if ui.json {
        ui.print_json(
            &json!({"format": format.as_str(), "migration_version": version, "files": shown, "dry_run": dry_run}),
        )?;
    } else {
        let verb = if dry_run { "would create" } else { "created" };
        ui.print(&shown.iter().map(|file| format!("{verb} {file}\n")).collect::<String>())?;
    }
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn slugs_names() {
        assert_eq!(slug("Add users-email").unwrap(), "add_users_email");
        assert!(slug("--").is_err());
    }

    #[test]
    fn continues_the_directory_numbering() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("0007_a.sql"), "SELECT 1;").unwrap();
        let set = formats::load(dir.path(), None).unwrap();
        assert_eq!(next_version(Some(&set), Format::Native, now), "0008");
        assert_eq!(next_version(None, Format::Native, now), "20260102030405");
        assert_eq!(next_version(None, Format::Flyway, now), "1");
        std::fs::write(dir.path().join("20990101000000_b.sql"), "SELECT 1;").unwrap();
        let set = formats::load(dir.path(), None).unwrap();
        assert_eq!(next_version(Some(&set), Format::Native, now), "20990101000001");
    }
}
