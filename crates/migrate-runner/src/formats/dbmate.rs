//! dbmate: one `<ver>_<name>.sql` file with `-- migrate:up` and
//! `-- migrate:down` sections; `transaction:false` after a marker turns
//! that section's transaction off.

use shipgate_core::exit::{Error, Result};

use super::{Entry, Migration, Script, bad_name, line_of, version_and_name};
use crate::sql::checksum;

const EXPECTED: &str = "`<version>_<name>.sql`";

/// Finds `-- migrate:<direction>` at the start of a line: its byte range
/// (marker line included) and whether it says `transaction:false`.
fn find_marker(text: &str, direction: &str) -> Option<(usize, usize, bool)> {
    let marker = format!("-- migrate:{direction}");
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix(&marker)
            && (rest.is_empty() || rest.starts_with(char::is_whitespace))
        {
            let no_transaction = rest.split_whitespace().any(|option| option == "transaction:false");
            return Some((offset, offset + line.len(), no_transaction));
        }
        offset += line.len();
    }
    None
}

pub(super) fn parse(entries: &[Entry]) -> Result<Vec<Migration>> {
    let mut migrations = Vec::new();
    for entry in entries {
        let Some(text) = entry.text.as_deref() else { continue };
        let stem = entry.file_name.trim_end_matches(".sql");
        let (version, name) = version_and_name(stem).ok_or_else(|| bad_name(&entry.path, EXPECTED))?;
        let (_, up_start, up_no_tx) = find_marker(text, "up")
            .ok_or_else(|| Error::usage(format!("{}: no `-- migrate:up` section", entry.path.display())))?;
        let down = find_marker(text, "down");
        let up_end = match down {
            Some((down_begin, _, _)) if down_begin > up_start => down_begin,
            Some(_) => {
                return Err(Error::usage(format!(
                    "{}: `-- migrate:down` comes before `-- migrate:up`",
                    entry.path.display()
                )));
            }
            None => text.len(),
        };
        let marker = "transaction:false";
        let up = Script::new(
            &entry.path,
            &text[up_start..up_end],
            line_of(text, up_start),
            up_no_tx.then_some(marker),
        );
        let down = down.map(|(_, down_start, no_tx)| {
            Script::new(
                &entry.path,
                &text[down_start..],
                line_of(text, down_start),
                no_tx.then_some(marker),
            )
        });
        migrations.push(Migration {
            version,
            name,
            checksum: checksum(text.as_bytes()),
            up,
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
    fn splits_sections_and_reads_transaction_false() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "20240101000000_users.sql",
            "-- migrate:up\nCREATE TABLE users (id int);\n\n-- migrate:down\nDROP TABLE users;\n",
        );
        write(
            dir.path(),
            "20240102000000_index.sql",
            "-- migrate:up transaction:false\nCREATE INDEX i ON users (id);\n-- migrate:down\nDROP INDEX i;\n",
        );
        let set = load(dir.path(), None).unwrap();
        assert_eq!(set.format, Format::Dbmate);
        let [users, index] = &set.migrations[..] else { panic!() };
        assert_eq!(users.up.sql, "CREATE TABLE users (id int);\n\n");
        assert_eq!(users.up.first_line, 2);
        assert_eq!(users.down.as_ref().unwrap().sql, "DROP TABLE users;\n");
        assert_eq!(users.down.as_ref().unwrap().first_line, 5);
        assert!(!index.up.transactional());
        assert!(index.down.as_ref().unwrap().transactional());
    }

    #[test]
    fn a_file_without_an_up_section_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1_a.sql", "-- migrate:up\nSELECT 1;\n");
        write(dir.path(), "2_b.sql", "SELECT 1;\n");
        let error = load(dir.path(), Some(Format::Dbmate)).unwrap_err();
        assert!(error.to_string().contains("no `-- migrate:up` section"), "{error}");
    }
}
