//! diesel: one directory per migration, `<ver>_<name>/up.sql` and
//! `down.sql`; the version is the digits of the prefix
//! (`2024-01-01-000000`). `run_in_transaction = false` in the directory's
//! `metadata.toml` turns the transaction off.

use shipgate_core::exit::{Error, Result};

use super::{Entry, Migration, Script, bad_name, read_text};
use crate::sql::checksum;
use crate::version::Version;

const EXPECTED: &str = "a `<version>_<name>/` directory with `up.sql` and `down.sql`";
const MARKER: &str = "run_in_transaction = false";

pub(super) fn parse(entries: &[Entry]) -> Result<Vec<Migration>> {
    let mut migrations = Vec::new();
    for entry in entries {
        if entry.text.is_some() {
            return Err(Error::usage(format!(
                "{}: diesel migrations are directories, not loose files",
                entry.path.display()
            )));
        }
        let (prefix, name) = entry
            .file_name
            .split_once('_')
            .ok_or_else(|| bad_name(&entry.path, EXPECTED))?;
        let digits: String = prefix.chars().filter(|c| *c != '-').collect();
        let version = Version::parse(&digits).ok_or_else(|| bad_name(&entry.path, EXPECTED))?;
        let up_path = entry.path.join("up.sql");
        if !up_path.is_file() {
            return Err(bad_name(&entry.path, EXPECTED));
        }
        let up_text = read_text(&up_path)?;
        let marked = std::fs::read_to_string(entry.path.join("metadata.toml"))
            .map(|metadata| {
                metadata
                    .lines()
                    .any(|line| line.split_whitespace().collect::<String>() == "run_in_transaction=false")
            })
            .unwrap_or(false);
        let marker = marked.then_some(MARKER);
        let down_path = entry.path.join("down.sql");
        let down = if down_path.is_file() {
            Some(Script::new(&down_path, &read_text(&down_path)?, 1, marker))
        } else {
            None
        };
        migrations.push(Migration {
            version,
            name: name.to_string(),
            checksum: checksum(up_text.as_bytes()),
            up: Script::new(&up_path, &up_text, 1, marker),
            down,
            repeatable: false,
        });
    }
    Ok(migrations)
}

#[cfg(test)]
mod tests {
    use crate::formats::tests::write;
    use crate::formats::{Format, load};

    #[test]
    fn reads_directories_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "2024-01-01-000000_users/up.sql",
            "CREATE TABLE users (id int);",
        );
        write(dir.path(), "2024-01-01-000000_users/down.sql", "DROP TABLE users;");
        write(
            dir.path(),
            "2024-01-02-000000_idx/up.sql",
            "CREATE INDEX i ON users (id);",
        );
        write(
            dir.path(),
            "2024-01-02-000000_idx/metadata.toml",
            "run_in_transaction = false\n",
        );
        let set = load(dir.path(), None).unwrap();
        assert_eq!(set.format, Format::Diesel);
        assert_eq!(set.migrations[0].version.to_string(), "20240101000000");
        assert_eq!(set.migrations[0].name, "users");
        assert!(set.migrations[0].down.is_some());
        assert!(!set.migrations[1].up.transactional());
    }
}
