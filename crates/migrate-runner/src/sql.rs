//! SQL text handling shared by the formats, the runner and the lint:
//! checksums, statement splitting and "cannot run in a transaction" detection.

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};
use sqlparser::dialect::{Dialect, GenericDialect, PostgreSqlDialect};
use sqlparser::tokenizer::{Token, Tokenizer};

/// SHA-256 (lowercase hex) of a migration file, ignoring a UTF-8 BOM and
/// every carriage return, so a checkout with CRLF line endings is not drift.
pub fn checksum(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut hasher = Sha256::new();
    for chunk in bytes.split(|byte| *byte == b'\r') {
        hasher.update(chunk);
    }
    hex::encode(hasher.finalize())
}

/// Which SQL dialect a script is tokenised with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlDialect {
    Postgres,
    Sqlite,
}

/// One statement of a script, with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub line: usize,
}

/// Splits `sql` into statements on top-level semicolons, using sqlparser's
/// tokenizer so quotes, dollar quotes and comments are honoured. Statements
/// that hold only comments are dropped. `first_line` is the line of `sql`'s
/// first character in its file.
pub fn split_statements(sql: &str, dialect: SqlDialect, first_line: usize) -> Result<Vec<Statement>, String> {
    let postgres = PostgreSqlDialect {};
    let generic = GenericDialect {};
    let dialect: &dyn Dialect = match dialect {
        SqlDialect::Postgres => &postgres,
        SqlDialect::Sqlite => &generic,
    };
    let tokens = Tokenizer::new(dialect, sql).tokenize_with_location().map_err(|error| {
        format!(
            "line {}: {}",
            error.location.line as usize + first_line - 1,
            error.message
        )
    })?;
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(at, _)| at + 1))
        .collect();
    let offset_of = |line: u64, column: u64| -> usize {
        let start = line_starts
            .get((line as usize).saturating_sub(1))
            .copied()
            .unwrap_or(sql.len());
        sql[start..]
            .char_indices()
            .nth((column as usize).saturating_sub(1))
            .map_or(sql.len(), |(at, _)| start + at)
    };
    let mut statements = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    // Trigger and `BEGIN ATOMIC` bodies hold semicolons between BEGIN and
    // END; CASE … END nests inside them.
    let mut starts_with_create = false;
    let mut block_depth = 0usize;
    let push = |from: usize, line: usize, to: usize, statements: &mut Vec<Statement>| {
        let text = sql[from..to].trim();
        if !text.is_empty() {
            statements.push(Statement {
                sql: text.to_string(),
                line: line + first_line - 1,
            });
        }
    };
    for token in &tokens {
        match &token.token {
            Token::Whitespace(_) => {}
            Token::SemiColon if block_depth > 0 => {}
            Token::SemiColon => {
                starts_with_create = false;
                if let Some((from, line)) = start.take() {
                    push(
                        from,
                        line,
                        offset_of(token.span.start.line, token.span.start.column),
                        &mut statements,
                    );
                }
            }
            other => {
                if let Token::Word(word) = other {
                    let keyword = word.value.to_ascii_uppercase();
                    if start.is_none() {
                        starts_with_create = keyword == "CREATE";
                    } else if starts_with_create && word.quote_style.is_none() {
                        match keyword.as_str() {
                            "BEGIN" => block_depth += 1,
                            "CASE" if block_depth > 0 => block_depth += 1,
                            "END" if block_depth > 0 => block_depth -= 1,
                            _ => {}
                        }
                    }
                }
                if start.is_none() {
                    start = Some((
                        offset_of(token.span.start.line, token.span.start.column),
                        token.span.start.line as usize,
                    ));
                }
            }
        }
    }
    if let Some((from, line)) = start {
        push(from, line, sql.len(), &mut statements);
    }
    Ok(statements)
}

static NON_TRANSACTIONAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?is)\b(?:(?:create|drop)\s+(?:unique\s+)?index\s+concurrently|reindex\s+(?:\(.*?\)\s*)?\w+\s+concurrently|alter\s+type\s+\S+\s+add\s+value|vacuum\b|alter\s+system\b|create\s+database\b|drop\s+database\b)",
    )
    .expect("valid regex")
});

/// A statement PostgreSQL refuses to run inside a transaction block (Flyway
/// detects the same set), found in `sql` with comments removed.
pub fn non_transactional_statement(sql: &str) -> Option<String> {
    // Removing comments can only remove matches, so most files (no match in
    // the raw text) skip the tokenizer: loading 10,000 files stays cheap.
    NON_TRANSACTIONAL.find(sql)?;
    let without_comments = strip_comments(sql);
    NON_TRANSACTIONAL
        .find(&without_comments)
        .map(|found| found.as_str().split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `sql` with `--` and `/* */` comments blanked (string contents are kept
/// out of the way by the tokenizer when it can tokenise the text).
fn strip_comments(sql: &str) -> String {
    match Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() {
        Ok(tokens) => tokens
            .iter()
            .map(|token| match token {
                Token::Whitespace(_) => " ".to_string(),
                Token::SingleQuotedString(_) | Token::DollarQuotedString(_) => "''".to_string(),
                other => other.to_string(),
            })
            .collect(),
        Err(_) => sql.to_string(),
    }
}

/// A single-quoted SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `schema.table` or `table` as quoted identifiers.
pub fn quote_table(table: &str) -> String {
    table
        .split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_ignores_carriage_returns_and_bom() {
        let unix = checksum(b"CREATE TABLE a (id int);\n");
        assert_eq!(unix, checksum(b"CREATE TABLE a (id int);\r\n"));
        assert_eq!(unix, checksum(b"\xEF\xBB\xBFCREATE TABLE a (id int);\r\n"));
        assert_ne!(unix, checksum(b"CREATE TABLE b (id int);\n"));
        assert_eq!(
            checksum(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let sql = "-- leading comment\nCREATE TABLE a (x text default 'a;b');\n\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n/* only a comment; */\n";
        let statements = split_statements(sql, SqlDialect::Postgres, 1).unwrap();
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert_eq!(statements[0].sql, "CREATE TABLE a (x text default 'a;b')");
        assert_eq!(statements[0].line, 2);
        assert!(statements[1].sql.starts_with("CREATE FUNCTION f()"));
        assert!(statements[1].sql.ends_with("LANGUAGE sql"));
        assert_eq!(statements[1].line, 4);
    }

    #[test]
    fn keeps_trigger_bodies_whole() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON p BEGIN\n  UPDATE u SET n = CASE WHEN n > 0 THEN n END;\n  DELETE FROM q;\nEND;\nSELECT 1;";
        let statements = split_statements(sql, SqlDialect::Sqlite, 1).unwrap();
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert!(statements[0].sql.ends_with("END"), "{statements:?}");
        assert_eq!(statements[1].sql, "SELECT 1");
    }

    #[test]
    fn reports_unterminated_strings_with_their_line() {
        let error = split_statements("SELECT 1;\nSELECT 'oops\n", SqlDialect::Postgres, 10).unwrap_err();
        assert!(error.starts_with("line 11"), "{error}");
    }

    #[test]
    fn detects_statements_that_cannot_run_in_a_transaction() {
        assert_eq!(
            non_transactional_statement("create index\n concurrently idx on t (a);").as_deref(),
            Some("create index concurrently")
        );
        assert!(non_transactional_statement("ALTER TYPE mood ADD VALUE 'meh';").is_some());
        assert!(non_transactional_statement("DROP INDEX CONCURRENTLY IF EXISTS i;").is_some());
        assert!(non_transactional_statement("CREATE INDEX i ON t (a); -- not concurrently here").is_none());
        assert!(non_transactional_statement("SELECT 'create index concurrently';").is_none());
    }

    #[test]
    fn quotes_identifiers_and_literals() {
        assert_eq!(
            quote_table("ops.shipgate_migrations"),
            "\"ops\".\"shipgate_migrations\""
        );
        assert_eq!(literal("it's"), "'it''s'");
    }
}
