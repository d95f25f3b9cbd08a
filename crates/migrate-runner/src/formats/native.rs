//! Native/sqlx and golang-migrate: `<ver>_<name>.sql` (up only), or
//! `<ver>_<name>.up.sql` with an optional `<ver>_<name>.down.sql`.
//! sqlx's `-- no-transaction` line turns the transaction off.

use std::collections::BTreeMap;

use shipgate_core::exit::{Error, Result};

use super::{Entry, Migration, Script, bad_name, version_and_name};
use crate::sql::checksum;

const EXPECTED: &str = "`<version>_<name>.sql` or `<version>_<name>.up.sql`/`.down.sql`";
const MARKER: &str = "-- no-transaction";

fn script(entry: &Entry, text: &str) -> Script {
    let marked = text.lines().any(|line| line.trim().eq_ignore_ascii_case(MARKER));
    Script::new(&entry.path, text, 1, marked.then_some(MARKER))
}

pub(super) fn parse(entries: &[Entry]) -> Result<Vec<Migration>> {
    let mut ups: BTreeMap<String, &Entry> = BTreeMap::new();
    let mut downs: BTreeMap<String, &Entry> = BTreeMap::new();
    for entry in entries {
        if entry.text.is_none() {
            continue;
        }
        let name = entry.file_name.as_str();
        if let Some(stem) = name.strip_suffix(".down.sql") {
            downs.insert(stem.to_string(), entry);
        } else if let Some(stem) = name.strip_suffix(".up.sql").or_else(|| name.strip_suffix(".sql"))
            && ups.insert(stem.to_string(), entry).is_some()
        {
            return Err(Error::usage(format!(
                "{}: both `{stem}.sql` and `{stem}.up.sql` exist",
                entry.path.display()
            )));
        }
    }
    if let Some((stem, entry)) = downs.iter().find(|(stem, _)| !ups.contains_key(*stem)) {
        return Err(Error::usage(format!(
            "{}: down migration without `{stem}.up.sql`",
            entry.path.display()
        )));
    }
    let mut migrations = Vec::new();
    for (stem, entry) in ups {
        let (version, name) = version_and_name(&stem).ok_or_else(|| bad_name(&entry.path, EXPECTED))?;
        let text = entry.text.as_deref().unwrap_or_default();
        let down = downs
            .get(&stem)
            .map(|down| script(down, down.text.as_deref().unwrap_or_default()));
        migrations.push(Migration {
            version,
            name,
            checksum: checksum(text.as_bytes()),
            up: script(entry, text),
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
    fn pairs_up_and_down_files_and_reads_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "20240101000000_users.up.sql",
            "CREATE TABLE users (id int);\n",
        );
        write(dir.path(), "20240101000000_users.down.sql", "DROP TABLE users;\n");
        write(
            dir.path(),
            "20240102000000_index.sql",
            "-- no-transaction\nCREATE INDEX i ON users (id);\n",
        );
        let set = load(dir.path(), None).unwrap();
        assert_eq!(set.format, Format::Native);
        let [users, index] = &set.migrations[..] else {
            panic!("{:?}", set.migrations)
        };
        assert_eq!(users.name, "users");
        assert_eq!(users.down.as_ref().unwrap().sql, "DROP TABLE users;\n");
        assert!(users.up.transactional());
        assert!(index.down.is_none());
        assert_eq!(index.up.no_transaction.as_deref(), Some("marked `-- no-transaction`"));
    }

    #[test]
    fn refuses_files_it_cannot_name() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "create_users.sql", "SELECT 1;");
        let error = load(dir.path(), None).unwrap_err();
        assert!(error.to_string().contains("not a migration file name"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1_a.down.sql", "SELECT 1;");
        assert!(load(dir.path(), None).is_err());
    }
}
