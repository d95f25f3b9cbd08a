//! Flyway: `V<ver>__<desc>.sql` (versioned), `U<ver>__<desc>.sql` (undo)
//! and `R__<desc>.sql` (repeatable, re-applied when its checksum changes).
//! A `<file>.conf` with `executeInTransaction=false` turns the transaction off.

use std::collections::BTreeMap;
use std::path::Path;

use shipgate_core::exit::{Error, Result};

use super::{Entry, Migration, Script, bad_name};
use crate::sql::checksum;
use crate::version::Version;

const EXPECTED: &str = "`V<version>__<description>.sql`, `U<version>__<description>.sql` or `R__<description>.sql`";
const MARKER: &str = "executeInTransaction=false";

pub(super) fn is_flyway_name(file_name: &str) -> bool {
    let Some(rest) = file_name.strip_prefix(['V', 'U', 'R']) else {
        return false;
    };
    match rest.split_once("__") {
        Some((version, _)) => version.is_empty() || Version::parse(version).is_some(),
        None => false,
    }
}

fn script(path: &Path, text: &str) -> Script {
    let conf = path.with_file_name(format!(
        "{}.conf",
        path.file_name().and_then(|name| name.to_str()).unwrap_or_default()
    ));
    let marked = std::fs::read_to_string(conf)
        .map(|conf| conf.lines().any(|line| line.replace(' ', "") == MARKER))
        .unwrap_or(false);
    Script::new(path, text, 1, marked.then_some(MARKER))
}

pub(super) fn parse(entries: &[Entry]) -> Result<Vec<Migration>> {
    let mut versioned: Vec<(Version, String, &Entry)> = Vec::new();
    let mut undos: BTreeMap<Version, &Entry> = BTreeMap::new();
    let mut migrations = Vec::new();
    for entry in entries {
        let Some(text) = entry.text.as_deref() else { continue };
        let stem = entry.file_name.trim_end_matches(".sql");
        let (kind, rest) = stem.split_at(stem.len().min(1));
        let (version, description) = rest.split_once("__").ok_or_else(|| bad_name(&entry.path, EXPECTED))?;
        match kind {
            "R" if version.is_empty() => migrations.push(Migration {
                version: Version::parse("0").expect("0 is a version"),
                name: description.to_string(),
                checksum: checksum(text.as_bytes()),
                up: script(&entry.path, text),
                down: None,
                repeatable: true,
            }),
            "V" | "U" => {
                let version = Version::parse(version).ok_or_else(|| bad_name(&entry.path, EXPECTED))?;
                if kind == "V" {
                    versioned.push((version, description.to_string(), entry));
                } else {
                    undos.insert(version, entry);
                }
            }
            _ => return Err(bad_name(&entry.path, EXPECTED)),
        }
    }
    for (version, name, entry) in versioned {
        let text = entry.text.as_deref().unwrap_or_default();
        let down = undos
            .remove(&version)
            .map(|undo| script(&undo.path, undo.text.as_deref().unwrap_or_default()));
        migrations.push(Migration {
            version,
            name,
            checksum: checksum(text.as_bytes()),
            up: script(&entry.path, text),
            down,
            repeatable: false,
        });
    }
    if let Some((_, undo)) = undos.into_iter().next() {
        return Err(Error::usage(format!(
            "{}: undo migration without a matching `V` migration",
            undo.path.display()
        )));
    }
    Ok(migrations)
}

#[cfg(test)]
mod tests {
    use crate::formats::tests::write;
    use crate::formats::{Format, load};

    #[test]
    fn reads_versioned_undo_and_repeatable() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "V1__users.sql", "CREATE TABLE users (id int);");
        write(dir.path(), "U1__users.sql", "DROP TABLE users;");
        write(dir.path(), "V1.1__index.sql", "CREATE INDEX i ON users (id);");
        write(dir.path(), "V1.1__index.sql.conf", "executeInTransaction=false\n");
        write(dir.path(), "R__view.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;");
        let set = load(dir.path(), None).unwrap();
        assert_eq!(set.format, Format::Flyway);
        let names: Vec<_> = set
            .migrations
            .iter()
            .map(|m| (m.version.to_string(), m.repeatable))
            .collect();
        assert_eq!(names, [("1".into(), false), ("1.1".into(), false), ("0".into(), true)]);
        assert!(set.migrations[0].down.is_some());
        assert!(!set.migrations[1].up.transactional());
    }
}
