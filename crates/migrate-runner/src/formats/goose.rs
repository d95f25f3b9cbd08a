//! goose: `<ver>_<name>.sql` with `-- +goose Up` / `-- +goose Down`
//! sections, `StatementBegin`/`StatementEnd` around statements that hold
//! semicolons, and `-- +goose NO TRANSACTION` for the whole file.

use shipgate_core::exit::{Error, Result};

use super::{Entry, Migration, Script, bad_name, version_and_name};
use crate::sql::{SqlDialect, Statement, checksum, split_statements};

const EXPECTED: &str = "`<version>_<name>.sql`";
const NO_TRANSACTION: &str = "+goose NO TRANSACTION";

fn annotation(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix("+goose")?;
    Some(rest.trim().to_ascii_lowercase())
}

/// Collects one section's text and, when it uses StatementBegin/End, its
/// statements in the order goose would run them.
struct Section {
    sql: String,
    first_line: usize,
    statements: Vec<Statement>,
    loose: String,
    loose_line: usize,
    block: Option<(String, usize)>,
    has_blocks: bool,
}

impl Section {
    fn new(first_line: usize) -> Section {
        Section {
            sql: String::new(),
            first_line,
            statements: Vec::new(),
            loose: String::new(),
            loose_line: first_line,
            block: None,
            has_blocks: false,
        }
    }

    fn flush_loose(&mut self, path: &std::path::Path) -> Result<()> {
        let split = split_statements(&self.loose, SqlDialect::Postgres, self.loose_line)
            .map_err(|error| Error::usage_with(format!("{}", path.display()), error))?;
        self.statements.extend(split);
        self.loose.clear();
        Ok(())
    }
}

pub(super) fn parse(entries: &[Entry]) -> Result<Vec<Migration>> {
    let mut migrations = Vec::new();
    for entry in entries {
        let Some(text) = entry.text.as_deref() else { continue };
        let path = &entry.path;
        let stem = entry.file_name.trim_end_matches(".sql");
        let (version, name) = version_and_name(stem).ok_or_else(|| bad_name(path, EXPECTED))?;
        let mut no_transaction = false;
        let mut up: Option<Section> = None;
        let mut down: Option<Section> = None;
        let mut in_down = false;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let number = index + 1;
            if let Some(annotation) = annotation(line) {
                let current = if in_down { down.as_mut() } else { up.as_mut() };
                match annotation.as_str() {
                    "up" => up = Some(Section::new(number + 1)),
                    "down" => {
                        in_down = true;
                        down = Some(Section::new(number + 1));
                    }
                    "no transaction" => no_transaction = true,
                    "statementbegin" => {
                        let section = current.ok_or_else(|| {
                            Error::usage(format!("{}:{number}: StatementBegin outside a section", path.display()))
                        })?;
                        section.flush_loose(path)?;
                        section.block = Some((String::new(), number + 1));
                        section.has_blocks = true;
                    }
                    "statementend" => {
                        let section = current.ok_or_else(|| {
                            Error::usage(format!("{}:{number}: StatementEnd outside a section", path.display()))
                        })?;
                        let (sql, line) = section.block.take().ok_or_else(|| {
                            Error::usage(format!(
                                "{}:{number}: StatementEnd without StatementBegin",
                                path.display()
                            ))
                        })?;
                        section.statements.push(Statement {
                            sql: sql.trim().trim_end_matches(';').trim().to_string(),
                            line,
                        });
                        // The blank line pushed for this annotation below stands for line `number`.
                        section.loose_line = number;
                    }
                    other if other.starts_with("envsub") => {}
                    other => {
                        return Err(Error::usage(format!(
                            "{}:{number}: unknown goose annotation `+goose {other}`",
                            path.display()
                        )));
                    }
                }
                if let Some(section) = if in_down { down.as_mut() } else { up.as_mut() } {
                    // Annotation lines stay in the text as blank lines so
                    // line numbers keep matching the file.
                    let opens_section = annotation == "up" || annotation == "down";
                    if !opens_section {
                        section.sql.push('\n');
                        if section.block.is_none() {
                            section.loose.push('\n');
                        }
                    }
                }
                continue;
            }
            if let Some(section) = if in_down { down.as_mut() } else { up.as_mut() } {
                section.sql.push_str(line);
                match &mut section.block {
                    Some((block, _)) => block.push_str(line),
                    None => section.loose.push_str(line),
                }
            }
        }
        let marker = no_transaction.then_some(NO_TRANSACTION);
        let finish = |section: Section| -> Result<Script> {
            let mut section = section;
            if section.block.is_some() {
                return Err(Error::usage(format!(
                    "{}: StatementBegin without StatementEnd",
                    path.display()
                )));
            }
            let mut script = Script::new(path, &section.sql, section.first_line, marker);
            if section.has_blocks {
                section.flush_loose(path)?;
                script.explicit_statements = Some(section.statements);
            }
            Ok(script)
        };
        let up = up.ok_or_else(|| Error::usage(format!("{}: no `-- +goose Up` section", path.display())))?;
        migrations.push(Migration {
            version,
            name,
            checksum: checksum(text.as_bytes()),
            up: finish(up)?,
            down: down.map(finish).transpose()?,
            repeatable: false,
        });
    }
    Ok(migrations)
}

#[cfg(test)]
mod tests {
    use crate::formats::tests::write;
    use crate::formats::{Format, load};
    use crate::sql::SqlDialect;

    #[test]
    fn keeps_statement_blocks_whole() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "00002_fn.sql",
            "-- +goose Up\nCREATE TABLE t (id int);\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN RETURN 1; END;\n$$ LANGUAGE plpgsql;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP FUNCTION f();\nDROP TABLE t;\n",
        );
        let set = load(dir.path(), None).unwrap();
        assert_eq!(set.format, Format::Goose);
        let migration = &set.migrations[0];
        let statements = migration.up.statements(SqlDialect::Postgres).unwrap();
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert_eq!(statements[0].sql, "CREATE TABLE t (id int)");
        assert_eq!(statements[0].line, 2);
        assert!(statements[1].sql.starts_with("CREATE FUNCTION f()"), "{statements:?}");
        assert_eq!(statements[1].line, 4);
        assert!(migration.up.sql.contains("RETURN 1; END;"));
        let down = migration.down.as_ref().unwrap();
        assert_eq!(down.statements(SqlDialect::Postgres).unwrap().len(), 2);
        assert!(migration.up.transactional());
    }

    #[test]
    fn reads_no_transaction() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "00001_idx.sql",
            "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX i ON t (id);\n-- +goose Down\nDROP INDEX i;\n",
        );
        let set = load(dir.path(), None).unwrap();
        assert!(!set.migrations[0].up.transactional());
        assert!(!set.migrations[0].down.as_ref().unwrap().transactional());
    }
}
