//! Migration file formats. Every format loads into the same [`Migration`]
//! list, so teams switching tools keep their files as they are.
//!
//! Detection looks at the directory as a whole: diesel's directories,
//! Flyway's `V1__` names, goose's and dbmate's section markers, and
//! otherwise the native (sqlx/golang-migrate) naming.

mod dbmate;
mod diesel;
mod flyway;
mod goose;
mod native;

use std::path::{Path, PathBuf};

use shipgate_core::exit::{Error, Result};

use crate::sql::{self, SqlDialect, Statement};
use crate::version::Version;

/// A migration file layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `<ver>_<name>.sql`, or `.up.sql` + `.down.sql` (sqlx).
    Native,
    /// One file per migration with `-- migrate:up` / `-- migrate:down`.
    Dbmate,
    /// `<ver>_<name>.up.sql` + `.down.sql`.
    GolangMigrate,
    /// `-- +goose Up` / `-- +goose Down`, `StatementBegin`/`StatementEnd`.
    Goose,
    /// `V1__name.sql`, `U1__name.sql`, `R__name.sql`.
    Flyway,
    /// `<ver>_<name>/up.sql` + `down.sql` directories.
    Diesel,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Native => "native",
            Format::Dbmate => "dbmate",
            Format::GolangMigrate => "golang-migrate",
            Format::Goose => "goose",
            Format::Flyway => "flyway",
            Format::Diesel => "diesel",
        }
    }
}

/// The SQL of one direction of a migration.
#[derive(Debug, Clone)]
pub struct Script {
    /// The file the SQL comes from.
    pub path: PathBuf,
    pub sql: String,
    /// The line of `sql`'s first character in `path`.
    pub first_line: usize,
    /// Why this script must run outside a transaction, if it must.
    pub no_transaction: Option<String>,
    /// Statements the format delimits itself (goose `StatementBegin/End`).
    pub explicit_statements: Option<Vec<Statement>>,
}

impl Script {
    pub fn new(path: &Path, sql: &str, first_line: usize, marker: Option<&str>) -> Script {
        let no_transaction = marker
            .map(|marker| format!("marked `{marker}`"))
            .or_else(|| sql::non_transactional_statement(sql).map(|found| format!("contains `{found}`")));
        Script {
            path: path.to_path_buf(),
            sql: sql.to_string(),
            first_line,
            no_transaction,
            explicit_statements: None,
        }
    }

    pub fn transactional(&self) -> bool {
        self.no_transaction.is_none()
    }

    /// The statements, one by one, for running outside a transaction.
    pub fn statements(&self, dialect: SqlDialect) -> Result<Vec<Statement>> {
        if let Some(statements) = &self.explicit_statements {
            return Ok(statements.clone());
        }
        sql::split_statements(&self.sql, dialect, self.first_line)
            .map_err(|error| Error::usage_with(format!("{}", self.path.display()), error))
    }
}

/// One migration, whatever format it came from.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: Version,
    pub name: String,
    /// SHA-256 of the up file (see [`sql::checksum`]).
    pub checksum: String,
    pub up: Script,
    pub down: Option<Script>,
    /// Re-applied whenever its checksum changes (Flyway `R__`).
    pub repeatable: bool,
}

/// The migrations of a directory, in version order.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    pub format: Format,
    pub dir: PathBuf,
    pub migrations: Vec<Migration>,
}

/// A file or directory entry of the migrations directory.
pub(crate) struct Entry {
    pub file_name: String,
    pub path: PathBuf,
    /// Contents for files; `None` for directories.
    pub text: Option<String>,
}

/// Reads and parses every migration in `dir`. Anything that looks like a
/// migration but cannot be parsed is an error, never silently skipped.
pub fn load(dir: &Path, forced: Option<Format>) -> Result<MigrationSet> {
    let entries = read_entries(dir)?;
    let format = forced.unwrap_or_else(|| detect(&entries));
    let mut migrations = match format {
        Format::Native | Format::GolangMigrate => native::parse(&entries)?,
        Format::Dbmate => dbmate::parse(&entries)?,
        Format::Goose => goose::parse(&entries)?,
        Format::Flyway => flyway::parse(&entries)?,
        Format::Diesel => diesel::parse(&entries)?,
    };
    migrations.sort_by(|a, b| (a.repeatable, &a.version, &a.name).cmp(&(b.repeatable, &b.version, &b.name)));
    for pair in migrations.windows(2) {
        if !pair[0].repeatable && !pair[1].repeatable && pair[0].version == pair[1].version {
            return Err(Error::usage(format!(
                "{}: version {} is used twice ({} and {})",
                dir.display(),
                pair[1].version,
                pair[0].up.path.display(),
                pair[1].up.path.display()
            )));
        }
    }
    Ok(MigrationSet {
        format,
        dir: dir.to_path_buf(),
        migrations,
    })
}

/// The format a directory's files are written in; an empty directory is native.
pub fn detect_dir(dir: &Path) -> Result<Format> {
    Ok(detect(&read_entries(dir)?))
}

fn detect(entries: &[Entry]) -> Format {
    if entries
        .iter()
        .any(|entry| entry.text.is_none() && entry.path.join("up.sql").is_file())
    {
        return Format::Diesel;
    }
    if entries.iter().any(|entry| flyway::is_flyway_name(&entry.file_name)) {
        return Format::Flyway;
    }
    let texts = || entries.iter().filter_map(|entry| entry.text.as_deref());
    if texts().any(|text| text.to_ascii_lowercase().contains("-- +goose")) {
        return Format::Goose;
    }
    if texts().any(|text| text.contains("-- migrate:up")) {
        return Format::Dbmate;
    }
    Format::Native
}

fn read_entries(dir: &Path) -> Result<Vec<Entry>> {
    let listing = std::fs::read_dir(dir).map_err(|error| {
        Error::usage(format!(
            "cannot read the migrations directory {}: {error} (set --dir or `[migrate] dir`)",
            dir.display()
        ))
    })?;
    let mut entries = Vec::new();
    for item in listing {
        let item = item.map_err(|error| Error::usage_with(format!("cannot read {}", dir.display()), error))?;
        let Some(file_name) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        let path = item.path();
        // The listing's own file type costs no syscall; only a symlink needs
        // a stat to learn what it points at.
        let is_dir = match item.file_type() {
            Ok(kind) if !kind.is_symlink() => kind.is_dir(),
            _ => path.is_dir(),
        };
        if is_dir {
            entries.push(Entry {
                file_name,
                path,
                text: None,
            });
        } else if file_name.ends_with(".sql") {
            entries.push(Entry {
                file_name,
                path,
                text: Some(String::new()),
            });
        }
    }
    entries.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    read_texts(&mut entries)?;
    Ok(entries)
}

/// Fills in the files' texts. Thousands of small files are bound by
/// open/read/close syscalls, so they are read on a few threads; the first
/// error in name order is the one reported, whatever thread hit it.
fn read_texts(entries: &mut [Entry]) -> Result<()> {
    const FILES_PER_THREAD: usize = 256;
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
    let chunk = entries.len().div_ceil(threads).max(FILES_PER_THREAD);
    std::thread::scope(|scope| {
        let workers: Vec<_> = entries
            .chunks_mut(chunk)
            .map(|part| {
                scope.spawn(move || -> Result<()> {
                    for entry in part {
                        if let Some(text) = entry.text.as_mut() {
                            *text = read_text(&entry.path)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|worker| worker.join().expect("a migration file reader panicked"))
    })
}

/// A file's text without a BOM; CRs stay so line numbers match the file.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let mut bytes =
        std::fs::read(path).map_err(|error| Error::usage_with(format!("cannot read {}", path.display()), error))?;
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|_| Error::usage(format!("{} is not UTF-8", path.display())))
}

/// Splits `<version>_<name>` (the name may be empty).
pub(crate) fn version_and_name(stem: &str) -> Option<(Version, String)> {
    let (version, name) = match stem.split_once('_') {
        Some((version, name)) => (version, name),
        None => (stem, ""),
    };
    Some((Version::parse(version)?, name.to_string()))
}

pub(crate) fn bad_name(path: &Path, expected: &str) -> Error {
    Error::usage(format!(
        "{}: not a migration file name (expected {expected})",
        path.display()
    ))
}

/// The text of `text` from byte `from` and the 1-based line it starts on.
pub(crate) fn line_of(text: &str, byte: usize) -> usize {
    text[..byte].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn detects_each_format_from_its_files() {
        let cases: [(Format, &[(&str, &str)]); 6] = [
            (Format::Native, &[("1_a.sql", "CREATE TABLE a (id int);")]),
            (
                Format::Dbmate,
                &[("20240101_a.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n")],
            ),
            (Format::Goose, &[("00001_a.sql", "-- +goose Up\nSELECT 1;\n")]),
            (Format::Flyway, &[("V1__a.sql", "SELECT 1;")]),
            (Format::Diesel, &[("2024-01-01-000000_a/up.sql", "SELECT 1;")]),
            (
                Format::Native,
                &[("1_a.up.sql", "SELECT 1;"), ("1_a.down.sql", "SELECT 2;")],
            ),
        ];
        for (format, files) in cases {
            let dir = tempfile::tempdir().unwrap();
            for (name, text) in files {
                write(dir.path(), name, text);
            }
            let set = load(dir.path(), None).unwrap();
            assert_eq!(set.format, format, "{files:?}");
            assert_eq!(set.migrations.len(), 1, "{files:?}");
        }
    }

    #[test]
    fn duplicate_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1_a.sql", "SELECT 1;");
        write(dir.path(), "001_b.sql", "SELECT 2;");
        let error = load(dir.path(), None).unwrap_err();
        assert!(error.to_string().contains("is used twice"), "{error}");
    }

    #[test]
    fn a_missing_directory_is_a_usage_error() {
        let error = load(Path::new("/nonexistent/migrations"), None).unwrap_err();
        assert_eq!(error.exit_code(), shipgate_core::exit::ExitCode::Usage);
    }
}
